"""Regression tests for what a red-team pass found after the hardening round: each test is
named after what broke and fails on the code before its fix."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kgtools.cli import cli
from kgtools.errors import BadEndpointError, BrokenLinkError, ParameterError, UnknownTermError
from kgtools.load.reference import load_files
from kgtools.load.schema import schema_terms
from kgtools.project import Project, data_files_in
from kgtools.query.library import user_query
from kgtools.query.params import check_term, parse_param
from kgtools.query.run import run_here
from kgtools.serve import SparqlServer
from kgtools.store.base import Store
from kgtools.store.remote import _credentials, check_url

from .conftest import examples, kg, serving
from .test_serve_hardening import (
    ASK_PATH,
    LOOPBACK_HOSTS,
    OTHER_HOSTS,
    address,
    exchange,
    get_with,
    one_response,
)

# -- outputs never in unexpected places: no folder the user did not ask for ------------------
OUTPUT_OPTIONS = [
    ("network", "--csv"),
    ("network", "-o"),
    ("docs", "-o"),
]
MISSING = ["nonexistent/x", "a/b/c/x", "file/x"]


@pytest.mark.parametrize("missing", MISSING)
@pytest.mark.parametrize(("command", "option"), OUTPUT_OPTIONS)
def test_output_into_a_missing_folder_is_refused_and_creates_nothing(
    copy: Path, tmp_path: Path, command: str, option: str, missing: str
) -> None:
    """`kg network --csv a/b.csv`, `kg network -o a/b` and `kg docs -o a/b` made every missing
    folder on the way (exit 0) where `kg export -o` refused."""
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    before = sorted(tmp_path.iterdir())
    target = tmp_path / missing
    result = kg("--project", str(copy), command, option, str(target))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "mkdir -p" in result.output and str(target) in result.output
    assert sorted(tmp_path.iterdir()) == before
    assert not (tmp_path / "nonexistent").exists() and not (tmp_path / "a").exists()


def test_output_folder_one_level_below_an_existing_one_is_made(copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "drawings"
    result = kg("--project", str(copy), "network", "-o", str(target), "-f", "json")
    assert result.exit_code == 0, result.output
    assert (target / "bipartite.json").is_file()


def test_output_option_count() -> None:
    assert len(OUTPUT_OPTIONS) * len(MISSING) == 9


# -- parameter values the store cannot read are parameter errors, not syntax errors ----------
BAD_VALUES = [
    "<http://a/%zz>",  # percent sign without two hex digits
    '"a"^^<http://a/%zz>',
    "<http://[::1>",  # an unclosed IPv6 host
    "<http://a/#x#y>",  # a second '#'
    '"x"@bad-tag-toolongxxxx',  # a subtag longer than eight characters
    '"x"@a-b-c-d',
    '"\\ud800"',  # a lone surrogate written as an escape
    '"x"^^<http://www.w3.org/2001/XMLSchema#integer>',  # ill-typed: rdflib logged a traceback
    '"2021-02-30"^^<http://www.w3.org/2001/XMLSchema#date>',
]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_value_the_store_cannot_read_is_a_parameter_error(copy: Path, value: str) -> None:
    """These reached Oxigraph inside the VALUES block and came back as a syntax error at a
    line and column of the library's plans.rq, a UnicodeEncodeError, or an rdflib traceback."""
    result = kg("--project", str(copy), "query", "plans", "-p", f"plan={value}", "-f", "csv")
    assert result.exit_code == 2, result.output
    assert "--param plan" in result.output
    assert "Traceback" not in result.output and "syntax error" not in result.output
    assert "plans.rq" not in result.output and "Unicode" not in result.output


@settings(max_examples=examples(60), deadline=None)
@given(
    primary=st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    subtag=st.from_regex(r"[a-z0-9]{9,14}", fullmatch=True),
)
def test_a_language_tag_with_a_long_subtag_is_a_parameter_error(primary: str, subtag: str) -> None:
    name, term = parse_param(f'q="x"@{primary}-{subtag}')
    with pytest.raises(ParameterError, match="--param q"):
        check_term(name, term)


@settings(max_examples=examples(60), deadline=None)
@given(
    path=st.from_regex(r"[a-z0-9/]{0,10}", fullmatch=True),
    bad=st.sampled_from(["%", "%z", "%zz", "%g0", "#a#", "%%41"]),
)
def test_an_iri_oxigraph_refuses_is_a_parameter_error(path: str, bad: str) -> None:
    name, term = parse_param(f"plan=<https://example.org/{path}{bad}>")
    with pytest.raises(ParameterError, match="--param plan"):
        check_term(name, term)


@settings(max_examples=examples(40), deadline=None)
@given(code=st.integers(0xD800, 0xDFFF))
def test_a_surrogate_escape_in_a_value_is_a_parameter_error(code: int) -> None:
    name, term = parse_param(f'q="a\\u{code:04X}b"')
    with pytest.raises(ParameterError, match="surrogate"):
        check_term(name, term)


def test_valid_values_still_pass_the_term_check() -> None:
    for value in [
        '"5"^^<http://www.w3.org/2001/XMLSchema#integer>',
        '"x"@ja',
        '"x"@en-US',
        "<https://example.org/a%20b#c>",
        "plain",
        '"2021-02-28"^^<http://www.w3.org/2001/XMLSchema#date>',
    ]:
        check_term(*parse_param(f"q={value}"))


# -- a data file's extension in another letter case is still data ----------------------------
@pytest.mark.parametrize("suffix", [".TTL", ".Ttl", ".tTl"])
def test_a_data_file_with_an_upper_case_suffix_is_loaded(
    tmp_path: Path, project: Project, suffix: str
) -> None:
    """`mv plan.ttl PLAN.TTL` dropped the plan from the graph, incremental and full builds
    alike, without a word (the loader itself reads any case of the suffix)."""
    root = tmp_path / "p"
    for folder in ("ontology", "data"):
        shutil.copytree(project.root / folder, root / folder)
    plans = sorted((root / "data" / "plans").glob("*.ttl"))
    assert plans
    before = set(data_files_in(root / "data"))
    renamed = plans[0].with_suffix(suffix)
    plans[0].rename(renamed)
    after = set(data_files_in(root / "data"))
    assert renamed in after
    assert len(after) == len(before)


# -- kg serve: an absolute-form request target names the host -------------------------------
@pytest.fixture(scope="module")
def loopback_server(store: Store) -> Iterator[SparqlServer]:
    with serving(store, timeout=5.0) as running:
        yield running


@pytest.mark.parametrize("host", [*OTHER_HOSTS, "evil.example:1"])
def test_an_absolute_form_target_for_another_host_is_refused(
    loopback_server: SparqlServer, host: str
) -> None:
    """`GET http://evil.example/sparql?… HTTP/1.1` with a loopback Host header was answered:
    the check read Host only, while RFC 9112 says the target's authority wins."""
    port = address(loopback_server)[1]
    for path in (ASK_PATH, "/", "/sparql"):
        answer = get_with(loopback_server, f"http://{host}{path}", [("Host", f"127.0.0.1:{port}")])
        status, _, body = one_response(answer)
        assert status == 403 and b"request target" in body, (host, path, status)


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
def test_an_absolute_form_target_for_loopback_is_answered(
    loopback_server: SparqlServer, host: str
) -> None:
    port = address(loopback_server)[1]
    answer = get_with(loopback_server, f"http://{host}:{port}{ASK_PATH}", [("Host", "127.0.0.1")])
    assert one_response(answer)[0] == 200


# -- --endpoint URLs with characters http.client cannot send ---------------------------------
@settings(max_examples=examples(60), deadline=None)
@given(
    where=st.sampled_from(["host", "path", "query"]),
    text=st.text(st.characters(min_codepoint=0x80, exclude_categories=("Cs",)), min_size=1),
)
def test_a_non_ascii_endpoint_is_a_bad_endpoint_error(where: str, text: str) -> None:
    """`--endpoint http://☃.example/` failed inside http.client with a UnicodeEncodeError
    ("the query failed: UnicodeEncodeError: 'latin-1' codec …")."""
    url = {
        "host": f"http://{text}.example/sparql",
        "path": f"http://127.0.0.1:7878/{text}",
        "query": f"http://127.0.0.1:7878/sparql?x={text}",
    }[where]
    with pytest.raises(BadEndpointError, match="not ASCII"):
        check_url(url)


@pytest.mark.parametrize("fragment", ["#", "#frag", "#a/b", "#%20"])
def test_an_endpoint_with_a_fragment_is_a_bad_endpoint_error(fragment: str) -> None:
    """A #fragment was sent in the request line (`POST /q#frag`)."""
    with pytest.raises(BadEndpointError, match="fragment"):
        check_url(f"http://127.0.0.1:7878/query{fragment}")


def test_a_non_ascii_endpoint_on_the_command_line_is_exit_2(copy: Path) -> None:
    result = kg("--project", str(copy), "query", "plans", "--endpoint", "http://☃.example/")
    assert result.exit_code == 2, result.output
    assert "not ASCII" in result.output and "UnicodeEncodeError" not in result.output


# -- a build folder given by the user must not be a folder of other files -------------------
@pytest.mark.parametrize("where", [".", "ontology", "queries", "queries/cq", "elsewhere"])
@pytest.mark.parametrize("command", [["build", "-o"], ["query", "plans", "--out-dir"]])
def test_a_build_folder_holding_other_files_is_refused(
    copy: Path, tmp_path: Path, where: str, command: list[str]
) -> None:
    """`kg build -o .`, `-o ontology` or `kg query plans --out-dir queries` wrote asserted.ttl,
    inferred.ttl, build.json, a store and network/ among the project's own files."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "notes.txt").write_text("mine", encoding="utf-8")
    target = tmp_path / "elsewhere" if where == "elsewhere" else copy / where
    before = sorted(p.name for p in target.iterdir())
    result = kg("--project", str(copy), *command, str(target))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "kg did not write" in result.output
    assert sorted(p.name for p in target.iterdir()) == before


def test_a_folder_a_killed_build_left_is_still_a_build_folder(copy: Path, tmp_path: Path) -> None:
    """A build killed before writing build.json leaves its store, cache and staged files: the
    next build into that folder goes ahead."""
    target = tmp_path / "out"
    target.mkdir()
    for name in ("store-0123456789abcdef", "cache", ".store-x.tmp"):
        (target / name).mkdir()
    (target / ".asserted.ttl.1.tmp").write_text("half", encoding="utf-8")
    result = kg("--project", str(copy), "build", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert (target / "build.json").is_file()


# -- a data file that is a broken symbolic link ----------------------------------------------
BROKEN_LINKS = {
    "self loop": [("loop.ttl", "loop.ttl")],
    "two-link loop": [("a.ttl", "b.ttl"), ("b.ttl", "a.ttl")],
    "dangling": [("gone.ttl", "nowhere.ttl")],
    "dangling, upper-case suffix": [("gone.TTL", "nowhere.ttl")],
    "dangling in a sub-folder": [("plans/gone.nt", "../missing/x.nt")],
}


@pytest.mark.parametrize("case", sorted(BROKEN_LINKS))
def test_a_broken_link_in_data_is_an_input_error(
    copy: Path, case: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """A link in a loop made `kg build` fail with an OSError traceback (exit 3); a dangling
    link was skipped without a word, dropping the data it was meant to bring in."""
    for name, target in BROKEN_LINKS[case]:
        (copy / "data" / name).symlink_to(target)
    with pytest.raises(BrokenLinkError):
        data_files_in(copy / "data", within=copy)
    result = kg("--project", str(copy), "build", "-o", str(copy / "dist"))
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.output and "Traceback" not in result.output
    assert BROKEN_LINKS[case][0][0].split("/")[-1] in result.output


def test_a_link_to_a_folder_with_a_data_name_is_not_data(copy: Path) -> None:
    (copy / "data" / "folder.ttl").symlink_to(copy / "ontology")
    assert copy / "data" / "folder.ttl" not in data_files_in(copy / "data", within=copy)


# -- rdflib's own warnings about an escaped local name are not shown -------------------------
@pytest.mark.parametrize("escape", list(".-~!$&=/?@_*+,;'()"))
def test_an_escaped_local_name_prints_no_rdflib_warning(
    copy: Path, escape: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`SELECT * { ?s tip:a\\-b ?o }` printed rdflib's "… does not look like a valid URI,
    trying to serialize this will break." twice on stderr (the query itself is fine)."""
    text = f"SELECT * WHERE {{ ?s tip:a\\{escape}b ?o }}"
    with caplog.at_level(logging.WARNING):
        result = kg_input(text, "--project", str(copy), "query", "-", "-f", "csv")
    assert result.exit_code == 0, result.output
    assert not [r for r in caplog.records if "valid URI" in r.getMessage()]


def kg_input(text: str, *args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, list(args), input=text, catch_exceptions=False)


# -- a user name Basic authentication cannot carry -------------------------------------------
@settings(max_examples=examples(40), deadline=None)
@given(
    before=st.text(
        st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1
    ),
    after=st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
)
def test_a_user_name_with_a_colon_is_refused_without_showing_it(before: str, after: str) -> None:
    """KG_ENDPOINT_USER='a:b' was sent as "a:b:password": the server reads user "a" and
    password "b:password", and the user saw only a 401."""
    user = before + ":" + after + "SECRET"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KG_ENDPOINT_USER", user)
        patch.setenv("KG_ENDPOINT_PASSWORD", "pw")
        with pytest.raises(BadEndpointError) as caught:
            _credentials()
    assert "SECRET" not in str(caught.value) and "KG_ENDPOINT_USER" in str(caught.value)


def test_a_user_name_with_a_colon_is_exit_2_on_the_command_line(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KG_ENDPOINT_USER", "name:SECRET")
    for args in (["query", "plans"], ["push"]):
        result = kg("--project", str(copy), *args, "--endpoint", "http://127.0.0.1:9/")
        assert result.exit_code == 2, result.output
        assert "SECRET" not in result.output and "':'" in result.output


def test_an_unreachable_endpoint_is_reported_without_a_python_class_name(copy: Path) -> None:
    """`kg query plans --endpoint http://127.0.0.1:9/` said "the query failed:
    EndpointUnreachableError: POST …" (the child process passed the class name along)."""
    result = kg("--project", str(copy), "query", "plans", "--endpoint", "http://127.0.0.1:9/")
    assert result.exit_code == 2, result.output
    assert "cannot reach the endpoint" in result.output
    assert "Error:" not in result.output.replace("error:", "")


@pytest.mark.parametrize("where", ["given", "shared"])
def test_validate_with_a_loop_of_links_is_exit_2(copy: Path, tmp_path: Path, where: str) -> None:
    """`kg validate loop.ttl` (a link to itself) raised RuntimeError("Symlink loop …") from
    Path.resolve: exit 3 with a traceback. A loop among data/'s shared files did the same."""
    plan = sorted((copy / "data" / "plans").glob("*.ttl"))[0]
    loop = (tmp_path if where == "given" else copy / "data") / "loop.ttl"
    loop.symlink_to(loop.name)
    files = [str(loop)] if where == "given" else [str(plan)]
    result = CliRunner().invoke(cli, ["--project", str(copy), "validate", *files])
    assert result.exit_code == 2, result.output
    assert "loop.ttl" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("below", ["file", "loop", "dangling"])
@pytest.mark.parametrize("command", [["build", "-o"], ["query", "plans", "--out-dir"]])
def test_a_build_folder_below_a_file_or_broken_link_is_exit_2(
    copy: Path, tmp_path: Path, below: str, command: list[str]
) -> None:
    """`kg build -o FILE/sub` (or below a loop of links) failed in mkdir with
    NotADirectoryError / RuntimeError: exit 3 with a traceback."""
    top = tmp_path / below
    if below == "file":
        top.write_text("x", encoding="utf-8")
    elif below == "loop":
        top.symlink_to(top.name)
    else:
        top.symlink_to(tmp_path / "nowhere" / "deeper")
    for target in (top, top / "sub", top / "a" / "b"):
        result = CliRunner().invoke(cli, ["--project", str(copy), *command, str(target)])
        assert result.exit_code == 2, (target, result.output)
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "md"])
@pytest.mark.parametrize(
    ("text", "answer"), [("ASK {}", "true"), ("ASK { FILTER(false) }", "false")]
)
def test_an_ask_query_answers_in_every_format(copy: Path, fmt: str, text: str, answer: str) -> None:
    """`echo 'ASK {}' | kg query - -f csv` failed in rdflib's CSV serializer ("can only
    serialize select query results"): exit 3 with a traceback."""
    result = kg_input(text, "--project", str(copy), "query", "-", "-f", fmt)
    assert result.exit_code == 0, result.output
    assert answer in result.output
    # the same text as kg serve sends for that format (Jena's one-column table for CSV/TSV)
    header = {"csv": "_askResult\n", "tsv": "?_askResult\n"}.get(fmt, "")
    if fmt != "json":
        assert result.output == header + answer + "\n"


ILL_TYPED = [
    ('"x"', "integer"),
    ('"2021-02-30"', "date"),
    ('"maybe"', "boolean"),
    ('"1.2.3"', "decimal"),
    ('"25:00:00"', "time"),
    ('"abc"', "dateTime"),
]


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "md"])
@pytest.mark.parametrize("form", ["SELECT ?x WHERE", "CONSTRUCT { <urn:a> <urn:p> ?x } WHERE"])
def test_an_ill_typed_literal_in_an_answer_logs_no_rdflib_traceback(
    copy: Path, fmt: str, form: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A query answering "2021-02-30"^^xsd:date printed rdflib's "Failed to convert Literal
    lexical form to value" with a ValueError traceback for each literal (exit 0)."""
    values = " ".join(f"{v}^^<http://www.w3.org/2001/XMLSchema#{t}>" for v, t in ILL_TYPED)
    text = f"{form} {{ VALUES ?x {{ {values} }} }}"
    with caplog.at_level(logging.WARNING):
        result = kg_input(text, "--project", str(copy), "query", "-", "-f", fmt)
    assert result.exit_code == 0, result.output
    assert not [r for r in caplog.records if r.name.startswith("rdflib")]
    assert "Traceback" not in result.output


def test_an_ill_typed_literal_made_in_the_query_process_logs_nothing(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    values = " ".join(f"{v}^^<http://www.w3.org/2001/XMLSchema#{t}>" for v, t in ILL_TYPED)
    with caplog.at_level(logging.WARNING):
        result = run_here(store, user_query(f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} }}"))
    assert len(result.rows) == len(ILL_TYPED)
    assert not [r for r in caplog.records if r.name.startswith("rdflib")]


@pytest.mark.parametrize(
    "accept",
    [
        "application/sparql-results+json",
        "text/csv",
        "text/tab-separated-values",
        "application/sparql-results+xml",
        "text/turtle",
        "application/n-triples",
    ],
)
def test_serve_logs_no_rdflib_traceback_for_an_ill_typed_answer(
    loopback_server: SparqlServer, accept: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's console showed rdflib's conversion traceback for every ill-typed literal
    in an answer (on unpickling the child's answer and in the serializers)."""
    values = " ".join(f"{v}^^<http://www.w3.org/2001/XMLSchema#{t}>" for v, t in ILL_TYPED)
    graph = accept in ("text/turtle", "application/n-triples")
    form = "CONSTRUCT { <urn:a> <urn:p> ?x } WHERE" if graph else "SELECT ?x WHERE"
    query = f"{form} {{ VALUES ?x {{ {values} }} }}"
    path = "/sparql?" + urlencode({"query": query})
    with caplog.at_level(logging.WARNING):
        headers = [("Host", "127.0.0.1"), ("Accept", accept)]
        status, _, _ = one_response(get_with(loopback_server, path, headers))
    assert status == 200
    assert not [r for r in caplog.records if r.name.startswith("rdflib")]


@pytest.mark.parametrize(
    ("version", "status"),
    [("HTTP/2.0", 505), ("HTTP/3.0", 505), ("HTTP/1.x", 400), ("HTTP/1", 400), ("FTP/1.0", 400)],
)
def test_a_bad_protocol_version_gets_a_readable_http_answer(
    loopback_server: SparqlServer, version: str, status: int
) -> None:
    """`GET /sparql HTTP/2.0` was answered with a bare HTML body: no status line, no headers."""
    data = f"GET /sparql {version}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = exchange(loopback_server, data.encode("latin-1"))
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:120]


# -- a misspelt ontology term in a data file ---------------------------------------------------
TIP = "https://w3id.org/tokyo-industry-plans/ontology#"


@settings(max_examples=examples(30), deadline=None)
@given(suffix=st.sampled_from(["s", "x", "_", "2", "Typo"]), kind=st.sampled_from(["p", "class"]))
def test_a_misspelt_ontology_term_is_an_error_at_its_place(
    tmp_path_factory: pytest.TempPathFactory, ontology: Any, suffix: str, kind: str
) -> None:
    """`tip:themes` for `tip:theme` (or `a tip:Plna`) loaded without a word: the statements
    reached no shape and no query, and the plan silently lost its themes."""
    terms = schema_terms(ontology)
    name = ("theme" if kind == "p" else "Plan") + suffix
    assert TIP + name not in terms
    folder = tmp_path_factory.mktemp("typo")
    path = folder / "plan.ttl"
    statement = f"<plan/x> tip:{name} <theme/ec> ." if kind == "p" else f"<plan/x> a tip:{name} ."
    path.write_text(
        f"@prefix tip: <{TIP}> .\n@base <https://w3id.org/tokyo-industry-plans/id/> .\n"
        f"# 計画\n\n    {statement}\n",
        encoding="utf-8",
    )
    with pytest.raises(UnknownTermError) as caught:
        load_files([path], schema=terms)
    message = str(caught.value)
    assert f"{path}:5:" in message and f"tip:{name} " in message
    assert "tip:theme?" in message if kind == "p" else "tip:Plan?" in message


def test_validate_files_reads_a_shared_file_with_an_upper_case_suffix(copy: Path) -> None:
    """`kg validate PLAN` reads the shared files directly in data/ with the plan; one named
    X.TTL was left out (the build reads it), so a plan referring to it failed only there."""
    shared = copy / "data" / "local-governments.ttl"
    shared.rename(shared.with_suffix(".TTL"))
    plan = sorted((copy / "data" / "plans").glob("*.ttl"))[0]
    result = kg("--project", str(copy), "validate", str(plan))
    assert result.exit_code == 0, result.output


# -- paths the system cannot use are refused where they are given ----------------------------
def _path_parameters() -> list[tuple[str, click.Parameter]]:
    """(command, parameter) for every path the command line takes, the group's own included."""
    found = [("", p) for p in cli.params if isinstance(p.type, click.Path)]
    for name, command in sorted(cli.commands.items()):
        found += [(name, p) for p in command.params if isinstance(p.type, click.Path)]
    return found


PATH_PARAMETERS = _path_parameters()
PATH_IDS = [f"{name or 'kg'} {p.opts[0]}" for name, p in PATH_PARAMETERS]
NAME_MAX, PATH_MAX = 255, 4096
NOT_UTF8 = ["x\udcff", "\udc80", "台東\udce9.ttl", "dir/\udcc3(", "\udcef\udcbb"]
TOO_LONG = ["a" * (NAME_MAX + 1), "台" * 86, "x/" + "é" * 128, "ab/" * (PATH_MAX // 3 + 1)]


def _args_with(name: str, parameter: click.Parameter, value: str) -> list[str]:
    if not name:
        return [parameter.opts[0], value, "build"]
    if parameter.opts[0].startswith("-"):
        return [name, parameter.opts[0], value]
    return [name, "--", value]  # a positional: after '--', so a name starting '-' is a name


def test_every_path_on_the_command_line_is_a_user_path() -> None:
    from kgtools.cli import UserPath

    assert len(PATH_PARAMETERS) >= 13
    assert all(isinstance(p.type, UserPath) for _, p in PATH_PARAMETERS), PATH_IDS


@pytest.mark.parametrize(("name", "parameter"), PATH_PARAMETERS, ids=PATH_IDS)
def test_a_path_the_system_cannot_use_is_exit_2_and_makes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, parameter: click.Parameter
) -> None:
    """A name that is not UTF-8 (as Python decodes one from the command line) ended in an
    internal error in Oxigraph or a JSON manifest; a name longer than the system allows in an
    OSError from the first stat: both now stop where they are given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path.parent / f"{tmp_path.name}-cache"))
    for value, says in [
        *((v, "not a UTF-8 name") for v in NOT_UTF8),
        *((v, "too long") for v in TOO_LONG),
    ]:
        result = CliRunner().invoke(cli, _args_with(name, parameter, value))
        assert result.exit_code == 2, (value, result.output)
        assert says in result.output, (value, result.output)
        assert "Traceback" not in result.output
        assert isinstance(result.exception, SystemExit), value
        assert list(tmp_path.iterdir()) == [], value


@pytest.mark.parametrize(
    "name", ["a" * NAME_MAX, "台" * (NAME_MAX // 3), "é" * 127 + "a"], ids=["ascii", "cjk", "mixed"]
)
def test_an_export_to_the_longest_name_the_system_allows_is_written(
    copy: Path, tmp_path: Path, name: str
) -> None:
    """The file's temporary sibling was named after the whole name plus a dot and a random
    suffix, so a name of 255 bytes could never be written (the system refused the sibling)."""
    assert len(name.encode("utf-8")) == NAME_MAX
    target = tmp_path / "out" / name
    target.parent.mkdir()
    result = kg("--project", str(copy), "export", "-f", "nt", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert [p.name for p in target.parent.iterdir()] == [name]
    assert target.read_bytes().count(b"\n") > 1000


def test_a_query_named_longer_than_a_file_name_can_be_is_an_unknown_query(copy: Path) -> None:
    """`kg query NAME` first asks whether NAME is a file; for a name of 5,000 characters the
    system's refusal to look it up ended in an internal error."""
    for name in ["q" * 5000, "cq/" + "台" * 200, "a\x00b"]:
        result = kg("--project", str(copy), "query", name)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and "no query named" in result.output


@pytest.mark.parametrize("code", ["ENOSPC", "EDQUOT", "EACCES", "EROFS", "EFBIG"])
@pytest.mark.parametrize(
    "command",
    [["export", "-f", "nt", "-o", "OUT"], ["network", "-f", "json", "--csv", "OUT"]],
    ids=["export", "network --csv"],
)
def test_a_path_the_system_refuses_while_writing_is_exit_2_naming_it(
    copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], code: str
) -> None:
    """An OSError that names its file (a full disk, a quota, no permission: tests run as root,
    so the system is made to say so) is the user's to change, not a bug: exit 2, the path and
    the system's reason, no traceback, and the previous file kept."""
    out = tmp_path / "out.file"
    out.write_bytes(b"previous")

    def refused(*_args: object) -> None:
        number = getattr(errno, code)
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr("kgtools.files.os.fsync", refused)
    args = [str(out) if a == "OUT" else a for a in command]
    result = CliRunner().invoke(cli, ["--project", str(copy), *args])
    assert result.exit_code == 2, result.output
    assert f"error: {out}: " in result.output
    assert os.strerror(getattr(errno, code)) in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == [
        "out.file",
        "project",
    ]


def test_an_os_error_that_is_not_the_users_stays_an_internal_error(
    copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file kg made or ships that is gone (ENOENT) is a bug or a broken install: exit 3 with
    the traceback, not passed off as the user's mistake."""

    def gone(*_args: object, **_kwargs: object) -> None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), "/kg/own/file")

    monkeypatch.setattr("kgtools.cli._open_built", gone)
    result = CliRunner().invoke(cli, ["--project", str(copy), "export", "-f", "nt"])
    assert result.exit_code == 3, result.output
    assert "Traceback" in result.output and "internal error" in result.output
