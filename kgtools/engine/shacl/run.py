"""One validation run: every targeted shape evaluated over its focus nodes, set-at-a-time.

https://www.w3.org/TR/shacl/#validation — :class:`Run` joins the value nodes
(:mod:`~kgtools.engine.shacl.values`) and the SPARQL store (:mod:`~kgtools.engine.shacl.store`)
with what is run-level: evaluating a shape's constraints, and conformance of a node to a shape
(https://www.w3.org/TR/shacl/#conformance), memoised, for the logical and shape-based constraints.
It is the :class:`~kgtools.engine.shacl.model.Context` the constraints run in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyoxigraph as ox

from kgtools.engine.shacl.model import ALLOWED, FocusValues, RawResult, Shape, ShapePath
from kgtools.engine.shacl.shape_based import PropertyConstraint
from kgtools.engine.shacl.store import SparqlStore
from kgtools.engine.shacl.values import ValueNodes
from kgtools.engine.shacl.view import DataView
from kgtools.engine.terms import Term, TripleSource


class Run(ValueNodes, SparqlStore):
    """One validation run: the view of the data, memos, and the SPARQL store."""

    def __init__(
        self,
        view: DataView,
        store: ox.Store | None,
        graphs: list[ox.NamedNode] | None,
        build_store: Callable[[], ox.Store],
        copy_from: Sequence[TripleSource] = (),
    ) -> None:
        ValueNodes.__init__(self, view)
        SparqlStore.__init__(self, store, graphs, build_store, copy_from)
        self._conforms: dict[tuple[Shape, Term], bool] = {}
        self._nested: dict[tuple[Shape, Term], list[RawResult]] = {}
        self._tests: dict[Shape, Callable[[Term], bool] | None] = {}
        self._child_paths: dict[Shape, list[ShapePath]] = {}

    def evaluate(self, shape: Shape, focus_nodes: Sequence[Term], out: list[RawResult]) -> None:
        if shape.deactivated or not focus_nodes:
            return
        fv = self.focus_values(shape.path, focus_nodes)
        if len(focus_nodes) > 1:
            self._prefetch(shape, fv)
        for constraint in shape.constraints:
            constraint.run(self, shape, fv, out)

    def _prefetch(self, shape: Shape, fv: FocusValues) -> None:
        """The (focus, values) of every forward path of the property shapes under ``shape``, in
        one pass (see :meth:`_forward`), ahead of :meth:`focus_values` asking for each."""
        paths = self._child_paths.get(shape)
        if paths is None:
            paths = self._child_paths[shape] = list(
                {
                    c.shape.path: None
                    for c in shape.constraints
                    if isinstance(c, PropertyConstraint)
                    and c.shape.path is not None
                    and not c.shape.path.inverse
                    and not c.shape.deactivated
                }
            )
        if len(paths) < 2:
            return
        focus_nodes = self.child_focus(fv)
        ident = id(focus_nodes)
        paths = [path for path in paths if (path, ident) not in self._fv]
        if len(paths) < 2 or len(focus_nodes) < 2:
            return
        found = self._forward([path.predicate for path in paths], focus_nodes)
        for path, fv in zip(paths, found, strict=True):
            self._fv[(path, ident)] = (focus_nodes, fv)

    def nested_results(self, shape: Shape, node: Term) -> list[RawResult]:
        key = (shape, node)
        found = self._nested.get(key)
        if found is None:
            found = []
            self.evaluate(shape, [node], found)
            self._nested[key] = found
        return found

    def _value_test(self, shape: Shape) -> Callable[[Term], bool] | None:
        if shape in self._tests:
            return self._tests[shape]
        test = None
        if shape.path is None and not shape.deactivated and shape.severity not in ALLOWED:
            tests = [c.value_test(self) for c in shape.constraints]
            if all(t is not None for t in tests):
                checks = [t for t in tests if t is not None]
                test = checks[0] if len(checks) == 1 else (lambda v: all(t(v) for t in checks))
        self._tests[shape] = test
        return test

    def conformance(self, shape: Shape) -> Callable[[Term], bool]:
        """:meth:`conforms` to ``shape`` as a function of the node; not memoised when it is a
        test of the node alone (cheaper than the memo's lookup, and no memo to keep)."""
        if shape.deactivated or shape.severity in ALLOWED:
            return lambda v: True
        test = self._value_test(shape)
        if test is not None:
            return test
        conforms = self.conforms
        return lambda v: conforms(shape, v)

    def conforms(self, shape: Shape, node: Term) -> bool:
        """pySHACL's conformance of ``node`` to a shape used by sh:not/or/and/xone/qualified…"""
        key = (shape, node)
        found = self._conforms.get(key)
        if found is None:
            if shape.deactivated or shape.severity in ALLOWED:
                found = True
            else:
                test = self._value_test(shape)
                if test is not None:
                    found = test(node)
                else:
                    found = all(
                        r.shape.severity in ALLOWED
                        for r in self.nested_results(shape, node)
                        if not r.nested
                    )
            self._conforms[key] = found
        return found
