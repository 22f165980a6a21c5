"""SHACL §4.7 shape-based constraints: ``sh:node``, ``sh:property``, ``sh:qualifiedValueShape``
(with ``sh:qualifiedMinCount``, ``sh:qualifiedMaxCount``, ``sh:qualifiedValueShapesDisjoint``).

https://www.w3.org/TR/shacl/#core-components-shape — a property shape runs on the values of all
its parent's focus nodes at once; ``sh:node`` results carry their detail results as pySHACL's
report does.
"""

from __future__ import annotations

from rdflib.namespace import SH

from kgtools.engine.shacl.model import (
    Constraint,
    Context,
    FocusValues,
    RawResult,
    Shape,
    focus_results,
)


class QualifiedValueShape(Constraint):
    component = SH.QualifiedMinCountConstraintComponent

    def __init__(
        self, shape: Shape, low: int | None, high: int | None, siblings: list[Shape]
    ) -> None:
        self.shape = shape
        self.low = low
        self.high = high
        self.siblings = siblings

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        conforms = ctx.conformance(self.shape)
        siblings = [ctx.conformance(s) for s in self.siblings]
        if siblings:
            ok = {
                v
                for v in ctx.distinct_values(fv)
                if conforms(v) and not any(t(v) for t in siblings)
            }
        else:
            ok = {v for v in ctx.distinct_values(fv) if conforms(v)}
        low, high = self.low, self.high
        if high is None and low == 1:  # "at least one": no count needed
            failing = [f for f, values in fv if ok.isdisjoint(values)]
            focus_results(out, shape, SH.QualifiedMinCountConstraintComponent, failing)
            return
        for focus, values in fv:
            count = len(ok.intersection(values)) if values else 0
            if high is not None and count > high:
                out.append(RawResult(focus, None, SH.QualifiedMaxCountConstraintComponent, shape))
            if low is not None and count < low:
                out.append(RawResult(focus, None, SH.QualifiedMinCountConstraintComponent, shape))


class NodeConstraint(Constraint):
    component = SH.NodeConstraintComponent

    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        for focus, values in fv:
            for v in values:
                nested = ctx.nested_results(self.shape, v)
                if nested or not ctx.conforms(self.shape, v):
                    out.append(RawResult(focus, v, self.component, shape))
                    out.extend(r._replace(nested=True) for r in nested)


class PropertyConstraint(Constraint):
    component = SH.PropertyConstraintComponent

    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        ctx.evaluate(self.shape, ctx.child_focus(fv), out)
