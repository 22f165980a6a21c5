"""How a build's outputs reach ``dist/`` safely: :class:`StagedFiles` writes them under temporary
names on a worker thread and moves them in place only when the build has succeeded (a failed or
interrupted build leaves the previous files as they were); the incremental build's patching of
the Turtle files by subject block (:func:`patch_turtle`, with the block indexes kept in
``cache/export/``); the manifest's bytes; and the removal of old store folders in the background.
:class:`FullBuildNeeded` is how the incremental build asks for a full one."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kgtools.build.layout import CACHE, BuildSummary
from kgtools.errors import (
    DumpCacheError,
)
from kgtools.files import staged_file

if TYPE_CHECKING:
    import threading

    from kgtools.engine.terms import OxTriple


class StagedFiles:
    """The build's output files written on a worker thread (writing and syncing a hundred
    megabytes does not hold the GIL, and the main thread never waits for a disk flush) under
    temporary names; :meth:`commit` moves them in place, in the order given, once the build has
    got that far, :meth:`abort` removes them — so a build that fails or is interrupted leaves
    the previous files as they were.

    :meth:`put_turtle` adds a Turtle file made of sections, :meth:`put` any other file's
    bytes; each is written as soon as the files queued before it are.

    A big file that is replaced is first linked into a folder of ``out_dir`` that the next build
    deletes in the background (:func:`empty_trash`), so that moving the new file in place does
    not wait for the file system to free the old one's blocks (~0.07 s for 77 MB here, where the
    disk is mounted with ``discard``)."""

    def __init__(self, out_dir: Path) -> None:
        import queue
        import threading

        self._trash = out_dir / f"{_TRASH}files-{os.getpid()}-{time.time_ns()}"
        self._jobs: queue.Queue[tuple[Path, Any] | None] = queue.Queue()
        self._staged: list[tuple[Path, Path]] = []
        self._last: list[tuple[Path, Path]] = []
        self._remove: list[Path] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kg-turtle", daemon=True)
        self._thread.start()

    def put(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` with the others (in place at :meth:`commit`)."""
        self._jobs.put((path, data))

    def put_edited(self, path: Path, edit: Callable[[Path], bool]) -> None:
        """Have ``edit`` write the new ``path`` into the staged file it is given the name of (the
        search index, which SQLite writes itself: made whole, or copied and patched) on the worker
        thread, when the files queued before it are written, while the build goes on; if it
        returns ``False``, nothing is written for ``path``."""
        self._jobs.put((path, _Edit(edit)))

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
                if isinstance(content, _Edit):
                    with staged_file(path) as (_, tmp):
                        made = content.edit(tmp)
                    if made:
                        self._staged.append((tmp, path))
                    else:
                        tmp.unlink()
                    continue
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

    def prepare(self) -> None:
        """Wait until every queued file is written and synced (re-raising the worker's first
        error); nothing is in place yet."""
        self._join()
        if self._error is not None:
            raise self._error

    def staged(self, path: Path) -> Path:
        """Where ``path``'s new content waits (after :meth:`prepare`), or ``path`` itself when it
        is not replaced. A staged file keeps its size and modification time when it is moved."""
        return next((tmp for tmp, target in self._staged if target == path), path)

    def put_last(self, path: Path, data: bytes) -> None:
        """Write ``data`` for ``path`` now (after :meth:`prepare`); it is moved in place by
        :meth:`commit_last`, after everything else: the manifest, which says a build is complete."""
        with staged_file(path) as (handle, tmp):
            handle.write(data)
        self._last.append((tmp, path))

    def commit(self) -> None:
        """Move every staged file in place, in order (renames only: every byte is on disk)."""
        self.prepare()
        for i, (tmp, path) in enumerate(self._staged):
            try:
                if path.stat().st_size >= BIG_FILE:
                    self._trash.mkdir(exist_ok=True)
                    os.link(path, self._trash / f"{i}-{path.name}")
            except OSError:
                pass  # no old file, or no hard links here: replaced all the same
            os.replace(tmp, path)
        self._staged = []

    def remove_at_end(self, paths: Iterable[Path]) -> None:
        """Delete ``paths`` (files the new build no longer makes) after :meth:`commit_last`."""
        self._remove.extend(paths)

    def commit_last(self) -> None:
        """Move the files given to :meth:`put_last` in place, then delete the stale ones."""
        for tmp, path in self._last:
            os.replace(tmp, path)
        self._last = []
        for path in self._remove:
            path.unlink(missing_ok=True)
        self._remove = []

    def abort(self) -> None:
        self._join()
        for tmp, _ in self._staged + self._last:
            tmp.unlink(missing_ok=True)
        self._staged = []
        self._last = []


class _Edit(NamedTuple):
    """A job of :meth:`StagedFiles.put_edited`."""

    edit: Callable[[Path], bool]


#: The Turtle sections kept for incremental builds (see :mod:`kgtools.build.turtle`).
SECTIONS = ("ontology", "data", "inferred")


def stage_indexes(turtle: StagedFiles, out_dir: Path, sections: dict[str, Any]) -> None:
    """Have ``turtle`` write the index of each section given (the others' are kept already)."""
    folder = out_dir / CACHE / "export"
    for name in SECTIONS:
        if name in sections:
            for path, data in sections[name].index_files(folder, name).items():
                turtle.put(path, data)


def stage_stamps(turtle: StagedFiles, out_dir: Path) -> None:
    """Stage the stamps of the Turtle files as they will be in place (a moved file keeps its size
    and modification time), which tie them to the indexes. After :meth:`StagedFiles.prepare`."""
    stamps = {name: _stamp(turtle.staged(out_dir / name)) for name in _SECTION_FILES}
    turtle.put_last(
        out_dir / CACHE / "export" / "files.json", json.dumps(stamps, sort_keys=True).encode()
    )


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


def patch_turtle(
    turtle: StagedFiles,
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
        raise FullBuildNeeded(str(exc)) from None
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


def manifest_bytes(summary: BuildSummary) -> bytes:
    """The text of ``build.json`` for ``summary`` (its transient fields left out)."""
    # (not dataclasses.asdict, which deep-copies the thousands of file hashes: ~0.1 s at 1M)
    stored = {f.name: getattr(summary, f.name) for f in fields(summary)}
    for transient in ("reused", "mode", "timings"):
        stored.pop(transient)
    return (json.dumps(stored, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def drop_old_stores(out_dir: Path, keep: str) -> None:
    """Move aside store folders other than ``keep`` and the one before it (a reader may still
    have the previous one open), and any left-over work folders, for :func:`empty_trash` to
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


#: Prefix of the folders in ``dist/`` that :func:`drop_old_stores` and
#: :meth:`StagedFiles.commit` moved aside.
_TRASH = ".trash-"


#: A replaced file this big is linked into the trash first (see :class:`StagedFiles`).
BIG_FILE = 1 << 20


def empty_trash(out_dir: Path) -> threading.Thread | None:
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


class FullBuildNeeded(Exception):
    """The incremental path met a change it cannot maintain exactly; a full build follows."""
