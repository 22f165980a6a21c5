"""A per-user cache of derived values that do not depend on where a build goes.

Three results are expensive and depend only on their inputs and on the code that computes them:
owlrl's closure of the ontology (``kg build``'s reasoning stage, seconds), the subsets of the
Japanese font embedded in the HTML pages (:mod:`kgtools.glyphs`, about half a second each) and
the files of the network views a build draws (:func:`kgtools.network.default_views`, half of a
small build). A build into a fresh folder, a rebuild, ``kg network`` or ``kg docs`` would compute
them again; they are kept here instead, shared by every build folder of the user:

    ``$XDG_CACHE_HOME/kgtools/derived/KIND/KEY`` (default ``~/.cache/kgtools/derived/…``)

* The key is the sha256 of the inputs *and* of the code: the toolkit's own files
  (:func:`kgtools.build.layout.code_digest`) and the versions of the libraries doing the work
  (owlrl, rdflib, fontTools …), so an upgrade or a local edit never reads an old answer.
* An entry starts with the sha256 of its content; an entry whose content does not match
  (truncated, damaged) is ignored, removed and computed again — never trusted.
* Entries are written to a temporary file and moved in place (``os.replace``): a reader sees a
  whole entry or none, also with builds running at once.
* The cache is an optimisation only: a folder that cannot be made, read or written (read-only
  home, full disk) means the value is computed and the command goes on, with no message.
* At most :data:`KEEP` entries per kind are kept (the least recently used go first).

Clear it with ``rm -rf ~/.cache/kgtools/derived`` (or ``$XDG_CACHE_HOME/kgtools/derived``): it
is made again as needed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from kgtools.project import user_cache_dir

#: Entries kept per kind; older ones (by last use) are removed when a new one is written.
KEEP = 32
_MAGIC = b"kgtools-derived 1 sha256="


def folder() -> Path:
    """The cache's folder (whether or not it exists)."""
    return user_cache_dir() / "derived"


def digest(*parts: bytes | str) -> str:
    """sha256 over ``parts``, each length-prefixed, so that no two lists of parts run together."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def key(*parts: bytes | str) -> str:
    """:func:`digest` of the toolkit's code digest and ``parts``, nothing else: callers add the
    versions of the libraries they use (:func:`versions`)."""
    from kgtools.build.layout import code_digest

    return digest(code_digest(), *parts)


@functools.cache
def versions(*distributions: str) -> str:
    """``name==version`` of each installed distribution (``name==?`` when it is not installed).
    Read once per process (a look-up reads the package metadata from disk, milliseconds each):
    the libraries a process has imported are the ones it runs, whatever is installed later."""
    found = []
    for name in distributions:
        try:
            found.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            found.append(f"{name}==?")
    return " ".join(found)


def _path(kind: str, entry: str) -> Path:
    return folder() / kind / entry


def get(kind: str, entry: str) -> bytes | None:
    """The content stored under ``kind``/``entry``, or ``None`` when there is none, it cannot be
    read or its checksum does not match (a damaged entry is removed)."""
    path = _path(kind, entry)
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, newline, content = raw.partition(b"\n")
    # (without its newline, an empty entry cut after its checksum would pass the checksum)
    if not newline or head != _MAGIC + hashlib.sha256(content).hexdigest().encode("ascii"):
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # last use, for the pruning in put()
    return content


def put(kind: str, entry: str, content: bytes) -> None:
    """Store ``content`` under ``kind``/``entry`` atomically; any failure is ignored."""
    from kgtools.files import atomic_write_bytes

    path = _path(kind, entry)
    head = _MAGIC + hashlib.sha256(content).hexdigest().encode("ascii") + b"\n"
    try:
        atomic_write_bytes(path, head + content)
        _prune(path.parent)
    except OSError:
        pass


def _prune(kind_folder: Path) -> None:
    def last_use(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    entries = [p for p in kind_folder.iterdir() if not p.name.startswith(".")]
    for old in sorted(entries, key=last_use, reverse=True)[KEEP:]:
        old.unlink(missing_ok=True)


def cached(kind: str, entry: str, compute: Callable[[], bytes]) -> bytes:
    """The content under ``kind``/``entry``, computed by ``compute()`` and stored on a miss."""
    content = get(kind, entry)
    if content is None:
        content = compute()
        put(kind, entry, content)
    return content
