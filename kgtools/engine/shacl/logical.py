"""SHACL §4.6 logical constraints: ``sh:not``, ``sh:and``, ``sh:or``, ``sh:xone``.

https://www.w3.org/TR/shacl/#core-components-logical — each value node is tested against other
shapes through the run's memoised conformance (:meth:`Context.conformance`).
"""

from __future__ import annotations

from collections.abc import Callable

from rdflib.namespace import SH

from kgtools.engine.shacl.model import Context, PerValue, Shape
from kgtools.engine.terms import Term


class NotConstraint(PerValue):
    component = SH.NotConstraintComponent

    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        conforms = ctx.conformance(self.shape)
        return lambda v: not conforms(v)


class ShapeList(PerValue):
    """sh:or / sh:and / sh:xone: a test of each value against a list of shapes."""

    def __init__(self, shapes: list[Shape]) -> None:
        self.shapes = shapes


class OrConstraint(ShapeList):
    component = SH.OrConstraintComponent

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        tests = [ctx.conformance(s) for s in self.shapes]
        if not tests:
            return lambda v: True
        return lambda v: any(t(v) for t in tests)


class AndConstraint(ShapeList):
    component = SH.AndConstraintComponent

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        tests = [ctx.conformance(s) for s in self.shapes]
        return lambda v: all(t(v) for t in tests)


class XoneConstraint(ShapeList):
    component = SH.XoneConstraintComponent

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        tests = [ctx.conformance(s) for s in self.shapes]
        return lambda v: sum(1 for t in tests if t(v)) == 1
