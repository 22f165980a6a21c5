"""owlrl's noise filter on pyoxigraph triples: what is never reported as an entailment.

The rules (https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules)
derive many triples nobody asks for (``x rdf:type owl:Thing``, reflexive ``rdfs:subClassOf``,
triples about the RDF/OWL vocabulary itself); :func:`kgtools.reference.owlrl.is_noise` drops them
from the reference's output, and :func:`is_noise` drops the same (plus blank-node predicates).
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib.namespace import OWL

from kgtools.engine.rules.vocabulary import (
    EQ_CLASS,
    EQ_PROPERTY,
    LITERAL,
    NOTHING,
    RESOURCE,
    SAME_AS,
    SUBCLASS,
    SUBPROPERTY,
    THING,
    TYPE,
    VOCABULARY_NAMESPACES,
)
from kgtools.engine.terms import OxTriple

_TOP_CLASSES = frozenset({THING, RESOURCE})


_TOP_PROPERTIES = frozenset(
    {ox.NamedNode(str(OWL.topObjectProperty)), ox.NamedNode(str(OWL.topDataProperty))}
)


_REFLEXIVE_NOISE = frozenset({SAME_AS, EQ_CLASS, EQ_PROPERTY, SUBCLASS, SUBPROPERTY})


def is_noise(triple: OxTriple) -> bool:
    """:func:`kgtools.reference.owlrl.is_noise` on a pyoxigraph triple (plus blank-node
    predicates)."""
    s, p, o = triple
    if not isinstance(s, ox.NamedNode) or isinstance(o, ox.BlankNode):
        return True
    if not isinstance(p, ox.NamedNode):  # owlrl removes generalized triples at the end
        return True
    if s.value.startswith(VOCABULARY_NAMESPACES):
        return True
    if p in _REFLEXIVE_NOISE and s == o:
        return True
    if p == TYPE and (o in _TOP_CLASSES or o == LITERAL):
        return True
    if p == SUBCLASS and (o in _TOP_CLASSES or s == NOTHING):
        return True
    return p == SUBPROPERTY and o in _TOP_PROPERTIES
