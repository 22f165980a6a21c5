"""The fast reader ``kg build`` runs: Oxigraph parses each file into pyoxigraph triples, with
every check of :mod:`kgtools.load.checks` (each file's problems reported together)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from rdflib import Graph

from kgtools.engine.terms import OxTriple
from kgtools.errors import (
    InputError,
    LoadErrors,
    NonCanonicalLiteralError,
    RDFSyntaxError,
    SourceLocation,
)
from kgtools.load.checks import (
    _LANG_STRING,
    _OX_FORMATS,
    _XSD_STRING,
    _check_ill_typed,
    _ill_typed_ox,
    _literal_position,
    _ox_syntax_error,
    _read_checked,
)
from kgtools.load.reference import parse_file
from kgtools.load.schema import check_instance_data


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
