"""Degree statistics of the bipartite partner network at scale, kept up to date incrementally.

The definition is the query ``kgtools/sparql/network-degree.rq``: for each municipality, the
distinct (evidence, predicate, target) links of its plans (``?plan a tip:Plan ; ?predicate
?target``) and of its plans' initiatives (``?initiative a tip:Initiative ; tip:partOfPlan ?plan ;
tip:heading ?h ; ?predicate ?target``), over asserted and inferred triples; a node's ``degree``
is its number of distinct neighbours on the other side, ``links`` its number of links.

Why not run that query: at a million triples it reads every link back out of RocksDB (~30 s),
and it would have to run again after every change. Here the links are counted per
(municipality, target) from the triples in memory during a full build, kept in
``dist/cache/degree.jsonl`` (:class:`Cache`, one line per municipality), and an incremental build
recounts only the municipalities whose plans or initiatives the change touched, through store
lookups. It then parses only those municipalities' lines of the cache and patches the CSV's rows
(:func:`patched_csv`) instead of sorting and writing all of them again: at a million triples the
statistics of an incremental build take ~0.1 s instead of ~0.5 s. The tests hold the result to
the query and the patched files to a full build's bytes.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyoxigraph as ox

from kgtools.engine import vocab
from kgtools.engine.terms import OxTriple, Term, TripleSource
from kgtools.engine.vocab import (
    HEADING,
    INITIATIVE,
    MUNICIPALITY,
    PART_OF_PLAN,
    PLAN,
    RDF_TYPE,
)
from kgtools.namespaces import TIP

#: The predicates whose targets are the "linked" side (as in network-degree.rq).
LINKS = tuple(
    vocab.node(TIP[name])
    for name in ("collaboratesWith", "involvesPartnerKind", "facility", "programme", "theme")
)
#: Every predicate the statistics read (for filtering the entailments of a full build).
PREDICATES = frozenset({RDF_TYPE, MUNICIPALITY, PART_OF_PLAN, HEADING, *LINKS})
CACHE_FILE = "degree.jsonl"

#: Links per municipality: target → number of distinct (evidence, predicate) pairs; terms in
#: their N-Triples form (hashing strings is several times faster than hashing pyoxigraph terms).
Table = dict[str, dict[str, int]]


def _has(source: TripleSource, s: Term, p: ox.NamedNode, o: Term | None = None) -> bool:
    return next(iter(source.match(s, p, o)), None) is not None


def municipality_links(source: TripleSource, municipality: Term) -> dict[str, int]:
    """The link counts of one municipality, read from ``source`` (asserted + inferred)."""
    links: set[tuple[Term, ox.NamedNode, Term]] = set()
    for plan, _, _ in list(source.match(None, MUNICIPALITY, municipality)):
        evidence = []
        if _has(source, plan, RDF_TYPE, PLAN):
            evidence.append(plan)
        for initiative, _, _ in source.match(None, PART_OF_PLAN, plan):
            if _has(source, initiative, RDF_TYPE, INITIATIVE) and _has(source, initiative, HEADING):
                evidence.append(initiative)
        for node in evidence:
            for predicate in LINKS:
                links.update((node, predicate, t) for _, _, t in source.match(node, predicate))
    return dict(Counter(str(target) for _, _, target in links))


def municipalities(source: TripleSource) -> set[Term]:
    """Every object of ``tip:municipality`` (the municipalities that may have links)."""
    return {m for _, _, m in source.match(None, MUNICIPALITY, None)}


def table(source: TripleSource, which: Iterable[Term]) -> Table:
    """Link counts of the municipalities ``which`` (those without links are left out)."""
    counts = {str(m): municipality_links(source, m) for m in which}
    return {m: c for m, c in counts.items() if c}


def affected(sources: Iterable[TripleSource], changed: Iterable[OxTriple]) -> set[Term]:
    """Municipalities whose links a change may alter: those of every changed subject taken as
    a plan (``tip:municipality``) or as an initiative (its plans' municipalities), looked up in
    each of ``sources`` (the graph before and after the change)."""
    subjects = {s for s, _, _ in changed}
    found: set[Term] = set()
    for source in sources:
        for node in subjects:
            plans = [node] + [p for _, _, p in source.match(node, PART_OF_PLAN, None)]
            for plan in plans:
                if isinstance(plan, ox.Literal):
                    continue
                found.update(m for _, _, m in source.match(plan, MUNICIPALITY, None))
    return found


def rows(links: Table) -> list[tuple[str, str, int, int]]:
    """(node, side, degree, links), most links first (then degree, then the node's value and
    side, then its N-Triples form: the order does not depend on the table's); nodes in
    N-Triples form."""
    return _rows(links, values=False)


def _rows(links: Table, *, values: bool) -> list[tuple[str, str, int, int]]:
    """:func:`rows`, with each node's value (:func:`value`) instead of its N-Triples form when
    ``values`` is set."""
    out: list[tuple[str, str, int, int]] = []
    linked_degree: Counter[str] = Counter()
    linked_links: dict[str, int] = {}
    for municipality, targets in links.items():
        out.append((municipality, "municipality", len(targets), sum(targets.values())))
        linked_degree.update(targets.keys())  # counted in C
        for target, count in targets.items():
            linked_links[target] = linked_links.get(target, 0) + count
    out += [(t, "linked", linked_degree[t], linked_links[t]) for t in linked_degree]
    # sorted on plain tuples (compared in C); two nodes with the same value and side (an IRI and
    # a literal, say) are ordered by their N-Triples form, never by the table's order
    order = sorted(
        (-count, -degree, value(node), side, node, i)
        for i, (node, side, degree, count) in enumerate(out)
    )
    if values:
        return [(shown, side, -degree, -count) for count, degree, shown, side, *_ in order]
    return [out[i] for *_, i in order]


def value(node: str) -> str:
    """The IRI, blank node label or lexical form of a term given in N-Triples form."""
    if node.startswith("<"):
        return node[1:-1]
    if node.startswith("_:"):
        return node[2:]
    quad = next(iter(ox.parse(f"<urn:t> <urn:t> {node} .", format=ox.RdfFormat.N_TRIPLES)))
    return str(quad.object.value)


#: A CSV field holding one of these is quoted (csv.QUOTE_MINIMAL); so is an empty one.
_QUOTED = re.compile(r'[,"\r\n]')
_HEADER = "iri,side,degree,links\n"


def csv_bytes(links: Table) -> bytes:
    """The CSV of iri, side, degree, links for every node (see :func:`rows`): what Python's
    ``csv.writer`` writes (``lineterminator="\\n"``), in a tenth of its time when no value
    needs quoting (the sides and numbers never do)."""
    rows = _rows(links, values=True)
    nodes = [node for node, *_ in rows]
    if all(nodes) and not _QUOTED.search("\t".join(nodes)):  # (a tab is never quoted)
        lines = [f"{node},{side},{degree},{count}\n" for node, side, degree, count in rows]
        return (_HEADER + "".join(lines)).encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["iri", "side", "degree", "links"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _row_key(line: str) -> tuple[int, int, str, str]:
    """The sort key of a CSV row written without quoting (``value,side,degree,links``)."""
    shown, side, degree, count = line.rsplit(",", 3)
    return -int(count), -int(degree), shown, side


def patched_csv(
    old: bytes, before: Mapping[str, Mapping[str, int]], after: Mapping[str, Mapping[str, int]]
) -> bytes | None:
    """The CSV :func:`csv_bytes` writes for a table, from ``old`` (the CSV of the table before)
    when the municipalities in ``before`` (their old link counts; ``{}``: none) have the counts
    in ``after`` instead: only the rows of the nodes whose numbers change are removed and put
    back in order.

    Only for a table whose nodes are all IRIs (:attr:`Cache.iris`): then a row's value names
    its node. ``None`` when the rows cannot be patched and the CSV must be written whole: a
    changed node is not an IRI, a value needs quoting (in ``old`` or in a changed row), a row
    sorts level with another, or ``old`` does not hold the rows ``before`` implies.
    """
    header = _HEADER.encode("utf-8")
    if not old.startswith(header) or not old.endswith(b"\n") or b'"' in old:
        return None
    lines = old[len(header) : -1].decode("utf-8").split("\n") if len(old) > len(header) else []
    where: dict[str, int] = {}  # "value,side" → row
    for i, line in enumerate(lines):
        if where.setdefault(line.rsplit(",", 2)[0], i) != i:
            return None  # two rows for one value and side
    # the numbers that change: (node, side) → (degree, links) before and after
    numbers: dict[tuple[str, str], list[tuple[int, int]]] = {}
    degree_change: Counter[str] = Counter()
    links_change: Counter[str] = Counter()
    for municipality in before.keys() | after.keys():
        old_counts, new_counts = before.get(municipality, {}), after.get(municipality, {})
        if old_counts == new_counts:
            continue
        numbers[(municipality, "municipality")] = [
            (len(old_counts), sum(old_counts.values())),
            (len(new_counts), sum(new_counts.values())),
        ]
        for target in old_counts.keys() | new_counts.keys():
            degree_change[target] += (target in new_counts) - (target in old_counts)
            links_change[target] += new_counts.get(target, 0) - old_counts.get(target, 0)
    drop: set[int] = set()
    fresh: list[str] = []
    for target in degree_change.keys() | links_change.keys():
        if degree_change[target] or links_change[target]:
            numbers[(target, "linked")] = []
    for (node, side), change in numbers.items():
        if not node.startswith("<"):
            return None
        shown = value(node)
        if not shown or _QUOTED.search(shown):
            return None
        row = where.get(f"{shown},{side}")
        was = (0, 0) if row is None else _numbers(lines[row])
        if side == "linked":
            now = (was[0] + degree_change[node], was[1] + links_change[node])
        elif was != change[0]:
            return None  # the CSV is not the table's
        else:
            now = change[1]
        if min(now) < 0 or (now[0] == 0) != (now[1] == 0):
            return None
        if row is not None:
            drop.add(row)
        if now[0]:
            fresh.append(f"{shown},{side},{now[0]},{now[1]}")
    kept = [line for i, line in enumerate(lines) if i not in drop] if drop else lines
    for line in fresh:
        key = _row_key(line)
        at = bisect.bisect_left(kept, key, key=_row_key)
        if at < len(kept) and _row_key(kept[at]) == key:
            return None  # level with another row
        kept.insert(at, line)
    return header + "".join(line + "\n" for line in kept).encode("utf-8")


def _numbers(line: str) -> tuple[int, int]:
    _, _, degree, count = line.rsplit(",", 3)
    return int(degree), int(count)


def digest(data: bytes) -> str:
    """The SHA-256 of the CSV bytes a cache was written with (:attr:`Cache.csv`)."""
    return hashlib.sha256(data).hexdigest()


# -- the cache ------------------------------------------------------------------------------------
class CacheError(ValueError):
    """A line of ``cache/degree.jsonl`` is not what :meth:`Cache.to_bytes` writes: the build
    counts the links again from the store."""


class Cache:
    """The link table kept in ``cache/degree.jsonl``: a first line ``{"csv": …, "others": …}``
    (the SHA-256 of the CSV written from this table, or null when none was; how many of its
    (municipality, target) entries have a node that is not an IRI — :func:`patched_csv` needs
    none), then one line per municipality with links, sorted: ``["<municipality>", {"<target>":
    links, …}]`` (terms in N-Triples form, keys sorted). Reading it finds only where each
    municipality's line is; a line is parsed when its counts are asked for (:meth:`counts`), so
    an incremental build parses a few lines of a file that holds every municipality's."""

    def __init__(self, lines: dict[str, str], csv: str | None, others: int) -> None:
        self._lines = lines  # municipality → its line
        self.csv = csv
        self.others = others

    @property
    def iris(self) -> bool:
        """Whether every node of the table is an IRI."""
        return self.others == 0

    @classmethod
    def of(cls, links: Table, csv: bytes | None) -> Cache:
        """The cache of ``links`` and of the CSV bytes written from them (if any)."""
        return cls(
            {m: _line(m, links[m]) for m in sorted(links) if links[m]},
            None if csv is None else digest(csv),
            sum(_others(m, targets) for m, targets in links.items()),
        )

    @classmethod
    def load(cls, path: Path) -> Cache | None:
        """The cache in ``path``, or ``None`` when there is none or its layout is not this one
        (a damaged line is found when it is parsed: :class:`CacheError`)."""
        try:
            text = path.read_bytes().decode("utf-8")  # (no newline translation)
            head, _, body = text.partition("\n")
            header = json.loads(head)
        except (OSError, ValueError):
            return None
        if not isinstance(header, dict) or set(header) != {"csv", "others"}:
            return None
        csv, others = header["csv"], header["others"]
        if (csv is not None and not isinstance(csv, str)) or type(others) is not int or others < 0:
            return None
        if body and not body.endswith("\n"):
            return None
        decoder = json.JSONDecoder()
        lines: dict[str, str] = {}
        previous = None
        for line in body[:-1].split("\n") if body else []:  # (JSON escapes every "\n" it holds)
            if not line.startswith('["'):
                return None
            try:
                municipality, _ = decoder.raw_decode(line, 1)
            except ValueError:
                return None
            if previous is not None and municipality <= previous:
                return None  # not sorted, or a municipality twice
            lines[municipality] = line
            previous = municipality
        return cls(lines, csv, others)

    def counts(self, municipality: str) -> dict[str, int]:
        """The link counts of one municipality (``{}`` when it has none)."""
        line = self._lines.get(municipality)
        if line is None:
            return {}
        try:
            parsed = json.loads(line)
        except ValueError:
            raise CacheError(f"{CACHE_FILE}: the line of {municipality} is not JSON") from None
        if (
            not isinstance(parsed, list)
            or len(parsed) != 2
            or parsed[0] != municipality
            or not isinstance(parsed[1], dict)
            or not parsed[1]
            or not all(type(n) is int and n > 0 for n in parsed[1].values())
        ):
            raise CacheError(f"{CACHE_FILE}: the line of {municipality} is not its link counts")
        return parsed[1]

    def table(self) -> Table:
        """Every municipality's link counts."""
        return {m: self.counts(m) for m in self._lines}

    def replaced(self, counts: Mapping[str, Mapping[str, int]], csv: str | None) -> Cache:
        """This cache with the municipalities of ``counts`` given those counts (``{}``: none),
        and ``csv`` the :func:`digest` of the CSV written from it (``None``: none was)."""
        lines = dict(self._lines)
        others = self.others
        for municipality, targets in counts.items():
            others += _others(municipality, targets) - _others(
                municipality, self.counts(municipality)
            )
            if targets:
                lines[municipality] = _line(municipality, targets)
            else:
                lines.pop(municipality, None)
        if counts.keys() - self._lines.keys():
            lines = {m: lines[m] for m in sorted(lines)}
        return Cache(lines, csv, others)

    def to_bytes(self) -> bytes:
        """The file's bytes."""
        head = json.dumps({"csv": self.csv, "others": self.others})
        return "".join([head, "\n", *(line + "\n" for line in self._lines.values())]).encode(
            "utf-8"
        )


def _others(municipality: str, targets: Mapping[str, int]) -> int:
    """How many of a municipality's entries have a node that is not an IRI."""
    if not municipality.startswith("<"):
        return len(targets)
    return sum(1 for t in targets if not t.startswith("<"))


def _line(municipality: str, targets: Mapping[str, int]) -> str:
    return json.dumps([municipality, targets], ensure_ascii=False, sort_keys=True)
