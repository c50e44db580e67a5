"""`python -m nuanu_tui.sim [--port N] [--profile NAME]`: the emulator without the full CLI."""

from __future__ import annotations

import argparse

from nuanu_tui.sim.profiles import PROFILES
from nuanu_tui.sim.server import run_forever


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nuanu_tui.sim", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="demo")
    parser.add_argument(
        "--net", default="loopback", help="loopback | wifi | lte | bad | rtt=MS,jitter=MS,loss=PCT"
    )
    args = parser.parse_args()
    run_forever(args.port, args.profile, args.net)


if __name__ == "__main__":
    main()
