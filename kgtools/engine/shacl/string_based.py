"""SHACL §4.4 string-based constraints: ``sh:pattern`` (with ``sh:flags``),
``sh:languageIn``, ``sh:uniqueLang``.

https://www.w3.org/TR/shacl/#core-components-string — ``sh:minLength``/``sh:maxLength`` are not
implemented (the compiler refuses them: :class:`~kgtools.errors.UnsupportedShapeError`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pyoxigraph as ox
from rdflib.namespace import SH

from kgtools.engine.shacl.model import Constraint, Context, FocusValues, PerValue, RawResult, Shape
from kgtools.engine.terms import Term


def _string(v: Term) -> str | None:
    """pySHACL's value_node_to_string (``None`` for a blank node)."""
    if isinstance(v, ox.BlankNode):
        return None
    return v.value


class PatternConstraint(PerValue):
    component = SH.PatternConstraintComponent

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        search = self.regex.search

        def check(v: Term) -> bool:
            text = _string(v)
            return text is not None and search(text) is not None

        return check


class LanguageIn(PerValue):
    component = SH.LanguageInConstraintComponent

    def __init__(self, languages: set[str]) -> None:
        self.languages = languages
        self.wildcard = "*" in languages

    def test(self, ctx: Context) -> Callable[[Term], bool]:
        languages, wildcard = self.languages, self.wildcard

        def check(v: Term) -> bool:
            lang = v.language if isinstance(v, ox.Literal) else None
            if not lang:
                return False
            low = lang.lower()
            return wildcard or low in languages or lang.split("-")[0].lower() in languages

        return check


class UniqueLang(Constraint):
    component = SH.UniqueLangConstraintComponent

    def run(self, ctx: Context, shape: Shape, fv: FocusValues, out: list[RawResult]) -> None:
        for focus, values in fv:
            if len(values) < 2:
                continue
            seen: set[str] = set()
            duplicates: set[str] = set()
            for v in values:
                if isinstance(v, ox.Literal) and v.language:
                    low = v.language.lower()
                    if low in seen:
                        duplicates.add(low)
                    seen.add(low)
            for _ in duplicates:
                out.append(RawResult(focus, None, self.component, shape))
