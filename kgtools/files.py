"""Writing output files safely: a file is written beside its target and renamed over it, so an
interrupted or failed write never destroys the previous file; output paths are checked before
any work starts (a folder given as a file, a missing parent folder).

What is replaced is the file a path names: through a symbolic link, the file it points to (the
link stays a link); a device, a FIFO or a socket (``-o /dev/stdout``, ``-o /dev/null``, a named
pipe) is written in place, as a shell's ``>`` writes it — renaming a file over it would replace
the device node itself (as root, ``kg export -o /dev/null`` once turned /dev/null into a file).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from kgtools.errors import KGError, OutputPathError


def check_output_file(
    out: Path, example: str, error: type[KGError] = OutputPathError, what: str = "the output"
) -> None:
    """Refuse an output file path that cannot be written as given: a folder, or a file in a
    folder that does not exist (like ``cp``, the commands never make folders the user did not
    ask for). ``example`` is a file name to suggest inside ``out`` when it is a folder."""
    if out.is_dir():
        raise error(f"{out}: is a folder — give a file name, e.g. {out / example}")
    _refuse_missing_parent(out, f"cannot write {what}: the folder", out.parent, "a path", error)


def _refuse_missing_parent(
    path: Path, doing: str, make: Path, instead: str, error: type[KGError]
) -> None:
    """The error for ``path`` whose parent folder is missing or is a file."""
    parent = path.parent
    if not parent.is_dir():
        state = "is not a folder" if parent.exists() else "does not exist"
        raise error(
            f"{path}: {doing} {parent} {state} — create it first (mkdir -p {make}) or give "
            f"{instead} in an existing folder"
        )


def check_output_folder(folder: Path, error: type[KGError] = OutputPathError) -> None:
    """Refuse an output folder that cannot be used as given: a file, or a folder whose parent
    does not exist (the folder itself is made, one level only, as ``mkdir`` would)."""
    if folder.is_dir():
        return
    if folder.exists():
        raise error(f"{folder}: is a file, not a folder — give a folder for the output")
    _refuse_missing_parent(folder, "cannot make the output folder:", folder, "a folder", error)


def is_file(path: Path) -> bool:
    """``path.is_file()``, and False for a name the system cannot look up at all (longer than
    it allows, or holding NUL) instead of an exception: such a file does not exist."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


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


def write_formats(
    out_dir: Path, name: str, formats: Iterable[str], render: Callable[[str], bytes]
) -> list[Path]:
    """Write ``out_dir/name.FORMAT`` for each format (repeats once), each atomically, from
    ``render(format)``; return the paths written, in order."""
    written = []
    for fmt in dict.fromkeys(formats):
        path = out_dir / f"{name}.{fmt}"
        atomic_write_bytes(path, render(fmt))
        written.append(path)
    return written


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write that replaces ``path`` only when the ``with`` block succeeds.

    For writers that stream (Oxigraph's dump of a million triples): the bytes go to a
    temporary file in the same folder, flushed to disk, then moved over ``path`` in one
    ``os.replace``; on any error the temporary file is removed and ``path`` is untouched.
    """
    target = replaced_file(path)
    if target is None:  # a device, a FIFO, a socket or an open file: there is no file to keep
        # appended to, never truncated: `-o /dev/stdout >> log` adds to the log as the shell
        # asked (a device or a pipe has no end to append to; a file `>` sent it to is empty)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND), "wb") as stream:
            yield stream
        return
    with staged_file(target) as (handle, tmp):
        yield handle
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replaced_file(path: Path) -> Path | None:
    """The file that writing ``path`` replaces: ``path`` itself, or through symbolic links the
    file they point to (which need not exist yet); ``None`` where ``path`` is a device, a FIFO
    or a socket, or a file already open by its system name (``/dev/stdout`` when the shell
    sent it to a file, ``/dev/fd/3``, ``/proc/self/fd/1``), which are written in place: a file
    the shell opened to append to (``>> log``) must not be replaced by the export."""
    try:
        mode = os.stat(path).st_mode  # (through links)
    except (OSError, ValueError):
        mode = None  # not there yet (or a dangling link), or not a name: found when written
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return None
    if mode is not None and _OPEN_FILE_NAMES.fullmatch(os.path.normpath(os.path.abspath(path))):
        return None
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


#: The names the system gives to files already open (/dev/stdout, /dev/fd/3, /proc/self/fd/1):
#: written in place. (Not all of /dev: /dev/shm holds ordinary files, replaced as any other.)
_OPEN_FILE_NAMES = re.compile(r"/dev/(stdin|stdout|stderr|fd/[0-9]+)|/proc/[^/]+/fd/[0-9]+")


def temp_stem(path: Path) -> str:
    """The start of ``path``'s name, at most 128 bytes of it, for its temporary sibling's name:
    a name as long as the system allows (255 bytes) must still have a temporary file beside it
    (the whole name, dot and random suffix added, would be too long)."""
    cut = path.name.encode("utf-8", "surrogateescape")[:_TEMP_STEM_BYTES]
    return cut.decode("utf-8", "ignore")  # a character cut in two is dropped


_TEMP_STEM_BYTES = 128


@contextmanager
def staged_file(path: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A temporary file beside ``path`` to write, flushed to disk when the ``with`` block ends;
    moving it over ``path`` (``os.replace``) is the caller's, and so is removing it if it never
    is. On an error inside the block it is removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{temp_stem(path)}.", suffix=".tmp", dir=path.parent)
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
