"""A DL reasoner (HermiT, through owlready2) finds ontology + built data consistent, no class empty.

Which profile holds (README "Ontology", ontology/MODEL.md "Profile"): the graph is OWL 2 DL except
for three datatypes outside the OWL 2 datatype map, ``xsd:date`` (``tip:startDate``,
``tip:endDate``, ``tip:pressDate``), ``xsd:gYear`` (``tip:year``) and ``xsd:gYearMonth``
(``tip:pressMonth``); with them HermiT refuses the graph (an unknown datatype). The reasoner is
therefore given the built graph with exactly those three mapped to
``xsd:string`` — in the ranges and in the literals alike, lexical forms unchanged — and the test
first checks that nothing else outside the datatype map is in the graph, so a new datatype cannot
slip past the mapping.

HermiT runs on Java. Without ``java`` on the PATH the tests skip with a message, and fail instead
where ``KG_REQUIRE_JAVA=1`` (``.ci/run`` sets it and installs ``default-jre-headless``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import owlready2
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from kgtools.namespaces import TIP

# The OWL 2 datatype map (OWL 2 Structural Specification, section 4), plus rdf:langString, the
# RDF 1.1 name of the language-tagged literals that OWL 2 reads as rdf:PlainLiteral.
RDF_NS = Namespace(str(RDF))
# A plain Namespace, not rdflib's closed XSD: any name, and no warning when pytest collects.
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
# OWL 2 Structural Specification §4: the XML Schema datatypes of the OWL 2 datatype map
# fmt: off
_OWL2_XSD = [
    "decimal", "integer", "nonNegativeInteger", "nonPositiveInteger", "positiveInteger",
    "negativeInteger", "long", "int", "short", "byte", "unsignedLong", "unsignedInt",
    "unsignedShort", "unsignedByte", "double", "float", "string", "normalizedString", "token",
    "language", "Name", "NCName", "NMTOKEN", "boolean", "hexBinary", "base64Binary", "anyURI",
    "dateTime", "dateTimeStamp",
]
# fmt: on
DATATYPE_MAP = {
    RDF_NS.PlainLiteral,
    RDF_NS.XMLLiteral,
    RDF_NS.langString,
    RDFS.Literal,
    OWL.real,
    OWL.rational,
    *(XSD[name] for name in _OWL2_XSD),
}
# Outside the map, and mapped to xsd:string for the reasoner (see the module docstring).
MAPPED_AWAY = {XSD.date, XSD.gYear, XSD.gYearMonth}


def java_or_skip() -> str:
    """The java executable; skip without one, or fail where KG_REQUIRE_JAVA=1."""
    java = shutil.which("java")
    if java is None:
        message = (
            "no `java` on the PATH: the DL reasoner test runs HermiT, which needs a Java runtime "
            "(Debian: apt-get install default-jre-headless)"
        )
        if os.environ.get("KG_REQUIRE_JAVA") == "1":
            pytest.fail(message + "; KG_REQUIRE_JAVA=1 makes this a failure")
        pytest.skip(message)
    return java


def datatypes_used(graph: Graph) -> set[URIRef]:
    """Datatypes of the graph's literals and the xsd/rdf datatypes its axioms name as ranges."""
    used = {o.datatype for o in graph.objects() if isinstance(o, Literal) and o.datatype}
    used |= {
        o
        for o in graph.objects(None, RDFS.range)
        if isinstance(o, URIRef) and (str(o).startswith(str(XSD)) or o == RDF_NS.langString)
    }
    return used


def within_datatype_map(graph: Graph) -> Graph:
    """The graph with the datatypes of :data:`MAPPED_AWAY` mapped to xsd:string (ranges and
    literals)."""
    out = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in MAPPED_AWAY:
            o = Literal(str(o), datatype=XSD.string)
        elif o in MAPPED_AWAY:
            o = XSD.string
        out.add((s, p, o))
    return out


def hermit(graph: Graph, path: Path) -> list[str]:
    """Run HermiT on the graph; the IRIs of the unsatisfiable named classes (owl:Nothing aside).

    Raises owlready2.OwlReadyInconsistentOntologyError when the graph is inconsistent.
    """
    owlready2.JAVA_EXE = java_or_skip()
    graph.serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    world.get_ontology(path.as_uri()).load()
    owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    return sorted(c.iri for c in world.inconsistent_classes() if c is not owlready2.Nothing)


def test_only_date_gyear_and_gyearmonth_are_outside_the_datatype_map(asserted: Graph) -> None:
    outside = datatypes_used(asserted) - DATATYPE_MAP
    assert outside == MAPPED_AWAY, (
        "a datatype outside the OWL 2 datatype map: map it for the reasoner and say so in "
        f"README and ontology/MODEL.md ({sorted(outside)})"
    )
    assert datatypes_used(within_datatype_map(asserted)) <= DATATYPE_MAP


def test_hermit_finds_ontology_and_data_consistent_and_every_class_satisfiable(
    asserted: Graph, tmp_path: Path
) -> None:
    graph = within_datatype_map(asserted)
    assert (None, RDF.type, TIP.Plan) in graph and (TIP.Plan, RDF.type, OWL.Class) in graph
    assert hermit(graph, tmp_path / "graph.nt") == []


EX = Namespace("https://example.org/dl-control/")


def test_the_check_can_fail(tmp_path: Path) -> None:
    """Control: the same harness reports an unsatisfiable class and an inconsistent graph."""
    control = Graph()
    control.add((EX.A, RDF.type, OWL.Class))
    control.add((EX.B, RDF.type, OWL.Class))
    control.add((EX.A, OWL.disjointWith, EX.B))
    control.add((EX.Both, RDF.type, OWL.Class))
    control.add((EX.Both, RDFS.subClassOf, EX.A))
    control.add((EX.Both, RDFS.subClassOf, EX.B))
    assert hermit(control, tmp_path / "unsatisfiable.nt") == [str(EX.Both)]
    control.add((EX.x, RDF.type, EX.Both))
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        hermit(control, tmp_path / "inconsistent.nt")


def test_a_graph_with_xsd_date_is_what_hermit_refuses(tmp_path: Path) -> None:
    """Why the mapping exists: HermiT rejects a datatype outside the map (here xsd:date)."""
    graph = Graph()
    graph.add((EX.p, RDF.type, OWL.DatatypeProperty))
    graph.add((EX.p, RDFS.range, XSD.date))
    graph.add((EX.x, EX.p, Literal("2021-04-01", datatype=XSD.date)))
    with pytest.raises(owlready2.OwlReadyJavaError, match="date"):
        hermit(graph, tmp_path / "date.nt")
    assert datatypes_used(within_datatype_map(graph)) <= DATATYPE_MAP


def test_without_java_it_skips_or_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("KG_REQUIRE_JAVA", raising=False)
    with pytest.raises(pytest.skip.Exception, match="default-jre-headless"):
        java_or_skip()
    monkeypatch.setenv("KG_REQUIRE_JAVA", "1")
    with pytest.raises(pytest.fail.Exception, match="KG_REQUIRE_JAVA=1"):
        java_or_skip()
