"""The competency-question queries (queries/cq/) answer as the hand-checked oracles say.

Each ``queries/cq/<name>.rq`` runs once over the built graph (asserted + inferred) with the
parameters in ``tests/queries/<name>.params.json`` (if any), and its rows must equal
``tests/queries/<name>.srj`` (SPARQL 1.1 Query Results JSON) as a multiset. A literal that holds
" | " (a ``GROUP_CONCAT``) is compared as the set of its parts, because SPARQL does not fix the
order inside a group. The oracles were checked by hand against the source document.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Hashable
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.query import Result
from rdflib.term import Node

from kgtools.namespaces import graphs_for
from kgtools.project import Project
from kgtools.query.library import QueryLibrary, load_query, parse_header
from kgtools.query.params import parse_param
from kgtools.query.results import display
from kgtools.query.run import run
from kgtools.reference.memory import MemoryStore

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "queries"
CQ = QUERIES / "cq"
EXPECTED = Path(__file__).resolve().parent / "queries"
CQ_NAMES = sorted(p.stem for p in CQ.glob("*.rq"))
SEPARATOR = " | "
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
LATIN = re.compile(r"[A-Za-z]")
XSD_TOKEN = URIRef("http://www.w3.org/2001/XMLSchema#token")


@pytest.fixture(scope="session")
def library(project: Project) -> QueryLibrary:
    return QueryLibrary(project.queries_dir)


def _params(name: str) -> dict[str, Node]:
    path = EXPECTED / f"{name}.params.json"
    if not path.is_file():
        return {}
    values = json.loads(path.read_text(encoding="utf-8"))
    return dict(parse_param(f"{key}={value}") for key, value in values.items())


def _cell(term: Node | None) -> Hashable:
    if isinstance(term, Literal) and SEPARATOR in str(term):
        return ("parts", frozenset(str(term).split(SEPARATOR)), term.language, term.datatype)
    return term


Row = tuple[Hashable, ...]


def _multiset(variables: list[str], rows: list[dict[str, Node | None]]) -> Counter[Row]:
    return Counter(tuple(_cell(row.get(v)) for v in variables) for row in rows)


def _show(rows: Counter[Row]) -> list[str]:
    def one(cell: Hashable) -> str:
        if isinstance(cell, tuple):
            return SEPARATOR.join(sorted(cell[1]))
        return display(cell) if isinstance(cell, Node) or cell is None else str(cell)

    return sorted("; ".join(one(c) for c in row) for row in rows.elements())


def test_every_cq_query_has_an_expected_answer() -> None:
    assert len(CQ_NAMES) == 26, CQ_NAMES
    missing = [name for name in CQ_NAMES if not (EXPECTED / f"{name}.srj").is_file()]
    assert not missing, f"no expected answer in tests/queries/ for {missing}"
    orphans = sorted(
        p.name
        for p in EXPECTED.glob("*.json")
        if p.name.removesuffix(".params.json") not in CQ_NAMES
    )
    assert not orphans, f"params for no query: {orphans}"
    stray = sorted(p.name for p in EXPECTED.glob("*.srj") if p.stem not in CQ_NAMES)
    assert not stray, f"expected answers for no query: {stray}"


@pytest.mark.parametrize("name", CQ_NAMES)
def test_cq_query_answers_as_expected(name: str, store: MemoryStore, library: QueryLibrary) -> None:
    query = library.get(f"cq/{name}")
    result = run(store, query, _params(name), graphs=graphs_for(inferred=True), timeout=60.0)

    text = (EXPECTED / f"{name}.srj").read_text(encoding="utf-8")
    expected = Result.parse(io.StringIO(text), format="json")
    expected_vars = [str(v) for v in expected.vars or []]
    assert result.variables == expected_vars

    got_rows = result.records()
    want_rows: list[dict[str, Node | None]] = [
        {str(k): v for k, v in b.items()} for b in expected.bindings
    ]
    got = _multiset(expected_vars, got_rows)
    want = _multiset(expected_vars, want_rows)
    assert got == want, (
        f"{name}: unexpected rows {_show(got - want)}; missing rows {_show(want - got)}"
    )


@pytest.mark.parametrize(
    ("name", "plain", "variant"),
    [
        # a typed code works like a plain one (the query compares STR values)
        (
            "municipality",
            {"code": Literal("131172")},
            {"code": Literal("131172", datatype=XSD_TOKEN)},
        ),
        # search ignores case
        ("search", {"q": Literal("EC")}, {"q": Literal("ec")}),
    ],
)
def test_parameter_variants_give_the_same_answer(
    name: str,
    plain: dict[str, Node],
    variant: dict[str, Node],
    store: MemoryStore,
    library: QueryLibrary,
) -> None:
    query = library.get(f"cq/{name}")
    graphs = graphs_for(inferred=True)
    first = run(store, query, plain, graphs=graphs, timeout=60.0)
    second = run(store, query, variant, graphs=graphs, timeout=60.0)
    assert first.rows and sorted(map(str, first.rows)) == sorted(map(str, second.rows))


@pytest.mark.parametrize(
    "path", sorted(QUERIES.rglob("*.rq")), ids=lambda p: p.relative_to(QUERIES).as_posix()
)
def test_query_header(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    header = parse_header(text)
    title = header.get("title", "")
    ja, sep, en = title.partition(" / ")
    assert sep and JAPANESE.search(ja) and LATIN.search(en) and not JAPANESE.search(en), (
        f"{path.name}: the title must be '日本語 / English', got {title!r}"
    )
    assert header.get("description"), f"{path.name}: no '# description:'"
    assert "parameters" in header, f"{path.name}: no '# parameters:' line"
    query = load_query(path)
    if not query.parameters:
        assert header["parameters"].strip() == "none", (
            f"{path.name}: write '# parameters: none' or name each ?parameter"
        )
    for parameter in query.parameters:
        assert re.search(rf"[?$]{parameter}\b", query.body), (
            f"{path.name}: parameter ?{parameter} is not used in the query"
        )


AS_OF_QUERIES = sorted(
    name for name in CQ_NAMES if "?asOf" in (CQ / f"{name}.rq").read_text(encoding="utf-8")
)


def _in_force(period: Node | None, year: int) -> bool:
    first, _, last = str(period).removeprefix("FY").partition("–FY")
    return int(first) <= year <= int(last)


def test_as_of_is_offered_by_every_per_plan_query() -> None:
    assert len(AS_OF_QUERIES) == 14, AS_OF_QUERIES


@pytest.mark.parametrize("year", [2012, 2013, 2016, 2018, 2022, 2023, 2025, 2027])
@pytest.mark.parametrize("name", AS_OF_QUERIES)
def test_as_of_keeps_exactly_the_plans_in_force(
    name: str, year: int, store: MemoryStore, library: QueryLibrary
) -> None:
    """?asOf=Y answers as the query without it, less the rows of plans not in force in FY Y
    (their `period` FY{first}–FY{last} does not contain Y): the same rows, nothing else."""
    query = library.get(f"cq/{name}")
    graphs = graphs_for(inferred=True)
    given = _params(name)  # the query's other parameters (fiscal-year's ?fy), as in its oracle
    every = run(store, query, given, graphs=graphs, timeout=60.0)
    as_of = run(store, query, {**given, "asOf": Literal(str(year))}, graphs=graphs, timeout=60.0)
    assert as_of.variables == every.variables
    variables = every.variables
    want = [row for row in every.records() if _in_force(row["period"], year)]
    assert _multiset(variables, as_of.records()) == _multiset(variables, want)
