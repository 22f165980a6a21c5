"""The build's inputs: which files a build reads (the ontology, the shapes and every data file,
a link out of the project refused), their sha256 hashes (a file whose size and time are those of
the last build is not read again: ``cache/file-stats.json``), the fingerprint that says whether
``dist/`` is current, and the shapes the validator is compiled from."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools import __version__
from kgtools.build import layout
from kgtools.build.layout import CACHE
from kgtools.project import Project

if TYPE_CHECKING:
    from kgtools.engine.terms import OxTriple


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


def fingerprint(project: Project, hashes: dict[str, str] | None = None) -> str:
    """A hash of the toolkit (its version and its files) and every input file's relative path
    and bytes."""
    digest = hashlib.sha256(f"kgtools {__version__}\n".encode() + layout.code_digest())
    for name, sha in (hashes or file_hashes(project)).items():
        digest.update(name.encode() + b"\0")
        digest.update(bytes.fromhex(sha))
    return digest.hexdigest()


def read_shapes(project: Project) -> tuple[OxTriple, ...]:
    """The shapes file's triples in file order, parsed by Oxigraph (a tenth of rdflib's time)
    with the same checks and located errors as every input (:func:`kgtools.load.read_file`), on
    every build (:func:`kgtools.engine.shacl.compile_triples` compiles them)."""
    from kgtools.load.fast import read_file

    return tuple(read_file(project.shapes, label_key=relative_path(project, project.shapes)))


def relative_path(project: Project, path: Path) -> str:
    return path.relative_to(project.root).as_posix()
