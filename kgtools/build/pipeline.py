"""Build stage: load → export → reason → validate → network statistics, while the store fills
on a worker thread; reuse or update the last build.

A full build parses every file into memory (:class:`~kgtools.engine.terms.MemoryIndex`), writes the
Turtle sections (:mod:`kgtools.build.turtle`) and hands their text to the store's loader as it goes
(:class:`~kgtools.store.oxigraph.BackgroundLoader`: Oxigraph parses and indexes it without the GIL, on
the other core), then reasons, validates (SHACL-SPARQL constraints on in-memory copies, so
nothing waits for the store) and counts; the data files are copied into ``cache/sources/`` on
another thread, and the Turtle files — then the degree statistics and the caches' indexes — are
written and synced on a third under temporary names (:class:`_StagedFiles`). Only when
everything has succeeded are they moved in place, the store with them; a failed build removes
them. Old stores are moved aside and deleted in the background by the next build.

``dist/`` after a build:

* ``store-<id>/`` — the Oxigraph store (:mod:`kgtools.store.oxigraph`) with three named graphs:
  ontology, data (both as asserted) and inferred (entailments only). ``kg query``, ``kg export``,
  ``kg network``, ``kg docs`` and ``kg serve`` open it instead of rebuilding;
* ``asserted.ttl`` — ontology and data as asserted; ``inferred.ttl`` — only the OWL RL
  entailments (both sorted by subject, byte-stable for the same inputs: :mod:`kgtools.build.turtle`);
* ``validation.txt`` — the SHACL report;
* ``network/`` — the default partner-network views and their statistics (see
  :mod:`kgtools.network`), or with many municipalities only the degree statistics
  (:mod:`kgtools.engine.degree`);
* ``cache/`` — what an incremental rebuild needs: a copy of each data file as last built, the
  triples asserted by more than one file, the non-violation validation results, the index of
  the Turtle files' subject blocks (``export/``), the link counts behind the degree statistics
  (``degree.jsonl``), and the input files' size, time and hash (``file-stats.json``: a file
  whose stat is unchanged is not read again to decide what changed);
* ``build.json`` — the manifest: input fingerprint and per-file hashes, counts, verdict, and the
  store folder. Written last, so a build that stops half-way is never mistaken for a complete
  one, and a reader never opens a half-written store.

Three ways to build, chosen by comparing the inputs with ``build.json``:

* **reuse** — nothing changed: nothing is done;
* **incremental** — only data files changed (added, edited or removed): the store is copied
  (a RocksDB checkpoint: hard links, not bytes), only the changed files are parsed and diffed
  against their previous copies, entailments are maintained with delete-and-rederive
  (:meth:`kgtools.engine.rules.RuleSet.update`), only the nodes those files describe, and their
  neighbours, are validated again, the Turtle files are patched block by block (the unchanged
  runs of blocks copied from the old files by the kernel, not read), and the class counts and
  degree statistics are recounted only where the change reaches;
* **full** — first build, ``--force``, or the ontology, shapes or toolkit version changed.

The engines are the fast ones: Oxigraph for parsing and storage, :mod:`kgtools.engine.rules` for
entailments and :mod:`kgtools.engine.shacl` for validation. Tests hold them to the reference libraries
(:mod:`kgtools.reference.owlrl` with owlrl, :mod:`kgtools.reference.pyshacl` with pySHACL, rdflib for queries).

A build whose data does not conform raises :class:`NonConformingDataError` and changes nothing
in ``dist/``.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools import __version__
from kgtools.errors import (
    BuildRunningError,
    DataTBoxError,
    DiskFullError,
    DumpCacheError,
    IncrementalUpdateError,
    InputError,
    KGError,
    LoadErrors,
    NonConformingDataError,
    ProjectLayoutError,
)
from kgtools.files import atomic_write_text, staged_file
from kgtools.namespaces import ALL_GRAPHS, DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from kgtools.progress import Progress, quiet
from kgtools.project import Project
from kgtools.query.library import system_query_path
from kgtools.store.oxigraph import BackgroundLoader, OxigraphStore

if TYPE_CHECKING:
    import threading

    from rdflib import Graph, URIRef

    from kgtools.engine.terms import OxTriple, Term, TripleSource
    from kgtools.reference.pyshacl import ValidationReport, ValidationResult

MANIFEST = "build.json"
OUTPUTS = ("asserted.ttl", "inferred.ttl", "validation.txt")
CACHE = "cache"
#: Format version of ``dist/`` (a change forces a full build).
LAYOUT = 4


@dataclass
class BuildSummary:
    """What a build produced (also stored as ``dist/build.json``)."""

    fingerprint: str
    ontology_triples: int
    data_triples: int
    inferred_triples: int
    conforms: bool
    violations: int
    instances: dict[str, int] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    store: str = ""
    layout: int = LAYOUT
    #: :func:`_code_digest` of the toolkit that made the build (an incremental build needs the
    #: same code: a cache written by other code is not trusted).
    code: str = ""
    reused: bool = False
    mode: str = "full"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def asserted_triples(self) -> int:
        return self.ontology_triples + self.data_triples


def input_files(project: Project) -> list[Path]:
    """Every file a build reads, in a stable order; a symbolic link in ``data/`` to a file
    outside the project is refused (:class:`~kgtools.errors.OutsideProjectError`)."""
    return [Path(path) for path in _input_paths(project)]


def _input_paths(project: Project) -> list[str]:
    """:func:`input_files` as strings (thousands of ``Path`` objects take a tenth of a second)."""
    from kgtools.project import data_paths_in

    data = data_paths_in(project.data_dir, within=project.root)
    return [os.fspath(project.ontology), os.fspath(project.shapes), *data]


def file_hashes(project: Project) -> dict[str, str]:
    """SHA-256 of every input file, by path relative to the project."""
    return _hash_inputs(project, None)[0]


def _hash_inputs(
    project: Project, known: dict[str, list[Any]] | None
) -> tuple[dict[str, str], dict[str, list[Any]]]:
    """The inputs' hashes, and the stats to record for the next build.

    ``known`` maps a path to its size, modification time, inode and hash when last read: a file
    whose first three are unchanged is not read again — the check git and make rely on. A file
    is recorded only if it was last modified :data:`_SETTLED_NS` before it was read (its stat
    is taken first), so an edit within the clock's resolution cannot go unnoticed."""
    import time

    settled = time.time_ns() - _SETTLED_NS
    hashes: dict[str, str] = {}
    stats: dict[str, list[Any]] = {}
    root = os.fspath(project.root) + os.sep
    for path in _input_paths(project):
        if not path.startswith(root):  # not below the root as written: let pathlib say
            name = Path(path).relative_to(project.root).as_posix()
        else:
            name = path[len(root) :].replace(os.sep, "/")
        info = os.stat(path)
        key = [info.st_size, info.st_mtime_ns, info.st_ino]
        entry = (known or {}).get(name)
        if entry is not None and entry[:3] == key:
            hashes[name] = entry[3]
        else:
            with open(path, "rb") as handle:
                hashes[name] = hashlib.file_digest(handle, "sha256").hexdigest()
        if info.st_mtime_ns < settled:
            stats[name] = [*key, hashes[name]]
    return hashes, stats


#: A file modified less than this long before it is read is hashed again next time.
_SETTLED_NS = 2_000_000_000
_STATS = "file-stats.json"


def _known_stats(out_dir: Path) -> dict[str, list[Any]] | None:
    try:
        stored = json.loads((out_dir / CACHE / _STATS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or not all(
        isinstance(v, list) and len(v) == 4 for v in stored.values()
    ):
        return None
    return stored


@functools.cache
def _code_digest() -> bytes:
    """A hash of the toolkit's own files (its code, queries and templates): a build made by
    other code — a new check, a changed writer — is not reused, even at the same version."""
    root = Path(__file__).resolve().parents[1]  # the kgtools package
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and "__pycache__" not in parts and parts[0] != "_resources":
            digest.update("/".join(parts).encode() + b"\0" + path.read_bytes())
    return digest.digest()


def fingerprint(project: Project, hashes: dict[str, str] | None = None) -> str:
    """A hash of the toolkit (its version and its files) and every input file's relative path
    and bytes."""
    digest = hashlib.sha256(f"kgtools {__version__}\n".encode() + _code_digest())
    for name, sha in (hashes or file_hashes(project)).items():
        digest.update(name.encode() + b"\0")
        digest.update(bytes.fromhex(sha))
    return digest.hexdigest()


def read_manifest(out_dir: Path, *, outputs: bool = True) -> BuildSummary | None:
    """The last build's manifest, or ``None`` if there is none or it is unreadable, or the store
    it names or (with ``outputs``) one of the files it lists is missing."""
    try:
        stored = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        summary = BuildSummary(**stored)
    except (OSError, ValueError, TypeError):
        return None
    if summary.layout != LAYOUT or not summary.store:
        return None
    files = [*OUTPUTS, *summary.outputs] if outputs else []
    if not all((out_dir / name).exists() for name in [*files, summary.store]):
        return None
    return summary


def build(
    project: Project,
    out_dir: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    incremental: bool = True,
    wait: bool = True,
    on_busy: Callable[[int | None], None] | None = None,
) -> BuildSummary:
    """Run the pipeline for ``project`` into ``out_dir``; see the module docstring.

    One build at a time writes ``out_dir`` (:class:`_BuildLock`): when another is running, this
    one calls ``on_busy`` with its pid (``None`` if unknown) and waits for it — then reuses its
    result if the inputs are the same — or, without ``wait``, raises
    :class:`~kgtools.errors.BuildRunningError`. A build that finds its output current takes no
    lock. A disk that fills up raises :class:`~kgtools.errors.DiskFullError`.
    """
    progress = progress or quiet()
    hashes, stats = _hash_inputs(project, None if force else _known_stats(out_dir))
    expected = fingerprint(project, hashes)
    previous = None if force else read_manifest(out_dir)
    if previous is not None and previous.fingerprint == expected:
        previous.reused = True
        previous.mode = "reuse"
        return previous
    try:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file (or a broken link) where a folder of the path should be
            if _disk_full(exc):
                raise
            raise ProjectLayoutError(
                f"cannot make the build folder {out_dir}: {exc.strerror or exc}"
                + (
                    f" ({exc.filename})"
                    if exc.filename and str(exc.filename) != str(out_dir)
                    else ""
                )
                + " — choose a folder whose parents are folders (default: "
                f"{project.default_out_dir()})"
            ) from None
        with _BuildLock(out_dir, wait=wait, on_busy=on_busy) as lock:
            if lock.waited and not force:  # the build waited for may have made this one
                previous = read_manifest(out_dir)
                if previous is not None and previous.fingerprint == expected:
                    previous.reused = True
                    previous.mode = "reuse"
                    return previous
            previous = None if force else read_manifest(out_dir)
            return _build_locked(
                project, out_dir, previous if incremental else None, progress, hashes, stats
            )
    except OSError as exc:
        if _disk_full(exc):
            raise DiskFullError(exc.filename or out_dir, out_dir) from exc
        raise


def _build_locked(
    project: Project,
    out_dir: Path,
    previous: BuildSummary | None,
    progress: Progress,
    hashes: dict[str, str],
    stats: dict[str, list[Any]],
) -> BuildSummary:
    """:func:`build` once it holds the lock and knows the output is not current: incremental
    from ``previous`` if it can, else full."""
    from kgtools.engine.terms import collector_paused

    expected = fingerprint(project, hashes)
    _remove_stale(out_dir)
    _empty_trash(out_dir)
    try:
        with collector_paused():  # the in-memory index holds millions of tuples and sets
            summary = None
            if previous is not None and _only_data_changed(project, previous, hashes):
                try:
                    summary = _incremental(project, out_dir, previous, hashes, expected, progress)
                except _FullBuildNeeded as exc:
                    _remove_work(out_dir, exc)
            if summary is None:
                summary = _full(project, out_dir, hashes, expected, progress)
            atomic_write_text(out_dir / CACHE / _STATS, json.dumps(stats, sort_keys=True))
            return summary
    except BaseException as exc:
        _remove_work(out_dir, exc)
        if isinstance(exc, DataTBoxError):
            raise _located(project, exc) from None
        if isinstance(exc, (InputError, LoadErrors)):
            _with_output_hint(project, exc)
        raise


def _with_output_hint(project: Project, exc: InputError | LoadErrors) -> None:
    """Raise ``exc`` again with what to do when it comes from a kg build's own Turtle (a build
    folder under ``data/`` whose ``build.json`` is gone, so the data walk could not tell it
    from data); return when it does not."""
    errors = exc.errors if isinstance(exc, LoadErrors) else [exc]
    hint = _output_hint(project, [e.location.path for e in errors])
    if hint:
        hinted = [
            type(e)(e.location, e.problem, "; ".join(filter(None, [e.fix, hint]))) for e in errors
        ]
        raise (LoadErrors(hinted) if isinstance(exc, LoadErrors) else hinted[0]) from None


def _output_hint(project: Project, paths: Collection[Path]) -> str:
    """What to do when input ``paths`` include a kg build's own Turtle (a build folder under
    ``data/`` whose ``build.json`` is gone, so the data walk could not recognise it)."""
    outputs = sorted({p.parent for p in paths if p.name in OUTPUTS[:2]})
    if not outputs:
        return ""
    folders = ", ".join(_relative(project, p) + "/" for p in outputs)
    return f"{folders} looks like a kg build folder inside data/: delete it or move it out of data/"


def _located(project: Project, exc: DataTBoxError) -> DataTBoxError:
    """``exc`` with the data file(s) that hold its triple named first (read again: this is
    the error path only), and, for a file that looks like a kg output, what to delete."""
    import pyoxigraph as ox

    from kgtools.load import read_file

    def key(triple: Any) -> tuple[Any, ...]:  # blank nodes get new labels on each read
        return tuple(None if isinstance(t, ox.BlankNode) else t for t in triple)

    wanted = key(exc.triple)
    holders = []
    for path in project.data_files():
        try:
            if any(key(t) == wanted for t in read_file(path, check_literals=False)):
                holders.append(path)
        except KGError:
            continue
    if not holders:
        return exc
    where = ", ".join(_relative(project, p) for p in holders)
    message = f"{where}: {exc}"
    if hint := _output_hint(project, holders):
        message += "; " + hint
    return DataTBoxError(exc.triple, message)


def _disk_full(exc: OSError) -> bool:
    """Whether ``exc`` says the disk or the quota is full (RocksDB's errors carry no errno)."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc)


#: The lock file in the output folder; it holds the running build's pid.
LOCK_FILE = ".build.lock"


class _BuildLock:
    """An exclusive ``flock`` on :data:`LOCK_FILE`, so that one build at a time writes
    ``out_dir``; the kernel releases it when the process ends, however it ends. Readers never
    take it: they open the store ``build.json`` names, which no build changes (a build writes a
    new store folder and ``build.json`` last)."""

    def __init__(
        self, out_dir: Path, *, wait: bool, on_busy: Callable[[int | None], None] | None
    ) -> None:
        self._out_dir, self._wait, self._on_busy = out_dir, wait, on_busy
        self._fd = -1
        self.waited = False

    def __enter__(self) -> _BuildLock:
        import fcntl

        path = self._out_dir / LOCK_FILE
        told = False
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    pid = _lock_pid(fd)
                    if not self._wait:
                        raise BuildRunningError(self._out_dir, pid) from None
                    if self._on_busy is not None and not told:
                        self._on_busy(pid)
                        told = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    self.waited = True
                # The holder deletes the file when it is done: a lock taken on the file it
                # deleted is no lock, so take it again on the file now there.
                try:
                    current = os.stat(path).st_ino
                except FileNotFoundError:
                    current = -1
                if current != os.fstat(fd).st_ino:
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            return self

    def __exit__(self, *_exc: object) -> None:
        import fcntl

        try:
            (self._out_dir / LOCK_FILE).unlink(missing_ok=True)  # (a build leaves no trace)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)


def _lock_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    except (OSError, ValueError):
        return None


def _remove_stale(out_dir: Path) -> None:
    """Delete what a build that was killed left (a build that fails removes its own work, see
    :func:`_remove_work`): its work store folder, the temporary files of its outputs, its new
    source copies. Only names the build itself makes, and only under the lock, so never those
    of a running build (nor of a ``kg export`` writing into the folder). Not in ``network/``,
    where ``kg network`` (which takes no lock) writes files of the same names as the build."""
    for work in out_dir.glob(".store-*.tmp"):
        shutil.rmtree(work, ignore_errors=True)
    staged = [*out_dir.glob(".*.ttl.*.tmp")]
    for name in (*OUTPUTS, MANIFEST):
        staged += out_dir.glob(f".{name}.*.tmp")
    for folder in (out_dir / CACHE, out_dir / CACHE / "export"):
        staged += folder.glob(".*.tmp")
    for path in staged:
        if path.is_file():
            path.unlink(missing_ok=True)
    shutil.rmtree(out_dir / CACHE / "sources.new", ignore_errors=True)


class _FullBuildNeeded(Exception):
    """The incremental path met a change it cannot maintain exactly; a full build follows."""


def _remove_work(out_dir: Path, exc: BaseException) -> None:
    """Delete the half-made store of a failed build. Its RocksDB handle lives as long as
    anything refers to it — the failed stage's frames, held by the traceback — and would write
    into the folder again when dropped, so those frames are cleared first."""
    import traceback

    traceback.clear_frames(exc.__traceback__)
    gc.collect()
    for work in (*out_dir.glob(".store-*.tmp"), out_dir / CACHE / "sources.new"):
        shutil.rmtree(work, ignore_errors=True)
    for staged in out_dir.glob(".*.ttl.*.tmp"):  # Turtle files a build stopped before moving
        staged.unlink(missing_ok=True)


def _only_data_changed(project: Project, previous: BuildSummary, hashes: dict[str, str]) -> bool:
    """Only data files changed, and the last build was made by this very toolkit."""
    if previous.code != _code_digest().hex():
        return False
    fixed = [p.relative_to(project.root).as_posix() for p in (project.ontology, project.shapes)]
    return all(previous.files.get(name) == hashes.get(name) for name in fixed)


# -- loading ------------------------------------------------------------------------------------
def _shapes(project: Project) -> Graph:
    """The shapes graph, parsed by Oxigraph (a tenth of rdflib's time) with the same checks and
    located errors as every input (:func:`kgtools.load.read_file`)."""
    from rdflib import Graph

    from kgtools.engine.terms import triple_to_rdflib
    from kgtools.load import read_file

    graph = Graph()
    for triple in read_file(project.shapes, label_key=_relative(project, project.shapes)):
        graph.add(triple_to_rdflib(triple))
    return graph


def _relative(project: Project, path: Path) -> str:
    return path.relative_to(project.root).as_posix()


# -- full build ---------------------------------------------------------------------------------
def _full(
    project: Project, out_dir: Path, hashes: dict[str, str], expected: str, progress: Progress
) -> BuildSummary:
    from kgtools.build.turtle import Section
    from kgtools.engine import degree, shacl
    from kgtools.engine.terms import MemoryIndex, UnionSource
    from kgtools.load import read_file, read_files, schema_terms

    with progress.stage("load"):
        ontology_key = _relative(project, project.ontology)
        data_files = project.data_files()
        ontology = read_file(project.ontology, label_key=ontology_key)
        parsed = read_files(
            [(p, _relative(project, p)) for p in data_files], schema=schema_terms(ontology)
        )
        shapes_graph = _shapes(project)
        data_index = MemoryIndex()
        counts: Counter[OxTriple] = Counter()
        for triples in parsed.values():
            for triple in set(triples):
                if not data_index.add(triple):
                    counts[triple] += 1
        shared = {t: n + 1 for t, n in counts.items()}
        del parsed, counts
        ontology_index = MemoryIndex(ontology)

    out_dir.mkdir(parents=True, exist_ok=True)
    store_name = _store_name(out_dir, expected)
    work = out_dir / f".{store_name}.tmp"
    store = OxigraphStore(work)
    # The store fills on a worker thread, from the Turtle the exports are made of (Oxigraph
    # parses it natively, so RocksDB's work overlaps reasoning, validation and the network
    # statistics without taking the GIL). Nothing before the end reads the store: SHACL-SPARQL
    # constraints run on in-memory copies of the predicates they read (shacl._Run.sparql).
    loader = BackgroundLoader(store)
    copy = _SourceCopy(project, out_dir / CACHE, data_files)
    turtle = _StagedFiles(out_dir)  # written on a worker thread while the build goes on
    try:
        with progress.stage("export"):
            sections = {
                name: Section.of(index.by_subject(), feed=functools.partial(loader.put, graph))
                for name, graph, index in (
                    ("ontology", ONTOLOGY_GRAPH, ontology_index),
                    ("data", DATA_GRAPH, data_index),
                )
            }
            turtle.put_turtle(out_dir, "asserted.ttl", sections)
        with progress.stage("reason"):
            ruleset = _ruleset(out_dir, project, ontology_index, hashes)
            inferred = ruleset.entailment_list(data_index)  # only iterated: no set needed
        with progress.stage("export"):
            sections["inferred"] = Section.of_triples(
                inferred, feed=functools.partial(loader.put, INFERRED_GRAPH)
            )
            turtle.put_turtle(out_dir, "inferred.ttl", sections)
        with progress.stage("validate"):
            compiled = shacl.compile(shapes_graph)
            results = compiled.validate(data_index, ontology_index)
            report = _report(results, data_index)
            if not report.conforms:
                raise NonConformingDataError(report.text())
        summary = BuildSummary(
            fingerprint=expected,
            code=_code_digest().hex(),
            ontology_triples=len(ontology_index),
            data_triples=len(data_index),
            inferred_triples=len(inferred),
            conforms=True,
            violations=0,
            files=hashes,
            store=store_name,
        )
        with progress.stage("network"):
            summary.instances = _class_counts_in_memory([ontology_index, data_index], inferred)
            union = UnionSource(
                [
                    ontology_index,
                    data_index,
                    MemoryIndex(t for t in inferred if t[1] in degree.PREDICATES),
                ]
            )
            links = degree.table(union, degree.municipalities(union))
            degree_csv = degree.csv_bytes(links) if _draws_degree_csv(summary) else None
        del inferred, union
        with progress.stage("store"):
            loader.close()
            loader.wait()
        with progress.stage("cache"):
            _put_degree_cache(turtle, out_dir, degree.Cache.of(links, degree_csv).to_bytes())
            _stage_indexes(turtle, out_dir, sections)
            copy.wait()  # (a copy that failed fails the build before anything is in place)
            _stage_cache(turtle, out_dir / CACHE, shared, results)
        _finish(project, out_dir, store, work, summary, report, degree_csv, progress, turtle)
        with progress.stage("cache"):
            copy.finish()
            _save_stamps(out_dir)
        _write_manifest(out_dir, summary)
    except BaseException:
        loader.close(cancel=True)
        copy.cancel()
        turtle.abort()
        store.close()
        raise
    _drop_old_stores(out_dir, keep=store_name)
    summary.timings = dict(progress.timings)
    return summary


def _ruleset(
    out_dir: Path, project: Project, ontology: Iterable[OxTriple], hashes: dict[str, str]
) -> Any:
    """The compiled rules, with owlrl's closure of the ontology cached by the ontology's hash."""

    from kgtools.engine import rules

    ontology = list(ontology)
    cached = out_dir / CACHE / f"tbox-{hashes[_relative(project, project.ontology)][:16]}.nt"
    if cached.is_file():
        return rules.compile(ontology, tbox=_read_terms(cached))
    closure = rules.tbox_closure(ontology)
    for old in cached.parent.glob("tbox-*.nt"):
        old.unlink()
    _write_terms(cached, closure)
    return rules.compile(ontology, tbox=closure)


#: owlrl's closure holds generalized triples (a literal as subject), which no RDF syntax writes,
#: so the cache writes each term as the object of a line of N-Triples, three lines per triple.
_TERM_LINE = "<urn:kgtools:term> <urn:kgtools:is> "


def _write_terms(path: Path, triples: Iterable[OxTriple]) -> None:
    lines = sorted(f"{s}\n{p}\n{o}" for s, p, o in triples)
    text = "".join(
        "".join(f"{_TERM_LINE}{term} .\n" for term in block.split("\n")) for block in lines
    )
    atomic_write_text(path, text)


def _read_terms(path: Path) -> list[OxTriple]:
    import pyoxigraph as ox

    terms = [q.object for q in ox.parse(path=path, format=ox.RdfFormat.N_TRIPLES)]
    return [(terms[i], terms[i + 1], terms[i + 2]) for i in range(0, len(terms), 3)]


def _store_name(out_dir: Path, expected: str) -> str:
    """A new store folder name: from the fingerprint (so ``build.json`` is reproducible), with a
    counter when a forced rebuild meets the folder of the same inputs."""
    name = f"store-{expected[:16]}"
    counter = 0
    while (out_dir / name).exists() or (out_dir / f".{name}.tmp").exists():
        counter += 1
        name = f"store-{expected[:16]}-{counter}"
    return name


def _ox(graph: URIRef) -> Any:
    from kgtools.store.oxigraph import named

    return named(graph)


def _report(results: list[ValidationResult], data: Any) -> ValidationReport:
    """A :class:`ValidationReport` with the focus nodes' labels (Japanese first)."""
    from rdflib import Graph

    from kgtools.engine.shacl import label_in
    from kgtools.namespaces import bind_prefixes
    from kgtools.reference.pyshacl import ValidationReport, focus_labels

    labels = focus_labels(results, functools.partial(label_in, data))
    return ValidationReport(results=sorted(results), labels=labels, graph=bind_prefixes(Graph()))


def _finish(
    project: Project,
    out_dir: Path,
    store: OxigraphStore,
    work: Path,
    summary: BuildSummary,
    report: ValidationReport,
    degree_csv: bytes | None,
    progress: Progress,
    turtle: _StagedFiles,
) -> None:
    """Put the Turtle files (staged by ``turtle``), the report and the network views, or the
    degree statistics when there are too many municipalities to draw (``degree_csv``: the
    CSV's bytes, ``None`` when the file is current), in place; close the finished store and
    move it in place."""
    from kgtools.network import write_default_views

    with progress.stage("export"):
        store.flush()
        atomic_write_text(out_dir / "validation.txt", report.text())
    with progress.stage("network"):
        if _draws_degree_csv(summary):
            if degree_csv is not None:
                turtle.put(out_dir / DEGREE_CSV, degree_csv)
            views = [DEGREE_CSV]
        else:
            views = write_default_views(store, out_dir, project)
    with progress.stage("export"):
        turtle.commit()  # waits for the worker
    store.close()
    work.rename(out_dir / summary.store)
    summary.outputs = [*OUTPUTS, *views, MANIFEST]


class _StagedFiles:
    """The build's output files written on a worker thread (writing and syncing a hundred
    megabytes does not hold the GIL, and the main thread never waits for a disk flush) under
    temporary names; :meth:`commit` moves them in place, in the order given, once the build has
    got that far, :meth:`abort` removes them — so a build that fails or is interrupted leaves
    the previous files as they were.

    :meth:`put_turtle` adds a Turtle file made of sections, :meth:`put` any other file's
    bytes; each is written as soon as the files queued before it are.

    A big file that is replaced is first linked into a folder of ``out_dir`` that the next build
    deletes in the background (:func:`_empty_trash`), so that moving the new file in place does
    not wait for the file system to free the old one's blocks (~0.07 s for 77 MB here, where the
    disk is mounted with ``discard``)."""

    def __init__(self, out_dir: Path) -> None:
        import queue
        import threading

        self._trash = out_dir / f"{_TRASH}files-{os.getpid()}-{time.time_ns()}"
        self._jobs: queue.Queue[tuple[Path, Any] | None] = queue.Queue()
        self._staged: list[tuple[Path, Path]] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kg-turtle", daemon=True)
        self._thread.start()

    def put(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` with the others (in place at :meth:`commit`)."""
        self._jobs.put((path, data))

    def put_turtle(self, out_dir: Path, file: str, sections: Mapping[str, Any]) -> None:
        """Write the Turtle ``file`` (one of ``_SECTION_FILES``) from its ``sections``."""
        self._jobs.put((out_dir / file, [sections[part] for part in _SECTION_FILES[file]]))

    def _run(self) -> None:
        from kgtools.build import turtle as dumps

        while (job := self._jobs.get()) is not None:
            if self._error is not None:
                continue  # drain the queue; commit() re-raises the first error
            path, content = job
            try:
                if isinstance(content, bytes):
                    with staged_file(path) as (handle, tmp):
                        handle.write(content)
                    self._staged.append((tmp, path))
                else:
                    self._staged.append((dumps.stage(path, content), path))
            except BaseException as exc:  # re-raised by commit()
                self._error = exc

    def _join(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join()

    def commit(self) -> None:
        self._join()
        if self._error is not None:
            raise self._error
        for i, (tmp, path) in enumerate(self._staged):
            try:
                if path.stat().st_size >= _BIG_FILE:
                    self._trash.mkdir(exist_ok=True)
                    os.link(path, self._trash / f"{i}-{path.name}")
            except OSError:
                pass  # no old file, or no hard links here: replaced all the same
            os.replace(tmp, path)
        self._staged = []

    def abort(self) -> None:
        self._join()
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        self._staged = []


#: The degree statistics written instead of the views when there are many municipalities
#: (in network.DEFAULT_VIEWS_DIR).
DEGREE_CSV = "network/bipartite-degree.csv"


def _draws_degree_csv(summary: BuildSummary) -> bool:
    """Whether the build writes :data:`DEGREE_CSV` instead of drawing the network views."""
    from kgtools.network import VIEWS_MUNICIPALITY_LIMIT

    return summary.instances.get("tip:Municipality", 0) > VIEWS_MUNICIPALITY_LIMIT


def _put_degree_cache(turtle: _StagedFiles, out_dir: Path, data: bytes) -> None:
    """Stage the degree statistics' cache (and drop the one an older version kept)."""
    from kgtools.engine import degree

    (out_dir / CACHE / "degree.json").unlink(missing_ok=True)  # layout before degree.jsonl
    turtle.put(out_dir / CACHE / degree.CACHE_FILE, data)


def _degree_statistics(
    out_dir: Path,
    before: TripleSource,
    after: TripleSource,
    delta: Collection[OxTriple],
    csv_wanted: bool,
) -> tuple[bytes | None, bytes | None]:
    """After an incremental change (``delta``, the graph ``before`` and ``after`` it): the bytes
    of the degree CSV (if ``csv_wanted``) and of its cache, each ``None`` when the file is
    current. Only the municipalities the change may touch are recounted, and the CSV's rows
    patched (:func:`kgtools.engine.degree.patched_csv`) when the file is the one the cache was written
    with; a missing or damaged cache is counted again from the store."""
    from kgtools.engine import degree

    cache = degree.Cache.load(out_dir / CACHE / degree.CACHE_FILE)
    old: dict[str, dict[str, int]] = {}
    new: dict[str, dict[str, int]] = {}
    try:
        if cache is None:
            raise degree.CacheError(f"{degree.CACHE_FILE} is missing or of another layout")
        for municipality in degree.affected([before, after], delta):
            key = str(municipality)
            old[key] = cache.counts(key)
            new[key] = degree.table(after, [municipality]).get(key, {})
    except degree.CacheError:
        links = degree.table(after, degree.municipalities(after))
        whole = degree.csv_bytes(links) if csv_wanted else None
        return whole, degree.Cache.of(links, whole).to_bytes()
    changed = old != new
    updated = cache.replaced(new, None)
    csv: bytes | None = None
    if csv_wanted:
        try:
            current: bytes | None = (out_dir / DEGREE_CSV).read_bytes()
        except OSError:
            current = None
        intact = current is not None and degree.digest(current) == cache.csv
        if changed or not intact:
            if intact and cache.iris:
                csv = degree.patched_csv(current, old, new)  # type: ignore[arg-type]
            if csv is None:
                csv = degree.csv_bytes(updated.table())
        updated.csv = cache.csv if csv is None else degree.digest(csv)
    if not changed and updated.csv == cache.csv:
        return csv, None
    return csv, updated.to_bytes()


#: The Turtle sections kept for incremental builds (see :mod:`kgtools.build.turtle`).
SECTIONS = ("ontology", "data", "inferred")


def _stage_indexes(turtle: _StagedFiles, out_dir: Path, sections: dict[str, Any]) -> None:
    """Have ``turtle`` write the index of each section given (the others' are kept already)."""
    folder = out_dir / CACHE / "export"
    for name in SECTIONS:
        if name in sections:
            for path, data in sections[name].index_files(folder, name).items():
                turtle.put(path, data)


def _save_stamps(out_dir: Path) -> None:
    """Keep the stamps of the Turtle files (once they are in place), which tie them to the
    indexes."""
    folder = out_dir / CACHE / "export"
    stamps = {name: _stamp(out_dir / name) for name in _SECTION_FILES}
    atomic_write_text(folder / "files.json", json.dumps(stamps, sort_keys=True))


def _load_sections(out_dir: Path, files: Collection[str]) -> dict[str, Any]:
    """The sections of the last build in the Turtle ``files`` (see ``_SECTION_FILES``): their
    indexes from the cache, their bodies from the files. Every Turtle file, read or not, must
    be the one that build wrote."""
    from kgtools.build.turtle import Section, header

    folder = out_dir / CACHE / "export"
    try:
        stamps = json.loads((folder / "files.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DumpCacheError(f"{folder}: unreadable export cache ({exc})") from exc
    sections = {}
    for file, names in _SECTION_FILES.items():
        path = out_dir / file
        stamp = _stamp(path)
        if stamps.get(file) != stamp:
            raise DumpCacheError(f"{path} changed after the last build")
        if file not in files:
            continue
        assert stamp is not None  # the stamps of a build's files are never None
        with path.open("rb") as handle:
            if handle.read(len(header())) != header():
                raise DumpCacheError(f"{path} does not start with the prefixes the build writes")
        # the body stays in the file: a patched section copies its unchanged spans from it
        start = len(header())
        for name in names:
            sections[name] = Section.load(folder, name, path, start, stamp=stamp)
            start += sections[name].length
        if start != stamp[0]:
            raise DumpCacheError(f"{path}: the export cache does not cover the file")
    return sections


#: Which sections make up each Turtle file, in order.
_SECTION_FILES = {"asserted.ttl": ("ontology", "data"), "inferred.ttl": ("inferred",)}


def _patch_turtle(
    turtle: _StagedFiles,
    out_dir: Path,
    file: str | None,
    added: Collection[OxTriple],
    removed: Collection[OxTriple],
) -> dict[str, Any]:
    """Patch the Turtle ``file`` of the last build — its changing section: the data's or the
    inferred triples' — and have ``turtle`` write it; its sections. With ``file`` ``None``, only
    check that the Turtle files are the last build's. A file that is not makes the build a full
    one."""
    try:
        sections = _load_sections(out_dir, [file] if file else [])
    except DumpCacheError as exc:
        raise _FullBuildNeeded(str(exc)) from None
    if file is not None:
        name = _SECTION_FILES[file][-1]
        sections[name] = sections[name].patched(added, removed)
        turtle.put_turtle(out_dir, file, sections)
    return sections


def _stamp(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _class_counts_in_memory(indexes: list[Any], inferred: Iterable[OxTriple]) -> dict[str, int]:
    """What :func:`class_counts` gives, from the triples of a full build in memory."""
    import pyoxigraph as ox

    rdf_type = ox.NamedNode(_RDF_TYPE)
    members: dict[Any, set[Any]] = {}
    for index in indexes:
        for s, _, cls in index.match(None, rdf_type, None):
            members.setdefault(cls, set()).add(s)
    for s, p, cls in inferred:
        if p == rdf_type:
            members.setdefault(cls, set()).add(s)
    return _qnames({cls: len(found) for cls, found in members.items()})


def _qnames(counts: dict[Any, int]) -> dict[str, int]:
    """Counts of ``tip:`` classes (pyoxigraph terms) keyed by their prefixed names, sorted."""
    import pyoxigraph as ox
    from rdflib import Graph, URIRef

    from kgtools.namespaces import TIP, bind_prefixes

    qname = bind_prefixes(Graph()).namespace_manager.normalizeUri
    return dict(
        sorted(
            (qname(URIRef(cls.value)), n)
            for cls, n in counts.items()
            if isinstance(cls, ox.NamedNode) and cls.value.startswith(str(TIP)) and n > 0
        )
    )


_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


class _SourceCopy:
    """Copies the data files into ``cache/sources/`` (an incremental build diffs a changed file
    against its copy) on a worker thread, where file I/O does not hold the GIL. The copies go
    to a new folder that replaces the old one only in :meth:`finish`, once the build has
    succeeded: until then the old copies still describe the previous build. The old folder is
    moved aside and deleted by the next full build's copy, also in the background."""

    def __init__(self, project: Project, cache: Path, files: list[Path]) -> None:
        import threading

        self._project, self._cache, self._files = project, cache, files
        self._new = cache / "sources.new"
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="kg-source-copy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for old in (*self._cache.glob(".sources-old-*"), self._new):
                shutil.rmtree(old, ignore_errors=True)
            for path in self._files:
                if self._cancelled:
                    return
                target = self._new / _relative(self._project, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        except BaseException as exc:  # re-raised by finish()
            self._error = exc

    def wait(self) -> None:
        """Wait for the copies; raise the error that stopped them."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Wait for the copies and put them in place."""
        self.wait()
        sources = self._cache / "sources"
        if sources.exists():
            sources.rename(self._cache / f".sources-old-{os.getpid()}-{time.time_ns()}")
        self._new.mkdir(parents=True, exist_ok=True)  # no data file at all: an empty folder
        self._new.rename(sources)

    def cancel(self) -> None:
        self._cancelled = True
        self._thread.join()


def _stage_cache(
    turtle: _StagedFiles,
    cache: Path,
    shared: dict[OxTriple, int],
    results: list[ValidationResult],
) -> None:
    """Have ``turtle`` write the caches with the outputs (in place when they are): the triples
    several files assert and the validation results."""
    turtle.put(cache / "shared.tsv", _shared_text(shared).encode("utf-8"))
    turtle.put(cache / "results.json", _results_text(results).encode("utf-8"))


def _save_shared(cache: Path, shared: dict[OxTriple, int]) -> None:
    atomic_write_text(cache / "shared.tsv", _shared_text(shared))


def _shared_text(shared: dict[OxTriple, int]) -> str:
    lines = sorted(f"{s} {p} {o}\t{n}" for (s, p, o), n in shared.items())
    return "".join(line + "\n" for line in lines)


def _load_shared(cache: Path) -> dict[OxTriple, int]:
    import pyoxigraph as ox

    shared: dict[OxTriple, int] = {}
    path = cache / "shared.tsv"
    if not path.is_file():
        return shared
    # lines end at "\n" only (str.splitlines() would also split a literal at U+2028 or U+0085,
    # which N-Triples leaves unescaped)
    for line in path.read_bytes().decode("utf-8").split("\n")[:-1]:
        text, count = line.rsplit("\t", 1)
        for quad in ox.parse(text + " .", ox.RdfFormat.N_TRIPLES):
            shared[(quad.subject, quad.predicate, quad.object)] = int(count)
    return shared


def _results_text(results: list[ValidationResult]) -> str:
    from kgtools.engine.terms import from_rdflib

    def nt_term(term: Any) -> str:
        return str(from_rdflib(term))  # read back by _load_results with Oxigraph's parser

    rows = [
        {
            "focus": nt_term(r.focus),
            "path": r.path,
            "component": str(r.component),
            "severity": str(r.severity),
            "messages": [list(m) for m in r.messages],
            "value": nt_term(r.value) if r.value is not None else None,
            "shape": nt_term(r.shape) if r.shape is not None else None,
        }
        for r in sorted(results)
    ]
    return json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True)


def _load_results(cache: Path) -> list[ValidationResult]:
    import pyoxigraph as ox
    from rdflib import URIRef

    from kgtools.engine.terms import to_rdflib
    from kgtools.reference.pyshacl import ValidationResult

    def term(text: str | None) -> Any:
        if text is None:
            return None
        quad = next(iter(ox.parse(f"<urn:s> <urn:p> {text} .", ox.RdfFormat.N_TRIPLES)))
        return to_rdflib(quad.object)

    rows = json.loads((cache / "results.json").read_text(encoding="utf-8"))
    return [
        ValidationResult(
            focus=term(row["focus"]),
            path=row["path"],
            component=URIRef(row["component"]),
            severity=URIRef(row["severity"]),
            messages=tuple((m[0], m[1]) for m in row["messages"]),
            value=term(row["value"]),
            shape=term(row["shape"]),
        )
        for row in rows
    ]


def _write_manifest(out_dir: Path, summary: BuildSummary) -> None:
    # (not dataclasses.asdict, which deep-copies the thousands of file hashes: ~0.1 s at 1M)
    stored = {f.name: getattr(summary, f.name) for f in fields(summary)}
    for transient in ("reused", "mode", "timings"):
        stored.pop(transient)
    atomic_write_text(
        out_dir / MANIFEST, json.dumps(stored, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    )


def _drop_old_stores(out_dir: Path, keep: str) -> None:
    """Move aside store folders other than ``keep`` and the one before it (a reader may still
    have the previous one open), and any left-over work folders, for :func:`_empty_trash` to
    delete: a rename is instant, while deleting a store of a million triples takes up to half a
    second that the build's caller would wait for."""
    stores = sorted(
        (p for p in out_dir.glob("store-*") if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for old in [*stores[:-1], *out_dir.glob(".store-*.tmp")]:
        try:
            old.rename(out_dir / f"{_TRASH}{old.name}-{time.time_ns()}")
        except OSError:
            shutil.rmtree(old, ignore_errors=True)


#: Prefix of the folders in ``dist/`` that :func:`_drop_old_stores` and
#: :meth:`_StagedFiles.commit` moved aside.
_TRASH = ".trash-"
#: A replaced file this big is linked into the trash first (see :class:`_StagedFiles`).
_BIG_FILE = 1 << 20


def _empty_trash(out_dir: Path) -> threading.Thread | None:
    """Delete what earlier builds moved aside, on a daemon thread while this build works (file
    deletion does not hold the GIL). A process that ends first leaves the rest to the next
    build: nothing refers to these folders, and a half-deleted one is only smaller."""
    import threading

    old = list(out_dir.glob(f"{_TRASH}*"))

    def run() -> None:
        for folder in old:
            shutil.rmtree(folder, ignore_errors=True)

    if not old:
        return None
    thread = threading.Thread(target=run, name="kg-trash", daemon=True)
    thread.start()
    return thread


# -- incremental rebuild ------------------------------------------------------------------------
class _After:
    """The asserted triples after a change: the store's, minus removed, plus added."""

    def __init__(self, before: Any, added: set[OxTriple], removed: set[OxTriple]) -> None:
        self._before = before
        self._added = added
        self._removed = removed

    def match(self, s: Any = None, p: Any = None, o: Any = None) -> Iterable[OxTriple]:
        for triple in self._before.match(s, p, o):
            if triple not in self._removed:
                yield triple
        for triple in self._added:
            if (
                (s is None or triple[0] == s)
                and (p is None or triple[1] == p)
                and (o is None or triple[2] == o)
                and triple not in self._removed
            ):
                yield triple

    def __contains__(self, triple: object) -> bool:
        if triple in self._added:
            return True
        return triple not in self._removed and triple in self._before


def _incremental(
    project: Project,
    out_dir: Path,
    previous: BuildSummary,
    hashes: dict[str, str],
    expected: str,
    progress: Progress,
) -> BuildSummary:
    import pyoxigraph as ox

    from kgtools.engine import shacl
    from kgtools.engine.terms import StoreSource, from_rdflib
    from kgtools.load import read_file, schema_terms

    cache = out_dir / CACHE
    current = set(hashes) - {
        _relative(project, project.ontology),
        _relative(project, project.shapes),
    }
    before = set(previous.files) - {
        _relative(project, project.ontology),
        _relative(project, project.shapes),
    }
    changed = sorted(
        name for name in current | before if previous.files.get(name) != hashes.get(name)
    )
    with progress.stage("load"):
        ontology = read_file(project.ontology, label_key=_relative(project, project.ontology))
        schema = schema_terms(ontology)
        old_triples: dict[str, set[OxTriple]] = {}
        new_triples: dict[str, set[OxTriple]] = {}
        errors: list[InputError] = []
        for name in changed:
            live = project.root / name
            try:
                new_triples[name] = (
                    set(read_file(live, label_key=name, schema=schema))
                    if name in current
                    else set()
                )
            except InputError as exc:
                errors.append(exc)
            # The copy is read as the file was then (the same label key for its blank nodes;
            # no base IRI, as a relative IRI is refused), so that it gives back the triples the
            # last build asserted, and a diff against them removes what changed.
            old_copy = cache / "sources" / name
            old_triples[name] = (
                set(read_file(old_copy, label_key=name)) if name in before else set()
            )
        if errors:
            raise errors[0] if len(errors) == 1 else LoadErrors(errors)
        shapes_graph = _shapes(project)

    store_name = _store_name(out_dir, expected)
    work = out_dir / f".{store_name}.tmp"
    old_store = ox.Store.read_only(str(out_dir / previous.store))  # (also read: network stage)
    old_store.backup(str(work))
    store = OxigraphStore(work)
    # The Turtle files are patched as soon as their triples are known and written on a worker
    # thread while the build goes on (a build that fails removes them); a file none of whose
    # triples changed is kept as it is.
    turtle = _StagedFiles(out_dir)
    try:
        with progress.stage("diff"):
            shared = _load_shared(cache)
            data_now = StoreSource(store.ox, [_ox(DATA_GRAPH)])
            added: set[OxTriple] = set()
            removed: set[OxTriple] = set()
            for name in changed:
                for triple in old_triples[name] - new_triples[name]:
                    count = shared.get(triple, 1)
                    if count > 1:
                        shared[triple] = count - 1
                        if count - 1 == 1:
                            del shared[triple]
                    else:
                        removed.add(triple)
                for triple in new_triples[name] - old_triples[name]:
                    if triple in removed:
                        removed.discard(triple)
                    elif triple in data_now or triple in added:
                        shared[triple] = shared.get(triple, 1) + 1
                    else:
                        added.add(triple)
        with progress.stage("export"):
            sections = _patch_turtle(
                turtle, out_dir, "asserted.ttl" if added or removed else None, added, removed
            )
        with progress.stage("reason"):
            ruleset = _ruleset(out_dir, project, ontology, hashes)
            graphs_before = StoreSource(
                store.ox, [_ox(ONTOLOGY_GRAPH), _ox(DATA_GRAPH), _ox(INFERRED_GRAPH)]
            )
            asserted_after = _After(
                StoreSource(store.ox, [_ox(ONTOLOGY_GRAPH), _ox(DATA_GRAPH)]), added, removed
            )
            try:
                plus, minus = ruleset.update(graphs_before, asserted_after, added, removed)
            except IncrementalUpdateError as exc:  # a change the rules cannot maintain
                raise _FullBuildNeeded(str(exc)) from None
            store.remove_ox(DATA_GRAPH, removed)
            store.add_ox(DATA_GRAPH, added)
            store.remove_ox(INFERRED_GRAPH, minus)
            store.add_ox(INFERRED_GRAPH, plus)
        with progress.stage("export"):
            if plus or minus:
                sections.update(_patch_turtle(turtle, out_dir, "inferred.ttl", plus, minus))
        with progress.stage("validate"):
            data_after = StoreSource(store.ox, [_ox(DATA_GRAPH)])
            focus = _affected(data_after, old_triples, new_triples)
            compiled = shacl.compile(shapes_graph)
            fresh = compiled.validate(
                data_after,
                StoreSource(store.ox, [_ox(ONTOLOGY_GRAPH)]),
                focus=focus,
                sparql_store=store.ox,
                sparql_graphs=[_ox(ONTOLOGY_GRAPH), _ox(DATA_GRAPH)],
            )
            kept = [r for r in _load_results(cache) if from_rdflib(r.focus) not in focus]
            results = kept + fresh
            report = _report(results, data_after)
            if not report.conforms:
                raise NonConformingDataError(report.text())
        summary = BuildSummary(
            fingerprint=expected,
            code=_code_digest().hex(),
            ontology_triples=previous.ontology_triples,
            data_triples=previous.data_triples + len(added) - len(removed),
            inferred_triples=previous.inferred_triples + len(plus) - len(minus),
            conforms=True,
            violations=0,
            files=hashes,
            store=store_name,
            mode="incremental",
        )
        with progress.stage("network"):
            delta = added | removed | plus | minus
            all_before = StoreSource(old_store, [_ox(g) for g in ALL_GRAPHS])
            all_after = StoreSource(store.ox, [_ox(g) for g in ALL_GRAPHS])
            summary.instances = _class_counts_after(
                previous.instances, all_before, all_after, delta
            )
            degree_csv, degree_cache = _degree_statistics(
                out_dir, all_before, all_after, delta, _draws_degree_csv(summary)
            )
        # Nothing may read the store past this point: _finish closes it (the last handle) before
        # it moves the folder.
        del all_before, all_after, data_now, graphs_before, asserted_after, data_after, old_store
        with progress.stage("cache"):
            if degree_cache is not None:
                _put_degree_cache(turtle, out_dir, degree_cache)
            _stage_indexes(turtle, out_dir, sections)
            # the new copies of the changed files and the caches, in place with the outputs
            sources = cache / "sources"
            for name in changed:
                if name in current:
                    turtle.put(sources / name, (project.root / name).read_bytes())
            _stage_cache(turtle, cache, shared, results)
        _finish(project, out_dir, store, work, summary, report, degree_csv, progress, turtle)
        with progress.stage("cache"):
            for name in set(changed) - current:
                (sources / name).unlink(missing_ok=True)
            _save_stamps(out_dir)
        _write_manifest(out_dir, summary)
    except BaseException:
        turtle.abort()
        store.close()
        raise
    _drop_old_stores(out_dir, keep=store_name)
    summary.timings = dict(progress.timings)
    return summary


def _class_counts_after(
    before: dict[str, int], graph_before: Any, graph_after: Any, changed: set[OxTriple]
) -> dict[str, int]:
    """The class counts after a change: each instance whose ``rdf:type`` triple changed in a
    graph is counted again, by looking it up in all the graphs before and after."""
    import pyoxigraph as ox

    rdf_type = ox.NamedNode(_RDF_TYPE)
    delta: dict[Any, int] = {}
    for s, p, cls in {(s, p, o) for s, p, o in changed if p == rdf_type}:
        was = (s, p, cls) in graph_before
        now = (s, p, cls) in graph_after
        delta[cls] = delta.get(cls, 0) + int(now) - int(was)
    counts = dict(before)
    for cls, change in delta.items():
        for name in _qnames({cls: 1}):  # empty unless a tip: class
            counts[name] = counts.get(name, 0) + change
    return {name: n for name, n in sorted(counts.items()) if n > 0}


def _affected(data: Any, old: dict[str, set[OxTriple]], new: dict[str, set[OxTriple]]) -> set[Term]:
    """Focus nodes whose validation may change: every node a changed file describes (subjects
    of its old and new triples) and their neighbours one edge away, both ways, in the data
    after the change. A plan file describes its plan and everything under it, so the checks
    that look across nodes (ordinals under a heading, periods against fiscal years, class of a
    linked node) are all re-run."""
    import pyoxigraph as ox

    described: set[Term] = set()
    for triples in (*old.values(), *new.values()):
        described.update(s for s, _, _ in triples)
    focus = set(described)
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    for node in described:
        for _, p, o in data.match(node, None, None):
            if p != rdf_type and not isinstance(o, ox.Literal):
                focus.add(o)
        for s, _, _ in data.match(None, None, node):
            focus.add(s)
    return focus


# -- reading a build ----------------------------------------------------------------------------
def class_counts(store: Any) -> dict[str, int]:
    """Instances per ``tip:`` class over asserted and inferred triples."""
    from rdflib import Graph, Literal

    from kgtools.namespaces import TIP, bind_prefixes
    from kgtools.query.library import load_query

    query = load_query(system_query_path("instances-per-class.rq"))
    rows = store.query(query.text, {"namespace": Literal(str(TIP))}, graphs=list(ALL_GRAPHS))
    qname = bind_prefixes(Graph()).namespace_manager.normalizeUri
    counts: dict[str, int] = {}
    for row in rows:
        cls, count = row
        counts[qname(cls)] = int(count)
    return dict(sorted(counts.items()))


def open_built(
    project: Project, out_dir: Path, *, progress: Progress | None = None
) -> tuple[OxigraphStore, BuildSummary]:
    """The built graph as a store: reuse ``out_dir`` when it is current, else build it first.

    This is what ``kg query``, ``kg export`` and ``kg network`` start from, so none of them
    rebuilds when the inputs have not changed. The store is opened read-only. While another
    process builds ``out_dir``, the answer comes from the last complete build (``mode`` is
    ``"last-complete"``, ``reused`` true) without waiting for it; if there is none, it raises
    :class:`~kgtools.errors.BuildRunningError`.
    """
    try:
        summary = build(project, out_dir, progress=progress, wait=False)
    except BuildRunningError:
        # (the running build may be replacing the other files: the store is what is read)
        summary = read_manifest(out_dir, outputs=False)  # type: ignore[assignment]
        if summary is None:
            raise
        summary.mode = "last-complete"
        summary.reused = True
    # A build that completes meanwhile keeps the store before its own (a reader may have it
    # open), but two builds would move this one aside: then open the one build.json names now.
    for _ in range(3):
        store = OxigraphStore(out_dir / summary.store, read_only=True)
        try:
            store.ox  # noqa: B018 (opens it)
        except FileNotFoundError:
            newer = read_manifest(out_dir, outputs=False)
            if newer is None or newer.store == summary.store:
                raise
            newer.mode = summary.mode
            summary = newer
            continue
        return store, summary
    return OxigraphStore(out_dir / summary.store, read_only=True), summary






def load_project(project: Project) -> tuple[Graph, Graph, Graph]:
    """Parse ontology, shapes and data with rdflib (the reference path: tests, ``kg bench``)."""
    from rdflib import Graph

    from kgtools.load import load_files, schema_terms

    ontology = Graph()
    shapes = Graph()
    data = Graph()
    load_files([project.ontology], ontology)
    load_files([project.shapes], shapes)
    load_files(project.data_files(), data, schema=schema_terms(ontology))
    return ontology, shapes, data
