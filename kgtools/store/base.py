"""The store behind every stage: a small interface and the embedded default.

Stages never touch a concrete triple store. They add triples to named graphs, read a graph or a
union of graphs, and run SPARQL (text or rdflib's prepared queries) with bindings. Three
stores implement the :class:`Store` protocol: the embedded default
:class:`kgtools.store.oxigraph.OxigraphStore` (Oxigraph, on disk, what ``kg build`` writes),
:class:`kgtools.store.remote.RemoteStore` (a SPARQL server), and
:class:`MemoryStore` here — an rdflib ``Dataset`` in memory, persisted as sorted N-Quads, for
small graphs built in code and for the reference comparisons in the tests.

Named graphs (see :mod:`kgtools.namespaces`): ``ONTOLOGY_GRAPH`` (the ontology as asserted),
``DATA_GRAPH`` (the data as asserted) and ``INFERRED_GRAPH`` (entailments only, never mixed in).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, TypeAlias

from rdflib import Dataset, Graph, URIRef
from rdflib.graph import ReadOnlyGraphAggregate
from rdflib.term import Node

from kgtools.errors import KGError, OutputPathError
from kgtools.namespaces import bind_prefixes

if TYPE_CHECKING:  # rdflib's SPARQL engine takes ~0.15 s to import: only where queries run
    from rdflib.plugins.sparql.sparql import Query
    from rdflib.query import Result

#: One RDF statement.
Triple: TypeAlias = tuple[Node, Node, Node]


class Store(Protocol):
    """What the pipeline stages need from a triple store."""

    def add(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        """Add ``triples`` to the named graph ``graph``."""

    def replace(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        """Make ``triples`` the whole content of ``graph``."""

    def graph(self, name: URIRef) -> Graph:
        """A read view of one named graph."""

    def union(self, names: Sequence[URIRef]) -> Graph:
        """A read view of the union of several named graphs."""

    def count(self, name: URIRef) -> int:
        """Number of triples in one named graph."""

    def query(
        self,
        query: Query | str,
        bindings: Mapping[str, Node] | None = None,
        graphs: Sequence[URIRef] | None = None,
    ) -> Result:
        """Run a query — SPARQL text, or an rdflib prepared query — over ``graphs`` (default:
        all), with initial bindings."""


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


class MemoryStore:
    """The embedded default: an in-memory rdflib ``Dataset``."""

    def __init__(self) -> None:
        self._dataset = Dataset()
        bind_prefixes(self._dataset)

    def add(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        target = self._dataset.graph(graph)
        for triple in triples:
            target.add(triple)

    def replace(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        self._dataset.remove_graph(self._dataset.graph(graph))
        self.add(graph, triples)

    def graph(self, name: URIRef) -> Graph:
        return bind_prefixes(self._dataset.graph(name))

    def union(self, names: Sequence[URIRef]) -> Graph:
        return ReadOnlyGraphAggregate([self._dataset.graph(n) for n in names])

    def graph_names(self) -> list[URIRef]:
        return sorted(
            g.identifier
            for g in self._dataset.graphs()
            if isinstance(g.identifier, URIRef) and len(g) > 0
        )

    def count(self, name: URIRef) -> int:
        return len(self._dataset.graph(name))

    def query(
        self,
        query: Query | str,
        bindings: Mapping[str, Node] | None = None,
        graphs: Sequence[URIRef] | None = None,
    ) -> Result:
        if isinstance(query, str):
            from kgtools.query.library import prepared_query

            query = prepared_query(query)
        target = self.union(graphs if graphs is not None else self.graph_names())
        return target.query(query, initBindings=dict(bindings or {}))  # type: ignore[arg-type]

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write every named graph as N-Quads, deterministically, atomically.

        Blank nodes get canonical labels (:mod:`kgtools.engine.bnodes`, which labels them by the
        graph's structure, as the exports do) and the lines are sorted, so an unchanged graph
        gives a byte-identical file.
        """
        from kgtools.engine.bnodes import canonical_graph

        lines: list[str] = []
        for name in self.graph_names():
            canonical = canonical_graph(self._dataset.graph(name))
            lines += nt_lines(canonical, f" {name.n3()} .\n")
        atomic_write_text(path, "".join(sorted(lines)))

    @classmethod
    def open(cls, path: Path) -> MemoryStore:
        """Load a store saved with :meth:`save`."""
        store = cls()
        store._dataset.parse(path, format="nquads")
        return store


def check_output_file(
    out: Path, example: str, error: type[KGError] = OutputPathError, what: str = "the output"
) -> None:
    """Refuse an output file path that cannot be written as given: a folder, or a file in a
    folder that does not exist (like ``cp``, the commands never make folders the user did not
    ask for). ``example`` is a file name to suggest inside ``out`` when it is a folder."""
    if out.is_dir():
        raise error(f"{out}: is a folder — give a file name, e.g. {out / example}")
    parent = out.parent
    if not parent.is_dir():
        state = "is not a folder" if parent.exists() else "does not exist"
        raise error(
            f"{out}: cannot write {what}: the folder {parent} {state} — create it first "
            f"(mkdir -p {parent}) or give a path in an existing folder"
        )


def check_output_folder(folder: Path, error: type[KGError] = OutputPathError) -> None:
    """Refuse an output folder that cannot be used as given: a file, or a folder whose parent
    does not exist (the folder itself is made, one level only, as ``mkdir`` would)."""
    if folder.is_dir():
        return
    if folder.exists():
        raise error(f"{folder}: is a file, not a folder — give a folder for the output")
    parent = folder.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise error(
            f"{folder}: cannot make the output folder: {parent} {what} — create it first "
            f"(mkdir -p {folder}) or give a folder in an existing one"
        )


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a failure never leaves a half-written file.

    The text goes to a temporary file in the same folder, is flushed to disk, and then
    replaces ``path`` in one ``os.replace``; on any error the temporary file is removed and the
    previous ``path`` is untouched.
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Bytes version of :func:`atomic_write_text`."""
    with atomic_file(path) as handle:
        handle.write(data)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write that replaces ``path`` only when the ``with`` block succeeds.

    For writers that stream (Oxigraph's dump of a million triples): the bytes go to a
    temporary file in the same folder, flushed to disk, then moved over ``path`` in one
    ``os.replace``; on any error the temporary file is removed and ``path`` is untouched.
    """
    with staged_file(path) as (handle, tmp):
        yield handle
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def staged_file(path: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A temporary file beside ``path`` to write, flushed to disk when the ``with`` block ends;
    moving it over ``path`` (``os.replace``) is the caller's, and so is removing it if it never
    is. On an error inside the block it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (0666 & ~umask).
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as handle:
            yield handle, Path(tmp)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            exc.filename = str(path)  # a failed write names no file: say which one (disk full)
        raise
