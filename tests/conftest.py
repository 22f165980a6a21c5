"""Shared fixtures: the real project, its graphs, and one build reused by many tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kgtools.build import BuildSummary, build
from kgtools.load import load_files
from kgtools.project import Project, find_project

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
