"""The build's Turtle files, written in subject blocks so that an incremental build patches them.

A *section* is the Turtle of one named graph: one block per subject, sorted by subject, then
predicate, then object (each term's N-Triples form). A block is ``subject predicate object ,
object ;`` with each further predicate on a tab-indented line, ending `` .``. ``dist/asserted.ttl``
is the prefix lines, then the ontology section, then the data section; ``dist/inferred.ttl`` the
prefix lines and the inferred section.

``dist/cache/export/`` keeps each section's index (subjects, block lengths) and the size and
modification time of the two files, whose bytes are the sections' bodies. An incremental build
re-writes only the blocks of subjects whose triples changed — each from its old block (parsed
back by Oxigraph, a few lines) plus and minus the change — and copies the runs of other blocks
from the old file as they were, by the kernel (``copy_file_range``): the old file is never read
into memory. A block depends only on its subject's triples, so the file is byte-identical to the
one a full build would write (the tests hold it to that, and to the graph).

A full build also hands each section to the store's loader as it is written (``feed``): the
same Turtle, in pieces, which Oxigraph parses without holding the GIL — so the store fills on
the other core while the build goes on — and apart the triples of blocks with a blank node,
which are added as terms (a parser would give the blank nodes new labels).

Why our own writer: Oxigraph's ``Store.dump`` reads every triple back from RocksDB (~13 µs a
triple: 20 s for the two files at a million triples), its ``serialize`` needs a Python object per
triple, and nothing patches a serialization. Here terms are written in their N-Triples form,
which is valid Turtle as it stands; IRIs under the project's prefixes are abbreviated only when
the local name is plainly safe (letters, digits, ``_``, ``-``), and everything else is left as a
full IRI, so no escaping rule of Turtle's prefixed names is needed.
"""

from __future__ import annotations

import array
import bisect
import functools
import itertools
import os
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox

from kgtools.engine.terms import OxTriple, Term
from kgtools.errors import DumpCacheError
from kgtools.files import atomic_file, staged_file
from kgtools.namespaces import PREFIXES

_PREFIXES = {prefix: str(ns) for prefix, ns in PREFIXES.items()}
#: A local name written after a prefix only when it is this plain and has no ``/`` or ``#``
#: (Turtle allows more, but anything else — ``/``, ``.``, ``%``, non-ASCII — is written as a
#: full IRI, which is always valid).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


@functools.cache
def header() -> bytes:
    """The ``@prefix`` lines at the top of every file (and before a block parsed back)."""
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in _PREFIXES.items()).encode()


class _Terms:
    """Turtle tokens for terms: an IRI in one of the project's namespaces with a plain local
    name is abbreviated, ``rdf:type`` as a predicate is ``a``, anything else is its N-Triples
    form (valid Turtle as it stands). Tokens of IRIs and blank nodes are remembered by term:
    classes, predicates and shared objects recur millions of times."""

    def __init__(self) -> None:
        self._prefix = {ns: prefix for prefix, ns in _PREFIXES.items()}
        self._nodes: dict[Term, str] = {}  # IRI or blank node → token
        self._pstr = _Memo(str)  # predicate → N-Triples form (its sort key)
        self._ptok = _Memo(functools.partial(_predicate_token, self._prefix, self._pstr))

    def iri(self, nt: str) -> str:
        """The token of an IRI or blank node given in N-Triples form."""
        return _iri_token(self._prefix, nt)

    def block(self, key: str, by_predicate: Mapping[ox.NamedNode, Collection[Term]]) -> str:
        """One subject's block: ``s p o1 , o2 ;`` then a tab-indented line per further
        predicate, predicates and objects sorted by their N-Triples form; ``key`` is the
        subject's N-Triples form."""
        pstr, ptok, nodes = self._pstr, self._ptok, self._nodes
        order = (
            by_predicate if len(by_predicate) == 1 else sorted(by_predicate, key=pstr.__getitem__)
        )
        lines = []
        for p in order:
            objects = by_predicate[p]
            if len(objects) == 1:
                for o in objects:
                    token = nodes.get(o)
                    if token is None:
                        nt = str(o)
                        if nt[0] == '"':
                            token = nt
                        else:
                            token = nodes[o] = self.iri(nt)
                lines.append(f"{ptok[p]} {token}")
            else:
                pairs = []
                for o in objects:
                    token = nodes.get(o)
                    nt = str(o)
                    if token is None:
                        token = nt if nt[0] == '"' else self.iri(nt)
                    pairs.append((nt, token))
                pairs.sort()
                lines.append(f"{ptok[p]} " + " , ".join(token for _, token in pairs))
        return f"{self.iri(key)} " + " ;\n\t".join(lines) + " .\n"


def _iri_token(prefixes: Mapping[str, str], nt: str) -> str:
    if nt[0] == "<":
        cut = max(nt.rfind("/"), nt.rfind("#")) + 1
        prefix = prefixes.get(nt[1:cut])
        if prefix is not None and _PLAIN_LOCAL.fullmatch(nt, cut, len(nt) - 1):
            return f"{prefix}:{nt[cut:-1]}"
    return nt


def _predicate_token(prefixes: Mapping[str, str], nt: Mapping[Any, str], p: Any) -> str:
    return "a" if nt[p] == _RDF_TYPE else _iri_token(prefixes, nt[p])


class _Memo(dict[Any, str]):
    """A dictionary that computes a missing value with ``make`` and keeps it."""

    def __init__(self, make: Callable[[Any], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: Any) -> str:
        value = self[key] = self._make(key)
        return value


#: Triples per :class:`StoreFeed` piece: each is one bulk load, big enough that RocksDB merges
#: few files and small enough that its text is a few tens of megabytes.
FEED_TRIPLES = 250_000


@dataclass
class StoreFeed:
    """A section's graph as the store loads it fastest: the Turtle of its blocks without a blank
    node (parsed natively by Oxigraph), and the triples of the other blocks, which are added as
    terms because a parser would give their blank nodes new labels."""

    turtle: bytes
    blank: list[OxTriple]


@dataclass(frozen=True)
class FileSpan:
    """``length`` bytes of the file at ``path`` from ``start``: blocks of the last build's Turtle
    file, which a patched section copies as they are — by the kernel (``copy_file_range``) where
    it can — instead of reading a hundred megabytes into memory and writing them back.

    ``stamp`` is the file's (size, modification time) when its index was checked; a file
    changed since then is refused (:class:`DumpCacheError`), never copied. (Its blocks are
    copied on the build's writer thread, before the new file replaces it.)"""

    path: Path
    start: int
    length: int
    stamp: tuple[int, int]

    def _check(self, fd: int) -> None:
        info = os.fstat(fd)
        if (info.st_size, info.st_mtime_ns) != self.stamp:
            raise DumpCacheError(f"{self.path} changed during the build; run `kg build` again")

    def read(self) -> bytes:
        """The span's bytes."""
        with open(self.path, "rb") as source:
            self._check(source.fileno())
            data = os.pread(source.fileno(), self.length, self.start)
        if len(data) != self.length:
            raise DumpCacheError(f"{self.path} is shorter than its export cache says")
        return data

    def copy_to(self, handle: BinaryIO) -> None:
        """Append the span to ``handle`` (flushed first: the copy writes at its file offset)."""
        handle.flush()
        out = handle.fileno()
        with open(self.path, "rb") as source:
            fd = source.fileno()
            self._check(fd)
            offset, left = self.start, self.length
            while left:
                try:
                    done = os.copy_file_range(fd, out, left, offset)
                except (AttributeError, OSError):  # not Linux, or not across these files
                    done = os.write(out, os.pread(fd, min(left, 1 << 24), offset))
                if done <= 0:
                    raise DumpCacheError(f"{self.path} is shorter than its export cache says")
                offset += done
                left -= done
            self._check(fd)


#: A part of a section's body: bytes in memory, or a span of the last build's file.
Part = bytes | FileSpan


@dataclass(eq=False)
class Section:
    """The Turtle body of one graph (no prefix lines), as parts in order, and, per block, its
    subject key and size. Two sections are equal when their bodies, keys and sizes are."""

    parts: list[Part]
    keys: list[str]
    sizes: list[int]
    #: The keys are those of the index it was loaded from (:meth:`index_files` leaves them out).
    saved_keys: bool = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Section):
            return NotImplemented
        return (self.keys, self.sizes, self.body) == (other.keys, other.sizes, other.body)

    @property
    def body(self) -> bytes:
        """The whole body in memory (spans are read)."""
        return b"".join(p if isinstance(p, bytes) else p.read() for p in self.parts)

    @property
    def length(self) -> int:
        return sum(len(p) if isinstance(p, bytes) else p.length for p in self.parts)

    def _slice(self, start: int, end: int) -> list[Part]:
        """The parts that make up the body's bytes ``[start, end)``."""
        out: list[Part] = []
        position = 0
        for part in self.parts:
            size = len(part) if isinstance(part, bytes) else part.length
            lo, hi = max(start, position), min(end, position + size)
            if lo < hi:
                if isinstance(part, bytes):
                    out.append(part[lo - position : hi - position])
                else:
                    out.append(FileSpan(part.path, part.start + lo - position, hi - lo, part.stamp))
            position += size
            if position >= end:
                break
        return out

    def _bytes(self, start: int, end: int) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p.read() for p in self._slice(start, end))

    # -- making one ------------------------------------------------------------------------
    @classmethod
    def of(
        cls,
        by_subject: Mapping[Term, Mapping[ox.NamedNode, Collection[Term]]],
        *,
        feed: Callable[[StoreFeed], None] | None = None,
    ) -> Section:
        """The section of the triples given as ``subject → predicate → objects``.

        With ``feed``, the section's graph is also handed over as it is written, in
        :class:`StoreFeed` pieces of about :data:`FEED_TRIPLES` triples, so that a store can load
        the first piece while the rest is written."""
        keyed = sorted((str(s), s) for s in by_subject)
        terms = _Terms()
        blocks = []
        plain: list[bytes] = []
        blank: list[OxTriple] = []
        pending = 0
        for key, subject in keyed:
            by_predicate = by_subject[subject]
            block = terms.block(key, by_predicate).encode()
            blocks.append(block)
            if feed is None:
                continue
            # a blank node's token starts with "_:"; no other token has "_:" after a space
            if key[0] == "_" or b" _:" in block:
                blank += ((subject, p, o) for p, objects in by_predicate.items() for o in objects)
            else:
                plain.append(block)
            pending += sum(map(len, by_predicate.values()))
            if pending >= FEED_TRIPLES:
                feed(StoreFeed(header() + b"".join(plain), blank))
                plain, blank, pending = [], [], 0
        if feed is not None and (plain or blank):
            feed(StoreFeed(header() + b"".join(plain), blank))
        return cls([b"".join(blocks)], [key for key, _ in keyed], [len(b) for b in blocks])

    @classmethod
    def of_triples(
        cls, triples: Iterable[OxTriple], *, feed: Callable[[StoreFeed], None] | None = None
    ) -> Section:
        """The section of a set of triples (``feed`` as for :meth:`of`)."""
        grouped: dict[Term, dict[ox.NamedNode, list[Term]]] = defaultdict(lambda: defaultdict(list))
        for s, p, o in triples:
            grouped[s][p].append(o)
        return cls.of(grouped, feed=feed)

    # -- patching --------------------------------------------------------------------------
    def patched(self, added: Iterable[OxTriple], removed: Iterable[OxTriple]) -> Section:
        """This section after adding and removing triples (blocks of other subjects untouched)."""
        change: dict[str, tuple[set[OxTriple], set[OxTriple]]] = {}
        for triple in added:
            change.setdefault(str(triple[0]), (set(), set()))[0].add(triple)
        for triple in removed:
            change.setdefault(str(triple[0]), (set(), set()))[1].add(triple)
        offsets = list(itertools.accumulate(self.sizes, initial=0))
        pieces: list[Part] = []
        keys: list[str] = []
        sizes: list[int] = []
        done = 0  # blocks before this position are copied
        same_keys = True  # no subject gained its first triple or lost its last
        for key in sorted(change):
            i = bisect.bisect_left(self.keys, key)
            there = i < len(self.keys) and self.keys[i] == key
            pieces += self._slice(offsets[done], offsets[i])
            keys += self.keys[done:i]
            sizes += self.sizes[done:i]
            done = i + 1 if there else i
            old = self._bytes(offsets[i], offsets[i + 1]) if there else b""
            plus, minus = change[key]
            block = _block((_parse(old) - minus) | plus)
            if block:
                pieces.append(block)
                keys.append(key)
                sizes.append(len(block))
            same_keys = same_keys and there == bool(block)
        pieces += self._slice(offsets[done], offsets[-1])
        keys += self.keys[done:]
        sizes += self.sizes[done:]
        return Section(pieces, keys, sizes, saved_keys=self.saved_keys and same_keys)

    # -- storing ---------------------------------------------------------------------------
    def save_index(self, folder: Path, name: str) -> None:
        """Keep the subjects (``name.keys``, one per line) and the block sizes (``name.sizes``,
        64-bit integers); the body is kept by the Turtle file itself."""
        for file, data in self.index_files(folder, name, complete=True).items():
            with atomic_file(file) as handle:
                handle.write(data)

    def index_files(self, folder: Path, name: str, *, complete: bool = False) -> dict[Path, bytes]:
        """What :meth:`save_index` writes, by file (for a caller that writes files itself);
        unless ``complete``, without the keys when they are there already (``saved_keys``: most
        edits add or remove no subject, and the keys of a million triples are megabytes)."""
        files = {folder / f"{name}.sizes": array.array("q", self.sizes).tobytes()}
        if complete or not self.saved_keys:
            files[folder / f"{name}.keys"] = "\n".join(self.keys).encode()
        return files

    @classmethod
    def load(
        cls, folder: Path, name: str, content: bytes | Path, start: int, *, stamp: Any = None
    ) -> Section:
        """The section kept by :meth:`save_index` whose body starts at ``start`` in ``content``:
        a Turtle file's bytes, or the file itself, which is then not read (its body is a
        :class:`FileSpan`; ``stamp``: the file's (size, modification time), which the caller
        has checked). :class:`DumpCacheError` when index and file do not fit together."""
        try:
            text = (folder / f"{name}.keys").read_bytes().decode()
            sizes = array.array("q")
            sizes.frombytes((folder / f"{name}.sizes").read_bytes())
        except (OSError, ValueError) as exc:
            raise DumpCacheError(f"{folder / name}: unreadable export cache ({exc})") from exc
        keys = text.split("\n") if text else []
        total = sum(sizes)
        size = len(content) if isinstance(content, bytes) else stamp[0]
        if len(keys) != len(sizes) or start + total > size or keys != sorted(keys):
            raise DumpCacheError(f"{folder / name}: the export cache does not match its index")
        if isinstance(content, bytes):
            part: Part = content[start : start + total]
        else:
            part = FileSpan(content, start, total, tuple(stamp))
        return cls([part], keys, sizes.tolist(), saved_keys=True)


def write(path: Path, sections: Iterable[Section]) -> None:
    """The header and the sections' bodies as one Turtle file, atomically."""
    with atomic_file(path) as handle:
        _write_to(handle, sections)


def stage(path: Path, sections: Iterable[Section]) -> Path:
    """:func:`write`'s file, but left beside ``path`` under a temporary name, synced, for the
    caller to move in place (``os.replace``) or remove."""
    with staged_file(path) as (handle, tmp):
        _write_to(handle, sections)
    return tmp


def _write_to(handle: BinaryIO, sections: Iterable[Section]) -> None:
    handle.write(header())
    for section in sections:
        for part in section.parts:
            if isinstance(part, bytes):
                handle.write(part)
            else:
                part.copy_to(handle)


# -- helpers ------------------------------------------------------------------------------------
def _parse(block: bytes) -> set[OxTriple]:
    if not block:
        return set()
    return {
        (q.subject, q.predicate, q.object)
        for q in ox.parse(header() + block, format=ox.RdfFormat.TURTLE)
    }


def _block(triples: set[OxTriple]) -> bytes:
    """One subject's block (empty when it has no triples)."""
    if not triples:
        return b""
    by_predicate: dict[ox.NamedNode, list[Term]] = defaultdict(list)
    for _, p, o in triples:
        by_predicate[p].append(o)
    subject = next(iter(triples))[0]
    return _Terms().block(str(subject), by_predicate).encode()
