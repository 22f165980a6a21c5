"""SPARQL lives in ``.rq`` files under ``queries/``; this module loads and prepares them.

Each file starts with a comment header (``# title:``, ``# description:``, ``# parameters:``).
Values always enter through bindings (``initBindings``), never through string formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query


@dataclass(frozen=True)
class QueryFile:
    """A query file with its parsed header and prepared query."""

    path: Path
    title: str
    description: str
    prepared: Query


def _header(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        key, sep, rest = body.partition(":")
        if sep and key in {"title", "description", "parameters"}:
            current = key
            fields[key] = rest.strip()
        elif current and body:
            fields[current] = (fields[current] + " " + body).strip()
    return fields


@lru_cache(maxsize=256)
def load_query(path: Path) -> QueryFile:
    """Read and prepare one ``.rq`` file (cached: each file is parsed once per process)."""
    text = path.read_text(encoding="utf-8")
    header = _header(text)
    return QueryFile(
        path=path,
        title=header.get("title", path.stem),
        description=header.get("description", ""),
        prepared=prepareQuery(text),
    )
