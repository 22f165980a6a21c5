"""`kg diff`: what a later plan kept, dropped and added, per aspect, from a small test project.

The project is tests/fixtures/diff/ (synthetic test data, described in its README) beside copies
of the real ontology, shapes, queries and shared data files; it is built once for the module.
Expected answers are written out by hand below, per aspect. Cases today's shapes would refuse (a
plan known only by its approval; headings of two rounds with equal labels) are added to an
in-memory copy of the built graph.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from kgtools.api import open_graph
from kgtools.cli import cli
from kgtools.diff import (
    ASPECTS,
    CHANGES,
    GRAPHS,
    PlanDiff,
    diff_municipality,
    diff_plans,
    plan_iri,
    render,
)
from kgtools.namespaces import DATA_GRAPH, ID, TIP
from kgtools.project import find_project
from kgtools.store.oxigraph import OxigraphStore, named

from .conftest import ROOT, examples

FIXTURE = ROOT / "tests" / "fixtures" / "diff"
EARLIER = "plan/131067/2030"
LATER = "plan/131067/2033"

# Hand-checked against tests/fixtures/diff/ (its README has the same table): Japanese labels.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "headings": {
        "kept": {"多様な主体との連携を図る取組"},
        "dropped": {
            "感染症や災害などの発生による社会経済活動の大きな変化や社会構造の変革への対応に係る取組"
        },
        "added": {"(１)、(２)以外の取組"},
    },
    "initiatives": {
        "kept": {"試験用の交流会"},
        "dropped": {"試験用の見本市出展支援", "試験用のEC支援"},
        "added": {"試験用の相談会"},
    },
    "facilities": {
        "kept": {"試験用拠点"},  # the later plan names it only in a caption
        "dropped": {"試験用旧窓口"},
        "added": {"試験用新窓口"},
    },
    "programmes": {
        "kept": {"試験用ネットワーク事業"},
        "dropped": {"試験用見本市出展補助"},
        "added": {"試験用相談事業"},
    },
    "partner-kinds": {
        "kept": {"事業者"},
        "dropped": {"大学"},  # only through the earlier plan's partner group
        "added": {"金融機関"},
    },
    "themes": {
        "kept": {"ネットワーク構築"},
        "dropped": {"見本市", "EC"},
        "added": {"相談体制"},
    },
}


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diff-project")
    for folder in ("ontology", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copytree(FIXTURE / "data", root / "data")
    for name in ("sources.ttl", "local-governments.ttl", "concepts.ttl"):
        shutil.copy(ROOT / "data" / name, root / "data" / name)
    result = CliRunner().invoke(cli, ["--project", str(root), "build", "-o", str(root / "dist")])
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture(scope="module")
def store(fixture_project: Path) -> Iterator[OxigraphStore]:
    opened, _, stale = open_graph(find_project(fixture_project), fixture_project / "dist")
    assert stale is None
    yield opened
    opened.close()


def kg(project: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["--project", str(project), "diff", *args, "--out-dir", str(project / "dist")]
    )


def labels(diff: PlanDiff, aspect: str, change: str) -> set[str]:
    found = next(a for a in diff.aspects if a.aspect == aspect)
    return {i.ja or i.key for i in getattr(found, change)}


def test_expectations_cover_every_aspect_and_change() -> None:
    assert set(EXPECTED) == set(ASPECTS) and len(ASPECTS) == 6
    assert all(set(v) == set(CHANGES) for v in EXPECTED.values())


@pytest.mark.parametrize("change", CHANGES)
@pytest.mark.parametrize("aspect", ASPECTS)
def test_kept_dropped_added_per_aspect(store: OxigraphStore, aspect: str, change: str) -> None:
    diff = diff_plans(store, EARLIER, LATER)
    assert diff.comparable
    assert labels(diff, aspect, change) == EXPECTED[aspect][change]


@pytest.mark.parametrize("aspect", ASPECTS)
def test_reversed_order_swaps_dropped_and_added(store: OxigraphStore, aspect: str) -> None:
    forward = diff_plans(store, EARLIER, LATER)
    backward = diff_plans(store, LATER, EARLIER)
    assert labels(backward, aspect, "kept") == labels(forward, aspect, "kept")
    assert labels(backward, aspect, "dropped") == labels(forward, aspect, "added")
    assert labels(backward, aspect, "added") == labels(forward, aspect, "dropped")


def test_a_kept_initiative_names_its_iri_on_each_side(store: OxigraphStore) -> None:
    diff = diff_plans(store, EARLIER, LATER)
    initiatives = next(a for a in diff.aspects if a.aspect == "initiatives")
    (kept,) = initiatives.kept
    assert kept.earlier == (str(ID[EARLIER + "/initiative/1-1"]),)
    assert kept.later == (str(ID[LATER + "/initiative/1-1"]),)
    facilities = next(a for a in diff.aspects if a.aspect == "facilities")
    (hub,) = facilities.kept
    assert hub.key == str(ID["facility/131067/test-hub"]) == hub.earlier[0] == hub.later[0]


def test_municipality_compares_consecutive_plans(store: OxigraphStore) -> None:
    (pair,) = diff_municipality(store, "131067")
    assert (pair.earlier.iri, pair.later.iri) == (str(ID[EARLIER]), str(ID[LATER]))
    assert (pair.earlier.first_fiscal_year, pair.later.last_fiscal_year) == (2030, 2035)
    assert pair.as_json() == diff_plans(store, EARLIER, LATER).as_json()


@pytest.mark.parametrize(
    "spelling",
    [
        EARLIER,
        "/" + EARLIER,
        str(ID[EARLIER]),
        f"<{ID[EARLIER]}>",
        f"  <{ID[EARLIER]}>  ",
    ],
)
def test_plan_spellings(spelling: str) -> None:
    assert plan_iri(spelling) == ID[EARLIER]


def test_cli_json(fixture_project: Path, store: OxigraphStore) -> None:
    result = kg(fixture_project, EARLIER, LATER, "-f", "json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    (pair,) = answer["pairs"]
    assert pair["earlier"]["plan"] == str(ID[EARLIER]) and pair["comparable"] is True
    assert pair["later"]["title"] == "試験用計画 第2期"
    for aspect in ASPECTS:
        for change in CHANGES:
            got = {i["label"]["ja"] for i in pair["aspects"][aspect][change]}
            assert got == EXPECTED[aspect][change], (aspect, change)
    by_municipality = kg(fixture_project, "--municipality", "131067", "-f", "json")
    assert json.loads(by_municipality.stdout) == answer


def test_cli_table(fixture_project: Path) -> None:
    result = kg(fixture_project, EARLIER, LATER)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "台東区 試験用計画 第1期 (FY2030–FY2032) → 台東区 試験用計画 第2期 (FY2033–FY2035)"
    )
    rows = {
        tuple(cell.strip() for cell in line.strip("|").split("|")[:3])
        for line in lines
        if line.startswith("| ") and not line.startswith("| aspect")
    }
    want = {
        (aspect, change, label)
        for aspect, changes in EXPECTED.items()
        for change, found in changes.items()
        for label in found
    }
    assert rows == want
    assert lines[-1] == (
        "kept/dropped/added: headings 1/1/1, initiatives 1/2/1, facilities 1/1/1, "
        "programmes 1/1/1, partner-kinds 1/1/1, themes 1/2/1"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["plan/131067/1999", LATER],
            "unknown plan <https://w3id.org/tokyo-industry-plans/id/plan/131067/1999>",
        ),
        (
            [EARLIER, "plan/999999/2030"],
            "give one of plan/131067/2030, plan/131067/2033, plan/131172/2030",
        ),
        ([EARLIER, EARLIER], "both plans are"),
        (["--municipality", "999999"], "unknown municipality code '999999'"),
        (["--municipality", "131172"], "131172 (北区) has one plan in the graph"),
        ([EARLIER, "plan 131067"], "is not a plan IRI"),
        ([EARLIER], "give two plans"),
        ([EARLIER, LATER, "--municipality", "131067"], "not both"),
        ([], "give two plans"),
        ([EARLIER, LATER, "-f", "xml"], "'xml' is not one of 'table', 'json'"),
    ],
)
def test_errors_exit_2_with_a_clear_message(
    fixture_project: Path, args: list[str], message: str
) -> None:
    result = kg(fixture_project, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.text(max_size=40))
def test_any_unknown_plan_text_is_a_user_error(fixture_project: Path, text: str) -> None:
    result = (
        kg(fixture_project, "--", EARLIER, text)
        if text.startswith("-")
        else kg(fixture_project, EARLIER, text)
    )
    if result.exit_code == 0:  # the text named a plan after all
        assert plan_iri(text) in {ID[EARLIER], ID[LATER], ID["plan/131172/2030"]}
        return
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") or "Error:" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------ cases today's shapes would refuse


@pytest.fixture
def memory(store: OxigraphStore) -> Iterator[OxigraphStore]:
    """An in-memory copy of the built fixture graph, free to extend."""
    copy = OxigraphStore()
    for graph in GRAPHS:
        copy.add_ox(graph, store.triples_ox(graph))
    yield copy
    copy.close()


def test_a_plan_known_only_by_its_approval_is_not_compared(memory: OxigraphStore) -> None:
    plan = ID["plan/131067/2036"]
    memory.add(
        DATA_GRAPH,
        [
            (plan, RDF.type, TIP.Plan),
            (plan, TIP.municipality, ID["local-government/131067"]),
            (plan, TIP.hasApproval, ID["plan/131067/2036/approval"]),
        ],
    )
    pairs = diff_municipality(memory, "131067")
    assert [p.comparable for p in pairs] == [True, False]  # the unknown period sorts last
    last = pairs[-1]
    assert all(not getattr(a, c) for a in last.aspects for c in CHANGES)
    assert last.as_json()["comparable"] is False
    table = render([last], "table")
    assert f"not compared: <{plan}> is known only by its approval" in table
    assert "(title not known)" in table and "period not known" in table


def test_headings_of_two_rounds_match_by_label(memory: OxigraphStore) -> None:
    """Each round's overview has its own heading nodes: equal Japanese labels are one heading."""
    round_b = ID["heading/test-round-b/1"]
    label = "多様な主体との連携を図る取組"
    memory.add(
        DATA_GRAPH,
        [
            (round_b, RDF.type, TIP.Heading),
            (round_b, SKOS.prefLabel, Literal(label, lang="ja")),
            (round_b, RDFS.label, Literal(label, lang="ja")),
        ],
    )
    initiative = ID[LATER + "/initiative/1-1"]
    old_heading = [
        (q.subject, q.predicate, q.object)
        for q in memory.ox.quads_for_pattern(
            ox.NamedNode(str(initiative)), ox.NamedNode(str(TIP.heading)), None, named(DATA_GRAPH)
        )
    ]
    assert len(old_heading) == 1
    memory.remove_ox(DATA_GRAPH, old_heading)
    memory.add(DATA_GRAPH, [(initiative, TIP.heading, round_b)])
    diff = diff_plans(memory, EARLIER, LATER)
    headings = next(a for a in diff.aspects if a.aspect == "headings")
    (kept,) = [i for i in headings.kept if i.ja == label]
    assert kept.earlier == (str(ID["heading/fy2021/1"]),) and kept.later == (str(round_b),)
    assert URIRef(kept.later[0]) != URIRef(kept.earlier[0])


@pytest.mark.parametrize(
    "text",
    [
        "plan/%zz",
        "plan/a#b#c",
        "http://[x/plan",
        "plan/\x7f",
        "plan/ü/2030",
        "urn:",
        "<>",
        "\udc80",
    ],
)
def test_odd_plan_iris_are_user_errors(fixture_project: Path, text: str) -> None:
    result = kg(fixture_project, EARLIER, text)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")


def test_the_two_real_taito_plans(tmp_path: Path) -> None:
    """On the project's own data: 台東区's FY2015 plan and its FY2021 plan (the 2015 別紙 and the
    overview both name 台東デザイナーズビレッジ; only the 2015 plan runs 浅草ものづくり工房)."""
    args = ["--project", str(ROOT), "diff", "--municipality", "131067", "-f", "json"]
    result = CliRunner().invoke(cli, [*args, "--out-dir", str(tmp_path / "dist")])
    assert result.exit_code == 0, result.output
    (pair,) = json.loads(result.stdout)["pairs"]
    assert pair["earlier"]["plan"] == str(ID["plan/131067/2015"])
    assert pair["later"]["plan"] == str(ID["plan/131067/2021"])
    facilities = {
        change: {i["label"]["ja"] for i in pair["aspects"]["facilities"][change]}
        for change in CHANGES
    }
    assert facilities == {
        "kept": {"台東デザイナーズビレッジ"},
        "dropped": {"浅草ものづくり工房"},
        "added": set(),
    }
    headings = pair["aspects"]["headings"]
    assert len(headings["dropped"]) == 3 and len(headings["added"]) == 3  # (free ↔ fixed headings)
