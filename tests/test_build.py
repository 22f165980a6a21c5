"""Build outputs: deterministic, isomorphic to the inputs, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kgtools import files as files_module
from kgtools.build.layout import BuildSummary
from kgtools.build.pipeline import build
from kgtools.files import atomic_write_text
from kgtools.load.reference import load_files
from kgtools.namespaces import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from kgtools.project import Project
from kgtools.search import index_path
from kgtools.store.oxigraph import OxigraphStore

from .conftest import assert_isomorphic


def test_asserted_output_is_the_inputs(project: Project, built: tuple[Path, BuildSummary]) -> None:
    out, summary = built
    inputs = load_files([project.ontology, *project.data_files()])
    assert_isomorphic(inputs, Graph().parse(out / "asserted.ttl"))
    assert summary.asserted_triples == len(inputs)


def test_store_holds_three_named_graphs(built: tuple[Path, BuildSummary]) -> None:
    out, summary = built
    store = OxigraphStore(out / summary.store, read_only=True)
    sizes = {name: store.count(name) for name in store.graph_names()}
    assert sizes == {
        ONTOLOGY_GRAPH: summary.ontology_triples,
        DATA_GRAPH: summary.data_triples,
        INFERRED_GRAPH: summary.inferred_triples,
    }


def test_outputs_are_byte_identical_across_builds(
    project: Project, built: tuple[Path, BuildSummary], tmp_path: Path
) -> None:
    first, summary = built
    second = tmp_path / "again"
    again = build(project, second, force=True)
    for name in ("asserted.ttl", "inferred.ttl", "validation.txt", "build.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    # the search index the build writes, too
    index = index_path(first, summary.store).read_bytes()
    assert index == index_path(second, again.store).read_bytes()


def test_interrupted_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "asserted.ttl"
    target.write_text("previous", encoding="utf-8")

    def fail(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files_module.os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new content")
    assert target.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["asserted.ttl"]


@pytest.mark.parametrize("incremental", [False, True], ids=["full", "incremental"])
def test_build_interrupted_after_staging_its_turtle_changes_no_file(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, incremental: bool
) -> None:
    """The Turtle files are written on a worker thread under temporary names while the build
    goes on; a build interrupted before it moves them (here: while writing the network views)
    leaves every file of the previous build as it was, and no temporary file behind."""
    import shutil

    from kgtools import network

    root = tmp_path / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(project.root / name, root / name)
    copy = Project(root)
    out = tmp_path / "dist"
    build(copy, out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    plan = root / "data" / "plans" / "131113-2021-ota.ttl"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace('"@en', ' (revised)"@en', 1), encoding="utf-8"
    )

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(network, "default_views", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(copy, out, force=not incremental)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    monkeypatch.undo()
    # the previous build's caches still fit its files: the next build can be incremental
    assert build(copy, out).mode == "incremental"
    assert b"(revised)" in (out / "asserted.ttl").read_bytes()


def test_no_handle_on_the_store_outlives_the_build(project: Project, tmp_path: Path) -> None:
    """When build() returns, nothing in this process holds the store open (RocksDB allows one
    writer per folder): another process opens it read-write, after a full and after an
    incremental build. A handle kept alive by a reference cycle would close only at the next
    garbage collection — after the build has moved the folder it was opened in."""
    import gc
    import shutil
    import subprocess
    import sys

    root = tmp_path / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(project.root / name, root / name)
    copy = Project(root)
    out = tmp_path / "dist"
    opens = "import sys, pyoxigraph; pyoxigraph.Store(sys.argv[1])"
    collecting = gc.isenabled()
    gc.disable()  # so that nothing is freed by a collection that happens to run in between
    try:
        full = build(copy, out)
        subprocess.run([sys.executable, "-c", opens, str(out / full.store)], check=True)
        plan = root / "data" / "plans" / "131113-2021-ota.ttl"
        plan.write_text(
            plan.read_text(encoding="utf-8").replace('"@en', ' (revised)"@en', 1),
            encoding="utf-8",
        )
        incremental = build(copy, out)
        assert incremental.mode == "incremental"
        subprocess.run([sys.executable, "-c", opens, str(out / incremental.store)], check=True)
    finally:
        if collecting:
            gc.enable()


# A shape every plan breaks: a plan with a label (every plan has one in each language).
NO_LABELLED_PLAN = """
tips:NoLabelledPlan a sh:NodeShape ;
  rdfs:label "ラベルのない計画"@ja , "A plan without a label"@en ;
  sh:targetClass tip:Plan ;
  sh:property [
    sh:path rdfs:label ; sh:maxCount 0 ;
    rdfs:label "ラベルなし"@ja , "no label"@en ;
    sh:message "計画にラベルがある"@ja , "the plan has a label"@en ] .
"""


def test_shapes_are_compiled_once_a_process_and_an_edit_is_never_missed(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled validator is reused by a later build of the same process only for the very
    same shapes (kgtools.engine.shacl.compile_triples): an edited shapes file is compiled and
    enforced, and the file put back is the first compile again."""
    from kgtools.engine import shacl
    from kgtools.engine.shacl import api
    from kgtools.errors import NonConformingDataError

    compiles: list[object] = []
    real = shacl.compile
    monkeypatch.setattr(api, "compile", lambda graph: compiles.append(graph) or real(graph))
    shacl.forget_compiled()
    project, out = Project(copy), copy / "dist"
    shapes = copy / "ontology" / "shapes.ttl"
    original = shapes.read_text(encoding="utf-8")

    build(project, out, force=True)
    build(project, out, force=True)
    assert len(compiles) == 1

    shapes.write_text(original + NO_LABELLED_PLAN, encoding="utf-8")
    with pytest.raises(NonConformingDataError, match="the plan has a label"):
        build(project, out)
    assert len(compiles) == 2

    shapes.write_text(original, encoding="utf-8")
    assert build(project, out).conforms
    assert len(compiles) == 2  # the first compile, kept
