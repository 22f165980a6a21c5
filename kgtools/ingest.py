"""``kg ingest``: a round's overview of approved plans (text) → one draft plan file per plan.

The Tokyo Metropolitan Government publishes each approval round's 「承認した地域産業活性化計画の
概要」 in one layout: per plan a header ``「title」（municipality）【計画期間：…】``, a
background-and-aim paragraph, numbered headings each followed by its item text (several items
separated by 、, each with its explanation in parentheses), and photo captions in between. This
module reads that text — as a PDF extractor writes it (full-width digits, lines broken in the
middle of words, captions standing where the page layout put them) or as a press page gives it
(one paragraph per line) — into a small model (:class:`Overview`), turns each plan into an rdflib
graph in the project's layout, and writes the drafts and a review report (``REVIEW.md``).

Why a parser of our own: the input is no general format (no markup, no tables a PDF-table library
could find); it is the page layout of one publisher, recognised by its own markers (「」（）【計画
期間：】, (１) or "1 " headings, the trailing space with which the extractor ends every text block).
A layout that does not match is refused with the line and what to fix (exit 2), never guessed.

How the text is read (every rule is also written in the review report where it matters):

* **Paragraphs.** PDF-extracted text ends every text block's last line with white space and breaks
  lines inside a block without it; blank lines mean nothing. So when any line ends with white space,
  a paragraph runs until a line that does; otherwise (text copied from a press page) every
  non-blank line is a paragraph. Lines are joined as the hand-made plan files do: only the line
  breaks and the white space at the start and end of each line are removed, nothing else.
  A file whose last paragraph never ends was cut short (:class:`TruncatedOverviewError`).
* **Plans.** A paragraph ``「title」（municipality）【計画期間：period】`` starts a plan; the next
  paragraph is its background; then headings, each followed by one paragraph of item text.
  Headings are ``(１)…`` (the round's fixed headings: the same numbers and texts in every plan,
  ``<heading/{round}/{n}>``) or ``1 …`` (free headings of one plan, as in the FY2015 別紙,
  ``<plan/{code}/{fy}/heading/{n}>``); they must run 1, 2, 3 … in every plan.
* **Items.** Under fixed headings the text is split at 、 outside brackets into items — unless,
  outside brackets, it holds や, など or 等: then it is one sentence that lists things within itself
  (台東区 FY2021) and stays one item. Under free headings the text under a heading is one item.
  An item's Japanese label is its text before a final parenthetical explanation.
* **Programmes.** A name ending in 事業, 補助金, 助成, 支援, プロジェクト or 講座, with no を or が
  (a clause, not a name), found as an item's name, as an entry of its final parentheses, or quoted
  in 「」, is a programme (``tip:Subsidy`` when the name says 補助金/助成/補助事業 or the item's own
  explanation says 補助, else ``tip:SupportProgramme``).
* **Captions.** Every other paragraph inside a plan is a caption; a caption that is only a
  parenthesis continues the caption before it; a line of 画像 markers (a press page's images) says
  how many captions the next line holds. A caption goes to the plan whose text shares the longest
  run of at least :data:`EVIDENCE_RUN` characters with it, when that plan is the only one with
  that longest run; otherwise to the plan in whose part of the text it stands. Captions with
  equal evidence for two plans are left to a person, and so is any text before the first plan
  header (the review report lists both).

Limits: a file cut right after a complete item of its only (or first) plan reads as a shorter
overview — nothing in the text tells them apart; later plans must have every heading the first has.

What a person must still add is marked so that ``kg validate`` lists it: every node but the
period (whose ``FY2021–FY2023`` follows from the years) lacks its ``@en`` label, which the label
shapes ask for, and a ``skos:editorialNote`` on a node names the
review points (themes, partner kinds, facilities, events, programme slugs …), which the shape
``tips:ReviewNoteShape`` reports until the note is deleted. The approval has no approver: the
overview does not say who approved the plans, so the approval shape asks for it. Nothing that the
text does not say is written.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, XSD

from kgtools.errors import (
    EmptyOverviewError,
    InputTooLargeError,
    MissingInputError,
    OutputPathError,
    OverviewEncodingError,
    OverviewLayoutError,
    PlanPeriodError,
    SourceLocation,
    TruncatedOverviewError,
    UnknownMunicipalityError,
    UsageError,
)
from kgtools.namespaces import ID, TIP

__all__ = [
    "Overview",
    "PlanText",
    "draft_graphs",
    "ingest",
    "municipalities",
    "parse_overview",
    "plan_graph",
    "read_overview",
]

#: Largest overview file read (an overview is a few pages of text).
MAX_OVERVIEW_SIZE = 8 * 1024 * 1024
#: A caption is attributed by evidence when it shares a run of this many characters with a plan.
EVIDENCE_RUN = 6
#: Above this (caption characters × plan-text characters) captions go by position only: a bound
#: on the work for hostile input (a real overview needs about a million).
EVIDENCE_BUDGET = 200_000_000
#: The review report's file name in the output folder.
REPORT_NAME = "REVIEW.md"
#: The property that links an approval and a round's fixed headings to the round, until the
#: ontology has one of its own (issue 17).
ROUND_LINK = DCTERMS.isPartOf
#: Sources of the period dates (地方自治法第208条), as in the hand-made files.
FISCAL_YEAR_SOURCE = ID["source/local-autonomy-act-art208"]
#: A round's id, as the rounds in data/rounds/ are named: its press date as the release states
#: it (``2015-06``, ``2025-03-24``), or ``fyYYYY`` for a round known by its fiscal year.
ROUND_ID = re.compile(r"^(?:fy(\d{4})|(\d{4})-(\d{2})(?:-(\d{2}))?)$")
SOURCE_SLUG = re.compile(r"^[0-9a-z][0-9a-z-]{0,80}$")

_DIGITS = "0-9０-９"
_HEADER = re.compile(
    r"^「(?P<title>.+)」\s*[（(](?P<municipality>[^（()）]+)[）)]\s*(?P<rest>.*)$", re.S
)
_PERIOD_FIELD = re.compile(r"【\s*計画期間\s*[：:]\s*(?P<period>[^】]*)】")
_ERA = r"(?:昭和|平成|令和)"
_YEAR = rf"(?:[{_DIGITS}]+|元)"
_PERIOD = re.compile(
    rf"^(?P<era1>{_ERA})\s*(?P<y1>{_YEAR})\s*(?:年度)?\s*[～〜~\-－―–—]\s*"
    rf"(?P<era2>{_ERA})?\s*(?P<y2>{_YEAR})\s*年度$"
)
_ERA_START = {"昭和": 1925, "平成": 1988, "令和": 2018}
_ERA_LAST = {"昭和": 64, "平成": 31}
_FIXED_HEADING = re.compile(rf"^[(（]\s*(?P<n>[{_DIGITS}]{{1,2}})\s*[)）]\s*(?P<text>.*)$", re.S)
_FREE_HEADING = re.compile(rf"^(?P<n>[{_DIGITS}]{{1,2}})[\s　]+(?P<text>\S.*)$", re.S)
_IMAGES = re.compile(r"^画像(?:[\s　]+画像)*$")
_PARENTHESIS = re.compile(r"^[（(].*[)）]$", re.S)
_OPEN, _CLOSE = "（(「『【［[", "）)」』】］]"
_PROGRAMME_END = ("事業", "補助金", "助成", "支援", "プロジェクト", "講座")
_SUBSIDY_WORDS = ("補助金", "助成", "補助事業")
_SENTENCE_MARKS = ("や", "など", "等")
_EDITION = re.compile(rf"^【第(?P<n>[{_DIGITS}]+)次】")


# -- the model ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """Text joined from one or more lines; ``line`` is the first line's number (1-based)."""

    text: str
    line: int
    last_line: int


@dataclass(frozen=True)
class Heading:
    number: int
    text: str
    line: int


@dataclass(frozen=True)
class Item:
    """One initiative: its heading number, 1-based position under it, verbatim text."""

    heading: int
    ordinal: int
    text: str
    line: int
    kept_whole: str = ""  # why a text that holds 、 was kept as one item


@dataclass
class Caption:
    text: str
    line: int
    block: int | None  # the plan in whose part of the text it stands (None: before any plan)
    plan: int | None = None  # the plan it is attributed to
    reason: str = ""


@dataclass
class PlanText:
    title: str
    municipality: str
    period_text: str
    first_fy: int
    last_fy: int
    line: int
    background: str = ""
    headings: list[Heading] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    last_line: int = 0
    background_end: int = 0

    @property
    def edition(self) -> tuple[int, str] | None:
        match = _EDITION.match(self.title)
        if match is None:
            return None
        return int(match["n"]), match.group(0)[1:-1]


@dataclass
class Overview:
    path: Path
    plans: list[PlanText]
    captions: list[Caption]
    fixed_headings: bool
    pdf_layout: bool
    unplaced: list[Paragraph]


# -- reading --------------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def read_overview(path: Path) -> str:
    """The overview's text; typed errors for a missing, huge, binary or non-UTF-8 file."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise MissingInputError(SourceLocation(path), f"is {what}, not an overview text file")
        if info.st_size > MAX_OVERVIEW_SIZE:
            raise InputTooLargeError(
                SourceLocation(path),
                f"is {info.st_size:,} bytes; an overview is at most {MAX_OVERVIEW_SIZE:,}",
                "give the overview's text, not a whole document collection",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise MissingInputError(
            SourceLocation(path), f"cannot be read ({exc.strerror or exc})", "check the path"
        ) from None
    if data.startswith(b"%PDF"):
        raise OverviewEncodingError(
            SourceLocation(path, 1, 1),
            "is a PDF; kg ingest reads the overview's text",
            "extract the text first (e.g. copy it from the PDF viewer into a UTF-8 .txt file)",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        before = data[line_start : exc.start].decode("utf-8", "replace")
        raise OverviewEncodingError(
            SourceLocation(path, data.count(b"\n", 0, exc.start) + 1, len(before) + 1),
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at byte {exc.start})",
            "save the text as UTF-8 (a Shift_JIS file: iconv -f SHIFT_JIS -t UTF-8)",
        ) from None
    control = _CONTROL.search(text)
    if control is not None:
        start = control.start()
        line_start = text.rfind("\n", 0, start) + 1
        raise OverviewEncodingError(
            SourceLocation(path, text.count("\n", 0, start) + 1, start - line_start + 1),
            f"holds the control character U+{ord(control.group()):04X}: this is not a text file",
            "give the overview's extracted text",
        )
    return text


def paragraphs(text: str, path: Path) -> tuple[list[Paragraph], bool]:
    """The text's paragraphs, and whether it is laid out as PDF-extracted text (see module)."""
    lines = [line.rstrip("\r") for line in text.split("\n")]
    pdf_layout = any(line.strip() and line != line.rstrip() for line in lines)
    found: list[Paragraph] = []
    pieces: list[str] = []
    first = 0
    for number, line in enumerate(lines, 1):
        piece = line.strip()
        if not piece:
            continue
        if not pieces:
            first = number
        pieces.append(piece)
        if not pdf_layout or line != line.rstrip():
            found.append(Paragraph("".join(pieces), first, number))
            pieces = []
    if pieces:
        last = max(n for n, line in enumerate(lines, 1) if line.strip())
        raise TruncatedOverviewError(
            SourceLocation(path, last),
            f"the text ends inside the paragraph that begins at line {first} (in PDF-extracted "
            "text every paragraph's last line ends with a space): the file looks cut short",
            "give the whole overview text (or end the last paragraph's line with a space)",
        )
    return found, pdf_layout


def _era_year(era: str, number: str, path: Path, line: int, period: str) -> int:
    year = 1 if number == "元" else int(number)
    if year < 1 or year > _ERA_LAST.get(era, 99):
        raise PlanPeriodError(
            SourceLocation(path, line),
            f"the period 「{period}」 names {era}{number}年度, which does not exist",
            "correct the year",
        )
    return _ERA_START[era] + year


def fiscal_years(period: str, path: Path, line: int) -> tuple[int, int]:
    """First and last fiscal year (the Gregorian year each starts in) of a 計画期間, e.g.
    ``令和３年度～令和５年度`` → (2021, 2023), ``平成26~28年度`` → (2014, 2016)."""
    match = _PERIOD.match(period.strip())
    if match is None:
        raise PlanPeriodError(
            SourceLocation(path, line),
            f"cannot read the plan period 「{period}」 as fiscal years",
            "write it as 令和３年度～令和５年度 or 平成26~28年度",
        )
    first = _era_year(match["era1"], match["y1"], path, line, period)
    last = _era_year(match["era2"] or match["era1"], match["y2"], path, line, period)
    if last < first:
        raise PlanPeriodError(
            SourceLocation(path, line),
            f"the plan period 「{period}」 ends before it begins",
            "correct the years",
        )
    return first, last


def _header(paragraph: Paragraph, path: Path) -> PlanText | None:
    match = _HEADER.match(paragraph.text)
    if match is None:
        return None
    field_match = _PERIOD_FIELD.search(match["rest"])
    if field_match is None:
        raise PlanPeriodError(
            SourceLocation(path, paragraph.line),
            f"the plan header 「{match['title']}」（{match['municipality']}） has no "
            "【計画期間：…】",
            "add the period as the overview prints it, e.g. 【計画期間：令和３年度～令和５年度】",
        )
    period = field_match["period"].strip()
    first, last = fiscal_years(period, path, paragraph.line)
    return PlanText(
        title=match["title"].strip(),
        municipality=match["municipality"].strip(),
        period_text=period,
        first_fy=first,
        last_fy=last,
        line=paragraph.line,
    )


def _heading(
    paragraph: Paragraph, fixed: bool | None, expected: int
) -> tuple[Heading, bool] | None:
    """The paragraph as heading number ``expected`` (in the layout ``fixed``, when known)."""
    for is_fixed, pattern in ((True, _FIXED_HEADING), (False, _FREE_HEADING)):
        if fixed is not None and fixed != is_fixed:
            continue
        match = pattern.match(paragraph.text)
        if match and int(match["n"]) == expected and match["text"].strip():
            return Heading(expected, match["text"].strip(), paragraph.line), is_fixed
    return None


def parse_overview(text: str, path: Path) -> Overview:
    """The overview's plans, headings, items and captions (see the module docstring)."""
    found, pdf_layout = paragraphs(text, path)
    if not found:
        raise EmptyOverviewError(
            SourceLocation(path, 1), "the file holds no text", "give the overview's text"
        )
    plans: list[PlanText] = []
    captions: list[Caption] = []
    unplaced: list[Paragraph] = []
    fixed: bool | None = None
    state = "preamble"
    images = 0
    after_caption = False
    for paragraph in found:
        plan = _header(paragraph, path)
        if plan is not None:
            if plans:
                _finish(plans[-1], state, path)
            plans.append(plan)
            plan.last_line = paragraph.last_line
            state, images, after_caption = "background", 0, False
            continue
        if state == "preamble":
            if not _IMAGES.match(paragraph.text):
                unplaced.append(paragraph)
            continue
        current = plans[-1]
        current.last_line = paragraph.last_line
        expected = current.headings[-1].number + 1 if current.headings else 1
        if state == "background":
            if _heading(paragraph, fixed, 1) is not None:
                raise OverviewLayoutError(
                    SourceLocation(path, paragraph.line),
                    f"the plan 「{current.title}」 (line {current.line}) has no background "
                    "paragraph before its first heading",
                    "give the text between the plan header and the heading (１)",
                )
            current.background = paragraph.text
            current.background_end = paragraph.last_line
            state = "body"
            continue
        if state == "item":
            heading = current.headings[-1]
            if _heading(paragraph, fixed, expected) is not None or (
                fixed and _FIXED_HEADING.match(paragraph.text)
            ):
                raise OverviewLayoutError(
                    SourceLocation(path, paragraph.line),
                    f"heading {heading.number} (line {heading.line}) has no item text before "
                    "the next heading",
                    "give the item text under the heading",
                )
            current.items.extend(_items(heading, paragraph, bool(fixed)))
            state, after_caption = "body", False
            continue
        found_heading = _heading(paragraph, fixed, expected)
        if found_heading is not None:
            fixed = found_heading[1] if fixed is None else fixed
            current.headings.append(found_heading[0])
            state, images, after_caption = "item", 0, False
            continue
        wrong = _FIXED_HEADING.match(paragraph.text) if fixed else None
        if wrong is not None:
            raise OverviewLayoutError(
                SourceLocation(path, paragraph.line),
                f"heading ({wrong['n']}) where heading ({expected}) was expected in the plan "
                f"「{current.title}」 (line {current.line})",
                "give the headings in order, each with its item text",
            )
        # A caption, a line of image markers, or a parenthesis that continues a caption.
        if _IMAGES.match(paragraph.text):
            images = len(paragraph.text.split())
            continue
        block = len(plans) - 1
        if images:
            parts = paragraph.text.split()
            texts = parts if len(parts) == images else [paragraph.text]
            captions.extend(Caption(t, paragraph.line, block) for t in texts)
            images, after_caption = 0, True
            continue
        if after_caption and _PARENTHESIS.match(paragraph.text):
            captions[-1].text += paragraph.text
            continue
        captions.append(Caption(paragraph.text, paragraph.line, block))
        after_caption = True
    if not plans:
        first = found[0]
        raise OverviewLayoutError(
            SourceLocation(path, first.line),
            f"no plan header found (the first text is 「{first.text[:40]}」): an overview "
            "starts each plan with 「title」（municipality）【計画期間：…】",
            "give the text of an overview of approved plans",
        )
    _finish(plans[-1], state, path, at_end=True)
    if fixed:
        _check_fixed_headings(plans, path)
    overview = Overview(path, plans, captions, bool(fixed), pdf_layout, unplaced)
    _attribute(overview)
    return overview


def _finish(plan: PlanText, state: str, path: Path, at_end: bool = False) -> None:
    if state == "body" and not plan.headings and at_end and plan.last_line == plan.background_end:
        raise TruncatedOverviewError(
            SourceLocation(path, plan.last_line),
            f"the text ends after the background of the plan 「{plan.title}」 (line {plan.line}), "
            "before its headings: the file looks cut short",
            "give the plan's whole text (headings and items)",
        )
    if state == "background":
        raise TruncatedOverviewError(
            SourceLocation(path, plan.line),
            f"the plan 「{plan.title}」 has no background paragraph and no headings",
            "give the plan's whole text (background, headings and items)",
        )
    if state == "item":
        heading = plan.headings[-1]
        raise TruncatedOverviewError(
            SourceLocation(path, heading.line),
            f"heading {heading.number} of the plan 「{plan.title}」 has no item text",
            "give the item text under the heading",
        )
    if not plan.headings:
        raise OverviewLayoutError(
            SourceLocation(path, plan.line),
            f"the plan 「{plan.title}」 has no numbered headings (（１）… or 1 …) after its "
            "background",
            "give the plan's headings and items, or check that its layout is an overview's",
        )


def _check_fixed_headings(plans: list[PlanText], path: Path) -> None:
    """Fixed headings: every plan has the same numbers with the same texts."""
    model = plans[0]
    expected = [(h.number, h.text) for h in model.headings]
    for plan in plans[1:]:
        got = [(h.number, h.text) for h in plan.headings]
        if got == expected:
            continue
        for index, (number, text) in enumerate(expected):
            if index >= len(got):
                raise TruncatedOverviewError(
                    SourceLocation(path, plan.last_line or plan.line),
                    f"the plan 「{plan.title}」 (line {plan.line}) stops after heading "
                    f"{got[-1][0]}; the round's plans have headings 1–{len(expected)}",
                    "give the plan's whole text",
                )
            if got[index][1] != text:
                raise OverviewLayoutError(
                    SourceLocation(path, plan.headings[index].line),
                    f"heading ({number}) reads 「{got[index][1]}」 but 「{text}」 in the plan "
                    f"at line {model.line}: the round's fixed headings must read the same",
                    "correct the heading's text",
                )
        extra = plan.headings[len(expected)]
        raise OverviewLayoutError(
            SourceLocation(path, extra.line),
            f"heading ({extra.number}) is not one of the round's headings "
            f"(1–{len(expected)} in the plan at line {model.line})",
            "check the heading numbers",
        )


# -- items and programmes ------------------------------------------------------------------------


def _top_level(text: str) -> list[tuple[int, str]]:
    """(depth, char) for each character; brackets count as inside (depth ≥ 1)."""
    depth = 0
    out = []
    for char in text:
        if char in _OPEN:
            depth += 1
            out.append((depth, char))
        elif char in _CLOSE:
            out.append((depth, char))
            depth = max(0, depth - 1)
        else:
            out.append((depth, char))
    return out


def split_top(text: str, separator: str = "、") -> list[str]:
    """``text`` split at ``separator`` outside brackets."""
    parts: list[str] = []
    current: list[str] = []
    for depth, char in _top_level(text):
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def outside_brackets(text: str) -> str:
    return "".join(char for depth, char in _top_level(text) if depth == 0)


def _items(heading: Heading, paragraph: Paragraph, fixed: bool) -> list[Item]:
    parts = split_top(paragraph.text)
    sentence = any(mark in outside_brackets(paragraph.text) for mark in _SENTENCE_MARKS)
    if fixed and len(parts) > 1 and not sentence and all(p.strip() for p in parts):
        return [Item(heading.number, n, part, paragraph.line) for n, part in enumerate(parts, 1)]
    why = ""
    if len(parts) > 1:
        why = (
            "under a free heading the text is one item"
            if not fixed
            else "it holds や, など or 等 outside brackets, so it reads as one sentence"
            if sentence
            else "a part between its 、 is empty"
        )
    return [Item(heading.number, 1, paragraph.text, paragraph.line, kept_whole=why)]


def name_and_explanation(text: str) -> tuple[str, str]:
    """An item's name (the text before a final parenthetical explanation) and the explanation."""
    if not text or text[-1] not in "）)":
        return text, ""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        char = text[index]
        if char in _CLOSE:
            depth += 1
        elif char in _OPEN:
            depth -= 1
            if depth == 0:
                if index == 0 or char not in "（(":
                    return text, ""
                return text[:index], text[index + 1 : -1]
    return text, ""


def is_programme_name(name: str) -> bool:
    bare = outside_brackets(name)
    return (
        bool(name)
        and name.endswith(_PROGRAMME_END)
        and "を" not in bare
        and "が" not in bare
        and "。" not in bare
    )


def programmes(item: Item) -> list[tuple[str, bool]]:
    """The programmes an item names, in order: (name, is a subsidy)."""
    name, explanation = name_and_explanation(item.text)
    found: list[tuple[str, bool]] = []
    if is_programme_name(name):
        subsidy = any(w in name for w in _SUBSIDY_WORDS) or "補助" in explanation
        found.append((name, subsidy))
    for entry in split_top(explanation) if explanation else []:
        if is_programme_name(entry):
            found.append((entry, any(w in entry for w in _SUBSIDY_WORDS)))
    for quoted in re.findall(r"「([^「」]+)」", item.text):
        if is_programme_name(quoted):
            found.append((quoted, any(w in quoted for w in _SUBSIDY_WORDS)))
    unique: dict[str, bool] = {}
    for programme, subsidy in found:
        unique.setdefault(programme, subsidy)
    return list(unique.items())


def other_names(item: Item) -> list[str]:
    """Entries of the item's parentheses that are names but not programmes (a facility, an
    event …: for a person to place)."""
    _, explanation = name_and_explanation(item.text)
    names = (
        [e for e in split_top(explanation) if e and not is_programme_name(e)] if explanation else []
    )
    return [e for e in names if "を" not in outside_brackets(e) and "が" not in outside_brackets(e)]


# -- captions -------------------------------------------------------------------------------------


def _plan_text(plan: PlanText) -> str:
    return "\n".join([plan.title, plan.background, *(item.text for item in plan.items)])


def shared_run(caption: str, text: str, minimum: int = 1) -> str:
    """The longest run of ``caption``'s characters that ``text`` also holds (the first such
    run); ``""`` when no run of ``minimum`` characters is shared.

    A binary search over the run's length, each step a substring search in C: at most about
    ``len(caption) · log(len(caption)) · len(text)`` character steps whatever the input, and one
    pass of ``len(caption)`` searches when nothing of ``minimum`` length is shared (the usual
    case). A longest-common-substring table in Python would take that many Python steps instead.
    """

    def run_of(size: int) -> str | None:
        starts = range(len(caption) - size + 1)
        return next((caption[i : i + size] for i in starts if caption[i : i + size] in text), None)

    first = run_of(minimum) if minimum <= len(caption) else None
    if first is None:
        return ""
    low, high, found = minimum, len(caption), first
    while low < high:
        size = (low + high + 1) // 2
        hit = run_of(size)
        if hit is None:
            high = size - 1
        else:
            low, found = size, hit
    return found


def _attribute(overview: Overview) -> None:
    texts = [_plan_text(plan) for plan in overview.plans]
    work = sum(len(c.text) for c in overview.captions) * sum(len(t) for t in texts)
    by_evidence = work <= EVIDENCE_BUDGET
    for caption in overview.captions:
        runs = [shared_run(caption.text, t, EVIDENCE_RUN) if by_evidence else "" for t in texts]
        best = max(len(run) for run in runs)
        leaders = [index for index, run in enumerate(runs) if len(run) == best]
        if best >= EVIDENCE_RUN and len(leaders) == 1:
            caption.plan = leaders[0]
            where = "" if leaders[0] == caption.block else " (it stands in another plan's part)"
            caption.reason = (
                f"by evidence: shares 「{runs[leaders[0]]}」 with this plan's text{where}"
            )
        elif best >= EVIDENCE_RUN:
            caption.reason = (
                "not attributed: it shares runs of the same length with several plans ("
                + ", ".join(overview.plans[i].municipality for i in leaders)
                + ")"
            )
        elif caption.block is None:
            caption.reason = "not attributed: it stands before the first plan"
        else:
            caption.plan = caption.block
            caption.reason = "by position only: it stands in this plan's part of the text" + (
                "" if by_evidence else " (the text is too large to compare captions with plans)"
            )


# -- the graph ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    english: str | None


def municipalities(graph: Graph) -> dict[str, Municipality]:
    """Japanese name → municipality, from a graph of ``local-governments.ttl``."""
    found: dict[str, Municipality] = {}
    for node, code in graph.subject_objects(TIP.localGovernmentCode):
        labels = list(graph.objects(node, RDFS.label))
        english = next((str(x) for x in labels if getattr(x, "language", None) == "en"), None)
        for label in labels:
            if isinstance(label, Literal) and label.language == "ja":
                found[str(label)] = Municipality(str(code), str(label), english)
    return found


def file_stem(municipality: Municipality, first_fy: int) -> str:
    """``{code}-{fy}-{romaji}``: the romaji from the English label (``Taito City`` → ``taito``);
    where there is none, ``plan`` (stable: the code and year already identify the plan)."""
    words = re.sub(r"[^a-z0-9]+", " ", (municipality.english or "").lower()).split()
    while words and words[-1] in {"city", "ward", "town", "village", "special"}:
        words.pop()
    romaji = "-".join(words) or "plan"
    return f"{municipality.code}-{first_fy}-{romaji}"


def _ja(text: str) -> Literal:
    return Literal(text, lang="ja")


def _note(graph: Graph, node: URIRef, text: str) -> None:
    graph.add((node, SKOS.editorialNote, Literal("kg ingest: " + text, lang="en")))


def programme_iri(code: str, name: str) -> URIRef:
    """A stable draft IRI: the same name always gives the same IRI (a person renames the slug)."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]
    return ID[f"programme/{code}/draft-{digest}"]


def heading_iri(round_id: str, plan_iri: str, number: int, fixed: bool) -> URIRef:
    if fixed:
        return ID[f"heading/{round_id}/{number}"]
    return URIRef(f"{plan_iri}/heading/{number}")


def plan_graph(
    plan: PlanText,
    municipality: Municipality,
    *,
    round_id: str,
    source: URIRef,
    fixed_headings: bool,
    captions: Sequence[Caption] = (),
) -> Graph:
    """One plan's draft graph (see the module docstring for what is and is not in it)."""
    g = Graph()
    code, fy = municipality.code, plan.first_fy
    base = f"plan/{code}/{fy}"
    node, period, approval = ID[base], ID[f"{base}/period"], ID[f"{base}/approval"]
    g.add((node, RDF.type, TIP.Plan))
    g.add((node, RDFS.label, _ja(plan.title)))
    g.add((node, DCTERMS.title, _ja(plan.title)))
    g.add((node, TIP.municipality, ID[f"local-government/{code}"]))
    g.add((node, TIP.period, period))
    g.add((node, TIP.hasApproval, approval))
    edition = plan.edition
    if edition is not None:
        g.add((node, TIP.edition, Literal(edition[0])))
        g.add((node, TIP.editionLabel, _ja(edition[1])))
    g.add((node, TIP.background, _ja(plan.background)))
    g.add((node, DCTERMS.source, source))
    _note(
        g,
        node,
        "choose the themes, target segments, partner kinds and focus industry the background "
        "names (tip:theme, tip:targetSegment, tip:involvesPartnerKind, tip:focusIndustry from "
        "data/concepts.ttl) and the aims, people and partner groups it names; add the English "
        "title; then delete this note",
    )

    g.add((period, RDF.type, TIP.PlanPeriod))
    g.add((period, RDFS.label, _ja(plan.period_text)))
    g.add((period, RDFS.label, Literal(f"FY{plan.first_fy}–FY{plan.last_fy}", lang="en")))
    g.add((period, TIP.firstFiscalYear, ID[f"fiscal-year/{plan.first_fy}"]))
    g.add((period, TIP.lastFiscalYear, ID[f"fiscal-year/{plan.last_fy}"]))
    g.add((period, TIP.startDate, Literal(f"{plan.first_fy}-04-01", datatype=XSD.date)))
    g.add((period, TIP.endDate, Literal(f"{plan.last_fy + 1}-03-31", datatype=XSD.date)))
    g.add((period, DCTERMS.source, source))
    g.add((period, DCTERMS.source, FISCAL_YEAR_SOURCE))

    g.add((approval, RDF.type, TIP.Approval))
    g.add((approval, ROUND_LINK, ID[f"round/{round_id}"]))
    g.add((approval, DCTERMS.source, source))

    if not fixed_headings:
        for heading in plan.headings:
            h = heading_iri(round_id, str(node), heading.number, False)
            g.add((h, RDF.type, TIP.Heading))
            g.add((h, SKOS.inScheme, ID["scheme/heading"]))
            g.add((h, SKOS.notation, Literal(str(heading.number))))
            g.add((h, SKOS.prefLabel, _ja(heading.text)))
            g.add((h, DCTERMS.source, source))

    for item in plan.items:
        initiative = ID[f"{base}/initiative/{item.heading}-{item.ordinal}"]
        name, _ = name_and_explanation(item.text)
        g.add((initiative, RDF.type, TIP.Initiative))
        g.add((initiative, TIP.partOfPlan, node))
        g.add(
            (
                initiative,
                TIP.heading,
                heading_iri(round_id, str(node), item.heading, fixed_headings),
            )
        )
        g.add((initiative, TIP.ordinal, Literal(item.ordinal)))
        g.add((initiative, RDFS.label, _ja(name)))
        g.add((initiative, TIP.originalText, _ja(item.text)))
        g.add((initiative, DCTERMS.source, source))
        for programme, subsidy in programmes(item):
            p = programme_iri(code, programme)
            g.add((initiative, TIP.programme, p))
            g.add((p, RDF.type, TIP.Subsidy if subsidy else TIP.SupportProgramme))
            g.add((p, RDFS.label, _ja(programme)))
            g.add((p, DCTERMS.source, source))
            _note(
                g,
                p,
                "rename the draft slug to lower-case ASCII words (a romanisation or translation), "
                "check tip:Subsidy or tip:SupportProgramme, and set tip:operatedBy only where a "
                "source says who runs it; then delete this note",
            )
        point = (
            "choose the themes, target segments and partner kinds this item names, link the "
            "facilities, events and partner groups it names"
        )
        if item.kept_whole:
            point += (
                f"; the text holds 、 but was kept as one item ({item.kept_whole}) — split it "
                "if it lists several, and shorten the label to a verbatim excerpt"
            )
        _note(g, initiative, point + "; then delete this note")

    for index, caption in enumerate(captions, 1):
        illustration = ID[f"{base}/illustration/draft-{index}"]
        g.add((node, TIP.hasIllustration, illustration))
        g.add((illustration, RDF.type, TIP.Illustration))
        g.add((illustration, RDFS.label, _ja(caption.text)))
        g.add((illustration, TIP.caption, _ja(caption.text)))
        g.add((illustration, DCTERMS.source, source))
        _note(
            g,
            illustration,
            f"attributed {caption.reason}; check it, give the slug a name, and say what it "
            "depicts (tip:depicts: an event, place, programme or the future vision); then delete "
            "this note",
        )
    return g


def headings_graph(overview: Overview, round_id: str, source: URIRef) -> Graph:
    """The round's fixed headings as the overview prints them (for a round not yet in data/)."""
    g = Graph()
    for heading in overview.plans[0].headings:
        h = ID[f"heading/{round_id}/{heading.number}"]
        g.add((h, RDF.type, TIP.Heading))
        g.add((h, ROUND_LINK, ID[f"round/{round_id}"]))
        g.add((h, SKOS.inScheme, ID["scheme/heading"]))
        g.add((h, SKOS.notation, Literal(str(heading.number))))
        g.add((h, SKOS.prefLabel, _ja(heading.text)))
        g.add((h, DCTERMS.source, source))
    return g


# -- writing --------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    out_dir: Path
    files: list[str]
    plans: int
    review_points: int


def _turtle(graph: Graph, header: Iterable[str]) -> str:
    graph.bind("tip", str(TIP))
    graph.bind("dcterms", str(DCTERMS))
    graph.bind("skos", str(SKOS))
    body = graph.serialize(format="turtle")
    return "".join(f"# {line}\n" if line else "#\n" for line in header) + "\n" + body


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise OutputPathError(
            f"{out_dir}: exists and is not an empty folder — give a new folder for the drafts "
            "(kg ingest never mixes its drafts with other files)"
        )
    if not out_dir.parent.is_dir():
        raise OutputPathError(
            f"{out_dir}: its parent folder {out_dir.parent} does not exist — create it first"
        )


def check_round_id(round_id: str) -> None:
    """Raise :class:`UsageError` unless ``round_id`` is a press date that exists (``2015-06``,
    ``2025-03-24``) or ``fyYYYY``."""
    import datetime

    found = ROUND_ID.match(round_id)
    try:
        if found and not found[1]:
            datetime.date(int(found[2]), int(found[3]), int(found[4] or 1))
    except ValueError:
        found = None
    if not found:
        raise UsageError(
            f"--round {round_id!r}: give the round's id as its press date (2015-06 or "
            "2025-03-24, a date that exists) or as fy and the fiscal year (fy2021)"
        )


def ingest(
    overview_path: Path,
    round_id: str,
    out_dir: Path,
    *,
    data_dir: Path,
    source: str | None = None,
) -> IngestResult:
    """Read ``overview_path`` and write the drafts and ``REVIEW.md`` into the new folder
    ``out_dir``: all or nothing (the files are written into a temporary folder beside it, which
    is renamed when every file is complete)."""
    check_round_id(round_id)
    slug = f"overview-{round_id}" if source is None else source  # (an empty one is refused)
    if not SOURCE_SLUG.match(slug):
        raise UsageError(f"--source {slug!r}: give the slug of <source/…> (lower-case, '-')")
    _check_out_dir(out_dir)
    overview = parse_overview(read_overview(overview_path), overview_path)

    from kgtools.load.reference import load_files

    shared = load_files(sorted(p for p in data_dir.glob("*.ttl") if p.is_file()))
    review = _Review(overview, round_id, slug, shared)
    drafts = draft_graphs(
        overview, municipalities(shared), round_id=round_id, source=slug, data_name=data_dir.name
    )
    outputs: dict[str, str] = {}
    for name, (plan, municipality, graph) in drafts.items():
        header = [
            f"DRAFT written by `kg ingest` from {overview_path.name} (lines {plan.line}–"
            f"{plan.last_line}), round <round/{round_id}> — not reviewed yet.",
            f"「{plan.title}」 ({plan.municipality}, {plan.period_text}).",
            "Japanese text is verbatim from the source; only the PDF's line breaks and line "
            "indentation are removed.",
            f"A person must still add what `kg validate` lists and {REPORT_NAME} explains "
            "(English labels, themes, partner kinds …).",
        ]
        outputs[name] = _turtle(graph, header)
        captions = [c for c in overview.captions if c.plan == overview.plans.index(plan)]
        review.plan(plan, municipality, name, graph, captions)
    source_iri = ID[f"source/{slug}"]
    if overview.fixed_headings and not review.headings_known():
        name = f"headings-{round_id}.ttl"
        outputs[name] = _turtle(
            headings_graph(overview, round_id, source_iri),
            [
                f"DRAFT written by `kg ingest`: the fixed headings of round <round/{round_id}>'s "
                "overview, as it prints them.",
                "Move them to data/concepts.ttl (with English labels and definitions).",
            ],
        )
    outputs[REPORT_NAME] = review.text(outputs)
    _write_all(out_dir, outputs)
    return IngestResult(out_dir, sorted(outputs), len(overview.plans), review.points)


def draft_graphs(
    overview: Overview,
    known: dict[str, Municipality],
    *,
    round_id: str,
    source: str,
    data_name: str = "data",
) -> dict[str, tuple[PlanText, Municipality, Graph]]:
    """File name → (plan, municipality, draft graph) for every plan of ``overview``; an unknown
    municipality or a plan listed twice is an error naming the plan's line."""
    drafts: dict[str, tuple[PlanText, Municipality, Graph]] = {}
    for index, plan in enumerate(overview.plans):
        municipality = known.get(plan.municipality)
        if municipality is None:
            raise UnknownMunicipalityError(
                SourceLocation(overview.path, plan.line),
                f"the municipality 「{plan.municipality}」 is not in "
                f"{data_name}/local-governments.ttl",
                "correct the name as the overview prints it, or add the municipality there "
                "first (its code with the check digit and its Wikidata item: data/README.md)",
            )
        name = file_stem(municipality, plan.first_fy) + ".ttl"
        if name in drafts:
            raise OverviewLayoutError(
                SourceLocation(overview.path, plan.line),
                f"a second plan of {plan.municipality} starting in FY{plan.first_fy}",
                "an overview lists each plan once; remove the repeated plan",
            )
        graph = plan_graph(
            plan,
            municipality,
            round_id=round_id,
            source=ID[f"source/{source}"],
            fixed_headings=overview.fixed_headings,
            captions=[c for c in overview.captions if c.plan == index],
        )
        drafts[name] = (plan, municipality, graph)
    return drafts


def _write_all(out_dir: Path, outputs: dict[str, str]) -> None:
    from kgtools.files import atomic_write_text, temp_stem

    staging = Path(
        tempfile.mkdtemp(prefix=f".{temp_stem(out_dir)}.", suffix=".ingest", dir=out_dir.parent)
    )
    try:
        for name, text in outputs.items():
            atomic_write_text(staging / name, text)
        os.chmod(staging, 0o777 & ~_umask())
        try:
            if out_dir.exists():
                out_dir.rmdir()  # empty (checked before): rename cannot replace a folder otherwise
            os.rename(staging, out_dir)
        except OSError as exc:
            raise OutputPathError(
                f"{out_dir}: cannot move the drafts in place ({exc.strerror or exc}): another "
                "program wrote there meanwhile? — give a new folder"
            ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- the review report ----------------------------------------------------------------------------


class _Review:
    def __init__(self, overview: Overview, round_id: str, source: str, shared: Graph) -> None:
        self.overview = overview
        self.round_id = round_id
        self.source = source
        self.shared = shared
        self.sections: list[str] = []
        self.points = 0

    def headings_known(self) -> bool:
        return all(
            (ID[f"heading/{self.round_id}/{h.number}"], RDF.type, TIP.Heading) in self.shared
            for h in self.overview.plans[0].headings
        )

    def plan(
        self,
        plan: PlanText,
        municipality: Municipality,
        name: str,
        graph: Graph,
        captions: list[Caption],
    ) -> None:
        lines = [f"## {name} — 「{plan.title}」（{plan.municipality}） line {plan.line}", ""]
        lines.append(
            f"- period {plan.period_text} → FY{plan.first_fy}–FY{plan.last_fy}; "
            f"{len(plan.headings)} headings, {len(plan.items)} initiatives"
        )
        missing = [
            fy
            for fy in (plan.first_fy, plan.last_fy)
            if (ID[f"fiscal-year/{fy}"], RDF.type, TIP.FiscalYear) not in self.shared
        ]
        if missing:
            lines.append(
                "- fiscal years not in data/fiscal-years.ttl: "
                + ", ".join(f"<fiscal-year/{fy}>" for fy in sorted(set(missing)))
                + " — add them (data/README.md, step 3)"
            )
        needs_english = sorted(
            f"{_short(s)} 「{o}」"
            for s, o in graph.subject_objects(RDFS.label | SKOS.prefLabel)
            if isinstance(o, Literal)
            and o.language == "ja"
            and not any(
                getattr(x, "language", None) == "en"
                for x in graph.objects(s, RDFS.label | SKOS.prefLabel)
            )
        )
        lines.append(f"- needs an English label ({len(needs_english)}):")
        lines += [f"  - {entry}" for entry in needs_english]
        lines.append(
            "- needs a person: the approver (the overview does not say who approved the plans: "
            "tip:approvingAuthority, with a source that says so), the plan's and each "
            "initiative's themes and partner kinds (a skos:editorialNote on each node)"
        )
        self.points += len(list(graph.objects(None, SKOS.editorialNote))) + len(needs_english)
        for item in plan.items:
            initiative = f"initiative/{item.heading}-{item.ordinal}"
            if item.kept_whole:
                lines.append(
                    f"- {initiative} (line {item.line}) kept as one item though it holds 、: "
                    f"{item.kept_whole} — check"
                )
            names = other_names(item)
            if names:
                lines.append(
                    f"- {initiative} names in its parentheses, not as programmes: "
                    + "、".join(f"「{n}」" for n in names)
                    + " — facilities, events or activities? place them (tip:facility, tip:event)"
                )
        for caption in captions:
            lines.append(f"- caption (line {caption.line}) 「{caption.text}」: {caption.reason}")
        self.sections.append("\n".join(lines) + "\n")

    def text(self, outputs: dict[str, str]) -> str:
        ov = self.overview
        head = [
            f"# Review of the drafts from {ov.path.name} (round <round/{self.round_id}>)",
            "",
            "Written by `kg ingest`. The drafts hold only what the overview's text says; this file "
            "lists what a person must still decide. `kg validate DRAFT.ttl` lists the same points "
            "per node (missing English labels; `skos:editorialNote` review points, reported by "
            "the shape tips:ReviewNoteShape until the note is deleted).",
            "",
            "- text read as "
            + (
                "PDF-extracted (a paragraph ends at a line ending in a space)"
                if ov.pdf_layout
                else "one paragraph per line"
            ),
            "- headings: "
            + (
                f"the round's fixed headings <heading/{self.round_id}/n>"
                if ov.fixed_headings
                else "free headings of each plan <plan/{code}/{fy}/heading/n>"
            ),
            f"- source of every node: <source/{self.source}> — "
            + (
                "in data/sources.ttl"
                if (ID[f"source/{self.source}"], RDF.type, TIP.SourceDocument) in self.shared
                else "NOT in data/sources.ttl yet: add it (data/README.md, step 1)"
            ),
            f"- approvals link to <round/{self.round_id}> with dcterms:isPartOf",
            "- programme IRIs are drafts (programme/{code}/draft-{hash of the name}); "
            "illustration IRIs are drafts (…/illustration/draft-n)",
        ]
        if ov.fixed_headings:
            head.append(
                "- the round's headings are "
                + (
                    "already in data/"
                    if self.headings_known()
                    else f"written to headings-{self.round_id}.ttl (move them to data/concepts.ttl)"
                )
            )
        head.append(f"- files: {', '.join(sorted(n for n in outputs if n != REPORT_NAME))}")
        tail = []
        unattributed = [c for c in ov.captions if c.plan is None]
        tail.append(f"## Captions not attributed ({len(unattributed)})")
        tail.append("")
        tail += [f"- line {c.line} 「{c.text}」: {c.reason}" for c in unattributed] or ["- none"]
        tail += ["", f"## Text not placed ({len(ov.unplaced)})", ""]
        tail += [f"- line {p.line} 「{p.text}」" for p in ov.unplaced] or ["- none"]
        self.points += len(unattributed)
        return "\n".join([*head, "", *self.sections, "", *tail]) + "\n"


def _short(node: object) -> str:
    return "<" + str(node).removeprefix(str(ID)) + ">"
