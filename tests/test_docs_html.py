"""`kg docs`: the ontology, shapes and query-library pages — complete, offline, reproducible."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.docs import PAGES, TIPS, example_params, generate_docs, stable_rows
from kgtools.errors import DocsError
from kgtools.glyphs import covered, page_characters
from kgtools.namespaces import TIP, graphs_for
from kgtools.project import Project
from kgtools.query.library import QueryLibrary, query_from_text
from kgtools.query.results import QueryResult
from kgtools.query.run import run
from kgtools.store.base import Store

from .test_glyphs import _check_page, _embedded, _without_face

PROPERTY_TYPES = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


@pytest.fixture(scope="module")
def docs(project: Project, store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    written = generate_docs(project, store, out)
    assert [p.name for p in written] == list(PAGES)
    return out


def page(docs: Path, name: str) -> str:
    return (docs / name).read_text(encoding="utf-8")


def text_of(fragment: str) -> str:
    """The text a reader sees: tags removed, character references decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def section(source: str, anchor: str) -> str:
    match = re.search(
        rf'<section[^>]*\bid="{re.escape(anchor)}"[^>]*>(.*?)</section>', source, re.S
    )
    assert match, f"no section #{anchor}"
    return match.group(1)


def own_terms(graph: Graph, *types: URIRef) -> list[URIRef]:
    return sorted(
        {
            s
            for t in types
            for s in graph.subjects(RDF.type, t)
            if isinstance(s, URIRef) and s.startswith(str(TIP))
        }
    )


def literal(graph: Graph, subject: URIRef, predicate: URIRef, lang: str) -> str:
    values = [o for o in graph.objects(subject, predicate) if getattr(o, "language", None) == lang]
    assert values, f"{subject} has no {predicate} @{lang}"
    return str(values[0])


def qname(iri: URIRef) -> str:
    return "tip:" + iri[len(str(TIP)) :]


# -- pages ----------------------------------------------------------------------------------------
def test_four_pages_and_an_index_linking_the_others(docs: Path) -> None:
    for name in PAGES:
        assert page(docs, name).startswith("<!DOCTYPE html>")
    index = page(docs, "index.html")
    for name in ("ontology.html", "shapes.html", "queries.html"):
        assert f'href="{name}"' in index


# -- ontology -------------------------------------------------------------------------------------
def term_entry(source: str, ontology: Graph, term: URIRef, anchor: str) -> str:
    """The text of ``term``'s entry on the ontology page (its section ``anchor`` + local name),
    which must name it and give its label and definition in both languages."""
    text = text_of(section(source, anchor + term[len(str(TIP)) :]))
    assert qname(term) in text
    for lang in ("ja", "en"):
        assert literal(ontology, term, RDFS.label, lang) in text, (term, lang)
        assert literal(ontology, term, SKOS.definition, lang) in text, (term, lang)
    return text


def test_every_class_with_ja_and_en_label_and_definition(docs: Path, ontology: Graph) -> None:
    source = page(docs, "ontology.html")
    classes = own_terms(ontology, OWL.Class)
    assert len(classes) >= 25
    for cls in classes:
        text = term_entry(source, ontology, cls, "class-")
        for parent in ontology.objects(cls, RDFS.subClassOf):
            if isinstance(parent, URIRef) and parent.startswith(str(TIP)):
                assert qname(parent) in text, (cls, parent)


def test_every_property_with_labels_domain_range_inverse_and_chains(
    docs: Path, ontology: Graph
) -> None:
    source = page(docs, "ontology.html")
    properties = own_terms(ontology, *PROPERTY_TYPES)
    assert len(properties) >= 40
    for prop in properties:
        text = term_entry(source, ontology, prop, "prop-")
        related = [
            *ontology.objects(prop, RDFS.domain),
            *ontology.objects(prop, RDFS.range),
            *ontology.objects(prop, RDFS.subPropertyOf),
            *ontology.objects(prop, OWL.inverseOf),
            *ontology.subjects(OWL.inverseOf, prop),
        ]
        for node in related:
            union = ontology.value(node, OWL.unionOf)
            members = [node] if union is None else list(ontology.items(union))
            for member in members:
                if isinstance(member, URIRef) and member.startswith(str(TIP)):
                    assert qname(member) in text, (prop, member)
        for chain in ontology.objects(prop, OWL.propertyChainAxiom):
            steps = " / ".join(qname(step) for step in ontology.items(chain))
            assert re.search(re.escape(steps) + r"\s*⇒", " ".join(text.split())), (prop, steps)


def test_union_domains_are_written_as_unions(docs: Path) -> None:
    text = " ".join(text_of(section(page(docs, "ontology.html"), "prop-theme")).split())
    assert "tip:Initiative ∪ tip:Plan" in text


# -- shapes ---------------------------------------------------------------------------------------
def test_every_shape_with_its_labels_and_messages(docs: Path, shapes: Graph) -> None:
    source = page(docs, "shapes.html")
    text = " ".join(text_of(source).split())
    named = {
        s
        for t in (SH.NodeShape, SH.PropertyShape, SH.SPARQLConstraint)
        for s in shapes.subjects(RDF.type, t)
        if isinstance(s, URIRef)
    }
    assert len(named) > 100
    for shape in named:
        local = shape[len(str(TIPS)) :]
        assert f"tips:{local}" in text, shape
        kind = (
            "shape"
            if (shape, RDF.type, SH.NodeShape) in shapes
            else "pshape"
            if (shape, RDF.type, SH.PropertyShape) in shapes
            else "sparql"
        )
        assert source.count(f'id="{kind}-{local}"') == 1, shape
        for label in shapes.objects(shape, RDFS.label):
            assert " ".join(str(label).split()) in text, (shape, label)
    messages = [m for m in shapes.objects(None, SH.message) if isinstance(m, Literal)]
    assert {m.language for m in messages} == {"ja", "en"}
    for message in messages:
        assert " ".join(str(message).split()) in text, message


def test_node_shapes_show_targets_and_property_paths(docs: Path) -> None:
    text = " ".join(text_of(section(page(docs, "shapes.html"), "shape-ApprovalShape")).split())
    assert "sh:targetClass tip:Approval" in text
    assert re.search(r"\^\s*tip:hasApproval", text)  # an inverse path in SPARQL syntax
    assert "sh:minCount 1" in text


# -- queries --------------------------------------------------------------------------------------
def test_every_query_with_title_text_and_current_answer(
    docs: Path, project: Project, store: Store
) -> None:
    source = page(docs, "queries.html")
    library = QueryLibrary(project.queries_dir)
    answered = 0
    for name in library.names():
        query = library.get(name)
        anchor = "q-" + re.sub(r"[^A-Za-z0-9_-]", "-", name)
        part = section(source, anchor)
        text = " ".join(text_of(part).split())
        assert " ".join(query.title.split()) in text, name
        texts = [html.unescape(pre) for pre in re.findall(r"<pre>(.*?)</pre>", part, re.S)]
        assert query.text in texts, f"{name}: the SPARQL text is not shown verbatim"
        asked = set(query.parameters) - query.languages  # ?lang: bound by the tool
        params = example_params(project, name) if asked else {}
        if params is None and asked <= query.optional:
            params = {}  # only optional parameters: answered without them
        if params is None:
            assert "needs-parameters" in part, name
            assert 'class="results"' not in part, name
            continue
        result = run(store, query, params, graphs=graphs_for(inferred=True))
        if result.kind != "SELECT":
            continue
        table = re.search(
            r'<table class="results"[^>]*data-rows="(\d+)"[^>]*>(.*?)</table>', part, re.S
        )
        assert table, f"{name}: no results table"
        body = re.search(r"<tbody>(.*?)</tbody>", table.group(2), re.S)
        assert body is not None
        assert body.group(1).count("<tr") == len(result.rows), name
        assert int(table.group(1)) == len(result.rows), name
        answered += 1
    assert answered >= len(library.names()) // 2


def test_parameterised_query_uses_the_example_values(docs: Path, project: Project) -> None:
    folder = project.root / "tests" / "queries"
    examples = sorted(folder.glob("*.params.json"))
    assert examples, "the parameterised library queries need example parameter files"
    source = page(docs, "queries.html")
    for path in examples:
        values = json.loads(path.read_text(encoding="utf-8"))
        for key, value in values.items():
            assert f"--param {key}={value}" in html.unescape(source), path


def test_ties_under_order_by_get_a_fixed_order() -> None:
    query = query_from_text("SELECT ?a ?b WHERE { ?a ?p ?b } ORDER BY DESC(?a)", Path("t.rq"))
    a1, a2 = Literal("2"), Literal("1")
    rows = [(a1, Literal("z")), (a1, Literal("y")), (a2, Literal("x")), (a2, Literal("w"))]
    ordered, _ = stable_rows(query, QueryResult("SELECT", ["a", "b"], list(rows)))
    assert [str(b) for _, b in ordered] == ["y", "z", "w", "x"]
    unordered = query_from_text("SELECT ?a ?b WHERE { ?a ?p ?b }", Path("t.rq"))
    ordered, note = stable_rows(unordered, QueryResult("SELECT", ["a", "b"], list(rows)))
    assert [str(b) for _, b in ordered] == ["w", "x", "y", "z"] and note


def test_malformed_example_parameters_are_a_typed_error(tmp_path: Path) -> None:
    folder = tmp_path / "tests" / "queries"
    folder.mkdir(parents=True)
    (folder / "plans.params.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DocsError, match=r"plans\.params\.json"):
        example_params(Project(tmp_path), "cq/plans")


# -- offline, reproducible, CLI --------------------------------------------------------------------
def test_nothing_is_loaded_or_linked_from_another_host(docs: Path) -> None:
    for name in PAGES:
        source = page(docs, name)
        targets = re.findall(r"""\b(?:src|href|action|srcset)\s*=\s*["']?([^"'\s>]+)""", source)
        assert targets or name != "index.html"
        for target in targets:
            assert not re.match(r"(?i)^(https?:)?//", target), f"{name}: {target}"
        assert not re.search(r"(?i)<script[^>]*\bsrc=", source), name
        assert not re.search(r"(?i)<link[^>]*\bstylesheet", source), name
        assert not re.search(r"(?i)(@import|url\()\s*['\"]?(https?:)?//", source), name


def test_cli_writes_byte_identical_pages(
    docs: Path, project: Project, built: tuple[Path, BuildSummary]
) -> None:
    out, _ = built
    result = CliRunner().invoke(
        cli, ["--project", str(project.root), "docs", "--out-dir", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "kg docs: wrote" in result.output
    for name in PAGES:  # the default folder is OUT_DIR/docs; a second run gives the same bytes
        assert (out / "docs" / name).read_bytes() == (docs / name).read_bytes(), name


def test_cli_help_documents_every_option() -> None:
    result = CliRunner().invoke(cli, ["docs", "--help"])
    assert result.exit_code == 0
    assert "--output-dir" in result.output and "--out-dir" in result.output
    assert "offline" in result.output


# -- the Japanese glyphs are embedded (kgtools.glyphs; helpers in test_glyphs.py) -------------
def test_docs_pages_embed_their_japanese_characters(docs: Path) -> None:
    pages = sorted(docs.glob("*.html"))
    assert len(pages) == len(PAGES) == 4
    for path in pages:
        page = path.read_text(encoding="utf-8")
        _, cmap = _embedded(page)
        wanted = {ord(c) for c in page_characters(_without_face(page), covered())}
        assert cmap == wanted, path.name
        assert ord("型") in cmap or path.name != "ontology.html"


@pytest.mark.browser
def test_docs_page_draws_every_japanese_glyph(docs: Path, tmp_path: Path) -> None:
    _check_page((docs / "index.html").read_text(encoding="utf-8"), tmp_path, "index.html")
