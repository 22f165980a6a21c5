"""Shared fixtures: the real project, its graphs, and one build reused by many tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from kgtools.build import BuildSummary, build, open_built
from kgtools.load import load_files
from kgtools.project import Project, find_project
from kgtools.store import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
SOURCE_TEXT = ROOT / "sources" / "approved-plans-overview-r3-r5.txt"


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
    """The shared data files (directly in data/), which every plan file refers to."""
    return sorted(project.data_dir.glob("*.ttl"))


@pytest.fixture(scope="session")
def data(project: Project) -> Graph:
    return load_files(project.data_files())


@pytest.fixture(scope="session")
def built(project: Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildSummary]:
    out = tmp_path_factory.mktemp("dist")
    return out, build(project, out, force=True)


@pytest.fixture(scope="session")
def inferred(built: tuple[Path, BuildSummary]) -> Graph:
    out, _ = built
    return Graph().parse(out / "inferred.ttl")


@pytest.fixture(scope="session")
def asserted(built: tuple[Path, BuildSummary]) -> Graph:
    out, _ = built
    return Graph().parse(out / "asserted.ttl")


@pytest.fixture(scope="session")
def store(project: Project, built: tuple[Path, BuildSummary]) -> MemoryStore:
    """The built graph opened as a store (no rebuild)."""
    out, _ = built
    opened, _ = open_built(project, out)
    return opened


def assert_isomorphic(expected: Graph, actual: Graph) -> None:
    """Compare graphs as graphs; on failure show what only one side has."""
    if not isomorphic(expected, actual):
        _, only_expected, only_actual = graph_diff(to_isomorphic(expected), to_isomorphic(actual))
        pytest.fail(
            "graphs differ\nonly expected:\n"
            + only_expected.serialize(format="nt")[:3000]
            + "\nonly actual:\n"
            + only_actual.serialize(format="nt")[:3000]
        )
