"""Each shape is tested both ways, DASH style.

Every ``tests/shapes/*.ttl`` holds small data (nodes that must pass and nodes that must fail) and
one ``dash:GraphValidationTestCase`` whose ``dash:expectedResult`` lists exactly the results the
shapes must produce: focus node, path, constraint component and severity. The data graph is the
case file plus the ontology and the shared data files; no inference, as in ``kg validate``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Node

from kgtools.namespaces import DASH
from kgtools.reference.pyshacl import validate
from kgtools.validation import ValidationReport

from .conftest import ROOT
from .references import References

CASES = sorted(p for p in (ROOT / "tests" / "shapes").glob("*.ttl"))
PATH_OPERATORS = {
    SH.inversePath: "^",
    SH.alternativePath: "|",
    SH.zeroOrMorePath: "*",
    SH.oneOrMorePath: "+",
    SH.zeroOrOnePath: "?",
}
ResultKey = tuple[Node | None, object, Node | None, Node | None]


def path_key(graph: Graph, path: Node | None) -> object:
    """A blank-node-free, hashable form of a SHACL property path."""
    if path is None or isinstance(path, URIRef):
        return path
    if (path, RDF.first, None) in graph:
        return ("/", *(path_key(graph, p) for p in Collection(graph, path)))
    for operator, symbol in PATH_OPERATORS.items():
        inner = graph.value(path, operator)
        if inner is not None:
            if operator == SH.alternativePath:
                return (symbol, *(path_key(graph, p) for p in Collection(graph, inner)))
            return (symbol, path_key(graph, inner))
    raise ValueError(f"unreadable path {path!r}")


def result_keys(graph: Graph, results: list[Node]) -> set[ResultKey]:
    return {
        (
            graph.value(r, SH.focusNode),
            path_key(graph, graph.value(r, SH.resultPath)),
            graph.value(r, SH.sourceConstraintComponent),
            graph.value(r, SH.resultSeverity),
        )
        for r in results
    }


def test_shape_cases_found() -> None:
    """Guard: the parametrized suite below must not silently shrink."""
    assert len(CASES) >= 20, [c.name for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_shape_case(case: Path, references: References) -> None:
    # Parsed with plain rdflib, not kgtools.load.checks: cases deliberately hold ill-typed literals
    # (e.g. "abc"^^xsd:positiveInteger) to test sh:datatype, which kg's loader would refuse.
    # pySHACL runs once per case and session: test_shacl_fast compares the same report.
    case_graph = references.case(case).graph
    test_cases = list(case_graph.subjects(RDF.type, DASH.GraphValidationTestCase))
    assert len(test_cases) == 1, "a case file holds exactly one dash:GraphValidationTestCase"
    expected_report = case_graph.value(test_cases[0], DASH.expectedResult)
    assert expected_report is not None
    expected_conforms = case_graph.value(expected_report, SH.conforms)
    expected = result_keys(case_graph, list(case_graph.objects(expected_report, SH.result)))

    report = references.case_report(case)
    actual = result_keys(report.graph, list(report.graph.subjects(RDF.type, SH.ValidationResult)))

    assert Literal(report.conforms) == expected_conforms
    missing, unexpected = expected - actual, actual - expected
    assert not missing and not unexpected, (
        f"expected but not reported: {sorted(map(str, missing))}\n"
        f"reported but not expected: {sorted(map(str, unexpected))}"
    )
    if expected_conforms == Literal(False):
        assert expected, "a failing case must list its results"
        assert any(str(s).endswith("/ok") or "/ok" in str(s) for s in case_graph.subjects()), (
            "a case with failing nodes also needs a passing node"
        )


def constraint_nodes(shapes: Graph) -> list[Node]:
    """Every property shape and SPARQL constraint: the places a message must be."""
    nodes = set(shapes.objects(None, SH.property)) | set(shapes.objects(None, SH.sparql))
    return sorted(nodes, key=str)


def test_every_constraint_has_a_japanese_and_an_english_message(shapes: Graph) -> None:
    nodes = constraint_nodes(shapes)
    assert len(nodes) > 50
    lacking = []
    for node in nodes:
        langs = {m.language for m in shapes.objects(node, SH.message) if isinstance(m, Literal)}
        if not {"ja", "en"} <= langs:
            lacking.append(node)
    assert not lacking, lacking


def test_every_node_shape_has_labels(shapes: Graph) -> None:
    node_shapes = set(shapes.subjects(RDF.type, SH.NodeShape))
    assert len(node_shapes) > 15
    for shape in node_shapes:
        langs = {m.language for m in shapes.objects(shape, RDFS.label) if isinstance(m, Literal)}
        assert {"ja", "en"} <= langs, shape


# -- every message in its own language, in both validators ---------------------------------------
def message_templates(shapes: Graph, shape: Node) -> dict[str, list[re.Pattern[str]]]:
    """The shape's own messages and those of its SPARQL constraints, by language, as patterns
    (``{?value}`` and the like stand for any text)."""
    found: dict[str, list[re.Pattern[str]]] = {}
    for node in (shape, *shapes.objects(shape, SH.sparql)):
        for m in shapes.objects(node, SH.message):
            assert isinstance(m, Literal) and m.language in ("ja", "en"), (node, m)
            parts = re.split(r"\{[?$]\w+\}", str(m))
            pattern = re.compile("(?s)" + ".+?".join(map(re.escape, parts)))
            found.setdefault(m.language, []).append(pattern)
    return found


def shapes_with_messages(shapes: Graph) -> set[Node]:
    """Every shape that reports with messages: not the value shapes used only inside another
    constraint (sh:not, sh:qualifiedValueShape, sh:node), whose results are not reported."""
    own = set(shapes.subjects(SH.message, None))
    sparql = {s for s, c in shapes.subject_objects(SH.sparql) if (c, SH.message, None) in shapes}
    inner = {
        o for p in (SH["not"], SH.qualifiedValueShape, SH.node) for o in shapes.objects(None, p)
    }
    return (own - set(shapes.objects(None, SH.sparql)) - inner) | sparql


@pytest.mark.parametrize("engine", ["fast", "pyshacl"])
def test_every_message_is_shown_in_its_language(
    engine: str, context: Graph, shapes: Graph, ontology: Graph
) -> None:
    """Under ``ja:`` the Japanese text of the shape, under ``en:`` the English, for every shape
    of shapes.ttl that has messages (read from the file: a new shape is covered at once) —
    SPARQL constraints included, whose language tags pySHACL drops. The case files' data is
    validated at once, and every shape with messages must fail somewhere in it. pySHACL (slow)
    gets the cases where a SPARQL constraint fails; tests/test_shacl_fast.py holds the two
    validators to the same results and messages elsewhere."""
    from kgtools.engine.shacl import validate_graphs

    def run(cases: list[Path], engine: str) -> ValidationReport:
        data = Graph()
        for case in cases:
            data.parse(case, format="turtle")
        # pySHACL takes seconds per thousand triples: it gets only the shared nodes the cases
        # point to (their fiscal years, municipalities …), the fast validator all of them
        wanted = set(data.objects()) if engine == "pyshacl" else None
        for triple in context:
            if wanted is None or triple[0] in wanted:
                data.add(triple)
        return (validate if engine == "pyshacl" else validate_graphs)(data, shapes, ontology)

    expected = shapes_with_messages(shapes)
    sparql = {s for s in expected if (s, SH.sparql, None) in shapes}
    assert len(expected) > 50 and sparql
    report = run(CASES, "fast")
    if engine == "pyshacl":
        failing = {r.focus for r in report.results if r.shape in sparql}
        cases = [c for c in CASES if any((f, None, None) in Graph().parse(c) for f in failing)]
        assert cases
        report, expected = run(cases, "pyshacl"), sparql
    text = report.text()
    shown = set()
    for r in report.results:
        assert r.shape is not None
        templates = message_templates(shapes, r.shape)
        for lang in ("ja", "en"):
            texts = r.texts(lang)
            assert texts, (r.shape, lang)
            for message in texts:
                assert any(p.fullmatch(message) for p in templates[lang]), (r.shape, lang, message)
                assert f"      {lang}: {message}\n" in text
        shown.add(r.shape)
    assert not expected - shown, sorted(map(str, expected - shown))
