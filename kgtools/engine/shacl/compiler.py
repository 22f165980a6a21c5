"""The shapes graph compiled once into :class:`~kgtools.engine.shacl.model.Shape` objects.

Reads every shape (https://www.w3.org/TR/shacl/#shapes), its targets
(https://www.w3.org/TR/shacl/#targets), path and constraint parameters, and builds the constraint
objects of the family modules. A SHACL feature the validator does not implement raises
:class:`~kgtools.errors.UnsupportedShapeError` here, before any data is read, so the compiled
validator never silently answers differently from pySHACL. A new constraint component is read in
:meth:`_Compiler._constraints` and named in ``_CONSTRAINTS``.
"""

from __future__ import annotations

import re

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from kgtools.engine.shacl.cardinality import MaxCount, MinCount
from kgtools.engine.shacl.logical import AndConstraint, NotConstraint, OrConstraint, XoneConstraint
from kgtools.engine.shacl.model import Constraint, Shape, ShapePath
from kgtools.engine.shacl.other import HasValue, InConstraint
from kgtools.engine.shacl.property_pair import LessThanOrEquals
from kgtools.engine.shacl.shape_based import NodeConstraint, PropertyConstraint, QualifiedValueShape
from kgtools.engine.shacl.sparql import FORBIDDEN, PATH_VAR, THIS_VAR, SparqlConstraint
from kgtools.engine.shacl.string_based import LanguageIn, PatternConstraint, UniqueLang
from kgtools.engine.shacl.validator import CompiledShapes, namespace_graph
from kgtools.engine.shacl.value_range import RangeConstraint
from kgtools.engine.shacl.value_type import ClassConstraint, DatatypeConstraint, NodeKindConstraint
from kgtools.engine.terms import from_rdflib
from kgtools.errors import UnsupportedShapeError

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
        self.nm = namespace_graph(graph).namespace_manager
        self.shapes: dict[Node, Shape] = {}
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

    def shape(self, node: Node) -> Shape:
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

    def _path(self, node: Node, path: Node) -> ShapePath:
        if isinstance(path, URIRef):
            return ShapePath(ox.NamedNode(str(path)), False, path, self.nm.normalizeUri(path))
        inverse = self.g.value(path, SH.inversePath)
        if isinstance(inverse, URIRef) and len(list(self.g.predicate_objects(path))) == 1:
            text = "^" + self.nm.normalizeUri(inverse)
            return ShapePath(ox.NamedNode(str(inverse)), True, path, text)
        raise self.fail(node, "a property path other than an IRI or sh:inversePath of an IRI")

    def _build(self, node: Node) -> Shape:
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
        shape = Shape(
            node=node,
            name=self.name(node),
            path=path,
            severity=severity,  # type: ignore[arg-type]
            messages=tuple(sorted({(m.language or "", str(m)) for m in messages})),
            message_literals=messages,
            deactivated=isinstance(deactivated, Literal) and bool(deactivated.value),
        )
        shape.target_classes = [ox_iri(c) for c in g.objects(node, SH.targetClass)]
        types = set(g.objects(node, RDF.type))
        if types & ({RDFS.Class, OWL.Class} | set(g.subjects(RDFS.subClassOf, RDFS.Class))):
            shape.target_classes.append(ox_iri(node))
        shape.target_nodes = [from_rdflib(n) for n in g.objects(node, SH.targetNode)]
        shape.target_subjects_of = [ox_iri(p) for p in g.objects(node, SH.targetSubjectsOf)]
        shape.target_objects_of = [ox_iri(p) for p in g.objects(node, SH.targetObjectsOf)]
        shape.constraints = self._constraints(node, path)
        return shape

    def _constraints(self, node: Node, path: ShapePath | None) -> list[Constraint]:
        g = self.g
        out: list[Constraint] = []
        out.extend(ClassConstraint(ox_iri(c)) for c in g.objects(node, SH["class"]))
        datatype = self._one(node, SH.datatype)
        if datatype is not None:
            out.append(DatatypeConstraint(datatype))  # type: ignore[arg-type]
        kind = self._one(node, SH.nodeKind)
        if kind is not None:
            out.append(NodeKindConstraint(kind))  # type: ignore[arg-type]
        low = self._int(node, SH.minCount)
        if low is not None:
            out.append(MinCount(low))
        high = self._int(node, SH.maxCount)
        if high is not None:
            out.append(MaxCount(high))
        patterns = list(g.objects(node, SH.pattern))
        if patterns:
            flags_node = next(iter(g.objects(node, SH.flags)), None)
            flags = str(flags_node).lower() if flags_node is not None else ""
            re_flags = (re.I if "i" in flags else 0) | (re.M if "m" in flags else 0)
            out.extend(PatternConstraint(re.compile(str(p), re_flags)) for p in patterns)
        language_in = self._one(node, SH.languageIn)
        if language_in is not None:
            out.append(LanguageIn({str(x).lower() for x in Collection(g, language_in)}))
        unique = self._one(node, SH.uniqueLang)
        if unique is not None:
            if path is None:
                raise self.fail(node, "sh:uniqueLang on a node shape")
            if isinstance(unique, Literal) and unique.value is True:
                out.append(UniqueLang())
        in_list = self._one(node, SH["in"])
        if in_list is not None:
            out.append(InConstraint({from_rdflib(x) for x in Collection(g, in_list)}))
        for value in g.objects(node, SH.hasValue):
            out.append(HasValue(from_rdflib(value)))
        for other in g.objects(node, SH["not"]):
            out.append(NotConstraint(self.shape(other)))
        for kind_p, cls in (
            (SH["or"], OrConstraint),
            (SH["and"], AndConstraint),
            (SH.xone, XoneConstraint),
        ):
            for lst in g.objects(node, kind_p):
                out.append(cls([self.shape(s) for s in Collection(g, lst)]))
        for other in g.objects(node, SH.node):
            out.append(NodeConstraint(self.shape(other)))
        for prop in g.objects(node, SH.property):
            child = self.shape(prop)
            if child.path is None:
                raise self.fail(prop, "sh:property pointing to a shape without sh:path")
            out.append(PropertyConstraint(child))
        qualified = self._one(node, SH.qualifiedValueShape)
        if qualified is not None:
            out.append(self._qualified(node, qualified))
        for kind in (SH.minInclusive, SH.minExclusive, SH.maxInclusive, SH.maxExclusive):
            bound = self._one(node, kind)
            if bound is not None:
                if not isinstance(bound, Literal):
                    raise self.fail(node, f"{kind.n3()} with a value that is not a literal")
                out.append(RangeConstraint(kind, bound))
        for other in g.objects(node, SH.lessThanOrEquals):
            if path is None:
                raise self.fail(node, "sh:lessThanOrEquals on a node shape")
            out.append(LessThanOrEquals(ox_iri(other)))
        for sparql in g.objects(node, SH.sparql):
            out.append(self._sparql(node, sparql, path))
        return out

    def _qualified(self, node: Node, value_shape: Node) -> QualifiedValueShape:
        low = self._int(node, SH.qualifiedMinCount)
        high = self._int(node, SH.qualifiedMaxCount)
        if low is None and high is None:
            raise self.fail(node, "sh:qualifiedValueShape without a qualified count")
        disjoint = any(
            isinstance(d, Literal) and d.value is True
            for d in self.g.objects(node, SH.qualifiedValueShapesDisjoint)
        )
        siblings: list[Shape] = []
        if disjoint:
            nodes = {
                q
                for parent in self.g.subjects(SH.property, node)
                for sibling in self.g.objects(parent, SH.property)
                for q in self.g.objects(sibling, SH.qualifiedValueShape)
                if q != value_shape
            }
            siblings = [self.shape(q) for q in nodes]
        return QualifiedValueShape(self.shape(value_shape), low, high, siblings)

    def _sparql(self, shape: Node, node: Node, path: ShapePath | None) -> SparqlConstraint:
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
        for feature, regex in FORBIDDEN.items():
            if regex.search(text):
                raise self.fail(shape, f"{feature} in a SPARQL constraint")
        if not THIS_VAR.search(text):
            raise self.fail(shape, "a SPARQL constraint without $this")
        head = text[: text.find("{")] if "{" in text else ""
        if not re.fullmatch(r"(?is)\s*SELECT\b[^{]*", head) or not re.search(
            r"[\$\?]this\b|\*", head
        ):
            raise self.fail(shape, "a SPARQL constraint that does not select $this")
        if PATH_VAR.search(text):
            if path is None:
                raise self.fail(shape, "$PATH in a SPARQL constraint of a node shape")
            text = PATH_VAR.sub(lambda m: m.group(1) + path.sparql(), text)
        prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in self._prefixes(node).items())
        deactivated = self._one(node, SH.deactivated)
        constraint = SparqlConstraint(
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
        prefixes = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}
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


def ox_iri(node: Node) -> ox.NamedNode:
    if not isinstance(node, URIRef):
        raise UnsupportedShapeError(node.n3(), "a blank node where an IRI is expected")
    return ox.NamedNode(str(node))


def compile(shapes: Graph) -> CompiledShapes:
    """Parse ``shapes`` once; raise :class:`UnsupportedShapeError` for features not implemented."""
    compiler = _Compiler(shapes)
    for node in compiler.all_shape_nodes():
        compiler.shape(node)
    top = [s for s in compiler.shapes.values() if s.has_targets and not s.deactivated]
    return CompiledShapes(shapes, top, compiler.nm)
