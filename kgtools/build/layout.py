"""What ``dist/`` holds and how a reader finds it: the output file names, the format version
(:data:`LAYOUT`: a change forces a full build), the manifest ``build.json``
(:class:`BuildSummary`, :func:`read_manifest`), the name of a new store folder, and the digest of
the toolkit's own code that a build was made with (:func:`code_digest`: a build made by other
code is made again). Readers (``kg query``, ``export``, ``network``, ``docs``, ``serve``) import
this module, never the builder."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgtools.namespaces import ALL_GRAPHS
from kgtools.query.library import system_query_path

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
    #: :func:`code_digest` of the toolkit that made the build (an incremental build needs the
    #: same code: a cache written by other code is not trusted).
    code: str = ""
    reused: bool = False
    mode: str = "full"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def asserted_triples(self) -> int:
        return self.ontology_triples + self.data_triples


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


#: The lock file in the output folder; it holds the running build's pid.
LOCK_FILE = ".build.lock"


def new_store_name(out_dir: Path, expected: str) -> str:
    """A new store folder name: from the fingerprint (so ``build.json`` is reproducible), with a
    counter when a forced rebuild meets the folder of the same inputs."""
    name = f"store-{expected[:16]}"
    counter = 0
    while (out_dir / name).exists() or (out_dir / f".{name}.tmp").exists():
        counter += 1
        name = f"store-{expected[:16]}-{counter}"
    return name


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


@functools.cache
def code_digest() -> bytes:
    """A hash of the toolkit's own files (its code, queries and templates): a build made by
    other code — a new check, a changed writer — is not reused, even at the same version."""
    root = Path(__file__).resolve().parents[1]  # the kgtools package
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if path.is_file() and "__pycache__" not in parts and parts[0] != "_resources":
            digest.update("/".join(parts).encode() + b"\0" + path.read_bytes())
    return digest.digest()
