"""Load stage: parse RDF files into a graph, turning every problem into a located, typed error.

rdflib's parsers stop at the first syntax error and keep ill-typed literals silently (they only
log a warning), so this module adds what users need: the file and line of a syntax error, a
check of every literal against its datatype, and one report for all files at once. Nothing is
fetched from the network: the formats read here (Turtle, N-Triples, N-Quads, TriG) have no
remote includes, and ``owl:imports`` is never followed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rdflib import Dataset, Graph, Literal
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from kgtools.errors import (
    IllTypedLiteralError,
    InputError,
    LoadErrors,
    MissingInputError,
    RDFSyntaxError,
    SourceLocation,
    UnsupportedFormatError,
)

#: rdflib parser name for each file suffix the loader accepts.
FORMATS: dict[str, str] = {".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".trig": "trig"}
_QUAD_FORMATS = frozenset({"nquads", "trig"})


@contextmanager
def _quiet_rdflib_term_warnings() -> Iterator[None]:
    """Silence rdflib's per-literal conversion warnings; ill-typed literals are reported by us."""
    logger = logging.getLogger("rdflib.term")
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


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


def ill_typed_literals(graph: Graph) -> list[Literal]:
    """The literals in ``graph`` whose lexical form is not valid for their datatype."""
    found = {o for o in graph.objects() if isinstance(o, Literal) and o.ill_typed}
    return sorted(found, key=lambda lit: (str(lit.datatype), str(lit)))


def parse_file(path: Path, into: Graph) -> None:
    """Parse one file into ``into`` (quads are merged into it); raise an :class:`InputError`."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedFormatError(
            SourceLocation(path),
            f"unsupported file type '{path.suffix or '(none)'}'",
            f"use one of {', '.join(sorted(FORMATS))}",
        )
    if not path.is_file():
        raise MissingInputError(SourceLocation(path), "no such file", "check the path")
    try:
        data = path.read_bytes()
        data.decode("utf-8")
    except OSError as exc:
        raise MissingInputError(SourceLocation(path), f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RDFSyntaxError(
            SourceLocation(path, line), "not valid UTF-8", "save the file as UTF-8"
        ) from exc
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
    bad = ill_typed_literals(target)
    if bad:
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


def load_files(paths: Iterable[Path], into: Graph | None = None) -> Graph:
    """Parse all ``paths`` into one graph; report every file's problem together."""
    graph = into if into is not None else Graph()
    errors: list[InputError] = []
    for path in paths:
        try:
            parse_file(Path(path), graph)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else LoadErrors(errors)
    return graph
