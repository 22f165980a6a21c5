"""The timeline view of ``kg network``: municipalities × fiscal years, one bar per plan.

Rows come from ``queries/network/plan-periods.rq`` (each plan's municipality and period:
``tip:period`` → ``tip:firstFiscalYear`` / ``tip:lastFiscalYear`` → ``tip:year``); a municipality
filter enters as the ``?code`` binding. A municipality with plans whose periods overlap gets one
lane per overlapping plan, so no bar hides another. Outputs (:data:`FORMATS`), byte-for-byte
reproducible:

* ``html`` — one page with the chart as inline SVG drawn by the template (no script), the
  Japanese glyphs it uses embedded (:mod:`kgtools.glyphs`), nothing fetched;
* ``png`` / ``svg`` — matplotlib, text in IPAexGothic by path (as the network drawings), at
  least :data:`kgtools.network.MIN_FONT_SIZE` points;
* ``json`` — the bars.

Languages (``kg network --view timeline --lang ja|en``): by default the drawings name each
municipality in Japanese with the English below and label bars in Japanese; with a language,
every text of the PNG and SVG is in that language only. The page has both and a switch
(three radio buttons and CSS, so the page stays script-free); ``--lang`` picks the one checked
when it opens, and the ``<html lang>``.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgtools.errors import NetworkDataError, NetworkError

if TYPE_CHECKING:
    from kgtools.project import Project
    from kgtools.store.base import Store

#: The timeline's output formats.
FORMATS = ("html", "png", "svg", "json")
TITLE = ("地域産業活性化計画の期間", "Plan periods by municipality")
#: The legend line under the title, per language.
LEGEND = {
    "ja": "{plans}計画・{rows}自治体 — 絞り込み: {filters} — 計画ごとに1本",
    "en": "{plans} plans, {rows} municipalities — filters: {filters} — one bar per plan",
}
#: What ``Timeline.lang`` may be: both languages (the default) or one.
LANGS = ("both", "ja", "en")


@dataclass(frozen=True)
class Bar:
    """One plan: its municipality, labels, period and lane (0 = first row of the municipality)."""

    municipality: str
    code: str
    municipality_ja: str
    municipality_en: str
    plan: str
    plan_ja: str
    plan_en: str
    period_ja: str
    period_en: str
    first: int
    last: int
    lane: int = 0


@dataclass
class Timeline:
    bars: list[Bar]
    filters: str = "none"
    lang: str = "both"

    def title(self) -> str:
        return " / ".join(TITLE) if self.lang == "both" else TITLE[self.lang == "en"]

    def legend(self) -> str:
        if self.lang == "both":
            return self.legend_in("en") + " (計画ごとに1本)"
        return self.legend_in(self.lang)

    def legend_in(self, lang: str) -> str:
        """The legend line in ``lang`` (``ja`` or ``en``), whatever the drawing's language."""
        filters = "なし" if lang == "ja" and self.filters == "none" else self.filters
        return LEGEND[lang].format(plans=len(self.bars), rows=len(self.rows()), filters=filters)

    def row_label(self, ja: str, en: str) -> str:
        return {"both": f"{ja}\n{en}", "ja": ja, "en": en}[self.lang]

    def bar_texts(self, bar: Bar) -> list[str]:
        """What a bar may say, longest first (the drawing takes the first that fits)."""
        if self.lang == "en":
            return [f"{bar.plan_en} ({bar.period_en})", bar.plan_en, bar.period_en]
        return [f"{bar.plan_ja}（{bar.period_ja}）", bar.plan_ja, bar.period_ja, bar.period_en]

    def rows(self) -> list[tuple[str, str, str, int]]:
        """(municipality IRI, ja, en, lanes) in code order."""
        seen: dict[str, tuple[str, str, str, int]] = {}
        for bar in self.bars:
            lanes = seen[bar.municipality][3] if bar.municipality in seen else 0
            seen[bar.municipality] = (
                bar.municipality, bar.municipality_ja, bar.municipality_en,
                max(lanes, bar.lane + 1),
            )  # fmt: skip
        return list(seen.values())

    def years(self) -> list[int]:
        if not self.bars:
            return []
        return list(range(min(b.first for b in self.bars), max(b.last for b in self.bars) + 1))


def _lanes(bars: list[Bar]) -> list[Bar]:
    """Bars with lanes: per municipality, each bar takes the first lane free in its years."""
    out: list[Bar] = []
    ends: dict[str, list[int]] = {}
    for bar in sorted(bars, key=lambda b: (b.code, b.first, b.last, b.plan)):
        lanes = ends.setdefault(bar.municipality, [])
        lane = next((i for i, end in enumerate(lanes) if end < bar.first), len(lanes))
        if lane == len(lanes):
            lanes.append(bar.last)
        else:
            lanes[lane] = bar.last
        out.append(Bar(**{**asdict(bar), "lane": lane}))
    return out


#: The year a period's first or last fiscal year starts with (an ``xsd:gYear``: four digits, then
#: perhaps a time zone).
_YEAR = re.compile("[0-9]{4}")


def load_timeline(
    store: Store, project: Project, *, municipality: str | None = None, lang: str | None = None
) -> Timeline:
    """Run ``plan-periods.rq`` (a municipality code is checked first, as for the other views);
    ``lang`` (``ja``/``en``, default both) is the language the drawings are labelled in."""
    from rdflib import Literal

    from kgtools.network import _run, load_nodes, resolve_filters

    if lang is not None and lang not in LANGS[1:]:
        raise NetworkError(f"the timeline has no language {lang!r}: choose ja or en")

    filters = resolve_filters(load_nodes(store, project), municipality=municipality)
    bindings = {"code": Literal(filters.municipality)} if filters.municipality else {}
    bars = []
    for number, row in enumerate(_run(store, project, "plan-periods.rq", bindings), 1):
        muni, code, mja, men, plan, pja, pen, fja, fen, first, last = (v or "" for v in row)
        years = [_YEAR.match(value) for value in (first, last)]
        if not (muni and plan) or None in years:
            raise NetworkDataError(
                f"the graph's answer to plan-periods.rq (row {number}) lacks its municipality or "
                f"plan, or its period does not start with two years ({first!r}, {last!r}): is "
                "the endpoint a SPARQL 1.1 endpoint holding this project's graph?"
            )
        first_year, last_year = (int(m.group()) for m in years)  # type: ignore[union-attr]
        bars.append(
            Bar(muni, code, mja or men or muni, men or mja or muni, plan, pja or pen or plan,
                pen or pja or plan, fja or fen, fen or fja, first_year, last_year)
        )  # fmt: skip
    return Timeline(_lanes(bars), filters.describe(), lang or "both")


# ------------------------------------------------------------------------------- drawing

_LANE_IN = 0.62  # inches per lane in the PNG/SVG


def _figure(timeline: Timeline) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    from kgtools.network import MIN_FONT_SIZE, font_path

    font = font_path()
    small = FontProperties(fname=font, size=MIN_FONT_SIZE)
    label = FontProperties(fname=font, size=9)
    title = FontProperties(fname=font, size=14)
    rows = timeline.rows()
    lanes = sum(r[3] for r in rows) or 1
    years = timeline.years() or [0]
    height = 1.6 + _LANE_IN * lanes
    fig = Figure(figsize=(14, height), dpi=100)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    top = 1 - 0.9 / height
    ax = fig.add_axes((0.17, 0.45 / height, 0.80, top - 0.45 / height - 0.05 / height))
    fig.text(0.5, 1 - 0.35 / height, timeline.title(), ha="center", va="center",
             fontproperties=title)  # fmt: skip
    fig.text(0.5, 1 - 0.65 / height, timeline.legend(), ha="center", va="center",
             fontproperties=small)  # fmt: skip
    ax.set_xlim(years[0], years[-1] + 1)
    ax.set_ylim(lanes, 0)
    ax.set_xticks([y + 0.5 for y in years])
    ax.set_xticklabels([f"FY{y}" for y in years], fontproperties=small)
    ax.tick_params(axis="x", length=0)
    for y in years:
        ax.axvline(y, color="#dddddd", lw=0.8, zorder=0)
    offsets: dict[str, int] = {}
    ticks, names = [], []
    position = 0
    for iri, ja, en, n in rows:
        offsets[iri] = position
        ticks.append(position + n / 2)
        names.append(timeline.row_label(ja, en))
        position += n
        ax.axhline(position, color="#cccccc", lw=0.8, zorder=0)
    ax.set_yticks(ticks)
    ax.set_yticklabels(names, fontproperties=label)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    from kgtools.network import KINDS

    colour = KINDS[0].colour
    for bar in timeline.bars:
        y = offsets[bar.municipality] + bar.lane
        width = bar.last + 1 - bar.first
        ax.barh(y + 0.5, width - 0.06, left=bar.first + 0.03, height=0.72, color=colour, alpha=0.85,
                edgecolor="#1d2330", linewidth=0.6)  # fmt: skip
        text = ax.text(bar.first + 0.06, y + 0.5, "", ha="left", va="center", color="white",
                       fontproperties=small)  # fmt: skip
        room = (
            ax.transData.transform((bar.first + width - 0.12, 0))[0]
            - ax.transData.transform((bar.first, 0))[0]
        )
        text.set_text(_fit(text, renderer, timeline.bar_texts(bar), room))
    return fig


def _fit(text: Any, renderer: Any, choices: list[str], room: float) -> str:
    """The first of ``choices`` that fits in ``room`` pixels, else the last one cut to fit."""
    for choice in choices:
        text.set_text(choice)
        if text.get_window_extent(renderer).width <= room:
            return choice
    cut = choices[-1]
    while cut:
        cut = cut[:-1]
        text.set_text(cut + "…")
        if text.get_window_extent(renderer).width <= room:
            return cut + "…"
    return ""


def _svg_geometry(timeline: Timeline) -> dict[str, Any]:
    """Coordinates for the HTML template's inline SVG."""
    rows = timeline.rows()
    years = timeline.years()
    left, year_w, lane_h, top = 230, 150, 34, 40
    offsets: dict[str, int] = {}
    position = 0
    row_items = []
    for iri, ja, en, n in rows:
        offsets[iri] = position
        row_items.append({"ja": ja, "en": en, "y": top + position * lane_h, "h": n * lane_h})
        position += n
    bars = []
    first_year = years[0] if years else 0
    for bar in timeline.bars:
        bars.append(
            {
                **asdict(bar),
                "x": left + (bar.first - first_year) * year_w + 2,
                "y": top + (offsets[bar.municipality] + bar.lane) * lane_h + 4,
                "w": (bar.last + 1 - bar.first) * year_w - 4,
                "h": lane_h - 8,
            }
        )
    return {
        "width": left + max(len(years), 1) * year_w + 10,
        "height": top + position * lane_h + 10,
        "left": left,
        "top": top,
        "year_w": year_w,
        "years": [{"label": f"FY{y}", "x": left + i * year_w} for i, y in enumerate(years)],
        "rows": row_items,
        "bars": bars,
    }


def render_html(timeline: Timeline) -> str:
    from kgtools.pages import render_with_glyphs

    return render_with_glyphs(
        "timeline.html.j2",
        title=TITLE,
        legend={lang: timeline.legend_in(lang) for lang in LEGEND},
        lang=timeline.lang,
        chart=_svg_geometry(timeline),
    )


def render(timeline: Timeline, fmt: str) -> bytes:
    """One output format's bytes."""
    if fmt == "html":
        return render_html(timeline).encode("utf-8")
    if fmt == "json":
        data = {"filters": timeline.filters, "bars": [asdict(b) for b in timeline.bars]}
        return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    if fmt in ("png", "svg"):
        import matplotlib

        with matplotlib.rc_context({"svg.hashsalt": "kg-timeline", "svg.fonttype": "path"}):
            fig = _figure(timeline)
            if fmt == "svg":
                from matplotlib.backends.backend_svg import FigureCanvasSVG

                FigureCanvasSVG(fig)
            buffer = io.BytesIO()
            metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
            fig.savefig(buffer, format=fmt, metadata=metadata)
        return buffer.getvalue()
    raise NetworkError(f"the timeline view has no {fmt!r} output: choose from {', '.join(FORMATS)}")


def check_formats(formats: tuple[str, ...] | list[str]) -> None:
    """Raise :class:`NetworkError` for a format the timeline has not."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise NetworkError(
            f"the timeline view has no {unknown[0]!r} output: choose from {', '.join(FORMATS)}"
        )


def write_timeline(
    timeline: Timeline, out_dir: Path, name: str, formats: tuple[str, ...] | list[str] = FORMATS
) -> list[Path]:
    """Write ``out_dir/name.{fmt}`` for each format, atomically; return the paths written."""
    from kgtools.files import write_formats

    check_formats(formats)
    return write_formats(out_dir, name, formats, lambda fmt: render(timeline, fmt))
