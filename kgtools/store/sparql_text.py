"""SPARQL text: the one N-Triples term writer, and parameters bound as a ``VALUES`` block.

Used wherever a term or a binding is written as text: TSV cells (:mod:`kgtools.query.results`),
remote endpoints (:mod:`kgtools.store.remote`), Oxigraph's own evaluation
(:mod:`kgtools.store.oxigraph`) and the search index. Binding by ``VALUES`` keeps parameter values
out of the query's syntax: a value is always one term, never SPARQL.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rdflib import BNode, Literal
from rdflib.term import Node

from kgtools.errors import RemoteError

if TYPE_CHECKING:
    from rdflib.plugins.sparql.sparql import Query

    from kgtools.store.base import Binding


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def nt_string(text: str) -> str:
    """``text`` as an N-Triples string (also a Turtle and SPARQL short string): quoted, with
    ``\\ " \\n \\r \\t`` escaped."""
    return '"' + text.translate(_ESCAPES) + '"'


def nt_term(term: Node | None) -> str:
    """A term in N-Triples syntax (SPARQL TSV cells, and SPARQL text for remote bindings)."""
    if term is None:
        return ""
    if isinstance(term, Literal):
        text = nt_string(str(term))
        if term.language:
            return f"{text}@{term.language}"
        if term.datatype:
            return f"{text}^^<{term.datatype}>"
        return text
    if isinstance(term, BNode):
        return f"_:{term}"
    return f"<{term}>"


_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|#[^\n]*"
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
    r"|\{"
    r"|[A-Za-z]+",
)


def _term(node: Node) -> str:
    """A parameter value as SPARQL text: the N-Triples form, which SPARQL also reads."""
    from rdflib import BNode

    from kgtools.store.sparql_text import nt_term

    if isinstance(node, BNode):
        raise RemoteError("a blank node cannot be sent to a remote endpoint as a parameter")
    if node is None or not hasattr(node, "n3"):
        raise RemoteError(f"cannot send {node!r} to a remote endpoint as a parameter")
    return nt_term(node)


def bind_text(text: str, bindings: Mapping[str, Binding]) -> str:
    """``text`` with a ``VALUES`` block of the bindings opening its outermost ``WHERE`` group:
    one row, or one row per value of a ``list`` parameter (a tuple of terms; with two lists,
    every combination)."""
    if not bindings:
        return text
    names = sorted(bindings)
    variables = " ".join(f"?{n}" for n in names)
    columns = [v if isinstance(v, tuple) else (v,) for v in (bindings[n] for n in names)]
    rows = " ".join(
        "(" + " ".join(_term(t) for t in row) + ")" for row in itertools.product(*columns)
    )
    values = f"VALUES ({variables}) {{ {rows} }} "
    construct = False
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token.upper() == "CONSTRUCT":
            construct = True
        elif construct and token.upper() == "WHERE":
            construct = False
        elif token == "{" and not construct:
            return text[: match.end()] + " " + values + text[match.end() :]
    raise RemoteError("cannot bind parameters: the query has no WHERE group")


def query_text(query: Query) -> str:
    """The SPARQL text an rdflib prepared query was made from (with its ``initNs`` prefixes)."""
    original = getattr(query, "_original_args", None)
    if not original or not isinstance(original[0], str):
        raise RemoteError(
            "this prepared query does not carry its SPARQL text; prepare it with "
            "rdflib.plugins.sparql.prepareQuery (kgtools.query.library does)"
        )
    text, namespaces = original[0], original[1] or {}
    prefixes = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(namespaces.items()))
    return prefixes + text
