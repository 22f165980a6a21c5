"""Re-measure the home-made engines against the maintained ones, side by side (issue 15).

    python -m kgtools.devtools.engines_bench --triples 100000
    python -m kgtools.devtools.engines_bench --triples 1000000 --repeat 2 --cap 2700

Figures and the decision they led to: ``docs/performance.md`` ("Home-made engines,
re-measured").

One run writes a synthetic project (:mod:`kgtools.devtools.synth`) of about N data triples with a
few deliberate shape violations (``--violations``; ``synth.json`` names each), then runs every
engine on it, each in a fresh interpreter (so one's memory does not count against another's),
stopped at ``--cap`` seconds of wall time (its load included) and ``--memory-cap`` GiB of
address space:

* **SHACL** — ``compiled`` (:mod:`kgtools.engine.shacl` on in-memory indexes, as ``kg build`` runs
  it) against ``pyshacl-oxigraph``: ``pyshacl.validate`` given a ``pyoxigraph.Store`` as its
  data graph (pySHACL ≥ 0.40 accepts one directly, no rdflib store plugin in between), with
  the options of :func:`kgtools.reference.pyshacl.validate` (the ontology mixed in as pySHACL's own
  inoculation does, no inference, ``allow_warnings``, not advanced); ``pyshacl-oxigraph+bool``,
  the same with pySHACL's quadratic step removed (:func:`_cheap_truth`); ``pyshacl-rdflib``,
  the reference as the test suite runs it. Results are compared as sets of (focus, path,
  constraint component, severity, value), and every deliberate violation must be found.
* **OWL RL** — ``rules`` (:mod:`kgtools.engine.rules`, T-box closure included, as a cold build runs
  it) against ``reasonable`` (Rust, rdflib in and out) and ``owlrl-turbo`` (Rust, its own
  native dataset), when installed, and ``owlrl`` (the reference, :mod:`kgtools.reference.owlrl`).
  Neither fast engine reads an Oxigraph store: both are fed the same files. Each engine's
  entailments (its output minus the asserted triples, minus :func:`kgtools.engine.rules.is_noise`)
  are compared as sets of triples.

For each engine and repetition it prints the load time (parsing into the engine's own input,
not compared), the engine's wall time and CPU time (all its threads: on a shared machine, the
figure that waiting for a core does not inflate), its peak RSS (the process's high-water mark,
reset when the engine starts, so it includes the loaded input), the result count, whether the
results equal the home-made engine's, and the time ratios (wall, CPU) against the home-made
engine of the same repetition (absolute times on a shared machine are noisy; ratios within one
run are less so).

Kept out of ``kg bench`` on purpose: that one compares the whole build with the naive pipeline;
this one answers one question about two engines, and needs packages the project does not
depend on (``pip install reasonable owlrl-turbo``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

#: The home-made engine of each family first: the others are compared with it.
SHACL_ENGINES = ("compiled", "pyshacl-oxigraph", "pyshacl-oxigraph+bool", "pyshacl-rdflib")
OWL_ENGINES = ("rules", "reasonable", "owlrl-turbo", "owlrl")
#: pySHACL over Oxigraph as shipped is quadratic (docs/performance.md): asked for by name only.
DEFAULT_SHACL = ("compiled", "pyshacl-oxigraph+bool")
DEFAULT_OWL = ("rules", "reasonable", "owlrl-turbo")
#: The distribution each engine needs (its version is printed).
DISTRIBUTIONS = {
    "compiled": "pyoxigraph",
    "pyshacl-oxigraph": "pyshacl",
    "pyshacl-oxigraph+bool": "pyshacl",
    "pyshacl-rdflib": "pyshacl",
    "rules": "owlrl",
    "reasonable": "reasonable",
    "owlrl-turbo": "owlrl-turbo",
    "owlrl": "owlrl",
}
#: How many differing keys are shown when two engines disagree.
SHOWN_DIFFERENCES = 5


# -- measuring ---------------------------------------------------------------------------------
def _peak_mib() -> float:
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    except (OSError, AttributeError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    """Linux: start a new high-water mark at the current RSS (elsewhere: the process peak)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measured(run: Callable[[], Any]) -> tuple[Any, float, float, float]:
    """``run()``'s value, wall seconds, CPU seconds (every thread of the process: on a shared
    machine, the figure that waiting for a core does not inflate) and peak RSS (MiB)."""
    _reset_peak()
    start, cpu = time.perf_counter(), _cpu_s()
    value = run()
    return value, time.perf_counter() - start, _cpu_s() - cpu, _peak_mib()


# -- loading, each engine's own way ------------------------------------------------------------
def _project(root: Path) -> Any:
    from kgtools.project import Project

    return Project(root)


def _rel(project: Any, path: Path) -> str:
    return str(path.relative_to(project.root).as_posix())


def _ox_indexes(root: Path) -> tuple[Any, Any, Any]:
    """Ontology and data as ``kg build`` reads them (pyoxigraph, in memory), and the shapes."""
    from rdflib import Graph

    from kgtools.engine.terms import MemoryIndex, triple_to_rdflib
    from kgtools.load.fast import read_file, read_files
    from kgtools.load.schema import schema_terms

    project = _project(root)
    ontology = read_file(project.ontology, label_key=_rel(project, project.ontology))
    parsed = read_files(
        [(p, _rel(project, p)) for p in project.data_files()], schema=schema_terms(ontology)
    )
    data = MemoryIndex()
    for triples in parsed.values():
        for triple in triples:
            data.add(triple)
    shapes = Graph()
    for triple in read_file(project.shapes, label_key=_rel(project, project.shapes)):
        shapes.add(triple_to_rdflib(triple))
    return MemoryIndex(ontology), data, shapes


def _rdflib_graphs(root: Path) -> tuple[Any, Any, Any]:
    """Ontology, data and shapes as rdflib graphs (rdflib's parser, as the reference reads)."""
    from rdflib import Graph

    project = _project(root)
    data = Graph()
    for path in project.data_files():
        data.parse(path)
    return Graph().parse(project.ontology), data, Graph().parse(project.shapes)


def _rdflib_merged(root: Path) -> Any:
    """The ontology and the data in one rdflib graph, as the OWL RL reasoners read them."""
    ontology, data, _shapes = _rdflib_graphs(root)
    for triple in ontology:
        data.add(triple)
    return data


# -- the engines -------------------------------------------------------------------------------
def _shacl_keys(results: Iterable[Any]) -> list[str]:
    """(focus, path, component, severity, value) of each result, one tab-separated line each;
    terms as N-Triples through pyoxigraph, so ``"x"^^xsd:string`` is ``"x"`` on both sides."""
    from kgtools.engine.terms import from_rdflib

    def term(node: Any) -> str:
        return "" if node is None else str(from_rdflib(node))

    return sorted(
        {
            "\t".join((term(r.focus), r.path, str(r.component), str(r.severity), term(r.value)))
            for r in results
        }
    )


def _pyshacl_results(data: Any, shapes: Any, ontology: Any | None) -> list[Any]:
    """pySHACL with :func:`kgtools.reference.pyshacl.validate`'s options, its report read the
    same way."""
    from kgtools.reference.pyshacl import _results, report_graph

    return _results(report_graph(data, shapes, ontology))


def _oxigraph_store(root: Path) -> Any:
    """The data files in an in-memory ``pyoxigraph.Store`` (default graph), parsed by Oxigraph."""
    import pyoxigraph as ox

    project = _project(root)
    store = ox.Store()
    for path in project.data_files():
        base = path.resolve().as_uri()
        store.load(path=path, format=ox.RdfFormat.TURTLE, base_iri=base, to_graph=ox.DefaultGraph())
    return store


def _owl_keys(triples: Iterable[Any], asserted: set[Any] | None = None) -> list[str]:
    """Entailments as sorted N-Triples lines: minus ``asserted``, minus the noise filter."""
    from kgtools.engine.rules import is_noise

    return sorted(
        {
            f"{s} {p} {o} ."
            for s, p, o in triples
            if not is_noise((s, p, o)) and (asserted is None or (s, p, o) not in asserted)
        }
    )


def _from_rdflib_all(triples: Iterable[Any]) -> Iterator[Any]:
    from kgtools.engine.terms import triple_from_rdflib

    for triple in triples:
        with suppress(TypeError, ValueError):  # a generalized triple (literal subject) is noise
            yield triple_from_rdflib(triple)


@dataclass
class Figures:
    """What one engine run measured."""

    engine: str
    load_s: float = 0.0
    load_mib: float = 0.0
    run_s: float = 0.0
    peak_mib: float = 0.0
    results: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run_engine(engine: str, root: Path) -> tuple[Figures, list[str]]:
    """Load ``root`` the engine's way, run it, and return its figures and result keys."""
    figures = Figures(engine)
    load, run = _ENGINES[engine](root)
    loaded, figures.load_s, _cpu, figures.load_mib = _measured(load)
    keys, figures.run_s, cpu_s, figures.peak_mib = _measured(lambda: run(loaded))
    figures.extra["cpu_s"] = cpu_s
    figures.results = len(keys)
    return figures, keys


def _compiled(root: Path) -> tuple[Callable[[], Any], Callable[[Any], list[str]]]:
    def run(loaded: Any) -> list[str]:
        from kgtools.engine import shacl as shacl

        ontology, data, shapes = loaded
        return _shacl_keys(shacl.compile(shapes).validate(data, ontology))

    return lambda: _ox_indexes(root), run


def _pyshacl_oxigraph(
    root: Path, *, cheap_truth: bool = False
) -> tuple[Callable[[], Any], Callable[[Any], list[str]]]:
    def load() -> Any:
        from rdflib import Graph

        project = _project(root)
        return _oxigraph_store(root), Graph().parse(project.shapes), Graph().parse(project.ontology)

    def run(loaded: Any) -> list[str]:
        store, shapes, ontology = loaded
        with _cheap_truth() if cheap_truth else nullcontext():
            _inoculate_store(store, ontology)
            return _shacl_keys(_pyshacl_results(store, shapes, None))

    return load, run


@contextmanager
def _cheap_truth() -> Iterator[None]:
    """Give pySHACL's Oxigraph data graph a constant-time truth value (``pyshacl-oxigraph+bool``).

    pySHACL 0.40.1 describes every result it makes — also those of the nested shapes that
    ``sh:not``, ``sh:or`` and ``sh:node`` evaluate and then drop — with ``stringify_node(datagraph
    or sg, …)``; ``datagraph or`` calls ``len(datagraph)``, which on Oxigraph is a SPARQL
    ``COUNT(DISTINCT TRIPLE(?s, ?p, ?o))`` over the whole store, so the work grows with
    results × triples. A data graph is never false there (pySHACL has refused an empty one long
    before), so a ``__bool__`` that returns ``True`` changes no result: this variant measures
    pySHACL over Oxigraph as it would be with that one line fixed upstream.
    """
    from pyshacl.graph_abstraction import OxigraphDataGraph

    OxigraphDataGraph.__bool__ = lambda self: True  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del OxigraphDataGraph.__bool__  # type: ignore[attr-defined]


def _inoculate_store(store: Any, ontology: Any) -> None:
    """Mix the ontology into ``store`` as pySHACL's ``ont_graph`` does (its own ``inoculate``:
    the RDFS/OWL axioms only), through an rdflib graph.

    Why not ``ont_graph=``: pySHACL 0.40.1 inoculates into its Oxigraph data graph with
    rdflib's ``Collection``, whose ``(node, rdf:first, None) in graph`` reaches
    ``pyoxigraph.Quad(…, None, …)`` and raises ``TypeError`` on the first RDF list of the
    ontology (``owl:unionOf``). Without ``ont_graph`` pySHACL validates the store in place.
    """
    import pyoxigraph as ox
    from pyshacl.graph_abstraction import DataGraph
    from pyshacl.rdfutil.inoculate import inoculate
    from rdflib import Graph

    from kgtools.engine.terms import triple_from_rdflib

    scratch = Graph()
    inoculate(DataGraph.from_rdflib(scratch), ontology)
    store.extend(ox.Quad(*triple_from_rdflib(t)) for t in scratch)  # type: ignore[arg-type]


def _pyshacl_rdflib(root: Path) -> tuple[Callable[[], Any], Callable[[Any], list[str]]]:
    def run(loaded: Any) -> list[str]:
        ontology, data, shapes = loaded
        return _shacl_keys(_pyshacl_results(data, shapes, ontology))

    return lambda: _rdflib_graphs(root), run


def _rules(root: Path) -> tuple[Callable[[], Any], Callable[[Any], list[str]]]:
    def run(loaded: Any) -> list[str]:
        from kgtools.engine import rules as rules

        ontology, data, _shapes = loaded
        triples = list(ontology)
        ruleset = rules.compile(triples, tbox=rules.tbox_closure(triples))
        return _owl_keys(ruleset.entailment_list(data))

    return lambda: _ox_indexes(root), run


def _owlrl(root: Path) -> tuple[Callable[[], Any], Callable[[Any], list[str]]]:
    def load() -> Any:
        return _rdflib_merged(root)

    def run(graph: Any) -> list[str]:
        from kgtools.reference import owlrl as reason

        return _owl_keys(_from_rdflib_all(reason.entailments(graph)))

    return load, run


def _reasonable(root: Path) -> tuple[Callable[[], Any], Callable[[Any], list[str]]]:
    def load() -> Any:
        return _rdflib_merged(root)

    def run(graph: Any) -> list[str]:
        import reasonable

        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(graph)
        closure = reasoner.reason()
        asserted = set(_from_rdflib_all(graph))
        return _owl_keys(_from_rdflib_all(closure), asserted)

    return load, run


def _owlrl_turbo(root: Path) -> tuple[Callable[[], Any], Callable[[Any], list[str]]]:
    def load() -> Any:
        from rdflib_turbo import Dataset

        project = _project(root)
        dataset = Dataset()
        for path in [project.ontology, *project.data_files()]:
            dataset.parse(str(path), format="turtle", publicID=path.resolve().as_uri())
        return dataset

    def run(dataset: Any) -> list[str]:
        import pyoxigraph as ox

        # owlrl-turbo's own entry point (owlrl_turbo.expand) copies the whole dataset;
        # infer_delta is the call it makes, returning only the new quads, with the options of
        # kgtools.reference.owlrl.closure (no axiomatic triples, no datatype axioms).
        delta = dataset.infer_delta(
            inference="owlrl", axiomatic_triples=False, datatype_axioms=False
        )
        quads = ox.parse(delta.serialize(format="nquads"), format=ox.RdfFormat.N_QUADS)
        return _owl_keys((q.subject, q.predicate, q.object) for q in quads)

    return load, run


_ENGINES: dict[str, Callable[[Path], tuple[Callable[[], Any], Callable[[Any], list[str]]]]] = {
    "compiled": _compiled,
    "pyshacl-oxigraph": _pyshacl_oxigraph,
    "pyshacl-oxigraph+bool": functools.partial(_pyshacl_oxigraph, cheap_truth=True),
    "pyshacl-rdflib": _pyshacl_rdflib,
    "rules": _rules,
    "owlrl": _owlrl,
    "reasonable": _reasonable,
    "owlrl-turbo": _owlrl_turbo,
}


# -- the side-by-side run ----------------------------------------------------------------------
@dataclass
class Outcome:
    """One engine run as the parent saw it: figures, or why there are none."""

    engine: str
    repetition: int
    figures: Figures | None = None
    keys: set[str] = field(default_factory=set)
    stopped: str = ""  # "time cap 1500 s", "memory cap 8 GiB (exit -6)", "not installed"

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "repetition": self.repetition,
            "figures": None if self.figures is None else self.figures.__dict__,
            "stopped": self.stopped,
        }


def _installed(engine: str) -> str | None:
    try:
        return metadata.version(DISTRIBUTIONS[engine])
    except metadata.PackageNotFoundError:
        return None


def _child(
    engine: str, root: Path, keys_path: Path, cap: float, memory_gib: float, repetition: int
) -> Outcome:
    """Run one engine in a fresh interpreter, stopped at ``cap`` seconds."""
    outcome = Outcome(engine, repetition)
    if _installed(engine) is None:
        outcome.stopped = f"not installed (pip install {DISTRIBUTIONS[engine]})"
        return outcome
    figures_path = keys_path.with_suffix(".json")
    command = [
        sys.executable,
        "-m",
        "kgtools.devtools.engines_bench",
        "--child",
        engine,
        str(root),
        str(keys_path),
        str(memory_gib),
    ]
    try:
        done = subprocess.run(
            command,
            timeout=cap,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    except subprocess.TimeoutExpired:
        outcome.stopped = f"time cap {cap:.0f} s"
        return outcome
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        outcome.stopped = (
            f"killed by signal {-done.returncode}"
            if done.returncode < 0
            else f"exit {done.returncode} (memory cap {memory_gib:g} GiB): {last[:120]}"
        )
        return outcome
    outcome.figures = Figures(**json.loads(figures_path.read_text(encoding="utf-8")))
    outcome.keys = set(keys_path.read_text(encoding="utf-8").splitlines())
    return outcome


def _child_main(engine: str, root: str, keys_path: str, memory_gib: str) -> None:
    limit = int(float(memory_gib) * 2**30)
    with suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    figures, keys = run_engine(engine, Path(root))
    Path(keys_path).write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    Path(keys_path).with_suffix(".json").write_text(json.dumps(figures.__dict__), encoding="utf-8")


@dataclass
class Comparison:
    """An engine's keys against the home-made engine's."""

    equal: bool
    only_home: list[str]
    only_other: list[str]


def compare(home: set[str], other: set[str]) -> Comparison:
    return Comparison(home == other, sorted(home - other), sorted(other - home))


def deliberate_keys(manifest: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(focus, component, severity) of every deliberate violation ``synth.json`` records."""
    return {
        (f"<{v['focus']}>", v["component"], v["severity"]) for v in manifest.get("violations", [])
    }


def missed_violations(manifest: dict[str, Any], keys: set[str]) -> set[tuple[str, str, str]]:
    """The deliberate violations no result reports (by focus, component and severity)."""
    found = set()
    for key in keys:
        focus, _path, component, severity, _value = key.split("\t")
        found.add((focus, component, severity))
    return deliberate_keys(manifest) - found


def bench(
    triples: int,
    *,
    violations: int = 12,
    seed: int = 0,
    repeat: int = 1,
    cap: float = 1500.0,
    memory_gib: float = 8.0,
    shacl_engines: Iterable[str] = DEFAULT_SHACL,
    owl_engines: Iterable[str] = DEFAULT_OWL,
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate ~``triples`` triples, run every engine ``repeat`` times, print the tables;
    return the figures (and, per family, whether every engine agreed with the home-made one)."""
    from kgtools.devtools.synth import generate, spec_for_triples
    from kgtools.project import find_project

    owned = workdir is None
    base = Path(tempfile.mkdtemp(prefix="kg-engines-")) if workdir is None else workdir
    root = base / "project"
    plans = spec_for_triples(triples, seed=seed).municipalities * 3
    rate = min(1.0, violations / plans)
    spec = spec_for_triples(triples, seed=seed, violation_rate=rate)
    made = generate(spec, root, source_project=find_project())
    manifest = json.loads((root / "synth.json").read_text(encoding="utf-8"))
    results: dict[str, Any] = {
        "data_triples": made.triples,
        "municipalities": spec.municipalities,
        "deliberate_violations": len(made.violations),
        "seed": seed,
        "cap_seconds": cap,
        "memory_cap_gib": memory_gib,
        "versions": {e: _installed(e) for e in DISTRIBUTIONS},
        "families": {},
    }
    echo(
        f"engines_bench: {made.triples:,} data triples ({spec.municipalities:,} municipalities"
        f" × {spec.rounds} rounds), {len(made.violations)} deliberate violations, seed {seed};"
        f" cap {cap:.0f} s and {memory_gib:g} GiB per engine run"
    )
    for family, engines in (("SHACL", tuple(shacl_engines)), ("OWL RL", tuple(owl_engines))):
        if not engines:
            continue
        outcomes: list[Outcome] = []
        for repetition in range(1, repeat + 1):
            for engine in engines:
                keys_path = base / f"{engine}-{repetition}.keys"
                outcomes.append(_child(engine, root, keys_path, cap, memory_gib, repetition))
        family_figures = _report_family(family, engines, outcomes, manifest, echo)
        results["families"][family] = family_figures
    if owned:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    return results


def _report_family(
    family: str,
    engines: tuple[str, ...],
    outcomes: list[Outcome],
    manifest: dict[str, Any],
    echo: Callable[[str], None],
) -> dict[str, Any]:
    home_engine = engines[0]
    echo("")
    echo(f"{family}: each engine against {home_engine} of the same repetition")
    echo(
        f"{'engine':<22} {'version':<9} {'rep':>3} {'load s':>8} {'run s':>9} {'cpu s':>9} "
        f"{'peak MiB':>9} {'results':>9} {'equal':>6} {'ratio':>8} {'cpu ratio':>9}"
    )
    rows = []
    agreed = True
    homes = {o.repetition: o for o in outcomes if o.engine == home_engine}
    for outcome in outcomes:
        home = homes[outcome.repetition]
        version = "kg" if outcome.engine == home_engine else _installed(outcome.engine) or "—"
        row: dict[str, Any] = outcome.as_json()
        if outcome.figures is None:
            echo(
                f"{outcome.engine:<22} {version:<9} {outcome.repetition:>3} "
                f"stopped: {outcome.stopped}"
            )
            rows.append(row)
            continue
        f = outcome.figures
        cpu = f.extra.get("cpu_s")
        cpu_text = "—" if cpu is None else f"{cpu:.2f}"
        equal, ratio, cpu_ratio = "—", "—", "—"
        if home.figures is not None:
            comparison = compare(home.keys, outcome.keys)
            equal = "yes" if comparison.equal else "no"
            agreed = agreed and comparison.equal
            ratio = f"{f.run_s / home.figures.run_s:.2f}×" if home.figures.run_s else "—"
            row["equal"] = comparison.equal
            row["only_home"] = len(comparison.only_home)
            row["only_other"] = len(comparison.only_other)
            row["ratio"] = f.run_s / home.figures.run_s if home.figures.run_s else None
            home_cpu = home.figures.extra.get("cpu_s")
            if cpu is not None and home_cpu:
                row["cpu_ratio"] = cpu / home_cpu
                cpu_ratio = f"{cpu / home_cpu:.2f}×"
        echo(
            f"{outcome.engine:<22} {version:<9} {outcome.repetition:>3} {f.load_s:>8.2f} "
            f"{f.run_s:>9.2f} {cpu_text:>9} {f.peak_mib:>9.0f} {f.results:>9,} {equal:>6} "
            f"{ratio:>8} {cpu_ratio:>9}"
        )
        if home.figures is not None and outcome is not home and not row.get("equal"):
            comparison = compare(home.keys, outcome.keys)
            for label, keys in (
                (f"only {home_engine}", comparison.only_home),
                (f"only {outcome.engine}", comparison.only_other),
            ):
                echo(f"    {label}: {len(keys):,}")
                for key in keys[:SHOWN_DIFFERENCES]:
                    echo(f"      {key.replace(chr(9), '  ')}")
        if family == "SHACL":
            missed = missed_violations(manifest, outcome.keys)
            row["missed_deliberate"] = len(missed)
            if missed:
                agreed = False
                echo(f"    misses {len(missed)} deliberate violation(s): {sorted(missed)[:3]}")
        rows.append(row)
    verdict = "yes" if agreed and all(o.figures for o in outcomes) else "no"
    echo(f"{family}: every engine gave the same results: {verdict}")
    return {"rows": rows, "all_equal": verdict == "yes"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child_main(*argv[1:5])
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m kgtools.devtools.engines_bench",
        description="The home-made SHACL validator and OWL RL engine against the maintained "
        "ones, side by side on a synthetic project.",
    )
    parser.add_argument("--triples", type=int, default=100_000, help="about this many data triples")
    parser.add_argument(
        "--violations",
        type=int,
        default=12,
        help="deliberate shape violations (one per plan at most)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="runs of every engine")
    parser.add_argument("--cap", type=float, default=1500.0, help="wall seconds per engine run")
    parser.add_argument(
        "--memory-cap", type=float, default=8.0, help="GiB of address space per engine run"
    )
    parser.add_argument(
        "--shacl", default=",".join(DEFAULT_SHACL), help=f"of {', '.join(SHACL_ENGINES)}"
    )
    parser.add_argument("--owl", default=",".join(DEFAULT_OWL), help=f"of {', '.join(OWL_ENGINES)}")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--workdir", type=Path, help="keep the project and keys here")
    args = parser.parse_args(argv)
    chosen = {}
    for family, value, known in (
        ("shacl", args.shacl, SHACL_ENGINES),
        ("owl", args.owl, OWL_ENGINES),
    ):
        names = tuple(n for n in value.split(",") if n)
        unknown = [n for n in names if n not in known]
        if unknown or (names and names[0] != known[0]):
            parser.error(f"--{family}: {value!r}: engines of {', '.join(known)}, {known[0]} first")
        chosen[family] = names
    results = bench(
        args.triples,
        violations=args.violations,
        seed=args.seed,
        repeat=args.repeat,
        cap=args.cap,
        memory_gib=args.memory_cap,
        shacl_engines=chosen["shacl"],
        owl_engines=chosen["owl"],
        workdir=args.workdir,
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
