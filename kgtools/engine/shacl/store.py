"""The SPARQL store of one validation run, for the SPARQL-based constraints.

https://www.w3.org/TR/shacl/#sparql-constraints — the queries run on pyoxigraph: on the store the
caller gives (the build's), built in memory on first use otherwise, or on a small in-memory copy of
only the triples whose predicates a query reads (a join over tens of thousands of focus nodes is
an order of magnitude faster in memory than on the on-disk store). Oxigraph canonicalises the
literals it stores, so results are mapped back to the data's own terms
(:meth:`SparqlStore.original`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import chain, starmap

import pyoxigraph as ox

from kgtools.engine.terms import Term, TripleSource


class SparqlStore:
    """Where one run's SPARQL constraints run."""

    def __init__(
        self,
        store: ox.Store | None,
        graphs: list[ox.NamedNode] | None,
        build_store: Callable[[], ox.Store],
        copy_from: Sequence[TripleSource] = (),
    ) -> None:
        self._store = store
        self._given_store = store is not None
        self._graphs = graphs
        self._build_store = build_store
        self._copy_from = copy_from
        self._canon: dict[Term, Term] = {}

    def sparql(
        self,
        query: str,
        predicates: Callable[[], frozenset[ox.NamedNode] | None] = lambda: None,
        *,
        copy: bool = False,
    ) -> object:
        """Run ``query`` on the store (built on first use), or on a copy of what it reads.

        With ``predicates`` (every predicate the query reads: worked out by parsing the query,
        so only when needed) and sources to copy from, the query may run on a fresh in-memory
        store holding only the triples with those predicates: the same answers (no pattern can
        match another triple). It does when ``copy`` is set (a join over tens of thousands of
        focus nodes is an order of magnitude faster in memory than on the on-disk store, and the
        copy is a small part of the data) and whenever no store was given (a copy of a few
        predicates is cheaper than a store of everything, and the build need not wait for its
        store to fill). It is dropped with the solutions.
        """
        read = predicates() if self._copy_from and (copy or not self._given_store) else None
        if read is not None:
            subset = ox.Store()
            subset.bulk_extend(
                chain.from_iterable(
                    starmap(ox.Quad, source.match(None, p, None))
                    for source in self._copy_from
                    for p in read
                )
            )
            return subset.query(query)
        if self._store is None:
            self._store = self._build_store()
        if self._graphs:
            return self._store.query(query, default_graph=list(self._graphs))
        return self._store.query(query)

    def original(self, term: Term, candidates: Iterable[Term]) -> Term:
        """The data term among ``candidates`` that a store returned as ``term``.

        Oxigraph canonicalises literals it stores (``"40"^^xsd:positiveInteger`` comes back as
        ``"40"^^xsd:integer``, ``"1"^^xsd:boolean`` as ``"true"``); results must show the data's.
        """
        if not isinstance(term, ox.Literal):
            return term
        found = None
        for candidate in candidates:
            if candidate == term:
                return candidate
            if found is None and self._canonical(candidate) == term:
                found = candidate
        return found if found is not None else term

    def _canonical(self, term: Term) -> Term:
        found = self._canon.get(term)
        if found is None:
            scratch = ox.Store()
            node = ox.NamedNode("urn:kgtools:shacl:canonical")
            scratch.add(ox.Quad(node, node, term))
            stored = next(iter(scratch.quads_for_pattern(None, None, None))).object
            found = self._canon[term] = stored  # type: ignore[assignment]
        assert found is not None
        return found
