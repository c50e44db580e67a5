"""`nuanu-tui sim`: the emulator on 127.0.0.1 until Ctrl+C, after the `export` lines that point clients at it."""

from __future__ import annotations

import argparse

from nuanu_tui.cli.common import net_choice


def run(args: argparse.Namespace) -> int:
    from nuanu_tui.sim import run_forever

    run_forever(args.port, args.profile, net_choice(args), keys=args.keys)
    return 0
