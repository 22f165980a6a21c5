"""The store behind every stage: the small interface every store implements.

Stages never touch a concrete triple store. They add triples to named graphs, read a graph or a
union of graphs, and run SPARQL (text or rdflib's prepared queries) with bindings. Three
stores implement the :class:`Store` protocol: the embedded default
:class:`kgtools.store.oxigraph.OxigraphStore` (Oxigraph, on disk, what ``kg build`` writes),
:class:`kgtools.store.remote.RemoteStore` (a SPARQL server), and
:class:`kgtools.reference.memory.MemoryStore` (an rdflib ``Dataset`` in memory, for small graphs
built in code and for the reference comparisons in the tests).

Named graphs (see :mod:`kgtools.namespaces`): ``ONTOLOGY_GRAPH`` (the ontology as asserted),
``DATA_GRAPH`` (the data as asserted) and ``INFERRED_GRAPH`` (entailments only, never mixed in).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, TypeAlias

from rdflib import Graph, URIRef
from rdflib.term import Node

if TYPE_CHECKING:  # rdflib's SPARQL engine takes ~0.15 s to import: only where queries run
    from rdflib.plugins.sparql.sparql import Query
    from rdflib.query import Result

#: One RDF statement.
Triple: TypeAlias = tuple[Node, Node, Node]
#: A parameter's value: one term, or the terms of a ``list`` parameter (one ``VALUES`` row each).
Binding: TypeAlias = "Node | tuple[Node, ...]"
#: What :meth:`Store.query` takes, named once for every store: the query (SPARQL text or an
#: rdflib prepared query), its parameters' values by variable name, and the named graphs to run
#: over (``None``: all of them).
QueryInput: TypeAlias = "Query | str"
Bindings: TypeAlias = "Mapping[str, Binding] | None"
Graphs: TypeAlias = "Sequence[URIRef] | None"


class Store(Protocol):
    """What the pipeline stages need from a triple store."""

    def add(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        """Add ``triples`` to the named graph ``graph``."""

    def replace(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        """Make ``triples`` the whole content of ``graph``."""

    def graph(self, name: URIRef) -> Graph:
        """A read view of one named graph."""

    def triples(self, name: URIRef) -> Iterator[Triple]:
        """Every triple of one named graph, as rdflib terms, with no rdflib ``Graph`` made of
        them (a reader that only walks the triples, such as ``kg push``, need not pay for
        one: ~10 µs a triple)."""

    def union(self, names: Sequence[URIRef]) -> Graph:
        """A read view of the union of several named graphs."""

    def count(self, name: URIRef) -> int:
        """Number of triples in one named graph."""

    def query(
        self,
        query: Query | str,
        bindings: Mapping[str, Binding] | None = None,
        graphs: Sequence[URIRef] | None = None,
    ) -> Result:
        """Run a query — SPARQL text, or an rdflib prepared query — over ``graphs`` (default:
        all), with initial bindings."""
