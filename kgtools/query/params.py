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

from rdflib import XSD, Literal, URIRef
from rdflib.term import Node

from kgtools.errors import (
    DuplicateValueError,
    EmptyListError,
    EmptyTextError,
    ParameterError,
    ParameterTypeError,
    UnknownLanguageError,
    shorten,
)
from kgtools.load.checks import ill_typed, quiet_rdflib_term_warnings
from kgtools.query.library import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    QueryFile,
)
from kgtools.query.safety import _SURROGATE
from kgtools.store.base import Binding
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


def check_params(query: QueryFile, params: Mapping[str, Binding]) -> None:
    """Every required parameter given; none given that the query does not declare or use;
    every value an RDF term the store can read (:func:`check_term`)."""
    for name, value in params.items():
        for term in value if isinstance(value, tuple) else (value,):
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


XSD_INTEGER = XSD.integer
#: A whole number as the ``integer`` kind takes it: ASCII digits only (``int()`` and ``\\d``
#: would also take ``２０２３``, full-width digits, which the graph never holds).
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")


def typed_value(query: QueryFile, name: str, value: Binding) -> Binding:
    """``value`` as its parameter's declared kind takes it: an ``integer`` parameter's text
    bound as an ``xsd:integer`` (ASCII digits only, else :class:`ParameterTypeError`); a
    ``list`` parameter's comma-separated text as a tuple of plain literals, one ``VALUES`` row
    each (none: :class:`EmptyListError`; one twice: :class:`DuplicateValueError`); each value
    is then checked as a single value would be. Any other kind is left as it is. A value given
    already typed (an ``xsd:integer``, a tuple) is checked and kept, so that binding twice
    changes nothing."""
    kind = query.kinds.get(name, "").lower()
    where = f"?{name} of {query.path.name}"
    if kind == "list":
        if isinstance(value, tuple):
            items = list(value)
        elif isinstance(value, Literal) and not value.language and not value.datatype:
            items = [Literal(part) for part in str(value).split(",")]
        else:
            raise ParameterTypeError(
                f"--param {name}={shorten(nt_term(value))}: {where} is a list: give its values "
                f"as plain text separated by commas, e.g. --param {name}=131067,131113"
            )
        if not items or items == [Literal("")]:
            raise EmptyListError(
                f"--param {name}= gives no value: {where} is a list of one or more values "
                f"separated by commas, e.g. --param {name}=131067,131113"
            )
        if any(str(item) == "" for item in items):
            raise EmptyListError(
                f"--param {name}={shorten(str(value))}: an empty value between commas; {where} "
                "takes values separated by single commas, with nothing before the first or after "
                "the last"
            )
        seen: set[Node] = set()
        for item in items:
            if item in seen:
                raise DuplicateValueError(
                    f"--param {name}={shorten(str(value))}: {shorten(display_text(item))} is "
                    f"given twice; {where} takes each value once"
                )
            seen.add(item)
        return tuple(items)
    if kind == "text" and isinstance(value, Literal) and str(value) == "":
        raise EmptyTextError(
            f"--param {name}= gives the empty text: {where} is the text to look for, and every "
            f"text contains the empty one; give one or more characters, e.g. --param {name}=EC"
        )
    if kind == "integer":
        if isinstance(value, tuple) or not isinstance(value, Literal) or value.language:
            raise ParameterTypeError(
                f"--param {name}: {where} is an integer, e.g. --param {name}=2023; "
                f"{shorten(_shown(value))} is not"
            )
        if value.datatype not in (None, XSD_INTEGER) or not _INTEGER.fullmatch(str(value)):
            text = str(value)
            hint = ""
            if text.translate(_FULL_WIDTH) != text and _INTEGER.fullmatch(
                text.translate(_FULL_WIDTH)
            ):
                hint = f" (it has full-width digits: write {text.translate(_FULL_WIDTH)})"
            raise ParameterTypeError(
                f"--param {name}={shorten(text)}: {where} is an integer written in the digits "
                f"0-9, e.g. --param {name}=2023; {shorten(repr(text))} is not{hint}"
            )
        return Literal(str(value), datatype=XSD_INTEGER)
    return value


def display_text(term: Node) -> str:
    return str(term) if isinstance(term, Literal) else nt_term(term)


def _shown(value: Binding) -> str:
    if isinstance(value, tuple):
        return ",".join(display_text(t) for t in value)
    return nt_term(value)


def bound_params(
    query: QueryFile, params: Mapping[str, Binding], lang: str | None = None
) -> dict[str, Binding]:
    """The bindings a query runs with: the values its alias fixes (:attr:`QueryFile.preset`;
    giving another value for one of them is refused), ``?lang`` (:func:`with_language`) and
    each value as its parameter's kind takes it (:func:`typed_value`). Binding twice changes
    nothing (the CLI binds before checking domains, and :func:`~kgtools.query.run.run` again)."""
    given = dict(params)
    for name, text in query.preset.items():
        fixed = typed_value(query, name, parse_param(f"{name}={text}")[1])
        if name in given and typed_value(query, name, given[name]) != fixed:
            target = query.path.stem
            raise ParameterError(
                f"{query.alias} is {target} with {name}={text}; for another value run "
                f"kg query {target} --param {name}=…"
            )
        given[name] = fixed
    single = {n: v for n, v in given.items() if not isinstance(v, tuple)}
    bound: dict[str, Binding] = {**given, **with_language(query, single, lang)}
    return {name: typed_value(query, name, value) for name, value in bound.items()}
