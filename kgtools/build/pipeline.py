"""Build stage: load → export → reason → validate → network statistics, while the store fills
on a worker thread; reuse or update the last build.

A full build parses every file into memory (:class:`~kgtools.engine.terms.MemoryIndex`), writes the
Turtle sections (:mod:`kgtools.build.turtle`) and hands their text to the store's loader as it goes
(:class:`~kgtools.store.oxigraph.BackgroundLoader`: Oxigraph parses and indexes it without the GIL,
on the other core), then reasons, validates (SHACL-SPARQL constraints on in-memory copies, so
nothing waits for the store) and counts; the data files are copied into ``cache/sources/`` on
another thread, and the Turtle files — then the degree statistics and the caches' indexes — are
written and synced on a third under temporary names (:class:`StagedFiles`). Only when
everything has succeeded are they moved in place, the store with them; a failed build removes
them. Old stores are moved aside and deleted in the background by the next build.

``dist/`` after a build:

* ``store-<id>/`` — the Oxigraph store (:mod:`kgtools.store.oxigraph`) with three named graphs:
  ontology, data (both as asserted) and inferred (entailments only). ``kg query``, ``kg export``,
  ``kg network``, ``kg docs`` and ``kg serve`` open it instead of rebuilding;
* ``asserted.ttl`` — ontology and data as asserted; ``inferred.ttl`` — only the OWL RL
  entailments (both sorted by subject, byte-stable for the same inputs:
  :mod:`kgtools.build.turtle`);
* ``validation.txt`` — the SHACL report;
* ``search/`` — the full-text search index of the store (:mod:`kgtools.search`);
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
  degree statistics are recounted only where the change reaches, and the search index is
  patched with the rows the change reaches (:mod:`kgtools.build.search_patch`);
* **full** — first build, ``--force``, or the ontology, shapes or toolkit version changed.

The engines are the fast ones: Oxigraph for parsing and storage, :mod:`kgtools.engine.rules` for
entailments and :mod:`kgtools.engine.shacl` for validation. Tests hold them to the reference
libraries (:mod:`kgtools.reference.owlrl` with owlrl, :mod:`kgtools.reference.pyshacl` with pySHACL,
rdflib for queries).

A build whose data does not conform raises :class:`NonConformingDataError` and changes nothing
in ``dist/``.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from kgtools.build import layout
from kgtools.build.full import full_build
from kgtools.build.incremental import incremental_build
from kgtools.build.inputs import (
    _STATS,
    _hash_inputs,
    _known_stats,
    fingerprint,
    relative_path,
)
from kgtools.build.layout import (
    CACHE,
    LOCK_FILE,
    MANIFEST,
    OUTPUTS,
    BuildSummary,
    read_manifest,
)
from kgtools.build.staging import FullBuildNeeded, empty_trash
from kgtools.errors import (
    BuildRunningError,
    DataTBoxError,
    DiskFullError,
    InputError,
    KGError,
    LoadErrors,
    ProjectLayoutError,
)
from kgtools.files import atomic_write_text
from kgtools.progress import Progress, quiet
from kgtools.project import Project
from kgtools.store.oxigraph import OxigraphStore


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
    empty_trash(out_dir)
    try:
        with collector_paused():  # the in-memory index holds millions of tuples and sets
            summary = None
            if previous is not None and _only_data_changed(project, previous, hashes):
                try:
                    summary = incremental_build(
                        project, out_dir, previous, hashes, expected, progress
                    )
                except FullBuildNeeded as exc:
                    _remove_work(out_dir, exc)
            if summary is None:
                summary = full_build(project, out_dir, hashes, expected, progress)
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
    folders = ", ".join(relative_path(project, p) + "/" for p in outputs)
    return f"{folders} looks like a kg build folder inside data/: delete it or move it out of data/"


def _located(project: Project, exc: DataTBoxError) -> DataTBoxError:
    """``exc`` with the data file(s) that hold its triple named first (read again: this is
    the error path only), and, for a file that looks like a kg output, what to delete."""
    import pyoxigraph as ox

    from kgtools.load.fast import read_file

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
    where = ", ".join(relative_path(project, p) for p in holders)
    message = f"{where}: {exc}"
    if hint := _output_hint(project, holders):
        message += "; " + hint
    return DataTBoxError(exc.triple, message)


def _disk_full(exc: OSError) -> bool:
    """Whether ``exc`` says the disk or the quota is full (RocksDB's errors carry no errno)."""
    import errno

    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc)


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


def _remove_work(out_dir: Path, exc: BaseException) -> None:
    """Delete the half-made store of a failed build. Its RocksDB handle lives as long as
    anything refers to it — the failed stage's frames, held by the traceback — and would write
    into the folder again when dropped, so those frames are cleared and the collector run
    first. A build that failed before it made a store (a file that does not load) has no
    handle to free, and skips the collector's full pass (~0.07 s in a test worker)."""
    import traceback

    stores = list(out_dir.glob(".store-*.tmp"))
    if stores:
        traceback.clear_frames(exc.__traceback__)
        gc.collect()
    for work in (*stores, out_dir / CACHE / "sources.new"):
        shutil.rmtree(work, ignore_errors=True)
    for staged in out_dir.glob(".*.ttl.*.tmp"):  # Turtle files a build stopped before moving
        staged.unlink(missing_ok=True)


def _only_data_changed(project: Project, previous: BuildSummary, hashes: dict[str, str]) -> bool:
    """Only data files changed, and the last build was made by this very toolkit."""
    if previous.code != layout.code_digest().hex():
        return False
    fixed = [p.relative_to(project.root).as_posix() for p in (project.ontology, project.shapes)]
    return all(previous.files.get(name) == hashes.get(name) for name in fixed)


# -- reading a build ----------------------------------------------------------------------------


def open_built(
    project: Project, out_dir: Path, *, progress: Progress | None = None
) -> tuple[OxigraphStore, BuildSummary]:
    """The built graph as a store: reuse ``out_dir`` when it is current, else build it first.

    This is what ``kg query``, ``kg export`` and ``kg network`` start from, so none of them
    rebuilds when the inputs have not changed. The store is opened read-only when it is first
    read: ``kg query`` reads it only in the query's forked child, which opens a handle of its
    own, so opening it here too was a second open (20–40 ms and ~100 RocksDB threads) for
    nothing. While another process builds ``out_dir``, the answer comes from the last complete
    build (``mode`` is ``"last-complete"``, ``reused`` true) without waiting for it; if there is
    none, it raises :class:`~kgtools.errors.BuildRunningError`.
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
        if (out_dir / summary.store / "CURRENT").is_file():  # (RocksDB's first file to open)
            return store, summary
        try:
            store.ox  # noqa: B018 (opens it: the store's own error if it cannot be)
        except FileNotFoundError:
            newer = read_manifest(out_dir, outputs=False)
            if newer is None or newer.store == summary.store:
                raise
            newer.mode = summary.mode
            summary = newer
            continue
        return store, summary
    return OxigraphStore(out_dir / summary.store, read_only=True), summary
