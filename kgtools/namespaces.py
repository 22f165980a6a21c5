"""Namespaces: the project's own (generated from the ontology) and the standard ones it uses.

``TIP`` is a :class:`rdflib.namespace.DefinedNamespace` generated from ``ontology/tip.ttl`` by
``python -m kgtools.devtools.codegen`` (a test fails when the generated file is out of date), so a
misspelt term fails at import instead of minting a new IRI.
"""

from __future__ import annotations

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SDO, SH, SKOS, TIME, XSD

from kgtools._tip import TIP

#: Base of every instance IRI (see ontology/MODEL.md for the IRI policy).
ID = Namespace("https://w3id.org/tokyo-industry-plans/id/")
#: Named graphs of a build.
GRAPH = Namespace("https://w3id.org/tokyo-industry-plans/graph/")
ONTOLOGY_GRAPH = GRAPH.ontology
DATA_GRAPH = GRAPH.data
INFERRED_GRAPH = GRAPH.inferred
#: The ontology's own IRI.
ONTOLOGY_IRI = URIRef("https://w3id.org/tokyo-industry-plans/ontology")
IC = Namespace("http://imi.go.jp/ns/core/rdf#")
WD = Namespace("http://www.wikidata.org/entity/")
DASH = Namespace("http://datashapes.org/dash#")

# fmt: off
#: Prefixes bound on every graph the toolkit writes, in this order.
PREFIXES: dict[str, Namespace] = {
    prefix: Namespace(str(namespace))  # rdflib's closed namespaces, as open ones
    for prefix, namespace in (
        ("tip", TIP), ("id", ID), ("org", ORG), ("schema", SDO), ("dcterms", DCTERMS),
        ("skos", SKOS), ("time", TIME), ("prov", PROV), ("foaf", FOAF), ("ic", IC), ("wd", WD),
        ("owl", OWL), ("rdf", RDF), ("rdfs", RDFS), ("xsd", XSD), ("sh", SH),
    )
}
# fmt: on


def bind_prefixes(graph: Graph) -> Graph:
    """Bind the project's prefixes on ``graph`` (replacing rdflib's defaults) and return it."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


__all__ = [
    "DASH",
    "DATA_GRAPH",
    "GRAPH",
    "IC",
    "ID",
    "INFERRED_GRAPH",
    "ONTOLOGY_GRAPH",
    "ONTOLOGY_IRI",
    "PREFIXES",
    "TIP",
    "WD",
    "bind_prefixes",
]


#: The named graphs to read for asserted-only or asserted + inferred views.
ASSERTED_GRAPHS = (ONTOLOGY_GRAPH, DATA_GRAPH)


ALL_GRAPHS = (ONTOLOGY_GRAPH, DATA_GRAPH, INFERRED_GRAPH)


def graphs_for(*, inferred: bool) -> list[URIRef]:
    """Named graphs to read: with or without the entailments."""
    return list(ALL_GRAPHS if inferred else ASSERTED_GRAPHS)
