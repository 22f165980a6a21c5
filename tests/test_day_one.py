"""What a new user hits on day one: where the build goes, reading while the data does not
conform, odd parameter values, outputs in unexpected places, and the README's example outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rdflib import RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from kgtools.build.inputs import input_files
from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.errors import ParameterError, UnknownValueError
from kgtools.namespaces import graphs_for
from kgtools.project import Project, find_project, is_output_dir
from kgtools.query.domains import bind_labels, check_domains, label_parameters
from kgtools.query.library import QueryLibrary, user_query
from kgtools.query.params import parse_param, parse_params
from kgtools.query.run import run
from kgtools.reference.memory import MemoryStore
from kgtools.store.base import Store
from kgtools.store.sparql_text import nt_term

from .conftest import ROOT, examples, kg
from .test_cli import NOT_CONFORMING_PLAN


# -- 2. a command run anywhere inside a project uses the project's dist/ -----------------------
@pytest.mark.parametrize("where", [".", "data", "data/plans", "queries/cq", "ontology"])
def test_command_inside_a_project_folder_uses_the_projects_dist(
    copy: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copy / where)
    before = sorted(p for p in copy.rglob("*") if "dist" not in p.relative_to(copy).parts)
    result = kg("query", "plans", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert "built the graph" not in result.output  # the copy's dist/ was found and is current
    after = sorted(p for p in copy.rglob("*") if "dist" not in p.relative_to(copy).parts)
    assert after == before  # no dist/ (nor anything else) made where the command ran


def test_build_default_out_is_the_project_root_from_a_subfolder(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(copy / "data" / "plans")
    result = kg("build")
    assert result.exit_code == 0, result.output
    assert not (copy / "data" / "plans" / "dist").exists()
    assert "wrote nothing" in result.output  # the copy's dist/ is current: nothing written


@pytest.mark.parametrize("where", ["data/dist", "data/plans/dist", "data/plans/a/b/out"])
def test_a_kg_build_folder_inside_data_is_never_read_as_data(
    copy: Path, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder kg once wrote into data/plans/dist/ (when --out-dir followed the current
    folder) held asserted.ttl and inferred.ttl; the build read them and failed."""
    shutil.copytree(copy / "dist", copy / where)
    assert is_output_dir(copy / where)
    found = Project(copy)
    assert not [p for p in input_files(found) if (copy / where) in p.parents]
    monkeypatch.chdir(copy)
    result = kg("build")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_is_output_dir_needs_kgs_manifest(tmp_path: Path) -> None:
    for text in ("", "{}", "[1]", '{"fingerprint": "x"}', "not json", '{"layout": 3}'):
        (tmp_path / "build.json").write_text(text, encoding="utf-8")
        assert not is_output_dir(tmp_path), text
    (tmp_path / "build.json").write_text('{"fingerprint": "x", "layout": 3}', encoding="utf-8")
    assert is_output_dir(tmp_path)


def test_tbox_error_names_the_file_and_suggests_only_what_the_user_can_do(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build folder without its manifest still cannot be told apart from data: the error names
    the file and the folder, and suggests no option kg lacks ("reason with owlrl instead")."""
    stray = copy / "data" / "plans" / "dist"
    shutil.copytree(copy / "dist", stray)
    (stray / "build.json").unlink()
    monkeypatch.chdir(copy)
    result = CliRunner().invoke(cli, ["query", "plans"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "data/plans/dist/asserted.ttl" in result.output
    assert "data/plans/dist/ looks like a kg build folder" in result.output
    assert "owlrl" not in result.output


@pytest.mark.parametrize("inside", ["data", "data/x", "data/plans/dist"])
def test_out_dir_inside_data_is_refused(copy: Path, inside: str) -> None:
    for command in (["build", "-o"], ["query", "plans", "--out-dir"]):
        result = kg("--project", str(copy), *command, str(copy / inside))
        assert result.exit_code == 2, result.output
        assert "inside the data folder" in result.output
    assert not (copy / inside / "build.json").exists()


# -- 7. reads answer from the last good build while the data does not conform -----------------
READ_COMMANDS = [
    ["query", "plans", "-f", "csv"],
    ["export", "-f", "nt"],
    ["network", "--stats"],
]


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_reads_answer_from_the_last_good_build_with_a_warning(
    copy: Path, command: list[str]
) -> None:
    good = kg("--project", str(copy), *command)
    assert good.exit_code == 0
    (copy / "data" / "plans" / "extra.ttl").write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    stale = CliRunner().invoke(cli, ["--project", str(copy), *command])
    assert stale.exit_code == 0, stale.output
    assert stale.stdout == good.stdout
    warnings = [line for line in stale.stderr.splitlines() if "does not conform" in line]
    assert len(warnings) == 1 and "last good build" in warnings[0]
    strict = CliRunner().invoke(cli, ["--project", str(copy), *command, "--strict"])
    assert strict.exit_code == 1
    assert "does not conform" in strict.output


def test_label_removed_reads_still_answer(copy: Path) -> None:
    """The issue's case: one English label removed from a plan file."""
    plan = next((copy / "data" / "plans").glob("*.ttl"))
    text = plan.read_text(encoding="utf-8")
    import re

    changed = re.sub(r'\s*,\s*"[^"]*"@en(?=\s*[;.])', "", text, count=1)
    assert changed != text
    plan.write_text(changed, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(copy), "query", "plans", "-f", "csv"])
    assert result.exit_code == 0
    assert result.stdout.count("\n") > 1


def test_python_api_answers_from_the_last_good_build(copy: Path) -> None:
    import kgtools.api as kg
    from kgtools.errors import NonConformingDataError

    (copy / "data" / "plans" / "extra.ttl").write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    graph = kg.load(copy)
    assert graph.stale is not None
    assert graph.query("plans")
    with pytest.raises(NonConformingDataError):
        kg.load(copy, strict=True)


def test_no_previous_build_and_not_conforming_still_exits_1(tmp_path: Path, copy: Path) -> None:
    shutil.rmtree(copy / "dist")
    (copy / "data" / "plans" / "extra.ttl").write_text(NOT_CONFORMING_PLAN, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--project", str(copy), "query", "plans"])
    assert result.exit_code == 1


# -- 9. with no project around, builds go to the per-user cache ---------------------------------
def test_no_project_around_uses_the_user_cache_not_the_current_folder(
    tmp_path: Path, copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found = find_project()
    assert not found.local  # the checkout this package is installed from
    assert found.default_out_dir().is_relative_to(tmp_path / "cache" / "kgtools")
    assert Project(copy).default_out_dir() == copy / "dist"
    result = kg("query", "plans", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert list(elsewhere.iterdir()) == []
    assert (found.default_out_dir() / "build.json").is_file()


@pytest.mark.parametrize("missing", ["nonexistent/x.ttl", "a/b/c/x.ttl", "file/x.ttl"])
def test_export_into_a_missing_folder_is_refused_and_creates_nothing(
    copy: Path, tmp_path: Path, missing: str
) -> None:
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    target = tmp_path / missing
    result = kg("--project", str(copy), "export", "-o", str(target))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "cannot write the export" in result.output and "mkdir -p" in result.output
    assert sorted(tmp_path.iterdir()) == before
    assert not target.parent.is_dir() or target.parent == tmp_path / "file"


# -- 8. odd parameter values -------------------------------------------------------------------

NO_SCHEME = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=' <>"{}|^`\\:'),
    min_size=1,
    max_size=30,
).filter(lambda t: all(ord(c) >= 0x21 for c in t))


@settings(max_examples=examples(80), deadline=None)
@given(text=NO_SCHEME)
def test_a_relative_iri_value_is_refused_saying_it_was_taken_as_an_iri(text: str) -> None:
    """`-p 'q=<EC>'` once reached the store as the relative IRI <EC> and came back as a syntax
    error inside the library's search.rq."""
    with pytest.raises(ParameterError) as caught:
        parse_param(f"q=<{text}>")
    message = str(caught.value)
    assert "taken as an IRI" in message
    suggested = message.rsplit("--param ", 1)[1].strip("'")
    assert parse_param(suggested) == ("q", Literal(f"<{text}>"))  # the hint works as written


@settings(max_examples=examples(150), deadline=None)
@given(
    text=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
    language=st.sampled_from([None, "ja", "en", "en-GB"]),
)
def test_a_quoted_literal_binds_as_that_literal(text: str, language: str | None) -> None:
    term = Literal(text, lang=language)
    assert parse_param(f"q={nt_term(term)}") == ("q", term)


def test_library_query_with_a_relative_iri_value_exits_2_without_a_syntax_error(
    built: tuple[Path, BuildSummary],
) -> None:
    result = kg("query", "--out-dir", str(built[0]), "search", "-p", "q=<EC>")
    assert result.exit_code == 2
    assert "syntax error" not in result.output and "search.rq" not in result.output
    assert "taken as an IRI" in result.output
    quoted = kg("query", "--out-dir", str(built[0]), "search", "-p", 'q="<EC>"')
    assert quoted.exit_code == 0, quoted.output


@settings(max_examples=examples(40), deadline=None)
@given(
    names=st.lists(st.sampled_from(["q", "code", "x"]), min_size=1, max_size=5),
    values=st.lists(st.text(max_size=5), min_size=5, max_size=5),
)
@example(names=["q", "q", "q"], values=["", "", "<0>", "", ""])  # found in CI
def test_a_parameter_given_twice_is_refused(names: list[str], values: list[str]) -> None:
    """A repeated name is refused whatever the values (even ones that are mistakes of their
    own, such as ``<0>``); distinct names bind each value, or refuse a bad value for itself."""
    texts = [f"{n}={v}" for n, v in zip(names, values, strict=False)]
    if len(set(names)) == len(names):
        try:
            assert set(parse_params(texts)) == set(names)
        except ParameterError as exc:
            assert "times" not in str(exc)
            with pytest.raises(ParameterError):  # the same value alone is refused too
                for text in texts:
                    parse_param(text)
    else:
        with pytest.raises(ParameterError, match=r"given [2-5] times"):
            parse_params(texts)


def test_cli_refuses_a_repeated_param(built: tuple[Path, BuildSummary]) -> None:
    result = kg("query", "--out-dir", str(built[0]), "search", "-p", "q=EC", "-p", "q=x")
    assert result.exit_code == 2
    assert "given 2 times" in result.output


LIBRARY = QueryLibrary(ROOT / "queries")
DOMAINS = [(n, p) for n in LIBRARY.names() for p in LIBRARY.get(n).domains]


def test_parameters_with_a_known_domain_declare_it() -> None:
    assert ("cq/municipality", "code") in DOMAINS and ("network/links", "code") in DOMAINS
    for name, _ in DOMAINS:
        for domain in LIBRARY.get(name).domains.values():
            listing = LIBRARY.get(domain)
            # a domain query takes no parameter from the user (its ?lang is bound by the tool)
            assert set(listing.parameters) <= listing.languages, domain


@pytest.mark.parametrize(("name", "param"), DOMAINS)
def test_every_domain_value_is_accepted_and_others_refused(
    store: Store, name: str, param: str
) -> None:
    query = LIBRARY.get(name)
    graphs = graphs_for(inferred=True)
    domain = run(store, LIBRARY.get(query.domains[param]), {}, graphs=graphs, timeout=None)
    values = [row[0] for row in domain.rows]
    assert len(values) >= 5 and None not in values
    # every value at once, as a list parameter's values are checked (each against the domain,
    # like a single value): one run of the domain query instead of one per value
    every = tuple(Literal(str(value)) for value in values)
    check_domains(store, query, {param: every}, LIBRARY, graphs=graphs)
    known = {str(v) for v in values}
    for wrong in ["999999", "", "13117", "1311720", " 131172", "<x>", "北区"]:
        assert wrong not in known
        with pytest.raises(UnknownValueError) as caught:
            check_domains(store, query, {param: Literal(wrong)}, LIBRARY, graphs=graphs)
        assert all(v in str(caught.value) for v in known)  # the valid values are listed
    with pytest.raises(UnknownValueError):  # an IRI is not a code, whatever its text
        check_domains(store, query, {param: URIRef(f"urn:x:{values[0]}")}, LIBRARY, graphs=graphs)


def test_unknown_code_exits_2_listing_the_codes(built: tuple[Path, BuildSummary]) -> None:
    result = kg("query", "--out-dir", str(built[0]), "municipality", "-p", "code=999999")
    assert result.exit_code == 2
    assert "131172 北区" in result.output
    good = kg("query", "--out-dir", str(built[0]), "municipality", "-p", "code=131172")
    assert good.exit_code == 0


LABELLED = """\
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?thing WHERE { ?thing rdfs:label ?name } ORDER BY ?thing
"""


def test_a_label_parameter_matches_labels_in_any_language(
    store: Store, asserted: Graph, inferred: Graph
) -> None:
    """`-p municipality=北区` once matched nothing: the value was a plain literal and the label
    "北区"@ja. Every label text the graph holds in one form finds exactly its subjects."""
    from kgtools.query.domains import LABEL_PREDICATES

    query = user_query(LABELLED, "labelled.rq")
    assert label_parameters(query) == {"name"}
    subjects: dict[str, set[str]] = {}
    forms: dict[str, set[Node]] = {}
    for graph in (asserted, inferred):
        for predicate in LABEL_PREDICATES:
            for thing, label in graph.subject_objects(predicate):
                forms.setdefault(str(label), set()).add(label)
                if predicate == RDFS.label:
                    subjects.setdefault(str(label), set()).add(str(thing))
    single = sorted(t for t, f in forms.items() if len(f) == 1 and t in subjects)
    assert len(single) > 100
    graphs = graphs_for(inferred=True)
    for text in single[:: max(1, len(single) // 60)]:
        bound = bind_labels(store, query, {"name": Literal(text)}, graphs=graphs)
        assert bound["name"] in forms[text]
        rows = run(store, query, bound, graphs=graphs, timeout=None).rows
        assert {str(r[0]) for r in rows} == subjects[text], text
    declared = user_query(
        "# title: t\n# parameters:\n#   ?name (label) — a label\n" + LABELLED, "declared.rq"
    )
    assert label_parameters(declared) == {"name"}
    assert bind_labels(store, declared, {"name": Literal("北区")}, graphs=graphs) == {
        "name": Literal("北区", lang="ja")
    }


def test_a_label_in_several_forms_is_refused_naming_them() -> None:
    from rdflib import Graph

    from kgtools.namespaces import DATA_GRAPH

    graph = Graph()
    graph.add((URIRef("urn:x:a"), RDFS.label, Literal("EC", lang="ja")))
    graph.add((URIRef("urn:x:b"), RDFS.label, Literal("EC", lang="en")))
    store = MemoryStore()
    store.add(DATA_GRAPH, graph)
    query = user_query(LABELLED, "labelled.rq")
    with pytest.raises(ParameterError) as caught:
        bind_labels(store, query, {"name": Literal("EC")})
    assert '"EC"@en' in str(caught.value) and '"EC"@ja' in str(caught.value)
    chosen = parse_param('name="EC"@en')[1]
    assert bind_labels(store, query, {"name": chosen}) == {"name": chosen}


def test_cli_label_parameter_from_a_user_query(
    built: tuple[Path, BuildSummary], tmp_path: Path
) -> None:
    path = tmp_path / "q.rq"
    path.write_text(LABELLED, encoding="utf-8")
    result = kg("query", "--out-dir", str(built[0]), str(path), "-p", "name=北区", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert "local-government/131172" in result.output


# -- 10. stale words ----------------------------------------------------------------------------
def test_readme_examples_match_what_kg_prints(project: Project) -> None:
    """The README's example outputs are generated (python -m kgtools.devtools.readme --write);
    they once showed an author's absolute path and a JSON-LD size that had changed."""
    from kgtools.devtools.readme import (
        examples,
        normalise,
        pictures,
        regenerate,
        stale_pictures,
    )

    readme = (project.root / "README.md").read_text(encoding="utf-8")
    found = examples(readme)
    # the sessions: the query library, Answers in English, Search
    assert [e.spec for e in found] == ["kg build", "session", "session", "session"]
    assert len(found[1].commands()) >= 6
    # the pictures: the partner network, the timeline in English
    assert sorted(pictures(readme)) == [
        "docs/images/partner-network.png",
        "docs/images/plan-timeline-en.png",
    ]
    fresh, drawn = regenerate(readme, project.root)
    assert normalise(fresh) == normalise(readme), (
        "README examples are stale: run python -m kgtools.devtools.readme --write"
    )
    assert all(data.startswith(b"\x89PNG") for data in drawn.values())
    assert stale_pictures(project.root, drawn) == [], (
        "README pictures are stale: run python -m kgtools.devtools.readme --write"
    )
    assert str(project.root) not in readme  # relative paths only


def test_a_readme_picture_that_differs_or_is_missing_is_stale(tmp_path: Path) -> None:
    from kgtools.devtools.readme import pictures, stale_pictures

    (tmp_path / "same.png").write_bytes(b"\x89PNG same")
    (tmp_path / "other.png").write_bytes(b"\x89PNG before")
    drawn = {"same.png": b"\x89PNG same", "other.png": b"\x89PNG after", "gone.png": b"x"}
    assert stale_pictures(tmp_path, drawn) == ["other.png", "gone.png"]
    # only a comment right above an image line names a picture, and only a kg command
    text = (
        "<!-- picture: kg network -f png -->\n![a](a.png)\n<!-- picture: rm -rf / -->\n![b](b.png)"
    )
    assert pictures(text + "\n<!-- picture: kg x -->\n\n![c](c.png)") == {
        "a.png": "kg network -f png"
    }


def test_readme_normalises_only_timings() -> None:
    from kgtools.devtools.readme import normalise

    assert normalise("built in 3.8 s — 12 s") == normalise("built in 10.25 s — 1 s")
    assert normalise("233,166 bytes") != normalise("233,118 bytes")
    assert normalise("13 nodes") != normalise("12 nodes")


def test_every_dist_file_the_readmes_name_is_written(
    project: Project, built: tuple[Path, BuildSummary]
) -> None:
    """data/README.md once named dist/graph.nq, which no build writes."""
    import re

    named = set()
    for readme in (project.root / "README.md", project.root / "data" / "README.md"):
        text = readme.read_text(encoding="utf-8")
        named |= {m for m in re.findall(r"dist/((?:[\w-]+/)*[\w-]+\.\w+)", text)}
        for listing in re.findall(r"dist/:? *([^\n]*)", text):
            named |= {n for n in re.findall(r"\b([\w-]+\.(?:ttl|txt|json|nq))\b", listing)}
    assert named, "no dist/ file named: the pattern no longer finds them"
    missing = sorted(n for n in named if not (built[0] / n).exists())
    assert not missing, f"named in a README but not written by kg build: {missing}"


def test_up_to_date_build_says_it_wrote_nothing(copy: Path) -> None:
    result = kg("--project", str(copy), "build", "-o", str(copy / "dist"))
    assert result.exit_code == 0
    last = result.output.splitlines()[-1]
    assert last.startswith("wrote nothing") and "asserted.ttl" not in last


LABEL_SHAPES = {
    "prefixed": "?s rdfs:label ?name",
    "full-iri": "?s <http://www.w3.org/2000/01/rdf-schema#label> ?name",
    "optional": "?s a ?t OPTIONAL { ?s skos:prefLabel ?name }",
    "union": "{ ?s skos:altLabel ?name } UNION { ?s rdfs:label ?name }",
    "semicolon": "?s a ?t ; rdfs:label ?name",
    "subquery": "{ SELECT ?s ?name WHERE { ?s rdfs:label ?name } }",
    "minus-graph": "GRAPH ?g { ?s rdfs:label ?name } MINUS { ?s a ?t }",
}
NOT_LABEL_SHAPES = {
    "comment": "?s rdfs:comment ?name",
    "subject": "?name rdfs:label ?x",
    "filter": "?s rdfs:label ?x FILTER(CONTAINS(STR(?x), STR(?name)))",
    "path": "?s rdfs:label|skos:prefLabel ?name",
}


@pytest.mark.parametrize(
    ("shape", "is_label"),
    [(s, True) for s in LABEL_SHAPES.values()] + [(s, False) for s in NOT_LABEL_SHAPES.values()],
)
def test_label_parameters_are_found_in_every_pattern_shape(shape: str, is_label: bool) -> None:
    text = (
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        f"SELECT * WHERE {{ {shape} }}"
    )
    assert ("name" in label_parameters(user_query(text, "shape.rq"))) is is_label


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(code=st.from_regex(r"\A[0-9]{6}\Z"))
def test_random_codes_outside_the_domain_are_refused(store: Store, code: str) -> None:
    query = LIBRARY.get("cq/municipality")
    graphs = graphs_for(inferred=True)
    domain = run(store, LIBRARY.get(query.domains["code"]), {}, graphs=graphs, timeout=None)
    known = {str(row[0]) for row in domain.rows}
    if code in known:
        check_domains(store, query, {"code": Literal(code)}, LIBRARY, graphs=graphs)
    else:
        with pytest.raises(UnknownValueError):
            check_domains(store, query, {"code": Literal(code)}, LIBRARY, graphs=graphs)
