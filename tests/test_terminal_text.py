"""Text from the data reaches people's terminals shown, never run: tables, reports and messages
write each character a terminal acts on (C0 and C1 controls, DEL, the bidirectional overrides
and isolates) as ``\\uXXXX``; the formats for programs (CSV, TSV, JSON) keep every character,
which click stripped (ANSI sequences) whenever the output was not a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from rdflib import Literal

from kgtools.cli import cli
from kgtools.errors import printable
from kgtools.network import NodeStats, stats_table
from kgtools.query.results import QueryResult
from kgtools.search import Hit, format_hits

from .conftest import ROOT

#: Every character a terminal acts on.
ACTED_ON = [
    *map(chr, range(0x00, 0x20)),
    *map(chr, range(0x7F, 0xA0)),
    *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2066, 0x206A)),
]
HOSTILE = "a\x1b[31mred\x1b]0;title\x07 \u202eevil\x00 \x9b2J"


@pytest.mark.parametrize("ch", ACTED_ON, ids=lambda c: f"U+{ord(c):04X}")
def test_each_character_a_terminal_acts_on_is_written_as_its_code(ch: str) -> None:
    assert printable(f"x{ch}y") == f"x\\u{ord(ch):04X}y"
    assert printable(f"x{ch}y", lines=True) == ("x\ny" if ch == "\n" else f"x\\u{ord(ch):04X}y")


@given(st.text())
def test_any_other_text_is_shown_as_it_is(text: str) -> None:
    shown = printable(text)
    assert not any(ch in shown for ch in ACTED_ON)
    if not any(ch in text for ch in ACTED_ON):
        assert shown == text  # (Japanese, full-width spaces, emoji, combining marks …)


def test_a_query_table_shows_and_csv_tsv_json_keep(tmp_path: Path) -> None:
    """The same answer in every format, through `kg query` (CliRunner's output is not a
    terminal, where click stripped the ANSI sequences)."""
    query = 'SELECT ?x WHERE { BIND("a\\u001B[31mred\\u0007 \\u202Eevil" AS ?x) }'
    raw = "a\x1b[31mred\x07 \u202eevil"
    args = ["--project", str(ROOT), "query", "-", "-f"]
    out = {
        fmt: CliRunner().invoke(cli, [*args, fmt], input=query).stdout
        for fmt in ("table", "md", "csv", "tsv", "json")
    }
    for fmt in ("table", "md"):
        assert "a\\u001B[31mred\\u0007 \\u202Eevil" in out[fmt], out[fmt]
        assert not any(ch in out[fmt] for ch in ACTED_ON if ch != "\n")
    assert out["csv"].splitlines()[1] == raw
    assert raw in out["tsv"]
    assert json.loads(out["json"])["results"]["bindings"][0]["x"]["value"] == raw


def test_search_and_statistics_tables_show_the_codes() -> None:
    hit = Hit("e", "plan", "131067", "台東区", "FY2021–FY2023", "label", "ja", HOSTILE, 0)
    table = format_hits([hit], "table")
    assert printable(HOSTILE) in table and "\x1b" not in table and "\u202e" not in table
    assert json.loads(format_hits([hit], "json"))[0]["match"] == HOSTILE
    row = NodeStats("e", "plan\x1b[2J", HOSTILE, "x\u2066y", 1, 1, 0.0, 0)
    stats = stats_table([row], label_width=200)
    assert not any(ch in stats for ch in ACTED_ON if ch != "\n")
    assert "plan\\u001B[2J" in stats and "x\\u2066y" in stats


def test_a_message_and_a_report_show_the_codes(tmp_path: Path) -> None:
    """A path holding an ESC sequence, in an error message: named by its codes."""
    path = tmp_path / "x\x1b[2J.ttl"
    result = CliRunner().invoke(cli, ["--project", str(ROOT), "validate", str(path)])
    assert result.exit_code == 2
    assert "x\\u001B[2J.ttl" in result.stderr and "\x1b" not in result.output
    table = QueryResult("SELECT", ["v"], [(Literal(HOSTILE),)]).serialize("table")
    assert "\x1b" not in table and printable(HOSTILE) in table


#: What a literal may not hold: every character a terminal acts on but tab and line breaks,
#: and the noncharacters that no XML can hold.
NOT_TEXT = [ch for ch in ACTED_ON if ch not in "\t\n\r"] + ["\ufffe", "\uffff"]


def _written(ch: str, how: str) -> str:
    if how == "raw":
        return ch
    if how == "\\u":
        return f"\\u{ord(ch):04X}"
    return f"\\U{ord(ch):08x}"


def _case(tmp_path: Path, ch: str, how: str) -> Path:
    path = tmp_path / f"u{ord(ch):04x}-{len(how)}.ttl"
    quote = '"""' if ord(ch) % 2 else '"'
    path.write_text(
        f'# a comment may hold \\u0007\n<http://x/a> <http://x/b> "ok" ,\n'
        f"    {quote}a{_written(ch, how)}b{quote} .\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("how", ["raw", "\\u", "\\U"])
def test_a_literal_holding_what_is_not_text_is_refused_where_it_is(
    tmp_path: Path, how: str
) -> None:
    """Such a character reached the terminal from a table or a report, and made the network's
    SVG, GraphML and GEXF ill-formed XML. Each one, written raw or escaped, in a short or a
    long string, is refused at its literal by both readers (the check is in the reading both
    share, before either parses)."""
    from kgtools.errors import ControlCharacterError
    from kgtools.load.fast import read_file
    from kgtools.load.reference import load_files

    for ch in NOT_TEXT:
        path = _case(tmp_path, ch, how)
        for read in (read_file, lambda p: load_files([p])):
            with pytest.raises(ControlCharacterError) as raised:
                read(path)
            assert str(raised.value).startswith(f"{path}:3:5: the literal holds U+{ord(ch):04X}")


@pytest.mark.parametrize("reader", ["fast", "pyshacl"])
def test_kg_validate_names_the_character_and_shows_none(tmp_path: Path, reader: str) -> None:
    args = ["--project", str(ROOT), "validate", *(["--pyshacl"] if reader == "pyshacl" else [])]
    for ch in ("\x1b", "\u202e", "\x9b"):
        path = _case(tmp_path, ch, "raw")
        result = CliRunner().invoke(cli, [*args, str(path)])
        assert result.exit_code == 2, result.output
        assert f"{path}:3:5: the literal holds U+{ord(ch):04X}" in result.stderr
        assert not any(c in result.output for c in ACTED_ON if c != "\n")


@pytest.mark.parametrize("text", ["tab\there", "line\\nbreak", "a\\\\b and \\\\f", "é—…ＳＤＧｓ"])
def test_tab_line_breaks_and_escaped_backslashes_are_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "ok.ttl"
    path.write_text(f'<http://x/a> <http://x/b> "{text}" .\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(ROOT), "validate", str(path)])
    assert "U+" not in result.output, result.output
