"""A small Python API for notebooks: the same library queries as ``kg query``.

>>> import kgtools.api as kg                                    # doctest: +SKIP
>>> graph = kg.load()                 # builds dist/ if needed, then opens it
>>> rows = graph.query("cashless")    # a library query by name -> list of dicts
>>> rows = graph.query("municipality", code="131172")
>>> rows = graph.query(Path("my-question.rq").read_text())  # SPARQL text
>>> frame = graph.dataframe("plans")  # needs pandas (pip install pandas)
>>> rows = graph.query("plans", lang="en")  # labels in English (default: Japanese)
>>> rows = kg.query("plans", lang="en")     # the same, on the current checkout
>>> hits = kg.search("EC", limit=5)         # and a search, on the current checkout
>>> rows = graph.query("compare", codes=["131067", "131113"])  # a list parameter
>>> hits = graph.search("ＳＤＧｓ", type="initiative")  # full-text search, as `kg search`

Parameters are bound as RDF terms: a string is a plain literal, an ``rdflib`` term is used as it
is, ``"<https://…>"`` is an IRI and ``'"…"@ja'`` a quoted literal (as ``kg query --param``); a
list or tuple gives a ``list`` parameter its values (as does ``"131067,131113"``). A
value outside the domain a query declares raises :class:`~kgtools.query.run.UnknownValueError`; a
label parameter matches labels in any language. ``lang`` ("ja" or "en") binds a library query's
``?lang``, the language of its labels; another language raises
:class:`~kgtools.errors.UnknownLanguageError`. Errors are the library's typed errors.

While the data on disk does not conform to the shapes, :func:`load` (like ``kg query``) answers
from the last good build and says so in ``graph.stale`` (``strict=True`` raises
:class:`~kgtools.errors.NonConformingDataError` instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdflib import Literal
from rdflib.term import Node

from kgtools.build.layout import BuildSummary, read_manifest
from kgtools.build.pipeline import open_built
from kgtools.errors import KGError, NonConformingDataError
from kgtools.namespaces import graphs_for
from kgtools.project import Project, find_project
from kgtools.query.domains import bind_labels, check_domains
from kgtools.query.library import QueryLibrary, user_query
from kgtools.query.params import bound_params, parse_param
from kgtools.query.results import QueryResult
from kgtools.query.run import DEFAULT_TIMEOUT, run
from kgtools.store.base import Binding, Store
from kgtools.store.oxigraph import OxigraphStore


class KnowledgeGraph:
    """The built graph of one project, ready to query."""

    def __init__(
        self,
        store: Store,
        summary: BuildSummary,
        library: QueryLibrary,
        stale: NonConformingDataError | None = None,
        out_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.summary = summary
        self.library = library
        #: Set when the data on disk does not conform and this is the last good build.
        self.stale = stale
        #: The build folder the graph was opened from (its search index is there).
        self.out_dir = out_dir

    def result(
        self,
        query: str,
        *,
        inferred: bool = True,
        timeout: float | None = DEFAULT_TIMEOUT,
        lang: str | None = None,
        **params: Any,
    ) -> QueryResult:
        """Run a library query (by name) or SPARQL text; return the full result object.
        ``lang``: the language of the labels ("ja", the default, or "en")."""
        looks_like_sparql = any(ch.isspace() for ch in query.strip())
        prepared = user_query(query, "<api>") if looks_like_sparql else self.library.get(query)
        given = dict(_term(name, value) for name, value in params.items())
        bindings = bound_params(prepared, given, lang)
        graphs = graphs_for(inferred=inferred)
        if bindings:
            bindings = bind_labels(self.store, prepared, bindings, graphs=graphs)
            check_domains(self.store, prepared, bindings, self.library, graphs=graphs)
        return run(self.store, prepared, bindings, graphs=graphs, timeout=timeout)

    def query(self, query: str, **kwargs: Any) -> list[dict[str, Node | None]]:
        """Rows as dicts of variable → RDF term."""
        return self.result(query, **kwargs).records()

    def search(
        self,
        text: str,
        *,
        lang: str | None = None,
        type: str | None = None,
        municipality: str | None = None,
        fy: int | None = None,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """Full-text search of every text in the graph, as ``kg search`` does
        (:mod:`kgtools.search`): each hit as a dict of :data:`kgtools.search.FIELDS`, titles
        and labels first; bad arguments raise :class:`~kgtools.errors.SearchError`."""
        from kgtools.search import SearchIndex, index_for

        if self.out_dir is None:
            raise KGError("search needs the build folder: open the graph with kgtools.api.load()")
        index = SearchIndex(index_for(self.out_dir, self.summary.store))
        try:
            hits = index.search(
                text, lang=lang, type=type, municipality=municipality, fy=fy, limit=limit
            )
        finally:
            index.close()
        return [hit.record() for hit in hits]

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


def _term(name: str, value: Any) -> tuple[str, Binding]:
    """A keyword argument as a binding: a term as it is, a list or tuple (a ``list``
    parameter's values) as a tuple of terms, anything else as ``--param`` text."""
    if isinstance(value, Node):
        return name, value
    if isinstance(value, (list, tuple)):
        return name, tuple(_term(name, item)[1] for item in value)  # type: ignore[misc]
    return parse_param(f"{name}={value}")


def open_graph(
    project: Project, out_dir: Path, *, strict: bool = False
) -> tuple[OxigraphStore, BuildSummary, NonConformingDataError | None]:
    """The built graph, built first if its inputs changed — what every read command opens.

    When the data on disk does not conform, the build changes nothing in ``out_dir``: the last
    good build is opened instead and the third value is the error (its report says what to
    fix), so that the caller can warn; ``strict=True`` (or no earlier build) raises it."""
    try:
        store, summary = open_built(project, out_dir)
    except NonConformingDataError as exc:
        previous = None if strict else read_manifest(out_dir)
        if previous is None:
            raise
        return OxigraphStore(out_dir / previous.store, read_only=True), previous, exc
    return store, summary, None


def load(
    project: str | Path | None = None, out_dir: str | Path | None = None, *, strict: bool = False
) -> KnowledgeGraph:
    """Open the built graph of ``project`` (default: the current checkout), building if needed.
    ``out_dir`` defaults to the project's ``dist/`` (see :meth:`Project.default_out_dir`)."""
    found = find_project(Path(project) if project is not None else None)
    folder = found.out_dir(Path(out_dir) if out_dir is not None else None)
    store, summary, stale = open_graph(found, folder, strict=strict)
    return KnowledgeGraph(store, summary, QueryLibrary(found.queries_dir), stale, folder)


def query(
    name: str, *, project: str | Path | None = None, **kwargs: Any
) -> list[dict[str, Node | None]]:
    """``load(project).query(name, **kwargs)``: one query on the current checkout, e.g.
    ``query("plans", lang="en")``."""
    return load(project).query(name, **kwargs)


def search(text: str, *, project: str | Path | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """``load(project).search(text, **kwargs)``: one full-text search on the current checkout,
    e.g. ``search("ＳＤＧｓ", lang="en")``."""
    return load(project).search(text, **kwargs)
