"""An incremental build's search index: the last build's index, patched with the rows that the
change reaches, instead of a new index made from the whole graph (:mod:`kgtools.search`).

The rows are kept in answer order in their row ids (searches stop after ``--limit`` hits
because FTS5 hands out matching texts in id order, a text's id its first row's, and the rows
are merged by id), so a row that is inserted needs a row id
between its neighbours' in rank order: a full index spaces its row ids by
:data:`~kgtools.search.SPACING`, and the rows that fall between the same two neighbours share
the gap evenly. When a gap is too small for the rows it must take, the rows around it are
renumbered over a wider span (a window that doubles until it has room: the classic answer to
ordered-list labelling), so an index need never be made again for want of room. Why not a sort
column instead of the row id: FTS5 yields matches in row-id order only, so a search ordered by
another column collects and sorts every match before the first is returned (as ``ORDER BY
t.id`` once did: see :meth:`kgtools.search.SearchIndex.search`). Why not one table per plan file,
merged at search time: a row belongs to several plans at once (an entity in two plans, a
municipality's name in every row of its code), and the merge would cost every search.

Which entities' rows can change (:func:`reached`): a row holds its entity's types (inferred
included), text, plans, the plans' municipality codes and periods, and the code's name. So a
changed triple (asserted or inferred, added or removed) reaches its subject when it is a type,
a text, a plan link from the entity or the entity's code; its object when it is a plan's link to
it; and every member of a plan (before and after the change) when the plan's type, municipality,
period, the municipality's code, the period's first or last fiscal year or such a year's number
changes. Their rows are made before and after (:func:`kgtools.search.rows_for`, from the old
and the new store) and only the difference is applied. A change to which properties are indexed
(an ``owl:DatatypeProperty`` or its range in the data) gives no patch: the build writes no
index (the last one goes with its store) and the first search makes it from the store, as for
an index that cannot be patched for any other reason (the last build's index missing, not an
index, or not holding the rows the old store says the patch removes: only the rows a patch
touches are checked, not the whole file). Most of a patch's time is copying the last index
(docs/performance.md, "Search index in `kg build`").

Each text is stored once (``strings``, with the full-text table over its key), its id the id of
its first row (:class:`kgtools.search.SearchIndex` relies on it). A text the patch inserts rows
of is found by its key's trigrams, or added; at the end, every text whose rows the patch
removed, inserted or moved is taken out and put back under its first row's id (its rows
pointed there), and a text left without rows goes: the same texts under the same rows as an
index made whole, which the tests compare, full-text table included.

A municipality's name is in every row of its code, in the row's language: the least label in
that language among the rows of that code that have no plan (else the least Japanese one,
:func:`kgtools.search.municipality_name`). When the patch changes such rows, the names are read
again from the patched table and every row of the code updated (a scan of the table; only when
a municipality's own labels change). The types ``--type`` accepts are updated the same way.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgtools import search
from kgtools.search import MAX_ROWID, Row, rank_key

#: The row's columns read back, in the order of :class:`~kgtools.search.Row` (the text from
#: ``strings``: ``s``; the row: ``t``).
_ROW_COLUMNS = (
    "t.entity, t.type, t.types, t.property, t.rank, t.lang, s.text, t.plan, t.code,"
    " t.municipality, t.first, t.last"
)
_ROWS = "texts t JOIN strings s ON s.id = t.string"


class PatchRefused(Exception):
    """The index cannot be patched (it does not hold what the old store says it should)."""


@dataclass
class Patch:
    """The rows an incremental build removes from the last index and inserts into it (with an
    empty municipality name: :func:`apply` fills it in)."""

    remove: list[Row] = field(default_factory=list)
    insert: list[Row] = field(default_factory=list)


def reached(
    delta: Iterable[Any], before: Sequence[Any], after: Sequence[Any], text_properties: set[Any]
) -> set[Any]:
    """The entities whose index rows a change can reach: ``delta`` holds every triple added to
    or removed from any graph, ``before`` and ``after`` the graphs (ontology, data, inferred)
    before and after the change, ``text_properties`` the properties whose texts are indexed."""
    from kgtools.engine import vocab

    every = [search.GraphUnion(before), search.GraphUnion(after)]

    def subjects(p: Any, o: Any) -> set[Any]:
        return {s for graph in every for s, _, _ in graph.match(None, p, o)}

    entities: set[Any] = set()
    plans: set[Any] = set()
    for s, p, o in delta:
        if p == vocab.RDF_TYPE:
            entities.add(s)
            if o == vocab.PLAN:
                plans.add(s)
        elif p in text_properties or p == vocab.PART_OF_PLAN:
            entities.add(s)
        elif p in (vocab.HAS_ILLUSTRATION, vocab.MENTIONS):
            entities.add(o)
        elif p == vocab.PERIOD:
            entities.add(o)
            plans.add(s)
        elif p == vocab.MUNICIPALITY:
            plans.add(s)
        elif p == vocab.LOCAL_GOVERNMENT_CODE:
            entities.add(s)
            plans |= subjects(vocab.MUNICIPALITY, s)
        elif p in (vocab.FIRST_FISCAL_YEAR, vocab.LAST_FISCAL_YEAR):
            plans |= subjects(vocab.PERIOD, s)
        elif p == vocab.YEAR:
            spans = subjects(vocab.FIRST_FISCAL_YEAR, s) | subjects(vocab.LAST_FISCAL_YEAR, s)
            for span in spans:
                plans |= subjects(vocab.PERIOD, span)
    for plan in plans:
        entities.add(plan)
        entities |= subjects(vocab.PART_OF_PLAN, plan)
        for graph in every:
            for link in (vocab.PERIOD, vocab.HAS_ILLUSTRATION, vocab.MENTIONS):
                entities.update(o for _, _, o in graph.match(plan, link, None))
    return entities


def plan(
    delta: Iterable[Any],
    before: Sequence[Any],
    before_data: Any,
    after: Sequence[Any],
    after_data: Any,
) -> Patch | None:
    """The patch that turns the index of the graphs ``before`` into that of ``after`` (each:
    ontology, data and inferred; ``*_data``: the data graph's, for the asserted types), given
    ``delta``, every triple added or removed; ``None`` when the indexed properties changed."""
    properties = search.text_properties(search.GraphUnion(before))
    if properties != search.text_properties(search.GraphUnion(after)):
        return None
    entities = reached(delta, before, after, {p for p, _ in properties})
    old = set(search.rows_for(entities, before, before_data))
    new = set(search.rows_for(entities, after, after_data))
    return Patch(sorted(old - new, key=rank_key), sorted(new - old, key=rank_key))


def patched(source: Path, patch: Patch) -> Any:
    """What :meth:`~kgtools.build.staging.StagedFiles.put_edited` calls on a copy of the index
    ``source``: applies ``patch``, and says whether it could (when not, no index is written)."""

    def edit(path: Path) -> bool:
        try:
            if patch.remove or patch.insert:
                shutil.copyfile(source, path)
                apply(path, patch)
            else:
                _same_index(source, path)
        except (PatchRefused, sqlite3.Error, FileNotFoundError):
            return False
        return True

    return edit


def _same_index(source: Path, path: Path) -> None:
    """``path`` (the staged file) made the index ``source`` itself, for a change that reaches
    no row: a hard link instead of a copy (at 1M triples the copy of ~180 MB was most of such a
    build's time). Safe because an index file is never written after it is made (a search opens
    it read-only; a remade index replaces the name), and the last build's name is removed once
    this build is in place. Where the file system makes no link, a copy."""
    db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check_version(db, source)  # (as a patch would: a damaged index is not carried on)
    finally:
        db.close()
    path.unlink(missing_ok=True)
    try:
        os.link(source, path)
    except FileNotFoundError:
        raise
    except OSError:
        shutil.copyfile(source, path)


def _check_version(db: sqlite3.Connection, path: Path) -> None:
    """Refuse ``path`` (open as ``db``) unless it is an index of this version."""
    version = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
    if version is None or version[0] != str(search.INDEX_VERSION):
        raise PatchRefused(f"{path}: an index of another version")


class _Table:
    """The ``texts`` table of an index, read in rank order through the row ids, and its texts
    (``strings``, with the full-text table over them). A text's id is the id of its first row
    (:meth:`kgtools.search.SearchIndex.search` relies on it): the texts whose rows a patch
    removes or inserts are set right at the end (:meth:`finish`)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.strings: dict[str, int] = {}  # the id of each text the patch has touched
        self._new = 0  # (texts new to the index: ids below 0 until finish)

    def _row(self, sql: str, args: tuple[Any, ...]) -> tuple[int, Row] | None:
        found = self.db.execute(
            f"SELECT t.id, {_ROW_COLUMNS} FROM {_ROWS} WHERE {sql} LIMIT 1", args
        ).fetchone()
        return None if found is None else (found[0], Row(*found[1:]))

    def find(self, key: tuple[Any, ...]) -> tuple[int, int, Row | None]:
        """The row ids around ``key`` in rank order: ``(below, above, None)``, the nearest rows'
        ids below and above it (0 and ``MAX_ROWID + 1`` past the ends), or ``(id, id, row)``
        for the row whose key it is."""
        lo, hi = 0, MAX_ROWID + 1
        while True:
            mid = (lo + hi) // 2
            found = self._row("t.id >= ? AND t.id <= ? ORDER BY t.id", (max(mid, lo + 1), hi - 1))
            if found is None:
                found = self._row("t.id > ? AND t.id <= ? ORDER BY t.id DESC", (lo, mid - 1))
                if found is None:
                    return lo, hi, None
            rowid, row = found
            here = rank_key(row)
            if here == key:
                return rowid, rowid, row
            if here < key:
                lo = rowid
            else:
                hi = rowid

    def at(self, rowid: int) -> Row | None:
        found = self._row("t.id = ?", (rowid,)) if rowid <= MAX_ROWID else None
        return None if found is None else found[1]

    def span(self, lo: int, hi: int) -> list[tuple[int, Row]]:
        """The rows whose ids are strictly between ``lo`` and ``hi``, in order."""
        cursor = self.db.execute(
            f"SELECT t.id, {_ROW_COLUMNS} FROM {_ROWS} WHERE t.id > ? AND t.id <= ? ORDER BY t.id",
            (lo, hi - 1),
        )
        return [(rowid, Row(*rest)) for rowid, *rest in cursor]

    def neighbour(self, rowid: int, up: bool) -> int:
        """The id of the row next to ``rowid`` (0 or ``MAX_ROWID + 1`` past the ends)."""
        sql = "id > ? ORDER BY id" if up else "id < ? ORDER BY id DESC"
        found = self.db.execute(f"SELECT id FROM texts WHERE {sql} LIMIT 1", (rowid,)).fetchone()
        return found[0] if found is not None else (MAX_ROWID + 1 if up else 0)

    def delete(self, rowid: int) -> None:
        text, string = self.db.execute(
            "SELECT s.text, s.id FROM texts t JOIN strings s ON s.id = t.string WHERE t.id = ?",
            (rowid,),
        ).fetchone()
        self.strings[text] = string
        self.db.execute("DELETE FROM texts WHERE id = ?", (rowid,))

    def insert(self, rows: Iterable[tuple[int, Row]]) -> None:
        records = [search.record(rowid, self._string(row.text), row) for rowid, row in rows]
        self.db.executemany(search.INSERT_TEXTS, records)

    def _string(self, text: str) -> int:
        """The id of ``text`` in ``strings``: a text the patch has not touched yet is looked up
        through the full-text table (by its key's trigrams); a text new to the index is added
        with an id below 0 (and to the full-text table by :meth:`finish`)."""
        if (known := self.strings.get(text)) is not None:
            return known
        key = search.text_key(text)
        if len(key) >= 3:
            found = self.db.execute(
                "SELECT s.id FROM fts JOIN strings s ON s.id = fts.rowid"
                " WHERE fts MATCH ? AND s.text = ? LIMIT 1",
                (search.holding(key), text),
            ).fetchone()
        else:  # (an empty text: no trigram to look it up by)
            found = self.db.execute(
                "SELECT id FROM strings WHERE text = ? LIMIT 1", (text,)
            ).fetchone()
        if found is None:
            self._new -= 1
            found = (self._new,)
            self.db.execute(search.INSERT_STRINGS, (self._new, text, key))
        self.strings[text] = found[0]
        return int(found[0])

    def finish(self) -> None:
        """Set right the texts the patch touched: each one's id the id of its first row (its
        rows moved to it), a text without rows removed; in the full-text table too."""
        db = self.db
        moved: list[tuple[str, list[int]]] = []
        # (every touched text's rows read, and the texts taken out, before any is put back: a
        # text's new id may be one another touched text had)
        for text, string in self.strings.items():
            rows = [r for (r,) in db.execute("SELECT id FROM texts WHERE string = ?", (string,))]
            moved.append((text, rows))
            if string > 0:  # (a text new to the index is not in the full-text table yet)
                db.execute(
                    "INSERT INTO fts(fts, rowid, key) SELECT 'delete', id, key FROM strings"
                    " WHERE id = ?",
                    (string,),
                )
            db.execute("DELETE FROM strings WHERE id = ?", (string,))
        for text, rows in moved:
            if not rows:
                continue
            first = min(rows)
            db.executemany("UPDATE texts SET string = ? WHERE id = ?", [(first, r) for r in rows])
            key = search.text_key(text)
            db.execute(search.INSERT_STRINGS, (first, text, key))
            db.execute("INSERT INTO fts(rowid, key) VALUES (?, ?)", (first, key))
        self.strings.clear()


def apply(path: Path, patch: Patch) -> None:
    """Apply ``patch`` to the index file ``path`` (a copy of the last build's, private to this
    build: no journal, and the caller syncs it), in one transaction."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        _check_version(db, path)
        db.execute("BEGIN")
        _apply(_Table(db), patch)
        db.execute("COMMIT")
    finally:
        db.close()


def _name_texts(rows: Iterable[Row]) -> Counter[tuple[str, str, str, str, str]]:
    return Counter(
        (r.code, r.plan, r.lang, r.property, r.text)
        for r in rows
        if r.code and not r.plan and r.property == search.RDFS_LABEL
    )


def _names_in(db: sqlite3.Connection, code: str) -> dict[tuple[str, str], str]:
    """Each name of ``code`` in the table, as :func:`kgtools.search.municipality_name` reads
    them: the least label of the rows of ``code`` with no plan in each language (a scan)."""
    found = db.execute(
        f"SELECT t.lang, min(s.text) FROM {_ROWS} WHERE t.code = ? AND t.plan = ''"
        " AND t.property = ? GROUP BY t.lang",
        (code, search.RDFS_LABEL),
    )
    return {(code, lang): text for lang, text in found}


def _apply(table: _Table, patch: Patch) -> None:
    db = table.db
    shown: dict[tuple[str, str], str] = {}  # the names rows showed, by code and language
    for row in patch.remove:
        rowid, _, stored = table.find(rank_key(row))
        if stored is None or stored._replace(municipality="") != row:
            raise PatchRefused(f"the index does not hold the row {row}")
        shown[stored.code, stored.lang] = stored.municipality
        table.delete(rowid)
    # Municipality names: unchanged unless the texts they are chosen from changed.
    before, after = _name_texts(patch.remove), _name_texts(patch.insert)
    renamed = {t[0] for t in (before - after) + (after - before)}
    needed = {(r.code, r.lang) for r in patch.insert if r.code and r.code not in renamed}
    for code, lang in sorted(needed - shown.keys()):
        found = db.execute(
            "SELECT municipality FROM texts WHERE code = ? AND lang = ? LIMIT 1", (code, lang)
        ).fetchone()
        # (no row of that code in that language yet: the name from the code's labels)
        shown[code, lang] = (
            found[0] if found else search.municipality_name(_names_in(db, code), code, lang)
        )
    # (rows of a renamed code are named below, with every row of their code)
    _insert(
        table,
        [
            r if r.code in renamed else r._replace(municipality=shown.get((r.code, r.lang), ""))
            for r in patch.insert
        ],
    )
    table.finish()
    for code in sorted(renamed):
        names = _names_in(db, code)
        langs = db.execute("SELECT DISTINCT lang FROM texts WHERE code = ?", (code,)).fetchall()
        for (lang,) in langs:
            name = search.municipality_name(names, code, lang)
            db.execute(
                "UPDATE texts SET municipality = ? WHERE code = ? AND lang = ?"
                " AND municipality != ?",
                (name, code, lang, name),
            )
    # The types --type accepts: a type of a removed row may be gone.
    (stored_types,) = db.execute("SELECT value FROM meta WHERE key = 'types'").fetchone()
    types = set(stored_types.split()) | set(search.type_names(patch.insert))
    for name in set(search.type_names(patch.remove)) - set(search.type_names(patch.insert)):
        if (
            db.execute(
                "SELECT 1 FROM texts WHERE instr(types, ?) > 0 LIMIT 1", (f" {name} ",)
            ).fetchone()
            is None
        ):
            types.discard(name)
    db.execute("UPDATE meta SET value = ? WHERE key = 'types'", (" ".join(sorted(types)),))


def _insert(table: _Table, rows: list[Row]) -> None:
    """Insert ``rows`` (sorted in rank order), each between its neighbours, the rows that share
    a gap spread evenly over it; a gap without room is widened (:func:`_room`). Each gap is
    looked up after the rows before it are in (widening one renumbers rows around it)."""
    group: list[Row] = []
    lo = hi = 0
    above: tuple[Any, ...] | None = None  # the key of the row that closes the current gap
    for row in rows:
        key = rank_key(row)
        if group and (above is None or key < above):
            group.append(row)
            continue
        if group:
            _fill(table, lo, hi, group)
        lo, hi, stored = table.find(key)
        if stored is not None:
            raise PatchRefused(f"the index already holds the row {row}")
        closing = table.at(hi)
        above = None if closing is None else rank_key(closing)
        group = [row]
    if group:
        _fill(table, lo, hi, group)


def _fill(table: _Table, lo: int, hi: int, rows: list[Row]) -> None:
    if hi - lo > len(rows):
        table.insert(_spread(lo, hi, rows))
    else:
        _room(table, lo, hi, rows)


def _spread(lo: int, hi: int, rows: Sequence[Row]) -> list[tuple[int, Row]]:
    """``rows`` with ids spread evenly strictly between ``lo`` and ``hi``."""
    n = len(rows) + 1
    return [(lo + (hi - lo) * (i + 1) // n, row) for i, row in enumerate(rows)]


def _room(table: _Table, lo: int, hi: int, new: list[Row]) -> None:
    """Insert ``new`` between the rows ``lo`` and ``hi``, which are too close for them: the rows
    around them are renumbered with them over a window that doubles (in rows taken in on each
    side) until the window's span leaves :data:`~kgtools.search.SPACING` between rows, or
    reaches both ends of the id range."""
    take = 1
    while True:
        for _ in range(take):
            if lo > 0:
                lo = table.neighbour(lo, up=False)
            if hi <= MAX_ROWID:
                hi = table.neighbour(hi, up=True)
        moved = table.span(lo, hi)
        count = len(moved) + len(new)
        if hi - lo > count * search.SPACING or (lo == 0 and hi > MAX_ROWID):
            break
        take *= 2
    if hi - lo <= count:
        raise PatchRefused("no room for the rows in the whole id range")
    for rowid, _ in moved:
        table.delete(rowid)
    merged = sorted([row for _, row in moved] + new, key=rank_key)
    table.insert(_spread(lo, hi, merged))
