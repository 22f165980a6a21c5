"""The safety check and the engine read the same query; the query process has no network.

Two layers are tested apart. Layer 1 (one canonical text, checked by rdflib and run by
Oxigraph) is tested with layer 2 switched off (``no_isolation``), so a loopback canary that
sees a request means the check let a SERVICE through. Layer 2 (the forked query process is cut
off the network) is tested by running an unchecked SERVICE query directly. A control shows that
the hiding places really reach the canary when the text goes to Oxigraph unchecked.
"""

from __future__ import annotations

import http.client
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pyoxigraph
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib.plugins.sparql.parser import expandUnicodeEscapes

from kgtools import serve as serve_module
from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.errors import (
    ParameterError,
    QueryError,
    QuerySyntaxError,
    UnsafeQueryError,
    UpdateRefusedError,
)
from kgtools.query import run as query_module
from kgtools.query.library import QueryLibrary, query_from_text, user_query
from kgtools.query.params import parse_param
from kgtools.query.run import run
from kgtools.query.safety import canonical_text, check_query, plainly_safe
from kgtools.store.base import Store
from kgtools.store.oxigraph import OxigraphStore

from .conftest import Canary, examples, serving

TIP = "https://w3id.org/tokyo-industry-plans/ontology#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


@pytest.fixture(scope="module")
def out_dir(built: tuple[Path, BuildSummary]) -> str:
    return str(built[0])


@pytest.fixture
def no_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layer 2 off: the forked query process keeps the network, so only the check protects."""
    layer_two_off(monkeypatch)


def layer_two_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither ``kg query``'s nor ``kg serve``'s query processes cut themselves off."""
    for module in (query_module, serve_module):
        monkeypatch.setattr(module, "isolate_network", lambda: False)


def kg(*args: str, stdin: str | bytes | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, 1, 2), result.output
    return result


@pytest.fixture(scope="module")
def server(store: Store) -> Iterator[str]:
    with serving(store) as running:
        yield running.url


def send(base: str, method: str, path: str, body: bytes | None = None, **headers: str) -> int:
    """One request; the status (a dropped connection fails the test with its exception)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def via_get(base: str, text: str) -> int:
    return send(base, "GET", "/sparql?" + urlencode({"query": text}))


def via_form(base: str, text: str) -> int:
    body = urlencode({"query": text}).encode()
    return send(
        base, "POST", "/sparql", body, **{"Content-Type": "application/x-www-form-urlencoded"}
    )


def via_body(base: str, text: str) -> int:
    body = text.encode("utf-8")
    return send(base, "POST", "/sparql", body, **{"Content-Type": "application/sparql-query"})


# -- the hiding places --------------------------------------------------------------------------
def _hex(code: int, width: int, upper: bool) -> str:
    digits = f"{code:0{width}X}"
    return digits if upper else digits.lower()


def escape(ch: str, long_form: bool, upper: bool) -> str:
    """``ch`` as a SPARQL codepoint escape: ``\\u005C`` or ``\\U0000005c``."""
    return ("\\U" + _hex(ord(ch), 8, upper)) if long_form else ("\\u" + _hex(ord(ch), 4, upper))


def service(url: str, keyword: str = "SERVICE") -> str:
    return f"{keyword} <{url}> {{ ?x ?y ?z }}"


def comment_hiding(url: str, line_end: str, keyword: str) -> str:
    """A ``#`` comment ended by ``line_end``: SPARQL ends comments at CR or LF (§19.4)."""
    return f"SELECT * WHERE {{ # c{line_end}{service(url, keyword)}\n}}"


def string_hiding(url: str, backslash: str, quote: str, keyword: str) -> str:
    """A string holding ``backslash`` (an escape for ``\\``): expanded before parsing it
    escapes the closing quote (rdflib's reading); read as a string escape it does not
    (Oxigraph's), so the two see the string end in different places."""
    return (
        f"SELECT * WHERE {{ BIND({quote}{backslash}{quote} AS ?h) {service(url, keyword)} "
        f"# {quote} AS ?g)\n}}"
    )


KNOWN_HIDINGS = {
    "comment-cr": lambda url: comment_hiding(url, "\r", "SERVICE"),
    "comment-cr-lower": lambda url: comment_hiding(url, "\r", "service"),
    "comment-cr-silent": lambda url: comment_hiding(url, "\r", "SeRvIcE SILENT"),
    "string-u": lambda url: string_hiding(url, "\\u005C", '"', "SERVICE"),
    "string-U": lambda url: string_hiding(url, "\\U0000005c", "'", "Service"),
    "subquery-cr": lambda url: (
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ # c\r{service(url)}\n}} }} }}"
    ),
}


@pytest.mark.parametrize("case", list(KNOWN_HIDINGS))
def test_control_the_hiding_places_reach_the_canary_unchecked(canary: str, case: str) -> None:
    """Control: handed to Oxigraph unchecked, each hiding place really calls the canary, so a
    canary that stays silent below means the check held, not that the query was harmless."""
    assert len(KNOWN_HIDINGS) == 6
    text = KNOWN_HIDINGS[case](canary + "sparql")
    # the canary answers JSON-LD, not SPARQL results: an error, but the request was made
    with suppress(OSError, RuntimeError):
        list(pyoxigraph.Store().query(text))  # type: ignore[arg-type]
    assert Canary.hits, "the hiding place did not reach the canary unchecked"


@pytest.mark.parametrize("case", list(KNOWN_HIDINGS))
def test_known_hiding_places_are_refused_before_running(
    out_dir: str, canary: str, tmp_path: Path, case: str, no_isolation: None
) -> None:
    """A comment ended by CR ends there for both readers now, so the SERVICE after it is seen
    and refused; an escaped backslash now escapes the quote for both, so the SERVICE is inside
    a string for both and the query runs harmlessly."""
    text = KNOWN_HIDINGS[case](canary + "sparql")
    stdin = kg("query", "--out-dir", out_dir, "-", stdin=text.encode("utf-8"))
    path = tmp_path / "hidden.rq"
    path.write_bytes(text.encode("utf-8"))
    from_file = kg("query", "--out-dir", out_dir, str(path))
    for result in (stdin, from_file):
        if case.startswith("string"):
            assert result.exit_code == 0 and "1 row(s)" in result.output, result.output
        else:
            assert result.exit_code == 2 and "SERVICE is refused" in result.output, result.output
            with pytest.raises(UnsafeQueryError, match="SERVICE is refused"):
                check_query(text)
    assert Canary.hits == [], "the query reached the network"


@pytest.mark.parametrize("case", list(KNOWN_HIDINGS))
def test_known_hiding_places_never_reach_the_canary_from_kg_serve(
    server: str, canary: str, case: str, no_isolation: None
) -> None:
    text = KNOWN_HIDINGS[case](canary + "sparql")
    expected = 200 if case.startswith("string") else 400
    assert via_get(server, text) == via_form(server, text) == via_body(server, text) == expected
    assert Canary.hits == [], "the query reached the network"


def test_the_reported_pipe_into_kg_query_is_refused(out_dir: str, canary: str) -> None:
    """The issue's own command, through a real pipe (the test runner's stdin turns CR into LF,
    which hid the bug): refused by the check itself ("SERVICE is refused"), not stopped later
    by the missing network."""
    text = comment_hiding(canary + "x", "\r", "SERVICE")
    done = subprocess.run(
        [sys.executable, "-m", "kgtools", "query", "--out-dir", out_dir, "-"],
        input=text.encode("utf-8"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert b"SERVICE is refused" in done.stderr and b"Traceback" not in done.stderr
    assert Canary.hits == []


@st.composite
def hidden_service(draw: st.DrawFn, url: str) -> str:
    """A SERVICE call to ``url`` in one of many hiding places."""
    keyword = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in "SERVICE") + draw(
        st.sampled_from(["", " SILENT", " silent"])
    )
    kind = draw(st.sampled_from(["comment", "string", "keyword", "iri", "pname", "plain"]))
    upper = draw(st.booleans())
    long_form = draw(st.booleans())
    if kind == "comment":
        end = draw(st.sampled_from(["\r", "\r\n", "\n", "\f", "\x0b", "\u2028", "\x85", "\r\r"]))
        text = comment_hiding(url, end, keyword)
    elif kind == "string":
        quote = draw(st.sampled_from(['"', "'"]))
        text = string_hiding(url, escape("\\", long_form, upper), quote, keyword)
    elif kind == "keyword":  # the keyword itself spelled with an escape
        at = draw(st.integers(0, len("SERVICE") - 1))
        spelled = keyword[:at] + escape(keyword[at], long_form, upper) + keyword[at + 1 :]
        text = f"SELECT * WHERE {{ {service(url, spelled)} }}"
    elif kind == "iri":  # the endpoint IRI with an escaped character (or an escaped ">")
        target = url.replace("sparql", "sp" + escape("a", long_form, upper) + "rql")
        text = f"SELECT * WHERE {{ {keyword} <{target}> {{ ?x ?y ?z }} }}"
    elif kind == "pname":  # the endpoint as a prefixed name with an escaped local part
        local = escape("x", long_form, upper)
        text = f"PREFIX e: <{url}> SELECT * WHERE {{ {keyword} e:{local} {{ ?x ?y ?z }} }}"
    else:
        text = f"SELECT * WHERE {{ {service(url, keyword)} }}"
    if draw(st.booleans()):  # inside a sub-query
        text = f"SELECT * WHERE {{ {{ {text} }} }}"
    if draw(st.booleans()):  # Windows line ends around it
        text = text.replace("\n", "\r\n")
    return text


def canary_property(**options: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A property over queries drawn inside the test (the hiding place names the canary's port,
    a fixture shared by every example), with hypothesis ``options`` (``max_examples``)."""
    health = list(HealthCheck)
    return lambda test: settings(deadline=None, suppress_health_check=health, **options)(
        given(data=st.data())(test)
    )


@contextmanager
def hidden_from_the_check(
    data: st.DataObject, canary: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A generated query hiding a SERVICE call to ``canary``, run in the block with layer 2 off
    (only the check protects); when the block ends, the canary must have seen no request."""
    layer_two_off(monkeypatch)
    Canary.hits = []
    text = data.draw(hidden_service(canary + "sparql"))
    yield text
    assert Canary.hits == [], f"reached the network: {text!r}"


@canary_property(max_examples=examples(30))
def test_generated_hiding_places_never_reach_the_canary_from_kg_query(
    out_dir: str, canary: str, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hidden_from_the_check(data, canary, monkeypatch) as text:
        kg("query", "--out-dir", out_dir, "-", stdin=text.encode("utf-8"))  # exit 0 or 2


@canary_property(max_examples=examples(25))
def test_generated_hiding_places_never_reach_the_canary_from_kg_serve(
    server: str, canary: str, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hidden_from_the_check(data, canary, monkeypatch) as text:
        statuses = {via_get(server, text), via_form(server, text), via_body(server, text)}
        assert statuses <= {200, 400, 403}, (text, statuses)


@canary_property(max_examples=examples(25))
def test_generated_hiding_places_in_a_library_query_never_reach_the_canary(
    store: Store, canary: str, data: st.DataObject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library query may skip rdflib's parse (``plainly_safe``): not when it hides SERVICE."""
    with (
        hidden_from_the_check(data, canary, monkeypatch) as text,
        _library(text) as library,
        suppress(UnsafeQueryError, QuerySyntaxError),
    ):
        run(store, library.get("hidden"), timeout=10)


@contextmanager
def _library(text: str) -> Iterator[QueryLibrary]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "hidden.rq").write_bytes(text.encode("utf-8"))
        yield QueryLibrary(Path(folder))


# -- layer 2: the query process has no network ------------------------------------------------
def test_the_query_process_cannot_reach_the_network(canary: str, tmp_path: Path) -> None:
    """An unchecked SERVICE query (made without the check) runs in a process cut off the
    network: the canary sees nothing and the failure is a clean error."""
    text = f"SELECT * WHERE {{ {service(canary + 'sparql')} }}"
    unchecked = query_from_text(text, tmp_path / "unchecked.rq")
    with pytest.raises(QueryError, match="the query failed"):
        run(OxigraphStore(), unchecked, timeout=20)
    assert Canary.hits == [], "the query process reached the network"


def test_control_without_isolation_the_unchecked_query_reaches_the_canary(
    canary: str, tmp_path: Path, no_isolation: None
) -> None:
    text = f"SELECT * WHERE {{ {service(canary + 'sparql')} }}"
    unchecked = query_from_text(text, tmp_path / "unchecked.rq")
    with pytest.raises(QueryError):
        run(OxigraphStore(), unchecked, timeout=20)
    assert Canary.hits, "the control did not reach the canary: the test above proves nothing"


def test_the_query_process_cannot_reach_the_network_with_no_time_limit(
    canary: str, tmp_path: Path
) -> None:
    """``timeout=None`` (the Python API) used to run in this process, without the isolation."""
    text = f"SELECT * WHERE {{ {service(canary + 'sparql')} }}"
    unchecked = query_from_text(text, tmp_path / "unchecked.rq")
    with pytest.raises(QueryError):
        run(OxigraphStore(), unchecked, timeout=None)
    assert Canary.hits == []


@pytest.mark.parametrize("isolated", [True, False], ids=["cut-off", "control"])
def test_kg_serves_query_processes_cannot_reach_the_network(
    server: str, canary: str, monkeypatch: pytest.MonkeyPatch, isolated: bool
) -> None:
    """``kg serve`` runs each query in a child of its own (not through :func:`run`): that child
    cuts itself off too. With the check bypassed (an unchecked SERVICE query), the canary sees
    nothing; the control, with the child left on the network, shows the request would arrive."""
    monkeypatch.setattr(
        serve_module, "user_query", lambda text, source: query_from_text(text, Path(source))
    )
    if not isolated:
        layer_two_off(monkeypatch)
    status = via_get(server, f"SELECT * WHERE {{ {service(canary + 'sparql')} }}")
    if isolated:
        assert status >= 400 and Canary.hits == [], "kg serve's query process reached the network"
    else:
        assert Canary.hits, "the control did not reach the canary: the test above proves nothing"


# -- the canonical text -------------------------------------------------------------------------
_PIECES = st.sampled_from(
    [
        "SELECT",
        " * ",
        "WHERE",
        " { ",
        " } ",
        "?x",
        '"',
        "'",
        '"""',
        "#",
        "\\",
        "\\u",
        "\\U",
        "005C",
        "0041",
        "00000041",
        "\r",
        "\n",
        "\r\n",
        "\f",
        "\u2028",
        "<",
        ">",
        "SERVICE",
        "tip:",
        "日本",
    ]
)


@settings(max_examples=examples(300), deadline=None)
@given(pieces=st.lists(_PIECES, max_size=16), tail=st.text(max_size=8))
def test_canonical_text_is_a_fixed_point_for_both_readings(pieces: list[str], tail: str) -> None:
    """What is checked and run has no CR and nothing rdflib would expand again, so rdflib's
    own escape expansion leaves it as it is and Oxigraph reads the same characters."""
    text = "".join(pieces) + tail
    try:
        canonical = canonical_text(text)
    except QuerySyntaxError:
        return
    assert "\r" not in canonical and "\x00" not in canonical
    assert expandUnicodeEscapes(canonical) == canonical
    assert canonical_text(canonical) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('SELECT ("\\uD800" AS ?x) {}', ":1:10: SPARQL syntax error: \\uD800"),
        ('SELECT ("\\U00110000" AS ?x) {}', "beyond U+10FFFF"),
        ('SELECT ("\\u0000" AS ?x) {}', "a surrogate, NUL"),
        ('SELECT ("a\x00" AS ?x) {}', "NUL character"),
        ('SELECT ("a\udc80" AS ?x) {}', ":1:11: SPARQL syntax error: the query holds a lone"),
        ('SELECT ("\\u005Cu0041" AS ?x) {}', "'\\\\u0041' is left after"),
        ('SELECT ("\\U005C" AS ?x) {}', "'\\\\U005C' is left after"),
        ('SELECT ("\\u00410042" AS ?x) {}', None),  # \u0041 then "0042": legal, "A0042"
    ],
)
def test_bad_codepoint_escapes_are_syntax_errors(text: str, message: str | None) -> None:
    if message is None:
        assert user_query(text).text == 'SELECT ("A0042" AS ?x) {}'
        return
    with pytest.raises(QuerySyntaxError) as caught:
        user_query(text)
    assert message in str(caught.value)


def test_plainly_safe_refuses_text_that_is_not_canonical() -> None:
    assert not plainly_safe("SELECT * WHERE { # c\rSERVICE <http://x/> { ?s ?p ?o }\n}")
    assert plainly_safe("SELECT * WHERE { ?s ?p ?o }")


# -- updates hidden by a carriage return -------------------------------------------------------
UPDATES = [
    "INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "LOAD <{url}>",
    "CLEAR ALL",
    "DROP GRAPH <urn:x:g>",
]


@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_updates_behind_a_comment_are_refused_as_updates(
    store: Store, canary: str, update: str, line_end: str
) -> None:
    text = f"# an update{line_end}{update.replace('{url}', canary)}"
    with pytest.raises(UpdateRefusedError):
        user_query(text)
    with serving(store) as running:
        base = running.url
        assert via_get(base, text) == 403
        assert via_body(base, text) == 403
    assert Canary.hits == []


# -- prefixes -----------------------------------------------------------------------------------
def test_project_prefixes_need_no_declaration(out_dir: str) -> None:
    body = "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a tip:Plan ; rdfs:label ?l }"
    declared = kg(
        "query", "--out-dir", out_dir, "-", "-f", "csv",
        stdin=f"PREFIX tip: <{TIP}>\nPREFIX rdfs: <{RDFS}>\n{body}",
    )  # fmt: skip
    bare = kg("query", "--out-dir", out_dir, "-", "-f", "csv", stdin=body)
    assert declared.exit_code == 0 and bare.exit_code == 0, bare.output
    assert declared.output == bare.output
    assert bare.output.split() == ["n", "24"]


@pytest.mark.parametrize("prefix", ["foo", "ex", "dc", "Tip"])
def test_an_unknown_prefix_is_a_user_error_with_the_fix(
    out_dir: str, store: Store, prefix: str
) -> None:
    text = f"SELECT ?p WHERE {{ ?p a {prefix}:Plan }}"
    result = kg("query", "--out-dir", out_dir, "-", stdin=text)
    assert result.exit_code == 2
    assert f"unknown prefix {prefix}: — add PREFIX {prefix}: <…>" in result.output
    assert "tip:" in result.output  # the project's prefixes are offered
    with serving(store) as running:
        base = running.url
        assert via_get(base, text) == 400
        assert via_form(base, text) == 400


def test_added_prefixes_keep_the_header_and_line_numbers(tmp_path: Path) -> None:
    text = "# title: t\n# description: d\nSELECT ?p WHERE {\n  ?p a tip:Plan .\n  ?p ?q\n}\n"
    path = tmp_path / "bad.rq"
    with pytest.raises(QuerySyntaxError) as without_prefix:
        user_query(text.replace("tip:Plan", "<urn:x:Plan>"), str(path))
    with pytest.raises(QuerySyntaxError) as with_prefix:
        user_query(text, str(path))
    where = str(without_prefix.value).split(": ")[0]
    assert where == f"{path}:5:3" and str(with_prefix.value).startswith(where + ":")
    good = user_query(text.replace("?p ?q\n", "?p ?q ?r\n"), str(path))
    assert good.title == "t" and good.description == "d"
    assert good.text.splitlines()[2].startswith("PREFIX tip: <")


# -- inputs that used to crash ------------------------------------------------------------------
@pytest.mark.parametrize("count", [85, 400])
def test_long_flat_queries_run(store: Store, count: int) -> None:
    patterns = " ".join(f"?s <urn:x:p{i}> ?o{i} ." for i in range(count))
    query = user_query(f"SELECT * WHERE {{ {patterns} }}")
    if count <= 85:
        assert run(store, query, timeout=20).rows == []


def test_many_optionals_are_a_clean_answer(out_dir: str, store: Store) -> None:
    """1,000 OPTIONALs overflowed rdflib's recursion limit (a traceback; a dropped connection
    in the server): now an answer, or the time limit."""
    text = "SELECT * WHERE { ?a ?b ?c " + " OPTIONAL { ?a ?b ?c }" * 1000 + " }"
    result = kg("query", "--out-dir", out_dir, "-", "--timeout", "1", stdin=text)
    assert result.exit_code == 0 or "time limit" in result.output, result.output
    with serving(store, timeout=1) as running:
        base = running.url
        assert via_form(base, text) in (200, 503)


def test_deep_nesting_is_still_refused() -> None:
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        user_query("SELECT * WHERE " + "{" * 3000 + "}" * 3000)
    with pytest.raises(QuerySyntaxError, match="nested too deeply"):
        user_query("SELECT * WHERE { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }")


@pytest.mark.parametrize(
    "data",
    [b"SELECT * WHERE { ?s ?p \xff }", b"# caf\xe9\nSELECT * {}", b"\xfe\xff\x00S"],
)
def test_non_utf8_queries_are_user_errors(out_dir: str, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "latin1.rq"
    path.write_bytes(data)
    for result in (
        kg("query", "--out-dir", out_dir, str(path)),
        kg("query", "--out-dir", out_dir, "-", stdin=data),
    ):
        assert result.exit_code == 2
        assert "is not UTF-8 text" in result.output
    bad = next(i for i in range(len(data)) if not _decodes(data[: i + 1]))
    line = data[:bad].count(b"\n") + 1
    assert f"{path}:{line}:" in kg("query", "--out-dir", out_dir, str(path)).output


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.reason == "unexpected end of data"
    return True


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e300", "0", "-1", "abc", "86401"])
@pytest.mark.parametrize("command", ["query", "serve", "push"])
def test_bad_timeouts_are_usage_errors(out_dir: str, command: str, value: str) -> None:
    args = {
        "query": ["query", "--out-dir", out_dir, "-"],
        "serve": ["serve", "--out-dir", out_dir, "--port", "0"],
        "push": ["push", "--out-dir", out_dir, "--endpoint", "http://127.0.0.1:9"],
    }[command]
    result = kg(*args, "--timeout", value, stdin="SELECT * {}")
    assert result.exit_code == 2
    assert "--timeout" in result.output


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 1e300, 0, -1])
def test_bad_timeouts_are_refused_by_the_library(store: Store, value: float) -> None:
    with pytest.raises(QueryError, match="bad time limit"):
        run(store, user_query("SELECT * WHERE { ?s ?p ?o } LIMIT 1"), timeout=value)


_QUERY_PIECES = st.sampled_from(
    [
        "SELECT * WHERE {",
        "}",
        " ?s ?p ?o ",
        " . ",
        "SERVICE <http://x.test/> { ?a ?b ?c }",
        "sErViCe",
        "ſervice",
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "\n",
        "\r",
        "# ",
        '"""',
        '"',
        "'''",
        " FROM <urn:g> ",
        "\\u0053",
        "ERVICE",
        " BIND(1 AS ?x) ",
        "{",
    ]
)


@settings(max_examples=examples(300), deadline=None)
@given(pieces=st.lists(_QUERY_PIECES, min_size=1, max_size=12))
def test_plainly_safe_never_passes_what_the_check_refuses(pieces: list[str]) -> None:
    """The library shortcut is sound: a canonical text it passes is never an update, SERVICE
    or a dataset clause for the full check."""
    try:
        text = canonical_text("".join(pieces))
    except QuerySyntaxError:
        return
    if not plainly_safe(text):
        return
    try:
        check_query(text)
    except UnsafeQueryError:
        pytest.fail(f"plainly_safe passed an unsafe query: {text!r}")
    except QuerySyntaxError:
        pass


@pytest.mark.parametrize("text", ["\n", "# only a comment\r", "PREFIX a: <urn:a:>\n", " \t"])
def test_an_empty_query_is_a_syntax_error_not_an_update(text: str) -> None:
    """rdflib reads an empty text as an empty update request: that is no update to refuse."""
    with pytest.raises(QuerySyntaxError):
        user_query(text)


def test_a_library_query_may_leave_out_the_project_prefixes(store: Store, tmp_path: Path) -> None:
    """The library shortcut (no rdflib parse) must not skip adding the declarations."""
    (tmp_path / "bare.rq").write_text(
        "# title: bare\n# description: about tip:Plan\n"
        "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a tip:Plan }\n",
        encoding="utf-8",
    )
    query = QueryLibrary(tmp_path).get("bare")
    assert query.title == "bare"
    assert [int(row[0]) for row in run(store, query, timeout=20).rows] == [24]  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["<0>", "<a/b>", "<#x>", "<//host/x>", "<:x>"])
def test_relative_iris_in_parameters_are_refused(value: str) -> None:
    """``<0>`` was bound as a relative IRI, which Oxigraph could not read (a "syntax error")."""
    with pytest.raises(ParameterError, match="not an absolute IRI"):
        parse_param(f"q={value}")
