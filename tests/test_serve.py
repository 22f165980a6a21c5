"""`kg serve`: the SPARQL 1.1 Protocol endpoint, over a real socket with real clients."""

from __future__ import annotations

import csv
import http.client
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.namespaces import graphs_for
from kgtools.project import Project
from kgtools.query.library import QueryLibrary
from kgtools.query.results import QueryResult
from kgtools.query.run import run
from kgtools.reference.memory import MemoryStore
from kgtools.serve import (
    SD,
    SparqlServer,
    is_loopback,
    negotiate,
    xml_results,
)

from .conftest import ROOT, chromium_dom, serving

TIP = "https://w3id.org/tokyo-industry-plans/ontology#"
PLANS = f"SELECT ?plan WHERE {{ ?plan a <{TIP}Plan> }} ORDER BY ?plan"
ASK_PLAN = f"ASK {{ ?plan a <{TIP}Plan> }}"
CONSTRUCT = f"CONSTRUCT {{ ?plan a <{TIP}Plan> }} WHERE {{ ?plan a <{TIP}Plan> }}"
#: Plans in the project: the five FY2021 plans and 19 of the other approval rounds.
PLAN_COUNT = 24
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
TIMEOUT = 3.0


@pytest.fixture(scope="module")
def url(store: MemoryStore, project: Project) -> Iterator[str]:
    with serving(store, QueryLibrary(project.queries_dir), timeout=TIMEOUT) as running:
        yield running.url


def request(
    base: str,
    method: str,
    path: str = "/sparql",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request with http.client: status, headers (lower-case names), body."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        connection.close()


def get(base: str, accept: str | None = None, **params: str) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept": accept} if accept else {}
    return request(base, "GET", "/sparql?" + urlencode(params), headers=headers)


def form(
    base: str, fields: list[tuple[str, str]], accept: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if accept:
        headers["Accept"] = accept
    return request(base, "POST", body=urlencode(fields).encode(), headers=headers)


def n3_rows(rows: Any) -> list[list[str]]:
    """Rows as N3 text, so that lexical forms and datatypes are compared exactly."""
    return [[term.n3() if term is not None else "" for term in row] for row in rows]


# -- real clients -------------------------------------------------------------------------------
def test_sparqlwrapper_select_ask_construct(url: str) -> None:
    from SPARQLWrapper import JSON, POST, POSTDIRECTLY, TURTLE, SPARQLWrapper

    client = SPARQLWrapper(url + "sparql")
    client.setQuery(PLANS)
    client.setReturnFormat(JSON)
    data: Any = client.query().convert()
    plans = [b["plan"]["value"] for b in data["results"]["bindings"]]
    assert len(plans) == PLAN_COUNT and plans == sorted(plans)
    assert "truncated" not in data

    client.setMethod(POST)  # form-encoded
    client.setQuery(ASK_PLAN)
    answer: Any = client.query().convert()
    assert answer["boolean"] is True

    client.setRequestMethod(POSTDIRECTLY)  # application/sparql-query
    client.setQuery(CONSTRUCT)
    client.setReturnFormat(TURTLE)
    turtle: Any = client.query().convert()
    graph = Graph().parse(data=turtle, format="turtle")
    assert len(graph) == PLAN_COUNT and set(graph.predicates()) == {RDF.type}

    client.setReturnFormat("xml")  # SPARQLWrapper's default: RDF/XML, parsed into a Graph
    assert len(client.query().convert()) == PLAN_COUNT  # type: ignore[arg-type]


@pytest.mark.filterwarnings("error::UserWarning")  # e.g. rdflib's "weird boolean" on bad XML
def test_sparqlstore_gets_the_same_rows_as_the_embedded_query(
    url: str, project: Project, store: MemoryStore
) -> None:
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    entry = QueryLibrary(project.queries_dir).get("cashless")
    expected = run(store, entry, graphs=graphs_for(inferred=True))
    assert expected.rows, "the library query should have an answer"
    remote = Graph(store=SPARQLStore(url + "sparql"))
    answer = remote.query(entry.text)
    assert [str(v) for v in answer.vars or []] == expected.variables
    rows: Any = list(answer)
    assert [tuple(row) for row in rows] == expected.rows
    # compare lexical forms too: a Literal's == may accept an empty "false"^^xsd:boolean
    assert n3_rows(rows) == n3_rows(expected.rows)


def test_xml_results_keep_false_and_zero() -> None:
    from rdflib.query import Result

    result = QueryResult(
        "SELECT", ["b", "n", "s"], [(Literal(False), Literal(0), Literal("", lang="ja"))]
    )
    parsed: Any = Result.parse(io.BytesIO(xml_results(result).encode()), format="xml")
    assert n3_rows(parsed) == n3_rows(result.rows)


# -- formats and negotiation --------------------------------------------------------------------
def test_result_formats_by_accept(url: str) -> None:
    status, headers, body = get(url, query=PLANS)
    assert status == 200 and headers["content-type"].startswith("application/sparql-results+json")
    assert headers["x-result-truncated"] == "false"
    status, headers, body = get(url, "application/sparql-results+xml", query=PLANS)
    assert status == 200 and b"<sparql" in body
    status, headers, body = get(url, "text/csv", query=PLANS)
    assert status == 200 and next(csv.reader(io.StringIO(body.decode()))) == ["plan"]
    status, headers, body = get(url, "text/tab-separated-values", query=PLANS)
    assert status == 200 and body.decode().splitlines()[1].startswith("<https://")
    for accept, fmt in (("text/turtle", "turtle"), ("application/n-triples", "nt")):
        status, headers, body = get(url, accept, query=CONSTRUCT)
        assert status == 200 and headers["content-type"].startswith(accept)
        assert len(Graph().parse(data=body.decode(), format=fmt)) == PLAN_COUNT
    status, headers, body = get(url, "application/ld+json", query=CONSTRUCT)
    assert status == 200 and len(Graph().parse(data=body.decode(), format="json-ld")) == PLAN_COUNT


def test_unacceptable_accept_is_406(url: str) -> None:
    assert get(url, "image/png", query=PLANS)[0] == 406
    assert get(url, "application/sparql-results+json", query=CONSTRUCT)[0] == 406
    assert get(url, "text/csv;q=0, */*;q=0", query=ASK_PLAN)[0] == 406


def test_ask_as_csv_and_tsv_is_the_text_kg_query_prints(url: str) -> None:
    """One convention for a boolean in CSV/TSV (Jena's one-column table), on both sides."""
    for accept, fmt in (("text/csv", "csv"), ("text/tab-separated-values", "tsv")):
        status, _, body = get(url, accept, query=ASK_PLAN)
        printed = CliRunner().invoke(
            cli, ["--project", str(ROOT), "query", "-", "-f", fmt], input=ASK_PLAN
        )
        assert status == 200 and printed.exit_code == 0, printed.output
        assert (
            body.decode("utf-8")
            == printed.stdout  # (a "built the graph first" note goes to stderr)
            == ("?" if fmt == "tsv" else "") + ("_askResult\ntrue\n")
        )


def test_negotiate() -> None:
    offers = ["application/sparql-results+json", "text/csv"]
    assert negotiate(None, offers) == offers[0]
    assert negotiate("*/*", offers) == offers[0]
    assert negotiate("text/*", offers) == "text/csv"
    assert negotiate("text/csv, */*", offers) == "text/csv"
    assert negotiate("text/csv;q=0.5, application/sparql-results+json", offers) == offers[0]
    assert negotiate("image/png", offers) is None


def test_service_description(url: str) -> None:
    status, headers, body = request(url, "GET")
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=body.decode(), format="turtle")
    endpoint = URIRef(url + "sparql")
    assert (endpoint, RDF.type, SD.Service) in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Query) in graph


def test_library_parameters_are_bound_not_spliced(url: str, project: Project) -> None:
    text = QueryLibrary(project.queries_dir).get("municipality").text
    status, _, body = form(url, [("query", text), ("param", "code=131172")])
    assert status == 200, body
    assert json.loads(body)["results"]["bindings"]
    status, _, body = form(url, [("query", text)])
    assert status == 400 and b"code" in body


# -- read-only and refused queries --------------------------------------------------------------
def test_updates_are_403(url: str) -> None:
    insert = f"INSERT DATA {{ <urn:x:a> a <{TIP}Plan> }}"
    status, _, body = request(
        url, "POST", body=insert.encode(), headers={"Content-Type": "application/sparql-update"}
    )
    assert status == 403 and b"read-only" in body
    assert form(url, [("update", insert)])[0] == 403
    assert form(url, [("query", insert)])[0] == 403
    assert get(url, query="CLEAR ALL")[0] == 403
    assert request(url, "PUT", body=b"", headers={"Content-Length": "0"})[0] == 405
    status, _, body = get(url, query=f"ASK {{ <urn:x:a> a <{TIP}Plan> }}")
    assert json.loads(body)["boolean"] is False


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ([("query", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")], "SERVICE"),
        ([("query", "SELECT * FROM <http://127.0.0.1:9/> WHERE { ?s ?p ?o }")], "FROM"),
        ([("query", PLANS), ("default-graph-uri", "http://127.0.0.1:9/")], "default-graph-uri"),
        ([("query", PLANS), ("named-graph-uri", "http://127.0.0.1:9/")], "named-graph-uri"),
        ([("query", "SELECT ?s WHERE { ?s ?p }")], "syntax error"),
    ],
    ids=["service", "from", "default-graph-uri", "named-graph-uri", "syntax"],
)
def test_refused_queries_are_400(url: str, fields: list[tuple[str, str]], message: str) -> None:
    for status, _, body in (get(url, **dict(fields)), form(url, fields)):
        assert status == 400
        assert message in body.decode()
        assert "refused" in body.decode() or message == "syntax error"


def test_too_long_query_is_413(url: str) -> None:
    long = PLANS + " #" + "x" * 60_000
    status, _, body = request(
        url, "POST", body=long.encode(), headers={"Content-Type": "application/sparql-query"}
    )
    assert status == 413 and b"--max-query-length" in body
    assert form(url, [("query", long)])[0] == 413


# -- limits ---------------------------------------------------------------------------------------
def test_runaway_query_is_stopped_while_a_fast_one_answers(url: str) -> None:
    slow: dict[str, Any] = {}

    def send_runaway() -> None:
        started = time.perf_counter()
        slow["answer"] = get(url, query=RUNAWAY)
        slow["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=send_runaway)
    thread.start()
    time.sleep(0.5)  # the runaway query is running now
    status, _, body = get(url, query=ASK_PLAN)
    # Not a timing bound (the machine is shared): the fast answer must arrive while the slow
    # query is still running, i.e. it did not wait behind it.
    still_running = "answer" not in slow
    assert status == 200 and json.loads(body)["boolean"] is True
    assert still_running, "a fast query waited behind a slow one"
    thread.join(TIMEOUT + 10)
    status, _, body = slow["answer"]
    assert status == 503 and b"time limit of 3 s" in body
    assert TIMEOUT <= slow["seconds"] < TIMEOUT + 5


def test_truncation_is_signalled(store: MemoryStore) -> None:
    with serving(store, max_rows=2) as running:
        base = running.url
        status, headers, body = get(base, query=PLANS)
        data = json.loads(body)
        assert status == 200 and headers["x-result-truncated"] == "true"
        assert data["truncated"] is True and len(data["results"]["bindings"]) == 2
        status, headers, body = get(base, "text/csv", query=PLANS)
        assert headers["x-result-truncated"] == "true" and len(body.decode().splitlines()) == 3
        status, headers, body = get(base, query=CONSTRUCT)
        assert headers["x-result-truncated"] == "true"
        assert len(Graph().parse(data=body.decode(), format="turtle")) == 2
        status, headers, body = get(base, query=PLANS.replace("ORDER BY ?plan", "LIMIT 2"))
        assert headers["x-result-truncated"] == "false" and "truncated" not in json.loads(body)


# -- the page -------------------------------------------------------------------------------------
def test_query_page_is_offline(url: str, project: Project) -> None:
    status, headers, body = request(url, "GET", "/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in headers["content-security-policy"]
    data = re.search(r'<script type="application/json" id="examples">(.*?)</script>', page, re.S)
    assert data is not None
    examples = json.loads(data.group(1))
    assert {e["name"] for e in examples} == set(QueryLibrary(project.queries_dir).names())
    # Outside the examples (data, not markup) the page names no other host at all …
    rest = page.replace(data.group(0), "")
    assert not re.search(r"https?:|//[a-z0-9]", rest, re.I), "the page refers to another host"
    assert not re.search(r"\b(src|href)\s*=|@import|url\(", rest, re.I)
    # … and inside them every URL is an IRI of a SPARQL text, written <…>.
    assert all(m.start() >= 6 for m in re.finditer("https?://", data.group(1)))
    assert all(
        data.group(1)[m.start() - 6 : m.start()] == "\\u003c"
        for m in re.finditer("https?://", data.group(1))
    )


# -- the command ----------------------------------------------------------------------------------
@pytest.fixture
def opened(
    built: tuple[Path, BuildSummary], store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The CLI gets the already opened store (parsing graph.nq again takes seconds)."""
    summary = replace(built[1], reused=True)
    monkeypatch.setattr("kgtools.build.pipeline.open_built", lambda *_args: (store, summary))
    return str(built[0])


def test_cli_serve_prints_the_url_and_stops_on_ctrl_c(
    opened: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(self: SparqlServer, *_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(SparqlServer, "serve_forever", interrupted)
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--out-dir", opened])
    assert result.exit_code == 0, result.output
    assert re.search(r"http://127\.0\.0\.1:\d+/sparql", result.output)
    assert "WARNING" not in result.output and "stopped" in result.output


def test_cli_serve_warns_loudly_off_loopback(opened: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Binding a public address in a test would expose it; pretend 127.0.0.1 is not loopback.
    monkeypatch.setattr(SparqlServer, "serve_forever", lambda *_args: None)
    monkeypatch.setattr("kgtools.serve.is_loopback", lambda _host: False)
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--out-dir", opened])
    assert result.exit_code == 0, result.output
    assert result.output.count("WARNING") >= 3 and "no authentication" in result.output


def test_cli_serve_reports_a_taken_port(opened: str, store: MemoryStore) -> None:
    with serving(store) as running:
        base = running.url
        port = str(urlsplit(base).port)
        result = CliRunner().invoke(cli, ["serve", "--port", port, "--out-dir", opened])
    assert result.exit_code == 2
    assert "cannot listen on 127.0.0.1:" in result.output and "Traceback" not in result.output


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("::")


def test_literal_results_keep_types(url: str) -> None:
    _, _, body = get(url, query=f"SELECT (COUNT(?p) AS ?n) WHERE {{ ?p a <{TIP}Plan> }}")
    binding = json.loads(body)["results"]["bindings"][0]["n"]
    assert Literal(binding["value"], datatype=URIRef(binding["datatype"])).toPython() == PLAN_COUNT


# -- the page in a real browser -----------------------------------------------------------------
@pytest.mark.browser
def test_query_page_runs_a_query_in_a_browser(url: str, tmp_path: Path) -> None:
    """Headless Chromium loads the page, which fetches /sparql and draws the table; every other
    request (any host but loopback) would go to a closed proxy port and fail."""
    empty = tmp_path / "no-models"
    empty.mkdir()
    dom = chromium_dom(
        url + "?" + urlencode({"query": PLANS}),
        tmp_path,
        "--disable-features=NetworkTimeServiceQuerying",
        f"--optimization-guide-manifest-override={empty}",
        "--gaia-url=http://127.0.0.1:1/",
        budget_ms=10000,
    )
    assert f'data-rows="{PLAN_COUNT}"' in dom, dom[-3000:]
    assert dom.count("<td>") == PLAN_COUNT
