"""OWL 2 RL's class rules (``cax-*``, Table 7, with ``cls-nothing2`` of Table 6).

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules —
``cax-sco`` and ``cax-eqc1/2`` are a class's superclasses, closed once when the rules are compiled
(:func:`class_closure`), so an instance gets all of them in one set union; ``cls-uni`` comes
through ``scm-uni`` in the closed T-box. ``cax-dw`` (with owlrl's datatype disjointness) and
``cls-nothing2`` are checks: :func:`check_consistency` raises
:class:`~kgtools.errors.InconsistentOntologyError` as the reference does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import pyoxigraph as ox

from kgtools.engine.rules.state import ClosureState
from kgtools.engine.rules.vocabulary import NOTHING
from kgtools.engine.terms import Term
from kgtools.errors import InconsistentOntologyError


def class_closure(classes: Iterable[Term], sub: Mapping[Term, set[Term]]) -> set[Term]:
    """``classes`` and all their superclasses (``sub``: class → its direct superclasses)."""
    out: set[Term] = set()
    todo = list(classes)
    while todo:
        c = todo.pop()
        if c in out:
            continue
        out.add(c)
        if c != NOTHING:  # Nothing is a subclass of everything: an error anyway
            todo.extend(sub.get(c, ()))
    return out


def check_consistency(state: ClosureState, nothing_id: int) -> None:
    """``cls-nothing2`` and ``cax-dw`` (with owlrl's datatype disjointness)."""
    rules, terms, ids = state.rules, state.terms, state.ids
    types, literals, used = state.types, state.literals, state.used
    nothing_seen = state.nothing_seen
    pairs = [(ids[a], ids[b]) for a, b in rules.disjoint]
    pairs += [
        (state.intern(a), state.intern(b))
        for a, b in rules.datatypes.disjoint
        if a in used and b in used
    ]
    if not pairs and not nothing_seen and not rules.nothing_reachable:
        return
    watched = {c for pair in pairs for c in pair} | {nothing_id}
    members: dict[int, set[int]] = defaultdict(set)
    for node, classes in types.items():
        for c in classes & watched:
            members[c].add(node)
    if any(terms[c] in rules.datatypes.rl for pair in pairs for c in pair):
        for lit in literals:
            term = terms[lit]
            assert isinstance(term, ox.Literal)
            for d in rules.datatypes.implicit_types(term):
                di = ids.get(d)
                if di is not None and di in watched:
                    members[di].add(lit)
    errors = {f"{terms[x].value} is defined of type 'Nothing'" for x in members[nothing_id]}
    for a, b in pairs:
        for x in members.get(a, set()) & members.get(b, set()):
            errors.add(
                f"Disjoint classes {terms[a].value} and {terms[b].value} "
                f"have a common individual {terms[x].value}"
            )
    if errors:
        raise InconsistentOntologyError(sorted(errors))
