"""Query stage: the query library, safety checks, parameter binding, time limits and result formats.

* :class:`QueryLibrary` finds the ``.rq`` files under ``queries/`` by name (``plans`` or
  ``cq/plans``).
* :func:`check_query` refuses, before anything runs, what a shared read-only graph must never do:
  updates (``INSERT``, ``LOAD`` …), ``SERVICE`` (which would make rdflib fetch from the web) and
  dataset clauses (``FROM`` / ``FROM NAMED``, which rdflib may dereference). A syntax error
  reports its line and column.
* :func:`plainly_safe` spares a library query rdflib's parse (a quarter of a second for a long
  one) when its text cannot hold any of that: none of the keywords those forms need appears in
  it outside whole-line comments, in any letter case, nor any ``\\u`` escape that could spell
  one.
  The embedded store then parses it itself, and a syntax error is reported, with its line and
  column, when it runs. Anything else gets the full :func:`check_query`.
* :func:`run` binds parameters as RDF terms (``initBindings`` — never string formatting) and
  runs the query in a forked child process that is killed at the time limit, because rdflib's
  evaluator cannot be interrupted from inside (where ``fork`` is unavailable the query runs in
  this process without a limit). An answer holding an IRI that no RDF syntax can write (one
  made with ``IRI("a b")``) is refused, so every output format can be produced.
* :class:`QueryResult` serializes to an aligned terminal table (Japanese text counts as two
  columns), CSV, TSV, SPARQL 1.1 Query Results JSON and Markdown; CONSTRUCT/DESCRIBE give Turtle.
"""

from __future__ import annotations

import csv
import functools
import io
import multiprocessing
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node, Variable

from kgtools.errors import KGError
from kgtools.load import bad_iri
from kgtools.namespaces import ID, bind_prefixes
from kgtools.queries import QueryFile, query_from_text
from kgtools.store import Store

DEFAULT_TIMEOUT = 30.0
FORMATS = ("table", "csv", "tsv", "json", "md")


class QueryError(KGError):
    """A query cannot be run as asked."""


class UnknownQueryError(QueryError):
    """No library query has that name."""


class QuerySyntaxError(QueryError):
    """The SPARQL text does not parse; the message points at the line and column."""


class UnsafeQueryError(QueryError):
    """The query would update the graph or reach outside it (SERVICE, FROM, LOAD …)."""


class ParameterError(QueryError):
    """A ``--param`` is malformed, unknown to the query, or missing."""


class QueryTimeoutError(QueryError):
    """The query ran past its time limit and was stopped."""


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
        text = path.read_text(encoding="utf-8")
        if plainly_safe(text):
            return query_from_text(text, path)
        return query_from_text(text, path, parsed=check_query(text, source=str(path)))


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


def check_query(text: str, *, source: str = "<query>") -> Any:
    """Refuse updates, SERVICE and dataset clauses; report syntax errors with line:column.
    Returns rdflib's parse of the query (``query_from_text`` prepares it without parsing
    again)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    try:
        parsed = parseQuery(text)
    except RecursionError:
        raise QuerySyntaxError(
            f"{source}: SPARQL syntax error: groups or expressions nested too deeply to parse; "
            "flatten the query"
        ) from None
    except ParseException as exc:
        try:
            parseUpdate(text)
        except (ParseException, RecursionError):
            raise QuerySyntaxError(_location(exc, source)) from exc
        raise UnsafeQueryError(
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


#: Every keyword that an update, SERVICE or a dataset clause needs, and the codepoint escapes
#: that SPARQL expands before parsing (``\u0053ERVICE`` is SERVICE).
_REFUSED_WORDS = re.compile(
    r"SERVICE|FROM|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH|USING|\\U",
    re.IGNORECASE,
)


def plainly_safe(text: str) -> bool:
    """True when ``text`` cannot be an update, use SERVICE or name a dataset, without parsing:
    no keyword those need occurs anywhere outside whole-line comments, even inside a longer
    word, a string or an IRI (a false alarm only costs the full check).

    A line whose first non-blank character is ``#`` is a comment to its end (``\\r`` or
    ``\\n``, as SPARQL ends one): short strings and IRIs cannot span lines. Long strings
    (between three quote marks) can, so when the text has one, only the leading comment lines
    are skipped. Letter case is also compared after ``str.upper``, which maps letters such as
    ``ſ`` onto ASCII as rdflib's parser does."""
    lines = re.split(r"[\r\n]", text)
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
        return name, Literal(
            lexical, lang=language, datatype=URIRef(datatype) if datatype else None
        )
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
    bound: dict[str, Node] = {}
    given: dict[str, list[str]] = {}
    for text in texts:
        name, term = parse_param(text)
        given.setdefault(name, []).append(text)
        bound[name] = term
    twice = {name: texts for name, texts in given.items() if len(texts) > 1}
    if twice:
        name, values = next(iter(twice.items()))
        raise ParameterError(
            f"--param {name} given {len(values)} times ({', '.join(values)}): a parameter takes "
            "one value; run the query once per value"
        )
    return bound


def _short(text: str, size: int = 80) -> str:
    """A value as an error message shows it: at most ``size`` characters."""
    return text if len(text) <= size else f"{text[:size]}… ({len(text):,} characters)"


class UnknownValueError(ParameterError):
    """A parameter's value is outside the domain its query declares."""


#: Predicates whose objects are labels: a ``label`` parameter is matched in any language.
LABEL_PREDICATES = (
    URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
    URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"),
    URIRef("http://www.w3.org/2004/02/skos/core#altLabel"),
)
_LABEL_FORMS = Path(__file__).resolve().parent / "sparql" / "label-forms.rq"
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
    from kgtools.queries import load_query

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


def check_params(query: QueryFile, params: Mapping[str, Node]) -> None:
    """Every required parameter given; none given that the query does not declare or use."""
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
        if self.kind in ("CONSTRUCT", "DESCRIBE"):
            return self.graph().serialize(format="longturtle")
        if fmt not in FORMATS:
            raise QueryError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")
        if fmt in ("json", "csv"):
            text = _rdflib_result(self).serialize(format=fmt).decode("utf-8")
            return text if text.endswith("\n") else text + "\n"
        if self.kind == "ASK":
            return ("true" if self.boolean else "false") + "\n"
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


def nt_term(term: Node | None) -> str:
    """A term in N-Triples syntax (SPARQL TSV cells, and SPARQL text for remote bindings)."""
    if term is None:
        return ""
    if isinstance(term, Literal):
        text = (
            str(term)
            .replace("\\", "\\\\")
            .replace('"', '\\"')
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            .replace("\t", "\\t")
        )
        if term.language:
            return f'"{text}"@{term.language}'
        if term.datatype:
            return f'"{text}"^^<{term.datatype}>'
        return f'"{text}"'
    if isinstance(term, BNode):
        return f"_:{term}"
    return f"<{term}>"


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
        conn.send(("ok", _execute(store, query, bindings, graphs)))
    except _StoreSyntaxError as exc:
        conn.send(("syntax", str(exc)))
    except Exception as exc:  # sent to the parent, which raises it as a QueryError
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run(
    store: Store,
    query: QueryFile,
    params: Mapping[str, Node] | None = None,
    *,
    graphs: Sequence[URIRef] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> QueryResult:
    """Run a checked library or user query with bound parameters, stopped at ``timeout`` s."""
    bindings = dict(params or {})
    check_params(query, bindings)
    if not timeout or "fork" not in multiprocessing.get_all_start_methods():
        try:
            answer = _execute(store, query, bindings, graphs)
        except _StoreSyntaxError as exc:
            _syntax_error(query, str(exc))
        _check_result_iris(answer, query.path.name)
        return answer
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, store, query, bindings, graphs))
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise QueryTimeoutError(
                f"{query.path.name}: stopped after the time limit of {timeout:g} s; "
                "simplify the query or raise the limit with --timeout"
            )
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


def _syntax_error(query: QueryFile, message: str) -> NoReturn:
    """The store refused the text: rdflib's full check says where (with line and column) or
    refuses it as unsafe; if rdflib accepts it, the store's own message is the answer."""
    check_query(query.text, source=str(query.path))
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
    """Check and prepare SPARQL given by the user (stdin, a file, or the Python API)."""
    return query_from_text(text, Path(source), parsed=check_query(text, source=source))
