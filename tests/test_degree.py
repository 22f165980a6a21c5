"""Degree statistics (kgtools.engine.degree) equal the reference query network-degree.rq, and stay
equal to a full build's after incremental rebuilds; class counts likewise equal the store's query.

The synthetic project has more municipalities than VIEWS_MUNICIPALITY_LIMIT, so the build writes
``network/bipartite-degree.csv`` from kgtools.engine.degree instead of drawing the views.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgtools.build.layout import BuildSummary, class_counts
from kgtools.build.pipeline import build
from kgtools.devtools.synth import SynthSpec, generate
from kgtools.engine import degree
from kgtools.engine.terms import StoreSource
from kgtools.namespaces import ALL_GRAPHS
from kgtools.network import VIEWS_MUNICIPALITY_LIMIT
from kgtools.project import Project
from kgtools.query.library import load_query, system_query_path
from kgtools.store.oxigraph import OxigraphStore, named

from .conftest import examples

QUERY = system_query_path("network-degree.rq")
CSV = "network/bipartite-degree.csv"


@pytest.fixture(scope="module")
def synthetic(project: Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic project with more municipalities than the views are drawn for, and its
    build (tests copy both before changing anything)."""
    root = tmp_path_factory.mktemp("degree") / "project"
    spec = SynthSpec(municipalities=VIEWS_MUNICIPALITY_LIMIT + 6, rounds=1, seed=11)
    generate(spec, root, source_project=project)
    out = root.parent / "dist"
    build(Project(root), out)
    return root, out


def _query_rows(store: OxigraphStore) -> list[tuple[str, str, int, int]]:
    query = load_query(QUERY)
    rows = store.query(query.prepared, {}, graphs=list(ALL_GRAPHS))
    return sorted((str(n), str(side), int(d), int(k)) for n, side, d, k in rows)  # type: ignore[misc]


def _csv_rows(path: Path) -> list[tuple[str, str, int, int]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["iri", "side", "degree", "links"]
        rows = [(iri, side, int(d), int(k)) for iri, side, d, k in reader]
    order = [(-k, -d, iri, side) for iri, side, d, k in rows]
    assert order == sorted(order), "most links first, then degree, then the node"
    return sorted(rows)


def _store(out: Path) -> OxigraphStore:
    manifest = json.loads((out / "build.json").read_text(encoding="utf-8"))
    return OxigraphStore(out / manifest["store"], read_only=True)


def test_real_data_table_equals_the_query(built: tuple[Path, BuildSummary]) -> None:
    store = _store(built[0])
    source = StoreSource(store.ox, [named(g) for g in ALL_GRAPHS])
    links = degree.table(source, degree.municipalities(source))
    ours = sorted((degree.value(n), side, d, k) for n, side, d, k in degree.rows(links))
    assert ours == _query_rows(store)
    assert ours, "the real graph has partner links"


def test_build_writes_the_query_answer_and_the_class_counts(synthetic: tuple[Path, Path]) -> None:
    root, out = synthetic
    summary = build(Project(root), out)  # reused: the manifest of the full build
    assert summary.mode == "reuse"
    assert summary.instances["tip:Municipality"] > VIEWS_MUNICIPALITY_LIMIT
    store = _store(out)
    assert _csv_rows(out / CSV) == _query_rows(store)
    assert summary.instances == class_counts(store)
    assert f"{CSV}" in summary.outputs


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _drop_partner_kind(path: Path) -> None:
    """Comment out the first partner kind a plan file names (a change to its links)."""
    kinds = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if "tip:involvesPartnerKind" in line
    ]
    assert kinds, path
    _edit(path, kinds[0], kinds[0].replace("tip:involvesPartnerKind", "# dropped:", 1))


def _built_copy(synthetic: tuple[Path, Path], tmp_path: Path) -> tuple[Project, Path, list[Path]]:
    """A copy of the synthetic project and of its build; its plan files."""
    root, out = tmp_path / "project", tmp_path / "dist"
    shutil.copytree(synthetic[0], root)
    shutil.copytree(synthetic[1], out)
    project = Project(root)
    assert build(project, out).mode == "reuse"
    return project, out, sorted((root / "data" / "plans").glob("*.ttl"))


def test_incremental_statistics_equal_a_full_build(
    synthetic: tuple[Path, Path], tmp_path: Path
) -> None:
    project, out, plans = _built_copy(synthetic, tmp_path)
    # a link target swapped, a partner kind dropped, and a whole plan removed
    _edit(plans[0], "tip:theme <theme/", "tip:theme <theme/sdgs> , <theme/")
    _drop_partner_kind(plans[1])
    plans[2].unlink()
    again = build(project, out)
    assert again.mode == "incremental"

    reference = tmp_path / "full"
    full = build(project, reference, force=True)
    assert (out / CSV).read_bytes() == (reference / CSV).read_bytes()
    assert again.instances == full.instances == class_counts(_store(out))
    assert (out / "cache" / degree.CACHE_FILE).read_bytes() == (
        reference / "cache" / degree.CACHE_FILE
    ).read_bytes()
    assert _csv_rows(out / CSV) == _query_rows(_store(out))


def test_damaged_caches(synthetic: tuple[Path, Path], tmp_path: Path) -> None:
    """A damaged degree cache is recounted from the store; damaged Turtle sections make the
    build a full one. Either way the result is a full build's."""
    project, out, plans = _built_copy(synthetic, tmp_path)
    reference = tmp_path / "full"

    (out / "cache" / degree.CACHE_FILE).write_text("{not json", encoding="utf-8")
    _edit(plans[0], "tip:theme <theme/", "tip:theme <theme/sdgs> , <theme/")
    assert build(project, out).mode == "incremental"
    build(project, reference, force=True)
    assert (out / CSV).read_bytes() == (reference / CSV).read_bytes()

    with (out / "asserted.ttl").open("ab") as handle:  # the file no longer matches its index
        handle.write(b"# edited by hand\n")
    _edit(plans[1], "tip:theme <theme/", "tip:theme <theme/sdgs> , <theme/")
    assert build(project, out).mode == "full"
    build(project, reference, force=True)
    for name in ("asserted.ttl", "inferred.ttl", CSV):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


@pytest.mark.parametrize(
    "awkward",
    # targets in N-Triples form: the values are a, b / say "hi" / two lines / empty / an IRI
    [None, '"a, b"', '"say \\"hi\\""', '"two\\nlines"', '""', "<https://example.org/a,b>"],
)
def test_csv_is_what_the_csv_module_writes(awkward: str | None) -> None:
    """The fast path (no value needs quoting) and the csv module's path give the same bytes,
    and an awkward value anywhere takes the csv module's path."""
    import io

    links: degree.Table = {
        "<https://example.org/m1>": {"<https://example.org/t1>": 2, '"7"': 1},
        "<https://example.org/m2>": {"<https://example.org/t1>": 1},
    }
    if awkward is not None:
        links["<https://example.org/m2>"][awkward] = 3
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["iri", "side", "degree", "links"])
    writer.writerows(degree._rows(links, values=True))
    assert degree.csv_bytes(links) == buffer.getvalue().encode("utf-8")
    assert list(csv.reader(io.StringIO(degree.csv_bytes(links).decode())))[1:] == [
        [v, s, str(d), str(n)] for v, s, d, n in degree._rows(links, values=True)
    ]


# -- the cache and the patched CSV (kgtools.engine.degree.Cache, patched_csv) ----------------------
_IRI = "<https://example.org/{}>"
tables = st.dictionaries(
    st.sampled_from([_IRI.format(f"m{i}") for i in range(6)]),
    st.dictionaries(
        # targets shared between municipalities, one of them also a municipality
        st.sampled_from([_IRI.format(f"t{i}") for i in range(8)] + [_IRI.format("m0")]),
        st.integers(min_value=1, max_value=4),
        min_size=1,
    ),
)


@settings(max_examples=examples(300), deadline=None)
@given(before=tables, after=tables)
def test_patched_csv_equals_the_csv_written_whole(
    before: degree.Table, after: degree.Table
) -> None:
    """Whatever counts some municipalities had and have (``{}``: none), the patched rows are
    the CSV written from the new table, byte for byte."""
    base: degree.Table = {_IRI.format("m5"): {_IRI.format("t0"): 2}}  # a municipality not changed
    old_table = {**base, **before}
    changes = {m: after.get(m, {}) for m in before.keys() | after.keys()}
    new_table = {**old_table, **changes}
    new_table = {m: c for m, c in new_table.items() if c}
    patched = degree.patched_csv(
        degree.csv_bytes(old_table), {m: old_table.get(m, {}) for m in changes}, changes
    )
    assert patched == degree.csv_bytes(new_table)


def test_patched_csv_refuses_what_it_cannot_patch() -> None:
    m, t, u = (_IRI.format(n) for n in ("m", "t", "u"))
    old = degree.csv_bytes({m: {t: 1}})
    assert degree.patched_csv(old, {m: {t: 1}}, {m: {t: 2}}) is not None
    # the CSV does not hold the rows the old counts imply
    assert degree.patched_csv(old, {m: {t: 3}}, {m: {t: 2}}) is None
    assert degree.patched_csv(old, {m: {}}, {m: {u: 1}}) is None
    # a changed node that is not an IRI (its value could be another node's)
    assert degree.patched_csv(old, {m: {t: 1}}, {m: {t: 1, '"t"': 1}}) is None
    # a value that needs quoting, in the old CSV or in a changed row
    quoted = degree.csv_bytes({m: {t: 1, '"a, b"': 1}})
    assert b'"' in quoted
    assert degree.patched_csv(quoted, {m: {t: 1, '"a, b"': 1}}, {m: {t: 2, '"a, b"': 1}}) is None
    comma = "<https://example.org/a,b>"
    assert degree.patched_csv(old, {m: {t: 1}}, {m: {t: 1, comma: 1}}) is None
    # not a CSV this module wrote
    assert degree.patched_csv(b"iri,side\n", {m: {t: 1}}, {m: {t: 2}}) is None
    assert degree.patched_csv(old.rstrip(b"\n"), {m: {t: 1}}, {m: {t: 2}}) is None


def test_rows_sort_level_rows_by_their_n_triples_form() -> None:
    """An IRI and a literal with the same value, side and numbers are ordered by N-Triples form
    whatever the table's order (so a build's CSV never depends on it)."""
    m1, m2 = _IRI.format("m1"), _IRI.format("m2")
    one = {m1: {"<x>": 1}, m2: {'"x"': 1}}
    two = {m2: {'"x"': 1}, m1: {"<x>": 1}}
    assert degree.rows(one) == degree.rows(two)
    assert degree.csv_bytes(one) == degree.csv_bytes(two)
    assert [n for n, *_ in degree.rows(one)][-2:] == ['"x"', "<x>"]


def test_cache_round_trip_and_replacement(tmp_path: Path) -> None:
    m1, m2, m3, t = (_IRI.format(n) for n in ("m1", "m2", "m3", "t"))
    links: degree.Table = {m2: {t: 2, '"lit\\n"': 1}, m1: {t: 1, "<https://例え.jp/\u2028>": 3}}
    csv = degree.csv_bytes(links)
    path = tmp_path / degree.CACHE_FILE
    path.write_bytes(degree.Cache.of(links, csv).to_bytes())
    cache = degree.Cache.load(path)
    assert cache is not None
    assert cache.table() == links and cache.csv == degree.digest(csv)
    assert cache.others == 1 and not cache.iris
    assert cache.counts(m3) == {}
    # replacing some municipalities' counts gives the bytes the new table gives
    changes: degree.Table = {m2: {t: 5}, m3: {t: 1}, m1: {}}
    new = {m2: {t: 5}, m3: {t: 1}}
    digest = degree.digest(degree.csv_bytes(new))
    replaced = cache.replaced(changes, digest)
    assert replaced.to_bytes() == degree.Cache.of(new, degree.csv_bytes(new)).to_bytes()
    assert replaced.iris


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: "{not json" + text,  # the header
        lambda text: text.replace('"others": 1', '"others": -1'),
        lambda text: text.replace('{"csv"', '{"sha"'),
        lambda text: text + '["<https://example.org/a>", {}]',  # no final newline
        lambda text: text + "[1, {}]\n",  # not a municipality
        lambda text: text + '["<https://example.org/a>",\n',  # a line that is not JSON
        lambda text: "\n".join([text.split("\n")[0], *reversed(text.split("\n")[1:-1]), ""]),
    ],
)
def test_a_cache_of_another_layout_is_not_read(tmp_path: Path, damage: Any) -> None:
    links: degree.Table = {_IRI.format("m1"): {'"x"': 1}, _IRI.format("m2"): {"<t>": 1}}
    path = tmp_path / degree.CACHE_FILE
    text = degree.Cache.of(links, None).to_bytes().decode()
    assert degree.Cache.load(path) is None  # none at all
    path.write_text(damage(text), encoding="utf-8")
    assert degree.Cache.load(path) is None


def test_a_damaged_line_is_found_when_it_is_read(tmp_path: Path) -> None:
    m1, m2 = _IRI.format("m1"), _IRI.format("m2")
    path = tmp_path / degree.CACHE_FILE
    text = degree.Cache.of({m1: {"<t>": 1}, m2: {"<t>": 2}}, None).to_bytes().decode()
    path.write_text(text.replace('{"<t>": 2}', '{"<t>": 0}'), encoding="utf-8")
    cache = degree.Cache.load(path)
    assert cache is not None and cache.counts(m1) == {"<t>": 1}
    with pytest.raises(degree.CacheError, match="m2"):
        cache.counts(m2)
    with pytest.raises(degree.CacheError):
        cache.table()


def test_incremental_build_patches_the_csv_and_falls_back_when_it_cannot(
    synthetic: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit patches the CSV's rows (no full sort); a CSV edited by hand, or a damaged line of
    the cache, is written whole again. Every time the files are a full build's."""
    project, out, plans = _built_copy(synthetic, tmp_path)
    reference = tmp_path / "full"
    patched: list[bytes | None] = []
    real = degree.patched_csv

    def spy(*args: Any) -> bytes | None:
        patched.append(real(*args))
        return patched[-1]

    monkeypatch.setattr(degree, "patched_csv", spy)

    def same_as_full() -> None:
        build(project, reference, force=True)
        for name in (CSV, f"cache/{degree.CACHE_FILE}"):
            assert (out / name).read_bytes() == (reference / name).read_bytes(), name

    _edit(plans[0], "tip:theme <theme/", "tip:theme <theme/sdgs> , <theme/")
    assert build(project, out).mode == "incremental"
    assert len(patched) == 1 and patched[0] is not None
    same_as_full()

    with (out / CSV).open("ab") as handle:  # no longer the CSV the cache was written with
        handle.write(b"edited,by,hand,1\n")
    _edit(plans[1], "tip:theme <theme/", "tip:theme <theme/sdgs> , <theme/")
    assert build(project, out).mode == "incremental"
    assert len(patched) == 1, "not patched: written whole"
    same_as_full()

    cache_file = out / "cache" / degree.CACHE_FILE
    lines = cache_file.read_text(encoding="utf-8").split("\n")
    lines[1:-1] = [line.replace("}]", ', "<x>": 0}]') for line in lines[1:-1]]
    cache_file.write_text("\n".join(lines), encoding="utf-8")
    _drop_partner_kind(plans[2])
    assert build(project, out).mode == "incremental"
    assert '"<x>": 0' not in cache_file.read_text(encoding="utf-8"), "counted again"
    same_as_full()
