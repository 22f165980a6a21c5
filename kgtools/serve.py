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
  ``kg query`` (:func:`kgtools.query.run.check_query`).
* Limits, enforced here: the time limit (``503`` when a query is stopped; parsing and the
  read-only check run inside it, in the query's own process), a row cap (a cut result says so
  in the ``X-Result-Truncated`` header and, for JSON, in a top-level ``"truncated": true``), a
  maximum query length (``413``) and a number of slots (``--max-concurrent``), one of which is
  kept for short queries (:class:`QuickLane`): a client that fills the others with slow
  queries cannot keep a quick one waiting.
* Rebuilds: given a :class:`BuildFolder`, each query opens the store that ``build.json`` names
  when it starts and holds it to the end, so the server answers across any number of
  ``kg build`` runs, and one query never sees two builds.
* Requests: one ``Content-Length`` of plain digits (``Transfer-Encoding`` is refused: behind a
  proxy, the two could disagree about where a body ends); on loopback only loopback ``Host``
  names (DNS rebinding); requests from pages of other origins refused unless
  ``--allow-origin`` names them. Every failure is an HTTP status with a short message that
  names no file or folder; nothing prints a traceback.
* ``/`` is an HTML page that works offline (inline CSS and JavaScript, nothing from another
  host; a Content-Security-Policy allows only this origin) with the query library as examples.

The server is the standard library's :class:`http.server.ThreadingHTTPServer`: one thread per
connection is all the concurrency needed, because each query runs in a child process forked
here (the threads only wait on a pipe), so a slow query never blocks a fast one and no web
framework has to be installed. That server leaves request framing, ``Host`` and ``Origin`` to
the handler, so those checks are written here. The library never prints: the request log goes
to the ``log`` callback given to :func:`make_server`.
"""

from __future__ import annotations

import codecs
import contextlib
import importlib
import ipaddress
import json
import multiprocessing
import os
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, VOID, XSD
from rdflib.term import Node

from kgtools.errors import (
    GraphUnavailableError,
    KGError,
    ParameterError,
    QueryError,
    QuerySyntaxError,
    ServeError,
    UnsafeQueryError,
    UpdateRefusedError,
)
from kgtools.load.checks import quiet_rdflib_term_warnings
from kgtools.query.library import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    QueryLibrary,
    system_query_path,
    user_query,
)
from kgtools.query.params import bound_params, check_language, parse_param
from kgtools.query.results import QueryResult
from kgtools.query.run import DEFAULT_TIMEOUT, forked_child, isolate_network, run_here
from kgtools.store.base import Store

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


@dataclass(frozen=True)
class ServeConfig:
    """The endpoint's limits and the named graphs it reads."""

    timeout: float = DEFAULT_TIMEOUT
    max_rows: int = DEFAULT_MAX_ROWS
    max_query_length: int = DEFAULT_MAX_QUERY_LENGTH
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    #: Named graphs forming the default graph; ``None``: every graph of the store.
    graphs: tuple[URIRef, ...] | None = None
    #: Origins (``https://example.org``) whose pages may query the endpoint; ``*``: any.
    allow_origins: tuple[str, ...] = ()

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


# -- service description and page -------------------------------------------------------------
def service_description(endpoint: str, config: ServeConfig, triples: int | None = None) -> Graph:
    """The SPARQL 1.1 Service Description of the endpoint at ``endpoint``; ``triples``: the
    size of the default graph, when known."""
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
    if triples is not None:
        graph.add((default, VOID.triples, Literal(triples, datatype=XSD.integer)))
    return graph


def library_examples(library: QueryLibrary | None) -> list[dict[str, Any]]:
    """The library's queries for the page: name, title, description, text, parameters.

    Only the headers are read (preparing every query would add seconds to the start); a query
    is checked when it is sent, like any other.
    """
    from kgtools.query.library import _in_language, column_titles, parse_header

    if library is None:
        return []
    examples = []
    for name, path in zip(library.names(), library.files(), strict=True):
        text = path.read_text(encoding="utf-8")
        header = parse_header(text)
        declared = re.findall(r"\?([A-Za-z_]\w*)\s*(\([^)]*\))?", header.get("parameters", ""))
        title = header.get("title", path.stem)
        examples.append(
            {
                "name": name,
                "title": title,
                "titles": {lang: _in_language(title, lang) for lang in LANGUAGES},
                "columns": column_titles(text),
                "description": header.get("description", ""),
                "text": text,
                # the language parameter (?lang) is bound by the page's language switch
                "parameters": list(
                    dict.fromkeys(p for p, note in declared if "(language" not in note)
                ),
                "optional": sorted({p for p, note in declared if "optional" in note}),
            }
        )
    return examples


def render_page(examples: Sequence[Mapping[str, Any]], config: ServeConfig) -> bytes:
    """The query page: one HTML file, inline CSS and JavaScript, examples as inline JSON."""
    from kgtools.pages import render
    from kgtools.search import FIELD_TITLES

    limits = (
        f"{config.timeout:g} s per query · {config.max_rows:,} rows at most · "
        f"{config.max_query_length:,} characters per query · read-only"
    )
    titles = {name: dict(zip(LANGUAGES, pair, strict=True)) for name, pair in FIELD_TITLES.items()}
    return render(
        "serve.html.j2", examples=list(examples), limits=limits, search_titles=titles
    ).encode("utf-8")


_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# -- where the graph comes from ----------------------------------------------------------------


class BuildFolder:
    """The current build in a ``dist/`` folder, resolved again for every query.

    ``current`` returns the name of the store folder the manifest (``build.json``, written last
    by a build) points at, or ``None``. Each query opens that store read-only in its own
    process and keeps the handle until it ends: one query sees one build, and the files of an
    open store stay readable when a later rebuild moves the folder away and deletes it. A store
    that vanishes between reading the manifest and opening it (two rebuilds in between) is
    retried with the manifest read again.
    """

    ATTEMPTS = 5

    def __init__(self, out_dir: Path, current: Callable[[], str | None]) -> None:
        self.out_dir = out_dir
        self.current = current

    def open(self) -> Store:
        from kgtools.store.oxigraph import OxigraphStore

        for _ in range(self.ATTEMPTS):
            name = self.current()
            if name is None:
                break
            store = OxigraphStore(self.out_dir / name, read_only=True)
            try:
                store.ox  # noqa: B018 - open now, so that a vanished folder is retried here
            except OSError:
                time.sleep(0.05)
                continue
            return store
        raise GraphUnavailableError(
            "the graph is not built (or is being rebuilt): run kg build, then retry"
        )

    def paths(self) -> list[str]:
        """Folders whose names must never reach a client."""
        return [str(self.out_dir.resolve()), str(self.out_dir)]


_SEARCH_PARAMS = frozenset({"q", "lang", "type", "municipality", "fy", "limit"})


def _codec(charset: str) -> str | None:
    """The codec a Content-Type's ``charset`` names, as Python spells it (``UTF8`` and ``u8``
    are ``utf-8``, ``US-ASCII`` is ``ascii``); ``None`` for a name Python does not know."""
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return None


def form_params(text: str, where: str) -> dict[str, list[str]]:
    """``application/x-www-form-urlencoded`` ``text`` (a URL's query string or a form body) as
    lists of values, blank ones kept. Percent-encoded bytes must be UTF-8: ``parse_qs`` would
    put U+FFFD in place of the others, so that a query or a search text would silently run as
    something the client did not send (``%FF``, a cut ``%E5%8C``, an encoded surrogate)."""
    try:
        return parse_qs(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.end].hex(" ").upper()
        raise HTTPProblem(
            HTTPStatus.BAD_REQUEST,
            f"{where} holds percent-encoded bytes that are not UTF-8 ({bad}) — encode the text "
            "as UTF-8 before percent-encoding it",
        ) from None


class SearchFile:
    """The search index of the current build: written by a full build, else made on the first
    search after it (:func:`kgtools.search.index_for`, under a lock, so one request makes it),
    then kept open
    until a rebuild names another store — a warm server answers from an open SQLite handle.
    ``fixed``: one index file for the server's whole life instead (tests, the Python API)."""

    def __init__(self, folder: BuildFolder | None, fixed: Path | None = None) -> None:
        self.folder = folder
        self.fixed = fixed
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._index: Any = None

    def _current(self) -> Path:
        from kgtools.search import index_for

        if self.fixed is not None:
            return self.fixed
        if self.folder is None:
            raise HTTPProblem(HTTPStatus.NOT_FOUND, "this server has no search index")
        name = self.folder.current()
        if name is None:
            raise HTTPProblem(
                HTTPStatus.SERVICE_UNAVAILABLE, "the graph is not built: run kg build, then retry"
            )
        return index_for(self.folder.out_dir, name)

    def get(self) -> Any:
        from kgtools.search import SearchIndex

        with self._lock:
            try:
                path = self._current()
                if path != self._path:  # (the old handle stays valid for a search using it)
                    self._index = SearchIndex(path)
                    self._path = path
            except KGError as exc:
                raise HTTPProblem(
                    HTTPStatus.SERVICE_UNAVAILABLE, scrub(str(exc), self._hidden())
                ) from None
            return self._index

    def _hidden(self) -> list[str]:
        return self.folder.paths() if self.folder is not None else []


class _FixedStore:
    """One store for the server's whole life (tests, the Python API)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def open(self) -> Store:
        return self.store

    def paths(self) -> list[str]:
        path = getattr(self.store, "path", None)
        return [str(path.resolve()), str(path)] if isinstance(path, Path) else []


_Source = BuildFolder | _FixedStore

#: ``"…/x"`` preceded by a blank, a quote or a bracket: a filesystem path in an error message.
_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(\[=:]))(?:~|\.{1,2})?/(?!/)[^\s'\"\])]*")


def scrub(message: str, paths: Sequence[str] = ()) -> str:
    """``message`` without filesystem paths (the known folders first, then anything shaped like
    an absolute path), for an answer to a client."""
    for path in sorted(paths, key=len, reverse=True):
        if len(path) > 1:
            message = re.sub(re.escape(path) + r"[^\s'\"\])]*", "…", message)
    return _PATH.sub("…", message)


# -- running work in a child process -----------------------------------------------------------
class _Failed(Exception):
    """What a child process reported instead of an answer: an HTTP status and a message."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _status_for(exc: Exception) -> HTTPStatus:
    """The HTTP status of a refused query: an update is forbidden here (``403``); anything
    else the client must fix (SERVICE, a dataset clause, a syntax error) is a bad request."""
    return HTTPStatus.FORBIDDEN if isinstance(exc, UpdateRefusedError) else HTTPStatus.BAD_REQUEST


def _query_job(
    text: str,
    bindings: Mapping[str, Node],
    graphs: Sequence[URIRef] | None,
    max_rows: int,
    lang: str | None = None,
) -> Callable[[Store], tuple[QueryResult, bool]]:
    """The work of one query, for a child process: check and parse (rdflib's parser is slow
    on long queries, so this is inside the time limit), run, cut at ``max_rows``. ``lang``
    binds a library query's ``?lang`` (``/sparql?lang=en``)."""

    def job(store: Store) -> tuple[QueryResult, bool]:
        try:
            prepared = user_query(text, "query")  # kgtools.query.run.check_query first
        except QueryError as exc:  # refused by the check: the client's to fix
            raise _Failed(_status_for(exc), str(exc)) from None
        try:
            bound = bound_params(prepared, bindings, lang)
            if not prepared.parameters and re.search(r"[?$]lang\b", prepared.body):
                # a library query whose header the client dropped (rdflib's SPARQLStore sends
                # the text without its comments): ?lang gets the asked or the default language
                bound.setdefault("lang", Literal(lang or DEFAULT_LANGUAGE))
            result = run_here(store, prepared, bound, graphs=graphs)
        except (ParameterError, QuerySyntaxError, UnsafeQueryError) as exc:
            raise _Failed(_status_for(exc), str(exc)) from None
        return truncate(result, max_rows)

    return job


def _child_main(conn: Any, source: _Source, job: Callable[[Store], Any]) -> None:
    """The child: open the current build, do the job, send the answer; never raises (a raise
    would print a traceback on the server's console)."""
    try:
        try:
            isolate_network()  # before the store opens: this process never needs the network
            conn.send(("ok", job(source.open())))
        except _Failed as exc:
            conn.send(("failed", (int(exc.status), exc.message)))
        except GraphUnavailableError as exc:
            conn.send(("failed", (int(HTTPStatus.SERVICE_UNAVAILABLE), str(exc))))
        except QueryError as exc:  # e.g. an answer holding an IRI no syntax can write
            conn.send(("failed", (int(HTTPStatus.INTERNAL_SERVER_ERROR), str(exc))))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except BaseException:  # the parent gave up (pipe closed): nothing left to tell
        pass
    finally:
        with contextlib.suppress(BaseException):
            conn.close()


#: Seconds a query may run in the slot kept for short queries (less if ``--timeout`` is less).
QUICK_LIMIT = 2.0
#: Seconds a query in that slot runs before another query that needs the slot may stop it;
#: also how long any query runs before its process is given a lower priority.
QUICK_GUARANTEED = 0.5
#: The ``nice`` increment of a query's process once it has run :data:`QUICK_GUARANTEED` s.
LONG_QUERY_NICENESS = 10


class _TimedOut(Exception):
    """The child did not answer in time (it has been killed)."""


class _Stopped(Exception):
    """The child was stopped to give its slot to another query (see :class:`QuickLane`)."""


def run_in_child(
    source: _Source,
    job: Callable[[Store], Any],
    timeout: float,
    stop: threading.Event | None = None,
) -> Any:
    """``job(store)`` on the current build, in a forked child process killed after
    ``timeout`` s (or when ``stop`` is set): parsing, running and everything they allocate stay
    out of the server process. Raises :class:`_Failed`, :class:`_TimedOut` or
    :class:`_Stopped`."""
    if "fork" not in multiprocessing.get_all_start_methods():  # no fork: in this thread
        try:
            return job(source.open())
        except GraphUnavailableError as exc:
            raise _Failed(HTTPStatus.SERVICE_UNAVAILABLE, str(exc)) from None
        except QueryError as exc:
            raise _Failed(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc)) from None
    with forked_child(_child_main, source, job, daemon=True) as (process, receiver):
        started = time.monotonic()
        deadline = started + timeout
        niced = False
        try:
            while not receiver.poll(min(max(deadline - time.monotonic(), 0), 0.05)):
                if stop is not None and stop.is_set():
                    raise _Stopped
                now = time.monotonic()
                if now >= deadline:
                    raise _TimedOut
                if not niced and now - started >= QUICK_GUARANTEED and process.pid is not None:
                    # A long query yields the processor to short ones started after it.
                    niced = True
                    with contextlib.suppress(OSError, AttributeError):
                        os.setpriority(os.PRIO_PROCESS, process.pid, LONG_QUERY_NICENESS)
            status, payload = receiver.recv()
        except EOFError:
            status, payload = "error", "the query process ended without an answer"
    if status == "ok":
        return payload
    if status == "failed":
        code, message = payload
        raise _Failed(HTTPStatus(code), message)
    raise _Failed(HTTPStatus.INTERNAL_SERVER_ERROR, f"query: the query failed: {payload}")


class QuickLane:
    """The slot kept for short queries, used when every other slot is taken.

    Waiting queries take it in turn (first come, first served). The query holding it runs for
    at most :data:`QUICK_LIMIT` s, and once it has had :data:`QUICK_GUARANTEED` s, the next
    waiting query stops it and takes the slot: a slow query sent while the endpoint is full is
    refused quickly, and a short one is answered within about a second, however many slow
    queries one client sends.
    """

    def __init__(self, guaranteed: float = QUICK_GUARANTEED) -> None:
        self.guaranteed = guaranteed
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._holder: threading.Event | None = None
        self._since = 0.0

    def acquire(self, timeout: float) -> threading.Event | None:
        """Wait at most ``timeout`` s for the slot; the event returned is set when the holder
        must give it up; ``None``: not had in time."""
        me = object()
        deadline = time.monotonic() + timeout
        with self._cond:
            self._queue.append(me)
            try:
                while True:
                    now = time.monotonic()
                    first = self._queue[0] is me
                    if first and self._holder is None:
                        self._holder, self._since = threading.Event(), now
                        return self._holder
                    if now >= deadline:
                        return None
                    wait = deadline - now
                    if first and self._holder is not None and not self._holder.is_set():
                        due = self._since + self.guaranteed
                        if now >= due:
                            self._holder.set()  # the holder's thread stops it and releases
                        else:
                            wait = min(wait, due - now)
                    self._cond.wait(wait)
            finally:
                self._queue.remove(me)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._holder = None
            self._cond.notify_all()


# -- the server ---------------------------------------------------------------------------------
class SparqlServer(ThreadingHTTPServer):
    """A threading HTTP server that holds the graph's source, the limits and the page.

    Slots: ``max_concurrent - 1`` queries run at once with the full time limit; one more slot,
    the :class:`QuickLane`, is kept for short queries, so that a client filling the others
    with slow queries cannot keep a quick ``ASK`` waiting. A query that finds the full slots
    taken waits for the kept one and runs there with a limit of :data:`QUICK_LIMIT` s
    (``503`` with ``Retry-After`` when it is stopped).
    """

    daemon_threads = True
    #: Room for connections waiting to be accepted (the default, 5, drops bursts).
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        store: Store | BuildFolder,
        config: ServeConfig,
        *,
        examples: Sequence[Mapping[str, Any]] = (),
        log: Callable[[str], None] | None = None,
        search_index: Path | None = None,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.source: _Source = store if isinstance(store, BuildFolder) else _FixedStore(store)
        self.search_index = SearchFile(
            store if isinstance(store, BuildFolder) else None, fixed=search_index
        )
        self.config = config
        self.page = render_page(examples, config)
        self.log = log
        self.slots = threading.BoundedSemaphore(max(config.max_concurrent - 1, 1))
        self.quick_lane = QuickLane()
        self.loopback = is_loopback(address[0])
        super().__init__(address, SparqlHandler)
        # rdflib builds its SPARQL grammar on the first parse (~0.2 s): done once here, every
        # query's forked process inherits it instead of building it again. The modules a query
        # imports on first use are imported here too: a child forked while another thread
        # held an import lock would wait for it forever.
        warm_up = system_query_path("warm-up.rq")
        user_query(warm_up.read_text(encoding="utf-8"), str(warm_up))
        importlib.import_module("kgtools.store.oxigraph")
        importlib.import_module("kgtools.store.remote")

    @property
    def url(self) -> str:
        """The base URL the server listens on (``http://host:port/``)."""
        host, port = self.server_address[:2]
        host = str(host)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failure outside the handler's own catching: one line in the log, no traceback."""
        exc = sys.exc_info()[1]
        if self.log is not None and not isinstance(exc, (ConnectionError, TimeoutError)):
            self.log(f"{client_address[0]} - connection failed: {type(exc).__name__}: {exc}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1 or ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_server(
    store: Store | BuildFolder,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    config: ServeConfig | None = None,
    library: QueryLibrary | None = None,
    log: Callable[[str], None] | None = None,
    search_index: Path | None = None,
) -> SparqlServer:
    """Bind the endpoint (port 0: any free port; see :attr:`SparqlServer.url`); not yet serving.

    ``store`` is one store, or a :class:`BuildFolder` (what ``kg serve`` gives: every query
    opens the build current when it starts, so the server keeps answering across rebuilds).
    ``GET /search`` reads ``search_index`` (default: the index of the build folder's current
    store, made on the first search when the build did not write it).
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
            search_index=search_index,
        )
    except OSError as exc:
        raise ServeError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} — choose another --port "
            "(0 = any free port) or --host"
        ) from None


#: A ``Host`` header: a name or IPv4 address, or an IPv6 address in brackets; then a port.
_HOST = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.?|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
#: An ``Origin`` header: scheme://host[:port] (or ``null``, from sandboxed and file: pages).
_ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s?#]+")
_LENGTH = re.compile(r"[0-9]+")


#: A byte outside ASCII, in a request line.
_NON_ASCII = re.compile(rb"[\x80-\xff]")


class SparqlHandler(BaseHTTPRequestHandler):
    """One request: the page, the service description or a query."""

    server: SparqlServer
    protocol_version = "HTTP/1.1"
    #: The version assumed until the request line is read: the standard library's "HTTP/0.9"
    #: made its own refusals of a bad version ("GET / HTTP/2.0" → 505, "HTTP/1.x" → 400) go
    #: out without a status line or headers, which no HTTP/1.x client can read.
    default_request_version = "HTTP/1.1"
    server_version = "kg-serve"
    #: Seconds a connection may sit idle (keep-alive) or trickle a request before it is closed.
    timeout = 60
    #: After refusing a body without reading it, at most this many bytes and seconds are read
    #: and dropped before the connection is closed, so that the client sees the answer instead
    #: of a reset connection.
    DRAIN_BYTES = 1 << 22
    DRAIN_SECONDS = 1.0
    _cors: dict[str, str] = {}  # noqa: RUF012 - replaced per request, never changed in place
    _answered = False
    _unread = False
    _body_done = False

    # -- plumbing -------------------------------------------------------------------------------
    def parse_request(self) -> bool:
        """The standard library's, except that a request line without a version (HTTP/0.9's
        ``GET /``) is refused at once: the standard library would go on to wait for headers
        that an HTTP/0.9 client never sends, holding the connection until the time-out; and
        that bytes a client sent without percent-encoding them (``curl -g '…?q=北区'``) are
        read as their percent-encoding, as a browser would send them. (The standard library
        reads the line as Latin-1, which made 北区 the text "ååº", and splits it at any
        character Python calls a space, 0x85 and 0xA0 among them: bytes of 々 or 東.) Whether
        they are UTF-8 is then checked with the rest of the query string (:func:`form_params`)."""
        raw: bytes = getattr(self, "raw_requestline", b"")
        if not raw.isascii():
            raw = _NON_ASCII.sub(lambda m: b"%%%02X" % m[0][0], raw)
            self.raw_requestline = raw
        self.requestline = str(raw, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) == 2:
            self.command, self.path = words
            self.request_version = self.default_request_version
            self.close_connection = True
            self.send_error(
                HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not served: send HTTP/1.0 or HTTP/1.1"
            )
            return False
        return super().parse_request()

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
        for name, value in {**self._cors, **(headers or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._answered = True

    def _problem(self, problem: HTTPProblem) -> None:
        self._send(
            problem.status,
            (problem.message + "\n").encode("utf-8"),
            "text/plain; charset=utf-8",
            problem.headers,
        )

    def _target(self) -> Any:
        try:
            return urlsplit(self.path)
        except ValueError:  # e.g. an absolute-form target with a broken IPv6 literal
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "malformed request target") from None

    def _route(self) -> str:
        return str(self._target().path)

    def _url_params(self) -> dict[str, list[str]]:
        return form_params(self._target().query, "the URL's query string")

    def _dispatch(self, work: Callable[[], None]) -> None:
        """Check the request's framing, Host and Origin, do ``work``; every failure becomes an
        HTTP answer (or, when the client is gone, a closed connection) — never a traceback."""
        self._answered = False
        self._unread = False
        self._body_done = False
        self._cors: dict[str, str] = {}
        try:
            try:
                self._check_framing()
                self._check_host()
                self._check_origin()
                work()
            except HTTPProblem as problem:
                self._settle_body()
                self._problem(problem)
            except (ConnectionError, TimeoutError):
                raise
            except Exception as exc:
                if self.server.log is not None:
                    self.server.log(
                        f"{self.address_string()} - internal error: {type(exc).__name__}: "
                        + scrub(str(exc), self.server.source.paths())
                    )
                if self._answered:
                    self.close_connection = True
                else:
                    self.close_connection = True
                    self._problem(
                        HTTPProblem(
                            HTTPStatus.INTERNAL_SERVER_ERROR,
                            "internal error in kg serve (a bug; the server's log has a line "
                            "about it)",
                        )
                    )
            if self._unread:
                self._drain()
        except TimeoutError:
            self.close_connection = True
            if not self._answered:
                with contextlib.suppress(OSError):
                    self._problem(
                        HTTPProblem(
                            HTTPStatus.REQUEST_TIMEOUT,
                            f"the request did not arrive within {self.timeout} s",
                        )
                    )
        except (ConnectionError, OSError):
            self.close_connection = True

    def _settle_body(self) -> None:
        """Before refusing a request whose body was not read: read it (a small one, so that
        the connection stays usable) or end the connection after the answer."""
        if self._body_done or self._unread:
            return
        length = self._content_length() or 0
        if length > self.server.config.max_body:
            self.close_connection = True
            self._unread = True
        elif length:
            self._body_done = True
            if len(self.rfile.read(length)) < length:
                self.close_connection = True

    def _drain(self) -> None:
        """Read and drop what the client is still sending, briefly, then close."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(self.DRAIN_SECONDS)
            deadline = time.monotonic() + self.DRAIN_SECONDS
            left = self.DRAIN_BYTES
            while left > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(left, 65_536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    def handle_expect_100(self) -> bool:
        """Send ``100 Continue`` only for a body that will be read; otherwise the client gets
        the final answer without sending the body."""
        lengths = self.headers.get_all("Content-Length") or []
        if (
            self.headers.get("Transfer-Encoding") is None
            and len(lengths) == 1
            and _LENGTH.fullmatch(lengths[0].strip(" \t"))
            and len(lengths[0].strip(" \t")) <= 18
            and int(lengths[0]) <= self.server.config.max_body
        ):
            return super().handle_expect_100()
        return True

    # -- checks of every request ----------------------------------------------------------------
    def _check_framing(self) -> None:
        """Where the body ends must be certain: one ``Content-Length`` of plain digits, and no
        ``Transfer-Encoding`` (behind a proxy that reads the other one, either could smuggle
        a second request in the body)."""
        lengths = self.headers.get_all("Content-Length") or []
        codings = self.headers.get_all("Transfer-Encoding") or []
        if codings:
            self.close_connection = True
            self._unread = True
            if lengths:
                raise HTTPProblem(
                    HTTPStatus.BAD_REQUEST,
                    "the request has both Transfer-Encoding and Content-Length; send only "
                    "Content-Length",
                )
            raise HTTPProblem(
                HTTPStatus.LENGTH_REQUIRED,
                "bodies with Transfer-Encoding (chunked) are not accepted: send the body with "
                "a Content-Length header",
            )
        if len(lengths) > 1:
            self.close_connection = True
            self._unread = True
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "send one Content-Length header, not several")
        if lengths and not _LENGTH.fullmatch(lengths[0].strip(" \t")):
            self.close_connection = True
            self._unread = True
            raise HTTPProblem(
                HTTPStatus.BAD_REQUEST,
                "bad Content-Length header: it must be a number of bytes (digits 0-9 only)",
            )

    def _content_length(self) -> int | None:
        text = self.headers.get("Content-Length")
        if text is None:
            return None
        digits = text.strip(" \t").lstrip("0") or "0"
        if len(digits) > 18:
            return 1 << 62
        return int(digits)

    def _check_host(self) -> None:
        """A ``Host`` header must be well formed, and name this machine when the server
        listens on loopback only: a page whose DNS name was pointed at 127.0.0.1 (DNS
        rebinding) sends its own name, and is refused."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "send one Host header, not several")
        if not hosts and self.request_version != "HTTP/1.0":
            # "A server MUST respond with a 400 … to any HTTP/1.1 request message that lacks a
            # Host header field" (RFC 9112 §3.2).
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "send a Host header (HTTP/1.1 needs one)")
        if hosts:
            self._check_authority(hosts[0], "Host header")
        target = self._target()
        if target.scheme or target.netloc:
            # An absolute-form target (``GET http://host/sparql``) names the host the request
            # is for, and a server must go by it rather than by Host (RFC 9112 §3.2.2).
            self._check_authority(target.netloc, "request target")

    def _check_authority(self, value: str, what: str) -> None:
        match = _HOST.fullmatch(value.strip(" \t"))
        if match is None or (match["port"] is not None and int(match["port"]) > 65535):
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, f"malformed {what}")
        if self.server.loopback and not is_loopback(match["name"].rstrip(".")):
            raise HTTPProblem(
                HTTPStatus.FORBIDDEN,
                "this endpoint listens on loopback and answers only requests for localhost, "
                f"127.0.0.1 or [::1] (the {what} names another host)",
            )

    def _own_origin(self) -> str:
        host = (self.headers.get("Host") or "").strip(" \t").lower()
        return f"http://{host}" if host else self.server.url.rstrip("/")

    def _check_origin(self) -> None:
        """A request from a page of another origin is refused unless ``--allow-origin`` names
        that origin (it then gets CORS headers). Browsers send ``Origin`` on cross-origin
        requests and ``Sec-Fetch-Site`` on all; the query page itself is same-origin."""
        origins = self.headers.get_all("Origin") or []
        if len(origins) > 1:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "send one Origin header, not several")
        origin = origins[0].strip(" \t") if origins else None
        site = (self.headers.get("Sec-Fetch-Site") or "").strip().lower()
        allowed = self.server.config.allow_origins
        if origin is not None:
            if origin != "null" and not _ORIGIN.fullmatch(origin):
                raise HTTPProblem(HTTPStatus.BAD_REQUEST, "malformed Origin header")
            if origin.lower() == self._own_origin():
                return
            if origin in allowed or "*" in allowed:
                self._cors = {
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Expose-Headers": "X-Result-Truncated, X-Result-Row-Limit",
                    "Vary": "Origin",
                }
                return
        elif site in ("", "same-origin", "none") or self._route() in ("/", "/index.html"):
            return  # not from a browser, typed in, or a link to the page (which is harmless)
        raise HTTPProblem(
            HTTPStatus.FORBIDDEN,
            f"cross-origin request refused (Origin: {origin or 'not sent'}, Sec-Fetch-Site: "
            f"{site or 'not sent'}): start kg serve with --allow-origin ORIGIN to let pages of "
            "that origin query this endpoint",
        )

    def _read_body(self) -> bytes:
        length = self._content_length()
        if length is None:
            self.close_connection = True
            raise HTTPProblem(HTTPStatus.LENGTH_REQUIRED, "send a Content-Length header")
        if length > self.server.config.max_body:
            self.close_connection = True  # the body is left unread: the connection must end
            self._unread = True
            raise HTTPProblem(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, self._too_long())
        self._body_done = True
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise HTTPProblem(
                HTTPStatus.BAD_REQUEST,
                f"the body ended after {len(body):,} of the {length:,} bytes its "
                "Content-Length announced",
            )
        return body

    def _skip_body(self) -> None:
        """Read and drop the body of a request that has no use for one, so that the next
        request on the connection starts where it should."""
        length = self._content_length()
        if length:
            self._read_body()

    def _too_long(self) -> str:
        return (
            f"the query is longer than the limit of {self.server.config.max_query_length:,} "
            "characters (kg serve --max-query-length)"
        )

    # -- methods --------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch(self._get)

    def do_HEAD(self) -> None:
        self._dispatch(self._get)

    def do_POST(self) -> None:
        self._dispatch(self._post)

    def do_OPTIONS(self) -> None:
        self._dispatch(self._options)

    def do_PUT(self) -> None:
        self._dispatch(self._refuse_writes)

    do_DELETE = do_PATCH = do_PUT

    def _get(self) -> None:
        self._skip_body()
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
        elif route == "/search":
            self._search(self._url_params())
        else:
            raise HTTPProblem(
                HTTPStatus.NOT_FOUND,
                "not found: the endpoint is /sparql, the search /search?q=…, the page is /",
            )

    def _search(self, params: dict[str, list[str]]) -> None:
        """``GET /search?q=…[&lang=&type=&municipality=&fy=&limit=]``: the hits of
        :mod:`kgtools.search` as JSON, the records ``kg search -f json`` prints."""
        from kgtools.errors import SearchError

        unknown = sorted(set(params) - _SEARCH_PARAMS)
        if unknown:
            raise HTTPProblem(
                HTTPStatus.BAD_REQUEST,
                f"unknown parameter {unknown[0]!r} — use {', '.join(sorted(_SEARCH_PARAMS))}",
            )
        repeated = sorted(k for k, v in params.items() if len(v) > 1)
        if repeated:
            name = repeated[0]
            raise HTTPProblem(
                HTTPStatus.BAD_REQUEST,
                f"give the parameter {name!r} once (it was given {len(params[name])} times)",
            )
        one = {k: v[0] for k, v in params.items()}
        try:
            fy = int(one["fy"]) if one.get("fy") else None
            limit = int(one["limit"]) if one.get("limit") else 50
        except ValueError:
            raise HTTPProblem(
                HTTPStatus.BAD_REQUEST, "fy and limit must be whole numbers"
            ) from None
        index = self.server.search_index.get()
        try:
            hits = index.search(
                one.get("q", ""),
                lang=one.get("lang") or None,
                type=one.get("type") or None,
                municipality=one.get("municipality") or None,
                fy=fy,
                limit=min(limit, self.server.config.max_rows),
            )
        except SearchError as exc:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, str(exc)) from None
        body = {"q": one.get("q", ""), "results": [h.record() for h in hits]}
        self._send(
            HTTPStatus.OK,
            json.dumps(body, ensure_ascii=False).encode("utf-8"),
            "application/json; charset=utf-8",
        )

    def _post(self) -> None:
        if self._route() != "/sparql":
            self._skip_body()
            raise HTTPProblem(HTTPStatus.NOT_FOUND, "not found: the endpoint is /sparql")
        media = self.headers.get_content_type()
        body = self._read_body()
        params = self._url_params()
        if media == "application/sparql-update":
            raise HTTPProblem(HTTPStatus.FORBIDDEN, _UPDATE_REFUSED)
        charset = self.headers.get_content_charset()
        codec = None if charset is None else _codec(charset)
        if charset is not None and codec not in ("utf-8", "ascii"):
            # (read as UTF-8 anyway, a body sent as Latin-1 or Shift_JIS that happened to
            # decode would run as a query the client never wrote)
            raise HTTPProblem(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"charset={charset!r}: the query is read as UTF-8 only — send it as UTF-8 "
                f"(Content-Type: {media}; charset=utf-8, or no charset)",
            )
        if codec == "ascii" and not body.isascii():
            raise HTTPProblem(
                HTTPStatus.BAD_REQUEST,
                f"the request body is not {charset} as its Content-Type says — send it as UTF-8",
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, "the request body is not UTF-8") from None
        if media == "application/x-www-form-urlencoded":
            for key, values in form_params(text, "the form").items():
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

    def _options(self) -> None:
        """CORS preflight (answered for the origins of ``--allow-origin``) and ``Allow``."""
        self._skip_body()
        headers = {"Allow": "GET, HEAD, POST, OPTIONS"}
        if self._cors:
            headers |= {
                "Access-Control-Allow-Methods": "GET, HEAD, POST",
                "Access-Control-Allow-Headers": "Accept, Content-Type",
                "Access-Control-Max-Age": "600",
            }
        self._send(HTTPStatus.NO_CONTENT, b"", "text/plain; charset=utf-8", headers)

    def _refuse_writes(self) -> None:
        self.close_connection = True
        self._unread = bool(self._content_length())
        raise HTTPProblem(HTTPStatus.METHOD_NOT_ALLOWED, _UPDATE_REFUSED, {"Allow": _ALLOW})

    # -- queries --------------------------------------------------------------------------------
    def _in_slot(self, job: Callable[[Store], Any]) -> Any:
        """``job`` in a child process, in a free full slot or else in the quick lane (see
        :class:`SparqlServer`); every failure as an :class:`HTTPProblem`."""
        server, config = self.server, self.server.config
        stop: threading.Event | None = None
        if server.slots.acquire(blocking=False):
            limit = config.timeout
        else:
            limit = min(config.timeout, QUICK_LIMIT)
            stop = server.quick_lane.acquire(limit)
            if stop is None:
                raise HTTPProblem(
                    HTTPStatus.SERVICE_UNAVAILABLE,
                    f"busy: {config.max_concurrent} queries are running; retry later "
                    "(kg serve --max-concurrent)",
                    {"Retry-After": "5"},
                )
        try:
            return run_in_child(server.source, job, limit, stop)
        except (_TimedOut, _Stopped) as exc:
            if stop is None:
                message = (
                    f"query: stopped after the time limit of {limit:g} s; simplify the query "
                    "or raise the limit (the server's limit: kg serve --timeout)"
                )
            else:
                why = (
                    f"ran past the {limit:g} s allowed"
                    if isinstance(exc, _TimedOut)
                    else "was stopped to let another query run"
                )
                message = (
                    f"busy: {config.max_concurrent - 1} long queries are running, and this one "
                    f"{why} in the slot kept for short queries; retry later "
                    "(kg serve --max-concurrent)"
                )
            raise HTTPProblem(
                HTTPStatus.SERVICE_UNAVAILABLE, message, {"Retry-After": "5"}
            ) from None
        except _Failed as exc:
            message = scrub(exc.message, server.source.paths())
            if exc.status >= 500 and server.log is not None:
                server.log(f"{self.address_string()} - {exc.status}: {message}")
            raise HTTPProblem(exc.status, message) from None
        finally:
            if stop is None:
                server.slots.release()
            else:
                server.quick_lane.release()

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
            bindings = dict(parse_param(p) for p in params.get("param", []))
            lang = params["lang"][-1] if params.get("lang") else None
            if lang is not None:
                check_language(lang)
        except ParameterError as exc:
            raise HTTPProblem(HTTPStatus.BAD_REQUEST, str(exc)) from None
        accept = self.headers.get("Accept")
        offers = [*RESULT_TYPES, *GRAPH_TYPES]
        if negotiate(accept, offers) is None:
            raise HTTPProblem(
                HTTPStatus.NOT_ACCEPTABLE,
                "none of the Accept types can carry a result; this endpoint offers "
                + ", ".join(offers),
            )
        graphs = list(config.graphs) if config.graphs is not None else None
        # the answer's literals are made again on unpickling and serializing: an ill-typed one
        # ("2021-02-30"^^xsd:date) is data, not a reason for rdflib to log a traceback here
        with quiet_rdflib_term_warnings():
            cut, truncated = self._in_slot(
                _query_job(text, bindings, graphs, config.max_rows, lang)
            )
        kind = cut.kind
        offers = list(GRAPH_TYPES if kind in ("CONSTRUCT", "DESCRIBE") else RESULT_TYPES)
        media = negotiate(accept, offers)
        if media is None:
            raise HTTPProblem(
                HTTPStatus.NOT_ACCEPTABLE,
                f"none of the Accept types can carry the {kind} result; this endpoint offers "
                + ", ".join(offers),
            )
        headers = {"Vary": "Accept"}
        if kind != "ASK":
            headers["X-Result-Truncated"] = "true" if truncated else "false"
            headers["X-Result-Row-Limit"] = str(config.max_rows)
        with quiet_rdflib_term_warnings():
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
        host = (self.headers.get("Host") or "").strip(" \t") or self.server.url.split("/")[2]
        config = self.server.config
        triples = None
        if config.graphs is not None:
            names = list(config.graphs)
            triples = self._in_slot(lambda store: sum(store.count(g) for g in names))
        graph = service_description(f"http://{host}/sparql", config, triples)
        body = graph.serialize(format=GRAPH_TYPES[media]).encode("utf-8")
        self._send(HTTPStatus.OK, body, f"{media}; charset=utf-8", {"Vary": "Accept"})


_ALLOW = "GET, HEAD, POST, OPTIONS"
_UPDATE_REFUSED = (
    "updates (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP …) are refused: the graph is read-only "
    "here; rebuild it from data/ with `kg build` instead"
)
_DATASET_REFUSED = (
    "default-graph-uri / named-graph-uri is refused: the dataset is the built graph; "
    "remove the dataset parameters (use kg serve --asserted to leave out the entailments)"
)
