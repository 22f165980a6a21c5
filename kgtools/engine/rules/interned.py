"""The compiled rules as integer tables for one closure run, built once its terms are interned.

Per predicate id: its unary rules (``prp-*`` of one triple, :mod:`kgtools.engine.rules.properties`)
with, per derived predicate, the join indexes it feeds; the classes its subject and object get;
the joins it takes part in (``prp-trp``, ``prp-spo2``: :mod:`kgtools.engine.rules.joins`). What an
asserted predicate does is one lookup (:attr:`IdTables.plans`), once per (subject, predicate)
(https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kgtools.engine.rules.state import ClosureState
from kgtools.engine.rules.vocabulary import NOTHING, SCHEMA_PREDICATES, TYPE
from kgtools.engine.terms import Term

#: The classes of a predicate without any (shared; never modified).
EMPTY: frozenset[int] = frozenset()


@dataclass(frozen=True)
class IdTables:
    """The tables the phases of one closure run read (see :func:`intern_tables`)."""

    type_id: int
    nothing_id: int
    #: The classes a literal node keeps (disjoint ones, owl:Nothing, datatypes).
    literal_keep: set[int]
    #: class → its strict superclasses (``cax-sco``).
    supers: dict[int, frozenset[int]]
    #: predicate → (interned id or None, needs a T-box check).
    pinfo: dict[Term, tuple[int | None, bool]]
    #: What the asserted triples of a predicate do (see the comment where they are made).
    plans: dict[Term, tuple[Any, ...]]
    #: What a triple a join rule derives does, by its predicate.
    heads: dict[int, tuple[Any, ...]]
    #: The joins of a delta triple, by its predicate.
    steps: dict[int, tuple[Any, ...]]
    #: ``s → {o}`` and ``o → {s}`` of the predicates a join reads.
    out_idx: dict[int, defaultdict[int, set[int]]]
    in_idx: dict[int, defaultdict[int, set[int]]]


def intern_tables(state: ClosureState) -> IdTables:
    """Intern the rules' terms (in a fixed order) and build the integer tables."""
    rules = state.rules
    ids, terms, intern = state.ids, state.terms, state.intern
    type_id = intern(TYPE)
    nothing_id = intern(NOTHING)
    datatypes = rules.datatypes

    # Integer rule tables.
    unary: dict[int, tuple[tuple[int, bool], ...]] = {}
    subj_classes: dict[int, frozenset[int]] = {}
    obj_classes: dict[int, frozenset[int]] = {}
    obj_classes_literal: dict[int, frozenset[int]] = {}
    disjoint_ids = {intern(c) for pair in rules.disjoint for c in pair}
    literal_keep = disjoint_ids | {nothing_id} | {intern(d) for d in datatypes.rl}
    for prop, r in rules.predicates.items():
        pid = intern(prop)
        unary[pid] = tuple((intern(q), f) for q, f in r.unary)
        subj_classes[pid] = frozenset(intern(c) for c in r.subject_classes)
        obj_classes[pid] = frozenset(intern(c) for c in r.object_classes)
        obj_classes_literal[pid] = obj_classes[pid] & literal_keep
    supers: dict[int, frozenset[int]] = {
        intern(c): frozenset(intern(x) for x in xs) for c, xs in rules.superclasses.items()
    }
    joins: dict[int, list[tuple[int, tuple[int, ...], int]]] = defaultdict(list)
    for head_term, chains in rules.chains.items():
        hi = intern(head_term)
        for chain_terms in chains:
            ci = tuple(intern(x) for x in chain_terms)
            for pos, x in enumerate(ci):
                joins[x].append((hi, ci, pos))
    transitive = frozenset(intern(x) for x in rules.transitive)
    for x in transitive:
        joins[x]
    # Only the indexes a join reads: ``s → {o}`` of a step after the first of a chain (and of
    # a transitive property), ``o → {s}`` of a step before the last.
    out_idx: dict[int, defaultdict[int, set[int]]] = {x: defaultdict(set) for x in transitive}
    in_idx: dict[int, defaultdict[int, set[int]]] = {x: defaultdict(set) for x in transitive}
    for entries in joins.values():
        for _, chain, pos in entries:
            if pos > 0:
                out_idx.setdefault(chain[pos], defaultdict(set))
            if pos < len(chain) - 1:
                in_idx.setdefault(chain[pos], defaultdict(set))
    derivable = {*transitive, *(intern(h) for h in rules.chains)}
    for qs in unary.values():
        derivable.update(q for q, _ in qs)
    derivable.discard(type_id)
    relevant = {*unary, *joins, *derivable, type_id}
    # Derivable predicates that no rule reads: their asserted triples have no consequence,
    # they only must not be reported as entailments. They are set aside (not interned) and
    # compared with what was derived at the end (``rdfs:label``, which ``skos:prefLabel``
    # derives, is a good part of the data).
    lazy = derivable - set(unary) - set(joins) - {type_id}
    # unary[p] with, per derived predicate, its join indexes ((s → {o} or None, o → {s} or
    # None), or None when no join reads it) and whether it is lazy
    unary_steps: dict[int, tuple[tuple[int, bool, Any, bool], ...]] = {
        p: tuple(
            (q, flip, (out_idx.get(q), in_idx.get(q)) if q in joins else None, q in lazy)
            for q, flip in qs
        )
        for p, qs in unary.items()
    }

    # One lookup per triple: predicate → (interned id or None, needs a T-box check).
    tbox_ents = rules.tbox_entailments
    special = {*SCHEMA_PREDICATES, *(p for _, p, _ in tbox_ents), TYPE}
    pinfo: dict[Term, tuple[int | None, bool]] = {
        terms[i]: (i, terms[i] in special) for i in relevant
    }
    for sp in special:
        pinfo.setdefault(sp, (None, True))

    # What the asserted triples of each predicate do, looked up once per (subject,
    # predicate): (id, T-box check, unary rules, subject classes, object classes, object
    # classes of a literal, join indexes or None, derivable, set aside).
    plans: dict[Term, tuple[Any, ...]] = {}
    for term, (pi, is_special) in pinfo.items():
        if pi is None:
            plans[term] = (None, is_special, (), EMPTY, EMPTY, EMPTY, None, False, False)
        elif pi != type_id:
            plans[term] = (
                pi,
                is_special,
                unary_steps.get(pi, ()),
                subj_classes.get(pi, EMPTY),
                obj_classes.get(pi, EMPTY),
                obj_classes_literal.get(pi, EMPTY),
                (out_idx.get(pi), in_idx.get(pi)) if pi in joins else None,
                pi in derivable,
                pi in lazy,
            )

    # What a triple a join rule derives does (its predicate is a chain's head or transitive,
    # never rdf:type): (join indexes or None, lazy, unary rules, subject classes, object
    # classes, object classes of a literal).
    heads: dict[int, tuple[Any, ...]] = {
        p: (
            (out_idx.get(p), in_idx.get(p)) if p in joins else None,
            p in lazy,
            unary_steps.get(p, ()),
            subj_classes.get(p, EMPTY),
            obj_classes.get(p, EMPTY),
            obj_classes_literal.get(p, EMPTY),
        )
        for p in {*(ids[h] for h in rules.chains), *transitive}
    }

    # Binary rules, semi-naively: each new triple is joined once with everything known.
    # Two-element chains (all of this ontology's) get their own tables.
    left2: dict[int, list[tuple[int, int]]] = defaultdict(list)  # p2 → (head, p1)
    right2: dict[int, list[tuple[int, int]]] = defaultdict(list)  # p1 → (head, p2)
    longer: dict[int, list[tuple[int, tuple[int, ...], int]]] = defaultdict(list)
    for p, entries in joins.items():
        for head, chain, pos in entries:
            if len(chain) == 2:
                (right2 if pos == 0 else left2)[p].append((head, chain[1 - pos]))
            else:
                longer[p].append((head, chain, pos))
    # Per predicate of a delta triple: (head, index of the other step) for two-element chains
    # where it is the first step and where it is the second, longer chains, transitivity.
    steps: dict[int, tuple[Any, ...]] = {
        p: (
            [(head, out_idx[p2]) for head, p2 in right2.get(p, ())],
            [(head, in_idx[p1]) for head, p1 in left2.get(p, ())],
            longer.get(p, ()),
            p in transitive,
        )
        for p in joins
    }
    return IdTables(
        type_id=type_id,
        nothing_id=nothing_id,
        literal_keep=literal_keep,
        supers=supers,
        pinfo=pinfo,
        plans=plans,
        heads=heads,
        steps=steps,
        out_idx=out_idx,
        in_idx=in_idx,
    )
