"""Regression tests for what a red-team pass found after the hardening round: each test is
named after what broke and fails on the code before its fix."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kgtools.build import BuildSummary
from kgtools.cli import cli
from kgtools.project import Project


def kg(*args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def copy(
    tmp_path: Path,
    project: Project,
    built: tuple[Path, BuildSummary],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path]:
    """A copy of the project with its current build in dist/ (no build needed to read it)."""
    monkeypatch.delenv("KG_PROJECT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(project.root / folder, root / folder)
    shutil.copytree(built[0], root / "dist")
    yield root


# -- outputs never in unexpected places: no folder the user did not ask for ------------------
OUTPUT_OPTIONS = [
    ("network", "--csv"),
    ("network", "-o"),
    ("docs", "-o"),
]
MISSING = ["nonexistent/x", "a/b/c/x", "file/x"]


@pytest.mark.parametrize("missing", MISSING)
@pytest.mark.parametrize(("command", "option"), OUTPUT_OPTIONS)
def test_output_into_a_missing_folder_is_refused_and_creates_nothing(
    copy: Path, tmp_path: Path, command: str, option: str, missing: str
) -> None:
    """`kg network --csv a/b.csv`, `kg network -o a/b` and `kg docs -o a/b` made every missing
    folder on the way (exit 0) where `kg export -o` refused."""
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    target = tmp_path / missing
    result = kg("--project", str(copy), command, option, str(target))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "mkdir -p" in result.output and str(target) in result.output
    assert sorted(tmp_path.iterdir()) == before
    assert not (tmp_path / "nonexistent").exists() and not (tmp_path / "a").exists()


def test_output_folder_one_level_below_an_existing_one_is_made(copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "drawings"
    result = kg("--project", str(copy), "network", "-o", str(target), "-f", "json")
    assert result.exit_code == 0, result.output
    assert (target / "bipartite.json").is_file()


def test_output_option_count() -> None:
    assert len(OUTPUT_OPTIONS) * len(MISSING) == 9
