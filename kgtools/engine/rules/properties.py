"""OWL 2 RL's property rules (``prp-*``, Table 5) that read one triple, folded per predicate.

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules —
``prp-spo1``, ``prp-eqp1/2``, ``prp-inv1/2``, ``prp-symp``, ``prp-dom`` and ``prp-rng`` (with
``cax-sco``/``cax-eqc`` on the classes they give) are closed under each other once, per predicate,
when the rules are compiled: at reasoning time a triple ``s p o`` gives at once every ``s q o`` /
``o q s`` and every ``rdf:type`` it entails. The two-triple property rules, ``prp-trp`` and
``prp-spo2``, run in :mod:`kgtools.engine.rules.joins`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from kgtools.engine.terms import Term


@dataclass
class PredicateRules:
    """What one triple ``s p o`` entails by the unary rules, closed under each other."""

    #: ``(q, flipped)``: ``s q o`` (or ``o q s`` when flipped), ``q`` never ``p`` unflipped.
    unary: tuple[tuple[ox.NamedNode, bool], ...]
    subject_classes: tuple[ox.NamedNode, ...]
    object_classes: tuple[ox.NamedNode, ...]


def compile_predicate_rules(
    subprop: dict[Term, set[Term]],
    inverses: dict[Term, set[Term]],
    symmetric: set[Term],
    domains: dict[Term, set[Term]],
    ranges: dict[Term, set[Term]],
    classes: Callable[[Iterable[Term]], tuple[ox.NamedNode, ...]],
    nn: Callable[[Term], ox.NamedNode],
) -> dict[ox.NamedNode, PredicateRules]:
    """Every property's unary rules, closed: the ``(q, flipped)`` it reaches by sub-properties,
    inverses and symmetry, and the classes (``classes``: with their superclasses, kept ones
    only) of its subject and object by the domains and ranges of what it reaches."""
    properties: set[Term] = {*subprop, *domains, *ranges, *inverses, *symmetric}
    rules: dict[ox.NamedNode, PredicateRules] = {}
    for p in properties:
        reached: set[tuple[Term, bool]] = set()
        todo2: list[tuple[Term, bool]] = [(p, False)]
        while todo2:
            q, flip = todo2.pop()
            if (q, flip) in reached:
                continue
            reached.add((q, flip))
            todo2.extend((sup, flip) for sup in subprop.get(q, ()))
            todo2.extend((inv, not flip) for inv in inverses.get(q, ()))
            if q in symmetric:
                todo2.append((q, not flip))
        subject_classes: set[Term] = set()
        object_classes: set[Term] = set()
        for q, flip in reached:
            (object_classes if flip else subject_classes).update(domains.get(q, ()))
            (subject_classes if flip else object_classes).update(ranges.get(q, ()))
        rules[nn(p)] = PredicateRules(
            unary=tuple(sorted(((nn(q), f) for q, f in reached if (q, f) != (p, False)), key=str)),
            subject_classes=classes(subject_classes),
            object_classes=classes(object_classes),
        )
    return rules
