"""Data files describe instances: a data file that retypes, relabels or otherwise describes an
ontology term, or declares a class or a property, is refused with the file, the line and column
of the offending triple's predicate, and what to do (rule: :func:`kgtools.load.schema_statement`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import OWL, RDF, RDFS, BNode, Graph, Literal, URIRef

from kgtools.cli import cli
from kgtools.errors import SchemaStatementError
from kgtools.load.fast import read_file
from kgtools.load.reference import load_files, parse_file
from kgtools.load.schema import schema_terms

ROOT = Path(__file__).resolve().parent.parent
PLAN = ROOT / "data/plans/131164-2021-toshima.ttl"
TIP = "https://w3id.org/tokyo-industry-plans/ontology#"


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_files([ROOT / "ontology/tip.ttl"])


def _n3(term: object) -> str:
    assert isinstance(term, URIRef | Literal)
    return term.n3()


def ontology_statements(ontology: Graph) -> list[str]:
    """One statement of the ontology per predicate and per rdf:type it uses, as a line of
    Turtle with full IRIs: every kind of statement the ontology makes."""
    seen: set[object] = set()
    lines = []
    for s, p, o in sorted(ontology, key=lambda t: tuple(map(str, t))):
        key = (p, o) if p == RDF.type else p
        if key in seen or isinstance(s, BNode) or isinstance(o, BNode):
            continue
        seen.add(key)
        lines.append(f"{_n3(s)} {_n3(p)} {_n3(o)} .")
    return lines


#: Schema statements about instances and new terms (subject, predicate, object as written).
HANDMADE = [
    ("tip:Plan", "a", "<http://www.w3.org/2002/07/owl#ObjectProperty>"),
    ("tip:Plan", "rdfs:label", '"計画（別名）"@ja'),
    ("tip:municipality", "rdfs:range", "tip:Plan"),
    ("<plan/131164/2021>", "rdfs:subClassOf", "tip:Plan"),
    ("<thing/x>", "a", "<http://www.w3.org/2002/07/owl#Class>"),
    ("<thing/x>", "a", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#Property>"),
    ("<thing/x>", "a", "rdfs:Class"),
    ("<thing/x>", "a", "rdfs:Datatype"),
    ("<thing/x>", "a", "<http://www.w3.org/2002/07/owl#Ontology>"),
    ("<thing/x>", "<http://www.w3.org/2002/07/owl#equivalentClass>", "tip:Plan"),
    ("<thing/x>", "<http://www.w3.org/2002/07/owl#inverseOf>", "tip:municipality"),
    ("<thing/x>", "rdfs:subPropertyOf", "tip:municipality"),
    ("<thing/x>", "rdfs:domain", "tip:Plan"),
    ("tip:NewClass", "a", "tip:Plan"),
    ("<https://w3id.org/tokyo-industry-plans/ontology>", "rdfs:comment", '"別の説明"@ja'),
    ("[]", "a", "<http://www.w3.org/2002/07/owl#Restriction>"),
]


def cases(ontology: Graph) -> list[tuple[str, str, int]]:
    """(name, text, column of the predicate) for statements on a line of their own."""
    found = [(f"handmade-{i}", " ".join(t) + " .", len(t[0]) + 2) for i, t in enumerate(HANDMADE)]
    for i, line in enumerate(ontology_statements(ontology)):
        found.append((f"ontology-{i}", line, line.index(" ") + 2))
    return found


def test_every_kind_of_ontology_statement_is_generated(ontology: Graph) -> None:
    statements = ontology_statements(ontology)
    predicates = {line.split(" ")[1] for line in statements}
    assert {RDFS.subClassOf.n3(), RDFS.label.n3(), RDFS.domain.n3(), RDFS.range.n3()} <= predicates
    types = {line.split(" ")[2] for line in statements if line.split(" ")[1] == RDF.type.n3()}
    assert {OWL.Class.n3(), OWL.ObjectProperty.n3(), OWL.DatatypeProperty.n3()} <= types
    assert len(statements) >= 10


@pytest.mark.parametrize("where", ["end", "middle"])
def test_schema_statements_in_a_data_file_are_refused_where_written(
    ontology: Graph, tmp_path: Path, where: str
) -> None:
    schema = schema_terms(ontology)
    lines = PLAN.read_text(encoding="utf-8").split("\n")
    at = len(lines) - 1 if where == "end" else lines.index("", 40)  # after a statement
    target = tmp_path / PLAN.name
    checked = 0
    for name, statement, column in cases(ontology):
        target.write_text("\n".join([*lines[:at], statement, *lines[at:]]), encoding="utf-8")
        for reader in (
            lambda: read_file(target, schema=schema),
            lambda: parse_file(target, Graph(), schema=schema),
        ):
            with pytest.raises(SchemaStatementError, match="data files describe instances") as e:
                reader()
            assert (e.value.location.line, e.value.location.column) == (at + 1, column), name
            assert f"{target}:{at + 1}:{column}: a schema statement in a data file" in str(e.value)
        checked += 1
    assert checked >= 25


def test_a_schema_predicate_inside_an_instance_statement_is_located(
    ontology: Graph, tmp_path: Path
) -> None:
    text = PLAN.read_text(encoding="utf-8")
    lines = text.split("\n")
    number = lines.index("    tip:ordinal 1 ;")
    lines[number] = "    tip:ordinal 1 ; rdfs:subClassOf tip:Plan ;"
    target = tmp_path / PLAN.name
    target.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SchemaStatementError) as info:
        read_file(target, schema=schema_terms(ontology))
    column = lines[number].index("rdfs:subClassOf") + 1
    assert (info.value.location.line, info.value.location.column) == (number + 1, column)


def test_instance_statements_with_owl_and_rdfs_terms_are_accepted(
    ontology: Graph, tmp_path: Path
) -> None:
    target = tmp_path / PLAN.name
    extra = (
        "<plan/131164/2021> <http://www.w3.org/2002/07/owl#sameAs> <plan/131164/2021> .\n"
        "<thing/x> a <http://www.w3.org/2002/07/owl#NamedIndividual> , tip:Plan ;\n"
        '    rdfs:label "もの"@ja ; rdfs:comment "tip:Plan a owl:Class"@en .\n'
    )
    target.write_text(PLAN.read_text(encoding="utf-8") + extra, encoding="utf-8")
    schema = schema_terms(ontology)
    assert read_file(target, schema=schema)
    parse_file(target, Graph(), schema=schema)


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "pyshacl"])
def test_kg_validate_refuses_a_relabelled_class(tmp_path: Path, reference: bool) -> None:
    target = tmp_path / PLAN.name
    target.write_text(
        PLAN.read_text(encoding="utf-8") + 'tip:Plan rdfs:label "計画書"@ja .\n', encoding="utf-8"
    )
    line = len(PLAN.read_text(encoding="utf-8").split("\n"))
    args = ["--project", str(ROOT), "validate", *(["--pyshacl"] if reference else []), str(target)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert f"error: {target}:{line}:10: a schema statement in a data file" in result.output
    assert "Traceback" not in result.output


def test_build_refuses_a_schema_statement_in_full_and_incremental_builds(tmp_path: Path) -> None:
    import shutil

    from kgtools.build.pipeline import build
    from kgtools.project import Project

    root = tmp_path / "project"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "queries", root / "queries")
    project = Project(root)
    plan = root / "data/plans" / PLAN.name
    original = plan.read_text(encoding="utf-8")
    line = len(original.split("\n"))
    bad = original + "tip:Plan a <http://www.w3.org/2002/07/owl#ObjectProperty> .\n"
    plan.write_text(bad, encoding="utf-8")
    with pytest.raises(SchemaStatementError) as info:
        build(project, tmp_path / "dist")
    assert (info.value.location.path, info.value.location.line) == (plan, line)
    plan.write_text(original, encoding="utf-8")
    assert build(project, tmp_path / "dist").mode == "full"
    plan.write_text(bad, encoding="utf-8")
    with pytest.raises(SchemaStatementError) as info:
        build(project, tmp_path / "dist")
    assert (info.value.location.line, info.value.location.column) == (line, 10)
