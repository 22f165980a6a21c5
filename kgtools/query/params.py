"""Query parameters: ``--param name=value`` parsed into RDF terms and checked against the query.

A value is one RDF term (an IRI, a prefixed name, a quoted literal with an optional language or
datatype, a number or a boolean); it is bound by ``initBindings`` or a ``VALUES`` block, never
written into the text. A query's header declares its parameters, the domain of each (a query
under ``queries/domains/`` that lists the allowed values) and which ones are labels, matched in
any language (:data:`LABEL_PREDICATES`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rdflib import Literal, URIRef
from rdflib.term import Node

from kgtools.errors import (
    ParameterError,
    UnknownLanguageError,
)
from kgtools.load.checks import ill_typed, quiet_rdflib_term_warnings
from kgtools.query.library import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    QueryFile,
)
from kgtools.query.safety import _SURROGATE
from kgtools.store.sparql_text import nt_term

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
                    f"--param {name}: {shorten(value)} is not a valid <{datatype}>: its text "
                    f"{shorten(lexical)!r} is not a value of that datatype; fix the value or drop "
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


def shorten(text: str, size: int = 80) -> str:
    """A value as an error message shows it: at most ``size`` characters."""
    return text if len(text) <= size else f"{text[:size]}… ({len(text):,} characters)"


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
            f"--param {name}: {shorten(nt_term(term))} is not a valid {what} ({exc}); fix the "
            f"value, or quote it to pass it as text: --param '{name}=\"…\"'"
        ) from None


def check_language(lang: str) -> str:
    """``lang`` if the graph has labels in it (``ja``, ``en``); otherwise an
    :class:`~kgtools.errors.UnknownLanguageError` naming the ones it has."""
    if lang not in LANGUAGES:
        raise UnknownLanguageError(
            f"no labels in language {shorten(repr(lang))}: every node has labels in "
            f"{', '.join(LANGUAGES)}; ask for one of them (e.g. --lang en)"
        )
    return lang


def with_language(
    query: QueryFile, params: Mapping[str, Node], lang: str | None = None
) -> dict[str, Node]:
    """``params`` with the query's ``language`` parameter (``?lang``) bound: to ``lang`` when
    given (``--lang``), else to the value given as a parameter (``-p lang=en``), else to
    :data:`~kgtools.query.library.DEFAULT_LANGUAGE`. The value is bound as a plain literal like
    any other parameter (a ``VALUES`` block, never written into the text); a language other
    than ``ja`` or ``en`` is refused. A query without a language parameter is left as it is
    (``lang`` is still checked)."""
    if lang is not None:
        check_language(lang)
    bound = dict(params)
    for name in sorted(query.languages):
        given = bound.get(name)
        if given is not None:
            if not isinstance(given, Literal) or given.language or given.datatype:
                raise UnknownLanguageError(
                    f"--param {name}: {shorten(nt_term(given))} is not a language code; give "
                    f"one of {', '.join(LANGUAGES)} (e.g. --param {name}=en)"
                )
            check_language(str(given))
            if lang is not None and str(given) != lang:
                raise ParameterError(
                    f"--lang {lang} and --param {name}={given} ask for two languages; give one"
                )
        bound[name] = Literal(lang or (str(given) if given is not None else DEFAULT_LANGUAGE))
    return bound


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
    missing = sorted(declared - query.optional - query.languages - set(params))
    if missing:
        raise ParameterError(
            f"{query.path.name} needs --param {' --param '.join(m + '=…' for m in missing)}"
        )
