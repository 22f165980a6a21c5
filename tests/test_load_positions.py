"""Every load error points at the exact line and column, counted in characters, in files full of
Japanese text: mistakes are made at known places in every data file of the project, and both
readers (the build's Oxigraph reader and the rdflib reader behind ``kg validate --pyshacl``)
must report exactly those places.

What "the true position" is, for each kind of mistake (lines and columns 1-based, columns in
characters — code points — as an editor shows them):

* missing ``;`` or ``.``: a parser can only see that one is missing when the next token arrives,
  so the true position is the first character of that next token (the message says that the
  punctuation before it is missing). Cases where the punctuation is optional (before ``]`` or
  ``.``) are not mistakes and are not generated;
* unbound prefix: the first character of the prefixed name (``foo:`` in ``foo:bar``);
* unterminated string: its opening quote;
* bad IRI (a space inside ``<…>``): the IRI's opening ``<``;
* relative IRI without ``@base``: the IRI's opening ``<``;
* ill-typed literal (``"2024-13-31"^^xsd:date`` …): its opening quote, even when the same text
  stands earlier in a comment.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph

from kgtools.errors import (
    BadIRIError,
    IllTypedLiteralError,
    InputError,
    RDFSyntaxError,
    RelativeIRIError,
)
from kgtools.load.fast import read_file
from kgtools.load.reference import parse_file
from kgtools.project import Project

from .conftest import examples

ROOT = Path(__file__).resolve().parent.parent
DATA_FILES = Project(ROOT).data_files()
#: Mistakes made per kind and file (spread over the file), to keep the suite fast.
PER_FILE = 10
ILL_TYPED = [
    ("2024-13-31", "date"),
    ("2021-02-30", "date"),
    ("R3", "gYear"),
    ("2021-13", "gYearMonth"),
    ("１２", "integer"),
    ("3.5", "integer"),
    ("1.2.3", "decimal"),
    ("maybe", "boolean"),
]

#: (kind, mutated text, line, column, error class, text the message must hold)
Case = tuple[str, str, int, int, type[InputError], str]


def _code(line: str) -> str:
    """The line up to its first string or comment (the data files hold no multi-line strings)."""
    return re.split(r"[\"#]", line, maxsplit=1)[0]


def _next_token(lines: list[str], after: int) -> tuple[int, int] | None:
    for number in range(after + 1, len(lines)):
        stripped = lines[number].strip()
        if stripped and not stripped.startswith("#"):
            return number + 1, len(lines[number]) - len(lines[number].lstrip()) + 1
    return None


def _spread(found: list[Case]) -> list[Case]:
    step = max(1, len(found) // PER_FILE)
    return found[::step][:PER_FILE]


def cases(path: Path) -> Iterator[Case]:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    has_xsd = "@prefix xsd:" in text

    def replaced(number: int, new: str) -> str:
        return "\n".join([*lines[:number], new, *lines[number + 1 :]])

    for ending, kind in ((";", "missing ;"), (".", "missing .")):
        found = []
        for number, line in enumerate(lines):
            if line.lstrip().startswith("#") or not line.rstrip().endswith(" " + ending):
                continue
            token = _next_token(lines, number)
            if token is None or lines[token[0] - 1].lstrip()[0] in ".]":
                continue
            cut = line.rstrip()[:-1]
            gap = f"missing before this, at line {number + 1}, column {len(cut.rstrip()) + 1} "
            found.append((kind, replaced(number, cut), *token, RDFSyntaxError, gap))
        yield from _spread(found)

    found = []
    for number, line in enumerate(lines):
        if line.lstrip().startswith("@"):
            continue
        for match in re.finditer(r"(?<![\w:<@\-])([a-z]+):(?=[A-Za-z])", _code(line)):
            new = line[: match.start()] + match.group(1) + "zz" + line[match.end(1) :]
            found.append(("unbound prefix", replaced(number, new), number + 1, match.start() + 1))
            break
    yield from _spread([(*c, RDFSyntaxError, "") for c in found])  # type: ignore[misc]

    found = []
    for number, line in enumerate(lines):
        if line.lstrip().startswith("#") or '"' not in line:
            continue
        last = line.rindex('"')
        opening = line.rindex('"', 0, last)
        new = line[:last] + line[last + 1 :]
        found.append(("unterminated string", replaced(number, new), number + 1, opening + 1))
    yield from _spread([(*c, RDFSyntaxError, "") for c in found])  # type: ignore[misc]

    found = []
    for number, line in enumerate(lines):
        match = re.search(r"<[^>]{2,}>", _code(line))
        if match is None:
            continue
        start = match.start()
        new = line[: start + 2] + " " + line[start + 2 :]
        found.append(("bad IRI", replaced(number, new), number + 1, start + 1))
    yield from _spread([(*c, BadIRIError, "") for c in found])  # type: ignore[misc]

    found = []
    for number, line in enumerate(lines):
        match = re.search(r'"(?:[^"\\]|\\.)*"@(ja|en)', line)  # (escapes inside, as Turtle has)
        if match is None or line.lstrip().startswith("#"):
            continue
        lexical, datatype = ILL_TYPED[len(found) % len(ILL_TYPED)]
        written = f"xsd:{datatype}" if has_xsd else f"<http://www.w3.org/2001/XMLSchema#{datatype}>"
        new = line[: match.start()] + f'"{lexical}"^^{written}' + line[match.end() :]
        # the same text in a comment before it must not be taken for it
        comment = f'# not this one: "{lexical}"^^{written}'
        mutated = "\n".join([*lines[:number], comment, new, *lines[number + 1 :]])
        found.append(("ill-typed literal", mutated, number + 2, match.start() + 1))
    yield from _spread([(*c, IllTypedLiteralError, "") for c in found])  # type: ignore[misc]


ALL_CASES = [(path, case) for path in DATA_FILES for case in cases(path)]


def test_every_kind_of_mistake_is_made_in_every_data_file() -> None:
    assert len(DATA_FILES) >= 9
    made = Counter((path.name, case[0]) for path, case in ALL_CASES)
    kinds = {case[0] for _, case in ALL_CASES}
    assert kinds == {
        "missing ;",
        "missing .",
        "unbound prefix",
        "unterminated string",
        "bad IRI",
        "ill-typed literal",
    }
    plans = [p for p in DATA_FILES if p.parent.name == "plans"]
    for path in plans:  # the plan files have every kind, several times (once at least in a
        # plan known only by its approval, which has few literals)
        least = 3 if "tip:Initiative" in path.read_text(encoding="utf-8") else 1
        for kind in kinds:
            assert made[path.name, kind] >= least, (path.name, kind)
    assert len(ALL_CASES) >= 250


@pytest.mark.parametrize("path", DATA_FILES, ids=[p.name for p in DATA_FILES])
def test_both_readers_report_the_true_line_and_column(path: Path, tmp_path: Path) -> None:
    target = tmp_path / path.name
    checked = 0
    for kind, text, line, column, error, note in (case for p, case in ALL_CASES if p == path):
        target.write_text(text, encoding="utf-8")
        for reader in (lambda: read_file(target), lambda: parse_file(target, Graph())):
            with pytest.raises(error) as info:
                reader()
            where = (info.value.location.line, info.value.location.column)
            assert where == (line, column), (kind, info.value)
            assert f"{target}:{line}:{column}: " in str(info.value)
            assert note in str(info.value)
        checked += 1
    assert checked >= 10


def test_toshima_lines_from_the_bug_report_are_exact(tmp_path: Path) -> None:
    """Removing the ';' at the end of line 107 was reported at line 87 (a comment)."""
    source = ROOT / "data/plans/131164-2021-toshima.ttl"
    lines = source.read_text(encoding="utf-8").split("\n")
    target = tmp_path / source.name
    # (the report named lines 17 … 131 of an earlier version; every fourth ';' of the file now)
    numbers = [i + 1 for i, line in enumerate(lines) if line.endswith(";")][::4]
    assert len(numbers) > 10
    for number in numbers:
        cut = [*lines[: number - 1], lines[number - 1][:-1], *lines[number:]]
        target.write_text("\n".join(cut), encoding="utf-8")
        expected = _next_token(cut, number - 1)
        with pytest.raises(RDFSyntaxError) as info:
            read_file(target)
        assert (info.value.location.line, info.value.location.column) == expected
        assert "missing" in str(info.value)


@pytest.mark.parametrize("line_break", ["\n", "\r\n"])
@pytest.mark.parametrize("padding", ["", "テスト", "𠀋𡈽", "é"])
def test_columns_count_characters_not_bytes(tmp_path: Path, padding: str, line_break: str) -> None:
    """Japanese (3 bytes in UTF-8), characters beyond the BMP (4 bytes; 2 UTF-16 units) and
    Latin accents before the mistake do not move it."""
    text = (
        "@prefix ex: <https://w3id.org/tokyo-industry-plans/test/> .",
        f'ex:a ex:b "{padding}"@ja ; ex:c "{padding}" ; foo:d ex:e .',
    )
    target = tmp_path / "p.ttl"
    target.write_text(line_break.join(text) + line_break, encoding="utf-8")
    column = text[1].index("foo:") + 1
    for reader in (lambda: read_file(target), lambda: parse_file(target, Graph())):
        with pytest.raises(RDFSyntaxError) as info:
            reader()
        assert (info.value.location.line, info.value.location.column) == (2, column)


@pytest.mark.parametrize("path", DATA_FILES, ids=[p.name for p in DATA_FILES])
def test_relative_iris_without_base_are_refused_at_their_place(path: Path, tmp_path: Path) -> None:
    """Without its @base line, a data file's relative IRIs would become file: IRIs naming this
    machine's folder; both readers refuse the first one, at its '<'."""
    lines = path.read_text(encoding="utf-8").split("\n")
    base = [n for n, line in enumerate(lines) if line.startswith("@base")]
    assert len(base) == 1
    lines[base[0]] = "# (no @base)"
    expected = next(
        (number + 1, match.start() + 1)
        for number, line in enumerate(lines)
        for match in re.finditer(r"<([^>]*)>", _code(line))
        if not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:", match.group(1))
    )
    target = tmp_path / path.name
    target.write_text("\n".join(lines), encoding="utf-8")
    for reader in (lambda: read_file(target), lambda: parse_file(target, Graph())):
        with pytest.raises(RelativeIRIError, match="add @base") as info:
            reader()
        assert (info.value.location.line, info.value.location.column) == expected
        assert "file:" in str(info.value)


# -- generated files: any text before the mistake ------------------------------------------------
_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters='"\\'
    ),
    max_size=12,
)


@settings(max_examples=examples(60), deadline=None)
@given(
    texts=st.lists(st.tuples(_TEXT, st.booleans()), min_size=2, max_size=6),
    kind=st.sampled_from(["unbound prefix", "missing .", "unterminated string"]),
    at=st.integers(min_value=0, max_value=5),
    line_break=st.sampled_from(["\n", "\r\n"]),
)
def test_generated_files_report_the_true_position(
    tmp_path_factory: pytest.TempPathFactory,
    texts: list[tuple[str, bool]],
    kind: str,
    at: int,
    line_break: str,
) -> None:
    """Statements whose strings hold any characters (Japanese, beyond the BMP, combining marks),
    with comments (which may hold quotes and '#') between them."""
    lines = ["@prefix ex: <https://w3id.org/tokyo-industry-plans/test/> ."]
    statements = []
    for n, (text, comment) in enumerate(texts):
        if comment:
            lines.append(f'# "{text}" # {text}')
        statements.append(len(lines))
        lines.append(f'ex:s{n} ex:p "{text}"@ja , "{text}" .')
    k = statements[at % len(statements)]
    line = lines[k]
    if kind == "unbound prefix":
        lines[k] = line.replace(" ex:p ", " zz:p ", 1)
        expected = (k + 1, line.index(" ex:p ") + 2)
    elif kind == "missing .":
        if k == statements[-1]:
            k = statements[-2]
            line = lines[k]
        lines[k] = line[: -len(" .")]
        following = statements[statements.index(k) + 1]
        expected = (following + 1, 1)
    else:
        closing = line.rindex('"')
        lines[k] = line[:closing] + line[closing + 1 :]
        expected = (k + 1, line.rindex('"', 0, closing) + 1)
    target = tmp_path_factory.mktemp("gen") / "g.ttl"
    target.write_bytes(line_break.join(lines).encode("utf-8") + line_break.encode())
    for reader in (lambda: read_file(target), lambda: parse_file(target, Graph())):
        with pytest.raises(RDFSyntaxError) as info:
            reader()
        assert (info.value.location.line, info.value.location.column) == expected, kind


@pytest.mark.parametrize(
    "written",
    ['a\\"b', "a\\u0022b", "a\\U00000022b", "x\\ny", "\\u00e9\\t", "\\\\"],
)
def test_an_ill_typed_literal_written_with_escapes_is_located(tmp_path: Path, written: str) -> None:
    """The position of an ill-typed literal was searched for by its lexical form as stored, which
    an escape in the file (a quote written \\", a \\u escape) does not match: no line at all."""
    target = tmp_path / "p.ttl"
    target.write_text(
        "@prefix ex: <https://w3id.org/tokyo-industry-plans/test/> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        f'ex:a ex:b "ok" ;\n    ex:c "{written}"^^xsd:decimal .\n',
        encoding="utf-8",
    )
    for reader in (lambda: read_file(target), lambda: parse_file(target, Graph())):
        with pytest.raises(IllTypedLiteralError) as info:
            reader()
        assert (info.value.location.line, info.value.location.column) == (4, 10)
