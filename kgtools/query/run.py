"""Query stage: the query library, safety checks, parameter binding, time limits and result formats.

* :class:`QueryLibrary` finds the ``.rq`` files under ``queries/`` by name (``plans`` or
  ``cq/plans``).
* :func:`canonical_text` makes the one text that is both checked and run. The check parses with
  rdflib while the built store (Oxigraph) runs the text, and the two read some text differently:
  rdflib expands ``\\u`` escapes everywhere before parsing (SPARQL 1.1 §19.2) while Oxigraph
  reads them only inside strings and IRIs, and a ``#`` comment ends at a carriage return for
  Oxigraph (§19.4) but only at a line feed for rdflib. So the escapes are expanded here, as the
  specification says, every CR or CRLF becomes LF, and a text that still holds something either
  parser would expand (``\\u005Cu0041`` expands to ``\\u0041``), a NUL, a surrogate or an
  out-of-range code point is refused. rdflib then checks exactly that string and the store gets
  exactly that string. (A carriage return inside a long string therefore becomes a line feed:
  write ``\\r`` to keep one.)
* :func:`check_query` refuses, before anything runs, what a shared read-only graph must never do:
  updates (``INSERT``, ``LOAD`` …), ``SERVICE`` (which would make the engine fetch from the web)
  and dataset clauses (``FROM`` / ``FROM NAMED``, which rdflib may dereference). A syntax error
  reports its line and column. It parses in a thread with a large stack and a raised recursion
  limit (rdflib's parser recurses about twelve frames per triple pattern), so a long flat query
  parses while nesting deeper than the embedded store can take is refused.
* A prefixed name whose prefix the query does not declare gets the project's declaration
  (:data:`kgtools.namespaces.PREFIXES`: ``tip:``, ``id:``, ``rdfs:``, ``schema:`` …) written
  into the text before its first non-comment line (line numbers are kept), so both parsers see
  the same declarations; any other undeclared prefix is a clear error.
* :func:`plainly_safe` spares a library query rdflib's parse (a quarter of a second for a long
  one) when its canonical text cannot hold any of that: none of the keywords those forms need
  appears in it outside whole-line comments, in any letter case.
  The embedded store then parses it itself, and a syntax error is reported, with its line and
  column, when it runs. Anything else gets the full :func:`check_query`.
* :func:`run` binds parameters as RDF terms (``initBindings`` — never string formatting) and
  runs the query in a forked child process that is killed at the time limit, because rdflib's
  evaluator cannot be interrupted from inside (where ``fork`` is unavailable the query runs in
  this process without a limit). The child first cuts itself off the network
  (:func:`isolate_network`: a new, empty network namespace, so even a query that got past the
  check could not open a connection; Oxigraph's HTTP client is Rust, so only the kernel can stop
  it). Where the kernel refuses the namespace (no root and no unprivileged user namespaces) or
  ``fork`` is missing, the check above is the only layer. An answer holding an IRI that no RDF
  syntax can write (one made with ``IRI("a b")``) is refused, so every output format can be
  produced.
* :class:`QueryResult` serializes to an aligned terminal table (Japanese text counts as two
  columns), CSV, TSV, SPARQL 1.1 Query Results JSON and Markdown; CONSTRUCT/DESCRIBE give Turtle.
"""

from __future__ import annotations

import csv
import ctypes
import functools
import io
import math
import multiprocessing
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from rdflib import Graph, Literal, URIRef
from rdflib.term import Node, Variable

from kgtools.errors import (
    KGError,
    ParameterError,
    QueryError,
    QuerySyntaxError,
    QueryTimeoutError,
    UnknownQueryError,
    UnknownValueError,
    UnsafeQueryError,
    UpdateRefusedError,
)
from kgtools.load import bad_iri, ill_typed, quiet_rdflib_term_warnings
from kgtools.namespaces import ID, PREFIXES, bind_prefixes
from kgtools.query.library import QueryFile, prepared_query, query_from_text, system_query_path
from kgtools.store.base import Store
from kgtools.store.sparql_text import nt_term

DEFAULT_TIMEOUT = 30.0
#: The longest time limit a query may be given (a day): larger values, ``inf`` and ``nan`` are
#: refused instead of overflowing the wait.
MAX_TIMEOUT = 86_400.0
FORMATS = ("table", "csv", "tsv", "json", "md")


# -- the library ------------------------------------------------------------------------------
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
        if exact.is_file():
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

    def get(self, name: str) -> QueryFile:
        path = self.path(name)
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


# -- safety -------------------------------------------------------------------------------------
def _walk(node: Any) -> Any:
    """Every value nested in rdflib's parse tree (CompValues, ParseResults, lists)."""
    from pyparsing import ParseResults

    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        # pyparsing registers ParseResults as a Mapping, so test for it first: its items are
        # in the list part; rdflib's CompValue (a dict) keeps them as values.
        if isinstance(item, (list, tuple, ParseResults)):
            stack.extend(list(item))
        elif isinstance(item, Mapping):
            stack.extend(item.values())


def _location(exc: Exception, source: str) -> str:
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "col", None)
    where = f"{source}:{line}:{column}" if line else source
    detail = str(getattr(exc, "msg", "") or exc)
    text = getattr(exc, "line", "")
    return f"{where}: SPARQL syntax error: {detail}" + (f"\n  {text}" if text else "")


def _line_column(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + text.count("\r", 0, index) - text.count("\r\n", 0, index)
    start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    return f"{line + 1}:{index - start + 1}"


#: SPARQL 1.1 §19.2: ``\u`` and four hex digits, ``\U`` and eight, stand for one code point and
#: are replaced before parsing.
_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
#: What rdflib's parser would still expand (it takes ``\u`` or ``\U`` with four or eight digits,
#: in any case): the canonical text must hold none, so rdflib's own expansion leaves it as it is.
_ANY_ESCAPE = re.compile(r"\\[uU][0-9A-Fa-f]{4}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def canonical_text(text: str, source: str = "<query>") -> str:
    r"""The one text that is both checked and run: codepoint escapes expanded, line ends LF.

    Refused (a :class:`QuerySyntaxError` with line and column): an escape for a surrogate, for
    U+0000 or beyond U+10FFFF; a NUL character; and text that, once expanded, still holds
    something rdflib would expand (``\u005Cu0041`` gives ``\u0041``; rdflib also reads
    ``\U005C`` with four digits, which SPARQL and Oxigraph do not).

    >>> canonical_text('SELECT ("\\u0041" AS ?a) {} # c\r\n')
    'SELECT ("A" AS ?a) {} # c\n'
    """

    def expand(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise QuerySyntaxError(
                f"{source}:{_line_column(text, match.start())}: SPARQL syntax error: "
                f"{match.group()} is not a character a query may hold (a surrogate, NUL or "
                "beyond U+10FFFF); write the character itself"
            )
        return chr(code)

    if "\x00" in text:
        raise QuerySyntaxError(
            f"{source}:{_line_column(text, text.index(chr(0)))}: SPARQL syntax error: the query "
            "holds a NUL character; remove it"
        )
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:  # only from Python callers: decoded bytes never hold one
        raise QuerySyntaxError(
            f"{source}:{_line_column(text, surrogate.start())}: SPARQL syntax error: the query "
            f"holds a lone surrogate (U+{ord(surrogate.group()):04X}), which is not a character"
        )
    expanded = _CODEPOINT_ESCAPE.sub(expand, text) if "\\" in text else text
    left = _ANY_ESCAPE.search(expanded) if "\\" in expanded else None
    if left is not None:  # e.g. "\U005C" (rdflib reads four digits after \U) or "\u005Cu0041"
        raise QuerySyntaxError(
            f"{source}: SPARQL syntax error: {left.group()!r} is left after the \\u and \\U "
            "escapes are expanded, and the parsers would read it differently; write \\u and "
            "four hex digits, \\U and eight, or the character itself"
        )
    return expanded.replace("\r\n", "\n").replace("\r", "\n")


#: rdflib's parser recurses about twelve Python frames per triple pattern and 27 per nested
#: group: this limit lets about 1,600 flat triple patterns parse and refuses groups nested more
#: than about 700 deep, well below the depth at which the embedded store's own parser overflows
#: its stack (some 3,000).
PARSE_RECURSION_LIMIT = 20_000
_PARSE_STACK = 128 * 1024 * 1024
_deep_lock = threading.Lock()
_deep_users = 0
_deep_saved = 0


def deep_call(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a thread with a 128 MiB stack and the recursion limit raised to
    :data:`PARSE_RECURSION_LIMIT` while it runs (rdflib's parser and algebra are recursive);
    its exception, ``RecursionError`` included, is raised here."""
    global _deep_users, _deep_saved
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append((False, exc))

    with _deep_lock:
        if _deep_users == 0:
            _deep_saved = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_deep_saved, PARSE_RECURSION_LIMIT))
        _deep_users += 1
        previous = threading.stack_size(_PARSE_STACK)  # read when the thread starts
        try:
            thread = threading.Thread(target=target, name="kg-sparql-parse", daemon=True)
            thread.start()
        except BaseException:
            _deep_users -= 1
            if _deep_users == 0:
                sys.setrecursionlimit(_deep_saved)
            raise
        finally:
            threading.stack_size(previous)
    try:
        thread.join()
    finally:
        with _deep_lock:
            _deep_users -= 1
            if _deep_users == 0:
                sys.setrecursionlimit(_deep_saved)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


_TOO_DEEP = (
    "SPARQL syntax error: groups or expressions nested too deeply to parse; flatten the query"
)


#: The operations of a SPARQL 1.1 update request, as rdflib's parser names them.
_UPDATE_OPERATIONS = frozenset(
    [
        "Load",
        "Clear",
        "Drop",
        "Create",
        "Add",
        "Move",
        "Copy",
        "InsertData",
        "DeleteData",
        "DeleteWhere",
        "Modify",
    ]
)


def check_query(text: str, *, source: str = "<query>") -> Any:
    """Refuse updates, SERVICE and dataset clauses; report syntax errors with line:column.
    ``text`` is made canonical first (:func:`canonical_text`); returns rdflib's parse of the
    canonical text (``query_from_text`` prepares it without parsing again)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    text = canonical_text(text, source)
    try:
        parsed = deep_call(parseQuery, text)
    except RecursionError:
        raise QuerySyntaxError(f"{source}: {_TOO_DEEP}") from None
    except ParseException as exc:
        try:
            update = deep_call(parseUpdate, text)
        except (ParseException, RecursionError):
            raise QuerySyntaxError(_location(exc, source)) from exc
        if not any(getattr(item, "name", None) in _UPDATE_OPERATIONS for item in _walk(update)):
            # an empty update request (nothing, or only comments and prologue): no query either
            raise QuerySyntaxError(_location(exc, source)) from exc
        raise UpdateRefusedError(
            f"{source}: updates (INSERT, DELETE, LOAD, CLEAR, CREATE, DROP …) are refused: "
            "the graph is read-only here; rebuild it from data/ with `kg build` instead"
        ) from None
    for item in _walk(parsed):
        name = getattr(item, "name", None)
        if name == "ServiceGraphPattern":
            raise UnsafeQueryError(
                f"{source}: SERVICE is refused: queries run on the local graph only and never "
                "reach another endpoint; remove the SERVICE clause"
            )
        if name == "DatasetClause":
            raise UnsafeQueryError(
                f"{source}: FROM / FROM NAMED is refused: the dataset is the built graph; "
                "remove the dataset clause (use --asserted to leave out the entailments)"
            )
    return parsed


def undeclared_prefixes(parsed: Any) -> list[str]:
    """The prefixes of prefixed names in rdflib's parse that the query does not declare."""
    used: set[str] = set()
    declared: set[str] = set()
    for item in _walk(parsed):
        name = getattr(item, "name", None)
        if name == "pname":
            used.add(dict(item).get("prefix") or "")
        elif name == "PrefixDecl":
            declared.add(dict(item).get("prefix") or "")
    return sorted(used - declared)


_LEADING_COMMENTS = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n)*")


def with_prefixes(text: str, prefixes: Sequence[str]) -> str:
    """``text`` with the project's ``PREFIX`` declarations for ``prefixes`` at the start of its
    first line that is neither blank nor a comment (so the header and line numbers stay)."""
    declarations = "".join(f"PREFIX {p}: <{PREFIXES[p]}> " for p in prefixes)
    cut = _LEADING_COMMENTS.match(text)
    at = cut.end() if cut else 0
    return text[:at] + declarations + text[at:]


def checked_text(text: str, source: str = "<query>") -> tuple[str, Any]:
    """The text to run and rdflib's parse of exactly that text, after :func:`check_query`.

    Prefixes the query uses without declaring them get the project's declarations
    (:data:`kgtools.namespaces.PREFIXES`); an undeclared prefix the project does not know is
    an error that says which declaration to add."""
    canonical = canonical_text(text, source)
    parsed = check_query(canonical, source=source)
    missing = undeclared_prefixes(parsed)
    if not missing:
        return canonical, parsed
    unknown = [p for p in missing if p not in PREFIXES]
    if unknown:
        known = ", ".join(f"{p}:" for p in PREFIXES)
        raise QuerySyntaxError(
            f"{source}: unknown prefix {', '.join(p + ':' for p in unknown)} — add "
            + " ".join(f"PREFIX {p}: <…>" for p in unknown)
            + f" to the query (the project's own prefixes need no declaration: {known})"
        )
    final = with_prefixes(canonical, missing)
    return final, check_query(final, source=source)


_PREFIXED = re.compile(r"(?<![\w<\"'/#.:-])([A-Za-z][\w-]*):(?=[\w%])")
_DECLARED = re.compile(r"PREFIX\s+([A-Za-z][\w.-]*)?:", re.IGNORECASE)


def _may_use_undeclared_prefixes(text: str) -> bool:
    """True when ``text`` may use one of the project's prefixes without declaring it (then
    the full check adds the declaration); a false alarm only costs rdflib's parse."""
    body = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))
    declared = set(_DECLARED.findall(body))
    return any(p in PREFIXES and p not in declared for p in _PREFIXED.findall(body))


#: Every keyword that an update, SERVICE or a dataset clause needs, and the codepoint escapes
#: (which :func:`canonical_text` expands, so none is left in a text it made).
_REFUSED_WORDS = re.compile(
    r"SERVICE|FROM|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH|USING|\\U",
    re.IGNORECASE,
)


def plainly_safe(text: str) -> bool:
    r"""True when ``text`` cannot be an update, use SERVICE or name a dataset, without parsing:
    no keyword those need occurs anywhere outside whole-line comments, even inside a longer
    word, a string or an IRI (a false alarm only costs the full check). ``text`` must be
    canonical (:func:`canonical_text`): a CR or a codepoint escape makes it False.

    A line whose first non-blank character is ``#`` is a comment to its end (``\n``, the only
    line end a canonical text has): short strings and IRIs cannot span lines. Long strings
    (between three quote marks) can, so when the text has one, only the leading comment lines
    are skipped. Letter case is also compared after ``str.upper``, which maps letters such as
    ``ſ`` onto ASCII as rdflib's parser does."""
    if "\r" in text or "\x00" in text:
        return False
    lines = text.split("\n")
    long_strings = "'''" in text or '"""' in text
    kept: list[str] = []
    for line in lines:
        if line.lstrip(" \t").startswith("#") and not (long_strings and kept):
            continue
        if line.strip(" \t"):
            kept.append(line)
    body = "\n".join(kept)
    return _REFUSED_WORDS.search(body) is None and _REFUSED_WORDS.search(body.upper()) is None


# -- parameters ---------------------------------------------------------------------------------
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: An IRI's scheme (RFC 3987): a value in ``<…>`` must be an absolute IRI.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: A quoted literal as N-Triples writes one: ``"text"``, ``"text"@lang``, ``"text"^^<IRI>``.
_QUOTED = re.compile(
    r'^"((?:[^"\\\n\r]|\\.)*)"(?:@([A-Za-z]+(?:-[A-Za-z0-9]+)*)|\^\^<([A-Za-z][A-Za-z0-9+.-]*:[^<>"{}|^`\\\x00-\x20]*)>)?$',
    re.DOTALL,
)
_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def parse_param(text: str) -> tuple[str, Node]:
    """``name=value`` → (name, term): ``<…>`` is an IRI (absolute, with a scheme such as
    ``https:``), ``"…"`` a quoted literal as N-Triples writes one (``"<EC>"``, ``"北区"@ja``,
    ``"5"^^<http://www.w3.org/2001/XMLSchema#integer>``), anything else a plain literal.

    A value is bound as one RDF term, so quotes, braces or newlines in it are data, never SPARQL.

    >>> parse_param("code=131067")
    ('code', rdflib.term.Literal('131067'))
    >>> parse_param("plan=<https://w3id.org/tokyo-industry-plans/id/plan/131067/2021>")[1]
    rdflib.term.URIRef('https://w3id.org/tokyo-industry-plans/id/plan/131067/2021')
    >>> parse_param('q="<EC>"')
    ('q', rdflib.term.Literal('<EC>'))
    """
    name, sep, value = text.partition("=")
    name = name.strip().lstrip("?$")
    if not sep or not _PARAM_NAME.match(name):
        raise ParameterError(f"bad --param '{text}': write name=value (e.g. --param code=131067)")
    if value.startswith("<") and value.endswith(">") and len(value) > 2:
        iri = value[1:-1]
        literal_hint = (
            f"to pass the text {value} as a literal, quote it: --param '{name}=\"{value}\"'"
        )
        if any(c in iri for c in ' <>"{}|^`\\') or any(ord(c) < 0x21 for c in iri):
            raise ParameterError(
                f"bad IRI in --param {name}: {value} — a value written <…> is taken as an IRI, "
                f"and IRIs cannot hold spaces, quotes or <>{{}}|^`\\; {literal_hint}"
            )
        if not _SCHEME.match(iri):
            raise ParameterError(
                f"--param {name}={value}: a value written <…> is taken as an IRI, and {iri} is "
                f"not an absolute IRI (it needs a scheme, e.g. https://…); {literal_hint}"
            )
        return name, URIRef(iri)
    quoted = _QUOTED.match(value)
    if quoted:
        body, language, datatype = quoted.groups()
        try:
            lexical = re.sub(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", _unescape, body)
        except ValueError:  # not a quoted literal after all (an unknown escape): plain text
            return name, Literal(value)
        with quiet_rdflib_term_warnings():  # rdflib logs a traceback for "x"^^xsd:integer
            term = Literal(lexical, lang=language, datatype=URIRef(datatype) if datatype else None)
            if datatype and ill_typed(term):
                raise ParameterError(
                    f"--param {name}: {_short(value)} is not a valid <{datatype}>: its text "
                    f"{_short(lexical)!r} is not a value of that datatype; fix the value or drop "
                    "the ^^<…> to pass plain text"
                )
        return name, term
    return name, Literal(value)


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "uU" and len(code) > 1:
        return chr(int(code[1:], 16))
    if code in _ESCAPES:
        return _ESCAPES[code]
    raise ValueError(f"unknown escape \\{code}")


def parse_params(texts: Sequence[str]) -> dict[str, Node]:
    """Every ``--param``, each name once: a parameter takes one value, so a name given twice is
    refused rather than silently keeping the last."""
    given: dict[str, list[str]] = {}
    for text in texts:  # names first: a repeated name is the mistake, whatever its values
        given.setdefault(text.partition("=")[0].strip().lstrip("?$"), []).append(text)
    twice = {name: texts for name, texts in given.items() if len(texts) > 1}
    if twice:
        name, values = next(iter(twice.items()))
        raise ParameterError(
            f"--param {name} given {len(values)} times ({', '.join(values)}): a parameter takes "
            "one value; run the query once per value"
        )
    return dict(parse_param(text) for text in texts)


def _short(text: str, size: int = 80) -> str:
    """A value as an error message shows it: at most ``size`` characters."""
    return text if len(text) <= size else f"{text[:size]}… ({len(text):,} characters)"


#: Predicates whose objects are labels: a ``label`` parameter is matched in any language.
LABEL_PREDICATES = (
    URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
    URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"),
    URIRef("http://www.w3.org/2004/02/skos/core#altLabel"),
)
_LABEL_FORMS = system_query_path("label-forms.rq")
_SHOWN_VALUES = 20


def label_parameters(query: QueryFile) -> set[str]:
    """Parameters that name a label: declared ``(label)`` in the header, or (for a query
    without a parameters header) variables the query uses as the object of ``rdfs:label``,
    ``skos:prefLabel`` or ``skos:altLabel`` in a triple pattern (not through a property path)."""
    if query.parameters:
        return {name for name, kind in query.kinds.items() if kind.lower() == "label"}
    from rdflib.plugins.sparql.parserutils import CompValue

    found: set[str] = set()
    stack: list[Any] = [query.prepared.algebra]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == "BGP":
                for _, p, o in node.get("triples") or ():
                    if p in LABEL_PREDICATES and isinstance(o, Variable):
                        found.add(str(o))
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return found


def bind_labels(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Node],
    *,
    graphs: Sequence[URIRef] | None = None,
) -> dict[str, Node]:
    """``params`` with each plain-text value of a label parameter replaced by the label the
    graph holds with that text (``"北区"`` → ``"北区"@ja``), so that labels match whatever their
    language. A text the graph holds in several forms is refused, naming them (give one of
    them quoted, e.g. ``name="EC"@en``); a text it does not hold is left as it is."""
    from kgtools.query.library import load_query

    bound = dict(params)
    for name in sorted(label_parameters(query) & set(params)):
        value = params[name]
        if not isinstance(value, Literal) or value.language or value.datatype:
            continue
        forms = run(
            store, load_query(_LABEL_FORMS), {"text": value}, graphs=graphs, timeout=None
        ).rows
        terms = [row[0] for row in forms if row[0] is not None]
        if value in terms or not terms:
            continue
        if len(terms) > 1:
            shown = ", ".join(nt_term(t) for t in terms)
            raise ParameterError(
                f"--param {name}={value}: the graph has this label in {len(terms)} forms "
                f"({shown}); give one of them quoted, e.g. --param '{name}={nt_term(terms[0])}'"
            )
        bound[name] = terms[0]
    return bound


def check_domains(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Node],
    library: QueryLibrary,
    *,
    graphs: Sequence[URIRef] | None = None,
) -> None:
    """Refuse a value outside its parameter's declared domain (the first column of the domain
    query named in the header), listing the valid values, as ``kg network --municipality``
    does. Values are compared as text (``"131172"`` and ``"131172"^^xsd:token`` are one code);
    an IRI only with an IRI."""
    for name in sorted(set(query.domains) & set(params)):
        domain_query = library.get(query.domains[name])
        result = run(store, domain_query, {}, graphs=graphs, timeout=None)
        rows = [row for row in result.rows if row and row[0] is not None]
        value = params[name]

        def key(term: Node | None) -> tuple[bool, str]:
            return isinstance(term, URIRef), str(term)

        if key(value) in {key(row[0]) for row in rows}:
            continue
        shown = [" ".join(display(t) for t in row if t is not None) for row in rows[:_SHOWN_VALUES]]
        more = (
            f", … ({len(rows)} in all: `kg query {query.domains[name]}` lists them)"
            if len(rows) > _SHOWN_VALUES
            else ""
        )
        known = ", ".join(shown) + more if rows else "none"
        raise UnknownValueError(
            f"--param {name}={_short(display(value))}: no such value for ?{name} of "
            f"{query.path.name}; the graph has {known}"
        )


def _query_variables(query: QueryFile) -> set[str]:
    return set(re.findall(r"[?$]([A-Za-z_][A-Za-z0-9_]*)", query.body))


def check_term(name: str, term: Node) -> None:
    """Refuse a parameter value the store cannot read as an RDF term (the value is written
    into a ``VALUES`` block, where Oxigraph's parser would report a syntax error inside the
    library query instead): an IRI Oxigraph refuses (``%zz``, a second ``#``, ``[`` in the
    host), a malformed language tag (a subtag longer than eight characters), a lone surrogate."""
    import pyoxigraph as ox

    text = str(term)
    surrogate = _SURROGATE.search(text)
    if surrogate is None and isinstance(term, Literal) and term.datatype is not None:
        surrogate = _SURROGATE.search(str(term.datatype))
    if surrogate is not None:
        raise ParameterError(
            f"--param {name}: the value holds a lone surrogate (U+{ord(surrogate.group()):04X}), "
            "which is not a character; write the character itself"
        )
    try:
        if isinstance(term, URIRef):
            ox.NamedNode(text)
        elif isinstance(term, Literal) and term.language:
            ox.Literal(text, language=term.language)
        elif isinstance(term, Literal) and term.datatype is not None:
            ox.Literal(text, datatype=ox.NamedNode(str(term.datatype)))
    except ValueError as exc:
        what = "IRI" if isinstance(term, URIRef) else "literal"
        raise ParameterError(
            f"--param {name}: {_short(nt_term(term))} is not a valid {what} ({exc}); fix the "
            f"value, or quote it to pass it as text: --param '{name}=\"…\"'"
        ) from None


def check_params(query: QueryFile, params: Mapping[str, Node]) -> None:
    """Every required parameter given; none given that the query does not declare or use;
    every value an RDF term the store can read (:func:`check_term`)."""
    for name, term in params.items():
        check_term(name, term)
    declared = set(query.parameters)
    known = declared or _query_variables(query)
    unknown = sorted(set(params) - known)
    if unknown:
        hint = f"it takes {', '.join(sorted(declared))}" if declared else "it has no such variable"
        raise ParameterError(
            f"unknown parameter(s) {', '.join(unknown)} for {query.path.name}: {hint}"
        )
    missing = sorted(declared - query.optional - set(params))
    if missing:
        raise ParameterError(
            f"{query.path.name} needs --param {' --param '.join(m + '=…' for m in missing)}"
        )


# -- results ------------------------------------------------------------------------------------
Row = tuple[Node | None, ...]


@dataclass
class QueryResult:
    """A query's answer, independent of the store that produced it."""

    kind: str
    variables: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Node, Node, Node]] = field(default_factory=list)

    def records(self) -> list[dict[str, Node | None]]:
        """Rows as dicts (variable → term), for notebooks."""
        return [dict(zip(self.variables, row, strict=True)) for row in self.rows]

    def graph(self) -> Graph:
        graph = bind_prefixes(Graph())
        for triple in self.triples:
            graph.add(triple)
        return graph

    def serialize(self, fmt: str = "table") -> str:
        with quiet_rdflib_term_warnings():  # rdflib's serializers copy ill-typed literals
            return self._serialize(fmt)

    def _serialize(self, fmt: str) -> str:
        if self.kind in ("CONSTRUCT", "DESCRIBE"):
            return self.graph().serialize(format="longturtle")
        if fmt not in FORMATS:
            raise QueryError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
        if self.kind == "ASK" and fmt != "json":  # SPARQL's CSV and TSV formats have no boolean
            return ("true" if self.boolean else "false") + "\n"
        if fmt in ("json", "csv"):
            text = _rdflib_result(self).serialize(format=fmt).decode("utf-8")
            return text if text.endswith("\n") else text + "\n"
        if fmt == "tsv":
            return _tsv(self)
        if fmt == "md":
            return _markdown(self)
        return _table(self)


def _rdflib_result(result: QueryResult) -> Any:
    from rdflib.query import Result

    rdf_result = Result(result.kind)
    if result.kind == "ASK":
        rdf_result.askAnswer = bool(result.boolean)
        return rdf_result
    rdf_result.vars = [Variable(v) for v in result.variables]
    rdf_result.bindings = [
        {
            Variable(v): term  # type: ignore[misc]
            for v, term in zip(result.variables, row, strict=True)
            if term is not None
        }
        for row in result.rows
    ]
    return rdf_result


_NAMESPACES = bind_prefixes(Graph()).namespace_manager


def display(term: Node | None) -> str:
    """A term for people: literal text, ``id:…`` for instances, a prefixed name or <IRI>."""
    if term is None:
        return ""
    if isinstance(term, Literal):
        return str(term)
    if isinstance(term, URIRef):
        if term.startswith(str(ID)):  # instance IRIs read best relative to the id/ base
            return "id:" + term[len(str(ID)) :]
        qname = _NAMESPACES.normalizeUri(term)
        return qname if not qname.startswith("<") else f"<{term}>"
    return term.n3()


def width(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two, combining ones
    none (every ASCII character takes one)."""
    if text.isascii():
        return len(text)
    return sum(map(_char_width, text))


@functools.cache
def _char_width(ch: str) -> int:
    return 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _pad(text: str, size: int, used: int | None = None) -> str:
    return text + " " * (size - (width(text) if used is None else used))


def _cells(result: QueryResult) -> list[list[str]]:
    return [[display(t).replace("\n", " ") for t in row] for row in result.rows]


def _table(result: QueryResult) -> str:
    cells = _cells(result)
    widths = [[width(c) for c in row] for row in cells]  # (each cell measured once)
    sizes = [width(v) for v in result.variables]
    for row_widths in widths:
        sizes = [max(s, w) for s, w in zip(sizes, row_widths, strict=True)]
    line = "+" + "+".join("-" * (s + 2) for s in sizes) + "+"
    out = [
        line,
        "| " + " | ".join(_pad(v, s) for v, s in zip(result.variables, sizes, strict=True)),
    ]
    out[-1] += " |"
    out.append(line.replace("-", "="))
    for row, row_widths in zip(cells, widths, strict=True):
        padded = (_pad(c, s, w) for c, s, w in zip(row, sizes, row_widths, strict=True))
        out.append("| " + " | ".join(padded) + " |")
    out.append(line)
    out.append(f"{len(result.rows)} row(s)")
    return "\n".join(out) + "\n"


def _markdown(result: QueryResult) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    out = ["| " + " | ".join(result.variables) + " |", "|" + "---|" * len(result.variables)]
    for row in _cells(result):
        out.append("| " + " | ".join(cell(c) for c in row) + " |")
    return "\n".join(out) + "\n"




def _tsv(result: QueryResult) -> str:
    """SPARQL 1.1 TSV: a header of ?variables, terms in N-Triples syntax."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter="\t",
        quoting=csv.QUOTE_NONE,
        escapechar=None,
        lineterminator="\n",
        quotechar=None,
    )
    writer.writerow(["?" + v for v in result.variables])
    for row in result.rows:
        writer.writerow([nt_term(t) for t in row])
    return buffer.getvalue()


# -- running ------------------------------------------------------------------------------------
class _StoreSyntaxError(Exception):
    """The store could not parse the query's text (it was not parsed before: ``plainly_safe``)."""


def _is_syntax_error(exc: Exception) -> bool:
    """Oxigraph's parser raises ``SyntaxError``, rdflib's (for the other stores) a pyparsing
    error (pyparsing is then imported: it is not imported here only to be compared)."""
    pyparsing = sys.modules.get("pyparsing")
    return isinstance(exc, SyntaxError) or (
        pyparsing is not None and isinstance(exc, pyparsing.ParseBaseException)
    )


def _execute(
    store: Store, query: QueryFile, bindings: Mapping[str, Node], graphs: Sequence[URIRef] | None
) -> QueryResult:
    # An answer may hold an ill-typed literal ("x"^^xsd:integer, "2021-02-30"^^xsd:date): it is
    # data, and rdflib's log of a traceback each time it makes one is not for the user.
    with quiet_rdflib_term_warnings():
        try:
            answer = store.query(query.text, bindings, graphs=graphs)
        except Exception as exc:
            if _is_syntax_error(exc):
                raise _StoreSyntaxError(str(exc)) from None
            raise
        kind = str(answer.type)
        if kind == "ASK":
            return QueryResult(kind, boolean=bool(answer.askAnswer))
        if kind in ("CONSTRUCT", "DESCRIBE"):
            return QueryResult(kind, triples=list(answer.graph or []))
        variables = [str(v) for v in (answer.vars or [])]
        rows: list[Row] = [tuple(row) for row in answer]  # type: ignore[arg-type]
        return QueryResult(kind, variables=variables, rows=rows)


def _child(
    conn: Any,
    store: Store,
    query: QueryFile,
    bindings: Mapping[str, Node],
    graphs: Sequence[URIRef] | None,
) -> None:
    try:
        if not _reads_over_http(store):
            isolate_network()
        conn.send(("ok", _execute(store, query, bindings, graphs)))
    except _StoreSyntaxError as exc:
        conn.send(("syntax", str(exc)))
    except KGError as exc:  # a message for the user already (an endpoint that cannot be reached)
        conn.send(("error", str(exc)))
    except Exception as exc:  # sent to the parent, which raises it as a QueryError
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def check_timeout(timeout: float | None) -> None:
    """A time limit is ``None`` (no limit) or a finite number of seconds in (0, a day]."""
    if timeout is None:
        return
    if not isinstance(timeout, (int, float)) or not (
        math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT
    ):
        raise QueryError(
            f"bad time limit {timeout!r}: give a number of seconds above 0 and at most "
            f"{MAX_TIMEOUT:g} (a day)"
        )


#: ``unshare(2)`` flags (linux/sched.h).
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def isolate_network() -> bool:
    """Cut this process off every network, loopback included; True when the kernel did it.

    The process moves into a new network namespace, which has no interface up: every
    ``connect()`` then fails (``ENETUNREACH``), whatever library makes it — Oxigraph's HTTP
    client for SERVICE is Rust, out of reach of Python. Root may make the namespace directly;
    another user makes it inside a new user namespace, where the kernel allows that. Python's
    own sockets are refused as well, which covers rdflib (the other stores) where the kernel
    refuses both. Call it only in a child process that will not need the network: it cannot
    be undone."""
    import socket

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("the query process has no network access")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    unshare = getattr(libc, "unshare", None)
    if unshare is None:
        return False
    return unshare(CLONE_NEWNET) == 0 or unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0


def _reads_over_http(store: Store) -> bool:
    """The store is a remote endpoint (``kg query --endpoint``): its queries need the network."""
    remote = sys.modules.get("kgtools.store.remote")
    return remote is not None and isinstance(store, remote.RemoteStore)


def run(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Node] | None = None,
    *,
    graphs: Sequence[URIRef] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> QueryResult:
    """Run a checked library or user query with bound parameters, stopped at ``timeout`` s
    (``None``: no limit), in a forked child cut off the network (:func:`isolate_network`)."""
    bindings = dict(params or {})
    check_params(query, bindings)
    check_timeout(timeout)
    if "fork" not in multiprocessing.get_all_start_methods():
        return run_here(store, query, bindings, graphs=graphs)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, store, query, bindings, graphs))
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise QueryTimeoutError(
                f"{query.path.name}: stopped after the time limit of {timeout or 0:g} s; "
                "simplify the query or raise the limit with --timeout"
            )
        with quiet_rdflib_term_warnings():  # unpickling makes the answer's literals again
            status, payload = receiver.recv()
    except EOFError:
        raise QueryError(f"{query.path.name}: the query process ended without an answer") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    if status == "syntax":
        _syntax_error(query, payload)
    if status == "error":
        raise QueryError(f"{query.path.name}: the query failed: {payload}")
    result: QueryResult = payload
    _check_result_iris(result, query.path.name)
    return result


def run_here(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Node] | None = None,
    *,
    graphs: Sequence[URIRef] | None = None,
) -> QueryResult:
    """:func:`run` in this process, with no time limit and no network isolation of its own:
    for a caller that is already a time-limited child cut off the network (``kg serve``'s
    query processes), or where ``fork`` is missing."""
    bindings = dict(params or {})
    check_params(query, bindings)
    try:
        answer = _execute(store, query, bindings, graphs)
    except _StoreSyntaxError as exc:
        _syntax_error(query, str(exc))
    _check_result_iris(answer, query.path.name)
    return answer


def _syntax_error(query: QueryFile, message: str) -> NoReturn:
    """The store refused the text: rdflib's full check says where (with line and column) or
    refuses it as unsafe; if rdflib accepts it, the store's own message is the answer."""
    checked_text(query.text, source=str(query.path))
    raise QuerySyntaxError(f"{query.path}: SPARQL syntax error: {message}")


def _check_result_iris(result: QueryResult, name: str) -> None:
    """Refuse an answer holding an IRI no RDF syntax can write (``IRI("a b")`` makes one), so
    that every output format can be produced."""
    rows: Sequence[Sequence[Node | None]] = result.rows or result.triples
    for row in rows:
        for term in row:
            if isinstance(term, Literal):
                term = term.datatype
            if not isinstance(term, URIRef):
                continue
            ch = bad_iri(str(term))
            if ch is not None:
                raise QueryError(
                    f"{name}: the answer holds the IRI <{term}>, which contains {ch!r}, a "
                    "character no RDF syntax allows in an IRI — build IRIs from "
                    "ENCODE_FOR_URI(…) or filter such values out"
                )


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
