"""Bad input gets a located, typed error; nothing is half-loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal

from kgtools.errors import (
    IllTypedLiteralError,
    LoadErrors,
    MissingInputError,
    RDFSyntaxError,
    RelativeIRIError,
    UnsupportedFormatError,
)
from kgtools.load.fast import read_file
from kgtools.load.reference import load_files, parse_file
from kgtools.project import Project

ROOT = Path(__file__).resolve().parent.parent

GOOD = "@prefix ex: <https://w3id.org/tokyo-industry-plans/test/> .\nex:a ex:b ex:c .\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_turtle_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.ttl", GOOD + "ex:a ex:b ex:c\nex:d ex:e ex:f .\n")
    with pytest.raises(RDFSyntaxError) as info:
        load_files([path])
    assert info.value.location.path == path
    assert info.value.location.line == 4
    assert str(path) + ":4:" in str(info.value)


def test_trig_syntax_error_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.trig", GOOD + "ex:g { ex:a ex:b \n")
    with pytest.raises(RDFSyntaxError) as info:
        load_files([path])
    assert info.value.location.line is not None


def test_ntriples_syntax_error_names_its_line(tmp_path: Path) -> None:
    text = "<https://x.test/a> <https://x.test/b> <https://x.test/c> .\n" * 2
    path = write(tmp_path, "bad.nt", text + '<https://x.test/a> <https://x.test/b> "open .\n')
    with pytest.raises(RDFSyntaxError) as info:
        load_files([path])
    assert info.value.location.line == 3


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError):
        load_files([write(tmp_path, "data.jsonld", "{}")])
    with pytest.raises(MissingInputError):
        load_files([tmp_path / "nope.ttl"])


def test_invalid_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.ttl"
    path.write_bytes(GOOD.encode() + "# 計画\n".encode("shift_jis"))
    with pytest.raises(RDFSyntaxError, match="UTF-8"):
        load_files([path])


def test_all_bad_files_are_reported_together(tmp_path: Path) -> None:
    one = write(tmp_path, "one.ttl", "ex:a ex:b .\n")
    two = write(tmp_path, "two.ttl", GOOD + "ex:a ex:b ex:c\n")
    with pytest.raises(LoadErrors) as info:
        load_files([one, write(tmp_path, "ok.ttl", GOOD), two])
    assert [e.location.path for e in info.value.errors] == [one, two]


def test_many_bad_files_are_summarised_after_the_first_ones(tmp_path: Path) -> None:
    bad = [write(tmp_path, f"bad{i:03}.ttl", "ex:a ex:b .\n") for i in range(LoadErrors.SHOWN + 7)]
    with pytest.raises(LoadErrors) as info:
        load_files(bad)
    assert len(info.value.errors) == len(bad)  # every problem is kept
    lines = str(info.value).splitlines()
    assert len(lines) == LoadErrors.SHOWN + 1
    assert lines[0].startswith(f"{bad[0]}:")
    assert lines[-1] == f"… and 7 more problems ({len(bad)} in all, in {len(bad)} files)"


def test_a_failed_file_adds_nothing(tmp_path: Path) -> None:
    graph = Graph()
    path = write(tmp_path, "half.ttl", GOOD + "ex:x ex:y ex:z .\nex:broken\n")
    with pytest.raises(RDFSyntaxError):
        parse_file(path, graph)
    assert len(graph) == 0


def test_japanese_text_and_language_tags_survive(tmp_path: Path) -> None:
    path = write(tmp_path, "ja.ttl", GOOD + 'ex:a ex:label "台東区産業フェア　２０１９"@ja .\n')
    graph = load_files([path])
    labels = {(str(o), o.language) for o in graph.objects() if isinstance(o, Literal)}
    assert ("台東区産業フェア　２０１９", "ja") in labels


def test_build_locates_every_file_with_a_literal_it_refuses(
    project: Project, tmp_path: Path
) -> None:
    """The build checks all files' typed literals at once and then locates each problem: an
    ill-typed literal in one plan file and one the store would rewrite in another are both
    reported with their file and line; a file whose literals are fine is not."""
    import shutil

    from kgtools.build.pipeline import build
    from kgtools.errors import NonCanonicalLiteralError

    root = tmp_path / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(project.root / name, root / name)
    plans = root / "data" / "plans"
    ota, kita = plans / "131113-2021-ota.ttl", plans / "131172-2021-kita.ttl"
    for path, literal in ((ota, '"2021-13-45"^^xsd:date'), (kita, '"02"^^xsd:integer')):
        text = path.read_text(encoding="utf-8")
        path.write_text(
            text + f"\n<https://w3id.org/tokyo-industry-plans/id/test> rdfs:comment {literal} .\n",
            encoding="utf-8",
        )
    with pytest.raises(LoadErrors) as info:
        build(Project(root), tmp_path / "dist")
    problems = {type(e): e for e in info.value.errors}
    assert set(problems) == {IllTypedLiteralError, NonCanonicalLiteralError}
    lines = len(ota.read_text(encoding="utf-8").splitlines())
    assert problems[IllTypedLiteralError].location.path == ota
    assert problems[IllTypedLiteralError].location.line == lines
    assert problems[NonCanonicalLiteralError].location.path == kita
    assert problems[NonCanonicalLiteralError].location.line == len(
        kita.read_text(encoding="utf-8").splitlines()
    )


# -- a byte-order mark is named, not "bad syntax at 1:1" ----------------------------------------
@pytest.mark.parametrize("suffix", [".ttl", ".nt", ".trig", ".nq"])
def test_byte_order_mark_is_refused_by_name(tmp_path: Path, suffix: str) -> None:
    triple = "<https://x.test/a> <https://x.test/b> <https://x.test/c> .\n"
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + triple.encode())
    for reader in (lambda: parse_file(path, Graph()), lambda: read_file(path)):
        with pytest.raises(RDFSyntaxError, match="byte-order mark: remove it") as info:
            reader()
        assert (info.value.location.line, info.value.location.column) == (1, 1)
    path.write_bytes(triple.encode())  # without it, the same file loads
    assert len(read_file(path)) == 1


# -- no rdflib traceback before the located message ---------------------------------------------
ILL_TYPED = {
    "date-month": '"2024-13-31"^^xsd:date',
    "date-day": '"2023-02-29"^^xsd:date',
    "date-japanese": '"令和6年4月1日"^^xsd:date',
    "gyear": '"R3"^^xsd:gYear',
    "gyear-fullwidth": '"２０２１"^^xsd:gYear',
    "integer-word": '"abc"^^xsd:integer',
    "integer-fullwidth": '"１２"^^xsd:integer',
    "integer-underscore": '"1_000"^^xsd:integer',
    "decimal": '"1.2.3"^^xsd:decimal',
    "decimal-exponent": '"1e3"^^xsd:decimal',
    "boolean": '"maybe"^^xsd:boolean',
    "boolean-case": '"TRUE"^^xsd:boolean',
}


@pytest.mark.parametrize("pyshacl", [False, True], ids=["fast", "pyshacl"])
def test_ill_typed_literals_print_no_traceback(tmp_path: Path, pyshacl: bool) -> None:
    """rdflib logs a traceback when it cannot convert a literal; kg must print only its own
    located message (run as a subprocess: under pytest, logging would be captured)."""
    paths = []
    for name, literal in ILL_TYPED.items():
        path = write(
            tmp_path,
            f"{name}.ttl",
            "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n# a comment\n"
            + GOOD
            + f"ex:a ex:v {literal} .\n",
        )
        paths.append(path)
    command = [sys.executable, "-m", "kgtools", "--project", str(ROOT), "validate"]
    result = subprocess.run(
        [*command, *(["--pyshacl"] if pyshacl else []), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Failed to convert" not in result.stderr
    assert "Warning" not in result.stderr
    for path, (name, literal) in zip(paths, ILL_TYPED.items(), strict=True):
        lexical, datatype = literal.split("^^")
        column = len("ex:a ex:v ") + 1
        assert f"{path}:5:{column}: {lexical} is not a valid {datatype}" in result.stderr, name


# -- a symbolic link in data/ to a file outside the project is refused ---------------------------
def _small_project(root: Path) -> Project:
    (root / "ontology").mkdir(parents=True)
    (root / "ontology" / "tip.ttl").write_text(GOOD, encoding="utf-8")
    (root / "ontology" / "shapes.ttl").write_text(GOOD, encoding="utf-8")
    (root / "data" / "plans").mkdir(parents=True)
    (root / "data" / "plans" / "own.ttl").write_text(GOOD, encoding="utf-8")
    return Project(root)


@pytest.mark.parametrize(
    "where", ["data/outside.ttl", "data/plans/outside.ttl", "data/plans/deep/outside.nt"]
)
@pytest.mark.parametrize("target", ["elsewhere", "relative"])
def test_symlink_to_a_file_outside_the_project_is_refused(
    tmp_path: Path, where: str, target: str
) -> None:
    from click.testing import CliRunner

    from kgtools.build.inputs import input_files
    from kgtools.cli import cli
    from kgtools.errors import OutsideProjectError

    project = _small_project(tmp_path / "project")
    secret = write(tmp_path, "secret.ttl", GOOD)
    link = project.root / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret if target == "elsewhere" else os.path.relpath(secret, link.parent))
    for listing in (project.data_files, lambda: input_files(project)):
        with pytest.raises(OutsideProjectError, match="outside the project") as info:
            listing()
        assert info.value.location.path == link
    commands = [["validate"], ["validate", "--pyshacl"], ["build", "-o", str(tmp_path / "d")]]
    if link.parent == project.data_dir:  # a shared file, read with the files given
        commands.append(["validate", str(project.root / "data/plans/own.ttl")])
    for args in commands:
        result = CliRunner().invoke(cli, ["--project", str(project.root), *args])
        assert result.exit_code == 2, result.output
        assert f"{link}: a symbolic link to {secret}, outside the project" in result.output
        assert "Traceback" not in result.output


def test_symlink_inside_the_project_is_followed(tmp_path: Path) -> None:
    from kgtools.build.inputs import input_files

    project = _small_project(tmp_path / "project")
    (project.root / "data" / "alias.ttl").symlink_to(project.root / "data/plans/own.ttl")
    assert project.root / "data" / "alias.ttl" in project.data_files()
    assert project.root / "data" / "alias.ttl" in input_files(project)


# -- relative IRIs without @base would become file: IRIs: refused --------------------------------
RELATIVE = {
    "subject": ("x.ttl", GOOD + "<plan/1> ex:b ex:c .\n", (3, 1)),
    "predicate": ("x.ttl", GOOD + "ex:a <p> ex:c .\n", (3, 6)),
    "object": ("x.ttl", GOOD + "ex:a ex:b <テスト/計画> .\n", (3, 11)),
    "datatype": ("x.ttl", GOOD + 'ex:a ex:b "1"^^<my-type> .\n', (3, 16)),
    "empty": ("x.ttl", GOOD + "<> ex:b ex:c .\n", (3, 1)),
    "fragment": ("x.ttl", GOOD + "ex:a ex:b <#x> .\n", (3, 11)),
    "relative-base": ("x.ttl", "@base <id/> .\n" + GOOD, (1, 7)),
    "relative-prefix": ("x.ttl", "@prefix r: <id/> .\nr:a r:b r:c .\n", (1, 12)),
    "trig-graph": ("x.trig", GOOD + "<g> { ex:a ex:b ex:c }\n", (3, 1)),
    "ntriples": ("x.nt", "<https://x.test/a> <https://x.test/b> <c> .\n", (1, 39)),
    "nquads-graph": (
        "x.nq",
        "<https://x.test/a> <https://x.test/b> <https://x.test/c> <g> .\n",
        (1, 58),
    ),
}


@pytest.mark.parametrize("case", list(RELATIVE))
def test_relative_iris_without_base_are_refused(tmp_path: Path, case: str) -> None:
    name, text, where = RELATIVE[case]
    path = write(tmp_path, name, text)
    for reader in (lambda: parse_file(path, Graph()), lambda: read_file(path)):
        with pytest.raises(RelativeIRIError, match="add @base") as info:
            reader()
        assert (info.value.location.line, info.value.location.column) == where
    # with a base, the same text is a graph without file: IRIs
    if name.endswith((".ttl", ".trig")):
        write(tmp_path, name, "@base <https://x.test/> .\n" + text)
        assert not any("file:" in str(t) for triple in read_file(path) for t in triple)
