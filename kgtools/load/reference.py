"""The reference reader: files parsed into rdflib graphs (for pySHACL, owlrl, ``kg validate
--pyshacl``, the docs and the tests), with the same checks and positions as the fast reader."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from rdflib import Dataset, Graph
from rdflib.exceptions import ParserError
from rdflib.plugins.parsers.notation3 import BadSyntax

from kgtools.errors import (
    IllTypedLiteralError,
    InputError,
    LoadErrors,
    RDFSyntaxError,
    SourceLocation,
    shorten,
)
from kgtools.load.checks import (
    _QUAD_FORMATS,
    _UNUSED_BASE,
    _as_written,
    _check_iris,
    _line_parser_error,
    _literal_position,
    _ox_check,
    _read_checked,
    _syntax_error,
    ill_typed_literals,
    quiet_rdflib_term_warnings,
)
from kgtools.load.schema import check_instance_data


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
            f'"{shorten(str(lit))}" is not a valid {lit.datatype}',
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
