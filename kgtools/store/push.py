"""``kg push``: the built graph uploaded to a SPARQL server, each named graph replaced whole.

Through the Graph Store Protocol (``--store-endpoint``; Virtuoso's ``/sparql-graph-crud(-auth)``
is found from its ``/sparql`` address) or SPARQL Update in chunks (``--via update``). The triples
go first to staging graphs (``<target>/kg-push-staging``), are counted there, and one ``MOVE``
request puts them in place, so a failed upload leaves the targets as they were. HTTP, credentials
and redirects are :mod:`kgtools.store.remote`'s.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kgtools.errors import (
    EndpointHTTPError,
    PushFailedError,
    PushVerificationError,
    RemoteError,
)
from kgtools.query.library import system_query_path
from kgtools.store.remote import DEFAULT_TIMEOUT, RemoteStore, check_url, request, shown

if TYPE_CHECKING:
    from rdflib import URIRef
    from rdflib.term import Node

    from kgtools.store.base import Store, Triple


DEFAULT_CHUNK = 5_000


WHICH = ("all", "asserted", "inferred")


#: How :func:`push` uploads: the Graph Store Protocol, or SPARQL Update ``INSERT DATA``.
VIAS = ("graph-store", "update")


#: Triples per ``INSERT DATA`` by default (Virtuoso 7.2.5 refuses 5,000; 4,000 pass).
UPDATE_CHUNK = 1_000


#: Appended to a target graph IRI to name the graph :func:`push` uploads into first.
STAGING_SUFFIX = "/kg-push-staging"


_UPDATE_TOKENS = re.compile(
    r'"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|#[^\n]*"
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
    r"|[?$]([A-Za-z_][A-Za-z0-9_]*)"
)


def check_graph_iri(iri: str) -> str:
    """``iri`` if it is an absolute IRI that can be written ``<…>`` as it is; else a
    :class:`RemoteError` (the check that makes :func:`bind_update` safe)."""
    if (
        not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", iri)
        or any(c in iri for c in ' <>"{}|^`\\')
        or any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in iri)
    ):
        raise RemoteError(
            f"bad graph IRI {iri!r}: give an absolute IRI such as "
            "https://example.org/graph/tokyo-industry-plans"
        )
    return iri


def bind_update(text: str, bindings: Mapping[str, str]) -> str:
    """SPARQL Update ``text`` with each ``?name`` (outside strings, comments and IRIs) replaced
    by the IRI bound to it, written ``<…>`` after :func:`check_graph_iri` (graph-management
    operations such as ``MOVE`` and ``DROP`` take IRIs only, so a ``VALUES`` block cannot bind
    them)."""
    iris = {name: check_graph_iri(iri) for name, iri in bindings.items()}
    used: set[str] = set()

    def term(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group()
        if name not in iris:
            raise RemoteError(f"?{name} is not bound in the update")
        used.add(name)
        return f"<{iris[name]}>"

    bound = _UPDATE_TOKENS.sub(term, text)
    if used != set(iris):
        raise RemoteError(f"unused bindings: {', '.join(sorted(set(iris) - used))}")
    return bound


def _update_file(name: str) -> str:
    """The update in ``sparql/name`` without its comment header (sent once per graph)."""
    text = (system_query_path(name)).read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.startswith("#")).strip()


def staging_iri(target: str) -> str:
    """Where :func:`push` uploads ``target``'s triples before moving them into place."""
    return check_graph_iri(target) + STAGING_SUFFIX


def move_update(pairs: Mapping[str, str]) -> str:
    """One SPARQL Update request that moves each staging graph (key) onto its target (value)."""
    text = _update_file("move-staged-graphs.ru")
    return " ;\n".join(bind_update(text, {"staging": s, "target": t}) for s, t in pairs.items())


def insert_update(graph: str, triples: Sequence[Triple]) -> str:
    """One ``INSERT`` request that adds ``triples`` to ``graph`` (``sparql/
    insert-staged-chunk.ru``; the N-Triples come from rdflib's serialiser)."""
    text = system_query_path("insert-staged-chunk.ru").read_text(encoding="utf-8")
    head, _, tail = text.partition("\n# triples\n")
    body = "\n".join(line for line in head.splitlines() if not line.startswith("#"))
    bound = bind_update(body, {"staging": graph})
    return bound + "\n" + _ntriples(triples).decode("utf-8") + tail


def drop_update(graphs: Iterable[str]) -> str:
    """One SPARQL Update request that drops the graphs (``SILENT``: missing ones are fine)."""
    text = _update_file("drop-staging-graph.ru")
    return " ;\n".join(bind_update(text, {"staging": g}) for g in graphs)


def update(endpoint: str, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Send one SPARQL 1.1 Update request (``application/sparql-update``)."""
    request(
        "POST",
        endpoint,
        data=text.encode("utf-8"),
        headers={"Content-Type": "application/sparql-update; charset=utf-8"},
        timeout=timeout,
    )


@dataclass
class PushSummary:
    """What :func:`push` uploaded: triples per target graph (verified on the server)."""

    graphs: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0

    @property
    def triples(self) -> int:
        return sum(self.graphs.values())


def source_graphs(which: str) -> list[URIRef]:
    """The toolkit's named graphs to upload for ``which`` (all, asserted, inferred)."""
    from kgtools.namespaces import ALL_GRAPHS, ASSERTED_GRAPHS, INFERRED_GRAPH

    choice = {"all": ALL_GRAPHS, "asserted": ASSERTED_GRAPHS, "inferred": (INFERRED_GRAPH,)}
    if which not in choice:
        raise RemoteError(f"unknown selection {which!r}: use one of {', '.join(WHICH)}")
    return list(choice[which])


def chunks(triples: Iterable[Triple], size: int) -> Iterator[list[Triple]]:
    """Chunks of about ``size`` triples, sorted; all triples sharing a blank node stay together."""
    from rdflib import BNode

    parent: dict[Node, Node] = {}

    def find(node: Node) -> Node:
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    items = sorted(triples)
    for s, _, o in items:
        if isinstance(s, BNode) and isinstance(o, BNode):
            parent.setdefault(s, s)
            parent.setdefault(o, o)
            root_s, root_o = find(s), find(o)
            if root_s != root_o:
                parent[root_o] = root_s
    groups: dict[Node | int, list[Triple]] = {}
    for index, triple in enumerate(items):
        s, _, o = triple
        key: Node | int = index
        if isinstance(s, BNode):
            key = find(s)
        elif isinstance(o, BNode):
            key = find(o)
        groups.setdefault(key, []).append(triple)
    chunk: list[Triple] = []
    for group in groups.values():
        if chunk and len(chunk) + len(group) > size:
            yield chunk
            chunk = []
        chunk.extend(group)
    yield chunk  # an empty graph still gets its one PUT, which empties the remote graph


def _ntriples(triples: Sequence[Triple]) -> bytes:
    from rdflib import Graph

    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph.serialize(format="nt", encoding="utf-8")


def _graph_url(store_endpoint: str, graph: str) -> str:
    separator = "&" if "?" in store_endpoint else "?"
    return f"{store_endpoint}{separator}{urllib.parse.urlencode({'graph': graph})}"


def push(
    store: Store,
    endpoint: str,
    graph_iri: str | None = None,
    which: str = "all",
    *,
    query_endpoint: str | None = None,
    update_endpoint: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    timeout: float = DEFAULT_TIMEOUT,
    via: str = "graph-store",
) -> PushSummary:
    """Upload the built graph to the Graph Store endpoint ``endpoint`` and verify the counts.

    ``which``: ``all`` (asserted + inferred), ``asserted`` or ``inferred``. ``graph_iri``: the
    one remote named graph to replace with all of it; ``None`` replaces the toolkit's named
    graphs. ``query_endpoint`` (for the checks) and ``update_endpoint`` (for ``MOVE``) default
    to ``…/query`` and ``…/update`` beside a ``…/store`` endpoint.

    ``via``: ``graph-store`` (PUT and POST to ``endpoint``) or ``update`` (``INSERT DATA`` per
    chunk to ``update_endpoint``, for a server without a Graph Store endpoint; ``endpoint`` is
    then not used; keep chunks small: Virtuoso's SPARQL compiler refuses 5,000 triples).

    Each target is uploaded into its staging graph (:func:`staging_iri`), the staged counts are
    checked, and then one SPARQL Update request moves every staging graph onto its target, so the
    targets change together or not at all. On a failure the staging graphs are dropped and a
    :class:`PushFailedError` says what the server holds and what to run next.
    """
    from rdflib import BNode, URIRef

    if chunk_size < 1:
        raise RemoteError("the chunk size must be at least 1 triple")
    if via not in VIAS:
        raise RemoteError(f"unknown upload method {via!r}: use one of {', '.join(VIAS)}")
    beside = endpoint.rstrip("/").removesuffix("/store")
    if query_endpoint is None or update_endpoint is None:
        if not endpoint.rstrip("/").endswith("/store"):
            raise RemoteError(
                f"give the query and update endpoints for {shown(endpoint)}: the triples are "
                "counted and moved into place after the upload (only Oxigraph's …/store implies "
                "…/query and …/update)"
            )
        query_endpoint = query_endpoint or beside + "/query"
        update_endpoint = update_endpoint or beside + "/update"
    for url, option in ((endpoint, "store endpoint"), (query_endpoint, "query endpoint")):
        check_url(url, option)
    check_url(update_endpoint, "update endpoint")
    if graph_iri is not None:
        check_graph_iri(graph_iri)
    sources = source_graphs(which)
    plan: dict[str, list[Triple]] = {}
    if graph_iri is not None:
        plan[graph_iri] = sorted({t for g in sources for t in store.triples(g)})
    else:
        owners: dict[Node, URIRef] = {}
        for name in sources:
            triples = list(store.triples(name))
            for term in (x for s, _, o in triples for x in (s, o) if isinstance(x, BNode)):
                if owners.setdefault(term, name) != name:
                    raise RemoteError(
                        f"a blank node is shared by <{owners[term]}> and <{name}>, which are "
                        "uploaded separately; push into one graph with --graph"
                    )
            plan[str(name)] = triples
    staging = {target: staging_iri(target) for target in plan}

    started = time.perf_counter()
    summary = PushSummary()
    remote = RemoteStore(query_endpoint, timeout=timeout)
    targets = ", ".join(f"<{t}>" for t in plan)
    staged: list[str] = []
    step = "before the upload"
    try:
        if via == "update":  # INSERT DATA adds: empty the staging graphs first, as PUT would
            step = "when emptying the staging graphs"
            update(update_endpoint, drop_update(staging.values()), timeout)
            summary.requests += 1
        for target, triples in plan.items():
            staged.append(staging[target])
            url = _graph_url(endpoint, staging[target])
            parts = list(chunks(triples, chunk_size))
            for index, chunk in enumerate(parts):
                step = f"at request {index + 1} of {len(parts)} for <{target}>"
                if via == "update":
                    if chunk:
                        update(update_endpoint, insert_update(staging[target], chunk), timeout)
                else:
                    request(
                        "PUT" if index == 0 else "POST",
                        url,
                        data=_ntriples(chunk),
                        headers={"Content-Type": "application/n-triples; charset=utf-8"},
                        timeout=timeout,
                    )
                summary.requests += 1
            summary.graphs[target] = len(set(triples))
        step = "when counting the staged triples"
        for target, expected in summary.graphs.items():
            found = remote.count(URIRef(staging[target]))
            if found != expected:
                raise PushVerificationError(
                    f"the staging graph <{staging[target]}> on {shown(query_endpoint)} holds "
                    f"{found:,} triples after the upload, but {expected:,} were sent; the server "
                    "dropped or merged some (check its log) or another client wrote to it"
                )
        step = "at the MOVE"
        update(update_endpoint, move_update({staging[t]: t for t in plan}), timeout)
        summary.requests += 1
    except RemoteError as exc:
        if step == "at the MOVE" and not isinstance(exc, EndpointHTTPError):
            state = (
                f"the server did not confirm the MOVE into {targets}: it may or may not have "
                "applied it (one request, applied all or nothing); count the graphs with `kg "
                "query --endpoint …`, then run `kg push` again"
            )
        else:
            state = f"nothing was replaced: {targets} still hold the triples they held before" + (
                f" (if the update endpoint {shown(update_endpoint)} is wrong, give "
                "--update-endpoint)"
                if step == "at the MOVE"
                else ""
            )
        try:
            update(update_endpoint, drop_update(staged), timeout)
            cleanup = "the staging graph(s) were dropped"
        except RemoteError as drop_error:
            cleanup = (
                f"the staging graph(s) could not be dropped ({drop_error}); remove them with "
                f"this SPARQL Update at {shown(update_endpoint)}: {drop_update(staged)}"
            )
        raise PushFailedError(
            f"{exc}\nkg push stopped {step}; {state}; {cleanup}. Run `kg push` again once the "
            "cause is fixed."
        ) from None

    for target, expected in summary.graphs.items():
        found = remote.count(URIRef(target))
        if found != expected:
            raise PushVerificationError(
                f"<{target}> on {shown(query_endpoint)} holds {found:,} triples after the move, "
                f"but {expected:,} were sent; another client may have written to the graph at "
                "the same time: run `kg push` again"
            )
    summary.seconds = time.perf_counter() - started
    return summary
