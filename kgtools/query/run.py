"""Running a query: in a forked, time-limited child cut off the network.

:func:`run` binds parameters as RDF terms (``initBindings`` — never string formatting) and
runs the query in a forked child process that is killed at the time limit, because rdflib's
evaluator cannot be interrupted from inside (where ``fork`` is unavailable the query runs in
this process without a limit). The child first cuts itself off the network
(:func:`isolate_network`: a new, empty network namespace, so even a query that got past the
check could not open a connection; Oxigraph's HTTP client is Rust, so only the kernel can stop
it). Where the kernel refuses the namespace (no root and no unprivileged user namespaces) or
``fork`` is missing, the check above is the only layer. An answer holding an IRI that no RDF
syntax can write (one made with ``IRI("a b")``) is refused, so every output format can be
produced.
"""

from __future__ import annotations

import ctypes
import math
import multiprocessing
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from rdflib import URIRef
from rdflib.term import Node

from kgtools.errors import (
    KGError,
    QueryError,
    QuerySyntaxError,
    QueryTimeoutError,
)
from kgtools.load.checks import first_bad_iri, quiet_rdflib_term_warnings
from kgtools.query.library import QueryFile
from kgtools.query.params import bound_params, check_params
from kgtools.query.results import QueryResult, Row
from kgtools.query.safety import checked_text
from kgtools.store.base import Binding, Store

DEFAULT_TIMEOUT = 30.0
#: The longest time limit a query may be given (a day): larger values, ``inf`` and ``nan`` are
#: refused instead of overflowing the wait.
MAX_TIMEOUT = 86_400.0


# -- running ------------------------------------------------------------------------------------
class _StoreSyntaxError(Exception):
    """The store could not parse the query's text (it was not parsed before: ``plainly_safe``)."""


def _is_syntax_error(exc: Exception) -> bool:
    """Oxigraph's parser raises ``SyntaxError``, rdflib's (for the other stores) a pyparsing
    error (pyparsing is then imported: it is not imported here only to be compared)."""
    pyparsing = sys.modules.get("pyparsing")
    return isinstance(exc, SyntaxError) or (
        pyparsing is not None and isinstance(exc, pyparsing.ParseBaseException)
    )


def _execute(
    store: Store, query: QueryFile, bindings: Mapping[str, Binding], graphs: Sequence[URIRef] | None
) -> QueryResult:
    # An answer may hold an ill-typed literal ("x"^^xsd:integer, "2021-02-30"^^xsd:date): it is
    # data, and rdflib's log of a traceback each time it makes one is not for the user.
    with quiet_rdflib_term_warnings():
        try:
            answer = store.query(query.text, bindings, graphs=graphs)
        except Exception as exc:
            if _is_syntax_error(exc):
                raise _StoreSyntaxError(str(exc)) from None
            raise
        kind = str(answer.type)
        if kind == "ASK":
            return QueryResult(kind, boolean=bool(answer.askAnswer))
        if kind in ("CONSTRUCT", "DESCRIBE"):
            return QueryResult(kind, triples=list(answer.graph or []))
        variables = [str(v) for v in (answer.vars or [])]
        rows: list[Row] = [tuple(row) for row in answer]  # type: ignore[arg-type]
        return QueryResult(kind, variables=variables, rows=rows)


def _child(
    conn: Any,
    store: Store,
    query: QueryFile,
    bindings: Mapping[str, Binding],
    graphs: Sequence[URIRef] | None,
) -> None:
    try:
        if not _reads_over_http(store):
            isolate_network()
        conn.send(("ok", _execute(store, query, bindings, graphs)))
    except _StoreSyntaxError as exc:
        conn.send(("syntax", str(exc)))
    except KGError as exc:  # a message for the user already (an endpoint that cannot be reached)
        conn.send(("error", str(exc)))
    except Exception as exc:  # sent to the parent, which raises it as a QueryError
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def check_timeout(timeout: float | None) -> None:
    """A time limit is ``None`` (no limit) or a finite number of seconds in (0, a day]."""
    if timeout is None:
        return
    if not isinstance(timeout, (int, float)) or not (
        math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT
    ):
        raise QueryError(
            f"bad time limit {timeout!r}: give a number of seconds above 0 and at most "
            f"{MAX_TIMEOUT:g} (a day)"
        )


#: ``unshare(2)`` flags (linux/sched.h).
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Cut this process off every network, loopback included; True when the kernel did it.

    The process moves into a new network namespace, which has no interface up: every
    ``connect()`` then fails (``ENETUNREACH``), whatever library makes it — Oxigraph's HTTP
    client for SERVICE is Rust, out of reach of Python. Root may make the namespace directly;
    another user makes it inside a new user namespace, where the kernel allows that. Python's
    own sockets are refused as well, which covers rdflib (the other stores) where the kernel
    refuses both. Call it only in a child process that will not need the network: it cannot
    be undone."""
    import socket

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("the query process has no network access")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    unshare = getattr(libc, "unshare", None)
    if unshare is None:
        return False
    return unshare(CLONE_NEWNET) == 0 or unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0


def _reads_over_http(store: Store) -> bool:
    """The store is a remote endpoint (``kg query --endpoint``): its queries need the network."""
    remote = sys.modules.get("kgtools.store.remote")
    return remote is not None and isinstance(store, remote.RemoteStore)


def run(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Binding] | None = None,
    *,
    graphs: Sequence[URIRef] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> QueryResult:
    """Run a checked library or user query with bound parameters, stopped at ``timeout`` s
    (``None``: no limit), in a forked child cut off the network (:func:`isolate_network`).
    A query's ``?lang`` is bound to the default language unless given, and values take their
    parameters' kinds (:func:`~kgtools.query.params.bound_params`)."""
    bindings = bound_params(query, params or {})
    check_params(query, bindings)
    check_timeout(timeout)
    if "fork" not in multiprocessing.get_all_start_methods():
        return run_here(store, query, bindings, graphs=graphs)
    with forked_child(_child, store, query, bindings, graphs) as (_process, receiver):
        try:
            if not receiver.poll(timeout):
                raise QueryTimeoutError(
                    f"{query.path.name}: stopped after the time limit of {timeout or 0:g} s; "
                    "simplify the query or raise the limit with --timeout"
                )
            with quiet_rdflib_term_warnings():  # unpickling makes the answer's literals again
                status, payload = receiver.recv()
        except EOFError:
            message = f"{query.path.name}: the query process ended without an answer"
            raise QueryError(message) from None
    if status == "syntax":
        _syntax_error(query, payload)
    if status == "error":
        raise QueryError(f"{query.path.name}: the query failed: {payload}")
    result: QueryResult = payload
    _check_result_iris(result, query.path.name)
    return result


def run_here(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Binding] | None = None,
    *,
    graphs: Sequence[URIRef] | None = None,
) -> QueryResult:
    """:func:`run` in this process, with no time limit and no network isolation of its own:
    for a caller that is already a time-limited child cut off the network (``kg serve``'s
    query processes), or where ``fork`` is missing."""
    bindings = bound_params(query, params or {})
    check_params(query, bindings)
    try:
        answer = _execute(store, query, bindings, graphs)
    except _StoreSyntaxError as exc:
        _syntax_error(query, str(exc))
    _check_result_iris(answer, query.path.name)
    return answer


@contextmanager
def forked_child(target: Callable[..., None], *args: Any, daemon: bool = False) -> Iterator[Any]:
    """A child forked to run ``target(sender, *args)``, as ``(process, receiver)``: the child
    answers on ``sender``, the parent reads ``receiver``. On leaving the block, whatever ended
    it (an answer, a time limit, an error, an interrupt), the child is killed if it still runs
    and reaped, and the pipe closed. (``kg query`` and ``kg serve`` run queries this way.)"""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(sender, *args), daemon=daemon)
    process.start()
    sender.close()
    try:
        yield process, receiver
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()


def _syntax_error(query: QueryFile, message: str) -> NoReturn:
    """The store refused the text: rdflib's full check says where (with line and column) or
    refuses it as unsafe; if rdflib accepts it, the store's own message is the answer."""
    checked_text(query.text, source=str(query.path))
    raise QuerySyntaxError(f"{query.path}: SPARQL syntax error: {message}")


def _check_result_iris(result: QueryResult, name: str) -> None:
    """Refuse an answer holding an IRI no RDF syntax can write (``IRI("a b")`` makes one), so
    that every output format can be produced."""
    rows: Sequence[Sequence[Node | None]] = result.rows or result.triples
    found = first_bad_iri(rows)
    if found is not None:
        iri, ch = found
        raise QueryError(
            f"{name}: the answer holds the IRI <{iri}>, which contains {ch!r}, a "
            "character no RDF syntax allows in an IRI — build IRIs from "
            "ENCODE_FOR_URI(…) or filter such values out"
        )
