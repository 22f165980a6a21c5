"""``kg query --list`` shows each query's columns and ``kg query NAME --describe`` its header;
the columns are read from the projection without a full parse, and held to rdflib's parser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from kgtools.cli import cli
from kgtools.query.library import QueryLibrary, prepared_query, result_columns

from .conftest import ROOT, examples

LIBRARY = QueryLibrary(ROOT / "queries")


def _rdflib_columns(
    text: str, prepare: Callable[[str], Query] = prepareQuery
) -> tuple[str, ...] | None:
    algebra = prepare(text).algebra
    if algebra.name != "SelectQuery":
        return None
    return tuple(str(v) for v in algebra["PV"])


@pytest.mark.parametrize("name", LIBRARY.names())
def test_columns_of_every_library_query_equal_rdflibs(name: str) -> None:
    """(rdflib's prepared query of a library text as kgtools keeps it in a process, which
    another test in this worker may have made already: a parse takes 0.1–0.25 s.)"""
    query = LIBRARY.get(name)
    assert query.columns == _rdflib_columns(query.text, prepared_query)


_VARIABLE = st.from_regex(r"[a-z][a-zA-Z0-9_]{0,6}", fullmatch=True)
_NOISE = st.sampled_from(
    [
        "",
        "# ?hidden WHERE { (\n",
        '"?notavar WHERE"',
        "'{ ?x AS ?y }'",
        "<http://example.org/a#?b>",
    ]
)


@st.composite
def _projection(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A SELECT with plain and ``(expr AS ?v)`` columns, comments and strings in between."""
    names = draw(st.lists(_VARIABLE, min_size=1, max_size=5, unique=True))
    parts = []
    for name in names:
        if draw(st.booleans()):
            inner = draw(st.sampled_from(["?s", "STR(?s)", "(1 + (2 * 3))", 'CONCAT("(", ?s)']))
            parts.append(f"({inner} AS ?{name})")
        else:
            parts.append(f"?{name}")
        parts.append(draw(_NOISE).replace('"?notavar WHERE"', ""))  # (strings only in exprs)
    modifier = draw(st.sampled_from(["", "DISTINCT ", "REDUCED "]))
    comment = draw(st.sampled_from(["", "# SELECT ?decoy WHERE {}\n"]))
    keyword = draw(st.sampled_from(["WHERE {", "{"]))
    head = "\n".join(p for p in parts if p.strip() and not p.startswith(("'", '"', "<")))
    text = f"{comment}SELECT {modifier}{head}\n{keyword} ?s ?p ?o . BIND(?s AS ?t) }}"
    return text, names


@settings(max_examples=examples(60), deadline=None)
@given(_projection())
def test_columns_of_generated_projections_equal_rdflibs(case: tuple[str, list[str]]) -> None:
    text, names = case
    assert result_columns(text) == _rdflib_columns(text) == tuple(names)


@pytest.mark.parametrize(
    "text",
    [
        "ASK { ?s ?p ?o }",
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "DESCRIBE ?s WHERE { ?s ?p ?o }",
        "SELECT * WHERE { ?s ?p ?o }",
    ],
)
def test_forms_without_named_columns(text: str) -> None:
    assert result_columns(text) is None


def test_list_shows_every_querys_columns() -> None:
    result = CliRunner().invoke(cli, ["--project", str(ROOT), "query", "--list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name in LIBRARY.names():
        (index,) = [i for i, line in enumerate(lines) if line.startswith(name + " ")]
        columns = LIBRARY.get(name).columns
        assert columns is not None
        assert lines[index + 1].strip() == "→ " + ", ".join(columns)


def test_describe_prints_the_header_and_columns_without_a_build(tmp_path: Path) -> None:
    out = tmp_path / "no-dist"
    args = ["--project", str(ROOT), "query", "cashless", "--describe", "--out-dir", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = LIBRARY.get("cashless").text.splitlines()
    header = text[: next(i for i, line in enumerate(text) if not line.startswith("#"))]
    assert header[0].startswith("# title: ") and len(header) > 3
    assert result.output.splitlines()[:-1] == header
    assert result.output.splitlines()[-1] == (
        "# columns: code, municipality, period, planLevel, initiatives, programmes"
    )
    assert not out.exists()  # nothing was built
