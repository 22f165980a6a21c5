"""The search index's rows made in Python from triples in memory (``rows_from``, what a build
uses) against the SPARQL path over a store (``rows_of``, search-texts.rq and search-types.rq):
the same rows for families of small graphs that mix the shapes the queries read (plans reached
several ways, plans with two municipalities or periods, years that are not integers, blank
nodes, text properties declared in any graph), and for the real build, whose written index
holds them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
from hypothesis import given, settings
from hypothesis import strategies as st

from kgtools.build.layout import BuildSummary
from kgtools.engine import vocab
from kgtools.engine.terms import MemoryIndex, OxTriple
from kgtools.namespaces import DATA_GRAPH, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, TIP
from kgtools.search import (
    INDEX_DIR,
    ByPredicate,
    index_bytes,
    index_path,
    index_rows,
    rank_key,
    records,
    rows_from,
    rows_of,
    texts_from,
    type_names,
)
from kgtools.store.oxigraph import named

from .conftest import copy_built, examples, kg

GRAPHS = [named(g) for g in (ONTOLOGY_GRAPH, DATA_GRAPH, INFERRED_GRAPH)]
TEXT = ox.NamedNode(str(TIP) + "background")  # declared (or not) by the generated triples
NODES = [ox.NamedNode(f"{ID}e{i}") for i in range(5)] + [ox.BlankNode("b0")]
CLASSES = [
    vocab.PLAN,
    vocab.INITIATIVE,
    ox.NamedNode(str(TIP) + "SpecialWard"),
    ox.NamedNode("http://example.org/Other"),
    vocab.OWL_DATATYPE_PROPERTY,
    ox.BlankNode("c0"),
]
LITERALS = [
    ox.Literal("北区の観光", language="ja"),
    ox.Literal("Kita tourism", language="en"),
    ox.Literal("産業フェア"),
    ox.Literal("2021"),
    ox.Literal("2023", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#gYear")),
    ox.Literal("FY2021"),
    ox.Literal("131172"),
    ox.Literal("", language="ja"),  # (a text with no trigram at all)
    ox.Literal("ＥＣ（サイト）の2回目", language="ja"),  # (ASCII words beside other characters)
]
LINKS = [
    vocab.PART_OF_PLAN,
    vocab.PERIOD,
    vocab.HAS_ILLUSTRATION,
    vocab.MENTIONS,
    vocab.MUNICIPALITY,
    vocab.FIRST_FISCAL_YEAR,
    vocab.LAST_FISCAL_YEAR,
]
VALUED = [vocab.RDFS_LABEL, vocab.DCTERMS_TITLE, TEXT, vocab.LOCAL_GOVERNMENT_CODE, vocab.YEAR]

subjects = st.sampled_from(NODES)
triples = st.one_of(
    st.tuples(subjects, st.just(vocab.RDF_TYPE), st.sampled_from(CLASSES)),
    st.tuples(subjects, st.sampled_from(LINKS), subjects),
    st.tuples(subjects, st.sampled_from(VALUED), st.sampled_from(LITERALS + NODES[:2])),
    st.tuples(
        st.just(TEXT),
        st.sampled_from([vocab.RDF_TYPE, vocab.RDFS_RANGE]),
        st.sampled_from(
            [vocab.OWL_DATATYPE_PROPERTY, vocab.RDF_LANG_STRING, vocab.XSD_STRING, vocab.PLAN]
        ),
    ),
)

E0, E1, E2, E3, E4 = NODES[:5]
#: A plan with an initiative, a municipality and a period, and texts: each example keeps some of
#: these (so that most examples index something) and adds random triples.
PLAN_TRIPLES = [
    (E0, vocab.RDF_TYPE, vocab.PLAN),
    (E0, vocab.DCTERMS_TITLE, LITERALS[0]),
    (E1, vocab.RDF_TYPE, vocab.INITIATIVE),
    (E1, vocab.PART_OF_PLAN, E0),
    (E1, vocab.RDFS_LABEL, LITERALS[1]),
    (E1, TEXT, LITERALS[2]),
    (TEXT, vocab.RDF_TYPE, vocab.OWL_DATATYPE_PROPERTY),
    (TEXT, vocab.RDFS_RANGE, vocab.RDF_LANG_STRING),
    (E0, vocab.MUNICIPALITY, E4),
    (E4, vocab.RDF_TYPE, CLASSES[2]),
    (E4, vocab.LOCAL_GOVERNMENT_CODE, LITERALS[6]),
    (E4, vocab.RDFS_LABEL, LITERALS[0]),
    (E0, vocab.PERIOD, E3),
    (E3, vocab.FIRST_FISCAL_YEAR, E2),
    (E3, vocab.LAST_FISCAL_YEAR, E2),
    (E2, vocab.YEAR, LITERALS[3]),
]


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(range(3)), st.sampled_from(PLAN_TRIPLES)), max_size=30),
    st.lists(st.tuples(st.sampled_from(range(3)), triples), max_size=30),
)
def test_rows_made_in_python_equal_the_sparql_rows(
    plan: list[tuple[int, OxTriple]], other: list[tuple[int, OxTriple]]
) -> None:
    store = ox.Store()
    asserted: list[MemoryIndex] = [MemoryIndex(), MemoryIndex()]
    inferred: list[OxTriple] = []
    for g, (s, p, o) in plan + other:
        store.add(ox.Quad(s, p, o, GRAPHS[g]))
        if g < 2:
            asserted[g].add((s, p, o))
        else:
            inferred.append((s, p, o))
    by_sparql = sorted(rows_of(store, GRAPHS[1], GRAPHS), key=rank_key)
    # (a build gives the inferred triples grouped by predicate, the asserted ones indexed)
    graphs = [*asserted, ByPredicate(inferred)]
    assert sorted(rows_from(graphs, asserted[1]), key=rank_key) == by_sparql
    # What a build writes (the order made per entity, the texts' ids from it) is what the rows
    # sorted by rank_key give.
    texts = texts_from(graphs, asserted[1])
    assert texts.records() == records(by_sparql)
    assert texts.type_names() == type_names(by_sparql)


def test_the_build_writes_the_index_with_the_sparql_rows(
    built: tuple[Path, BuildSummary], tmp_path: Path
) -> None:
    out, summary = built
    written = index_path(out, summary.store)
    assert written.is_file()  # made by the build, not by a first search
    store = ox.Store.read_only(str(out / summary.store))
    reference = tmp_path / "sparql.sqlite"
    reference.write_bytes(index_bytes(rows_of(store, GRAPHS[1], GRAPHS)))
    rows = index_rows(written)
    assert len(rows) > 100
    assert rows == index_rows(reference)


def test_a_build_without_its_index_is_searched_all_the_same(
    built_template: Path, tmp_path: Path
) -> None:
    """A build made before the index was part of ``kg build`` (here: its index deleted): the
    first ``kg search`` makes it from the store, with the rows the build would have written."""
    project, out = copy_built(built_template, tmp_path)
    manifest = json.loads((out / "build.json").read_text(encoding="utf-8"))
    written = index_path(out, manifest["store"])
    rows = index_rows(written)
    shutil.rmtree(out / INDEX_DIR)
    result = kg(
        "--project", str(project.root), "search", "--out-dir", str(out), "北区", "-f", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)
    assert index_rows(written) == rows
