"""The rule set: :func:`compile` reads the ontology's closed T-box once into
:class:`~kgtools.engine.rules.tables.RuleTables`; :class:`RuleSet` runs them in full
(:mod:`~kgtools.engine.rules.closure`) or incrementally (:mod:`~kgtools.engine.rules.dred`).

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules — the
T-box's own entailments (``scm-*``) come from owlrl
(:func:`~kgtools.engine.rules.schema.tbox_closure`); from them, the unary property rules
(:mod:`~kgtools.engine.rules.properties`), the superclasses (:mod:`~kgtools.engine.rules.classes`),
chains, transitive properties, disjoint classes and owlrl's datatype tables
(:mod:`~kgtools.engine.rules.datatypes`). A construct not implemented raises
:class:`~kgtools.errors.UnsupportedOntologyError` here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from kgtools.engine.rules.classes import class_closure
from kgtools.engine.rules.closure import Closure
from kgtools.engine.rules.datatypes import Datatypes
from kgtools.engine.rules.dred import Update
from kgtools.engine.rules.noise import is_noise
from kgtools.engine.rules.properties import compile_predicate_rules
from kgtools.engine.rules.schema import read_list, tbox_closure
from kgtools.engine.rules.tables import RuleTables
from kgtools.engine.rules.vocabulary import (
    CHAIN,
    DISJOINT,
    DOMAIN,
    EQ_CLASS,
    EQ_PROPERTY,
    FIRST,
    INVERSE,
    NOISE_CLASSES,
    NOTHING,
    RANGE,
    REST,
    RULE_CLASSES,
    SAME_AS,
    SCHEMA_PREDICATES,
    SUBCLASS,
    SUBPROPERTY,
    SYMMETRIC,
    TRANSITIVE,
    TYPE,
    UNSUPPORTED_PREDICATES,
    UNSUPPORTED_TYPES,
)
from kgtools.engine.terms import OxTriple, Term, TripleSource, collector_paused
from kgtools.errors import UnsupportedOntologyError


@dataclass
class RuleSet(RuleTables):
    """The OWL RL rules one ontology needs, ready to run; see the package docstring."""

    def entailments(self, data: Iterable[OxTriple]) -> set[OxTriple]:
        """What :func:`kgtools.reference.owlrl.entailments` gives for the ontology plus ``data``."""
        found = self._run(data, as_set=True)
        assert isinstance(found, set)
        return found

    def entailment_list(self, data: Iterable[OxTriple]) -> list[OxTriple]:
        """:meth:`entailments` as a list (each triple once, in no particular order).

        For a caller that only iterates: building the set hashes every term of every triple
        again (pyoxigraph terms keep no hash), a good part of the time at a million triples.
        """
        found = self._run(data, as_set=False)
        assert isinstance(found, list)
        return found

    def _run(self, data: Iterable[OxTriple], *, as_set: bool) -> Collection[OxTriple]:
        with collector_paused():  # millions of new tuples; the closure makes no cycles
            return Closure(self).run(data, as_set=as_set)

    # -- incremental maintenance ---------------------------------------------------------

    def update(
        self,
        current: TripleSource,
        asserted_after: TripleSource,
        added: set[OxTriple],
        removed: set[OxTriple],
    ) -> tuple[set[OxTriple], set[OxTriple]]:
        """Entailments to add and to remove after asserting ``added`` and retracting ``removed``.

        ``current`` holds the asserted triples and the entailments before the change;
        ``asserted_after`` answers whether a triple is asserted after it. Only ``match`` and
        ``in`` are used, a number of times proportional to the change.
        """
        return Update(self, current, asserted_after, added, removed).run()


def compile(ontology: Iterable[OxTriple], *, tbox: Iterable[OxTriple] | None = None) -> RuleSet:
    """Read the T-box once; raise :class:`UnsupportedOntologyError` for what is not compiled.

    ``tbox``: the ontology's closure from an earlier :func:`tbox_closure` of the same ontology
    (the build caches it), to skip running owlrl again.
    """
    onto = frozenset(ontology)
    tbox = frozenset(tbox) if tbox is not None else tbox_closure(onto)

    problems = sorted(
        {
            f"{p.value}" if p in UNSUPPORTED_PREDICATES else f"rdf:type {o}"
            for s, p, o in tbox
            if p in UNSUPPORTED_PREDICATES or (p == TYPE and o in UNSUPPORTED_TYPES)
        }
        | {f"owl:sameAs ({s} = {o})" for s, p, o in tbox if p == SAME_AS and s != o}
    )
    if problems:
        raise UnsupportedOntologyError(
            "the ontology uses OWL constructs the fast reasoner does not implement: "
            + ", ".join(problems)
            + " — kg build cannot reason with them: remove them from the ontology "
            "(ontology/tip.ttl); from Python, kgtools.reference.owlrl (owlrl) handles them"
        )

    first: dict[Term, Term] = {}
    rest: dict[Term, Term] = {}
    sub: dict[Term, set[Term]] = defaultdict(set)
    subprop: dict[Term, set[Term]] = defaultdict(set)
    domains: dict[Term, set[Term]] = defaultdict(set)
    ranges: dict[Term, set[Term]] = defaultdict(set)
    inverses: dict[Term, set[Term]] = defaultdict(set)
    symmetric: set[Term] = set()
    transitive: set[Term] = set()
    chains: dict[Term, list[tuple[Term, ...]]] = defaultdict(list)
    disjoint: list[tuple[Term, Term]] = []
    chain_heads: list[tuple[Term, Term]] = []
    for s, p, o in tbox:
        if p == FIRST:
            first[s] = o
        elif p == REST:
            rest[s] = o
        elif p == SUBCLASS and s != o:
            sub[s].add(o)
        elif p == EQ_CLASS and s != o:
            sub[s].add(o)
            sub[o].add(s)
        elif p == SUBPROPERTY and s != o:
            subprop[s].add(o)
        elif p == EQ_PROPERTY and s != o:
            subprop[s].add(o)
            subprop[o].add(s)
        elif p == DOMAIN:
            domains[s].add(o)
        elif p == RANGE:
            ranges[s].add(o)
        elif p == INVERSE:
            inverses[s].add(o)
            inverses[o].add(s)
        elif p == TYPE and o == SYMMETRIC:
            symmetric.add(s)
        elif p == TYPE and o == TRANSITIVE:
            transitive.add(s)
        elif p == CHAIN:
            chain_heads.append((s, o))
        elif p == DISJOINT:
            disjoint.append((s, o))
    for head, lst in chain_heads:
        chain = tuple(read_list(lst, first, rest))
        if chain:
            chains[head].append(chain)

    disjoint_classes = {c for pair in disjoint for c in pair}
    datatypes = Datatypes.from_owlrl()
    keep = disjoint_classes | {NOTHING} | set(datatypes.rl)

    def kept(c: Term) -> bool:
        if c in keep:
            return True
        return isinstance(c, ox.NamedNode) and c not in NOISE_CLASSES

    def nn(x: Term) -> ox.NamedNode:
        if not isinstance(x, ox.NamedNode):
            raise UnsupportedOntologyError(f"a property axiom names {x}, which is not an IRI")
        return x

    def classes(found: Iterable[Term]) -> tuple[ox.NamedNode, ...]:
        return tuple(nn(c) for c in class_closure(found, sub) if kept(c))

    rules = compile_predicate_rules(subprop, inverses, symmetric, domains, ranges, classes, nn)
    superclasses: dict[Term, tuple[ox.NamedNode, ...]] = {}
    for c in sub:
        supers = tuple(nn(x) for x in class_closure([c], sub) - {c} if kept(x)) if kept(c) else ()
        if supers and isinstance(c, ox.NamedNode):
            superclasses[c] = supers

    # What the engine never supports: rules on T-box vocabulary itself.
    heads = {q for r in rules.values() for q, _ in r.unary} | set(chains) | transitive
    readers = set(rules) | transitive | {x for cs in chains.values() for c in cs for x in c}
    bad = sorted(
        str(p) for p in heads | readers if p == TYPE or p in SCHEMA_PREDICATES or p in (FIRST, REST)
    )
    bad += sorted(
        str(c)
        for r in rules.values()
        for c in (*r.subject_classes, *r.object_classes)
        if c in RULE_CLASSES
    )
    if bad:
        raise UnsupportedOntologyError(
            "the ontology puts property axioms on RDF/RDFS/OWL vocabulary the fast reasoner "
            "treats as fixed: " + ", ".join(bad)
        )

    ontology_datatypes: set[ox.NamedNode] = set()
    for _, p, o in onto:
        if isinstance(o, ox.Literal):
            ontology_datatypes.update(datatypes.implicit_types(o))
        if p == TYPE and o in datatypes.rl:
            assert isinstance(o, ox.NamedNode)
            ontology_datatypes.add(o)
            ontology_datatypes.update(datatypes.subsumptions.get(o, ()))

    return RuleSet(
        ontology=onto,
        tbox=tbox,
        tbox_entailments=frozenset(t for t in tbox - onto if not is_noise(t)),
        predicates=rules,
        superclasses=superclasses,
        chains={nn(h): [tuple(nn(x) for x in c) for c in cs] for h, cs in chains.items()},
        transitive=frozenset(nn(p) for p in transitive),
        disjoint=tuple(disjoint),
        datatypes=datatypes,
        ontology_datatypes=frozenset(ontology_datatypes),
        nothing_reachable=any(
            NOTHING in (*r.subject_classes, *r.object_classes) for r in rules.values()
        ),
    )
