"""SHACL §4.3 value range constraints: ``sh:minInclusive``, ``sh:minExclusive``,
``sh:maxInclusive``, ``sh:maxExclusive``.

https://www.w3.org/TR/shacl/#core-components-range — compared as pySHACL compares
(:func:`compare_literal`, a copy of its own), so a value that is not a literal, is ill-typed or
cannot be compared with the bound fails, as in the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import ClassVar

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import SH

from kgtools.engine.shacl.model import Context, PerValue
from kgtools.engine.terms import Term


class RangeConstraint(PerValue):
    """sh:minInclusive / minExclusive / maxInclusive / maxExclusive, as pySHACL compares: a
    value that is not a literal, is ill-typed or cannot be compared with the bound fails."""

    _COMPONENTS: ClassVar[dict[URIRef, URIRef]] = {
        SH.minInclusive: SH.MinInclusiveConstraintComponent,
        SH.minExclusive: SH.MinExclusiveConstraintComponent,
        SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
        SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    }

    def __init__(self, kind: URIRef, bound: Literal) -> None:
        self.kind = kind
        self.component = self._COMPONENTS[kind]
        self.bound = bound

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        # pySHACL's own comparison (value_range_constraints.py), so the answers are the same
        kind, bound = self.kind, self.bound
        bound_is_string = isinstance(bound.value, str)

        def ok(v: Term) -> bool:
            if not isinstance(v, ox.Literal):
                return False
            value = ctx.rdflib(v)
            assert isinstance(value, Literal)
            if isinstance(value.value, str) != bound_is_string:
                return False
            try:
                order = compare_literal(value, bound)
            except (TypeError, NotImplementedError):
                return False
            if kind == SH.minInclusive:
                return bool(order >= 0)
            if kind == SH.minExclusive:
                return bool(order > 0)
            if kind == SH.maxInclusive:
                return bool(order <= 0)
            return bool(order < 0)

        return ok


#: Value classes that pySHACL compares by value (pyshacl/rdfutil/compare.py).
_COMPARE_BY_VALUE = (datetime, time)


def compare_literal(l1: Literal, l2: Literal) -> int:
    """pySHACL 0.40's ``compare_literal`` (pyshacl/rdfutil/compare.py, Apache License 2.0,
    Copyright Ashley Sommer and the pySHACL contributors), copied rather than imported:
    importing any pySHACL module imports all of pySHACL and rdflib's SPARQL engine (~0.4 s,
    more than an incremental build's whole validation). A test holds it to the original.
    Raises ``TypeError`` or ``NotImplementedError`` when the two cannot be compared."""
    if l1.eq(l2):
        return 0
    # not equal, and no TypeError or NotImplementedError: comparable datatypes
    if l1.value.__class__ in _COMPARE_BY_VALUE:
        if l1.value == l2.value:
            return 0
        elif l1.value > l2.value:
            return 1
    elif l1 > l2:
        return 1
    return -1
