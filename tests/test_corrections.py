"""A careful reader's corrections to the FY2021–23 data (issue 17), held as rules over all plans.

Each test states a rule the corrected data keeps and the old data broke: every 窓口 an initiative's
text names is a facility of its own; no organiser without a source that states it; facts from
outside the overview cite their page; an aim the background names has a node of its own.
"""

from __future__ import annotations

import re

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from kgtools.namespaces import ID, TIP

from .conftest import SOURCE_TEXT

OVERVIEW = ID["source/approved-plans-overview-r3-r5"]
SCHEMA_URL = URIRef("https://schema.org/url")
# A desk's name: the katakana and kanji run that ends in 窓口 (ワンストップ相談窓口, 経営相談窓口).
DESK = re.compile(r"[\u30a1-\u30ffー\u4e00-\u9fff]+窓口")
# An aim the background names: 「NAME」 followed (within the sentence) by を目指す.
NAMED_AIM = re.compile(r"(「[^」]+」[^。「」]*?)を目指す")


def ja(graph: Graph, node: URIRef, predicate: URIRef = RDFS.label) -> set[str]:
    return {
        str(o)
        for o in graph.objects(node, predicate)
        if isinstance(o, Literal) and o.language == "ja"
    }


def test_every_desk_an_initiative_names_is_a_facility_of_its_own(data: Graph) -> None:
    """ワンストップ相談窓口 and the 経営相談窓口 set up in 令和５年度 are two desks, not one."""
    checked = 0
    for initiative in data.subjects(RDF.type, TIP.Initiative):
        for text in ja(data, initiative, TIP.originalText):  # type: ignore[arg-type]
            names = set(DESK.findall(text))
            if not names:
                continue
            facilities = list(data.objects(initiative, TIP.facility))
            labelled = {name: [f for f in facilities if name in ja(data, f)] for name in names}  # type: ignore[arg-type]
            assert all(len(found) == 1 for found in labelled.values()), (initiative, labelled)
            assert len({found[0] for found in labelled.values()}) == len(names), labelled
            checked += len(names)
    assert checked >= 2  # guard: 北区 1-2 names two desks


def test_only_the_new_desk_is_scheduled_for_fy2023(data: Graph) -> None:
    one_stop = ID["facility/131172/one-stop-desk"]
    new_desk = ID["facility/131172/business-consultation-desk"]
    assert ja(data, new_desk) == {"経営相談窓口"}
    assert set(data.objects(new_desk, TIP.scheduledFor)) == {ID["fiscal-year/2023"]}
    assert not set(data.objects(one_stop, TIP.scheduledFor))
    assert not set(data.objects(ID["plan/131172/2021/initiative/1-2"], TIP.scheduledFor))


def pages(data: Graph) -> set[URIRef]:
    """Source documents that are web pages (they have an address)."""
    return {
        s
        for s in data.subjects(RDF.type, TIP.SourceDocument)
        if isinstance(s, URIRef) and data.value(s, SCHEMA_URL) is not None
    }


def test_the_overview_states_no_organiser() -> None:
    """The premise of the next test: 主催 (organised by) occurs nowhere in the overview."""
    text = SOURCE_TEXT.read_text(encoding="utf-8")
    assert "主催" not in text and "主催者" not in text


def test_no_organiser_lacks_a_source_that_states_it(data: Graph) -> None:
    """An organiser needs a stating source: the overview states none, so it must be a page."""
    web = pages(data)
    unsourced = [
        (event, organiser)
        for event, organiser in data.subject_objects(TIP.organizer)
        if not set(data.objects(event, DCTERMS.source)) & web
    ]
    assert not unsourced, unsourced
    # The two the overview never stated are gone.
    for event in ("event/131067/industry-fair", "event/131172/manufacturer-business-meeting"):
        assert data.value(ID[event], TIP.organizer) is None


def test_facts_from_outside_the_overview_cite_their_page(data: Graph) -> None:
    """HANEDA×PiO's place and PiO PARK's operator come from 大田区's page, which is cited."""
    page = ID["source/unique-ota-pio-park-2024"]
    assert page in pages(data)
    haneda = ID["facility/131113/haneda-pio"]
    pio_park = ID["facility/131113/pio-park"]
    assert set(data.objects(haneda, TIP.locatedIn)) == {ID["place/haneda-innovation-city-zone-k"]}
    assert not set(data.objects(haneda, TIP.operatedBy))  # the page says 設置, not 運営
    assert set(data.objects(pio_park, TIP.operatedBy)) == {
        ID["organisation/ota-city-industrial-promotion-organization"]
    }
    for node in (
        haneda,
        pio_park,
        ID["place/haneda-innovation-city-zone-k"],
        ID["place/haneda-innovation-city"],
        ID["organisation/ota-city-industrial-promotion-organization"],
    ):
        assert page in set(data.objects(node, DCTERMS.source)), node


def test_taito_designers_village_place_cites_its_page(data: Graph) -> None:
    page = ID["source/tokyo-ritti-taito-designers-village"]
    village = ID["facility/131067/taito-designers-village"]
    school = ID["place/former-kojima-elementary-school"]
    assert page in pages(data)
    assert set(data.objects(village, TIP.locatedIn)) == {school}
    assert page in set(data.objects(village, DCTERMS.source))
    assert set(data.objects(school, DCTERMS.source)) == {page}


def test_every_place_of_a_facility_has_a_stating_source(data: Graph) -> None:
    """A facility's place is not in the overview's text: each one cites a page that states it."""
    placed = list(data.subject_objects(TIP.locatedIn))
    facilities = set(data.subjects(RDF.type, TIP.Facility)) | set(
        data.subjects(RDF.type, TIP.ConsultationDesk)
    )
    checked = 0
    for facility, _ in placed:
        if facility in facilities:
            checked += 1
            assert set(data.objects(facility, DCTERMS.source)) & pages(data), facility
    assert checked >= 3  # HANEDA×PiO, PiO PARK, 台東デザイナーズビレッジ


def test_every_named_aim_has_a_node(data: Graph) -> None:
    """「北区産業ブランド」の確立を目指す: an aim the background names is a tip:Aim of its plan."""
    found = 0
    for plan in data.subjects(RDF.type, TIP.Plan):
        aims = {a: ja(data, a) for a in data.objects(plan, TIP.aim)}  # type: ignore[misc]
        for background in ja(data, plan, TIP.background):  # type: ignore[arg-type]
            for phrase in NAMED_AIM.findall(background):
                found += 1
                assert any(phrase in labels for labels in aims.values()), (plan, phrase, aims)
        for aim, labels in aims.items():
            assert (aim, RDF.type, TIP.Aim) in data
            assert str(aim).startswith(str(plan) + "/aim/")
            assert all(
                any(label in b for b in ja(data, plan, TIP.background))
                for label in labels  # type: ignore[arg-type]
            ), (aim, labels)
    assert found >= 1  # guard: 北区's 「北区産業ブランド」の確立


def test_kita_plan_aims_at_its_industry_brand(data: Graph) -> None:
    aims = list(data.objects(ID["plan/131172/2021"], TIP.aim))
    assert [ja(data, a) for a in aims] == [{"「北区産業ブランド」の確立"}]  # type: ignore[arg-type]
