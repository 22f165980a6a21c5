"""Query results and their formats.

:class:`QueryResult` serializes to an aligned terminal table (Japanese text counts as two
columns), CSV, TSV, SPARQL 1.1 Query Results JSON and Markdown; CONSTRUCT/DESCRIBE give Turtle.
"""

from __future__ import annotations

import csv
import functools
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node, Variable

from kgtools.errors import (
    QueryError,
    printable,
)
from kgtools.load.checks import quiet_rdflib_term_warnings
from kgtools.namespaces import ID, bind_prefixes
from kgtools.store.sparql_text import nt_term

FORMATS = ("table", "csv", "tsv", "json", "md")


Row = tuple[Node | None, ...]


@dataclass
class QueryResult:
    """A query's answer, independent of the store that produced it."""

    kind: str
    variables: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Node, Node, Node]] = field(default_factory=list)

    def records(self) -> list[dict[str, Node | None]]:
        """Rows as dicts (variable → term), for notebooks."""
        return [dict(zip(self.variables, row, strict=True)) for row in self.rows]

    def graph(self) -> Graph:
        graph = bind_prefixes(Graph())
        for triple in self.triples:
            graph.add(triple)
        return graph

    def serialize(self, fmt: str = "table", headers: Sequence[str] | None = None) -> str:
        """The answer in ``fmt``; ``headers``: column titles for people, used by the table and
        Markdown (CSV, TSV and JSON keep the variable names, which programs read)."""
        with quiet_rdflib_term_warnings():  # rdflib's serializers copy ill-typed literals
            return self._serialize(fmt, list(headers) if headers is not None else self.variables)

    def _serialize(self, fmt: str, headers: list[str]) -> str:
        if self.kind in ("CONSTRUCT", "DESCRIBE"):
            return self.graph().serialize(format="longturtle")
        if fmt not in FORMATS:
            raise QueryError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
        if self.kind == "ASK" and fmt != "json":
            # SPARQL's CSV and TSV formats define no boolean: a one-column table as Jena writes
            # it (the same in kg query and kg serve); a table or Markdown shows the word alone.
            answer = "true" if self.boolean else "false"
            header = {"csv": "_askResult\n", "tsv": "?_askResult\n"}.get(fmt, "")
            return f"{header}{answer}\n"
        if fmt in ("json", "csv"):
            text = _rdflib_result(self).serialize(format=fmt).decode("utf-8")
            return text if text.endswith("\n") else text + "\n"
        if fmt == "tsv":
            return _tsv(self)
        if fmt == "md":
            return _markdown(self, headers)
        return _table(self, headers)


def _rdflib_result(result: QueryResult) -> Any:
    from rdflib.query import Result

    rdf_result = Result(result.kind)
    if result.kind == "ASK":
        rdf_result.askAnswer = bool(result.boolean)
        return rdf_result
    rdf_result.vars = [Variable(v) for v in result.variables]
    rdf_result.bindings = [
        {
            Variable(v): term  # type: ignore[misc]
            for v, term in zip(result.variables, row, strict=True)
            if term is not None
        }
        for row in result.rows
    ]
    return rdf_result


_NAMESPACES = bind_prefixes(Graph()).namespace_manager


def display(term: Node | None) -> str:
    """A term for people: literal text, ``id:…`` for instances, a prefixed name or <IRI>."""
    if term is None:
        return ""
    if isinstance(term, Literal):
        return str(term)
    if isinstance(term, URIRef):
        if term.startswith(str(ID)):  # instance IRIs read best relative to the id/ base
            return "id:" + term[len(str(ID)) :]
        qname = _NAMESPACES.normalizeUri(term)
        return qname if not qname.startswith("<") else f"<{term}>"
    return term.n3()


def width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two, combining ones
    none (every ASCII character takes one)."""
    if text.isascii():
        return len(text)
    return sum(map(_char_width, text))


@functools.cache
def _char_width(ch: str) -> int:
    return 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _pad(text: str, size: int, used: int | None = None) -> str:
    return text + " " * (size - (width(text) if used is None else used))


def _cells(result: QueryResult) -> list[list[str]]:
    return [[printable(display(t).replace("\n", " ")) for t in row] for row in result.rows]


def _table(result: QueryResult, headers: list[str]) -> str:
    return text_table(headers, _cells(result)) + f"{len(result.rows)} row(s)\n"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The one terminal table writer (``kg query``, ``kg search``): cells padded by
    :func:`width`, a ``=`` rule under the header.

    Why not ``tabulate`` (with ``wcwidth``, as sqlite-utils uses it): measured here on 16,506
    rows × 5 columns of mixed Japanese and Latin text, its ``psql`` table took 2.5–2.8 s and its
    import 1.3 s, this writer 0.7–0.9 s in the same run; ``kg query themes`` at a million
    triples prints 73,275 rows."""
    widths = [[width(c) for c in row] for row in rows]  # (each cell measured once)
    sizes = [width(h) for h in headers]
    for row_widths in widths:
        sizes = [max(s, w) for s, w in zip(sizes, row_widths, strict=True)]
    line = "+" + "+".join("-" * (s + 2) for s in sizes) + "+"
    out = [line, "| " + " | ".join(_pad(h, s) for h, s in zip(headers, sizes, strict=True)) + " |"]
    out.append(line.replace("-", "="))
    for row, row_widths in zip(rows, widths, strict=True):
        padded = (_pad(c, s, w) for c, s, w in zip(row, sizes, row_widths, strict=True))
        out.append("| " + " | ".join(padded) + " |")
    out.append(line)
    return "\n".join(out) + "\n"


def _markdown(result: QueryResult, headers: list[str]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    out = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    for row in _cells(result):
        out.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(out) + "\n"


def _tsv(result: QueryResult) -> str:
    """SPARQL 1.1 TSV: a header of ?variables, terms in N-Triples syntax."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter="\t",
        quoting=csv.QUOTE_NONE,
        escapechar=None,
        lineterminator="\n",
        quotechar=None,
    )
    writer.writerow(["?" + v for v in result.variables])
    for row in result.rows:
        writer.writerow([nt_term(t) for t in row])
    return buffer.getvalue()
