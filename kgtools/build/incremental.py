"""The incremental build: when only data files changed, the last build's store is copied and
patched instead of made again. The changed files' old triples (read from their copies in
``cache/sources/``) and new ones give the added and removed asserted triples (a triple that
another file also asserts stays: ``cache/shared.tsv``); the rules update the entailments from
them (:meth:`~kgtools.engine.rules.ruleset.RuleSet.update`, which refuses a change it cannot
maintain: then :class:`~kgtools.build.staging.FullBuildNeeded` makes the pipeline run a full
build); the Turtle files are patched by subject block; only the focus nodes the change can reach
are validated again (:func:`_affected`); class counts, degree statistics and the search index
(:mod:`kgtools.build.search_patch`) are patched. The result equals a full build of the same inputs
(``tests/test_build_integrity.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools import search
from kgtools.build import layout
from kgtools.build.cache import load_results, load_shared, stage_cache
from kgtools.build.full import build_ruleset, conforming_report, finish_build, ox_graph
from kgtools.build.inputs import read_shapes, relative_path
from kgtools.build.layout import CACHE, BuildSummary, new_store_name
from kgtools.build.staging import (
    FullBuildNeeded,
    StagedFiles,
    drop_old_stores,
    patch_turtle,
    stage_indexes,
)
from kgtools.build.stats import (
    class_counts_after,
    degree_statistics,
    draws_degree_csv,
    put_degree_cache,
)
from kgtools.engine.vocab import RDF_TYPE
from kgtools.errors import (
    IncrementalUpdateError,
    InputError,
    LoadErrors,
)
from kgtools.namespaces import ALL_GRAPHS, DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from kgtools.progress import Progress
from kgtools.project import Project
from kgtools.store.oxigraph import OxigraphStore

if TYPE_CHECKING:
    from kgtools.engine.terms import OxTriple, Term


class _After:
    """The asserted triples after a change: the store's, minus removed, plus added."""

    def __init__(self, before: Any, added: set[OxTriple], removed: set[OxTriple]) -> None:
        self._before = before
        self._added = added
        self._removed = removed

    def match(self, s: Any = None, p: Any = None, o: Any = None) -> Iterable[OxTriple]:
        for triple in self._before.match(s, p, o):
            if triple not in self._removed:
                yield triple
        for triple in self._added:
            if (
                (s is None or triple[0] == s)
                and (p is None or triple[1] == p)
                and (o is None or triple[2] == o)
                and triple not in self._removed
            ):
                yield triple

    def __contains__(self, triple: object) -> bool:
        if triple in self._added:
            return True
        return triple not in self._removed and triple in self._before


def incremental_build(
    project: Project,
    out_dir: Path,
    previous: BuildSummary,
    hashes: dict[str, str],
    expected: str,
    progress: Progress,
) -> BuildSummary:
    import pyoxigraph as ox

    from kgtools.engine import shacl
    from kgtools.engine.terms import StoreSource, from_rdflib
    from kgtools.load.fast import read_file
    from kgtools.load.schema import schema_terms

    cache = out_dir / CACHE
    current = set(hashes) - {
        relative_path(project, project.ontology),
        relative_path(project, project.shapes),
    }
    before = set(previous.files) - {
        relative_path(project, project.ontology),
        relative_path(project, project.shapes),
    }
    changed = sorted(
        name for name in current | before if previous.files.get(name) != hashes.get(name)
    )
    with progress.stage("load"):
        ontology = read_file(project.ontology, label_key=relative_path(project, project.ontology))
        schema = schema_terms(ontology)
        old_triples: dict[str, set[OxTriple]] = {}
        new_triples: dict[str, set[OxTriple]] = {}
        errors: list[InputError] = []
        for name in changed:
            live = project.root / name
            try:
                new_triples[name] = (
                    set(read_file(live, label_key=name, schema=schema))
                    if name in current
                    else set()
                )
            except InputError as exc:
                errors.append(exc)
            # The copy is read as the file was then (the same label key for its blank nodes;
            # no base IRI, as a relative IRI is refused), so that it gives back the triples the
            # last build asserted, and a diff against them removes what changed.
            old_copy = cache / "sources" / name
            old_triples[name] = (
                set(read_file(old_copy, label_key=name)) if name in before else set()
            )
        if errors:
            raise errors[0] if len(errors) == 1 else LoadErrors(errors)
        shapes = read_shapes(project)

    store_name = new_store_name(out_dir, expected)
    work = out_dir / f".{store_name}.tmp"
    old_store = ox.Store.read_only(str(out_dir / previous.store))  # (also read: network stage)
    old_store.backup(str(work))
    store = OxigraphStore(work)
    # The Turtle files are patched as soon as their triples are known and written on a worker
    # thread while the build goes on (a build that fails removes them); a file none of whose
    # triples changed is kept as it is.
    turtle = StagedFiles(out_dir)
    try:
        with progress.stage("diff"):
            shared = load_shared(cache)
            data_now = StoreSource(store.ox, [ox_graph(DATA_GRAPH)])
            added: set[OxTriple] = set()
            removed: set[OxTriple] = set()
            for name in changed:
                for triple in old_triples[name] - new_triples[name]:
                    count = shared.get(triple, 1)
                    if count > 1:
                        shared[triple] = count - 1
                        if count - 1 == 1:
                            del shared[triple]
                    else:
                        removed.add(triple)
                for triple in new_triples[name] - old_triples[name]:
                    if triple in removed:
                        removed.discard(triple)
                    elif triple in data_now or triple in added:
                        shared[triple] = shared.get(triple, 1) + 1
                    else:
                        added.add(triple)
        with progress.stage("export"):
            sections = patch_turtle(
                turtle, out_dir, "asserted.ttl" if added or removed else None, added, removed
            )
        with progress.stage("reason"):
            ruleset = build_ruleset(out_dir, project, ontology, hashes)
            graphs_before = StoreSource(
                store.ox, [ox_graph(ONTOLOGY_GRAPH), ox_graph(DATA_GRAPH), ox_graph(INFERRED_GRAPH)]
            )
            asserted_after = _After(
                StoreSource(store.ox, [ox_graph(ONTOLOGY_GRAPH), ox_graph(DATA_GRAPH)]),
                added,
                removed,
            )
            try:
                plus, minus = ruleset.update(graphs_before, asserted_after, added, removed)
            except IncrementalUpdateError as exc:  # a change the rules cannot maintain
                raise FullBuildNeeded(str(exc)) from None
            store.remove_ox(DATA_GRAPH, removed)
            store.add_ox(DATA_GRAPH, added)
            store.remove_ox(INFERRED_GRAPH, minus)
            store.add_ox(INFERRED_GRAPH, plus)
        with progress.stage("export"):
            if plus or minus:
                sections.update(patch_turtle(turtle, out_dir, "inferred.ttl", plus, minus))
        with progress.stage("validate"):
            data_after = StoreSource(store.ox, [ox_graph(DATA_GRAPH)])
            focus = _affected(data_after, old_triples, new_triples)
            compiled = shacl.compile_triples(shapes)
            fresh = compiled.validate(
                data_after,
                StoreSource(store.ox, [ox_graph(ONTOLOGY_GRAPH)]),
                focus=focus,
                sparql_store=store.ox,
                sparql_graphs=[ox_graph(ONTOLOGY_GRAPH), ox_graph(DATA_GRAPH)],
            )
            kept = [r for r in load_results(cache) if from_rdflib(r.focus) not in focus]
            results = kept + fresh
            report = conforming_report(results, data_after)
        summary = BuildSummary(
            fingerprint=expected,
            code=layout.code_digest().hex(),
            ontology_triples=previous.ontology_triples,
            data_triples=previous.data_triples + len(added) - len(removed),
            inferred_triples=previous.inferred_triples + len(plus) - len(minus),
            conforms=True,
            violations=0,
            files=hashes,
            store=store_name,
            mode="incremental",
        )
        with progress.stage("network"):
            delta = added | removed | plus | minus
            all_before = StoreSource(old_store, [ox_graph(g) for g in ALL_GRAPHS])
            all_after = StoreSource(store.ox, [ox_graph(g) for g in ALL_GRAPHS])
            summary.instances = class_counts_after(previous.instances, all_before, all_after, delta)
            degree_csv, degree_cache = degree_statistics(
                out_dir, all_before, all_after, delta, draws_degree_csv(summary)
            )
        with progress.stage("search"):
            new_index = search.index_path(out_dir, store_name)
            _patch_search_index(
                turtle,
                search.index_path(out_dir, previous.store),
                new_index,
                delta,
                old_store,
                store,
            )
        # Nothing may read the store past this point: finish_build closes it (the last handle)
        # before it moves the folder.
        del all_before, all_after, data_now, graphs_before, asserted_after, data_after, old_store
        with progress.stage("cache"):
            if degree_cache is not None:
                put_degree_cache(turtle, out_dir, degree_cache)
            stage_indexes(turtle, out_dir, sections)
            # the new copies of the changed files and the caches, in place with the outputs
            sources = cache / "sources"
            for name in changed:
                if name in current:
                    turtle.put(sources / name, (project.root / name).read_bytes())
            stage_cache(turtle, cache, shared, results)
            # The last build's search index is of the old store: removed (the new store's is
            # patched from it, or made on the first search).
            turtle.remove_at_end(search.stale_indexes(out_dir, new_index))
        finish_build(project, out_dir, store, work, summary, report, degree_csv, progress, turtle)
        with progress.stage("cache"):
            for name in set(changed) - current:
                (sources / name).unlink(missing_ok=True)
        turtle.commit_last()  # the manifest: this build is the current one
    except BaseException:
        turtle.abort()
        store.close()
        raise
    drop_old_stores(out_dir, keep=store_name)
    summary.timings = dict(progress.timings)
    return summary


def _patch_search_index(
    turtle: StagedFiles,
    old_index: Path,
    new_index: Path,
    delta: set[OxTriple],
    old_store: Any,
    store: OxigraphStore,
) -> None:
    """Have ``turtle`` write the new store's search index: the last build's (``old_index``)
    patched with the rows ``delta`` (every triple added or removed) reaches, worked out here
    from the old and new stores and applied on the writer thread
    (:mod:`kgtools.build.search_patch`). When there is no index to patch, or the change is one
    a patch cannot follow, none is written: the first search makes it from the store."""
    from kgtools.build import search_patch
    from kgtools.engine.terms import StoreSource

    if not old_index.is_file():
        return
    graphs = [ox_graph(g) for g in (ONTOLOGY_GRAPH, DATA_GRAPH, INFERRED_GRAPH)]
    patch = search_patch.plan(
        delta,
        [StoreSource(old_store, graphs)],
        StoreSource(old_store, [ox_graph(DATA_GRAPH)]),
        [StoreSource(store.ox, graphs)],
        StoreSource(store.ox, [ox_graph(DATA_GRAPH)]),
    )
    if patch is not None:
        turtle.put_edited(new_index, search_patch.patched(old_index, patch))


def _affected(data: Any, old: dict[str, set[OxTriple]], new: dict[str, set[OxTriple]]) -> set[Term]:
    """Focus nodes whose validation may change: every node a changed file describes (subjects
    of its old and new triples) and their neighbours one edge away, both ways, in the data
    after the change. A plan file describes its plan and everything under it, so the checks
    that look across nodes (ordinals under a heading, periods against fiscal years, class of a
    linked node) are all re-run."""
    import pyoxigraph as ox

    described: set[Term] = set()
    for triples in (*old.values(), *new.values()):
        described.update(s for s, _, _ in triples)
    focus = set(described)
    rdf_type = RDF_TYPE
    for node in described:
        for _, p, o in data.match(node, None, None):
            if p != rdf_type and not isinstance(o, ox.Literal):
                focus.add(o)
        for s, _, _ in data.match(None, None, node):
            focus.add(s)
    return focus
