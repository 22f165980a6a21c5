"""Data files describe instances: schema statements (``rdfs:subClassOf``, ``owl:Class`` …)
and unknown ``tip:`` terms in them are refused, at the line and column where they are written."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rdflib import OWL, RDF, RDFS, URIRef

from kgtools.errors import (
    SchemaStatementError,
    SourceLocation,
    UnknownTermError,
    shorten,
)
from kgtools.load.checks import _position_of, code_only
from kgtools.namespaces import ID, ONTOLOGY_IRI

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
        return f"it describes {shorten(s)}, a term of the ontology"
    if p in _SCHEMA_PREDICATES or (p.startswith(_OWL) and p not in _INSTANCE_OWL):
        return f"its predicate {shorten(p)} states schema, not a fact about an instance"
    if p == _RDF_TYPE and (o in _SCHEMA_CLASSES or (o.startswith(_OWL) and o not in _INSTANCE_OWL)):
        return f"it makes {shorten(s) or 'a blank node'} a {shorten(o)}, a schema term"
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
            f"{shorten(short)} is not a term of the ontology (ontology/tip.ttl)",
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
