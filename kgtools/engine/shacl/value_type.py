"""SHACL §4.1 value type constraints: ``sh:class``, ``sh:datatype``, ``sh:nodeKind``.

https://www.w3.org/TR/shacl/#core-components-value-type — each is a test of one value node,
run once per distinct value (``sh:class`` over many values: one set difference with the class's
instances). ``sh:datatype`` judges a literal as pySHACL does, on the rdflib literal, so an
ill-typed literal is rdflib's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import ClassVar

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD

from kgtools.engine.shacl.model import Context, PerValue
from kgtools.engine.terms import Term, to_rdflib


class ClassConstraint(PerValue):
    component = SH.ClassConstraintComponent

    def __init__(self, cls: ox.NamedNode | ox.BlankNode) -> None:
        self.cls = cls

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        classes, cls = ctx.view.classes, self.cls
        return lambda v: cls in classes(v)

    def failures(self, ctx: Context, values: set[Term]) -> set[Term]:
        if len(values) < _MANY_VALUES:
            return super().failures(ctx, values)
        # Many values: one set difference (in C, on the hashes the sets already hold) against
        # the class's instances instead of a class lookup per value. A literal is never an
        # instance, as classes() has it.
        return values - ctx.view.instances(self.cls)


#: From this many distinct values on, sh:class is checked against the class's instances at once.
_MANY_VALUES = 256


class DatatypeConstraint(PerValue):
    component = SH.DatatypeConstraintComponent

    def __init__(self, datatype: URIRef) -> None:
        self.datatype = datatype
        self.cache: dict[Term, bool] = {}

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        cache, rule = self.cache, self.datatype

        def check(v: Term) -> bool:
            ok = cache.get(v)
            if ok is None:
                ok = cache[v] = _datatype_matches(v, rule)
            return ok

        return check


def _datatype_matches(v: Term, rule: URIRef) -> bool:
    """pySHACL's DatatypeConstraintComponent, on the rdflib literal (so ill-typed is rdflib's)."""
    if not isinstance(v, ox.Literal):
        return False
    lit = to_rdflib(v)
    assert isinstance(lit, Literal)
    if lit.datatype == rule:
        return getattr(lit, "ill_typed", None) is not True and _actual_datatype(lit, rule)
    if rule == RDFS.Literal:
        return True
    if rule == RDFS.Datatype and lit.datatype:
        return True
    if lit.datatype is None and lit.language is None and rule == XSD.string:
        return _actual_datatype(lit, rule)
    if rule == RDF.langString and lit.language:
        return _actual_datatype(lit, rule)
    return False


def _actual_datatype(lit: Literal, rule: URIRef) -> bool:
    value = lit.value
    checks: dict[URIRef, type | tuple[type, ...]] = {
        XSD.string: (str, bytes),
        RDF.langString: (str, bytes),
        XSD.integer: int,
        XSD.float: float,
        XSD.decimal: Decimal,
        XSD.boolean: bool,
        XSD.date: date,
        XSD.time: time,
        XSD.dateTime: datetime,
    }
    expected = checks.get(rule)
    return True if expected is None else isinstance(value, expected)


class NodeKindConstraint(PerValue):
    component = SH.NodeKindConstraintComponent
    _KINDS: ClassVar[dict[type, tuple[URIRef, ...]]] = {
        ox.BlankNode: (SH.BlankNode, SH.BlankNodeOrLiteral, SH.BlankNodeOrIRI),
        ox.Literal: (SH.Literal, SH.BlankNodeOrLiteral, SH.IRIOrLiteral),
        ox.NamedNode: (SH.IRI, SH.IRIOrLiteral, SH.BlankNodeOrIRI),
    }

    def __init__(self, kind: URIRef) -> None:
        self.allowed = tuple(k for k, kinds in self._KINDS.items() if kind in kinds)

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        allowed = self.allowed
        return lambda v: isinstance(v, allowed)
