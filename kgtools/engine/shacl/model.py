"""The compiled shapes and the constraint protocol every constraint module implements.

A shape (https://www.w3.org/TR/shacl/#shapes) is compiled once into a :class:`Shape` holding its
targets, its path and its :class:`Constraint` objects; a constraint runs set-at-a-time over the
(focus node, value nodes) pairs of all focus nodes at once (:class:`FocusValues`) and appends
:class:`RawResult` rows, turned into validation results only at the end. :class:`Context` is what a
constraint may ask of the run (:class:`kgtools.engine.shacl.run.Run`), so that the constraint
modules need not import the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Collection as Values  # rdflib.collection.Collection is the RDF list
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from kgtools.engine.terms import Term

if TYPE_CHECKING:
    from kgtools.engine.shacl.view import DataView

#: Severities under which pySHACL (``allow_warnings=True``) still calls a shape conforming.
ALLOWED = frozenset({SH.Info, SH.Warning})


@dataclass(frozen=True)
class ShapePath:
    predicate: ox.NamedNode
    inverse: bool
    node: Node  # the path in the shapes graph (an IRI, or a blank node with sh:inversePath)
    text: str  # as ValidationResult.path shows it

    def sparql(self) -> str:
        return ("^" if self.inverse else "") + str(self.predicate)


class RawResult(NamedTuple):
    """A result before conversion to rdflib: severity and default path come from ``shape``."""

    focus: Term
    value: Term | None
    component: URIRef
    shape: Shape
    path: URIRef | None = None  # None: the shape's path
    messages: tuple[tuple[str, str], ...] | None = None  # None: the shape's messages
    nested: bool = False  # a sh:detail result under a sh:node result


@dataclass(eq=False)
class Shape:
    node: Node
    name: str
    path: ShapePath | None
    severity: URIRef
    messages: tuple[tuple[str, str], ...]
    message_literals: tuple[Literal, ...]
    deactivated: bool
    target_classes: list[ox.NamedNode] = field(default_factory=list)
    target_nodes: list[Term] = field(default_factory=list)
    target_subjects_of: list[ox.NamedNode] = field(default_factory=list)
    target_objects_of: list[ox.NamedNode] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)

    @property
    def has_targets(self) -> bool:
        return bool(
            self.target_classes
            or self.target_nodes
            or self.target_subjects_of
            or self.target_objects_of
        )


class FocusValues:
    """The value nodes of each focus node, as two parallel lists (no pair object per node).

    Iterating gives ``(focus, values)`` pairs; ``values`` is never modified (it is often the data
    index's own set).
    """

    __slots__ = ("focus", "values")

    def __init__(self, focus: Sequence[Term], values: list[Values[Term]]) -> None:
        self.focus = focus
        self.values = values

    def __iter__(self) -> Iterator[tuple[Term, Values[Term]]]:
        return zip(self.focus, self.values, strict=True)

    def __len__(self) -> int:
        return len(self.values)


def focus_results(
    out: list[RawResult], shape: Shape, component: URIRef, focus: Iterable[Term]
) -> None:
    """One result without a value for each of ``focus`` (a constraint on the value nodes as a
    whole: a count, a required value)."""
    out.extend(RawResult(f, None, component, shape) for f in focus)


class Constraint:
    """One constraint component of one shape."""

    component: URIRef

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        raise NotImplementedError

    def value_test(self, ctx: Context) -> Callable[[Term], bool] | None:
        """For a node shape: a test of the focus node alone, if this constraint is one."""
        return None


class PerValue(Constraint):
    """A constraint that reports each value node failing ``test``."""

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        raise NotImplementedError

    def failures(self, ctx: Context, values: set[Term]) -> set[Term]:
        """The values that fail the test."""
        test = self.test(ctx)
        return {v for v in values if not test(v)}

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        # set-at-a-time: test each distinct value once, then find the focus nodes of the failures
        bad = self.failures(ctx, ctx.distinct_values(fv))
        if not bad:
            return
        component = self.component
        for focus, values in fv:
            if not bad.isdisjoint(values):
                out.extend(RawResult(focus, v, component, shape) for v in values if v in bad)

    def value_test(self, ctx: Context) -> Callable[[Term], bool] | None:
        return self.test(ctx)


class Context(Protocol):
    """What a constraint may ask of the run it is evaluated in
    (:class:`~kgtools.engine.shacl.run.Run`)."""

    view: DataView

    def distinct_values(self, fv: FocusValues) -> set[Term]:
        """Every value node of ``fv``, once."""
        ...

    def child_focus(self, fv: FocusValues) -> list[Term]:
        """The focus nodes of a property shape under a shape with these (focus, values)."""
        ...

    def values(self, path: ShapePath, focus: Term) -> set[Term]:
        """The value nodes of one focus node along ``path``."""
        ...

    def rdflib(self, term: Term) -> Node:
        """``term`` as an rdflib term (memoised)."""
        ...

    def evaluate(self, shape: Shape, focus_nodes: Sequence[Term], out: list[RawResult]) -> None:
        """Run every constraint of ``shape`` on these focus nodes."""
        ...

    def nested_results(self, shape: Shape, node: Term) -> list[RawResult]:
        """The results of ``shape`` on ``node`` alone (memoised)."""
        ...

    def conformance(self, shape: Shape) -> Callable[[Term], bool]:
        """Conformance to ``shape`` as a function of the node."""
        ...

    def conforms(self, shape: Shape, node: Term) -> bool:
        """Whether ``node`` conforms to ``shape`` (memoised)."""
        ...

    def sparql(
        self,
        query: str,
        predicates: Callable[[], frozenset[ox.NamedNode] | None] = ...,
        *,
        copy: bool = False,
    ) -> object:
        """Run a SPARQL query where the run keeps its data."""
        ...

    def original(self, term: Term, candidates: Iterable[Term]) -> Term:
        """The data term among ``candidates`` that a store returned as ``term``."""
        ...
