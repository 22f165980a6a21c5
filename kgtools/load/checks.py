"""Load stage, the checks both readers share: every problem in an input file becomes a located,
typed error.

Two readers use them: :mod:`kgtools.load.fast` (Oxigraph; what ``kg build`` runs) and
:mod:`kgtools.load.reference` (rdflib graphs, for pySHACL, owlrl and the tests). Data files
describe instances: :mod:`kgtools.load.schema` refuses schema statements in them.

rdflib's parsers stop at the first syntax error and keep ill-typed literals silently (they only
log a warning), so this module adds what users need: the file and line of a syntax error, a
check of every literal against its datatype, and one report for all files at once. Nothing is
fetched from the network: the formats read here (Turtle, N-Triples, N-Quads, TriG) have no
remote includes, and ``owl:imports`` is never followed. JSON-LD (whose ``@context`` may name a
remote or ``file:`` document) and RDF/XML (external entities, DTDs, entity expansion) are refused
by their suffix with a message saying why. Files larger than :data:`MAX_INPUT_SIZE` are refused
before they are read, and an IRI that no RDF syntax allows (one with a space, ``<``, ``>``, ``"``,
``{``, ``}``, ``|``, ``^``, a backquote, a backslash or a control character — rdflib's Turtle
parser keeps such IRIs with only a warning, and the exporters then fail) is an error at load time.

Every file is first parsed by Oxigraph, in both readers (:func:`~kgtools.load.fast.read_file` for
the build, :func:`~kgtools.load.reference.parse_file` for rdflib and pySHACL), so both refuse the
same files at the same place: Oxigraph's positions are exact (1-based lines, columns in characters —
code points), while rdflib's error index counts characters in a text it keeps as UTF-8 bytes. No
base IRI is given, so a relative IRI without ``@base`` is an error rather than a ``file:`` IRI
naming this machine's folder. A UTF-8 byte-order mark is refused by name.

Code of our own where no library serves: the positions of problems found after parsing (an
ill-typed literal, a schema statement) come from a small tokenizer that blanks comments and
strings (:func:`code_only`) — neither parser reports where a triple was written; and literals are
checked against the XSD lexical forms (:data:`_LEXICAL`) on the text as written, since rdflib
normalizes first and converts with Python's ``int()``/``Decimal()``, which take full-width
digits, ``1_000`` and ``1e3``. Data files describe instances: schema statements in them are
refused (:func:`schema_statement`).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rdflib
from rdflib import RDF, XSD, Dataset, Graph, Literal, URIRef
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from kgtools.errors import (
    NOT_TEXT,
    BadIRIError,
    ControlCharacterError,
    IllTypedLiteralError,
    InputError,
    InputTooLargeError,
    MissingInputError,
    RDFSyntaxError,
    RelativeIRIError,
    SourceLocation,
    UnsupportedFormatError,
    not_text_kind,
    shorten,
)
from kgtools.namespaces import ID

#: rdflib parser name for each file suffix the loader accepts.
FORMATS: dict[str, str] = {".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".trig": "trig"}
_QUAD_FORMATS = frozenset({"nquads", "trig"})
#: pyoxigraph format for each rdflib format name the loader accepts.
_OX_FORMATS = {"turtle": "TURTLE", "nt": "N_TRIPLES", "nquads": "N_QUADS", "trig": "TRIG"}

#: Default largest input file, in bytes; ``parse_file`` / ``load_files`` take ``max_size``.
MAX_INPUT_SIZE = 256 * 1024 * 1024

#: Suffixes of RDF formats that are refused on purpose, and why.
_REFUSED: dict[str, str] = {
    ".jsonld": "JSON-LD is not read: its @context can name a remote or file: document "
    "that a parser would fetch",
    ".json": "JSON-LD is not read: its @context can name a remote or file: document "
    "that a parser would fetch",
    ".rdf": "RDF/XML is not read: XML can pull in external entities and DTDs "
    "and expand nested entities without bound",
    ".xml": "RDF/XML is not read: XML can pull in external entities and DTDs "
    "and expand nested entities without bound",
    ".owl": "RDF/XML is not read: XML can pull in external entities and DTDs "
    "and expand nested entities without bound",
}

#: The base IRI rdflib is given; never used, as :func:`_ox_check` refuses relative IRIs
#: without ``@base`` first (rdflib would resolve them against the current folder).
_UNUSED_BASE = "urn:kgtools:no-base"
#: Characters RDF 1.1 forbids in an IRI reference (besides controls and space, U+0000–U+0020).
_BAD_IRI_CHARS = frozenset('<>"{}|^`\\')
#: The same characters, and the controls and space (U+0000–U+0020), as one character class.
_BAD_IRI = re.compile("[" + re.escape("".join(sorted(_BAD_IRI_CHARS))) + "\x00-\x20]")


@contextmanager
def quiet_rdflib_term_warnings() -> Iterator[None]:
    """Silence rdflib's per-literal conversion warnings; ill-typed literals are reported by us."""
    logger = logging.getLogger("rdflib.term")
    previous = logger.disabled
    logger.disabled = True
    try:
        with warnings.catch_warnings():  # e.g. "Parsing weird boolean"
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        logger.disabled = previous


def _as_written(data: bytes, fmt: str, fallback: list[Literal]) -> list[Literal]:
    """The ill-typed literals with their lexical forms as written: rdflib normalizes some
    (``"maybe"^^xsd:boolean`` becomes ``"false"``), so parse once more without normalizing.
    Only on the error path; the setting is global, so it is restored at once."""
    previous = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    try:
        graph: Graph = Dataset() if fmt in _QUAD_FORMATS else Graph()
        with quiet_rdflib_term_warnings():
            graph.parse(data=data, format=fmt)
        return ill_typed_literals(graph) or fallback
    except Exception:  # the first parse succeeded; keep its (normalized) literals
        return fallback
    finally:
        rdflib.NORMALIZE_LITERALS = previous


def _syntax_error(path: Path, exc: BadSyntax) -> RDFSyntaxError:
    """rdflib's syntax error, located. Only for what Oxigraph accepts and rdflib does not (every
    file is first read by Oxigraph: :func:`_ox_syntax_error`). rdflib's ``_i`` is an index in
    characters of the decoded text, but it keeps that text as UTF-8 bytes (``_str``): decode
    them again before counting, or every Japanese character before the error shifts it."""
    raw: bytes = getattr(exc, "_str", b"") or b""
    position: int = getattr(exc, "_i", -1)
    text = raw.decode("utf-8", errors="replace")
    if 0 <= position <= len(text):
        line, column = _position_of(text, position)
    else:
        line, column = int(getattr(exc, "lines", 0)) + 1, None
    why = getattr(exc, "_why", str(exc))
    return RDFSyntaxError(
        SourceLocation(path, line, column),
        f"bad syntax ({why})",
        "fix the statement here (a missing '.', ';' or '>' is the usual cause)",
    )


#: A line break as Oxigraph counts lines (CR LF, LF or CR alone).
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _position_of(text: str, index: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``text[index]``."""
    breaks = _NEWLINE.findall(text, 0, index)
    line_start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    return len(breaks) + 1, index - line_start + 1


def _span(text: str, start: tuple[int, int], end: tuple[int, int]) -> str:
    """The text between two 1-based (line, column) positions on the same line, else ``""``."""
    if start[0] != end[0]:
        return ""
    lines = _NEWLINE.split(text, maxsplit=start[0])
    if len(lines) < start[0]:
        return ""
    return lines[start[0] - 1][start[1] - 1 : end[1] - 1]


_OX_WHERE = re.compile(
    r"^Parser error (at line \d+ (between columns \d+ and \d+|column \d+)"
    r"|between line \d+ column \d+ and line \d+ column \d+): "
)
_OX_BAD_IRI_CHAR = re.compile(r"Invalid IRI code point '(.+)'$", re.DOTALL)


def _unclosed_quote(line: str) -> int | None:
    """The index of the quote that opens a string not closed on ``line``, if there is one."""
    index = 0
    while index < len(line):
        token = _TOKENS.match(line, index)
        if token is not None:
            index = token.end()
        elif line[index] in "\"'":
            return index
        else:
            index += 1
    return None


def _ox_syntax_error(path: Path, data: bytes, exc: SyntaxError) -> InputError:
    """Oxigraph's syntax error as a located error: its line and column are exact (1-based,
    columns in characters), so they are kept; the message gets what to do."""
    message = str(exc.args[0]) if exc.args else str(exc)
    why = _OX_WHERE.sub("", message)
    line, column = getattr(exc, "lineno", None), getattr(exc, "offset", None)
    end = (getattr(exc, "end_lineno", None) or 0, getattr(exc, "end_offset", None) or 0)
    location = SourceLocation(path, line, column)
    text = data.decode("utf-8", errors="replace")
    token = shorten(_span(text, (line, column), end) if line and column else "")
    bad_char = _OX_BAD_IRI_CHAR.search(why)
    if bad_char is not None:
        return BadIRIError(
            location,
            f"bad IRI {token}: it contains {bad_char.group(1)!r}, which no RDF syntax allows "
            "in an IRI",
            "percent-encode the character (a space is %20) or fix the IRI",
        )
    if "No scheme found" in why:
        return RelativeIRIError(
            location,
            f"relative IRI {token} and no @base before it: it would resolve against the "
            "file's local path (file:…), which differs on every machine",
            f"add @base <{ID}> . near the top of the file, or write the full IRI",
        )
    if "Line jumps are not allowed in string literals" in why and line and column:
        # Oxigraph points at the line break; the mistake is the string that is never closed
        opening = _unclosed_quote(_NEWLINE.split(text, maxsplit=line)[line - 1][: column - 1])
        return RDFSyntaxError(
            SourceLocation(path, line, column if opening is None else opening + 1),
            "bad syntax (a quoted string is not closed on its line)",
            'close the string with the same quote that opens it (or use """ … """ for '
            "text over several lines)",
        )
    if token.startswith("?"):
        return RDFSyntaxError(
            location,
            f"bad syntax ({why}: a ?variable is SPARQL or N3, not Turtle)",
            "write an IRI, a prefixed name or a blank node ([ ] or _:name) instead",
        )
    if "end of file" in why.lower() or (end[0], end[1]) >= _position_of(text, len(text)):
        return RDFSyntaxError(
            location,
            f"bad syntax ({why}: the file ends in the middle of a statement or of a quoted string)",
            "complete the statement that starts or the string that opens here (a missing '.' "
            "or closing quote is the usual cause)",
        )
    if "has not been declared" in why:
        return RDFSyntaxError(
            location,
            f"bad syntax ({why})",
            "declare the prefix with @prefix before its first use, or correct its spelling",
        )
    if ("dot is expected" in why or "followed by a dot" in why) and line and column:
        # the parser sees the gap only at the next token: say where the gap itself is
        index = sum(len(part) for part in _NEWLINE.split(text)[: line - 1])
        index += len("".join(_NEWLINE.findall(text)[: line - 1])) + column - 1
        gap = _position_of(text, len(code_only(text[:index]).rstrip()))
        return RDFSyntaxError(
            location,
            f"bad syntax ({why})",
            f"a ';', ',' or '.' is missing before this, at line {gap[0]}, column {gap[1]} "
            "(after the previous term)",
        )
    return RDFSyntaxError(
        location,
        f"bad syntax ({why})",
        "fix the statement here (a missing '.', ';' or '>' is the usual cause)",
    )


def _ox_check(path: Path, data: bytes, fmt: str) -> None:
    """Parse with Oxigraph to raise its located errors: the reference reader (:func:`parse_file`)
    then refuses what the fast one (:func:`read_file`) refuses, at the same place — syntax
    errors, relative IRIs without ``@base``, ill-typed literals (checked on the lexical forms as
    written, which rdflib would already have normalized: ``"１２"^^xsd:integer`` to ``"12"``)."""
    import pyoxigraph as ox

    try:
        objects = [quad.object for quad in ox.parse(data, getattr(ox.RdfFormat, _OX_FORMATS[fmt]))]
    except SyntaxError as exc:
        raise _ox_syntax_error(path, data, exc) from exc
    _check_ill_typed(path, objects)


def _short(datatype: str) -> str:
    return "xsd:" + datatype[len(str(XSD)) :] if datatype.startswith(str(XSD)) else datatype


def _check_ill_typed(path: Path, objects: Iterable[Any]) -> None:
    """Raise :class:`IllTypedLiteralError` for the first ill-typed literal among ``objects``
    (pyoxigraph terms, in file order), located at its opening quote."""
    import pyoxigraph as ox

    objects = list(objects)
    typed = {
        o
        for o in objects
        if isinstance(o, ox.Literal)
        and not o.language
        and o.datatype.value not in (_XSD_STRING, _LANG_STRING)
    }
    bad = {lit for lit in typed if _ill_typed_ox(lit)}
    if not bad:
        return
    first = next(o for o in objects if o in bad)
    more = f" ({len(bad) - 1} more ill-typed literal(s) in this file)" if len(bad) > 1 else ""
    raise IllTypedLiteralError(
        SourceLocation(path, *_literal_position(path, first.value, first.datatype.value)),
        f'"{shorten(first.value)}" is not a valid {_short(first.datatype.value)}',
        "correct the value or its datatype" + more,
    )


def _line_parser_error(path: Path, exc: ParserError) -> RDFSyntaxError:
    """N-Triples/N-Quads errors name the offending text but not its line: find it."""
    message = str(exc)
    fragment = message.split("Invalid line: ", 1)[-1].strip().strip('"')
    line = None
    if fragment:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if fragment in text:
                line = number
                break
    return RDFSyntaxError(
        SourceLocation(path, line),
        f"bad syntax ({message})",
        "each line must be one complete triple ending in ' .'",
    )


def _line_of(path: Path, needle: str) -> int | None:
    try:
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if needle in text:
                return number
    except (OSError, UnicodeDecodeError):
        return None
    return None


#: The tokens of Turtle, TriG and N-Triples that may hold a '#' or a quote: long and short
#: strings, IRIs and comments (the first alternative that matches at a place wins).
_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\r\n]|\\.)*"'
    r"|'(?:[^'\\\r\n]|\\.)*'"
    r"|<[^<>\s]*>"
    r"|#[^\r\n]*",
    re.DOTALL,
)
_QUOTES = ('"""', "'''", '"', "'")


def _blank(text: str) -> str:
    return re.sub(r"[^\r\n]", " ", text)


def code_only(text: str, *, strings: bool = False) -> str:
    """``text`` with its comments blanked (and, with ``strings``, the inside of its quoted
    strings), every character and line break kept in place: a search in the result finds
    only what is written as RDF, at the same line and column as in ``text``."""

    def keep(match: re.Match[str]) -> str:
        token = match.group()
        if token.startswith("#"):
            return _blank(token)
        if strings and token[0] in "\"'":
            quote = _quote_length(token)
            return token[:quote] + _blank(token[quote:-quote]) + token[-quote:]
        return token

    return _TOKENS.sub(keep, text)


def _quote_length(token: str) -> int:
    """How many quote characters open (and close) the string ``token``: 3 or 1."""
    return 3 if token[:3] in _QUOTES[:2] else 1


def _strings(text: str) -> Iterator[tuple[re.Match[str], str]]:
    """Each quoted string of ``text`` (not in a comment or an IRI), with what is between its
    quotes, as written (escapes not read: :func:`_unescaped`)."""
    for token in _TOKENS.finditer(text):
        written = token.group()
        if written[0] in "\"'":
            quote = _quote_length(written)
            yield token, written[quote:-quote]


_ECHAR = {'"': '"', "'": "'", "\\": "\\", "\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f"}


#: An escape in a Turtle string: \uXXXX, \UXXXXXXXX or a character escape (ECHAR).
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.DOTALL)
_UNECHAR = {letter: ch for ch, letter in _ECHAR.items()}


def _unescaped(content: str) -> str:
    """The lexical form a Turtle string's ``content`` (between its quotes) writes."""
    if "\\" not in content:
        return content

    def one(m: re.Match[str]) -> str:
        code = m[1] or m[2]
        return chr(int(code, 16)) if code else _UNECHAR.get(m[3], m[3])

    return _ESCAPE.sub(one, content)


def _literal_position(path: Path, lexical: str, datatype: str) -> tuple[int | None, int | None]:
    """Line and column of the opening quote of the literal ``lexical``^^``datatype`` as written
    in ``path`` (outside comments); by its lexical form alone when its datatype is spelt
    otherwise; ``(None, None)`` when it cannot be found. Each quoted string of the file is read
    once and compared, unescaped, with ``lexical``: linear in the file's size (a regular
    expression made of the literal's characters, one group a character, took two minutes to
    compile for a literal of 300,000)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, None
    local = re.escape(re.split(r"[#/]", datatype)[-1])
    typed = re.compile(rf"\^\^\s*(?:<{re.escape(datatype)}>|[A-Za-z0-9_.\-]*:{local}(?![\w\-]))")
    first = None
    for token, content in _strings(text):
        if len(content) < len(lexical) or _unescaped(content) != lexical:
            continue
        if typed.match(text, token.end()):
            return _position_of(text, token.start())
        if first is None:
            first = token.start()
    return (None, None) if first is None else _position_of(text, first)


_TZ = r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_YEAR = r"-?([1-9][0-9]{3,}|0[0-9]{3})"
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_DECIMAL = r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)"
_DOUBLE = re.compile(rf"{_DECIMAL}([Ee][+-]?[0-9]+)?|[+-]?INF|NaN", re.ASCII)
_DATE = _YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_TIME = r"(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|24:00:00(\.0+)?)"
#: XSD lexical forms (XML Schema 1.1 part 2), checked before rdflib's converters: rdflib
#: converts with Python's int(), Decimal() and friends, which take what XSD does not ("１２" and
#: "1_000" as integers, "1e3" and "NaN" as decimals), and has no converter for gYear and
#: gYearMonth. Only ASCII digits: \d would match Japanese full-width ones.
_LEXICAL = {
    XSD.gYear: re.compile(_YEAR + _TZ, re.ASCII),
    XSD.gYearMonth: re.compile(_YEAR + r"-(0[1-9]|1[0-2])" + _TZ, re.ASCII),
    XSD.date: re.compile(_DATE + _TZ, re.ASCII),
    XSD.dateTime: re.compile(_DATE + "T" + _TIME + _TZ, re.ASCII),
    XSD.time: re.compile(_TIME + _TZ, re.ASCII),
    XSD.decimal: re.compile(_DECIMAL, re.ASCII),
    XSD.double: _DOUBLE,
    XSD.float: _DOUBLE,
    XSD.boolean: re.compile("true|false|1|0"),
    **{
        XSD[name]: _INTEGER
        for name in (
            "integer",
            "nonNegativeInteger",
            "positiveInteger",
            "nonPositiveInteger",
            "negativeInteger",
            "long",
            "int",
            "short",
            "byte",
            "unsignedLong",
            "unsignedInt",
            "unsignedShort",
            "unsignedByte",
        )
    },
}


#: Datatypes rdflib converts wrongly ("2021+09:00"^^xsd:gYear is refused): the pattern decides.
_PATTERN_ONLY = frozenset({XSD.gYear, XSD.gYearMonth})


def ill_typed(lit: Literal) -> bool:
    """Whether the lexical form of ``lit`` is not valid for its datatype: not of the XSD form,
    or (for dates that do not exist, numbers out of a type's range) refused by rdflib."""
    pattern = _LEXICAL.get(lit.datatype) if lit.datatype is not None else None
    if pattern is not None and pattern.fullmatch(str(lit)) is None:
        return True
    if lit.datatype in _PATTERN_ONLY:
        return False
    with quiet_rdflib_term_warnings():
        return bool(lit.ill_typed)


def ill_typed_literals(graph: Graph) -> list[Literal]:
    """The literals in ``graph`` whose lexical form is not valid for their datatype."""
    found = {o for o in graph.objects() if isinstance(o, Literal) and ill_typed(o)}
    return sorted(found, key=lambda lit: (str(lit.datatype), str(lit)))


def bad_iri(iri: str) -> str | None:
    """The first character of ``iri`` that RDF forbids in an IRI, or ``None`` if it has none."""
    found = _BAD_IRI.search(iri)
    return None if found is None else found.group()


def _iri_line(path: Path, iri: str, bad: str) -> int | None:
    """Best-effort line of ``iri``: written out in full, up to its bad character (which may be
    written as an escape or come from a prefix), or by its last segment (a local name)."""
    head = iri[: iri.index(bad)]
    tail = iri.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    head = head if "://" in head[:-3] else ""
    for needle in (f"<{iri}>", iri, head + "\\u", head + "\\U", head, tail):
        if len(needle.strip()) >= 3:
            line = _line_of(path, needle)
            if line is not None:
                return line
    return None


def first_bad_iri(rows: Iterable[Iterable[object]]) -> tuple[str, str] | None:
    """The first IRI in ``rows`` of terms that :func:`bad_iri` refuses, with the character it
    names: each IRI a row holds, a literal's datatype and a graph's name included."""
    for row in rows:
        for term in row:
            if isinstance(term, Literal):
                term = term.datatype
            if isinstance(term, Graph):
                term = term.identifier
            if isinstance(term, URIRef):
                ch = bad_iri(str(term))
                if ch is not None:
                    return str(term), ch
    return None


def _check_iris(path: Path, target: Graph, quads: bool) -> None:
    """Refuse IRIs rdflib kept but cannot write back (subjects, predicates, objects, datatypes,
    graph names)."""
    rows: Iterable[tuple[object, ...]] = (
        target.quads((None, None, None, None))  # type: ignore[attr-defined]
        if quads
        else target.triples((None, None, None))
    )
    found = first_bad_iri(rows)
    if found is not None:
        iri, ch = found
        raise BadIRIError(
            SourceLocation(path, _iri_line(path, iri, ch)),
            f"bad IRI <{iri}>: it contains {ch!r}, which no RDF syntax allows in an IRI",
            "percent-encode the character (a space is %20) or fix the IRI",
        )


#: The bytes that are plainly text in a file's UTF-8: what is left when they are deleted is a
#: control character (not tab, LF, CR), DEL, or a backslash (an escape could write one).
_PLAIN_BYTES = bytes(b for b in range(256) if b in (9, 10, 13) or (b >= 0x20 and b != 0x7F))
_PLAIN_BYTES = _PLAIN_BYTES.replace(b"\\", b"")
#: The other characters that are not text, in UTF-8: a C1 control character, a bidirectional
#: override or isolate, a noncharacter. Three expressions, each with a literal first byte that
#: the scan looks for at memory speed (one alternation of them, or eleven searches for the
#: sequences, took ten to twenty times as long over the million-triple project's 54 MiB).
_NOT_TEXT_BYTES = (
    re.compile(rb"\xc2[\x80-\x9f]"),
    re.compile(rb"\xe2(?:\x80[\xaa-\xae]|\x81[\xa6-\xa9])"),
    re.compile(rb"\xef\xbf[\xbe\xbf]"),
)


def _maybe_not_text(data: bytes) -> bool:
    """A cheap first look at a file's bytes for what :func:`_check_not_text` looks for."""
    if data.translate(None, _PLAIN_BYTES):
        return True
    return any(pattern.search(data) for pattern in _NOT_TEXT_BYTES)


def _check_not_text(path: Path, data: bytes) -> None:
    """Refuse a string of ``data`` (raw or escaped) that holds a character that is not text:
    what a terminal would act on (ESC, BEL, C1 controls), what reverses the text around it
    (U+202E) or what XML cannot hold (the network's SVG, GraphML and GEXF were ill-formed).
    Tab and line breaks are text; comments are not read."""
    if not _maybe_not_text(data):
        return
    text = data.decode("utf-8")
    for token, content in _strings(text):
        found = NOT_TEXT.search(_unescaped(content))
        if found is None:
            continue
        code = ord(found.group())
        raise ControlCharacterError(
            SourceLocation(path, *_position_of(text, token.start())),
            f"the literal holds U+{code:04X}, {not_text_kind(code)}",
            "remove it (a literal holds text: tab and line breaks are the only control "
            "characters it may have)",
        )


def _read_checked(path: Path, max_size: int | None) -> tuple[str, bytes]:
    """The rdflib format name and bytes of ``path``, after the checks every reader makes:
    a supported suffix, an existing file, the size limit and UTF-8."""
    suffix = path.suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        why = _REFUSED.get(suffix, f"unsupported file type '{path.suffix or '(none)'}'")
        raise UnsupportedFormatError(
            SourceLocation(path),
            why,
            f"use one of {', '.join(sorted(FORMATS))}"
            + (" (convert the file to Turtle first)" if suffix in _REFUSED else ""),
        )
    if not path.is_file():
        raise MissingInputError(SourceLocation(path), "no such file", "check the path")
    limit = MAX_INPUT_SIZE if max_size is None else max_size
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MissingInputError(SourceLocation(path), f"cannot read: {exc.strerror}") from exc
    if size > limit:
        raise InputTooLargeError(
            SourceLocation(path),
            f"the file is {size:,} bytes, more than the limit of {limit:,} bytes",
            "split it into several files, or raise the limit (max_size)",
        )
    try:
        data = path.read_bytes()
        if len(data) > limit:  # it grew after stat()
            raise InputTooLargeError(
                SourceLocation(path),
                f"the file is more than the limit of {limit:,} bytes",
                "split it into several files, or raise the limit (max_size)",
            )
        data.decode("utf-8")
        if data.startswith(b"\xef\xbb\xbf"):
            raise RDFSyntaxError(
                SourceLocation(path, 1, 1),
                "the file starts with a byte-order mark (BOM, U+FEFF), which Turtle, TriG and "
                "N-Triples files must not have",
                "byte-order mark: remove it (save the file as UTF-8 without BOM)",
            )
    except OSError as exc:
        raise MissingInputError(SourceLocation(path), f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RDFSyntaxError(
            SourceLocation(path, line), "not valid UTF-8", "save the file as UTF-8"
        ) from exc
    _check_not_text(path, data)
    return fmt, data


_XSD_STRING = str(XSD.string)


_LANG_STRING = str(RDF.langString)


def _ill_typed_ox(lit: Any) -> bool:
    """:func:`ill_typed` for a pyoxigraph literal, its lexical form as written (made into an
    rdflib one without rdflib's warning and traceback for a value it cannot convert: the user
    gets the located error)."""
    pattern = _LEXICAL.get(URIRef(lit.datatype.value))
    if pattern is not None and pattern.fullmatch(lit.value) is None:
        return True
    with quiet_rdflib_term_warnings():
        return ill_typed(Literal(lit.value, datatype=URIRef(lit.datatype.value)))
