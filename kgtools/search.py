"""Full-text search over every text in the built graph: titles, labels in both languages,
backgrounds, initiatives' original text, captions, programme and facility names.

A full ``kg build`` writes the index, ``dist/search/STORE.vN.sqlite`` (N:
:data:`INDEX_VERSION`), one file per build's store folder, with its other outputs (older ones
removed): the rows are made in Python from the triples the build holds in memory
(:func:`rows_from`), on the build's writer thread while the store loads, instead of querying the
finished store. An incremental build patches the last build's index: the rows of the entities
the change reaches, made before and after from the two stores (:func:`rows_for`), their
difference applied to a copy (:mod:`kgtools.build.search_patch`). Rows are stored in answer
order (which searches rely on to stop after ``--limit`` hits), with row ids spaced
:data:`SPACING` apart so that a patch can insert rows in order. When there is no index to patch
(or the change alters which properties are indexed), none is written, and the first search
makes it from the build's store (:func:`index_for`, through the SPARQL queries:
:func:`rows_of`), as it does for a build made before the index was part of ``kg build``.
``kg search`` and ``GET /search`` read it (:class:`SearchIndex`). A store folder is never
changed after its build, so an index made for it stays right; every path gives the same rows
in the same order (tests hold them together), so an incremental build's index answers as a full
build's does.
Timings: docs/performance.md, "Search index in `kg build`".

The type names ``--type`` accepts are stored in the ``meta`` table when the index is made, so
opening one reads no rows. Which texts are indexed comes from the ontology, through
``kgtools/sparql/search-texts.rq`` (and :func:`rows_from`, which reads the ontology the same
way): ``rdfs:label`` and ``dcterms:title`` rank as titles, every ``owl:DatatypeProperty`` whose
range is ``rdf:langString`` or ``xsd:string`` as body text.

Matching works on a normalised copy of each text, never on the stored data (:func:`normalise`):
NFKC (``ＳＤＧｓ`` = ``SDGs``, half-width katakana = full-width), casefold (Latin case), katakana
→ hiragana (``ふぇあ`` finds ``フェア``). A query is split on white space of either width into
terms, and a text matches when it holds every term. A term that begins (ends) with an ASCII letter
or digit must not have one just before (after) it in the text, so ``EC`` finds ``EC サイト`` and
``ECの活用`` but not ``ecosystem`` or ``Project``.

The engine is SQLite's FTS5 with the trigram tokenizer, which the Python standard library ships
(SQLite ≥ 3.34): no new dependency, one file, written atomically with the build's other outputs.
A library made for Japanese text search (a morphological analyser such as SudachiPy or
Janome) would segment words, but a dictionary's segmentation misses substrings users type
(``北区`` inside ``北区内``) and adds a dictionary of tens of megabytes; trigrams match any
substring.

Each distinct text is stored once (table ``strings``) with its key (:func:`search_key`: the
normalised text with a space before and after it and each of its ASCII words), and the
full-text table indexes the keys; a text's id is the id of its first row in answer order, and
the rows (table ``texts``) refer to it. At 1M triples 290,614 rows hold 111,182 distinct texts:
the tokenizer reads 4.7M characters, not the 12.9M that index version 5 read (each row's
normalised text and its ASCII words; on the real data rows repeat texts less: docs/performance.md,
"The index's share, a ninth session"). The index keeps which texts hold each trigram, not where
(``detail=none``): a term is looked up as all of its trigrams, and every text found is checked
against the terms themselves. An ASCII word is looked up as itself between spaces (``" ec "`` is
four characters, so the trigram index finds it, and only as a whole word); any other term as
the key pads it (:func:`_padded`: ``2回`` as ``2 回``); a term of one or two characters that is
neither (``北区``) by ``instr`` over the keys, narrowed by the other terms' index hits when there
are any. A search reads the matching texts in id order, each with its rows, a window of row ids
at a time (:meth:`SearchIndex.search`). The word-boundary rule and the marks around each hit are
applied in Python to the rows answered, with a map from each normalised character back to the
original text.
"""

from __future__ import annotations

import heapq
import itertools
import json
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from rdflib.namespace import RDFS

from kgtools.errors import SearchError, printable
from kgtools.query.library import LANGUAGES, SYSTEM_QUERIES

#: The folder in ``dist/`` that holds the index of each build's store (``STORE.sqlite``).
INDEX_DIR = "search"
#: Format of the index (a reader refuses another).
INDEX_VERSION = 6
#: Marks put around each hit in :attr:`Hit.match`.
MARK_OPEN = "«"
MARK_CLOSE = "»"
#: Characters of context kept on each side of the first hit in a long text.
CONTEXT = 40
#: The fiscal years ``fy`` may be (``kg search --fy``, ``GET /search?fy=``).
FISCAL_YEARS = range(1900, 2201)

_QUERIES = SYSTEM_QUERIES
#: Splits a normalised text on its ASCII words, keeping them (:func:`search_key`).
_ASCII_WORDS = re.compile(r"([a-z0-9]+)")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_SPACE = re.compile(r"\s+")


# -- normalisation ------------------------------------------------------------------------------
#: Katakana ァ (U+30A1) … ヶ (U+30F6) to the hiragana 0x60 below them, every other character of
#: the BMP to itself (a list: ``str.translate`` reads it about twice as fast as a dict of the 86).
_KANA = list(range(0x10000))
_KANA[0x30A1:0x30F7] = range(0x30A1 - 0x60, 0x30F7 - 0x60)


def _fold(text: str) -> str:
    if not unicodedata.is_normalized("NFKC", text):  # (checking is ~25× faster than making)
        text = unicodedata.normalize("NFKC", text)
    return text.casefold().translate(_KANA)


def _clusters(text: str) -> Iterator[tuple[int, str]]:
    """``text`` in pieces that NFKC must see together: a character with the combining marks
    (and half-width sound marks) after it, each with its start."""
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or not (
            unicodedata.combining(text[i]) or text[i] in "\uff9e\uff9f\u3099\u309a"
        ):
            yield start, text[start:i]
            start = i


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """:func:`normalise`, and for each of its characters the index in ``text`` of the cluster
    it comes from (one more entry: ``len(text)``, for a hit that ends the text)."""
    if text.isascii():
        return text.lower(), [*range(len(text)), len(text)]
    out: list[str] = []
    where: list[int] = []
    for start, cluster in _clusters(text):
        folded = _fold(cluster)
        out.append(folded)
        where.extend([start] * len(folded))
    where.append(len(text))
    return "".join(out), where


def normalise(text: str) -> str:
    """The form texts and queries are matched in: NFKC, casefolded, katakana as hiragana (the
    same as :func:`normalise_with_map`'s, which works a cluster at a time to keep the map).

    >>> normalise("ＳＤＧｓ とフェア")
    'sdgs とふぇあ'
    """
    return text.lower() if text.isascii() else _fold(text)


def search_key(norm: str) -> str:
    """What the full-text table holds of a text whose normalised form is ``norm``: that form
    with a space before and after it and each of its ASCII words (``"sdgsの推進"`` →
    ``"  sdgs の推進 "``). An ASCII word of a query is looked up as itself between spaces (the
    trigrams of ``" ec "``), which finds ``EC`` at the start of ``ECサイト`` and not inside
    ``ecosystem``; any other term as the same padding of itself (:func:`_padded`)."""
    # (split on the words and joined with spaces: a space each side of each word, in C;
    # 0.14–0.18 s against 0.22–0.27 s for a substitution calling back into Python, over the
    # 111k texts at 1M)
    return f" {' '.join(_ASCII_WORDS.split(norm))} "


def text_key(text: str) -> str:
    """The key of a stored text: :func:`search_key` of its :func:`normalise` d form."""
    return search_key(normalise(text))


def _padded(term: str) -> str:
    """A query term (no white space in it) as :func:`search_key` pads it inside a text, without
    the spaces at its ends: a text holds the term (at a place the word rule allows) only where
    its key holds this, since the term's inner ASCII words are whole words there too."""
    return " ".join(_ASCII_WORDS.split(term)).strip(" ")


def terms(query: str) -> list[str]:
    """The normalised terms of a query: split on white space of either width."""
    return [t for t in _SPACE.split(normalise(query)) if t]


def _pattern(term: str) -> re.Pattern[str]:
    before = "(?<![a-z0-9])" if term[0] in _ASCII_ALNUM else ""
    after = "(?![a-z0-9])" if term[-1] in _ASCII_ALNUM else ""
    return re.compile(before + re.escape(term) + after)


def type_key(class_iri: str) -> str:
    """A class's name for ``--type``: its local name in kebab case (``SupportProgramme`` →
    ``support-programme``)."""
    local = re.split(r"[#/]", class_iri)[-1]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", local).lower()


# -- building -----------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE texts(
  id INTEGER PRIMARY KEY, string INTEGER, entity TEXT, type TEXT, types TEXT, property TEXT,
  rank INTEGER, lang TEXT, plan TEXT, code TEXT, municipality TEXT, first INTEGER, last INTEGER);
CREATE TABLE strings(id INTEGER PRIMARY KEY, text TEXT, key TEXT);
CREATE VIRTUAL TABLE fts USING fts5(
  key, content='strings', content_rowid='id', tokenize='trigram', detail=none);
"""
#: The rows of each text, for a search that finds the text (:meth:`SearchIndex.search`).
_STRING_ROWS = "CREATE INDEX texts_string ON texts(string)"


class Row(NamedTuple):
    """One indexed text (what ``search-texts.rq`` answers, with the entity's types; a named
    tuple: cheaper to make than a frozen dataclass, and a build makes 290k at 1M triples)."""

    entity: str
    type: str
    types: str
    property: str
    rank: int
    lang: str
    text: str
    plan: str
    code: str
    municipality: str
    first: int | None
    last: int | None


def _select(store: Any, name: str, graphs: Sequence[Any], **bindings: str) -> Iterator[Any]:
    """The solutions of a system query on an Oxigraph store (default graph: the merge of
    ``graphs``, which are also its named graphs); ``bindings`` are literals."""
    from rdflib import Literal

    from kgtools.query.library import load_query
    from kgtools.store.sparql_text import bind_text

    text = load_query(_QUERIES / name).text
    if bindings:
        text = bind_text(text, {k: Literal(v) for k, v in bindings.items()})
    return iter(store.query(text, default_graph=list(graphs), named_graphs=list(graphs)))


def _value(term: Any) -> str:
    return "" if term is None else str(term.value)


#: One indexed text before assembly, as its place in the answer order (:func:`rank_key`): rank,
#: whether it has no municipality code, the code, entity, property, language, text, plan, first
#: and last fiscal year (-1 for none), and whether each year is none: what ``search-texts.rq``
#: answers, and what the paths that make rows one at a time (the store's queries, a patch's
#: look-ups) give :meth:`Texts.of`. A build makes no key per row: :meth:`Texts.stream` lays the
#: rows out in this order entity by entity.
_Key = tuple[int, bool, str, str, str, str, str, str, int, int, bool, bool]


def _key(
    entity: str,
    prop: str,
    text: str,
    lang: str,
    rank: int,
    plan: str,
    code: str,
    first: int | None,
    last: int | None,
) -> _Key:
    nocode, code, plan, y1, y2, none1, none2 = _tail(plan, code, first, last)
    return (rank, nocode, code, entity, prop, lang, text, plan, y1, y2, none1, none2)


def rows_of(store: Any, data_graph: Any, all_graphs: Sequence[Any]) -> list[Row]:
    """The index's rows from an Oxigraph store: texts over ``all_graphs``, the type shown from
    ``data_graph`` (asserted), the types to filter by from all of them (the reference for
    :func:`rows_from`, which a build uses), in rank order."""
    return texts_of(store, data_graph, all_graphs).rows()


def texts_of(store: Any, data_graph: Any, all_graphs: Sequence[Any]) -> Texts:
    """:func:`rows_of`'s texts before they are made rows."""
    from concurrent.futures import ThreadPoolExecutor

    from kgtools.namespaces import TIP

    # The two queries run side by side (Oxigraph evaluates without holding the GIL): ~0.2 s
    # less at 100k triples.
    with ThreadPoolExecutor(1) as pool:
        typed = pool.submit(
            lambda: list(_select(store, "search-types.rq", all_graphs, namespace=str(TIP)))
        )
        texts = list(_select(store, "search-texts.rq", all_graphs))
        typings = typed.result()
    keys: dict[str, str] = {}
    shown: dict[str, set[str]] = {}
    every: dict[str, set[str]] = {}
    for entity, cls, graph in typings:
        key = keys.get(cls.value) or keys.setdefault(cls.value, type_key(cls.value))
        every.setdefault(entity.value, set()).add(key)
        if graph == data_graph:
            shown.setdefault(entity.value, set()).add(key)
    found = {
        _key(
            entity.value,
            prop.value,
            text.value,
            text.language or "",
            int(rank.value),
            _value(plan),
            _value(code),
            None if first is None else int(first.value),
            None if last is None else int(last.value),
        )
        for entity, prop, text, rank, plan, code, first, last in texts
        if entity.value in every
    }
    return Texts.of(found, every, shown)


def rows_from(graphs: Sequence[Any], data: Any) -> list[Row]:
    """The rows :func:`rows_of` makes from a store, made in Python from triples in memory:
    ``graphs`` are :class:`~kgtools.engine.terms.TripleSource` s of the ontology, data and
    inferred graphs (a triple may be in several), ``data`` the data graph's (the asserted
    types). The same reading of the ontology as ``search-texts.rq`` and ``search-types.rq``,
    without the store: a build makes the index from the triples it holds (tests hold the two
    paths to the same rows). In rank order."""
    return texts_from(graphs, data).rows()


def texts_from(graphs: Sequence[Any], data: Any) -> Texts:
    """:func:`rows_from`'s texts before they are made rows: what a build writes
    (:func:`write_index`)."""
    from kgtools.engine.terms import collector_paused

    with collector_paused():
        return _texts_from(GraphUnion(graphs), data)


class ByPredicate:
    """Triples grouped by predicate, for :func:`rows_from` (which asks only for patterns with a
    predicate): cheaper to fill than a :class:`~kgtools.engine.terms.MemoryIndex`, which a
    build's inferred triples are not in. Grouped by the predicate object's identity first, then
    by the predicate (the reasoner hands out one object per term, and pyoxigraph terms keep no
    hash: hashing each triple's predicate was ~0.3 s of 883k inferred triples at 1M)."""

    def __init__(self, triples: Iterable[Any]) -> None:
        groups: dict[int, tuple[Any, list[Any]]] = {}
        for triple in triples:
            found = groups.get(id(triple[1]))
            if found is None:  # (the object is held in the group: its id stays its own)
                groups[id(triple[1])] = (triple[1], [triple])
            else:
                found[1].append(triple)
        self._lists: dict[Any, list[Any]] = {}
        for p, listed in groups.values():
            if (known := self._lists.get(p)) is None:
                self._lists[p] = listed
            else:
                known += listed

    def match(self, s: Any = None, p: Any = None, o: Any = None) -> Iterator[Any]:
        if p is None:
            raise ValueError("ByPredicate answers patterns with a predicate only")
        for triple in self._lists.get(p, ()):
            if (s is None or triple[0] == s) and (o is None or triple[2] == o):
                yield triple

    def __contains__(self, triple: object) -> bool:
        return isinstance(triple, tuple) and triple in self._lists.get(triple[1], ())

    def by_object(self, p: Any) -> Iterator[tuple[Any, Collection[Any]]]:
        """Each object of ``p`` with its subjects (as
        :meth:`~kgtools.engine.terms.MemoryIndex.by_object`; an object may come more than
        once: grouping would hash every term)."""
        for s, _, o in self._lists.get(p, ()):
            yield o, (s,)


class GraphUnion:
    """Several triple sources read as one, a triple in two of them reported twice (cheaper than
    :class:`~kgtools.engine.terms.UnionSource`; :func:`rows_from` gathers into sets)."""

    def __init__(self, graphs: Sequence[Any]) -> None:
        self.graphs = graphs

    def match(self, s: Any = None, p: Any = None, o: Any = None) -> Iterator[Any]:
        for graph in self.graphs:
            yield from graph.match(s, p, o)

    def __contains__(self, triple: object) -> bool:
        return any(triple in graph for graph in self.graphs)

    def by_object(self, p: Any) -> Iterator[tuple[Any, Collection[Any]]]:
        for graph in self.graphs:
            yield from graph.by_object(p)


def _texts_from(every: GraphUnion, data: Any) -> Texts:
    import pyoxigraph as ox

    from kgtools.engine import vocab
    from kgtools.namespaces import TIP

    namespace = str(TIP)
    key_of: dict[Any, str | None] = {}  # a class term's type name (None: not one of ours)

    def typings(source: Any) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for c, subjects in source.by_object(vocab.RDF_TYPE):
            key = key_of.get(c, "")
            if key == "":
                name = None if isinstance(c, ox.BlankNode) else c.value
                ours = name is not None and name.startswith(namespace)
                key = key_of[c] = type_key(name) if ours else None  # type: ignore[arg-type]
            if key is not None:
                for s in subjects:
                    if isinstance(s, ox.NamedNode):
                        out.setdefault(s.value, set()).add(key)
        return out

    # each graph scanned once: the data graph's types are also the ones shown
    per_graph = [typings(graph) for graph in every.graphs]
    shown = next((t for g, t in zip(every.graphs, per_graph, strict=True) if g is data), None)
    if shown is None:
        shown = typings(data)
    types: dict[str, set[str]] = {}
    for typed in per_graph:
        for entity, keys in typed.items():
            if (known := types.get(entity)) is None:
                types[entity] = set(keys)
            else:
                known |= keys

    def pairs(p: Any) -> dict[Any, list[Any]]:
        """``subject → objects`` of ``p``, from one scan (a look-up per plan is slower)."""
        out: dict[Any, list[Any]] = {}
        for s, _, o in every.match(None, p, None):
            out.setdefault(s, []).append(o)
        return out

    properties = text_properties(every)
    plans = {s for s, _, _ in every.match(None, vocab.RDF_TYPE, vocab.PLAN)}
    plans_of: dict[Any, set[Any]] = {p: {p} for p in plans}
    for e, _, plan in every.match(None, vocab.PART_OF_PLAN, None):
        if plan in plans:
            plans_of.setdefault(e, set()).add(plan)
    for link in (vocab.PERIOD, vocab.HAS_ILLUSTRATION, vocab.MENTIONS):
        for plan, _, e in every.match(None, link, None):
            if plan in plans:
                plans_of.setdefault(e, set()).add(plan)
    own: dict[Any, set[str]] = {}
    for e, _, code in every.match(None, vocab.LOCAL_GOVERNMENT_CODE, None):
        own.setdefault(e, set()).add(code.value)
    plan_codes: dict[Any, list[str | None]] = {}
    years: dict[Any, list[tuple[int | None, int | None]]] = {}
    municipality, period, year = (
        pairs(vocab.MUNICIPALITY),
        pairs(vocab.PERIOD),
        pairs(vocab.YEAR),
    )
    first_year, last_year = pairs(vocab.FIRST_FISCAL_YEAR), pairs(vocab.LAST_FISCAL_YEAR)
    for plan in plans:
        codes = {c for m in municipality.get(plan, ()) for c in own.get(m, ())}
        plan_codes[plan] = list(codes) or [None]
        spans = {
            (_integer(fy), _integer(ly))
            for span in period.get(plan, ())
            for f in first_year.get(span, ())
            for last in last_year.get(span, ())
            for fy in year.get(f, ())
            for ly in year.get(last, ())
        }
        years[plan] = list(spans) or [(None, None)]
    none: list[Any] = [None]
    # Each entity's texts by rank, and its tails (made once per entity, and most entities share
    # theirs with others: those of one plan with no code of their own). No key per row here:
    # the rows' order is made per entity (:meth:`Texts.stream`), not by sorting a 12-field key
    # for each of the 290k rows at 1M triples.
    texts: dict[int, dict[str, list[_Text]]] = {}
    tails_of: dict[str, list[_Tail]] = {}
    shared: dict[tuple[frozenset[str] | None, frozenset[Any] | None], list[_Tail]] = {}
    for prop, rank in properties:
        p = prop.value
        ranked = texts.setdefault(rank, {})
        # (by object: a text that several entities share is read out of its literal once)
        for text, subjects in every.by_object(prop):
            if not isinstance(text, ox.Literal):
                continue
            found = (p, text.language or "", text.value)
            for e in subjects:
                if not isinstance(e, ox.NamedNode) or (entity := e.value) not in types:
                    continue
                if (mine := ranked.get(entity)) is None:
                    mine = ranked[entity] = []
                    if entity not in tails_of:
                        owns, its_plans = own.get(e), plans_of.get(e)
                        alike = (
                            frozenset(owns) if owns else None,
                            frozenset(its_plans) if its_plans else None,
                        )
                        if (tails := shared.get(alike)) is None:
                            tails = _tails(owns or none, its_plans, plan_codes, years)
                            shared[alike] = tails
                        tails_of[entity] = tails
                mine.append(found)
    return Texts(texts, tails_of, *_spelt(types, shown), _names(texts, tails_of))


def text_properties(every: Any) -> list[tuple[Any, int]]:
    """The properties whose texts are indexed, each with its rank (0: titles and labels, 1:
    body text), read from the ontology as ``search-texts.rq`` reads it (in any graph of
    ``every``)."""
    import pyoxigraph as ox

    from kgtools.engine import vocab

    properties = [(vocab.RDFS_LABEL, 0), (vocab.DCTERMS_TITLE, 0)]
    ranges = (vocab.RDF_LANG_STRING, vocab.XSD_STRING)
    seen: set[Any] = set()
    for p, _, _ in every.match(None, vocab.RDF_TYPE, vocab.OWL_DATATYPE_PROPERTY):
        if isinstance(p, ox.NamedNode) and p not in seen:
            seen.add(p)
            if any((p, vocab.RDFS_RANGE, r) in every for r in ranges):
                properties.append((p, 1))
    return sorted(properties, key=lambda pr: (pr[0].value, pr[1]))


#: The parts of a text's :data:`_Key` that come from its plans, not from the text: whether it
#: has no municipality code, the code, plan, first and last fiscal year (-1 for none), and
#: whether each year is none.
_Tail = tuple[bool, str, str, int, int, bool, bool]


def _tails(
    owns: Iterable[str | None],
    plans: Iterable[Any] | None,
    plan_codes: dict[Any, list[str | None]],
    years: dict[Any, list[tuple[int | None, int | None]]],
) -> list[_Tail]:
    """The tails of the rows of an entity with the codes ``owns`` (``[None]`` for none) in
    ``plans`` (``None`` for none): one per plan, municipality code and period, as
    ``search-texts.rq`` answers them (each of the entity's texts has one row per tail)."""
    if not plans:
        return [_tail("", code or "", None, None) for code in owns]
    return [
        _tail(plan.value, code or "", first, last)
        for plan in plans
        for pc in plan_codes[plan]
        for first, last in years[plan]
        for code in ([pc] if pc is not None else owns)
    ]


def _tail(plan: str, code: str, first: int | None, last: int | None) -> _Tail:
    return (
        code == "",
        code,
        plan,
        -1 if first is None else first,
        -1 if last is None else last,
        first is None,
        last is None,
    )


def rows_for(entities: Iterable[Any], graphs: Sequence[Any], data: Any) -> list[Row]:
    """The rows of ``entities`` (terms) that :func:`rows_from` makes from the same graphs, found
    by look-ups from each entity instead of scans (for an incremental build, which patches the
    rows of the entities a change reaches; :mod:`kgtools.build.search_patch`), with an empty
    municipality name (the patch fills it in: it depends on other entities' rows)."""
    from kgtools.engine.terms import collector_paused

    with collector_paused():
        return _rows_for(entities, GraphUnion(graphs), data, text_properties(GraphUnion(graphs)))


def _rows_for(entities: Iterable[Any], every: GraphUnion, data: Any, properties: Any) -> list[Row]:
    import pyoxigraph as ox

    from kgtools.engine import vocab
    from kgtools.namespaces import TIP

    namespace = str(TIP)
    ranks: dict[Any, list[int]] = {}
    for p, rank in properties:
        ranks.setdefault(p, []).append(rank)

    def type_keys(source: Any, e: Any) -> set[str]:
        return {
            type_key(c.value)
            for _, _, c in source.match(e, vocab.RDF_TYPE, None)
            if not isinstance(c, ox.BlankNode) and c.value.startswith(namespace)
        }

    def objects(s: Any, p: Any) -> list[Any]:
        return [o for _, _, o in every.match(s, p, None)]

    def is_plan(x: Any) -> bool:
        return (x, vocab.RDF_TYPE, vocab.PLAN) in every

    def own(e: Any) -> set[str]:
        return {code.value for code in objects(e, vocab.LOCAL_GOVERNMENT_CODE)}

    plan_codes: dict[Any, list[str | None]] = {}
    years: dict[Any, list[tuple[int | None, int | None]]] = {}

    def add_plan(plan: Any) -> None:
        if plan in plan_codes:
            return
        codes = {c for m in objects(plan, vocab.MUNICIPALITY) for c in own(m)}
        plan_codes[plan] = list(codes) or [None]
        spans = {
            (_integer(fy), _integer(ly))
            for span in objects(plan, vocab.PERIOD)
            for f in objects(span, vocab.FIRST_FISCAL_YEAR)
            for last in objects(span, vocab.LAST_FISCAL_YEAR)
            for fy in objects(f, vocab.YEAR)
            for ly in objects(last, vocab.YEAR)
        }
        years[plan] = list(spans) or [(None, None)]

    none: list[Any] = [None]
    found: set[_Key] = set()
    types: dict[str, set[str]] = {}
    shown: dict[str, set[str]] = {}
    for e in set(entities):
        if not isinstance(e, ox.NamedNode):
            continue
        keys = type_keys(every, e)
        if not keys:
            continue
        types[e.value] = keys
        if asserted := type_keys(data, e):
            shown[e.value] = asserted
        plans = {e} if is_plan(e) else set()
        plans.update(p for p in objects(e, vocab.PART_OF_PLAN) if is_plan(p))
        for link in (vocab.PERIOD, vocab.HAS_ILLUSTRATION, vocab.MENTIONS):
            plans.update(p for p, _, _ in every.match(None, link, e) if is_plan(p))
        for plan in plans:
            add_plan(plan)
        tails = _tails(list(own(e)) or none, plans, plan_codes, years)
        for _, p, text in every.match(e, None, None):
            if p in ranks and isinstance(text, ox.Literal):
                for rank in ranks[p]:
                    lang = text.language or ""
                    found.update(
                        (rank, nocode, code, e.value, p.value, lang, text.value, plan, *years_)
                        for nocode, code, plan, *years_ in tails
                    )
    return Texts.of(found, types, shown, names={}).rows()


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _integer(term: Any) -> int | None:
    """``xsd:integer(STR(term))``: ``None`` where SPARQL leaves the cast unbound."""
    import pyoxigraph as ox

    if isinstance(term, ox.BlankNode) or not _INTEGER.fullmatch(term.value):
        return None
    return int(term.value)


#: One of an entity's texts of one rank: its property, language and text (an entity's list may
#: hold one twice, as a triple in two graphs: it is one row).
_Text = tuple[str, str, str]


@dataclass(frozen=True)
class Texts:
    """The index's texts before they are made rows: each entity's texts by rank (``texts``: 0,
    titles and labels; 1, body text) and tails (``tails``: its plans, codes and periods; each
    text has a row per tail), each entity's types as a row holds them (``types``: to filter by,
    ``" a b "``; ``shown``: asserted, shown when there are any, ``"a,b"``) and each
    municipality code's name in each language."""

    texts: dict[int, dict[str, list[_Text]]]
    tails: dict[str, list[_Tail]]
    types: dict[str, str]
    shown: dict[str, str]
    names: dict[tuple[str, str], str]

    @classmethod
    def of(
        cls,
        found: Iterable[_Key],
        every: dict[str, set[str]],
        shown: dict[str, set[str]],
        names: dict[tuple[str, str], str] | None = None,
    ) -> Texts:
        """The texts of the rows whose keys are ``found`` (made a row at a time: from the
        store's queries, or for a patch), their entities' types (``every``; ``shown``:
        asserted) and the municipalities' names (``names``, or made from the texts). An
        entity's rows are each of its texts with each of its tails, as every path makes them."""
        texts: dict[int, dict[str, set[_Text]]] = {}
        tails: dict[str, set[_Tail]] = {}
        for rank, nocode, code, e, p, lang, text, plan, y1, y2, none1, none2 in found:
            texts.setdefault(rank, {}).setdefault(e, set()).add((p, lang, text))
            tails.setdefault(e, set()).add((nocode, code, plan, y1, y2, none1, none2))
        listed = {r: {e: list(mine) for e, mine in by.items()} for r, by in texts.items()}
        tails_of = {e: list(mine) for e, mine in tails.items()}
        if names is None:
            names = _names(listed, tails_of)
        return cls(listed, tails_of, *_spelt(every, shown), names)

    def rows(self) -> list[Row]:
        """The rows, in rank order (each of :meth:`records` with its text, without its row id
        and string id)."""
        records, strings = self.records()
        text_of = {sid: text for sid, text, _ in strings}
        return [Row(*r[2:8], text_of[r[1]], *r[8:]) for r in records]  # type: ignore[call-arg]

    def records(self) -> tuple[list[tuple[Any, ...]], list[tuple[int, str, str]]]:
        """The values of :data:`INSERT_TEXTS` for the rows, in rank order (:func:`rank_key`)
        with row ids :data:`SPACING` apart, and of :data:`INSERT_STRINGS` for their texts: each
        text once, with the id of its first row."""
        strings: dict[str, int] = {}
        rows = list(self.stream(strings))
        return rows, keyed(strings)

    def stream(self, strings: dict[str, int]) -> Iterator[tuple[Any, ...]]:
        """:meth:`records`' rows one at a time (SQLite takes them as they are made: no list of
        290k tuples at 1M triples), each text's id put in ``strings`` as its first row is made.
        The order is made per entity, not per row: the entities sorted by their municipality
        codes, each one's texts sorted, and the rows laid out rank by rank."""
        units: list[tuple[bool, str, str, list[tuple[str, int, int, bool, bool]]]] = []
        grouped: dict[int, list[tuple[bool, str, list[tuple[str, int, int, bool, bool]]]]] = {}
        for e, tails in self.tails.items():
            if (codes := grouped.get(id(tails))) is None:  # (tails lists are shared)
                by_code: dict[tuple[bool, str], set[tuple[str, int, int, bool, bool]]] = {}
                for nocode, code, plan, y1, y2, none1, none2 in tails:
                    by_code.setdefault((nocode, code), set()).add((plan, y1, y2, none1, none2))
                codes = grouped[id(tails)] = [(n, c, sorted(r)) for (n, c), r in by_code.items()]
            for nocode, code, rest in codes:
                units.append((nocode, code, e, rest))
        units.sort()  # ((nocode, code, entity) is one unit's only: the lists are not compared)
        types, shown, names = self.types, self.shown, self.names
        named: dict[tuple[str, str], str] = {}  # (each code's name in each language, once)
        rowid = 0
        for rank in sorted(self.texts):
            ranked = self.texts[rank]
            for _, code, e, rest in units:
                if (mine := ranked.get(e)) is None:
                    continue
                mine.sort()  # (in place: the same order whenever the rows are made)
                kinds, asserted = types[e], shown[e]
                last = None
                for found in mine:
                    if found == last:  # (a triple in two graphs: one row)
                        continue
                    p, lang, text = last = found
                    if (name := named.get((code, lang))) is None:
                        name = named[code, lang] = municipality_name(names, code, lang)
                    for plan, y1, y2, none1, none2 in rest:
                        rowid += SPACING
                        sid = strings.setdefault(text, rowid)
                        yield (
                            rowid,
                            sid,
                            e,
                            asserted,
                            kinds,
                            p,
                            rank,
                            lang,
                            plan,
                            code,
                            name,
                            None if none1 else y1,
                            None if none2 else y2,
                        )

    def type_names(self) -> list[str]:
        """The type names of the rows (what ``--type`` accepts), sorted."""
        return _type_names_in(self.types[e] for e in self.tails)


def _spelt(
    every: dict[str, set[str]], shown: dict[str, set[str]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Each entity's types as a row holds them: to filter by (``" a b "``, from ``every``) and
    to show (``"a,b"``, from ``shown`` when it has any)."""
    spelt: dict[frozenset[str], tuple[str, str]] = {}  # (a few dozen sets of types in all)

    def spell(keys: set[str]) -> tuple[str, str]:
        key = frozenset(keys)
        if key not in spelt:
            ordered = sorted(key)
            spelt[key] = (f" {' '.join(ordered)} ", ",".join(ordered))
        return spelt[key]

    types = {e: spell(keys)[0] for e, keys in every.items()}
    type_shown = {e: spell(shown.get(e) or keys)[1] for e, keys in every.items()}
    return types, type_shown


RDFS_LABEL = str(RDFS.label)


def _names(
    texts: dict[int, dict[str, list[_Text]]], tails: dict[str, list[_Tail]]
) -> dict[tuple[str, str], str]:
    """Each municipality code's name in each language: the least label in that language of the
    entities with that code in a row of no plan (a municipality's own labels)."""
    names: dict[tuple[str, str], str] = {}
    for e, its_tails in tails.items():
        codes = {code for _, code, plan, *_ in its_tails if code and not plan}
        for ranked in texts.values() if codes else ():
            for p, lang, text in ranked.get(e, ()):
                if p == RDFS_LABEL:
                    for code in codes:
                        if text < names.get((code, lang), text + "\0"):
                            names[code, lang] = text
    return names


def municipality_name(names: dict[tuple[str, str], str], code: str, lang: str) -> str:
    """The name a row of ``code`` in ``lang`` shows: the municipality's name in the row's
    language, else its Japanese name (a text with no language tag, or a municipality without a
    label in that language), else nothing."""
    return names.get((code, lang)) or names.get((code, "ja"), "")


def rank_key(row: Row) -> _Key:
    """The order of an answer: titles and labels first, then by municipality (texts of no
    municipality last), entity, property, language, text, plan and period. A total order: the
    rest of a row (its types and municipality name) follows from its entity and code, so two
    rows with the same key are the same row (an incremental build patches an index in this
    order: :mod:`kgtools.build.search_patch`). The key of a row made from a :class:`Texts`'
    key is that key."""
    return _key(
        row.entity,
        row.property,
        row.text,
        row.lang,
        row.rank,
        row.plan,
        row.code,
        row.first,
        row.last,
    )


#: The row id of the i-th row (from 0) in rank order when an index is made whole: ``(i + 1) *
#: SPACING``. The gaps let an incremental build insert rows in order without renumbering
#: (:mod:`kgtools.build.search_patch`).
SPACING = 1 << 20
#: The largest row id SQLite allows.
MAX_ROWID = (1 << 63) - 1

#: A row of the ``texts`` table: its id, its text's id in ``strings``, then the fields of its
#: :class:`Row` but the text.
INSERT_TEXTS = (
    "INSERT INTO texts(id, string, entity, type, types, property, rank, lang, plan, code,"
    " municipality, first, last) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
#: A row of the ``strings`` table: the id (its first row's), the text and its :func:`search_key`.
INSERT_STRINGS = "INSERT INTO strings(id, text, key) VALUES (?,?,?)"


def record(rowid: int, string: int, row: Row) -> tuple[Any, ...]:
    """The values of :data:`INSERT_TEXTS` for ``row`` with the id ``rowid``, its text's id
    ``string``."""
    return (rowid, string, *row[:6], *row[7:])


def records(ordered: Iterable[Row]) -> tuple[list[tuple[Any, ...]], list[tuple[int, str, str]]]:
    """The values of :data:`INSERT_TEXTS` and :data:`INSERT_STRINGS` for rows in rank order, as
    :meth:`Texts.records` makes them: row ids :data:`SPACING` apart, each text once with the id
    of its first row."""
    rows: list[tuple[Any, ...]] = []
    strings: dict[str, int] = {}
    for i, row in enumerate(ordered):
        rowid = (i + 1) * SPACING
        rows.append(record(rowid, strings.setdefault(row.text, rowid), row))
    return rows, keyed(strings)


def keyed(strings: dict[str, int]) -> list[tuple[int, str, str]]:
    """The values of :data:`INSERT_STRINGS` for texts given with their ids."""
    return [(sid, text, text_key(text)) for text, sid in strings.items()]


def index_bytes(rows: Iterable[Row]) -> bytes:
    """The index of ``rows`` as the bytes of an SQLite database."""
    ordered = sorted(rows, key=rank_key)
    return _index_bytes(*records(ordered), type_names(ordered))


def _index_bytes(
    records: list[tuple[Any, ...]], strings: list[tuple[int, str, str]], types: list[str]
) -> bytes:
    db = sqlite3.connect(":memory:")
    try:
        _fill(db, records, lambda: strings, types)
        return db.serialize()
    finally:
        db.close()


def write_index(texts: Texts, path: Path) -> None:
    """Write the index of ``texts`` into ``path``, a new empty file (a build's staged file,
    synced and moved in place with its other outputs, so an interrupted build never leaves half
    an index): SQLite writes its pages itself, with the whole index in its cache until the
    commit, instead of serialising a copy of an in-memory database for the build to write. The
    same rows in the same order as :func:`index_bytes` of ``texts.rows()``."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")  # (a private file: nothing to roll back to)
        db.execute("PRAGMA synchronous=OFF")  # (the build syncs it)
        db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        strings: dict[str, int] = {}
        _fill(db, texts.stream(strings), lambda: keyed(strings), texts.type_names())
    finally:
        db.close()


#: The page cache :func:`write_index` gives SQLite (KiB): the index at 1M triples is ~120 MB.
_CACHE_KIB = 512 * 1024


def _fill(
    db: sqlite3.Connection,
    records: Iterable[tuple[Any, ...]],
    strings: Callable[[], list[tuple[int, str, str]]],
    types: list[str],
) -> None:
    """Make the index in ``db`` of ``records`` (:data:`INSERT_TEXTS`' values in rank order),
    ``strings()`` (:data:`INSERT_STRINGS`', asked for once the records are in) and the type
    names ``types``."""
    db.executescript(_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('version', ?)", (str(INDEX_VERSION),))
    # The type names --type accepts, stored once: reading them from every row cost ~0.5 s of
    # each `kg search` process at 1M triples.
    db.execute("INSERT INTO meta VALUES ('types', ?)", (" ".join(types),))
    db.executemany(INSERT_TEXTS, records)
    db.executemany(INSERT_STRINGS, strings())
    db.execute(_STRING_ROWS)  # (made after the rows are in: one sort, not 290k inserts)
    db.execute("INSERT INTO fts(fts) VALUES ('rebuild')")
    db.commit()


def type_names(rows: Iterable[Row]) -> list[str]:
    """The type names of ``rows`` (what ``--type`` accepts), sorted."""
    return _type_names_in(row.types for row in rows)


def _type_names_in(types: Iterable[str]) -> list[str]:
    """The type names in rows' ``types`` columns (``" a b "``), sorted, each once."""
    return sorted({name for spelt in types for name in spelt.split()})


def build_index(store: Any) -> bytes:
    """The index of a built Oxigraph store, as the bytes of an SQLite database (for
    :func:`index_for`, which writes them atomically)."""
    from kgtools.namespaces import DATA_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
    from kgtools.store.oxigraph import named

    every = [named(g) for g in (ONTOLOGY_GRAPH, DATA_GRAPH, INFERRED_GRAPH)]
    texts = texts_of(store, named(DATA_GRAPH), every)
    return _index_bytes(*texts.records(), texts.type_names())


def index_path(out_dir: Path, store_name: str) -> Path:
    """Where the index of the build whose store is ``out_dir/store_name`` is kept."""
    return out_dir / INDEX_DIR / f"{store_name}.v{INDEX_VERSION}.sqlite"


def stale_indexes(out_dir: Path, keep: Path) -> list[Path]:
    """The index files in ``out_dir`` other than ``keep`` (of older stores or versions)."""
    return [p for p in (out_dir / INDEX_DIR).glob("*.sqlite") if p != keep]


def index_for(out_dir: Path, store_name: str) -> Path:
    """The index of the build whose store is ``out_dir/store_name``, made from that store if it
    is not there yet (written atomically: a concurrent search sees the old file or the new),
    with the indexes of other stores removed."""
    import pyoxigraph as ox

    from kgtools.files import atomic_write_bytes

    path = index_path(out_dir, store_name)
    if path.is_file():
        return path
    try:
        store = ox.Store.read_only(str(out_dir / store_name))
    except OSError as exc:
        raise SearchError(f"{out_dir}: the build's store cannot be read ({exc})") from None
    data = build_index(store)
    del store
    path.parent.mkdir(exist_ok=True)
    atomic_write_bytes(path, data)
    for old in stale_indexes(out_dir, path):
        old.unlink(missing_ok=True)
    return path


# -- searching ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Hit:
    """One matching text: the entity, its type, its municipality and plan period, the property
    the text is in and the text with each hit between :data:`MARK_OPEN` and :data:`MARK_CLOSE`
    (cut to :data:`CONTEXT` characters around the first hit when long)."""

    entity: str
    type: str
    code: str
    municipality: str
    period: str
    property: str
    lang: str
    match: str
    rank: int

    def record(self) -> dict[str, Any]:
        """The hit as its answer shows it: :data:`FIELDS`, in that order (not its rank)."""
        return {name: getattr(self, name) for name in FIELDS}


#: A hit's fields in the answers (JSON, CSV, table), in order.
FIELDS = ("entity", "type", "code", "municipality", "period", "property", "lang", "match")
#: Each field's column title for people, in Japanese and English (as a library query's
#: ``# column titles:``): the table's headers under ``--lang``, and the page's. CSV and JSON
#: keep the field names, which programs read.
FIELD_TITLES: dict[str, tuple[str, str]] = {
    "entity": ("対象", "Entity"),
    "type": ("種類", "Type"),
    "code": ("団体コード", "Code"),
    "municipality": ("市区町村", "Municipality"),
    "period": ("計画期間", "Period"),
    "property": ("プロパティ", "Property"),
    "lang": ("言語", "Language"),
    "match": ("一致箇所", "Match"),
}


class SearchIndex:
    """A read-only handle on one search index (:func:`index_for`); safe to share between
    threads."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise SearchError(f"{path}: no search index — run `kg search` again to make it")
        self.path = path
        self._db = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        try:
            version = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SearchError(
                f"{path}: not a search index ({exc}) — delete it and search again"
            ) from None
        if version is None or version[0] != str(INDEX_VERSION):
            raise SearchError(
                f"{path}: search index of another version — delete it and search again"
            )
        stored = self._db.execute("SELECT value FROM meta WHERE key='types'").fetchone()
        if stored is None:
            raise SearchError(
                f"{path}: search index without its type list — delete it and search again"
            )
        self._types = stored[0].split()
        # The last row id, where a search's windows end (the file never changes once made).
        self._end: int = self._db.execute("SELECT max(id) FROM texts").fetchone()[0] or 0

    def close(self) -> None:
        self._db.close()

    def _text(self, string: int) -> str:
        found = self._db.execute("SELECT text FROM strings WHERE id = ?", (string,)).fetchone()
        return str(found[0])

    @property
    def types(self) -> list[str]:
        """The type names ``--type`` accepts."""
        return list(self._types)

    def _type_names(self, wanted: str) -> list[str]:
        key = wanted.strip().lower()
        names = [t for t in self._types if t == key or t.endswith("-" + key)]
        if not names:
            raise SearchError(
                f"unknown type {wanted!r} — use one of: {', '.join(self._types)}"
                " (or the last part of one, e.g. programme)"
            )
        return names

    def search(
        self,
        query: str,
        *,
        lang: str | None = None,
        type: str | None = None,
        municipality: str | None = None,
        fy: int | None = None,
        limit: int | None = 50,
    ) -> list[Hit]:
        """The texts that hold every term of ``query``, titles and labels first."""
        for what, value in (
            ("the search text", query),
            ("the type", type),
            ("the municipality code", municipality),
        ):
            if value is not None:
                _check_searchable(what, value)
        words = terms(query)
        if not words:
            raise SearchError("the search text is empty — give one or more words to look for")
        if lang is not None and lang not in LANGUAGES:
            raise SearchError(f"unknown language {lang!r} — use ja or en")
        if municipality is not None and not _CODE.fullmatch(municipality):
            raise SearchError(
                f"the municipality code must be six digits (台東区 is 131067), not {municipality!r}"
            )
        if limit is not None and limit < 1:
            raise SearchError(f"--limit must be 1 or more, not {limit}")
        if fy is not None and fy not in FISCAL_YEARS:
            raise SearchError(
                f"the fiscal year must be from {FISCAL_YEARS[0]} to {FISCAL_YEARS[-1]}, not {fy}"
            )
        where: list[str] = []
        args: list[Any] = []
        fts: set[str] = set()
        for term in words:
            if term.isascii() and term.isalnum():
                fts.update(_trigrams(f" {term} "))  # (a whole ASCII word: search_key)
            elif len(padded := _padded(term)) >= 3:
                fts.update(_trigrams(padded))
            else:  # (one or two characters, none an ASCII letter or digit)
                where.append("instr(s.key, ?) > 0")
                args.append(padded)
        short = bool(where)
        if lang is not None:
            where.append("t.lang = ?")
            args.append(lang)
        if type is not None:
            names = self._type_names(type)
            where.append("(" + " OR ".join("instr(t.types, ?) > 0" for _ in names) + ")")
            args.extend(f" {n} " for n in names)
        if municipality is not None:
            where.append("t.code = ?")
            args.append(municipality)
        if fy is not None:
            where.append("t.first <= ? AND t.last >= ?")
            args.extend([fy, fy])
        # The texts are found in the order of their ids, each its first row's id (FTS5 hands
        # out matches in row-id order; a scan of `strings` goes the same way), and each text's
        # rows come with it: a row is answered once no text still to come can have a row
        # before it (every row of a text comes after the text's id). Nothing is sorted in
        # SQLite (``ORDER BY t.id`` over every match took ~0.1 s for a common word at 1M
        # triples). The rows are read a window of row ids at a time, each window wider than the
        # last (_FIRST_WINDOW, _GROWTH), so a common word stops after `limit` hits instead of
        # reading every match, and a text in thousands of rows (a phrase every plan has) brings
        # only its rows in the windows read: windows cost reading the matching texts again
        # (those below the window's end), about a third more in all when every window is read.
        if fts:
            sql, first = _SEARCH_FTS, "fts.rowid"
            if short:  # (a short term too: looked for in the text's key)
                sql += " JOIN strings s ON s.id = fts.rowid"
            where.insert(0, "fts MATCH ?")
            args.insert(0, _all_of(fts))
        else:
            sql, first = _SEARCH_SCAN, "s.id"
        # (the window: its rows, and the texts whose ids are below its end)
        where[:0] = ["t.id >= ?", "t.id < ?", f"{first} < ?"]
        sql += " WHERE " + " AND ".join(where) + f" ORDER BY {first}"
        patterns = [_pattern(t) for t in words]
        hits: list[Hit] = []
        seen: set[tuple[str, str, str, int]] = set()
        texts: dict[int, str] = {}  # (read for the rows answered only: not in the join)
        end = self._end
        lo, width = 0, max(1, end >> _FIRST_WINDOW)
        while lo <= end:
            hi = min(lo + width, end + 1)
            waiting: list[tuple[int, tuple[Any, ...]]] = []  # (a heap, by row id)
            cursor = self._db.execute(sql, [lo, hi, hi, *args])
            for found in itertools.chain(cursor, [_END]):
                while waiting and waiting[0][0] < found[0]:
                    row = heapq.heappop(waiting)[1]
                    key = (row[2], row[5], row[7], row[0])  # (entity, property, lang, text)
                    if key in seen:  # (the same text reached through two plans)
                        continue
                    if (text := texts.get(row[0])) is None:
                        text = texts[row[0]] = self._text(row[0])
                    if (hit := _hit(row, text, patterns)) is None:
                        continue
                    seen.add(key)
                    hits.append(hit)
                    if limit is not None and len(hits) >= limit:
                        return hits
                heapq.heappush(waiting, (found[1], found))
            lo, width = hi, width * _GROWTH
        return hits


#: The first window of row ids a search reads: 1/2**_FIRST_WINDOW of the ids in use, each next
#: window _GROWTH times wider (at 1M triples: ~280 rows, then ~1,100, …, six windows in all).
_FIRST_WINDOW = 10
_GROWTH = 4


#: The columns a search reads: the text's id, then the row's id and fields but the text (read
#: for the rows answered only: :meth:`SearchIndex._text`).
_COLUMNS = (
    "{first}, t.id, t.entity, t.type, t.types, t.property, t.rank, t.lang, t.plan, t.code,"
    " t.municipality, t.first, t.last"
)
_SEARCH_FTS = (
    "SELECT " + _COLUMNS.format(first="fts.rowid") + " FROM fts"
    " JOIN texts t ON t.string = fts.rowid"
)
#: (strings first: SQLite would otherwise read the window's rows and sort them by text)
_SEARCH_SCAN = (
    "SELECT " + _COLUMNS.format(first="s.id") + " FROM strings s"
    " CROSS JOIN texts t ON t.string = s.id"
)
#: After the last row a search reads: a text id above every row's, so every waiting row goes.
_END = (MAX_ROWID + 1, MAX_ROWID + 1)


def holding(text: str) -> str:
    """The full-text query that finds the texts whose key holds ``text`` (three characters or
    more): all of its trigrams."""
    return _all_of(_trigrams(text))


def _all_of(trigrams: Iterable[str]) -> str:
    """The full-text query for the texts that hold every one of ``trigrams`` (FTS5 strings)."""
    return " AND ".join(sorted(set(trigrams)))


def _trigrams(text: str) -> list[str]:
    """The trigrams of ``text`` as FTS5 strings (``"abc"``, one token each): a row that holds
    ``text`` holds them all. The index keeps no positions (``detail=none``: ~0.5 s less to make
    at 1M triples, and a smaller file), so a term is looked up as its trigrams, anywhere in the
    row, and the rows found are checked against the term itself (:meth:`SearchIndex.search`)."""
    return ['"' + text[i : i + 3].replace('"', '""') + '"' for i in range(len(text) - 2)]


#: What no search can look for: NUL (FTS5 reads its query as a C string, where NUL ends it) and
#: lone surrogates (not characters: what bytes that are not UTF-8 on a command line become).
_NOT_SEARCHABLE = re.compile("[\x00\ud800-\udfff]")
#: A municipality's local government code (JIS X 0402, six digits with the check digit).
_CODE = re.compile("[0-9]{6}")


def _check_searchable(what: str, value: str) -> None:
    """Refuse a value that holds a character no search can look for, saying where."""
    bad = _NOT_SEARCHABLE.search(value)
    if bad is None:
        return
    code = ord(bad.group())
    if code == 0:
        why, fix = "NUL", "remove it"
    else:
        why = "a lone surrogate, which is not a character: bytes that are not UTF-8?"
        fix = "write the text in UTF-8"
    raise SearchError(f"{what} holds U+{code:04X} ({why}) at character {bad.start() + 1}: {fix}")


def _hit(row: tuple[Any, ...], text: str, patterns: Sequence[re.Pattern[str]]) -> Hit | None:
    """The hit of a row a search read (:data:`_COLUMNS`) whose text is ``text``, or ``None``
    when the text does not hold every term (the full-text table finds texts that hold a term's
    trigrams, anywhere, and ignores the word rule)."""
    _, _, entity, shown, _, prop, rank, lang, _, code, municipality, first, last = row
    norm, where = normalise_with_map(text)
    spans = []
    for pattern in patterns:
        found = [m.span() for m in pattern.finditer(norm)]
        if not found:
            return None
        spans += found
    marks: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        a, b = where[start], where[end] if end < len(where) else len(text)
        if b <= a:
            b = a + 1
        if marks and a <= marks[-1][1]:
            marks[-1] = (marks[-1][0], max(marks[-1][1], b))
        else:
            marks.append((a, b))
    lo, hi = 0, len(text)
    if len(text) > 3 * CONTEXT:
        lo = max(0, marks[0][0] - CONTEXT)
        hi = min(len(text), marks[0][1] + CONTEXT)
    pieces = ["…"] if lo else []
    pos = lo
    for a, b in marks:
        if a >= hi:
            break
        b = min(b, hi)
        pieces += [text[pos:a], MARK_OPEN, text[a:b], MARK_CLOSE]
        pos = b
    pieces.append(text[pos:hi])
    if hi < len(text):
        pieces.append("…")
    marked = "".join(pieces)
    return Hit(
        entity=entity,
        type=shown,
        code=code,
        municipality=municipality,
        period="" if first is None else f"FY{first}–FY{last}",
        property=re.split(r"[#/]", prop)[-1],
        lang=lang,
        match=marked,
        rank=rank,
    )


def index_rows(path: Path) -> list[tuple[Any, ...]]:
    """Every row of an index file in answer (row-id) order without the row ids, each saying
    whether its text's id is its own, then its texts and their keys (by text), what its
    full-text table holds (each trigram with the texts it lists), then the rows of its ``meta``
    table (to compare two builds' indexes: an incremental build's is patched, so its row ids and
    bytes differ from a full build's, but not its rows, their order, which row each text's id
    is, its texts, its full-text table or its meta)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cols = "t.entity, t.type, t.types, t.property, t.rank, t.lang, s.text, t.plan, t.code,"
        cols += " t.municipality, t.first, t.last, t.string = t.id"
        rows = db.execute(
            f"SELECT {cols} FROM texts t LEFT JOIN strings s ON s.id = t.string ORDER BY t.id"
        ).fetchall()
        rows += db.execute("SELECT 'string', text, key FROM strings ORDER BY text, id").fetchall()
        # What the full-text table holds: each trigram with the text of each id it lists.
        db.execute("CREATE VIRTUAL TABLE temp.held USING fts5vocab(main, fts, 'instance')")
        rows += db.execute(
            "SELECT 'held', h.term, s.text FROM temp.held h LEFT JOIN strings s ON s.id = h.doc"
            " ORDER BY 2, 3"
        ).fetchall()
        return rows + db.execute("SELECT 'meta', key, value FROM meta ORDER BY key").fetchall()
    finally:
        db.close()


def format_hits(hits: Sequence[Hit], fmt: str, lang: str | None = None) -> str:
    """The hits as a table (entities as ``id:…``), CSV or JSON (a list of objects); ``lang``:
    the table's headers are the fields' titles in that language (:data:`FIELD_TITLES`), as
    ``kg query --lang`` titles a query's columns (CSV and JSON keep the field names)."""
    if fmt == "json":
        return json.dumps([h.record() for h in hits], ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        writer.writerows([h.record()[f] for f in FIELDS] for h in hits)
        return out.getvalue()
    from kgtools.namespaces import ID
    from kgtools.query.results import text_table

    def cell(hit: Hit, name: str) -> str:
        value = printable(str(hit.record()[name]).replace("\n", " "))
        if name == "entity" and value.startswith(str(ID)):
            value = "id:" + value[len(str(ID)) :]
        return value

    headers = list(FIELDS) if lang is None else field_titles(lang)
    cells = [[cell(h, f) for f in FIELDS] for h in hits]
    return text_table(headers, cells) + f"{len(hits)} row(s)\n"


def field_titles(lang: str) -> list[str]:
    """:data:`FIELDS`' titles in ``lang`` (``ja`` or ``en``)."""
    if lang not in LANGUAGES:
        raise SearchError(f"unknown language {lang!r} — use ja or en")
    return [FIELD_TITLES[name][LANGUAGES.index(lang)] for name in FIELDS]
