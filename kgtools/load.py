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
from rdflib import XSD, Dataset, Graph, Literal, URIRef
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from kgtools.errors import (
    BadIRIError,
    IllTypedLiteralError,
    InputError,
    InputTooLargeError,
    LoadErrors,
    MissingInputError,
    NonCanonicalLiteralError,
    RDFSyntaxError,
    SourceLocation,
    UnsupportedFormatError,
)
from kgtools.triples import OxTriple

#: rdflib parser name for each file suffix the loader accepts.
FORMATS: dict[str, str] = {".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".trig": "trig"}
_QUAD_FORMATS = frozenset({"nquads", "trig"})

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

#: Characters RDF 1.1 forbids in an IRI reference (besides controls and space, U+0000–U+0020).
_BAD_IRI_CHARS = frozenset('<>"{}|^`\\')
#: The same characters, and the controls and space (U+0000–U+0020), as one character class.
_BAD_IRI = re.compile("[" + re.escape("".join(sorted(_BAD_IRI_CHARS))) + "\x00-\x20]")


@contextmanager
def _quiet_rdflib_term_warnings() -> Iterator[None]:
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
        with _quiet_rdflib_term_warnings():
            graph.parse(data=data, format=fmt)
        return ill_typed_literals(graph) or fallback
    except Exception:  # the first parse succeeded; keep its (normalized) literals
        return fallback
    finally:
        rdflib.NORMALIZE_LITERALS = previous


def _syntax_error(path: Path, exc: BadSyntax) -> RDFSyntaxError:
    text: bytes = getattr(exc, "_str", b"") or b""
    position: int = getattr(exc, "_i", -1)
    if 0 <= position <= len(text):
        line = text[:position].count(b"\n") + 1
        column = position - (text.rfind(b"\n", 0, position) + 1) + 1
        where = f"column {column}: "
    else:
        line = int(getattr(exc, "lines", 0)) + 1
        where = ""
    why = getattr(exc, "_why", str(exc))
    return RDFSyntaxError(
        SourceLocation(path, line),
        f"{where}bad syntax ({why})",
        "fix the statement at this line (a missing '.', ';' or '>' is the usual cause)",
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


_TZ = r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_YEAR = r"-?([1-9][0-9]{3,}|0[0-9]{3})"
#: Lexical forms of datatypes rdflib keeps without checking (it has no converter for them).
_LEXICAL = {
    XSD.gYear: re.compile(_YEAR + _TZ),
    XSD.gYearMonth: re.compile(_YEAR + r"-(0[1-9]|1[0-2])" + _TZ),
}


def _ill_typed(lit: Literal) -> bool:
    pattern = _LEXICAL.get(lit.datatype) if lit.datatype is not None else None
    if pattern is not None:
        return pattern.fullmatch(str(lit)) is None
    return bool(lit.ill_typed)


def ill_typed_literals(graph: Graph) -> list[Literal]:
    """The literals in ``graph`` whose lexical form is not valid for their datatype."""
    found = {o for o in graph.objects() if isinstance(o, Literal) and _ill_typed(o)}
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
    except OSError as exc:
        raise MissingInputError(SourceLocation(path), f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RDFSyntaxError(
            SourceLocation(path, line), "not valid UTF-8", "save the file as UTF-8"
        ) from exc
    return fmt, data


def parse_file(path: Path, into: Graph, *, max_size: int | None = None) -> None:
    """Parse one file into ``into`` (quads are merged into it); raise an :class:`InputError`.

    ``max_size`` is the largest file accepted, in bytes (default :data:`MAX_INPUT_SIZE`).
    """
    fmt, data = _read_checked(path, max_size)
    target: Graph = Dataset() if fmt in _QUAD_FORMATS else Graph()
    try:
        with _quiet_rdflib_term_warnings():
            target.parse(data=data, format=fmt, publicID=path.resolve().as_uri())
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
            SourceLocation(path, _line_of(path, f'"{lit}"')),
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
    for triple in triples:
        into.add(triple)


def load_files(
    paths: Iterable[Path], into: Graph | None = None, *, max_size: int | None = None
) -> Graph:
    """Parse all ``paths`` into one graph; report every file's problem together."""
    graph = into if into is not None else Graph()
    errors: list[InputError] = []
    for path in paths:
        try:
            parse_file(Path(path), graph, max_size=max_size)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else LoadErrors(errors)
    return graph


# -- the fast reader ----------------------------------------------------------------------------
#: pyoxigraph format for each rdflib format name the loader accepts.
_OX_FORMATS = {"turtle": "TURTLE", "nt": "N_TRIPLES", "nquads": "N_QUADS", "trig": "TRIG"}
_XSD_STRING = str(XSD.string)
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def read_file(
    path: Path,
    *,
    max_size: int | None = None,
    label_key: str | None = None,
    check_literals: bool = True,
    base_iri: str | None = None,
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
    :func:`check_file_literals` locates the problem in a file that has one).
    Relative IRIs resolve against ``base_iri`` (default: the file's own ``file:`` IRI, see
    :func:`base_iri_of`): a build reads its cached copy of a file with the base the file had.
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
        for quad in ox.parse(
            data,
            getattr(ox.RdfFormat, _OX_FORMATS[fmt]),
            base_iri=base_iri_of(path) if base_iri is None else base_iri,
        ):
            s, p, o = quad.subject, quad.predicate, quad.object
            if isinstance(s, ox.BlankNode) or isinstance(o, ox.BlankNode):
                s, o = relabel(s), relabel(o)
            triples.append((s, p, o))
    except (SyntaxError, ValueError) as exc:
        parse_file(path, Graph(), max_size=max_size)  # raises the located error
        line = getattr(exc, "lineno", None)
        raise RDFSyntaxError(SourceLocation(path, line), f"bad syntax ({exc})") from exc
    if check_literals:
        check_file_literals(path, triples, max_size)
    return triples


def base_iri_of(path: Path) -> str:
    """The base IRI :func:`read_file` resolves a file's relative IRIs against by default."""
    return path.resolve().as_uri()


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
    """:func:`_ill_typed` for a pyoxigraph literal."""
    return _ill_typed(Literal(lit.value, datatype=URIRef(lit.datatype.value)))


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
    if any(_ill_typed_ox(lit) for lit in typed):
        parse_file(path, Graph(), max_size=max_size)  # raises IllTypedLiteralError
    for original, stored in _stored_forms(typed):
        if stored != original:
            assert isinstance(stored, ox.Literal)
            raise NonCanonicalLiteralError(
                SourceLocation(
                    path, _line_of(path, f'"{original.value}"') or _line_of(path, original.value)
                ),
                f"{original} would be stored as {stored}: the store keeps this datatype only "
                "in canonical form",
                f"write it as {stored}, so that the graph holds exactly what the file says",
            )


def read_files(paths: Iterable[tuple[Path, str]]) -> dict[str, list[OxTriple]]:
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
            parsed[key] = read_file(path, label_key=key, check_literals=False)
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
