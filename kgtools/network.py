"""Network stage: who works with whom — networkx views of the graph, statistics and drawings.

Everything comes from two queries in ``queries/network/`` (run over asserted + inferred triples):
``links.rq`` gives one row per link from an *evidence* — an initiative (取組), or a plan as a
whole when its background names the partner — to a partner group, a kind of partner, a facility,
a support programme or a theme; ``nodes.rq`` gives every node's kind and its Japanese and English
labels. Filters enter as bindings (the municipality's code) or are applied to the rows (heading,
theme); no value is ever spliced into SPARQL text.

Views (:data:`VIEWS`):

* ``bipartite`` — municipalities ↔ what their plans work with: partner groups, partner kinds,
  facilities and programmes (node attribute ``kind``);
* ``municipalities`` — municipalities linked when they share a partner kind or a theme;
* ``partners`` — partners (groups, kinds, facilities, programmes) linked when the same
  initiative involves both.

(``kg network --view timeline`` — plans on a time axis, not a graph — is :mod:`kgtools.timeline`.)

Every edge carries ``weight`` = the number of distinct evidences behind it (initiatives; a link
stated by the plan as a whole counts once, with the plan as its evidence), ``initiatives`` (their
IRIs, sorted), ``initiative_labels`` / ``initiative_labels_en`` (same order) and ``predicates``
(every predicate behind the edge, as ``tip:`` names): the graphs are simple ``nx.Graph``s whose
edges aggregate, so two predicates linking the same pair never overwrite each other. Nodes carry
``iri``, ``kind``, ``label`` (= ``label_ja``), ``label_ja``, ``label_en`` and the statistics
(``degree``, ``weighted_degree``, ``betweenness``, ``community``).

Outputs (:data:`FORMATS`), all written atomically and byte-for-byte reproducible:

* ``html`` — one self-contained page drawn by a small inline script of our own (SVG, pan/zoom,
  drag, tooltips listing the initiatives, a legend that hides/shows kinds, ja/en label switch).
  Why not pyvis or vis-network: pyvis's template loads Bootstrap from a CDN even with inlined
  resources (and pulls in IPython), and vendoring vis-network means a ~0.5 MB minified third-party
  file in the repository to keep up to date; a graph of this size needs neither physics nor a
  framework. Positions come from the same seeded spring layout as the PNG, so the page is
  deterministic; a Content-Security-Policy of ``default-src 'none'`` (plus ``font-src data:``)
  keeps the browser from loading anything at all. The page embeds the Japanese glyphs it uses
  (:mod:`kgtools.glyphs`), so it needs no Japanese system font.
* ``png`` / ``svg`` — matplotlib (Agg, no pyplot state), text in IPAexGothic loaded by path from
  the ``matplotlib-fontja`` wheel (found with ``importlib.util.find_spec``, never imported: its
  import rewrites the global rcParams). SVG text is converted to paths, so it needs no font.
  Labels are placed by :mod:`kgtools.labels` so that none overlaps another, a node or the
  legend; text is at least :data:`MIN_FONT_SIZE` points; a view of more than
  :data:`LABEL_ALL_UP_TO` nodes labels only its :data:`LABEL_TOP` nodes of highest degree, and
  the legend says how many nodes are labelled.
* ``graphml`` / ``gexf`` — for Gephi and Cytoscape; list attributes are joined with
  :data:`JOIN` because both formats take scalars only. GEXF carries colours and positions.
* ``json`` — networkx node-link data (lists kept as lists).

This module imports networkx, matplotlib and rdflib inside functions, so ``kg --help`` stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import math
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools.errors import NetworkDataError, NetworkError, UnknownFilterError, printable
from kgtools.namespaces import ID, TIP

if TYPE_CHECKING:
    import networkx as nx

    from kgtools.project import Project
    from kgtools.store.base import Store

#: The views, in the order the CLI lists them.
VIEWS = ("bipartite", "municipalities", "partners")
#: The output formats (file extensions), in the order they are written.
FORMATS = ("html", "png", "svg", "graphml", "gexf", "json")
#: Headings (取組区分) a filter may name.
HEADINGS = (1, 2, 3)
#: Separator for list attributes in GraphML and GEXF (which take scalars only).
JOIN = " | "
#: Seed of the spring layout and of Louvain community detection.
SEED = 42
#: Where the default views go inside the build folder.
DEFAULT_VIEWS_DIR = "network"

_TIP = str(TIP)
_ID = str(ID)


@dataclass(frozen=True)
class Kind:
    """How one kind of node is named and drawn."""

    name: str
    ja: str
    en: str
    colour: str
    tip_class: str


#: Kinds of node, by priority: a node of several classes takes the first kind that matches
#: (a partner group is also a tip:Partner; a subsidy is also a tip:SupportProgramme).
#: Colours: the Okabe–Ito palette (readable with colour-blindness).
KINDS: tuple[Kind, ...] = (
    Kind("municipality", "市区町村", "municipality", "#0072B2", "Municipality"),
    Kind("partner-group", "連携主体群", "partner group", "#D55E00", "PartnerGroup"),
    Kind("partner", "連携主体", "partner", "#CC79A7", "Partner"),
    Kind("partner-kind", "連携主体の種別", "kind of partner", "#E69F00", "PartnerKind"),
    Kind("facility", "施設", "facility", "#009E73", "Facility"),
    Kind("programme", "支援事業", "support programme", "#56B4E9", "SupportProgramme"),
    Kind("theme", "テーマ", "theme", "#F0E442", "Theme"),
    Kind("plan", "計画", "plan", "#999999", "Plan"),
    Kind("initiative", "取組", "initiative", "#999999", "Initiative"),
    Kind("heading", "取組区分", "heading", "#999999", "Heading"),
)
KIND_BY_NAME = {k.name: k for k in KINDS}
_KIND_BY_CLASS = {_TIP + k.tip_class: k for k in KINDS}
#: Kinds that stand on the partner side of the bipartite view and in the partners view.
PARTNER_KINDS = ("partner-group", "partner", "partner-kind", "facility", "programme")
#: Predicates from an evidence to a partner-side node, and to a theme.
_PARTNER_PREDICATES = frozenset(
    _TIP + p for p in ("collaboratesWith", "involvesPartnerKind", "facility", "programme")
)
_THEME = _TIP + "theme"
_PARTNER_KIND_PREDICATE = _TIP + "involvesPartnerKind"

_TITLES = {
    "bipartite": ("市区町村と連携先のネットワーク", "Municipalities and what they work with"),
    "municipalities": (
        "連携先の種別・テーマを共有する市区町村",
        "Municipalities sharing kinds of partner or themes",
    ),
    "partners": ("同じ取組に関わる連携先", "Partners that share initiatives"),
}


# ------------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class Node:
    """A node the views may show, with its labels."""

    iri: str
    kind: str
    label_ja: str
    label_en: str
    key: str = ""  # a municipality's code; a heading's or concept's notation


@dataclass(frozen=True)
class Link:
    """One row of ``links.rq``: ``evidence`` (an initiative or a plan) ``predicate`` ``target``."""

    municipality: str
    code: str
    plan: str
    evidence: str
    heading: int | None
    predicate: str
    target: str


@dataclass(frozen=True)
class Filters:
    """Resolved filters (``theme`` is an IRI)."""

    municipality: str | None = None
    heading: int | None = None
    theme: str | None = None

    def describe(self) -> str:
        parts = []
        if self.municipality:
            parts.append(f"municipality={self.municipality}")
        if self.heading:
            parts.append(f"heading={self.heading}")
        if self.theme:
            parts.append(f"theme={_slug(self.theme)}")
        return " ".join(parts) or "none"

    def suffix(self) -> str:
        """A file-name suffix naming the filters (empty when there are none)."""
        parts = []
        if self.municipality:
            parts.append(self.municipality)
        if self.heading:
            parts.append(f"heading{self.heading}")
        if self.theme:
            parts.append(f"theme-{_slug(self.theme)}")
        return "".join(f"-{p}" for p in parts)


@dataclass
class NetworkData:
    """The query results a view is built from."""

    nodes: dict[str, Node]
    links: list[Link]
    filters: Filters = field(default_factory=Filters)


def _slug(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1]


def _qname(iri: str) -> str:
    return "tip:" + iri[len(_TIP) :] if iri.startswith(_TIP) else iri


def _queries_dir(project: Project) -> Path:
    return project.queries_dir / "network"


def _run(
    store: Store, project: Project, name: str, bindings: Mapping[str, Any]
) -> list[tuple[str | None, ...]]:
    """The rows of the network query ``name``, each value as its string (``None``: unbound),
    every one checked as text (:func:`_checked_rows`)."""
    from kgtools.errors import MissingInputError, SourceLocation
    from kgtools.namespaces import graphs_for
    from kgtools.query.library import load_query

    path = _queries_dir(project) / name
    if not path.is_file():
        raise MissingInputError(
            SourceLocation(path), "the network query is missing", "restore it from the project"
        )
    query = load_query(path)
    return _checked_rows(name, store.query(query.text, bindings, graphs=graphs_for(inferred=True)))


def _checked_rows(name: str, rows: Iterable[Any]) -> list[tuple[str | None, ...]]:
    """``rows`` as strings, refusing a value that holds what no drawing or XML file can carry
    (:data:`~kgtools.errors.NOT_TEXT`, or a lone surrogate, which is not a character): a build
    refuses such a literal in a data file, but an endpoint's data (``--endpoint``) was never
    read by a build, and one such label made the SVG, GraphML and GEXF ill-formed."""
    from kgtools.errors import LONE_SURROGATE, NOT_TEXT, not_text_kind, shorten

    out = []
    for number, row in enumerate(rows, 1):
        values = tuple(None if v is None else str(v) for v in row)
        for column, value in enumerate(values, 1):
            if value is None:
                continue
            found = NOT_TEXT.search(value) or LONE_SURROGATE.search(value)
            if found is None:
                continue
            code = ord(found.group())
            shown = shorten(printable(value).encode("utf-8", "backslashreplace").decode())
            raise NetworkDataError(
                f"the graph's answer to {name} (row {number}, column {column}) holds "
                f"U+{code:04X}, {not_text_kind(code)}, at character {found.start() + 1} of "
                f'"{shown}": the network views refuse it, as a build refuses it in a data file '
                "— correct the text where the graph is kept"
            )
        out.append(values)
    return out


def load_nodes(store: Store, project: Project) -> dict[str, Node]:
    """Every node a view may show or a filter may name, keyed by IRI (``nodes.rq``)."""
    kinds: dict[str, Kind] = {}
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    keys: dict[str, str] = {}
    for node, cls, ja, en, key in _run(store, project, "nodes.rq", {}):
        kind = _KIND_BY_CLASS.get(cls or "")
        if node is None or kind is None:
            continue
        if node not in kinds or KINDS.index(kind) < KINDS.index(kinds[node]):
            kinds[node] = kind
        for lang, text in (("ja", ja), ("en", en)):
            if text:
                labels[node].setdefault(lang, text)
        if key:
            keys.setdefault(node, key)
    nodes = {}
    for iri in sorted(kinds):
        ja = labels[iri].get("ja") or labels[iri].get("en") or iri
        en = labels[iri].get("en") or ja
        nodes[iri] = Node(iri, kinds[iri].name, ja, en, keys.get(iri, ""))
    return nodes


def resolve_filters(
    nodes: Mapping[str, Node],
    *,
    municipality: str | None = None,
    heading: int | None = None,
    theme: str | None = None,
) -> Filters:
    """Check the filters against the graph; raise :class:`UnknownFilterError` with the choices."""
    if municipality is not None:
        codes = {n.key: n for n in nodes.values() if n.kind == "municipality" and n.key}
        municipality = municipality.strip()
        if municipality not in codes:
            known = ", ".join(f"{c} ({codes[c].label_ja})" for c in sorted(codes))
            raise UnknownFilterError(
                f"unknown municipality code {municipality!r}: the graph has {known}"
            )
    if heading is not None and heading not in HEADINGS:
        headings = sorted(
            (n.key, n.label_ja) for n in nodes.values() if n.kind == "heading" and n.key
        )
        known = "; ".join(f"{k} {label}" for k, label in headings)
        raise UnknownFilterError(f"heading must be 1, 2 or 3 (got {heading}): {known}")
    theme_iri = None
    if theme is not None:
        themes = {n.iri: n for n in nodes.values() if n.kind == "theme"}
        given = theme.strip()
        for candidate in (given, _ID + given, _ID + "theme/" + given):
            if candidate in themes:
                theme_iri = candidate
                break
        else:
            known = ", ".join(sorted(_slug(t) for t in themes))
            raise UnknownFilterError(
                f"unknown theme {theme!r}: give a theme's slug or IRI, one of: {known}"
            )
    return Filters(municipality, heading, theme_iri)


def load_data(
    store: Store,
    project: Project,
    *,
    municipality: str | None = None,
    heading: int | None = None,
    theme: str | None = None,
) -> NetworkData:
    """Run the network queries and apply the filters (see the module docstring)."""
    from rdflib import Literal

    nodes = load_nodes(store, project)
    filters = resolve_filters(nodes, municipality=municipality, heading=heading, theme=theme)
    bindings = {"code": Literal(filters.municipality)} if filters.municipality else {}
    headings = {n.iri: int(n.key) for n in nodes.values() if n.kind == "heading" and n.key}
    links: list[Link] = []
    for number, (muni, code, plan, evidence, head, predicate, target) in enumerate(
        _run(store, project, "links.rq", bindings), 1
    ):
        if not (muni and code and plan and evidence and predicate and target):
            raise NetworkDataError(
                f"the graph's answer to links.rq (row {number}) lacks a value the query always "
                "binds (municipality, code, plan, evidence, predicate, target): is the endpoint "
                "a SPARQL 1.1 endpoint holding this project's graph?"
            )
        links.append(Link(muni, code, plan, evidence, headings.get(head or ""), predicate, target))
    if filters.heading is not None:
        links = [link for link in links if link.heading == filters.heading]
    if filters.theme is not None:
        themed = {
            link.evidence
            for link in links
            if link.predicate == _THEME and link.target == filters.theme
        }
        links = [link for link in links if link.evidence in themed]
    links = sorted(set(links), key=lambda x: (x.code, x.evidence, x.predicate, x.target))
    return NetworkData(nodes, links, filters)


# ------------------------------------------------------------------------------- the views


@dataclass
class _Edge:
    predicates: set[str] = field(default_factory=set)
    evidence: set[str] = field(default_factory=set)
    shared: set[str] = field(default_factory=set)


def build_view(data: NetworkData, view: str) -> nx.Graph:
    """The networkx graph of one view (see the module docstring), with statistics attached."""
    import networkx as nx

    if view not in VIEWS:
        raise NetworkError(f"unknown view {view!r}: choose one of {', '.join(VIEWS)}")
    node_ids: set[str] = set()
    edges: dict[tuple[str, str], _Edge] = defaultdict(_Edge)
    partner_links = [
        link
        for link in data.links
        if link.predicate in _PARTNER_PREDICATES and _kind(data, link.target) in PARTNER_KINDS
    ]
    if view == "bipartite":
        for link in partner_links:
            node_ids.update((link.municipality, link.target))
            edge = edges[_pair(link.municipality, link.target)]
            edge.predicates.add(link.predicate)
            edge.evidence.add(link.evidence)
    elif view == "municipalities":
        shareable = [
            link
            for link in data.links
            if link.predicate == _THEME
            or (
                link.predicate == _PARTNER_KIND_PREDICATE
                and _kind(data, link.target) == "partner-kind"
            )
        ]
        by_item: dict[str, dict[str, list[Link]]] = defaultdict(lambda: defaultdict(list))
        for link in shareable:
            by_item[link.target][link.municipality].append(link)
        node_ids.update(link.municipality for link in data.links)
        for item, per_muni in sorted(by_item.items()):
            munis = sorted(per_muni)
            for i, a in enumerate(munis):
                for b in munis[i + 1 :]:
                    edge = edges[_pair(a, b)]
                    edge.shared.add(item)
                    for link in (*per_muni[a], *per_muni[b]):
                        edge.predicates.add(link.predicate)
                        edge.evidence.add(link.evidence)
    else:  # partners
        by_evidence: dict[str, list[Link]] = defaultdict(list)
        for link in partner_links:
            node_ids.add(link.target)
            by_evidence[link.evidence].append(link)
        for evidence, links in sorted(by_evidence.items()):
            targets = sorted({link.target for link in links})
            for i, a in enumerate(targets):
                for b in targets[i + 1 :]:
                    edge = edges[(a, b)]
                    edge.evidence.add(evidence)
                    edge.predicates.update(
                        link.predicate for link in links if link.target in (a, b)
                    )

    graph = nx.Graph()
    title_ja, title_en = _TITLES[view]
    graph.graph.update(
        view=view, title_ja=title_ja, title_en=title_en, filters=data.filters.describe()
    )
    per_node_evidence: dict[str, set[str]] = defaultdict(set)
    for (a, b), edge in edges.items():
        per_node_evidence[a] |= edge.evidence
        per_node_evidence[b] |= edge.evidence
    if view == "bipartite":  # municipalities: every initiative of theirs in the view
        for link in partner_links:
            per_node_evidence[link.municipality].add(link.evidence)
            per_node_evidence[link.target].add(link.evidence)
    plans: dict[str, set[str]] = defaultdict(set)
    for link in data.links:
        plans[link.municipality].add(link.plan)
    for iri in sorted(node_ids, key=lambda n: (_kind_rank(data, n), n)):
        node = data.nodes.get(iri) or Node(iri, "partner", iri, iri)
        attrs: dict[str, Any] = {
            "iri": iri,
            "kind": node.kind,
            "label": node.label_ja,
            "label_ja": node.label_ja,
            "label_en": node.label_en,
        }
        if node.kind == "municipality":
            attrs["code"] = node.key
            attrs["plans"] = sorted(plans[iri])
        attrs.update(_evidence_attrs(data, per_node_evidence[iri]))
        graph.add_node(iri, **attrs)
    for a, b in sorted(edges):
        edge = edges[(a, b)]
        attrs = {
            "weight": len(edge.evidence),
            "predicates": sorted(_qname(p) for p in edge.predicates),
            **_evidence_attrs(data, edge.evidence),
        }
        if view == "municipalities":
            shared = sorted(edge.shared, key=lambda s: (_kind_rank(data, s), s))
            attrs["shared"] = shared
            attrs["shared_labels"] = [_label(data, s, "ja") for s in shared]
            attrs["shared_labels_en"] = [_label(data, s, "en") for s in shared]
        graph.add_edge(a, b, **attrs)
    _annotate_stats(graph)
    return graph


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _kind(data: NetworkData, iri: str) -> str | None:
    node = data.nodes.get(iri)
    return node.kind if node else None


def _kind_rank(data: NetworkData, iri: str) -> int:
    kind = _kind(data, iri)
    return KINDS.index(KIND_BY_NAME[kind]) if kind else len(KINDS)


def _label(data: NetworkData, iri: str, lang: str) -> str:
    node = data.nodes.get(iri)
    if node is None:
        return iri
    return node.label_ja if lang == "ja" else node.label_en


def _evidence_attrs(data: NetworkData, evidence: Iterable[str]) -> dict[str, list[str]]:
    ordered = sorted(evidence)
    return {
        "initiatives": ordered,
        "initiative_labels": [_label(data, e, "ja") for e in ordered],
        "initiative_labels_en": [_label(data, e, "en") for e in ordered],
    }


def network(
    store: Store,
    project: Project,
    view: str = "bipartite",
    *,
    municipality: str | None = None,
    heading: int | None = None,
    theme: str | None = None,
) -> nx.Graph:
    """Query the graph and build one view (the one-call entry point)."""
    if view not in VIEWS:
        raise NetworkError(f"unknown view {view!r}: choose one of {', '.join(VIEWS)}")
    data = load_data(store, project, municipality=municipality, heading=heading, theme=theme)
    return build_view(data, view)


# ------------------------------------------------------------------------------- statistics

#: Columns of the statistics table and CSV.
STATS_COLUMNS = (
    "iri",
    "kind",
    "label_ja",
    "label_en",
    "degree",
    "weighted_degree",
    "betweenness",
    "community",
)


@dataclass(frozen=True)
class NodeStats:
    """One row of the statistics table."""

    iri: str
    kind: str
    label_ja: str
    label_en: str
    degree: int
    weighted_degree: int
    betweenness: float
    community: int


def _annotate_stats(graph: nx.Graph) -> None:
    """Degree, weighted degree, betweenness (normalised, unweighted) and Louvain community."""
    import networkx as nx

    if graph.number_of_nodes() > EXACT_LIMIT:  # exact betweenness is O(nodes × edges)
        sample = min(BETWEENNESS_SAMPLE, graph.number_of_nodes())
        betweenness = nx.betweenness_centrality(graph, k=sample, normalized=True, seed=SEED)
    else:
        betweenness = nx.betweenness_centrality(graph, normalized=True)
    communities = nx.community.louvain_communities(graph, weight="weight", seed=SEED)
    ordered = sorted((sorted(c) for c in communities), key=lambda c: (-len(c), c[0]))
    community = {n: i for i, members in enumerate(ordered) for n in members}
    for node in graph.nodes:
        data = graph.nodes[node]
        data["degree"] = int(graph.degree(node))
        data["weighted_degree"] = int(graph.degree(node, weight="weight"))
        data["betweenness"] = round(float(betweenness.get(node, 0.0)), 6)
        data["community"] = community.get(node, 0)


def node_stats(graph: nx.Graph) -> list[NodeStats]:
    """Statistics rows: by weighted degree, then degree (both descending), then IRI."""
    rows = [
        NodeStats(
            iri=str(n),
            kind=d["kind"],
            label_ja=d["label_ja"],
            label_en=d["label_en"],
            degree=d["degree"],
            weighted_degree=d["weighted_degree"],
            betweenness=d["betweenness"],
            community=d["community"],
        )
        for n, d in graph.nodes(data=True)
    ]
    return sorted(rows, key=lambda r: (-r.weighted_degree, -r.degree, r.iri))


def stats_csv(rows: Sequence[NodeStats]) -> str:
    """The statistics as CSV (header :data:`STATS_COLUMNS`, ``\\n`` line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STATS_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.iri,
                r.kind,
                r.label_ja,
                r.label_en,
                r.degree,
                r.weighted_degree,
                f"{r.betweenness:.4f}",
                r.community,
            ]
        )
    return buffer.getvalue()


def _fit(text: str, size: int) -> str:
    """``text`` padded or cut (with "…") to ``size`` terminal columns."""
    from kgtools.query.results import width

    if width(text) <= size:
        return text + " " * (size - width(text))
    out = ""
    for ch in text:
        if width(out + ch) > size - 1:
            break
        out += ch
    out += "…"
    return out + " " * (size - width(out))


def stats_table(rows: Sequence[NodeStats], *, label_width: int = 30) -> str:
    """The statistics as a plain-text table (East Asian wide characters count as two columns)."""
    header = ("label (ja)", "label (en)", "kind", "degree", "w.degree", "betweenness", "comm.")
    widths = (label_width, label_width, 14, 6, 8, 11, 5)
    lines = ["  ".join(_fit(h, w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        cells = (
            _fit(printable(r.label_ja), widths[0]),
            _fit(printable(r.label_en), widths[1]),
            _fit(printable(r.kind), widths[2]),
            f"{r.degree:>{widths[3]}}",
            f"{r.weighted_degree:>{widths[4]}}",
            f"{r.betweenness:>{widths[5]}.4f}",
            f"{r.community:>{widths[6]}}",
        )
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- layout


#: Node id -> (x, y) in [-1, 1]², as :func:`layout` gives them.
Positions = Mapping[str, tuple[float, float]]


def layout(graph: nx.Graph) -> dict[str, tuple[float, float]]:
    """Deterministic positions in [-1, 1]² (the same for every output format).

    Each connected component gets its own seeded spring layout, sized by the square root of
    its node count; the components are then packed in rows, largest first, so that isolated
    nodes do not squeeze the connected part into the middle of the picture.
    """
    import networkx as nx

    components = sorted(
        (sorted(map(str, c)) for c in nx.connected_components(graph)),
        key=lambda c: (-len(c), c[0]),
    )
    boxes: list[tuple[dict[str, tuple[float, float]], float]] = []
    for component in components:
        if len(component) == 1:
            boxes.append(({component[0]: (0.0, 0.0)}, 0.5))
            continue
        # a fresh graph in sorted order: a subgraph view of a small part iterates a set,
        # whose order changes with PYTHONHASHSEED
        sub = nx.Graph()
        sub.add_nodes_from(component)
        sub.add_weighted_edges_from(
            (str(a), str(b), w) for a, b, w in graph.edges(component, data="weight", default=1)
        )
        k = 2.4 / math.sqrt(len(component))
        pos = nx.spring_layout(sub, seed=SEED, k=k, iterations=300, weight="weight")
        radius = {2: 0.7, 3: 1.0}.get(len(component), 0.9 * math.sqrt(len(component)))
        boxes.append(
            ({str(n): (float(x) * radius, float(y) * radius) for n, (x, y) in pos.items()}, radius)
        )
    if not boxes:
        return {}
    gap = 0.3
    row_limit = max(2 * boxes[0][1], 1.3 * math.sqrt(sum((2 * r + gap) ** 2 for _, r in boxes)))
    placed: dict[str, tuple[float, float]] = {}
    x = y = row_height = 0.0
    for local, radius in boxes:
        if x > 0 and x + 2 * radius > row_limit:
            x, y, row_height = 0.0, y - row_height - gap, 0.0
        for node, (lx, ly) in local.items():
            placed[node] = (x + radius + lx, y - radius + ly)
        x += 2 * radius + gap
        row_height = max(row_height, 2 * radius)
    xs = [p[0] for p in placed.values()]
    ys = [p[1] for p in placed.values()]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9) / 2
    return {
        n: (round((px - cx) / half, 4), round((py - cy) / half, 4))
        for n, (px, py) in placed.items()
    }


def _wrap(label: str, width: int) -> list[str]:
    """A label in lines of at most ``width`` characters (Japanese breaks anywhere)."""
    return textwrap.wrap(label, width) or [label]


def _node_radius(weighted_degree: int) -> float:
    return 7.0 + 3.0 * math.sqrt(weighted_degree)


# ------------------------------------------------------------------------------- scalar exports


def scalar_graph(graph: nx.Graph) -> nx.Graph:
    """A copy whose list attributes are joined with :data:`JOIN` (GraphML and GEXF need scalars)."""
    out = graph.copy()
    for _, data in out.nodes(data=True):
        _scalarise(data)
    for _, _, data in out.edges(data=True):
        _scalarise(data)
    _scalarise(out.graph)
    return out


def _scalarise(data: dict[str, Any]) -> None:
    for key, value in list(data.items()):
        if isinstance(value, list | tuple | set):
            data[key] = JOIN.join(str(v) for v in value)
        elif value is None:
            data[key] = ""


def graphml_bytes(graph: nx.Graph) -> bytes:
    """GraphML (UTF-8)."""
    import networkx as nx

    buffer = io.BytesIO()
    nx.write_graphml(scalar_graph(graph), buffer, encoding="utf-8")
    return buffer.getvalue()


def gexf_bytes(graph: nx.Graph, positions: Positions | None = None) -> bytes:
    """GEXF 1.2 with ``viz`` colours, sizes and positions (``positions``: the graph's
    :func:`layout`, computed here when not given); no write date (reproducible)."""
    from networkx.readwrite.gexf import GEXFWriter

    scalar = scalar_graph(graph)
    positions = layout(graph) if positions is None else positions
    for node, data in scalar.nodes(data=True):
        colour = KIND_BY_NAME.get(data.get("kind", ""), KINDS[2]).colour
        x, y = positions.get(str(node), (0.0, 0.0))
        data["viz"] = {
            "color": {
                "r": int(colour[1:3], 16),
                "g": int(colour[3:5], 16),
                "b": int(colour[5:7], 16),
                "a": 1.0,
            },
            "size": _node_radius(data.get("weighted_degree", 0)),
            "position": {"x": x * 500.0, "y": y * 500.0, "z": 0.0},
        }
    writer = GEXFWriter(encoding="utf-8", prettyprint=True)
    meta = writer.xml.find("meta")
    if meta is not None:
        meta.attrib.pop("lastmodifieddate", None)
    writer.add_graph(scalar)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def node_link_json(graph: nx.Graph) -> str:
    """networkx node-link JSON (``nodes`` / ``edges`` keys), sorted keys, UTF-8 text."""
    import networkx as nx

    data = nx.node_link_data(graph, edges="edges")
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


# ------------------------------------------------------------------------------- PNG / SVG


def font_path() -> Path:
    """IPAexGothic from the ``matplotlib-fontja`` wheel, located without importing the package
    (:func:`kgtools.glyphs.font_path`, which the pages' embedded glyphs use too)."""
    from kgtools.glyphs import font_path as locate

    return locate()


def missing_glyphs(texts: Iterable[str], path: Path | None = None) -> set[str]:
    """Characters of ``texts`` (whitespace aside) that the drawing font has no glyph for."""
    from matplotlib.ft2font import FT2Font

    charmap = FT2Font(str(path or font_path())).get_charmap()
    return {ch for text in texts for ch in text if not ch.isspace() and ord(ch) not in charmap}


def _drawn_texts(graph: nx.Graph) -> list[str]:
    texts = [graph.graph.get("title_ja", ""), graph.graph.get("title_en", "")]
    texts += [f"{k.ja} / {k.en}" for k in KINDS]
    for _, data in graph.nodes(data=True):
        texts += [data["label_ja"], data["label_en"]]
    return texts


#: Small graphs get their edge weights written on the edges.
_EDGE_LABELS_UP_TO = 20
#: Font sizes (points) of the drawings. The smallest, :data:`MIN_FONT_SIZE`, is the English
#: sub-labels' and the edge weights': 8 pt is 11 px in the 100-dpi PNG.
MIN_FONT_SIZE = 8.0
_SIZE_JA, _SIZE_EN, _SIZE_EDGE, _SIZE_META, _SIZE_TITLE = 9.0, MIN_FONT_SIZE, 8.0, 10.0, 15.0
#: Views with more nodes than this label only the :data:`LABEL_TOP` nodes of highest degree.
LABEL_ALL_UP_TO = 60
LABEL_TOP = 40
#: Distances (pixels) from a node's edge at which its label is tried; from the
#: :data:`_LABEL_LEADER_FROM`-th on, a thin leader line joins the label to its node.
_LABEL_GAPS = (2.0, 10.0, 22.0, 45.0, 80.0, 120.0)
_LABEL_LEADER_FROM = 3
#: The ``Artist.get_label`` of the drawn labels, so that tests can find them after a draw.
NODE_LABEL_JA, NODE_LABEL_EN, EDGE_LABEL = "kg-node-label-ja", "kg-node-label-en", "kg-edge-label"


def label_order(graph: nx.Graph) -> list[str]:
    """Nodes by labelling priority: degree, then weighted degree (both descending), then IRI."""
    return sorted(
        (str(n) for n in graph.nodes),
        key=lambda n: (-graph.nodes[n]["degree"], -graph.nodes[n]["weighted_degree"], n),
    )


def label_note(shown: int, total: int, *, widest: bool = False) -> str:
    """The legend's title: how many nodes are labelled, which, and why not all (``widest``: the
    longest title a view of ``total`` nodes may get, to reserve its room before placing)."""
    if shown == total and not widest:
        return f"ラベル: 全 {total} 節点 / labels: all {total} nodes"
    count = "8" * len(str(total)) if widest else str(shown)
    lines = [
        f"ラベル: {total} 節点のうち次数の高い {count} 節点",
        f"labels: {count} of {total} nodes, highest degree first",
    ]
    overlap = widest or shown < min(total, LABEL_TOP)
    if total > LABEL_ALL_UP_TO:
        cap = f"over {LABEL_ALL_UP_TO} nodes: the top {LABEL_TOP} at most"
        lines.append(f"({cap}; the others would overlap)" if overlap else f"({cap})")
    else:
        lines.append("(the others would overlap)")
    return "\n".join(lines)


def _figure(graph: nx.Graph, positions: Positions | None = None) -> Any:
    """The matplotlib figure of a view (no pyplot: no global state).

    Labels (Japanese, with the English below in grey; in one language only where the graph's
    ``lang`` attribute says so, ``kg network --lang``) are placed by :mod:`kgtools.labels`:
    nodes by :func:`label_order`, each label beside its node where it touches no other label,
    node or the legend (further out, with a leader line, where the node is crowded); a view of
    more than :data:`LABEL_ALL_UP_TO` nodes labels only its :data:`LABEL_TOP` nodes of highest
    degree. The legend's title says how many are labelled.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D

    from kgtools.labels import DIRECTIONS, Box, around, place

    font = font_path()
    sizes = (_SIZE_JA, _SIZE_EN, _SIZE_EDGE, _SIZE_META, _SIZE_TITLE)
    prop = {size: FontProperties(fname=font, size=size) for size in sizes}
    pos = layout(graph) if positions is None else positions
    fig = Figure(figsize=(18, 13), dpi=100)
    FigureCanvasAgg(fig)  # text extents are measured with Agg, whatever the output format
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.91))
    ax.set_axis_off()
    fig.text(
        0.5,
        0.968,
        f"{graph.graph['title_ja']} / {graph.graph['title_en']}",
        ha="center",
        va="center",
        fontproperties=prop[_SIZE_TITLE],
    )
    filters = graph.graph.get("filters", "none")
    subtitle = (
        f"{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges"
        f" — filters: {filters} — edge width: number of initiatives (取組の数)"
    )
    fig.text(0.5, 0.94, subtitle, ha="center", va="center", fontproperties=prop[_SIZE_META])
    if pos:
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        ax.set_xlim(min(xs) - 0.12, max(xs) + 0.12)
        ax.set_ylim(min(ys) - 0.12, max(ys) + 0.12)
    present = {k for _, k in graph.nodes(data="kind")}
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=9,
            markerfacecolor=k.colour,
            markeredgecolor="#333333",
            label=f"{k.ja} / {k.en}",
        )
        for k in KINDS
        if k.name in present
    ]
    total = graph.number_of_nodes()
    legend = None
    if handles:
        # the widest title it may get, so that the box the labels avoid is big enough
        legend = ax.legend(
            handles=handles,
            loc="upper left",
            prop=prop[_SIZE_META],
            title=label_note(0, total, widest=True),
            title_fontproperties=prop[_SIZE_META],
            frameon=True,
            alignment="left",
        )
    if not pos:
        return fig
    segments = [(pos[a], pos[b]) for a, b in graph.edges]
    widths = [0.6 + 1.4 * math.sqrt(w) for _, _, w in graph.edges(data="weight")]
    ax.add_collection(
        LineCollection(segments, linewidths=widths, colors="#9a9a9a", alpha=0.6, zorder=1)
    )
    px_per_pt = fig.dpi / 72.0
    marker_px: dict[str, float] = {}
    for kind in KINDS:
        members = [n for n, k in graph.nodes(data="kind") if k == kind.name]
        if not members:
            continue
        radii = [_node_radius(graph.nodes[n]["weighted_degree"]) for n in members]
        ax.scatter(
            [pos[n][0] for n in members],
            [pos[n][1] for n in members],
            s=[r**2 for r in radii],
            c=kind.colour,
            edgecolors="#333333",
            linewidths=0.6,
            zorder=2,
        )
        for n, r in zip(members, radii, strict=True):
            marker_px[str(n)] = r / 2 * px_per_pt + 0.6 * px_per_pt
    to_px = ax.transData.transform
    centre = {n: tuple(to_px(p)) for n, p in pos.items()}
    obstacles = [
        Box(x - r, y - r, x + r, y + r) for n, (x, y) in centre.items() for r in (marker_px[n],)
    ]
    if legend is not None:
        frame = legend.get_window_extent(renderer)
        obstacles.append(Box(frame.x0, frame.y0, frame.x1, frame.y1))
    axes_box = ax.get_window_extent(renderer)
    bounds = Box(axes_box.x0, axes_box.y0, axes_box.x1, axes_box.y1)

    def extent(text: Any) -> tuple[float, float]:
        box = text.get_window_extent(renderer)
        return box.width, box.height

    order = label_order(graph)
    if total > LABEL_ALL_UP_TO:
        order = order[:LABEL_TOP]
    texts: list[tuple[str, Any, Any]] = []
    candidates: list[list[Box]] = []
    line_gap = 1.0 * px_per_pt
    only = graph.graph.get("lang")  # kg network --lang: one language, at the main size
    for node in order:
        data = graph.nodes[node]
        main, wrap = (data["label_en"], 26) if only == "en" else (data["label_ja"], 14)
        ja = ax.text(0, 0, "\n".join(_wrap(main, wrap)), ha="center", va="top",
                     fontproperties=prop[_SIZE_JA], zorder=3,
                     label=NODE_LABEL_EN if only == "en" else NODE_LABEL_JA)  # fmt: skip
        en = ax.text(0, 0, "" if only else "\n".join(_wrap(data["label_en"], 26)), ha="center",
                     va="top", fontproperties=prop[_SIZE_EN], color="#444444", zorder=3,
                     label=NODE_LABEL_EN)  # fmt: skip
        (wj, hj), (we, he) = extent(ja), extent(en)
        width, height = max(wj, we), hj + line_gap + he
        x, y = centre[node]
        candidates.append(around(x, y, marker_px[node], width, height, _LABEL_GAPS))
        texts.append((node, ja, en))
    edge_texts: list[Any] = []
    if graph.number_of_edges() <= _EDGE_LABELS_UP_TO:
        for a, b, weight in graph.edges(data="weight"):
            text = ax.text(0, 0, str(weight), ha="center", va="center",
                           fontproperties=prop[_SIZE_EDGE], zorder=2, label=EDGE_LABEL,
                           bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#bbbbbb",
                                 "lw": 0.5})  # fmt: skip
            (ax_, ay), (bx, by) = centre[str(a)], centre[str(b)]
            w, h = extent(text)
            w, h = w + 6.0, h + 6.0  # the rounded box drawn around the number
            candidates.append(
                [
                    Box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                    for t in (0.5, 0.35, 0.65, 0.2, 0.8)
                    for cx, cy in ((ax_ + (bx - ax_) * t, ay + (by - ay) * t),)
                ]
            )
            edge_texts.append(text)
    chosen = place(candidates, obstacles, bounds)
    from_px = ax.transData.inverted().transform
    shown = 0
    near = _LABEL_LEADER_FROM * len(DIRECTIONS)  # candidates further out get a leader line
    leaders = []
    for (node, ja, en), pick, boxes in zip(texts, chosen, candidates, strict=False):
        if pick is None:
            ja.remove()
            en.remove()
            continue
        shown += 1
        box = boxes[pick]
        cx = (box.x0 + box.x1) / 2
        if pick >= near:
            x, y = centre[node]
            tx, ty = min(max(x, box.x0), box.x1), min(max(y, box.y0), box.y1)
            leaders.append([tuple(from_px((x, y))), tuple(from_px((tx, ty)))])
        ja.set_position(tuple(from_px((cx, box.y1))))
        _, hj = extent(ja)
        en.set_position(tuple(from_px((cx, box.y1 - hj - line_gap))))
    for text, pick, boxes in zip(edge_texts, chosen[len(texts) :], candidates[len(texts) :],
                                 strict=True):  # fmt: skip
        if pick is None:
            text.remove()
            continue
        box = boxes[pick]
        text.set_position(tuple(from_px(((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2))))
    if leaders:
        ax.add_collection(LineCollection(leaders, linewidths=0.6, colors="#555555", zorder=2.5))
    if legend is not None:
        legend.set_title(label_note(shown, total), prop=prop[_SIZE_META])
    return fig


def render_png(graph: nx.Graph, positions: Positions | None = None) -> bytes:
    """The view as a PNG (1800×1300 px)."""
    fig = _figure(graph, positions)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def render_svg(graph: nx.Graph, positions: Positions | None = None) -> bytes:
    """The view as an SVG (text as paths, fixed ids, no date: reproducible)."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    with matplotlib.rc_context({"svg.hashsalt": "kg-network", "svg.fonttype": "path"}):
        fig = _figure(graph, positions)
        FigureCanvasSVG(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


# ------------------------------------------------------------------------------- HTML


def _html_payload(graph: nx.Graph, positions: Positions | None = None) -> dict[str, Any]:
    pos = layout(graph) if positions is None else positions
    nodes = []
    for node, data in graph.nodes(data=True):
        x, y = pos.get(str(node), (0.0, 0.0))
        nodes.append(
            {
                "id": str(node),
                "ja": data["label_ja"],
                "en": data["label_en"],
                "jaLines": _wrap(data["label_ja"], 16),
                "enLines": _wrap(data["label_en"], 30),
                "kind": data["kind"],
                "x": round(x * 800, 1),
                "y": round(-y * 600, 1),
                "r": round(_node_radius(data["weighted_degree"]), 1),
                "degree": data["degree"],
                "wdegree": data["weighted_degree"],
                "betweenness": data["betweenness"],
                "community": data["community"],
                "code": data.get("code", ""),
                "initiatives": list(
                    zip(data["initiative_labels"], data["initiative_labels_en"], strict=True)
                ),
            }
        )
    edges = []
    for a, b, data in graph.edges(data=True):
        edges.append(
            {
                "s": str(a),
                "t": str(b),
                "w": data["weight"],
                "predicates": data["predicates"],
                "initiatives": [
                    list(t)
                    for t in zip(
                        data["initiatives"],
                        data["initiative_labels"],
                        data["initiative_labels_en"],
                        strict=True,
                    )
                ],
                "shared": [
                    [ja, en]
                    for ja, en in zip(
                        data.get("shared_labels", []), data.get("shared_labels_en", []), strict=True
                    )
                ],
            }
        )
    present = {d for _, d in graph.nodes(data="kind")}
    kinds = [
        {"name": k.name, "ja": k.ja, "en": k.en, "colour": k.colour}
        for k in KINDS
        if k.name in present
    ]
    return {
        "view": graph.graph["view"],
        "title": [graph.graph["title_ja"], graph.graph["title_en"]],
        "filters": graph.graph.get("filters", "none"),
        "kinds": kinds,
        "nodes": nodes,
        "edges": edges,
    }


def render_html(graph: nx.Graph, positions: Positions | None = None) -> str:
    """A self-contained interactive page (no request to any host; see the module docstring)."""
    from kgtools.pages import render_with_glyphs

    return render_with_glyphs(
        "network.html.j2",
        title=f"{graph.graph['title_ja']} / {graph.graph['title_en']}",
        filters=graph.graph.get("filters", "none"),
        lang=graph.graph.get("lang") or "both",
        data=_html_payload(graph, positions),
    )


# ------------------------------------------------------------------------------- writing


def render(graph: nx.Graph, fmt: str, positions: Positions | None = None) -> bytes:
    """One output format's bytes (``positions``: the graph's :func:`layout`, for a caller that
    draws several formats of one graph; computed here when a drawn format needs it)."""
    if fmt == "html":
        return render_html(graph, positions).encode("utf-8")
    if fmt == "png":
        return render_png(graph, positions)
    if fmt == "svg":
        return render_svg(graph, positions)
    if fmt == "graphml":
        return graphml_bytes(graph)
    if fmt == "gexf":
        return gexf_bytes(graph, positions)
    if fmt == "json":
        return node_link_json(graph).encode("utf-8")
    raise NetworkError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")


def write_view(
    graph: nx.Graph, out_dir: Path, name: str, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write ``out_dir/name.{fmt}`` for each format, atomically; return the paths written."""
    from kgtools.files import write_formats

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise NetworkError(f"unknown format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    positions = _layout_for(graph, formats)
    return write_formats(out_dir, name, formats, lambda fmt: render(graph, fmt, positions))


def _layout_for(graph: nx.Graph, formats: Iterable[str]) -> Positions | None:
    """The graph's :func:`layout`, computed once for all the ``formats`` that draw it (None
    when none does)."""
    return layout(graph) if _DRAWN.intersection(formats) else None


def write_stats_csv(graph: nx.Graph, path: Path) -> Path:
    """Write the statistics CSV atomically."""
    from kgtools.files import atomic_write_text

    atomic_write_text(path, stats_csv(node_stats(graph)))
    return path


#: What ``kg build`` writes for each view: the pictures (PNG, SVG) take seconds to draw and are
#: made on demand by ``kg network``.
BUILD_FORMATS = ("html", "graphml", "gexf", "json")
#: Views with more nodes than this are not drawn (no HTML/PNG/SVG): at the scale of every
#: municipality a drawing is unreadable and slow (and networkx's layout would need scipy); the
#: data formats and statistics are written.
DRAW_LIMIT = 500
_DRAWN = frozenset({"html", "png", "svg", "gexf"})  # GEXF carries the layout positions
#: Above this many nodes betweenness is estimated from :data:`BETWEENNESS_SAMPLE` seeded source
#: nodes (networkx's ``k``) instead of computed exactly, which is O(nodes × edges).
EXACT_LIMIT = 1000
BETWEENNESS_SAMPLE = 100


#: With more municipalities than this, ``kg build`` writes the degree statistics of
#: :mod:`kgtools.engine.degree` instead of the views: serializing every link with its evidence takes
#: minutes at the scale of every municipality. ``kg network`` still makes any view on demand.
VIEWS_MUNICIPALITY_LIMIT = 50


def default_views(
    store: Store, project: Project, formats: Sequence[str] = BUILD_FORMATS
) -> dict[str, bytes]:
    """Every view, unfiltered, in ``formats`` plus its statistics CSV, as ``{path: content}``
    with paths relative to the output folder (``network/…``), for ``kg build`` to stage with its
    other outputs. Views larger than :data:`DRAW_LIMIT` nodes skip the drawn formats, and with
    more than that many municipalities only the bipartite view is made (``kg network --view``
    makes the projections on demand)."""
    data = load_data(store, project)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise NetworkError(f"unknown format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    files: dict[str, bytes] = {}
    for view in VIEWS:
        if view != "bipartite" and len({link.municipality for link in data.links}) > DRAW_LIMIT:
            continue  # a projection of this many municipalities is near-complete: on demand only
        graph = build_view(data, view)
        wanted = [f for f in formats if graph.number_of_nodes() <= DRAW_LIMIT or f not in _DRAWN]
        for suffix, content in _view_files(graph, tuple(dict.fromkeys(wanted))).items():
            files[f"{DEFAULT_VIEWS_DIR}/{view}{suffix}"] = content
    return files


#: Libraries whose versions can change a view's files (besides the toolkit's own code): the
#: layout and the data formats (networkx, numpy), the page (Jinja2 and MarkupSafe), the font
#: subset it embeds (the font's wheel, fontTools and Brotli, as kgtools.glyphs keys it).
_VIEW_LIBRARIES = (
    "networkx",
    "numpy",
    "jinja2",
    "markupsafe",
    "matplotlib",
    "matplotlib-fontja",
    "fonttools",
    "brotli",
)


def _view_files(graph: nx.Graph, formats: tuple[str, ...]) -> dict[str, bytes]:
    """``{".fmt": bytes, "-stats.csv": bytes}`` of one view, from the per-user cache of derived
    values (:mod:`kgtools.usercache`) when a build drew the same graph before.

    Drawing a view (a seeded spring layout, the page with its font subset, GEXF) is most of a
    small build's time, and a rebuild whose edit does not touch the network (a text, a date)
    draws the same graphs again. The files are a function of the graph, the formats, the
    toolkit's code and :data:`_VIEW_LIBRARIES`: the key is all of these, the graph as its
    node-link JSON (every node, edge and graph attribute, in order) and every node's neighbours
    in order (which the JSON does not show, and which the layout reads)."""
    import base64

    from kgtools import usercache

    def draw() -> bytes:
        positions = _layout_for(graph, formats)
        made = {f".{fmt}": render(graph, fmt, positions) for fmt in formats}
        made["-stats.csv"] = stats_csv(node_stats(graph)).encode()
        packed = {name: base64.b64encode(content).decode("ascii") for name, content in made.items()}
        return json.dumps(packed).encode("ascii")  # in the order written

    neighbours = json.dumps([[str(n), [str(m) for m in graph.adj[n]]] for n in graph])
    entry = usercache.key(
        "network-view",
        json.dumps(formats),
        node_link_json(graph),
        neighbours,
        usercache.versions(*_VIEW_LIBRARIES),
    )
    packed = json.loads(usercache.cached("views", entry, draw))
    return {name: base64.b64decode(text) for name, text in packed.items()}


def view_files(out_dir: Path) -> list[Path]:
    """Every file a build's default views may have left in ``out_dir`` (any view, any format)."""
    target = out_dir / DEFAULT_VIEWS_DIR
    return [
        target / f"{view}{suffix}"
        for view in VIEWS
        for suffix in [*(f".{f}" for f in FORMATS), "-stats.csv"]
    ]


def write_default_views(
    store: Store, out_dir: Path, project: Project, formats: Sequence[str] = BUILD_FORMATS
) -> list[str]:
    """Write :func:`default_views` into ``out_dir`` (each file atomically), dropping an earlier
    build's views that are no longer made; return the written files relative to ``out_dir``."""
    from kgtools.files import atomic_write_bytes

    files = default_views(store, project, formats)
    for name, content in files.items():
        atomic_write_bytes(out_dir / name, content)
    for path in view_files(out_dir):
        if path.relative_to(out_dir).as_posix() not in files:
            path.unlink(missing_ok=True)
    return list(files)
