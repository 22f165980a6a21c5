"""SPARQL lives in ``.rq`` files; this module reads their headers and prepares them once.

Each file starts with a comment header::

    # title: 日本語の題 / English title
    # description: what question it answers
    # parameters:
    #   ?code (literal) — a 6-digit local government code
    #   ?q (literal, optional) — an optional parameter may be left unbound

Values always enter through bindings (``initBindings``), never through string formatting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

_HEADER_KEYS = ("title", "description", "parameters")


@dataclass(frozen=True)
class QueryFile:
    """A query with its parsed header and prepared form."""

    path: Path
    text: str
    title: str
    description: str
    parameters: tuple[str, ...]
    prepared: Query
    #: Declared parameters marked ``(…, optional)`` in the header; the others are required.
    optional: frozenset[str] = frozenset()

    @property
    def body(self) -> str:
        """The query without its comment lines."""
        return "\n".join(
            line for line in self.text.splitlines() if not line.lstrip().startswith("#")
        )


def parse_header(text: str) -> dict[str, str]:
    """The ``# key: value`` header fields; continuation lines are joined to the last key."""
    fields: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        key, sep, rest = body.partition(":")
        if sep and key in _HEADER_KEYS:
            current = key
            fields[key] = rest.strip()
        elif current and body:
            fields[current] = (fields[current] + " " + body).strip()
    return fields


@lru_cache(maxsize=512)
def _prepare(text: str) -> Query:
    return prepareQuery(text)


def _prepare_parsed(text: str, parsed: Any) -> Query:
    """What ``prepareQuery(text)`` returns, from ``parseQuery(text)`` already made (rdflib's
    parser takes a quarter of a second on a long query: a command should not run it twice)."""
    from rdflib.plugins.sparql.algebra import translateQuery

    query = translateQuery(parsed, None, {})
    query._original_args = (text, {}, None)  # as prepareQuery records them
    return query


def query_from_text(text: str, path: Path, *, parsed: Any = None) -> QueryFile:
    """Prepare SPARQL text (parsed once per distinct text in a process); ``parsed``: rdflib's
    parse of it, when the caller has made it already (to check the query)."""
    header = parse_header(text)
    declared = re.findall(r"\?([A-Za-z_]\w*)\s*(\([^)]*\))?", header.get("parameters", ""))
    parameters = tuple(dict.fromkeys(name for name, _ in declared))
    optional = frozenset(name for name, note in declared if "optional" in note)
    return QueryFile(
        path=path,
        text=text,
        title=header.get("title", path.stem),
        description=header.get("description", ""),
        parameters=parameters,
        prepared=_prepare(text) if parsed is None else _prepare_parsed(text, parsed),
        optional=optional,
    )


def load_query(path: Path) -> QueryFile:
    """Read and prepare one ``.rq`` file."""
    return query_from_text(path.read_text(encoding="utf-8"), path)
