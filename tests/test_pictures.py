"""The PNG/SVG drawings read: no two labels (nor a label and the legend) overlap, every text is
at least ``MIN_FONT_SIZE`` points, and a view of more than 60 nodes labels only its top nodes by
degree and says so in the legend — for the real graph's views and a bigger synthetic one."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgtools import network as kn
from kgtools.build.layout import BuildSummary
from kgtools.build.pipeline import open_built
from kgtools.labels import Box, around, place
from kgtools.project import Project

from .conftest import examples, synthetic_build

LABELS = (kn.NODE_LABEL_JA, kn.NODE_LABEL_EN, kn.EDGE_LABEL)


@pytest.fixture(scope="module")
def real_views(project: Project, built: tuple[Path, BuildSummary]) -> dict[str, nx.Graph]:
    out, _ = built
    store, _ = open_built(project, out)
    data = kn.load_data(store, project)
    return {view: kn.build_view(data, view) for view in kn.VIEWS}


@pytest.fixture(scope="module")
def synthetic_view(project: Project, tmp_path_factory: pytest.TempPathFactory) -> nx.Graph:
    """The bipartite view of ``kg synth -n 8 --rounds 1 --seed 1`` (more than 60 nodes)."""
    root = tmp_path_factory.mktemp("pictures") / "synth"
    return kn.network(*synthetic_build(project, root, 8, rounds=1, seed=1), "bipartite")


def _drawn(graph: nx.Graph) -> tuple[Any, list[Any]]:
    """The figure after a draw, and its label texts."""
    fig = kn._figure(graph)
    fig.canvas.draw()
    texts = [t for t in fig.axes[0].texts if t.get_label() in LABELS and t.get_visible()]
    return fig, texts


def _overlapping(fig: Any, texts: list[Any]) -> list[tuple[str, str]]:
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    for text in texts:  # an edge weight's rounded box counts as part of the label
        patch = text.get_bbox_patch()
        if patch is not None:
            boxes.append((text.get_text() + " (box)", patch.get_window_extent(renderer)))
    legend = fig.axes[0].get_legend()
    if legend is not None:
        boxes.append(("legend", legend.get_window_extent(renderer)))
    clashes = []
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        if a + " (box)" == b or b + " (box)" == a:
            continue
        width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        if width > 0 and height > 0:
            clashes.append((a, b))
    return clashes


def _check(graph: nx.Graph) -> list[str]:
    """Every rule of the module docstring for one view; returns the labelled Japanese texts."""
    fig, texts = _drawn(graph)
    assert _overlapping(fig, texts) == []
    ja = [t for t in texts if t.get_label() == kn.NODE_LABEL_JA]
    en = [t for t in texts if t.get_label() == kn.NODE_LABEL_EN]
    assert len(ja) == len(en) > 0
    every_text = [*fig.texts, *fig.axes[0].texts]
    legend = fig.axes[0].get_legend()
    every_text += [*legend.get_texts(), legend.get_title()]
    assert min(t.get_fontsize() for t in every_text) >= kn.MIN_FONT_SIZE == 8
    assert {t.get_fontsize() for t in en} == {kn.MIN_FONT_SIZE}
    total = graph.number_of_nodes()
    title = legend.get_title().get_text()
    if len(ja) == total:
        assert title == f"ラベル: 全 {total} 節点 / labels: all {total} nodes"
    else:
        assert f"labels: {len(ja)} of {total} nodes, highest degree first" in title
        assert f"{total} 節点のうち次数の高い {len(ja)} 節点" in title
    if total > kn.LABEL_ALL_UP_TO:
        assert len(ja) <= kn.LABEL_TOP
        assert f"over {kn.LABEL_ALL_UP_TO} nodes: the top {kn.LABEL_TOP} at most" in title
    # the labelled nodes are taken in degree order: a labelled node outranks every node that
    # was never tried, and (in a view up to 60 nodes) most of the nodes get a label
    tried = kn.label_order(graph)[: kn.LABEL_TOP if total > kn.LABEL_ALL_UP_TO else total]
    wanted = {"\n".join(kn._wrap(graph.nodes[n]["label_ja"], 14)) for n in tried}
    assert {t.get_text() for t in ja} <= wanted
    return [t.get_text() for t in ja]


def test_real_views_have_no_overlapping_labels(real_views: dict[str, nx.Graph]) -> None:
    assert len(real_views) == 3
    shown = {view: _check(graph) for view, graph in real_views.items()}
    assert len(shown["municipalities"]) == real_views["municipalities"].number_of_nodes()
    for view in ("bipartite", "partners"):  # the greedy placement still labels most nodes
        assert len(shown[view]) >= 0.8 * real_views[view].number_of_nodes(), view
    assert "豊島区" in shown["bipartite"]


def test_a_big_synthetic_view_labels_only_its_top_nodes(synthetic_view: nx.Graph) -> None:
    assert synthetic_view.number_of_nodes() > kn.LABEL_ALL_UP_TO
    shown = _check(synthetic_view)
    top = kn.label_order(synthetic_view)[0]  # the hub gets its label first, so always
    assert "\n".join(kn._wrap(synthetic_view.nodes[top]["label_ja"], 14)) in shown


def test_small_views_write_edge_weights_without_overlap(real_views: dict[str, nx.Graph]) -> None:
    graph = real_views["municipalities"]
    assert graph.number_of_edges() <= 20
    fig, texts = _drawn(graph)
    weights = [t for t in texts if t.get_label() == kn.EDGE_LABEL]
    assert weights and all(re.fullmatch(r"\d+", t.get_text()) for t in weights)
    assert _overlapping(fig, texts) == []


def test_the_overlap_check_sees_an_overlap(real_views: dict[str, nx.Graph]) -> None:
    """The control: two labels moved onto each other are reported."""
    fig, texts = _drawn(real_views["bipartite"])
    texts[1].set_position(texts[0].get_position())
    texts[1].set_verticalalignment(texts[0].get_verticalalignment())
    fig.canvas.draw()
    assert _overlapping(fig, texts)


_BOX = st.tuples(st.floats(0, 900), st.floats(0, 900), st.floats(1, 120), st.floats(1, 60)).map(
    lambda t: Box(t[0], t[1], t[0] + t[2], t[1] + t[3])
)


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1000), st.floats(0, 1000), st.floats(1, 12)), max_size=40),
    st.lists(_BOX, max_size=5),
    st.floats(20, 160),
    st.floats(8, 40),
)
def test_placement_never_overlaps(
    nodes: list[tuple[float, float, float]], obstacles: list[Box], width: float, height: float
) -> None:
    bounds = Box(0, 0, 1000, 1000)
    candidates = [around(x, y, r, width, height, (2.0, 10.0)) for x, y, r in nodes]
    chosen = place(candidates, obstacles, bounds)
    placed = [boxes[i] for boxes, i in zip(candidates, chosen, strict=True) if i is not None]
    for a, b in itertools.combinations(placed, 2):
        assert not a.overlaps(b)
    for box in placed:
        assert box.inside(bounds)
        assert not any(box.overlaps(o) for o in obstacles)
    if nodes and not obstacles and width < 500:  # the first label always fits somewhere
        x, y, _r = nodes[0]
        if 200 < x < 800 and 200 < y < 800:
            assert chosen[0] == 0
