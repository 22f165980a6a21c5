"""OWL 2 RL's schema rules (``scm-*``, Table 9): the T-box closed once, by owlrl itself.

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules — subclass
and sub-property transitivity, inherited domains and ranges, union members as subclasses … depend
on the ontology alone (~900 triples), so owlrl computes them in under a second and the build caches
them by the ontology's hash; the A-box rules are then compiled from that closed T-box.
"""

from __future__ import annotations

from collections.abc import Iterable

from kgtools.engine.rules.vocabulary import NIL
from kgtools.engine.terms import OxTriple, Term


def read_list(head: Term, first: dict[Term, Term], rest: dict[Term, Term]) -> list[Term]:
    items: list[Term] = []
    seen: set[Term] = set()
    node = head
    while node != NIL and node in first and node not in seen:
        seen.add(node)
        items.append(first[node])
        node = rest.get(node, NIL)
    return items


def tbox_closure(ontology: Iterable[OxTriple]) -> frozenset[OxTriple]:
    """owlrl's closure of the ontology alone (about a second; cache it by the ontology's hash)."""
    from rdflib import Graph

    from kgtools.engine.terms import triple_from_rdflib, triple_to_rdflib
    from kgtools.reference.owlrl import closure

    graph = Graph()
    for triple in ontology:
        graph.add(triple_to_rdflib(triple))
    return frozenset(triple_from_rdflib(t) for t in closure(graph))
