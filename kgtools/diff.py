"""What a later plan kept, dropped and added against an earlier one (``kg diff``).

Six aspects — headings, initiatives, facilities, programmes, partner kinds, themes — each read
from the built graph by one query in ``kgtools/sparql/diff/`` with the plan bound as a term
(never spliced into the text); the comparison is set operations here, on each row's ``key``:

* facilities, programmes, partner kinds and themes have IRIs of their own, shared by the plans
  that name them (``facility/131067/taito-designers-village`` in both 台東区 plans): the key is
  the IRI;
* headings belong to a round's overview and initiatives to their plan, so their IRIs differ
  from plan to plan: the key is the Japanese label (the source's words), which the query says.

``kg diff --municipality CODE`` compares every consecutive pair of the municipality's plans, in
the order of their first fiscal year (a municipality's whole history of renewals, not only its
last one). A plan known only by its approval (no initiative in the graph) is not compared:
the pair says so instead of reporting everything as dropped or added.

Own code, not a library: the comparison is set arithmetic on the queries' keys. rdflib's
``compare.graph_diff`` compares whole graphs triple by triple, which would report every
initiative as changed (each plan mints its own IRIs) and knows nothing of the aspects.

Example::

    >>> from kgtools.api import load                                   # doctest: +SKIP
    >>> kg = load()                                                    # doctest: +SKIP
    >>> [p.later.title for p in diff_municipality(kg.store, "131067")]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.term import Node

from kgtools.errors import (
    NothingToCompareError,
    UnknownMunicipalityCodeError,
    UnknownPlanError,
)
from kgtools.namespaces import DATA_GRAPH, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH

#: The aspects in output order, each the stem of its query in ``kgtools/sparql/diff/``.
ASPECTS = ("headings", "initiatives", "facilities", "programmes", "partner-kinds", "themes")
CHANGES = ("kept", "dropped", "added")
FORMATS = ("table", "json")
QUERIES = Path(__file__).resolve().parent / "sparql" / "diff"
#: The named graphs read: asserted (ontology, data) and inferred (the mentions, kinds of partner
#: derived from groups, labels of concepts).
GRAPHS = (ONTOLOGY_GRAPH, DATA_GRAPH, INFERRED_GRAPH)


@dataclass(frozen=True)
class PlanInfo:
    """A plan as the diff names it."""

    iri: str
    code: str
    municipality: str
    title: str | None
    first_fiscal_year: int | None
    last_fiscal_year: int | None
    initiatives: int

    @property
    def described(self) -> bool:
        """Whether the graph knows the plan's content (False: known only by its approval)."""
        return self.initiatives > 0

    def period(self) -> str:
        if self.first_fiscal_year is None:
            return "period not known"
        return f"FY{self.first_fiscal_year}–FY{self.last_fiscal_year or '?'}"

    def as_json(self) -> dict[str, Any]:
        return {
            "plan": self.iri,
            "code": self.code,
            "municipality": self.municipality,
            "title": self.title,
            "firstFiscalYear": self.first_fiscal_year,
            "lastFiscalYear": self.last_fiscal_year,
            "initiatives": self.initiatives,
        }


@dataclass(frozen=True)
class Item:
    """One heading, initiative, facility … on either side, matched by ``key``."""

    key: str
    ja: str | None
    en: str | None
    earlier: tuple[str, ...] = ()  # its IRIs in the earlier plan
    later: tuple[str, ...] = ()  # its IRIs in the later plan

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": {"ja": self.ja, "en": self.en},
            "earlier": list(self.earlier),
            "later": list(self.later),
        }


@dataclass
class AspectDiff:
    aspect: str
    kept: list[Item] = field(default_factory=list)
    dropped: list[Item] = field(default_factory=list)
    added: list[Item] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {change: [i.as_json() for i in getattr(self, change)] for change in CHANGES}


@dataclass
class PlanDiff:
    """The later plan against the earlier, per aspect (empty when not ``comparable``)."""

    earlier: PlanInfo
    later: PlanInfo
    aspects: list[AspectDiff]

    @property
    def comparable(self) -> bool:
        return self.earlier.described and self.later.described

    def as_json(self) -> dict[str, Any]:
        return {
            "earlier": self.earlier.as_json(),
            "later": self.later.as_json(),
            "comparable": self.comparable,
            "aspects": {a.aspect: a.as_json() for a in self.aspects},
        }


def _select(store: Any, name: str, bindings: Mapping[str, Node]) -> list[tuple[Any, ...]]:
    """Rows of ``kgtools/sparql/diff/NAME.rq`` over the asserted and inferred graphs."""
    from kgtools.query.library import load_query

    query = load_query(QUERIES / f"{name}.rq")
    result = store.query(query.text, dict(bindings), graphs=list(GRAPHS))
    return [tuple(row) for row in result]


def _text(term: Any) -> str | None:
    return None if term is None else str(term)


def _year(term: Any) -> int | None:
    try:
        return None if term is None else int(str(term)[:4])
    except ValueError:
        return None


def plan_iri(text: str) -> URIRef:
    """A plan named on the command line: an absolute IRI (``<…>`` optional) or one relative to
    the data's base (``plan/131067/2021``)."""
    given = text.strip().removeprefix("<").removesuffix(">").strip()
    bad = re.search(r'[\x00-\x20\x7f-\x9f<>"{}|^`\\\ud800-\udfff]', given)
    if not given or bad:
        what = f"the character {bad.group()!r}" if bad else "nothing"
        raise UnknownPlanError(
            f"{text!r} is not a plan IRI: it holds {what} — give an IRI such as "
            "plan/131067/2021 or <https://w3id.org/tokyo-industry-plans/id/plan/131067/2021>"
        )
    iri = given if ":" in given.split("/", 1)[0] else str(ID) + given.removeprefix("/")
    try:
        ox.NamedNode(iri)  # what the store would refuse when the IRI is bound in the query
    except ValueError as exc:
        raise UnknownPlanError(
            f"{text!r} is not a plan IRI ({exc}) — give an IRI such as plan/131067/2021"
        ) from None
    return URIRef(iri)


def plan_info(store: Any, plan: str | URIRef) -> PlanInfo:
    """The plan's code, municipality, title and period; :class:`UnknownPlanError` if the graph
    holds no such plan (the message lists the plans it holds)."""
    iri = plan if isinstance(plan, URIRef) else plan_iri(plan)
    rows = _select(store, "plan", {"plan": iri})
    if not rows:
        known = _known_plans(store)
        raise UnknownPlanError(
            f"unknown plan <{iri}>: the graph has no tip:Plan with that IRI — give one of "
            + ", ".join(known)
        )
    _, code, municipality, title, first, last, initiatives = rows[0]
    return PlanInfo(
        iri=str(iri),
        code=str(code),
        municipality=_text(municipality) or str(code),
        title=_text(title),
        first_fiscal_year=_year(first),
        last_fiscal_year=_year(last),
        initiatives=int(str(initiatives)),
    )


def _known_plans(store: Any, shown: int = 20) -> list[str]:
    plans = [str(p).removeprefix(str(ID)) for p, _ in _select(store, "plans", {})]
    more = len(plans) - shown
    return plans[:shown] + ([f"… and {more} more"] if more > 0 else [])


def _items(
    store: Any, aspect: str, plan: str
) -> dict[str, tuple[str | None, str | None, set[str]]]:
    found: dict[str, tuple[str | None, str | None, set[str]]] = {}
    for key, item, ja, en in _select(store, aspect, {"plan": URIRef(plan)}):
        known_ja, known_en, iris = found.get(str(key), (None, None, set()))
        iris.add(str(item))
        found[str(key)] = (known_ja or _text(ja), known_en or _text(en), iris)
    return found


def diff_plans(store: Any, earlier: str | URIRef, later: str | URIRef) -> PlanDiff:
    """What ``later`` kept, dropped and added against ``earlier`` (both plan IRIs)."""
    before = plan_info(store, earlier)
    after = plan_info(store, later)
    if before.iri == after.iri:
        raise NothingToCompareError(
            f"both plans are <{before.iri}>: give two different plans (earlier first)"
        )
    result = PlanDiff(before, after, [])
    for aspect in ASPECTS:
        change = AspectDiff(aspect)
        if result.comparable:
            old = _items(store, aspect, before.iri)
            new = _items(store, aspect, after.iri)
            for key in sorted(old.keys() | new.keys(), key=lambda k: (_label(old, new, k), k)):
                ja_old, en_old, iris_old = old.get(key, (None, None, set()))
                ja_new, en_new, iris_new = new.get(key, (None, None, set()))
                item = Item(
                    key,
                    ja_new or ja_old,
                    en_new or en_old,
                    tuple(sorted(iris_old)),
                    tuple(sorted(iris_new)),
                )
                bucket = (
                    change.kept
                    if key in old and key in new
                    else (change.dropped if key in old else change.added)
                )
                bucket.append(item)
        result.aspects.append(change)
    return result


def _label(old: Mapping[str, Any], new: Mapping[str, Any], key: str) -> str:
    ja = (new.get(key) or old.get(key) or (None,))[0]
    return ja or key


def diff_municipality(store: Any, code: str) -> list[PlanDiff]:
    """Every consecutive pair of the municipality's plans, by first fiscal year."""
    code = code.strip()
    counts = {
        str(c): (str(m or c), int(str(n))) for c, m, n in _select(store, "municipalities", {})
    }
    if code not in counts:
        known = ", ".join(
            f"{c} ({name}, {n} plan{'s' if n > 1 else ''})"
            for c, (name, n) in sorted(counts.items())
        )
        raise UnknownMunicipalityCodeError(
            f"unknown municipality code {code!r}: the graph has plans of {known}"
        )
    plans = [str(p) for p, _ in _select(store, "plans-of-municipality", {"code": Literal(code)})]
    if len(plans) < 2:
        name = counts[code][0]
        raise NothingToCompareError(
            f"{code} ({name}) has one plan in the graph (<{plans[0]}>): kg diff compares two — "
            "name two plans, or a municipality with several"
        )
    return [diff_plans(store, a, b) for a, b in pairwise(plans)]


# ------------------------------------------------------------------------------- output


def to_json(diffs: Sequence[PlanDiff]) -> str:
    """``{"pairs": [...]}``: each pair's plans, whether comparable, and per aspect the kept,
    dropped and added items (key, labels, IRIs on each side)."""
    return json.dumps({"pairs": [d.as_json() for d in diffs]}, ensure_ascii=False, indent=2) + "\n"


def to_table(diffs: Sequence[PlanDiff]) -> str:
    """One heading line per pair, then a table: aspect, change, label (ja), label (en)."""
    from kgtools.query.results import QueryResult

    parts = []
    for d in diffs:
        head = f"{_plan_line(d.earlier)} → {_plan_line(d.later)}"
        if not d.comparable:
            missing = [p for p in (d.earlier, d.later) if not p.described]
            why = "; ".join(f"<{p.iri}> is known only by its approval" for p in missing)
            parts.append(f"{head}\nnot compared: {why} (the graph holds no initiative of it)\n")
            continue
        rows: list[tuple[Node | None, ...]] = []
        counts = []
        for aspect in d.aspects:
            counts.append(
                f"{aspect.aspect} " + "/".join(str(len(getattr(aspect, c))) for c in CHANGES)
            )
            for change in CHANGES:
                for item in getattr(aspect, change):
                    rows.append(
                        (
                            Literal(aspect.aspect),
                            Literal(change),
                            Literal(item.ja or item.key),
                            Literal(item.en or ""),
                        )
                    )
        table = QueryResult("SELECT", ["aspect", "change", "ja", "en"], rows).serialize("table")
        parts.append(f"{head}\n{table}kept/dropped/added: {', '.join(counts)}\n")
    return "\n".join(parts)


def _plan_line(plan: PlanInfo) -> str:
    title = plan.title or "(title not known)"
    return f"{plan.municipality} {title} ({plan.period()})"


def render(diffs: Sequence[PlanDiff], fmt: str) -> str:
    if fmt == "json":
        return to_json(diffs)
    return to_table(diffs)
