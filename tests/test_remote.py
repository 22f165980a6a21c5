"""Remote triplestores, for real: `kg push` to an Oxigraph server, then `kg query` and
`kg network` with `--endpoint`, compared with the embedded store.

The server is the ``oxigraph`` binary from the ``oxigraph`` wheel (the ``test`` extra), started on
a free loopback port with a temporary directory for the module and stopped afterwards.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.query import Result as SPARQLResult
from rdflib.term import Node

from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.errors import RemoteError
from kgtools.namespaces import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from kgtools.reference.memory import MemoryStore
from kgtools.store.push import STAGING_SUFFIX, chunks, drop_update, move_update, staging_iri, update
from kgtools.store.remote import RemoteStore
from kgtools.store.remote import request as remote_request

from .conftest import (
    NETWORK_VIEWS_COMPARED,
    ONE_ROW,
    SPARQL_JSON,
    QuietHandler,
    assert_isomorphic,
    assert_same_network,
    examples,
    loopback_server,
    respond,
    stop,
)

ROOT = Path(__file__).resolve().parent.parent
CQ = ROOT / "queries" / "cq"
CQ_NAMES = sorted(p.stem for p in CQ.glob("*.rq"))
EXPECTED = Path(__file__).resolve().parent / "queries"
OXIGRAPH = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which(
    "oxigraph"
)
NO_CREDENTIALS = {"KG_ENDPOINT_USER": None, "KG_ENDPOINT_PASSWORD": None}
SINGLE_GRAPH = "https://example.org/graph/tokyo-industry-plans"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Oxigraph server on a free loopback port, its store in memory (no ``--location``:
    the same SPARQL and transactions, without syncing RocksDB on each upload, which made each
    push test ~1.5 s slower); yields its base URL."""
    if OXIGRAPH is None:  # a failure, never a skip: the test extra installs it
        pytest.fail("the Oxigraph server binary is missing: pip install -e '.[test]'")
    folder = tmp_path_factory.mktemp("oxigraph")
    port = _free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [OXIGRAPH, "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "oxigraph did not start:\n" + (folder / "server.log").read_text()[-2000:]
                    )
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process, log, timeout=10)


def kg(*args: str, stdin: str | None = None, env: Mapping[str, str | None] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=stdin, env=env or NO_CREDENTIALS)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def out_dir(built: tuple[Path, BuildSummary]) -> str:
    return str(built[0])


@pytest.fixture(scope="module")
def pushed(oxigraph: str, out_dir: str) -> str:
    """The built graph pushed into its three named graphs; yields the base URL."""
    result = kg("push", "--endpoint", oxigraph, "--out-dir", out_dir, "--chunk-size", "1000")
    assert result.exit_code == 0, result.output
    assert "counts verified" in result.output
    return oxigraph


def _remote_counts(base: str, graphs: list[URIRef]) -> list[int]:
    remote = RemoteStore(base + "/query", timeout=30)
    return [remote.count(g) for g in graphs]


GRAPHS = [ONTOLOGY_GRAPH, DATA_GRAPH, INFERRED_GRAPH]


def test_push_keeps_the_named_graphs_and_the_counts(pushed: str, store: MemoryStore) -> None:
    assert _remote_counts(pushed, GRAPHS) == [store.count(g) for g in GRAPHS]
    assert _staging_left(pushed) == [], "a successful push leaves no staging graph"
    # read back: the remote named graph is the same graph (blank nodes included)
    remote = RemoteStore(pushed + "/query", timeout=30)
    assert_isomorphic(store.graph(ONTOLOGY_GRAPH), remote.graph(ONTOLOGY_GRAPH))


def test_push_twice_replaces(pushed: str, out_dir: str, store: MemoryStore) -> None:
    before = _remote_counts(pushed, GRAPHS)
    again = kg("push", "--endpoint", pushed, "--out-dir", out_dir)
    assert again.exit_code == 0, again.output
    assert _remote_counts(pushed, GRAPHS) == before

    asserted = store.count(ONTOLOGY_GRAPH) + store.count(DATA_GRAPH)
    inferred = store.count(INFERRED_GRAPH)
    one = [URIRef(SINGLE_GRAPH)]
    for flag, expected in (
        ("--asserted-only", asserted),
        ("--asserted-only", asserted),
        ("--only-inferred", inferred),
        ("--inferred", asserted + inferred),
    ):
        result = kg(
            "push", "--endpoint", pushed, "--graph", SINGLE_GRAPH, flag, "--out-dir", out_dir
        )
        assert result.exit_code == 0, result.output
        assert _remote_counts(pushed, one) == [expected], f"after push {flag}"
    assert _remote_counts(pushed, GRAPHS) == before, "a single-graph push touched other graphs"


def test_asserted_and_inferred_are_read_apart(pushed: str) -> None:
    org_count = (
        "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?o a <http://www.w3.org/ns/org#Organization> }"
    )
    inferred = kg("query", "-", "-f", "csv", "--endpoint", pushed, stdin=org_count)
    asserted = kg("query", "-", "-f", "csv", "--asserted", "--endpoint", pushed, stdin=org_count)
    assert inferred.exit_code == 0 and asserted.exit_code == 0, inferred.output + asserted.output
    assert inferred.output.splitlines()[1:] == ["19"]  # 18 local governments, 1 tip:Organisation
    assert asserted.output.splitlines()[1:] == ["0"]


# -- the competency questions, embedded vs. Oxigraph -------------------------------------------
#: Queries whose GROUP_CONCAT meets, in some group, a row where its argument is unbound (a
#: UNION branch or OPTIONAL without that variable). rdflib skips such rows; Oxigraph evaluates
#: STR(unbound) as an error and, as SPARQL 1.1 §18.5.1 reads strictly (an error in the list
#: makes the aggregate an error), leaves the whole aggregate unbound. So for these queries
#: Oxigraph's answer lacks some concatenated cells — a real difference, not hidden: the test
#: checks that it is exactly that and nothing else. Strict: a query listed here must differ.
UNBOUND_IN_GROUP_CONCAT: set[str] = set()
GROUP_CONCAT_AS = re.compile(r"GROUP_CONCAT\s*\((?:[^()]|\([^()]*\))*\)\s*AS\s+\?(\w+)", re.I)
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_INTEGER, XSD_DECIMAL = URIRef(XSD + "integer"), URIRef(XSD + "decimal")
INTEGER_TYPES = {
    URIRef(XSD + t)
    for t in (
        *("integer", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger"),
        *("negativeInteger", "long", "int", "short", "byte"),
        *("unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"),
    )
}


def _cell(term: Node | None) -> Hashable:
    """A term, normalised only where Oxigraph is known to rewrite what it stores or returns."""
    if not isinstance(term, Literal):
        return term
    # GROUP_CONCAT: SPARQL does not fix the order inside a group (as in test_queries.py).
    value: Hashable = frozenset(str(term).split(" | ")) if " | " in str(term) else str(term)
    # Oxigraph lower-cases language tags (BCP 47 tags are case-insensitive).
    language = term.language.lower() if term.language else None
    datatype = term.datatype
    # Oxigraph stores the integer-derived types (here tip:edition's xsd:positiveInteger) as
    # xsd:integer, and decimals in canonical form ("1.50" → "1.5").
    if datatype in INTEGER_TYPES:
        datatype, value = XSD_INTEGER, int(str(term))
    elif datatype == XSD_DECIMAL:
        value = term.value
    return (value, language, datatype)


def _rows(output: str) -> tuple[list[str], list[tuple[Hashable, ...]]]:
    parsed = SPARQLResult.parse(io.StringIO(output), format="json")
    variables = [str(v) for v in parsed.vars or []]
    rows = [tuple(_cell(row[v]) for v in variables) for row in parsed]  # type: ignore[call-overload,index]
    return variables, rows


def _params(name: str) -> list[str]:
    path = EXPECTED / f"{name}.params.json"
    values = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return [arg for k, v in values.items() for arg in ("--param", f"{k}={v}")]


def answers_on_both(
    out_dir: str, endpoint: str, args: list[str]
) -> tuple[list[str], list[tuple[Hashable, ...]], list[tuple[Hashable, ...]]]:
    """``kg ARGS`` (a query with ``-f json``) on the embedded build and on ``endpoint``: both must
    succeed with the same columns; the columns, then the rows embedded and remote."""
    embedded = kg(*args, "--out-dir", out_dir)
    remote = kg(*args, "--endpoint", endpoint)
    assert embedded.exit_code == 0 and remote.exit_code == 0, embedded.output + remote.output
    variables, local_rows = _rows(embedded.output)
    remote_variables, remote_rows = _rows(remote.output)
    assert remote_variables == variables
    return variables, local_rows, remote_rows


@pytest.mark.parametrize("name", CQ_NAMES)
def test_library_query_answers_the_same_on_oxigraph(pushed: str, out_dir: str, name: str) -> None:
    variables, local_rows, remote_rows = answers_on_both(
        out_dir, pushed, ["query", f"cq/{name}", *_params(name), "-f", "json"]
    )
    if name not in UNBOUND_IN_GROUP_CONCAT:
        assert Counter(remote_rows) == Counter(local_rows), (
            "the answers differ beyond the known rewrites (GROUP_CONCAT order, language-tag "
            "case, integer-derived datatypes, decimal form)"
        )
        return
    assert Counter(remote_rows) != Counter(local_rows), (
        f"{name} is listed in UNBOUND_IN_GROUP_CONCAT but Oxigraph now answers as rdflib: "
        "remove it from the list"
    )
    text = (CQ / f"{name}.rq").read_text(encoding="utf-8")
    concat = {variables.index(v) for v in GROUP_CONCAT_AS.findall(text)}
    assert concat, f"{name}: no GROUP_CONCAT column found"

    def key(row: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
        return tuple(None if i in concat else cell for i, cell in enumerate(row))

    groups: dict[tuple[Hashable, ...], list[list[tuple[Hashable, ...]]]] = defaultdict(
        lambda: [[], []]
    )
    for side, rows in enumerate((local_rows, remote_rows)):
        for row in rows:
            groups[key(row)][side].append(row)
    for shared, (local, there) in groups.items():
        assert len(local) == len(there), f"{name}: rows differ outside the GROUP_CONCAT columns"
        for ours, theirs in zip(sorted(local, key=repr), sorted(there, key=repr), strict=True):
            for i in concat:
                assert theirs[i] is None or theirs[i] == ours[i], (
                    f"{name}: column {variables[i]} of {shared} differs, and not by Oxigraph "
                    "leaving a GROUP_CONCAT over an unbound value unbound"
                )


@NETWORK_VIEWS_COMPARED
def test_network_views_are_the_same_from_oxigraph(
    pushed: str, out_dir: str, args: tuple[str, ...]
) -> None:
    assert_same_network(out_dir, pushed, args)


# -- failures -----------------------------------------------------------------------------------
def test_wrong_endpoint_is_a_clear_error(pushed: str, out_dir: str) -> None:
    nobody = f"http://127.0.0.1:{_free_port()}"
    for args in (
        ("query", "cashless", "--endpoint", nobody),
        ("network", "--stats", "--endpoint", nobody),
        ("push", "--endpoint", nobody, "--out-dir", out_dir),
    ):
        result = kg(*args)
        assert result.exit_code == 2, result.output
        assert "cannot reach the endpoint" in result.output
        assert "Connection refused" in result.output
    wrong_path = kg("push", "--endpoint", pushed + "/ds/sparql", "--out-dir", out_dir)
    assert wrong_path.exit_code == 2
    assert "give --store-endpoint" in wrong_path.output
    not_there = kg(
        "push", "--endpoint", pushed + "/query", "--store-endpoint", pushed + "/nothing",
        "--out-dir", out_dir,
    )  # fmt: skip
    assert not_there.exit_code == 2
    assert "HTTP 404" in not_there.output and "/nothing" in not_there.output
    bad_graph = kg("push", "--endpoint", pushed, "--graph", "not an iri", "--out-dir", out_dir)
    assert bad_graph.exit_code == 2 and "bad graph IRI" in bad_graph.output


class _Guarded(QuietHandler):
    """A SPARQL endpoint that answers only with the right HTTP Basic credentials."""

    expected: ClassVar[str] = "Basic " + base64.b64encode(b"alice:s3cr\xc3\xa9t").decode()
    seen: ClassVar[list[str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append(self.headers.get("Authorization"))
        if self.headers.get("Authorization") != self.expected:
            challenge = {"WWW-Authenticate": 'Basic realm="kg"'}
            return respond(self, 401, b"credentials required", challenge)
        return respond(self, 200, ONE_ROW, SPARQL_JSON)


@pytest.fixture
def guarded() -> Iterator[str]:
    _Guarded.seen = []
    with loopback_server(_Guarded) as url:
        yield url


def test_credentials_come_from_the_environment(guarded: str) -> None:
    query = "SELECT ?n WHERE { ?s ?p ?n }"
    args = ("query", "-", "-f", "csv", "--endpoint", guarded)
    good = {"KG_ENDPOINT_USER": "alice", "KG_ENDPOINT_PASSWORD": "s3crét"}
    ok = kg(*args, stdin=query, env=good)
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines() == ["n", "1"]
    assert _Guarded.seen[-1] == _Guarded.expected

    missing = kg(*args, stdin=query)
    assert missing.exit_code == 2
    assert "HTTP 401" in missing.output and "set KG_ENDPOINT_USER" in missing.output
    assert _Guarded.seen[-1] is None

    wrong = kg(*args, stdin=query, env={**good, "KG_ENDPOINT_PASSWORD": "nope"})
    assert wrong.exit_code == 2
    assert "were refused" in wrong.output and "credentials required" in wrong.output
    assert "nope" not in wrong.output, "the password must never be printed"

    push_help = kg("push", "--help").output
    assert "--password" not in push_help and "--user" not in push_help


# -- a failed push leaves the remote graphs as they were ---------------------------------------
class _Faulty(QuietHandler):
    """A loopback proxy in front of Oxigraph that fails (HTTP 500) the Nth upload request to
    /store, or every /update whose body contains ``fail_update``."""

    upstream: ClassVar[str] = ""
    fail_store_at: ClassVar[int | None] = None
    fail_update: ClassVar[bytes | None] = None
    hang_up: ClassVar[bool] = False
    uploads: ClassVar[int] = 0

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cls = type(self)
        if self.path.startswith("/store") and self.command in ("PUT", "POST"):
            cls.uploads += 1
            if cls.uploads == cls.fail_store_at:
                return respond(self, 500, b"disk full", {"Content-Type": "text/plain"})
        if self.path.startswith("/update") and cls.fail_update and cls.fail_update in body:
            if cls.hang_up:  # the connection drops: did the server apply it? nobody knows
                self.close_connection = True
                return None
            return respond(self, 500, b"update refused by the test", {"Content-Type": "text/plain"})
        headers = {k: v for k in ("Content-Type", "Accept") if (v := self.headers.get(k))}
        req = urllib.request.Request(
            cls.upstream + self.path, data=body or None, headers=headers, method=self.command
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=30) as answer:
                status, data, kind = answer.status, answer.read(), answer.headers["Content-Type"]
        except urllib.error.HTTPError as exc:
            status, data, kind = exc.code, exc.read(), exc.headers["Content-Type"]
        return respond(self, status, data, {"Content-Type": kind or "text/plain"})

    do_GET = do_POST = do_PUT = _forward


@pytest.fixture
def faulty(pushed: str) -> Iterator[type[_Faulty]]:
    handler = type("Faulty", (_Faulty,), {"upstream": pushed, "uploads": 0})
    with loopback_server(handler) as url:
        handler.url = url  # type: ignore[attr-defined]
        yield handler


def _staging_left(base: str) -> list[str]:
    rows = RemoteStore(base + "/query", timeout=30).run_text(
        "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }", "SELECT"
    )
    return sorted(str(r[0]) for r in rows if str(r[0]).endswith(STAGING_SUFFIX))  # type: ignore[index]


def test_a_push_that_fails_midway_leaves_the_graph_as_it_was(
    pushed: str, out_dir: str, store: MemoryStore, faulty: type[_Faulty]
) -> None:
    """Regression: PUT replaced the graph, a later chunk failed, and the graph was left with
    the first chunks only ("500 of 878 triples", message "HTTP 500")."""
    url = faulty.url  # type: ignore[attr-defined]
    first = kg("push", "--endpoint", pushed, "--graph", SINGLE_GRAPH, "--asserted-only",
               "--out-dir", out_dir)  # fmt: skip
    assert first.exit_code == 0, first.output
    before = _remote_counts(pushed, [URIRef(SINGLE_GRAPH)])
    everything = {t for g in GRAPHS for t in store.graph(g)}
    size = len(everything) // 6 + 1
    requests = len(list(chunks(everything, size)))
    assert requests >= 6
    tried = [1, 2, requests // 2, requests]
    for fail_at in tried:
        faulty.fail_store_at, faulty.uploads = fail_at, 0
        result = kg("push", "--endpoint", url, "--graph", SINGLE_GRAPH, "--inferred",
                    "--chunk-size", str(size), "--out-dir", out_dir)  # fmt: skip
        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())
        assert "HTTP 500: disk full" in message
        assert f"at request {fail_at} of {requests} for <{SINGLE_GRAPH}>" in message
        assert f"nothing was replaced: <{SINGLE_GRAPH}> still hold" in message
        assert "the staging graph(s) were dropped" in message and "Run `kg push` again" in message
        assert _remote_counts(pushed, [URIRef(SINGLE_GRAPH)]) == before, f"failed at {fail_at}"
        assert _staging_left(pushed) == []
    assert len(tried) == 4


def test_a_push_of_several_graphs_changes_all_or_none(
    pushed: str, out_dir: str, store: MemoryStore, faulty: type[_Faulty]
) -> None:
    url = faulty.url  # type: ignore[attr-defined]
    before = _remote_counts(pushed, GRAPHS)
    size = 500
    ontology_requests = len(list(chunks(store.graph(ONTOLOGY_GRAPH), size)))
    data_requests = len(list(chunks(store.graph(DATA_GRAPH), size)))
    assert data_requests >= 2
    faulty.fail_store_at = ontology_requests + 2  # the second chunk of the data graph
    result = kg("push", "--endpoint", url, "--chunk-size", str(size), "--out-dir", out_dir)
    assert result.exit_code == 2, result.output
    assert f"at request 2 of {data_requests} for <{DATA_GRAPH}>" in result.output
    assert _remote_counts(pushed, GRAPHS) == before
    assert _staging_left(pushed) == []


def test_a_refused_move_leaves_the_graph_and_says_what_to_run(
    pushed: str, out_dir: str, faulty: type[_Faulty]
) -> None:
    url = faulty.url  # type: ignore[attr-defined]
    first = kg("push", "--endpoint", pushed, "--graph", SINGLE_GRAPH, "--asserted-only",
               "--out-dir", out_dir)  # fmt: skip
    assert first.exit_code == 0, first.output
    before = _remote_counts(pushed, [URIRef(SINGLE_GRAPH)])
    args = ("push", "--endpoint", url, "--graph", SINGLE_GRAPH, "--out-dir", out_dir)

    faulty.fail_update = b"MOVE"  # the move is refused, the clean-up works
    result = kg(*args)
    message = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "update refused by the test" in message and "stopped at the MOVE" in message
    assert "nothing was replaced" in message and "give --update-endpoint" in message
    assert "the staging graph(s) were dropped" in message
    assert _remote_counts(pushed, [URIRef(SINGLE_GRAPH)]) == before
    assert _staging_left(pushed) == []

    faulty.fail_update = b"GRAPH"  # the clean-up is refused too: the message says what to run
    result = kg(*args)
    message = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    staging = SINGLE_GRAPH + STAGING_SUFFIX
    assert "could not be dropped" in message and f"DROP SILENT GRAPH <{staging}>" in message
    assert _remote_counts(pushed, [URIRef(SINGLE_GRAPH)]) == before
    assert _staging_left(pushed) == [staging]
    update(pushed + "/update", drop_update([staging]))  # what the message says to run
    assert _staging_left(pushed) == []

    faulty.fail_update, faulty.hang_up = b"MOVE", True  # no answer to the MOVE at all
    result = kg(*args)
    message = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "did not confirm the MOVE" in message and "may or may not have applied it" in message
    assert "the staging graph(s) were dropped" in message
    assert _remote_counts(pushed, [URIRef(SINGLE_GRAPH)]) == before
    assert _staging_left(pushed) == []


@settings(max_examples=examples(60), deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20))
def test_graph_iris_reach_the_update_as_they_were_checked(tail: str) -> None:
    """What `check_graph_iri` lets through is exactly the IRI rdflib reads from the update."""
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate

    target = "https://example.org/" + tail
    try:
        staging = staging_iri(target)
    except RemoteError:
        assert any(c in target for c in ' <>"{}|^`\\') or any(
            ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in target
        )
        return
    moves = translateUpdate(parseUpdate(move_update({staging: target}))).algebra
    assert [(op.name, list(op.graph)) for op in moves] == [
        ("Move", [URIRef(staging), URIRef(target)])
    ]
    drops = translateUpdate(parseUpdate(drop_update([staging, target]))).algebra
    assert [op.graphiri for op in drops] == [URIRef(staging), URIRef(target)]


def test_one_update_request_is_all_or_nothing_on_oxigraph(oxigraph: str) -> None:
    """What the staging rests on: when one MOVE of a request fails, the others are not applied."""
    from rdflib import Graph

    done, fails = "https://example.org/atomic/a", "https://example.org/atomic/b"
    store_url = oxigraph + "/store?graph="
    for graph, subject in ((done, "old"), (staging_iri(done), "new")):
        body = Graph().add((URIRef(f"urn:{subject}"), URIRef("urn:p"), Literal(1)))
        request_body = body.serialize(format="nt", encoding="utf-8")
        remote_request(
            "PUT",
            store_url + urllib.parse.quote(graph, safe=""),
            data=request_body,
            headers={"Content-Type": "application/n-triples"},
        )
    with pytest.raises(RemoteError, match="does not exist"):  # b's staging graph is missing
        update(
            oxigraph + "/update", move_update({staging_iri(done): done, staging_iri(fails): fails})
        )
    remote = RemoteStore(oxigraph + "/query", timeout=30)
    assert {str(s) for s, _, _ in remote.graph(URIRef(done))} == {"urn:old"}
    assert remote.count(URIRef(staging_iri(done))) == 1
    update(oxigraph + "/update", move_update({staging_iri(done): done}))
    assert {str(s) for s, _, _ in remote.graph(URIRef(done))} == {"urn:new"}
    assert _staging_left(oxigraph) == []
    update(oxigraph + "/update", drop_update([done]))
