"""The reference answers' cache (tests/references.py) never hides a change: every input's
content and every library version is in the key, and a key is computed once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, Namespace
from rdflib.namespace import RDF, RDFS

from . import references
from .conftest import ROOT, examples
from .references import References, digest, owlrl_key

EX = Namespace("https://w3id.org/tokyo-industry-plans/test/")
SHAPES = """\
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://w3id.org/tokyo-industry-plans/test/> .
ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:message "名前がありません"@ja, "no name"@en ] .
"""
ONTOLOGY = """\
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <https://w3id.org/tokyo-industry-plans/test/> .
ex:Thing a owl:Class .
"""
PREFIX = "@prefix ex: <https://w3id.org/tokyo-industry-plans/test/> .\n"
SHARED = PREFIX + "ex:ok a ex:Thing ; ex:name 'x' .\n"
CASE = PREFIX + "ex:bad a ex:Thing .\n"


def test_parts_do_not_run_together() -> None:
    assert digest("ab", "c") != digest("a", "bc")
    assert digest("a") != digest("a", "")
    assert digest(b"x") == digest("x")


@pytest.fixture
def tiny(tmp_path: Path) -> References:
    """A References over small files of its own, which a test may change."""
    paths = {}
    for name, text in (
        ("shapes.ttl", SHAPES),
        ("tip.ttl", ONTOLOGY),
        ("shared.ttl", SHARED),
        ("case.ttl", CASE),
    ):
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    return References(
        paths["shapes.ttl"],
        paths["tip.ttl"],
        [paths["shared.ttl"]],
        Graph().parse(paths["shared.ttl"]),
        Graph().parse(paths["shapes.ttl"]),
        Graph().parse(paths["tip.ttl"]),
    )


@pytest.mark.parametrize("changed", ["shapes.ttl", "tip.ttl", "shared.ttl", "case.ttl"])
def test_changing_any_input_file_changes_the_case_key(
    tiny: References, tmp_path: Path, changed: str
) -> None:
    case = tmp_path / "case.ttl"
    before = tiny.case_key(case)
    assert tiny.case_key(case) == before  # the same bytes, the same key
    path = tmp_path / changed
    path.write_bytes(path.read_bytes() + b"\n")  # even a byte that changes no triple
    assert tiny.case_key(case) != before


def test_a_case_file_of_another_name_is_another_key(tiny: References, tmp_path: Path) -> None:
    other = tmp_path / "other.ttl"
    shutil.copyfile(tmp_path / "case.ttl", other)
    assert tiny.case_key(other) != tiny.case_key(tmp_path / "case.ttl")


def _another_version(monkeypatch: pytest.MonkeyPatch, library: str) -> None:
    """From now on, the keys see another installed version of ``library`` (the versions the
    package reads, with ``+1`` on that one's)."""
    real = references.versions

    def bumped(*names: str) -> str:
        return " ".join(
            part + ("+1" if part.startswith(f"{library}==") else "")
            for part in real(*names).split()
        )

    monkeypatch.setattr(references, "versions", bumped)


@pytest.mark.parametrize("library", ["pyshacl", "rdflib"])
def test_another_library_version_changes_the_case_key(
    tiny: References, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    case = tmp_path / "case.ttl"
    before = tiny.case_key(case)
    _another_version(monkeypatch, library)
    assert tiny.case_key(case) != before


def test_pyshacl_runs_once_per_case_and_again_after_a_change(
    tiny: References, tmp_path: Path
) -> None:
    case = tmp_path / "case.ttl"
    first = tiny.case_report(case)
    assert [str(r.focus) for r in first.results] == [str(EX.bad)]
    assert tiny.case_report(case) is first
    assert list(tiny.runs.values()) == [1]
    case.write_text(CASE.replace("ex:bad a ex:Thing", "ex:bad a ex:Thing ; ex:name 'y'"), "utf-8")
    second = tiny.case_report(case)
    assert second.results == [] and second.conforms
    assert list(tiny.runs.values()) == [1, 1]
    assert tiny.case(case).data is not tiny.case(tmp_path / "case.ttl").graph


def test_the_project_cases_are_keyed_by_their_own_files(references: References) -> None:
    cases = sorted((ROOT / "tests" / "shapes").glob("*.ttl"))
    assert len({references.case_key(c) for c in cases}) == len(cases)


def _graph(*triples: tuple) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def test_owlrl_key_follows_the_graph_not_its_blank_node_labels() -> None:
    a, b = BNode(), BNode()
    one = _graph((EX.x, RDF.type, EX.A), (EX.A, RDFS.subClassOf, a), (a, RDFS.label, Literal("l")))
    same = _graph((EX.x, RDF.type, EX.A), (EX.A, RDFS.subClassOf, b), (b, RDFS.label, Literal("l")))
    assert owlrl_key(one) == owlrl_key(same)
    changed = _graph(
        (EX.x, RDF.type, EX.A), (EX.A, RDFS.subClassOf, a), (a, RDFS.label, Literal("l", lang="ja"))
    )
    assert owlrl_key(changed) != owlrl_key(one)
    assert owlrl_key(_graph(*one, (EX.y, RDF.type, EX.A))) != owlrl_key(one)


@pytest.mark.parametrize("library", ["owlrl", "rdflib"])
def test_another_library_version_changes_the_owlrl_key(
    monkeypatch: pytest.MonkeyPatch, library: str
) -> None:
    graph = _graph((EX.x, RDF.type, EX.A))
    before = owlrl_key(graph)
    _another_version(monkeypatch, library)
    assert owlrl_key(graph) != before


class _Cache:
    """pytest's Cache as tests/references.py uses it: a folder per name."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def mkdir(self, name: str) -> Path:
        (self.root / name).mkdir(parents=True, exist_ok=True)
        return self.root / name


def test_owlrl_answers_are_read_back_from_the_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _Cache(tmp_path)
    graph = _graph(
        (EX.Ward, RDFS.subClassOf, EX.Government),
        (EX.taito, RDF.type, EX.Ward),
        (EX.taito, RDFS.label, Literal("台東区", lang="ja")),
    )
    first = references.owlrl_entailments(graph, cache)
    assert set(first) == {(EX.taito, RDF.type, EX.Government)}
    assert len(list((tmp_path / "kg-reference").glob("owlrl-*.nt"))) == 1

    def owlrl_must_not_run(_graph: Graph) -> None:
        raise AssertionError("owlrl ran although its answer was cached")

    monkeypatch.setattr(references.reason, "entailments", owlrl_must_not_run)
    assert set(references.owlrl_entailments(graph, None)) == set(first)  # the session's memo
    monkeypatch.setattr(references, "_COMPUTED", {})  # as in a new session: the cache dir only
    assert set(references.owlrl_entailments(graph, cache)) == set(first)
    graph.add((EX.kita, RDF.type, EX.Ward))  # a new input: a new key, so owlrl runs
    with pytest.raises(AssertionError, match="owlrl ran"):
        references.owlrl_entailments(graph, cache)


# -- rdflib's prepared queries (references.share_prepared_queries, installed for the session) -----
OTHER = Namespace("https://w3id.org/tokyo-industry-plans/test/other/")
#: a text no other test asks (the session's prepared queries are shared by every test)
NAMED = "# test_references\nSELECT ?s WHERE { ?s ex:name ?n } ORDER BY ?s"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text rdflib's SPARQL processor parses during the test."""
    from rdflib.plugins.sparql import processor

    seen: list[str] = []
    real = processor.parseQuery

    def counted(text: str) -> object:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(processor, "parseQuery", counted)
    return seen


@settings(max_examples=examples(40), deadline=None)
@given(names=st.lists(st.text(max_size=6), min_size=1, max_size=4), asked=st.text(max_size=6))
def test_a_query_text_is_parsed_once_and_answers_with_each_calls_bindings(
    names: list[str], asked: str
) -> None:
    from rdflib.plugins.sparql import processor

    graph = _graph(*((EX[f"n{i}"], EX.name, Literal(name)) for i, name in enumerate(names)))
    graph.add((EX.other, OTHER.name, Literal(asked)))
    real, parsed = processor.parseQuery, []
    processor.parseQuery = lambda text: parsed.append(text) or real(text)
    try:
        for value in [*names, asked]:
            rows = graph.query(NAMED, initNs={"ex": EX}, initBindings={"n": Literal(value)})
            expected = sorted(EX[f"n{i}"] for i, name in enumerate(names) if name == value)
            assert [row.s for row in rows] == expected  # type: ignore[union-attr]
        # other namespaces are another translation of the same text
        rows = graph.query(NAMED, initNs={"ex": OTHER}, initBindings={"n": Literal(asked)})
        assert [row.s for row in rows] == [EX.other]  # type: ignore[union-attr]
    finally:
        processor.parseQuery = real
    assert len(parsed) <= 2  # at most once per namespace mapping (none when an example ran it)


def test_another_base_is_another_prepared_query(parses: list[str]) -> None:
    graph = _graph((EX.a, RDF.type, EX.Thing), (OTHER.a, RDF.type, OTHER.Thing))
    text = "# test_references: base\nSELECT ?s WHERE { ?s a <Thing> }"
    assert [row.s for row in graph.query(text, base=str(EX))] == [EX.a]  # type: ignore[union-attr]
    assert [row.s for row in graph.query(text, base=str(OTHER))] == [OTHER.a]  # type: ignore[union-attr]
    assert [row.s for row in graph.query(text, base=str(EX))] == [EX.a]  # type: ignore[union-attr]
    assert parses == [text, text]


def test_a_text_that_does_not_parse_fails_on_every_call(parses: list[str]) -> None:
    from pyparsing import ParseException

    for _ in range(2):
        with pytest.raises(ParseException):
            Graph().query("# test_references: broken\nSELECT ?s WHERE {")
    assert len(parses) == 2
