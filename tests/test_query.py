"""`kg query` and the Python API: names, parameters, formats, safety, time limits."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph, Literal

from kgtools import api
from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.errors import KGError, ParameterError, QuerySyntaxError, UnsafeQueryError
from kgtools.query.params import parse_param
from kgtools.query.results import width
from kgtools.query.safety import check_query
from kgtools.store.base import Store

from .conftest import LABEL_SEARCH, Canary, examples

ORG_COUNT = """\
PREFIX org: <http://www.w3.org/ns/org#>
SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?o a org:Organization }
"""


@pytest.fixture(scope="module")
def out_dir(built: tuple[Path, BuildSummary]) -> str:
    return str(built[0])


def kg(out_dir: str, *args: str, stdin: str | None = None) -> Result:
    result = CliRunner().invoke(cli, ["query", "--out-dir", out_dir, *args], input=stdin)
    assert "Traceback" not in result.output
    return result


def test_stdin_query_with_and_without_entailments(out_dir: str) -> None:
    inferred = kg(out_dir, "-", "-f", "csv", stdin=ORG_COUNT)
    asserted = kg(out_dir, "-", "-f", "csv", "--asserted", stdin=ORG_COUNT)
    assert inferred.exit_code == 0 and asserted.exit_code == 0, inferred.output
    # 東京都, the 17 municipalities of the rounds and the foundation that runs PiO PARK
    assert list(csv.reader(io.StringIO(inferred.output)))[1] == ["19"]
    assert list(csv.reader(io.StringIO(asserted.output)))[1] == ["0"]


def test_query_file_with_parameter_in_every_format(out_dir: str, tmp_path: Path) -> None:
    path = tmp_path / "search.rq"
    path.write_text(LABEL_SEARCH, encoding="utf-8")
    outputs = {
        f: kg(out_dir, str(path), "--param", "q=北区", "-f", f)
        for f in ("table", "csv", "tsv", "json", "md")
    }
    assert all(r.exit_code == 0 for r in outputs.values()), outputs
    data = json.loads(outputs["json"].output)
    assert data["head"]["vars"] == ["plan", "label"]
    values = {b["label"]["value"] for b in data["results"]["bindings"]}
    assert values == {"北区地域産業活性化計画"}
    assert outputs["tsv"].output.splitlines()[0] == "?plan\t?label"
    assert '"北区地域産業活性化計画"@ja' in outputs["tsv"].output
    assert outputs["md"].output.startswith("| plan | label |")
    table = [line for line in outputs["table"].output.splitlines() if line.startswith(("|", "+"))]
    assert len({width(line) for line in table}) == 1, "table columns must line up"


def test_injection_strings_are_bound_as_one_literal(out_dir: str, tmp_path: Path) -> None:
    path = tmp_path / "search.rq"
    path.write_text(LABEL_SEARCH, encoding="utf-8")
    for hostile in ('Alice" . ?x ?p ?o } #', "a\\b'c", "line\nbreak", "x" * 100_000):
        result = kg(out_dir, str(path), "--param", f"q={hostile}", "-f", "csv")
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == ["plan,label"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "needs --param q="),
        (("--param", "q=x", "--param", "other=1"), "unknown parameter(s) other"),
        (("--param", "=x"), "bad --param"),
        (("--param", "q=<not an iri>"), "bad IRI"),
    ],
    ids=["missing", "unknown", "malformed", "bad-iri"],
)
def test_parameter_errors(
    out_dir: str, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "search.rq"
    path.write_text(LABEL_SEARCH, encoding="utf-8")
    result = kg(out_dir, str(path), *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{ ?a ?b ?c OPTIONAL {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }} }}",
        "SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
        "LOAD <{url}>",
        "LOAD <file:///etc/passwd>",
        "SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}",
        "SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "INSERT DATA {{ <{url}> <{url}> <{url}> }}",
        "CLEAR ALL",
    ],
    ids=[
        "service",
        "service-silent-in-optional",
        "service-in-subquery",
        "load-http",
        "load-file",
        "from",
        "from-named",
        "insert",
        "clear",
    ],
)
def test_unsafe_queries_are_refused_before_running(
    out_dir: str, canary: str, template: str
) -> None:
    text = template.format(url=canary)
    result = kg(out_dir, "-", stdin=text)
    assert result.exit_code == 2
    assert "refused" in result.output
    with pytest.raises(UnsafeQueryError):
        check_query(text)
    assert Canary.hits == [], "the query reached the network"


def test_syntax_error_points_at_line_and_column(out_dir: str) -> None:
    result = kg(out_dir, "-", stdin="SELECT ?s\nWHERE { ?s ?p }\n")
    assert result.exit_code == 2
    assert "<stdin>:2:" in result.output
    with pytest.raises(QuerySyntaxError):
        check_query("SELEKT * WHERE { ?s ?p ?o }")


def test_runaway_query_is_stopped_by_the_time_limit(out_dir: str) -> None:
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    result = kg(out_dir, "-", "--timeout", "1", stdin=runaway)
    assert result.exit_code == 2
    assert "time limit of 1 s" in result.output


def test_construct_prints_turtle(out_dir: str) -> None:
    text = "CONSTRUCT { ?p a ?c } WHERE { ?p a ?c } LIMIT 3"
    result = kg(out_dir, "-", stdin=text)
    assert result.exit_code == 0
    assert len(Graph().parse(data=result.output, format="turtle")) == 3


def test_unknown_library_name_and_missing_argument(out_dir: str) -> None:
    assert "no query named 'no-such-query'" in kg(out_dir, "no-such-query").output
    assert kg(out_dir).exit_code == 2


def test_parse_param_types() -> None:
    assert parse_param("code=131067") == ("code", Literal("131067"))
    with pytest.raises(ParameterError):
        parse_param("no-equals-sign")


def test_python_api(built: tuple[Path, BuildSummary], monkeypatch: pytest.MonkeyPatch) -> None:
    graph = api.load(out_dir=built[0])
    rows = graph.query(LABEL_SEARCH, q="日野市")
    assert [str(r["label"]) for r in rows] == ["日野市地域産業活性化計画"]
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(KGError, match="pip install pandas"):
        graph.dataframe(LABEL_SEARCH, q="日野市")


def test_checked_query_is_prepared_from_the_same_parse(
    project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library query is parsed at most once: one the screen passes is not parsed until rdflib
    must run it (then by ``prepareQuery`` itself, cached by text), and one the screen sends to
    the full check is prepared from that check's parse, not parsed again — and is what
    ``prepareQuery`` makes of the text. (Comparing the screened ones with ``prepareQuery`` too
    compared prepareQuery with itself: ~4 s of pyparsing for nothing.)"""
    from rdflib.plugins.sparql import parser, prepareQuery, processor

    from kgtools.memo import BoundedMemo
    from kgtools.query import safety
    from kgtools.query.library import QueryLibrary
    from kgtools.query.safety import plainly_safe

    monkeypatch.setattr(safety, "_CHECKED", BoundedMemo(512))  # as in a new process
    library = QueryLibrary(project.queries_dir)
    names = library.names()
    assert len(names) >= 19
    screened = {n: plainly_safe(library.path(n).read_text(encoding="utf-8")) for n in names}
    assert any(screened.values()) and not all(screened.values()), screened  # both paths run
    parses: list[str] = []
    real = parser.parseQuery
    for module in (parser, processor):  # (prepareQuery calls the processor's own name)
        monkeypatch.setattr(module, "parseQuery", lambda text: parses.append(text) or real(text))
    for name in names:
        parses.clear()
        query = library.get(name)
        if screened[name]:
            assert parses == [], f"{name} was parsed before it was run"
            continue
        assert len(parses) == 1, name
        prepared = query.prepared
        assert len(parses) == 1, f"{name} was parsed again to be prepared"
        reference = prepareQuery(query.text)
        assert prepared.algebra == reference.algebra, name
        assert prepared._original_args == reference._original_args, name


def test_a_text_that_passed_the_check_is_not_parsed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process checks a text once: the second time it gets the same text to run (the
    project's prefix declarations included) without rdflib's parser. A refused text is refused
    every time, each message naming the source it came from."""
    from rdflib.plugins.sparql import parser

    from kgtools.errors import UpdateRefusedError
    from kgtools.memo import BoundedMemo
    from kgtools.query import safety

    monkeypatch.setattr(safety, "_CHECKED", BoundedMemo(512))
    parses: list[str] = []
    real = parser.parseQuery
    monkeypatch.setattr(parser, "parseQuery", lambda text: parses.append(text) or real(text))
    text = "SELECT ?s WHERE { ?s a tip:Plan }"
    first, parse = safety.checked_text(text, "first.rq")
    assert parse is not None and first.startswith("PREFIX tip: <") and len(parses) == 2
    again, no_parse = safety.checked_text(text, "again.rq")
    assert (again, no_parse, len(parses)) == (first, None, 2)
    update = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    for source in ("a.rq", "b.rq"):
        with pytest.raises(UpdateRefusedError, match=rf"^{re.escape(source)}: updates"):
            safety.checked_text(update, source)


def test_the_memo_forgets_the_least_recently_used_first() -> None:
    from kgtools.memo import BoundedMemo

    memo: BoundedMemo[str, int] = BoundedMemo(size=2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("a", 3)  # a key kept again takes one place, as the most recently used
    assert (memo.get("b"), memo.get("a")) == (2, 3)  # a read makes "a" the most recent
    memo.put("c", 4)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (3, None, 4)
    memo.clear()
    assert (memo.get("a"), memo.get("c")) == (None, None)


# Texts that the screen must send to the full check: each spells a refused form in a way a
# plain keyword search could miss (escapes, Unicode case, comments that end early, long
# strings that hide a comment line).
SCREEN_EVASIONS = {
    "lower case": "select * where { service <http://x/> { ?s ?p ?o } }",
    "codepoint escape": "SELECT * WHERE { \\u0053ERVICE <http://x/> { ?s ?p ?o } }",
    "long codepoint escape": "SELECT * \\U00000046ROM <http://x/> WHERE { ?s ?p ?o }",
    "long s": "SELECT * WHERE { \u017fERVICE <http://x/> { ?s ?p ?o } }",
    "comment ended by CR": "# note\rSELECT * FROM <http://x/> WHERE { ?s ?p ?o }",
    "long string then comment line": (
        'SELECT * WHERE { BIND("""a\n# b""" AS ?x) SERVICE <http://x/> { ?s ?p ?o } }'
    ),
    "single-quoted long string": (
        "SELECT * WHERE { BIND('''a\n# b''' AS ?x) SERVICE <http://x/> { ?s ?p ?o } }"
    ),
    "update": "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }",
    "keyword after a comment on the same line": "SELECT * { ?s ?p ?o } # x\nFROM <http://x/>",
}


@pytest.mark.parametrize("name", sorted(SCREEN_EVASIONS))
def test_screen_sends_every_refused_form_to_the_full_check(name: str) -> None:
    from kgtools.query.safety import plainly_safe

    text = SCREEN_EVASIONS[name]
    assert not plainly_safe(text)
    with pytest.raises((UnsafeQueryError, QuerySyntaxError)):
        check_query(text)


def test_screen_skips_comment_lines_only_where_they_cannot_be_in_a_string() -> None:
    from kgtools.query.safety import plainly_safe

    assert plainly_safe("# drop, from, service: words in a comment\nSELECT * { ?s ?p ?o }")
    assert plainly_safe("SELECT * {\n  # we drop nothing here\n  ?s ?p ?o }")
    # with a long string in the text, a '#' line after the first query line is kept
    assert not plainly_safe('SELECT * {\n BIND("""x\n  # drop\n""" AS ?y) }')
    assert plainly_safe('# drop\nSELECT * { BIND("""x""" AS ?y) }')


@pytest.mark.parametrize("with_limit", [True, False])
def test_library_query_with_a_syntax_error_is_reported_where_it_is(
    store: Store, tmp_path: Path, with_limit: bool
) -> None:
    """A screened library query is parsed first by the store; its syntax error still names the
    file, line and column (rdflib's full check says where), in and out of the forked child."""
    from kgtools.query.library import QueryLibrary
    from kgtools.query.run import run
    from kgtools.query.safety import plainly_safe

    text = "# title: broken\nSELECT ?s\nWHERE { ?s ?p }\n"
    assert plainly_safe(text)
    (tmp_path / "broken.rq").write_text(text, encoding="utf-8")
    query = QueryLibrary(tmp_path).get("broken")
    with pytest.raises(QuerySyntaxError, match=r"broken\.rq:3:"):
        run(store, query, timeout=10.0 if with_limit else None)


def test_store_only_syntax_error_keeps_the_store_message(store: Store, tmp_path: Path) -> None:
    """Text rdflib accepts but the store refuses is still a QuerySyntaxError (not a crash)."""
    from kgtools.query.library import QueryLibrary
    from kgtools.query.run import run

    # Oxigraph refuses a variable bound twice by BIND in one group; rdflib lets it through.
    text = "SELECT * WHERE { BIND(1 AS ?x) BIND(2 AS ?x) }\n"
    check_query(text)  # rdflib accepts it
    (tmp_path / "twice.rq").write_text(text, encoding="utf-8")
    with pytest.raises(QuerySyntaxError, match=r"twice\.rq: SPARQL syntax error: "):
        run(store, QueryLibrary(tmp_path).get("twice"), timeout=None)


def test_library_query_on_the_store_does_not_load_rdflib_sparql(out_dir: str) -> None:
    """``kg query cashless`` on the built store never imports rdflib's SPARQL parser (a third
    of a second of the command), because the screen spares the library query its parse."""
    import subprocess

    code = (
        "import sys\n"
        "from kgtools.cli import main\n"
        f"sys.argv = ['kg', 'query', 'cashless', '--out-dir', {out_dir!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "assert 'rdflib.plugins.sparql.parser' not in sys.modules\n"
        "assert 'pyparsing' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "キャッシュレス決済端末導入支援補助事業" in done.stdout


def test_a_query_opens_the_built_store_once(
    out_dir: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kg query`` reads the built store only in the query's forked child, which opens its
    own handle: the command opens the store once, not once to find it and again to query it.
    (Each open of the RocksDB folder starts ~100 threads and takes 20–40 ms.)"""
    import pyoxigraph

    log = tmp_path / "opens.txt"
    real = pyoxigraph.Store.read_only

    def counted(path: str) -> pyoxigraph.Store:
        with log.open("a", encoding="utf-8") as out:  # (the forked child writes here too)
            out.write(f"{os.getpid()}\n")
        return real(path)

    monkeypatch.setattr(pyoxigraph.Store, "read_only", staticmethod(counted))
    result = kg(out_dir, "cashless", "-f", "csv")
    assert result.exit_code == 0 and "キャッシュレス決済端末導入支援補助事業" in result.output
    opens = log.read_text(encoding="utf-8").split()
    assert len(opens) == 1 and opens != [str(os.getpid())], opens  # one open, in the child


@settings(max_examples=examples(300), deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_width_counts_terminal_columns(text: str) -> None:
    """Wide and full-width characters take two columns, combining ones none, any other one (an
    ASCII control character too) one — the ASCII shortcut and the cache change nothing."""
    import unicodedata

    expected = sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )
    assert width(text) == expected


def test_width_examples() -> None:
    assert width("abc\t") == 4
    assert width("北区ｶﾞ") == 4 + 2  # two wide, two half-width
    assert width("Ａ") == 2  # full-width
    assert width("e\u0301") == 1  # a combining accent
