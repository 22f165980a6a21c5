"""The caption rule of data/README.md ("Which plan a caption belongs to") holds for every caption.

The overview's extraction does not mark pages, and a run of captions often follows the text of
two plans, so a caption's position alone does not say whose it is. The rule: the candidates are
the plans whose text stands next to the run (after the previous run, or the plan the run
interrupts); the caption is the candidate's whose text holds more of the caption's words that the
other candidates' texts do not; with no such words it goes with its neighbours in the run.

"Words" here are the caption's kanji bigrams, its katakana words and its Latin words (after NFKC):
a small stand-in for a Japanese tokenizer, enough to tell 協定 / チャレンジ / 出店 (豊島区's) from
北区's text; hiragana and digits are left out (の, 第２回 say nothing about a plan).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS

from kgtools.namespaces import ID, TIP

from .conftest import SOURCE_TEXT

OVERVIEW = ID["source/approved-plans-overview-r3-r5"]
TITLE = re.compile(r"^\s*「.+?」\s*（(?P<municipality>.+?)）\s*【計画期間")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def words(text: str) -> set[str]:
    """Kanji bigrams (a lone kanji as itself), katakana words and Latin words of the text."""
    text = _norm(text)
    found: set[str] = set()
    for run in re.findall(r"[\u4e00-\u9fff々]+", text):
        found |= {run[i : i + 2] for i in range(len(run) - 1)} if len(run) > 1 else set()
    found |= {w for w in re.findall(r"[\u30a1-\u30ffー]{2,}", text)}
    found |= {w.lower() for w in re.findall(r"[A-Za-z]{2,}", text)}
    return found


@dataclass
class Layout:
    """The source's lines, split into plan texts and caption runs."""

    owner: list[str | None]  # per line: the plan (municipality) whose text it is, or None
    runs: list[list[tuple[int, str]]]  # runs of captions: (first line, caption)


def layout(lines: list[str], captions: set[str]) -> Layout:
    """Find each caption's lines (a caption may span up to three lines) and each plan's."""
    caption_at: dict[int, tuple[str, int]] = {}
    wanted = {_norm(c): c for c in captions}
    for i in range(len(lines)):
        for k in (1, 2, 3):
            joined = _norm("".join(lines[i : i + k]))
            if joined and joined in wanted and not any(j in caption_at for j in range(i, i + k)):
                caption_at[i] = (wanted[joined], k)
                break
    owner: list[str | None] = [None] * len(lines)
    runs: list[list[tuple[int, str]]] = []
    current: str | None = None
    skip_until = -1
    last_was_caption = False
    for i, line in enumerate(lines):
        if i < skip_until:
            continue
        if i in caption_at:
            caption, k = caption_at[i]
            if not last_was_caption:
                runs.append([])
            runs[-1].append((i, caption))
            skip_until = i + k
            last_was_caption = True
            continue
        if not line.strip():
            continue
        match = TITLE.match(line)
        if match:
            current = match["municipality"]
        owner[i] = current
        last_was_caption = False
    found = {c for run in runs for _, c in run}
    missing = set(captions) - found
    assert not missing, f"captions not found in the source: {missing}"
    return Layout(owner, runs)


def attribute(lines: list[str], captions: set[str]) -> dict[str, str]:
    """The municipality each caption belongs to by the caption rule."""
    lay = layout(lines, captions)
    texts: dict[str, str] = {}
    for line, who in zip(lines, lay.owner, strict=True):
        if who is not None:
            texts[who] = texts.get(who, "") + line
    result: dict[str, str] = {}
    previous_end = -1
    for run in lay.runs:
        start = run[0][0]
        candidates: list[str] = []
        for who in lay.owner[previous_end + 1 : start]:
            if who is not None and who not in candidates:
                candidates.append(who)
        previous_end = run[-1][0]
        scored: list[str | None] = []
        for _, caption in run:
            own = words(caption)
            score = {
                c: len(
                    {w for w in own if w in _norm(texts[c])}
                    - {w for o in candidates if o != c for w in own if w in _norm(texts[o])}
                )
                for c in candidates
            }
            best = max(score.values(), default=0)
            winners = [c for c, s in score.items() if s == best]
            scored.append(winners[0] if best > 0 and len(winners) == 1 else None)
        # Step 4: a caption no candidate's words decide goes with its neighbours in the run.
        for n, (_, caption) in enumerate(run):
            who = scored[n]
            if who is None:
                before = next((scored[j] for j in range(n - 1, -1, -1) if scored[j]), None)
                after = next((scored[j] for j in range(n + 1, len(run)) if scored[j]), None)
                if len(candidates) == 1:
                    who = candidates[0]
                elif before is not None and (after is None or after == before):
                    who = before
                else:
                    who = after
            assert who is not None, f"the rule cannot place {caption!r}"
            result[caption] = who
    return result


def data_captions(data: Graph) -> dict[str, str]:
    """Each overview caption in the data → the Japanese name of its plan's municipality."""
    found: dict[str, str] = {}
    for plan, _, illustration in data.triples((None, TIP.hasIllustration, None)):
        if (illustration, DCTERMS.source, OVERVIEW) not in data:
            continue
        caption = data.value(illustration, TIP.caption)
        municipality = data.value(plan, TIP.municipality)
        assert isinstance(municipality, URIRef) and caption is not None
        name = next(
            str(o)
            for o in data.objects(municipality, RDFS.label)
            if isinstance(o, Literal) and o.language == "ja"
        )
        found[str(caption)] = name
    return found


def test_every_caption_follows_the_caption_rule(data: Graph) -> None:
    held = data_captions(data)
    assert len(held) >= 8, held  # guard: the check must not silently shrink
    lines = SOURCE_TEXT.read_text(encoding="utf-8").splitlines()
    ruled = attribute(lines, set(held))
    wrong = {c: (held[c], ruled[c]) for c in held if held[c] != ruled[c]}
    assert not wrong, f"caption: (plan in the data, plan by the rule): {wrong}"


def test_the_challenge_shop_caption_is_toshimas(data: Graph) -> None:
    """The correction itself: 豊島区's words (協定, チャレンジ, 出店), not 北区's position."""
    held = data_captions(data)
    assert held["区内協定企業と連携した起業家向けチャレンジ出店企画"] == "豊島区"


PLAN_A = [
    "「甲区計画」 （甲区）  【計画期間：令和３年度～令和５年度】",
    "甲区は協定企業と出店の支援を行う。",
]
PLAN_B = [
    "「乙市計画」 （乙市）  【計画期間：令和３年度～令和５年度】",
    "乙市は観光写真と庭園の魅力を発信する。",
]


@pytest.mark.parametrize("a_first", [True, False])
@pytest.mark.parametrize(
    ("caption", "owner"),
    [
        ("協定企業のチャレンジ出店", "甲区"),
        ("出店の様子", "甲区"),
        ("庭園（観光写真入賞作品）", "乙市"),
        ("観光の様子", "乙市"),
    ],
)
def test_position_does_not_decide(a_first: bool, caption: str, owner: str) -> None:
    """A run after two plans' text: the caption's words decide, whichever plan comes first."""
    lines = [*PLAN_A, *PLAN_B] if a_first else [*PLAN_B, *PLAN_A]
    assert attribute([*lines, "", caption], {caption}) == {caption: owner}


@pytest.mark.parametrize("a_first", [True, False])
def test_a_caption_without_telling_words_goes_with_its_neighbours(a_first: bool) -> None:
    lines = [*PLAN_A, *PLAN_B] if a_first else [*PLAN_B, *PLAN_A]
    run = ["協定企業の出店", "表彰式の様子", "出店の支援"]
    got = attribute([*lines, "", *run], set(run))
    assert got == dict.fromkeys(run, "甲区")


def test_a_run_inside_a_plan_belongs_to_it() -> None:
    lines = [*PLAN_A, "", "協定企業の出店", *PLAN_B[:1], "庭園の写真", PLAN_B[1]]
    got = attribute(lines, {"協定企業の出店", "庭園の写真"})
    assert got == {"協定企業の出店": "甲区", "庭園の写真": "乙市"}
