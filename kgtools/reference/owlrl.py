"""Reasoning stage: OWL 2 RL entailments with owlrl, kept apart from the asserted triples.

owlrl writes its closure into the graph it is given (OWL-RL issue #51), so the closure runs on
a scratch copy and only the difference is kept. The difference is then cleaned of what owlrl
derives for every node and that tells a user nothing (OWL-RL issue #43 and the RL rules
eq-ref, cax-sco over ``owl:Thing`` and scm-*):

* reflexive ``owl:sameAs`` / ``owl:equivalentClass`` / ``owl:equivalentProperty`` /
  ``rdfs:subClassOf`` / ``rdfs:subPropertyOf`` triples;
* ``rdf:type owl:Thing`` / ``rdfs:Resource``, ``rdfs:subClassOf owl:Thing``, ``owl:Nothing``
  subclass triples, ``rdfs:subPropertyOf`` the top properties;
* triples about the RDF, RDFS, OWL and XSD vocabularies themselves (axiomatic triples);
* triples with a blank node or a literal subject (entailments about the ontology's anonymous
  union classes and lists).

Inconsistency (owlrl's error messages) raises :class:`InconsistentOntologyError`.
"""

from __future__ import annotations

from collections.abc import Iterator

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kgtools.errors import InconsistentOntologyError
from kgtools.store.base import Triple

_VOCABULARY_NAMESPACES = tuple(str(ns) for ns in (RDF, RDFS, OWL, XSD))
_REFLEXIVE_NOISE = frozenset(
    {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty, RDFS.subClassOf, RDFS.subPropertyOf}
)
_TOP_CLASSES = frozenset({OWL.Thing, RDFS.Resource})
_TOP_PROPERTIES = frozenset({OWL.topObjectProperty, OWL.topDataProperty})


def is_noise(triple: Triple) -> bool:
    """True for an entailment that holds of every node or only restates the vocabularies."""
    s, p, o = triple
    if not isinstance(s, URIRef) or isinstance(o, BNode):
        return True
    if str(s).startswith(_VOCABULARY_NAMESPACES):
        return True
    if p in _REFLEXIVE_NOISE and s == o:
        return True
    if p == RDF.type and o in _TOP_CLASSES:
        return True
    if p == RDFS.subClassOf and (o in _TOP_CLASSES or s == OWL.Nothing):
        return True
    if p == RDFS.subPropertyOf and o in _TOP_PROPERTIES:
        return True
    return p == RDF.type and isinstance(o, URIRef) and o == RDFS.Literal


def _owlrl_errors(graph: Graph) -> list[str]:
    from owlrl.Namespaces import ERRNS

    messages = [str(m) for m in graph.objects(None, ERRNS.error) if isinstance(m, Literal)]
    return sorted(set(messages))


def closure(asserted: Graph) -> Graph:
    """The full OWL RL closure of ``asserted`` (including it), computed on a copy."""
    import owlrl  # heavy: imported only when reasoning runs

    scratch = Graph()
    for triple in asserted:
        scratch.add(triple)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(scratch)
    errors = _owlrl_errors(scratch)
    if errors:
        raise InconsistentOntologyError(errors)
    return scratch


def entailments(asserted: Graph) -> Iterator[Triple]:
    """Triples that OWL RL derives from ``asserted`` and that it does not already contain.

    >>> from rdflib import Namespace
    >>> EX = Namespace("https://w3id.org/tokyo-industry-plans/test/")
    >>> g = Graph()
    >>> _ = g.add((EX.Ward, RDFS.subClassOf, EX.Government))
    >>> _ = g.add((EX.taito, RDF.type, EX.Ward))
    >>> sorted(entailments(g)) == [(EX.taito, RDF.type, EX.Government)]
    True
    """
    full = closure(asserted)
    for triple in full:
        if triple not in asserted and not is_noise(triple):
            yield triple
