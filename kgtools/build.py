"""Build stage: load → validate → reason → write ``dist/``; reuse the last build if nothing changed.

``dist/`` after a build:

* ``asserted.ttl`` — ontology and data as asserted (canonical ``longturtle``, byte-stable);
* ``inferred.ttl`` — only the OWL RL entailments, cleaned of reflexive and axiomatic noise;
* ``graph.nq`` — the store: the three named graphs as sorted N-Quads;
* ``validation.txt`` — the SHACL report;
* ``network/`` — the default partner-network views (see :mod:`kgtools.network`);
* ``build.json`` — the manifest: input fingerprint, counts, verdict. Written last, so a build
  that stops half-way is never mistaken for a complete one.

A build whose data does not conform raises :class:`NonConformingDataError` and writes nothing,
so the previous ``dist/`` stays as it was.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef

from kgtools import __version__
from kgtools.errors import NonConformingDataError
from kgtools.load import load_files
from kgtools.namespaces import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH, TIP, bind_prefixes
from kgtools.project import Project
from kgtools.queries import load_query
from kgtools.reason import entailments
from kgtools.store import MemoryStore, atomic_write_text
from kgtools.validate import ValidationReport, validate

MANIFEST = "build.json"
OUTPUTS = ("asserted.ttl", "inferred.ttl", "graph.nq", "validation.txt")


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
    reused: bool = False

    @property
    def asserted_triples(self) -> int:
        return self.ontology_triples + self.data_triples


def input_files(project: Project) -> list[Path]:
    """Every file a build reads, in a stable order."""
    return [project.ontology, project.shapes, *project.data_files()]


def fingerprint(project: Project) -> str:
    """A hash of the toolkit version and every input file's relative path and bytes."""
    digest = hashlib.sha256(f"kgtools {__version__}\n".encode())
    for path in input_files(project):
        digest.update(str(path.relative_to(project.root)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _previous(out_dir: Path, expected: str) -> BuildSummary | None:
    manifest = out_dir / MANIFEST
    try:
        stored = json.loads(manifest.read_text(encoding="utf-8"))
        summary = BuildSummary(**stored)
    except (OSError, ValueError, TypeError):
        return None
    if summary.fingerprint != expected:
        return None
    if not all((out_dir / name).is_file() for name in [*OUTPUTS, *summary.outputs]):
        return None
    summary.reused = True
    return summary


def load_project(project: Project) -> tuple[Graph, Graph, Graph]:
    """Parse ontology, shapes and data (all problems reported together)."""
    ontology = Graph()
    shapes = Graph()
    data = Graph()
    load_files([project.ontology], ontology)
    load_files([project.shapes], shapes)
    load_files(project.data_files(), data)
    return ontology, shapes, data


def class_counts(store: MemoryStore) -> dict[str, int]:
    """Instances per ``tip:`` class over asserted and inferred triples."""
    query = load_query(_system_query("instances-per-class.rq"))
    rows = store.query(query.prepared, {"namespace": Literal(str(TIP))})
    qname = store.graph(ONTOLOGY_GRAPH).namespace_manager.normalizeUri
    counts: dict[str, int] = {}
    for row in rows:
        cls, count = row  # type: ignore[misc]
        counts[qname(cls)] = int(count)
    return counts


def _system_query(name: str) -> Path:
    """The toolkit's own queries ship inside the package, beside this module."""
    return Path(__file__).resolve().parent / "sparql" / name


def build(project: Project, out_dir: Path, *, force: bool = False) -> BuildSummary:
    """Run the whole pipeline for ``project`` and write ``out_dir``; see the module docstring."""
    expected = fingerprint(project)
    if not force:
        previous = _previous(out_dir, expected)
        if previous is not None:
            return previous

    ontology, shapes, data = load_project(project)
    report = validate(data, shapes, ontology)
    if not report.conforms:
        raise NonConformingDataError(report.text())

    store = MemoryStore()
    store.add(ONTOLOGY_GRAPH, ontology)
    store.add(DATA_GRAPH, data)
    asserted = store.union([ONTOLOGY_GRAPH, DATA_GRAPH])
    store.add(INFERRED_GRAPH, list(entailments(asserted)))

    summary = BuildSummary(
        fingerprint=expected,
        ontology_triples=store.count(ONTOLOGY_GRAPH),
        data_triples=store.count(DATA_GRAPH),
        inferred_triples=store.count(INFERRED_GRAPH),
        conforms=report.conforms,
        violations=0,
        instances=class_counts(store),
    )
    write_outputs(store, report, summary, out_dir, project)
    return summary


def serialize_turtle(graph: Graph) -> str:
    """Canonical Turtle (rdflib's ``longturtle``: sorted, stable prefixes)."""
    return bind_prefixes(graph).serialize(format="longturtle")


def write_outputs(
    store: MemoryStore,
    report: ValidationReport,
    summary: BuildSummary,
    out_dir: Path,
    project: Project,
) -> None:
    """Write the graph files, the default network views, then the manifest (last)."""
    from kgtools.network import write_default_views

    out_dir.mkdir(parents=True, exist_ok=True)
    asserted = Graph()
    for graph in (ONTOLOGY_GRAPH, DATA_GRAPH):
        for triple in store.graph(graph):
            asserted.add(triple)
    inferred = Graph()
    for triple in store.graph(INFERRED_GRAPH):
        inferred.add(triple)
    atomic_write_text(out_dir / "asserted.ttl", serialize_turtle(asserted))
    atomic_write_text(out_dir / "inferred.ttl", serialize_turtle(inferred))
    store.save(out_dir / "graph.nq")
    atomic_write_text(out_dir / "validation.txt", report.text())
    summary.outputs = [*OUTPUTS, *write_default_views(store, out_dir, project), MANIFEST]
    stored = asdict(summary)
    stored.pop("reused")
    atomic_write_text(
        out_dir / MANIFEST, json.dumps(stored, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    )


def open_built(project: Project, out_dir: Path) -> tuple[MemoryStore, BuildSummary]:
    """The built graph as a store: reuse ``out_dir`` when it is current, else build it first.

    This is what ``kg query``, ``kg export`` and ``kg network`` start from, so none of them
    rebuilds when the inputs have not changed.
    """
    summary = build(project, out_dir)
    return MemoryStore.open(out_dir / "graph.nq"), summary


#: The named graphs to read for asserted-only or asserted + inferred views.
ASSERTED_GRAPHS = (ONTOLOGY_GRAPH, DATA_GRAPH)
ALL_GRAPHS = (ONTOLOGY_GRAPH, DATA_GRAPH, INFERRED_GRAPH)


def graphs_for(*, inferred: bool) -> list[URIRef]:
    """Named graphs to read: with or without the entailments."""
    return list(ALL_GRAPHS if inferred else ASSERTED_GRAPHS)
