"""A value, a line or an IRI of any length gives an error message of bounded length: a
300,000-character ill-typed literal, a 3,000-character bad IRI and a query of one 3 MB line
were each printed whole. The message still says where (file:line:column) and how long the
text is."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kgtools.cli import cli
from kgtools.errors import InputError, excerpt, shorten
from kgtools.load.fast import read_file
from kgtools.load.reference import load_files

from .conftest import ROOT

#: An error message is at most this long, whatever the input.
BOUND = 1_000

INTEGER = "<http://www.w3.org/2001/XMLSchema#integer>"


def _long_inputs(size: int) -> dict[str, str]:
    return {
        "ill-typed literal": f'<http://x/a> <http://x/b> "{"z" * size}"^^{INTEGER} .\n',
        "IRI with a space": f'<http://x/a b{"z" * size}> <http://x/b> "x" .\n',
        "relative IRI": f'<{"z" * size}> <http://x/b> "x" .\n',
        "syntax error after a long literal": f'<http://x/a> <http://x/b> "{"z" * size}" "y" .\n',
    }


@pytest.mark.parametrize("size", [3_000, 300_000])
@pytest.mark.parametrize("case", list(_long_inputs(1)))
@pytest.mark.parametrize("reader", ["fast", "reference"])
def test_a_long_input_gives_a_short_located_message(
    tmp_path: Path, case: str, size: int, reader: str
) -> None:
    path = tmp_path / "long.ttl"
    path.write_text(_long_inputs(size)[case], encoding="utf-8")
    with pytest.raises(InputError) as raised:
        if reader == "fast":
            read_file(path)
        else:
            load_files([path])
    message = str(raised.value)
    assert len(message) < BOUND, message[:300]
    assert f"{path}:1:" in message


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
