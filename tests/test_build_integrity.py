"""The build's integrity: an incremental build equals a full one, whatever the change.

The property: for any sequence of edits, additions, renames and deletions of data files, an
incremental build gives the same store (as quads), the same files under ``dist/`` (as bytes)
and the same ``build.json`` as ``kg build --force`` of the same inputs. The generated files use
relative IRIs without ``@base`` (resolved against the file's own ``file:`` IRI), blank nodes,
triples shared with other files and with the real plans, and changes that reach the
entailments (a plan's themes).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kgtools.build import BuildSummary, build
from kgtools.errors import NonConformingDataError
from kgtools.project import Project

from .conftest import ROOT

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

#: One change: write a generated file, move or delete any data file, or change a plan's theme.
_change = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(NAMES), _body),
    st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(NAMES)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("retheme"), st.integers(0, 50), _theme),
)
_steps = st.lists(st.lists(_change, min_size=1, max_size=3), min_size=1, max_size=2)

PREFIXES = (
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
    else:
        _, index, theme = change
        plans = [p for p in files if "<theme/" in p.read_text(encoding="utf-8")]
        if plans:
            plan = plans[int(index) % len(plans)]  # type: ignore[call-overload]
            text = plan.read_text(encoding="utf-8")
            start = text.index("<theme/")
            end = text.index(">", start)
            plan.write_text(text[:start] + f"<theme/{theme}" + text[end:], encoding="utf-8")


# -- comparison ---------------------------------------------------------------------------------
#: Files under dist/ that hold times, not content: the inputs' and the Turtle files' stats.
_STAT_FILES = {"cache/file-stats.json", "cache/export/files.json"}


def _dist_files(out: Path, summary: BuildSummary) -> dict[str, bytes]:
    found = {}
    for path in out.rglob("*"):
        name = path.relative_to(out).as_posix()
        top = name.split("/", 1)[0]
        if top == summary.store or top.startswith((".trash-", "store-")) or path.is_dir():
            continue
        if name in _STAT_FILES or name == "build.json":
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
    max_examples=5,
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
        assert _manifest(out) == _manifest(reference_out)
