"""Fast SHACL validation with the semantics of the reference stage
(:mod:`kgtools.reference.pyshacl`).

Why a second validator: pySHACL is the reference, but it evaluates every constraint one focus node
at a time, and its SPARQL-based constraints run one query per focus node (pySHACL issue #237). At a
million triples that takes minutes. This module keeps pySHACL's semantics — as
``kgtools.reference.pyshacl`` calls it: ontology mixed in, no inference, ``allow_warnings``, not
advanced — and changes only how the work is organised:

* the shapes graph is parsed once (:func:`compile`) into plain Python objects;
* every targeted shape is evaluated set-at-a-time: its focus nodes are found once, each property
  shape walks that list once, and each constraint is one loop over the (focus, values) pairs, with
  per-value checks (``sh:datatype``, nested value shapes) done once per distinct value;
* the values of all the forward paths under one shape are read in one pass over its focus nodes
  (each node's ``predicate → objects`` map of a :class:`~kgtools.engine.terms.MemoryIndex` is
  looked up once, and read while it is in cache), and ``sh:class`` over many values is one set
  difference with the class's instances. Hashing pyoxigraph terms, which keep no hash, is most of
  the cost at scale, so the work is organised to hash each node as few times as possible;
* each SPARQL constraint runs ONCE for all focus nodes (``$this`` is left free and restricted to
  the focus nodes with a ``VALUES`` block serialised by pyoxigraph), on a pyoxigraph ``Store``.
  With many focus nodes (a join over tens of thousands of them is an order of magnitude slower
  on the on-disk store than in memory) and triples held in memory, it runs on a small in-memory
  store holding only the triples whose predicates the query reads — found by parsing it with
  rdflib; a query whose predicates do not follow from its text (a variable predicate, a negated
  or zero-length path, ``GRAPH``, ``FROM``) runs on the given store as before.

What is reproduced exactly (the test suite compares with pySHACL on every case file): focus nodes
(``sh:targetClass`` through ``rdfs:subClassOf*`` over data ∪ ontology, ``sh:targetNode``,
``sh:targetSubjectsOf``, ``sh:targetObjectsOf``, implicit class targets), value nodes, results
(focus, path, component, severity, value, source shape) and messages (``sh:message``; for SPARQL
results pySHACL's ``{?var}`` substitution, which also drops the language tags). pySHACL mixes in
only
the RDFS/OWL axioms of the ontology (its "inoculation"); :func:`inoculate` does the same.

Known differences, all outside what this project's shapes use: pySHACL's generic messages for
shapes without ``sh:message`` are not generated (such results have no messages); ``sh:node``
detail results are reported (as pySHACL's report does) but a ``focus`` restriction filters them by
their own focus node; SPARQL runs on Oxigraph, not rdflib's engine, so casts of odd lexical forms
(``xsd:integer(" 12")``) may differ. Any SHACL feature not implemented here raises
:class:`~kgtools.errors.UnsupportedShapeError` when the shapes are compiled.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Collection as Values  # rdflib.collection.Collection is the RDF list
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from functools import cached_property
from itertools import chain, starmap
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.term import Node

from kgtools.engine.terms import MemoryIndex, Term, TripleSource, from_rdflib, to_rdflib
from kgtools.errors import UnsupportedShapeError
from kgtools.namespaces import bind_prefixes

if TYPE_CHECKING:
    from kgtools.validation import ValidationReport, ValidationResult

__all__ = ["CompiledShapes", "compile", "inoculate", "validate_graphs"]

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_OWL = "http://www.w3.org/2002/07/owl#"
OX_TYPE = ox.NamedNode(_RDF + "type")
OX_SUBCLASS = ox.NamedNode(_RDFS + "subClassOf")
OX_FIRST = ox.NamedNode(_RDF + "first")

#: Severities under which pySHACL (``allow_warnings=True``) still calls a shape conforming.
_ALLOWED = frozenset({SH.Info, SH.Warning})

# What pySHACL's inoculation copies from the ontology (pyshacl.rdfutil.consts).
_RDFS_CLASSES = (
    "Class",
    "Container",
    "ContainerMembershipProperty",
    "Datatype",
    "Literal",
    "Resource",
)
_OWL_CLASSES = [
    "AllDifferent",
    "AllDisjointClasses",
    "AllDisjointProperties",
    "Annotation",
    "AnnotationProperty",
    "AsymmetricProperty",
    "Axiom",
    "Class",
    "DataRange",
    "DatatypeProperty",
    "DeprecatedClass",
    "DeprecatedProperty",
    "FunctionalProperty",
    "InverseFunctionalProperty",
    "IrreflexiveProperty",
    "NamedIndividual",
    "NegativePropertyAssertion",
    "ObjectProperty",
    "Ontology",
    "OntologyProperty",
    "ReflexiveProperty",
    "Restriction",
    "SymmetricProperty",
    "TransitiveProperty",
]
_RDFS_PROPERTIES = "comment domain isDefinedBy label member range seeAlso subClassOf subPropertyOf"
_OWL_PROPERTIES = [
    "allValuesFrom",
    "annotatedProperty",
    "annotatedSource",
    "annotatedTarget",
    "assertionProperty",
    "cardinality",
    "complementOf",
    "datatypeComplementOf",
    "differentFrom",
    "disjointUnionOf",
    "disjointWith",
    "distinctMembers",
    "equivalentClass",
    "equivalentProperty",
    "hasKey",
    "hasSelf",
    "hasValue",
    "intersectionOf",
    "inverseOf",
    "maxCardinality",
    "maxQualifiedCardinality",
    "members",
    "minCardinality",
    "minQualifiedCardinality",
    "onClass",
    "onDataRange",
    "onDatatype",
    "onProperties",
    "onProperty",
    "oneOf",
    "propertyChainAxiom",
    "propertyDisjointWith",
    "qualifiedCardinality",
    "sameAs",
    "someValuesFrom",
    "sourceIndividual",
    "targetIndividual",
    "targetValue",
    "unionOf",
    "withRestrictions",
    "backwardCompatibleWith",
    "deprecated",
    "incompatibleWith",
    "priorVersion",
    "versionInfo",
    "bottomDataProperty",
    "topDataProperty",
    "bottomObjectProperty",
    "topObjectProperty",
    "imports",
    "versionIRI",
]
_INOCULATED_CLASSES = [ox.NamedNode(_RDFS + c) for c in _RDFS_CLASSES] + [
    ox.NamedNode(_OWL + c) for c in _OWL_CLASSES
]
_INOCULATED_PROPERTIES = [ox.NamedNode(_RDFS + p) for p in _RDFS_PROPERTIES.split()] + [
    ox.NamedNode(_OWL + p) for p in _OWL_PROPERTIES
]
_NAMED_INDIVIDUAL = ox.NamedNode(_OWL + "NamedIndividual")


def inoculate(ontology: TripleSource) -> MemoryIndex:
    """The part of ``ontology`` pySHACL mixes into the data graph (its ``inoculate``).

    RDFS/OWL typing triples of classes and properties, the RDFS/OWL axiom properties
    (``rdfs:subClassOf``, ``rdfs:label``, ``owl:unionOf`` …) with the blank nodes they reach, and
    everything about an ``owl:NamedIndividual``. Blank nodes keep their ids (pySHACL renames them).
    """
    source = MemoryIndex(ontology.match(None, None, None))
    out = MemoryIndex()
    done: set[Term] = set()

    def deep(node: Term, follow_iris: bool, depth: int) -> None:
        if node in done or depth > 10:
            return
        done.add(node)
        for triple in source.match(node, None, None):
            out.add(triple)
            obj = triple[2]
            if isinstance(obj, ox.BlankNode) or (follow_iris and isinstance(obj, ox.NamedNode)):
                deep(obj, follow_iris, depth + 1)

    individuals = set(source.subjects(OX_TYPE, _NAMED_INDIVIDUAL))
    for cls in _INOCULATED_CLASSES:
        for subject in list(source.subjects(OX_TYPE, cls)):
            out.add((subject, OX_TYPE, cls))
            if isinstance(subject, ox.BlankNode):
                deep(subject, False, 0)
    for prop in _INOCULATED_PROPERTIES:
        for s, p, o in list(source.match(None, prop, None)):
            out.add((s, p, o))
            for node in (s, o):
                if isinstance(node, ox.BlankNode):
                    deep(node, False, 0)
    for individual in individuals:
        deep(individual, True, 0)
        for s, p, o in list(source.match(None, None, individual)):
            out.add((s, p, o))
            if isinstance(s, ox.BlankNode):
                deep(s, False, 0)
    return out


# -- the data as the validator sees it ------------------------------------------------------


def _match_objects(data: TripleSource, s: Term, p: ox.NamedNode) -> set[Term]:
    return {t[2] for t in data.match(s, p, None)}


def _match_subjects(data: TripleSource, p: ox.NamedNode, o: Term) -> set[Term]:
    return {t[0] for t in data.match(None, p, o)}


class _View:
    """Data ∪ inoculated ontology, with memoised class membership."""

    def __init__(self, data: TripleSource, ontology: MemoryIndex) -> None:
        self.data = data
        self.ontology = ontology
        self.onto_subjects = {t[0] for t in ontology}
        self.onto_objects = {t[2] for t in ontology}
        objects = getattr(data, "objects", None)
        subjects = getattr(data, "subjects", None)
        by_subject = getattr(data, "by_subject", None)
        #: the data's ``subject → predicate → objects`` map, when it has one (MemoryIndex)
        self.data_by_subject: Mapping[Term, Mapping[ox.NamedNode, set[Term]]] | None = (
            by_subject() if callable(by_subject) else None
        )
        #: the data alone (MemoryIndex's own lookups when it has them). Not bound methods of
        #: the view: a view must not be in a reference cycle, or the store it reads stays open
        #: until the garbage collector runs — after the build has moved the store's folder.
        self.data_objects: Callable[[Term, ox.NamedNode], set[Term]] = (
            objects if callable(objects) else functools.partial(_match_objects, data)
        )
        self.data_subjects: Callable[[ox.NamedNode, Term], set[Term]] = (
            subjects if callable(subjects) else functools.partial(_match_subjects, data)
        )
        supers: dict[Term, set[Term]] = {}
        for source in (data, ontology):
            for s, _, o in source.match(None, OX_SUBCLASS, None):
                supers.setdefault(s, set()).add(o)
        self._direct_supers = supers
        self._supers: dict[Term, frozenset[Term]] = {}
        self._classes: dict[Term, frozenset[Term]] = {}
        self._instances: dict[Term, frozenset[Term]] = {}

    def objects(self, s: Term, p: ox.NamedNode) -> set[Term]:
        found = self.data_objects(s, p)
        if s in self.onto_subjects:
            extra = self.ontology.objects(s, p)
            if extra:
                return found | extra
        return found

    def subjects(self, p: ox.NamedNode, o: Term) -> set[Term]:
        found = self.data_subjects(p, o)
        if o in self.onto_objects:
            extra = self.ontology.subjects(p, o)
            if extra:
                return found | extra
        return found

    def match(self, s: Term | None, p: ox.NamedNode | None, o: Term | None) -> set[tuple]:
        return set(self.data.match(s, p, o)) | set(self.ontology.match(s, p, o))

    def superclasses(self, cls: Term) -> frozenset[Term]:
        """``cls`` and everything it is ``rdfs:subClassOf*``."""
        found = self._supers.get(cls)
        if found is None:
            seen = {cls}
            todo = [cls]
            while todo:
                for sup in self._direct_supers.get(todo.pop(), ()):
                    if sup not in seen:
                        seen.add(sup)
                        todo.append(sup)
            found = self._supers[cls] = frozenset(seen)
        return found

    def subclasses(self, cls: Term) -> set[Term]:
        """``cls`` and everything that is ``rdfs:subClassOf*`` it."""
        return {c for c in self._direct_supers if cls in self.superclasses(c)} | {cls}

    def classes(self, node: Term) -> frozenset[Term]:
        """Every class ``node`` is an instance of (``rdf:type/rdfs:subClassOf*``)."""
        found = self._classes.get(node)
        if found is None:
            if isinstance(node, ox.Literal):
                found = frozenset()
            else:
                types = self.objects(node, OX_TYPE)
                if len(types) == 1:  # the usual case: share the class's own set
                    found = self.superclasses(next(iter(types)))
                else:
                    found = frozenset().union(*(self.superclasses(t) for t in types))
            self._classes[node] = found
        return found

    def instances(self, cls: Term) -> frozenset[Term]:
        """Every node that :meth:`classes` puts in ``cls``: the subjects of ``rdf:type`` one of
        its :meth:`subclasses` (the same relation read from the class side, as set unions)."""
        found = self._instances.get(cls)
        if found is None:
            found = self._instances[cls] = frozenset().union(
                *(self.subjects(OX_TYPE, c) for c in self.subclasses(cls))
            )
        return found


# -- compiled shapes -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Path:
    predicate: ox.NamedNode
    inverse: bool
    node: Node  # the path in the shapes graph (an IRI, or a blank node with sh:inversePath)
    text: str  # as ValidationResult.path shows it

    def sparql(self) -> str:
        return ("^" if self.inverse else "") + str(self.predicate)


class _Raw(NamedTuple):
    """A result before conversion to rdflib: severity and default path come from ``shape``."""

    focus: Term
    value: Term | None
    component: URIRef
    shape: _Shape
    path: URIRef | None = None  # None: the shape's path
    messages: tuple[tuple[str, str], ...] | None = None  # None: the shape's messages
    nested: bool = False  # a sh:detail result under a sh:node result


@dataclass(eq=False)
class _Shape:
    node: Node
    name: str
    path: _Path | None
    severity: URIRef
    messages: tuple[tuple[str, str], ...]
    message_literals: tuple[Literal, ...]
    deactivated: bool
    target_classes: list[ox.NamedNode] = field(default_factory=list)
    target_nodes: list[Term] = field(default_factory=list)
    target_subjects_of: list[ox.NamedNode] = field(default_factory=list)
    target_objects_of: list[ox.NamedNode] = field(default_factory=list)
    constraints: list[_Constraint] = field(default_factory=list)

    @property
    def has_targets(self) -> bool:
        return bool(
            self.target_classes
            or self.target_nodes
            or self.target_subjects_of
            or self.target_objects_of
        )


class FocusValues:
    """The value nodes of each focus node, as two parallel lists (no pair object per node).

    Iterating gives ``(focus, values)`` pairs; ``values`` is never modified (it is often the data
    index's own set).
    """

    __slots__ = ("focus", "values")

    def __init__(self, focus: Sequence[Term], values: list[Values[Term]]) -> None:
        self.focus = focus
        self.values = values

    def __iter__(self) -> Iterator[tuple[Term, Values[Term]]]:
        return zip(self.focus, self.values, strict=True)

    def __len__(self) -> int:
        return len(self.values)


#: The value nodes of a focus node without any (shared; never modified).
_NO_VALUES: frozenset[Term] = frozenset()


class _Constraint:
    """One constraint component of one shape."""

    component: URIRef

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        raise NotImplementedError

    def value_test(self, ctx: _Run) -> Callable[[Term], bool] | None:
        """For a node shape: a test of the focus node alone, if this constraint is one."""
        return None


class _PerValue(_Constraint):
    """A constraint that reports each value node failing ``test``."""

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        raise NotImplementedError

    def failures(self, ctx: _Run, values: set[Term]) -> set[Term]:
        """The values that fail the test."""
        test = self.test(ctx)
        return {v for v in values if not test(v)}

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        # set-at-a-time: test each distinct value once, then find the focus nodes of the failures
        bad = self.failures(ctx, ctx.distinct_values(fv))
        if not bad:
            return
        component = self.component
        for focus, values in fv:
            if not bad.isdisjoint(values):
                out.extend(_Raw(focus, v, component, shape) for v in values if v in bad)

    def value_test(self, ctx: _Run) -> Callable[[Term], bool] | None:
        return self.test(ctx)


class _Class(_PerValue):
    component = SH.ClassConstraintComponent

    def __init__(self, cls: ox.NamedNode | ox.BlankNode) -> None:
        self.cls = cls

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        classes, cls = ctx.view.classes, self.cls
        return lambda v: cls in classes(v)

    def failures(self, ctx: _Run, values: set[Term]) -> set[Term]:
        if len(values) < _MANY_VALUES:
            return super().failures(ctx, values)
        # Many values: one set difference (in C, on the hashes the sets already hold) against
        # the class's instances instead of a class lookup per value. A literal is never an
        # instance, as classes() has it.
        return values - ctx.view.instances(self.cls)


class _Datatype(_PerValue):
    component = SH.DatatypeConstraintComponent

    def __init__(self, datatype: URIRef) -> None:
        self.datatype = datatype
        self.cache: dict[Term, bool] = {}

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
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


class _NodeKind(_PerValue):
    component = SH.NodeKindConstraintComponent
    _KINDS: ClassVar[dict[type, tuple[URIRef, ...]]] = {
        ox.BlankNode: (SH.BlankNode, SH.BlankNodeOrLiteral, SH.BlankNodeOrIRI),
        ox.Literal: (SH.Literal, SH.BlankNodeOrLiteral, SH.IRIOrLiteral),
        ox.NamedNode: (SH.IRI, SH.IRIOrLiteral, SH.BlankNodeOrIRI),
    }

    def __init__(self, kind: URIRef) -> None:
        self.allowed = tuple(k for k, kinds in self._KINDS.items() if kind in kinds)

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        allowed = self.allowed
        return lambda v: isinstance(v, allowed)


def _string(v: Term) -> str | None:
    """pySHACL's value_node_to_string (``None`` for a blank node)."""
    if isinstance(v, ox.BlankNode):
        return None
    return v.value


class _Pattern(_PerValue):
    component = SH.PatternConstraintComponent

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        search = self.regex.search

        def check(v: Term) -> bool:
            text = _string(v)
            return text is not None and search(text) is not None

        return check


class _LanguageIn(_PerValue):
    component = SH.LanguageInConstraintComponent

    def __init__(self, languages: set[str]) -> None:
        self.languages = languages
        self.wildcard = "*" in languages

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        languages, wildcard = self.languages, self.wildcard

        def check(v: Term) -> bool:
            lang = v.language if isinstance(v, ox.Literal) else None
            if not lang:
                return False
            low = lang.lower()
            return wildcard or low in languages or lang.split("-")[0].lower() in languages

        return check


class _In(_PerValue):
    component = SH.InConstraintComponent

    def __init__(self, values: set[Term]) -> None:
        self.values = values

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        return self.values.__contains__


class _Not(_PerValue):
    component = SH.NotConstraintComponent

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        conforms = ctx.conformance(self.shape)
        return lambda v: not conforms(v)


class _ShapeList(_PerValue):
    """sh:or / sh:and / sh:xone: a test of each value against a list of shapes."""

    def __init__(self, shapes: list[_Shape]) -> None:
        self.shapes = shapes


class _Or(_ShapeList):
    component = SH.OrConstraintComponent

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        tests = [ctx.conformance(s) for s in self.shapes]
        if not tests:
            return lambda v: True
        return lambda v: any(t(v) for t in tests)


class _And(_ShapeList):
    component = SH.AndConstraintComponent

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        tests = [ctx.conformance(s) for s in self.shapes]
        return lambda v: all(t(v) for t in tests)


class _Xone(_ShapeList):
    component = SH.XoneConstraintComponent

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
        tests = [ctx.conformance(s) for s in self.shapes]
        return lambda v: sum(1 for t in tests if t(v)) == 1


class _MinCount(_Constraint):
    component = SH.MinCountConstraintComponent

    def __init__(self, count: int) -> None:
        self.count = count

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        if self.count == 0:
            return
        count, component = self.count, self.component
        out.extend(_Raw(f, None, component, shape) for f, values in fv if len(values) < count)

    def value_test(self, ctx: _Run) -> Callable[[Term], bool] | None:
        return (lambda v: True) if self.count <= 1 else (lambda v: False)


class _MaxCount(_Constraint):
    component = SH.MaxCountConstraintComponent

    def __init__(self, count: int) -> None:
        self.count = count

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        count, component = self.count, self.component
        out.extend(_Raw(f, None, component, shape) for f, values in fv if len(values) > count)

    def value_test(self, ctx: _Run) -> Callable[[Term], bool] | None:
        return (lambda v: True) if self.count >= 1 else (lambda v: False)


class _UniqueLang(_Constraint):
    component = SH.UniqueLangConstraintComponent

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        for focus, values in fv:
            if len(values) < 2:
                continue
            seen: set[str] = set()
            duplicates: set[str] = set()
            for v in values:
                if isinstance(v, ox.Literal) and v.language:
                    low = v.language.lower()
                    if low in seen:
                        duplicates.add(low)
                    seen.add(low)
            for _ in duplicates:
                out.append(_Raw(focus, None, self.component, shape))


class _HasValue(_Constraint):
    component = SH.HasValueConstraintComponent

    def __init__(self, value: Term) -> None:
        self.value = value

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        value, component = self.value, self.component
        out.extend(_Raw(f, None, component, shape) for f, values in fv if value not in values)

    def value_test(self, ctx: _Run) -> Callable[[Term], bool] | None:
        value = self.value
        return lambda v: v == value


class _Qualified(_Constraint):
    component = SH.QualifiedMinCountConstraintComponent

    def __init__(
        self, shape: _Shape, low: int | None, high: int | None, siblings: list[_Shape]
    ) -> None:
        self.shape = shape
        self.low = low
        self.high = high
        self.siblings = siblings

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
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
            component = SH.QualifiedMinCountConstraintComponent
            out.extend(_Raw(f, None, component, shape) for f, values in fv if ok.isdisjoint(values))
            return
        for focus, values in fv:
            count = len(ok.intersection(values)) if values else 0
            if high is not None and count > high:
                out.append(_Raw(focus, None, SH.QualifiedMaxCountConstraintComponent, shape))
            if low is not None and count < low:
                out.append(_Raw(focus, None, SH.QualifiedMinCountConstraintComponent, shape))


class _Node(_Constraint):
    component = SH.NodeConstraintComponent

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        for focus, values in fv:
            for v in values:
                nested = ctx.nested_results(self.shape, v)
                if nested or not ctx.conforms(self.shape, v):
                    out.append(_Raw(focus, v, self.component, shape))
                    out.extend(r._replace(nested=True) for r in nested)


class _Property(_Constraint):
    component = SH.PropertyConstraintComponent

    def __init__(self, shape: _Shape) -> None:
        self.shape = shape

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        ctx.evaluate(self.shape, ctx.child_focus(fv), out)


class _Range(_PerValue):
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

    def test(self, ctx: _Run) -> Callable[[Term], bool]:
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


class _LessThanOrEquals(_Constraint):
    component = SH.LessThanOrEqualsConstraintComponent

    def __init__(self, predicate: ox.NamedNode) -> None:
        self.predicate = predicate

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
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
                        out.append(_Raw(focus, value, self.component, shape))


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


# -- SPARQL constraints ----------------------------------------------------------------------

_THIS = re.compile(r"([\s{}()])[\$\?]this", flags=re.M)
_PATH = re.compile(r"([\s{}()])[\$\?]PATH", flags=re.M)
_FORBIDDEN = {
    "MINUS": re.compile(r"\bMINUS\s*\{", re.I),
    "VALUES": re.compile(r"(?<![\w\-:])VALUES\b", re.I),
    "SERVICE": re.compile(r"\bSERVICE\b", re.I),
    "a nested SELECT": re.compile(r"\{[^#]*\bSELECT\b", re.I | re.S),
    "$shapesGraph": re.compile(r"[\$\?]shapesGraph\b"),
    "$currentShape": re.compile(r"[\$\?]currentShape\b"),
}


class _Sparql(_Constraint):
    component = SH.SPARQLConstraintComponent

    def __init__(self, node: Node, query: str, messages: tuple[Literal, ...]) -> None:
        self.node = node
        self.query = query  # prefixes applied, $PATH substituted
        self.messages = messages
        brace = query.index("{")
        self.head, self.body = query[: brace + 1], query[brace + 1 :]

    @cached_property
    def predicates(self) -> frozenset[ox.NamedNode] | None:
        """Every predicate the query can read, or ``None`` when that is not known statically."""
        return _query_predicates(self.query)

    def run(self, ctx: _Run, shape: _Shape, fv: FocusValues, out: list[_Raw]) -> None:
        focus_nodes = set(fv.focus)
        if not focus_nodes:
            return
        if any(isinstance(f, ox.BlankNode) for f in focus_nodes):
            query = self.query  # VALUES cannot hold a blank node: filter the rows below instead
        else:
            # Terms serialised by pyoxigraph (N-Triples syntax): no user text is formatted in.
            values = " ".join(str(f) for f in focus_nodes)
            query = f"{self.head} VALUES ?this {{ {values} }} {self.body}"
        many = len(focus_nodes) >= _SUBSET_MIN_FOCUS
        solutions = ctx.sparql(query, lambda: self.predicates, copy=many)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        rows: dict[Term, list[tuple[Any, Any, Any]]] = {}
        for solution in solutions:
            bound = {n: solution[n] for n in names if solution[n] is not None}
            this = bound.pop("this", None)
            if this is None or this not in focus_nodes:
                continue
            failure = bound.pop("failure", None)
            path = bound.pop("path", None)
            value = bound.pop("value", None)
            key = (True, None, ()) if failure is not None else (path, value, tuple(bound.items()))
            seen = rows.setdefault(this, [])
            if key not in seen:
                seen.append(key)
        is_property = shape.path is not None
        for this, keys in rows.items():
            # The store's solution order is arbitrary (it differs between stores): report a
            # focus node's results in a fixed order.
            keys.sort(key=_row_order)
            for path, value, extra in keys:
                if path is True:
                    value, path = (None if is_property else this), None
                else:
                    if value is None and not is_property:
                        value = this
                    elif value is not None and shape.path is not None:
                        value = ctx.original(value, ctx.values(shape.path, this))
                bindings = dict(extra)
                bindings["this"] = this
                if path is not None:
                    bindings["path"] = path
                if value is not None:
                    bindings["value"] = value
                out.append(
                    _Raw(
                        this,
                        value,
                        self.component,
                        shape,
                        path=URIRef(path.value) if isinstance(path, ox.NamedNode) else None,
                        messages=self._messages(shape, bindings),
                    )
                )

    def _messages(self, shape: _Shape, bindings: dict[str, Term]) -> tuple[tuple[str, str], ...]:
        """pySHACL's make_v_result with bound variables: the constraint's and the shape's
        messages, formatted — each keeping its language tag (pySHACL drops them; the reference
        stage puts them back: :func:`kgtools.reference.pyshacl.restore_languages`)."""
        texts = set()
        for m in (*self.messages, *shape.message_literals):
            texts.add((m.language or "", _format(str(m), bindings)))
        return tuple(sorted(texts))


def _row_order(key: tuple[Any, Any, Any]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    path, value, extra = key
    return (str(path), str(value), tuple((name, str(term)) for name, term in extra))


#: From this many distinct values on, sh:class is checked against the class's instances at once.
_MANY_VALUES = 256
#: From this many focus nodes on, a SPARQL constraint runs on an in-memory copy of the triples
#: whose predicates it reads (see :meth:`_Run.sparql`) rather than on the given store.
_SUBSET_MIN_FOCUS = 1000
#: Algebra nodes that reach beyond the default graph: a query with one is never run on a copy.
_OTHER_GRAPHS = frozenset({"Graph", "GraphGraphPattern", "ServiceGraphPattern", "Service"})


def _query_predicates(query: str) -> frozenset[ox.NamedNode] | None:
    """The predicates of every triple pattern and property path in ``query`` (rdflib's parse).

    ``None`` when the triples a query can read do not follow from them: a variable predicate, a
    negated property set, a zero-length path (``*``, ``?``: it matches every node of the graph),
    ``GRAPH``, ``SERVICE``, ``FROM``, or a query rdflib cannot parse.
    """
    from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    try:
        algebra = prepareQuery(query).algebra
    except Exception:
        return None
    if algebra.get("datasetClause"):
        return None
    found: set[ox.NamedNode] = set()

    def predicate(p: object) -> bool:
        if isinstance(p, URIRef):
            found.add(ox.NamedNode(str(p)))
            return True
        if isinstance(p, InvPath):
            return predicate(p.arg)
        if isinstance(p, SequencePath | AlternativePath):
            return all(predicate(x) for x in p.args)
        if isinstance(p, MulPath):
            return p.mod == "+" and predicate(p.path)
        return False  # a variable, a negated property set, anything unknown

    def walk(node: object) -> bool:
        if isinstance(node, CompValue):
            if node.name in _OTHER_GRAPHS:
                return False
            if "triples" in node and not all(predicate(t[1]) for t in node["triples"]):
                return False
            return all(walk(v) for v in node.values())
        if isinstance(node, list | tuple):
            return all(walk(x) for x in node)
        return True

    return frozenset(found) if walk(algebra) else None


def _format(message: str, bindings: dict[str, Term]) -> str:
    for var, val in bindings.items():
        message = re.sub(f"{{[?$]{var}}}", str(to_rdflib(val)), message)
    return message


# -- compiling the shapes graph --------------------------------------------------------------

_TARGETS = {SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf}
#: SHACL terms on a shape that are not constraints (or are read with their constraint).
_NON_CONSTRAINTS = {
    SH.path,
    SH.message,
    SH.severity,
    SH.deactivated,
    SH.name,
    SH.description,
    SH.order,
    SH.group,
    SH.defaultValue,
    SH.flags,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
    SH.declare,
    *_TARGETS,
}
_CONSTRAINTS = {
    SH["class"],
    SH.datatype,
    SH.nodeKind,
    SH.minCount,
    SH.maxCount,
    SH.pattern,
    SH.languageIn,
    SH.uniqueLang,
    SH["in"],
    SH.hasValue,
    SH["not"],
    SH["or"],
    SH["and"],
    SH.xone,
    SH.node,
    SH.property,
    SH.qualifiedValueShape,
    SH.lessThanOrEquals,
    SH.minInclusive,
    SH.minExclusive,
    SH.maxInclusive,
    SH.maxExclusive,
    SH.sparql,
}
_SHAPE_TYPES = {SH.NodeShape, SH.PropertyShape}


class _Compiler:
    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.nm = _namespace_graph(graph).namespace_manager
        self.shapes: dict[Node, _Shape] = {}
        self.building: set[Node] = set()

    def name(self, node: Node) -> str:
        return self.nm.normalizeUri(node) if isinstance(node, URIRef) else node.n3()

    def fail(self, node: Node, feature: str) -> UnsupportedShapeError:
        return UnsupportedShapeError(self.name(node), feature)

    def all_shape_nodes(self) -> set[Node]:
        g = self.g
        nodes: set[Node] = set()
        for t in _SHAPE_TYPES:
            nodes.update(g.subjects(RDF.type, t))
        for p in (*_TARGETS, SH.path, SH.target):
            nodes.update(g.subjects(p, None))
        for p in (SH.property, SH.node, SH["not"], SH.qualifiedValueShape):
            nodes.update(g.objects(None, p))
        for p in (SH["or"], SH["and"], SH.xone):
            for lst in g.objects(None, p):
                nodes.update(Collection(g, lst))
        if any(g.subjects(RDF.type, SH.ConstraintComponent)):
            raise self.fail(
                next(iter(g.subjects(RDF.type, SH.ConstraintComponent))),
                "a custom constraint component",
            )
        return nodes

    def shape(self, node: Node) -> _Shape:
        found = self.shapes.get(node)
        if found is not None:
            return found
        if node in self.building:
            raise self.fail(node, "a recursive shape reference")
        self.building.add(node)
        try:
            shape = self._build(node)
        finally:
            self.building.discard(node)
        self.shapes[node] = shape
        return shape

    def _one(self, node: Node, p: URIRef) -> Node | None:
        values = list(self.g.objects(node, p))
        if len(values) > 1:
            raise self.fail(node, f"more than one {self.name(p)}")
        return values[0] if values else None

    def _int(self, node: Node, p: URIRef) -> int | None:
        value = self._one(node, p)
        if value is None:
            return None
        if not isinstance(value, Literal) or not isinstance(value.value, int):
            raise self.fail(node, f"a {self.name(p)} that is not an integer")
        return int(value.value)

    def _path(self, node: Node, path: Node) -> _Path:
        if isinstance(path, URIRef):
            return _Path(ox.NamedNode(str(path)), False, path, self.nm.normalizeUri(path))
        inverse = self.g.value(path, SH.inversePath)
        if isinstance(inverse, URIRef) and len(list(self.g.predicate_objects(path))) == 1:
            text = "^" + self.nm.normalizeUri(inverse)
            return _Path(ox.NamedNode(str(inverse)), True, path, text)
        raise self.fail(node, "a property path other than an IRI or sh:inversePath of an IRI")

    def _build(self, node: Node) -> _Shape:
        g = self.g
        for p in set(g.predicates(node, None)):
            if p in (SH.target, SH.rule, SH.expression, SH.js, SH.closed) or (
                str(p).startswith(str(SH)) and p not in _CONSTRAINTS | _NON_CONSTRAINTS
            ):
                raise self.fail(node, self.name(p))
        if (node, SH.ignoredProperties, None) in g:
            raise self.fail(node, "sh:closed")
        path_node = self._one(node, SH.path)
        path = self._path(node, path_node) if path_node is not None else None
        severity = self._one(node, SH.severity) or SH.Violation
        deactivated = self._one(node, SH.deactivated)
        messages = tuple(m for m in g.objects(node, SH.message) if isinstance(m, Literal))
        shape = _Shape(
            node=node,
            name=self.name(node),
            path=path,
            severity=severity,  # type: ignore[arg-type]
            messages=tuple(sorted({(m.language or "", str(m)) for m in messages})),
            message_literals=messages,
            deactivated=isinstance(deactivated, Literal) and bool(deactivated.value),
        )
        shape.target_classes = [_ox_iri(c) for c in g.objects(node, SH.targetClass)]
        types = set(g.objects(node, RDF.type))
        if types & ({RDFS.Class, OWL.Class} | set(g.subjects(RDFS.subClassOf, RDFS.Class))):
            shape.target_classes.append(_ox_iri(node))
        shape.target_nodes = [from_rdflib(n) for n in g.objects(node, SH.targetNode)]
        shape.target_subjects_of = [_ox_iri(p) for p in g.objects(node, SH.targetSubjectsOf)]
        shape.target_objects_of = [_ox_iri(p) for p in g.objects(node, SH.targetObjectsOf)]
        shape.constraints = self._constraints(node, path)
        return shape

    def _constraints(self, node: Node, path: _Path | None) -> list[_Constraint]:
        g = self.g
        out: list[_Constraint] = []
        out.extend(_Class(_ox_iri(c)) for c in g.objects(node, SH["class"]))
        datatype = self._one(node, SH.datatype)
        if datatype is not None:
            out.append(_Datatype(datatype))  # type: ignore[arg-type]
        kind = self._one(node, SH.nodeKind)
        if kind is not None:
            out.append(_NodeKind(kind))  # type: ignore[arg-type]
        low = self._int(node, SH.minCount)
        if low is not None:
            out.append(_MinCount(low))
        high = self._int(node, SH.maxCount)
        if high is not None:
            out.append(_MaxCount(high))
        patterns = list(g.objects(node, SH.pattern))
        if patterns:
            flags_node = next(iter(g.objects(node, SH.flags)), None)
            flags = str(flags_node).lower() if flags_node is not None else ""
            re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0)
            out.extend(_Pattern(re.compile(str(p), re_flags)) for p in patterns)
        language_in = self._one(node, SH.languageIn)
        if language_in is not None:
            out.append(_LanguageIn({str(x).lower() for x in Collection(g, language_in)}))
        unique = self._one(node, SH.uniqueLang)
        if unique is not None:
            if path is None:
                raise self.fail(node, "sh:uniqueLang on a node shape")
            if isinstance(unique, Literal) and unique.value is True:
                out.append(_UniqueLang())
        in_list = self._one(node, SH["in"])
        if in_list is not None:
            out.append(_In({from_rdflib(x) for x in Collection(g, in_list)}))
        for value in g.objects(node, SH.hasValue):
            out.append(_HasValue(from_rdflib(value)))
        for other in g.objects(node, SH["not"]):
            out.append(_Not(self.shape(other)))
        for kind_p, cls in ((SH["or"], _Or), (SH["and"], _And), (SH.xone, _Xone)):
            for lst in g.objects(node, kind_p):
                out.append(cls([self.shape(s) for s in Collection(g, lst)]))
        for other in g.objects(node, SH.node):
            out.append(_Node(self.shape(other)))
        for prop in g.objects(node, SH.property):
            child = self.shape(prop)
            if child.path is None:
                raise self.fail(prop, "sh:property pointing to a shape without sh:path")
            out.append(_Property(child))
        qualified = self._one(node, SH.qualifiedValueShape)
        if qualified is not None:
            out.append(self._qualified(node, qualified))
        for kind in (SH.minInclusive, SH.minExclusive, SH.maxInclusive, SH.maxExclusive):
            bound = self._one(node, kind)
            if bound is not None:
                if not isinstance(bound, Literal):
                    raise self.fail(node, f"{kind.n3()} with a value that is not a literal")
                out.append(_Range(kind, bound))
        for other in g.objects(node, SH.lessThanOrEquals):
            if path is None:
                raise self.fail(node, "sh:lessThanOrEquals on a node shape")
            out.append(_LessThanOrEquals(_ox_iri(other)))
        for sparql in g.objects(node, SH.sparql):
            out.append(self._sparql(node, sparql, path))
        return out

    def _qualified(self, node: Node, value_shape: Node) -> _Qualified:
        low = self._int(node, SH.qualifiedMinCount)
        high = self._int(node, SH.qualifiedMaxCount)
        if low is None and high is None:
            raise self.fail(node, "sh:qualifiedValueShape without a qualified count")
        disjoint = any(
            isinstance(d, Literal) and d.value is True
            for d in self.g.objects(node, SH.qualifiedValueShapesDisjoint)
        )
        siblings: list[_Shape] = []
        if disjoint:
            nodes = {
                q
                for parent in self.g.subjects(SH.property, node)
                for sibling in self.g.objects(parent, SH.property)
                for q in self.g.objects(sibling, SH.qualifiedValueShape)
                if q != value_shape
            }
            siblings = [self.shape(q) for q in nodes]
        return _Qualified(self.shape(value_shape), low, high, siblings)

    def _sparql(self, shape: Node, node: Node, path: _Path | None) -> _Sparql:
        g = self.g
        for p in set(g.predicates(node, None)):
            if p in (SH.ask, SH.construct, SH.update) or (
                str(p).startswith(str(SH))
                and p not in {SH.select, SH.message, SH.prefixes, SH.deactivated, SH.severity}
            ):
                raise self.fail(shape, f"{self.name(p)} in a SPARQL constraint")
        select = self._one(node, SH.select)
        if not isinstance(select, Literal):
            raise self.fail(shape, "a SPARQL constraint without sh:select")
        text = str(select)
        for feature, regex in _FORBIDDEN.items():
            if regex.search(text):
                raise self.fail(shape, f"{feature} in a SPARQL constraint")
        if not _THIS.search(text):
            raise self.fail(shape, "a SPARQL constraint without $this")
        head = text[: text.find("{")] if "{" in text else ""
        if not re.fullmatch(r"(?is)\s*SELECT\b[^{]*", head) or not re.search(
            r"[\$\?]this\b|\*", head
        ):
            raise self.fail(shape, "a SPARQL constraint that does not select $this")
        if _PATH.search(text):
            if path is None:
                raise self.fail(shape, "$PATH in a SPARQL constraint of a node shape")
            text = _PATH.sub(lambda m: m.group(1) + path.sparql(), text)
        prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in self._prefixes(node).items())
        deactivated = self._one(node, SH.deactivated)
        constraint = _Sparql(
            node,
            prefixes + "\n" + text,
            tuple(m for m in g.objects(node, SH.message) if isinstance(m, Literal)),
        )
        if isinstance(deactivated, Literal) and deactivated.value is True:
            constraint.run = lambda *args: None  # type: ignore[method-assign]
        return constraint

    def _prefixes(self, node: Node) -> dict[str, str]:
        """pySHACL's collect_prefixes."""
        g = self.g
        prefixes = {"rdf": _RDF, "rdfs": _RDFS, "owl": _OWL}
        named = set(g.objects(g.identifier, SH.declare))
        ontologies = set(g.subjects(RDF.type, OWL.Ontology))
        global_declares = named | {d for o in ontologies for d in g.objects(o, SH.declare)}
        for holder in g.objects(node, SH.prefixes):
            own = set(g.objects(holder, SH.declare))
            declares = own | named if own and holder in ontologies else global_declares | own
            for declare in declares:
                prefix = self._one(declare, SH.prefix)
                namespace = self._one(declare, SH.namespace)
                if prefix is None or namespace is None:
                    raise self.fail(node, "an sh:declare without sh:prefix and sh:namespace")
                prefixes[str(prefix)] = str(namespace)
        return prefixes


def _ox_iri(node: Node) -> ox.NamedNode:
    if not isinstance(node, URIRef):
        raise UnsupportedShapeError(node.n3(), "a blank node where an IRI is expected")
    return ox.NamedNode(str(node))


def _namespace_graph(shapes: Graph) -> Graph:
    """An empty graph with the prefixes of pySHACL's results graph, as kgtools.reference.pyshacl
    has them."""
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in shapes.namespace_manager.namespaces():
        graph.namespace_manager.bind(prefix, namespace)
    return bind_prefixes(graph)


def compile(shapes: Graph) -> CompiledShapes:
    """Parse ``shapes`` once; raise :class:`UnsupportedShapeError` for features not implemented."""
    compiler = _Compiler(shapes)
    for node in compiler.all_shape_nodes():
        compiler.shape(node)
    top = [s for s in compiler.shapes.values() if s.has_targets and not s.deactivated]
    return CompiledShapes(shapes, top, compiler.nm)


# -- running ---------------------------------------------------------------------------------


class _Run:
    """One validation run: the view of the data, memos, and the SPARQL store."""

    def __init__(
        self,
        view: _View,
        store: ox.Store | None,
        graphs: list[ox.NamedNode] | None,
        build_store: Callable[[], ox.Store],
        copy_from: Sequence[TripleSource] = (),
    ) -> None:
        self.view = view
        self._store = store
        self._given_store = store is not None
        self._graphs = graphs
        self._build_store = build_store
        self._copy_from = copy_from
        self._conforms: dict[tuple[_Shape, Term], bool] = {}
        self._nested: dict[tuple[_Shape, Term], list[_Raw]] = {}
        self._tests: dict[_Shape, Callable[[Term], bool] | None] = {}
        self._canon: dict[Term, Term] = {}
        self._rdflib: dict[Term, Node] = {}
        self._fv: dict[tuple[_Path | None, int], tuple[Sequence[Term], FocusValues]] = {}
        self._distinct: dict[int, tuple[FocusValues, set[Term]]] = {}
        self._children: dict[int, tuple[FocusValues, list[Term]]] = {}
        self._child_paths: dict[_Shape, list[_Path]] = {}
        self._onto_rows: tuple[set[int], set[Term]] | None = None
        self._row_cache: dict[
            tuple[int, bool],
            tuple[Sequence[Term], list[Mapping[ox.NamedNode, set[Term]] | None] | None, list[int]],
        ] = {}

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

    def values(self, path: _Path, focus: Term) -> set[Term]:
        if path.inverse:
            return self.view.subjects(path.predicate, focus)
        return self.view.objects(focus, path.predicate)

    def rdflib(self, term: Term) -> Node:
        found = self._rdflib.get(term)
        if found is None:
            found = self._rdflib[term] = to_rdflib(term)
        return found

    def focus_values(self, path: _Path | None, focus_nodes: Sequence[Term]) -> FocusValues:
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
        none = _NO_VALUES
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

    def _prefetch(self, shape: _Shape, fv: FocusValues) -> None:
        """The (focus, values) of every forward path of the property shapes under ``shape``, in
        one pass (see :meth:`_forward`), ahead of :meth:`focus_values` asking for each."""
        paths = self._child_paths.get(shape)
        if paths is None:
            paths = self._child_paths[shape] = list(
                {
                    c.shape.path: None
                    for c in shape.constraints
                    if isinstance(c, _Property)
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

    def _rows(
        self, focus_nodes: Sequence[Term], inverse: bool
    ) -> tuple[list[Mapping[ox.NamedNode, set[Term]] | None] | None, list[int]]:
        """What every path from these focus nodes needs, looked up once per list: the data's
        ``predicate → objects`` of each focus node (forward paths, when the data has that map),
        and the positions of the focus nodes the ontology has triples about (their values are
        the union of both: ``_View.objects``/``subjects``)."""
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

    def evaluate(self, shape: _Shape, focus_nodes: Sequence[Term], out: list[_Raw]) -> None:
        if shape.deactivated or not focus_nodes:
            return
        fv = self.focus_values(shape.path, focus_nodes)
        if len(focus_nodes) > 1:
            self._prefetch(shape, fv)
        for constraint in shape.constraints:
            constraint.run(self, shape, fv, out)

    def nested_results(self, shape: _Shape, node: Term) -> list[_Raw]:
        key = (shape, node)
        found = self._nested.get(key)
        if found is None:
            found = []
            self.evaluate(shape, [node], found)
            self._nested[key] = found
        return found

    def _value_test(self, shape: _Shape) -> Callable[[Term], bool] | None:
        if shape in self._tests:
            return self._tests[shape]
        test = None
        if shape.path is None and not shape.deactivated and shape.severity not in _ALLOWED:
            tests = [c.value_test(self) for c in shape.constraints]
            if all(t is not None for t in tests):
                checks = [t for t in tests if t is not None]
                test = checks[0] if len(checks) == 1 else (lambda v: all(t(v) for t in checks))
        self._tests[shape] = test
        return test

    def conformance(self, shape: _Shape) -> Callable[[Term], bool]:
        """:meth:`conforms` to ``shape`` as a function of the node; not memoised when it is a
        test of the node alone (cheaper than the memo's lookup, and no memo to keep)."""
        if shape.deactivated or shape.severity in _ALLOWED:
            return lambda v: True
        test = self._value_test(shape)
        if test is not None:
            return test
        conforms = self.conforms
        return lambda v: conforms(shape, v)

    def conforms(self, shape: _Shape, node: Term) -> bool:
        """pySHACL's conformance of ``node`` to a shape used by sh:not/or/and/xone/qualified…"""
        key = (shape, node)
        found = self._conforms.get(key)
        if found is None:
            if shape.deactivated or shape.severity in _ALLOWED:
                found = True
            else:
                test = self._value_test(shape)
                if test is not None:
                    found = test(node)
                else:
                    found = all(
                        r.shape.severity in _ALLOWED
                        for r in self.nested_results(shape, node)
                        if not r.nested
                    )
            self._conforms[key] = found
        return found


class CompiledShapes:
    """A shapes graph ready to validate many data graphs (see :func:`compile`)."""

    def __init__(self, graph: Graph, top: list[_Shape], namespaces: object) -> None:
        self.graph = graph
        self._top = top
        self._nm = namespaces
        #: result path text -> (IRI, inverse), for the results graph of a report
        self._paths: dict[str, tuple[URIRef, bool]] = {}

    # targets ------------------------------------------------------------------------------

    def _focus_nodes(self, view: _View, shape: _Shape, focus: set[Term] | None) -> list[Term]:
        if focus is not None:
            found = []
            targets = set(shape.target_nodes)
            for node in focus:
                if (
                    node in targets
                    or any(c in view.classes(node) for c in shape.target_classes)
                    or any(view.objects(node, p) for p in shape.target_subjects_of)
                    or any(view.subjects(p, node) for p in shape.target_objects_of)
                ):
                    found.append(node)
            return found
        nodes: set[Term] = set(shape.target_nodes)
        for cls in shape.target_classes:
            for sub in view.subclasses(cls):
                nodes.update(view.subjects(OX_TYPE, sub))
        for p in shape.target_subjects_of:
            nodes.update(t[0] for t in view.match(None, p, None))
        for p in shape.target_objects_of:
            nodes.update(t[2] for t in view.match(None, p, None))
        return list(nodes)

    # validation ---------------------------------------------------------------------------

    def validate_raw(
        self,
        data: TripleSource,
        ontology: TripleSource,
        *,
        focus: set[Term] | None = None,
        sparql_store: ox.Store | None = None,
        sparql_graphs: list[ox.NamedNode] | None = None,
    ) -> list[_Raw]:
        onto = inoculate(ontology)
        view = _View(data, onto)

        def build_store() -> ox.Store:
            store = ox.Store()
            store.bulk_extend(
                ox.Quad(s, p, o, ox.DefaultGraph())  # type: ignore[arg-type]
                for source in (data, onto)
                for s, p, o in source.match(None, None, None)
            )
            return store

        # Triples held in memory can be copied cheaply for a SPARQL constraint with many focus
        # nodes (see _Run.sparql): from the sources the store was made of.
        copy_from: tuple[TripleSource, ...] = ()
        if isinstance(data, MemoryIndex):
            copy_from = (data, ontology if sparql_store is not None else onto)
        run = _Run(view, sparql_store, sparql_graphs, build_store, copy_from)
        out: list[_Raw] = []
        for shape in self._top:
            run.evaluate(shape, self._focus_nodes(view, shape, focus), out)
            run.forget()
        if focus is not None:
            out = [r for r in out if r.focus in focus]
        return out

    def validate(
        self,
        data: TripleSource,
        ontology: TripleSource,
        *,
        focus: set[Term] | None = None,
        sparql_store: ox.Store | None = None,
        sparql_graphs: list[ox.NamedNode] | None = None,
    ) -> list[ValidationResult]:
        """Validate ``data`` with ``ontology`` mixed in; results as :mod:`kgtools.reference.pyshacl`
        gives.

        ``focus`` restricts validation to those focus nodes (the result equals the full result
        filtered to them). SPARQL constraints run on ``sparql_store`` — queried with
        ``sparql_graphs`` as its default graph (e.g. ``[DATA_GRAPH, ONTOLOGY_GRAPH]``; ``None``:
        the store's default graph), which must hold the same data and ontology. When ``data`` is
        a :class:`~kgtools.engine.terms.MemoryIndex`, a constraint runs instead on an in-memory copy
        of the triples (of ``data`` and the ontology) whose predicates it reads — with a store
        given, when it has many focus nodes; without one, always (see ``_Run.sparql``).
        Otherwise, without a store, one is built in memory from ``data`` and the ontology the
        first time a SPARQL constraint has focus nodes.
        """
        raws = self.validate_raw(
            data, ontology, focus=focus, sparql_store=sparql_store, sparql_graphs=sparql_graphs
        )
        return sorted(self._result(r) for r in raws)

    def _result(self, raw: _Raw) -> ValidationResult:
        from kgtools.validation import ValidationResult

        shape = raw.shape
        path = ""
        if raw.path is None and shape.path is not None:
            path = shape.path.text
            self._paths[path] = (URIRef(shape.path.predicate.value), shape.path.inverse)
        elif isinstance(raw.path, URIRef):
            path = self._nm.normalizeUri(raw.path)  # type: ignore[attr-defined]
            self._paths[path] = (raw.path, False)
        return ValidationResult(
            focus=to_rdflib(raw.focus),
            path=path,
            component=raw.component,
            severity=shape.severity,
            messages=raw.messages if raw.messages is not None else shape.messages,
            value=to_rdflib(raw.value) if raw.value is not None else None,
            shape=shape.node,
        )

    def report(
        self,
        results: list[ValidationResult],
        data: Graph | None = None,
        *,
        label_of: Callable[[Node], str | None] | None = None,
    ) -> ValidationReport:
        """A :class:`ValidationReport` like :func:`kgtools.reference.pyshacl.validate` returns; the
        focus nodes' labels are read from ``data``, or by ``label_of``."""
        from kgtools.validation import ValidationReport, focus_labels, node_label

        graph = _namespace_graph(self.graph)
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add(
            (report, SH.conforms, Literal(not any(r.severity == SH.Violation for r in results)))
        )
        for r in results:
            node = BNode()
            graph.add((report, SH.result, node))
            graph.add((node, RDF.type, SH.ValidationResult))
            graph.add((node, SH.focusNode, r.focus))
            graph.add((node, SH.sourceConstraintComponent, r.component))
            graph.add((node, SH.resultSeverity, r.severity))
            if r.shape is not None:
                graph.add((node, SH.sourceShape, r.shape))
            if r.value is not None:
                graph.add((node, SH.value, r.value))
            if r.path:
                graph.add((node, SH.resultPath, self._path_node(graph, r.path)))
            for lang, text in r.messages:
                graph.add((node, SH.resultMessage, Literal(text, lang=lang or None)))
        if label_of is None:
            assert data is not None, "give the data graph or label_of"
            label_of = functools.partial(node_label, data)
        labels = focus_labels(results, label_of)
        return ValidationReport(results=results, labels=labels, graph=graph)

    def _path_node(self, graph: Graph, text: str) -> Node:
        iri, inverse = self._paths[text]
        if not inverse:
            return iri
        node = BNode()
        graph.add((node, SH.inversePath, iri))
        return node


def label_in(source: TripleSource, node: Node) -> str | None:
    """The ``rdfs:label`` of ``node`` in ``source`` that a report shows
    (:func:`kgtools.reference.pyshacl.report_label`)."""
    from kgtools.validation import report_label

    return report_label(
        (label.value, label.language)
        for _, _, label in source.match(from_rdflib(node), _RDFS_LABEL, None)
        if isinstance(label, ox.Literal)
    )


_RDFS_LABEL = ox.NamedNode(str(RDFS.label))


def validate_files(
    data_files: Sequence[Path], shapes_file: Path, ontology_file: Path
) -> tuple[ValidationReport, int]:
    """``kg validate``: the files parsed by Oxigraph with every load check (each file's problem
    reported together, as the build does) and validated by the compiled shapes — the results and
    report :func:`kgtools.reference.pyshacl.validate` (pySHACL) gives, in a fraction of its time at
    scale. Returns the report and the number of distinct data triples."""
    from kgtools.engine.terms import collector_paused, triple_to_rdflib
    from kgtools.load.fast import read_files
    from kgtools.load.schema import schema_terms

    with collector_paused():  # the index holds millions of tuples and sets
        keys = {path: path.as_posix() for path in [ontology_file, shapes_file]}
        read = read_files(keys.items())
        shapes = Graph()
        for triple in read.pop(keys[shapes_file]):
            shapes.add(triple_to_rdflib(triple))
        ontology_triples = read.pop(keys[ontology_file])
        ontology = MemoryIndex(ontology_triples)
        read = read_files(
            ((path, path.as_posix()) for path in data_files), schema=schema_terms(ontology_triples)
        )
        data = MemoryIndex(chain.from_iterable(read.values()))
        del read
        compiled = compile(shapes)
        results = compiled.validate(data, ontology)
        return compiled.report(results, label_of=functools.partial(label_in, data)), len(data)


def validate_graphs(data: Graph, shapes: Graph, ontology: Graph) -> ValidationReport:
    """:func:`kgtools.reference.pyshacl.validate` with the fast validator (same arguments, same
    report)."""
    from kgtools.engine.terms import triple_from_rdflib

    compiled = compile(shapes)
    data_index = MemoryIndex(triple_from_rdflib(t) for t in data)
    onto_index = MemoryIndex(triple_from_rdflib(t) for t in ontology)
    results = compiled.validate(data_index, onto_index)
    return compiled.report(results, data)
