"""OWL RL reasoning: entailments kept apart, noise left out, general classes reach instances."""

from __future__ import annotations

import pytest
from rdflib import BNode, Graph, Namespace
from rdflib.namespace import ORG, OWL, RDF, RDFS

from kgtools.build.layout import BuildSummary
from kgtools.errors import InconsistentOntologyError
from kgtools.namespaces import ID, TIP
from kgtools.reference.owlrl import entailments, is_noise

EX = Namespace("https://w3id.org/tokyo-industry-plans/test/")
TAITO, KITA, TOKYO = (
    ID["local-government/131067"],
    ID["local-government/131172"],
    ID["local-government/130001"],
)
TAITO_PLAN, KITA_PLAN = ID["plan/131067/2021"], ID["plan/131172/2021"]


def test_inferred_triples_are_kept_apart_from_asserted(asserted: Graph, inferred: Graph) -> None:
    assert len(inferred) > 0
    assert not set(inferred) & set(asserted)


def test_no_reflexive_or_axiomatic_noise_in_the_entailments(inferred: Graph) -> None:
    noisy = [t for t in inferred if is_noise(t)]
    assert not noisy
    assert not list(inferred.triples((None, OWL.sameAs, None)))
    assert not list(inferred.triples((None, RDF.type, OWL.Thing)))
    assert not [t for t in inferred if any(isinstance(x, BNode) for x in t)]
    assert not [s for s in inferred.subjects() if str(s).startswith(str(OWL))]


@pytest.mark.parametrize(
    "triple",
    [
        # inverse: municipality ↔ plan, plan ↔ initiative
        (TAITO, TIP.hasPlan, TAITO_PLAN),
        (KITA_PLAN, TIP.hasInitiative, ID["plan/131172/2021/initiative/1-2"]),
        # property chain: plan → approval → approving authority
        (TAITO_PLAN, TIP.approvedBy, TOKYO),
        # chain through partOfPlan: an initiative concerns its plan's municipality
        (ID["plan/131172/2021/initiative/1-2"], TIP.concernsMunicipality, KITA),
        # subclass: a special ward is a municipality and a W3C ORG organisation
        (TAITO, RDF.type, TIP.Municipality),
        (TAITO, RDF.type, ORG.Organization),
        # SKOS: prefLabel is a sub-property of rdfs:label
        (ID["heading/fy2021/1"], RDFS.label, None),
    ],
    ids=[
        "inverse-hasPlan",
        "inverse-hasInitiative",
        "chain-approvedBy",
        "chain-concernsMunicipality",
        "subclass-municipality",
        "subclass-org",
        "prefLabel-label",
    ],
)
def test_expected_entailments(inferred: Graph, triple: tuple) -> None:  # type: ignore[type-arg]
    assert next(inferred.triples(triple), None) is not None, triple


def test_plans_reach_partner_kinds_through_named_groups(asserted: Graph, inferred: Graph) -> None:
    """豊島区 names partner groups (区内大学, 交流都市 …); the chain gives the plan their kinds."""
    toshima = ID["plan/131164/2021"]
    groups = set(asserted.objects(toshima, TIP.collaboratesWith))
    assert groups
    kinds_of_groups = {k for g in groups for k in asserted.objects(g, TIP.partnerKind)}
    derived = set(inferred.objects(toshima, TIP.involvesPartnerKind))
    stated = set(asserted.objects(toshima, TIP.involvesPartnerKind))
    assert kinds_of_groups - stated, "the test needs a kind known only through a group"
    assert kinds_of_groups - stated <= derived


def test_general_class_finds_specific_instances_only_through_entailments(
    asserted: Graph, inferred: Graph
) -> None:
    organisations_asserted = set(asserted.subjects(RDF.type, ORG.Organization))
    organisations_all = organisations_asserted | set(inferred.subjects(RDF.type, ORG.Organization))
    assert not organisations_asserted
    assert {TOKYO, TAITO, KITA} <= organisations_all
    # 東京都, the 17 municipalities of the rounds and the foundation that runs PiO PARK
    assert ID["organisation/ota-city-industrial-promotion-organization"] in organisations_all
    assert len(organisations_all) == 19


def test_everything_in_a_municipality_is_reachable(inferred: Graph) -> None:
    in_kita = set(inferred.subjects(TIP.concernsMunicipality, KITA))
    assert ID["facility/131172/one-stop-desk"] in in_kita
    assert ID["person/shibusawa-eiichi"] in in_kita
    assert KITA_PLAN in in_kita


def test_build_summary_counts_inferred(built: tuple[object, BuildSummary], inferred: Graph) -> None:
    _, summary = built
    assert summary.inferred_triples == len(inferred)
    assert summary.instances["tip:Municipality"] == 17
    assert summary.instances["tip:LocalGovernment"] == 18


def test_inconsistency_is_a_typed_error() -> None:
    g = Graph()
    g.add((EX.Ward, OWL.disjointWith, EX.City))
    g.add((EX.x, RDF.type, EX.Ward))
    g.add((EX.x, RDF.type, EX.City))
    with pytest.raises(InconsistentOntologyError, match=r"[Dd]isjoint"):
        list(entailments(g))


def test_entailments_exclude_what_is_asserted() -> None:
    g = Graph()
    g.add((EX.Ward, RDFS.subClassOf, EX.Government))
    g.add((EX.taito, RDF.type, EX.Ward))
    assert set(entailments(g)) == {(EX.taito, RDF.type, EX.Government)}
