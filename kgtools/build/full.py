"""The full build: every input parsed into memory, the Turtle outputs written while the store
fills on a worker thread, then reasoning, validation, class counts, degree statistics and the
search index (made on the writer thread from the triples in memory), and everything moved in place
only when all of it succeeded (:func:`finish_build`, which the incremental build shares, with
:func:`build_ruleset` and :func:`conforming_report`). The stages and the order of ``dist/`` are
described in :mod:`kgtools.build.pipeline`."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools import search, usercache
from kgtools.build import layout
from kgtools.build.cache import SourceCopy, parse_terms, read_terms, stage_cache, terms_bytes
from kgtools.build.inputs import read_shapes, relative_path
from kgtools.build.layout import CACHE, MANIFEST, OUTPUTS, BuildSummary, new_store_name
from kgtools.build.staging import (
    StagedFiles,
    drop_old_stores,
    manifest_bytes,
    stage_indexes,
    stage_stamps,
)
from kgtools.build.stats import (
    DEGREE_CSV,
    class_counts_in_memory,
    draws_degree_csv,
    put_degree_cache,
)
from kgtools.errors import (
    NonConformingDataError,
)
from kgtools.files import atomic_write_bytes
from kgtools.namespaces import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from kgtools.progress import Progress
from kgtools.project import Project
from kgtools.store.oxigraph import BackgroundLoader, OxigraphStore

if TYPE_CHECKING:
    from rdflib import URIRef

    from kgtools.engine.terms import MemoryIndex, OxTriple
    from kgtools.validation import ValidationReport, ValidationResult


def full_build(
    project: Project, out_dir: Path, hashes: dict[str, str], expected: str, progress: Progress
) -> BuildSummary:
    from kgtools.build.turtle import Section
    from kgtools.engine import degree, shacl
    from kgtools.engine.terms import MemoryIndex, UnionSource
    from kgtools.load.fast import read_file, read_files
    from kgtools.load.schema import schema_terms

    with progress.stage("load"):
        ontology_key = relative_path(project, project.ontology)
        data_files = project.data_files()
        ontology = read_file(project.ontology, label_key=ontology_key)
        parsed = read_files(
            [(p, relative_path(project, p)) for p in data_files], schema=schema_terms(ontology)
        )
        shapes = read_shapes(project)
        data_index = MemoryIndex()
        counts: Counter[OxTriple] = Counter()
        for triples in parsed.values():
            for triple in set(triples):
                if not data_index.add(triple):
                    counts[triple] += 1
        shared = {t: n + 1 for t, n in counts.items()}
        del parsed, counts
        ontology_index = MemoryIndex(ontology)

    out_dir.mkdir(parents=True, exist_ok=True)
    store_name = new_store_name(out_dir, expected)
    work = out_dir / f".{store_name}.tmp"
    store = OxigraphStore(work)
    # The store fills on a worker thread, from the Turtle the exports are made of (Oxigraph
    # parses it natively, so RocksDB's work overlaps reasoning, validation and the network
    # statistics without taking the GIL). Nothing before the end reads the store: SHACL-SPARQL
    # constraints run on in-memory copies of the predicates they read
    # (shacl.store.SparqlStore.sparql).
    loader = BackgroundLoader(store)
    copy = SourceCopy(project, out_dir / CACHE, data_files)
    turtle = StagedFiles(out_dir)  # written on a worker thread while the build goes on
    try:
        with progress.stage("export"):
            sections = {
                name: Section.of(index.by_subject(), feed=functools.partial(loader.put, graph))
                for name, graph, index in (
                    ("ontology", ONTOLOGY_GRAPH, ontology_index),
                    ("data", DATA_GRAPH, data_index),
                )
            }
            turtle.put_turtle(out_dir, "asserted.ttl", sections)
        with progress.stage("reason"):
            ruleset = build_ruleset(out_dir, project, ontology_index, hashes)
            inferred = ruleset.entailment_list(data_index)  # only iterated: no set needed
        with progress.stage("export"):
            sections["inferred"] = Section.of_triples(
                inferred, feed=functools.partial(loader.put, INFERRED_GRAPH)
            )
            turtle.put_turtle(out_dir, "inferred.ttl", sections)
        with progress.stage("validate"):
            compiled = shacl.compile_triples(shapes)
            results = compiled.validate(data_index, ontology_index)
            report = conforming_report(results, data_index)
        summary = BuildSummary(
            fingerprint=expected,
            code=layout.code_digest().hex(),
            ontology_triples=len(ontology_index),
            data_triples=len(data_index),
            inferred_triples=len(inferred),
            conforms=True,
            violations=0,
            files=hashes,
            store=store_name,
        )
        with progress.stage("network"):
            summary.instances = class_counts_in_memory([ontology_index, data_index], inferred)
            union = UnionSource(
                [
                    ontology_index,
                    data_index,
                    MemoryIndex(t for t in inferred if t[1] in degree.PREDICATES),
                ]
            )
            links = degree.table(union, degree.municipalities(union))
            degree_csv = degree.csv_bytes(links) if draws_degree_csv(summary) else None
            index_seconds: list[tuple[float, float]] = []
            turtle.put_edited(
                search.index_path(out_dir, store_name),
                functools.partial(
                    search_index, ontology_index, data_index, inferred, index_seconds
                ),
            )
            turtle.remove_at_end(
                search.stale_indexes(out_dir, search.index_path(out_dir, store_name))
            )
        del inferred, union
        with progress.stage("store"):
            loader.close()
            loader.wait()
        with progress.stage("cache"):
            put_degree_cache(turtle, out_dir, degree.Cache.of(links, degree_csv).to_bytes())
            stage_indexes(turtle, out_dir, sections)
            copy.wait()  # (a copy that failed fails the build before anything is in place)
            stage_cache(turtle, out_dir / CACHE, shared, results)
        finish_build(project, out_dir, store, work, summary, report, degree_csv, progress, turtle)
        with progress.stage("cache"):
            copy.finish()
        turtle.commit_last()  # the manifest: this build is the current one
    except BaseException:
        loader.close(cancel=True)
        copy.cancel()
        turtle.abort()
        store.close()
        raise
    drop_old_stores(out_dir, keep=store_name)
    # (the index is made on the writer thread, inside the stages above: its own seconds, apart)
    summary.timings = {
        **progress.timings,
        SEARCH_INDEX_TIMING: sum(wall for wall, _ in index_seconds),
        SEARCH_INDEX_CPU: sum(cpu for _, cpu in index_seconds),
    }
    return summary


#: The key of :attr:`BuildSummary.timings` that holds the seconds the search index took to make
#: (on the writer thread, while the stages ran; not a stage of its own).
SEARCH_INDEX_TIMING = "search index"
#: The key of :attr:`BuildSummary.timings` that holds the writer thread's CPU seconds for the
#: search index (its wall time above includes waits for the interpreter lock, which the stages
#: running beside it hold).
SEARCH_INDEX_CPU = "search index CPU"


def search_index(
    ontology: MemoryIndex,
    data: MemoryIndex,
    inferred: list[OxTriple],
    seconds: list[tuple[float, float]],
    path: Path,
) -> bool:
    """Write the search index (:mod:`kgtools.search`) into ``path``, made from the triples in
    memory: the asserted ones and the inferred ones (grouped by predicate); the seconds it took
    (wall, and the thread's CPU) are appended to ``seconds``."""
    import time

    from kgtools.engine.terms import collector_paused

    start, cpu = time.perf_counter(), time.thread_time()
    # The collector stays off until the job's millions of tuples are freed (see
    # collector_paused): on again any earlier, its next pass would walk them all (~0.5 s at 1M).
    with collector_paused():
        extra = search.ByPredicate(inferred)
        search.write_index(search.texts_from([ontology, data, extra], data), path)
        del extra
    seconds.append((time.perf_counter() - start, time.thread_time() - cpu))
    return True


def build_ruleset(
    out_dir: Path, project: Project, ontology: Iterable[OxTriple], hashes: dict[str, str]
) -> Any:
    """The compiled rules, with owlrl's closure of the ontology cached by the ontology's hash in
    ``out_dir/cache/``, and in the per-user cache (:mod:`kgtools.usercache`) by the ontology's
    triples, the toolkit's code and the reasoning libraries' versions, so that a build into a
    fresh folder does not run owlrl again either."""

    from kgtools.engine import rules

    ontology = list(ontology)
    cached = out_dir / CACHE / f"tbox-{hashes[relative_path(project, project.ontology)][:16]}.nt"
    if cached.is_file():
        return rules.compile(ontology, tbox=read_terms(cached))
    entry = usercache.key(
        "tbox", terms_bytes(ontology), usercache.versions("owlrl", "rdflib", "pyoxigraph")
    )
    text = usercache.cached("tbox", entry, lambda: terms_bytes(rules.tbox_closure(ontology)))
    closure = parse_terms(text)
    for old in cached.parent.glob("tbox-*.nt"):
        old.unlink()
    cached.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(cached, text)
    return rules.compile(ontology, tbox=closure)


def ox_graph(graph: URIRef) -> Any:
    from kgtools.store.oxigraph import named

    return named(graph)


def conforming_report(results: list[ValidationResult], data: Any) -> ValidationReport:
    """A :class:`ValidationReport` with the focus nodes' labels (Japanese first); a report that
    does not conform raises :class:`NonConformingDataError` with its text (nothing is written)."""
    from rdflib import Graph

    from kgtools.engine.shacl import label_in
    from kgtools.namespaces import bind_prefixes
    from kgtools.validation import ValidationReport, focus_labels

    labels = focus_labels(results, functools.partial(label_in, data))
    report = ValidationReport(results=sorted(results), labels=labels, graph=bind_prefixes(Graph()))
    if not report.conforms:
        raise NonConformingDataError(report.text())
    return report


def finish_build(
    project: Project,
    out_dir: Path,
    store: OxigraphStore,
    work: Path,
    summary: BuildSummary,
    report: ValidationReport,
    degree_csv: bytes | None,
    progress: Progress,
    turtle: StagedFiles,
) -> None:
    """Put the Turtle files (staged by ``turtle``), the report and the network views, or the
    degree statistics when there are too many municipalities to draw (``degree_csv``: the
    CSV's bytes, ``None`` when the file is current), in place; close the finished store and
    move it in place."""
    from kgtools import network

    with progress.stage("export"):
        store.flush()
        turtle.put(out_dir / "validation.txt", report.text().encode())
    with progress.stage("network"):
        if draws_degree_csv(summary):
            if degree_csv is not None:
                turtle.put(out_dir / DEGREE_CSV, degree_csv)
            views = [DEGREE_CSV]
        else:
            files = network.default_views(store, project)
            for name, content in files.items():
                turtle.put(out_dir / name, content)
            views = list(files)
            stale = [
                p
                for p in network.view_files(out_dir)
                if p.relative_to(out_dir).as_posix() not in files
            ]
            turtle.remove_at_end(stale)
    summary.outputs = [*OUTPUTS, *views, MANIFEST]
    with progress.stage("export"):
        # Every byte is written and synced before anything is moved in place, so a full disk
        # or an interruption up to here leaves the last build as it was; then only renames.
        turtle.prepare()  # waits for the worker
        stage_stamps(turtle, out_dir)
        turtle.put_last(out_dir / MANIFEST, manifest_bytes(summary))
        turtle.commit()
    store.close()
    work.rename(out_dir / summary.store)
