"""The RDF/RDFS/OWL terms the rules match on, and what the engine refuses.

The OWL 2 RL rules (https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules)
this engine implements are those this project's ontology uses. The equality rules (``eq-*``,
Table 4: ``owl:sameAs`` and everything that derives it — functional and inverse-functional
properties, ``owl:hasKey``, max cardinality), ``owl:intersectionOf``, restrictions, ``owl:oneOf``,
``owl:complementOf`` … are refused (:data:`UNSUPPORTED_PREDICATES`, :data:`UNSUPPORTED_TYPES`), so
the engine never silently answers differently from owlrl.
"""

from __future__ import annotations

import pyoxigraph as ox
from rdflib.namespace import OWL, RDF, RDFS, XSD

VOCABULARY_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))


def _rdf(name: str) -> ox.NamedNode:
    return ox.NamedNode(str(RDF) + name)


def _rdfs(name: str) -> ox.NamedNode:
    return ox.NamedNode(str(RDFS) + name)


def _owl(name: str) -> ox.NamedNode:
    return ox.NamedNode(str(OWL) + name)


TYPE = _rdf("type")
FIRST, REST, NIL = _rdf("first"), _rdf("rest"), _rdf("nil")
SUBCLASS, SUBPROPERTY = _rdfs("subClassOf"), _rdfs("subPropertyOf")
DOMAIN, RANGE = _rdfs("domain"), _rdfs("range")
EQ_CLASS, EQ_PROPERTY = _owl("equivalentClass"), _owl("equivalentProperty")
INVERSE, CHAIN, SAME_AS = _owl("inverseOf"), _owl("propertyChainAxiom"), _owl("sameAs")
DISJOINT = _owl("disjointWith")
TRANSITIVE, SYMMETRIC = _owl("TransitiveProperty"), _owl("SymmetricProperty")
THING, NOTHING = _owl("Thing"), _owl("Nothing")
RESOURCE, LITERAL = _rdfs("Resource"), _rdfs("Literal")
#: Classes whose instances are noise in every output (``rdf:type`` them is dropped).
NOISE_CLASSES = frozenset({THING, RESOURCE, LITERAL})

#: Constructs whose OWL RL rules the engine does not implement (found anywhere in the T-box).
UNSUPPORTED_PREDICATES = frozenset(
    _owl(n)
    for n in (
        "intersectionOf",
        "someValuesFrom",
        "allValuesFrom",
        "hasValue",
        "oneOf",
        "maxCardinality",
        "maxQualifiedCardinality",
        "hasKey",
        "complementOf",
        "propertyDisjointWith",
        "sourceIndividual",
        "differentFrom",
        "onClass",
    )
)
UNSUPPORTED_TYPES = frozenset(
    _owl(n)
    for n in (
        "FunctionalProperty",
        "InverseFunctionalProperty",
        "IrreflexiveProperty",
        "AsymmetricProperty",
        "AllDisjointProperties",
        "AllDisjointClasses",
        "AllDifferent",
    )
)
#: Predicates whose triples change the rules themselves: data may only restate the T-box.
SCHEMA_PREDICATES = frozenset(
    {
        SUBCLASS,
        SUBPROPERTY,
        DOMAIN,
        RANGE,
        EQ_CLASS,
        EQ_PROPERTY,
        INVERSE,
        CHAIN,
        SAME_AS,
        DISJOINT,
        _owl("unionOf"),
        _owl("onProperty"),
        _owl("members"),
        _owl("distinctMembers"),
        _owl("assertionProperty"),
        _owl("targetIndividual"),
        _owl("targetValue"),
        *UNSUPPORTED_PREDICATES,
    }
)
#: Classes whose instances trigger rules: data may only restate the T-box's typings.
RULE_CLASSES = frozenset({TRANSITIVE, SYMMETRIC, *UNSUPPORTED_TYPES})
