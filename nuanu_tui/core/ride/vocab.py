"""The label vocabulary shipped in `assets/labels.json`, and triggers written from it in Russian.

«камера, две собаки слева», «впереди пять мотоциклов», «справа ребёнок»: pymorphy3 (through
`core.grammar.NounPhrase`) makes the numeral, adjectives and noun agree; a fixed genitive tail
(«группа туристов», «машина скорой помощи») rides along unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from nuanu_tui.core.assets import read_asset

SIDES = ("left", "right", "ahead", "behind")
SIDE_FIRST = ("ahead", "right")  # «впереди пять мотоциклов», «справа ребёнок»; «две собаки слева»


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    ru: str  # the Russian lemma (nominative singular)
    adjectives: tuple[str, ...] = ()
    tail: str | None = None  # a fixed genitive complement: «группа» + «туристов»
    mass: bool = False  # rain, fog: a count means nothing («впереди дождь»)

    def phrase(self, count: int) -> str:
        """The noun phrase for `count` things; a single one goes without a numeral («ребёнок»)."""
        from nuanu_tui.core.grammar import NounPhrase  # pymorphy3 loads where triggers are written, only

        if self.mass:
            count = 1
        np = NounPhrase(self.ru, adjectives=list(self.adjectives))
        if count != 1:
            np.count = count
        text = np.render("nomn")
        return f"{text} {self.tail}" if self.tail else text


@dataclass(frozen=True, slots=True)
class Vocabulary:
    labels: dict[str, Label]
    sides: dict[str, str]
    classes: dict[str, str]  # a detector's class (lower case) -> our label; our labels map to themselves
    min_confidence: dict[str, float]  # per-label thresholds for camera detections

    def __contains__(self, name: object) -> bool:
        return name in self.labels

    def trigger(self, label: str, count: int = 1, side: str | None = None) -> str:
        """The Russian trigger for an event, the way the seed's triggers read."""
        phrase = self.labels[label].phrase(count)
        if side is None:
            return phrase
        where = self.sides[side]
        return f"{where} {phrase}" if side in SIDE_FIRST else f"{phrase} {where}"


@cache
def vocabulary() -> Vocabulary:
    data = json.loads(read_asset("labels.json"))
    labels = {
        name: Label(
            name,
            entry["ru"],
            tuple(entry.get("adjectives", ())),
            entry.get("tail"),
            bool(entry.get("mass", False)),
        )
        for name, entry in data["labels"].items()
    }
    classes = {name: name for name in labels}
    classes.update({k: v for k, v in data.get("classes", {}).items() if not k.startswith("_")})
    unknown = sorted(v for v in classes.values() if v not in labels)
    if unknown:  # a typo in the shipped file would silently drop a class: fail loudly instead
        raise ValueError(f"labels.json maps classes to unknown labels: {', '.join(unknown)}")
    thresholds = {k: float(v) for k, v in data.get("min_confidence", {}).items() if not k.startswith("_")}
    return Vocabulary(labels, dict(data["sides"]), classes, thresholds)
