"""A value, a line or an IRI of any length gives an error message of bounded length: a
300,000-character ill-typed literal, a 3,000-character bad IRI and a query of one 3 MB line
were each printed whole. The message still says where (file:line:column) and how long the
text is."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kgtools.cli import cli
from kgtools.errors import excerpt, shorten
from kgtools.project import Project

from .conftest import ROOT

#: An error message is at most this long, whatever the input.
BOUND = 1_000

INTEGER = "<http://www.w3.org/2001/XMLSchema#integer>"
TIP = "https://w3id.org/tokyo-industry-plans/ontology#"


def _long_inputs(size: int) -> dict[str, str]:
    return {
        "ill-typed literal": f'<http://x/a> <http://x/b> "{"z" * size}"^^{INTEGER} .\n',
        "IRI with a space": f'<http://x/a b{"z" * size}> <http://x/b> "x" .\n',
        "relative IRI": f'<{"z" * size}> <http://x/b> "x" .\n',
        "syntax error after a long literal": f'<http://x/a> <http://x/b> "{"z" * size}" "y" .\n',
        "schema statement": f"<http://x/{'z' * size}> a <http://www.w3.org/2002/07/owl#Class> .\n",
        "unknown ontology term": f'<http://x/a> <{TIP}{"z" * size}> "x" .\n',
    }


@pytest.mark.parametrize("size", [300_000])
@pytest.mark.parametrize("case", list(_long_inputs(1)))
@pytest.mark.parametrize("reader", ["fast", "pyshacl"])
def test_a_long_input_gives_a_short_located_message(
    tmp_path: Path, case: str, size: int, reader: str
) -> None:
    """`kg validate FILE` (the build's reader, or with --pyshacl rdflib's): exit 2, and the
    message says where and is short."""
    path = tmp_path / "long.ttl"
    path.write_text(_long_inputs(size)[case], encoding="utf-8")
    args = ["--project", str(ROOT), "validate", *(["--pyshacl"] if reader == "pyshacl" else [])]
    result = CliRunner().invoke(cli, [*args, str(path)])
    assert result.exit_code == 2, result.output[:300]
    assert len(result.output) < BOUND, result.output[:300]
    assert f"{path}:1:" in result.output and "Traceback" not in result.output


def test_a_query_of_one_long_line_is_shown_around_its_error(tmp_path: Path) -> None:
    query = tmp_path / "long.rq"
    query.write_text('SELECT * WHERE { ?s ?p "' + "z" * 3_000_000 + '" ?x ?y . }')
    result = CliRunner().invoke(cli, ["--project", str(ROOT), "query", str(query)])
    assert result.exit_code == 2
    assert len(result.output) < BOUND and "SPARQL syntax error" in result.output
    assert "…" in result.output and result.output.rstrip().endswith('" ?x ?y . }')
    assert ":1:3000027:" in result.output


@pytest.mark.parametrize("column", [None, 1, 60, 500, 2_999, 3_000])
def test_excerpt_keeps_the_column_in_view(column: int | None) -> None:
    line = "".join(chr(0x3041 + i % 80) for i in range(3_000))
    shown = excerpt(line, column)
    assert len(shown.strip("…")) == 120
    assert line[(column or 1) - 1] in shown
    assert shown.startswith("…") == ((column or 1) > 61)
    assert excerpt("short", 3) == "short"


def test_shorten_says_how_long_the_whole_was() -> None:
    assert shorten("x" * 80) == "x" * 80
    assert shorten("北" * 1_000) == "北" * 80 + "… (1,000 characters)"


@pytest.mark.parametrize("size", [10, 100_000])
def test_a_literal_is_found_as_written_without_a_pattern_its_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """The literal is found where it is written with its datatype (escaped or not), not in a
    comment nor where it has another datatype; and no regular expression as long as the
    literal is compiled to find it (one group a character took two minutes at 300,000)."""
    import re

    from kgtools.load import checks

    lexical = 'a"\n' + "é" * size
    escaped = "a\\u0022\\n" + "\\u00E9" * size  # the same lexical form, as escapes
    path = tmp_path / "x.ttl"
    path.write_text(
        f'# <http://x/a> <http://x/b> "{escaped}"^^{INTEGER} .\n'
        f'<http://x/a> <http://x/b> """{lexical}"""^^<http://x/other> .\n'
        f'<http://x/a> <http://x/c> "{escaped}"^^{INTEGER} .\n',
        encoding="utf-8",
    )
    lengths: list[int] = []
    compile_ = re.compile

    def recorded(pattern: str, *args: object, **kwargs: object) -> re.Pattern[str]:
        lengths.append(len(pattern))
        return compile_(pattern, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checks.re, "compile", recorded)
    datatype = INTEGER.strip("<>")
    assert checks._literal_position(path, lexical, datatype) == (4, 27)  # (line 2 holds a "\\n")
    assert checks._literal_position(path, lexical, "http://x/unknown") == (2, 27)
    assert checks._literal_position(path, lexical + "!", datatype) == (None, None)
    assert lengths and max(lengths) < 500


def test_the_report_shortens_a_long_value_and_keeps_a_review_note_whole(
    project: Project, tmp_path: Path
) -> None:
    """`kg validate` of a plan holding a review note (skos:editorialNote, shown as a value) of
    5,000 characters beside one of a sentence: the long one is cut with its length, the
    sentence is shown whole."""
    plan = project.data_dir / "plans" / "131067-2021-taito.ttl"
    text = plan.read_text(encoding="utf-8")
    subject = "<https://w3id.org/tokyo-industry-plans/id/plan/131067/2021>"
    sentence = "kg ingest: check this label against the source and then delete this note"
    extra = (
        f'\n{subject} <http://www.w3.org/2004/02/skos/core#editorialNote> "{"長" * 5_000}"@ja ,'
        f' "{sentence}"@en .\n'
    )
    path = tmp_path / plan.name
    path.write_text(text + extra, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(ROOT), "validate", str(path)])
    assert result.exit_code == 1, result.output
    assert f'value: "{sentence}"@en' in result.stdout
    long_line = '      value: "' + "長" * 999 + "… (5,005 characters)"  # ("長…"@ja: 5,005)
    assert long_line in result.stdout.splitlines()
    assert max(map(len, result.stdout.splitlines())) < 1_100
