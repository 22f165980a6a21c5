"""Compiled shapes ready to validate many data graphs, and the validation report they give.

https://www.w3.org/TR/shacl/#validation-report — :class:`CompiledShapes` runs every targeted
shape (:class:`~kgtools.engine.shacl.run.Run`) and turns the raw rows into
:class:`~kgtools.validation.ValidationResult` objects and a report graph with pySHACL's prefixes,
as :func:`kgtools.reference.pyshacl.validate` gives them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kgtools.engine.shacl.inoculation import inoculate
from kgtools.engine.shacl.model import RawResult, Shape
from kgtools.engine.shacl.run import Run
from kgtools.engine.shacl.targets import focus_nodes
from kgtools.engine.shacl.view import DataView
from kgtools.engine.terms import MemoryIndex, Term, TripleSource, to_rdflib
from kgtools.namespaces import bind_prefixes

if TYPE_CHECKING:
    from kgtools.validation import ValidationReport, ValidationResult


class CompiledShapes:
    """A shapes graph ready to validate many data graphs (see :func:`compile`)."""

    def __init__(self, graph: Graph, top: list[Shape], namespaces: object) -> None:
        self.graph = graph
        self._top = top
        self._nm = namespaces
        #: result path text -> (IRI, inverse), for the results graph of a report
        self._paths: dict[str, tuple[URIRef, bool]] = {}

    # validation ---------------------------------------------------------------------------

    def validate(
        self,
        data: TripleSource,
        ontology: TripleSource,
        *,
        focus: set[Term] | None = None,
        sparql_store: ox.Store | None = None,
        sparql_graphs: list[ox.NamedNode] | None = None,
    ) -> list[ValidationResult]:
        """Validate ``data`` with ``ontology`` mixed in; results as :mod:`kgtools.reference.pyshacl`
        gives.

        ``focus`` restricts validation to those focus nodes (the result equals the full result
        filtered to them). SPARQL constraints run on ``sparql_store`` — queried with
        ``sparql_graphs`` as its default graph (e.g. ``[DATA_GRAPH, ONTOLOGY_GRAPH]``; ``None``:
        the store's default graph), which must hold the same data and ontology. When ``data`` is
        a :class:`~kgtools.engine.terms.MemoryIndex`, a constraint runs instead on an in-memory copy
        of the triples (of ``data`` and the ontology) whose predicates it reads — with a store
        given, when it has many focus nodes; without one, always (see
        :meth:`~kgtools.engine.shacl.store.SparqlStore.sparql`).
        Otherwise, without a store, one is built in memory from ``data`` and the ontology the
        first time a SPARQL constraint has focus nodes.
        """
        onto = inoculate(ontology)
        view = DataView(data, onto)

        def build_store() -> ox.Store:
            store = ox.Store()
            store.bulk_extend(
                ox.Quad(s, p, o, ox.DefaultGraph())  # type: ignore[arg-type]
                for source in (data, onto)
                for s, p, o in source.match(None, None, None)
            )
            return store

        # Triples held in memory can be copied cheaply for a SPARQL constraint with many focus
        # nodes (see SparqlStore.sparql): from the sources the store was made of.
        copy_from: tuple[TripleSource, ...] = ()
        if isinstance(data, MemoryIndex):
            copy_from = (data, ontology if sparql_store is not None else onto)
        run = Run(view, sparql_store, sparql_graphs, build_store, copy_from)
        out: list[RawResult] = []
        for shape in self._top:
            run.evaluate(shape, focus_nodes(view, shape, focus), out)
            run.forget()
        if focus is not None:
            out = [r for r in out if r.focus in focus]
        return sorted(self._result(r) for r in out)

    def _result(self, raw: RawResult) -> ValidationResult:
        from kgtools.validation import ValidationResult

        shape = raw.shape
        path = ""
        if raw.path is None and shape.path is not None:
            path = shape.path.text
            self._paths[path] = (URIRef(shape.path.predicate.value), shape.path.inverse)
        elif isinstance(raw.path, URIRef):
            path = self._nm.normalizeUri(raw.path)  # type: ignore[attr-defined]
            self._paths[path] = (raw.path, False)
        return ValidationResult(
            focus=to_rdflib(raw.focus),
            path=path,
            component=raw.component,
            severity=shape.severity,
            messages=raw.messages if raw.messages is not None else shape.messages,
            value=to_rdflib(raw.value) if raw.value is not None else None,
            shape=shape.node,
        )

    def report(
        self,
        results: list[ValidationResult],
        data: Graph | None = None,
        *,
        label_of: Callable[[Node], str | None] | None = None,
    ) -> ValidationReport:
        """A :class:`ValidationReport` like :func:`kgtools.reference.pyshacl.validate` returns; the
        focus nodes' labels are read from ``data``, or by ``label_of``."""
        from kgtools.validation import ValidationReport, focus_labels, node_label

        graph = namespace_graph(self.graph)
        report = BNode()
        graph.add((report, RDF.type, SH.ValidationReport))
        graph.add(
            (report, SH.conforms, Literal(not any(r.severity == SH.Violation for r in results)))
        )
        for r in results:
            node = BNode()
            graph.add((report, SH.result, node))
            graph.add((node, RDF.type, SH.ValidationResult))
            graph.add((node, SH.focusNode, r.focus))
            graph.add((node, SH.sourceConstraintComponent, r.component))
            graph.add((node, SH.resultSeverity, r.severity))
            if r.shape is not None:
                graph.add((node, SH.sourceShape, r.shape))
            if r.value is not None:
                graph.add((node, SH.value, r.value))
            if r.path:
                graph.add((node, SH.resultPath, self._path_node(graph, r.path)))
            for lang, text in r.messages:
                graph.add((node, SH.resultMessage, Literal(text, lang=lang or None)))
        if label_of is None:
            assert data is not None, "give the data graph or label_of"
            label_of = functools.partial(node_label, data)
        labels = focus_labels(results, label_of)
        return ValidationReport(results=results, labels=labels, graph=graph)

    def _path_node(self, graph: Graph, text: str) -> Node:
        iri, inverse = self._paths[text]
        if not inverse:
            return iri
        node = BNode()
        graph.add((node, SH.inversePath, iri))
        return node


def namespace_graph(shapes: Graph) -> Graph:
    """An empty graph with the prefixes of pySHACL's results graph, as kgtools.reference.pyshacl
    has them."""
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in shapes.namespace_manager.namespaces():
        graph.namespace_manager.bind(prefix, namespace)
    return bind_prefixes(graph)
