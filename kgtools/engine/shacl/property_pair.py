"""SHACL §4.5 property pair constraints: ``sh:lessThanOrEquals``.

https://www.w3.org/TR/shacl/#core-components-property-pairs — compared as pySHACL's
``_compare_ltoe``; ``sh:equals``, ``sh:disjoint`` and ``sh:lessThan`` are not implemented (the
compiler refuses them).
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kgtools.engine.shacl.model import Constraint, Context, FocusValues, RawResult, Shape
from kgtools.errors import UnsupportedShapeError


class LessThanOrEquals(Constraint):
    component = SH.LessThanOrEqualsConstraintComponent

    def __init__(self, predicate: ox.NamedNode) -> None:
        self.predicate = predicate

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        for focus, values in fv:
            if not values:
                continue
            others = [ctx.rdflib(o) for o in ctx.view.objects(focus, self.predicate)]
            for value in values:
                if not others:
                    break
                mine = ctx.rdflib(value)
                for other in others:
                    if not _less_or_equal(mine, other):
                        out.append(RawResult(focus, value, self.component, shape))


def _less_or_equal(value: Node, other: Node) -> bool:
    """pySHACL's _compare_ltoe for one pair (True: no result)."""
    if isinstance(value, BNode) or isinstance(other, BNode):
        raise UnsupportedShapeError("sh:lessThanOrEquals", "a comparison with a blank node")
    left: object = value
    right: object = other
    left_str = isinstance(value, URIRef) or (
        isinstance(value, Literal) and isinstance(value.value, str)
    )
    right_str = isinstance(other, URIRef) or (
        isinstance(other, Literal) and isinstance(other.value, str)
    )
    if left_str:
        left = str(value) if isinstance(value, URIRef) else value.value  # type: ignore[attr-defined]
    if right_str:
        right = str(other) if isinstance(other, URIRef) else other.value  # type: ignore[attr-defined]
    if left_str != right_str:
        return False
    return bool(left <= right)  # type: ignore[operator]
