"""Where the ontology, shapes, queries and data live.

A *project* is a folder with ``ontology/tip.ttl``, ``ontology/shapes.ttl``, ``data/`` and
``queries/``. ``kg`` uses, in this order: the folder given with ``--project`` (or the
``KG_PROJECT`` environment variable), the current folder or the nearest parent that is a project
(a checkout), the checkout this package was installed from in editable mode, and last the copy
bundled inside the installed wheel (``kgtools/_resources``).

Where the build goes (:meth:`Project.default_out_dir`): ``dist/`` in the project's root, wherever
inside the project a command runs; for a project found only through the installed package (no
project around the current folder), a per-user cache folder (``$XDG_CACHE_HOME/kgtools/…``, by
default ``~/.cache/kgtools/…``), never the current folder.

A build never reads its own outputs: :func:`is_output_dir` recognises a folder ``kg build``
wrote (it holds kg's ``build.json``), and the data walk does not enter one.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from kgtools.errors import (
    BrokenLinkError,
    OutsideProjectError,
    ProjectLayoutError,
    SourceLocation,
)

ONTOLOGY_FILE = Path("ontology/tip.ttl")
SHAPES_FILE = Path("ontology/shapes.ttl")
DATA_DIR = Path("data")
QUERIES_DIR = Path("queries")
#: Sub-folders of ``data/`` that are not loaded (templates to copy, never data).
EXCLUDED_DATA_DIRS = frozenset({"templates"})
#: File extensions read as data, in any letter case (`X.TTL` from another system is data too,
#: as the loader reads it: skipping it would drop its plan from the graph without a word).
DATA_SUFFIXES = (".ttl", ".nt", ".nq", ".trig")
#: The build folder's name, below the project root.
OUT_DIR = Path("dist")
#: The manifest ``kg build`` writes into its output folder (``kgtools.build.pipeline.MANIFEST``).
BUILD_MANIFEST = "build.json"


class _Below:
    """A read-only attribute of a :class:`Project`: a path below its root (on the class, the
    attribute itself, which says which path)."""

    def __init__(self, part: Path) -> None:
        self.part = part
        self.__doc__ = f"``root / {part.as_posix()!r}``"

    @overload
    def __get__(self, project: None, owner: type[Project]) -> _Below: ...
    @overload
    def __get__(self, project: Project, owner: type[Project] | None = None) -> Path: ...
    def __get__(self, project: Project | None, owner: type[Project] | None = None) -> Path | _Below:
        return self if project is None else project.root / self.part

    def __repr__(self) -> str:
        return f"<path below the project's root: {self.part.as_posix()}>"


@dataclass(frozen=True)
class Project:
    """The resolved locations of one project's files."""

    root: Path
    #: False when the project was found only through the installed package (no project around
    #: the current folder): its build then goes to the per-user cache, not into the package.
    local: bool = True

    ontology = _Below(ONTOLOGY_FILE)
    shapes = _Below(SHAPES_FILE)
    data_dir = _Below(DATA_DIR)
    queries_dir = _Below(QUERIES_DIR)

    def default_out_dir(self) -> Path:
        """``ROOT/dist`` for a project the user is in or named; else a per-user cache folder."""
        if self.local:
            return self.root / OUT_DIR
        key = hashlib.sha256(os.fsencode(self.root.resolve())).hexdigest()[:16]
        return user_cache_dir() / f"dist-{key}"

    def out_dir(self, given: Path | None) -> Path:
        """The build folder to use: ``given`` (as the user wrote it) or the default; refused
        when it lies inside ``data/``, where the build would read its own outputs as data."""
        chosen = self.default_out_dir() if given is None else given
        # os.path.realpath, not Path.resolve, which raises RuntimeError on a loop of links
        data = Path(os.path.realpath(self.data_dir))
        resolved = Path(os.path.realpath(chosen))
        if os.path.islink(resolved):  # realpath stops at a link in a loop
            raise ProjectLayoutError(
                f"the build folder {chosen} is a symbolic link in a loop of links: remove the "
                f"link or choose another folder (default: {self.default_out_dir()})"
            )
        if resolved == data or data in resolved.parents:
            raise ProjectLayoutError(
                f"the build folder {chosen} is inside the data folder {self.data_dir}, whose "
                f"files the build reads: choose a folder outside it (default: "
                f"{self.default_out_dir()})"
            )
        if given is not None:
            stranger = foreign_entry(resolved)
            if stranger is not None:
                raise ProjectLayoutError(
                    f"the build folder {chosen} already holds {stranger}, which kg did not "
                    "write, and is not a build folder: kg would write its outputs among those "
                    f"files — give a new or empty folder (default: {self.default_out_dir()})"
                )
        return chosen

    def data_files(self) -> list[Path]:
        """Every data file below ``data/`` (templates excluded), sorted for a stable order;
        a symbolic link to a file outside the project is refused (:class:`OutsideProjectError`)."""
        return data_files_in(self.data_dir, within=self.root)


def data_files_in(folder: Path, *, within: Path | None = None) -> list[Path]:
    """RDF files below ``folder``, skipping template folders, in sorted order.

    A walk with ``os.scandir`` rather than ``Path.rglob``: with thousands of plan files (one per
    plan and round) it is several times faster, and excluded folders are not entered at all.
    With ``within``, a symbolic link to a file outside that folder raises
    :class:`OutsideProjectError` (symlinked folders are never entered)."""
    return [Path(path) for path in data_paths_in(folder, within=within)]


def check_inside(paths: list[Path], root: Path) -> None:
    """Refuse (:class:`OutsideProjectError`) any of ``paths`` that is a symbolic link to a
    file outside ``root``."""
    real_root = os.path.realpath(root)
    for path in paths:
        if path.is_symlink():
            _check_link(os.fspath(path), real_root)


def _linked_file(path: str) -> bool:
    """Whether the symbolic link ``path`` leads to a regular file (False for a folder or a
    device); a link that leads nowhere (a missing target, a loop) is a
    :class:`BrokenLinkError`: skipping it would drop the file's data without a word."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        why = "is part of a loop of links" if exc.errno == 40 else "leads to no file"
        raise BrokenLinkError(
            SourceLocation(Path(path)),
            f"a symbolic link to {os.readlink(path)}, which {why}",
            "point the link at the data file, or remove the link",
        ) from None
    return stat.S_ISREG(mode)


def _check_link(path: str, root: str) -> None:
    target = os.path.realpath(path)
    if os.path.commonpath([root, target]) != root:
        raise OutsideProjectError(
            SourceLocation(Path(path)),
            f"a symbolic link to {target}, outside the project ({root}): data is read only "
            "from inside the project",
            "copy the file into data/, or remove the link",
        )


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/kgtools`` (default ``~/.cache/kgtools``): builds of a project that is
    not around the current folder go there."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "kgtools"


#: What ``kg build`` writes in its folder (hidden names: its lock, staged and trash files).
BUILD_ENTRIES = frozenset(
    {BUILD_MANIFEST, "asserted.ttl", "inferred.ttl", "validation.txt", "network", "cache", "docs"}
)


def foreign_entry(folder: Path) -> str | None:
    """The name of an entry of ``folder`` that a build would not have written, when
    ``folder`` exists and is not a build folder (:func:`is_output_dir`); else ``None``. A
    folder a killed build left (its store, staged files, no ``build.json`` yet) has none."""
    if not folder.is_dir() or is_output_dir(folder):
        return None
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except OSError:
        return None
    for name in names:
        if not (name in BUILD_ENTRIES or name.startswith((".", "store-"))):
            return name
    return None


def is_output_dir(folder: str | os.PathLike[str]) -> bool:
    """True for a folder ``kg build`` wrote: it holds kg's ``build.json`` (a JSON object with
    the build's ``fingerprint`` and ``layout``). The data walk never enters one, so a build
    cannot read its own outputs (``asserted.ttl``, ``inferred.ttl`` …) as data."""
    manifest = os.path.join(folder, BUILD_MANIFEST)
    if not os.path.isfile(manifest):
        return False
    try:
        with open(manifest, "rb") as handle:
            stored = json.loads(handle.read(1 << 20) or b"null")
    except (OSError, ValueError):
        return False
    return isinstance(stored, dict) and "fingerprint" in stored and "layout" in stored


def data_paths_in(folder: Path, *, within: Path | None = None) -> list[str]:
    """:func:`data_files_in` as strings (making thousands of ``Path`` objects takes a tenth of
    a second, which a build that finds nothing changed does not need to spend). Folders that
    :func:`is_output_dir` recognises are not entered."""
    root = os.path.realpath(within) if within is not None else None
    found: list[str] = []
    pending = [os.fspath(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):  # as rglob: symlinked folders not entered
                if entry.name not in EXCLUDED_DATA_DIRS and not is_output_dir(entry.path):
                    pending.append(entry.path)
            elif os.path.splitext(entry.name)[1].lower() not in DATA_SUFFIXES:
                continue
            elif entry.is_symlink():
                if not _linked_file(entry.path):  # a link to a folder named x.ttl: not data
                    continue
                if root is not None:
                    _check_link(entry.path, root)
                found.append(entry.path)
            elif entry.is_file():
                found.append(entry.path)
    return sorted(found, key=lambda p: p.split(os.sep))  # the order of the paths as Paths


def _is_project(folder: Path) -> bool:
    return (folder / ONTOLOGY_FILE).is_file() and (folder / DATA_DIR).is_dir()


def find_project(explicit: Path | None = None, cwd: Path | None = None) -> Project:
    """Resolve the project folder (see the module docstring for the order)."""
    if explicit is None and os.environ.get("KG_PROJECT"):
        explicit = Path(os.environ["KG_PROJECT"])
    if explicit is not None:
        if not _is_project(explicit):
            raise ProjectLayoutError(
                f"{explicit} is not a project folder: it needs {ONTOLOGY_FILE} and {DATA_DIR}/"
            )
        return Project(explicit)
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if _is_project(folder):
            return Project(folder)
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir.parent, package_dir / "_resources"):
        if _is_project(candidate):
            return Project(candidate, local=False)
    raise ProjectLayoutError(
        "no project found: run kg inside a checkout, or pass --project DIR "
        f"(a folder with {ONTOLOGY_FILE} and {DATA_DIR}/)"
    )
