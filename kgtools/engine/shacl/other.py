"""SHACL §4.8 other constraints: ``sh:in``, ``sh:hasValue``.

https://www.w3.org/TR/shacl/#core-components-others — ``sh:closed`` is not implemented (the
compiler refuses it).
"""

from __future__ import annotations

from collections.abc import Callable

from rdflib.namespace import SH

from kgtools.engine.shacl.model import (
    Constraint,
    Context,
    FocusValues,
    PerValue,
    RawResult,
    Shape,
    focus_results,
)
from kgtools.engine.terms import Term


class InConstraint(PerValue):
    component = SH.InConstraintComponent

    def __init__(self, values: set[Term]) -> None:
        self.values = values

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        return self.values.__contains__


class HasValue(Constraint):
    component = SH.HasValueConstraintComponent

    def __init__(self, value: Term) -> None:
        self.value = value

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        value = self.value
        focus_results(out, shape, self.component, [f for f, values in fv if value not in values])

    def value_test(self, ctx: Context) -> Callable[[Term], bool] | None:
        value = self.value
        return lambda v: v == value
