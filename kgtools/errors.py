"""Typed errors raised by the library.

The library never prints or exits; the CLI maps these to messages and exit codes:

* :class:`KGError` and its subclasses other than :class:`NonConformingDataError` → exit 2
  (bad input or usage: the user has something to fix before anything can run);
* :class:`NonConformingDataError` → exit 1 (the data loaded but does not conform to the shapes).

Every message says what is wrong and, where it can, where (``file:line:column``) and what to do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: What a terminal acts on instead of showing, beyond the C0 control characters: DEL and the
#: C1 controls (an ESC sequence recolours the screen, moves the cursor or sets the window title),
#: and the bidirectional embeddings, overrides and isolates (U+202E shows what follows
#: reversed); as ranges of a regular expression's class (the loader's check uses them too).
ACTED_ON_BEYOND_C0 = "\x7f-\x9f\u202a-\u202e\u2066-\u2069"
#: What a text in the graph may not hold: what a terminal acts on beyond tab and line breaks,
#: bidirectional overrides and isolates, and the noncharacters U+FFFE/U+FFFF (none of them can
#: be in XML: the network's SVG, GraphML and GEXF). A build refuses a literal holding one
#: (:class:`ControlCharacterError`); ``kg network`` refuses an endpoint's text holding one.
NOT_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{ACTED_ON_BEYOND_C0}\ufffe\uffff]")
#: Half of a UTF-16 surrogate pair, alone: no Unicode character, so in no RDF term (a JSON or
#: N-Triples escape can still write one, and Python keeps it in a string it cannot encode).
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def not_text_kind(code: int) -> str:
    """What the character ``code`` that :data:`NOT_TEXT` or :data:`LONE_SURROGATE` matches is,
    and why it is refused."""
    if 0xD800 <= code <= 0xDFFF:
        return "a lone surrogate (half of a UTF-16 pair), which is no Unicode character"
    if 0x202A <= code <= 0x206F:
        return "a bidirectional override or isolate, which reverses or reorders the text around it"
    if code >= 0xFFFE:
        return "a noncharacter, which no XML can hold"
    return "a control character, which a terminal acts on and XML cannot hold"


_UNPRINTABLE = re.compile(f"[\x00-\x1f{ACTED_ON_BEYOND_C0}]")
_UNPRINTABLE_BUT_NEWLINES = re.compile(f"[\x00-\x09\x0b-\x1f{ACTED_ON_BEYOND_C0}]")


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` as a terminal should show it to people (tables, reports, messages): each
    character a terminal would act on written as ``\\uXXXX``, visibly (``lines``: line breaks
    kept). Data read from a file is shown, never run: an ESC sequence in a label once reached the
    terminal raw. Formats for programs (CSV, TSV, JSON, exports) keep every character."""
    pattern = _UNPRINTABLE_BUT_NEWLINES if lines else _UNPRINTABLE
    return pattern.sub(lambda m: f"\\u{ord(m.group()):04X}", text)


def shorten(text: str, size: int = 80) -> str:
    """A value as an error message shows it: at most ``size`` characters (a 300,000-character
    literal was printed whole)."""
    return text if len(text) <= size else f"{text[:size]}… ({len(text):,} characters)"


#: The most characters of a source line an error message shows.
SHOWN = 120


def excerpt(line: str, column: int | None) -> str:
    """A source ``line`` as an error shows it: whole if short, else the :data:`SHOWN`
    characters around ``column`` (1-based) with ``…`` where it was cut (a query of one 3 MB line
    was printed whole)."""
    if len(line) <= SHOWN:
        return line
    start = max(0, min((column or 1) - 1 - SHOWN // 2, len(line) - SHOWN))
    end = start + SHOWN
    return ("…" if start else "") + line[start:end] + ("…" if end < len(line) else "")


class KGError(Exception):
    """Base class of every error the toolkit raises on purpose."""

    exit_code: int = 2


@dataclass(frozen=True)
class SourceLocation:
    """Where in an input file a problem is: ``line`` and ``column`` are 1-based, the column
    counted in characters (code points, as an editor counts them in Japanese text, not bytes);
    ``None`` when unknown. Printed as ``file:line:column``."""

    path: Path
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if not self.line:
            return str(self.path)
        if self.column:
            return f"{self.path}:{self.line}:{self.column}"
        return f"{self.path}:{self.line}"


class InputError(KGError):
    """A problem in one input file, with its location and what to fix."""

    def __init__(self, location: SourceLocation, problem: str, fix: str = "") -> None:
        self.location = location
        self.problem = problem
        self.fix = fix
        text = f"{location}: {problem}"
        if fix:
            text += f" — {fix}"
        super().__init__(text)


class RDFSyntaxError(InputError):
    """A file is not well-formed RDF in its format."""


class RelativeIRIError(RDFSyntaxError):
    """A relative IRI and no ``@base``: it would resolve to a ``file:`` IRI naming the folder the
    file happens to be in on this machine."""


class IllTypedLiteralError(InputError):
    """A literal's lexical form does not match its datatype (e.g. ``"2021-13-40"^^xsd:date``)."""


class ControlCharacterError(InputError):
    """A literal holds a character that is not text: a control character (other than tab and
    line breaks), a bidirectional override or isolate, or a noncharacter (U+FFFE, U+FFFF)."""


class NonCanonicalLiteralError(InputError):
    """A literal the store would keep only in another form (``"02"^^xsd:integer`` → ``"2"``)."""


class UnsupportedFormatError(InputError):
    """The file's extension names no RDF format the loader reads."""


class MissingInputError(InputError):
    """A file or folder the user named does not exist or cannot be read."""


class LoadErrors(KGError):
    """Several input problems found in one load, reported at once: the first
    :attr:`SHOWN` in the message, then how many more (all of them stay in :attr:`errors`)."""

    SHOWN = 50

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = list(errors)
        lines = [str(e) for e in self.errors[: self.SHOWN]]
        if len(self.errors) > self.SHOWN:
            files = len({e.location.path for e in self.errors})
            lines.append(
                f"… and {len(self.errors) - self.SHOWN} more problems "
                f"({len(self.errors)} in all, in {files} files)"
            )
        super().__init__("\n".join(lines))


class InconsistentOntologyError(KGError):
    """The OWL RL reasoner found a contradiction (e.g. a member of two disjoint classes)."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        super().__init__(
            "the OWL RL reasoner found the ontology and data inconsistent:\n"
            + "\n".join(f"  - {m}" for m in self.messages)
        )


class NonConformingDataError(KGError):
    """SHACL validation failed; ``report`` holds the readable report."""

    exit_code = 1

    def __init__(self, report: str) -> None:
        self.report = report
        super().__init__(report)


class ProjectLayoutError(KGError):
    """The ontology, shapes or data folder cannot be found."""


class ExportError(KGError):
    """An export cannot be produced (e.g. an unknown format)."""


class ExportWriteError(ExportError):
    """The export file cannot be written (a folder, no permission, disk full)."""


class JSONLDContextError(ExportError):
    """The project's JSON-LD context (``ontology/context.jsonld``) is missing or not valid."""


class NetworkError(KGError):
    """A network view cannot be made as asked (bad filter, view or format)."""


class NetworkDataError(NetworkError):
    """The graph's answer to a network query cannot be drawn: a text no picture or XML file can
    carry, or a value missing or of the wrong kind (an endpoint's data was never checked by a
    build)."""


class UnknownFilterError(NetworkError):
    """A filter names no municipality, heading or theme of the graph."""


class FontNotFoundError(NetworkError):
    """The Japanese font for PNG/SVG drawings (from ``matplotlib-fontja``) is not installed."""


class DocsError(KGError):
    """The documentation cannot be generated (e.g. a malformed example-parameter file)."""


class SchemaStatementError(InputError):
    """A data file states schema (retypes or describes an ontology term, declares a class or a
    property): data files describe instances (:func:`kgtools.load.schema.schema_statement`)."""


class UnknownTermError(InputError):
    """A data file uses a property or class in the ontology's namespace that the ontology does
    not define (usually a misspelling, whose statements no shape or query would see)."""


class OutsideProjectError(InputError):
    """A data file is a symbolic link to a file outside the project."""


class BrokenLinkError(InputError):
    """A data file is a symbolic link that leads to no file (its target is missing, or the
    link is part of a loop)."""


class InputTooLargeError(InputError):
    """An input file is larger than the loader's size limit
    (``kgtools.load.checks.MAX_INPUT_SIZE``)."""


class BadIRIError(RDFSyntaxError):
    """An IRI holds a character no RDF syntax allows in an IRI (a space, ``<``, ``>``, ``"`` …)."""


class DiffError(KGError):
    """``kg diff`` cannot compare as asked."""


class UnknownPlanError(DiffError):
    """A plan IRI names no tip:Plan of the graph."""


class UnknownMunicipalityCodeError(DiffError):
    """A municipality code names no municipality the graph has a plan of."""


class NothingToCompareError(DiffError):
    """Fewer than two different plans to compare (the same plan twice; a municipality with one)."""


class UsageError(KGError):
    """An argument or option is out of range or names something that cannot be used."""


class OutputPathError(UsageError):
    """An output file or folder given on the command line cannot be written as given: a folder
    where a file is wanted (or the reverse), or a parent folder that does not exist."""


class UnsupportedShapeError(KGError):
    """A shapes graph uses a SHACL feature the fast validator (:mod:`kgtools.engine.shacl`)
    lacks."""

    def __init__(self, shape: str, feature: str) -> None:
        self.shape = shape
        self.feature = feature
        super().__init__(
            f"shape {shape} uses {feature}, which the fast validator (kgtools.engine.shacl) "
            "does not implement: implement it there or validate with kgtools.reference.pyshacl "
            "(pySHACL)"
        )


class UnsupportedOntologyError(KGError):
    """The fast reasoner (:mod:`kgtools.engine.rules`) cannot give owlrl's answer for this input.

    Raised for an OWL construct the compiled rule set does not implement (``owl:someValuesFrom``,
    ``owl:hasKey`` …) and for data that uses T-box vocabulary (``rdfs:subClassOf``, ``owl:sameAs``
    …) beyond restating the ontology; use :mod:`kgtools.reference.owlrl` for such input.
    """


class DataTBoxError(UnsupportedOntologyError):
    """A data triple states T-box vocabulary (an axiom that belongs in the ontology). ``triple``
    is the offending triple, so that the build can name the file that holds it."""

    def __init__(self, triple: object, message: str) -> None:
        self.triple = triple
        super().__init__(message)


class IncrementalUpdateError(UnsupportedOntologyError):
    """A change cannot be applied incrementally (e.g. it brings blank nodes into rule-relevant
    triples, whose noise-filtered consequences the store does not keep); rebuild in full."""


class DumpCacheError(KGError):
    """The cached Turtle sections of the last build (``dist/cache/export/``) are missing or do
    not match their index, so they cannot be patched: the build falls back to a full one. Found
    while the patched file is written (the old file changed during the build), it ends the build
    with ``dist/`` as it was."""


class BuildRunningError(KGError):
    """Another build is writing the same output folder (it holds ``.build.lock`` there)."""

    def __init__(self, out_dir: Path, pid: int | None) -> None:
        self.out_dir = out_dir
        self.pid = pid
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"{out_dir}: another build is running{who} — wait for it to finish, or build into "
            "another folder (--out)"
        )


class DiskFullError(KGError):
    """The disk (or the user's quota) filled up while the build wrote its files."""

    def __init__(self, path: Path | str, out_dir: Path) -> None:
        self.path = path
        super().__init__(
            f"{path}: cannot write: the disk is full (or the quota used up) — free some space "
            f"and build again ({out_dir}/build.json still names the last complete build)"
        )


# -- Queries (``kg query``, ``kg serve``) ----------------------------------------------------------
class QueryError(KGError):
    """A query cannot be run as asked."""


class UnknownQueryError(QueryError):
    """No library query has that name."""


class QuerySyntaxError(QueryError):
    """The SPARQL text does not parse; the message points at the line and column."""


class UnsafeQueryError(QueryError):
    """The query would update the graph or reach outside it (SERVICE, FROM, LOAD …)."""


class UpdateRefusedError(UnsafeQueryError):
    """The text is a SPARQL update (INSERT, DELETE, LOAD, CLEAR …): the graph is read-only."""


class ParameterError(QueryError):
    """A ``--param`` is malformed, unknown to the query, or missing."""


class QueryTimeoutError(QueryError):
    """The query ran past its time limit and was stopped."""


class UnknownValueError(ParameterError):
    """A parameter's value is outside the domain its query declares."""


class ParameterTypeError(ParameterError):
    """A value is not of its parameter's declared kind (``integer``: ``fy=abc``, ``２０２３``)."""


class EmptyListError(ParameterError):
    """A ``list`` parameter was given no value (``codes=``), or an empty one between commas."""


class EmptyTextError(ParameterError):
    """A ``text`` parameter (a text to look for) was given the empty text, which every text
    contains (``q=``)."""


class DuplicateValueError(ParameterError):
    """A ``list`` parameter names the same value twice (``codes=131067,131067``)."""


class UnknownLanguageError(ParameterError):
    """``--lang`` (or a query's ``?lang`` parameter) names a language the graph has no labels
    in: every node is labelled in Japanese (``ja``) and English (``en``)."""


# -- Remote endpoints (``--endpoint``, ``kg push``) ------------------------------------------------
class RemoteError(KGError):
    """A remote SPARQL endpoint cannot be used as asked."""


class EndpointUnreachableError(RemoteError):
    """Nothing answers at the endpoint (connection refused, unknown host, timeout)."""


class EndpointHTTPError(RemoteError):
    """The endpoint answered with an HTTP error; the message quotes the server."""


class EndpointAuthError(EndpointHTTPError):
    """The endpoint refused the credentials (HTTP 401 or 403)."""


class TruncatedResultError(RemoteError):
    """The server cut an answer short (Virtuoso's ``ResultSetMaxRows``)."""


class RemoteReadOnlyError(RemoteError):
    """A :class:`RemoteStore` is read-only; change the server with :func:`push`."""


class PushVerificationError(RemoteError):
    """After an upload the server does not hold the number of triples that was sent."""


class PushFailedError(RemoteError):
    """An upload failed; the message says what state the server is left in and what to run."""


class BadEndpointError(RemoteError):
    """An endpoint URL is not an http(s) URL ``kg`` can use, or carries credentials."""


class EndpointRedirectError(EndpointHTTPError):
    """The endpoint redirects somewhere ``kg`` does not follow (another origin, or a write)."""


class InsecureCredentialsWarning(UserWarning):
    """Credentials are about to travel in clear text (plain http) to a non-loopback host."""


# -- Search (``kg search``) ------------------------------------------------------------------------
class SearchError(KGError):
    """A search that cannot run as asked: empty query, unknown type, missing index."""


# -- The endpoint (``kg serve``) -------------------------------------------------------------------
class ServeError(KGError):
    """The endpoint cannot be started as asked (e.g. the port is taken)."""


class GraphUnavailableError(KGError):
    """No built graph can be opened (``dist/`` was removed, or a rebuild failed)."""


# -- Synthetic projects (``kg synth``) -------------------------------------------------------------
class OutputFolderError(UsageError):
    """``out_dir`` holds files that are not a previous synthetic project (nothing is deleted)."""


# -- Overviews of approved plans (``kg ingest``) ---------------------------------------------------
class OverviewError(InputError):
    """An overview text given to ``kg ingest`` that does not follow the layout of the metropolitan
    government's overviews of approved plans (:mod:`kgtools.ingest`)."""


class OverviewEncodingError(OverviewError):
    """The overview is not UTF-8 text (another encoding, or a binary file such as a PDF)."""


class EmptyOverviewError(OverviewError):
    """The overview file holds no text."""


class OverviewLayoutError(OverviewError):
    """The text is not laid out as an overview: no plan header, a plan without its background
    paragraph or items, headings out of order."""


class TruncatedOverviewError(OverviewError):
    """The overview text ends inside a paragraph or inside a plan: the file was cut short."""


class PlanPeriodError(OverviewError):
    """A plan header has no 【計画期間：…】, or its period cannot be read as fiscal years."""


class UnknownMunicipalityError(OverviewError):
    """A plan header names a municipality that ``data/local-governments.ttl`` does not hold."""
