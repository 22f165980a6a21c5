"""`kg network --view timeline`: one bar per plan from its period, lanes for overlapping plans,
every output format, and the CLI — on the real graph and on synthetic rounds."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import Graph

from kgtools import timeline as tl
from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.errors import NetworkError, UnknownFilterError
from kgtools.namespaces import TIP, graphs_for
from kgtools.network import MIN_FONT_SIZE
from kgtools.project import Project
from kgtools.store.base import Store

from .conftest import examples, synthetic_build


@pytest.fixture(scope="module")
def real(store: Store, project: Project) -> tl.Timeline:
    return tl.load_timeline(store, project)


@pytest.fixture(scope="module")
def rounds(project: Project, tmp_path_factory: pytest.TempPathFactory) -> tl.Timeline:
    """``kg synth -n 3 --rounds 3``: three plans per municipality, one after another."""
    root = tmp_path_factory.mktemp("timeline") / "synth"
    return tl.load_timeline(*synthetic_build(project, root, 3, rounds=3, seed=2))


def _periods(union: Graph) -> dict[str, tuple[int, int]]:
    """Every plan → (first, last) fiscal year, read with the rdflib API (not the .rq file)."""
    out = {}
    for plan, period in union.subject_objects(TIP.period):
        first = union.value(union.value(period, TIP.firstFiscalYear), TIP.year)
        last = union.value(union.value(period, TIP.lastFiscalYear), TIP.year)
        out[str(plan)] = (int(str(first)[:4]), int(str(last)[:4]))
    return out


def test_one_bar_per_plan_with_its_period(real: tl.Timeline, store: Store) -> None:
    expected = _periods(store.union(graphs_for(inferred=True)))
    assert len(expected) == 24  # every plan of every round
    assert {b.plan: (b.first, b.last) for b in real.bars} == expected
    assert len(real.bars) == len(expected)
    assert {b.municipality_ja for b in real.bars} >= {"豊島区", "台東区"}
    assert all(b.period_ja and b.period_en and b.plan_ja and b.plan_en for b in real.bars)


def test_synthetic_rounds_give_several_plans_per_municipality(rounds: tl.Timeline) -> None:
    assert len(rounds.rows()) == 3 and len(rounds.bars) == 9
    for iri, _, _, lanes in rounds.rows():
        bars = sorted((b for b in rounds.bars if b.municipality == iri), key=lambda b: b.first)
        assert [(b.first, b.last) for b in bars] == [(2021, 2023), (2024, 2026), (2027, 2029)]
        assert lanes == 1  # consecutive periods share one lane
    assert rounds.years() == list(range(2021, 2030))


_SPAN = st.tuples(st.integers(2015, 2035), st.integers(0, 5))


@settings(max_examples=examples(50), deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ab"), _SPAN), max_size=12))
def test_lanes_never_hold_two_plans_at_once(spans: list[tuple[str, tuple[int, int]]]) -> None:
    bars = [
        tl.Bar(m, m, m, m, f"plan{i}", "計画", "plan", "期間", "period", first, first + length)
        for i, (m, (first, length)) in enumerate(spans)
    ]
    laned = tl._lanes(bars)
    assert sorted(b.plan for b in laned) == sorted(b.plan for b in bars)
    for a in laned:
        for b in laned:
            if a.plan < b.plan and a.municipality == b.municipality and a.lane == b.lane:
                assert a.last < b.first or b.last < a.first, (a, b)
    for municipality in {b.municipality for b in laned}:  # lanes are as few as needed
        mine = [b for b in laned if b.municipality == municipality]
        busiest = max(
            sum(1 for b in mine if b.first <= year <= b.last) for year in range(2015, 2041)
        )
        assert max(b.lane for b in mine) + 1 == busiest


def test_every_format(rounds: tl.Timeline) -> None:
    page = tl.render(rounds, "html").decode()
    assert "font-src data:" in page and "default-src 'none'" in page and "<script" not in page
    assert page.count('class="bar"') == 9 and "合成" in page and "@font-face" in page
    data = json.loads(tl.render(rounds, "json"))
    assert len(data["bars"]) == 9 and data["filters"] == "none"
    png = tl.render(rounds, "png")
    assert png.startswith(b"\x89PNG") and png == tl.render(rounds, "png")
    svg = tl.render(rounds, "svg")
    assert b"<svg" in svg and b"<text" not in svg and svg == tl.render(rounds, "svg")
    fig = tl._figure(rounds)
    fig.canvas.draw()
    texts = [*fig.texts, *fig.axes[0].texts, *fig.axes[0].get_xticklabels()]
    texts += fig.axes[0].get_yticklabels()
    assert min(t.get_fontsize() for t in texts) >= MIN_FONT_SIZE
    with pytest.raises(NetworkError, match="no 'gexf' output"):
        tl.render(rounds, "gexf")


def test_municipality_filter(store: Store, project: Project) -> None:
    one = tl.load_timeline(store, project, municipality="131164")
    assert [b.municipality_ja for b in one.bars] == ["豊島区"]
    assert one.filters == "municipality=131164"
    with pytest.raises(UnknownFilterError, match="131164"):
        tl.load_timeline(store, project, municipality="999999")


def test_cli(project: Project, built: tuple[Path, BuildSummary], tmp_path: Path) -> None:
    out, _ = built
    base = ["--project", str(project.root), "network", "--out-dir", str(out), "--view", "timeline"]
    runner = CliRunner()
    result = runner.invoke(cli, [*base, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "timeline — 24 plans, 17 municipalities" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"timeline.{fmt}" for fmt in sorted(tl.FORMATS)
    ]
    for extra in (["--heading", "1"], ["--theme", "ec"], ["--stats"], ["-f", "gexf"]):
        bad = runner.invoke(cli, [*base, "-o", str(tmp_path), *extra])
        assert bad.exit_code == 2, (extra, bad.output)
        assert "Traceback" not in bad.output
    help_text = runner.invoke(cli, ["network", "--help"]).output
    assert "timeline" in help_text


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def _drawn_texts(timeline: tl.Timeline) -> list[str]:
    fig = tl._figure(timeline)
    fig.canvas.draw()
    axes = fig.axes[0]
    texts = [*fig.texts, *axes.texts, *axes.get_xticklabels(), *axes.get_yticklabels()]
    return [t.get_text() for t in texts if t.get_text()]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_pictures_in_one_language(rounds: tl.Timeline, real: tl.Timeline, lang: str) -> None:
    """With --lang every text of the drawing is in that language: in English not one Japanese
    character (the labels come from the graph's @en labels), in Japanese each municipality by
    its Japanese name alone; the default keeps both."""
    for timeline in (rounds, real):
        one = tl.Timeline(timeline.bars, timeline.filters, lang)
        texts = _drawn_texts(one)
        rows = {ja if lang == "ja" else en for _, ja, en, _ in timeline.rows()}
        assert rows <= set(texts), rows - set(texts)
        japanese = [t for t in texts if _JAPANESE.search(t)]
        if lang == "en":
            assert japanese == [], japanese
        else:
            assert all(_JAPANESE.search(name) for name in rows)
            assert not any(en in texts for _, _, en, _ in timeline.rows())
        both = _drawn_texts(timeline)
        assert {f"{ja}\n{en}" for _, ja, en, _ in timeline.rows()} <= set(both)
    assert tl.render(one, "png") != tl.render(real, "png")


def test_page_opens_in_the_language_asked_and_has_both(real: tl.Timeline) -> None:
    for lang in tl.LANGS:
        page = tl.render_html(tl.Timeline(real.bars, real.filters, lang))
        assert re.findall(r'id="lang-(\w+)" checked', page) == [lang]
        assert f'<html lang="{"en" if lang == "en" else "ja"}">' in page
        assert "<script" not in page and "default-src 'none'" in page
        for bar in real.bars:  # both languages are on the page whichever is shown first
            assert f">{bar.plan_en} ({bar.period_en})</text>" in page
            assert f">{bar.plan_ja}（{bar.period_ja}）</text>" in page


def test_cli_lang(project: Project, built: tuple[Path, BuildSummary], tmp_path: Path) -> None:
    out, _ = built
    base = ["--project", str(project.root), "network", "--out-dir", str(out), "--view", "timeline"]
    runner = CliRunner()
    result = runner.invoke(
        cli, [*base, "--lang", "en", "-f", "json", "-f", "html", "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert 'id="lang-en" checked' in (tmp_path / "timeline.html").read_text(encoding="utf-8")
    for bad in ("fr", "EN", "", "ja,en"):
        refused = runner.invoke(cli, [*base, "--lang", bad, "-o", str(tmp_path)])
        assert refused.exit_code == 2, (bad, refused.output)
        assert "Traceback" not in refused.output and "ja" in refused.output
    with pytest.raises(NetworkError, match="choose ja or en"):
        tl.load_timeline(None, project, lang="de")  # type: ignore[arg-type]


#: Injected into a copy of the page: checks each language button in turn and reports the text
#: the browser then draws (elements laid out and not hidden) in the page's title and chart.
_SWITCH_PROBE = """
<script>
(function () {
  var seen = {};
  ["both", "ja", "en"].forEach(function (lang) {
    document.getElementById("lang-" + lang).checked = true;
    var shown = [];
    document.querySelectorAll("h1 span, .meta span, svg text").forEach(function (el) {
      if (getComputedStyle(el).display !== "none" && el.getClientRects().length) {
        shown.push(el.textContent);
      }
    });
    seen[lang] = shown;
  });
  document.body.setAttribute("data-switch-report", JSON.stringify(seen));
})();
</script>
"""


@pytest.mark.browser
def test_page_language_switch_in_chromium(real: tl.Timeline, tmp_path: Path) -> None:
    """The radio buttons and CSS really switch what Chromium draws: English only, Japanese only,
    or Japanese names with the English below."""
    from html import unescape

    from .conftest import chromium_dom

    page = tl.render_html(real)
    page = page.replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';")
    path = tmp_path / "timeline.html"
    path.write_text(page.replace("</body>", _SWITCH_PROBE + "</body>"), encoding="utf-8")
    dom = chromium_dom(path.as_uri(), tmp_path)
    found = re.search(r'data-switch-report="([^"]*)"', dom)
    assert found, dom[:1500]
    shown = json.loads(unescape(found.group(1)))
    names = {(ja, en) for _, ja, en, _ in real.rows()}
    assert len(shown["en"]) > len(names) and not any(_JAPANESE.search(t) for t in shown["en"])
    assert {en for _, en in names} <= set(shown["en"])
    assert {ja for ja, _ in names} <= set(shown["ja"])
    assert not {en for _, en in names} & set(shown["ja"])
    assert {t for pair in names for t in pair} <= set(shown["both"])
    bars_ja = {f"{b.plan_ja}（{b.period_ja}）" for b in real.bars}
    assert bars_ja <= set(shown["both"]) and bars_ja <= set(shown["ja"])
    assert {f"{b.plan_en} ({b.period_en})" for b in real.bars} <= set(shown["en"])
