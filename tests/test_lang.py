"""Answers in either language (issue 18): a library query's labels come through one convention,
a ``?lang (language)`` parameter the tool binds (default ``ja``; ``--lang`` / ``-p lang=`` /
``lang=``), column titles in either language, and ``kg network`` / ``kg docs`` / ``kg serve`` in
English. The project is built once (the session's ``built`` fixture) and every query runs in this
process (``run_here``), so the module stays fast."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Hashable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rdflib import Literal, URIRef
from rdflib.term import Node

from kgtools import api
from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.docs import example_params
from kgtools.errors import ParameterError, UnknownLanguageError
from kgtools.load.checks import code_only
from kgtools.namespaces import graphs_for
from kgtools.project import Project
from kgtools.query.library import LANGUAGES, QueryFile, QueryLibrary
from kgtools.query.params import with_language
from kgtools.query.results import QueryResult
from kgtools.query.run import run_here
from kgtools.store.base import Store

LIBRARY = QueryLibrary(Path(__file__).resolve().parent.parent / "queries")
NAMES = LIBRARY.names()
#: The library queries that show labels: they declare ``?lang (language)``.
LABELLED = [name for name in NAMES if LIBRARY.get(name).languages]
#: Columns that hold Japanese text in every language, on purpose: a plan's Japanese title next
#: to its English one, and the source's own words for an edition ("第２次"@ja, no English form).
ALWAYS_JAPANESE = {"cq/plans": {"title_ja", "editionLabel"}, "cq/second-edition": {"editionLabel"}}
#: Queries that return both languages in their own columns (the network's, which draw either).
BOTH_COLUMNS = {"network/nodes", "network/plan-periods"}
#: Columns in a fixed language whatever ?lang: a plan's two titles, side by side.
FIXED_LANGUAGE = {"cq/plans": {"title_ja", "title_en"}}
#: Kana and CJK ideographs: text written in Japanese.
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


@pytest.fixture(scope="module")
def out_dir(built: tuple[Path, BuildSummary]) -> str:
    return str(built[0])


def kg(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


def answer(store: Store, project: Project, name: str, lang: str | None) -> QueryResult:
    query = LIBRARY.get(name)
    params = example_params(project, name) or {}
    return run_here(
        store, query, with_language(query, params, lang), graphs=graphs_for(inferred=True)
    )


def _japanese(term: Node | None) -> bool:
    return isinstance(term, Literal) and (
        term.language == "ja" or (not term.language and bool(JAPANESE.search(str(term))))
    )


def _cell(term: Node | None) -> Hashable:
    if isinstance(term, Literal) and " | " in str(term):  # GROUP_CONCAT: order not fixed
        return frozenset(str(term).split(" | "))
    return term


# -- the convention ------------------------------------------------------------------------------
def test_the_library_has_queries_with_labels() -> None:
    assert len(LABELLED) >= 20 and "cq/plans" in LABELLED and "cq/themes" in LABELLED


@pytest.mark.parametrize("name", NAMES)
def test_no_query_writes_a_language_into_its_text_but_through_lang(name: str) -> None:
    """A label's language is never a constant in the query: ``LANG(?x) = ?lang`` (bound by the
    tool), except the period labels read in English on purpose (the same in either language,
    and ASCII: Virtuoso turns an en dash written in a query into '?'), each with a comment; a
    query that compares LANG with ?lang declares ?lang as its language parameter."""
    query = LIBRARY.get(name)
    code = code_only(query.text)
    for match in re.finditer(r'LANG\(\?(\w+)\) = "(\w+)"', code):
        variable, constant = match.groups()
        if name in BOTH_COLUMNS or variable in FIXED_LANGUAGE.get(name, ()):
            continue
        assert (variable, constant) == ("periodLabel", "en"), (
            f"{name}: write LANG(?{variable}) = ?lang, not a constant language"
        )
        before = query.text[: query.text.index(match.group())]
        assert "the same in either ?lang" in before.rsplit("SELECT", 1)[-1], name
    if "?lang" in code:
        assert query.languages == {"lang"}, f"{name}: declare ?lang (language) in # parameters"
    if name not in BOTH_COLUMNS and re.search(r"rdfs:label|dcterms:title", code):
        assert query.languages, f"{name} shows labels: declare ?lang (language)"


@pytest.mark.parametrize("name", LABELLED)
def test_both_languages_give_the_same_rows_and_english_labels(
    store: Store, project: Project, name: str
) -> None:
    """The same rows in ja and en, apart from the label columns (those holding Japanese text in
    the ja answer); in the en answer, no label column holds Japanese text and every tagged
    literal is @en."""
    ja = answer(store, project, name, "ja")
    en = answer(store, project, name, "en")
    default = answer(store, project, name, None)
    assert Counter(map(tuple, default.rows)) == Counter(map(tuple, ja.rows))
    assert en.variables == ja.variables and len(en.rows) == len(ja.rows)
    fixed = ALWAYS_JAPANESE.get(name, set())
    labels = {
        i
        for i, v in enumerate(ja.variables)
        if v not in fixed and any(_japanese(row[i]) for row in ja.rows)
    }
    keys = [i for i in range(len(ja.variables)) if i not in labels]

    def key_rows(result: QueryResult) -> Counter[tuple[Hashable, ...]]:
        return Counter(tuple(_cell(row[i]) for i in keys) for row in result.rows)

    assert key_rows(en) == key_rows(ja), f"{name}: the rows differ beyond the label columns"
    for row in en.rows:
        for i, (variable, term) in enumerate(zip(en.variables, row, strict=True)):
            if variable in fixed or not isinstance(term, Literal):
                continue
            assert not (i in labels and JAPANESE.search(str(term))), (name, variable, term)
            assert term.language in (None, "en"), (name, variable, term)
    if ja.rows and labels:  # the English answer does show English labels
        tagged = [r[i] for r in en.rows for i in labels if isinstance(r[i], Literal)]
        assert tagged and all(not JAPANESE.search(str(t)) for t in tagged)


# -- choosing the language -----------------------------------------------------------------------
BAD_LANGUAGES = ["fr", "EN", "ja-JP", "jp", "english", "", "en "]


@pytest.mark.parametrize("bad", BAD_LANGUAGES)
def test_an_unknown_language_is_refused_with_the_known_ones(out_dir: str, bad: str) -> None:
    for args in (["--lang", bad], ["-p", f"lang={bad}"]):
        result = kg("query", "cq/plans", "--out-dir", out_dir, *args)
        assert result.exit_code == 2, result.output
        assert "ja, en" in result.output
    query = LIBRARY.get("cq/plans")
    with pytest.raises(UnknownLanguageError):
        with_language(query, {}, bad)
    with pytest.raises(UnknownLanguageError):
        with_language(query, {"lang": Literal(bad)})


@pytest.mark.parametrize(
    "value",
    [
        Literal("en", lang="en"),
        URIRef("https://example.org/en"),
        Literal("en", datatype=URIRef("http://www.w3.org/2001/XMLSchema#token")),
    ],
)
def test_a_language_is_a_plain_code(value: Node) -> None:
    with pytest.raises(UnknownLanguageError):
        with_language(LIBRARY.get("cq/plans"), {"lang": value})


def test_lang_and_param_lang_must_agree() -> None:
    query = LIBRARY.get("cq/plans")
    assert with_language(query, {"lang": Literal("en")}, "en")["lang"] == Literal("en")
    with pytest.raises(ParameterError, match="two languages"):
        with_language(query, {"lang": Literal("ja")}, "en")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_cli_api_and_param_give_the_same_answer(
    out_dir: str, built: tuple[Path, BuildSummary], project: Project, lang: str
) -> None:
    by_option = kg("query", "cq/plans", "--out-dir", out_dir, "--lang", lang, "-f", "csv")
    by_param = kg("query", "cq/plans", "--out-dir", out_dir, "-p", f"lang={lang}", "-f", "csv")
    assert by_option.exit_code == 0 and by_option.output == by_param.output
    graph = api.load(project.root, out_dir)
    rows = graph.query("plans", lang=lang)
    assert {str(r["municipality"]) for r in rows} == {
        line.split(",")[2] for line in by_option.output.splitlines()[1:]
    }
    assert {r["municipality"].language for r in rows} == {lang}  # type: ignore[union-attr]
    with pytest.raises(UnknownLanguageError):
        graph.query("plans", lang="de")


def test_a_query_without_labels_ignores_lang(out_dir: str) -> None:
    plain = kg("query", "domains/fiscal-years", "--out-dir", out_dir, "-f", "csv")
    english = kg("query", "domains/fiscal-years", "--out-dir", out_dir, "-f", "csv", "--lang", "en")
    assert plain.exit_code == english.exit_code == 0 and plain.output == english.output


# -- titles --------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGUAGES)
def test_list_shows_titles_in_the_asked_language(lang: str) -> None:
    result = kg("query", "--list", "--lang", lang)
    assert result.exit_code == 0
    for name in NAMES:
        query = LIBRARY.get(name)
        title = query.title_in(lang)
        assert re.search(rf"^{re.escape(name)}\s+{re.escape(title)}", result.output, re.M), name
        assert bool(JAPANESE.search(title)) == (lang == "ja"), (name, title)


def test_list_without_lang_is_unchanged() -> None:
    result = kg("query", "--list")
    for name in NAMES:
        assert re.search(
            rf"^{re.escape(name)}\s+{re.escape(LIBRARY.get(name).title)}", result.output, re.M
        )


@pytest.mark.parametrize("name", [n for n in NAMES if LIBRARY.get(n).column_titles])
def test_column_titles_name_real_columns_in_both_languages(name: str) -> None:
    query = LIBRARY.get(name)
    assert set(query.column_titles) <= set(query.columns or ())
    for ja, en in query.column_titles.values():
        assert ja and en and not JAPANESE.search(en)


@pytest.mark.parametrize("fmt", ["table", "md", "csv", "tsv", "json"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_headers_are_localised_for_people_only(out_dir: str, fmt: str, lang: str) -> None:
    """With --lang, a table's and Markdown's header row holds the column titles; CSV, TSV and
    JSON keep the variable names (programs read them); without --lang, the variable names."""
    query: QueryFile = LIBRARY.get("cq/facilities")
    variables = list(query.columns or ())
    titles = [query.column_titles[v][LANGUAGES.index(lang)] for v in variables]
    asked = kg("query", "cq/facilities", "--out-dir", out_dir, "-f", fmt, "--lang", lang)
    plain = kg("query", "cq/facilities", "--out-dir", out_dir, "-f", fmt)
    assert asked.exit_code == plain.exit_code == 0

    def header(output: str) -> list[str]:
        if fmt == "json":
            return list(json.loads(output)["head"]["vars"])
        if fmt in ("table", "md"):
            line = next(line for line in output.splitlines() if line.startswith("|"))
            return [c.strip() for c in line.strip("|").split("|")]
        first = output.splitlines()[0]
        return [c.lstrip("?") for c in first.split("," if fmt == "csv" else "\t")]

    assert header(plain.output) == variables
    assert header(asked.output) == (titles if fmt in ("table", "md") else variables)


# -- network, docs, serve ------------------------------------------------------------------------
def test_network_in_english(out_dir: str, tmp_path: Path, store: Store, project: Project) -> None:
    from kgtools import network as kn

    data = kn.load_data(store, project)
    graph = kn.build_view(data, "municipalities")
    graph.graph["lang"] = "en"
    figure = kn._figure(graph)
    texts = [
        t.get_text()
        for t in figure.axes[0].texts
        if t.get_label() in (kn.NODE_LABEL_JA, kn.NODE_LABEL_EN)
    ]
    shown = [t for t in texts if t]
    english = {graph.nodes[n]["label_en"] for n in graph.nodes}
    assert shown and all(not JAPANESE.search(t) for t in shown)
    assert {t.replace("\n", " ") for t in shown} <= {" ".join(kn._wrap(e, 26)) for e in english}
    result = kg(
        "network",
        "--view",
        "municipalities",
        "--lang",
        "en",
        "-f",
        "html",
        "-o",
        str(tmp_path),
        "--out-dir",
        out_dir,
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "municipalities.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and 'lang = "en"' in page
    refused = kg("network", "--lang", "fr", "-f", "png", "-o", str(tmp_path), "--out-dir", out_dir)
    assert refused.exit_code == 2 and "ja, en" in refused.output


def test_docs_in_english(tmp_path: Path, store: Store, project: Project) -> None:
    """``kg docs --lang en``: the query library's answers, titles and column headers in
    English (the model the queries page is rendered from; the ontology and shapes pages show
    both languages either way)."""
    from kgtools.docs import _queries_model

    small = tmp_path / "project"  # two of the library's queries: the page model of each
    for name in ("domains/municipality-codes", "cq/plans"):
        target = small / "queries" / f"{name}.rq"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(project.queries_dir / f"{name}.rq", target)
    docs = {doc.name: doc for doc in _queries_model(Project(small), store, None, "en")}
    codes = docs["domains/municipality-codes"]
    english = answer(store, project, "domains/municipality-codes", "en").rows
    assert codes.rows and [c.text for c, _ in (r[:2] for r in codes.rows)] == [
        str(row[0]) for row in english
    ]
    assert [r[1].text for r in codes.rows] == [str(row[1]) for row in english]
    assert all(not JAPANESE.search(r[1].text) for r in codes.rows)
    plans = docs["cq/plans"]
    assert plans.title == LIBRARY.get("cq/plans").title_in("en")
    assert plans.variables[:3] == ["Plan", "Code", "Municipality"]
