"""``kg serve``: a read-only SPARQL 1.1 Protocol endpoint and a query page over the built graph.

* ``/sparql`` answers queries sent by GET (``?query=``), by POST as a form
  (``application/x-www-form-urlencoded``) or by POST as the query itself
  (``application/sparql-query``). Results are negotiated from ``Accept``: SELECT and ASK as
  SPARQL results JSON (the default), XML, CSV or TSV; CONSTRUCT and DESCRIBE as Turtle (the
  default), N-Triples, JSON-LD or RDF/XML; ``406`` when none of them is acceptable. GET without
  a query returns the SPARQL 1.1 Service Description (Turtle by default).
* Read-only: updates (``application/sparql-update``, an ``update`` field, or update text as the
  query) get ``403``; ``SERVICE``, ``FROM`` / ``FROM NAMED`` and the protocol's
  ``default-graph-uri`` / ``named-graph-uri`` get ``400`` — the same checks and messages as
  ``kg query`` (:func:`kgtools.query.check_query`).
* Limits, enforced here: the time limit of :func:`kgtools.query.run` (``503`` when a query is
  stopped), a row cap (a cut result says so in the ``X-Result-Truncated`` header and, for JSON,
  in a top-level ``"truncated": true``), a maximum query length (``413``) and a maximum number
  of queries running at once (``503`` with ``Retry-After`` when all are busy).
* ``/`` is an HTML page that works offline (inline CSS and JavaScript, nothing from another
  host; a Content-Security-Policy allows only this origin) with the query library as examples.

The server is the standard library's :class:`http.server.ThreadingHTTPServer`: one thread per
connection is all the concurrency needed, because each query runs in a child process forked by
:func:`kgtools.query.run` (the threads only wait on a pipe), so a slow query never blocks a fast
one and no web framework has to be installed. The library never prints: the request log goes to
the ``log`` callback given to :func:`make_server`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, VOID, XSD

from kgtools.errors import KGError
from kgtools.query import (
    DEFAULT_TIMEOUT,
    ParameterError,
    QueryError,
    QueryLibrary,
    QueryResult,
    QuerySyntaxError,
    QueryTimeoutError,
    UnsafeQueryError,
    UpdateRefusedError,
    parse_param,
    run,
    user_query,
)
from kgtools.store import Store

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7878
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_QUERY_LENGTH = 50_000
DEFAULT_MAX_CONCURRENT = 8

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS_NS = Namespace("http://www.w3.org/ns/formats/")

JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
TURTLE = "text/turtle"
NTRIPLES = "application/n-triples"
JSONLD = "application/ld+json"
RDFXML = "application/rdf+xml"

#: Media types offered for SELECT and ASK, the default first; the plain JSON / XML types are
#: aliases for clients that ask only for those.
RESULT_TYPES: dict[str, str] = {
    JSON_RESULTS: "json",
    XML_RESULTS: "xml",
    CSV: "csv",
    TSV: "tsv",
    "application/json": "json",
    "application/xml": "xml",
}
#: Media types offered for CONSTRUCT, DESCRIBE and the service description, the default first.
GRAPH_TYPES: dict[str, str] = {
    TURTLE: "turtle",
    NTRIPLES: "nt",
    JSONLD: "json-ld",
    RDFXML: "xml",
}
_FORMAT_IRIS = {
    JSON_RESULTS: "SPARQL_Results_JSON",
    XML_RESULTS: "SPARQL_Results_XML",
    CSV: "SPARQL_Results_CSV",
    TSV: "SPARQL_Results_TSV",
    TURTLE: "Turtle",
    NTRIPLES: "N-Triples",
    JSONLD: "JSON-LD",
    RDFXML: "RDF_XML",
}


class ServeError(KGError):
    """The endpoint cannot be started as asked (e.g. the port is taken)."""


@dataclass(frozen=True)
class ServeConfig:
    """The endpoint's limits and the named graphs it reads."""

    timeout: float = DEFAULT_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    max_query_length: int = DEFAULT_MAX_QUERY_LENGTH
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    #: Named graphs forming the default graph; ``None``: every graph of the store.
    graphs: tuple[URIRef, ...] | None = None

    @property
    def max_body(self) -> int:
        """Largest request body read: a form-encoded query of the maximum length (≤ 12 bytes a
        character: 4 UTF-8 bytes, each percent-encoded) plus room for the other fields."""
        return self.max_query_length * 12 + 65_536


class HTTPProblem(Exception):
    """An HTTP error answer: status and a plain-text message."""

    def __init__(
        self, status: HTTPStatus, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


# -- content negotiation ------------------------------------------------------------------------
def _accept_ranges(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        fields = part.split(";")
        media = fields[0].strip().lower()
        if not media:
            continue
        quality = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        ranges.append((media, quality))
    return ranges


def negotiate(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offered media type the ``Accept`` header prefers (``offers[0]`` when it is absent).

    Higher q wins, then an exact match over ``type/*`` over ``*/*``, then the order of
    ``offers``; ``None`` when nothing offered is acceptable (q=0 refuses a type).
    """
    if accept is None or not accept.strip():
        return offers[0] if offers else None
    ranges = _accept_ranges(accept)
    best: str | None = None
    best_key: tuple[float, int, int] | None = None
    for index, offer in enumerate(offers):
        quality, specificity = 0.0, -1
        for media, q in ranges:
            if media == offer:
                level = 2
            elif media.endswith("/*") and media != "*/*" and offer.startswith(media[:-1]):
                level = 1
            elif media == "*/*":
                level = 0
            else:
                continue
            if level > specificity:
                quality, specificity = q, level
        if specificity < 0 or quality <= 0:
            continue
        key = (quality, specificity, -index)
        if best_key is None or key > best_key:
            best, best_key = offer, key
    return best


# -- serialization ------------------------------------------------------------------------------
def xml_results(result: QueryResult) -> str:
    """SPARQL Query Results XML. Written here because rdflib 7's writer drops the text of
    literals whose value is false or zero (``"false"^^xsd:boolean``, ``0``): it tests the
    ``Literal``'s truth, not its text."""
    from xml.sax.saxutils import escape, quoteattr

    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
        "<head>",
    ]
    out.extend(f"<variable name={quoteattr(v)}/>" for v in result.variables)
    out.append("</head>")
    if result.kind == "ASK":
        out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>")
        out.append("</sparql>")
        return "\n".join(out) + "\n"
    out.append("<results>")
    for row in result.rows:
        out.append("<result>")
        for name, term in zip(result.variables, row, strict=True):
            if term is None:
                continue
            if isinstance(term, URIRef):
                value = f"<uri>{escape(str(term))}</uri>"
            elif isinstance(term, BNode):
                value = f"<bnode>{escape(str(term))}</bnode>"
            elif isinstance(term, Literal) and term.language:
                value = (
                    f"<literal xml:lang={quoteattr(term.language)}>{escape(str(term))}</literal>"
                )
            elif isinstance(term, Literal) and term.datatype:
                value = (
                    f"<literal datatype={quoteattr(str(term.datatype))}>"
                    f"{escape(str(term))}</literal>"
                )
            else:
                value = f"<literal>{escape(str(term))}</literal>"
            out.append(f"<binding name={quoteattr(name)}>{value}</binding>")
        out.append("</result>")
    out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out) + "\n"


def serialize_result(result: QueryResult, media: str, *, truncated: bool, limit: int) -> bytes:
    """A result in the negotiated media type; a cut result says so where the format allows."""
    if result.kind in ("CONSTRUCT", "DESCRIBE"):
        text = result.graph().serialize(format=GRAPH_TYPES[media])
        if truncated and media in (TURTLE, NTRIPLES):
            text = f"# truncated: only the first {limit:,} triples of the result\n" + text
        return text.encode("utf-8")
    fmt = RESULT_TYPES[media]
    if fmt == "json":
        data = json.loads(result.serialize("json"))
        if truncated:
            data["truncated"] = True
            data["maxRows"] = limit
        return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "xml":
        text = xml_results(result)
        if truncated:
            head, sep, rest = text.partition("?>")
            note = f"\n<!-- truncated: only the first {limit:,} rows of the result -->"
            text = head + sep + note + rest if sep else note.lstrip() + "\n" + text
        return text.encode("utf-8")
    if result.kind == "ASK":  # CSV/TSV define no boolean; write it as Jena does
        header = "_askResult" if fmt == "csv" else "?_askResult"
        return f"{header}\n{'true' if result.boolean else 'false'}\n".encode()
    return result.serialize(fmt).encode("utf-8")


def truncate(result: QueryResult, limit: int) -> tuple[QueryResult, bool]:
    """At most ``limit`` rows (or triples); whether anything was cut."""
    if result.kind in ("CONSTRUCT", "DESCRIBE"):
        if len(result.triples) <= limit:
            return result, False
        return replace(result, triples=result.triples[:limit]), True
    if len(result.rows) <= limit:
        return result, False
    return replace(result, rows=result.rows[:limit]), True


def _refused(exc: UnsafeQueryError) -> HTTPProblem:
    """An update is forbidden here (``403``); SERVICE or a dataset clause is a bad request."""
    status = HTTPStatus.FORBIDDEN if isinstance(exc, UpdateRefusedError) else HTTPStatus.BAD_REQUEST
    return HTTPProblem(status, str(exc))


def _kind(prepared: Any) -> str:
    name = str(getattr(prepared.algebra, "name", ""))
    return name.removesuffix("Query").upper() or "SELECT"


# -- service description and page -------------------------------------------------------------
def service_description(endpoint: str, store: Store, config: ServeConfig) -> Graph:
    """The SPARQL 1.1 Service Description of the endpoint at ``endpoint``."""
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("void", VOID)
    graph.bind("dcterms", DCTERMS)
    graph.bind("formats", FORMATS_NS)
    service = URIRef(endpoint)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    for media in (*list(RESULT_TYPES)[:4], *GRAPH_TYPES):
        graph.add((service, SD.resultFormat, FORMATS_NS[_FORMAT_IRIS[media]]))
    graph.add(
        (
            service,
            DCTERMS.title,
            Literal("地域産業活性化計画 knowledge graph — read-only SPARQL endpoint", lang="en"),
        )
    )
    graph.add(
        (
            service,
            RDFS.comment,
            Literal(
                f"Read-only: updates, SERVICE, FROM / FROM NAMED and default-graph-uri / "
                f"named-graph-uri are refused. Limits: {config.timeout:g} s per query, "
                f"{config.max_rows:,} rows per result (a cut result is marked "
                f"X-Result-Truncated: true), {config.max_query_length:,} characters per query.",
                lang="en",
            ),
        )
    )
    dataset, default = BNode(), BNode()
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    if config.graphs is not None:
        triples = sum(store.count(name) for name in config.graphs)
        graph.add((default, VOID.triples, Literal(triples, datatype=XSD.integer)))
    return graph


def library_examples(library: QueryLibrary | None) -> list[dict[str, Any]]:
    """The library's queries for the page: name, title, description, text, parameters.

    Only the headers are read (preparing every query would add seconds to the start); a query
    is checked when it is sent, like any other.
    """
    from kgtools.queries import parse_header

    if library is None:
        return []
    examples = []
    for name, path in zip(library.names(), library.files(), strict=True):
        text = path.read_text(encoding="utf-8")
        header = parse_header(text)
        declared = re.findall(r"\?([A-Za-z_]\w*)\s*(\([^)]*\))?", header.get("parameters", ""))
        examples.append(
            {
                "name": name,
                "title": header.get("title", path.stem),
                "description": header.get("description", ""),
                "text": text,
                "parameters": list(dict.fromkeys(p for p, _ in declared)),
                "optional": sorted({p for p, note in declared if "optional" in note}),
            }
        )
    return examples


def render_page(examples: Sequence[Mapping[str, Any]], config: ServeConfig) -> bytes:
    """The query page: one HTML file, inline CSS and JavaScript, examples as inline JSON."""
    data = (
        json.dumps(list(examples), ensure_ascii=False)
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
    )
    limits = (
        f"{config.timeout:g} s per query · {config.max_rows:,} rows at most · "
        f"{config.max_query_length:,} characters per query · read-only"
    )
    return _PAGE.replace("__EXAMPLES__", data).replace("__LIMITS__", limits).encode("utf-8")


_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_PAGE = """<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>地域産業活性化計画 SPARQL — kg serve</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; max-width: 80rem; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
.limits, .note { color: #555; font-size: .9rem; }
label { font-weight: 600; }
select, textarea, input { font: inherit; }
select { max-width: 100%; }
textarea { width: 100%; box-sizing: border-box; height: 18rem;
  font-family: ui-monospace, monospace; font-size: .85rem; }
#params label { font-weight: normal; margin-right: 1rem; }
button { font: inherit; padding: .3rem 1.2rem; margin: .4rem 0; }
#status { margin-left: 1rem; }
#status.error { color: #a00; white-space: pre-wrap; }
.truncated { color: #a00; font-weight: 600; }
table { border-collapse: collapse; margin-top: .5rem; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
pre { background: #f7f7f7; padding: .5rem; overflow: auto; font-size: .85rem; }
</style>
</head>
<body>
<h1>地域産業活性化計画 knowledge graph — SPARQL</h1>
<p class="limits">Endpoint: <code>/sparql</code> (SPARQL 1.1 Protocol) · __LIMITS__</p>
<p><label for="example">例 / Example:</label>
<select id="example"><option value="">— 自由入力 / your own query —</option></select></p>
<p id="description" class="note"></p>
<textarea id="query" spellcheck="false"
  placeholder="SPARQL: SELECT, ASK, CONSTRUCT or DESCRIBE"></textarea>
<div id="params"></div>
<button id="run" type="button">実行 / Run</button> <span class="note">Ctrl+Enter</span>
<span id="status"></span>
<div id="result"></div>
<script type="application/json" id="examples">__EXAMPLES__</script>
<script>
"use strict";
const examples = JSON.parse(document.getElementById("examples").textContent);
const select = document.getElementById("example");
const textarea = document.getElementById("query");
const paramsBox = document.getElementById("params");
const statusBox = document.getElementById("status");
const resultBox = document.getElementById("result");
const description = document.getElementById("description");
examples.forEach((ex, i) => {
  const option = document.createElement("option");
  option.value = String(i);
  option.textContent = ex.name + " — " + ex.title;
  select.appendChild(option);
});
function el(tag, text) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}
select.addEventListener("change", () => {
  paramsBox.replaceChildren();
  description.textContent = "";
  if (select.value === "") return;
  const ex = examples[Number(select.value)];
  textarea.value = ex.text;
  description.textContent = ex.description;
  ex.parameters.forEach((name) => {
    const label = el("label", "?" + name + (ex.optional.includes(name) ? " (optional) " : " "));
    const input = document.createElement("input");
    input.dataset.param = name;
    input.placeholder = "literal or <IRI>";
    label.appendChild(input);
    paramsBox.appendChild(label);
  });
});
function term(binding) {
  if (!binding) return "";
  if (binding.type === "uri") return "<" + binding.value + ">";
  if (binding["xml:lang"]) return binding.value + " @" + binding["xml:lang"];
  return binding.value;
}
function showTable(data) {
  const vars = data.head.vars || [];
  const rows = data.results.bindings;
  const table = el("table");
  const head = el("tr");
  vars.forEach((v) => head.appendChild(el("th", v)));
  table.appendChild(head);
  rows.forEach((row) => {
    const tr = el("tr");
    vars.forEach((v) => tr.appendChild(el("td", term(row[v]))));
    table.appendChild(tr);
  });
  resultBox.appendChild(el("p", rows.length + " row(s)"));
  resultBox.appendChild(table);
  resultBox.dataset.rows = String(rows.length);
}
async function runQuery() {
  const body = new URLSearchParams();
  body.append("query", textarea.value);
  paramsBox.querySelectorAll("input").forEach((input) => {
    if (input.value !== "") body.append("param", input.dataset.param + "=" + input.value);
  });
  resultBox.replaceChildren();
  statusBox.className = "";
  statusBox.textContent = "…";
  const started = performance.now();
  try {
    const response = await fetch("sparql", {
      method: "POST",
      headers: {
        "Accept": "application/sparql-results+json, text/turtle;q=0.9",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: body,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(2) + " s";
    const type = response.headers.get("Content-Type") || "";
    if (!response.ok) {
      statusBox.className = "error";
      statusBox.textContent = response.status + " " + response.statusText + " — " +
        (await response.text());
      return;
    }
    statusBox.textContent = seconds;
    if (response.headers.get("X-Result-Truncated") === "true") {
      resultBox.appendChild(el("p", "truncated: only the first " +
        response.headers.get("X-Result-Row-Limit") + " rows are shown")).className = "truncated";
    }
    if (type.startsWith("application/sparql-results+json")) {
      const data = await response.json();
      if (typeof data.boolean === "boolean") resultBox.appendChild(el("p", "ASK: " + data.boolean));
      else showTable(data);
    } else {
      resultBox.appendChild(el("pre", await response.text()));
    }
  } catch (error) {
    statusBox.className = "error";
    statusBox.textContent = String(error);
  }
}
document.getElementById("run").addEventListener("click", runQuery);
// /?query=… fills the box and runs it (a link to a query); else the first example is shown.
const linked = new URLSearchParams(window.location.search).get("query");
if (linked !== null) {
  textarea.value = linked;
  runQuery();
} else if (examples.length > 0) {
  select.value = "0";
  select.dispatchEvent(new Event("change"));
}
textarea.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) runQuery();
});
</script>
</body>
</html>
"""


# -- the server ---------------------------------------------------------------------------------
class SparqlServer(ThreadingHTTPServer):
    """A threading HTTP server that holds the store, the limits and the prepared page."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        store: Store,
        config: ServeConfig,
        *,
        examples: Sequence[Mapping[str, Any]] = (),
        log: Callable[[str], None] | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.store = store
        self.config = config
        self.page = render_page(examples, config)
        self.log = log
        self.slots = threading.BoundedSemaphore(config.max_concurrent)
        super().__init__(address, SparqlHandler)

    @property
    def url(self) -> str:
        """The base URL the server listens on (``http://host:port/``)."""
        host, port = self.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_server(
    store: Store,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    config: ServeConfig | None = None,
    library: QueryLibrary | None = None,
    log: Callable[[str], None] | None = None,
) -> SparqlServer:
    """Bind the endpoint (port 0: any free port; see :attr:`SparqlServer.url`); not yet serving.

    Call ``serve_forever()`` on the result (in a thread, or the main one), ``shutdown()`` from
    another thread to stop, and ``server_close()`` to release the port.
    """
    try:
        return SparqlServer(
            (host, port),
            store,
            config or ServeConfig(),
            examples=library_examples(library),
            log=log,
        )
    except OSError as exc:
        raise ServeError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} — choose another --port "
            "(0 = any free port) or --host"
        ) from None


class SparqlHandler(BaseHTTPRequestHandler):
    """One request: the page, the service description or a query."""

    server: SparqlServer
    protocol_version = "HTTP/1.1"
    server_version = "kg-serve"
    #: Seconds a connection may sit idle (keep-alive) or trickle a request before it is closed.
    timeout = 60

    # -- plumbing -------------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} - {format % args}")

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _problem(self, problem: HTTPProblem) -> None:
        self._send(
            problem.status,
            (problem.message + "\n").encode("utf-8"),
            "text/plain; charset=utf-8",
            problem.headers,
        )

    def _route(self) -> str:
        return urlsplit(self.path).path

    def _url_params(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def _read_body(self) -> bytes:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self.close_connection = True
            raise HTTPProblem(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header")
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "bad Content-Length header") from None
        if length > self.server.config.max_body:
            self.close_connection = True  # the body is left unread: the connection must end
            raise HTTPProblem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_long())
        return self.rfile.read(length)

    def _too_long(self) -> str:
        return (
            f"the query is longer than the limit of {self.server.config.max_query_length:,} "
            "characters (kg serve --max-query-length)"
        )

    # -- methods --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        try:
            route = self._route()
            if route in ("/", "/index.html"):
                self._send(
                    HTTPStatus.OK,
                    self.server.page,
                    "text/html; charset=utf-8",
                    {"Content-Security-Policy": _PAGE_CSP},
                )
            elif route == "/sparql":
                self._sparql(self._url_params(), None)
            else:
                raise HTTPProblem(
                    HTTPStatus.NOT_FOUND, "not found: the endpoint is /sparql, the page is /"
                )
        except HTTPProblem as problem:
            self._problem(problem)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        try:
            if self._route() != "/sparql":
                self._read_body()
                raise HTTPProblem(HTTPStatus.NOT_FOUND, "not found: the endpoint is /sparql")
            media = self.headers.get_content_type()
            body = self._read_body()
            params = self._url_params()
            if media == "application/sparql-update":
                raise HTTPProblem(HTTPStatus.FORBIDDEN, _UPDATE_REFUSED)
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPProblem(HTTPStatus.BAD_REQUEST, "the request body is not UTF-8") from None
            if media == "application/x-www-form-urlencoded":
                for key, values in parse_qs(text, keep_blank_values=True).items():
                    params.setdefault(key, []).extend(values)
                self._sparql(params, None)
            elif media == "application/sparql-query":
                if "query" in params:
                    raise HTTPProblem(
                        HTTPStatus.BAD_REQUEST,
                        "send the query either as the body or as ?query=, not both",
                    )
                self._sparql(params, text)
            else:
                raise HTTPProblem(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"unsupported Content-Type {media!r}: POST application/sparql-query or "
                    "application/x-www-form-urlencoded (query=…)",
                )
        except HTTPProblem as problem:
            self._problem(problem)

    def _refuse_writes(self) -> None:
        self.close_connection = True
        self._problem(HTTPProblem(HTTPStatus.METHOD_NOT_ALLOWED, _UPDATE_REFUSED))

    do_PUT = do_DELETE = do_PATCH = _refuse_writes

    # -- queries --------------------------------------------------------------------------------
    def _sparql(self, params: dict[str, list[str]], body_query: str | None) -> None:
        config = self.server.config
        if params.get("update") or params.get("using-graph-uri"):
            raise HTTPProblem(HTTPStatus.FORBIDDEN, _UPDATE_REFUSED)
        queries = params.get("query", [])
        if body_query is not None:
            queries = [body_query]
        if len(queries) > 1:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "give exactly one query parameter")
        if params.get("default-graph-uri") or params.get("named-graph-uri"):
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, _DATASET_REFUSED)
        if not queries:
            if self.command in ("GET", "HEAD"):
                self._service_description()
                return
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "no query: send query=… or the query body")
        text = queries[0]
        if len(text) > config.max_query_length:
            raise HTTPProblem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_long())
        if not text.strip():
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "the query is empty")
        try:
            prepared = user_query(text, "query")  # kgtools.query.check_query first
            bindings = dict(parse_param(p) for p in params.get("param", []))
        except UnsafeQueryError as exc:
            raise _refused(exc) from None
        except (QuerySyntaxError, ParameterError) as exc:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, str(exc)) from None
        kind = _kind(prepared.prepared)
        offers = list(GRAPH_TYPES if kind in ("CONSTRUCT", "DESCRIBE") else RESULT_TYPES)
        media = negotiate(self.headers.get("Accept"), offers)
        if media is None:
            raise HTTPProblem(
                HTTPStatus.NOT_ACCEPTABLE,
                f"none of the Accept types can carry the {kind} result; this endpoint offers "
                + ", ".join(offers),
            )
        if not self.server.slots.acquire(timeout=config.timeout):
            raise HTTPProblem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"busy: {config.max_concurrent} queries are running; retry later",
                {"Retry-After": "5"},
            )
        try:
            graphs = list(config.graphs) if config.graphs is not None else None
            result = run(
                self.server.store, prepared, bindings, graphs=graphs, timeout=config.timeout
            )
        except QueryTimeoutError as exc:
            raise HTTPProblem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                f"{exc} (the server's limit: kg serve --timeout)",
            ) from None
        except UnsafeQueryError as exc:
            raise _refused(exc) from None
        except (QuerySyntaxError, ParameterError) as exc:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, str(exc)) from None
        except QueryError as exc:
            raise HTTPProblem(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc)) from None
        finally:
            self.server.slots.release()
        cut, truncated = truncate(result, config.max_rows)
        headers = {"Vary": "Accept"}
        if kind != "ASK":
            headers["X-Result-Truncated"] = "true" if truncated else "false"
            headers["X-Result-Row-Limit"] = str(config.max_rows)
        payload = serialize_result(cut, media, truncated=truncated, limit=config.max_rows)
        self._send(HTTPStatus.OK, payload, f"{media}; charset=utf-8", headers)

    def _service_description(self) -> None:
        offers = list(GRAPH_TYPES)
        media = negotiate(self.headers.get("Accept"), offers)
        if media is None:
            raise HTTPProblem(
                HTTPStatus.NOT_ACCEPTABLE,
                "the service description is offered as " + ", ".join(offers),
            )
        host = self.headers.get("Host") or self.server.url.split("/")[2]
        graph = service_description(f"http://{host}/sparql", self.server.store, self.server.config)
        body = graph.serialize(format=GRAPH_TYPES[media]).encode("utf-8")
        self._send(HTTPStatus.OK, body, f"{media}; charset=utf-8", {"Vary": "Accept"})


_UPDATE_REFUSED = (
    "updates (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP …) are refused: the graph is read-only "
    "here; rebuild it from data/ with `kg build` instead"
)
_DATASET_REFUSED = (
    "default-graph-uri / named-graph-uri is refused: the dataset is the built graph; "
    "remove the dataset parameters (use kg serve --asserted to leave out the entailments)"
)
