"""``kg bench``: the naive pipeline and the project's, side by side, on the same synthetic data.

One run generates a synthetic project (:mod:`kgtools.devtools.synth`) of about N triples, then runs,
each in its own child process so that one's memory does not count against the other:

* **naive** — the reference libraries used as their documentation shows: rdflib ``Graph.parse``,
  ``owlrl.DeductiveClosure(OWLRL_Semantics).expand``, ``pyshacl.validate``, rdflib's Turtle
  serializer, the query library on the rdflib graph, networkx on the partner links;
* **project** — ``kg build --force`` (Oxigraph store, compiled rules, compiled shapes), the query
  library on the built store, then an incremental rebuild after one plan file changes.

Per stage it records wall time and peak RSS (Linux: the stage's own peak, by resetting the
high-water mark through ``/proc/self/clear_refs``; elsewhere the process peak so far) and prints
them with the naive/project ratio, then the competency queries (the project's: median of
:data:`QUERY_RUNS` when the first run takes under 5 s; rdflib's: one run; any run is stopped
at :data:`QUERY_LIMIT`), then one last
line::

    speedup: X× vs naive at N triples; build S s; peak RSS M MiB

Times are compared as ratios measured in the same run, because absolute times on a shared
machine are noisy. ``--skip-naive`` leaves the naive side out for sizes where it would take too
long; ``--json`` writes every figure.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgtools.namespaces import TIP

#: The stages of a full build, in the order both pipelines run them.
STAGES = ("load", "reason", "validate", "export", "network")
#: The links of the bipartite network view (queries/network/links.rq).
LINK_PREDICATES = ("collaboratesWith", "involvesPartnerKind", "facility", "programme", "theme")
#: How many times each query runs on the project's store; the median is reported.
QUERY_RUNS = 3


def _peak_kib() -> int:
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_seconds() -> float:
    """This process's CPU seconds so far (user and system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _reset_peak() -> None:
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Recorder:
    """Wall time and peak RSS per stage of one pipeline."""

    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        _reset_peak()
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        entry = self.stages.setdefault(name, {"seconds": 0.0, "peak_mib": 0.0})
        entry["seconds"] += elapsed
        entry["peak_mib"] = max(entry["peak_mib"], _peak_kib() / 1024)


def _median_ms(run: Callable[[], Any]) -> float:
    times = []
    for _ in range(QUERY_RUNS):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


#: rdflib joins with nested loops: at 100k triples a competency query can take minutes. A query
#: runs first in a forked child stopped at this limit (then reported as the limit).
QUERY_LIMIT = 60.0
#: A query slower than this (ms) on its first run is reported by that run, not a median.
MEDIAN_BELOW_MS = 5000.0


def _capped_ms(target: Callable[[], Any]) -> float:
    """Wall time of one run of ``target`` in a forked child, stopped at :data:`QUERY_LIMIT`."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        start = time.perf_counter()
        target()
        return (time.perf_counter() - start) * 1000
    process = multiprocessing.get_context("fork").Process(target=target)
    start = time.perf_counter()
    process.start()
    process.join(QUERY_LIMIT)
    elapsed = time.perf_counter() - start
    if process.is_alive():
        process.kill()
        process.join()
        return QUERY_LIMIT * 1000
    return elapsed * 1000


def _naive_query_ms(graph: Any, text: str) -> float:
    """One run of an rdflib query (they are slow enough that one run is the figure)."""

    def target() -> None:
        list(graph.query(text))

    return _capped_ms(target)


def _cq_queries(project_root: Path) -> list[tuple[str, Any]]:
    """The competency queries that run without a value from the user, by name: those whose
    parameters are all optional, and the aliases that fix the others (``fy2023`` is
    ``fiscal-year -p fy=2023``, so the fixed query's figure goes on)."""
    from kgtools.query.library import QueryLibrary

    library = QueryLibrary(project_root / "queries")
    found = []
    for name in sorted([*library.names(), *library.aliases()]):
        query = library.get(name)
        if name.startswith("cq/") and set(query.parameters) <= (
            query.optional | query.languages | set(query.preset)
        ):
            found.append((name.removeprefix("cq/"), query))
    return found


def _bound_text(query: Any) -> str:
    """The query's text as ``kg query`` sends it: its ``?lang`` bound (to the default language)
    and an alias's fixed values, by the ``VALUES`` block the tool adds, so the timing includes
    that binding."""
    from kgtools.query.params import bound_params
    from kgtools.store.sparql_text import bind_text

    return str(bind_text(query.text, bound_params(query, {})))


# -- the naive pipeline ---------------------------------------------------------------------
def run_naive(root: Path) -> dict[str, Any]:
    """The reference libraries as their docs show them, stage by stage."""
    import networkx as nx
    import owlrl
    import pyshacl
    from rdflib import Graph

    from kgtools.project import Project

    project = Project(root)
    rec = Recorder()
    with rec.stage("load"):
        ontology = Graph().parse(project.ontology)
        shapes = Graph().parse(project.shapes)
        data = Graph()
        for path in project.data_files():
            data.parse(path)
        graph = Graph()
        for triple in ontology:
            graph.add(triple)
        for triple in data:
            graph.add(triple)
    asserted = len(graph)
    with rec.stage("validate"):
        conforms, _report, _text = pyshacl.validate(
            data, shacl_graph=shapes, ont_graph=ontology, inference="none"
        )
    with rec.stage("reason"):
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(graph)
    with rec.stage("export"):
        turtle = graph.serialize(format="turtle")
    with rec.stage("network"):
        # the bipartite view from triple patterns (rdflib's SPARQL joins take hours here):
        # municipality — what its plans and their initiatives link to
        municipality_of = {
            plan: municipality
            for plan, _, municipality in graph.triples((None, TIP.municipality, None))
        }
        plan_of = dict(
            (initiative, plan)
            for initiative, _, plan in graph.triples((None, TIP.partOfPlan, None))
        )
        network = nx.Graph()
        for name in LINK_PREDICATES:
            for subject, _, target in graph.triples((None, TIP[name], None)):
                plan = plan_of.get(subject, subject)
                if plan in municipality_of:
                    network.add_edge(str(municipality_of[plan]), str(target))
        centrality = nx.degree_centrality(network)
    queries = {}
    for name, query in _cq_queries(root):
        queries[name] = _naive_query_ms(graph, _bound_text(query))
    return {
        "stages": rec.stages,
        "queries_ms": queries,
        "asserted": asserted,
        "closure": len(graph),
        "conforms": bool(conforms),
        "turtle_bytes": len(turtle.encode("utf-8")),
        "network_nodes": len(centrality),
    }


# -- the project's pipeline -----------------------------------------------------------------
class _StageProgress:
    """A :class:`kgtools.progress.Progress` that also records each stage's peak RSS."""

    def __init__(self, recorder: Recorder) -> None:
        from kgtools.progress import Progress

        self._inner = Progress()
        self._recorder = recorder
        self.timings = self._inner.timings

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        with self._recorder.stage(name), self._inner.stage(name):
            yield

    def count(self, done: int, total: int, what: str = "files") -> None:
        self._inner.count(done, total, what)


def _edit_one_plan(root: Path) -> Path:
    """Change one plan's English label text (a real change that still conforms)."""
    plans = sorted((root / "data" / "plans").glob("*.ttl"))
    target = plans[len(plans) // 2]
    text = target.read_text(encoding="utf-8")
    index = text.index('"@en')
    target.write_text(text[:index] + ' (revised)"@en' + text[index + 4 :], encoding="utf-8")
    return target


def run_project(root: Path, out: Path) -> dict[str, Any]:
    """``kg build --force``, the query library on the store, then one incremental rebuild."""
    from kgtools.build.pipeline import build, open_built
    from kgtools.engine import shacl
    from kgtools.namespaces import ALL_GRAPHS
    from kgtools.project import Project
    from kgtools.store.oxigraph import named

    project = Project(root)
    rec = Recorder()
    cpu = _cpu_seconds()
    summary = build(project, out, force=True, progress=_StageProgress(rec))  # type: ignore[arg-type]
    cpu = _cpu_seconds() - cpu
    store, _ = open_built(project, out)
    graphs = [named(g) for g in ALL_GRAPHS]
    queries = {}
    for name, query in _cq_queries(root):
        text = _bound_text(query)

        def project_query(text: str = text) -> None:
            list(store.ox.query(text, default_graph=graphs))  # type: ignore[arg-type]

        first = _capped_ms(project_query)
        queries[name] = _median_ms(project_query) if first < MEDIAN_BELOW_MS else first
    store.close()
    search = _search_figures(root, out, summary.store, rec.stages, summary.timings, cpu)
    edited = _edit_one_plan(root)
    # timed as `kg build` in a new process would run it: without the shapes compiled above
    shacl.forget_compiled()
    start = time.perf_counter()
    again = build(project, out)
    incremental = time.perf_counter() - start
    return {
        "stages": rec.stages,
        "queries_ms": queries,
        "asserted": summary.asserted_triples,
        "inferred": summary.inferred_triples,
        "incremental": {
            "seconds": incremental,
            "mode": again.mode,
            "file": edited.relative_to(root).as_posix(),
            "search_seconds": _time_index(out, again.store),
        },
        "search": search,
    }


#: Searches timed by the bench: Latin, full-width, Japanese, kana, two words, no hit.
SEARCHES = ("Synthetic", "ＳＤＧｓ", "合成市", "きゃっしゅれす", "産業 支援", "EC")


def _time_index(out: Path, store_name: str) -> float:
    """Seconds to make the search index of the build whose store is ``store_name`` (what the
    first search after that build pays)."""
    from kgtools.search import index_for

    start = time.perf_counter()
    index_for(out, store_name)
    return time.perf_counter() - start


def _search_figures(
    root: Path,
    out: Path,
    store_name: str,
    stages: dict[str, dict[str, float]],
    timings: dict[str, float],
    build_cpu: float,
) -> dict[str, float]:
    """The search index's making time (by the full build, on its writer thread: ``timings``;
    else on the first search) and its share of the build's time (wall: of the stages' seconds;
    CPU: the writer thread's for the index, of the build process's ``build_cpu``), the median
    search on an open index (what a warm `kg serve` does), and the median of a whole `kg search`
    process once the index is there."""
    import functools
    import statistics
    import subprocess
    import sys

    from kgtools.build.full import SEARCH_INDEX_CPU, SEARCH_INDEX_TIMING
    from kgtools.search import SearchIndex, index_for

    built = timings.get(SEARCH_INDEX_TIMING) or _time_index(out, store_name)
    index = SearchIndex(index_for(out, store_name))
    warm = statistics.median(_median_ms(functools.partial(index.search, q)) for q in SEARCHES)
    index.close()
    command = [sys.executable, "-m", "kgtools", "--project", str(root), "search", "--out-dir"]
    runs = []
    for query in SEARCHES[:3]:
        start = time.perf_counter()
        subprocess.run([*command, str(out), query], check=True, capture_output=True)
        runs.append(time.perf_counter() - start)
    total = sum(entry["seconds"] for entry in stages.values())
    index_cpu = timings.get(SEARCH_INDEX_CPU, 0.0)
    return {
        "index_seconds": built,
        "index_share": built / total if total else 0.0,
        "index_cpu_seconds": index_cpu,
        "index_cpu_share": index_cpu / build_cpu if build_cpu else 0.0,
        "warm_median_ms": warm,
        "process_median_s": statistics.median(runs),
    }


# -- the side-by-side run -------------------------------------------------------------------
def _child(kind: str, *args: str) -> dict[str, Any]:
    """Run one pipeline in a fresh interpreter and return its figures."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    try:
        subprocess.run(
            [sys.executable, "-m", "kgtools.devtools.bench", kind, *args, str(result_path)],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        figures: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        return figures
    finally:
        result_path.unlink(missing_ok=True)


def _total(stages: dict[str, dict[str, float]]) -> float:
    return sum(stages[name]["seconds"] for name in STAGES if name in stages)


def _peak(stages: dict[str, dict[str, float]]) -> float:
    return max((entry["peak_mib"] for entry in stages.values()), default=0.0)


def _project_stages(stages: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The project's stages mapped onto :data:`STAGES` (its load includes filling the store)."""
    merged: dict[str, dict[str, float]] = {}
    for name, entry in stages.items():
        key = "load" if name == "store" else name
        if key not in STAGES:
            key = "export"  # the incremental cache is written with the exports
        target = merged.setdefault(key, {"seconds": 0.0, "peak_mib": 0.0})
        target["seconds"] += entry["seconds"]
        target["peak_mib"] = max(target["peak_mib"], entry["peak_mib"])
    return merged


def bench(
    triples: int,
    *,
    seed: int = 0,
    skip_naive: bool = False,
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate ~``triples`` triples, run both pipelines, print the table; return the figures."""
    from kgtools.devtools.synth import generate, spec_for_triples
    from kgtools.progress import Progress
    from kgtools.project import find_project

    owned = workdir is None
    base = Path(tempfile.mkdtemp(prefix="kg-bench-")) if workdir is None else workdir
    root = base / "project"
    progress = Progress()
    spec = spec_for_triples(triples, seed=seed)
    with progress.stage(f"synth ~{triples:,} triples"):
        made = generate(
            spec,
            root,
            source_project=find_project(),
            progress=lambda done, total: progress.count(done, total, "plan files"),
        )
    results: dict[str, Any] = {
        "triples_target": triples,
        "data_triples": made.triples,
        "municipalities": spec.municipalities,
        "rounds": spec.rounds,
        "seed": seed,
    }
    if not skip_naive:
        with progress.stage("naive pipeline"):
            results["naive"] = _child("naive", str(root))
    with progress.stage("project pipeline"):
        results["project"] = _child("project", str(root), str(base / "dist"))
    if owned:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    for line in report_lines(results):
        echo(line)
    return results


def report_lines(results: dict[str, Any]) -> list[str]:
    """The printed table and the last summary line."""
    project = results["project"]
    naive = results.get("naive")
    ours = _project_stages(project["stages"])
    theirs = naive["stages"] if naive else {}
    lines = [
        f"kg bench: {results['data_triples']:,} data triples "
        f"({results['municipalities']:,} municipalities × {results['rounds']} rounds), "
        f"{project['asserted']:,} asserted + {project['inferred']:,} inferred",
        "",
        f"{'stage':<10} {'naive s':>10} {'naive MiB':>10} {'project s':>10} "
        f"{'project MiB':>11} {'ratio':>8}",
    ]

    def row(name: str, ours_s: float, ours_m: float, theirs_e: dict[str, float] | None) -> str:
        if theirs_e is None:
            return f"{name:<10} {'—':>10} {'—':>10} {ours_s:>10.2f} {ours_m:>11.0f} {'—':>8}"
        ratio = theirs_e["seconds"] / ours_s if ours_s > 0 else float("inf")
        return (
            f"{name:<10} {theirs_e['seconds']:>10.2f} {theirs_e['peak_mib']:>10.0f} "
            f"{ours_s:>10.2f} {ours_m:>11.0f} {ratio:>7.1f}×"
        )

    for name in STAGES:
        entry = ours.get(name, {"seconds": 0.0, "peak_mib": 0.0})
        lines.append(row(name, entry["seconds"], entry["peak_mib"], theirs.get(name)))
    build_s = _total(ours)
    peak = _peak(ours)
    total_theirs = {"seconds": _total(theirs), "peak_mib": _peak(theirs)} if naive else None
    lines.append(row("total", build_s, peak, total_theirs))
    lines += ["", f"{'query':<28} {'naive ms':>10} {'project ms':>11} {'ratio':>8}"]
    for name, ms in sorted(project["queries_ms"].items()):
        if naive and name in naive["queries_ms"]:
            theirs_ms = naive["queries_ms"][name]
            lines.append(f"{name:<28} {theirs_ms:>10.1f} {ms:>11.1f} {theirs_ms / ms:>7.1f}×")
        else:
            lines.append(f"{name:<28} {'—':>10} {ms:>11.1f} {'—':>8}")
    incremental = project["incremental"]
    lines += [
        "",
        f"incremental rebuild after editing {incremental['file']}: "
        f"{incremental['seconds']:.2f} s ({incremental['mode']})",
    ]
    search = project.get("search")
    if search:
        lines.append(
            f"search: {search['warm_median_ms']:.1f} ms median on the open index (warm kg serve), "
            f"{search['process_median_s']:.2f} s per kg search process; index made by the build "
            f"in {search['index_seconds']:.2f} s on its writer thread ({search['index_share']:.0%} "
            f"of the build's time; CPU {search['index_cpu_seconds']:.2f} s, "
            f"{search['index_cpu_share']:.0%} of the build's), on the first search after the "
            f"incremental rebuild in "
            f"{incremental.get('search_seconds', 0.0):.2f} s"
        )
    speedup = f"{total_theirs['seconds'] / build_s:.1f}" if total_theirs else "n/a (naive skipped)"
    lines.append(
        f"speedup: {speedup}× vs naive at {results['data_triples']:,} triples; "
        f"build {build_s:.1f} s; peak RSS {peak:.0f} MiB"
    )
    return lines


def _main(argv: list[str]) -> None:
    kind, *args = argv
    if kind == "naive":
        root, target = args
        figures = run_naive(Path(root))
    elif kind == "project":
        root, out, target = args
        figures = run_project(Path(root), Path(out))
    else:
        raise SystemExit(f"unknown pipeline {kind!r}")
    Path(target).write_text(json.dumps(figures, indent=2, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    _main(sys.argv[1:])
