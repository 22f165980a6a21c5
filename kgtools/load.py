"""Load stage: parse RDF files into a graph, turning every problem into a located, typed error.

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

Every file is first parsed by Oxigraph, in both readers (:func:`read_file` for the build,
:func:`parse_file` for rdflib and pySHACL), so both refuse the same files at the same place:
Oxigraph's positions are exact (1-based lines, columns in characters — code points), while
rdflib's error index counts characters in a text it keeps as UTF-8 bytes. No base IRI is given,
so a relative IRI without ``@base`` is an error rather than a ``file:`` IRI naming this machine's
folder. A UTF-8 byte-order mark is refused by name.

Code of our own where no library serves: the positions of problems found after parsing (an
ill-typed literal, a schema statement) come from a small tokenizer that blanks comments and
strings (:func:`code_only`) — neither parser reports where a triple was written; and literals are
checked against the XSD lexical forms (:data:`_LEXICAL`) on the text as written, since rdflib
normalizes first and converts with Python's ``int()``/``Decimal()``, which take full-width
digits, ``1_000`` and ``1e3``. Data files describe instances: schema statements in them are
refused (:func:`schema_statement`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import rdflib
from rdflib import OWL, RDF, RDFS, XSD, Dataset, Graph, Literal, URIRef
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from kgtools.engine.terms import OxTriple
from kgtools.errors import (
    BadIRIError,
    IllTypedLiteralError,
    InputError,
    InputTooLargeError,
    LoadErrors,
    MissingInputError,
    NonCanonicalLiteralError,
    RDFSyntaxError,
    RelativeIRIError,
    SchemaStatementError,
    SourceLocation,
    UnknownTermError,
    UnsupportedFormatError,
)
from kgtools.namespaces import ID, ONTOLOGY_IRI

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
    token = _span(text, (line, column), end) if line and column else ""
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
        f'"{first.value}" is not a valid {_short(first.datatype.value)}',
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
            quote = 3 if token[:3] in _QUOTES[:2] else 1
            return token[:quote] + _blank(token[quote:-quote]) + token[-quote:]
        return token

    return _TOKENS.sub(keep, text)


def _literal_position(path: Path, lexical: str, datatype: str) -> tuple[int | None, int | None]:
    """Line and column of the opening quote of the literal ``lexical``^^``datatype`` as written
    in ``path`` (outside comments); by its lexical form alone when it is written with escapes
    or its datatype is spelt otherwise; ``(None, None)`` when it cannot be found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, None
    code = code_only(text)
    local = re.escape(re.split(r"[#/]", datatype)[-1])
    quoted = "|".join(re.escape(q + lexical + q) for q in _QUOTES)
    typed = re.compile(
        rf"(?:{quoted})\^\^\s*(?:<{re.escape(datatype)}>|[A-Za-z0-9_.\-]*:{local}(?![\w\-]))"
    )
    found = typed.search(code) or re.search(quoted, code)
    if found is None:
        return None, None
    return _position_of(text, found.start())


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


def _check_iris(path: Path, target: Graph, quads: bool) -> None:
    """Refuse IRIs rdflib kept but cannot write back (subjects, predicates, objects, datatypes,
    graph names)."""
    rows: Iterable[tuple[object, ...]] = (
        target.quads((None, None, None, None))  # type: ignore[attr-defined]
        if quads
        else target.triples((None, None, None))
    )
    for row in rows:
        for term in row:
            if isinstance(term, Literal):
                term = term.datatype
            if isinstance(term, Graph):
                term = term.identifier
            if not isinstance(term, URIRef):
                continue
            ch = bad_iri(str(term))
            if ch is not None:
                raise BadIRIError(
                    SourceLocation(path, _iri_line(path, str(term), ch)),
                    f"bad IRI <{term}>: it contains {ch!r}, which no RDF syntax allows in an IRI",
                    "percent-encode the character (a space is %20) or fix the IRI",
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
    return fmt, data


def parse_file(
    path: Path,
    into: Graph,
    *,
    max_size: int | None = None,
    schema: frozenset[str] | None = None,
) -> None:
    """Parse one file into ``into`` (quads are merged into it); raise an :class:`InputError`.

    ``max_size`` is the largest file accepted, in bytes (default :data:`MAX_INPUT_SIZE`). With
    ``schema`` (:func:`schema_terms` of the ontology) the file is a data file, and a schema
    statement in it is refused (:func:`check_instance_data`).
    """
    fmt, data = _read_checked(path, max_size)
    _ox_check(path, data, fmt)
    target: Graph = Dataset() if fmt in _QUAD_FORMATS else Graph()
    try:
        with quiet_rdflib_term_warnings():
            # Oxigraph has refused relative IRIs without @base (they would become file: IRIs);
            # the base given here is never used
            target.parse(data=data, format=fmt, publicID=_UNUSED_BASE)
    except BadSyntax as exc:
        raise _syntax_error(path, exc) from exc
    except ParserError as exc:
        raise _line_parser_error(path, exc) from exc
    except (SyntaxError, ValueError) as exc:  # other parser complaints, e.g. a bad IRI
        raise RDFSyntaxError(SourceLocation(path), f"bad syntax ({exc})") from exc
    except AttributeError as exc:  # rdflib's Turtle parser meets an N3 "?variable"
        variable = re.search(rb"(^|[\s;,(\[{])\?[A-Za-z_]", data, re.MULTILINE)
        raise RDFSyntaxError(
            SourceLocation(path, data[: variable.end()].count(b"\n") + 1 if variable else None),
            "bad syntax (a ?variable is SPARQL or N3, not Turtle)",
            "write an IRI, a prefixed name or a blank node ([ ] or _:name) instead",
        ) from exc
    except (IndexError, AssertionError) as exc:
        # rdflib's Turtle parser reads past the end of a cut-off file (IndexError) or asserts on
        # a string that is never closed
        raise RDFSyntaxError(
            SourceLocation(path, data.count(b"\n") + 1),
            "bad syntax (the file ends in the middle of a statement or of a quoted string)",
            "complete the last statement (a missing '.' or closing quote is the usual cause)",
        ) from exc
    except RecursionError as exc:  # e.g. thousands of nested [ … ] or ( … )
        raise RDFSyntaxError(
            SourceLocation(path),
            "bad syntax (blank nodes or collections nested too deeply to parse)",
            "flatten the nesting (give the inner nodes names)",
        ) from exc
    _check_iris(path, target, fmt in _QUAD_FORMATS)
    bad = ill_typed_literals(target)
    if bad:
        bad = _as_written(data, fmt, bad)
        lit = bad[0]
        raise IllTypedLiteralError(
            SourceLocation(path, *_literal_position(path, str(lit), str(lit.datatype))),
            f'"{lit}" is not a valid {lit.datatype}',
            "correct the value or its datatype"
            + (f" ({len(bad) - 1} more ill-typed literal(s) in this file)" if len(bad) > 1 else ""),
        )
    triples = (
        target.triples((None, None, None))
        if fmt not in _QUAD_FORMATS
        else (
            (s, p, o)
            for s, p, o, _ in target.quads((None, None, None, None))  # type: ignore[attr-defined]
        )
    )
    rows = list(triples)
    if schema is not None:
        check_instance_data(path, rows, schema)
    for triple in rows:
        into.add(triple)


def load_files(
    paths: Iterable[Path],
    into: Graph | None = None,
    *,
    max_size: int | None = None,
    schema: frozenset[str] | None = None,
) -> Graph:
    """Parse all ``paths`` into one graph; report every file's problem together. With
    ``schema``, they are data files (see :func:`parse_file`)."""
    graph = into if into is not None else Graph()
    errors: list[InputError] = []
    for path in paths:
        try:
            parse_file(Path(path), graph, max_size=max_size, schema=schema)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else LoadErrors(errors)
    return graph


# -- data files describe instances: no schema statements ----------------------------------------
_OWL, _RDF, _RDFS = str(OWL), str(RDF), str(RDFS)
_RDF_TYPE = _RDF + "type"
#: Predicates that state schema (T-box), not facts about instances; every owl: predicate but
#: the two that compare individuals.
_SCHEMA_PREDICATES = frozenset(
    _RDFS + name for name in ("subClassOf", "subPropertyOf", "domain", "range")
)
_INSTANCE_OWL = frozenset(
    {_OWL + "sameAs", _OWL + "differentFrom", _OWL + "Thing", _OWL + "NamedIndividual"}
)
#: Classes whose instances are schema terms (classes, properties, datatypes, ontologies …);
#: every owl: class but owl:Thing and owl:NamedIndividual.
_SCHEMA_CLASSES = frozenset(
    {_RDFS + "Class", _RDFS + "Datatype", _RDF + "Property", _RDFS + "ContainerMembershipProperty"}
)
#: The IRIs of the project's ontology and its terms (``tip:``) all start with this.
ONTOLOGY_NAMESPACE = str(ONTOLOGY_IRI)


def schema_terms(ontology: Iterable[tuple[Any, Any, Any]]) -> frozenset[str]:
    """The IRIs the ontology describes (the subjects of its triples): terms a data file may use
    but not describe. ``ontology`` holds pyoxigraph or rdflib triples."""
    return frozenset(filter(None, (_iri(s) for s, _, _ in ontology)))


def schema_statement(s: str, p: str, o: str, terms: frozenset[str]) -> str | None:
    """Why the triple (IRIs as strings; anything else as ``""``) is a schema statement that
    a data file must not make, or ``None``.

    The rule: a data file describes instances, so none of its triples may have as subject a
    term the ontology describes or any IRI in the ontology's namespace (``tip:Plan rdfs:label
    "…"``, ``tip:NewClass a owl:Class``), use a schema predicate (``rdfs:subClassOf``,
    ``rdfs:subPropertyOf``, ``rdfs:domain``, ``rdfs:range``, every ``owl:`` predicate but
    ``owl:sameAs`` and ``owl:differentFrom``), or give a schema class as rdf:type (``rdfs:Class``,
    ``rdfs:Datatype``, ``rdf:Property``, every ``owl:`` class but ``owl:Thing`` and
    ``owl:NamedIndividual``)."""
    if s in terms or s.startswith(ONTOLOGY_NAMESPACE):
        return f"it describes {s}, a term of the ontology"
    if p in _SCHEMA_PREDICATES or (p.startswith(_OWL) and p not in _INSTANCE_OWL):
        return f"its predicate {p} states schema, not a fact about an instance"
    if p == _RDF_TYPE and (o in _SCHEMA_CLASSES or (o.startswith(_OWL) and o not in _INSTANCE_OWL)):
        return f"it makes {s or 'a blank node'} a {o}, a schema term"
    return None


def _iri(term: Any) -> str:
    """The IRI of an rdflib or pyoxigraph term; ``""`` for a blank node or a literal."""
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return str(term)
    return str(term.value) if isinstance(term, ox.NamedNode) else ""


def check_instance_data(
    path: Path, triples: Iterable[tuple[Any, Any, Any]], terms: frozenset[str]
) -> None:
    """Raise :class:`SchemaStatementError` at the first triple of a data file (pyoxigraph or
    rdflib terms) that :func:`schema_statement` refuses.

    The distinct subjects, predicates and types are checked first (a set of each: a tenth of
    the time of checking a million triples one by one); only a file that fails is scanned for
    the triple to report."""
    import pyoxigraph as ox

    rows = triples if isinstance(triples, list) else list(triples)
    if not rows:
        return
    rdf_type = ox.NamedNode(_RDF_TYPE) if isinstance(rows[0][1], ox.NamedNode) else RDF.type
    subjects = {s for s, _, _ in rows}
    predicates = {p for _, p, _ in rows}
    types = {o for _, p, o in rows if p == rdf_type}
    _check_known_terms(path, rows, predicates, types, terms)
    if not (
        any(schema_statement(_iri(s), "", "", terms) for s in subjects)
        or any(schema_statement("", _iri(p), "", terms) for p in predicates)
        or any(schema_statement("", _RDF_TYPE, _iri(o), terms) for o in types)
    ):
        return
    for s, p, o in rows:
        why = schema_statement(_iri(s), _iri(p), _iri(o), terms)
        if why is not None:
            raise SchemaStatementError(
                SourceLocation(path, *_triple_position(path, _iri(s), _iri(p), _iri(o))),
                f"a schema statement in a data file: {why}",
                "data files describe instances: change the ontology (ontology/tip.ttl) "
                f"instead, or give the instance an IRI of its own (e.g. under {ID})",
            )


def _check_known_terms(
    path: Path,
    rows: list[tuple[Any, Any, Any]],
    predicates: set[Any],
    types: set[Any],
    terms: frozenset[str],
) -> None:
    """Raise :class:`UnknownTermError` at the first triple whose predicate, or whose rdf:type
    class, is in the ontology's namespace but not defined by it (``tip:themes`` for
    ``tip:theme``): its statements would reach no shape and no query, without a word."""
    import difflib

    unknown = {
        iri
        for iri in map(_iri, predicates | types)
        if iri.startswith(ONTOLOGY_NAMESPACE) and iri not in terms
    }
    if not unknown:
        return
    for s, p, o in rows:
        pi, oi = _iri(p), _iri(o)
        term = pi if pi in unknown else oi if pi == _RDF_TYPE and oi in unknown else None
        if term is None:
            continue
        known = sorted(t for t in terms if t.startswith(ONTOLOGY_NAMESPACE))
        close = difflib.get_close_matches(term, known, n=1)
        short = "tip:" + term[len(ONTOLOGY_NAMESPACE) :].lstrip("#/")
        raise UnknownTermError(
            SourceLocation(path, *_triple_position(path, _iri(s), pi, oi)),
            f"{short} is not a term of the ontology (ontology/tip.ttl)",
            f"did you mean tip:{close[0][len(ONTOLOGY_NAMESPACE) :].lstrip('#/')}?"
            if close
            else "check its spelling, or add the term to the ontology",
        )


_PREFIX = re.compile(r"(?:@prefix|PREFIX)\s+([A-Za-z][\w.\-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_BASE = re.compile(r"(?:@base|BASE)\s+<([^>]*)>", re.IGNORECASE)


def _spellings(iri: str, code: str) -> list[str]:
    """The ways ``iri`` can be written in a file with ``code``'s prefixes and base."""
    if not iri:
        return []
    found = [f"<{iri}>"]
    for prefix, namespace in _PREFIX.findall(code):
        if iri.startswith(namespace) and re.fullmatch(r"[\w\-.]*", iri[len(namespace) :]):
            found.append(f"{prefix}:{iri[len(namespace) :]}")
    for base in _BASE.findall(code):
        if iri.startswith(base):
            found.append(f"<{iri[len(base) :]}>")
    if iri == _RDF_TYPE:
        found.append("a")
    return found


def _token(spellings: list[str]) -> str:
    return "(?:" + "|".join(re.escape(w) for w in spellings) + r")(?=[\s;,.\])}]|$)"


def _triple_position(path: Path, s: str, p: str, o: str) -> tuple[int | None, int | None]:
    """Where the triple is written: its predicate, after its subject at the start of a
    statement (or, for a blank-node subject, before its object); the subject, when the
    predicate cannot be found there; ``(None, None)`` when neither can."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, None
    code = code_only(text, strings=True)
    predicate = _token(_spellings(p, code))
    if s:
        subject = re.compile(r"(?:^|(?<=[.{}])|(?<=\s))" + _token(_spellings(s, code)))
        first = None
        for match in subject.finditer(code):
            before = code[: match.start()].rstrip()
            if before and before[-1] not in ".{}":
                continue  # an object, not a subject
            first = first if first is not None else match.start()
            end = re.search(r"\s\.(?=\s|$)", code[match.end() :])
            statement = code[match.end() : match.end() + end.start() if end else len(code)]
            part = re.search(r"(?:^|;)\s*(" + predicate + ")", statement)
            if part is not None:
                return _position_of(text, match.end() + part.start(1))
        if first is not None:
            return _position_of(text, first)
    if o:
        found = re.search("(" + predicate + r")\s+" + _token(_spellings(o, code)), code)
        if found is not None:
            return _position_of(text, found.start(1))
    return None, None


# -- the fast reader ----------------------------------------------------------------------------
_XSD_STRING = str(XSD.string)
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def read_file(
    path: Path,
    *,
    max_size: int | None = None,
    label_key: str | None = None,
    check_literals: bool = True,
    schema: frozenset[str] | None = None,
) -> list[OxTriple]:
    """Parse one file with Oxigraph into fast-path triples; the same checks as :func:`parse_file`.

    Oxigraph parses an order of magnitude faster than rdflib. Its error messages are replaced
    by the reference loader's (file, line, what to fix): on any problem the file is parsed once
    more by :func:`parse_file`, which raises the located error. Blank nodes get labels that
    depend only on ``label_key`` (default: the path) and their order in the file, so a rebuild
    is byte-identical.
    Literals are checked twice: against their datatype (as :func:`parse_file` does) and
    against the store, which keeps numbers and some dates only in canonical form (Oxigraph
    issue #526): a literal the store would rewrite, like ``"02"^^xsd:integer``, is refused
    with a located error instead of being changed silently. Without ``check_literals`` that
    second check is the caller's (:func:`bad_literals` checks many files' literals at once, and
    :func:`check_file_literals` locates the problem in a file that has one). With ``schema``
    (:func:`schema_terms` of the ontology) the file is a data file: see :func:`parse_file`.
    """
    import pyoxigraph as ox

    fmt, data = _read_checked(path, max_size)
    prefix = "b" + hashlib.sha256((label_key or path.as_posix()).encode()).hexdigest()[:10] + "x"
    labels: dict[str, ox.BlankNode] = {}

    def relabel(term: Any) -> Any:
        if isinstance(term, ox.BlankNode):
            node = labels.get(term.value)
            if node is None:
                node = labels[term.value] = ox.BlankNode(f"{prefix}{len(labels)}")
            return node
        return term

    triples: list[OxTriple] = []
    try:
        # no base IRI: a relative IRI without @base is an error (RelativeIRIError), not a file:
        # IRI that names this machine's folder
        for quad in ox.parse(data, getattr(ox.RdfFormat, _OX_FORMATS[fmt])):
            s, p, o = quad.subject, quad.predicate, quad.object
            if isinstance(s, ox.BlankNode) or isinstance(o, ox.BlankNode):
                s, o = relabel(s), relabel(o)
            triples.append((s, p, o))
    except SyntaxError as exc:
        raise _ox_syntax_error(path, data, exc) from exc
    except ValueError as exc:
        parse_file(path, Graph(), max_size=max_size)  # raises the located error, if it has one
        raise RDFSyntaxError(SourceLocation(path), f"bad syntax ({exc})") from exc
    if check_literals:
        check_file_literals(path, triples, max_size)
    if schema is not None:
        check_instance_data(path, triples, schema)
    return triples


def typed_literals(triples: Iterable[OxTriple]) -> set[Any]:
    """The literals of ``triples`` with a datatype other than ``xsd:string``: those
    :func:`bad_literals` checks."""
    import pyoxigraph as ox

    return {
        o
        for _, _, o in triples
        if isinstance(o, ox.Literal)
        and not o.language
        and o.datatype.value not in (_XSD_STRING, _LANG_STRING)
    }


def bad_literals(literals: Collection[Any]) -> set[Any]:
    """The typed literals (pyoxigraph) that :func:`read_file` refuses: ill-typed for their
    datatype, or not in the canonical form the store would keep."""
    ill_typed = {lit for lit in literals if _ill_typed_ox(lit)}
    return ill_typed | {lit for lit, stored in _stored_forms(literals) if stored != lit}


def _ill_typed_ox(lit: Any) -> bool:
    """:func:`ill_typed` for a pyoxigraph literal, its lexical form as written (made into an
    rdflib one without rdflib's warning and traceback for a value it cannot convert: the user
    gets the located error)."""
    pattern = _LEXICAL.get(URIRef(lit.datatype.value))
    if pattern is not None and pattern.fullmatch(lit.value) is None:
        return True
    with quiet_rdflib_term_warnings():
        return ill_typed(Literal(lit.value, datatype=URIRef(lit.datatype.value)))


def _stored_forms(literals: Iterable[Any]) -> list[tuple[Any, Any]]:
    """Each literal (sorted by datatype and lexical form) and the form the store keeps it in."""
    import pyoxigraph as ox

    ordered = sorted(literals, key=lambda lit: (lit.datatype.value, lit.value))
    scratch = ox.Store()
    predicate = ox.NamedNode("urn:kgtools:literal")
    scratch.bulk_extend(
        ox.Quad(ox.NamedNode(f"urn:kgtools:{i}"), predicate, lit) for i, lit in enumerate(ordered)
    )
    stored = {int(q.subject.value.rsplit(":", 1)[1]): q.object for q in scratch}
    return [(lit, stored[i]) for i, lit in enumerate(ordered)]


def check_file_literals(path: Path, triples: list[OxTriple], max_size: int | None = None) -> None:
    """Raise the located error for the first literal of ``triples`` (read from ``path``) that
    :func:`bad_literals` refuses: ill-typed, or not in canonical form."""
    import pyoxigraph as ox

    typed = typed_literals(triples)
    if not typed:
        return
    _check_ill_typed(path, [o for _, _, o in triples])
    for original, stored in _stored_forms(typed):
        if stored != original:
            assert isinstance(stored, ox.Literal)
            raise NonCanonicalLiteralError(
                SourceLocation(
                    path, *_literal_position(path, original.value, original.datatype.value)
                ),
                f"{original} would be stored as {stored}: the store keeps this datatype only "
                "in canonical form",
                f"write it as {stored}, so that the graph holds exactly what the file says",
            )


def read_files(
    paths: Iterable[tuple[Path, str]], *, schema: frozenset[str] | None = None
) -> dict[str, list[OxTriple]]:
    """Parse files (path, label key) with the fast reader; every file's problem together.

    The typed literals of all files are checked at once (thousands of files repeat the same
    dates and numbers); only a file holding a literal that fails is checked again on its own,
    for the located error."""
    parsed: dict[str, list[OxTriple]] = {}
    typed: dict[str, set[Any]] = {}
    errors: list[InputError] = []
    files = {}
    for path, key in paths:
        try:
            parsed[key] = read_file(path, label_key=key, check_literals=False, schema=schema)
            typed[key] = typed_literals(parsed[key])
            files[key] = path
        except InputError as exc:
            errors.append(exc)
    bad = bad_literals(set().union(*typed.values()))
    for key, literals in typed.items():
        if not literals.isdisjoint(bad):
            try:
                check_file_literals(files[key], parsed[key])
            except InputError as exc:
                errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else LoadErrors(errors)
    return parsed
