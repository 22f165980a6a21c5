"""Remote triplestores, for real, on OpenLink Virtuoso: `kg push` through its Graph Store endpoint
with HTTP Digest, `kg query` and `kg network` with `--endpoint`, compared with the embedded store,
and each Virtuoso quirk named in a test.

The server is Debian's ``virtuoso-opensource`` (``virtuoso-t``), started once for the module with
a private ini: its database in a temporary folder, HTTP and ISQL on free loopback ports,
``DirsAllowed`` limited to that folder. It is stopped by its PID. Without ``virtuoso-t`` the tests
fail with a message in CI (``CI`` or ``KG_REQUIRE_VIRTUOSO`` set; ``.ci/run`` sets the latter) and
skip with that message elsewhere.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Hashable, Iterator
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyparsing import ParseResults
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.stores.sparqlconnector import SPARQLConnector

from kgtools import remote as remote_module
from kgtools.namespaces import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from kgtools.queries import prepared_query
from kgtools.remote import (
    VIRTUOSO_STORE,
    RemoteStore,
    TruncatedResultError,
    drop_update,
    exchange,
    move_update,
    resolve_endpoints,
    staging_iri,
    update,
)
from kgtools.store import MemoryStore

from .conftest import assert_isomorphic, examples, loopback_server
from .test_remote import (
    CQ,
    CQ_NAMES,
    GRAPHS,
    SINGLE_GRAPH,
    XSD,
    XSD_INTEGER,
    _free_port,
    _params,
    _rows,
    kg,
    out_dir,  # noqa: F401 - the fixture, shared
)

VIRTUOSO = shutil.which("virtuoso-t")
INSTALL = (
    "Virtuoso is missing (virtuoso-t): install Debian's virtuoso-opensource as root, e.g. "
    "`echo 'virtuoso-opensource-7 virtuoso-opensource-7/dba-password password dba' | "
    "debconf-set-selections` (and the same for dba-password-again), then "
    "`DEBIAN_FRONTEND=noninteractive apt-get install -y virtuoso-opensource` (.ci/run does this)"
)
#: A fresh Virtuoso database has the user dba with password dba; the server listens on loopback.
DBA = {"KG_ENDPOINT_USER": "dba", "KG_ENDPOINT_PASSWORD": "dba"}
XSD_BOOLEAN = URIRef(XSD + "boolean")
ROWS_CAP = 10_000  # Virtuoso's default ResultSetMaxRows, kept in the test ini
INI = """\
[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{isql}
DisableUnixSocket = 1
CheckpointInterval = 0
DirsAllowed = {db}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
ServerThreads = 4
MaxClientConnections = 4
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = {cap}
MaxQueryExecutionTime = 60
"""


#: The ISQL address of each test server, by its base URL (for granting rights as dba).
ISQL: dict[str, str] = {}


def _isql(base: str, statement: str) -> None:
    """Run one SQL statement on the test server as dba (Debian's isql-vt)."""
    isql = shutil.which("isql-vt")
    assert isql is not None, INSTALL
    done = subprocess.run(
        [isql, ISQL[base], "dba", "dba", f"EXEC={statement};"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0 and "Error" not in done.stdout + done.stderr, done.stdout


def _missing(message: str) -> None:
    if os.environ.get("CI") or os.environ.get("KG_REQUIRE_VIRTUOSO"):
        pytest.fail(message)
    pytest.skip(message)


def _answers(url: str) -> bool:
    try:
        exchange("GET", url + "/sparql?query=ASK%7B%7D", timeout=2)
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Virtuoso server on free loopback ports with its own database; yields its base URL."""
    if VIRTUOSO is None:
        _missing(INSTALL)
    assert VIRTUOSO is not None
    folder = tmp_path_factory.mktemp("virtuoso")
    http, isql = _free_port(), _free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(INI.format(db=folder, isql=isql, http=http, cap=ROWS_CAP), encoding="utf-8")
    log = (folder / "server.out").open("wb")
    process = subprocess.Popen(
        [VIRTUOSO, "+foreground", "+configfile", str(ini)],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{http}"
    ISQL[url] = f"127.0.0.1:{isql}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                text = (folder / "server.out").read_text(errors="replace")[-2000:]
                pytest.fail(f"virtuoso-t did not start (ini {ini}):\n{text}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()  # Virtuoso shuts down cleanly on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def pushed(virtuoso: str, out_dir: str) -> str:  # noqa: F811
    """The built graph pushed into its three named graphs through the Digest endpoints, with
    only ``--endpoint …/sparql-auth`` given; yields the query endpoint."""
    endpoint = virtuoso + "/sparql-auth"
    result = kg("push", "--endpoint", endpoint, "--out-dir", out_dir, env=DBA)
    assert result.exit_code == 0, result.output
    assert "counts verified" in result.output
    return virtuoso + "/sparql"


def _counts(endpoint: str, graphs: list[URIRef]) -> list[int]:
    remote = RemoteStore(endpoint, timeout=30)
    return [remote.count(g) for g in graphs]


def _graphs_named(endpoint: str, suffix: str) -> list[str]:
    rows = RemoteStore(endpoint, timeout=30).run_text(
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", "SELECT"
    )
    return sorted(str(r[0]) for r in rows if str(r[0]).endswith(suffix))  # type: ignore[index]


def _put(base: str, graph: str, triples: Graph) -> None:
    """Upload ``triples`` into ``graph`` as kg push does (GSP with Digest as dba)."""
    url = base + "/sparql-graph-crud-auth?" + urllib.parse.urlencode({"graph": graph})
    body = triples.serialize(format="nt", encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        for k, v in DBA.items():
            env.setenv(k, v)
        exchange("PUT", url, data=body, headers={"Content-Type": "application/n-triples"})


def _update(base: str, text: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        for k, v in DBA.items():
            env.setenv(k, v)
        update(base + "/sparql-auth", text)


# -- push ---------------------------------------------------------------------------------------
def test_push_keeps_the_named_graphs_and_the_counts(pushed: str, store: MemoryStore) -> None:
    assert _counts(pushed, GRAPHS) == [store.count(g) for g in GRAPHS]
    assert _graphs_named(pushed, "/kg-push-staging") == [], "a push leaves no staging graph"
    assert_isomorphic(store.graph(ONTOLOGY_GRAPH), RemoteStore(pushed).graph(ONTOLOGY_GRAPH))


def test_push_twice_replaces_through_staging(
    pushed: str,
    out_dir: str,  # noqa: F811
    store: MemoryStore,
) -> None:
    base = pushed.removesuffix("/sparql")
    before = _counts(pushed, GRAPHS)
    args = ("push", "--endpoint", base + "/sparql-auth", "--out-dir", out_dir)
    asserted = store.count(ONTOLOGY_GRAPH) + store.count(DATA_GRAPH)
    inferred = store.count(INFERRED_GRAPH)
    for flag, expected in (
        ("--asserted-only", asserted),
        ("--only-inferred", inferred),
        ("--inferred", asserted + inferred),
    ):
        result = kg(*args, "--graph", SINGLE_GRAPH, flag, env=DBA)
        assert result.exit_code == 0, result.output
        assert _counts(pushed, [URIRef(SINGLE_GRAPH)]) == [expected], f"after push {flag}"
    assert _counts(pushed, GRAPHS) == before, "a single-graph push touched other graphs"
    assert _graphs_named(pushed, "/kg-push-staging") == []


def test_push_via_update_where_the_graph_store_is_not_used(
    pushed: str,
    out_dir: str,  # noqa: F811
    store: MemoryStore,
) -> None:
    """`--via update`: INSERT DATA in chunks of 1,000 (the default there), then the same count
    and MOVE; a chunk of 5,000 hits Virtuoso's SPARQL compiler limit and replaces nothing."""
    base = pushed.removesuffix("/sparql")
    everything = store.count(ONTOLOGY_GRAPH) + store.count(DATA_GRAPH) + store.count(INFERRED_GRAPH)
    args = ("push", "--endpoint", base + "/sparql-auth", "--via", "update", "--out-dir", out_dir,
            "--graph", SINGLE_GRAPH)  # fmt: skip
    for extra in ((), ("--chunk-size", "700")):
        result = kg(*args, *extra, env=DBA)
        assert result.exit_code == 0, result.output
        assert _counts(pushed, [URIRef(SINGLE_GRAPH)]) == [everything]
    assert everything > 1_000, "the default chunk must be exercised more than once"
    before = _counts(pushed, GRAPHS)
    named = kg("push", "--endpoint", base + "/sparql-auth", "--via", "update", "--out-dir",
               out_dir, env=DBA)  # fmt: skip
    assert named.exit_code == 0, named.output
    assert _counts(pushed, GRAPHS) == before == [store.count(g) for g in GRAPHS]
    remote = RemoteStore(pushed)
    assert_isomorphic(store.graph(ONTOLOGY_GRAPH), remote.graph(ONTOLOGY_GRAPH))
    too_big = kg(*args, "--asserted-only", "--chunk-size", "5000", env=DBA)
    message = " ".join(too_big.output.split())
    assert too_big.exit_code == 2, too_big.output
    assert "Virtuoso 37000 Error SP03" in message and "nothing was replaced" in message
    assert _counts(pushed, [URIRef(SINGLE_GRAPH)]) == [everything]
    assert _graphs_named(pushed, "/kg-push-staging") == []


def test_a_wrong_password_is_refused_and_never_shown(
    pushed: str,
    out_dir: str,  # noqa: F811
) -> None:
    base = pushed.removesuffix("/sparql")
    before = _counts(pushed, GRAPHS)
    for password in ("wrong", "dba2", "d%62a", "日本語のパスワード"):
        result = kg("push", "--endpoint", base + "/sparql-auth", "--out-dir", out_dir,
                    env={**DBA, "KG_ENDPOINT_PASSWORD": password})  # fmt: skip
        assert result.exit_code == 2, result.output
        assert "HTTP 401" in result.output and "were refused" in result.output
        assert password not in result.output
        assert "nothing was replaced" in " ".join(result.output.split())
    assert _counts(pushed, GRAPHS) == before
    anonymous = kg("push", "--endpoint", base + "/sparql-auth", "--out-dir", out_dir)
    assert anonymous.exit_code == 2 and "set KG_ENDPOINT_USER" in anonymous.output
    # without -auth the Graph Store endpoint runs as Virtuoso's SPARQL user, who may not write
    plain = kg("push", "--endpoint", pushed, "--out-dir", out_dir)
    assert plain.exit_code == 2, plain.output
    assert "HTTP 403" in plain.output and "Permission denied" in plain.output


def test_a_move_of_existing_graphs_replaces_and_a_missing_source_is_not_an_error(
    virtuoso: str,
) -> None:
    """What the staging rests on, measured: MOVE replaces the target. Unlike Oxigraph, Virtuoso
    7.2.5 does not refuse a MOVE whose source graph does not exist (it empties the target), so
    kg push counts every staging graph before it sends the MOVE."""
    done, empty = "https://example.org/v-atomic/a", "https://example.org/v-atomic/b"
    for graph, subject in ((done, "old"), (staging_iri(done), "new"), (empty, "kept?")):
        _put(virtuoso, graph, Graph().add((URIRef(f"urn:{subject}"), URIRef("urn:p"), Literal(1))))
    _update(virtuoso, move_update({staging_iri(done): done, staging_iri(empty): empty}))
    remote = RemoteStore(virtuoso + "/sparql", timeout=30)
    assert {str(s) for s, _, _ in remote.graph(URIRef(done))} == {"urn:new"}
    assert remote.count(URIRef(empty)) == 0, "Virtuoso now refuses a MOVE from a missing graph"
    assert _graphs_named(virtuoso + "/sparql", "/kg-push-staging") == []
    _update(virtuoso, drop_update([done, empty]))


def test_quirk_one_update_request_is_not_all_or_nothing(virtuoso: str) -> None:
    """Measured on Virtuoso 7.2.5: when a later operation of one update request fails, the
    earlier ones stay applied (Oxigraph rolls them back). kg push's MOVE request holds only
    MOVEs of staging graphs it has just counted, so this matters only if the server fails
    mid-request; the README says so."""
    moved, occupied = "https://example.org/v-partial/a", "https://example.org/v-partial/b"
    _put(virtuoso, moved, Graph().add((URIRef("urn:old"), URIRef("urn:p"), Literal(1))))
    _put(
        virtuoso, staging_iri(moved), Graph().add((URIRef("urn:new"), URIRef("urn:p"), Literal(1)))
    )
    _put(virtuoso, occupied, Graph().add((URIRef("urn:x"), URIRef("urn:p"), Literal(1))))
    failing = move_update({staging_iri(moved): moved}) + f" ;\nCREATE GRAPH <{occupied}>"
    with pytest.raises(Exception, match=r"HTTP 500.*contains triples already"):
        _update(virtuoso, failing)
    remote = RemoteStore(virtuoso + "/sparql", timeout=30)
    assert {str(s) for s, _, _ in remote.graph(URIRef(moved))} == {"urn:new"}, (
        "Virtuoso now rolls back a failed update request: update the README's quirk table"
    )
    _update(virtuoso, drop_update([moved, occupied]))


@pytest.mark.parametrize("known", [False, True], ids=["first-contact", "known-digest-origin"])
@pytest.mark.parametrize("size", [1, 500, 12_000])
def test_an_upload_through_digest_is_answered_not_cut(
    virtuoso: str, size: int, known: bool
) -> None:
    """Regression: a large PUT to /sparql-graph-crud-auth ended in "[Errno 32] Broken pipe":
    Virtuoso refuses the unauthenticated try before reading the body and hangs up. The
    challenge now comes from a HEAD, whether or not the origin is known to ask for Digest."""
    graph = f"https://example.org/v-digest/{size}"
    if not known:
        remote_module._DIGEST_ORIGINS.clear()
    _put(virtuoso, graph, _numbered(size, graph))
    assert _counts(virtuoso + "/sparql", [URIRef(graph)]) == [size]
    _update(virtuoso, drop_update([graph]))


def test_push_without_credentials_when_the_sparql_user_is_granted(
    pushed: str,
    out_dir: str,  # noqa: F811
    store: MemoryStore,
) -> None:
    """`--endpoint …/sparql` implies /sparql-graph-crud, which runs as Virtuoso's SPARQL user:
    refused (HTTP 403, test above) until that user is granted SPARQL_UPDATE."""
    base = pushed.removesuffix("/sparql")
    _isql(base, 'GRANT SPARQL_UPDATE TO "SPARQL"')
    try:
        result = kg("push", "--endpoint", pushed, "--graph", SINGLE_GRAPH, "--asserted-only",
                    "--out-dir", out_dir)  # fmt: skip
        assert result.exit_code == 0, result.output
        asserted = store.count(ONTOLOGY_GRAPH) + store.count(DATA_GRAPH)
        assert _counts(pushed, [URIRef(SINGLE_GRAPH)]) == [asserted]
    finally:
        _isql(base, 'REVOKE SPARQL_UPDATE FROM "SPARQL"')
    refused = kg("push", "--endpoint", pushed, "--graph", SINGLE_GRAPH, "--out-dir", out_dir)
    assert refused.exit_code == 2 and "HTTP 403" in refused.output, refused.output


# -- the quirks, each measured ------------------------------------------------------------------
def _numbered(n: int, graph: str) -> Graph:
    g = Graph()
    for i in range(n):
        g.add((URIRef(f"{graph}/s{i}"), URIRef("urn:label"), Literal(f"ラベル {i}", lang="ja")))
    return g


def test_quirk_insert_data_is_refused_above_a_few_thousand_triples(virtuoso: str) -> None:
    """SPARQL Update ``INSERT DATA`` with 5,000 triples exhausts Virtuoso's SPARQL compiler
    (SP030, measured: 4,000 pass); kg push sends its chunks (5,000 by default) through the Graph
    Store Protocol instead, where the same triples go through in one request."""
    graph = "https://example.org/v-chunk"
    triples = _numbered(5_000, graph)
    text = "INSERT DATA { GRAPH <" + graph + "> {\n" + triples.serialize(format="nt") + "} }"
    with pytest.raises(Exception, match=r"SP030.*memory exhausted"):
        _update(virtuoso, text)
    _put(virtuoso, graph, triples)
    assert _counts(virtuoso + "/sparql", [URIRef(graph)]) == [5_000]
    _update(virtuoso, drop_update([graph]))


@pytest.mark.parametrize("tag", ["en-US", "EN", "ja-JP", "zh-Hant-TW", "de-CH-1996"])
def test_quirk_language_tags_come_back_lower_cased(virtuoso: str, tag: str) -> None:
    graph = "https://example.org/v-lang"
    original = Literal("x", lang=tag)
    _put(virtuoso, graph, Graph().add((URIRef("urn:s"), URIRef("urn:p"), original)))
    back = {o for _, _, o in RemoteStore(virtuoso + "/sparql").graph(URIRef(graph))}
    assert back == {Literal("x", lang=tag.lower())}
    _update(virtuoso, drop_update([graph]))


def test_quirk_answers_are_capped_at_result_set_max_rows(virtuoso: str) -> None:
    """Virtuoso cuts a SELECT at ResultSetMaxRows (saying so in ``X-SPARQL-MaxRows``) and a
    CONSTRUCT without saying so; both are errors that name the setting, never a short answer."""
    graph = "https://example.org/v-cap"
    _put(virtuoso, graph, _numbered(ROWS_CAP + 2_000, graph))
    remote = RemoteStore(virtuoso + "/sparql", timeout=30)
    with pytest.raises(TruncatedResultError, match="ResultSetMaxRows"):
        remote.graph(URIRef(graph))
    select = f"SELECT ?s WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    with pytest.raises(TruncatedResultError, match=f"reached the cap of {ROWS_CAP} rows"):
        remote.run_text(select, "SELECT")
    # the header comes with every answer that reaches the cap, complete or not
    with pytest.raises(TruncatedResultError):
        remote.run_text(select + f" LIMIT {ROWS_CAP}", "SELECT")
    assert len(list(remote.run_text(select + f" LIMIT {ROWS_CAP - 1}", "SELECT"))) == ROWS_CAP - 1
    _update(virtuoso, drop_update([graph]))


def _divides(node: object) -> bool:
    if isinstance(node, CompValue):
        if node.name == "MultiplicativeExpression" and "/" in (node.get("op") or []):
            return True
        return any(_divides(v) for v in node.values())
    if isinstance(node, list | tuple | ParseResults):
        return any(_divides(v) for v in node)
    return False


def test_quirk_integer_division_and_no_library_query_divides(virtuoso: str) -> None:
    """Virtuoso answers ``7/2`` with 3 (SPARQL: 3.5, an xsd:decimal); the library queries never
    divide, so their answers cannot differ by this."""
    text = "SELECT ?d WHERE { BIND(7/2 AS ?d) }"
    remote = [row[0] for row in RemoteStore(virtuoso + "/sparql").run_text(text, "SELECT")]  # type: ignore[index]
    assert remote == [Literal(3)]
    embedded = [row[0] for row in Graph().query(prepared_query(text))]  # type: ignore[index]
    assert [x.toPython() for x in embedded] == [3.5]  # type: ignore[union-attr]
    assert _divides(parseQuery(text))
    queries = sorted(CQ.parent.rglob("*.rq"))
    assert len(queries) >= len(CQ_NAMES)
    assert [q.name for q in queries if _divides(parseQuery(q.read_text(encoding="utf-8")))] == []


def test_quirk_booleans_come_back_as_integers(virtuoso: str) -> None:
    """Virtuoso answers boolean expressions with xsd:integer 1 / 0; the query comparison below
    maps booleans to 1 / 0 for that (:func:`_booleans_as_integers`), and only for that."""
    text = "SELECT (1 < 2 AS ?b) (BOUND(?x) AS ?c) (COALESCE(?y, false) AS ?d) WHERE {}"
    rows = list(RemoteStore(virtuoso + "/sparql").run_text(text, "SELECT"))
    assert [tuple(row) for row in rows] == [(Literal(1), Literal(0), Literal(0))]  # type: ignore[arg-type]
    embedded = [tuple(row) for row in Graph().query(text)]  # type: ignore[arg-type]
    assert embedded == [(Literal(True), Literal(False), Literal(False))]


def test_quirk_rdflib_accept_header_order_gets_rdf_xml(virtuoso: str) -> None:
    """rdflib's SPARQLStore builds its Accept header from a set, so the order depends on the
    hash seed; in one order Virtuoso answers a SELECT with RDF/XML. kg sends one fixed type."""
    members = SPARQLConnector(query_endpoint=virtuoso).response_mime_types().split(", ")
    body = urllib.parse.urlencode({"query": "SELECT ?x WHERE { BIND(1 AS ?x) }"}).encode()
    answered = set()
    for order in itertools.permutations(members):
        _, headers = exchange(
            "POST",
            virtuoso + "/sparql",
            data=body,
            headers={
                "Accept": ", ".join(order),
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        answered.add(headers.get_content_type())
    assert "application/rdf+xml" in answered and len(answered) == 2, answered
    rows = list(RemoteStore(virtuoso + "/sparql").run_text("SELECT ?x { BIND(1 AS ?x) }", "SELECT"))
    assert rows[0][0] == Literal(1)  # type: ignore[index]


# -- the competency questions and the network views, embedded vs. Virtuoso ----------------------
#: Library queries Virtuoso 7.2.5 answers differently, not by a rewrite of terms but by how it
#: evaluates nested sub-SELECTs (found by this test; not yet traced to a cause or worked around
#: in the queries): the columns that differ. Strict both ways: a listed query must differ, and
#: only in these columns (the rows, counted without them, are the same).
VIRTUOSO_DIFFERS: dict[str, tuple[str, ...]] = {
    # ?kind is unbound on Virtuoso for a facility whose class is tip:Facility itself: joining
    # `?facility a ?class` with a sub-SELECT over `?class rdfs:subClassOf* tip:Facility` loses
    # the zero-length match (measured: the sub-SELECT alone, or the path with ?class bound by
    # VALUES, keeps it)
    "facilities": ("kind",),
    # Virtuoso answers rows for two more plans (大田区, 日野市), which have neither list in
    # rdflib's answer (the FILTER(BOUND … || BOUND …) keeps them), and other lists
    "fairs": ("events", "initiatives", "*"),
    # one plan's programme list names an initiative on Virtuoso
    "startups": ("initiatives", "programmes"),
}


@pytest.mark.parametrize("name", CQ_NAMES)
def test_library_query_answers_the_same_on_virtuoso(
    pushed: str,
    out_dir: str,  # noqa: F811
    name: str,
) -> None:
    """Compared as result sets, with what Oxigraph's comparison normalises (GROUP_CONCAT order,
    language-tag case, integer-derived datatypes, decimal form) and nothing else."""
    args = ["query", name, *_params(name), "-f", "json"]
    embedded = kg(*args, "--out-dir", out_dir)
    remote = kg(*args, "--endpoint", pushed)
    assert embedded.exit_code == 0 and remote.exit_code == 0, embedded.output + remote.output
    variables, local_rows = _rows(embedded.output)
    remote_variables, remote_rows = _rows(remote.output)
    assert remote_variables == variables
    local_rows, remote_rows = _booleans_as_integers(local_rows), _booleans_as_integers(remote_rows)
    if name not in VIRTUOSO_DIFFERS:
        assert Counter(remote_rows) == Counter(local_rows), (
            "the answers differ beyond the known rewrites (GROUP_CONCAT order, language-tag "
            "case, integer-derived datatypes, decimal form, booleans as 1/0)"
        )
        return
    assert Counter(remote_rows) != Counter(local_rows), (
        f"{name} is listed in VIRTUOSO_DIFFERS but Virtuoso now answers as rdflib: remove it"
    )
    differing = {variables.index(v) for v in VIRTUOSO_DIFFERS[name] if v != "*"}

    def key(row: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
        return tuple(None if i in differing else cell for i, cell in enumerate(row))

    if "*" in VIRTUOSO_DIFFERS[name]:  # Virtuoso answers extra rows: rdflib's are among them
        assert set(map(key, local_rows)) < set(map(key, remote_rows))
        return

    assert Counter(map(key, remote_rows)) == Counter(map(key, local_rows)), (
        f"{name}: the answers differ outside the columns {VIRTUOSO_DIFFERS[name]}"
    )


def _booleans_as_integers(rows: list[tuple[Hashable, ...]]) -> list[tuple[Hashable, ...]]:
    """Virtuoso answers a boolean expression (``BOUND``, a comparison) with xsd:integer 1 or 0
    (measured: ``BIND(1 < 2 AS ?b)``); SPARQL's answer is xsd:boolean."""

    def cell(value: Hashable) -> Hashable:
        if isinstance(value, tuple) and len(value) == 3 and value[2] == XSD_BOOLEAN:
            return (int(value[0] == "true"), None, XSD_INTEGER)
        return value

    return [tuple(cell(v) for v in row) for row in rows]


def test_every_library_query_is_compared() -> None:
    assert len(CQ_NAMES) == len(list(CQ.glob("*.rq"))) >= 19


@pytest.mark.parametrize(
    "args",
    [
        ("--view", "bipartite"),
        ("--view", "municipalities"),
        ("--view", "partners", "--municipality", "131164"),
        ("--view", "bipartite", "--theme", "ec", "--heading", "2"),
    ],
    ids=["bipartite", "municipalities", "partners-toshima", "bipartite-ec-heading2"],
)
def test_network_views_are_the_same_from_virtuoso(
    pushed: str,
    out_dir: str,  # noqa: F811
    args: tuple[str, ...],
) -> None:
    embedded = kg("network", *args, "--stats", "--out-dir", out_dir)
    remote = kg("network", *args, "--stats", "--endpoint", pushed)
    assert embedded.exit_code == 0 and remote.exit_code == 0, embedded.output + remote.output
    assert remote.output == embedded.output


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("host", ["127.0.0.1:8890", "lod.example.jp", "[::1]:8890"])
def test_virtuoso_query_endpoints_imply_its_graph_store_endpoints(scheme: str, host: str) -> None:
    base = f"{scheme}://{host}"
    for path, store_path in (*VIRTUOSO_STORE.items(), ("/sparql/", "/sparql-graph-crud")):
        endpoints = resolve_endpoints(base + path)
        assert endpoints.query == base + path.rstrip("/")
        assert endpoints.store == base + store_path
        assert endpoints.update == base + path.rstrip("/")
        given = resolve_endpoints(base + path, store_endpoint=base + "/elsewhere")
        assert given.store == base + "/elsewhere"
    for other in ("/ds/sparql", "/x/sparql-auth", "/sparqlx"):  # not Virtuoso's root paths
        assert resolve_endpoints(base + other).store is None


# -- Digest, against a loopback server that checks the answer -----------------------------------
class _DigestGuarded(BaseHTTPRequestHandler):
    """A SPARQL endpoint that asks for HTTP Digest (qop=auth, MD5, as Virtuoso) and checks the
    answer against ``password``; records the Authorization headers it saw."""

    password: ClassVar[str] = ""
    seen: ClassVar[list[str | None]] = []
    realm, nonce = "SPARQL", "0d493b9d7c2139fb2995dc28305f0ea4"

    def _valid(self, header: str | None) -> bool:
        if not header or not header.startswith("Digest "):
            return False
        fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(header[7:]))

        def md5(text: str) -> str:
            return hashlib.md5(text.encode("utf-8")).hexdigest()

        ha1 = md5(f"{fields['username']}:{self.realm}:{self.password}")
        ha2 = md5(f"{self.command}:{fields['uri']}")
        expected = md5(
            f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}"
        )
        return fields["username"] == "dba" and fields["response"] == expected

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append(self.headers.get("Authorization"))
        if not self._valid(self.headers.get("Authorization")):
            self.send_response(401)
            self.send_header(
                "WWW-Authenticate",
                f'Digest realm="{self.realm}", nonce="{self.nonce}", qop="auth", algorithm="MD5"',
            )
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(
            {
                "head": {"vars": ["n"]},
                "results": {"bindings": [{"n": {"type": "literal", "value": "1"}}]},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_HEAD = do_PUT = _answer

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def digest_server() -> Iterator[tuple[str, type[_DigestGuarded]]]:
    handler = type("Guarded", (_DigestGuarded,), {"password": "", "seen": []})
    with loopback_server(handler) as url:
        yield url, handler


@settings(max_examples=examples(25), deadline=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=6),
    large=st.booleans(),
)
def test_digest_answers_any_password_and_never_shows_it(
    digest_server: tuple[str, type[_DigestGuarded]], password: str, large: bool
) -> None:
    url, handler = digest_server
    handler.password, handler.seen = password, []
    query = "SELECT ?n WHERE { ?s ?p ?n }" + (" " * 40_000 if large else "")
    ok = kg("query", "-", "-f", "csv", "--endpoint", url + "/sparql-auth", stdin=query,
            env={**DBA, "KG_ENDPOINT_PASSWORD": password})  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines() == ["n", "1"]
    wrong = kg("query", "-", "--endpoint", url + "/sparql-auth", stdin=query,
               env={**DBA, "KG_ENDPOINT_PASSWORD": password + "x"})  # fmt: skip
    assert wrong.exit_code == 2 and "were refused" in wrong.output, wrong.output
    assert password + "x" not in wrong.output
    digests = [a for a in handler.seen if a and a.startswith("Digest ")]
    assert digests, "the server was answered with Digest"
    for auth in digests:  # no field carries the password
        fields = urllib.request.parse_keqv_list(urllib.request.parse_http_list(auth[7:]))
        assert password not in fields.values() and password + "x" not in fields.values()
