"""Patching the search index (what an incremental build does, kgtools.build.search_patch): for
families of small graphs and changes to them (triples added, removed or moved between the data
and inferred graphs: texts, types, plans' links, municipalities, codes, periods and years), the
last index patched with the change holds the same rows in the same order, and answers the same
searches, as an index made whole from the changed graphs — also when the row ids leave no gap
(every insert then widens a window). The rows of some entities (``rows_for``) are those that
``rows_from`` makes for them."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kgtools import search
from kgtools.build import search_patch
from kgtools.engine import vocab
from kgtools.engine.terms import MemoryIndex, OxTriple
from kgtools.namespaces import ID, TIP
from kgtools.search import SearchIndex, index_bytes, rank_key, rows_for, rows_from

from .conftest import examples
from .test_search_rows import PLAN_TRIPLES, TEXT, triples

#: Searches run on both indexes (texts of the generated graphs, and parts of them).
QUERIES = [
    "北区",
    "観光",
    "tourism",
    "kita",
    "フェア",
    "さんぎょう",
    "2021",
    "fy2021",
    "131172",
    "ec",
    "2回",
]

_placed = st.tuples(st.sampled_from(range(3)), triples)
_planned = st.tuples(st.sampled_from(range(3)), st.sampled_from(PLAN_TRIPLES))
_graph = st.lists(st.one_of(_planned, _planned, _placed), max_size=30)


def _graphs(placed: list[tuple[int, OxTriple]]) -> list[MemoryIndex]:
    graphs = [MemoryIndex(), MemoryIndex(), MemoryIndex()]
    for g, triple in placed:
        graphs[g].add(triple)
    return graphs


def _texts(path: Path) -> list[tuple[object, ...]]:
    """The index's rows in row-id order without the ids, its texts, what its full-text table
    holds and its ``meta`` table (:func:`kgtools.search.index_rows`)."""
    return search.index_rows(path)


def _answers(path: Path) -> list[list[search.Hit]]:
    index = SearchIndex(path)
    try:
        return [index.search(q, limit=None) for q in QUERIES] + [
            index.search(q, limit=1, lang="ja") for q in QUERIES
        ]
    finally:
        index.close()


def _new_file(path: Path, data: bytes = b"") -> Path:
    """``path`` as a new file holding ``data``: a new inode, as a build writes every index (an
    empty patch makes the new index a hard link to the old one, which writing the old name in
    place would change too)."""
    path.unlink(missing_ok=True)
    path.write_bytes(data)
    return path


def _patch_and_compare(
    tmp_path: Path, before: list[MemoryIndex], after: list[MemoryIndex]
) -> search_patch.Patch | None:
    old = _new_file(tmp_path / "old.sqlite", index_bytes(rows_from(before, before[1])))
    delta = {t for b, a in zip(before, after, strict=True) for t in set(b) ^ set(a)}
    patch = search_patch.plan(delta, before, before[1], after, after[1])
    whole = tmp_path / "whole.sqlite"
    whole.write_bytes(index_bytes(rows_from(after, after[1])))
    if patch is None:  # the indexed properties changed: no patch
        assert search.text_properties(search.GraphUnion(before)) != search.text_properties(
            search.GraphUnion(after)
        )
        return None
    new = _new_file(tmp_path / "new.sqlite")  # (StagedFiles hands over a new empty file)
    assert search_patch.patched(old, patch)(new)
    assert _texts(new) == _texts(whole)
    assert _answers(new) == _answers(whole)
    ids = [r[0] for r in sqlite3.connect(new).execute("SELECT id FROM texts ORDER BY id")]
    assert len(set(ids)) == len(ids) and all(0 < i <= search.MAX_ROWID for i in ids)
    return patch


@pytest.mark.parametrize("spacing", [1, 2, search.SPACING])
@settings(
    max_examples=examples(150),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    start=_graph,
    removed=st.lists(st.integers(0, 29), max_size=6),
    added=st.lists(st.one_of(_planned, _placed), max_size=6),
    moved=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(range(3))), max_size=3),
)
def test_a_patched_index_equals_one_made_whole(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spacing: int,
    start: list[tuple[int, OxTriple]],
    removed: list[int],
    added: list[tuple[int, OxTriple]],
    moved: list[tuple[int, int]],
) -> None:
    monkeypatch.setattr(search, "SPACING", spacing)
    end = list(start)
    for i, g in moved:
        if i < len(end):
            end[i] = (g, end[i][1])
    end = [t for i, t in enumerate(end) if i not in removed] + added
    _patch_and_compare(tmp_path, _graphs(start), _graphs(end))


def _n(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{ID}{name}")


def _t(name: str) -> ox.NamedNode:
    return ox.NamedNode(str(TIP) + name)


P1, P2, I1, I2, M1, M2, S1, S2, Y1, Y2, Y3, X, G = map(
    _n, ["p1", "p2", "i1", "i2", "m1", "m2", "s1", "s2", "y1", "y2", "y3", "x", "g"]
)
TYPE = vocab.RDF_TYPE
LABEL = vocab.RDFS_LABEL


def _ja(text: str) -> ox.Literal:
    return ox.Literal(text, language="ja")


def _en(text: str) -> ox.Literal:
    return ox.Literal(text, language="en")


def _plan(
    plan: ox.NamedNode,
    title: str,
    municipality: ox.NamedNode,
    span: ox.NamedNode,
    years: tuple[ox.NamedNode, ox.NamedNode],
    initiative: tuple[ox.NamedNode, ox.Literal],
) -> list[OxTriple]:
    """A plan with its title, municipality, period and an initiative with a label."""
    return [
        (plan, TYPE, vocab.PLAN),
        (plan, vocab.DCTERMS_TITLE, _ja(title)),
        (plan, vocab.MUNICIPALITY, municipality),
        (plan, vocab.PERIOD, span),
        (span, vocab.FIRST_FISCAL_YEAR, years[0]),
        (span, vocab.LAST_FISCAL_YEAR, years[1]),
        (initiative[0], TYPE, vocab.INITIATIVE),
        (initiative[0], vocab.PART_OF_PLAN, plan),
        (initiative[0], LABEL, initiative[1]),
    ]


def _ward(node: ox.NamedNode, code: str, name: str) -> list[OxTriple]:
    return [
        (node, TYPE, _t("SpecialWard")),
        (node, vocab.LOCAL_GOVERNMENT_CODE, ox.Literal(code)),
        (node, LABEL, _ja(name)),
    ]


#: Two plans in two municipalities, with periods that share a year, an initiative each, a
#: facility one mentions and an illustration of the other: every link a row depends on.
BASE: list[OxTriple] = [
    *_plan(P1, "北区の観光計画", M1, S1, (Y1, Y2), (I1, ox.Literal("Kita tourism", language="en"))),
    *_plan(P2, "大田区の計画", M2, S2, (Y1, Y3), (I2, _ja("観光の取組"))),
    *_ward(M1, "131172", "北区"),
    *_ward(M2, "131113", "大田区"),
    (M1, LABEL, _en("Kita City")),  # (a row shows its municipality's name in its language)
    (Y1, vocab.YEAR, ox.Literal("2021")),
    (Y2, vocab.YEAR, ox.Literal("2023")),
    (Y3, vocab.YEAR, ox.Literal("2024")),
    (I1, TEXT, _ja("産業フェア")),
    (X, TYPE, _t("Facility")),
    (X, LABEL, _ja("北区の施設")),
    (P1, vocab.MENTIONS, X),
    (G, TYPE, _t("Illustration")),
    (G, LABEL, _ja("図")),
    (P2, vocab.HAS_ILLUSTRATION, G),
    (TEXT, TYPE, vocab.OWL_DATATYPE_PROPERTY),
    (TEXT, vocab.RDFS_RANGE, vocab.RDF_LANG_STRING),
]
#: Triples a change may add: other labels (a municipality's name among them), codes,
#: municipalities, periods, years, plan links and types.
EXTRA: list[OxTriple] = [
    *[(m, LABEL, _ja(name)) for m, name in [(M1, "あ区"), (M1, "北区役所"), (M2, "大田")]],
    *[(m, LABEL, _en(name)) for m, name in [(M1, "Kita"), (M2, "Ota City")]],
    (I2, LABEL, _en("Ota tourism")),
    *[(m, vocab.LOCAL_GOVERNMENT_CODE, ox.Literal(c)) for m, c in [(M1, "131113"), (M2, "131199")]],
    *[(y, vocab.YEAR, ox.Literal(v)) for y, v in [(Y1, "2020"), (Y2, "FY2023")]],
    *[(p, vocab.MUNICIPALITY, m) for p, m in [(P1, M2), (P2, M1)]],
    (S1, vocab.LAST_FISCAL_YEAR, Y3),
    (S2, vocab.FIRST_FISCAL_YEAR, Y2),
    *[(p, vocab.PERIOD, span) for p, span in [(P2, S1), (P1, I2)]],
    *[(e, vocab.PART_OF_PLAN, p) for e, p in [(I1, P2), (M1, P1), (X, P1)]],
    (P2, vocab.MENTIONS, X),
    (P1, vocab.HAS_ILLUSTRATION, G),
    *[(e, TYPE, c) for e, c in [(X, vocab.PLAN), (I1, vocab.PLAN), (G, _t("Caption"))]],
    (I2, TYPE, ox.NamedNode("http://example.org/Other")),
    (I2, LABEL, _ja("観光の新しい取組")),
    (I1, TEXT, ox.Literal("EC サイト")),
]
_edit = st.one_of(
    st.tuples(st.just("remove"), st.integers(0, len(BASE) - 1), st.just(0)),
    st.tuples(st.just("add"), st.integers(0, len(EXTRA) - 1), st.integers(0, 2)),
    st.tuples(st.just("move"), st.integers(0, len(BASE) - 1), st.integers(0, 2)),
)


@settings(
    max_examples=examples(300),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=st.lists(st.tuples(st.integers(0, len(EXTRA) - 1), st.integers(0, 2)), max_size=3),
    edits=st.lists(_edit, min_size=1, max_size=4),
)
# a municipality's English label changed: its English rows are renamed (every run)
@example(first=[], edits=[("add", EXTRA.index((M1, LABEL, _en("Kita"))), 1)])
def test_edits_to_two_plans_are_patched_as_a_whole_index(
    tmp_path: Path,
    first: list[tuple[int, int]],
    edits: list[tuple[str, int, int]],
) -> None:
    start = [(1, t) for t in BASE] + [(g, EXTRA[i]) for i, g in first]
    end = list(start)
    for kind, i, g in edits:
        if kind == "add":
            end.append((g, EXTRA[i]))
        elif kind == "remove":
            end = [(h, t) for h, t in end if t != BASE[i]]
        else:
            end = [(g if t == BASE[i] else h, t) for h, t in end]
    _patch_and_compare(tmp_path, _graphs(start), _graphs(end))


def test_the_patch_is_what_changed(tmp_path: Path) -> None:
    """A label edited: one row out, one in (the rest of the index is not rewritten); the plan's
    period changed: every row of the plan's members."""
    before = _graphs([(1, t) for t in PLAN_TRIPLES])
    label = (PLAN_TRIPLES[4][0], PLAN_TRIPLES[4][1], ox.Literal("Kita fair", language="en"))
    after = _graphs([(1, t) for t in PLAN_TRIPLES if t != PLAN_TRIPLES[4]] + [(1, label)])
    patch = _patch_and_compare(tmp_path, before, after)
    assert patch is not None
    assert [r.text for r in patch.remove] == ["Kita tourism"]
    assert [r.text for r in patch.insert] == ["Kita fair"]
    year = PLAN_TRIPLES[-1]
    after = _graphs(
        [(1, t) for t in PLAN_TRIPLES if t != year] + [(1, (year[0], year[1], ox.Literal("2022")))]
    )
    patch = _patch_and_compare(tmp_path, before, after)
    assert patch is not None
    assert {r.entity for r in patch.insert} == {
        "https://w3id.org/tokyo-industry-plans/id/e0",
        "https://w3id.org/tokyo-industry-plans/id/e1",
    }
    assert {r.first for r in patch.insert} == {2022}


def test_a_patch_finds_the_texts_the_index_holds_and_adds_new_ones(tmp_path: Path) -> None:
    """Each text is stored once, under its first row's id: a row inserted with a text the index
    holds for another entity joins that text (found through its key's trigrams; an empty text,
    which has none, by itself), one with a new text adds it, and a text whose rows all go goes;
    before or after the text's first row."""
    initiative = _t("Initiative")
    shared, other = _ja("北区の観光"), _ja("ＥＣ（サイト）")
    before = _graphs(
        [(1, (e, TYPE, initiative)) for e in (I1, I2, X)]
        + [(1, (I1, LABEL, shared)), (1, (I2, LABEL, other)), (1, (X, LABEL, _ja("")))]
    )
    after = _graphs(
        [(1, (e, TYPE, initiative)) for e in (I1, I2, X, G, M1)]
        + [(1, (I1, LABEL, shared)), (1, (X, LABEL, _ja("")))]  # (I2's text gone)
        + [(1, (G, LABEL, shared)), (1, (M1, LABEL, _ja(""))), (1, (I2, LABEL, _ja("新しい")))]
    )
    patch = _patch_and_compare(tmp_path, before, after)
    assert patch is not None
    assert sorted(r.text for r in patch.insert) == ["", "北区の観光", "新しい"]


def test_a_change_that_reaches_no_row_keeps_the_last_index_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty patch: the new index is the last one's file itself (a hard link), or a copy of
    it where the file system makes no link; without the last index, or with a damaged one,
    there is none (as for a patch that is not empty)."""
    graphs = _graphs([(1, t) for t in PLAN_TRIPLES])
    old = _new_file(tmp_path / "old.sqlite", index_bytes(rows_from(graphs, graphs[1])))
    empty = search_patch.Patch()
    linked = _new_file(tmp_path / "linked.sqlite")
    assert search_patch.patched(old, empty)(linked)
    assert linked.samefile(old)

    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "no hard links on this file system")

    monkeypatch.setattr(search_patch.os, "link", no_links)
    copied = _new_file(tmp_path / "copied.sqlite")
    assert search_patch.patched(old, empty)(copied)
    assert not copied.samefile(old) and copied.read_bytes() == old.read_bytes()
    assert not search_patch.patched(tmp_path / "missing.sqlite", empty)(tmp_path / "x.sqlite")
    damaged = _new_file(tmp_path / "damaged.sqlite", b"not an index")
    assert not search_patch.patched(damaged, empty)(_new_file(tmp_path / "y.sqlite"))


def test_an_index_that_is_not_the_old_graphs_is_not_patched(tmp_path: Path) -> None:
    before = _graphs([(1, t) for t in PLAN_TRIPLES])
    after = _graphs([(1, t) for t in PLAN_TRIPLES if t != PLAN_TRIPLES[4]])
    old = tmp_path / "old.sqlite"
    old.write_bytes(index_bytes(rows_from(after, after[1])))  # not the index of `before`
    delta = set(before[1]) ^ set(after[1])
    patch = search_patch.plan(delta, before, before[1], after, after[1])
    assert patch is not None and patch.remove
    assert not search_patch.patched(old, patch)(tmp_path / "new.sqlite")
    assert not search_patch.patched(tmp_path / "missing.sqlite", patch)(tmp_path / "new.sqlite")


@settings(max_examples=examples(200), deadline=None)
@given(_graph)
def test_rows_for_entities_are_rows_from_the_whole_graph(
    placed: list[tuple[int, OxTriple]],
) -> None:
    graphs = _graphs(placed)
    whole = sorted(
        (r._replace(municipality="") for r in rows_from(graphs, graphs[1])), key=rank_key
    )
    subjects = {t[0] for g in graphs for t in g} | {t[2] for g in graphs for t in g}
    assert sorted(rows_for(subjects, graphs, graphs[1]), key=rank_key) == whole
