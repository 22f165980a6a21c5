"""A small Python API for notebooks: the same library queries as ``kg query``.

>>> import kgtools.api as kg                                    # doctest: +SKIP
>>> graph = kg.load()                 # builds dist/ if needed, then opens it
>>> rows = graph.query("cashless")    # a library query by name -> list of dicts
>>> rows = graph.query("municipality", code="131172")
>>> rows = graph.query(Path("my-question.rq").read_text())  # SPARQL text
>>> frame = graph.dataframe("plans")  # needs pandas (pip install pandas)

Parameters are bound as RDF terms: a string is a plain literal, an ``rdflib`` term is used as it
is, and ``"<https://…>"`` is an IRI. Errors are the library's typed errors (``kgtools.errors``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdflib import Literal
from rdflib.term import Node

from kgtools.build import BuildSummary, graphs_for, open_built
from kgtools.errors import KGError
from kgtools.project import find_project
from kgtools.query import DEFAULT_TIMEOUT, QueryLibrary, QueryResult, parse_param, run, user_query
from kgtools.store import Store


class KnowledgeGraph:
    """The built graph of one project, ready to query."""

    def __init__(self, store: Store, summary: BuildSummary, library: QueryLibrary) -> None:
        self.store = store
        self.summary = summary
        self.library = library

    def result(
        self,
        query: str,
        *,
        inferred: bool = True,
        timeout: float | None = DEFAULT_TIMEOUT,
        **params: Any,
    ) -> QueryResult:
        """Run a library query (by name) or SPARQL text; return the full result object."""
        looks_like_sparql = any(ch.isspace() for ch in query.strip())
        prepared = user_query(query, "<api>") if looks_like_sparql else self.library.get(query)
        bindings = dict(_term(name, value) for name, value in params.items())
        return run(
            self.store, prepared, bindings, graphs=graphs_for(inferred=inferred), timeout=timeout
        )

    def query(self, query: str, **kwargs: Any) -> list[dict[str, Node | None]]:
        """Rows as dicts of variable → RDF term."""
        return self.result(query, **kwargs).records()

    def dataframe(self, query: str, **kwargs: Any) -> Any:
        """The rows as a pandas DataFrame of plain Python values (pandas is optional)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise KGError("dataframe() needs pandas: pip install pandas") from exc
        result = self.result(query, **kwargs)
        values = [[_python(t) for t in row] for row in result.rows]
        return pd.DataFrame(values, columns=result.variables)


def _python(term: Node | None) -> Any:
    if term is None:
        return None
    if isinstance(term, Literal):
        return term.toPython()
    return str(term)


def _term(name: str, value: Any) -> tuple[str, Node]:
    if isinstance(value, Node):
        return name, value
    return parse_param(f"{name}={value}")


def load(project: str | Path | None = None, out_dir: str | Path = "dist") -> KnowledgeGraph:
    """Open the built graph of ``project`` (default: the current checkout), building if needed."""
    found = find_project(Path(project) if project is not None else None)
    store, summary = open_built(found, Path(out_dir))
    return KnowledgeGraph(store, summary, QueryLibrary(found.queries_dir))
