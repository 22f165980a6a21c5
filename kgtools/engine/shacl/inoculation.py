"""The part of the ontology pySHACL mixes into the data graph before it validates.

pySHACL (the reference, :mod:`kgtools.reference.pyshacl`) "inoculates" the data graph with the
ontology's RDFS/OWL axioms, so ``sh:targetClass`` and ``sh:class`` see the ontology's
``rdfs:subClassOf`` (https://www.w3.org/TR/shacl/#dfn-shacl-subclass). The compiled validator
copies exactly what pySHACL copies (pyshacl.rdfutil.consts), so the two give the same results.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib.namespace import OWL, RDFS

from kgtools.engine.terms import MemoryIndex, Term, TripleSource
from kgtools.engine.vocab import RDF_TYPE

_RDFS = str(RDFS)
_OWL = str(OWL)

# What pySHACL's inoculation copies from the ontology (pyshacl.rdfutil.consts).
_RDFS_CLASSES = (
    "Class",
    "Container",
    "ContainerMembershipProperty",
    "Datatype",
    "Literal",
    "Resource",
)


_OWL_CLASSES = [
    "AllDifferent",
    "AllDisjointClasses",
    "AllDisjointProperties",
    "Annotation",
    "AnnotationProperty",
    "AsymmetricProperty",
    "Axiom",
    "Class",
    "DataRange",
    "DatatypeProperty",
    "DeprecatedClass",
    "DeprecatedProperty",
    "FunctionalProperty",
    "InverseFunctionalProperty",
    "IrreflexiveProperty",
    "NamedIndividual",
    "NegativePropertyAssertion",
    "ObjectProperty",
    "Ontology",
    "OntologyProperty",
    "ReflexiveProperty",
    "Restriction",
    "SymmetricProperty",
    "TransitiveProperty",
]


_RDFS_PROPERTIES = "comment domain isDefinedBy label member range seeAlso subClassOf subPropertyOf"


_OWL_PROPERTIES = [
    "allValuesFrom",
    "annotatedProperty",
    "annotatedSource",
    "annotatedTarget",
    "assertionProperty",
    "cardinality",
    "complementOf",
    "datatypeComplementOf",
    "differentFrom",
    "disjointUnionOf",
    "disjointWith",
    "distinctMembers",
    "equivalentClass",
    "equivalentProperty",
    "hasKey",
    "hasSelf",
    "hasValue",
    "intersectionOf",
    "inverseOf",
    "maxCardinality",
    "maxQualifiedCardinality",
    "members",
    "minCardinality",
    "minQualifiedCardinality",
    "onClass",
    "onDataRange",
    "onDatatype",
    "onProperties",
    "onProperty",
    "oneOf",
    "propertyChainAxiom",
    "propertyDisjointWith",
    "qualifiedCardinality",
    "sameAs",
    "someValuesFrom",
    "sourceIndividual",
    "targetIndividual",
    "targetValue",
    "unionOf",
    "withRestrictions",
    "backwardCompatibleWith",
    "deprecated",
    "incompatibleWith",
    "priorVersion",
    "versionInfo",
    "bottomDataProperty",
    "topDataProperty",
    "bottomObjectProperty",
    "topObjectProperty",
    "imports",
    "versionIRI",
]


_INOCULATED_CLASSES = [ox.NamedNode(_RDFS + c) for c in _RDFS_CLASSES] + [
    ox.NamedNode(_OWL + c) for c in _OWL_CLASSES
]


_INOCULATED_PROPERTIES = [ox.NamedNode(_RDFS + p) for p in _RDFS_PROPERTIES.split()] + [
    ox.NamedNode(_OWL + p) for p in _OWL_PROPERTIES
]


_NAMED_INDIVIDUAL = ox.NamedNode(_OWL + "NamedIndividual")


def inoculate(ontology: TripleSource) -> MemoryIndex:
    """The part of ``ontology`` pySHACL mixes into the data graph (its ``inoculate``).

    RDFS/OWL typing triples of classes and properties, the RDFS/OWL axiom properties
    (``rdfs:subClassOf``, ``rdfs:label``, ``owl:unionOf`` …) with the blank nodes they reach, and
    everything about an ``owl:NamedIndividual``. Blank nodes keep their ids (pySHACL renames them).
    """
    source = MemoryIndex(ontology.match(None, None, None))
    out = MemoryIndex()
    done: set[Term] = set()

    def deep(node: Term, follow_iris: bool, depth: int) -> None:
        if node in done or depth > 10:
            return
        done.add(node)
        for triple in source.match(node, None, None):
            out.add(triple)
            obj = triple[2]
            if isinstance(obj, ox.BlankNode) or (follow_iris and isinstance(obj, ox.NamedNode)):
                deep(obj, follow_iris, depth + 1)

    individuals = set(source.subjects(RDF_TYPE, _NAMED_INDIVIDUAL))
    for cls in _INOCULATED_CLASSES:
        for subject in list(source.subjects(RDF_TYPE, cls)):
            out.add((subject, RDF_TYPE, cls))
            if isinstance(subject, ox.BlankNode):
                deep(subject, False, 0)
    for prop in _INOCULATED_PROPERTIES:
        for s, p, o in list(source.match(None, prop, None)):
            out.add((s, p, o))
            for node in (s, o):
                if isinstance(node, ox.BlankNode):
                    deep(node, False, 0)
    for individual in individuals:
        deep(individual, True, 0)
        for s, p, o in list(source.match(None, None, individual)):
            out.add((s, p, o))
            if isinstance(s, ox.BlankNode):
                deep(s, False, 0)
    return out
