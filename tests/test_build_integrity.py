"""The build's integrity: an incremental build equals a full one, whatever the change.

The property: for any sequence of edits, additions, renames and deletions of data files, an
incremental build gives the same store (as quads), the same files under ``dist/`` (as bytes;
the search index, which it patches, by its rows in order and its answers) and the same
``build.json`` as ``kg build --force`` of the same inputs. The generated files use relative IRIs
(against an ``@base``, as the real plans do: without one they are refused at load), blank
nodes, triples shared with other files and with the real plans, changes that reach the
entailments (a plan's themes) and the search index's rows (a plan's municipality, last fiscal
year, a Japanese text).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kgtools.build.layout import LOCK_FILE, BuildSummary, read_manifest
from kgtools.build.pipeline import build, open_built
from kgtools.cli import cli
from kgtools.errors import BuildRunningError, DiskFullError, NonConformingDataError
from kgtools.files import staged_file
from kgtools.namespaces import DATA_GRAPH
from kgtools.project import Project
from kgtools.search import INDEX_DIR, index_path

from .conftest import ROOT, assert_same_search_index, copy_built, examples

ID = "https://w3id.org/tokyo-industry-plans/id/"
THEMES = ["networking", "promotion", "startups", "ec", "sdgs", "learning", "consultation"]
WORDS = ["old", "new", "値", "東京", "a b", "x\\ny"]
#: Names a generated or moved file may take (below data/, so also beside the real plans).
NAMES = ["extra/a.ttl", "extra/b.ttl", "extra/sub/c.ttl", "plans/moved.ttl", "d.ttl"]

# -- generated statements -----------------------------------------------------------------------
_thing = st.integers(0, 3).map(lambda i: f"<thing/{i}>")
_word = st.sampled_from(WORDS)
_theme = st.sampled_from(THEMES)
_statement = st.one_of(
    st.builds(lambda s, w: f'{s} rdfs:comment "{w}" .', _thing, _word),
    st.builds(lambda s, w: f'{s} rdfs:label "{w}"@ja .', _thing, _word),
    st.builds(lambda s, o: f"{s} rdfs:seeAlso {o} .", _thing, _thing),
    st.builds(lambda s, w: f'{s} rdfs:seeAlso [ rdfs:comment "{w}" ] .', _thing, _word),
    # shared with a real plan file (or not), and reaching the entailments (dcterms:subject)
    st.builds(lambda t: f"<{ID}plan/131113/2021> tip:theme <{ID}theme/{t}> .", _theme),
)
_body = st.lists(_statement, min_size=1, max_size=4)
#: The generated file the first build already has (``extra/a.ttl``).
FIRST = [
    '<thing/0> rdfs:comment "old" .',
    '<thing/1> rdfs:seeAlso [ rdfs:comment "old" ] .',
    f"<{ID}plan/131113/2021> tip:theme <{ID}theme/sdgs> .",
]

#: Municipalities and fiscal years a plan may be moved to (all in the data).
CODES = ["131067", "131172", "132012"]
YEARS = ["2014", "2023", "2027"]

#: One change: write a generated file, move or delete any data file, or change a plan's theme,
#: municipality, last fiscal year or first Japanese text (what the search index's rows hold).
_change = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(NAMES), _body),
    st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(NAMES)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("retheme"), st.integers(0, 50), _theme),
    st.tuples(st.just("municipality"), st.integers(0, 50), st.sampled_from(CODES)),
    st.tuples(st.just("period"), st.integers(0, 50), st.sampled_from(YEARS)),
    st.tuples(st.just("relabel"), st.integers(0, 50), _word),
)

#: Where each plan-editing change writes: the text before the value, the text after it.
_EDITS = {
    "retheme": ("<theme/", ">"),
    "municipality": ("tip:municipality <local-government/", ">"),
    "period": ("tip:lastFiscalYear <fiscal-year/", ">"),
    "relabel": ("", '"@ja'),
}
_steps = st.lists(st.lists(_change, min_size=1, max_size=3), min_size=1, max_size=2)

PREFIXES = (
    f"@base <{ID}> .\n"
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    "@prefix tip: <https://w3id.org/tokyo-industry-plans/ontology#> .\n"
)


def _apply(data: Path, change: tuple[object, ...]) -> None:
    files = sorted(p for p in data.rglob("*.ttl") if "templates" not in p.parts)
    kind = change[0]
    if kind == "put":
        _, name, body = change
        target = data / str(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(PREFIXES + "\n".join(body) + "\n", encoding="utf-8")  # type: ignore[arg-type]
    elif kind == "move":
        _, index, name = change
        source, target = files[int(index) % len(files)], data / str(name)  # type: ignore[call-overload]
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            source.rename(target)
    elif kind == "delete":
        files[int(change[1]) % len(files)].unlink()  # type: ignore[call-overload]
    else:  # one of _EDITS: the first value after its marker, in a file that has one
        _, index, value = change
        before, after = _EDITS[str(kind)]
        texts = {p: p.read_text(encoding="utf-8") for p in files}
        plans = [p for p in files if before in texts[p] and after in texts[p]]
        if plans:
            plan = plans[int(index) % len(plans)]  # type: ignore[call-overload]
            text = texts[plan]
            start = text.index(before) + len(before)
            end = text.index(after, start)
            if kind == "relabel":  # (a Japanese text: the value is added to it)
                start = end
            plan.write_text(text[:start] + str(value) + text[end:], encoding="utf-8")


# -- comparison ---------------------------------------------------------------------------------
#: Files under dist/ that hold times, not content: the inputs' and the Turtle files' stats.
_STAT_FILES = {"cache/file-stats.json", "cache/export/files.json"}


def _dist_files(out: Path, summary: BuildSummary) -> dict[str, bytes]:
    """The files under ``out`` as bytes, but the search index (an incremental build patches the
    last one, so its bytes differ from a full build's: compared by ``assert_same_search_index``),
    the stores and the files that hold times."""
    found = {}
    for path in out.rglob("*"):
        name = path.relative_to(out).as_posix()
        top = name.split("/", 1)[0]
        if top == summary.store or top.startswith((".trash-", "store-")) or path.is_dir():
            continue  # the stores, and what earlier builds moved aside to delete in the background
        if name.startswith("cache/.sources-old-"):
            continue
        if name in _STAT_FILES or name == "build.json" or top == INDEX_DIR:
            continue
        found[name] = path.read_bytes()
    return found


def _quads(out: Path, summary: BuildSummary) -> set[str]:
    store = ox.Store.read_only(str(out / summary.store))
    return {str(quad) for quad in store}


def _manifest(out: Path) -> dict[str, object]:
    manifest = json.loads((out / "build.json").read_text(encoding="utf-8"))
    manifest.pop("store")  # a fresh folder name per build (a counter when one is taken)
    return manifest


def _full_reference(project: Project, out: Path, seed: Path) -> BuildSummary | None:
    """``kg build --force`` into a fresh folder (given the owlrl closure of the ontology that
    ``seed`` cached, which depends only on the ontology's bytes)."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "cache").mkdir(parents=True)
    for tbox in (seed / "cache").glob("tbox-*.nt"):
        shutil.copyfile(tbox, out / "cache" / tbox.name)
    try:
        return build(project, out, force=True)
    except NonConformingDataError:
        return None


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a copy of the project built once (``template/``): each example starts
    from a copy of it at the same place, so the files' ``file:`` IRIs stay the same."""
    folder = tmp_path_factory.mktemp("integrity")
    root = folder / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / name, root / name)
    _apply(root / "data", ("put", "extra/a.ttl", FIRST))
    build(Project(root), folder / "dist")
    (folder / "template").mkdir()
    for name in ("project", "dist"):
        (folder / name).rename(folder / "template" / name)
    return folder


@settings(
    max_examples=examples(4),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(steps=_steps)
@example(steps=[[("put", "extra/a.ttl", ['<thing/0> rdfs:comment "new" .'])]])
@example(steps=[[("delete", 0)]])  # data/concepts.ttl (sorted first), then extra/a.ttl
@example(steps=[[("delete", 1)]])
@example(steps=[[("move", 1, "plans/moved.ttl")], [("put", "d.ttl", FIRST)]])
@example(steps=[[("municipality", 3, "131172")], [("period", 3, "2027")]])
@example(steps=[[("relabel", 3, "東京")], [("relabel", 2, "a b")]])
def test_incremental_build_equals_full_build(
    workspace: Path, steps: list[list[tuple[object, ...]]]
) -> None:
    root, out, reference_out = workspace / "project", workspace / "dist", workspace / "full"
    for name in ("project", "dist"):
        shutil.rmtree(workspace / name, ignore_errors=True)
        shutil.copytree(workspace / "template" / name, workspace / name, symlinks=True)
    project = Project(root)
    for changes in steps:
        for change in changes:
            _apply(root / "data", change)
        reference = _full_reference(project, reference_out, out)
        try:
            summary = build(project, out)
        except NonConformingDataError:
            assert reference is None, "the incremental build refused data a full build took"
            continue
        assert reference is not None, "the incremental build took data a full build refused"
        assert summary.mode in ("incremental", "full", "reuse")
        assert _quads(out, summary) == _quads(reference_out, reference)
        assert _dist_files(out, summary) == _dist_files(reference_out, reference)
        assert_same_search_index(out, summary.store, reference_out, reference.store)
        assert [p.name for p in (out / INDEX_DIR).iterdir()] == [
            index_path(out, summary.store).name
        ]
        assert _manifest(out) == _manifest(reference_out)


# -- one build at a time; readers answer from the last complete build -------------------------
@pytest.fixture()
def built_copy(built_template: Path, tmp_path: Path) -> tuple[Project, Path]:
    """A copy of the project and its build in ``dist/``: the session's build of the unchanged
    project (conftest.built_template), copied instead of built again for every test."""
    return copy_built(built_template, tmp_path)


def test_a_build_by_other_code_is_not_reused(
    built_copy: tuple[Project, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fingerprint covered the version only: after an upgrade that adds a check, unchanged
    data said "dist/ is current" and the new check never ran. The toolkit's own files count."""
    from kgtools.build import layout

    project, out = built_copy
    assert build(project, out).mode == "reuse"
    digest = layout.code_digest()
    monkeypatch.setattr(layout, "code_digest", lambda: bytes(len(digest)))
    assert build(project, out).mode == "full"
    monkeypatch.undo()
    assert build(project, out).mode == "full"  # (and back: the old code's inputs again)


@contextmanager
def _held_lock(out: Path, pid: int = 4242) -> Iterator[None]:
    """Hold the build lock as a running build would (with ``pid`` in the file)."""
    fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{pid}\n".encode(), 0)
        yield
    finally:
        (out / LOCK_FILE).unlink()
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _kg(project: Project, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kgtools", "--project", str(project.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KG_PROGRESS": "0"},
    )


def _assert_one_complete_build(out: Path) -> None:
    summary = read_manifest(out)
    assert summary is not None
    assert not list(out.glob(".store-*.tmp")), "a work folder was left"
    assert not list(out.glob(".*.ttl.*.tmp")), "a temporary Turtle file was left"
    assert not (out / LOCK_FILE).exists(), "the lock file was left"
    assert len(_quads(out, summary)) > 0


def test_two_builds_at_once_both_succeed(built_copy: tuple[Project, Path]) -> None:
    project, out = built_copy
    first = _kg(project, "build", "--force", "--out", str(out))
    second = _kg(project, "build", "--force", "--out", str(out))
    for process in (first, second):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        assert "Traceback" not in err
    _assert_one_complete_build(out)


def test_a_second_build_waits_for_the_running_one_and_says_so(
    built_copy: tuple[Project, Path],
) -> None:
    project, out = built_copy
    with _held_lock(out, pid=4242):
        waiting = _kg(project, "build", "--force", "--out", str(out))
        assert waiting.stderr is not None
        line = waiting.stderr.readline()  # said before it waits
        assert "another build is running" in line and "pid 4242" in line, line
        assert waiting.poll() is None, "it did not wait"
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    _assert_one_complete_build(out)


def test_a_build_that_may_not_wait_names_the_running_one(built_copy: tuple[Project, Path]) -> None:
    project, out = built_copy
    with _held_lock(out, pid=4242), pytest.raises(BuildRunningError, match="pid 4242"):
        build(project, out, force=True, wait=False)


def test_a_query_during_a_build_answers_from_the_last_complete_build(
    built_copy: tuple[Project, Path],
) -> None:
    """A reader neither waits for the build nor builds itself, even when the inputs changed."""
    project, out = built_copy
    before = read_manifest(out)
    assert before is not None
    (project.data_dir / "extra.ttl").write_text(
        PREFIXES + '<urn:x:a> rdfs:comment "new" .\n', encoding="utf-8"
    )
    with _held_lock(out):
        store, summary = open_built(project, out)
        assert summary.mode == "last-complete" and summary.reused
        assert summary.store == before.store
        assert store.count(DATA_GRAPH) == before.data_triples
    _, summary = open_built(project, out)  # no build running: it builds
    assert summary.mode == "incremental"


def test_queries_while_builds_run_in_another_process(built_copy: tuple[Project, Path]) -> None:
    project, out = built_copy
    builder = subprocess.Popen(
        [
            "sh",
            "-c",
            'for i in 1 2 3; do "$0" -m kgtools --project "$1" build --force --out "$2" '
            "|| exit 1; done",
            sys.executable,
            str(project.root),
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    answers = 0
    while builder.poll() is None or answers == 0:
        store, summary = open_built(project, out)
        assert summary.mode in ("reuse", "last-complete")
        assert store.count(DATA_GRAPH) == summary.data_triples
        answers += 1
    _, err = builder.communicate(timeout=120)
    assert builder.returncode == 0, err
    _assert_one_complete_build(out)


# -- a killed build's leftovers; a full disk ----------------------------------------------------
def test_the_next_build_removes_what_a_killed_build_left(built_copy: tuple[Project, Path]) -> None:
    project, out = built_copy
    ours = [
        out / ".asserted.ttl.k1l2e3d4.tmp",
        out / ".inferred.ttl.abcdefgh.tmp",
        out / ".build.json.x1y2z3.tmp",
        out / "cache" / ".results.json.q9w8e7.tmp",
        out / "cache" / "export" / ".data.idx.r5t6y7.tmp",
        out / ".store-0123456789abcdef.tmp" / "000001.sst",
    ]
    theirs = [
        out / ".graph.nq.e1x2p3.tmp",  # kg export -o dist/graph.nq, running
        out / "network" / ".bipartite.html.u8i9o0.tmp",  # kg network, running (it takes no lock)
        out / "notes.tmp",
        out / "network" / "mine.txt",
    ]
    for path in ours + theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left over")
    with _held_lock(out), pytest.raises(BuildRunningError):
        build(project, out, force=True, wait=False)  # (a running build's files are its own)
    assert all(path.exists() for path in ours)
    build(project, out, force=True)
    assert [path for path in ours if path.exists()] == []
    assert not (out / ".store-0123456789abcdef.tmp").exists()
    assert all(path.exists() for path in theirs)


def _no_space(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _over_quota(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))


def _full_at(name: str) -> Callable[[Path], Any]:
    """``staged_file`` that finds the disk full when it writes the file called ``name``."""
    real = staged_file

    def staged(path: Path) -> Any:
        if path.name == name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path)

    return staged


def _rocksdb_full(*_args: object, **_kwargs: object) -> None:
    raise OSError("IO error: No space left on device: While appending to file: 000012.sst")


@pytest.mark.parametrize(
    ("point", "failure", "force"),
    [
        # every staged and atomic file: Turtle, report, caches, copies of changed files
        ("kgtools.files.os.fsync", _no_space, False),
        ("kgtools.files.os.fsync", _over_quota, True),
        # the last file written, the manifest, after every other output is staged
        ("kgtools.build.staging.staged_file", _full_at("build.json"), False),
        ("kgtools.build.staging.staged_file", _full_at("files.json"), True),
        ("kgtools.build.cache.shutil.copyfile", _no_space, True),  # copies of the data
        (
            "kgtools.store.oxigraph.OxigraphStore.add_ox",
            _rocksdb_full,
            False,
        ),  # the store (RocksDB)
    ],
)
def test_a_full_disk_is_a_clear_error_and_keeps_the_last_build(
    built_copy: tuple[Project, Path],
    monkeypatch: pytest.MonkeyPatch,
    point: str,
    failure: Callable[..., None],
    force: bool,
) -> None:
    project, out = built_copy
    files = ("build.json", "asserted.ttl", "inferred.ttl", "validation.txt", "cache/shared.tsv")
    before = {name: (out / name).read_bytes() for name in files}
    plan = project.data_dir / "plans" / "131113-2021-ota.ttl"
    plan.write_text(plan.read_text(encoding="utf-8").replace('"@en', ' (2)"@en', 1), "utf-8")
    monkeypatch.setattr(point, failure)
    args = ["--project", str(project.root), "build", "--out", str(out)]
    result = CliRunner().invoke(cli, args + ["--force"] * force, catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert "disk is full" in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    with pytest.raises(DiskFullError):  # (the library's error, for the same failure)
        monkeypatch.setattr(point, failure)
        build(project, out, force=force)
    monkeypatch.undo()
    # the last complete build as it was, nothing half-made left, and the next build gives what a
    # full one does
    assert {name: (out / name).read_bytes() for name in files} == before
    assert read_manifest(out) is not None
    assert not list(out.glob(".store-*.tmp")) and not list(out.glob(".*.tmp"))
    summary = build(project, out)
    reference = _full_reference(project, out.parent / "full", out)
    assert reference is not None
    assert _quads(out, summary) == _quads(out.parent / "full", reference)
    assert _dist_files(out, summary) == _dist_files(out.parent / "full", reference)
    assert_same_search_index(out, summary.store, out.parent / "full", reference.store)
