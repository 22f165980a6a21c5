"""Every console command, run in-process; exit codes; errors without tracebacks; docs agree."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.project import Project

from .conftest import ROOT

NOT_CONFORMING_PLAN = """\
@prefix tip: <https://w3id.org/tokyo-industry-plans/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@base <https://w3id.org/tokyo-industry-plans/id/> .

<plan/131067/2030> a tip:Plan ;
    rdfs:label "テスト計画"@ja , "Test plan"@en ;
    dcterms:title "テスト計画"@ja , "Test plan"@en ;
    dcterms:source <source/approved-plans-overview-r3-r5> .
"""


def run(*args: str, **kwargs: object) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)  # type: ignore[arg-type]


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert isinstance(cli, click.Group)
    names = sorted(cli.commands)
    assert names == [
        "bench",
        "build",
        "diff",
        "docs",
        "export",
        "ingest",
        "network",
        "push",
        "query",
        "search",
        "serve",
        "synth",
        "validate",
    ]
    for name in names:
        result = run(name, "--help")
        assert result.exit_code == 0
        assert cli.commands[name].help
        assert f"kg {name}" in readme, f"README does not document `kg {name}`"
    top = run("--help")
    assert all(name in top.output for name in names)


def test_exit_codes_are_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"\|\s*`?{code}`?\s*\|", readme), f"exit code {code} not in README"


def test_build_writes_dist_and_reuses_it(tmp_path: Path, built: tuple[Path, BuildSummary]) -> None:
    # Reuse: the session's build is current, so building into it again does nothing.
    reused = run("build", "-o", str(built[0]))
    assert reused.exit_code == 0, reused.output
    assert "up to date" in reused.output
    # --force: a full build even though nothing changed, with every output and the summary.
    out = tmp_path / "dist"
    shutil.copytree(built[0], out)
    forced = run("build", "-o", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert "up to date" not in forced.output
    assert "validation: conforms" in forced.output
    assert "tip:Initiative" in forced.output
    for name in ("asserted.ttl", "inferred.ttl", "validation.txt", "build.json"):
        assert (out / name).is_file()
    assert (out / json.loads((out / "build.json").read_text())["store"]).is_dir()
    assert (out / "network" / "bipartite.html").is_file()


def test_validate_project_data_conforms() -> None:
    result = run("validate")
    assert result.exit_code == 0, result.output
    assert "conforms: yes" in result.output


def test_validate_reports_nonconforming_file_by_focus_node(tmp_path: Path) -> None:
    bad = tmp_path / "new-plan.ttl"
    bad.write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    result = run("validate", str(bad))
    assert result.exit_code == 1
    assert "conforms: no" in result.output
    assert "plan/131067/2030" in result.output
    assert "tip:municipality" in result.output
    assert "ja: " in result.output and "en: " in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<a> <b> .\n", ":1:"),
        (
            "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n<https://x.test/a> "
            '<https://x.test/b> "2021-13-40"^^xsd:date .\n',
            ":2:",
        ),
    ],
    ids=["syntax-error", "ill-typed-literal"],
)
def test_bad_input_exits_2_with_location_and_no_traceback(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "broken.ttl"
    path.write_text(text, encoding="utf-8")
    result = run("validate", str(path))
    assert result.exit_code == 2
    assert f"{path}{expected}" in result.output
    assert "Traceback" not in result.output


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "missing.ttl"))
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_unknown_project_folder_exits_2(tmp_path: Path) -> None:
    result = run("--project", str(tmp_path), "validate")
    assert result.exit_code == 2
    assert "not a project folder" in result.output


def test_failed_build_keeps_the_previous_dist(
    tmp_path: Path, project: Project, built: tuple[Path, BuildSummary]
) -> None:
    copy = tmp_path / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(project.root / folder, copy / folder)
    out = tmp_path / "dist"
    shutil.copytree(built[0], out)  # the same inputs, so this is the copy's current build
    assert "up to date" in run("--project", str(copy), "build", "-o", str(out)).output
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (copy / "data" / "plans" / "extra.ttl").write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    result = run("--project", str(copy), "build", "-o", str(out))
    assert result.exit_code == 1
    assert "does not conform" in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_python_dash_m_kgtools_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kgtools", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.startswith("kg, version ")


def test_console_script_is_installed() -> None:
    kg = shutil.which("kg", path=str(Path(sys.executable).parent))
    assert kg, "the `kg` console script is not installed beside this Python"
    done = subprocess.run([kg, "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "build" in done.stdout


# every fifth shape case (test_shacl_fast holds the validator to pySHACL on all of them; here
# the command's loader, labels and report are compared, at ~3 s of pySHACL per case)
VALIDATE_CASES = sorted((Path(__file__).parent / "shapes").glob("*.ttl"))[::5]


@pytest.mark.parametrize(
    "case", [None, "not-conforming-plan", *VALIDATE_CASES], ids=lambda c: getattr(c, "stem", c)
)
def test_validate_gives_pyshacls_report(tmp_path: Path, case: Path | str | None) -> None:
    """`kg validate` (the compiled shapes over the fast reader) prints, byte for byte, what
    `kg validate --pyshacl` (pySHACL over rdflib graphs) prints, with the same exit code."""
    args: list[str] = []
    if case == "not-conforming-plan":
        path = tmp_path / "new-plan.ttl"
        path.write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
        args = [str(path)]
    elif isinstance(case, Path):
        args = [str(case)]
    fast = run("validate", *args)
    reference = run("validate", "--pyshacl", *args)
    assert "Traceback" not in fast.output
    assert (fast.exit_code, fast.output) == (reference.exit_code, reference.output)
    assert fast.exit_code == (0 if case is None else 1)


def test_report_label_does_not_depend_on_the_order_labels_come_in() -> None:
    """A node with two Japanese labels (itself a violation) is shown under the same one whatever
    order a graph, an index or a store gives them in."""
    from kgtools.validation import report_label

    labels = [("渋沢栄一翁", "ja"), ("Shibusawa", "en"), ("渋沢栄一", "ja")]
    assert report_label(labels) == report_label(reversed(labels)) == "渋沢栄一"
    assert report_label([("b", "en"), ("a", None)]) == "a"
    assert report_label([]) is None


def test_validate_report_is_the_same_in_every_process() -> None:
    """The report for a node with two Japanese labels was once chosen by set order, which the
    string hash seed changes between processes (seeds 1 and 2 gave different reports)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    outputs = {
        subprocess.run(
            [sys.executable, "-m", "kgtools", "validate", "tests/shapes/labels.ttl"],
            capture_output=True,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert "two-ja>  「渋沢栄一」" in outputs.pop()


def test_every_command_that_reads_the_build_takes_out_dir_and_strict() -> None:
    """The build folder defaults to the project's dist/ (not the current folder's), and every
    read command can refuse to answer from an old build while the data does not conform."""
    readers = ["docs", "export", "network", "push", "query", "search", "serve"]
    for name in readers:
        options = {opt for p in cli.commands[name].params for opt in getattr(p, "opts", [])}
        assert {"--out-dir", "--strict"} <= options, name
        out_dir = next(p for p in cli.commands[name].params if "--out-dir" in p.opts)
        assert out_dir.default is None and "project's root" in (out_dir.help or ""), name
    build = next(p for p in cli.commands["build"].params if "--out" in p.opts)
    assert build.default is None


@pytest.mark.parametrize(
    "plan",
    sorted((ROOT / "data" / "plans").glob("*.ttl"), key=lambda p: p.name)[::4],
    ids=lambda p: p.name,
)
def test_validate_a_plan_file_with_the_rounds_it_refers_to(plan: Path) -> None:
    """A plan file alone validates: its approval's round (data/rounds/) is shared context, as
    the sources and local governments are."""
    result = run("--project", str(ROOT), "validate", str(plan))
    assert result.exit_code == 0, result.output
    assert "conforms: yes" in result.output


def _path_parameters() -> list[tuple[str | None, click.Parameter]]:
    """Every path the command line takes (kg's own and each command's), as (command, param)."""
    from kgtools.cli import UserPath

    found: list[tuple[str | None, click.Parameter]] = [
        (None, p) for p in cli.params if isinstance(p.type, UserPath)
    ]
    assert isinstance(cli, click.Group)
    for name, command in sorted(cli.commands.items()):
        found += [(name, p) for p in command.params if isinstance(p.type, UserPath)]
    return found


@pytest.mark.parametrize(
    ("command", "param"), _path_parameters(), ids=lambda v: getattr(v, "name", v) or "kg"
)
def test_an_empty_path_is_refused_not_taken_for_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str | None, param: click.Parameter
) -> None:
    """click reads '' as '.': `kg docs -o "$UNSET"` wrote its pages among the files of the
    folder it ran in. Every path option and argument, of every command (added later too)."""
    monkeypatch.chdir(tmp_path)
    given = [param.opts[0], ""] if isinstance(param, click.Option) else [""]
    args = (
        [*given, "query", "cq/plans"]
        if command is None
        else [
            "--project",
            str(ROOT),
            command,
            *given,
            *(["cq/plans"] if command == "query" else []),
        ]
    )
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "the path is empty" in result.output and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_every_command_takes_some_path() -> None:
    """(the test above must not run over nothing)"""
    commands = {command for command, _ in _path_parameters()}
    assert {None, "build", "docs", "export", "network", "validate", "query"} <= commands


#: What each command needs besides the option under test (a build to read is given to the
#: commands that read one, so that none builds the project).
_REQUIRED: dict[str, list[str]] = {
    "query": ["cq/plans"],
    "search": ["EC"],
    "ingest": ["sources/approved-plans-overview-r3-r5.txt", "--round", "fy2021"],
    "push": ["--endpoint", "http://127.0.0.1:1/sparql"],
}


def _value_options() -> list[tuple[str, click.Option]]:
    """Every option of every command that takes a value other than a path (paths: above)."""
    from kgtools.cli import UserPath

    assert isinstance(cli, click.Group)
    return [
        (name, p)
        for name, command in sorted(cli.commands.items())
        for p in command.params
        if isinstance(p, click.Option) and not p.is_flag and not isinstance(p.type, UserPath)
    ]


@pytest.mark.parametrize(
    ("command", "option"), _value_options(), ids=lambda v: getattr(v, "name", v)
)
def test_an_empty_value_is_refused_not_read_as_not_given(
    built: tuple[Path, BuildSummary], tmp_path: Path, command: str, option: click.Option
) -> None:
    """`--endpoint "$UNSET"` answered from the local build instead of the server; every option
    that takes a value (of every command, added later too) refuses an empty one."""
    reads = {p.name for p in cli.commands[command].params} & {"out_dir", "out", "output_dir"}
    where: list[str] = []
    if "out_dir" in reads and option.name != "out_dir":
        where = ["--out-dir", str(built[0])]
    elif reads & {"out", "output_dir"} and command != "build":
        flag = "--out" if "out" in reads else "--output-dir"
        where = [flag, str(tmp_path / "new")]
    required = [] if option.opts[0] in _REQUIRED.get(command, []) else _REQUIRED.get(command, [])
    args = ["--project", str(ROOT), command, *required, *where, option.opts[0], ""]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
