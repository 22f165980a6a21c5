"""Label placement for the network drawings: no two labels overlap, by construction.

Each label has a list of candidate boxes (in display pixels, tried in order: below its node,
above, right, left, the diagonals, then the same further out); labels are taken in priority
order (the caller sorts by degree) and each gets the first candidate that lies inside the
bounds and touches neither a label already placed nor an obstacle (node markers, the legend).
A label with no free candidate is left out, and the caller says so in the legend.

Why our own and not adjustText: adjustText needs SciPy (not otherwise a dependency here), moves
labels iteratively by repulsion and does not guarantee that no overlap is left; a greedy pass
over fixed candidate positions is deterministic, has no dependency, and is correct by
construction — the test (tests/test_pictures.py) still measures the drawn texts after a draw.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """An axis-aligned box ``x0 ≤ x ≤ x1``, ``y0 ≤ y ≤ y1`` (display pixels, y up)."""

    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, pad: float = 0.0) -> bool:
        """Whether the boxes, each grown by ``pad`` on every side, share any point."""
        return not (
            self.x1 + pad < other.x0 - pad
            or other.x1 + pad < self.x0 - pad
            or self.y1 + pad < other.y0 - pad
            or other.y1 + pad < self.y0 - pad
        )

    def inside(self, bounds: Box) -> bool:
        return (
            bounds.x0 <= self.x0 and self.x1 <= bounds.x1 and bounds.y0 <= self.y0
            and self.y1 <= bounds.y1
        )  # fmt: skip


#: Directions tried around a node, in order: below, above, right, left, then the diagonals.
DIRECTIONS: tuple[tuple[int, int], ...] = (
    (0, -1),
    (0, 1),
    (1, 0),
    (-1, 0),
    (1, -1),
    (-1, -1),
    (1, 1),
    (-1, 1),
)


def around(
    cx: float, cy: float, radius: float, width: float, height: float, gaps: Sequence[float]
) -> list[Box]:
    """Candidate boxes of ``width`` × ``height`` around a marker of ``radius`` at (cx, cy), at
    each distance in ``gaps`` from the marker's edge, in :data:`DIRECTIONS` order."""
    boxes = []
    for gap in gaps:
        r = radius + gap
        for dx, dy in DIRECTIONS:
            x0 = cx - width / 2 if dx == 0 else (cx + r if dx > 0 else cx - r - width)
            y0 = cy - height / 2 if dy == 0 else (cy + r if dy > 0 else cy - r - height)
            if dx and dy:  # diagonal: pull the corner in towards the marker
                x0 -= dx * r * 0.3
                y0 -= dy * r * 0.3
            boxes.append(Box(x0, y0, x0 + width, y0 + height))
    return boxes


def place(
    candidates: Sequence[Sequence[Box]],
    obstacles: Iterable[Box] = (),
    bounds: Box | None = None,
    pad: float = 1.0,
) -> list[int | None]:
    """For each label (in priority order) the index of the first candidate box that is inside
    ``bounds`` and at least ``2·pad`` pixels from every placed label and obstacle; ``None`` for a
    label that fits nowhere."""
    taken: list[Box] = []
    fixed = list(obstacles)
    chosen: list[int | None] = []
    for boxes in candidates:
        pick = None
        for index, box in enumerate(boxes):
            if bounds is not None and not box.inside(bounds):
                continue
            if any(box.overlaps(other, pad) for other in taken):
                continue
            if any(box.overlaps(other, pad) for other in fixed):
                continue
            pick = index
            break
        chosen.append(pick)
        if pick is not None:
            taken.append(boxes[pick])
    return chosen
