"""Shared fixtures: the real project, its graphs, and one build reused by many tests."""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings
from rdflib import BNode, Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from kgtools.build.layout import BuildSummary
from kgtools.build.pipeline import build, open_built
from kgtools.cli import cli
from kgtools.load.reference import load_files
from kgtools.namespaces import graphs_for
from kgtools.project import Project, find_project
from kgtools.query.library import QueryLibrary
from kgtools.serve import BuildFolder, ServeConfig, SparqlServer, make_server
from kgtools.store.base import Store
from kgtools.store.oxigraph import OxigraphStore

from .references import References, share_prepared_queries

ROOT = Path(__file__).resolve().parent.parent
SOURCE_TEXT = ROOT / "sources" / "approved-plans-overview-r3-r5.txt"

# -- hypothesis profiles ------------------------------------------------------------------------
# `ci` (.ci/run sets HYPOTHESIS_PROFILE=ci) runs every property test at its full count; `dev`, the
# default, at a quarter of it, for a quicker local suite. A property test writes its full count
# through examples(): `@settings(max_examples=examples(120), ...)` (tests/test_profiles.py fails
# on a count written bare, which would ignore the profile).
# Both start from the settings hypothesis chose itself (its own defaults, or on a CI service its
# built-in `ci` profile, which `ci` here replaces and keeps as it was).
#: max_examples of the full-strength profile: hypothesis' own default, so that a test without a
#: count of its own also runs as it always did.
FULL_STRENGTH = 100
settings.register_profile("ci", settings.default, max_examples=FULL_STRENGTH)
settings.register_profile("dev", settings.default, max_examples=FULL_STRENGTH // 4)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def full_strength() -> bool:
    """Whether the loaded profile is the full-strength one (``ci``): a test whose cost is not a
    count of examples (the size of a synthetic sample) reads its size from this."""
    return settings.default.max_examples >= FULL_STRENGTH


def examples(full: int) -> int:
    """``max_examples`` for a property test whose full-strength count is ``full``: ``full`` itself
    under the ``ci`` profile, scaled like the loaded profile's count otherwise (at least 1). Read
    when the test module is imported, i.e. after ``--hypothesis-profile`` took effect."""
    return max(1, full * settings.default.max_examples // FULL_STRENGTH)


# -- rdflib parses each SPARQL text once per session (tests/references.py) -------------------------
_UNDO: list[Callable[[], None]] = []


def pytest_configure(config: pytest.Config) -> None:
    """pySHACL gives rdflib its SPARQL constraints as text on every run, and rdflib parsed them
    again each time: in the session each text is prepared once (share_prepared_queries)."""
    _UNDO.append(share_prepared_queries())
    _share_compiled_modules()
    gc.set_threshold(*GC_THRESHOLDS)


def pytest_unconfigure(config: pytest.Config) -> None:
    while _UNDO:
        _UNDO.pop()()


# -- what the session's processes spend besides the tests (docs/performance.md, seventh session) --
#: The collector's thresholds in the test processes (Python's: 700, 10, 10). The suite's own
#: objects come and go in millions (graphs of the samples, parses): at Python's thresholds each
#: worker spent 23–30 s of a 5-minute run in the collector, most of it in full passes. A larger
#: first generation (cheaper per object) and fewer middle passes; the full passes stay as
#: frequent (at 100 for the third, garbage piled up: workers of ~600 MB against ~450 MB, and more
#: system time for every forked query child).
GC_THRESHOLDS = (2_000, 20, 10)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything collection made (the imported libraries, test modules and items) lives to the
    end: frozen out of the collector's passes (gc.freeze), which otherwise walk it each time."""
    gc.collect()
    gc.freeze()


_PYCACHE = "KG_TEST_PYCACHE"


def _share_compiled_modules() -> None:
    """Where the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE), every process
    the session starts, the xdist workers and each `kg` run in a process of its own, compiled
    kgtools and its libraries from source again (~0.15 s a process). The first process gives
    them one cache folder of the session's own instead (PYTHONPYCACHEPREFIX: nothing is written
    beside the sources), removed when the session ends. Tests that give a process an
    environment of their own are unaffected."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or _PYCACHE in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="kg-test-pycache-")
    os.environ[_PYCACHE] = os.environ["PYTHONPYCACHEPREFIX"] = folder
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    _UNDO.append(lambda: shutil.rmtree(folder, ignore_errors=True))


# -- scheduling across xdist workers (pyproject: --dist loadgroup --no-loadscope-reorder) ----------
# Every test runs in its file's group, so that a file's module fixtures are computed once (as
# --dist loadfile did), except where GROUPS joins or splits files; groups start in the order of
# SLOWEST_FIRST (measured with --durations), the rest in file order, so that no long group is
# left to start last while the other worker idles (xdist would order groups by test count).
#: test file (or file::test) -> group; the longest match wins
GROUPS = {
    # the two files that compare every shape case with pySHACL share one report per case
    # (tests/references.py), which lives in one worker's memory
    "test_shapes.py": "pyshacl-cases",
    "test_shacl_fast.py": "pyshacl-cases",
    # owlrl's closure of the real data, which both check (tests/references.py)
    "test_rules.py": "owlrl-real",
    "test_ontology.py": "owlrl-real",
    # the synthetic sample's three reference runs (owlrl, pySHACL, rdflib's queries) are among
    # the longest tests: pySHACL's on one worker, owlrl's closure and the queries that read it
    # on the other (each group makes the sample itself, a second or two)
    "test_equivalence.py": "equivalence-owlrl",
    "test_equivalence.py::test_validation_equals_pyshacl": "equivalence-pyshacl",
}
SLOWEST_FIRST = (
    "equivalence-owlrl",
    "equivalence-pyshacl",
    "pyshacl-cases",
    "test_build_integrity.py",
    "test_virtuoso.py",
    "test_export.py",
    "test_hardening.py",
    "test_incremental.py",
    "test_day_one.py",
    "test_degree.py",
)


def xdist_group(nodeid: str) -> str:
    """The xdist group of the test ``nodeid``: its file's name, unless GROUPS says otherwise."""
    path, _, rest = nodeid.partition("::")
    name = Path(path).name
    test = f"{name}::{rest.split('[')[0]}"
    return GROUPS.get(test, GROUPS.get(name, name))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest groups first (every worker sorts its collection the same way)."""
    order = {group: rank for rank, group in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: order.get(xdist_group(item.nodeid), len(order)))  # stable


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` with the groups of :func:`xdist_group`. (Not xdist_group marks:
    pytest-xdist 3.8 puts a mark's group into ``item._nodeid``, which pytest 9.2 no longer reads,
    so the marks are silently ignored and every test is its own group.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return GroupScheduling(config, log)


@pytest.fixture(scope="session")
def project() -> Project:
    return find_project(ROOT)


@pytest.fixture(scope="session")
def ontology(project: Project) -> Graph:
    return load_files([project.ontology])


@pytest.fixture(scope="session")
def shapes(project: Project) -> Graph:
    return load_files([project.shapes])


@pytest.fixture(scope="session")
def shared_files(project: Project) -> list[Path]:
    """The shared data files (directly in data/, and the approval rounds in data/rounds/), which
    every plan file refers to."""
    return sorted(project.data_dir.glob("*.ttl")) + sorted(project.data_dir.glob("rounds/*.ttl"))


@pytest.fixture(scope="session")
def context(shared_files: list[Path]) -> Graph:
    """The shared data files as one graph: the context a shape case or a plan file needs."""
    return load_files(shared_files)


@pytest.fixture(scope="session")
def references(
    project: Project, shared_files: list[Path], context: Graph, shapes: Graph, ontology: Graph
) -> References:
    """The reference libraries' answers, each computed once per session (tests/references.py)."""
    return References(project.shapes, project.ontology, shared_files, context, shapes, ontology)


@pytest.fixture(scope="session")
def data(project: Project) -> Graph:
    return load_files(project.data_files())


@pytest.fixture(scope="session")
def built(project: Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildSummary]:
    out = tmp_path_factory.mktemp("dist")
    return out, build(project, out, force=True)


@pytest.fixture(scope="session")
def built_template(project: Project, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a copy of the project (``project/``: ontology, data, queries) and its build
    (``dist/``), built once per session. Read-only: a test that edits and rebuilds takes its
    own copy with :func:`copy_built` instead of building the unchanged project again."""
    folder = tmp_path_factory.mktemp("built-template")
    root = folder / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(project.root / name, root / name)
    build(Project(root), folder / "dist")
    return folder


def kg(*args: str) -> Result:
    """``kg ARGS`` in this process (click's runner); an exception is raised, not caught."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def copy_built(template: Path, to: Path) -> tuple[Project, Path]:
    """A copy of :func:`built_template` at ``to/project`` and ``to/dist``: the project and its
    last build, as if built there (the build holds no path of its own; a rebuild reuses it)."""
    shutil.copytree(template / "project", to / "project", symlinks=True)
    shutil.copytree(template / "dist", to / "dist", symlinks=True)
    return Project(to / "project"), to / "dist"


@pytest.fixture(scope="session")
def derived_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder of derived values (kgtools.usercache: owlrl's closure of the ontology, font
    subsets) for the session's own cache homes: each entry is keyed by its inputs, the toolkit's
    code and the library versions, and checked when read, so sharing it only spares computing the
    same value again (tests/test_usercache.py tests the cache itself, with homes of its own)."""
    return tmp_path_factory.mktemp("derived")


@pytest.fixture
def copy(
    tmp_path: Path,
    project: Project,
    built: tuple[Path, BuildSummary],
    derived_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """A copy of the project with its current build in dist/ (no build needed to read it), and a
    cache home of its own (``tmp_path/cache``) whose derived values are the session's."""
    monkeypatch.delenv("KG_PROJECT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache" / "kgtools").mkdir(parents=True)
    (tmp_path / "cache" / "kgtools" / "derived").symlink_to(derived_cache, target_is_directory=True)
    root = tmp_path / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(project.root / folder, root / folder)
    shutil.copytree(built[0], root / "dist")
    yield root


@pytest.fixture(scope="session")
def inferred(built: tuple[Path, BuildSummary]) -> Graph:
    out, _ = built
    return Graph().parse(out / "inferred.ttl")


@pytest.fixture(scope="session")
def asserted(built: tuple[Path, BuildSummary]) -> Graph:
    out, _ = built
    return Graph().parse(out / "asserted.ttl")


@pytest.fixture(scope="session")
def store(project: Project, built: tuple[Path, BuildSummary]) -> Store:
    """The built graph (no rebuild), copied into an in-memory Oxigraph store: the same engine
    and quads, but a query's forked child (:func:`kgtools.query.run.run`) reads the parent's
    memory instead of opening the store's RocksDB folder again, about 40 ms a query, which the
    tests that run hundreds of queries paid every time. The CLI tests read the built folder as
    ``kg`` does."""
    out, _ = built
    opened, _ = open_built(project, out)
    memory = OxigraphStore()
    memory.ox.extend(opened.ox.quads_for_pattern(None, None, None, None))
    opened.close()
    return memory


def assert_same_search_index(out: Path, store: str, reference_out: Path, reference: str) -> None:
    """The search index a build wrote (an incremental one patches the last build's) holds the
    rows of the one ``reference`` wrote (made whole), in the same order, with the same types
    list, and answers the same searches: words cut from every 40th text, and a few short ones."""
    from kgtools.search import SearchIndex, index_path, index_rows

    ours, theirs = index_path(out, store), index_path(reference_out, reference)
    assert ours.is_file(), "the build wrote no search index"
    rows = index_rows(theirs)
    assert index_rows(ours) == rows
    texts = [row[1] for row in rows if row[0] == "string"]  # (each text once: index_rows)
    queries = {t[i : i + 3] for t in texts[::40] for i in (0, len(t) // 2) if t[i : i + 3].strip()}
    queries |= {"EC", "北区", "ＳＤＧｓ", "区 計画"}
    mine, full = SearchIndex(ours), SearchIndex(theirs)
    try:
        for query in sorted(queries):
            for limit in (None, 3):
                assert mine.search(query, limit=limit) == full.search(query, limit=limit), query
    finally:
        mine.close()
        full.close()


def assert_isomorphic(
    expected: Graph, actual: Graph, names: tuple[str, str] = ("expected", "actual")
) -> None:
    """Compare graphs as graphs; on failure show what only one side has.

    Without blank nodes two graphs are isomorphic exactly when their triples are equal. With
    them, rdflib's ``isomorphic`` compares two hashes and can say no for isomorphic graphs (a
    hypothesis seed found one whose two canonical forms were the same triples). So a no from it
    is checked again by ``to_isomorphic``: each side relabelled by a bijection of its own blank
    nodes, and equal relabelled triples are a witness that the graphs are isomorphic.
    """
    if set(expected) == set(actual) or isomorphic(expected, actual):
        return
    _, only_expected, only_actual = graph_diff(to_isomorphic(expected), to_isomorphic(actual))
    if len(only_expected) == len(only_actual) == 0 and _relabelled_one_to_one(expected, actual):
        return
    pytest.fail(
        f"graphs differ\n--- only {names[0]}:\n"
        + only_expected.serialize(format="nt")[:3000]
        + f"\n--- only {names[1]}:\n"
        + only_actual.serialize(format="nt")[:3000]
    )


def _blank_nodes(graph: Graph) -> set[Any]:
    return {term for triple in graph for term in triple if isinstance(term, BNode)}


def _relabelled_one_to_one(*graphs: Graph) -> bool:
    """Whether ``to_isomorphic`` kept every triple and blank node apart (a bijection)."""
    for graph in graphs:
        canonical = to_isomorphic(graph)
        if len(canonical) != len(graph) or len(_blank_nodes(canonical)) != len(_blank_nodes(graph)):
            return False
    return True


def synthetic_build(
    project: Project, folder: Path, municipalities: int, rounds: int, seed: int
) -> tuple[Store, Project]:
    """``kg synth`` into ``folder``, built; its opened store and its project."""
    from kgtools.devtools.synth import SynthSpec, generate

    generate(SynthSpec(municipalities, rounds=rounds, seed=seed), folder, source_project=project)
    synthetic = Project(folder)
    build(synthetic, folder / "dist")
    return open_built(synthetic, folder / "dist")[0], synthetic


#: The network views a remote endpoint must draw exactly as the embedded store does.
NETWORK_VIEWS_COMPARED = pytest.mark.parametrize(
    "args",
    [
        ("--view", "bipartite"),
        ("--view", "municipalities"),
        ("--view", "partners", "--municipality", "131164"),
        ("--view", "bipartite", "--theme", "ec", "--heading", "2"),
    ],
    ids=["bipartite", "municipalities", "partners-toshima", "bipartite-ec-heading2"],
)


def assert_same_network(out_dir: str, endpoint: str, args: tuple[str, ...]) -> None:
    """``kg network … --stats`` prints the same from ``endpoint`` as from the built store."""
    embedded = kg("network", *args, "--stats", "--out-dir", out_dir)
    remote = kg("network", *args, "--stats", "--endpoint", endpoint)
    assert embedded.exit_code == 0 and remote.exit_code == 0, embedded.output + remote.output
    assert remote.output == embedded.output


def respond(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer a test server's request: status, headers, Content-Length and (but to HEAD) body."""
    handler.send_response(status)
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


#: A SPARQL JSON answer of one row, ``?n`` = "1": what the stand-in endpoints answer.
ONE_ROW = json.dumps(
    {"head": {"vars": ["n"]}, "results": {"bindings": [{"n": {"type": "literal", "value": "1"}}]}}
).encode()
SPARQL_JSON = {"Content-Type": "application/sparql-results+json"}


class QuietHandler(BaseHTTPRequestHandler):
    """The tests' stand-in servers' base: a request handler that logs nothing to stderr."""

    def log_message(self, *_args: object) -> None:
        pass


# A loopback HTTP server that records every request: network tests assert it saw none.
class Canary(QuietHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"@context": {"name": "http://schema.org/name"}}'
        respond(self, 200, body, {"Content-Type": "application/ld+json"})

    do_POST = do_GET


@pytest.fixture
def canary() -> Iterator[str]:
    """Base URL of a loopback HTTP server; the test asserts it saw no request."""
    Canary.hits = []
    with loopback_server(Canary) as url:
        yield url + "/"


def stop(process: subprocess.Popen[bytes], log: Any, timeout: float) -> None:
    """Stop a server process the tests started (SIGTERM, then SIGKILL after ``timeout`` s) and
    close its log."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


@contextmanager
def running(server: Any) -> Iterator[Any]:
    """Serve ``server`` (any ``socketserver`` server) in a thread while the block runs; then
    shut it down and close its socket. The loop looks for the shutdown every 50 ms: at
    socketserver's default of half a second, leaving the block took 0.5 s, and a hundred test
    servers are started and stopped in a session."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def loopback_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run ``handler`` on a free 127.0.0.1 port in a thread; yield its base URL (no slash)."""
    with running(HTTPServer(("127.0.0.1", 0), handler)) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def serving(
    source: Store | BuildFolder,
    library: QueryLibrary | None = None,
    search_index: Path | None = None,
    **limits: Any,
) -> Iterator[SparqlServer]:
    """``kg serve`` over ``source`` (asserted + inferred) on a free loopback port, in a thread,
    answering ``/search`` from ``search_index`` if given; ``limits`` are :class:`ServeConfig`
    fields."""
    config = ServeConfig(graphs=tuple(graphs_for(inferred=True)), **limits)
    made = make_server(
        source, "127.0.0.1", 0, config=config, library=library, search_index=search_index
    )
    with running(made) as server:
        yield server


#: Debian's Chromium, for the browser tests (``pytest -m browser``).
CHROMIUM = Path("/usr/bin/chromium")


def chromium_dom(
    url: str, tmp_path: Path, *flags: str, budget_ms: int = 5000, proxy_port: int = 1
) -> str:
    """The DOM headless Chromium has after loading ``url`` for ``budget_ms`` of virtual time.
    Every host but loopback goes to the proxy at ``proxy_port`` on loopback (by default a
    closed port), so nothing leaves the machine; ``flags`` are added to Chromium's."""
    import subprocess

    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium — run "
            "`apt-get update && apt-get install -y chromium` (as root), then pytest again"
        )
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        *flags,
        f"--virtual-time-budget={budget_ms}",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


#: A parameterised query over plan labels, shared by the query and hardening tests.
LABEL_SEARCH = """\
# title: ラベル検索 / label search
# description: plans whose label contains ?q
# parameters: ?q (literal)
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX tip: <https://w3id.org/tokyo-industry-plans/ontology#>
SELECT ?plan ?label WHERE {
  ?plan a tip:Plan ; rdfs:label ?label .
  FILTER(CONTAINS(STR(?label), STR(?q)))
} ORDER BY ?plan
"""
