"""Query safety: the one text that is both checked and run, and what a shared read-only graph
refuses.

* :func:`canonical_text` makes the one text that is both checked and run. The check parses with
  rdflib while the built store (Oxigraph) runs the text, and the two read some text differently:
  rdflib expands ``\\u`` escapes everywhere before parsing (SPARQL 1.1 §19.2) while Oxigraph
  reads them only inside strings and IRIs, and a ``#`` comment ends at a carriage return for
  Oxigraph (§19.4) but only at a line feed for rdflib. So the escapes are expanded here, as the
  specification says, every CR or CRLF becomes LF, and a text that still holds something either
  parser would expand (``\\u005Cu0041`` expands to ``\\u0041``), a NUL, a surrogate or an
  out-of-range code point is refused. rdflib then checks exactly that string and the store gets
  exactly that string. (A carriage return inside a long string therefore becomes a line feed:
  write ``\\r`` to keep one.)
* :func:`check_query` refuses, before anything runs, what a shared read-only graph must never do:
  updates (``INSERT``, ``LOAD`` …), ``SERVICE`` (which would make the engine fetch from the web)
  and dataset clauses (``FROM`` / ``FROM NAMED``, which rdflib may dereference). A syntax error
  reports its line and column. It parses in a thread with a large stack and a raised recursion
  limit (rdflib's parser recurses about twelve frames per triple pattern), so a long flat query
  parses while nesting deeper than the embedded store can take is refused.
* A prefixed name whose prefix the query does not declare gets the project's declaration
  (:data:`kgtools.namespaces.PREFIXES`: ``tip:``, ``id:``, ``rdfs:``, ``schema:`` …) written
  into the text before its first non-comment line (line numbers are kept), so both parsers see
  the same declarations; any other undeclared prefix is a clear error.
* :func:`plainly_safe` spares a library query rdflib's parse (a quarter of a second for a long
  one) when its canonical text cannot hold any of that: none of the keywords those forms need
  appears in it outside whole-line comments, in any letter case.
  The embedded store then parses it itself, and a syntax error is reported, with its line and
  column, when it runs. Anything else gets the full :func:`check_query`.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kgtools.errors import (
    QuerySyntaxError,
    UnsafeQueryError,
    UpdateRefusedError,
    excerpt,
)
from kgtools.memo import BoundedMemo
from kgtools.namespaces import PREFIXES


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
    text = excerpt(getattr(exc, "line", ""), column)
    return f"{where}: SPARQL syntax error: {detail}" + (f"\n  {text}" if text else "")


def _line_column(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + text.count("\r", 0, index) - text.count("\r\n", 0, index)
    start = max(text.rfind("\n", 0, index), text.rfind("\r", 0, index)) + 1
    return f"{line + 1}:{index - start + 1}"


#: SPARQL 1.1 §19.2: ``\u`` and four hex digits, ``\U`` and eight, stand for one code point and
#: are replaced before parsing.
_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


#: What rdflib's parser would still expand (it takes ``\u`` or ``\U`` with four or eight digits,
#: in any case): the canonical text must hold none, so rdflib's own expansion leaves it as it is.
_ANY_ESCAPE = re.compile(r"\\[uU][0-9A-Fa-f]{4}")


_SURROGATE = re.compile("[\ud800-\udfff]")


def canonical_text(text: str, source: str = "<query>") -> str:
    r"""The one text that is both checked and run: codepoint escapes expanded, line ends LF.

    Refused (a :class:`QuerySyntaxError` with line and column): an escape for a surrogate, for
    U+0000 or beyond U+10FFFF; a NUL character; and text that, once expanded, still holds
    something rdflib would expand (``\u005Cu0041`` gives ``\u0041``; rdflib also reads
    ``\U005C`` with four digits, which SPARQL and Oxigraph do not).

    >>> canonical_text('SELECT ("\\u0041" AS ?a) {} # c\r\n')
    'SELECT ("A" AS ?a) {} # c\n'
    """

    def expand(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            raise QuerySyntaxError(
                f"{source}:{_line_column(text, match.start())}: SPARQL syntax error: "
                f"{match.group()} is not a character a query may hold (a surrogate, NUL or "
                "beyond U+10FFFF); write the character itself"
            )
        return chr(code)

    if "\x00" in text:
        raise QuerySyntaxError(
            f"{source}:{_line_column(text, text.index(chr(0)))}: SPARQL syntax error: the query "
            "holds a NUL character; remove it"
        )
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:  # only from Python callers: decoded bytes never hold one
        raise QuerySyntaxError(
            f"{source}:{_line_column(text, surrogate.start())}: SPARQL syntax error: the query "
            f"holds a lone surrogate (U+{ord(surrogate.group()):04X}), which is not a character"
        )
    expanded = _CODEPOINT_ESCAPE.sub(expand, text) if "\\" in text else text
    left = _ANY_ESCAPE.search(expanded) if "\\" in expanded else None
    if left is not None:  # e.g. "\U005C" (rdflib reads four digits after \U) or "\u005Cu0041"
        raise QuerySyntaxError(
            f"{source}: SPARQL syntax error: {left.group()!r} is left after the \\u and \\U "
            "escapes are expanded, and the parsers would read it differently; write \\u and "
            "four hex digits, \\U and eight, or the character itself"
        )
    return expanded.replace("\r\n", "\n").replace("\r", "\n")


#: rdflib's parser recurses about twelve Python frames per triple pattern and 27 per nested
#: group: this limit lets about 1,600 flat triple patterns parse and refuses groups nested more
#: than about 700 deep, well below the depth at which the embedded store's own parser overflows
#: its stack (some 3,000).
PARSE_RECURSION_LIMIT = 20_000


_PARSE_STACK = 128 * 1024 * 1024


_deep_lock = threading.Lock()


_deep_users = 0


_deep_saved = 0


def deep_call(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)`` in a thread with a 128 MiB stack and the recursion limit raised to
    :data:`PARSE_RECURSION_LIMIT` while it runs (rdflib's parser and algebra are recursive);
    its exception, ``RecursionError`` included, is raised here."""
    global _deep_users, _deep_saved
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append((True, function(*args)))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append((False, exc))

    with _deep_lock:
        if _deep_users == 0:
            _deep_saved = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_deep_saved, PARSE_RECURSION_LIMIT))
        _deep_users += 1
        previous = threading.stack_size(_PARSE_STACK)  # read when the thread starts
        try:
            thread = threading.Thread(target=target, name="kg-sparql-parse", daemon=True)
            thread.start()
        except BaseException:
            _deep_users -= 1
            if _deep_users == 0:
                sys.setrecursionlimit(_deep_saved)
            raise
        finally:
            threading.stack_size(previous)
    try:
        thread.join()
    finally:
        with _deep_lock:
            _deep_users -= 1
            if _deep_users == 0:
                sys.setrecursionlimit(_deep_saved)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


_TOO_DEEP = (
    "SPARQL syntax error: groups or expressions nested too deeply to parse; flatten the query"
)


#: The operations of a SPARQL 1.1 update request, as rdflib's parser names them.
_UPDATE_OPERATIONS = frozenset(
    [
        "Load",
        "Clear",
        "Drop",
        "Create",
        "Add",
        "Move",
        "Copy",
        "InsertData",
        "DeleteData",
        "DeleteWhere",
        "Modify",
    ]
)


def check_query(text: str, *, source: str = "<query>") -> Any:
    """Refuse updates, SERVICE and dataset clauses; report syntax errors with line:column.
    ``text`` is made canonical first (:func:`canonical_text`); returns rdflib's parse of the
    canonical text (``query_from_text`` prepares it without parsing again)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    text = canonical_text(text, source)
    try:
        parsed = deep_call(parseQuery, text)
    except RecursionError:
        raise QuerySyntaxError(f"{source}: {_TOO_DEEP}") from None
    except ParseException as exc:
        try:
            update = deep_call(parseUpdate, text)
        except (ParseException, RecursionError):
            raise QuerySyntaxError(_location(exc, source)) from exc
        if not any(getattr(item, "name", None) in _UPDATE_OPERATIONS for item in _walk(update)):
            # an empty update request (nothing, or only comments and prologue): no query either
            raise QuerySyntaxError(_location(exc, source)) from exc
        raise UpdateRefusedError(
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


def undeclared_prefixes(parsed: Any) -> list[str]:
    """The prefixes of prefixed names in rdflib's parse that the query does not declare."""
    used: set[str] = set()
    declared: set[str] = set()
    for item in _walk(parsed):
        name = getattr(item, "name", None)
        if name == "pname":
            used.add(dict(item).get("prefix") or "")
        elif name == "PrefixDecl":
            declared.add(dict(item).get("prefix") or "")
    return sorted(used - declared)


_LEADING_COMMENTS = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\n)*")


def with_prefixes(text: str, prefixes: Sequence[str]) -> str:
    """``text`` with the project's ``PREFIX`` declarations for ``prefixes`` at the start of its
    first line that is neither blank nor a comment (so the header and line numbers stay)."""
    declarations = "".join(f"PREFIX {p}: <{PREFIXES[p]}> " for p in prefixes)
    cut = _LEADING_COMMENTS.match(text)
    at = cut.end() if cut else 0
    return text[:at] + declarations + text[at:]


#: Texts that passed :func:`checked_text` in this process -> the text to run. The check reads
#: nothing but the text, so a text that passed once passes again: ``kg serve`` answering the
#: same query, or a library query the keyword screen sends to the full check, need not wait for
#: rdflib's parser (0.05–0.25 s a query) every time. Refusals are not kept: they are made again,
#: message and all.
_CHECKED: BoundedMemo[str, str] = BoundedMemo(512)


def checked_text(text: str, source: str = "<query>") -> tuple[str, Any]:
    """The text to run and rdflib's parse of exactly that text, after :func:`check_query`;
    for a text that passed before in this process, the text to run and ``None`` (it is not
    parsed again: see :data:`_CHECKED`).

    Prefixes the query uses without declaring them get the project's declarations
    (:data:`kgtools.namespaces.PREFIXES`); an undeclared prefix the project does not know is
    an error that says which declaration to add."""
    passed = _CHECKED.get(text)
    if passed is not None:
        return passed, None
    final, parsed = _checked_text(text, source)
    _CHECKED.put(text, final)
    return final, parsed


def _checked_text(text: str, source: str) -> tuple[str, Any]:
    canonical = canonical_text(text, source)
    parsed = check_query(canonical, source=source)
    missing = undeclared_prefixes(parsed)
    if not missing:
        return canonical, parsed
    unknown = [p for p in missing if p not in PREFIXES]
    if unknown:
        known = ", ".join(f"{p}:" for p in PREFIXES)
        raise QuerySyntaxError(
            f"{source}: unknown prefix {', '.join(p + ':' for p in unknown)} — add "
            + " ".join(f"PREFIX {p}: <…>" for p in unknown)
            + f" to the query (the project's own prefixes need no declaration: {known})"
        )
    final = with_prefixes(canonical, missing)
    return final, check_query(final, source=source)


_PREFIXED = re.compile(r"(?<![\w<\"'/#.:-])([A-Za-z][\w-]*):(?=[\w%])")


_DECLARED = re.compile(r"PREFIX\s+([A-Za-z][\w.-]*)?:", re.IGNORECASE)


def _may_use_undeclared_prefixes(text: str) -> bool:
    """True when ``text`` may use one of the project's prefixes without declaring it (then
    the full check adds the declaration); a false alarm only costs rdflib's parse."""
    body = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))
    declared = set(_DECLARED.findall(body))
    return any(p in PREFIXES and p not in declared for p in _PREFIXED.findall(body))


#: Every keyword that an update, SERVICE or a dataset clause needs, and the codepoint escapes
#: (which :func:`canonical_text` expands, so none is left in a text it made).
_REFUSED_WORDS = re.compile(
    r"SERVICE|FROM|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH|USING|\\U",
    re.IGNORECASE,
)


def plainly_safe(text: str) -> bool:
    r"""True when ``text`` cannot be an update, use SERVICE or name a dataset, without parsing:
    no keyword those need occurs anywhere outside whole-line comments, even inside a longer
    word, a string or an IRI (a false alarm only costs the full check). ``text`` must be
    canonical (:func:`canonical_text`): a CR or a codepoint escape makes it False.

    A line whose first non-blank character is ``#`` is a comment to its end (``\n``, the only
    line end a canonical text has): short strings and IRIs cannot span lines. Long strings
    (between three quote marks) can, so when the text has one, only the leading comment lines
    are skipped. Letter case is also compared after ``str.upper``, which maps letters such as
    ``ſ`` onto ASCII as rdflib's parser does."""
    if "\r" in text or "\x00" in text:
        return False
    lines = text.split("\n")
    long_strings = "'''" in text or '"""' in text
    kept: list[str] = []
    for line in lines:
        if line.lstrip(" \t").startswith("#") and not (long_strings and kept):
            continue
        if line.strip(" \t"):
            kept.append(line)
    body = "\n".join(kept)
    return _REFUSED_WORDS.search(body) is None and _REFUSED_WORDS.search(body.upper()) is None
