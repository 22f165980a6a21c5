"""Build outputs: deterministic, isomorphic to the inputs, written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kgtools import store as store_module
from kgtools.build import BuildSummary, build
from kgtools.load import load_files
from kgtools.namespaces import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from kgtools.oxstore import OxigraphStore
from kgtools.project import Project
from kgtools.store import atomic_write_text

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
    first, _ = built
    second = tmp_path / "again"
    build(project, second, force=True)
    for name in ("asserted.ttl", "inferred.ttl", "validation.txt", "build.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_interrupted_write_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "asserted.ttl"
    target.write_text("previous", encoding="utf-8")

    def fail(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module.os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new content")
    assert target.read_text(encoding="utf-8") == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["asserted.ttl"]
