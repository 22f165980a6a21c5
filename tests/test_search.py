"""Full-text search (kgtools.search, `kg search`, `GET /search`): one test per matching rule,
each over a generated family of texts and queries, then ranking, filters, errors, the build's
index (fresh and incremental) and the endpoint."""

from __future__ import annotations

import json
import shutil
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from rdflib import Literal

from kgtools.build.layout import BuildSummary
from kgtools.build.pipeline import build
from kgtools.cli import cli
from kgtools.errors import SearchError
from kgtools.namespaces import graphs_for
from kgtools.project import Project
from kgtools.query.library import load_query
from kgtools.search import (
    FIELD_TITLES,
    FIELDS,
    INDEX_DIR,
    INDEX_VERSION,
    MARK_CLOSE,
    MARK_OPEN,
    Row,
    SearchIndex,
    field_titles,
    index_bytes,
    index_for,
    index_path,
    index_rows,
    normalise,
)

from .conftest import chromium_dom, examples, running

ID = "https://w3id.org/tokyo-industry-plans/id/"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ORIGINAL = "https://w3id.org/tokyo-industry-plans/ontology#originalText"


def row(
    entity: str,
    text: str,
    *,
    rank: int = 0,
    lang: str = "ja",
    types: tuple[str, ...] = ("initiative",),
    code: str = "131172",
    first: int | None = 2021,
    last: int | None = 2023,
) -> Row:
    return Row(
        entity=ID + entity,
        type=types[0],
        types=f" {' '.join(types)} ",
        property=LABEL if rank == 0 else ORIGINAL,
        rank=rank,
        lang=lang,
        text=text,
        plan=ID + "plan/" + code,
        code=code,
        municipality="北区",
        first=first,
        last=last,
    )


def index_of(tmp: Path, rows: list[Row]) -> SearchIndex:
    path = tmp / f"index-{len(list(tmp.glob('index-*')))}.sqlite"
    path.write_bytes(index_bytes(rows))
    return SearchIndex(path)


def found(index: SearchIndex, query: str, **options: object) -> list[str]:
    options.setdefault("limit", None)
    return [h.entity[len(ID) :] for h in index.search(query, **options)]  # type: ignore[arg-type]


def widen(text: str) -> str:
    """ASCII letters and digits as full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


# -- matching rules -----------------------------------------------------------------------------
@settings(max_examples=examples(40), deadline=None)
@given(
    term=st.sampled_from(["SDGs", "EC", "DX", "IoT", "B2B", "SNS", "Society5"]),
    stored=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=8, max_size=8),
    asked=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=8, max_size=8),
    before=st.sampled_from(["", "「", "による", " ", "（"]),
    after=st.sampled_from(["", "」", "サイト", " の", "）"]),
)
def test_width_and_latin_case_are_ignored(
    tmp_path_factory: pytest.TempPathFactory,
    term: str,
    stored: list[tuple[bool, bool]],
    asked: list[tuple[bool, bool]],
    before: str,
    after: str,
) -> None:
    def variant(flags: list[tuple[bool, bool]]) -> str:
        out = []
        for ch, (wide, upper) in zip(term, flags, strict=False):
            ch = ch.upper() if upper else ch.lower()
            out.append(widen(ch) if wide else ch)
        return "".join(out)

    text = before + variant(stored) + after
    index = index_of(tmp_path_factory.mktemp("w"), [row("a", text), row("b", "関係のない文")])
    hits = index.search(variant(asked), limit=None)
    assert [h.entity for h in hits] == [ID + "a"], (text, variant(asked))
    # the hit is marked in the original text, which is kept as stored
    assert hits[0].match == before + MARK_OPEN + variant(stored) + MARK_CLOSE + after


@settings(max_examples=examples(60), deadline=None)
@given(
    left=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=4),
    right=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", max_size=4),
    case=st.sampled_from([str.lower, str.upper, str.title]),
)
def test_an_ascii_term_does_not_match_inside_an_english_word(
    tmp_path_factory: pytest.TempPathFactory, left: str, right: str, case: object
) -> None:
    word = case(left + "ec" + right)  # type: ignore[operator]
    rows = [
        row("word", f"A {word} and more", lang="en"),
        row("ja", "EC サイト開設の推進"),
        row("punct", "(EC)", lang="en"),
    ]
    index = index_of(tmp_path_factory.mktemp("b"), rows)
    expected = {"ja", "punct"} | ({"word"} if not left and not right else set())
    assert set(found(index, "EC")) == expected
    assert set(found(index, "ＥＣ")) == expected


def test_the_listed_english_words_are_not_hits_for_ec(tmp_path: Path) -> None:
    words = ["ecosystem", "specialist", "Project", "recommend", "tech"]
    index = index_of(tmp_path, [row(w, f"a {w} here", lang="en") for w in words])
    assert found(index, "EC") == []
    for w in words:  # each is still found by itself
        assert found(index, w) == [w]


@settings(max_examples=examples(40), deadline=None)
@given(
    word=st.sampled_from(["フェア", "コンテスト", "ビジネス", "デザイナーズ", "ガイド", "パン"]),
    as_hiragana=st.booleans(),
    halfwidth_text=st.booleans(),
)
def test_katakana_hiragana_and_halfwidth_kana_are_one(
    tmp_path_factory: pytest.TempPathFactory, word: str, as_hiragana: bool, halfwidth_text: bool
) -> None:
    half = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}

    def to_half(text: str) -> str:
        out = []
        for ch in text:
            base = unicodedata.normalize("NFD", ch)
            out.append(half.get(base[0], base[0]))
            if len(base) > 1:
                out.append("\uff9e" if base[1] == "\u3099" else "\uff9f")
        return "".join(out)

    stored = "産業" + (to_half(word) if halfwidth_text else word) + "の開催"
    query = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in word)
    index = index_of(tmp_path_factory.mktemp("k"), [row("a", stored), row("b", "別の文")])
    assert found(index, query if as_hiragana else word) == ["a"], (stored, query)
    # voiced marks stay with their letter: ガ is not found by カ
    if "ガ" in word or "ビ" in word or "パ" in word:
        unvoiced = word.replace("ガ", "カ").replace("ビ", "ヒ").replace("パ", "ハ")
        assert found(index, unvoiced) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("北区", ["ward", "contest"]),
        ("区", ["ward", "contest", "other"]),
        ("北", ["ward", "contest"]),
    ],
)
def test_one_and_two_character_japanese_terms(
    tmp_path: Path, query: str, expected: list[str]
) -> None:
    rows = [
        row("ward", "北区"),
        row("contest", "北区観光写真コンテスト", rank=1),
        row("other", "台東区の取組", rank=1),
        row("none", "事業者支援"),
    ]
    index = index_of(tmp_path, rows)
    assert found(index, query) == expected


@settings(max_examples=examples(30), deadline=None)
@given(
    order=st.permutations(["産業", "フェア", "2019"]),
    space=st.sampled_from([" ", "\u3000", "  ", " \u3000"]),
)
def test_several_words_must_all_be_in_the_text(
    tmp_path_factory: pytest.TempPathFactory, order: list[str], space: str
) -> None:
    rows = [
        row("all", "台東区産業フェア 2019"),
        row("two", "台東区産業フェア"),
        row("one", "産業振興"),
    ]
    index = index_of(tmp_path_factory.mktemp("m"), rows)
    assert found(index, space.join(order)) == ["all"]
    assert found(index, space.join(order[:2])) == (
        ["all", "two"] if "2019" not in order[:2] else ["all"]
    )


def _holds(norm: str, term: str) -> bool:
    """The documented rule, written out: ``term`` is in ``norm`` at a place where an ASCII
    letter or digit at either end of it has none beside it in the text."""
    alnum = set("abcdefghijklmnopqrstuvwxyz0123456789")
    for i in range(len(norm) - len(term) + 1):
        if norm[i : i + len(term)] != term:
            continue
        if term[0] in alnum and i > 0 and norm[i - 1] in alnum:
            continue
        end = i + len(term)
        if term[-1] in alnum and end < len(norm) and norm[end] in alnum:
            continue
        return True
    return False


# Few characters, so that texts hold a term's trigrams apart from one another (the index keeps
# no positions: a row found by its trigrams must still hold the term), with ASCII words beside
# other characters (which the index's keys pad with spaces) and a line break (white space
# that is not a space).
_FEW = st.text(alphabet="ab1産業振興 -（\n", min_size=1, max_size=14)


@settings(max_examples=examples(150), deadline=None)
@given(texts=st.lists(_FEW, min_size=1, max_size=8), query=_FEW)
def test_a_search_finds_exactly_the_texts_that_hold_every_term(
    tmp_path_factory: pytest.TempPathFactory, texts: list[str], query: str
) -> None:
    words = normalise(query).split()
    assume(words)  # (a query of spaces only is refused: test_an_empty_query_is_refused)
    rows = [row(f"t{i}", text) for i, text in enumerate(texts)]
    index = index_of(tmp_path_factory.mktemp("x"), rows)
    expected = [
        f"t{i}" for i, text in enumerate(texts) if all(_holds(normalise(text), w) for w in words)
    ]
    assert sorted(found(index, query)) == sorted(expected), (texts, query)


def test_a_text_with_a_terms_trigrams_apart_is_not_a_hit(tmp_path: Path) -> None:
    index = index_of(
        tmp_path,
        [
            row("apart", "産業振と業振興"),  # 産業振 and 業振興, not 産業振興
            row("whole", "産業振興"),
            row("spec", "spec ecology", lang="en"),  # " ec" and "ec ", not " ec "
        ],
    )
    assert found(index, "産業振興") == ["whole"]
    assert found(index, "EC") == []


def test_titles_and_labels_rank_before_body_text(tmp_path: Path) -> None:
    rows = [
        row("body", "……を目指してＤＸを推進する", rank=1, code="131067"),
        row("label", "中小企業の DX 推進", code="131172"),
        row("label-late", "事業者の業務改善と DX", code="131067"),
    ]
    index = index_of(tmp_path, rows)
    assert found(index, "dx") == ["label-late", "label", "body"]
    assert found(index, "dx", limit=2) == ["label-late", "label"]


# Texts that many rows share (a phrase every plan has), so that a text's rows lie far apart in
# the answer order, and the windows a search reads them in cut through them.
_SHARED = st.sampled_from(["産業振興", "振興のEC", "ECサイト", "産業", "ab 産業", "業振", "の振興"])


@settings(max_examples=examples(120), deadline=None)
@given(
    placed=st.lists(
        st.tuples(
            st.integers(0, 4),
            _SHARED,
            st.sampled_from([0, 1]),
            st.sampled_from(["131067", "131172", ""]),
            st.sampled_from(["ja", "en"]),
        ),
        min_size=1,
        max_size=40,
    ),
    query=st.sampled_from(["産業", "振興", "EC", "業", "産業 振興", "ab", "の", "ecさいと"]),
    code=st.none() | st.sampled_from(["131067", "131172"]),
    lang=st.none() | st.sampled_from(["ja", "en"]),
    limit=st.none() | st.integers(1, 6),
    first_window=st.sampled_from([0, 2, 10]),
)
@example(  # a text whose rows lie either side of another text's first row
    placed=[
        (1, "産業", 0, "131067", "ja"),
        (2, "産業振興", 0, "131067", "ja"),
        (3, "産業", 0, "", "ja"),
    ],
    query="産業",
    code=None,
    lang=None,
    limit=None,
    first_window=0,
)
def test_hits_come_in_rank_order_once_each_up_to_the_limit(
    tmp_path_factory: pytest.TempPathFactory,
    placed: list[tuple[int, str, int, str, str]],
    query: str,
    code: str | None,
    lang: str | None,
    limit: int | None,
    first_window: int,
) -> None:
    """The answer, written out: the rows in rank order, filtered, those whose text holds every
    term, each text of an entity once (through its first plan), the first ``limit``."""
    from unittest import mock

    from kgtools import search

    rows = {row(f"e{e}", text, rank=rank, code=c, lang=la) for e, text, rank, c, la in placed}
    index = index_of(tmp_path_factory.mktemp("x"), list(rows))
    words = normalise(query).split()
    expected: list[tuple[str, str, str]] = []
    seen = set()
    for r in sorted(rows, key=search.rank_key):
        if (code and r.code != code) or (lang and r.lang != lang):
            continue
        if not all(_holds(normalise(r.text), w) for w in words):
            continue
        if (r.entity, r.property, r.lang, r.text) not in seen:
            seen.add((r.entity, r.property, r.lang, r.text))
            expected.append((r.entity, r.code, r.text))
    with mock.patch.object(search, "_FIRST_WINDOW", first_window):
        hits = index.search(query, municipality=code, lang=lang, limit=limit)
    unmarked = [h.match.replace(MARK_OPEN, "").replace(MARK_CLOSE, "") for h in hits]
    assert [(h.entity, h.code, t) for h, t in zip(hits, unmarked, strict=True)] == expected[:limit]


def test_long_texts_are_cut_around_the_first_hit(tmp_path: Path) -> None:
    text = "あ" * 200 + "キャッシュレス" + "い" * 200
    index = index_of(tmp_path, [row("long", text, rank=1)])
    (hit,) = index.search("きゃっしゅれす")
    assert MARK_OPEN + "キャッシュレス" + MARK_CLOSE in hit.match
    assert hit.match.startswith("…") and hit.match.endswith("…")
    assert len(hit.match) < 120


# -- filters ------------------------------------------------------------------------------------
FILTERED = [
    row("plan", "北区地域産業活性化計画", types=("plan",)),
    row("init", "北区の事業者支援", types=("initiative",)),
    row("prog", "北区事業者支援事業", types=("support-programme",)),
    row("fair", "北区ものづくりフェア", types=("trade-fair", "event")),
    row("old", "北区の旧計画", types=("plan",), first=2016, last=2018),
    row("ota", "大田区と北区の連携", types=("initiative",), code="131113"),
    row("en", "Kita City support", types=("initiative",), lang="en"),
]


@pytest.fixture()
def filtered(tmp_path: Path) -> SearchIndex:
    return index_of(tmp_path, FILTERED)


def test_filter_by_type_with_subclasses_and_last_part(filtered: SearchIndex) -> None:
    assert found(filtered, "北区", type="plan") == ["old", "plan"]
    assert found(filtered, "北区", type="programme") == ["prog"]
    assert found(filtered, "北区", type="support-programme") == ["prog"]
    assert found(filtered, "北区", type="event") == ["fair"]  # a trade fair is an event
    assert found(filtered, "北区", type="Initiative") == ["ota", "init"]  # (by code)


def test_filter_by_municipality_fiscal_year_and_language(filtered: SearchIndex) -> None:
    assert found(filtered, "北区", municipality="131113") == ["ota"]
    assert "old" not in found(filtered, "北区", fy=2021)
    assert found(filtered, "北区", fy=2017) == ["old"]
    assert found(filtered, "kita", lang="en") == ["en"]
    assert found(filtered, "kita", lang="ja") == []


@pytest.mark.parametrize("code", ["", "13111", "1311133", "１３１１１３", "13111x", " 131113"])
def test_a_municipality_code_that_is_not_six_digits_is_refused(
    filtered: SearchIndex, code: str
) -> None:
    """An empty code filtered to the entities that have none (a theme), and a mistyped one
    answered nothing; either said nothing of the mistake."""
    with pytest.raises(SearchError, match="must be six digits"):
        filtered.search("北区", municipality=code)


def test_unknown_type_lists_the_valid_ones(filtered: SearchIndex) -> None:
    with pytest.raises(SearchError, match=r"unknown type 'facilty' — use one of: .*initiative"):
        filtered.search("北区", type="facilty")


@given(
    st.lists(
        st.lists(
            st.sampled_from(["plan", "initiative", "trade-fair", "event", "facility"]),
            min_size=1,
            max_size=3,
            unique=True,
        ),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=examples(25), deadline=None)
def test_the_stored_type_list_is_every_rows_types(typings: list[list[str]]) -> None:
    import tempfile

    rows = [row(f"e{i}", f"北区{i}", types=tuple(ts)) for i, ts in enumerate(typings)]
    with tempfile.TemporaryDirectory() as tmp:
        index = index_of(Path(tmp), rows)
        try:
            assert index.types == sorted({t for ts in typings for t in ts})
        finally:
            index.close()


def test_an_index_without_its_type_list_is_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    path.write_bytes(index_bytes([row("a", "北区")]))
    db = sqlite3.connect(path)
    db.execute("DELETE FROM meta WHERE key='types'")
    db.commit()
    db.close()
    with pytest.raises(SearchError, match="without its type list"):
        SearchIndex(path)


@pytest.mark.parametrize("query", ["", " ", "\u3000\u3000", "\t\n"])
def test_an_empty_query_is_refused(filtered: SearchIndex, query: str) -> None:
    with pytest.raises(SearchError, match="the search text is empty"):
        filtered.search(query)


@pytest.fixture(scope="module")
def shared_index(tmp_path_factory: pytest.TempPathFactory) -> SearchIndex:
    """The filters' index, once for the module (for hypothesis, which runs a test many times)."""
    return index_of(tmp_path_factory.mktemp("shared-index"), FILTERED)


@settings(max_examples=examples(200), deadline=None)
@given(
    query=st.text(),
    type_=st.none() | st.text(max_size=12) | st.sampled_from(["plan", "event", "programme"]),
    municipality=st.none() | st.text(max_size=8) | st.just("131113"),
    fy=st.none() | st.integers() | st.integers(1900, 2200),
    lang=st.none() | st.text(max_size=3) | st.sampled_from(["ja", "en"]),
    limit=st.none() | st.integers(),
)
def test_any_arguments_give_hits_or_a_search_error(
    shared_index: SearchIndex,
    query: str,
    type_: str | None,
    municipality: str | None,
    fy: int | None,
    lang: str | None,
    limit: int | None,
) -> None:
    """Whatever a caller passes (any character, NUL and lone surrogates included; any integer),
    the answer is hits or a :class:`SearchError` that says what to fix: never another error."""
    try:
        hits = shared_index.search(
            query, type=type_, municipality=municipality, fy=fy, lang=lang, limit=limit
        )
    except SearchError as exc:
        assert str(exc)
    else:
        assert all(MARK_OPEN in h.match for h in hits)


@pytest.mark.parametrize("bad", ["\x00", "\udcff", "\ud800", "\udfff"])
@pytest.mark.parametrize("where", [0, 1, 2])
@pytest.mark.parametrize("argument", ["query", "type", "municipality"])
def test_nul_and_lone_surrogates_are_refused_where_they_are(
    shared_index: SearchIndex, bad: str, where: int, argument: str
) -> None:
    good = {"query": "北区", "type": "plan", "municipality": "131113"}[argument]
    value = good[:where] + bad + good[where:]
    options: dict[str, object] = {argument: value} if argument != "query" else {}
    with pytest.raises(SearchError, match=rf"U\+{ord(bad):04X} .* at character {where + 1}:"):
        shared_index.search(value if argument == "query" else "北区", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("fy", [-(2**70), -1, 0, 1899, 2201, 2**63, 10**30])
def test_a_fiscal_year_out_of_range_is_refused(shared_index: SearchIndex, fy: int) -> None:
    with pytest.raises(SearchError, match=f"from 1900 to 2200, not {fy}$"):
        shared_index.search("北区", fy=fy)


def test_an_index_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "search.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(SearchError, match="not a search index"):
        SearchIndex(bad)
    with pytest.raises(SearchError, match="no search index"):
        SearchIndex(tmp_path / "missing.sqlite")


def test_normalisation_never_changes_the_stored_text(tmp_path: Path) -> None:
    text = "ＳＤＧｓによるﾌｪｱ"
    index = index_of(tmp_path, [row("a", text)])
    assert normalise(text) == "sdgsによるふぇあ"
    (hit,) = index.search("フェア")
    assert hit.match.replace(MARK_OPEN, "").replace(MARK_CLOSE, "") == text


# -- the real build -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(built: tuple[Path, BuildSummary]) -> SearchIndex:
    out, summary = built
    return SearchIndex(index_for(out, summary.store))


def test_the_build_indexes_every_kind_of_text(real: SearchIndex) -> None:
    kinds = {h.type for h in real.search("区", limit=None)}
    assert {"plan", "initiative", "support-programme", "special-ward"} <= kinds
    props = {h.property for h in real.search("の", limit=None)}
    assert {"label", "title", "originalText", "background", "caption"} <= props


def test_full_width_sdgs_and_ec_on_the_real_data(real: SearchIndex) -> None:
    wide = real.search("ＳＤＧｓ", limit=None)
    assert wide and wide == real.search("sdgs", limit=None)
    ec = real.search("EC", limit=None)
    assert ec and ec == real.search("ＥＣ", limit=None)
    for hit in ec:
        assert MARK_OPEN + "EC" + MARK_CLOSE in hit.match.upper().replace("Ｅ", "E").replace(
            "Ｃ", "C"
        )


def test_a_rows_municipality_is_named_in_the_rows_language(
    project: Project, real: SearchIndex
) -> None:
    """An English text shows its municipality's English name, a Japanese one the Japanese name
    (``kg search --lang en`` answers in English throughout), as the municipalities' labels in
    the data say."""
    from rdflib import Graph, URIRef

    from kgtools.namespaces import TIP

    places = Graph().parse(project.root / "data" / "local-governments.ttl")
    names = {
        (str(code), label.language): str(label)
        for m, code in places.subject_objects(TIP.localGovernmentCode)
        for label in places.objects(m, URIRef(LABEL))
    }
    hits = [h for q in ("支援", "support") for h in real.search(q, limit=None) if h.code]
    assert {h.lang for h in hits} == {"ja", "en"}
    assert {h.code for h in hits} >= {"131067", "131113", "131164", "131172", "132128"}
    for hit in hits:
        assert hit.municipality == names[hit.code, hit.lang], hit
    assert {h.municipality for h in hits if h.code == "131172"} == {"北区", "Kita City"}


def test_search_rq_gives_the_same_initiatives_for_what_it_can_express(
    project: Project, store: object, real: SearchIndex
) -> None:
    query = load_query(project.queries_dir / "cq" / "search.rq")
    checked = 0
    for term in ["支援", "事業", "産業フェア", "連携", "キャッシュレス", "北区", "創業"]:
        bindings = {"q": Literal(term), "lang": Literal("ja")}  # ?lang: the labels shown
        result = store.query(query.text, bindings, graphs=graphs_for(inferred=True))  # type: ignore[attr-defined]
        by_sparql = {str(r[0]) for r in result}
        by_index = {
            h.entity
            for h in real.search(term, type="initiative", limit=None)
            if h.property in ("label", "originalText")
        }
        assert by_sparql == by_index, term
        checked += bool(by_sparql)
    assert checked >= 5


# -- command and endpoint -----------------------------------------------------------------------
def test_kg_search_json_and_errors(project: Project, built: tuple[Path, BuildSummary]) -> None:
    out, _ = built
    runner = CliRunner()
    base = ["--project", str(project.root), "search", "--out-dir", str(out)]
    result = runner.invoke(cli, [*base, "ＳＤＧｓ", "-f", "json", "--limit", "3"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 3
    assert all(MARK_OPEN in r["match"] and r["municipality"] for r in records)
    empty = runner.invoke(cli, [*base, "\u3000"])
    assert empty.exit_code == 2
    assert "the search text is empty" in empty.stderr and "Traceback" not in empty.output
    unknown = runner.invoke(cli, [*base, "EC", "--type", "nothing"])
    assert unknown.exit_code == 2
    assert "use one of:" in unknown.stderr and "initiative" in unknown.stderr
    # what bytes that are not UTF-8 on a command line become, in the text or an option
    for args in (["ab\udcffc"], ["EC", "--municipality", "13\udcff"], ["EC", "--fy", "1899"]):
        refused = runner.invoke(cli, [*base, *args])
        assert refused.exit_code == 2, refused.output
        assert refused.stderr.startswith("error: ") and "Traceback" not in refused.output
    csv_out = runner.invoke(cli, [*base, "EC", "-f", "csv", "--type", "initiative"])
    assert csv_out.exit_code == 0
    assert csv_out.stdout.splitlines()[0].startswith("entity,type,code,municipality,period")


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
@pytest.mark.parametrize("lang", [None, "ja", "en"])
def test_search_headers_are_titled_in_the_language_for_people_only(
    project: Project, built: tuple[Path, BuildSummary], fmt: str, lang: str | None
) -> None:
    """As ``kg query --lang`` titles a query's columns: the table's headers are the fields' titles
    in the asked language; CSV and JSON keep the field names, which programs read; without
    ``--lang`` the table shows the field names too."""
    out, _ = built
    args = ["--project", str(project.root), "search", "--out-dir", str(out), "SDGs", "-f", fmt]
    result = CliRunner().invoke(cli, [*args, *(["--lang", lang] if lang else [])])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    if fmt == "json":
        assert list(json.loads(result.stdout)[0]) == list(FIELDS)
    elif fmt == "csv":
        assert first.split(",") == list(FIELDS)
    else:
        titles = [FIELD_TITLES[f][("ja", "en").index(lang)] for f in FIELDS] if lang else []
        header = result.stdout.splitlines()[1]  # (under the table's top border)
        assert [cell.strip() for cell in header.strip("|").split("|")] == (titles or list(FIELDS))
    assert "0 row(s)" not in result.stdout and result.stdout.count("\n") > 3


def test_every_field_has_a_title_in_both_languages() -> None:
    assert set(FIELD_TITLES) == set(FIELDS)
    for lang in (0, 1):
        titles = [pair[lang] for pair in FIELD_TITLES.values()]
        assert all(t.strip() == t and t and " " not in t for t in titles)
        assert len(set(titles)) == len(titles)
    assert all(any(ord(c) > 0x3000 for c in ja) for ja, _ in FIELD_TITLES.values())
    assert all(en.isascii() for _, en in FIELD_TITLES.values())
    with pytest.raises(SearchError, match="use ja or en"):
        field_titles("fr")


def test_the_python_api_searches_as_kg_search_does(copy: Path) -> None:
    """``graph.search`` and ``kgtools.api.search`` give the records ``kg search -f json``
    prints (on a copy of the project with its build in ``dist/``, the default folder)."""
    import kgtools.api as kg
    from kgtools.errors import KGError

    graph = kg.load(copy)
    args = ["--project", str(copy), "search", "産業 ふぇあ", "--type", "event", "-f", "json"]
    printed = CliRunner().invoke(cli, args)
    assert printed.exit_code == 0, printed.output
    hits = graph.search("産業 ふぇあ", type="event")
    assert hits == json.loads(printed.stdout) and hits
    assert kg.search("ＳＤＧｓ", project=copy, limit=2) == graph.search("sdgs", limit=2)
    with pytest.raises(SearchError, match="U\\+0000"):
        graph.search("北区\x00")
    with pytest.raises(KGError, match="needs the build folder"):
        kg.KnowledgeGraph(graph.store, graph.summary, graph.library).search("北区")


def test_the_endpoint_answers_get_search_as_json(
    store: object, built: tuple[Path, BuildSummary]
) -> None:
    from kgtools.serve import ServeConfig, make_server

    out, summary = built
    path = index_for(out, summary.store)
    config = ServeConfig(graphs=tuple(graphs_for(inferred=True)))
    made = make_server(store, "127.0.0.1", 0, config=config, search_index=path)  # type: ignore[arg-type]
    with running(made) as server:
        url = server.url + "search?" + urllib.parse.urlencode({"q": "ＳＤＧｓ", "limit": "2"})
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("application/json")
            data = json.loads(response.read())
        assert len(data["results"]) == 2
        assert data["results"] == [h.record() for h in SearchIndex(path).search("sdgs", limit=2)]
        for bad in (
            {"q": ""},
            {"q": "EC", "type": "nope"},
            {"q": "EC", "fy": "x"},
            {"x": "1"},
            {"q": "a\x00b"},
            {"q": "EC", "fy": "1" + "0" * 30},
            {"q": "EC", "municipality": "\x00"},
        ):
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(
                    server.url + "search?" + urllib.parse.urlencode(bad), timeout=10
                )
            assert caught.value.code == 400
        with urllib.request.urlopen(server.url, timeout=10) as page:
            assert b'id="search"' in page.read()


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_page_searches_from_a_link_with_headers_in_its_language(
    store: object, built: tuple[Path, BuildSummary], tmp_path: Path, lang: str
) -> None:
    """Headless Chromium opens ``/?q=SDGs&lang=…``: the page searches, and the table's headers
    are the fields' titles in the chosen language (what `kg search --lang` prints)."""
    from kgtools.serve import ServeConfig, make_server

    out, summary = built
    config = ServeConfig(graphs=tuple(graphs_for(inferred=True)))
    path = index_for(out, summary.store)
    made = make_server(store, "127.0.0.1", 0, config=config, search_index=path)  # type: ignore[arg-type]
    empty = tmp_path / "no-models"
    empty.mkdir()
    with running(made) as server:
        dom = chromium_dom(
            server.url + "?" + urllib.parse.urlencode({"q": "SDGs", "lang": lang}),
            tmp_path,
            "--disable-features=NetworkTimeServiceQuerying",
            f"--optimization-guide-manifest-override={empty}",
            "--gaia-url=http://127.0.0.1:1/",
            budget_ms=10000,
        )
    hits = SearchIndex(path).search("SDGs")
    assert f"<p>{len(hits)} row(s)</p>" in dom, dom[-3000:]
    shown = ["municipality", "match"]
    for field in shown:
        title = FIELD_TITLES[field][("ja", "en").index(lang)]
        assert f'<th data-field="{field}">{title}</th>' in dom, dom[-3000:]
    assert f'<html lang="{lang}">' in dom


# -- incremental build --------------------------------------------------------------------------
def test_the_index_after_an_incremental_build_equals_a_fresh_one(
    project: Project, tmp_path: Path
) -> None:
    root = tmp_path / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(project.root / name, root / name)
    copy = Project(root)
    out = tmp_path / "dist"
    first = build(copy, out)
    assert found(SearchIndex(index_for(out, first.store)), "北区観光写真コンテスト")
    plan = root / "data/plans/131172-2021-kita.ttl"
    text = plan.read_text(encoding="utf-8")
    old = "北区観光写真コンテスト"
    assert old in text
    plan.write_text(text.replace(old, "北区観光しゃしんコンテスト改"), encoding="utf-8")
    summary = build(copy, out)
    assert summary.mode == "incremental"
    assert index_path(out, summary.store).is_file()  # patched by the build, not by a search
    index = SearchIndex(index_for(out, summary.store))
    assert found(index, "しゃしんコンテスト改")
    assert found(index, old) == []
    fresh = build(copy, tmp_path / "full", force=True)
    assert fresh.mode == "full"
    full = index_for(tmp_path / "full", fresh.store)
    assert index_rows(index_for(out, summary.store)) == index_rows(full)
    # (the first build's index was removed when the new one was made)
    assert [p.name for p in (out / INDEX_DIR).iterdir()] == [
        f"{summary.store}.v{INDEX_VERSION}.sqlite"
    ]
