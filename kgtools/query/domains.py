"""Parameter checks that read the graph: a value must lie in its declared domain, and a
``label`` parameter is bound to every form of the label the graph holds (any language).

Both run small library queries (``queries/domains/``, ``kgtools/sparql/label-forms.rq``) through
:func:`kgtools.query.run.run`, so they live apart from the pure parsing in
:mod:`kgtools.query.params`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rdflib import Literal, URIRef
from rdflib.namespace import RDFS, SKOS
from rdflib.term import Node, Variable

from kgtools.errors import (
    ParameterError,
    UnknownValueError,
    shorten,
)
from kgtools.query.library import QueryFile, QueryLibrary, system_query_path
from kgtools.query.results import display
from kgtools.query.run import run
from kgtools.store.base import Binding, Store
from kgtools.store.sparql_text import nt_term

#: Predicates whose objects are labels: a ``label`` parameter is matched in any language.
LABEL_PREDICATES = (
    RDFS.label,
    SKOS.prefLabel,
    SKOS.altLabel,
)


_LABEL_FORMS = system_query_path("label-forms.rq")


_SHOWN_VALUES = 20


def label_parameters(query: QueryFile) -> set[str]:
    """Parameters that name a label: declared ``(label)`` in the header, or (for a query
    without a parameters header) variables the query uses as the object of ``rdfs:label``,
    ``skos:prefLabel`` or ``skos:altLabel`` in a triple pattern (not through a property path)."""
    if query.parameters:
        return {name for name, kind in query.kinds.items() if kind.lower() == "label"}
    from rdflib.plugins.sparql.parserutils import CompValue

    found: set[str] = set()
    stack: list[Any] = [query.prepared.algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == "BGP":
                for _, p, o in node.get("triples") or ():
                    if p in LABEL_PREDICATES and isinstance(o, Variable):
                        found.add(str(o))
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return found


def bind_labels(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Binding],
    *,
    graphs: Sequence[URIRef] | None = None,
) -> dict[str, Binding]:
    """``params`` with each plain-text value of a label parameter replaced by the label the
    graph holds with that text (``"北区"`` → ``"北区"@ja``), so that labels match whatever their
    language. A text the graph holds in several forms is refused, naming them (give one of
    them quoted, e.g. ``name="EC"@en``); a text it does not hold is left as it is."""
    from kgtools.query.library import load_query

    bound = dict(params)
    for name in sorted(label_parameters(query) & set(params)):
        value = params[name]
        if not isinstance(value, Literal) or value.language or value.datatype:
            continue
        forms = run(
            store, load_query(_LABEL_FORMS), {"text": value}, graphs=graphs, timeout=None
        ).rows
        terms = [row[0] for row in forms if row[0] is not None]
        if value in terms or not terms:
            continue
        if len(terms) > 1:
            shown = ", ".join(nt_term(t) for t in terms)
            raise ParameterError(
                f"--param {name}={value}: the graph has this label in {len(terms)} forms "
                f"({shown}); give one of them quoted, e.g. --param '{name}={nt_term(terms[0])}'"
            )
        bound[name] = terms[0]
    return bound


def check_domains(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Binding],
    library: QueryLibrary,
    *,
    graphs: Sequence[URIRef] | None = None,
) -> None:
    """Refuse a value outside its parameter's declared domain (the first column of the domain
    query named in the header), listing the valid values, as ``kg network --municipality``
    does. Values are compared as text (``"131172"`` and ``"131172"^^xsd:token`` are one code);
    an IRI only with an IRI. Each value of a ``list`` parameter is checked the same way."""

    def key(term: Node | None) -> tuple[bool, str]:
        return isinstance(term, URIRef), str(term)

    for name in sorted(set(query.domains) & set(params)):
        domain_query = library.get(query.domains[name])
        result = run(store, domain_query, {}, graphs=graphs, timeout=None)
        rows = [row for row in result.rows if row and row[0] is not None]
        given = params[name]
        valid = {key(row[0]) for row in rows}
        outside = [
            v for v in (given if isinstance(given, tuple) else (given,)) if key(v) not in valid
        ]
        if not outside:
            continue
        value = outside[0]
        shown = [" ".join(display(t) for t in row if t is not None) for row in rows[:_SHOWN_VALUES]]
        more = (
            f", … ({len(rows)} in all: `kg query {query.domains[name]}` lists them)"
            if len(rows) > _SHOWN_VALUES
            else ""
        )
        known = ", ".join(shown) + more if rows else "none"
        text = display(value)
        shown_value = repr(text) if text != text.strip() else text  # a space is easy to miss
        raise UnknownValueError(
            f"--param {name}={shorten(shown_value)}: no such value for ?{name} of "
            f"{query.path.name}; the graph has {known}"
        )
