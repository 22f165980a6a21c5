"""OWL 2 RL's property rules that join two triples or more: ``prp-trp`` and ``prp-spo2``.

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules (Table 5)
— transitive properties and property chains of any length, run semi-naively over the delta of
new triples: each is joined once with everything known, through predicate-keyed indexes of only
the predicates a join reads; two-element chains (all of this ontology's) have their own tables.
What a join derives goes through the unary rules at once (:func:`run_joins`'s ``emit``).
"""

from __future__ import annotations

from collections.abc import Iterable

from kgtools.engine.rules.interned import EMPTY, IdTables
from kgtools.engine.rules.state import ClosureState


def run_joins(state: ClosureState, tables: IdTables) -> None:
    """Apply the join rules to ``state.delta`` until nothing new is derived."""
    known, literals = state.known, state.literals
    derived, delta, lazy_derived = state.derived, state.delta, state.lazy_derived
    known_add, derived_append, delta_append = known.add, derived.append, delta.append
    lazy_append = lazy_derived.append
    add_types = state.add_types
    apply_unary = state.apply_unary
    literal_keep, heads, steps = tables.literal_keep, tables.heads, tables.steps
    in_idx, out_idx = tables.in_idx, tables.out_idx
    empty = EMPTY

    def emit(s: int, p: int, o: int) -> None:
        """Record a triple a join rule derives, and what the unary rules give for it."""
        t = (s, p, o)
        if t in known:
            return
        known_add(t)
        derived_append(t)
        index, is_lazy, steps, sc, oc, ocl = heads[p]
        if index is not None:
            if index[0] is not None:
                index[0][s].add(o)
            if index[1] is not None:
                index[1][o].add(s)
            delta_append(t)
        elif is_lazy:
            lazy_append(t)
        if steps:
            apply_unary(s, o, steps)
        if sc:
            add_types(s, sc & literal_keep if s in literals else sc)
        classes = ocl if o in literals else oc
        if classes:
            add_types(o, classes)

    # Semi-naively: each new triple is joined once with everything known.
    while delta:
        batch = list(delta)
        delta.clear()
        for s, p, o in batch:
            rights2, lefts2, longer_p, is_transitive = steps[p]
            for head, out_p2 in rights2:
                found = out_p2.get(o)
                if found:
                    for c in tuple(found):  # emit may add to the set
                        if (s, head, c) not in known:
                            emit(s, head, c)
            for head, in_p1 in lefts2:
                found = in_p1.get(s)
                if found:
                    for a in tuple(found):
                        if (a, head, o) not in known:
                            emit(a, head, o)
            for head, chain, pos in longer_p:
                # Walk left from s to the chain's start and right from o to its end.
                lefts: Iterable[int] = (s,)
                for x in reversed(chain[:pos]):
                    index = in_idx[x]
                    lefts = {a for b in lefts for a in index.get(b, empty)}
                rights: Iterable[int] = (o,)
                for x in chain[pos + 1 :]:
                    index = out_idx[x]
                    rights = {c for b in rights for c in index.get(b, empty)}
                for a in list(lefts):
                    for c in list(rights):
                        emit(a, head, c)
            if is_transitive:
                for c in list(out_idx[p].get(o, empty)):
                    emit(s, p, c)
                for a in list(in_idx[p].get(s, empty)):
                    emit(a, p, o)
