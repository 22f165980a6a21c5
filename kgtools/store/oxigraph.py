"""The embedded default store: Oxigraph (pyoxigraph), persistent on disk between commands.

Why Oxigraph: at a million triples rdflib's in-memory graph needs ~1 KB of RAM per triple,
parses Turtle in ~47 s and joins with nested loops (a 3-way join: ~20 s). Oxigraph is a
maintained SPARQL 1.1 database in Rust with Python bindings: bulk loading, indexed joins and
serialization are one to two orders of magnitude faster, and its RocksDB files persist, so
``kg query`` opens the built graph instead of rebuilding or re-parsing it.

:class:`OxigraphStore` implements :class:`kgtools.store.base.Store`, so every stage (query, export,
network, docs, serve) runs unchanged on it. Queries still arrive as rdflib prepared queries
(the library checks them with rdflib's parser first); their text is run by Oxigraph with the
parameters bound by a ``VALUES`` block of RDF terms at the top of the ``WHERE`` group (the
same binding the remote store sends; Oxigraph's own substitutions only bind projected
variables), and the answer is handed back as an rdflib ``Result``.

Opening: a build writes a fresh store folder and only then points ``build.json`` at it, so a
reader never sees a half-written store. Readers open it read-only; a forked child (``kg query``
with a time limit) opens its own handle rather than sharing the parent's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox

from kgtools.engine.terms import OxTriple, from_rdflib, to_rdflib

if TYPE_CHECKING:
    from rdflib import Graph, URIRef
    from rdflib.query import Result
    from rdflib.term import Node

    from kgtools.build.turtle import StoreFeed
    from kgtools.store.base import Bindings, Graphs, QueryInput, Triple


def named(graph: URIRef | str) -> ox.NamedNode:
    """The pyoxigraph name of a graph IRI."""
    return ox.NamedNode(str(graph))


class OxigraphStore:
    """A pyoxigraph ``Store``, in memory (``path=None``) or in a folder on disk."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._pid = -1
        self._store: ox.Store | None = None

    # -- the underlying handle -----------------------------------------------------------------
    @property
    def ox(self) -> ox.Store:
        """The pyoxigraph store, (re)opened in this process if needed."""
        if self._store is None or (self.path is not None and self._pid != os.getpid()):
            if self.path is None:
                self._store = ox.Store()
            elif self.read_only:
                self._store = ox.Store.read_only(str(self.path))
            else:
                self._store = ox.Store(str(self.path))
            self._pid = os.getpid()
        return self._store

    def __getstate__(self) -> dict[str, Any]:
        if self.path is None:
            raise TypeError("an in-memory OxigraphStore cannot be sent to another process")
        return {"path": self.path, "read_only": self.read_only}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], read_only=state["read_only"])  # type: ignore[misc]

    def flush(self) -> None:
        """Write buffered changes to disk (no-op in memory)."""
        if self.path is not None and not self.read_only and self._store is not None:
            self._store.flush()

    def close(self) -> None:
        """Drop the handle (the folder can then be opened read-write by another process)."""
        self.flush()
        self._store = None

    # -- writing ------------------------------------------------------------------------------
    def add_ox(self, graph: URIRef | str, triples: Iterable[OxTriple]) -> None:
        """Bulk-add fast-path triples to a named graph."""
        name = named(graph)
        self.ox.bulk_extend(ox.Quad(s, p, o, name) for s, p, o in triples)  # type: ignore[arg-type]

    def remove_ox(self, graph: URIRef | str, triples: Iterable[OxTriple]) -> None:
        """Remove fast-path triples from a named graph."""
        name = named(graph)
        store = self.ox
        for s, p, o in triples:
            store.remove(ox.Quad(s, p, o, name))  # type: ignore[arg-type]

    def add(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        name = named(graph)
        self.ox.bulk_extend(
            ox.Quad(from_rdflib(s), from_rdflib(p), from_rdflib(o), name)  # type: ignore[arg-type]
            for s, p, o in triples
        )

    def replace(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        name = named(graph)
        if name in self.ox.named_graphs():
            self.ox.clear_graph(name)
        self.add(graph, triples)

    # -- reading ------------------------------------------------------------------------------
    def triples_ox(self, graph: URIRef | str) -> Iterator[OxTriple]:
        """Every triple of one named graph, as fast-path triples."""
        for quad in self.ox.quads_for_pattern(None, None, None, named(graph)):
            yield (quad.subject, quad.predicate, quad.object)  # type: ignore[misc]

    def graph(self, name: URIRef) -> Graph:
        """A copy of one named graph as an rdflib ``Graph``."""
        return self.union([name])

    def triples(self, name: URIRef) -> Iterator[Triple]:
        for s, p, o in self.triples_ox(name):
            yield (to_rdflib(s), to_rdflib(p), to_rdflib(o))

    def union(self, names: Sequence[URIRef]) -> Graph:
        """A copy of the union of named graphs as an rdflib ``Graph``."""
        from rdflib import Graph

        from kgtools.namespaces import bind_prefixes

        graph = bind_prefixes(Graph())
        for name in names:
            graph.addN((*triple, graph) for triple in self.triples(name))
        return graph

    def graph_names(self) -> list[URIRef]:
        from rdflib import URIRef

        return sorted(
            URIRef(g.value) for g in self.ox.named_graphs() if isinstance(g, ox.NamedNode)
        )

    def count(self, name: URIRef) -> int:
        """Counted by Oxigraph (decoding every triple into Python costs ~9 µs each on disk)."""
        rows = self.ox.query(
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=named(name)
        )
        assert isinstance(rows, ox.QuerySolutions)
        count = next(iter(rows))["n"]
        assert isinstance(count, ox.Literal)
        return int(count.value)

    def query(self, query: QueryInput, bindings: Bindings = None, graphs: Graphs = None) -> Result:
        """Run SPARQL text (or a prepared rdflib query's text) on Oxigraph; parameters are
        bound as terms in a ``VALUES`` block. Oxigraph's ``SyntaxError`` passes through."""
        from kgtools.store.sparql_text import bind_text, query_text

        text = query if isinstance(query, str) else query_text(query)
        return self.query_text(bind_text(text, bindings or {}), graphs=graphs)

    def query_text(
        self,
        text: str,
        bindings: Mapping[str, Node] | None = None,
        graphs: Sequence[URIRef] | None = None,
    ) -> Result:
        """Run SPARQL text over ``graphs`` (their merge is the default graph; default: all).

        ``bindings`` are Oxigraph substitutions (SEP-0007), which only bind variables the query
        projects; :meth:`query` binds with a ``VALUES`` block instead, as the remote store does.
        """
        names = [named(g) for g in (graphs if graphs is not None else self.graph_names())]
        substitutions = {ox.Variable(k): from_rdflib(v) for k, v in (bindings or {}).items()}
        answer = self.ox.query(
            text,
            default_graph=names,  # type: ignore[arg-type]
            named_graphs=names,  # type: ignore[arg-type]
            substitutions=substitutions or None,  # type: ignore[arg-type]
        )
        return to_result(answer)


class BackgroundLoader:
    """Fills named graphs of a store on a worker thread while the build goes on.

    pyoxigraph releases the GIL while it bulk-loads bytes, so RocksDB's share of loading (most of
    it: sorting and writing the index files) overlaps the Python stages instead of adding to
    them. The worker turns the queued triples into N-Triples text a chunk at a time (memory
    stays bounded) and loads each chunk. :meth:`wait` returns when everything queued so far is
    in the store, and re-raises a failure of the worker; :meth:`close` ends the worker (with
    ``cancel``, after the chunk it is loading).
    """

    #: Triples per bulk load: big enough that RocksDB merges few files, small enough that the
    #: text of one chunk is a few tens of megabytes.
    CHUNK = 200_000

    def __init__(self, store: OxigraphStore) -> None:
        import queue
        import threading

        self._store = store.ox
        self._jobs: queue.Queue[tuple[ox.NamedNode, Iterable[OxTriple] | StoreFeed] | None] = (
            queue.Queue()
        )
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="kg-store-loader", daemon=True)
        self._thread.start()

    def put(self, graph: URIRef | str, triples: Iterable[OxTriple] | StoreFeed) -> None:
        """Queue ``triples`` for ``graph`` (they must not change until :meth:`wait` returns):
        triples, turned into N-Triples text on the worker, or a section's
        :class:`~kgtools.build.turtle.StoreFeed`, whose Turtle the worker hands to Oxigraph as it is
        (no Python work at all, so the worker does not hold the GIL)."""
        self._jobs.put((named(graph), triples))

    def wait(self) -> None:
        """Block until everything queued is loaded; raise the worker's error if it failed."""
        self._jobs.join()
        if self._error is not None:
            raise self._error

    def close(self, *, cancel: bool = False) -> None:
        """Stop the worker (after the queued work, or with ``cancel`` after its current chunk)."""
        self._cancelled = cancel
        self._jobs.put(None)
        self._thread.join()
        # The thread (its target is a bound method) and this loader refer to each other: drop
        # the store, or its RocksDB handle would stay open until the garbage collector runs.
        self._store = None  # type: ignore[assignment]

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                graph, triples = job
                from kgtools.build.turtle import StoreFeed  # (dumps imports rdflib: only here)

                if isinstance(triples, StoreFeed):
                    chunks: Iterable[tuple[bytes, list[OxTriple]]] = [
                        (triples.turtle, triples.blank)
                    ]
                    syntax = ox.RdfFormat.TURTLE
                else:
                    chunks = _ntriples_chunks(triples, self.CHUNK)
                    syntax = ox.RdfFormat.N_TRIPLES
                for text, blank in chunks:
                    if self._cancelled or self._error is not None:
                        break
                    self._store.bulk_load(text, syntax, to_graph=graph)
                    # Loading text gives blank nodes fresh labels; the build's own labels
                    # must stay (an incremental build removes triples by them).
                    self._store.bulk_extend(ox.Quad(s, p, o, graph) for s, p, o in blank)  # type: ignore[arg-type]
            except BaseException as exc:  # handed to the caller by wait()
                self._error = exc
            finally:
                self._jobs.task_done()


def _ntriples_chunks(
    triples: Iterable[OxTriple], size: int
) -> Iterator[tuple[bytes, list[OxTriple]]]:
    """N-Triples text of ``size`` triples at a time, and apart the triples with a blank node."""
    lines: list[str] = []
    blank: list[OxTriple] = []
    for triple in triples:
        s, p, o = triple
        if isinstance(s, ox.BlankNode) or isinstance(o, ox.BlankNode):
            blank.append(triple)
        else:
            lines.append(f"{s} {p} {o} .\n")
        if len(lines) + len(blank) == size:
            yield "".join(lines).encode(), blank
            lines, blank = [], []
    if lines or blank:
        yield "".join(lines).encode(), blank


def to_result(answer: Any) -> Result:
    """An rdflib ``Result`` holding a pyoxigraph answer (SELECT, ASK, CONSTRUCT/DESCRIBE)."""
    from rdflib import Graph, Variable
    from rdflib.query import Result

    if isinstance(answer, ox.QueryBoolean):
        result = Result("ASK")
        result.askAnswer = bool(answer)
        return result
    if isinstance(answer, ox.QueryTriples):
        result = Result("CONSTRUCT")
        graph = Graph()
        for triple in answer:
            graph.add(
                (to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object))
            )
        result.graph = graph
        return result
    names = [(i, Variable(v.value)) for i, v in enumerate(answer.variables)]
    result = Result("SELECT")
    result.vars = [name for _, name in names]
    rows = []
    converted: dict[Any, Node] = {}  # a term that recurs (labels, codes, dates) converted once
    for solution in answer:
        row = {}
        for i, name in names:
            term = solution[i]
            if term is not None:
                node = converted.get(term)
                if node is None:
                    node = converted[term] = to_rdflib(term)
                row[name] = node
        rows.append(row)
    result.bindings = rows  # type: ignore[assignment]
    return result
