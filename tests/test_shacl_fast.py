"""The fast validator (kgtools.engine.shacl) gives exactly the reference's (pySHACL's) results.

Equivalence corpus: every DASH case file in tests/shapes/, the real data, and random mutations of
the real data (hypothesis). Results are compared as multisets of (focus, path, component,
severity, value), with messages, and the readable report text must be identical.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import RDF, SH, XSD, Graph, Literal, URIRef
from rdflib.namespace import RDFS
from rdflib.term import Node

from kgtools.engine import shacl
from kgtools.engine.shacl import sparql as shacl_sparql
from kgtools.engine.shacl import value_type
from kgtools.engine.shacl.sparql import query_predicates
from kgtools.engine.shacl.value_range import compare_literal
from kgtools.engine.terms import MemoryIndex, StoreSource, triple_from_rdflib
from kgtools.errors import KGError, UnsupportedShapeError
from kgtools.namespaces import DATA_GRAPH, ID, ONTOLOGY_GRAPH, TIP
from kgtools.reference.pyshacl import validate
from kgtools.validation import ValidationReport, ValidationResult

from .conftest import ROOT, examples
from .references import References

CASES = sorted((ROOT / "tests" / "shapes").glob("*.ttl"))


def _term(node: Node | None) -> Node | None:
    """RDF 1.1 term equality: ``"x"^^xsd:string`` is the plain literal ``"x"``. rdflib keeps the
    two apart, Oxigraph (and so the fast path) does not."""
    if isinstance(node, Literal) and node.datatype == XSD.string:
        return Literal(str(node))
    return node


def keys(results: list[ValidationResult]) -> Counter:
    return Counter((r.focus, r.path, r.component, r.severity, _term(r.value)) for r in results)


def with_messages(results: list[ValidationResult]) -> Counter:
    return Counter(
        (r.focus, r.path, r.component, r.severity, _term(r.value), r.messages) for r in results
    )


def assert_same(reference: ValidationReport, fast: ValidationReport) -> None:
    assert keys(fast.results) == keys(reference.results)
    assert with_messages(fast.results) == with_messages(reference.results)
    assert fast.text() == reference.text()
    assert fast.conforms == reference.conforms


@pytest.fixture(scope="module")
def compiled(shapes: Graph) -> shacl.CompiledShapes:
    return shacl.compile(shapes)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_case_file_matches_pyshacl(
    case: Path, references: References, shapes: Graph, ontology: Graph
) -> None:
    # pySHACL's report comes from the session's one run per case (test_shapes reads it too)
    data = references.case(case).data
    assert_same(references.case_report(case), shacl.validate_graphs(data, shapes, ontology))


def test_real_data_matches_pyshacl(data: Graph, shapes: Graph, ontology: Graph) -> None:
    fast = shacl.validate_graphs(data, shapes, ontology)
    assert_same(validate(data, shapes, ontology), fast)
    assert fast.results == []


def index(graph: Graph) -> MemoryIndex:
    return MemoryIndex(triple_from_rdflib(t) for t in graph)  # type: ignore[arg-type]


# -- known-bad data: specific results, so a regression cannot hide behind "0 == 0" ----------


def with_value(data: Graph, subject: URIRef, predicate: URIRef, value: Literal) -> Graph:
    """A copy of ``data`` in which ``subject``'s only ``predicate`` value is ``value``."""
    changed = Graph()
    for t in data:
        changed.add(t)
    changed.set((subject, predicate, value))
    return changed


def test_jis_check_digit_fires_on_a_bad_code(
    data: Graph, shapes: Graph, ontology: Graph, compiled: shacl.CompiledShapes
) -> None:
    taito = ID["local-government/131067"]
    bad = with_value(data, taito, TIP.localGovernmentCode, Literal("131068"))  # check digit is 7
    results = compiled.validate(index(bad), index(ontology))
    sparql = [r for r in results if r.component == SH.SPARQLConstraintComponent]
    assert [(r.focus, r.path, r.value) for r in sparql] == [
        (taito, "tip:localGovernmentCode", Literal("131068"))
    ]
    assert sparql[0].messages == tuple(
        sorted(
            {
                (
                    "ja",
                    "地方公共団体コード 131068 の検査数字が正しくありません（正しくは 7）。"
                    "総務省の一覧でコードを確認し、直してください。",
                ),
                (
                    "en",
                    "Local government code 131068 has a wrong check digit (the calculation "
                    "gives 7): look the code up in the official list and correct it.",
                ),
                (
                    "ja",
                    "地方公共団体コードの6桁目（検査数字）が JIS X 0402 の計算と合いません。"
                    "総務省の一覧でコードを確認し、書き間違いを直してください。",
                ),
                (
                    "en",
                    "The sixth digit (check digit) of the local government code does not match "
                    "the JIS X 0402 calculation: look the code up in the official list and correct "
                    "the typo.",
                ),
            }
        )
    )
    assert_same(validate(bad, shapes, ontology), shacl.validate_graphs(bad, shapes, ontology))


def test_ill_typed_date_is_a_datatype_violation(
    data: Graph, ontology: Graph, compiled: shacl.CompiledShapes
) -> None:
    period = ID["plan/131067/2021/period"]
    bad = with_value(data, period, TIP.startDate, Literal("2021-13-45", datatype=XSD.date))
    results = compiled.validate(index(bad), index(ontology))
    datatype = [r for r in results if r.component == SH.DatatypeConstraintComponent]
    assert [(r.focus, r.path, r.value) for r in datatype] == [
        (period, "tip:startDate", Literal("2021-13-45", datatype=XSD.date))
    ]


# -- random mutations of the real data ------------------------------------------------------


MUTATIONS = ("drop", "duplicate-label", "retype-literal", "relex", "retype-node", "wrong-object")
LEXICAL = ("abc", "2021-13-45", "0", "-1", "40", "2021", "2021-04-01", " x", "x\n", "131068")
DATATYPES = (XSD.date, XSD.positiveInteger, XSD.integer, XSD.gYear, XSD.string, None)


@pytest.fixture(scope="module")
def real_triples(data: Graph) -> list:
    return sorted(data, key=str)


@settings(
    max_examples=examples(6),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_mutated_data_matches_pyshacl(
    real_triples: list, shapes: Graph, ontology: Graph, compiled: shacl.CompiledShapes, data
) -> None:
    graph = Graph()
    for t in real_triples:
        graph.add(t)
    subjects = sorted({s for s, _, _ in real_triples if isinstance(s, URIRef)}, key=str)
    classes = sorted({o for _, p, o in real_triples if p == RDF.type}, key=str)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(MUTATIONS))
        s, p, o = data.draw(st.sampled_from(real_triples))
        if kind == "drop":
            graph.remove((s, p, o))
        elif kind == "duplicate-label":
            lang = data.draw(st.sampled_from(("ja", "en", "fr", None)))
            graph.add((s, RDFS.label, Literal("ラベル two", lang=lang)))
        elif kind in ("retype-literal", "relex") and isinstance(o, Literal):
            lexical = data.draw(st.sampled_from(LEXICAL)) if kind == "relex" else str(o)
            datatype = data.draw(st.sampled_from(DATATYPES))
            graph.remove((s, p, o))
            graph.add((s, p, Literal(lexical, datatype=datatype)))
        elif kind == "retype-node":
            graph.add((s, RDF.type, data.draw(st.sampled_from(classes))))
        elif kind == "wrong-object" and not isinstance(o, Literal) and p != RDF.type:
            graph.remove((s, p, o))
            graph.add((s, p, data.draw(st.sampled_from(subjects))))
    reference = validate(graph, shapes, ontology)
    fast = compiled.validate(index(graph), index(ontology))
    assert keys(fast) == keys(reference.results)
    assert with_messages(fast) == with_messages(reference.results)
    # the report writes a value "x"^^xsd:string as "x" on the fast path (see _term)
    assert compiled.report(fast, graph).text() == reference.text().replace("^^xsd:string", "")


# -- focus restriction ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(data: Graph) -> Graph:
    """The real data with a few problems, so that restricted results are not all empty."""
    taito = ID["local-government/131067"]
    bad = with_value(data, taito, TIP.localGovernmentCode, Literal("131068"))
    plan = ID["plan/131067/2021"]
    bad.add((plan, RDFS.label, Literal("二つ目", lang="ja")))
    bad.remove((plan, TIP.period, None))
    return bad


def store_with(graph: Graph, ontology: Graph) -> ox.Store:
    store = ox.Store()
    data_graph, onto_graph = ox.NamedNode(str(DATA_GRAPH)), ox.NamedNode(str(ONTOLOGY_GRAPH))
    store.bulk_extend(ox.Quad(*triple_from_rdflib(t), data_graph) for t in graph)  # type: ignore[arg-type]
    store.bulk_extend(ox.Quad(*triple_from_rdflib(t), onto_graph) for t in ontology)  # type: ignore[arg-type]
    return store


def test_focus_restriction_equals_filtered_full_result(
    broken: Graph, ontology: Graph, compiled: shacl.CompiledShapes
) -> None:
    data_index, onto_index = index(broken), index(ontology)
    full = compiled.validate(data_index, onto_index)
    assert full, "the broken data must have results"
    focus_nodes = {r.focus for r in full}
    some = sorted({triple_from_rdflib(t)[0] for t in broken}, key=str)[::7]
    for chosen in ({*list(map(triple_from_rdflib_subject, focus_nodes))[:2], *some[:40]}, set()):
        expected = [r for r in full if triple_from_rdflib_subject(r.focus) in chosen]
        restricted = compiled.validate(data_index, onto_index, focus=chosen)
        assert keys(restricted) == keys(expected)


def triple_from_rdflib_subject(node) -> object:
    from kgtools.engine.terms import from_rdflib

    return from_rdflib(node)


def test_focus_restriction_over_a_store(
    broken: Graph, ontology: Graph, compiled: shacl.CompiledShapes
) -> None:
    """StoreSource + store SPARQL == MemoryIndex over the same (store-canonicalised) triples."""
    store = store_with(broken, ontology)
    data_graph, onto_graph = ox.NamedNode(str(DATA_GRAPH)), ox.NamedNode(str(ONTOLOGY_GRAPH))
    source, onto_source = StoreSource(store, [data_graph]), StoreSource(store, [onto_graph])
    # Oxigraph canonicalises literals it stores (xsd:positiveInteger -> xsd:integer), so the
    # in-memory reference is built from what the store holds, not from the rdflib graph.
    data_index = MemoryIndex(source.match(None, None, None))
    onto_index = MemoryIndex(onto_source.match(None, None, None))
    full = compiled.validate(data_index, onto_index)
    chosen = {triple_from_rdflib_subject(r.focus) for r in full}
    chosen |= {ox.NamedNode(str(ID["plan/131172/2021"])), ox.NamedNode(str(ID["fiscal-year/2021"]))}
    restricted = compiled.validate(
        source,
        onto_source,
        focus=chosen,
        sparql_store=store,
        sparql_graphs=[data_graph, onto_graph],
    )
    assert keys(restricted) == keys(
        [r for r in full if triple_from_rdflib_subject(r.focus) in chosen]
    )
    assert any(r.component == SH.SPARQLConstraintComponent for r in restricted)


def test_store_source_matches_rdflib_on_original_terms(
    data: Graph, ontology: Graph, compiled: shacl.CompiledShapes
) -> None:
    """Validating through the store gives the answers of the original terms: the loader refuses
    every literal the store would rewrite (kgtools.load.checks.read_file), and the model uses no
    integer subtype the store would turn into xsd:integer."""
    store = store_with(data, ontology)
    data_graph, onto_graph = ox.NamedNode(str(DATA_GRAPH)), ox.NamedNode(str(ONTOLOGY_GRAPH))
    results = compiled.validate(
        StoreSource(store, [data_graph]),
        StoreSource(store, [onto_graph]),
        focus={ox.NamedNode(str(ID["plan/131067/2021/initiative/1-1"]))},
        sparql_store=store,
        sparql_graphs=[data_graph, onto_graph],
    )
    assert results == []


# -- the set-at-a-time shortcuts ------------------------------------------------------------


def with_duplicate_ordinal(graph: Graph) -> Graph:
    """``graph`` with one initiative given the ordinal of another of its plan and heading."""
    out = Graph()
    for t in graph:
        out.add(t)
    seen: dict[tuple[Node | None, Node | None], Node] = {}
    # initiatives only: headings carry a tip:ordinal too (their number in the overview)
    initiatives = set(graph.subjects(TIP.ordinal, None)) & set(graph.subjects(TIP.partOfPlan, None))
    for initiative in sorted(initiatives, key=str):
        key = (graph.value(initiative, TIP.partOfPlan), graph.value(initiative, TIP.heading))
        if key in seen:
            ordinal = graph.value(seen[key], TIP.ordinal)
            assert ordinal is not None
            out.remove((initiative, TIP.ordinal, None))
            out.add((initiative, TIP.ordinal, ordinal))
            return out
        seen[key] = initiative
    raise AssertionError("no two initiatives share a plan and a heading")


def test_shortcuts_give_the_same_results(
    broken: Graph, ontology: Graph, compiled: shacl.CompiledShapes, monkeypatch
) -> None:
    """From enough focus nodes a SPARQL constraint runs on an in-memory copy of the triples of
    the predicates it reads, and from enough values sh:class is one set difference: the same
    results, in the same order, as the store and the per-value test."""
    store = store_with(with_duplicate_ordinal(broken), ontology)
    data_graph, onto_graph = ox.NamedNode(str(DATA_GRAPH)), ox.NamedNode(str(ONTOLOGY_GRAPH))
    data_index = MemoryIndex(StoreSource(store, [data_graph]).match(None, None, None))
    onto_index = MemoryIndex(StoreSource(store, [onto_graph]).match(None, None, None))
    runs = []
    for threshold in (10**9, 0):
        monkeypatch.setattr(shacl_sparql, "_SUBSET_MIN_FOCUS", threshold)
        monkeypatch.setattr(value_type, "_MANY_VALUES", threshold)
        runs.append(
            compiled.validate(
                data_index, onto_index, sparql_store=store, sparql_graphs=[data_graph, onto_graph]
            )
        )
    on_store, on_copy = runs
    assert with_messages(on_copy) == with_messages(on_store)
    assert on_copy == on_store
    sparql = {r.path for r in on_copy if r.component == SH.SPARQLConstraintComponent}
    assert {"tip:ordinal", "tip:localGovernmentCode"} <= sparql


def test_query_predicates() -> None:
    """The predicates a SPARQL constraint can read, or None when they do not follow from it."""
    head = "PREFIX ex: <http://example.org/>\nSELECT $this WHERE "

    def nn(name: str) -> ox.NamedNode:
        return ox.NamedNode("http://example.org/" + name)

    found = query_predicates(
        head + "{ $this ex:p/ex:q ?x ; ^ex:r ?y ; a ?c . FILTER NOT EXISTS { ?x (ex:s|ex:t)+ ?z } }"
    )
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    assert found == {nn("p"), nn("q"), nn("r"), nn("s"), nn("t"), rdf_type}
    for body in (
        "{ $this ?p ?x }",
        "{ $this ex:p* ?x }",
        "{ $this ex:p? ?x }",
        "{ $this !ex:p ?x }",
        "{ GRAPH ?g { $this ex:p ?x } }",
        "{ $this ex:p ?x . FILTER EXISTS { ?x ?q ?y } }",
    ):
        assert query_predicates(head + body) is None, body
    assert (
        query_predicates(
            "PREFIX ex: <http://example.org/>\nSELECT $this FROM ex:g WHERE { $this ex:p ?x }"
        )
        is None
    )
    assert query_predicates("not SPARQL") is None


# -- unsupported features -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "feature"),
    [
        ("sh:minLength 3", "sh:minLength"),
        ("sh:closed true", "sh:closed"),
        ("sh:equals ex:q", "sh:equals"),
        (
            'sh:sparql [ sh:select "SELECT $this WHERE { $this ex:p ?v MINUS { $this ex:q ?v } }"'
            " ]",
            "MINUS",
        ),
    ],
)
def test_unsupported_feature_is_a_typed_error(snippet: str, feature: str) -> None:
    shapes = Graph().parse(
        data=f"""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property ex:P .
        ex:P a sh:PropertyShape ; sh:path ex:p ; {snippet} .
        """,
        format="turtle",
    )
    with pytest.raises(UnsupportedShapeError) as raised:
        shacl.compile(shapes)
    assert isinstance(raised.value, KGError)
    assert "ex:P" in str(raised.value) or "example.org/P" in str(raised.value)
    assert feature in str(raised.value)


def test_compiles_project_shapes_with_every_targeted_shape(
    shapes: Graph, compiled: shacl.CompiledShapes
) -> None:
    targets = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode)
    targeted = {s for target in targets for s in shapes.subjects(target, None)}
    assert URIRef("https://w3id.org/tokyo-industry-plans/shapes#ReviewNoteShape") in targeted
    assert {s.node for s in compiled._top} == targeted


# -- the copy of pySHACL's literal comparison -----------------------------------------------


def test_compare_literal_is_pyshacls() -> None:
    """kgtools.engine.compare_literal is a copy of pySHACL's (to keep pySHACL's import out of
    the build): the same order, and the same refusals, on literals of every kind the shapes
    compare (numbers, dates, date-times with and without a zone, times, strings, ill-typed)."""
    from pyshacl.rdfutil.compare import compare_literal as theirs

    values = [
        Literal(1),
        Literal("40", datatype=XSD.positiveInteger),
        Literal("2.5", datatype=XSD.decimal),
        Literal("2021-04-01", datatype=XSD.date),
        Literal("2024-03-31", datatype=XSD.date),
        Literal("2021-04-01T09:00:00", datatype=XSD.dateTime),
        Literal("2021-04-01T09:00:00+09:00", datatype=XSD.dateTime),
        Literal("09:00:00", datatype=XSD.time),
        Literal("10:30:00", datatype=XSD.time),
        Literal("2021", datatype=XSD.gYear),
        Literal("abc"),
        Literal("abc", lang="ja"),
        Literal("2021-13-45", datatype=XSD.date),
    ]

    def outcome(compare, a: Literal, b: Literal) -> object:
        try:
            return compare(a, b)
        except (TypeError, NotImplementedError) as exc:
            return type(exc)

    pairs = [(a, b) for a in values for b in values]
    assert [outcome(compare_literal, a, b) for a, b in pairs] == [
        outcome(theirs, a, b) for a, b in pairs
    ]
