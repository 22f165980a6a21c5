"""What a new user hits on day one: where the build goes, reading while the data does not
conform, odd parameter values, outputs in unexpected places, and the README's example outputs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kgtools.build import BuildSummary, input_files
from kgtools.cli import cli
from kgtools.project import Project, find_project, is_output_dir

from .test_cli import NOT_CONFORMING_PLAN


def run(*args: str) -> click.testing.Result:
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


# -- 2. a command run anywhere inside a project uses the project's dist/ -----------------------
@pytest.mark.parametrize("where", [".", "data", "data/plans", "queries/cq", "ontology"])
def test_command_inside_a_project_folder_uses_the_projects_dist(
    copy: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copy / where)
    before = sorted(p for p in copy.rglob("*") if "dist" not in p.relative_to(copy).parts)
    result = run("query", "plans", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert "built the graph" not in result.output  # the copy's dist/ was found and is current
    after = sorted(p for p in copy.rglob("*") if "dist" not in p.relative_to(copy).parts)
    assert after == before  # no dist/ (nor anything else) made where the command ran


def test_build_default_out_is_the_project_root_from_a_subfolder(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copy / "data" / "plans")
    result = run("build")
    assert result.exit_code == 0, result.output
    assert not (copy / "data" / "plans" / "dist").exists()
    assert "wrote nothing" in result.output  # the copy's dist/ is current: nothing written


@pytest.mark.parametrize("where", ["data/dist", "data/plans/dist", "data/plans/a/b/out"])
def test_a_kg_build_folder_inside_data_is_never_read_as_data(
    copy: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder kg once wrote into data/plans/dist/ (when --out-dir followed the current
    folder) held asserted.ttl and inferred.ttl; the build read them and failed."""
    shutil.copytree(copy / "dist", copy / where)
    assert is_output_dir(copy / where)
    found = Project(copy)
    assert not [p for p in input_files(found) if (copy / where) in p.parents]
    monkeypatch.chdir(copy)
    result = run("build")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_is_output_dir_needs_kgs_manifest(tmp_path: Path) -> None:
    for text in ("", "{}", "[1]", '{"fingerprint": "x"}', "not json", '{"layout": 3}'):
        (tmp_path / "build.json").write_text(text, encoding="utf-8")
        assert not is_output_dir(tmp_path), text
    (tmp_path / "build.json").write_text('{"fingerprint": "x", "layout": 3}', encoding="utf-8")
    assert is_output_dir(tmp_path)


def test_tbox_error_names_the_file_and_suggests_only_what_the_user_can_do(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build folder without its manifest still cannot be told apart from data: the error names
    the file and the folder, and suggests no option kg lacks ("reason with owlrl instead")."""
    stray = copy / "data" / "plans" / "dist"
    shutil.copytree(copy / "dist", stray)
    (stray / "build.json").unlink()
    monkeypatch.chdir(copy)
    result = CliRunner().invoke(cli, ["query", "plans"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "data/plans/dist/asserted.ttl" in result.output
    assert "data/plans/dist/ looks like a kg build folder" in result.output
    assert "owlrl" not in result.output


@pytest.mark.parametrize("inside", ["data", "data/x", "data/plans/dist"])
def test_out_dir_inside_data_is_refused(copy: Path, inside: str) -> None:
    for command in (["build", "-o"], ["query", "plans", "--out-dir"]):
        result = run("--project", str(copy), *command, str(copy / inside))
        assert result.exit_code == 2, result.output
        assert "inside the data folder" in result.output
    assert not (copy / inside / "build.json").exists()


# -- 7. reads answer from the last good build while the data does not conform -----------------
READ_COMMANDS = [
    ["query", "plans", "-f", "csv"],
    ["export", "-f", "nt"],
    ["network", "--stats"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_reads_answer_from_the_last_good_build_with_a_warning(
    copy: Path, command: list[str]
) -> None:
    good = run("--project", str(copy), *command)
    assert good.exit_code == 0
    (copy / "data" / "plans" / "extra.ttl").write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    stale = CliRunner().invoke(cli, ["--project", str(copy), *command])
    assert stale.exit_code == 0, stale.output
    assert stale.stdout == good.stdout
    warnings = [line for line in stale.stderr.splitlines() if "does not conform" in line]
    assert len(warnings) == 1 and "last good build" in warnings[0]
    strict = CliRunner().invoke(cli, ["--project", str(copy), *command, "--strict"])
    assert strict.exit_code == 1
    assert "does not conform" in strict.output


def test_label_removed_reads_still_answer(copy: Path) -> None:
    """The issue's case: one English label removed from a plan file."""
    plan = next((copy / "data" / "plans").glob("*.ttl"))
    text = plan.read_text(encoding="utf-8")
    import re

    changed = re.sub(r'\s*,\s*"[^"]*"@en(?=\s*[;.])', "", text, count=1)
    assert changed != text
    plan.write_text(changed, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(copy), "query", "plans", "-f", "csv"])
    assert result.exit_code == 0
    assert result.stdout.count("\n") > 1


def test_python_api_answers_from_the_last_good_build(copy: Path) -> None:
    import kgtools.api as kg
    from kgtools.errors import NonConformingDataError

    (copy / "data" / "plans" / "extra.ttl").write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    graph = kg.load(copy)
    assert graph.stale is not None
    assert graph.query("plans")
    with pytest.raises(NonConformingDataError):
        kg.load(copy, strict=True)


def test_no_previous_build_and_not_conforming_still_exits_1(tmp_path: Path, copy: Path) -> None:
    shutil.rmtree(copy / "dist")
    (copy / "data" / "plans" / "extra.ttl").write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(copy), "query", "plans"])
    assert result.exit_code == 1


# -- 9. with no project around, builds go to the per-user cache ---------------------------------
def test_no_project_around_uses_the_user_cache_not_the_current_folder(
    tmp_path: Path, copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found = find_project()
    assert not found.local  # the checkout this package is installed from
    assert found.default_out_dir().is_relative_to(tmp_path / "cache" / "kgtools")
    assert Project(copy).default_out_dir() == copy / "dist"
    result = run("query", "plans", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert list(elsewhere.iterdir()) == []
    assert (found.default_out_dir() / "build.json").is_file()


@pytest.mark.parametrize("missing", ["nonexistent/x.ttl", "a/b/c/x.ttl", "file/x.ttl"])
def test_export_into_a_missing_folder_is_refused_and_creates_nothing(
    copy: Path, tmp_path: Path, missing: str
) -> None:
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    target = tmp_path / missing
    result = run("--project", str(copy), "export", "-o", str(target))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "cannot write the export" in result.output and "mkdir -p" in result.output
    assert sorted(tmp_path.iterdir()) == before
    assert not target.parent.is_dir() or target.parent == tmp_path / "file"
