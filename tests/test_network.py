"""`kg network`: the views match the data, filters, statistics, every output format, the CLI,
and the HTML page in a real headless browser with the network watched by a canary proxy."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socketserver
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import click
import networkx as nx
import pytest
from click.testing import CliRunner, Result
from rdflib import Graph, URIRef

from kgtools import network as kn
from kgtools.build.layout import BuildSummary
from kgtools.build.pipeline import open_built
from kgtools.cli import cli
from kgtools.errors import KGError
from kgtools.namespaces import ID, TIP, graphs_for
from kgtools.project import Project
from kgtools.store.base import Store

from . import conftest
from .conftest import ROOT, chromium_dom, running

TOSHIMA = str(ID["local-government/131164"])
TOSHIMA_PLAN = str(ID["plan/131164/2021"])
TAITO_1_1 = str(ID["plan/131067/2021/initiative/1-1"])
PARTNER_PREDICATES = (TIP.collaboratesWith, TIP.involvesPartnerKind, TIP.facility, TIP.programme)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(project: Project, built: tuple[Path, BuildSummary]) -> Store:
    out, _ = built
    store, summary = open_built(project, out)
    assert summary.reused
    return store


@pytest.fixture(scope="module")
def union(store: Store) -> Graph:
    """Asserted + inferred triples, read with the rdflib API (independent of the .rq files)."""
    return store.union(graphs_for(inferred=True))


@pytest.fixture(scope="module")
def data(store: Store, project: Project) -> kn.NetworkData:
    return kn.load_data(store, project)


@pytest.fixture(scope="module")
def views(data: kn.NetworkData) -> dict[str, nx.Graph]:
    return {view: kn.build_view(data, view) for view in kn.VIEWS}


def _label(graph: nx.Graph, node: str) -> str:
    return str(graph.nodes[node]["label_ja"])


def _evidences(union: Graph) -> dict[str, str]:
    """Every evidence (initiative or plan) → its plan's municipality, from the triples."""
    out = {}
    for plan, muni in union.subject_objects(TIP.municipality):
        out[str(plan)] = str(muni)
        for initiative in union.subjects(TIP.partOfPlan, plan):
            out[str(initiative)] = str(muni)
    return out


# -- the views match the data -----------------------------------------------------------------
def test_toshima_is_linked_to_its_partner_groups(views: dict[str, nx.Graph]) -> None:
    graph = views["bipartite"]
    groups = {
        _label(graph, n): graph.edges[TOSHIMA, n]
        for n in graph[TOSHIMA]
        if graph.nodes[n]["kind"] == "partner-group"
    }
    # 区内協定企業 is named in 豊島区's caption (data/README.md, "Which plan a caption belongs to")
    assert set(groups) == {"区内大学", "交流都市", "としまビジサポ協定団体", "区内協定企業"}
    for edge in groups.values():
        # named in the plan's background or caption: the plan as a whole is the evidence
        assert edge["predicates"] == ["tip:collaboratesWith"]
        assert edge["initiatives"] == [TOSHIMA_PLAN]
        assert edge["initiative_labels"] == ["豊島区地域産業活性化計画"]
        assert edge["weight"] == 1
    # 大学 (kind): initiative 1-1 asserts it, the plan gets it through 区内大学 (OWL RL chain)
    university = str(ID["partner-kind/university"])
    edge = graph.edges[TOSHIMA, university]
    assert edge["weight"] == 2
    assert edge["initiatives"] == sorted([TOSHIMA_PLAN, TOSHIMA_PLAN + "/initiative/1-1"])
    assert graph.nodes[university]["label_en"] == "universities"


def test_bipartite_edges_and_weights_equal_the_triples(
    views: dict[str, nx.Graph], union: Graph
) -> None:
    """Recomputed from the triples with rdflib, without the .rq files."""
    evidences = _evidences(union)
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    predicates: dict[tuple[str, str], set[str]] = defaultdict(set)
    for evidence, muni in evidences.items():
        for predicate in PARTNER_PREDICATES:
            for target in union.objects(URIRef(evidence), predicate):
                expected[(muni, str(target))].add(evidence)
                predicates[(muni, str(target))].add("tip:" + predicate.removeprefix(str(TIP)))
    graph = views["bipartite"]
    got = {tuple(sorted((a, b))): d for a, b, d in graph.edges(data=True)}
    assert set(got) == {tuple(sorted(pair)) for pair in expected}
    for pair, behind in expected.items():
        edge = got[tuple(sorted(pair))]
        assert edge["weight"] == len(behind) == len(edge["initiatives"])
        assert edge["initiatives"] == sorted(behind)
        assert set(edge["predicates"]) == predicates[pair]
        assert len(edge["initiative_labels"]) == len(edge["initiative_labels_en"]) == len(behind)


def test_every_edge_weight_is_its_number_of_initiatives(views: dict[str, nx.Graph]) -> None:
    for view, graph in views.items():
        assert graph.number_of_edges() > 0, view
        for a, b, edge in graph.edges(data=True):
            assert edge["weight"] == len(set(edge["initiatives"])) >= 1, (view, a, b)
            assert edge["initiatives"] == sorted(edge["initiatives"])


def test_nodes_carry_kind_and_both_labels(views: dict[str, nx.Graph]) -> None:
    for graph in views.values():
        for node, attrs in graph.nodes(data=True):
            assert attrs["iri"] == node
            assert attrs["kind"] in kn.KIND_BY_NAME
            assert attrs["label_ja"] and attrs["label_en"]
            assert attrs["label_ja"] != node and attrs["label_en"] != node
    kinds = {k for _, k in views["bipartite"].nodes(data="kind")}
    assert kinds == {"municipality", "partner-group", "partner-kind", "facility", "programme"}


def test_no_edge_is_lost_when_two_predicates_link_the_same_pair() -> None:
    muni, plan, target = "urn:m", "urn:p", "urn:t"
    nodes = {
        muni: kn.Node(muni, "municipality", "市", "City", "131067"),
        target: kn.Node(target, "facility", "施設", "Facility"),
    }
    links = [
        kn.Link(muni, "131067", plan, "urn:i1", 1, str(TIP.facility), target),
        kn.Link(muni, "131067", plan, "urn:i1", 1, str(TIP.programme), target),
        kn.Link(muni, "131067", plan, "urn:i2", 2, str(TIP.facility), target),
    ]
    graph = kn.build_view(kn.NetworkData(nodes, links), "bipartite")
    assert graph.number_of_edges() == 1
    edge = graph.edges[muni, target]
    assert edge["predicates"] == ["tip:facility", "tip:programme"]
    assert edge["initiatives"] == ["urn:i1", "urn:i2"]
    assert edge["weight"] == 2
    assert (
        kn.scalar_graph(graph).edges[muni, target]["predicates"] == "tip:facility | tip:programme"
    )


def test_every_link_row_survives_on_an_edge(
    data: kn.NetworkData, views: dict[str, nx.Graph]
) -> None:
    graph = views["bipartite"]
    rows = [link for link in data.links if link.predicate in {str(p) for p in PARTNER_PREDICATES}]
    assert rows
    for link in rows:
        edge = graph.edges[link.municipality, link.target]
        assert "tip:" + link.predicate.removeprefix(str(TIP)) in edge["predicates"]
        assert link.evidence in edge["initiatives"]


def test_municipality_projection_links_shared_kinds_and_themes(
    views: dict[str, nx.Graph], union: Graph
) -> None:
    graph = views["municipalities"]
    evidences = _evidences(union)
    items: dict[str, set[str]] = defaultdict(set)
    for evidence, muni in evidences.items():
        for predicate in (TIP.involvesPartnerKind, TIP.theme):
            items[muni] |= {str(o) for o in union.objects(URIRef(evidence), predicate)}
    # a municipality whose plans state no partner kind or theme (a plan known only by its
    # approval) has nothing to share, so it is not in this view
    munis = sorted(m for m, found in items.items() if found)
    assert sorted(graph.nodes) == munis
    for i, a in enumerate(munis):
        for b in munis[i + 1 :]:
            shared = items[a] & items[b]
            assert graph.has_edge(a, b) == bool(shared)
            if shared:
                assert set(graph.edges[a, b]["shared"]) == shared
                assert len(graph.edges[a, b]["shared_labels"]) == len(shared)


def test_partner_projection_links_partners_of_the_same_initiative(
    views: dict[str, nx.Graph],
) -> None:
    graph = views["partners"]
    # 台東区 1-1: 事業者, 支援機関, 金融機関 and 台東デザイナーズビレッジ work together
    together = [
        str(ID["partner-kind/business"]),
        str(ID["partner-kind/support-body"]),
        str(ID["partner-kind/financial-institution"]),
        str(ID["facility/131067/taito-designers-village"]),
    ]
    for i, a in enumerate(together):
        for b in together[i + 1 :]:
            assert TAITO_1_1 in graph.edges[a, b]["initiatives"], (a, b)
    assert not any(k == "municipality" for _, k in graph.nodes(data="kind"))


# -- filters ------------------------------------------------------------------------------------
def test_municipality_filter_is_a_binding(store: Store, project: Project) -> None:
    graph = kn.network(store, project, "bipartite", municipality="131164")
    munis = [n for n, k in graph.nodes(data="kind") if k == "municipality"]
    assert munis == [TOSHIMA]
    assert graph.graph["filters"] == "municipality=131164"


def test_heading_and_theme_filters(
    store: Store, project: Project, union: Graph, data: kn.NetworkData
) -> None:
    heading = kn.load_data(store, project, heading=2)
    assert heading.links and all(link.heading == 2 for link in heading.links)
    graph = kn.build_view(heading, "bipartite")
    for _, _, edge in graph.edges(data=True):
        for evidence in edge["initiatives"]:
            assert (URIRef(evidence), TIP.heading, ID["heading/fy2021/2"]) in union
    themed = kn.load_data(store, project, theme="cashless-payment")
    theme = ID["theme/cashless-payment"]
    assert themed.links
    assert all((URIRef(link.evidence), TIP.theme, theme) in union for link in themed.links)
    by_iri = kn.load_data(store, project, theme=str(theme))
    assert by_iri.links == themed.links
    assert len(themed.links) < len(data.links)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"municipality": "999999"}, "unknown municipality code '999999'"),
        ({"heading": 4}, "heading must be 1, 2 or 3 (got 4)"),
        ({"theme": "no-such-theme"}, "unknown theme 'no-such-theme'"),
    ],
)
def test_bad_filters_are_typed_errors(
    store: Store, project: Project, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(kn.UnknownFilterError) as caught:
        kn.load_data(store, project, **kwargs)  # type: ignore[arg-type]
    assert isinstance(caught.value, KGError) and caught.value.exit_code == 2
    assert message in str(caught.value)


# -- statistics ---------------------------------------------------------------------------------
def test_statistics(views: dict[str, nx.Graph]) -> None:
    for view, graph in views.items():
        rows = kn.node_stats(graph)
        assert len(rows) == graph.number_of_nodes()
        for row in rows:
            assert 0.0 <= row.betweenness <= 1.0
            assert row.degree == graph.degree(row.iri)
            assert row.weighted_degree == graph.degree(row.iri, weight="weight")
            assert row.community >= 0
        text = kn.stats_csv(rows)
        header = text.splitlines()[0].split(",")
        assert tuple(header) == kn.STATS_COLUMNS, view
        assert len(text.splitlines()) == len(rows) + 1
        assert kn.stats_table(rows).count("\n") == len(rows) + 2


def test_statistics_are_deterministic_and_empty_views_work(
    views: dict[str, nx.Graph], data: kn.NetworkData
) -> None:
    again = kn.build_view(data, "bipartite")
    assert kn.node_stats(again) == kn.node_stats(views["bipartite"])  # fixed Louvain seed
    empty = kn.build_view(kn.NetworkData({}, []), "bipartite")
    assert empty.number_of_nodes() == 0 and kn.node_stats(empty) == []
    assert kn.render_html(empty).count("</script>") == 2


# -- output formats -----------------------------------------------------------------------------
def _edge_set(graph: nx.Graph) -> set[frozenset[str]]:
    return {frozenset((str(a), str(b))) for a, b in graph.edges}


def test_graphml_gexf_and_json_round_trip(views: dict[str, nx.Graph]) -> None:
    for view, graph in views.items():
        graphml = nx.read_graphml(io.BytesIO(kn.graphml_bytes(graph)))
        gexf = nx.read_gexf(io.BytesIO(kn.gexf_bytes(graph)))
        linked = nx.node_link_graph(json.loads(kn.node_link_json(graph)), edges="edges")
        for again in (graphml, gexf, linked):
            assert set(map(str, again.nodes)) == set(graph.nodes), view
            assert _edge_set(again) == _edge_set(graph), view
        for a, b, edge in graph.edges(data=True):
            assert graphml.edges[a, b]["weight"] == edge["weight"]
            assert graphml.edges[a, b]["initiatives"] == kn.JOIN.join(edge["initiatives"])
            assert linked.edges[a, b]["initiatives"] == edge["initiatives"]
        assert b"lastmodifieddate" not in kn.gexf_bytes(graph)


def test_outputs_are_deterministic(views: dict[str, nx.Graph], data: kn.NetworkData) -> None:
    graph = views["municipalities"]
    rebuilt = kn.build_view(data, "municipalities")
    for fmt in kn.FORMATS:
        assert kn.render(graph, fmt) == kn.render(rebuilt, fmt), fmt


_HASHES = """
import hashlib, sys
from pathlib import Path
from kgtools import network as kn
from kgtools.build.pipeline import open_built
from kgtools.project import find_project
project = find_project(Path(sys.argv[1]))
store, _ = open_built(project, Path(sys.argv[2]))
data = kn.load_data(store, project)
for view in kn.VIEWS:
    graph = kn.build_view(data, view)
    for fmt in ("html", "graphml", "gexf", "json"):
        print(view, fmt, hashlib.sha256(kn.render(graph, fmt)).hexdigest())
"""


def test_outputs_do_not_depend_on_the_hash_seed(built: tuple[Path, BuildSummary]) -> None:
    out, _ = built
    runs = [
        subprocess.run(
            [sys.executable, "-c", _HASHES, str(ROOT), str(out)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert runs[0] == runs[1]
    assert runs[0].count("\n") == len(kn.VIEWS) * 4


def test_png_and_svg_have_every_glyph(views: dict[str, nx.Graph]) -> None:
    graph = views["bipartite"]
    texts = kn._drawn_texts(graph)
    assert any("豊島区" in t for t in texts)
    assert kn.missing_glyphs(texts) == set()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "Glyph … missing from font(s)" → error
        png = kn.render_png(graph)
        svg = kn.render_svg(graph)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in svg and b"<text" not in svg  # text drawn as paths: no font needed
    # the two checks above do catch a missing glyph
    assert kn.missing_glyphs(["\U0001f600"]) == {"\U0001f600"}
    odd = nx.Graph(view="bipartite", title_ja="t", title_en="t", filters="none")
    odd.add_node(
        "x", kind="facility", label_ja="\U0001f600", label_en="x", weighted_degree=0, degree=0
    )
    with warnings.catch_warnings(), pytest.raises(UserWarning, match="missing from font"):
        warnings.simplefilter("error")
        kn.render_png(odd)


def test_font_is_loaded_by_path_without_importing_the_package() -> None:
    code = (
        "import sys; from kgtools.network import font_path; p = font_path(); "
        "assert p.name == 'ipaexg.ttf' and p.is_file(); "
        "assert 'matplotlib_fontja' not in sys.modules; "
        "import kgtools.cli; "
        "assert not {'networkx', 'matplotlib'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


_EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?|url\(\s*["']?|@import\s+["']?)"""
    r"""\s*(?:https?:)?//""",
    re.IGNORECASE,
)


def test_html_references_no_other_host(views: dict[str, nx.Graph]) -> None:
    for view, graph in views.items():
        page = kn.render_html(graph)
        assert not _EXTERNAL.search(page), view
        assert "default-src 'none'" in page
        assert page.count("</script>") == 2  # the data cannot close its <script>
        assert "豊島区" in page or view == "partners"
        assert "Toshima City" in page or view == "partners"
    control = '<img src="https://cdn.example/x.png"><link href="//cdn.example/a.css">'
    assert len(_EXTERNAL.findall(control)) == 2


def test_write_default_views(store: Store, project: Project, tmp_path: Path) -> None:
    started = time.perf_counter()
    written = kn.write_default_views(store, tmp_path, project, formats=("html", "json"))
    assert time.perf_counter() - started < 20
    expected = [
        f"network/{view}{suffix}"
        for view in kn.VIEWS
        for suffix in (".html", ".json", "-stats.csv")
    ]
    assert written == expected
    assert all((tmp_path / name).is_file() for name in written)
    assert not list(tmp_path.rglob("*.tmp"))


# -- the command --------------------------------------------------------------------------------
def _kg(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(ROOT), *args], catch_exceptions=False)


def test_cli_stats_csv_and_formats(built: tuple[Path, BuildSummary], tmp_path: Path) -> None:
    out, _ = built
    csv_file = tmp_path / "stats.csv"
    views = tmp_path / "views"
    result = _kg(
        "network", "--out-dir", str(out), "-o", str(views), "--view", "municipalities",
        "--stats", "--csv", str(csv_file),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "北区" in result.stdout and "betweenness" in result.stdout
    assert csv_file.read_text(encoding="utf-8").startswith(",".join(kn.STATS_COLUMNS))
    assert not views.exists()  # stats only: no graph files
    result = _kg(
        "network", "--out-dir", str(out), "-o", str(tmp_path), "--municipality", "131164",
        "--heading", "1", "-f", "json", "-f", "graphml",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.glob("bipartite-*"))
    assert names == ["bipartite-131164-heading1.graphml", "bipartite-131164-heading1.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--municipality", "999999"), "unknown municipality code"),
        (("--heading", "4"), "heading must be 1, 2 or 3"),
        (("--theme", "nope"), "unknown theme 'nope'"),
    ],
)
def test_cli_bad_input_exits_2(
    built: tuple[Path, BuildSummary], args: tuple[str, ...], message: str
) -> None:
    out, _ = built
    result = _kg("network", "--out-dir", str(out), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_cli_help_documents_every_option() -> None:
    result = _kg("network", "--help")
    assert result.exit_code == 0
    assert isinstance(cli, click.Group)
    command = cli.commands["network"]
    assert command.help
    for param in command.params:
        assert getattr(param, "help", None), param.name


# -- the page in a real browser, the network watched ----------------------------------------
class _Canary(socketserver.ThreadingTCPServer):
    """An HTTP proxy that answers nothing and records every request it receives."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        super().__init__(("127.0.0.1", 0), _CanaryHandler)


class _CanaryHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(2)
        try:
            first = self.request.recv(4096)
        except OSError:
            first = b""
        assert isinstance(self.server, _Canary)
        self.server.requests.append(first.split(b"\r\n", 1)[0])
        with contextlib.suppress(OSError):
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def canary() -> Iterator[_Canary]:
    with running(_Canary()) as server:
        yield server


def _chromium_dom(page: Path, proxy_port: int, tmp: Path) -> str:
    """The page's DOM in headless Chromium with every request, loopback included, sent to the
    canary at ``proxy_port``."""
    empty = tmp / "no-models"
    empty.mkdir(exist_ok=True)
    return chromium_dom(
        page.resolve().as_uri(),
        tmp,
        "--proxy-bypass-list=<-loopback>",
        # Chromium's own background requests, which the common flags leave on (measured with
        # Chromium 156): the network-time query, the on-device-model manifest download, and the
        # Google-account check (ListAccounts) that Debian's API keys enable — pointed at a
        # closed loopback port. None of them is the page's.
        "--disable-features=NetworkTimeServiceQuerying",
        f"--optimization-guide-manifest-override={empty}",
        "--gaia-url=http://127.0.0.1:1/",
        proxy_port=proxy_port,
    )


@pytest.mark.browser
def test_html_draws_every_node_offline(
    views: dict[str, nx.Graph], tmp_path: Path, canary: _Canary
) -> None:
    graph = views["bipartite"]
    page = tmp_path / "bipartite.html"
    page.write_text(kn.render_html(graph), encoding="utf-8")
    dom = _chromium_dom(page, canary.server_address[1], tmp_path)
    drawn = re.search(r'data-nodes-drawn="(\d+)"', dom)
    assert drawn, dom[:2000]
    # 51 for the FY2021 plans, + 浅草ものづくり工房 of the FY2015 台東区 plan
    assert int(drawn.group(1)) == graph.number_of_nodes() == 52
    assert f'data-edges-drawn="{graph.number_of_edges()}"' in dom
    assert dom.count("<circle") == graph.number_of_nodes()
    time.sleep(0.5)  # let a late request arrive
    assert canary.requests == []


@pytest.mark.browser
def test_the_canary_sees_a_page_that_reaches_out(tmp_path: Path, canary: _Canary) -> None:
    """The control: the same browser set-up does report a page's request to another host."""
    page = tmp_path / "control.html"
    page.write_text(
        '<!DOCTYPE html><title>control</title><img src="http://canary-control.invalid/x.png">',
        encoding="utf-8",
    )
    _chromium_dom(page, canary.server_address[1], tmp_path)
    time.sleep(0.5)
    assert any(b"canary-control.invalid" in r for r in canary.requests), canary.requests


def test_a_missing_chromium_fails_with_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        _chromium_dom(tmp_path / "x.html", 9, tmp_path)


#: Injected into a copy of the page: once it has drawn, picks each language in the page's
#: switch in turn and reports the node labels' lines as drawn (text, and whether English).
_SWITCH_PROBE = """
<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var select = document.getElementById("lang"), seen = {};
    ["en", "ja", "both"].forEach(function (lang) {
      select.value = lang;
      select.dispatchEvent(new Event("change"));
      seen[lang] = Array.from(document.querySelectorAll("g.node text tspan")).map(
        function (t) { return [t.textContent, t.getAttribute("class") === "en"]; });
    });
    document.body.setAttribute("data-switch-report", JSON.stringify(seen));
  }, 300);
});
</script>
"""
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


@pytest.mark.browser
def test_page_language_switch_relabels_every_node(
    views: dict[str, nx.Graph], tmp_path: Path, canary: _Canary
) -> None:
    """The page's language switch, run in Chromium: English shows only English lines on every
    node, Japanese only Japanese lines, both shows each node's Japanese with the English."""
    from html import unescape

    graph = views["bipartite"]
    page = tmp_path / "bipartite.html"
    page.write_text(
        kn.render_html(graph).replace("</body>", _SWITCH_PROBE + "</body>"), encoding="utf-8"
    )
    dom = _chromium_dom(page, canary.server_address[1], tmp_path)
    found = re.search(r'data-switch-report="([^"]*)"', dom)
    assert found, dom[:2000]
    seen = json.loads(unescape(found.group(1)))
    en, ja, both = seen["en"], seen["ja"], seen["both"]
    assert len(en) >= graph.number_of_nodes() and len(ja) >= graph.number_of_nodes()
    assert all(is_en for _, is_en in en) and not any(_JAPANESE.search(t) for t, _ in en)
    assert not any(is_en for _, is_en in ja)
    assert sum(1 for t, _ in ja if _JAPANESE.search(t)) >= graph.number_of_nodes() // 2
    assert sorted(both) == sorted([*ja, *en])
