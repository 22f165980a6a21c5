"""The SHACL validation report both validators give: typed results a person fixing the data can
act on, and the report's text (``dist/validation.txt``, ``kg validate``).

Made by :func:`kgtools.reference.pyshacl.validate` (pySHACL, the reference) and by
:mod:`kgtools.engine.shacl` (the compiled validator ``kg build`` runs); tests hold the two equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDFS, SH
from rdflib.term import Node

from kgtools.errors import printable, shorten

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
            lines.append(f"{name}" + (f"  「{shorten(label, _SHOWN)}」" if label else ""))
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
                    lines.append(f"      value: {shorten(shown, _SHOWN)}")
            lines.append("")
        # (labels and values are data: what a terminal would act on is shown as \uXXXX)
        return printable("\n".join(lines).rstrip() + "\n", lines=True)


#: The most characters of a label or a value the report shows: a review note (a sentence or
#: two, which the report exists to show) whole, a value of 300,000 characters not (it was one
#: line of the report; the file and line of a problem are in the data).
_SHOWN = 1_000


def _value_key(value: Node | None) -> str:
    return "" if value is None else value.n3()


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


def node_label(graph: Graph, node: Node) -> str | None:
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
