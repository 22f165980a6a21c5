"""What one run of the full closure holds: terms interned to integers and what is derived so far.

Hashing three small ints is much cheaper than hashing three pyoxigraph terms (which keep no hash:
at a million triples hashing terms is most of the cost), so the closure
(:mod:`kgtools.engine.rules.closure`) works on ids. Non-type triples are ``(s, p, o)`` id tuples in
``known``; types are kept per node (``types[node]`` is a set of class ids), which makes
``cax-sco``/``prp-dom``/``prp-rng`` set operations in C rather than one tuple per class
(https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

import pyoxigraph as ox

from kgtools.engine.rules.tables import RuleTables
from kgtools.engine.rules.vocabulary import VOCABULARY_NAMESPACES
from kgtools.engine.terms import OxTriple, Term


class ClosureState:
    """The interned terms and the derived triples of one closure run (its phases share them)."""

    def __init__(self, rules: RuleTables) -> None:
        self.rules = rules
        self.ids: dict[Term, int] = {}
        self.terms: list[Term] = []
        #: Ids the noise filter rejects as a subject (literals, blank nodes, vocabulary IRIs).
        self.bad_subjects: set[int] = set()
        self.blank_nodes: set[int] = set()
        #: Every non-type triple known (asserted, T-box or derived).
        self.known: set[tuple[int, int, int]] = set()
        #: node → every class it is known to be an instance of.
        self.types: dict[int, set[int]] = {}
        #: Ids of the literals met as objects (a literal node's types are restricted).
        self.literals: set[int] = set()
        #: Datatypes owlrl counts as used (for its datatype disjointness).
        self.used: set[ox.NamedNode] = set(rules.ontology_datatypes)
        #: T-box entailments the data asserts (then not entailments).
        self.restated: set[OxTriple] = set()
        #: Whether a node was typed owl:Nothing (or a subclass of it).
        self.nothing_seen = False
        self.derived: list[tuple[int, int, int]] = []
        self.derived_types: list[tuple[int, frozenset[int] | set[int]]] = []
        #: Triples a join rule has yet to read (semi-naive evaluation).
        self.delta: list[tuple[int, int, int]] = []
        #: Derived triples met afterwards as asserted ones: not entailments.
        self.late: set[tuple[int, int, int]] = set()
        #: Derived triples of the lazy predicates (see ``IdTables.lazy``).
        self.lazy_derived: list[tuple[int, int, int]] = []
        #: The set-aside asserted triples: lazy predicate → [(subject, objects)].
        self.deferred: defaultdict[int, list[tuple[Term, Collection[Term]]]] = defaultdict(list)
        self.add_types = _type_adder(self.types, self.derived_types)
        self.apply_unary = _unary_applier(self.known, self.derived, self.delta, self.lazy_derived)

    def intern(self, term: Term) -> int:
        i = self.ids.get(term)
        if i is None:
            i = len(self.terms)
            self.ids[term] = i
            self.terms.append(term)
            kind = type(term)
            if kind is ox.NamedNode:
                if term.value.startswith(VOCABULARY_NAMESPACES):
                    self.bad_subjects.add(i)
            else:
                self.bad_subjects.add(i)
                if kind is ox.BlankNode:
                    self.blank_nodes.add(i)
        return i


def _type_adder(
    types: dict[int, set[int]], derived_types: list[tuple[int, frozenset[int] | set[int]]]
) -> Callable[[int, frozenset[int]], None]:
    """``add_types(node, classes)``: record the classes a rule gives ``node`` that it lacks (a
    closure over the two, called once per derived typing: cheaper than a method)."""
    types_get = types.get

    def add_types(node: int, classes: frozenset[int]) -> None:
        current = types_get(node)
        if current is None:
            types[node] = set(classes)
            derived_types.append((node, classes))
        else:
            new = classes - current
            if new:
                current |= new
                derived_types.append((node, new))

    return add_types


def _unary_applier(
    known: set[tuple[int, int, int]],
    derived: list[tuple[int, int, int]],
    delta: list[tuple[int, int, int]],
    lazy_derived: list[tuple[int, int, int]],
) -> Callable[[int, int, tuple[tuple[int, bool, Any, bool], ...]], None]:
    """``apply_unary(s, o, steps)``: record what the unary rules ``steps`` of a triple ``s p o``
    give (``IdTables`` unary steps: ``(q, flipped, join indexes or None, lazy)``), feeding the
    join indexes and the delta. Shared by the asserted triples and the joins' derived ones."""
    known_add, derived_append, delta_append = known.add, derived.append, delta.append
    lazy_append = lazy_derived.append

    def apply_unary(s: int, o: int, steps: tuple[tuple[int, bool, Any, bool], ...]) -> None:
        for q, flip, q_index, is_lazy in steps:
            t = (o, q, s) if flip else (s, q, o)
            if t not in known:
                known_add(t)
                derived_append(t)
                if q_index is not None:
                    if q_index[0] is not None:
                        q_index[0][t[0]].add(t[2])
                    if q_index[1] is not None:
                        q_index[1][t[2]].add(t[0])
                    delta_append(t)
                elif is_lazy:
                    lazy_append(t)

    return apply_unary
