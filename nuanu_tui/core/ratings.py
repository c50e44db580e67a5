"""Ratings from arena votes: a Bradley–Terry fit on the Elo scale, with bootstrap intervals; and the quick
ratings' like-rate per configuration.

Why it looks like this:
- the fit is choix's I-LSR on a dense win matrix (a maintained implementation, not our own optimiser); a
  tie puts half a win in each direction, which the dense form takes as it is;
- choix's `alpha` is a light prior (`PRIOR`): without it a configuration that has never lost (common with a
  handful of votes, and in most bootstrap resamples) has an infinite strength. Its pull fades as votes grow:
  3 wins to 1 give a strength ratio of 2.67 instead of the bare maximum-likelihood 3; 30 to 10 give 2.96;
- strengths are normalised to a geometric mean of 1, then scored 1000 + 400·log10(strength), so 1000 is
  the average configuration and +191 means "wins 3 times out of 4" against it;
- the 95 % interval is the 2.5th–97.5th percentile over resamples of the votes (drawn with replacement,
  from a fixed seed over the votes sorted by time and id): the same votes always give the same numbers;
- numpy and choix (which loads scipy: seconds on a small board) are imported only when a fit runs.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nuanu_tui.core.votes import Vote

if TYPE_CHECKING:
    import numpy as np

PRIOR = 0.1  # choix's alpha: added to every pair's transition rates
BOOTSTRAP_ROUNDS = 1000
SEED = 19  # issue 19; any fixed number keeps the intervals reproducible
BASE, SCALE = 1000.0, 400.0
_MAX_ITER = 10_000


@dataclass(frozen=True, slots=True)
class Rating:
    config: str
    score: float
    ci95: tuple[float, float]
    votes: int
    wins: int
    losses: int
    ties: int

    def to_json(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "score": round(self.score, 1),
            "ci95": [round(self.ci95[0], 1), round(self.ci95[1], 1)],
            "votes": self.votes,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
        }


@dataclass(frozen=True, slots=True)
class Ratings:
    """Every configuration that took part in a vote, best first."""

    votes: int
    ratings: tuple[Rating, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """`ratings --json`'s object."""
        return {"votes": self.votes, "ratings": [r.to_json() for r in self.ratings]}


@dataclass(frozen=True, slots=True)
class Likes:
    """Quick ratings of one configuration's remarks: `+` likes, `-` dislikes."""

    config: str
    likes: int
    dislikes: int

    @property
    def total(self) -> int:
        return self.likes + self.dislikes

    @property
    def rate(self) -> float | None:
        """Share of rated remarks that were liked (None when none was rated)."""
        return self.likes / self.total if self.total else None


def like_text(likes: Likes | None) -> str:
    """`75% of 4` or `-`: the quick ratings shown beside a configuration's score."""
    if likes is None or likes.rate is None:
        return "-"
    return f"{likes.rate:.0%} of {likes.total}"


def elo(log_strengths: np.ndarray) -> np.ndarray:
    """Natural-log strengths to Elo-scale scores, normalised to a geometric mean of 1."""
    centred = log_strengths - log_strengths.mean(axis=-1, keepdims=True)
    return BASE + SCALE * centred / math.log(10)


def _fit(matrix: np.ndarray, alpha: float, start: np.ndarray | None = None) -> np.ndarray:
    import choix

    return choix.ilsr_pairwise_dense(matrix, alpha=alpha, initial_params=start, max_iter=_MAX_ITER)


def rate(
    votes: Iterable[Vote], *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = SEED, alpha: float = PRIOR
) -> Ratings:
    """Fit every vote; `rounds` bootstrap resamples for the intervals (0: the interval is the point).
    `alpha` 0 is the bare maximum-likelihood fit: it exists only when every configuration has both won
    and lost against the others, so intervals (whose resamples often lack a loss) need a prior."""
    if rounds > 0 and alpha <= 0:
        raise ValueError("bootstrap intervals need a prior (alpha > 0)")
    import numpy as np

    ordered = sorted(votes, key=lambda v: (v.ts, v.id))
    if not ordered:
        return Ratings(0)
    configs = sorted({v.a for v in ordered} | {v.b for v in ordered})
    index = {config: i for i, config in enumerate(configs)}
    a = np.array([index[v.a] for v in ordered])
    b = np.array([index[v.b] for v in ordered])
    share_a = np.array([{"a": 1.0, "b": 0.0, "tie": 0.5}[v.winner] for v in ordered])
    size = len(configs)

    def matrix(rows: np.ndarray) -> np.ndarray:
        m = np.zeros((size, size))
        np.add.at(m, (a[rows], b[rows]), share_a[rows])
        np.add.at(m, (b[rows], a[rows]), 1.0 - share_a[rows])
        return m

    everything = np.arange(len(ordered))
    params = _fit(matrix(everything), alpha)
    scores = elo(params)
    if rounds > 0:
        rng = np.random.default_rng(seed)
        samples = np.empty((rounds, size))
        for k in range(rounds):
            rows = rng.integers(0, len(ordered), len(ordered))
            samples[k] = elo(_fit(matrix(rows), alpha, params))
        low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    else:
        low, high = scores, scores
    counts = _counts(ordered)
    ratings = [
        Rating(
            config=config,
            score=float(scores[i]),
            ci95=(float(low[i]), float(high[i])),
            votes=sum(counts[config].values()),
            wins=counts[config]["win"],
            losses=counts[config]["loss"],
            ties=counts[config]["tie"],
        )
        for config, i in index.items()
    ]
    ratings.sort(key=lambda r: (-r.score, r.config))
    return Ratings(len(ordered), tuple(ratings))


def _counts(votes: Sequence[Vote]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for v in votes:
        for side, config in (("a", v.a), ("b", v.b)):
            outcome = "tie" if v.winner == "tie" else ("win" if v.winner == side else "loss")
            counts.setdefault(config, Counter())[outcome] += 1
    return counts


def likes_by_config(rated: Iterable[tuple[str, int]]) -> dict[str, Likes]:
    """(configuration, +1 or -1) pairs to a like count per configuration, sorted by name."""
    tally: dict[str, list[int]] = {}
    for config, value in rated:
        pair = tally.setdefault(config, [0, 0])
        pair[0 if value > 0 else 1] += 1
    return {config: Likes(config, up, down) for config, (up, down) in sorted(tally.items())}
