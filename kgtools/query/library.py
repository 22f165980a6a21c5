"""The query library: SPARQL lives in ``.rq`` files, found by name (:class:`QueryLibrary`:
``plans`` or ``cq/plans`` under ``queries/``); this module reads their headers, and has rdflib
prepare a query only when it must run on rdflib (once per distinct text in a process). The
toolkit's own queries and updates live in ``kgtools/sparql/`` (:func:`system_query_path`).

Each file starts with a comment header::

    # title: 日本語の題 / English title
    # description: what question it answers
    # parameters:
    #   ?code (literal) — a 6-digit local government code
    #   ?q (literal, optional) — an optional parameter may be left unbound
    #   ?code (literal; domain: domains/municipality-codes) — a value the graph must hold
    #   ?name (label) — a label: "北区" matches "北区"@ja
    #   ?lang (language) — the language of the labels in the answer, bound by the tool
    #   ?fy (integer) — a whole number in ASCII digits, bound as an xsd:integer
    #   ?q (text) — a text to look for: a literal that must not be empty
    #   ?codes (list; domain: domains/municipality-codes) — comma-separated values, each
    #     checked as a single value would be, bound as the rows of a VALUES block
    # column titles:
    #   ?code — 団体コード / Code
    # aliases: fy2023 (fy=2023)

A ``language`` parameter (by convention ``?lang``) is how a query shows labels in the asked
language: the tool binds it to ``"ja"`` (the default) or ``"en"`` (``kg query --lang``), and the
query keeps a label where ``LANG(?label) = ?lang``. ``column titles`` name the columns for people
(``kg query --lang`` headers in a table or Markdown; machine formats keep the variable names).

A parameter's note names its kind (``literal``, ``IRI``, ``label``, ``integer``, ``text`` or
``list``)
and, where its values are known, a *domain*: a library query whose first column lists them
(``kg query`` refuses a value outside it and lists the valid ones). A ``label`` parameter
matches labels in any language; an ``integer`` one takes ASCII digits only; a ``text`` one (a
text to look for) refuses the empty text, which every text contains; a ``list`` one takes
comma-separated values, each checked like a single value of the parameter (domain included).

``aliases`` gives other names the query answers to with some parameters fixed: ``fy2023
(fy=2023)`` makes ``kg query fy2023`` the query with ``-p fy=2023``, so that a fixed query replaced
by a parameterised one keeps its name without a second copy of its text.

Values always enter through bindings (``initBindings``), never through string formatting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools.errors import QueryError, QuerySyntaxError, UnknownQueryError
from kgtools.files import is_file
from kgtools.load.checks import quiet_rdflib_term_warnings
from kgtools.memo import BoundedMemo
from kgtools.query.safety import (
    _TOO_DEEP,
    _may_use_undeclared_prefixes,
    canonical_text,
    checked_text,
    deep_call,
    plainly_safe,
)

if TYPE_CHECKING:  # rdflib's SPARQL engine takes ~0.1 s to import: only where a query is prepared
    from rdflib.plugins.sparql.sparql import Query

_HEADER_KEYS = ("title", "description", "parameters", "column titles", "aliases")

#: The languages every node has a label in; a ``language`` parameter takes one of them.
LANGUAGES = ("ja", "en")
#: The language of the answer when none is asked for (the sources are Japanese).
DEFAULT_LANGUAGE = "ja"


@dataclass(frozen=True)
class QueryFile:
    """A query with its parsed header; rdflib's prepared form is made when first asked for.

    The embedded store runs the text itself (Oxigraph parses it), so a command that only runs a
    query on it never pays for rdflib's parser (a quarter of a second on a long query).
    """

    path: Path
    text: str
    title: str
    description: str
    parameters: tuple[str, ...]
    #: Declared parameters marked ``(…, optional)`` in the header; the others are required.
    optional: frozenset[str] = frozenset()
    #: Each declared parameter's kind, the note's first word (``literal``, ``IRI``, ``label``).
    kinds: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    #: Declared parameters with a known domain: the library query (by name) that lists it.
    domains: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    #: Each column's title for people, ``{variable: (Japanese, English)}`` (``# column titles:``).
    column_titles: Mapping[str, tuple[str, str]] = field(
        default_factory=dict, hash=False, compare=False
    )
    #: ``# aliases:``: each other name of the query, with the parameter values it fixes (as
    #: ``--param`` text), ``{"fy2023": {"fy": "2023"}}``.
    aliases: Mapping[str, Mapping[str, str]] = field(
        default_factory=dict, hash=False, compare=False
    )
    #: The alias this query was asked for by (``None``: its own name) and the values it fixes.
    alias: str | None = None
    preset: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def languages(self) -> frozenset[str]:
        """Declared parameters of kind ``language`` (``?lang``): bound by the tool, never
        required of the user."""
        return frozenset(name for name, kind in self.kinds.items() if kind.lower() == "language")

    def title_in(self, lang: str) -> str:
        """The title in one language: ``日本語 / English`` split at its slash (the whole title
        when it has no such split)."""
        return _in_language(self.title, lang)

    def headers(self, variables: list[str], lang: str) -> list[str]:
        """Column headers in ``lang``: each variable's title, or the variable where none."""
        index = LANGUAGES.index(lang)
        return [self.column_titles[v][index] if v in self.column_titles else v for v in variables]

    @property
    def prepared(self) -> Query:
        """rdflib's prepared query (parsed once per distinct text in a process)."""
        return prepared_query(self.text)

    @property
    def columns(self) -> tuple[str, ...] | None:
        """The result's columns, in order (:func:`result_columns`)."""
        return result_columns(self.text)

    @property
    def body(self) -> str:
        """The query without its comment lines."""
        return "\n".join(
            line for line in self.text.splitlines() if not line.lstrip().startswith("#")
        )


def _header_blocks(text: str) -> list[tuple[str, list[str]]]:
    """The header's ``# key: value`` fields in order, each with its lines: the value on the
    key's line, then each non-empty continuation line (comment marker and spaces stripped)."""
    blocks: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line[1:].strip()
        key, sep, rest = body.partition(":")
        if sep and key in _HEADER_KEYS:
            blocks.append((key, [rest.strip()]))
        elif blocks and body:
            blocks[-1][1].append(body)
    return blocks


def parse_header(text: str) -> dict[str, str]:
    """The ``# key: value`` header fields; continuation lines are joined to the last key."""
    return {key: " ".join(lines).strip() for key, lines in _header_blocks(text)}


#: rdflib's prepared queries by text (:func:`prepared_query`).
_PREPARED: BoundedMemo[str, Query] = BoundedMemo(512)


def prepared_query(text: str, parsed: Any = None) -> Query:
    """``prepareQuery(text)``, kept by text (:class:`~kgtools.memo.BoundedMemo`); ``parsed``:
    rdflib's parse of the text when the caller has made it already (to check the query), so it
    is not parsed again."""
    query = _PREPARED.get(text)
    if query is not None:
        return query
    if parsed is None:
        from rdflib.plugins.sparql import prepareQuery

        query = prepareQuery(text)
    else:
        query = _prepare_parsed(text, parsed)
    _PREPARED.put(text, query)
    return query


def _prepare_parsed(text: str, parsed: Any) -> Query:
    """What ``prepareQuery(text)`` returns, from ``parseQuery(text)`` already made (rdflib's
    parser takes a quarter of a second on a long query: a command should not run it twice)."""
    from rdflib.plugins.sparql.algebra import translateQuery

    query = translateQuery(parsed, None, {})
    query._original_args = (text, {}, None)  # as prepareQuery records them
    return query


def _in_language(text: str, lang: str) -> str:
    japanese, sep, english = text.partition(" / ")
    if not sep:
        return text
    return japanese.strip() if lang == "ja" else english.strip()


#: ``?col — 日本語 / English`` (one per line; the dash may be an em dash or a hyphen).
_COLUMN_TITLE = re.compile(r"\?([A-Za-z_]\w*)\s+(?:\u2014|--?)\s+(.+?)\s+/\s+(.+?)\s*$")


def column_titles(text: str) -> dict[str, tuple[str, str]]:
    """The ``# column titles:`` block of a query's header, one ``?col — 日本語 / English`` a
    line, as ``{col: (Japanese, English)}``."""
    titles: dict[str, tuple[str, str]] = {}
    for key, lines in _header_blocks(text):
        if key == "column titles":
            for line in lines[1:]:
                if match := _COLUMN_TITLE.match(line):
                    titles[match.group(1)] = (match.group(2), match.group(3))
    return titles


#: ``name (p=v, q=w)``, one alias a line (or several on one line).
_ALIAS = re.compile(r"([A-Za-z0-9_.-]+)\s*\(([^)]*)\)")


def aliases(text: str) -> dict[str, dict[str, str]]:
    """The ``# aliases:`` field of a query's header: ``fy2023 (fy=2023)`` →
    ``{"fy2023": {"fy": "2023"}}`` (the values as ``--param`` text)."""
    found: dict[str, dict[str, str]] = {}
    for key, lines in _header_blocks(text):
        if key == "aliases":
            for name, given in _ALIAS.findall(" ".join(lines)):
                pairs = (p.strip().partition("=") for p in given.split(",") if p.strip())
                found[name] = {k.strip(): v.strip() for k, _, v in pairs}
    return found


_KIND = re.compile(r"\(\s*([A-Za-z]+)")
_DOMAIN = re.compile(r"\bdomain:\s*([\w./-]+)")


def query_from_text(text: str, path: Path, *, parsed: Any = None) -> QueryFile:
    """A query from SPARQL text with a header; ``parsed``: rdflib's parse of it, when the caller
    has made it already (to check the query): it is then prepared from that parse at once."""
    header = parse_header(text)
    declared = re.findall(r"\?([A-Za-z_]\w*)\s*(\([^)]*\))?", header.get("parameters", ""))
    parameters = tuple(dict.fromkeys(name for name, _ in declared))
    optional = frozenset(name for name, note in declared if "optional" in note)
    kinds = {name: m.group(1) for name, note in declared if (m := _KIND.match(note))}
    domains = {name: m.group(1) for name, note in declared if (m := _DOMAIN.search(note))}
    if parsed is not None:
        prepared_query(text, parsed)  # from the check's parse: never parsed twice
    return QueryFile(
        path=path,
        text=text,
        title=header.get("title", path.stem),
        description=header.get("description", ""),
        parameters=parameters,
        optional=optional,
        kinds=kinds,
        domains=domains,
        column_titles=column_titles(text) if "column titles:" in text else {},
        aliases=aliases(text) if "aliases:" in text else {},
    )


def load_query(path: Path) -> QueryFile:
    """Read one ``.rq`` file (prepared by rdflib when first asked for)."""
    return query_from_text(path.read_text(encoding="utf-8"), path)


#: The toolkit's own queries and updates (``kgtools/sparql/``), shipped inside the package.
SYSTEM_QUERIES = Path(__file__).resolve().parent.parent / "sparql"


def system_query_path(name: str) -> Path:
    """The path of the toolkit's own query or update ``name`` (e.g. ``"warm-up.rq"``)."""
    return SYSTEM_QUERIES / name


class QueryLibrary:
    """The ``.rq`` files below one folder, addressed by stem or by relative path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def files(self) -> list[Path]:
        return sorted(self.root.rglob("*.rq")) if self.root.is_dir() else []

    def names(self) -> list[str]:
        return [p.relative_to(self.root).with_suffix("").as_posix() for p in self.files()]

    def path(self, name: str) -> Path:
        wanted = name.removesuffix(".rq")
        exact = self.root / f"{wanted}.rq"
        if is_file(exact):
            return exact
        matches = [p for p in self.files() if p.stem == wanted]
        if len(matches) == 1:
            return matches[0]
        if matches:
            options = ", ".join(
                p.relative_to(self.root).with_suffix("").as_posix() for p in matches
            )
            raise UnknownQueryError(f"query name '{name}' is ambiguous: use one of {options}")
        raise UnknownQueryError(
            f"no query named '{name}' in {self.root}: `kg query --list` shows the library"
        )

    def aliases(self) -> dict[str, tuple[str, Mapping[str, str]]]:
        """Every alias (``# aliases:``), named in its query's folder (``cq/fy2023``): the
        query's name and the parameter values the alias fixes."""
        found: dict[str, tuple[str, Mapping[str, str]]] = {}
        for path in self.files():
            text = read_query_file(path)
            if "aliases:" not in text:
                continue
            name = path.relative_to(self.root).with_suffix("").as_posix()
            folder = name.rpartition("/")[0]
            for alias, preset in aliases(text).items():
                found[f"{folder}/{alias}" if folder else alias] = (name, preset)
        return found

    def get(self, name: str) -> QueryFile:
        """The query named ``name`` (a file's stem or relative path), or the query an alias
        names, with the alias and the values it fixes (:attr:`QueryFile.preset`)."""
        try:
            path = self.path(name)
        except UnknownQueryError:
            wanted = name.removesuffix(".rq")
            known = self.aliases()
            matches = [a for a in known if a == wanted or a.rpartition("/")[2] == wanted]
            if len(matches) != 1:
                raise
            target, preset = known[matches[0]]
            return replace(self.get(target), alias=matches[0], preset=preset)
        text = canonical_text(read_query_file(path), str(path))
        if plainly_safe(text) and not _may_use_undeclared_prefixes(text):
            return query_from_text(text, path)
        return user_query(text, str(path))


def read_query_file(path: Path) -> str:
    """A ``.rq`` file's text; bytes that are not UTF-8 are an error with their line and column."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QueryError(f"{path}: cannot read the query file: {exc.strerror or exc}") from None
    return decode_query(data, str(path))


def decode_query(data: bytes, source: str) -> str:
    """UTF-8 query text (a leading byte-order mark is dropped); otherwise an error saying where."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise QuerySyntaxError(
            f"{source}:{line}:{column}: the query is not UTF-8 text (byte "
            f"0x{data[exc.start]:02X}); save it as UTF-8"
        ) from None


def user_query(text: str, source: str = "<stdin>") -> QueryFile:
    """Check and prepare SPARQL given by the user (stdin, a file, or the Python API): the
    returned query holds the checked text (:func:`checked_text`), which is what runs."""
    # rdflib keeps the backslash of an escaped local name (``e:a\.b`` gives the IRI ``…a\.b``,
    # which Oxigraph, which runs the text, reads as ``…a.b``) and logs that this "does not look
    # like a valid URI": a message about rdflib's reading, not the user's query.
    with quiet_rdflib_term_warnings():
        final, parsed = checked_text(text, source)
    try:
        with quiet_rdflib_term_warnings():
            deep_call(prepared_query, final, parsed)
    except RecursionError:
        raise QuerySyntaxError(f"{source}: {_TOO_DEEP}") from None
    except Exception as exc:  # rdflib's algebra refuses a query that parses but means nothing
        raise QuerySyntaxError(f"{source}: SPARQL error: {exc}") from None
    return query_from_text(final, Path(source))  # prepared above: never parsed twice


_SELECT = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_PROJECTION = re.compile(r"\?\w+|\$\w+|\(|\)|\bAS\b|\bWHERE\b|\{|\*", re.IGNORECASE)


def result_columns(text: str) -> tuple[str, ...] | None:
    """The variables a SELECT query's answer has, in order, read from its projection without
    parsing the whole query (rdflib's parser takes ~0.1–0.5 s a query; ``kg query --list`` shows
    every query's columns); ``None`` for ASK, CONSTRUCT, DESCRIBE and ``SELECT *``. Comments and
    strings are blanked first, so a ``?word`` or ``WHERE`` in them is not read. Tests hold this to
    rdflib's projection for every library query."""
    from kgtools.load.checks import code_only

    code = code_only(text, strings=True)
    form = _SELECT.search(code)
    if form is None or form.group(1).upper() != "SELECT":
        return None
    columns: list[str] = []
    depth = 0
    pending_as = False
    for match in _PROJECTION.finditer(code, form.end()):
        token = match.group()
        upper = token.upper()
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        elif upper == "AS":
            pending_as = depth > 0
        elif token == "*" and depth == 0:
            return None
        elif upper == "WHERE" or token == "{":
            break
        elif token[0] in "?$" and (depth == 0 or pending_as):
            columns.append(token[1:])
            pending_as = False
    return tuple(dict.fromkeys(columns))
