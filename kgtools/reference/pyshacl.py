"""The reference validator: SHACL with pySHACL, turned into the typed results of
:mod:`kgtools.validation` (slow and authoritative: ``kg validate --pyshacl``, the tests, ``kg
bench``).

The shapes (``ontology/shapes.ttl``) are written for the *asserted* data; the ontology is mixed
in (pySHACL's ``ont_graph``) so that ``sh:class`` and ``sh:targetClass`` follow
``rdfs:subClassOf``. No RDFS/OWL inference runs inside the validator: the reasoning stage does
that separately, once.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from kgtools.namespaces import bind_prefixes
from kgtools.validation import ValidationReport, ValidationResult, focus_labels, node_label


def _path_text(results: Graph, path: Node | None) -> str:
    if path is None:
        return ""
    if isinstance(path, URIRef):
        return results.namespace_manager.normalizeUri(path)
    inverse = results.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path_text(results, inverse)
    return path.n3()


def _results(results: Graph) -> list[ValidationResult]:
    found = []
    for node in results.subjects(RDF.type, SH.ValidationResult):
        messages = tuple(
            sorted(
                (m.language or "", str(m))
                for m in results.objects(node, SH.resultMessage)
                if isinstance(m, Literal)
            )
        )
        focus = results.value(node, SH.focusNode)
        component = results.value(node, SH.sourceConstraintComponent)
        severity = results.value(node, SH.resultSeverity)
        assert focus is not None and isinstance(component, URIRef)
        assert isinstance(severity, URIRef)
        found.append(
            ValidationResult(
                focus=focus,
                path=_path_text(results, results.value(node, SH.resultPath)),
                component=component,
                severity=severity,
                messages=messages,
                value=results.value(node, SH.value),
                shape=results.value(node, SH.sourceShape),
            )
        )
    return sorted(found)


def report_graph(data: Any, shapes: Any, ontology: Any | None) -> Graph:
    """pySHACL's report graph of ``data`` (an rdflib graph, or whatever else pySHACL takes as a
    data graph, e.g. a ``pyoxigraph.Store`` for ``kg bench``) against ``shapes``, with
    ``ontology`` mixed in: the one place that sets pySHACL's options."""
    import pyshacl  # heavy: imported only when validation runs

    _conforms, results_graph, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference="none",
        abort_on_first=False,
        allow_warnings=True,
        advanced=False,
    )
    assert isinstance(results_graph, Graph)
    bind_prefixes(results_graph)
    return results_graph


def validate(data: Graph, shapes: Graph, ontology: Graph) -> ValidationReport:
    """Validate ``data`` (with ``ontology`` mixed in) against ``shapes``."""
    results_graph = report_graph(data, shapes, ontology)
    results = restore_languages(_results(results_graph), shapes)
    labels = focus_labels(results, lambda node: node_label(data, node))
    return ValidationReport(results=results, labels=labels, graph=results_graph)


def _template(message: str) -> re.Pattern[str]:
    """A message template (``{?value}``, ``{$this}`` for bound variables) as a pattern."""
    parts = re.split(r"\{[?$][A-Za-z_][A-Za-z0-9_]*\}", message)
    return re.compile("(?s)" + ".*?".join(re.escape(part) for part in parts))


def restore_languages(results: list[ValidationResult], shapes: Graph) -> list[ValidationResult]:
    """Give back the language tags pySHACL drops from the messages of SPARQL constraints (it
    formats ``{?value}`` into the text and makes a plain literal), so that ``kg validate
    --pyshacl`` shows the Japanese text under ``ja:``: an untagged message takes the language
    of the ``sh:message`` template of its shape (or the shape's constraints) it matches."""
    templates: dict[Node, list[tuple[re.Pattern[str], str]]] = {}

    def of(shape: Node) -> list[tuple[re.Pattern[str], str]]:
        if shape not in templates:
            nodes = [shape, *shapes.objects(shape, SH.sparql)]
            templates[shape] = [
                (_template(str(m)), m.language)
                for node in nodes
                for m in shapes.objects(node, SH.message)
                if isinstance(m, Literal) and m.language
            ]
        return templates[shape]

    restored = []
    for r in results:
        if r.shape is None or all(tag for tag, _ in r.messages):
            restored.append(r)
            continue
        messages = set()
        for tag, text in r.messages:
            if not tag:
                tag = next((lang for p, lang in of(r.shape) if p.fullmatch(text)), "")
            messages.add((tag, text))
        restored.append(replace(r, messages=tuple(sorted(messages))))
    return restored
