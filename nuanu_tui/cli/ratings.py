"""`nuanu-tui ratings`: the arena's Bradley–Terry ratings and the quick ratings' like-rate per configuration;
`--import` merges another machine's votes, `--export` writes ours.

A vote file is read whole before anything is stored, so a bad line (one error line naming the file and the
line, exit 2) leaves the database as it was. What was imported or exported is said on stderr; the ratings go
to stdout (with `--import`/`--export` alone, only when `--json` asks for them).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from nuanu_tui.core.ratings import Likes, Ratings, like_text, rate
from nuanu_tui.core.store import Store
from nuanu_tui.core.votes import read_votes, write_votes

if TYPE_CHECKING:
    from nuanu_tui.core.config import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    incoming = read_votes(args.import_path) if args.import_path else None  # refused whole before opening
    with Store.from_settings(settings) as store:
        if store.recovered:
            print(f"nuanu-tui: {store.recovered}", file=sys.stderr)
        if incoming is not None:
            added, skipped = store.import_votes(incoming)
            print(
                f"ratings: imported {added} vote(s) from {args.import_path}"
                + (f" ({skipped} already stored)" if skipped else ""),
                file=sys.stderr,
            )
        votes = store.votes()
        if args.export_path:
            count = write_votes(args.export_path, votes)
            print(f"ratings: wrote {count} vote(s) to {args.export_path}", file=sys.stderr)
        likes = store.likes()
    if (args.import_path or args.export_path) and not args.json:
        return 0
    ratings = rate(votes)
    if args.json:
        print(json.dumps(ratings.to_json(), ensure_ascii=False))
    else:
        print(render(ratings, likes))
    return 0


def render(ratings: Ratings, likes: dict[str, Likes]) -> str:
    """A plain table: rank, score, 95 % interval, record, like-rate, configuration (rated ones first)."""
    lines = [f"{ratings.votes} arena vote(s)"]
    if ratings.ratings:
        lines.append(f"{'#':>2}  {'score':>6}  {'95% CI':>13}  {'W-L-T':>9}  {'liked':>10}  configuration")
        for rank, r in enumerate(ratings.ratings, 1):
            record = f"{r.wins}-{r.losses}-{r.ties}"
            interval = f"{r.ci95[0]:.0f}–{r.ci95[1]:.0f}"
            lines.append(
                f"{rank:>2}  {r.score:>6.0f}  {interval:>13}  {record:>9}  {like_text(likes.get(r.config)):>10}"
                f"  {r.config}"
            )
    else:
        lines.append("no arena votes yet: vote in compare's arena mode, or --import a votes file")
    unvoted = [like for config, like in likes.items() if config not in {r.config for r in ratings.ratings}]
    if unvoted:
        lines.append("quick ratings only:")
        lines.extend(f"    {like_text(like):>10}  {like.config}" for like in unvoted)
    return "\n".join(lines)
