"""The compiled rule set as data: the tables :func:`kgtools.engine.rules.ruleset.compile` reads
from the closed T-box, and the guards every path shares.

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules — only the
A-box rules the ontology uses are instantiated: per predicate its unary ``prp-*`` rules
(:class:`~kgtools.engine.rules.properties.PredicateRules`), per class its superclasses
(``cax-sco``), the property chains and transitive properties (the joins), the disjoint classes
(``cax-dw``) and owlrl's datatype tables (``dt-*``). A data triple that would change the rules
(T-box vocabulary) is refused (:meth:`RuleTables.check_data_triple`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox

from kgtools.engine.rules.datatypes import Datatypes
from kgtools.engine.rules.properties import PredicateRules
from kgtools.engine.rules.vocabulary import (
    RULE_CLASSES,
    SAME_AS,
    SCHEMA_PREDICATES,
    TYPE,
    VOCABULARY_NAMESPACES,
)
from kgtools.engine.terms import OxTriple, Term
from kgtools.errors import DataTBoxError


@dataclass
class RuleTables:
    """The OWL RL rules one ontology needs, as tables
    (:class:`~kgtools.engine.rules.ruleset.RuleSet` runs them)."""

    ontology: frozenset[OxTriple]
    #: The owlrl closure of the ontology alone (includes the ontology).
    tbox: frozenset[OxTriple]
    #: The ontology's own entailments (``tbox`` minus the ontology, minus noise).
    tbox_entailments: frozenset[OxTriple]
    predicates: dict[ox.NamedNode, PredicateRules]
    #: ``class → its strict superclasses`` (kept classes only).
    superclasses: dict[Term, tuple[ox.NamedNode, ...]]
    #: ``head → [chain, …]``; a chain is a tuple of predicates.
    chains: dict[ox.NamedNode, list[tuple[ox.NamedNode, ...]]]
    transitive: frozenset[ox.NamedNode]
    disjoint: tuple[tuple[Term, Term], ...]
    datatypes: Datatypes
    #: Datatypes owlrl counts as used because the ontology's literals have them.
    ontology_datatypes: frozenset[ox.NamedNode]
    #: Whether some triple could entail ``rdf:type owl:Nothing`` (an inconsistency).
    nothing_reachable: bool = False

    # -- derived tables ----------------------------------------------------------------------

    @property
    def join_predicates(self) -> frozenset[ox.NamedNode]:
        """Predicates a binary rule (chain or transitivity) reads."""
        found = set(self.transitive)
        for chains in self.chains.values():
            for chain in chains:
                found.update(chain)
        return frozenset(found)

    @property
    def relevant_predicates(self) -> frozenset[ox.NamedNode]:
        """Predicates some rule reads (``rdf:type`` included)."""
        return frozenset({*self.predicates, *self.join_predicates, TYPE})

    def flipped_into_join(self) -> frozenset[ox.NamedNode]:
        join = self.join_predicates
        return frozenset(
            p
            for p, rules in self.predicates.items()
            if any(flip and q in join for q, flip in rules.unary)
        )

    def unsafe_triples(self, triples: Iterable[OxTriple]) -> Iterator[OxTriple]:
        """Triples that :meth:`update` cannot maintain incrementally (see the module docstring).

        A blank node in a triple whose predicate a rule reads, a subject in the RDF/RDFS/OWL/XSD
        namespaces on such a triple, or a literal object on a property whose inverse or
        symmetric image feeds a chain or transitive rule: their consequences go through noise
        triples that the store does not keep.
        """
        relevant = self.relevant_predicates
        flipped = self.flipped_into_join()
        for triple in triples:
            s, p, o = triple
            if p not in relevant:
                continue
            if (
                isinstance(o, ox.BlankNode)
                or not isinstance(s, ox.NamedNode)
                or s.value.startswith(VOCABULARY_NAMESPACES)
                or (isinstance(o, ox.Literal) and p in flipped)
            ):
                yield triple

    # -- checks shared by both paths -------------------------------------------------------

    def check_data_triple(self, triple: OxTriple) -> None:
        """Raise for a data triple that would change the rules (T-box vocabulary)."""
        s, p, o = triple
        if p == TYPE:
            if (o in RULE_CLASSES or o in self.datatypes.rl) and triple not in self.tbox:
                raise DataTBoxError(
                    triple,
                    f"the data types {s} as {o}, a typing that belongs in the ontology "
                    f"(ontology/tip.ttl): move the triple there or remove it from the data",
                )
            return
        if p in SCHEMA_PREDICATES and triple not in self.tbox:
            if p == SAME_AS and s == o:
                return
            raise DataTBoxError(
                triple,
                f"the data states {s} {p} {o}: an axiom (owl:sameAs, subclass, sub-property, "
                "domain, range, inverse …) that belongs in the ontology (ontology/tip.ttl), "
                "not in data/: move the triple there or remove it from the data",
            )
