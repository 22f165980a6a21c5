"""``dist/cache/``: what an incremental build needs from the last build — a copy of each data
file as it was built (:class:`SourceCopy`, made on a thread during a full build), the triples
asserted by more than one file (``shared``), the validation results that are not violations
(``results.json``), and owlrl's closure of the ontology as lines of N-Triples (generalized triples
included: :func:`terms_bytes`). Every file is written through :class:`StagedFiles`, with the
build's other outputs."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools.build.inputs import relative_path
from kgtools.build.staging import StagedFiles
from kgtools.files import atomic_write_text
from kgtools.project import Project

if TYPE_CHECKING:
    from kgtools.engine.terms import OxTriple
    from kgtools.validation import ValidationResult


#: owlrl's closure holds generalized triples (a literal as subject), which no RDF syntax writes,
#: so the cache writes each term as the object of a line of N-Triples, three lines per triple.
_TERM_LINE = "<urn:kgtools:term> <urn:kgtools:is> "


def terms_bytes(triples: Iterable[OxTriple]) -> bytes:
    """``triples`` (generalized ones too) as sorted lines of N-Triples, one term per line."""
    lines = sorted(f"{s}\n{p}\n{o}" for s, p, o in triples)
    text = "".join(
        "".join(f"{_TERM_LINE}{term} .\n" for term in block.split("\n")) for block in lines
    )
    return text.encode("utf-8")


def parse_terms(data: bytes) -> list[OxTriple]:
    """The triples of :func:`terms_bytes`."""
    import pyoxigraph as ox

    terms = [q.object for q in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
    return [(terms[i], terms[i + 1], terms[i + 2]) for i in range(0, len(terms), 3)]


def read_terms(path: Path) -> list[OxTriple]:
    return parse_terms(path.read_bytes())


class SourceCopy:
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
                target = self._new / relative_path(self._project, path)
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


def stage_cache(
    turtle: StagedFiles,
    cache: Path,
    shared: dict[OxTriple, int],
    results: list[ValidationResult],
) -> None:
    """Have ``turtle`` write the caches with the outputs (in place when they are): the triples
    several files assert and the validation results."""
    turtle.put(cache / "shared.tsv", _shared_text(shared).encode("utf-8"))
    turtle.put(cache / "results.json", _results_text(results).encode("utf-8"))


def save_shared(cache: Path, shared: dict[OxTriple, int]) -> None:
    atomic_write_text(cache / "shared.tsv", _shared_text(shared))


def _shared_text(shared: dict[OxTriple, int]) -> str:
    lines = sorted(f"{s} {p} {o}\t{n}" for (s, p, o), n in shared.items())
    return "".join(line + "\n" for line in lines)


def load_shared(cache: Path) -> dict[OxTriple, int]:
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
        return str(from_rdflib(term))  # read back by load_results with Oxigraph's parser

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


def load_results(cache: Path) -> list[ValidationResult]:
    import pyoxigraph as ox
    from rdflib import URIRef

    from kgtools.engine.terms import to_rdflib
    from kgtools.validation import ValidationResult

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
