"""SHACL §4.2 cardinality constraints: ``sh:minCount``, ``sh:maxCount``.

https://www.w3.org/TR/shacl/#core-components-count — one count per focus node; as a test of a
node shape's focus node alone they are constant (the node is its own single value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rdflib.namespace import SH

from kgtools.engine.shacl.model import Constraint, focus_results

if TYPE_CHECKING:
    from kgtools.engine.shacl.model import Context, FocusValues, RawResult, Shape
    from kgtools.engine.terms import Term


@dataclass(eq=False)
class MinCount(Constraint):
    count: int
    component = SH.MinCountConstraintComponent

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        if self.count == 0:
            return
        count = self.count
        focus_results(out, shape, self.component, [f for f, values in fv if len(values) < count])

    def value_test(self, ctx: Context) -> Callable[[Term], bool] | None:
        return (lambda v: True) if self.count <= 1 else (lambda v: False)


@dataclass(eq=False)
class MaxCount(Constraint):
    count: int
    component = SH.MaxCountConstraintComponent

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        count = self.count
        focus_results(out, shape, self.component, [f for f, values in fv if len(values) > count])

    def value_test(self, ctx: Context) -> Callable[[Term], bool] | None:
        return (lambda v: True) if self.count >= 1 else (lambda v: False)
