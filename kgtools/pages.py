"""HTML pages from the Jinja2 templates in ``kgtools/templates/``: the documentation
(``docs/``), the network page (``network.html.j2``) and ``kg serve``'s query page
(``serve.html.j2``). Text is escaped by Jinja2's autoescaping; data for the pages' scripts goes
through :func:`script_json`, the one way JSON is put inside a ``<script>`` element here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parent / "templates"


def script_json(value: Any) -> Markup:
    """``value`` as JSON that is safe inside ``<script type="application/json">``: ``<``, ``>``
    and ``&`` are escaped (so ``</script>`` or ``<!--`` in the data cannot end or change the
    element), and so are U+2028 and U+2029 (line breaks to older JavaScript parsers)."""
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return Markup(text)


def environment() -> Any:
    """A Jinja2 environment over ``kgtools/templates/``: autoescaping, undefined names are
    errors, block tags take no lines of their own, trailing newlines kept."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["script_json"] = script_json
    return env


def render(name: str, **context: Any) -> str:
    """The template ``name`` (relative to ``kgtools/templates/``) rendered with ``context``."""
    return str(environment().get_template(name).render(**context))


def render_with_glyphs(name: str, **context: Any) -> str:
    """:func:`render`, with the Japanese glyphs the page uses embedded as ``font_face`` (an
    ``@font-face`` rule; see :mod:`kgtools.glyphs`)."""
    from kgtools.glyphs import with_glyphs

    template = environment().get_template(name)
    return with_glyphs(lambda face: str(template.render(font_face=face, **context)))
