"""Pages embed the Japanese glyphs they use (kgtools.glyphs): the subset is exact, deterministic
and allowed by the page's CSP; in headless Chromium on a machine without a CJK system font no
character of the network or timeline page falls back to an empty box, while the same page with
its ``@font-face`` removed (the control) does. The docs pages' checks are in test_docs_html.py
(they reuse its pages)."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from fontTools.ttLib import TTFont
from hypothesis import given, settings
from hypothesis import strategies as st

from kgtools import glyphs
from kgtools import network as kn
from kgtools.project import Project
from kgtools.store.base import Store

from .conftest import ROOT, chromium_dom, examples

_FACE = re.compile(r"@font-face \{[^}]*\}\n", re.S)
_DATA = re.compile(r"url\(data:(font/[a-z0-9]+);base64,([A-Za-z0-9+/=]+)\)")


@pytest.fixture(scope="module")
def views(store: Store, project: Project) -> dict[str, nx.Graph]:
    data = kn.load_data(store, project)
    return {view: kn.build_view(data, view) for view in kn.VIEWS}


def _embedded(page: str) -> tuple[str, set[int]]:
    """The MIME type of the page's embedded face and the code points its cmap maps."""
    faces = _DATA.findall(page)
    assert len(faces) == 1, "expected exactly one embedded face"
    mime, data = faces[0]
    with TTFont(io.BytesIO(base64.b64decode(data))) as font:
        return mime, set(font.getBestCmap())


def _modified(page: str) -> int:
    with TTFont(io.BytesIO(base64.b64decode(_DATA.findall(page)[0][1]))) as font:
        return int(font["head"].modified)


def _without_face(page: str) -> str:
    return _FACE.sub("", page)


# -- the subset ----------------------------------------------------------------------------------
def test_network_page_embeds_exactly_its_japanese_characters(views: dict[str, nx.Graph]) -> None:
    for view, graph in views.items():
        page = kn.render_html(graph)
        mime, cmap = _embedded(page)
        assert mime == "font/woff2", "brotli is a dependency: WOFF2"
        wanted = {ord(c) for c in glyphs.page_characters(_without_face(page), glyphs.covered())}
        assert cmap == wanted, view
        assert ord("区") in cmap and ord("A") not in cmap, view
        assert "font-src data:" in page and "default-src 'none'" in page
        assert re.search(r'font-family: "kg-ja"', page), view
        with TTFont(str(kn.font_path()), lazy=True) as source:  # no date of writing in the bytes
            assert _modified(page) == source["head"].modified


@settings(max_examples=examples(8), deadline=None)
@given(
    st.text(
        st.characters(
            codec="utf-8",
            categories=("Lo", "Lu", "Ll", "Nd", "Po", "Ps", "Pe", "Sm", "Zs", "Cc", "Co"),
        ),
        max_size=40,
    )
)
def test_subset_covers_exactly_the_non_ascii_characters_the_font_has(text: str) -> None:
    """Any text: the face maps every non-ASCII, non-space, non-private character the font has,
    and nothing else; with none of them there is no face at all."""
    covered = glyphs.covered()
    expected = {
        ord(c)
        for c in text
        if ord(c) >= 0x80
        and not c.isspace()
        and ord(c) in covered
        and not 0xE000 <= ord(c) <= 0xF8FF
        and ord(c) != 0xFEFF
    }
    css = str(glyphs.font_face_css(text))
    if not expected:
        assert css == ""
        return
    _, cmap = _embedded(css)
    assert cmap == expected


def test_the_embedded_face_is_deterministic_across_processes() -> None:
    code = (
        "import hashlib; from kgtools import glyphs; "
        "print(hashlib.sha256(glyphs.font_face_css('豊島区の計画 ・「連携」・ー〜').encode())"
        ".hexdigest())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1 and len(next(iter(runs)).strip()) == 64


def test_without_brotli_the_page_falls_back_to_woff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "brotli", None)  # import brotli → ImportError
    assert glyphs.font_format() == ("woff", "font/woff", "woff")
    mime, cmap = _embedded(str(glyphs.font_face_css("豊島区")))
    assert mime == "font/woff" and cmap == {ord(c) for c in "豊島区"}


# -- in a browser without a CJK system font ------------------------------------------------------
#: Appended to a copy of the page: once the fonts are ready, every distinct non-ASCII character
#: of the rendered text is drawn on a canvas in the font its element uses and compared with the
#: drawing of an unassigned code point (U+0378), i.e. the empty box of the same font stack.
_PROBE = """<script>
(function () {
  function report(boxed, checked) {
    document.documentElement.setAttribute("data-glyph-report",
      JSON.stringify({boxed: boxed, checked: checked}));
  }
  setTimeout(function () {
    document.fonts.ready.then(function () {
      var byFont = {}, walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      var node;
      while ((node = walker.nextNode())) {
        var parent = node.parentNode, tag = parent.nodeName.toLowerCase();
        if (tag === "script" || tag === "style") { continue; }
        var family = getComputedStyle(parent).fontFamily;
        byFont[family] = (byFont[family] || "") + node.nodeValue;
      }
      byFont[getComputedStyle(document.body).fontFamily] =
        (byFont[getComputedStyle(document.body).fontFamily] || "") + document.title;
      var canvas = document.createElement("canvas");
      canvas.width = 64; canvas.height = 64;
      var ctx = canvas.getContext("2d", {willReadFrequently: true});
      function ink(ch, font) {
        ctx.clearRect(0, 0, 64, 64); ctx.font = font; ctx.textBaseline = "top";
        ctx.fillText(ch, 8, 8);
        var d = ctx.getImageData(0, 0, 64, 64).data, out = [];
        for (var i = 3; i < d.length; i += 4) { out.push(d[i]); }
        return out.join(",");
      }
      var families = Object.keys(byFont).sort(), loads = families.map(function (f) {
        return document.fonts.load("40px " + f, byFont[f]);
      });
      Promise.all(loads).then(function () {
        var boxed = {}, checked = {};
        families.forEach(function (family) {
          var font = "40px " + family, box = ink("\\u0378", font);
          Array.from(new Set(Array.from(byFont[family]))).forEach(function (ch) {
            if (ch.codePointAt(0) < 0x80 || !ch.trim()) { return; }
            checked[ch] = true;
            if (ink(ch, font) === box) { boxed[ch] = true; }
          });
        });
        report(Object.keys(boxed).sort().join(""), Object.keys(checked).sort().join(""));
      });
    });
  }, 50);
})();
</script>
"""

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")


def _glyph_report(page: str, tmp_path: Path, name: str) -> tuple[str, str]:
    """(characters drawn as empty boxes, characters checked) for ``page`` in Chromium."""
    path = tmp_path / name
    if "script-src" not in page:  # a page without scripts: let the probe (and only it) run
        allow = "default-src 'none'; script-src 'unsafe-inline';"
        page = page.replace("default-src 'none';", allow)
    path.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    run = tmp_path / f"run-{name}"
    run.mkdir()
    dom = chromium_dom(path.as_uri(), run, budget_ms=8000)
    found = re.search(r"data-glyph-report=\"([^\"]*)\"", dom)
    assert found, dom[:1500]
    report = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return report["boxed"], report["checked"]


def _check_page(page: str, tmp_path: Path, name: str) -> None:
    boxed, checked = _glyph_report(page, tmp_path, name)
    japanese = set(_JAPANESE.findall(checked))
    assert len(japanese) > 20, checked  # the page's Japanese text was really examined
    assert boxed == "", f"{name}: drawn as empty boxes: {boxed}"
    # the control: the same page without its @font-face shows every Japanese character as a box
    # on this machine (no CJK system font), so the check above can fail
    control_boxed, _ = _glyph_report(_without_face(page), tmp_path, "control-" + name)
    assert japanese <= set(control_boxed), sorted(japanese - set(control_boxed))[:20]


@pytest.mark.browser
def test_network_page_draws_every_japanese_glyph(
    views: dict[str, nx.Graph], tmp_path: Path
) -> None:
    _check_page(kn.render_html(views["bipartite"]), tmp_path, "bipartite.html")


@pytest.mark.browser
def test_timeline_page_draws_every_japanese_glyph(
    store: Store, project: Project, tmp_path: Path
) -> None:
    from kgtools import timeline as tl

    page = tl.render_html(tl.load_timeline(store, project))
    _check_page(page, tmp_path, "timeline.html")
