"""Degree statistics (kgtools.degree) equal the reference query network-degree.rq, and stay equal
to a full build's after incremental rebuilds; class counts likewise equal the store's query.

The synthetic project has more municipalities than VIEWS_MUNICIPALITY_LIMIT, so the build writes
``network/bipartite-degree.csv`` from kgtools.degree instead of drawing the views.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from kgtools import degree
from kgtools.build import ALL_GRAPHS, BuildSummary, build, class_counts
from kgtools.network import VIEWS_MUNICIPALITY_LIMIT
from kgtools.oxstore import OxigraphStore, named
from kgtools.project import Project
from kgtools.queries import load_query
from kgtools.synth import SynthSpec, generate
from kgtools.triples import StoreSource

QUERY = Path(degree.__file__).resolve().parent / "sparql" / "network-degree.rq"
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
    text = plans[1].read_text(encoding="utf-8")
    kinds = [line for line in text.splitlines() if "tip:involvesPartnerKind" in line]
    assert kinds, plans[1]
    _edit(plans[1], kinds[0], kinds[0].replace("tip:involvesPartnerKind", "# dropped:", 1))
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
