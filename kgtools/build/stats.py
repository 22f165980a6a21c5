"""The counts a build writes beside the graph: instances per class (``build.json``'s
``instances``; counted in memory in a full build, patched from the changed triples in an
incremental one) and the partner-network degree statistics (``network/bipartite-degree.csv`` and
its cache), which an incremental build recounts only for the municipalities a change touches."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdflib.namespace import RDF

from kgtools.build.layout import CACHE, BuildSummary
from kgtools.build.staging import StagedFiles

if TYPE_CHECKING:
    from kgtools.engine.terms import OxTriple, TripleSource


#: The degree statistics written instead of the views when there are many municipalities
#: (in network.DEFAULT_VIEWS_DIR).
DEGREE_CSV = "network/bipartite-degree.csv"


def draws_degree_csv(summary: BuildSummary) -> bool:
    """Whether the build writes :data:`DEGREE_CSV` instead of drawing the network views."""
    from kgtools.network import VIEWS_MUNICIPALITY_LIMIT

    return summary.instances.get("tip:Municipality", 0) > VIEWS_MUNICIPALITY_LIMIT


def put_degree_cache(turtle: StagedFiles, out_dir: Path, data: bytes) -> None:
    """Stage the degree statistics' cache (and drop the one an older version kept)."""
    from kgtools.engine import degree

    (out_dir / CACHE / "degree.json").unlink(missing_ok=True)  # layout before degree.jsonl
    turtle.put(out_dir / CACHE / degree.CACHE_FILE, data)


def degree_statistics(
    out_dir: Path,
    before: TripleSource,
    after: TripleSource,
    delta: Collection[OxTriple],
    csv_wanted: bool,
) -> tuple[bytes | None, bytes | None]:
    """After an incremental change (``delta``, the graph ``before`` and ``after`` it): the bytes
    of the degree CSV (if ``csv_wanted``) and of its cache, each ``None`` when the file is current.
    Only the municipalities the change may touch are recounted, and the CSV's rows patched
    (:func:`kgtools.engine.degree.patched_csv`) when the file is the one the cache was written
    with; a missing or damaged cache is counted again from the store."""
    from kgtools.engine import degree

    cache = degree.Cache.load(out_dir / CACHE / degree.CACHE_FILE)
    old: dict[str, dict[str, int]] = {}
    new: dict[str, dict[str, int]] = {}
    try:
        if cache is None:
            raise degree.CacheError(f"{degree.CACHE_FILE} is missing or of another layout")
        for municipality in degree.affected([before, after], delta):
            key = str(municipality)
            old[key] = cache.counts(key)
            new[key] = degree.table(after, [municipality]).get(key, {})
    except degree.CacheError:
        links = degree.table(after, degree.municipalities(after))
        whole = degree.csv_bytes(links) if csv_wanted else None
        return whole, degree.Cache.of(links, whole).to_bytes()
    changed = old != new
    updated = cache.replaced(new, None)
    csv: bytes | None = None
    if csv_wanted:
        try:
            current: bytes | None = (out_dir / DEGREE_CSV).read_bytes()
        except OSError:
            current = None
        intact = current is not None and degree.digest(current) == cache.csv
        if changed or not intact:
            if intact and cache.iris:
                csv = degree.patched_csv(current, old, new)  # type: ignore[arg-type]
            if csv is None:
                csv = degree.csv_bytes(updated.table())
        updated.csv = cache.csv if csv is None else degree.digest(csv)
    if not changed and updated.csv == cache.csv:
        return csv, None
    return csv, updated.to_bytes()


def class_counts_in_memory(indexes: list[Any], inferred: Iterable[OxTriple]) -> dict[str, int]:
    """What :func:`class_counts` gives, from the triples of a full build in memory."""
    import pyoxigraph as ox

    rdf_type = ox.NamedNode(_RDF_TYPE)
    members: dict[Any, set[Any]] = {}
    for index in indexes:
        for s, _, cls in index.match(None, rdf_type, None):
            members.setdefault(cls, set()).add(s)
    for s, p, cls in inferred:
        if p == rdf_type:
            members.setdefault(cls, set()).add(s)
    return _qnames({cls: len(found) for cls, found in members.items()})


def _qnames(counts: dict[Any, int]) -> dict[str, int]:
    """Counts of ``tip:`` classes (pyoxigraph terms) keyed by their prefixed names, sorted."""
    import pyoxigraph as ox
    from rdflib import Graph, URIRef

    from kgtools.namespaces import TIP, bind_prefixes

    qname = bind_prefixes(Graph()).namespace_manager.normalizeUri
    return dict(
        sorted(
            (qname(URIRef(cls.value)), n)
            for cls, n in counts.items()
            if isinstance(cls, ox.NamedNode) and cls.value.startswith(str(TIP)) and n > 0
        )
    )


_RDF_TYPE = str(RDF.type)


def class_counts_after(
    before: dict[str, int], graph_before: Any, graph_after: Any, changed: set[OxTriple]
) -> dict[str, int]:
    """The class counts after a change: each instance whose ``rdf:type`` triple changed in a
    graph is counted again, by looking it up in all the graphs before and after."""
    import pyoxigraph as ox

    rdf_type = ox.NamedNode(_RDF_TYPE)
    delta: dict[Any, int] = {}
    for s, p, cls in {(s, p, o) for s, p, o in changed if p == rdf_type}:
        was = (s, p, cls) in graph_before
        now = (s, p, cls) in graph_after
        delta[cls] = delta.get(cls, 0) + int(now) - int(was)
    counts = dict(before)
    for cls, change in delta.items():
        for name in _qnames({cls: 1}):  # empty unless a tip: class
            counts[name] = counts.get(name, 0) + change
    return {name: n for name, n in sorted(counts.items()) if n > 0}
