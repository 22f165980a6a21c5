"""Each data file parses and conforms; Japanese text traces to the source; IRIs follow policy."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from kgtools.engine.shacl import validate_graphs
from kgtools.load.reference import load_files
from kgtools.namespaces import ID, TIP
from kgtools.project import Project, find_project

from .conftest import ROOT, SOURCE_TEXT

DATA_FILES = find_project(ROOT).data_files()
OVERVIEW = ID["source/approved-plans-overview-r3-r5"]


def test_data_files_found() -> None:
    """Guard: the parametrized tests below must not silently shrink."""
    names = [p.relative_to(ROOT / "data").as_posix() for p in DATA_FILES]
    assert len(names) == 35, names
    assert sum(n.startswith("plans/") for n in names) == 24
    assert sum(n.startswith("rounds/") for n in names) == 6


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_data_file_parses_and_conforms(
    path: Path, ontology: Graph, shapes: Graph, shared_files: list[Path], context: Graph
) -> None:
    """Each file parsed with the shared files it refers to, and validated by the compiled
    validator, which test_shacl_fast holds to pySHACL on the whole project (and on every shape
    case and random mutations of the data). A plan file is parsed into a copy of the shared
    files as the session parsed them once (a shared file, with the others parsed again: its
    own blank nodes must not be there twice)."""
    if path in shared_files:
        data = load_files([*(p for p in shared_files if p != path), path])
    else:
        data = Graph()
        data += context
        load_files([path], into=data)
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
    for subject in set(data.subjects(DCTERMS.source, OVERVIEW)):
        for text in data.objects(subject, TIP.originalText):
            assert str(text) in joined, str(text)


PRESS = ROOT / "sources" / "press"
PRESS_TEXT_PROPERTIES = (
    TIP.originalText,
    TIP.caption,
    TIP.background,
    TIP.backgroundExcerpt,
    TIP.roundName,
    TIP.planKindName,
    TIP.appliesTo,
    DCTERMS.title,
    SKOS.prefLabel,
)


def test_press_release_texts_trace_to_their_page(data: Graph) -> None:
    """Every @ja text (other than a descriptive rdfs:label) of a node sourced to a press release
    appears, character for character, in one of the pages it cites (sources/press/{id}.txt: the
    parts of the stored copies that were read), so nothing is paraphrased or normalised."""
    pages = {ID[f"source/{p.stem}"]: p.read_text(encoding="utf-8") for p in PRESS.glob("*.txt")}
    assert len(pages) == 5
    for page in pages:
        assert (page, RDF.type, TIP.SourceDocument) in data, page
        address = str(data.value(page, TIP.address))
        assert pages[page].splitlines()[0] == address
    checked = 0
    missing = []
    for subject in {s for p in pages for s in data.subjects(DCTERMS.source, p)}:
        cited = [pages[p] for p in data.objects(subject, DCTERMS.source) if p in pages]
        for predicate in PRESS_TEXT_PROPERTIES:
            for text in data.objects(subject, predicate):
                if isinstance(text, Literal) and text.language == "ja":
                    checked += 1
                    if not any(str(text) in page for page in cited):
                        missing.append((subject, predicate, str(text)))
    assert checked >= 25
    assert not missing, "\n".join(map(str, missing))


IRI_PATTERNS = [
    r"local-government/\d{6}",
    r"plan/\d{6}/\d{4}",
    r"plan/\d{6}/\d{4}/(period|approval|future-vision)",
    r"plan/\d{6}/\d{4}/initiative/[1-9]\d*-\d+",
    r"plan/\d{6}/\d{4}/heading/[1-9]\d*",
    r"plan/\d{6}/\d{4}/illustration/[a-z0-9-]+",
    r"plan/\d{6}/\d{4}/aim/[a-z0-9-]+",
    r"(programme|facility|event|partner-group)/\d{6}/[a-z0-9-]+",
    r"(place|person|source|organisation)/[a-z0-9-]+",
    r"fiscal-year/\d{4}",
    r"scheme/[a-z-]+",
    r"heading/fy2021/[123]",
    r"round/(\d{4}-\d{2}(-\d{2})?|fy\d{4})",
    r"support-scheme/[a-z-]+",
    r"support-scheme/[a-z-]+/name/\d{4}",
    r"support-scheme/[a-z-]+/terms/\d{4}-\d{2}-\d{2}(/[a-z-]+)?",
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
    assert len(initiatives) == 36
    for initiative in initiatives:
        heading, ordinal = str(initiative).rsplit("/", 1)[-1].split("-")
        plan = data.value(initiative, TIP.partOfPlan)
        # headings belong to the round's overview (FY2021–23: three fixed ones) or to the plan
        round_ = data.value(data.value(plan, TIP.hasApproval), TIP.round)
        if round_ == ID["round/fy2021"]:
            assert data.value(initiative, TIP.heading) == ID[f"heading/fy2021/{heading}"]
        else:
            assert data.value(initiative, TIP.heading) == URIRef(f"{plan}/heading/{heading}")
        assert int(data.value(data.value(initiative, TIP.heading), TIP.ordinal)) == int(heading)  # type: ignore[arg-type]
        assert int(data.value(initiative, TIP.ordinal)) == int(ordinal)  # type: ignore[arg-type]
        assert str(initiative).startswith(str(data.value(initiative, TIP.partOfPlan)) + "/")


def test_local_government_codes_and_wikidata(data: Graph) -> None:
    """Codes and names as the code list gives them; Wikidata items only where they were checked
    (the municipalities of the other rounds have none: no stored source confirmed them). The
    expected table is tests/fixtures/local-government-codes.tsv."""
    table = ROOT / "tests" / "fixtures" / "local-government-codes.tsv"
    expected = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            code, name, item = line.split("\t")
            expected[code] = (name, None if item == "-" else item)
    assert len(expected) == 18
    found = {}
    for lg in data.subjects(TIP.localGovernmentCode, None):
        code = str(data.value(lg, TIP.localGovernmentCode))
        ja = next(str(x) for x in data.objects(lg, RDFS.label) if x.language == "ja")  # type: ignore[union-attr]
        item = data.value(lg, TIP.wikidataItem)
        found[code] = (ja, None if item is None else str(item).rsplit("/", 1)[-1])
    assert found == expected


def jis_x0402_check_digit(first_five: str) -> int:
    """The check digit of a local government code (JIS X 0402), computed independently of the
    SPARQL constraint in shapes.ttl: 11 - (6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5) mod 11, last digit."""
    total = sum(
        weight * int(digit) for weight, digit in zip((6, 5, 4, 3, 2), first_five, strict=True)
    )
    return (11 - total % 11) % 10


def test_every_local_government_code_has_its_check_digit(data: Graph) -> None:
    codes = [str(code) for code in data.objects(None, TIP.localGovernmentCode)]
    assert len(codes) == 18
    wrong = [c for c in codes if not (len(c) == 6 and int(c[5]) == jis_x0402_check_digit(c[:5]))]
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("five", "digit"),
    # published codes: 東京都 130001, 千代田区 131016, 八丈町 134015, 小笠原村 134210, 札幌市 011002
    [("13000", 1), ("13101", 6), ("13401", 5), ("13421", 0), ("01100", 2)],
)
def test_check_digit_algorithm_on_published_codes(five: str, digit: int) -> None:
    assert jis_x0402_check_digit(five) == digit


def test_check_digit_catches_every_single_digit_typo(data: Graph) -> None:
    """Changing any one of the first five digits of each code changes its check digit (the
    weights 6..2 are invertible mod 11) unless the sum moves by a multiple of 11 - which one
    digit cannot do - or the check value is 10/11 folded to 0/1."""
    for code in {str(c) for c in data.objects(None, TIP.localGovernmentCode)}:
        for position in range(5):
            for replacement in "0123456789":
                if replacement == code[position]:
                    continue
                typo = code[:position] + replacement + code[position + 1 : 5]
                total = sum(w * int(d) for w, d in zip((6, 5, 4, 3, 2), typo, strict=True))
                original = sum(w * int(d) for w, d in zip((6, 5, 4, 3, 2), code[:5], strict=True))
                assert (total - original) % 11 != 0
                if (
                    (11 - total % 11) != 10
                    and (11 - original % 11) != 10
                    and (11 - total % 11) != 11
                    and (11 - original % 11) != 11
                ):
                    assert jis_x0402_check_digit(typo) != int(code[5])
