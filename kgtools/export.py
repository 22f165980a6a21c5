"""Export stage: the built graph in a standard RDF format, byte-for-byte reproducible.

Formats (:data:`FORMATS`): ``ttl`` (rdflib's ``longturtle``), ``nt``, ``nq``, ``trig``,
``jsonld`` and ``xml`` (RDF/XML). ``nq`` and ``trig`` keep the named graphs (ontology, data and,
unless asserted-only, inferred); the others write their union.

Every format gives the same bytes for the same graph, whatever the process or its
``PYTHONHASHSEED``: blank nodes get canonical labels (:mod:`kgtools.engine.bnodes`: linear in the
blank nodes that form trees, such as a chain ``[ p [ p … ] ]`` of any depth; graph by graph),
triples are handed to the serializers in sorted order, N-Triples/N-Quads lines are sorted and
JSON-LD arrays are sorted (``@list`` arrays keep their order). Blank nodes are canonicalised per
named graph, as ``kg export -f nq`` writes them; the build keeps them to the ontology graph
(the reasoner drops triples about blank nodes), so none is shared between graphs.

``kg export -o`` refuses an output path in a folder that does not exist, as ``cp`` does
(:func:`check_output_path`, called before anything is built or serialized); :func:`export`
itself, called from Python, creates the folders.

JSON-LD is compacted with the context shipped in ``ontology/context.jsonld`` (readable keys such as
``"municipality"``, ``"label": {"ja": …, "en": …}``, instance IRIs relative to ``@base``) and
embeds that context, so a reader needs no network access to expand it.

``nt`` and ``nq`` from the embedded store (Oxigraph) do not go through an rdflib graph: at a
million triples copying the graph into rdflib and canonicalising it takes minutes and gigabytes.
Each triple's line is written straight from the store's terms, as rdflib's N-Triples serializer
writes it (the same four escapes; typed literals in rdflib's normalised lexical form), and only
the triples with a blank node are labelled canonically (:mod:`kgtools.engine.bnodes`) — a blank
node's canonical label depends only on the triples it is in. The tests hold the two paths to the
same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any

from rdflib import RDF, BNode, Dataset, Graph, URIRef, plugin
from rdflib.plugins.serializers.jsonld import Converter
from rdflib.plugins.serializers.longturtle import LongTurtleSerializer
from rdflib.plugins.shared.jsonld.context import Context
from rdflib.serializer import Serializer
from rdflib.term import Node

from kgtools.errors import ExportError, ExportWriteError, JSONLDContextError
from kgtools.files import atomic_write_bytes, check_output_file
from kgtools.namespaces import ID, bind_prefixes, graphs_for
from kgtools.project import Project
from kgtools.store.base import Store

#: Format name → rdflib serializer name (``None``: written by this module).
FORMATS: dict[str, str | None] = {
    "ttl": "longturtle",
    "nt": None,
    "nq": None,
    "trig": "trig",
    "jsonld": None,
    "xml": "xml",
}
#: Formats that keep the named graphs.
DATASET_FORMATS = frozenset({"nq", "trig"})
#: File extension per format (for a default file name).
EXTENSIONS = {
    "ttl": ".ttl",
    "nt": ".nt",
    "nq": ".nq",
    "trig": ".trig",
    "jsonld": ".jsonld",
    "xml": ".rdf",
}
#: Where the JSON-LD context lives in a project.
CONTEXT_FILE = Path("ontology/context.jsonld")


def load_context(project: Project) -> dict[str, Any]:
    """The JSON-LD context shipped with ``project`` (the object under ``"@context"``)."""
    path = project.root / CONTEXT_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise JSONLDContextError(
            f"{path}: file not found — the JSON-LD export needs the project's context file"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise JSONLDContextError(f"{path}: cannot read it ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise JSONLDContextError(
            f"{path}:{exc.lineno}: column {exc.colno}: not valid JSON ({exc.msg}) — fix the "
            "syntax at this line"
        ) from exc
    context = document.get("@context") if isinstance(document, dict) else None
    if not isinstance(context, dict):
        raise JSONLDContextError(
            f'{path}: expected a JSON object {{"@context": {{…}}}} with the terms inside'
        )
    return context


def serialize(
    store: Store,
    fmt: str,
    *,
    inferred: bool = True,
    context: Mapping[str, Any] | None = None,
) -> bytes:
    """The built graph in format ``fmt`` (with or without the entailments), as UTF-8 bytes.

    ``context`` (see :func:`load_context`) is needed for ``jsonld`` only.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} — use one of: {', '.join(FORMATS)}")
    names = graphs_for(inferred=inferred)
    if fmt in ("nt", "nq"):
        lines = _store_lines(store, names, quads=fmt == "nq")
        if lines is not None:
            return _sorted_lines(lines)
    if fmt in DATASET_FORMATS:
        graphs = {name: canonical(store.graph(name)) for name in names}
        if fmt == "nq":
            return _nquads(graphs)
        dataset = _SortedDataset()
        bind_prefixes(dataset)
        for name, graph in graphs.items():
            target = dataset.graph(name)
            for triple in sorted(graph, key=_key):
                target.add(triple)
        return dataset.serialize(format="trig", encoding="utf-8")
    graph = canonical(store.union(names))
    if fmt == "nt":
        return _sorted_lines(nt_lines(graph))
    if fmt == "jsonld":
        if context is None:
            raise ExportError("the jsonld format needs the JSON-LD context (see load_context)")
        return _jsonld(graph, context)
    rdflib_format = FORMATS[fmt]
    assert rdflib_format is not None
    try:
        return graph.serialize(format=_SERIALIZERS.get(fmt, rdflib_format), encoding="utf-8")
    except ValueError as exc:  # RDF/XML needs every predicate IRI to end in an XML name
        raise ExportError(
            f"the graph cannot be written as {fmt}: {exc} — use ttl, nt or jsonld"
        ) from exc


def export(
    store: Store,
    fmt: str,
    *,
    inferred: bool = True,
    out: Path | None = None,
    context: Mapping[str, Any] | None = None,
) -> bytes:
    """Serialize (see :func:`serialize`) and, given ``out``, write the bytes there atomically.

    Returns the bytes. The file is replaced in one step, so a failed export leaves a previous
    ``out`` as it was and no temporary file behind.
    """
    if out is not None and out.is_dir():
        raise ExportWriteError(
            f"{out}: is a folder — give a file name, e.g. {out / ('graph' + EXTENSIONS[fmt])}"
        )
    data = serialize(store, fmt, inferred=inferred, context=context)
    if out is None:
        return data
    try:
        atomic_write_bytes(out, data)
    except OSError as exc:
        raise ExportWriteError(
            f"{out}: cannot write the export ({exc.strerror or exc}) — check that the folder "
            "is writable and the disk not full"
        ) from exc
    return data


def check_output_path(out: Path, fmt: str) -> None:
    """Refuse an output path ``kg export -o`` could not write as given: a folder, or a file in a
    folder that does not exist (:func:`kgtools.store.base.check_output_file`)."""
    check_output_file(out, "graph" + EXTENSIONS[fmt], ExportWriteError, "the export")


def canonical(graph: Graph) -> Graph:
    """A copy of ``graph`` with canonical blank-node labels, triples added in sorted order."""
    from kgtools.engine.bnodes import canonical_triples

    result = bind_prefixes(_SortedGraph())
    for triple in sorted(canonical_triples(graph), key=_key):
        result.add(triple)
    return result


#: Blank nodes nested deeper than this in ``[ … ]`` or ``( … )`` (Turtle) or in JSON-LD node
#: objects are written as their own statement or node and referred to by label: rdflib's
#: serializers nest by recursion (Python's stack ends near a thousand levels) and indent each
#: level further (a chain of 100,000 would take gigabytes of spaces).
MAX_NESTING = 64


class _LongTurtle(LongTurtleSerializer):
    """rdflib's ``longturtle``, nesting blank nodes at most :data:`MAX_NESTING` levels deep."""

    def __init__(self, store: Graph) -> None:
        super().__init__(store)
        self._nesting = 0

    def p_squared(self, node: Any, position: Any) -> Any:
        if self._nesting >= MAX_NESTING and isinstance(node, BNode):
            return False  # written by label here, and as a statement of its own later
        self._nesting += 1
        try:
            return super().p_squared(node, position)
        finally:
            self._nesting -= 1


#: The rdflib plugin names of our own serializers, by format.
_SERIALIZERS = {"ttl": "kgtools-longturtle"}
plugin.register(_SERIALIZERS["ttl"], Serializer, __name__, "_LongTurtle")


def _key(triple: Iterable[Node]) -> tuple[str, ...]:
    return tuple(term.n3() for term in triple)


class _SortedGraph(Graph):
    """A graph that hands out its triples sorted.

    rdflib's in-memory store iterates in an order that depends on ``PYTHONHASHSEED``; the
    RDF/XML serializer writes subjects and properties in that order. Sorting every lookup makes
    what the serializers see, and so what they write, the same in every process.
    """

    def triples(self, triple: Any) -> Generator[Any, None, None]:
        yield from sorted(super().triples(triple), key=_key)


class _SortedDataset(Dataset):
    """A dataset that hands out its named graphs sorted by name (TriG writes them in turn)."""

    def contexts(self, triple: Any = None) -> Generator[Graph, None, None]:
        yield from sorted(super().contexts(triple), key=lambda graph: graph.identifier.n3())


def _sorted_lines(lines: Iterable[str]) -> bytes:
    """Lines that each end in `` .\n`` (:func:`nt_lines`), sorted, as UTF-8."""
    return "".join(sorted(lines)).encode("utf-8")


#: The escapes of rdflib's N-Triples serializer (``_quote_encode``), and no others.
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", '"': '\\"', "\r": "\\r"})


def _store_lines(store: Store, names: Iterable[URIRef], *, quads: bool) -> Iterable[str] | None:
    """The N-Triples lines of the union of the graphs ``names`` (each triple once), or with
    ``quads`` their N-Quads lines, unsorted, each ending in `` .\n`` — what rdflib's path
    writes, read straight from an Oxigraph store (``None`` for another store: that path is
    taken)."""
    from kgtools.store.oxigraph import OxigraphStore, named

    if not isinstance(store, OxigraphStore):
        return None
    import pyoxigraph as ox

    from kgtools.engine.terms import triple_to_rdflib
    from kgtools.engine.vocab import XSD_STRING

    typed: dict[ox.Literal, str] = {}
    lines: list[str] | set[str] = [] if quads else set()  # (N-Triples: each triple once)
    add = lines.append if isinstance(lines, list) else lines.add
    blank: dict[str, list[tuple[Node, Node, Node]]] = {}  # suffix → triples with a blank node
    for name in names:
        suffix = f" <{name}> .\n" if quads else " .\n"
        for quad in store.ox.quads_for_pattern(None, None, None, named(name)):
            s, p, o = quad.subject, quad.predicate, quad.object
            if isinstance(s, ox.BlankNode) or isinstance(o, ox.BlankNode):
                blank.setdefault(suffix, []).append(triple_to_rdflib((s, p, o)))  # type: ignore[arg-type]
            elif isinstance(o, ox.Literal):
                text = '"' + o.value.translate(_ESCAPES) + '"'
                if o.language:
                    text += "@" + o.language
                elif o.datatype != XSD_STRING:  # (a plain literal, as to_rdflib makes it)
                    text = typed.get(o) or typed.setdefault(o, _typed_token(o))
                add(f"{s} {p} {text}{suffix}")
            else:
                add(f"{s} {p} {o}{suffix}")
    # canonical labels per named graph (N-Quads), or over the union (N-Triples), as rdflib's
    # path gives them
    from kgtools.engine.bnodes import canonical_graph

    for suffix, triples in blank.items():
        for line in nt_lines(canonical_graph(triples), suffix):
            add(line)
    return lines


def _typed_token(literal: Any) -> str:
    """A typed literal as rdflib writes it: its lexical form normalised by rdflib's ``Literal``
    (``"01"^^xsd:integer`` is ``"1"``), then escaped."""
    from rdflib import Literal

    datatype = literal.datatype.value
    lexical = str(Literal(literal.value, datatype=URIRef(datatype)))
    return '"' + lexical.translate(_ESCAPES) + f'"^^<{datatype}>'


def _nquads(graphs: Mapping[URIRef, Graph]) -> bytes:
    """Sorted N-Quads, line for line what :meth:`MemoryStore.save` writes."""
    lines: list[str] = []
    for name, graph in graphs.items():
        lines += nt_lines(graph, f" {name.n3()} .\n")
    return _sorted_lines(lines)


class _RelativeContext(Context):
    """rdflib's context, writing instance IRIs relative to ``@base`` (``plan/131067/2021``).

    rdflib shortens every IRI on the base's host to an absolute path
    (``/tokyo-industry-plans/id/plan/…``); relative references under ``@base`` are what the data
    files use, and other IRIs stay absolute.
    """

    def shrink_iri(self, iri: str) -> str:
        text = str(iri)
        if text.startswith(str(ID)):
            relative = text[len(str(ID)) :]
            first = relative.split("/", 1)[0]
            if relative and ":" not in first and not relative.startswith(("_", "/", "?", "#")):
                return relative
        shrunk = str(super().shrink_iri(iri))
        # rdflib writes other IRIs of the base's host as a path ("/…"): keep them absolute
        return text if shrunk.startswith("/") else shrunk


def _jsonld(graph: Graph, context: Mapping[str, Any]) -> bytes:
    """Compacted JSON-LD with ``context`` embedded; arrays sorted so the bytes are stable."""
    converted = _Converter(_RelativeContext(dict(context))).convert(graph)
    if isinstance(converted, dict):  # one graph: {"@graph": [...]}, or a lone node object
        nodes = converted.get("@graph", [converted] if converted else [])
    else:
        nodes = converted
    sorted_nodes = _sort_arrays(nodes, _list_terms(context))
    result = {"@context": dict(context), "@graph": sorted_nodes}
    text = json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True)
    return (text + "\n").encode("utf-8")


class _Converter(Converter):
    """rdflib's graph-to-JSON-LD converter, made lossless.

    * xsd:string/integer/double/boolean stay ``{"@value", "@type"}`` objects (rdflib writes bare
      JSON values whenever a context is active, so ``"x"^^xsd:string`` came back untyped);
    * a blank node under a term coerced to ``@id`` is written as a node (rdflib wrote only its
      ``"_:b"`` label and dropped the node's own triples);
    * a list whose cells are shared is written cell by cell instead of twice as ``@list``;
    * blank nodes reached from no IRI (cycles) are written too.
    """

    def __init__(self, context: Context) -> None:
        super().__init__(context, False, False)
        self.use_native_types = False
        self._in_lists: set[Node] = set()
        self._nesting = 0

    def to_raw_value(self, graph: Graph, s: Any, o: Any, nodemap: dict[str, Any]) -> Any:
        if not isinstance(o, BNode):
            return super().to_raw_value(graph, s, o, nodemap)
        if self._nesting >= MAX_NESTING and (o, None, None) in graph:
            return {self.context.id_key: o.n3()}  # its node is written by from_graph's loop
        self._nesting += 1
        try:
            return super().to_raw_value(graph, s, o, nodemap)
        finally:
            self._nesting -= 1

    def from_graph(self, graph: Graph) -> list[Any]:
        nodemap: dict[str, Any] = {}
        subjects: list[Any] = sorted(set(graph.subjects()), key=lambda node: node.n3())
        for subject in subjects:
            if isinstance(subject, URIRef) or (None, None, subject) not in graph:
                self.process_subject(graph, subject, nodemap)
        for cells in (False, True):  # list cells last: most are written inside their list
            for subject in subjects:
                if (
                    isinstance(subject, BNode)
                    and subject.n3() not in nodemap
                    and subject not in self._in_lists
                    and ((subject, RDF.first, None) in graph) is cells
                ):
                    self.process_subject(graph, subject, nodemap)
        return list(nodemap.values())

    def type_coerce(self, o: Any, coerce_type: str) -> Any:
        if isinstance(o, BNode):
            return None  # written by to_raw_value: the node itself, or its @list
        return super().type_coerce(o, coerce_type)

    def to_collection(self, graph: Graph, l_: Any) -> Any:
        items = super().to_collection(graph, l_)
        if items is None:
            return None
        cells = []
        cell = l_
        while cell != RDF.nil:
            if len(set(graph.subject_predicates(cell))) != 1:
                return None  # shared: write the cells as nodes
            cells.append(cell)
            cell = graph.value(cell, RDF.rest)
        self._in_lists.update(cells)
        return items


def _list_terms(context: Mapping[str, Any]) -> frozenset[str]:
    """Terms whose arrays are RDF lists (``"@container": "@list"``): their order is data."""
    found = set()
    for name, definition in context.items():
        if isinstance(definition, dict):
            container = definition.get("@container")
            containers = container if isinstance(container, list) else [container]
            if "@list" in containers:
                found.add(name)
    return frozenset(found)


def _sort_arrays(value: Any, ordered: frozenset[str], key: str | None = None) -> Any:
    """Sort every JSON array except RDF lists (their members keep their order)."""
    if isinstance(value, dict):
        return {k: _sort_arrays(v, ordered, k) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sort_arrays(v, ordered) for v in value]
        if key == "@list" or key in ordered:
            return items
        return sorted(items, key=_json_key)
    return value


def _json_key(value: Any) -> tuple[str, str]:
    """Sort key: node objects by ``@id`` first, then by their whole JSON text."""
    node_id = value.get("@id", "") if isinstance(value, dict) else ""
    return str(node_id), json.dumps(value, ensure_ascii=False, sort_keys=True)


def nt_lines(graph: Graph, suffix: str = " .\n") -> list[str]:
    """``graph`` as rdflib writes it in N-Triples, one string per triple ending in ``suffix``
    (`` <graph> .\n`` makes N-Quads lines), unsorted.

    The text is split at ``"\n"`` only: ``str.splitlines()`` also splits at U+2028, U+2029,
    U+0085, ``\v``, ``\f`` and ``\x1c``–``\x1e``, which N-Triples leaves unescaped inside
    literals."""
    return [
        line.rstrip().removesuffix(".").rstrip() + suffix
        for line in graph.serialize(format="nt").split("\n")
        if line.strip()
    ]
