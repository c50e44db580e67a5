"""Fit a one-row status line to a width by shortening, then dropping, its least important parts.

A status line that wraps pushes everything under it down a row and splits a reading from its unit
(`24000 Hz` alone on a row). Instead each part says how it can shrink and how much it matters; the line
gives up detail in that order until it fits, so the same status reads as a sentence at 120 columns and as
the few facts an operator needs at 60.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.content import Content


@dataclass(frozen=True)
class Part:
    """One piece of a status line.

    `variants` are Content markup from the fullest to the shortest; an empty last variant means the part
    can be dropped. `ranks[i]` is when the step from variant i to i+1 is taken: the highest rank gives up
    first (a part with one variant never shrinks). `sep` goes before the part when something is shown
    before it: a new section has wide spacing, a detail glued to its section a single space or none.
    """

    variants: tuple[str, ...]
    ranks: tuple[int, ...] = ()
    sep: str = "   "

    def __post_init__(self) -> None:
        if len(self.ranks) != len(self.variants) - 1:
            raise ValueError(f"{len(self.variants)} variants need {len(self.variants) - 1} ranks")


def width_of(markup: str) -> int:
    return Content.from_markup(markup).cell_length if markup else 0


def fit_line(parts: Sequence[Part], width: int) -> str:
    """The markup of `parts` at the longest variants whose plain text fits `width` cells.

    Step by step the part whose next step has the highest rank takes it (ties: the rightmost first). Once
    the line fits, steps are undone, the most important first, where the line still fits: a big step late
    may have freed more than needed. If nothing can shrink any more, the widget's ellipsis cuts the rest.
    """
    chosen = [0] * len(parts)
    sizes = [[width_of(v) for v in p.variants] for p in parts]

    def total() -> int:
        cells, shown = 0, False
        for i, part in enumerate(parts):
            size = sizes[i][chosen[i]]
            if size:
                cells += size + (len(part.sep) if shown else 0)
                shown = True
        return cells

    steps: list[int] = []
    while total() > width:
        candidates = [i for i, p in enumerate(parts) if chosen[i] < len(p.ranks)]
        if not candidates:
            break
        step = max(candidates, key=lambda i: (parts[i].ranks[chosen[i]], i))
        chosen[step] += 1
        steps.append(step)
    for step in reversed(steps):
        chosen[step] -= 1
        if total() > width:
            chosen[step] += 1
            break  # what was given up before it matters less: it stays given up
    out: list[str] = []
    for i, part in enumerate(parts):
        text = part.variants[chosen[i]]
        if text:
            out.append((part.sep if out else "") + text)
    return "".join(out)
