"""Remote triplestores: read the graph over the SPARQL 1.1 Protocol, upload it over the Graph Store
HTTP Protocol.

* :class:`RemoteStore` implements the reading side of :class:`kgtools.store.base.Store` against a
  SPARQL query endpoint, so :func:`kgtools.query.run` and :mod:`kgtools.network` work unchanged
  on a server. Writing (``add``, ``replace``) is refused: the server is changed by :func:`push`.
* :func:`push` uploads the built graph (asserted and inferred, or either) and **replaces** the
  target named graph(s). Each target is first uploaded into a staging graph (its IRI +
  ``/kg-push-staging``): the first chunk with ``PUT``, the rest with ``POST``, as N-Triples chunks
  of ``chunk_size`` triples. All triples that share a blank node travel in the same chunk (a blank
  node label is local to one request). The staged triples are counted on the server
  (``sparql/graph-triple-count.rq``), then one SPARQL 1.1 Update request moves every staging
  graph onto its target (``sparql/move-staged-graphs.ru``; one request is one transaction), and
  the targets are counted again. So a failed upload never leaves a target truncated: the staging
  graphs are dropped (``sparql/drop-staging-graph.ru``) and :class:`PushFailedError` says what the
  server holds and what to run next.

Without a target graph IRI, :func:`push` keeps the toolkit's named graphs (ontology, data,
inferred), so ``kg query --endpoint … --asserted`` still works; with one, everything chosen goes
into that graph.

Requests: a fixed ``Accept`` header (``application/sparql-results+json`` for SELECT and ASK,
``application/n-triples`` for CONSTRUCT and DESCRIBE — rdflib's ``SPARQLStore`` builds its header
from a set, so the order changes between runs and Virtuoso may then answer in RDF/XML), a timeout
on every request, no proxy for loopback addresses, and credentials from the environment only
(``KG_ENDPOINT_USER``, ``KG_ENDPOINT_PASSWORD``): HTTP Basic, or HTTP Digest where the server asks
for it (Virtuoso's ``/sparql-auth`` and ``/sparql-graph-crud-auth``), answered by urllib's own
Digest code (:class:`urllib.request.HTTPDigestAuthHandler`) rather than one of our own.

Virtuoso (tested against 7.2.5; see ``tests/test_virtuoso.py``): its query endpoints ``/sparql``
and ``/sparql-auth`` imply its Graph Store endpoints (:data:`VIRTUOSO_STORE`); it answers a Basic
header with a bare 401 and hangs up on a large body before reading it, so a large body goes only
after a ``HEAD`` has fetched the Digest challenge (:func:`exchange`); it caps answers at its
``ResultSetMaxRows``, which is a :class:`TruncatedResultError` (a SELECT says so in
``X-SPARQL-MaxRows``; a CONSTRUCT does not, so :meth:`RemoteStore.graph` compares with a count).

Credentials go only where the user pointed (this is why the module has its own redirect policy
instead of urllib's, which copies every header, ``Authorization`` included, to whatever host a
``Location`` names, and turns a redirected POST into a GET without its body):

* a URL with a user name or password in it is refused (it would show in process lists, shell
  history and messages): the error names the environment variables instead;
* redirects are followed only for GET and HEAD and only within the same origin (scheme, host and
  port); any other redirect is an :class:`EndpointRedirectError` naming the new URL, so the user
  can point ``kg`` there if they trust it;
* no message shows a credential: URLs are shown with anything before an ``@`` replaced by
  ``***``, and the password (plain, percent-encoded, or in the Basic token) is cut out of the
  server's own text;
* credentials bound for a non-loopback host over plain ``http`` raise an
  :class:`InsecureCredentialsWarning` (:func:`insecure_credentials` says so beforehand, for the
  CLI to print).

Parameters are sent as RDF terms in a ``VALUES`` block placed at the start of the query's
outermost ``WHERE`` group, so they are in scope for the triple patterns and ``FILTER`` s of that
group (what every library query uses). Unlike rdflib's ``initBindings`` they are not visible
inside sub-``SELECT`` s.
"""

from __future__ import annotations

import base64
import hashlib
import io
import ipaddress
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPMessage
from typing import IO, TYPE_CHECKING, Any, TypedDict, Unpack

from kgtools.errors import (
    BadEndpointError,
    EndpointAuthError,
    EndpointHTTPError,
    EndpointRedirectError,
    EndpointUnreachableError,
    InsecureCredentialsWarning,
    RemoteError,
    RemoteReadOnlyError,
    TruncatedResultError,
)
from kgtools.query.library import system_query_path
from kgtools.store.sparql_text import bind_text, query_text

if TYPE_CHECKING:
    from rdflib import Graph, URIRef
    from rdflib.query import Result

    from kgtools.store.base import Bindings, Graphs, QueryInput, Triple

DEFAULT_TIMEOUT = 60.0
USER_ENV = "KG_ENDPOINT_USER"
PASSWORD_ENV = "KG_ENDPOINT_PASSWORD"
SELECT_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples"
#: Virtuoso's query endpoints (at the server's root) → its Graph Store endpoints: the ``-auth``
#: pair asks for HTTP Digest, the other runs as the ``SPARQL`` user (needs ``SPARQL_UPDATE``).
VIRTUOSO_STORE = {"/sparql": "/sparql-graph-crud", "/sparql-auth": "/sparql-graph-crud-auth"}


# -- endpoints ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoints:
    """The query endpoint (SPARQL 1.1 Protocol), the Graph Store endpoint and the SPARQL 1.1
    Update endpoint of one server."""

    query: str
    store: str | None = None
    update: str | None = None


def shown(url: str) -> str:
    """``url`` as messages may show it: everything up to the last ``@`` after the scheme (a user
    name and password, in whatever form, even malformed) replaced by ``***``."""
    if "@" not in url:
        return url
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:(?://)?", url)
    head = scheme.group() if scheme else ""
    return head + "***@" + url.rpartition("@")[2]


def check_url(url: str, option: str = "--endpoint") -> str:
    """``url`` if it is an http(s) URL with a host and no credentials in it; else a
    :class:`BadEndpointError` that says what to give instead (and never shows a password)."""
    example = (
        "give an http(s) URL such as http://127.0.0.1:7878 (Oxigraph) or "
        "http://127.0.0.1:8890/sparql (Virtuoso)"
    )
    if "@" in url:  # userinfo, or a password with a "/", "?" or "#" that hides where it ends
        raise BadEndpointError(
            f"{option} {shown(url)}: a user name or password in the URL is not accepted (it "
            "would show in process lists, shell history and messages); set "
            f"{USER_ENV} and {PASSWORD_ENV} in the environment instead (an @ that belongs to "
            "the path is written %40)"
        )
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise BadEndpointError(f"bad {option} {url!r}: {example}") from None
    if any(c <= " " or c == "\x7f" for c in url):
        raise BadEndpointError(
            f"bad {option} {shown(url)!r}: spaces and control characters "
            f"are not allowed in a URL; {example}"
        )
    if not url.isascii():  # http.client writes the request line and Host header in Latin-1
        wrong = next(c for c in url if not c.isascii())
        raise BadEndpointError(
            f"bad {option} {shown(url)!r}: {wrong!r} is not ASCII; write a host name in its "
            "ASCII form (xn--…, e.g. from `python3 -c \"print('例え.jp'.encode('idna'))\"`) "
            f"and percent-encode other characters (%E4%BE%8B…); {example}"
        )
    if parts.fragment or url.endswith("#"):
        raise BadEndpointError(
            f"bad {option} {shown(url)!r}: a #fragment is never sent to a server; remove it "
            f"(and write a # that belongs to the path as %23); {example}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise BadEndpointError(
            f"bad {option} {url!r}: the port is not a number; {example}"
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadEndpointError(f"bad {option} {shown(url)!r}: {example}")
    return url


def resolve_endpoints(
    endpoint: str, store_endpoint: str | None = None, update_endpoint: str | None = None
) -> Endpoints:
    """``http://host:port`` → Oxigraph's ``/query``, ``/store`` and ``/update``; a URL with a
    path is the query endpoint itself (``…/query`` implies ``…/store`` and ``…/update`` beside
    it; any other path is also taken as the update endpoint, as Virtuoso, Blazegraph and Fuseki's
    dataset URL accept updates there); Virtuoso's fixed paths ``/sparql`` and ``/sparql-auth`` (at
    the root) imply its Graph Store endpoints ``/sparql-graph-crud`` and
    ``/sparql-graph-crud-auth``; for any other path give ``store_endpoint``."""
    check_url(endpoint, "--endpoint")
    if store_endpoint is not None:
        check_url(store_endpoint, "--store-endpoint")
    if update_endpoint is not None:
        check_url(update_endpoint, "--update-endpoint")
    parts = urllib.parse.urlsplit(endpoint)
    base = endpoint.rstrip("/")
    if parts.path in ("", "/"):
        return Endpoints(
            base + "/query", store_endpoint or base + "/store", update_endpoint or base + "/update"
        )
    if base.endswith("/query"):
        beside = base.removesuffix("/query")
        store_endpoint = store_endpoint or beside + "/store"
        update_endpoint = update_endpoint or beside + "/update"
    elif parts.path.rstrip("/") in VIRTUOSO_STORE:
        store_endpoint = store_endpoint or urllib.parse.urljoin(
            base, VIRTUOSO_STORE[parts.path.rstrip("/")]
        )
    return Endpoints(base, store_endpoint, update_endpoint or base)


# -- HTTP ---------------------------------------------------------------------------------------
def _is_loopback(url: str) -> bool:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: only "localhost" is known to stay on this machine
        return False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port or {"http": 80, "https": 443}.get(scheme)


def _secret() -> tuple[str, str] | None:
    user = os.environ.get(USER_ENV)
    if not user:
        return None
    if ":" in user:  # RFC 7617: the user-id ends at the first colon of "user:password"
        raise BadEndpointError(
            f"{USER_ENV} holds a ':', which HTTP Basic authentication cannot carry in a user "
            "name (the server would take the name to end there and the rest as part of the "
            f"password); check the value (it is not shown here), or put that part in {PASSWORD_ENV}"
        )
    return user, os.environ.get(PASSWORD_ENV, "")


def _credentials() -> str | None:
    secret = _secret()
    if secret is None:
        return None
    token = base64.b64encode(f"{secret[0]}:{secret[1]}".encode()).decode("ascii")
    return f"Basic {token}"


def insecure_credentials(urls: Iterable[str]) -> list[str]:
    """One note per URL that would carry the credentials from the environment in clear text
    (plain http to a host other than a loopback address); empty without credentials."""
    if _secret() is None:
        return []
    notes = []
    for url in dict.fromkeys(urls):
        if urllib.parse.urlsplit(url).scheme.lower() == "http" and not _is_loopback(url):
            notes.append(
                f"{USER_ENV} / {PASSWORD_ENV} will be sent in clear text (plain http) to "
                f"{shown(url)}; anyone on the way can read them: use https"
            )
    return notes


def _scrub(text: str) -> str:
    """``text`` without the password (plain, percent-encoded or inside the Basic token)."""
    secret = _secret()
    if secret is None:
        return text
    token = (_credentials() or "").removeprefix("Basic ")
    for value in sorted(
        {
            secret[1],
            urllib.parse.quote(secret[1], safe=""),
            urllib.parse.quote_plus(secret[1]),
            token,
        },
        key=len,
        reverse=True,
    ):
        if value:
            text = text.replace(value, "***")
    return text


def _server_message(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    text = re.sub(r"<[^>]+>", " ", text) if "<html" in text.lower()[:200] else text
    text = _scrub(" ".join(text.split()))
    return text[:500] + ("…" if len(text) > 500 else "")


#: urllib's handler methods all take (request, body, status, reason, headers).
Request = urllib.request.Request
Headers = HTTPMessage


class _RedirectPolicy(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only for GET and HEAD and only within the same origin; carries the
    credentials (an unredirected header, which urllib never copies) only there."""

    def http_error_302(
        self, req: Request, fp: IO[bytes], code: int, msg: str, headers: Headers
    ) -> Any:
        method = req.get_method()
        location = headers.get("Location") or headers.get("URI")
        if location is None:
            return None
        target = urllib.parse.urljoin(req.full_url, location.strip())
        where = f"{method} {shown(req.full_url)}: the server redirects (HTTP {code}) to"
        if (
            method not in ("GET", "HEAD")
            or "@" in target
            or _origin(target) != _origin(req.full_url)
        ):
            fp.close()
        if method not in ("GET", "HEAD"):
            raise EndpointRedirectError(
                f"{where} {shown(target)}; kg does not follow a redirect of a {method} request "
                "(the body would be lost or sent where you did not point it): give that URL "
                "as the endpoint if you trust it"
            )
        if "@" in target:
            raise EndpointRedirectError(
                f"{where} {shown(target)}, a URL with a user name or password in it; kg does "
                "not follow it: give that URL as the endpoint (with the credentials in "
                f"{USER_ENV} / {PASSWORD_ENV}) if you trust it"
            )
        if _origin(target) != _origin(req.full_url):
            raise EndpointRedirectError(
                f"{where} {shown(target)}, another origin (scheme, host or port); kg follows "
                "redirects only within the endpoint you named, so that credentials and queries "
                "go nowhere else: give that URL as the endpoint if you trust it"
            )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(
        self, req: Request, fp: IO[bytes], code: int, msg: str, headers: Headers, newurl: str
    ) -> Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is None:
            return None
        new.method = req.get_method()  # urllib would turn a HEAD into a GET
        auth = req.unredirected_hdrs.get("Authorization")
        if auth and _origin(newurl) == _origin(req.full_url):
            new.add_unredirected_header("Authorization", auth)
        return new


class _DigestAuth(urllib.request.HTTPDigestAuthHandler):
    """Answers one HTTP Digest challenge (Virtuoso's ``/sparql-auth`` and
    ``/sparql-graph-crud-auth``) with urllib's own Digest code; only once per request (a wrong
    password then ends as the server's 401, not as five more uploads of the body), and only for a
    ``Digest`` challenge with an algorithm urllib knows (anything else is left to the 401)."""

    answered = False

    def get_algorithm_impls(self, algorithm: str) -> tuple[Any, Any]:
        """urllib's hashes, but over UTF-8 (urllib encodes as ASCII, so a password outside ASCII
        raised ``UnicodeEncodeError``); RFC 7616 §4 and browsers use UTF-8."""
        digest = {"MD5": hashlib.md5, "SHA": hashlib.sha1}.get(algorithm)
        if digest is None:
            raise ValueError(f"unsupported Digest algorithm {algorithm!r}")

        def h(text: str) -> str:
            return digest(text.encode("utf-8")).hexdigest()

        def kd(secret: str, data: str) -> str:
            return h(f"{secret}:{data}")

        return h, kd

    def http_error_401(
        self, req: Request, fp: IO[bytes], code: int, msg: str, headers: Headers
    ) -> Any:
        challenges = [
            c for c in headers.get_all("WWW-Authenticate") or () if c[:7].lower() == "digest "
        ]
        if self.answered or not challenges:
            return None
        self.answered = True
        try:
            return self.retry_http_digest_auth(req, challenges[0])
        except ValueError:  # an algorithm or qop urllib does not implement
            return None


#: Origins that answered a Basic ``Authorization`` with a bare 401 and then asked for Digest
#: (Virtuoso): later requests there skip the Basic attempt.
_DIGEST_ORIGINS: set[tuple[str, str, int | None]] = set()


class RequestOptions(TypedDict, total=False):
    """The keyword options of :func:`request`, as :func:`exchange` takes them."""

    data: bytes | None
    headers: Mapping[str, str] | None
    timeout: float


def request(method: str, url: str, **options: Unpack[RequestOptions]) -> bytes:
    """One HTTP request; returns the body or raises a :class:`RemoteError` saying what failed.

    Credentials from the environment go to ``url``'s origin only (see the module docstring)."""
    return exchange(method, url, **options)[0]


def exchange(
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> tuple[bytes, HTTPMessage]:
    """:func:`request`, returning the response headers too.

    With credentials, the request carries HTTP Basic; a server that asks for Digest instead
    (``WWW-Authenticate: Digest``, or a bare 401 to the Basic header, as Virtuoso answers) gets
    the request again without Basic, and its Digest challenge is answered, for ``url``'s origin
    only."""
    check_url(url, "endpoint")
    secret = _secret()
    for note in insecure_credentials([url]) if secret else ():
        warnings.warn(note, InsecureCredentialsWarning, stacklevel=2)
    origin = _origin(url)
    basic = _credentials() if origin not in _DIGEST_ORIGINS else None
    shown_url = shown(url)
    try:
        if secret and data and (origin in _DIGEST_ORIGINS or len(data) > _PROBE_ABOVE):
            # A Digest server refuses the first try before it reads a large body and hangs up
            # (a broken pipe, not a 401): take its challenge from a HEAD and answer it at once.
            challenge = _digest_challenge(url, timeout)
            if challenge is not None:
                _DIGEST_ORIGINS.add(origin)
                auth = _digest_header(method, url, challenge, secret)
                # a 401 now is final: answering it would send the body again, to be cut again
                return _open(method, url, data, headers, timeout, auth, answer_digest=False)
        try:
            return _open(method, url, data, headers, timeout, basic)
        except urllib.error.HTTPError as exc:
            if not (basic and exc.code == 401 and not exc.headers.get_all("WWW-Authenticate")):
                raise
            exc.close()
        # a bare 401 to Basic: ask again without it, for the server's own challenge
        answer = _open(method, url, data, headers, timeout, None)
        _DIGEST_ORIGINS.add(origin)
        return answer
    except urllib.error.HTTPError as exc:
        # (the error's body read no further than what a message shows)
        message = _server_message(exc.read(_ERROR_BODY_READ) or b"") or _scrub(str(exc.reason))
        if exc.code in (401, 403):
            hint = (
                f"the credentials in {USER_ENV} / {PASSWORD_ENV} were refused"
                if secret
                else f"set {USER_ENV} and {PASSWORD_ENV} in the environment"
            )
            raise EndpointAuthError(
                f"{method} {shown_url}: HTTP {exc.code} — not authorised ({hint}): {message}"
            ) from None
        raise EndpointHTTPError(f"{method} {shown_url}: HTTP {exc.code}: {message}") from None
    except urllib.error.URLError as exc:
        reason = _scrub(str(exc.reason))
        raise EndpointUnreachableError(
            f"{method} {shown_url}: cannot reach the endpoint ({reason}); is the server running "
            "and is the URL right?"
        ) from None
    except TimeoutError:
        raise EndpointUnreachableError(
            f"{method} {shown_url}: no answer within {timeout:g} s (timeout)"
        ) from None
    except OSError as exc:
        raise EndpointUnreachableError(f"{method} {shown_url}: {_scrub(str(exc))}") from None
    except ValueError as exc:  # a header http.client cannot send (a user name outside Latin-1)
        raise RemoteError(
            f"{method} {shown_url}: the request cannot be sent ({_scrub(str(exc))[:200]}); "
            f"check {USER_ENV} (a Digest header carries the user name as Latin-1 text)"
        ) from None


#: The most of an error answer's body read for its message.
_ERROR_BODY_READ = 65_536

#: Bodies above this size go to a server of unknown kind only after a HEAD has shown whether it
#: asks for Digest (see :func:`exchange`).
_PROBE_ABOVE = 16_384


def _digest_challenge(url: str, timeout: float) -> str | None:
    """The ``Digest`` challenge ``url`` answers a HEAD without credentials with, if any."""
    try:
        _open("HEAD", url, None, None, timeout, None, answer_digest=False)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 401:
            for challenge in exc.headers.get_all("WWW-Authenticate") or ():
                if challenge[:7].lower() == "digest ":
                    return challenge
    return None


def _digest_header(method: str, url: str, challenge: str, secret: tuple[str, str]) -> str | None:
    """The ``Authorization`` value answering ``challenge`` for ``method url`` (urllib's Digest
    code), or ``None`` if urllib cannot answer it (an algorithm or qop it does not implement)."""
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    parts = urllib.parse.urlsplit(url)
    passwords.add_password(None, f"{parts.scheme}://{parts.netloc}/", secret[0], secret[1])
    handler = _DigestAuth(passwords)
    fields = urllib.request.parse_keqv_list(
        [item for item in urllib.request.parse_http_list(challenge[7:]) if item]
    )
    try:
        value = handler.get_authorization(urllib.request.Request(url, method=method), fields)
    except (ValueError, urllib.error.URLError):
        return None
    return f"Digest {value}" if value else None


def _open(
    method: str,
    url: str,
    data: bytes | None,
    headers: Mapping[str, str] | None,
    timeout: float,
    auth: str | None,
    *,
    answer_digest: bool = True,
) -> tuple[bytes, HTTPMessage]:
    handlers: list[urllib.request.BaseHandler] = [_RedirectPolicy()]
    if _is_loopback(url):
        handlers.append(urllib.request.ProxyHandler({}))
    secret = _secret()
    if secret is not None and answer_digest:
        # the password manager hands the password out for this origin only (a same-origin
        # redirect stays inside it; _RedirectPolicy refuses every other)
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        parts = urllib.parse.urlsplit(url)
        passwords.add_password(None, f"{parts.scheme}://{parts.netloc}/", secret[0], secret[1])
        handlers.append(_DigestAuth(passwords))
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    if auth:
        req.add_unredirected_header("Authorization", auth)
    deadline = time.monotonic() + timeout
    with opener.open(req, timeout=timeout) as response:
        return _read_answer(response, deadline, f"{method} {shown(url)}"), response.headers


#: The largest answer a request reads (bytes): past it the request fails instead of filling the
#: memory (a server that never stops sending was read until the process was killed). A SELECT
#: answer this large is millions of rows; ask for fewer (LIMIT/OFFSET).
MAX_ANSWER_BYTES = 1 << 30


def _read_answer(response: Any, deadline: float, what: str) -> bytes:
    """The body of ``response``, read as it comes, within ``deadline`` (``time.monotonic``) and
    :data:`MAX_ANSWER_BYTES`. The socket's timeout bounds each wait only, so a server sending a
    byte now and then was read for ever; past the deadline this raises :class:`TimeoutError`,
    which :func:`exchange` reports as no answer within the timeout."""
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(1 << 20):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise RemoteError(
                f"{what}: the answer is larger than {MAX_ANSWER_BYTES:,} bytes, the most kg "
                "reads; ask for fewer rows (LIMIT/OFFSET)"
            )
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError
    return b"".join(chunks)


# -- the store ----------------------------------------------------------------------------------
@dataclass
class RemoteStore:
    """The reading side of :class:`kgtools.store.base.Store` over a SPARQL 1.1 query endpoint.

    ``graph``: the one named graph a single-graph :func:`push` wrote (``--graph``); every query
    then reads that graph. Without it, a query over ``graphs`` sends them as
    ``default-graph-uri`` (their merge is the default graph), as :func:`push` lays them out.
    """

    endpoint: str
    graph_iri: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    def add(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        raise RemoteReadOnlyError(f"{self.endpoint} is read here only; upload with `kg push`")

    def replace(self, graph: URIRef, triples: Iterable[Triple]) -> None:
        self.add(graph, triples)

    def _dataset(self, graphs: Sequence[URIRef] | None) -> list[tuple[str, str]]:
        from kgtools.namespaces import ALL_GRAPHS

        if self.graph_iri is not None:
            if graphs is not None and set(graphs) != set(ALL_GRAPHS):
                raise RemoteError(
                    f"the remote graph <{self.graph_iri}> holds everything pushed to it in one "
                    "graph, so the asserted triples cannot be read apart from the inferred ones; "
                    "push without --graph to keep the named graphs apart"
                )
            return [("default-graph-uri", self.graph_iri)]
        return [("default-graph-uri", str(g)) for g in graphs or ()]

    def run_text(self, text: str, kind: str, dataset: Sequence[tuple[str, str]] = ()) -> Result:
        """Send SPARQL text; ``kind`` is SELECT, ASK, CONSTRUCT or DESCRIBE."""
        from rdflib import Graph
        from rdflib.query import Result

        accept = GRAPH_ACCEPT if kind in ("CONSTRUCT", "DESCRIBE") else SELECT_ACCEPT
        body = urllib.parse.urlencode([("query", text), *dataset]).encode("utf-8")
        answer, headers = exchange(
            "POST",
            self.endpoint,
            data=body,
            headers={
                "Accept": accept,
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            },
            timeout=self.timeout,
        )
        cap = headers.get("X-SPARQL-MaxRows")
        if cap is not None:  # Virtuoso cut the answer at its ResultSetMaxRows
            raise TruncatedResultError(
                f"POST {shown(self.endpoint)}: the answer reached the cap of {cap} rows "
                "(Virtuoso's ResultSetMaxRows), so it may be cut short; raise ResultSetMaxRows "
                "in the [SPARQL] section of virtuoso.ini, or ask for fewer rows (LIMIT/OFFSET)"
            )
        try:
            if accept == GRAPH_ACCEPT:
                result = Result(kind)
                result.graph = Graph().parse(data=answer.decode("utf-8"), format="nt")
            else:
                result = Result.parse(io.BytesIO(answer), format="json")
        except Exception as exc:  # the server answered, but not in the format asked for
            raise EndpointHTTPError(
                f"POST {self.endpoint}: the answer is not {accept} as asked ({exc}): "
                f"{_server_message(answer[:300])}"
            ) from None
        if _ESCAPED_SURROGATE.search(answer):  # (rare: then every value is looked at)
            _refuse_lone_surrogates(self.endpoint, result)
        return result

    def query(self, query: QueryInput, bindings: Bindings = None, graphs: Graphs = None) -> Result:
        if isinstance(query, str):
            from kgtools.query.library import prepared_query

            query = prepared_query(query)  # rdflib tells the query form
        kind = str(query.algebra.name).removesuffix("Query").upper()
        text = bind_text(query_text(query), bindings or {})
        return self.run_text(text, kind, self._dataset(graphs))

    def count(self, name: URIRef) -> int:
        from rdflib import URIRef

        rows = list(self.run_text(_bound("graph-triple-count.rq", URIRef(name)), "SELECT"))
        return int(str(rows[0][0])) if rows else 0  # type: ignore[index]

    def graph(self, name: URIRef) -> Graph:
        """A copy of one remote named graph, in memory."""
        from rdflib import Graph, URIRef

        from kgtools.namespaces import bind_prefixes

        result = self.run_text(_bound("graph-triples.rq", URIRef(name)), "CONSTRUCT")
        graph = bind_prefixes(Graph())
        for triple in result.graph or ():
            graph.add(triple)
        # Virtuoso cuts a CONSTRUCT at ResultSetMaxRows without saying so (no header): count
        expected = self.count(URIRef(name))
        if len(graph) < expected:
            raise TruncatedResultError(
                f"<{name}> on {shown(self.endpoint)} holds {expected:,} triples but the server "
                f"sent {len(graph):,}: it caps its answers (Virtuoso's ResultSetMaxRows); raise "
                "ResultSetMaxRows in the [SPARQL] section of virtuoso.ini above the graph's size"
            )
        return graph

    def triples(self, name: URIRef) -> Iterator[Triple]:
        """The triples of :meth:`graph` (its copy is checked against the endpoint's count)."""
        return iter(self.graph(name))

    def union(self, names: Sequence[URIRef]) -> Graph:
        """A copy of the union of remote named graphs, in memory."""
        from rdflib import Graph

        merged = Graph()
        for name in names:
            for triple in self.graph(name):
                merged.add(triple)
        return merged


#: An escape of half a UTF-16 surrogate pair in an answer's bytes (JSON's ``\\uD83D``, N-Triples'
#: ``\\uD83D``): a pair written as two escapes is a character; one alone is not.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(endpoint: str, result: Result) -> None:
    """Refuse an answer holding a value with a lone surrogate: no Unicode text, so no RDF term
    (:data:`~kgtools.errors.LONE_SURROGATE`); every output of it failed as an internal error."""
    from kgtools.errors import LONE_SURROGATE

    what = "triple" if result.graph is not None else "row"
    rows: Iterable[Iterable[Any]] = (
        result.graph if result.graph is not None else (row.values() for row in result.bindings)
    )
    for number, row in enumerate(rows, 1):
        for term in row:
            values = [str(term), str(getattr(term, "datatype", "") or "")]
            if any(LONE_SURROGATE.search(v) for v in values):
                raise EndpointHTTPError(
                    f"POST {shown(endpoint)}: {what} {number} of the answer holds a lone "
                    "surrogate (half of a UTF-16 pair, escaped), which is no Unicode character "
                    "and so in no RDF term: the server's data or its writer is broken"
                )


def _bound(name: str, graph: URIRef) -> str:
    from kgtools.query.library import load_query

    path = system_query_path(name)
    return bind_text(load_query(path).text, {"graph": graph})
