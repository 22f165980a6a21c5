"""Docs stage: HTML documentation of the ontology, the shapes and the query library.

:func:`generate_docs` writes four pages into one folder (``kg docs`` uses ``dist/docs/``):

* ``index.html`` — what the graph is, the build's numbers, links to the three pages;
* ``ontology.html`` — every ``tip:`` class and property with its Japanese and English label and
  definition, super- and sub-classes, domain, range, super-properties, inverses, property chains,
  instance counts and the shapes that check it;
* ``shapes.html`` — every SHACL node shape with its targets and property shapes (path,
  constraints, SHACL-SPARQL text) and every message in Japanese and English;
* ``queries.html`` — the query library: each ``.rq`` file's title, description, parameters,
  SPARQL text and its current answer over the built graph (asserted + inferred).

**Why our own templates and not pyLODE.** pyLODE was tried first: 3.4.1 fails on import (its
wheel lacks a module and reads a ``pyproject.toml`` it does not ship), and the output of 3.2.1
is not byte-stable between runs (``owl:unionOf`` domains come out in random order), shows one
label per term where we want Japanese and English side by side, leaves out property chains and
shapes, and puts links to other hosts (github.com, w3.org, schema.org …) into ``href``. So the
pages come from small Jinja2 templates in ``kgtools/templates/docs/`` that read the ontology and
the shapes with the rdflib graph API.

**Offline and reproducible.** The CSS is inline; no page loads or links to anything outside the
folder (IRIs of other vocabularies are shown as text, the project's own terms link within the
pages). Everything is sorted, nothing depends on the clock, and blank-node labels are never
printed, so the same inputs give the same bytes. Result rows whose order the query leaves open
(no ``ORDER BY``, or ties under it) are put in a fixed order; a ``GROUP_CONCAT`` inside one cell
keeps the order the query engine gives it.

Example values for parameterised queries come from ``tests/queries/<name>.params.json``
(``{"code": "131172"}``); a query with parameters and no such file is shown without an answer.
"""

from __future__ import annotations

import json
import re
import shlex
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeAlias

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS, XSD
from rdflib.term import Node, Variable

from kgtools import __version__
from kgtools.errors import DocsError
from kgtools.files import atomic_write_text
from kgtools.namespaces import (
    DATA_GRAPH,
    ID,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    ONTOLOGY_IRI,
    TIP,
    bind_prefixes,
)
from kgtools.project import Project
from kgtools.query.library import (
    QueryFile,
    QueryLibrary,
    load_query,
    parse_header,
    system_query_path,
)
from kgtools.query.params import parse_param
from kgtools.query.results import QueryResult, display
from kgtools.query.run import DEFAULT_TIMEOUT, run
from kgtools.store.base import Store

#: The pages, in the order they are written and listed.
PAGES = ("index.html", "ontology.html", "shapes.html", "queries.html")
#: Namespace of the SHACL shapes (ontology/shapes.ttl).
TIPS = Namespace("https://w3id.org/tokyo-industry-plans/shapes#")
SHAPES_IRI = URIRef("https://w3id.org/tokyo-industry-plans/shapes")
VANN = Namespace("http://purl.org/vocab/vann/")
DCTERMS = Namespace("http://purl.org/dc/terms/")
TEMPLATES = Path(__file__).resolve().parent / "templates" / "docs"
#: Where example parameter values for the library's queries are kept, relative to the project.
PARAMS_DIR = Path("tests") / "queries"


# -- the page model -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    """A term shown by its prefixed name; ``href`` only for terms documented in these pages."""

    text: str
    iri: str
    href: str | None = None


#: A piece of a rendered expression: plain text or a term.
Part: TypeAlias = "str | Ref"


@dataclass(frozen=True)
class Bi:
    """A text in Japanese and in English (several values in one language joined by " / ")."""

    ja: str = ""
    en: str = ""

    def __bool__(self) -> bool:
        return bool(self.ja or self.en)


@dataclass
class ClassDoc:
    ref: Ref
    anchor: str
    label: Bi
    definition: Bi
    comment: Bi
    superclasses: list[list[Part]]
    subclasses: list[Ref]
    domain_of: list[Ref]
    range_of: list[Ref]
    shapes: list[Ref]
    instances: int


def _term_texts(
    ontology: Graph, term: URIRef, names: _Names, anchors: dict[URIRef, str]
) -> dict[str, Any]:
    """What every term's entry starts with: its reference, anchor, and its label, definition
    and comment in both languages."""
    return {
        "ref": names.ref(term),
        "anchor": anchors[term],
        "label": _bi(ontology, term, RDFS.label),
        "definition": _bi(ontology, term, SKOS.definition),
        "comment": _bi(ontology, term, RDFS.comment),
    }


@dataclass
class PropertyDoc:
    ref: Ref
    anchor: str
    label: Bi
    definition: Bi
    comment: Bi
    kinds: list[Ref]
    domain: list[list[Part]]
    range: list[list[Part]]
    superproperties: list[Ref]
    subproperties: list[Ref]
    inverses: list[Ref]
    chains: list[list[Ref]]
    in_chains_of: list[Ref]
    shapes: list[Ref]


@dataclass
class Constraint:
    name: Ref
    value: list[Part]


@dataclass
class SparqlDoc:
    ref: Ref | None
    anchor: str | None
    label: Bi
    message: Bi
    select: str


@dataclass
class PropertyShapeDoc:
    ref: Ref
    anchor: str | None
    label: Bi
    comment: Bi
    path: list[Part]
    constraints: list[Constraint]
    sparql: list[SparqlDoc]
    message: Bi
    used_by: list[Ref]


@dataclass
class NodeShapeDoc:
    ref: Ref
    anchor: str
    label: Bi
    comment: Bi
    targets: list[Constraint]
    constraints: list[Constraint]
    sparql: list[SparqlDoc]
    message: Bi
    properties: list[PropertyShapeDoc]


@dataclass
class Cell:
    text: str
    title: str = ""


@dataclass
class QueryDoc:
    name: str
    anchor: str
    path: str
    title: str
    description: str
    parameters: str
    parameter_names: list[str]
    example: list[tuple[str, str]]
    text: str
    command: str = ""
    kind: str = ""
    variables: list[str] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    boolean: bool | None = None
    turtle: str = ""
    answered: bool = False
    order_note: str = ""


# -- names ----------------------------------------------------------------------------------------
class _Names:
    """Prefixed names for terms, and links for the terms these pages document."""

    def __init__(self) -> None:
        graph = bind_prefixes(Graph())
        graph.bind("tips", TIPS, override=True, replace=True)
        graph.bind("vann", VANN, override=True, replace=True)
        self._manager = graph.namespace_manager
        self.hrefs: dict[URIRef, str] = {}

    def qname(self, iri: URIRef) -> str:
        if iri.startswith(str(ID)):
            return display(iri)
        try:
            name = self._manager.normalizeUri(iri)
        except Exception:  # rdflib refuses some local names; the full IRI is always right
            name = f"<{iri}>"
        return name

    def ref(self, iri: URIRef) -> Ref:
        return Ref(self.qname(iri), str(iri), self.hrefs.get(iri))


@lru_cache(maxsize=1)
def _default_names() -> _Names:
    """Names without links (datatypes of literals)."""
    return _Names()


def _local(iri: URIRef, namespace: Namespace) -> str:
    return str(iri)[len(str(namespace)) :]


def _sort_key(parts: Sequence[Part]) -> tuple[str, str]:
    text = "".join(p if isinstance(p, str) else p.text for p in parts)
    return text.lower(), text


def _ref_key(ref: Ref) -> tuple[str, str]:
    return ref.text.lower(), ref.text


def _bi(graph: Graph, subject: Node, predicate: URIRef) -> Bi:
    values: dict[str, list[str]] = {"ja": [], "en": []}
    for value in graph.objects(subject, predicate):
        if isinstance(value, Literal) and value.language in values:
            values[value.language].append(str(value))
    return Bi(" / ".join(sorted(values["ja"])), " / ".join(sorted(values["en"])))


def _literal(value: Literal) -> str:
    if value.language:
        return f'"{value}"@{value.language}'
    if value.datatype is None or value.datatype == XSD.string:
        return f'"{value}"'
    if value.datatype in (XSD.integer, XSD.boolean, XSD.decimal, XSD.double):
        return str(value)
    return f'"{value}"^^{_default_names().qname(value.datatype)}'


def _is_list(graph: Graph, node: Node) -> bool:
    return node == RDF.nil or (node, RDF.first, None) in graph


def _join(items: Iterable[list[Part]], separator: str) -> list[Part]:
    out: list[Part] = []
    for index, item in enumerate(items):
        if index:
            out.append(separator)
        out.extend(item)
    return out


class _Renderer:
    """Renders RDF nodes of one graph (class expressions, SHACL values and paths) as parts."""

    def __init__(self, graph: Graph, names: _Names) -> None:
        self.graph = graph
        self.names = names

    def items(self, node: Node) -> list[Node]:
        return list(Collection(self.graph, node)) if _is_list(self.graph, node) else []

    def value(self, node: Node) -> list[Part]:
        if node == RDF.nil:
            return ["( )"]
        if isinstance(node, URIRef):
            return [self.names.ref(node)]
        if isinstance(node, Literal):
            return [_literal(node)]
        if _is_list(self.graph, node):
            return ["( ", *_join((self.value(i) for i in self.items(node)), " "), " )"]
        return self.class_expression(node) or self.inline(node)

    def class_expression(self, node: Node) -> list[Part]:
        """OWL class expressions (``owl:unionOf`` …) in the usual set notation, else []."""
        operators = ((OWL.unionOf, " ∪ "), (OWL.intersectionOf, " ∩ "), (OWL.oneOf, ", "))
        for predicate, separator in operators:
            members = self.graph.value(node, predicate)
            if members is not None:
                rendered = sorted((self.value(m) for m in self.items(members)), key=_sort_key)
                if predicate == OWL.oneOf:
                    return ["{ ", *_join(rendered, separator), " }"]
                return _join(rendered, separator)
        complement = self.graph.value(node, OWL.complementOf)
        if complement is not None:
            return ["¬", *self.value(complement)]
        return []

    def inline(self, node: Node) -> list[Part]:
        """A blank node written out as ``[ predicate value ; … ]`` (never its label)."""
        rendered = sorted(
            (
                [self.names.ref(p), " ", *self.value(o)]
                for p, o in self.graph.predicate_objects(node)
                if isinstance(p, URIRef)
            ),
            key=_sort_key,
        )
        if not rendered:
            return ["[ ]"]
        return ["[ ", *_join(rendered, " ; "), " ]"]

    def path(self, node: Node) -> list[Part]:
        """A SHACL property path in SPARQL property-path syntax."""
        if isinstance(node, URIRef):
            return [self.names.ref(node)]
        if _is_list(self.graph, node):
            return _join((self._grouped(i) for i in self.items(node)), " / ")
        unary = (
            (SH.inversePath, "^", ""),
            (SH.zeroOrMorePath, "", "*"),
            (SH.oneOrMorePath, "", "+"),
            (SH.zeroOrOnePath, "", "?"),
        )
        for predicate, before, after in unary:
            inner = self.graph.value(node, predicate)
            if inner is not None:
                grouped = self._grouped(inner)
                return [before, *grouped, after] if before else [*grouped, after]
        alternatives = self.graph.value(node, SH.alternativePath)
        if alternatives is not None:
            return _join((self._grouped(i) for i in self.items(alternatives)), " | ")
        return self.value(node)

    def _grouped(self, node: Node) -> list[Part]:
        inner = self.path(node)
        return inner if isinstance(node, URIRef) else ["(", *inner, ")"]


# -- ontology -------------------------------------------------------------------------------------
_PROPERTY_TYPES = (
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    RDF.Property,
)
_PROPERTY_TRAITS = (
    OWL.TransitiveProperty,
    OWL.SymmetricProperty,
    OWL.AsymmetricProperty,
    OWL.FunctionalProperty,
    OWL.InverseFunctionalProperty,
    OWL.ReflexiveProperty,
    OWL.IrreflexiveProperty,
)


def _own_terms(graph: Graph, types: Iterable[URIRef]) -> list[URIRef]:
    found = {
        s
        for t in types
        for s in graph.subjects(RDF.type, t)
        if isinstance(s, URIRef) and s.startswith(str(TIP))
    }
    return sorted(found, key=lambda iri: (str(iri).lower(), str(iri)))


def _named_members(graph: Graph, renderer: _Renderer, node: Node) -> list[URIRef]:
    """The named classes in a domain or range: the class itself, or the members of a union."""
    if isinstance(node, URIRef):
        return [node]
    union = graph.value(node, OWL.unionOf)
    if union is None:
        return []
    return [m for m in renderer.items(union) if isinstance(m, URIRef)]


def _ontology_model(
    ontology: Graph,
    shapes: Graph,
    names: _Names,
    anchors: dict[URIRef, str],
    instances: dict[URIRef, int],
) -> dict[str, Any]:
    renderer = _Renderer(ontology, names)
    classes = [t for t in _own_terms(ontology, [OWL.Class, RDFS.Class]) if t in anchors]
    properties = [t for t in _own_terms(ontology, _PROPERTY_TYPES) if t in anchors]

    def refs(nodes: Iterable[Node]) -> list[Ref]:
        return sorted({names.ref(n) for n in nodes if isinstance(n, URIRef)}, key=_ref_key)

    def expressions(nodes: Iterable[Node]) -> list[list[Part]]:
        return sorted((renderer.value(n) for n in nodes), key=_sort_key)

    # Shapes that check each term: node shapes by target class, property shapes by path.
    node_shapes_by_class: dict[URIRef, set[URIRef]] = {}
    for shape, cls in shapes.subject_objects(SH.targetClass):
        if isinstance(shape, URIRef) and isinstance(cls, URIRef):
            node_shapes_by_class.setdefault(cls, set()).add(shape)
    property_shapes_by_path: dict[URIRef, set[URIRef]] = {}
    for shape, path in shapes.subject_objects(SH.path):
        if isinstance(shape, URIRef):
            for iri in _path_iris(shapes, path):
                property_shapes_by_path.setdefault(iri, set()).add(shape)

    domain_of: dict[URIRef, set[URIRef]] = {}
    range_of: dict[URIRef, set[URIRef]] = {}
    chains_using: dict[URIRef, set[URIRef]] = {}
    for prop in properties:
        for node in ontology.objects(prop, RDFS.domain):
            for cls in _named_members(ontology, renderer, node):
                domain_of.setdefault(cls, set()).add(prop)
        for node in ontology.objects(prop, RDFS.range):
            for cls in _named_members(ontology, renderer, node):
                range_of.setdefault(cls, set()).add(prop)
        for chain in ontology.objects(prop, OWL.propertyChainAxiom):
            for step in renderer.items(chain):
                if isinstance(step, URIRef):
                    chains_using.setdefault(step, set()).add(prop)

    class_docs = [
        ClassDoc(
            **_term_texts(ontology, cls, names, anchors),
            superclasses=expressions(ontology.objects(cls, RDFS.subClassOf)),
            subclasses=refs(ontology.subjects(RDFS.subClassOf, cls)),
            domain_of=refs(domain_of.get(cls, ())),
            range_of=refs(range_of.get(cls, ())),
            shapes=refs(node_shapes_by_class.get(cls, ())),
            instances=instances.get(cls, 0),
        )
        for cls in classes
    ]
    property_docs = []
    for prop in properties:
        types = set(ontology.objects(prop, RDF.type))
        kinds = [t for t in (*_PROPERTY_TYPES, *_PROPERTY_TRAITS) if t in types]
        inverses = {*ontology.objects(prop, OWL.inverseOf), *ontology.subjects(OWL.inverseOf, prop)}
        chains = sorted(
            (
                [names.ref(s) for s in renderer.items(chain) if isinstance(s, URIRef)]
                for chain in ontology.objects(prop, OWL.propertyChainAxiom)
            ),
            key=_sort_key,
        )
        property_docs.append(
            PropertyDoc(
                **_term_texts(ontology, prop, names, anchors),
                kinds=[names.ref(k) for k in kinds],
                domain=expressions(ontology.objects(prop, RDFS.domain)),
                range=expressions(ontology.objects(prop, RDFS.range)),
                superproperties=refs(ontology.objects(prop, RDFS.subPropertyOf)),
                subproperties=refs(ontology.subjects(RDFS.subPropertyOf, prop)),
                inverses=refs(inverses),
                chains=chains,
                in_chains_of=refs(chains_using.get(prop, ())),
                shapes=refs(property_shapes_by_path.get(prop, ())),
            )
        )

    header = ONTOLOGY_IRI
    external = sorted(
        {
            o
            for s, p, o in ontology
            if isinstance(s, URIRef)
            and s.startswith(str(TIP))
            and p in (RDFS.subClassOf, RDFS.subPropertyOf)
            and isinstance(o, URIRef)
            and not o.startswith(str(TIP))
        },
        key=lambda iri: names.qname(iri),
    )
    license_iri = ontology.value(header, DCTERMS.license)
    return {
        "iri": str(header),
        "title": _bi(ontology, header, DCTERMS.title),
        "description": _bi(ontology, header, DCTERMS.description),
        "version": str(ontology.value(header, OWL.versionInfo) or ""),
        "version_iri": str(ontology.value(header, OWL.versionIRI) or ""),
        "license": str(license_iri or ""),
        "prefix": str(ontology.value(header, VANN.preferredNamespacePrefix) or ""),
        "namespace": str(ontology.value(header, VANN.preferredNamespaceUri) or ""),
        "classes": class_docs,
        "properties": property_docs,
        "external": [names.ref(iri) for iri in external],
    }


def _path_iris(graph: Graph, path: Node) -> Iterator[URIRef]:
    """Every property IRI that occurs in a SHACL path."""
    if isinstance(path, URIRef):
        yield path
        return
    for _, obj in graph.predicate_objects(path):
        yield from _path_iris(graph, obj)


def _term_anchors(ontology: Graph) -> dict[URIRef, str]:
    """``class-Plan`` / ``prop-municipality`` for every class and property of the ontology."""
    anchors = {}
    for kind, types in (("prop", _PROPERTY_TYPES), ("class", (OWL.Class, RDFS.Class))):
        for term in _own_terms(ontology, types):
            anchors[term] = f"{kind}-{_local(term, Namespace(str(TIP)))}"
    return anchors


# -- shapes ---------------------------------------------------------------------------------------
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
#: Shown elsewhere on the page, or plumbing with nothing to read.
_NOT_CONSTRAINTS = frozenset(
    {
        RDF.type,
        RDFS.label,
        RDFS.comment,
        SH.path,
        SH.property,
        SH.message,
        SH.sparql,
        SH.prefixes,
        SH.select,
        SH.declare,
        *_TARGETS,
    }
)


def _shape_anchor(shape: URIRef, kind: str) -> str:
    return f"{kind}-{_local(shape, TIPS)}"


def _shapes_model(shapes: Graph, names: _Names, shape_kinds: dict[URIRef, str]) -> dict[str, Any]:
    renderer = _Renderer(shapes, names)

    def constraints(shape: Node, keep: Iterable[URIRef] | None = None) -> list[Constraint]:
        wanted = set(keep) if keep is not None else None
        out = [
            Constraint(names.ref(p), renderer.value(o))
            for p, o in shapes.predicate_objects(shape)
            if isinstance(p, URIRef)
            and (p in wanted if wanted is not None else p not in _NOT_CONSTRAINTS)
        ]
        return sorted(out, key=lambda c: (_ref_key(c.name), _sort_key(c.value)))

    def sparql(shape: Node, seen: set[URIRef]) -> list[SparqlDoc]:
        docs = []
        for node in shapes.objects(shape, SH.sparql):
            anchor = None
            if isinstance(node, URIRef) and node not in seen:
                seen.add(node)
                anchor = _shape_anchor(node, "sparql")
            docs.append(
                SparqlDoc(
                    ref=names.ref(node) if isinstance(node, URIRef) else None,
                    anchor=anchor,
                    label=_bi(shapes, node, RDFS.label),
                    message=_bi(shapes, node, SH.message),
                    select=textwrap.dedent(str(shapes.value(node, SH.select) or "")).strip("\n"),
                )
            )
        return sorted(docs, key=lambda d: (d.label.en, d.label.ja, d.select))

    node_shapes = sorted((s for s, kind in shape_kinds.items() if kind == "shape"), key=names.qname)
    property_shapes = {s for s, kind in shape_kinds.items() if kind == "pshape"}
    used_by: dict[URIRef, list[URIRef]] = {}
    for node_shape in node_shapes:
        for prop in shapes.objects(node_shape, SH.property):
            if isinstance(prop, URIRef):
                used_by.setdefault(prop, []).append(node_shape)

    seen_properties: set[URIRef] = set()
    seen_sparql: set[URIRef] = set()

    def property_doc(shape: URIRef, owner: URIRef | None) -> PropertyShapeDoc:
        anchor = None
        if shape not in seen_properties:
            seen_properties.add(shape)
            anchor = _shape_anchor(shape, "pshape")
        path = shapes.value(shape, SH.path)
        return PropertyShapeDoc(
            ref=names.ref(shape),
            anchor=anchor,
            label=_bi(shapes, shape, RDFS.label),
            comment=_bi(shapes, shape, RDFS.comment),
            path=renderer.path(path) if path is not None else [],
            constraints=constraints(shape),
            sparql=sparql(shape, seen_sparql),
            message=_bi(shapes, shape, SH.message),
            used_by=[names.ref(s) for s in used_by.get(shape, []) if s != owner],
        )

    def node_doc(shape: URIRef) -> NodeShapeDoc:
        members = sorted(
            (p for p in shapes.objects(shape, SH.property) if isinstance(p, URIRef)),
            key=names.qname,
        )
        return NodeShapeDoc(
            ref=names.ref(shape),
            anchor=_shape_anchor(shape, "shape"),
            label=_bi(shapes, shape, RDFS.label),
            comment=_bi(shapes, shape, RDFS.comment),
            targets=constraints(shape, _TARGETS),
            constraints=constraints(shape),
            sparql=sparql(shape, seen_sparql),
            message=_bi(shapes, shape, SH.message),
            properties=[property_doc(p, shape) for p in members],
        )

    targeted = [s for s in node_shapes if any(shapes.objects(s, t) for t in _TARGETS)]
    value_shapes = [s for s in node_shapes if s not in targeted]
    targeted_docs = [node_doc(s) for s in targeted]
    value_docs = [node_doc(s) for s in value_shapes]
    unattached = [
        property_doc(s, None) for s in sorted(property_shapes - set(used_by), key=names.qname)
    ]
    return {
        "iri": str(SHAPES_IRI),
        "title": _bi(shapes, SHAPES_IRI, RDFS.label),
        "description": _bi(shapes, SHAPES_IRI, RDFS.comment),
        "targeted": targeted_docs,
        "value_shapes": value_docs,
        "unattached": unattached,
        "count_node": len(node_shapes),
        "count_property": len(property_shapes),
    }


def _shape_kinds(shapes: Graph) -> dict[URIRef, str]:
    """Every named shape and SPARQL constraint, with the prefix of its anchor."""
    kinds: dict[URIRef, str] = {}
    for node in shapes.subjects(RDF.type, SH.NodeShape):
        if isinstance(node, URIRef):
            kinds[node] = "shape"
    for node in {
        *shapes.subjects(RDF.type, SH.PropertyShape),
        *shapes.objects(None, SH.property),
    }:
        if isinstance(node, URIRef):
            kinds[node] = "pshape"
    for node in {*shapes.subjects(RDF.type, SH.SPARQLConstraint), *shapes.objects(None, SH.sparql)}:
        if isinstance(node, URIRef):
            kinds[node] = "sparql"
    return kinds


# -- queries --------------------------------------------------------------------------------------
def example_params(project: Project, name: str) -> dict[str, Node] | None:
    """Example parameter values for library query ``name``, or None when there are none.

    Looks for ``tests/queries/<name>.params.json`` (``cq/plans`` or just ``plans``): a JSON
    object of parameter name → value, where ``"<…>"`` is an IRI and anything else a literal.
    """
    folder = project.root / PARAMS_DIR
    for candidate in (folder / f"{name}.params.json", folder / f"{Path(name).name}.params.json"):
        if candidate.is_file():
            try:
                values = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise DocsError(f"{candidate}: not a readable JSON object: {exc}") from exc
            if not isinstance(values, dict):
                raise DocsError(f'{candidate}: write a JSON object, e.g. {{"code": "131172"}}')
            return dict(parse_param(f"{key}={value}") for key, value in sorted(values.items()))
    return None


def _order_variables(query: QueryFile) -> list[str] | None:
    """Variables of the outermost ORDER BY, [] when there is none, None when it is not simple."""
    node = query.prepared.algebra.get("p")
    while node is not None and getattr(node, "name", None) in (
        "Slice",
        "Distinct",
        "Reduced",
        "Project",
        "ToMultiSet",
    ):
        node = node.get("p")
    if getattr(node, "name", None) != "OrderBy":
        return []
    found: list[str] = []
    stack: list[Any] = list(node.get("expr") or [])
    while stack:
        item = stack.pop()
        if isinstance(item, Variable):
            found.append(str(item))
        elif isinstance(item, dict):
            stack.extend(v for k, v in item.items() if k != "_vars")
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return sorted(set(found)) or None


def _row_key(row: Sequence[Node | None]) -> tuple[str, ...]:
    return tuple("" if t is None else t.n3() for t in row)


def stable_rows(query: QueryFile, result: QueryResult) -> tuple[list[Any], str]:
    """The rows in a fixed order: the query's ORDER BY, ties (and unordered rows) sorted.

    Only rows the query leaves in no particular order are moved: with ``ORDER BY ?a ?b`` a run
    of rows with equal ``?a`` and ``?b`` is sorted by its terms; with no ORDER BY all rows are.
    """
    rows = list(result.rows)
    keys = _order_variables(query)
    if keys is None or any(k not in result.variables for k in keys):
        return rows, ""
    if not keys:
        return sorted(rows, key=_row_key), "The query has no ORDER BY: rows are shown sorted."
    columns = [result.variables.index(k) for k in keys]
    ordered: list[Any] = []
    start = 0
    for index in range(1, len(rows) + 1):
        if index == len(rows) or any(rows[index][c] != rows[start][c] for c in columns):
            ordered.extend(sorted(rows[start:index], key=_row_key))
            start = index
    return ordered, ""


def _cli_value(term: Node) -> str:
    """A parameter value as ``kg query --param`` takes it: an IRI in <…>, else the text."""
    return f"<{term}>" if isinstance(term, URIRef) else str(term)


#: The library's evidence columns join a set of labels with this separator (GROUP_CONCAT).
EVIDENCE_SEPARATOR = " | "


def _cell(term: Node | None) -> Cell:
    if isinstance(term, URIRef):
        return Cell(display(term), str(term))
    if isinstance(term, Literal) and term.datatype is not None:
        return Cell(display(term), _default_names().qname(term.datatype))
    text = display(term)
    if EVIDENCE_SEPARATOR in text:
        # GROUP_CONCAT's order follows rdflib's hash order, which changes between processes;
        # the parts are a set, so show them sorted and the page stays byte-stable.
        text = EVIDENCE_SEPARATOR.join(sorted(text.split(EVIDENCE_SEPARATOR)))
    return Cell(text)


def _queries_model(
    project: Project, store: Store, timeout: float | None, lang: str | None = None
) -> list[QueryDoc]:
    from kgtools.namespaces import graphs_for
    from kgtools.query.params import bound_params

    library = QueryLibrary(project.queries_dir)
    docs = []
    for name in library.names():
        query = library.get(name)
        header = parse_header(query.text)
        # ?lang is bound by the tool (kg docs --lang), never an example value
        asked = [p for p in query.parameters if p not in query.languages]
        params = example_params(project, name) if asked else {}
        if params is None and set(asked) <= query.optional:
            params = {}  # every parameter optional (e.g. ?asOf): the answer without them
        doc = QueryDoc(
            name=name,
            anchor="q-" + re.sub(r"[^A-Za-z0-9_-]", "-", name),
            path=query.path.relative_to(project.root).as_posix()
            if query.path.is_relative_to(project.root)
            else query.path.name,
            title=query.title if lang is None else query.title_in(lang),
            description=query.description,
            parameters=header.get("parameters", ""),
            parameter_names=asked,
            example=sorted((k, _cli_value(v)) for k, v in (params or {}).items()),
            text=query.text,
        )
        given = [shlex.quote(f"{k}={v}") for k, v in doc.example]
        if params is None:  # placeholders, not values: left unquoted
            given = [f"{p}=…" for p in asked]
        doc.command = " ".join(["kg query", shlex.quote(name), *(f"--param {g}" for g in given)])
        if params is not None:
            bound = bound_params(query, params, lang)  # the labels in --lang (default: ja)
            result = run(store, query, bound, graphs=graphs_for(inferred=True), timeout=timeout)
            doc.answered = True
            doc.kind = result.kind
            if result.kind == "ASK":
                doc.boolean = bool(result.boolean)
            elif result.kind in ("CONSTRUCT", "DESCRIBE"):
                doc.turtle = result.serialize()
            else:
                rows, doc.order_note = stable_rows(query, result)
                doc.variables = (
                    list(result.variables)
                    if lang is None
                    else query.headers(list(result.variables), lang)
                )
                doc.rows = [[_cell(t) for t in row] for row in rows]
        docs.append(doc)
    return docs


# -- rendering ------------------------------------------------------------------------------------
def _instance_counts(store: Store) -> dict[URIRef, int]:
    query = load_query(system_query_path("instances-per-class.rq"))
    counts: dict[URIRef, int] = {}
    for row in store.query(query.text, {"namespace": Literal(str(TIP))}):
        cls, count = row  # type: ignore[misc]
        counts[URIRef(cls)] = int(count)
    return counts


def _environment() -> Any:
    from jinja2 import FileSystemLoader
    from markupsafe import Markup, escape

    from kgtools.pages import environment

    def inline_code(text: str) -> Markup:
        """`backticks` in query descriptions become <code>; everything else is escaped."""
        escaped = str(escape(text))
        return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))

    env = environment()
    env.loader = FileSystemLoader(str(TEMPLATES))
    env.filters["inline_code"] = inline_code
    env.tests["ref"] = lambda value: isinstance(value, Ref)
    return env


def generate_docs(
    project: Project,
    store: Store,
    out_dir: Path,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    lang: str | None = None,
) -> list[Path]:
    """Write the HTML pages for ``project`` into ``out_dir``; return their paths.

    ``lang`` (``kg docs --lang``): the query library's titles, column headers and answers (their
    labels) in that language; the ontology and shapes pages show both languages either way.

    ``store`` is the built graph (:func:`kgtools.build.pipeline.open_built`): the ontology is read
    from its ontology graph, the shapes from ``project.shapes``, and the library's queries run over
    the asserted and inferred graphs, each stopped after ``timeout`` seconds.
    """
    from kgtools.load.reference import load_files

    ontology = store.graph(ONTOLOGY_GRAPH)
    shapes = load_files([project.shapes])
    names = _Names()
    anchors = _term_anchors(ontology)
    for term, anchor in anchors.items():
        names.hrefs[term] = f"ontology.html#{anchor}"
    kinds = _shape_kinds(shapes)
    for shape, kind in kinds.items():
        names.hrefs[shape] = f"shapes.html#{_shape_anchor(shape, kind)}"

    ontology_model = _ontology_model(ontology, shapes, names, anchors, _instance_counts(store))
    shapes_model = _shapes_model(shapes, names, kinds)
    queries = _queries_model(project, store, timeout, lang)
    site = {
        "version": __version__,
        "title": ontology_model["title"],
        "triples": {
            "ontology": store.count(ONTOLOGY_GRAPH),
            "data": store.count(DATA_GRAPH),
            "inferred": store.count(INFERRED_GRAPH),
        },
        "counts": {
            "classes": len(ontology_model["classes"]),
            "properties": len(ontology_model["properties"]),
            "node_shapes": shapes_model["count_node"],
            "property_shapes": shapes_model["count_property"],
            "queries": len(queries),
            "answered": sum(1 for q in queries if q.answered),
        },
    }
    from markupsafe import Markup

    from kgtools.glyphs import with_glyphs

    env = _environment()
    contexts: dict[str, dict[str, Any]] = {
        "index.html": {"page": "index"},
        "ontology.html": {"page": "ontology", "o": ontology_model},
        "shapes.html": {"page": "shapes", "s": shapes_model},
        "queries.html": {"page": "queries", "queries": queries},
    }
    pages = {}
    for name, context in contexts.items():  # each page embeds the Japanese glyphs it uses
        template = env.get_template(name.replace(".html", ".html.j2"))

        def page(face: Markup, t: Any = template, c: dict[str, Any] = context) -> str:
            page_lang = (lang or "ja") if c["page"] == "queries" else "ja"
            return str(t.render(site=site, font_face=face, lang=page_lang, **c))

        pages[name] = with_glyphs(page)
    written = []
    for name in PAGES:
        path = out_dir / name
        atomic_write_text(path, pages[name])
        written.append(path)
    return written
