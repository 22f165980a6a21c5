"""The Japanese glyphs a page uses, embedded in the page itself.

The network page and the documentation pages name Japanese system fonts, but a machine without
one (a fresh Linux install, a CI runner, a kiosk) shows an empty box for every Japanese
character. So each page carries the glyphs it uses: a subset of IPAexGothic — the font the
``matplotlib-fontja`` wheel already ships for the PNG/SVG drawings, found by
:func:`font_path` — cut with fontTools' subsetter to exactly the non-ASCII
characters of the page (its text, its script's strings and its data), and put in an
``@font-face`` rule as a ``data:`` URL. No request goes to any host: the network page's
Content-Security-Policy grows by ``font-src data:`` only.

Why this way:

* fontTools (a dependency of matplotlib already) is the reference subsetter; writing a TrueType
  subsetter of our own would be large and fragile.
* ASCII is left out: the Latin text keeps the page's own font stack, and the subset stays small.
  Font fallback is per character, so the browser takes the embedded face only for what it has.
* WOFF2 (Brotli, a dependency of the toolkit) is about half the size of WOFF (zlib) for CJK
  outlines; if ``brotli`` cannot be imported the page gets WOFF instead (:data:`FORMATS`),
  which every browser of the last decade reads as well.
* Deterministic: ``head.modified`` keeps the font's own date (``TTFont.save`` would stamp the
  time of writing: ``recalcTimestamp=False``; the subsetter's ``recalc_timestamp`` is off), the
  glyph order follows the font, the characters are sorted, and Brotli and zlib are
  deterministic for a given input — the same page gives the same bytes.
* Hinting is dropped (screen text at these sizes does not need it; it is a third of the bytes),
  and so are the OpenType layout tables and vertical metrics, which horizontal text does not
  use: a subset of the real network page's ~240 characters is about 26 KB of WOFF2 and takes
  a few tenths of a second. Subsets are kept in the per-user cache (:mod:`kgtools.usercache`;
  clear it with ``rm -rf ~/.cache/kgtools/derived``), so a build into a fresh folder does not
  cut the same subset again.

Licence: the IPA Font License lets a document embed the font for its own display (Article 2.5:
"Embedded Fonts … used only for rendering the Digital Content within such Digital Document
File"); the subset keeps the font's name table, with its copyright and licence notices.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup

from kgtools.errors import FontNotFoundError

#: The CSS family name of the embedded face (listed first in the pages' font stacks).
FAMILY = "kg-ja"
#: ``(fontTools flavor, MIME type, CSS format())`` by preference.
FORMATS = (("woff2", "font/woff2", "woff2"), ("woff", "font/woff", "woff"))


def page_characters(text: str, covered: Iterable[int] | None = None) -> str:
    """The sorted distinct characters of ``text`` the embedded face should carry: non-ASCII,
    not a control or private-use character, and (when given) in ``covered``, the font's code
    points."""
    cmap = set(covered) if covered is not None else None
    chars = set()
    for ch in text:
        code = ord(ch)
        if code < 0x80 or ch.isspace() or code in (0xFEFF,):
            continue
        if 0xE000 <= code <= 0xF8FF or code >= 0xF0000:  # private use
            continue
        if cmap is not None and code not in cmap:
            continue
        chars.add(ch)
    return "".join(sorted(chars))


def font_format() -> tuple[str, str, str]:
    """The format pages embed: WOFF2 when ``brotli`` imports, else WOFF."""
    try:
        import brotli  # noqa: F401
    except ImportError:
        return FORMATS[1]
    return FORMATS[0]


def font_path() -> Path:
    """IPAexGothic from the ``matplotlib-fontja`` wheel, located without importing the package
    (its import rewrites matplotlib's global rcParams)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            return path
    raise FontNotFoundError(
        "the Japanese font for PNG/SVG (IPAexGothic, from the matplotlib-fontja package) is not "
        "installed — reinstall the toolkit: pip install -e ."
    )


@lru_cache(maxsize=1)
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


@lru_cache(maxsize=1)
def _codepoints(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(io.BytesIO(_font_bytes(path)), lazy=True) as font:
        return frozenset(font.getBestCmap())


def covered(path: Path | None = None) -> frozenset[int]:
    """The code points the drawing font has a glyph for."""
    return _codepoints(str(path or font_path()))


def subset_font(chars: str, path: Path | None = None, flavor: str | None = None) -> bytes:
    """IPAexGothic cut to ``chars`` (plus the ``.notdef`` glyph), as ``flavor`` (``woff2``,
    ``woff``; default :func:`font_format`). Results are kept for the process and in the
    per-user cache (:mod:`kgtools.usercache`), keyed by the font's bytes, the characters, the
    flavor, the toolkit's code and fontTools' and Brotli's versions: a subset takes about half a
    second, and every build into a fresh folder renders the same pages again."""
    return _cached_subset(chars, str(path or font_path()), flavor or font_format()[0])


@lru_cache(maxsize=32)
def _cached_subset(chars: str, path: str, flavor: str) -> bytes:
    from kgtools import usercache

    font_hash = hashlib.sha256(_font_bytes(path)).hexdigest()
    entry = usercache.key(
        "glyphs", font_hash, chars, flavor, usercache.versions("fonttools", "brotli")
    )
    return usercache.cached("glyphs", entry, lambda: _subset(chars, path, flavor))


def _subset(chars: str, path: str, flavor: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = flavor
    options.hinting = False
    options.recalc_timestamp = False  # the subsetter's default, stated
    options.name_IDs = ["*"]  # copyright and licence notices stay with the glyphs
    options.notdef_outline = True
    # horizontal screen text: no OpenType layout (IPAex's GSUB holds vertical and alternate
    # forms, none on by default in horizontal text) and no vertical metrics — a third faster
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "vhea", "vmtx", "VORG"]
    options.layout_closure = False
    # TTFont.save stamps head.modified with the time unless told not to: keep the font's own
    font = TTFont(io.BytesIO(_font_bytes(path)), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    font.flavor = flavor
    buffer = io.BytesIO()
    font.save(buffer, reorderTables=True)
    return buffer.getvalue()


def font_face_css(text: str, path: Path | None = None) -> Markup:
    """An ``@font-face`` rule for :data:`FAMILY` with the glyphs of ``text`` as a ``data:`` URL;
    empty when ``text`` has no character to embed."""
    chars = page_characters(text, covered(path))
    if not chars:
        return Markup("")
    flavor, mime, css_format = font_format()
    data = base64.b64encode(subset_font(chars, path, flavor)).decode("ascii")
    return Markup(
        f'@font-face {{ font-family: "{FAMILY}"; font-style: normal; font-weight: 400;\n'
        f'  src: url(data:{mime};base64,{data}) format("{css_format}"); }}\n'
    )


def with_glyphs(render: Callable[[Markup], str]) -> str:
    """A page that embeds its own Japanese glyphs: ``render(font_face)`` is called once without
    the rule to learn the page's characters, then once with it (the rule is ASCII, so the
    characters do not change)."""
    bare = render(Markup(""))
    face = font_face_css(bare)
    return render(face) if face else bare
