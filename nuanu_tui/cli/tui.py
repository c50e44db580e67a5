"""`nuanu-tui` with no command: the console. The engine's process starts first, so its imports and warm-up
overlap with Textual's start-up."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nuanu_tui.core.config import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    from nuanu_tui.core.remote import launch_host

    launched = launch_host(settings)  # its imports and warm-up overlap with Textual's start-up below
    try:
        from nuanu_tui.ui.app import run_app
    except ImportError:
        from nuanu_tui.cli.parser import build_parser

        launched.proc.kill()
        build_parser().print_help()
        return 0
    return run_app(args, settings, launched)
