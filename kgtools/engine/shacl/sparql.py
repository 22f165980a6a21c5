"""SHACL §5 SPARQL-based constraints: ``sh:sparql`` with ``sh:select``.

https://www.w3.org/TR/shacl/#sparql-constraints — pySHACL runs one query per focus node (pySHACL
issue #237); here each constraint runs ONCE for all focus nodes: ``$this`` is left free and
restricted with a ``VALUES`` block of terms serialised by pyoxigraph (no user text is formatted
in). With many focus nodes it runs on an in-memory copy of the triples whose predicates the query
reads (:func:`query_predicates`, from rdflib's parse, cached per query text).
"""

from __future__ import annotations

import functools
import re
from functools import cached_property
from typing import Any

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kgtools.engine.shacl.model import Constraint, Context, FocusValues, RawResult, Shape
from kgtools.engine.terms import Term, to_rdflib

THIS_VAR = re.compile(r"([\s{}()])[\$\?]this", flags=re.M)


PATH_VAR = re.compile(r"([\s{}()])[\$\?]PATH", flags=re.M)


FORBIDDEN = {
    "MINUS": re.compile(r"\bMINUS\s*\{", re.I),
    "VALUES": re.compile(r"(?<![\w\-:])VALUES\b", re.I),
    "SERVICE": re.compile(r"\bSERVICE\b", re.I),
    "a nested SELECT": re.compile(r"\{[^#]*\bSELECT\b", re.I | re.S),
    "$shapesGraph": re.compile(r"[\$\?]shapesGraph\b"),
    "$currentShape": re.compile(r"[\$\?]currentShape\b"),
}


class SparqlConstraint(Constraint):
    component = SH.SPARQLConstraintComponent

    def __init__(self, node: Node, query: str, messages: tuple[Literal, ...]) -> None:
        self.node = node
        self.query = query  # prefixes applied, $PATH substituted
        self.messages = messages
        brace = query.index("{")
        self.head, self.body = query[: brace + 1], query[brace + 1 :]

    @cached_property
    def predicates(self) -> frozenset[ox.NamedNode] | None:
        """Every predicate the query can read, or ``None`` when that is not known statically."""
        return query_predicates(self.query)

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        focus_nodes = set(fv.focus)
        if not focus_nodes:
            return
        if any(isinstance(f, ox.BlankNode) for f in focus_nodes):
            query = self.query  # VALUES cannot hold a blank node: filter the rows below instead
        else:
            # Terms serialised by pyoxigraph (N-Triples syntax): no user text is formatted in.
            values = " ".join(str(f) for f in focus_nodes)
            query = f"{self.head} VALUES ?this {{ {values} }} {self.body}"
        many = len(focus_nodes) >= _SUBSET_MIN_FOCUS
        # (the answer is read in a function of its own: this frame can outlive the call, kept by
        # the tracebacks of the parse that self.predicates may run under ctx.sparql, and the
        # answer must not live on with it — see _rows_by_focus)
        rows = _rows_by_focus(ctx.sparql(query, lambda: self.predicates, copy=many), focus_nodes)
        is_property = shape.path is not None
        for this, keys in rows.items():
            # The store's solution order is arbitrary (it differs between stores): report a
            # focus node's results in a fixed order.
            keys.sort(key=_row_order)
            for path, value, extra in keys:
                if path is True:
                    value, path = (None if is_property else this), None
                else:
                    if value is None and not is_property:
                        value = this
                    elif value is not None and shape.path is not None:
                        value = ctx.original(value, ctx.values(shape.path, this))
                bindings = dict(extra)
                bindings["this"] = this
                if path is not None:
                    bindings["path"] = path
                if value is not None:
                    bindings["value"] = value
                out.append(
                    RawResult(
                        this,
                        value,
                        self.component,
                        shape,
                        path=URIRef(path.value) if isinstance(path, ox.NamedNode) else None,
                        messages=self._messages(shape, bindings),
                    )
                )

    def _messages(self, shape: Shape, bindings: dict[str, Term]) -> tuple[tuple[str, str], ...]:
        """pySHACL's make_v_result with bound variables: the constraint's and the shape's
        messages, formatted — each keeping its language tag (pySHACL drops them; the reference
        stage puts them back: :func:`kgtools.reference.pyshacl.restore_languages`)."""
        texts = set()
        for m in (*self.messages, *shape.message_literals):
            texts.add((m.language or "", _format(str(m), bindings)))
        return tuple(sorted(texts))


def _rows_by_focus(
    solutions: Any, focus_nodes: set[Term]
) -> dict[Term, list[tuple[Any, Any, Any]]]:
    """Each focus node's distinct result rows in a SPARQL constraint's answer ``solutions``.

    Read here, not in :meth:`SparqlConstraint.run`: rdflib's parser (pyparsing), which
    ``self.predicates`` runs the first time under ``ctx.sparql``, keeps exceptions whose
    tracebacks reach up to ``run``'s frame, so that frame outlives the call as cyclic garbage,
    with its locals. An answer among them would be freed by whichever thread's allocation
    next starts a collection, and pyoxigraph's answers must be freed by the thread that made
    them (``PyQuerySolutions is unsendable, but is being dropped on another thread``)."""
    assert isinstance(solutions, ox.QuerySolutions)
    names = [v.value for v in solutions.variables]
    rows: dict[Term, list[tuple[Any, Any, Any]]] = {}
    for solution in solutions:
        bound = {n: solution[n] for n in names if solution[n] is not None}
        this = bound.pop("this", None)
        if this is None or this not in focus_nodes:
            continue
        failure = bound.pop("failure", None)
        path = bound.pop("path", None)
        value = bound.pop("value", None)
        key = (True, None, ()) if failure is not None else (path, value, tuple(bound.items()))
        seen = rows.setdefault(this, [])
        if key not in seen:
            seen.append(key)
    return rows


def _row_order(key: tuple[Any, Any, Any]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    path, value, extra = key
    return (str(path), str(value), tuple((name, str(term)) for name, term in extra))


#: From this many focus nodes on, a SPARQL constraint runs on an in-memory copy of the triples
#: whose predicates it reads (see :meth:`Run.sparql`) rather than on the given store.
_SUBSET_MIN_FOCUS = 1000


#: Algebra nodes that reach beyond the default graph: a query with one is never run on a copy.
_OTHER_GRAPHS = frozenset({"Graph", "GraphGraphPattern", "ServiceGraphPattern", "Service"})


@functools.lru_cache(maxsize=256)
def query_predicates(query: str) -> frozenset[ox.NamedNode] | None:
    """The predicates of every triple pattern and property path in ``query`` (rdflib's parse).

    ``None`` when the triples a query can read do not follow from them: a variable predicate, a
    negated property set, a zero-length path (``*``, ``?``: it matches every node of the graph),
    ``GRAPH``, ``SERVICE``, ``FROM``, or a query rdflib cannot parse.

    Cached by the query's text: a build compiles the shapes more than once (the full build, the
    per-file checks …) and rdflib's parse costs ~0.15 s a query.
    """
    from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    try:
        algebra = prepareQuery(query).algebra
    except Exception:
        return None
    if algebra.get("datasetClause"):
        return None
    found: set[ox.NamedNode] = set()

    def predicate(p: object) -> bool:
        if isinstance(p, URIRef):
            found.add(ox.NamedNode(str(p)))
            return True
        if isinstance(p, InvPath):
            return predicate(p.arg)
        if isinstance(p, SequencePath | AlternativePath):
            return all(predicate(x) for x in p.args)
        if isinstance(p, MulPath):
            return p.mod == "+" and predicate(p.path)
        return False  # a variable, a negated property set, anything unknown

    def walk(node: object) -> bool:
        if isinstance(node, CompValue):
            if node.name in _OTHER_GRAPHS:
                return False
            if "triples" in node and not all(predicate(t[1]) for t in node["triples"]):
                return False
            return all(walk(v) for v in node.values())
        if isinstance(node, list | tuple):
            return all(walk(x) for x in node)
        return True

    return frozenset(found) if walk(algebra) else None


def _format(message: str, bindings: dict[str, Term]) -> str:
    for var, val in bindings.items():
        message = re.sub(f"{{[?$]{var}}}", str(to_rdflib(val)), message)
    return message
