"""The reference store: an rdflib ``Dataset`` in memory behind the
:class:`~kgtools.store.base.Store` protocol, for small graphs built in code and for the comparisons
in the tests. ``kg build`` writes the Oxigraph store (:mod:`kgtools.store.oxigraph`), which is
the default.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from rdflib import Dataset, Graph, URIRef
from rdflib.graph import ReadOnlyGraphAggregate

from kgtools.namespaces import bind_prefixes
from kgtools.store.base import Triple

if TYPE_CHECKING:
    from rdflib.query import Result

    from kgtools.store.base import Bindings, Graphs, QueryInput


class MemoryStore:
    """An in-memory rdflib ``Dataset``: the reference store, for small graphs built in code and
    for the comparisons in the tests (``kg build`` writes
    :class:`~kgtools.store.oxigraph.OxigraphStore`)."""

    def __init__(self) -> None:
        self._dataset = Dataset()
        bind_prefixes(self._dataset)

    def add(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        target = self._dataset.graph(graph)
        for triple in triples:
            target.add(triple)

    def replace(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        self._dataset.remove_graph(self._dataset.graph(graph))
        self.add(graph, triples)

    def graph(self, name: URIRef) -> Graph:
        return bind_prefixes(self._dataset.graph(name))

    def triples(self, name: URIRef) -> Iterator[Triple]:
        return iter(self._dataset.graph(name))

    def union(self, names: Sequence[URIRef]) -> Graph:
        return ReadOnlyGraphAggregate([self._dataset.graph(n) for n in names])

    def graph_names(self) -> list[URIRef]:
        return sorted(
            g.identifier
            for g in self._dataset.graphs()
            if isinstance(g.identifier, URIRef) and len(g) > 0
        )

    def count(self, name: URIRef) -> int:
        return len(self._dataset.graph(name))

    def query(self, query: QueryInput, bindings: Bindings = None, graphs: Graphs = None) -> Result:
        """rdflib's answer; single values are ``initBindings``, a ``list`` parameter's values a
        ``VALUES`` block in the text, as the other stores bind every parameter (``initBindings``
        holds one row). Only the lists go into the text: rdflib joins a ``VALUES`` block opening
        the ``WHERE`` group after the group's ``OPTIONAL``s, whose ``FILTER(… = ?lang)`` would then
        not see ``?lang`` (measured: compare's lists all empty)."""
        from kgtools.query.library import prepared_query

        given = {n: v for n, v in (bindings or {}).items() if not isinstance(v, tuple)}
        lists = {n: v for n, v in (bindings or {}).items() if isinstance(v, tuple)}
        if lists:
            from kgtools.store.sparql_text import bind_text, query_text

            text = query if isinstance(query, str) else query_text(query)
            query = bind_text(text, lists)
        if isinstance(query, str):
            query = prepared_query(query)
        target = self.union(graphs if graphs is not None else self.graph_names())
        return target.query(query, initBindings=given)  # type: ignore[arg-type]
