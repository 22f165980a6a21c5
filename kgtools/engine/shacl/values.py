"""Value nodes: the (focus node, values) pairs every constraint of a shape reads.

https://www.w3.org/TR/shacl/#value-nodes — for a node shape each focus node is its own value; for
a property shape the objects (or, for ``sh:inversePath``, the subjects) of its path. They are read
set-at-a-time and shared: one index lookup per focus node for all the forward paths under one
shape (each node's ``predicate → objects`` row of a :class:`~kgtools.engine.terms.MemoryIndex`
read while it is in cache), cached per (path, focus list) until the top-level shape is done.
"""

from __future__ import annotations

from collections.abc import Collection as Values  # rdflib.collection.Collection is the RDF list
from collections.abc import Mapping, Sequence
from itertools import chain

import pyoxigraph as ox
from rdflib.term import Node

from kgtools.engine.shacl.model import FocusValues, ShapePath
from kgtools.engine.shacl.view import DataView
from kgtools.engine.terms import Term, to_rdflib

#: The value nodes of a focus node without any (shared; never modified).
NO_VALUES: frozenset[Term] = frozenset()


class ValueNodes:
    """The value nodes of one run, and the memos that make reading them cheap."""

    def __init__(self, view: DataView) -> None:
        self.view = view
        self._rdflib: dict[Term, Node] = {}
        self._fv: dict[tuple[ShapePath | None, int], tuple[Sequence[Term], FocusValues]] = {}
        self._distinct: dict[int, tuple[FocusValues, set[Term]]] = {}
        self._children: dict[int, tuple[FocusValues, list[Term]]] = {}
        self._onto_rows: tuple[set[int], set[Term]] | None = None
        self._row_cache: dict[
            tuple[int, bool],
            tuple[Sequence[Term], list[Mapping[ox.NamedNode, set[Term]] | None] | None, list[int]],
        ] = {}

    def values(self, path: ShapePath, focus: Term) -> set[Term]:
        if path.inverse:
            return self.view.subjects(path.predicate, focus)
        return self.view.objects(focus, path.predicate)

    def rdflib(self, term: Term) -> Node:
        found = self._rdflib.get(term)
        if found is None:
            found = self._rdflib[term] = to_rdflib(term)
        return found

    def focus_values(self, path: ShapePath | None, focus_nodes: Sequence[Term]) -> FocusValues:
        """(focus, value nodes) for every focus node: one index lookup each, shared by path."""
        key = (path, id(focus_nodes))
        cached = self._fv.get(key)
        if cached is not None:
            return cached[1]
        fv: FocusValues
        view = self.view
        if path is None:
            fv = FocusValues(focus_nodes, list(zip(focus_nodes)))  # each node its own value
        elif path.inverse:
            p = path.predicate
            _, described = self._rows(focus_nodes, True)
            get = view.data_subjects
            values: list[Values[Term]] = [get(p, f) for f in focus_nodes]
            for i in described:
                values[i] = view.subjects(p, focus_nodes[i])
            fv = FocusValues(focus_nodes, values)
        else:
            (fv,) = self._forward([path.predicate], focus_nodes)
        if len(focus_nodes) > 1:
            self._fv[key] = (focus_nodes, fv)  # keeps focus_nodes alive, so its id stays unique
        return fv

    def _forward(
        self, predicates: Sequence[ox.NamedNode], focus_nodes: Sequence[Term]
    ) -> list[FocusValues]:
        """The (focus, objects) lists of several predicates: with the data's subject map, one
        pass over the focus nodes that reads each node's predicates while they are in cache."""
        view = self.view
        rows, described = self._rows(focus_nodes, False)
        found: list[list[Values[Term]]]
        none = NO_VALUES
        if rows is None:
            get_o = view.data_objects
            found = [[get_o(f, p) for f in focus_nodes] for p in predicates]
        elif len(predicates) == 1:
            p = predicates[0]
            found = [[row.get(p, none) if row is not None else none for row in rows]]
        else:
            found = [[] for _ in predicates]
            lookups = list(zip(predicates, [values.append for values in found], strict=True))
            appends = [append for _, append in lookups]
            for row in rows:
                if row is None:
                    for append in appends:
                        append(none)
                else:
                    get = row.get
                    for p, append in lookups:
                        append(get(p, none))
        for i in described:
            f = focus_nodes[i]
            for p, values in zip(predicates, found, strict=True):
                values[i] = view.objects(f, p)
        return [FocusValues(focus_nodes, values) for values in found]

    def _rows(
        self, focus_nodes: Sequence[Term], inverse: bool
    ) -> tuple[list[Mapping[ox.NamedNode, set[Term]] | None] | None, list[int]]:
        """What every path from these focus nodes needs, looked up once per list: the data's
        ``predicate → objects`` of each focus node (forward paths, when the data has that map),
        and the positions of the focus nodes the ontology has triples about (their values are
        the union of both: ``DataView.objects``/``subjects``)."""
        key = (id(focus_nodes), inverse)
        cached = self._row_cache.get(key)
        if cached is not None:
            return cached[1], cached[2]
        view = self.view
        by_subject = view.data_by_subject
        described: list[int] = []
        if inverse or by_subject is None:
            rows = None
            onto = view.onto_objects if inverse else view.onto_subjects
            if not onto.isdisjoint(focus_nodes):
                described = [i for i, f in enumerate(focus_nodes) if f in onto]
        else:
            rows = list(map(by_subject.get, focus_nodes))
            # The focus nodes the ontology describes, without hashing every node again: a data
            # subject's row is its own object, so the rows of the ontology's subjects are found
            # by identity; the others (no data row) among the nodes without one.
            marks, orphans = self._ontology_rows(by_subject)
            if not marks.isdisjoint(map(id, rows)):
                described = [i for i, row in enumerate(rows) if id(row) in marks]
            if orphans and None in rows:
                described += [
                    i
                    for i, (f, row) in enumerate(zip(focus_nodes, rows, strict=True))
                    if row is None and f in orphans
                ]
                described.sort()
        if len(focus_nodes) > 1:
            self._row_cache[key] = (focus_nodes, rows, described)
        return rows, described

    def _ontology_rows(self, by_subject: Mapping[Term, object]) -> tuple[set[int], set[Term]]:
        """The ids of the data rows of the ontology's subjects, and its subjects without one."""
        if self._onto_rows is None:
            marks: set[int] = set()
            orphans: set[Term] = set()
            for node in self.view.onto_subjects:
                row = by_subject.get(node)
                if row is None:
                    orphans.add(node)
                else:
                    marks.add(id(row))
            self._onto_rows = (marks, orphans)
        return self._onto_rows

    def distinct_values(self, fv: FocusValues) -> set[Term]:
        found = self._distinct.get(id(fv))
        if found is None or found[0] is not fv:
            found = (fv, set().union(*fv.values))
            self._distinct[id(fv)] = found
        return found[1]

    def child_focus(self, fv: FocusValues) -> list[Term]:
        """The focus nodes of a property shape under a shape with these (focus, values)."""
        found = self._children.get(id(fv))
        if found is None or found[0] is not fv:
            found = (fv, list(chain.from_iterable(fv.values)))
            self._children[id(fv)] = found
        return found[1]

    def forget(self) -> None:
        """Drop the per-shape caches (value lists) after a top-level shape."""
        self._fv.clear()
        self._distinct.clear()
        self._children.clear()
        self._row_cache.clear()
