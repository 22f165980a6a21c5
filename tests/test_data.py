"""Each data file parses and conforms; Japanese text traces to the source; IRIs follow policy."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from kgtools.load import load_files
from kgtools.namespaces import ID, TIP
from kgtools.project import Project, find_project
from kgtools.shacl import validate_graphs

from .conftest import ROOT, SOURCE_TEXT

DATA_FILES = find_project(ROOT).data_files()
OVERVIEW = ID["source/approved-plans-overview-r3-r5"]


def test_data_files_found() -> None:
    """Guard: the parametrized tests below must not silently shrink."""
    names = [p.relative_to(ROOT / "data").as_posix() for p in DATA_FILES]
    assert len(names) == 9, names
    assert sum(n.startswith("plans/") for n in names) == 5


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_data_file_parses_and_conforms(
    path: Path, project: Project, ontology: Graph, shapes: Graph, shared_files: list[Path]
) -> None:
    """Validated by the compiled validator, which test_shacl_fast holds to pySHACL on the whole
    project (and on every shape case and random mutations of the data)."""
    context = [p for p in shared_files if p != path]
    data = load_files([*context, path])
    report = validate_graphs(data, shapes, ontology)
    assert report.conforms, report.text()


def test_template_parses(project: Project) -> None:
    template = project.data_dir / "templates" / "plan-template.ttl"
    assert len(load_files([template])) > 0
    assert template not in project.data_files()


def _norm(text: str) -> str:
    """Compare modulo the PDF's layout: width forms (NFKC) and all white space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


TEXT_PROPERTIES = (
    TIP.originalText,
    TIP.caption,
    TIP.background,
    TIP.fundedExpense,
    TIP.editionLabel,
    DCTERMS.title,
    RDFS.label,
)


def test_japanese_text_traces_to_the_source(data: Graph) -> None:
    """Every @ja text of a node sourced from the overview appears in the overview.

    Concepts (themes, partner kinds …) are the project's own vocabulary and are exempt.
    """
    source = _norm(SOURCE_TEXT.read_text(encoding="utf-8"))
    vocabulary = set(data.subjects(RDF.type, SKOS.Concept)) | set(
        data.subjects(RDF.type, SKOS.ConceptScheme)
    )
    for cls in (TIP.Heading, TIP.Theme, TIP.PartnerKind, TIP.TargetSegment, TIP.Industry):
        vocabulary |= set(data.subjects(RDF.type, cls))
    checked = 0
    missing = []
    for subject in set(data.subjects(DCTERMS.source, OVERVIEW)) - vocabulary:
        for predicate in TEXT_PROPERTIES:
            for text in data.objects(subject, predicate):
                if isinstance(text, Literal) and text.language == "ja":
                    checked += 1
                    if _norm(str(text)) not in source:
                        missing.append((subject, predicate, str(text)))
    assert checked > 150
    assert not missing, "\n".join(map(str, missing))


def test_japanese_texts_keep_the_source_characters(data: Graph) -> None:
    """No silent normalisation: texts are not NFKC-folded where the source was not."""
    raw = SOURCE_TEXT.read_text(encoding="utf-8")
    joined = re.sub(r"\s*\n\s*", "", raw)
    for text in data.objects(None, TIP.originalText):
        assert str(text) in joined, str(text)


IRI_PATTERNS = [
    r"local-government/\d{6}",
    r"plan/\d{6}/\d{4}",
    r"plan/\d{6}/\d{4}/(period|approval|future-vision)",
    r"plan/\d{6}/\d{4}/initiative/[123]-\d+",
    r"plan/\d{6}/\d{4}/illustration/[a-z0-9-]+",
    r"(programme|facility|event|partner-group)/\d{6}/[a-z0-9-]+",
    r"(place|person|source)/[a-z0-9-]+",
    r"fiscal-year/\d{4}",
    r"scheme/[a-z-]+",
    r"heading/[123]",
    r"(theme|partner-kind|target-segment|industry)/[a-z0-9-]+",
]


def test_instance_iris_follow_the_policy(data: Graph) -> None:
    subjects = {s for s in data.subjects() if isinstance(s, URIRef)}
    assert subjects
    outside = [s for s in subjects if not str(s).startswith(str(ID))]
    assert not outside
    bad = [
        s
        for s in subjects
        if not any(re.fullmatch(p, str(s)[len(str(ID)) :]) for p in IRI_PATTERNS)
    ]
    assert not bad, bad


def test_plan_and_initiative_iris_agree_with_their_facts(data: Graph) -> None:
    for plan in data.subjects(RDF.type, TIP.Plan):
        code, year = str(plan).rsplit("/", 2)[-2:]
        municipality = data.value(plan, TIP.municipality)
        assert data.value(municipality, TIP.localGovernmentCode) == Literal(code)
        first = data.value(data.value(plan, TIP.period), TIP.firstFiscalYear)
        assert str(data.value(first, TIP.year)) == year
    initiatives = list(data.subjects(RDF.type, TIP.Initiative))
    assert len(initiatives) == 33
    for initiative in initiatives:
        heading, ordinal = str(initiative).rsplit("/", 1)[-1].split("-")
        assert data.value(initiative, TIP.heading) == ID[f"heading/{heading}"]
        assert int(data.value(initiative, TIP.ordinal)) == int(ordinal)  # type: ignore[arg-type]
        assert str(initiative).startswith(str(data.value(initiative, TIP.partOfPlan)) + "/")


def test_local_government_codes_and_wikidata(data: Graph) -> None:
    expected = {
        "130001": ("東京都", "Q1490"),
        "131067": ("台東区", "Q232641"),
        "131113": ("大田区", "Q217234"),
        "131164": ("豊島区", "Q236680"),
        "131172": ("北区", "Q235130"),
        "132128": ("日野市", "Q236197"),
    }
    found = {}
    for lg in data.subjects(TIP.localGovernmentCode, None):
        code = str(data.value(lg, TIP.localGovernmentCode))
        ja = next(str(x) for x in data.objects(lg, RDFS.label) if x.language == "ja")  # type: ignore[union-attr]
        found[code] = (ja, str(data.value(lg, TIP.wikidataItem)).rsplit("/", 1)[-1])
    assert found == expected
