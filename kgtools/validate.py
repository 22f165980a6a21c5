"""Validation stage: SHACL with pySHACL, turned into typed results and a readable report.

The shapes (``ontology/shapes.ttl``) are written for the *asserted* data; the ontology is mixed
in (pySHACL's ``ont_graph``) so that ``sh:class`` and ``sh:targetClass`` follow
``rdfs:subClassOf``. No RDFS/OWL inference runs inside the validator: the reasoning stage does
that separately, once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from kgtools.namespaces import bind_prefixes

#: Severities that make the data non-conforming.
FAILING = frozenset({SH.Violation})


@dataclass(frozen=True, order=True)
class ValidationResult:
    """One SHACL result, reduced to what a person fixing the data needs."""

    focus: Node
    path: str
    component: URIRef
    severity: URIRef
    messages: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    value: Node | None = field(default=None, compare=False)
    shape: Node | None = field(default=None, compare=False)

    def message(self, lang: str) -> str:
        """The first message in ``lang``, else the first message."""
        texts = self.texts(lang)
        return texts[0] if texts else ""

    def texts(self, lang: str) -> list[str]:
        """Every message in ``lang`` (a SPARQL constraint has its own and its shape's), else the
        first message, whatever its language."""
        texts = [text for tag, text in self.messages if tag == lang]
        return texts or [text for _, text in self.messages[:1]]


@dataclass
class ValidationReport:
    """All results of one validation run."""

    results: list[ValidationResult]
    labels: dict[Node, str]
    graph: Graph

    @property
    def conforms(self) -> bool:
        return not any(r.severity in FAILING for r in self.results)

    def by_focus(self) -> dict[Node, list[ValidationResult]]:
        grouped: dict[Node, list[ValidationResult]] = defaultdict(list)
        for result in self.results:
            grouped[result.focus].append(result)
        return dict(grouped)

    def text(self) -> str:
        """A report grouped by focus node, each problem with its Japanese and English message."""
        qname = self.graph.namespace_manager.normalizeUri
        grouped = self.by_focus()
        if not self.results:
            return "conforms: yes (0 problems) / 適合しています\n"
        violations = sum(r.severity in FAILING for r in self.results)
        lines = [
            f"conforms: {'yes' if self.conforms else 'no'} — {violations} violation(s), "
            f"{len(self.results) - violations} other result(s) on {len(grouped)} node(s)",
            "",
        ]
        for focus in sorted(grouped, key=str):
            label = self.labels.get(focus)
            name = qname(focus) if isinstance(focus, URIRef) else focus.n3()
            lines.append(f"{name}" + (f"  「{label}」" if label else ""))
            # Ties (several values failing one constraint) in the values' order: the same text
            # whichever validator found them first.
            for r in sorted(grouped[focus], key=lambda r: (r, _value_key(r.value))):
                severity = qname(r.severity).removeprefix("sh:")
                component = (
                    qname(r.component).removeprefix("sh:").removesuffix("ConstraintComponent")
                )
                lines.append(f"  [{severity}] {r.path or '(node)'} — {component}")
                for lang in ("ja", "en"):
                    for text in r.texts(lang):
                        lines.append(f"      {lang}: {text}")
                if r.value is not None and r.value != r.focus:
                    shown = r.value.n3(self.graph.namespace_manager)
                    lines.append(f"      value: {shown}")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"


def _value_key(value: Node | None) -> str:
    return "" if value is None else value.n3()


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


def validate(data: Graph, shapes: Graph, ontology: Graph) -> ValidationReport:
    """Validate ``data`` (with ``ontology`` mixed in) against ``shapes``."""
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
    results = restore_languages(_results(results_graph), shapes)
    labels = focus_labels(results, lambda node: _label(data, node))
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


def focus_labels(
    results: list[ValidationResult], label_of: Callable[[Node], str | None]
) -> dict[Node, str]:
    """The label (Japanese first) of every focus node that is not a blank node, for the report;
    ``label_of`` reads it from wherever the data is (an rdflib graph, an index, the store)."""
    labels: dict[Node, str] = {}
    for r in results:
        if r.focus in labels or isinstance(r.focus, BNode):
            continue
        label = label_of(r.focus)
        if label:
            labels[r.focus] = label
    return labels


def _label(graph: Graph, node: Node) -> str | None:
    return report_label(
        (str(label), label.language)
        for label in graph.objects(node, RDFS.label)
        if isinstance(label, Literal)
    )


def report_label(labels: Iterable[tuple[str, str | None]]) -> str | None:
    """The label a report shows for a node, from its (text, language) labels: the Japanese one,
    else any; the first in code-point order when there are several (a node with two Japanese
    labels is itself a violation), so the report does not depend on the order a store or a
    set gives them in."""
    japanese: list[str] = []
    other: list[str] = []
    for text, language in labels:
        (japanese if language == "ja" else other).append(text)
    return min(japanese or other, default=None)
