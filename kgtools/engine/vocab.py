"""The vocabulary the fast engines match on, as pyoxigraph terms made from the generated
namespaces: :data:`kgtools.namespaces.TIP` (generated from ``ontology/tip.ttl``, so a term the
ontology lacks fails at import) and rdflib's RDF, RDFS, SKOS and XSD. No IRI is typed twice."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

from kgtools.namespaces import TIP


def node(iri: URIRef | str) -> ox.NamedNode:
    """The pyoxigraph form of an IRI."""
    return ox.NamedNode(str(iri))


RDF_TYPE = node(RDF.type)
RDF_LANG_STRING = node(RDF.langString)
XSD_STRING = node(XSD.string)
RDFS_LABEL = node(RDFS.label)
RDFS_RANGE = node(RDFS.range)
DCTERMS_TITLE = node(DCTERMS.title)
OWL_DATATYPE_PROPERTY = node(OWL.DatatypeProperty)
SKOS_PREF_LABEL = node(SKOS.prefLabel)

PLAN = node(TIP.Plan)
INITIATIVE = node(TIP.Initiative)
MUNICIPALITY = node(TIP.municipality)
PART_OF_PLAN = node(TIP.partOfPlan)
HEADING = node(TIP.heading)
PERIOD = node(TIP.period)
HAS_ILLUSTRATION = node(TIP.hasIllustration)
MENTIONS = node(TIP.mentions)
LOCAL_GOVERNMENT_CODE = node(TIP.localGovernmentCode)
FIRST_FISCAL_YEAR = node(TIP.firstFiscalYear)
LAST_FISCAL_YEAR = node(TIP.lastFiscalYear)
YEAR = node(TIP.year)
