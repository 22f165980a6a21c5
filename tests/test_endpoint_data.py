"""A server's answers hold data no build has checked. Any answer with a lone surrogate (half of a
UTF-16 pair, which JSON and N-Triples can escape) is no RDF, and is refused by every command
that reads an endpoint (it was an "internal error" in every output format of `kg query`). `kg
network --endpoint` also refuses a text that no drawing or XML file can carry, or an answer
without the values the network queries always bind: exit 2, the query, row and character
named, and nothing is written. Once, a label holding U+0001 gave ill-formed SVG, GraphML and
GEXF files, and an unbound value an AssertionError.

The stand-in endpoint answers each network query with rows the test gives (SPARQL JSON, which
can carry any code point as an escape), and any other SELECT or CONSTRUCT with the raw bytes
the test gives."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import pytest
from click.testing import CliRunner

from kgtools.cli import cli
from kgtools.errors import NOT_TEXT
from kgtools.network import _checked_rows

from .conftest import SPARQL_JSON, QuietHandler, kg, loopback_server, respond

TIP = "https://w3id.org/tokyo-industry-plans/ontology#"
ID = "https://w3id.org/tokyo-industry-plans/id/"
TAITO, PLAN = ID + "local-government/131067", ID + "plan/131067/2021"


def _iri(value: str) -> dict[str, str]:
    return {"type": "uri", "value": value}


def _text(value: str, lang: str | None = None) -> dict[str, str]:
    return {"type": "literal", "value": value, **({"xml:lang": lang} if lang else {})}


def _nodes(label: str) -> list[dict[str, Any]]:
    return [
        {"node": _iri(TAITO), "class": _iri(TIP + "Municipality"), "ja": _text(label, "ja"),
         "en": _text("Taito City", "en"), "key": _text("131067")},
        {"node": _iri(PLAN), "class": _iri(TIP + "Plan"), "ja": _text("台東区の計画", "ja"),
         "en": _text("Taito plan", "en")},
    ]  # fmt: skip


def _links() -> list[dict[str, Any]]:
    return [
        {"municipality": _iri(TAITO), "code": _text("131067"), "plan": _iri(PLAN),
         "evidence": _iri(PLAN), "predicate": _iri(TIP + "theme"),
         "target": _iri(ID + "theme/startups")},
    ]  # fmt: skip


def _periods(first: str = "2021", last: str = "2023") -> list[dict[str, Any]]:
    return [
        {"municipality": _iri(TAITO), "code": _text("131067"), "municipalityJa": _text("台東区"),
         "plan": _iri(PLAN), "planJa": _text("計画"), "first": _text(first),
         "last": _text(last)},
    ]  # fmt: skip


class Endpoint(QuietHandler):
    """Answers nodes.rq, links.rq and plan-periods.rq (told apart by a variable only each
    selects) with the class's rows, and any query holding ``?raw`` with :attr:`raw` (the
    content type by what was asked for)."""

    answers: ClassVar[dict[str, list[dict[str, Any]]]] = {}
    raw: ClassVar[bytes] = b""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        text = parse_qs(body).get("query", [""])[0]
        if "?raw" in text:
            kind = "application/n-triples" if "CONSTRUCT" in text else SPARQL_JSON["Content-Type"]
            return respond(self, 200, self.raw, {"Content-Type": kind})
        name = "links" if "?evidence" in text else "periods" if "?first" in text else "nodes"
        head = re.search(r"SELECT(?: DISTINCT)?((?:\s+\?\w+)+)", text)
        variables = re.findall(r"\?(\w+)", head.group(1)) if head else []
        answer = {"head": {"vars": variables}, "results": {"bindings": self.answers[name]}}
        respond(self, 200, json.dumps(answer).encode(), SPARQL_JSON)

    do_GET = do_POST


@pytest.fixture
def endpoint() -> Iterator[str]:
    Endpoint.answers = {"nodes": _nodes("台東区"), "links": _links(), "periods": _periods()}
    with loopback_server(Endpoint) as url:
        yield url + "/sparql"


def _network(endpoint: str, out: Path, *args: str) -> Any:
    return kg("network", "--endpoint", endpoint, "-o", str(out), *args)


def test_the_stand_in_endpoint_is_drawn(endpoint: str, tmp_path: Path) -> None:
    """The check that the cases below fail for the reason they name: good rows are drawn."""
    out = tmp_path / "views"
    result = _network(endpoint, out, "--format", "svg", "--format", "graphml")
    assert result.exit_code == 0, result.output
    assert sorted(p.suffix for p in out.iterdir()) == [".graphml", ".svg"]
    result = _network(endpoint, out, "--view", "timeline", "--format", "svg")
    assert result.exit_code == 0, result.output


# Every kind of character the network check refuses (lone surrogates are refused by every
# command reading an endpoint: below).
REFUSED = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f", "\u202a", "\u202e",
           "\u2066", "\u2069", "\ufffe", "\uffff"]  # fmt: skip


# Each refused character with one format, and each format with one character: the check runs
# on the rows before any view is made, whatever the format.
@pytest.mark.parametrize(
    ("char", "fmt"),
    [(char, "svg") for char in REFUSED]
    + [("\x01", fmt) for fmt in ("graphml", "gexf", "png", "html", "json")],
    ids=lambda v: f"U+{ord(v):04X}" if len(v) == 1 else v,
)
def test_a_text_no_drawing_can_carry_is_refused_and_nothing_written(
    endpoint: str, tmp_path: Path, char: str, fmt: str
) -> None:
    Endpoint.answers["nodes"] = _nodes("台東" + char + "区")
    out = tmp_path / "views"
    result = _network(endpoint, out, "--format", fmt)
    assert result.exit_code == 2, result.output
    assert f"U+{ord(char):04X}" in result.output
    assert "nodes.rq (row 1, column 3)" in result.output and "at character 3" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("char", ["\t", "\n", "\r", " ", "\u3000", "\u00a0", "\U0001f600"])
def test_white_space_and_other_text_is_drawn(endpoint: str, tmp_path: Path, char: str) -> None:
    Endpoint.answers["nodes"] = _nodes("台東" + char + "区")
    result = _network(endpoint, tmp_path / "views", "--format", "graphml")
    assert result.exit_code == 0, result.output


def test_the_check_refuses_exactly_what_the_loader_refuses_and_lone_surrogates() -> None:
    """Every code point of the Basic Multilingual Plane: refused by the network check exactly
    when a build refuses it in a literal (errors.NOT_TEXT) or it is a lone surrogate."""
    for code in range(0x10000):
        char = chr(code)
        refused = bool(NOT_TEXT.match(char)) or 0xD800 <= code <= 0xDFFF
        try:
            _checked_rows("q", [("a" + char,)])
        except Exception as exc:  # (the type is asserted below)
            assert refused, f"U+{code:04X}: {exc}"
            assert type(exc).__name__ == "NetworkDataError"
        else:
            assert not refused, f"U+{code:04X} was let through"


def test_an_unbound_link_value_is_a_clear_error(endpoint: str, tmp_path: Path) -> None:
    for column in ("municipality", "plan", "target", "predicate"):
        links = _links()
        del links[0][column]
        Endpoint.answers["links"] = links
        result = _network(endpoint, tmp_path / "views", "--format", "svg")
        assert result.exit_code == 2, result.output
        assert "links.rq (row 1) lacks a value" in result.output, result.output


@pytest.mark.parametrize(
    ("first", "last"), [("20x1", "2023"), ("2021", ""), ("", ""), ("²⁰²¹", "2023")]
)
def test_a_period_without_years_is_a_clear_error(
    endpoint: str, tmp_path: Path, first: str, last: str
) -> None:
    Endpoint.answers["periods"] = _periods(first, last)
    result = _network(endpoint, tmp_path / "views", "--view", "timeline", "--format", "svg")
    assert result.exit_code == 2, result.output
    assert "plan-periods.rq (row 1)" in result.output, result.output


# -- lone surrogates, in any answer -------------------------------------------------------------
def _select(value: str) -> bytes:
    """A SELECT answer of one row whose ``?x`` is ``value``, as JSON writes it (a lone surrogate
    as an escape: json.dumps escapes every non-ASCII character)."""
    bindings = [{"x": {"type": "literal", "value": value}}]
    return json.dumps({"head": {"vars": ["x"]}, "results": {"bindings": bindings}}).encode()


SELECT_RAW = "SELECT ?raw WHERE { ?raw ?p ?o }"


def _query(endpoint: str, text: str, *args: str) -> Any:
    """``kg query - --endpoint ENDPOINT ARGS`` with ``text`` on stdin."""
    return CliRunner().invoke(cli, ["query", "-", "--endpoint", endpoint, *args], input=text)


CONSTRUCT_RAW = "CONSTRUCT { ?raw ?p ?o } WHERE { ?raw ?p ?o }"


@pytest.mark.parametrize("value", ["\ud800", "a\udbff", "\udc00b", "x\udfffy", "\ude00\ud83d"])
@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "md"])
def test_a_lone_surrogate_in_an_answer_is_refused(endpoint: str, value: str, fmt: str) -> None:
    Endpoint.raw = _select(value)
    result = _query(endpoint, SELECT_RAW, "-f", fmt)
    assert result.exit_code == 2, result.output
    assert "row 1 of the answer holds a lone surrogate" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_a_lone_surrogate_in_a_construct_answer_is_refused(endpoint: str) -> None:
    Endpoint.raw = b'<http://x/a> <http://x/b> "a\\uD800" .\n'
    result = _query(endpoint, CONSTRUCT_RAW)
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (_select("a\U0001f600b"), "a\U0001f600b"),  # a pair, escaped as two halves: a character
        (_select("\\ud800"), "\\ud800"),  # an escaped backslash, then text that looks like one
    ],
    ids=["pair", "backslash"],
)
def test_what_only_looks_like_a_surrogate_is_answered(
    endpoint: str, raw: bytes, shown: str
) -> None:
    assert b"\\u" in raw
    Endpoint.raw = raw
    result = _query(endpoint, SELECT_RAW, "-f", "csv")
    assert result.exit_code == 0, result.output
    assert result.output == f"x\n{shown}\n"


def test_network_refuses_a_lone_surrogate_too(endpoint: str, tmp_path: Path) -> None:
    Endpoint.answers["nodes"] = _nodes("台東\ud800区")
    out = tmp_path / "views"
    result = _network(endpoint, out, "--format", "svg")
    assert result.exit_code == 2, result.output
    assert "lone surrogate" in result.output and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


# -- answers that never end ----------------------------------------------------------------------
class Drip(QuietHandler):
    """Answers 200 and then a space every 0.1 s (JSON allows leading white space), for at most
    ten seconds or until the client hangs up: a socket timeout never fires on it."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", SPARQL_JSON["Content-Type"])
        self.end_headers()
        for _ in range(100):
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)


class Flood(QuietHandler):
    """Answers 200 and then 64 KiB of spaces at a time, 64 MiB at most (what the test caps at
    1 MiB must never be read whole)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", SPARQL_JSON["Content-Type"])
        self.end_headers()
        block = b" " * 65_536
        for _ in range(1_024):
            try:
                self.wfile.write(block)
            except OSError:
                return


def test_an_answer_that_drips_for_ever_ends_at_the_time_limit() -> None:
    """The socket's timeout bounds each wait only: the answer as a whole must end within it (kg
    query's own time limit stopped it already; kg network --endpoint and kg push waited for
    ever)."""
    from kgtools.errors import EndpointUnreachableError
    from kgtools.store.remote import RemoteStore

    with loopback_server(Drip) as url:
        started = time.monotonic()
        with pytest.raises(EndpointUnreachableError, match="no answer within 1 s"):
            RemoteStore(url + "/sparql", timeout=1).run_text(SELECT_RAW, "SELECT")
        took = time.monotonic() - started
    assert took < 5, f"stopped after {took:.1f} s"


def test_an_answer_past_the_size_limit_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    from kgtools.store import remote

    monkeypatch.setattr(remote, "MAX_ANSWER_BYTES", 1 << 20)
    with loopback_server(Flood) as url:
        result = _query(url + "/sparql", SELECT_RAW)
    assert result.exit_code == 2, result.output
    assert "the answer is larger than 1,048,576 bytes" in result.output, result.output
    assert "Traceback" not in result.output
