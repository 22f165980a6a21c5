"""Incremental rebuild: after data files change, the result equals a full build of the same inputs.

Each test copies the project, builds it, edits data files, rebuilds (incrementally) and compares
with a full build of the edited copy in another folder: the same named graphs in the store, the
same bytes in asserted.ttl, inferred.ttl and validation.txt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kgtools.build.layout import BuildSummary
from kgtools.build.pipeline import build
from kgtools.engine.rules import RuleSet
from kgtools.errors import IncrementalUpdateError, NonConformingDataError, RelativeIRIError
from kgtools.project import Project
from kgtools.search import INDEX_DIR, index_for, index_path
from kgtools.store.oxigraph import OxigraphStore

from .conftest import assert_isomorphic, assert_same_search_index, copy_built

PLAN = "data/plans/131113-2021-ota.ttl"


@pytest.fixture()
def copy(project: Project, tmp_path: Path) -> Project:
    root = tmp_path / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(project.root / name, root / name)
    return Project(root)


@pytest.fixture()
def built_copy(built_template: Path, tmp_path: Path) -> Project:
    """``copy`` already built into ``tmp_path / "dist"``: a copy of the session's one build of
    the unchanged project (conftest.built_template), for tests whose first step is that build."""
    copied, _ = copy_built(built_template, tmp_path)
    return copied


def test_a_copied_build_is_the_build_of_its_copy(
    built_copy: Project, project: Project, tmp_path: Path
) -> None:
    """What built_copy relies on: the session's build, copied beside a copy of the project, is
    what building a copy gives (byte for byte, the same graphs), and a rebuild reuses it."""
    out = tmp_path / "dist"
    other = tmp_path / "other"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(project.root / name, other / name)
    fresh = build(Project(other), tmp_path / "fresh")
    for name in ("asserted.ttl", "inferred.ttl", "validation.txt", "build.json"):
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert build(built_copy, out).mode == "reuse"
    ours = OxigraphStore(out / fresh.store, read_only=True)
    theirs = OxigraphStore(tmp_path / "fresh" / fresh.store, read_only=True)
    assert ours.graph_names() == theirs.graph_names()
    for name in theirs.graph_names():
        assert_isomorphic(ours.graph(name), theirs.graph(name))


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def assert_same_as_full(copy: Project, out: Path, summary: BuildSummary, tmp_path: Path) -> None:
    reference_out = tmp_path / "full"
    reference = build(copy, reference_out, force=True)
    assert reference.mode == "full"
    for name in ("asserted.ttl", "inferred.ttl", "validation.txt"):
        assert (out / name).read_bytes() == (reference_out / name).read_bytes(), name
    # the Turtle files' indexes, which the next incremental build patches from
    index = sorted(p.name for p in (reference_out / "cache" / "export").iterdir())
    assert index == sorted(p.name for p in (out / "cache" / "export").iterdir())
    for name in set(index) - {"files.json"}:  # (files.json holds modification times)
        path = Path("cache", "export", name)
        assert (out / path).read_bytes() == (reference_out / path).read_bytes(), name
    ours = OxigraphStore(out / summary.store, read_only=True)
    theirs = OxigraphStore(reference_out / reference.store, read_only=True)
    assert ours.graph_names() == theirs.graph_names()
    for name in theirs.graph_names():
        assert_isomorphic(ours.graph(name), theirs.graph(name))
    # the search index: an incremental build patches the last build's, the full build makes it
    # whole: the same rows in the same order, the same answers
    assert_same_search_index(out, summary.store, reference_out, reference.store)
    mine = json.loads((out / "build.json").read_text(encoding="utf-8"))
    full = json.loads((reference_out / "build.json").read_text(encoding="utf-8"))
    for manifest in (mine, full):
        manifest.pop("store")
    assert mine == full


def test_edited_plan_is_rebuilt_incrementally(built_copy: Project, tmp_path: Path) -> None:
    copy, out = built_copy, tmp_path / "dist"
    plan = copy.root / PLAN
    # a label changed, a theme dropped and one added (entailments through them follow)
    _edit(plan, '"@en', ' (revised)"@en')
    _edit(
        plan, "tip:theme <theme/networking>, <theme/promotion> ;", "tip:theme <theme/promotion> ;"
    )
    _edit(plan, "tip:theme <theme/business-succession> ;", "tip:theme <theme/networking> ;")
    summary = build(copy, out)
    assert summary.mode == "incremental"
    assert_same_as_full(copy, out, summary, tmp_path)


def test_a_change_no_index_row_holds_keeps_the_last_index_file(
    built_copy: Project, tmp_path: Path
) -> None:
    """A plan's themes are in no row of the search index: the incremental build's index is the
    last build's file itself (a hard link, not a copy), and still a full build's."""
    copy, out = built_copy, tmp_path / "dist"
    before = json.loads((out / "build.json").read_text(encoding="utf-8"))["store"]
    last = index_path(out, before).stat()
    _edit(
        copy.root / PLAN,
        "tip:theme <theme/networking>, <theme/promotion> ;",
        "tip:theme <theme/promotion> ;",
    )
    summary = build(copy, out)
    assert summary.mode == "incremental"
    now = index_path(out, summary.store).stat()
    assert (now.st_dev, now.st_ino) == (last.st_dev, last.st_ino)
    assert_same_as_full(copy, out, summary, tmp_path)


def test_a_file_whose_triples_did_not_change_is_kept(built_copy: Project, tmp_path: Path) -> None:
    """An English label changed: no entailment changes, so inferred.ttl is not written again
    (same file, same time), asserted.ttl is; both still equal a full build's."""
    copy, out = built_copy, tmp_path / "dist"
    inferred, asserted = (out / "inferred.ttl").stat(), (out / "asserted.ttl").stat()
    _edit(copy.root / PLAN, '"@en', ' (revised)"@en')
    summary = build(copy, out)
    assert summary.mode == "incremental"
    now = (out / "inferred.ttl").stat()
    assert (now.st_ino, now.st_mtime_ns) == (inferred.st_ino, inferred.st_mtime_ns)
    assert (out / "asserted.ttl").stat().st_ino != asserted.st_ino
    assert_same_as_full(copy, out, summary, tmp_path)
    _edit(copy.root / PLAN, ' (revised)"@en', '"@en')
    summary = build(copy, out)
    assert summary.mode == "incremental"  # the kept file's stamp still fits
    assert_same_as_full(copy, out, summary, tmp_path / "again")


def test_removed_and_added_plan_files(built_copy: Project, tmp_path: Path) -> None:
    copy, out = built_copy, tmp_path / "dist"
    moved = copy.root / "data" / "plans" / "renamed-ota.ttl"
    (copy.root / PLAN).rename(moved)  # one file gone, one new with the same triples
    summary = build(copy, out)
    assert summary.mode == "incremental"
    assert_same_as_full(copy, out, summary, tmp_path)
    moved.unlink()  # the plan is gone: its entailments must go too
    summary = build(copy, out)
    assert summary.mode == "incremental"
    assert summary.data_triples < build(copy, tmp_path / "first", force=True).data_triples + 1
    assert_same_as_full(copy, out, summary, tmp_path / "again")


def test_non_conforming_edit_changes_nothing(copy: Project, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    first = build(copy, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    _edit(copy.root / PLAN, "tip:ordinal 1 ;", "tip:ordinal 0 ;")
    with pytest.raises(NonConformingDataError) as raised:
        build(copy, out)
    assert "MinInclusive" in raised.value.report
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    store = OxigraphStore(out / first.store, read_only=True)
    assert store.count(first_graph(store)) > 0
    assert sorted(p.name for p in out.glob(".store-*")) == []


def test_source_copies_are_replaced_only_by_a_build_that_succeeds(
    copy: Project, tmp_path: Path
) -> None:
    """The copies an incremental build diffs against describe the last successful build; old
    copies set aside by a full build are deleted by the next one."""
    out = tmp_path / "dist"
    build(copy, out, force=True)
    sources = out / "cache" / "sources"
    before = {p: p.read_bytes() for p in sources.rglob("*") if p.is_file()}
    assert (sources / PLAN) in before
    _edit(copy.root / PLAN, "tip:ordinal 1 ;", "tip:ordinal 0 ;")
    with pytest.raises(NonConformingDataError):
        build(copy, out, force=True)
    assert {p: p.read_bytes() for p in sources.rglob("*") if p.is_file()} == before
    assert not (out / "cache" / "sources.new").exists()
    _edit(copy.root / PLAN, "tip:ordinal 0 ;", "tip:ordinal 1 ;")
    _edit(copy.root / PLAN, '"@en', ' (revised)"@en')
    build(copy, out, force=True)
    assert (sources / PLAN).read_bytes() == (copy.root / PLAN).read_bytes()
    build(copy, out, force=True)
    assert len(list((out / "cache").glob(".sources-old-*"))) == 1  # the older one deleted
    summary = build(copy, out)  # reused: nothing changed
    _edit(copy.root / PLAN, ' (revised)"@en', '"@en')
    summary = build(copy, out)
    assert summary.mode == "incremental"
    assert_same_as_full(copy, out, summary, tmp_path)


@pytest.mark.parametrize("damage", ["missing", "not the last build's", "not an index"])
def test_an_index_that_cannot_be_patched_is_made_by_the_first_search(
    built_copy: Project, tmp_path: Path, damage: str
) -> None:
    """The last build's index gone, holding other rows, or not an SQLite file: the incremental
    build succeeds and writes no index (the last one is removed with its store); the first
    search makes it from the store, with a full build's rows."""
    import sqlite3

    copy, out = built_copy, tmp_path / "dist"
    old = index_path(out, json.loads((out / "build.json").read_text(encoding="utf-8"))["store"])
    if damage == "missing":
        old.unlink()
    elif damage == "not the last build's":
        db = sqlite3.connect(old)
        # (rows the patch removes among them: a patch checks those it touches)
        db.execute("UPDATE texts SET type = type || '!' WHERE plan LIKE '%/131113/2021%'")
        db.commit()
        db.close()
    else:
        old.write_bytes(b"not an index")
    _edit(copy.root / PLAN, '"@en', ' (revised)"@en')
    summary = build(copy, out)
    assert summary.mode == "incremental"
    assert sorted(p.name for p in (out / INDEX_DIR).iterdir()) == []
    reference = build(copy, tmp_path / "full", force=True)
    index_for(out, summary.store)  # (what the first search does)
    assert_same_search_index(out, summary.store, tmp_path / "full", reference.store)


def test_old_stores_are_moved_aside_and_deleted_by_the_next_build(
    copy: Project, tmp_path: Path
) -> None:
    """A build keeps its store and the one before (a reader may still have it open); an older
    one is renamed out of the way at once, and the next build deletes it in the background."""
    from kgtools.build import staging

    out = tmp_path / "dist"
    stores = [build(copy, out).store]
    for i in range(2):
        _edit(copy.root / PLAN, '"@en', f' ({i})"@en')
        summary = build(copy, out)
        assert summary.mode == "incremental"
        stores.append(summary.store)
    assert len(set(stores)) == 3
    assert sorted(p.name for p in out.glob("store-*")) == sorted(stores[1:])
    trash = list(out.glob(".trash-store-*"))
    assert [p.name.startswith(f".trash-{stores[0]}-") for p in trash] == [True]
    thread = staging.empty_trash(out)  # what the next build starts
    assert thread is not None
    thread.join()
    assert not any(p.exists() for p in trash)
    assert staging.empty_trash(out) is None  # nothing left to delete
    assert build(copy, out).mode == "reuse"


def first_graph(store: OxigraphStore) -> object:
    return store.graph_names()[0]


def test_ontology_change_forces_a_full_build(built_copy: Project, tmp_path: Path) -> None:
    copy, out = built_copy, tmp_path / "dist"
    _edit(copy.ontology, "@prefix", "# edited\n@prefix")
    assert build(copy, out).mode == "full"
    assert build(copy, out).mode == "reuse"


def test_change_the_rules_cannot_maintain_falls_back_to_a_full_build(
    built_copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy, out = built_copy, tmp_path / "dist"
    _edit(copy.root / PLAN, '"@en', ' (revised)"@en')

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise IncrementalUpdateError("a blank node in a triple a rule reads")

    monkeypatch.setattr(RuleSet, "update", refuse)
    summary = build(copy, out)
    assert summary.mode == "full"
    assert sorted(p.name for p in out.glob(".store-*")) == []
    monkeypatch.undo()
    assert_same_as_full(copy, out, summary, tmp_path)


def test_settled_files_are_not_read_again_and_edits_are_seen(copy: Project) -> None:
    import hashlib
    import os
    import time

    from kgtools.build.inputs import _hash_inputs, input_files

    past = time.time_ns() - 60_000_000_000
    for path in input_files(copy):
        os.utime(path, ns=(past, past))
    hashes, stats = _hash_inputs(copy, None)
    assert set(stats) == set(hashes)  # all settled: all recorded
    stats[PLAN][3] = "0" * 64  # a recorded hash is trusted while size, time and inode match
    assert _hash_inputs(copy, stats)[0][PLAN] == "0" * 64

    _edit(copy.root / PLAN, "大田区", "大田区 ")
    hashes, fresh = _hash_inputs(copy, stats)
    assert hashes[PLAN] == hashlib.sha256((copy.root / PLAN).read_bytes()).hexdigest()
    assert PLAN not in fresh  # just edited: read again next time too


def test_replaced_big_files_are_left_for_the_next_build_to_delete(
    copy: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big output file that a build replaces is linked aside first (freeing its blocks can
    take a while), with its old bytes, and deleted by the next build in the background."""
    from kgtools.build import staging

    monkeypatch.setattr(staging, "BIG_FILE", 1)  # every file is "big"
    out = tmp_path / "dist"
    build(copy, out)
    old = (out / "asserted.ttl").read_bytes()
    _edit(copy.root / PLAN, '"@en', ' (revised)"@en')
    assert build(copy, out).mode == "incremental"
    assert (out / "asserted.ttl").read_bytes() != old
    folders = list(out.glob(".trash-files-*"))
    assert len(folders) == 1
    kept = {p.name.split("-", 1)[1]: p.read_bytes() for p in folders[0].iterdir()}
    assert kept["asserted.ttl"] == old
    thread = staging.empty_trash(out)
    assert thread is not None
    thread.join()
    assert not folders[0].exists()


def test_shared_triples_keep_literals_with_line_separators(tmp_path: Path) -> None:
    """The cache of triples asserted by several files reads back literals holding U+2028,
    U+0085 or a form feed, which N-Triples leaves unescaped (str.splitlines() split them)."""
    import pyoxigraph as ox

    from kgtools.build import cache

    iri = ox.NamedNode("https://example.org/s")
    shared = {
        (iri, iri, ox.Literal(f"a{ch}b", language="ja")): i + 2
        for i, ch in enumerate(["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\t"])
    }
    cache.save_shared(tmp_path, shared)
    assert cache.load_shared(tmp_path) == shared


@pytest.mark.parametrize("change", ["edit", "add"])
def test_a_file_with_relative_iris_and_no_base_is_refused_by_an_incremental_build(
    built_copy: Project, tmp_path: Path, change: str
) -> None:
    """A data file with relative IRIs and no @base once became file: IRIs of this machine, and
    its cached copy, read with the copy's path as base, never matched the store (an edited value
    was kept beside the new one). Now the incremental build refuses it at its line, as a full
    build does, and leaves the last build as it was."""
    copy, out = built_copy, tmp_path / "dist"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    if change == "edit":  # a plan whose relative IRIs lose their @base
        target = copy.data_dir / "plans" / "131113-2021-ota.ttl"
        lines = target.read_text(encoding="utf-8").split("\n")
        text = "\n".join(line for line in lines if not line.startswith("@base"))
    else:
        target = copy.data_dir / "extra.ttl"
        text = '<thing/1> <http://www.w3.org/2000/01/rdf-schema#comment> "x" .\n'
    target.write_text(text, encoding="utf-8")
    with pytest.raises(RelativeIRIError) as raised:
        build(copy, out)
    assert raised.value.location.path == target and raised.value.location.line
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
