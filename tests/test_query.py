"""`kg query` and the Python API: names, parameters, formats, safety, time limits."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Graph, Literal

from kgtools import api
from kgtools.build import BuildSummary
from kgtools.cli import cli
from kgtools.errors import KGError
from kgtools.query import (
    ParameterError,
    QuerySyntaxError,
    UnsafeQueryError,
    check_query,
    parse_param,
    width,
)

from .conftest import LABEL_SEARCH, Canary

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
    assert list(csv.reader(io.StringIO(inferred.output)))[1] == ["6"]
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


def test_checked_query_is_prepared_from_the_same_parse(project) -> None:
    """A library query is parsed once (the safety check's parse is translated, not the text
    parsed again): the result is what rdflib's prepareQuery makes of the text."""
    from rdflib.plugins.sparql import prepareQuery

    from kgtools.query import QueryLibrary

    library = QueryLibrary(project.queries_dir)
    names = library.names()
    assert len(names) >= 19
    for name in names:
        query = library.get(name)
        reference = prepareQuery(query.text)
        assert query.prepared.algebra == reference.algebra, name
        assert query.prepared._original_args == reference._original_args, name
