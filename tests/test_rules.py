"""The fast reasoner (kgtools.engine.rules) gives owlrl's entailments exactly, in full and by
DRed."""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Graph

from kgtools.engine import rules
from kgtools.engine.terms import MemoryIndex, OxTriple, triple_from_rdflib, triple_to_rdflib
from kgtools.errors import (
    InconsistentOntologyError,
    IncrementalUpdateError,
    UnsupportedOntologyError,
)
from kgtools.reference import owlrl as reason

from . import references
from .conftest import examples

TIP = "https://w3id.org/tokyo-industry-plans/ontology#"
ID = "https://w3id.org/tokyo-industry-plans/id/"
EX = "https://w3id.org/tokyo-industry-plans/test/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
OWL = "http://www.w3.org/2002/07/owl#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"


def tip(name: str) -> ox.NamedNode:
    return ox.NamedNode(TIP + name)


def ex(name: str) -> ox.NamedNode:
    return ox.NamedNode(EX + name)


def reference(ontology: Graph, data: list[OxTriple]) -> set[OxTriple]:
    """owlrl's entailments (kgtools.reference.owlrl) for ontology + data, as pyoxigraph triples."""
    graph = Graph()
    for t in ontology:
        graph.add(t)
    for t in data:
        graph.add(triple_to_rdflib(t))
    return {triple_from_rdflib(t) for t in reason.entailments(graph)}  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def ruleset(ontology: Graph) -> rules.RuleSet:
    return rules.compile(triple_from_rdflib(t) for t in ontology)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data_triples(data: Graph) -> list[OxTriple]:
    return [triple_from_rdflib(t) for t in data]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def real_reference(ontology: Graph, data: Graph, request: pytest.FixtureRequest) -> set[OxTriple]:
    cache = getattr(request.config, "cache", None)
    return {triple_from_rdflib(t) for t in references.merged_entailments(ontology, data, cache)}  # type: ignore[arg-type]


# -- full closure ---------------------------------------------------------------------------


def test_real_data_gives_owlrls_entailments(
    ruleset: rules.RuleSet, data_triples: list[OxTriple], real_reference: set[OxTriple]
) -> None:
    mine = ruleset.entailments(data_triples)
    assert len(real_reference) > 1000
    assert mine == real_reference, (
        f"missing {sorted(map(str, real_reference - mine))[:5]}, "
        f"extra {sorted(map(str, mine - real_reference))[:5]}"
    )


@pytest.mark.parametrize(
    "triple",
    [
        # chain hasApproval / approvingAuthority
        (
            ox.NamedNode(ID + "plan/131067/2021"),
            tip("approvedBy"),
            ox.NamedNode(ID + "local-government/130001"),
        ),
        # chain partOfPlan / municipality
        (
            ox.NamedNode(ID + "plan/131172/2021/initiative/1-2"),
            tip("concernsMunicipality"),
            ox.NamedNode(ID + "local-government/131172"),
        ),
        # inverse of partOfPlan
        (
            ox.NamedNode(ID + "plan/131172/2021"),
            tip("hasInitiative"),
            ox.NamedNode(ID + "plan/131172/2021/initiative/1-2"),
        ),
        # subclass chain SpecialWard ⊑ Municipality ⊑ LocalGovernment ⊑ org:Organization
        (
            ox.NamedNode(ID + "local-government/131067"),
            RDF_TYPE,
            ox.NamedNode("http://www.w3.org/ns/org#Organization"),
        ),
        # a T-box entailment (scm-sco)
        (tip("SpecialWard"), ox.NamedNode(RDFS + "subClassOf"), tip("LocalGovernment")),
    ],
    ids=["chain-approvedBy", "chain-concernsMunicipality", "inverse", "subclass", "tbox"],
)
def test_known_entailments_are_there(
    ruleset: rules.RuleSet, data_triples: list[OxTriple], triple: OxTriple
) -> None:
    assert triple in ruleset.entailments(data_triples)


def test_noise_filter_matches_the_reference(ruleset: rules.RuleSet) -> None:
    for t in ruleset.tbox:
        assert rules.is_noise(t) == reason.is_noise(triple_to_rdflib(t)), t  # type: ignore[arg-type]


# -- random A-boxes against owlrl -------------------------------------------------------------

OBJECT_PROPERTIES = [
    tip(n)
    for n in [
        "municipality",
        "hasPlan",
        "hasApproval",
        "approvedPlan",
        "approvingAuthority",
        "approvedBy",
        "hasInitiative",
        "partOfPlan",
        "collaboratesWith",
        "partnerKind",
        "involvesPartnerKind",
        "mentions",
        "mentionedIn",
        "programme",
        "facility",
        "event",
        "person",
        "hasIllustration",
        "illustrationOf",
        "depicts",
        "concernsMunicipality",
        "superEvent",
        "subEvent",
        "containsPlace",
        "locatedIn",
        "operatedBy",
        "theme",
        "scheduledFor",
        "prefecture",
    ]
] + [ox.NamedNode("http://www.w3.org/2004/02/skos/core#topConceptOf")]
DATA_PROPERTIES = [tip("caption"), tip("ordinal"), tip("startDate"), tip("localGovernmentCode")]
DATA_PROPERTIES += [ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")]
CLASSES = [
    tip(n)
    for n in [
        "Plan",
        "Initiative",
        "Place",
        "Facility",
        "LocalGovernment",
        "SpecialWard",
        "Event",
        "Partner",
    ]
]
INDIVIDUALS = [ex(n) for n in ["a", "b", "c", "d"]]
LITERALS = [
    ox.Literal("x"),
    ox.Literal("東京", language="ja"),
    ox.Literal("1", datatype=ox.NamedNode(XSD + "positiveInteger")),
]

individual = st.sampled_from(INDIVIDUALS)
object_triple = st.tuples(individual, st.sampled_from(OBJECT_PROPERTIES), individual)
data_triple = st.tuples(individual, st.sampled_from(DATA_PROPERTIES), st.sampled_from(LITERALS))
type_triple = st.tuples(individual, st.just(RDF_TYPE), st.sampled_from(CLASSES))
any_triple = st.one_of(object_triple, object_triple, data_triple, type_triple)
a_box = st.lists(any_triple, max_size=12).map(lambda ts: sorted(set(ts), key=str))
SETTINGS = settings(
    max_examples=examples(20),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(a_box)
def test_random_a_boxes_give_owlrls_entailments(
    ruleset: rules.RuleSet, ontology: Graph, triples: list[OxTriple]
) -> None:
    try:
        expected = reference(ontology, triples)
    except InconsistentOntologyError:
        with pytest.raises(InconsistentOntologyError):
            ruleset.entailments(triples)
        return
    assert ruleset.entailments(triples) == expected


def test_a_literal_through_an_inverse_chain(ruleset: rules.RuleSet, ontology: Graph) -> None:
    """A literal as an intermediate node: owlrl's literal-subject triples feed chains."""
    lit = ox.Literal("place")
    triples = [
        (ex("x"), tip("containsPlace"), lit),  # lit locatedIn x (noise) …
        (ex("p"), tip("mentions"), lit),  # lit mentionedIn p (noise) …
        (ex("p"), tip("municipality"), ex("m")),  # … lit concernsMunicipality m …
        (ex("e"), tip("subEvent"), ex("x")),
    ]
    expected = reference(ontology, triples)
    assert (ex("x"), tip("concernsMunicipality"), ex("m")) in expected
    assert ruleset.entailments(triples) == expected


def test_transitive_and_union_range(ruleset: rules.RuleSet, ontology: Graph) -> None:
    triples = [(ex(f"p{i}"), tip("locatedIn"), ex(f"p{i + 1}")) for i in range(5)]
    triples.append((ex("p5"), tip("concernsMunicipality"), ex("m")))
    expected = reference(ontology, triples)
    assert (ex("p0"), tip("locatedIn"), ex("p5")) in expected
    assert (ex("p0"), tip("concernsMunicipality"), ex("m")) not in expected  # wrong direction
    assert ruleset.entailments(triples) == expected


@SETTINGS
@given(a_box)
def test_an_index_gives_what_a_list_gives(ruleset: rules.RuleSet, triples: list[OxTriple]) -> None:
    """A MemoryIndex is read through its subject map, in its own order: same entailments."""
    try:
        expected = ruleset.entailments(triples)
    except InconsistentOntologyError:
        with pytest.raises(InconsistentOntologyError):
            ruleset.entailments(MemoryIndex(triples))
        return
    assert ruleset.entailments(MemoryIndex(triples)) == expected
    assert ruleset.entailments(MemoryIndex(reversed(triples))) == expected


def test_real_data_from_an_index(
    ruleset: rules.RuleSet, data_triples: list[OxTriple], real_reference: set[OxTriple]
) -> None:
    assert ruleset.entailments(MemoryIndex(data_triples)) == real_reference
    as_list = ruleset.entailment_list(MemoryIndex(data_triples))
    assert len(as_list) == len(real_reference)  # each triple once
    assert set(as_list) == real_reference


SKOS_PREF_LABEL = ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel")
RDFS_LABEL = ox.NamedNode(RDFS + "label")


@pytest.mark.parametrize("as_index", [False, True])
@pytest.mark.parametrize("more_derived", [0, 3])
def test_asserted_label_is_not_an_entailment(
    ruleset: rules.RuleSet, ontology: Graph, as_index: bool, more_derived: int
) -> None:
    """rdfs:label is derived (from skos:prefLabel) but read by no rule: the asserted labels are
    set aside and only compared with the derived ones at the end (from either side: more
    asserted or more derived ones)."""
    ja, en = ox.Literal("東京", language="ja"), ox.Literal("Tokyo", language="en")
    triples: list[OxTriple] = [
        (ex("a"), SKOS_PREF_LABEL, ja),
        (ex("a"), RDFS_LABEL, ja),  # asserted and derived: not an entailment
        (ex("a"), RDFS_LABEL, en),
        (ex("b"), SKOS_PREF_LABEL, en),  # derived only
        (ex("b"), tip("partOfPlan"), ex("a")),
        (ex("a"), tip("hasInitiative"), ex("b")),  # asserted and derived (inverse)
    ]
    triples += [(ex(f"c{i}"), SKOS_PREF_LABEL, ja) for i in range(more_derived)]
    expected = reference(ontology, triples)
    assert (ex("b"), RDFS_LABEL, en) in expected
    assert (ex("a"), RDFS_LABEL, ja) not in expected
    assert (ex("a"), tip("hasInitiative"), ex("b")) not in expected
    for order in (triples, triples[::-1]):
        data: Iterable[OxTriple] = MemoryIndex(order) if as_index else order
        assert ruleset.entailments(data) == expected
        as_list = ruleset.entailment_list(data)
        assert len(as_list) == len(expected) and set(as_list) == expected


def test_a_longer_chain_and_inverses() -> None:
    """A three-step chain, read through inverse and sub-properties (this ontology has only
    two-step chains): owlrl's entailments, whatever the order of the data."""
    ontology = Graph().parse(
        data="""
        @prefix ex: <https://w3id.org/tokyo-industry-plans/test/> .
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        ex:p1 a owl:ObjectProperty . ex:p2 a owl:ObjectProperty . ex:p3 a owl:ObjectProperty .
        ex:q2 owl:inverseOf ex:p2 . ex:r3 rdfs:subPropertyOf ex:p3 .
        ex:h a owl:ObjectProperty ; rdfs:range ex:C ; owl:propertyChainAxiom ( ex:p1 ex:p2 ex:p3 ) .
        """,
        format="turtle",
    )
    compiled = rules.compile(triple_from_rdflib(t) for t in ontology)
    triples: list[OxTriple] = [
        (ex("a"), ex("p1"), ex("b")),
        (ex("c"), ex("q2"), ex("b")),  # b p2 c
        (ex("c"), ex("r3"), ex("d")),  # c p3 d
        (ex("a2"), ex("p1"), ex("b")),
        (ex("c"), ex("p3"), ex("e")),
    ]
    expected = reference(ontology, triples)
    assert (ex("a"), ex("h"), ex("d")) in expected
    assert (ex("a2"), ex("h"), ex("e")) in expected
    for order in (triples, triples[::-1]):
        assert compiled.entailments(order) == expected
        assert compiled.entailments(MemoryIndex(order)) == expected


# -- what the engine refuses ---------------------------------------------------------------


def test_unsupported_construct_is_a_typed_error() -> None:
    b = ox.BlankNode("r")
    onto = [
        (ex("C"), ox.NamedNode(RDFS + "subClassOf"), b),
        (b, RDF_TYPE, ox.NamedNode(OWL + "Restriction")),
        (b, ox.NamedNode(OWL + "onProperty"), ex("p")),
        (b, ox.NamedNode(OWL + "someValuesFrom"), ex("D")),
    ]
    with pytest.raises(UnsupportedOntologyError, match="someValuesFrom"):
        rules.compile(onto)
    with pytest.raises(UnsupportedOntologyError, match="FunctionalProperty"):
        rules.compile([(ex("p"), RDF_TYPE, ox.NamedNode(OWL + "FunctionalProperty"))])


def test_same_as_in_data_is_refused(ruleset: rules.RuleSet, ontology: Graph) -> None:
    """owlrl implements eq-* (it would copy every triple to the other name); the engine refuses."""
    same = (ex("a"), ox.NamedNode(OWL + "sameAs"), ex("b"))
    typed = (ex("a"), RDF_TYPE, tip("Plan"))
    assert (ex("b"), RDF_TYPE, tip("Plan")) in reference(ontology, [same, typed])
    with pytest.raises(UnsupportedOntologyError, match="sameAs"):
        ruleset.entailments([same, typed])
    # a reflexive sameAs changes nothing and is accepted
    ruleset.entailments([(ex("a"), ox.NamedNode(OWL + "sameAs"), ex("a"))])


def test_t_box_vocabulary_in_data(ruleset: rules.RuleSet, ontology: Graph) -> None:
    subclass = ox.NamedNode(RDFS + "subClassOf")
    with pytest.raises(UnsupportedOntologyError, match="subClassOf"):
        ruleset.entailments([(ex("C"), subclass, tip("Plan"))])
    with pytest.raises(UnsupportedOntologyError, match="TransitiveProperty"):
        ruleset.entailments([(tip("mentions"), RDF_TYPE, ox.NamedNode(OWL + "TransitiveProperty"))])
    # restating the ontology is fine, and the restated triple is no longer an entailment
    restated = (tip("SpecialWard"), subclass, tip("LocalGovernment"))
    assert restated in ruleset.tbox_entailments
    assert restated not in ruleset.entailments([restated])
    assert ruleset.entailments([restated]) == reference(ontology, [restated])


def test_inconsistency_is_a_typed_error() -> None:
    disjoint = (ex("Ward"), ox.NamedNode(OWL + "disjointWith"), ex("City"))
    rs = rules.compile([disjoint])
    with pytest.raises(InconsistentOntologyError, match="Disjoint"):
        rs.entailments([(ex("x"), RDF_TYPE, ex("Ward")), (ex("x"), RDF_TYPE, ex("City"))])
    assert rs.entailments([(ex("x"), RDF_TYPE, ex("Ward"))]) == set()


# -- incremental maintenance ----------------------------------------------------------------


def apply_update(
    rs: rules.RuleSet, before: list[OxTriple], after: list[OxTriple]
) -> tuple[set[OxTriple], set[OxTriple], set[OxTriple]]:
    """Entailments after the change by ``update`` and by recomputation."""
    entailed = rs.entailments(before)
    current = MemoryIndex([*rs.ontology, *before, *entailed])
    asserted_after = MemoryIndex([*rs.ontology, *after])
    added, removed = set(after) - set(before), set(before) - set(after)
    to_add, to_remove = rs.update(current, asserted_after, added, removed)
    assert not to_add & to_remove
    return (entailed - to_remove) | to_add, rs.entailments(after), entailed


@SETTINGS
@given(a_box, a_box, st.data())
def test_random_updates_equal_recomputation(
    ruleset: rules.RuleSet, first: list[OxTriple], extra: list[OxTriple], draw: st.DataObject
) -> None:
    removed = draw.draw(st.sets(st.sampled_from(first))) if first else set()
    before = first
    after = sorted((set(first) - removed) | set(extra), key=str)
    try:
        updated, recomputed, _ = apply_update(ruleset, before, after)
    except InconsistentOntologyError:
        return
    assert updated == recomputed


def test_update_through_entailed_and_asserted(ruleset: rules.RuleSet) -> None:
    """An asserted triple that was an entailment leaves the entailments, and back."""
    base = [
        (ex("i"), tip("partOfPlan"), ex("p")),
        (ex("p"), tip("municipality"), ex("m")),
    ]
    inverse = (ex("p"), tip("hasInitiative"), ex("i"))
    updated, recomputed, before = apply_update(ruleset, base, [*base, inverse])
    assert inverse in before and inverse not in updated
    assert updated == recomputed
    updated, recomputed, _ = apply_update(ruleset, [*base, inverse], base)
    assert inverse in updated
    assert updated == recomputed


def test_update_on_the_real_data(ruleset: rules.RuleSet, data_triples: list[OxTriple]) -> None:
    """Take a plan's initiatives, approval and places out, then put them back."""
    plan = ID + "plan/131172/2021"
    touched = {
        t
        for t in data_triples
        if t[1] in (tip("partOfPlan"), tip("locatedIn"), tip("hasApproval"), tip("municipality"))
        and (t[0].value.startswith(plan) or t[2] == ox.NamedNode(plan) or t[1] == tip("locatedIn"))
    }
    assert len(touched) > 5
    rest = [t for t in data_triples if t not in touched]
    updated, recomputed, before = apply_update(ruleset, data_triples, rest)
    assert updated == recomputed
    assert len(before - updated) > 20
    updated, recomputed, _ = apply_update(ruleset, rest, data_triples)
    assert updated == recomputed == before


class CountingIndex(MemoryIndex):
    calls = 0

    def match(self, s=None, p=None, o=None):  # type: ignore[no-untyped-def,override]
        CountingIndex.calls += 1
        return super().match(s, p, o)


def test_update_reads_little(ruleset: rules.RuleSet, data_triples: list[OxTriple]) -> None:
    entailed = ruleset.entailments(data_triples)
    current = CountingIndex([*ruleset.ontology, *data_triples, *entailed])
    removed = {t for t in data_triples if t[1] == tip("partOfPlan")}
    rest = [t for t in data_triples if t not in removed]
    CountingIndex.calls = 0
    to_add, to_remove = ruleset.update(
        current, MemoryIndex([*ruleset.ontology, *rest]), set(), set(removed)
    )
    assert (entailed - to_remove) | to_add == ruleset.entailments(rest)
    # a few thousand pattern look-ups for ~30 removed triples, not one per stored triple
    assert CountingIndex.calls < 60 * len(removed)


def test_unsafe_change_is_refused(ruleset: rules.RuleSet) -> None:
    base = [(ex("p"), tip("municipality"), ex("m"))]
    with pytest.raises(IncrementalUpdateError):
        apply_update(ruleset, base, [*base, (ex("p"), tip("mentions"), ox.Literal("x"))])
    with pytest.raises(IncrementalUpdateError):
        apply_update(ruleset, base, [*base, (ex("p"), tip("mentions"), ox.BlankNode("b"))])
