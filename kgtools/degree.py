"""Degree statistics of the bipartite partner network at scale, kept up to date incrementally.

The definition is the query ``kgtools/sparql/network-degree.rq``: for each municipality, the
distinct (evidence, predicate, target) links of its plans (``?plan a tip:Plan ; ?predicate
?target``) and of its plans' initiatives (``?initiative a tip:Initiative ; tip:partOfPlan ?plan ;
tip:heading ?h ; ?predicate ?target``), over asserted and inferred triples; a node's ``degree``
is its number of distinct neighbours on the other side, ``links`` its number of links.

Why not run that query: at a million triples it reads every link back out of RocksDB (~30 s),
and it would have to run again after every change. Here the links are counted per
(municipality, target) from the triples in memory during a full build, kept in
``dist/cache/degree.json``, and an incremental build recounts only the municipalities whose plans
or initiatives the change touched, through store lookups. The tests hold the result to the query.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

from kgtools.triples import OxTriple, Term, TripleSource

_TIP = "https://w3id.org/tokyo-industry-plans/ontology#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PLAN = ox.NamedNode(_TIP + "Plan")
INITIATIVE = ox.NamedNode(_TIP + "Initiative")
MUNICIPALITY = ox.NamedNode(_TIP + "municipality")
PART_OF_PLAN = ox.NamedNode(_TIP + "partOfPlan")
HEADING = ox.NamedNode(_TIP + "heading")
#: The predicates whose targets are the "linked" side (as in network-degree.rq).
LINKS = tuple(
    ox.NamedNode(_TIP + name)
    for name in ("collaboratesWith", "involvesPartnerKind", "facility", "programme", "theme")
)
#: Every predicate the statistics read (for filtering the entailments of a full build).
PREDICATES = frozenset({RDF_TYPE, MUNICIPALITY, PART_OF_PLAN, HEADING, *LINKS})
CACHE_FILE = "degree.json"

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
    """(node, side, degree, links), most links first (then degree, then the node's value);
    nodes in N-Triples form."""
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
    # sorted on plain tuples (compared in C); the index keeps equal rows in their order
    order = sorted(
        (-count, -degree, value(node), side, i) for i, (node, side, degree, count) in enumerate(out)
    )
    if values:
        return [(shown, side, -degree, -count) for count, degree, shown, side, _ in order]
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


def csv_bytes(links: Table) -> bytes:
    """The CSV of iri, side, degree, links for every node (see :func:`rows`): what Python's
    ``csv.writer`` writes (``lineterminator="\\n"``), in a tenth of its time when no value
    needs quoting (the sides and numbers never do)."""
    rows = _rows(links, values=True)
    nodes = [node for node, *_ in rows]
    if all(nodes) and not _QUOTED.search("\t".join(nodes)):  # (a tab is never quoted)
        lines = [f"{node},{side},{degree},{count}\n" for node, side, degree, count in rows]
        return ("iri,side,degree,links\n" + "".join(lines)).encode("utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["iri", "side", "degree", "links"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# -- the cache ------------------------------------------------------------------------------------
def dumps(links: Table) -> bytes:
    """The bytes of ``cache/degree.json``."""
    return json.dumps(links, ensure_ascii=False, sort_keys=True).encode("utf-8")


def load(cache: Path) -> Table | None:
    """The table kept in ``cache/degree.json`` (:func:`dumps`), or ``None`` when there is none
    or it is unreadable."""
    try:
        stored = json.loads((cache / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or not all(
        isinstance(targets, dict) and all(isinstance(n, int) for n in targets.values())
        for targets in stored.values()
    ):
        return None
    return stored
