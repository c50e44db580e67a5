"""`main`: parse, dispatch to the chosen command's module, and turn every failure into one line and a status.

Only the standard library, `common` and `parser` are imported at module level: a Ctrl+C during the heavier
imports lands inside `main`'s handler (one line, exit 130) instead of printing a traceback, and a command's
module loads only when that command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nuanu_tui.cli.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_PIPE,
    EXIT_USAGE,
    USAGE_KINDS,
    JsonOut,
    check_prompts,
    fail,
    settings_from,
)
from nuanu_tui.cli.parser import build_parser
from nuanu_tui.core.errors import NuanuError

# Commands that speak nothing: a bad prompt setting or file must not stop them (doctor and prompts are where
# an operator looks to find out what is wrong).
DIAGNOSTIC_COMMANDS = frozenset({"doctor", "prompts", "ratings", "models"})


def _wants_json(argv: Sequence[str]) -> bool:
    """`say ... --json` (bench's `--json PATH` writes a file and leaves stdout alone)."""
    return "--json" in argv and "say" in argv and "bench" not in argv[: list(argv).index("say")]


def main(argv: Sequence[str] | None = None) -> int:
    import time

    accepted_ns = (
        time.perf_counter_ns()
    )  # say's t0: the trigger is accepted now, start-up is part of its wait
    argv = list(sys.argv[1:] if argv is None else argv)
    out = JsonOut(_wants_json(argv))
    args: argparse.Namespace | None = None
    try:
        try:
            args = build_parser().parse_args(argv)
            args.accepted_ns = accepted_ns
            code = _run(args, out)
            sys.stdout.flush()  # a reader gone (`| head`) shows here, not as noise at interpreter exit
            return code
        except NuanuError as exc:
            from nuanu_tui.core.config import SettingsError, secret_values
            from nuanu_tui.core.redact import scrub

            message = scrub(exc.message, secret_values()) or exc.kind
            out.fail(args, message, exc.kind)
            if isinstance(exc, SettingsError):
                for line in exc.lines:
                    fail(line)
                return EXIT_USAGE
            return fail(message, EXIT_USAGE if exc.kind in USAGE_KINDS else EXIT_FAILED)
        except BrokenPipeError:
            return _stdout_closed()
        except Exception as exc:  # last resort: one line, no traceback, no secrets
            from nuanu_tui.core.config import secret_values
            from nuanu_tui.core.redact import scrub

            message = scrub(f"{type(exc).__name__}: {exc}", secret_values()) or "unknown error"
            out.fail(args, message, "internal")
            return fail(message)
    except KeyboardInterrupt:
        return _interrupted(out, args)


def _stdout_closed() -> int:
    """Stdout's reader went away (`nuanu-tui prompts | head -1`): stop quietly with 141, what a tool killed by
    SIGPIPE reports, so `set -o pipefail` still sees the output was cut. Stdout then points at devnull, so
    the interpreter's last flush has nowhere left to fail."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_PIPE


def _interrupted(out: JsonOut, args: argparse.Namespace | None) -> int:
    """Ctrl+C: one line (and the JSON object), exit 130. A second Ctrl+C while saying so is ignored."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out.fail(args, "interrupted (Ctrl+C)", "interrupted")
    return fail("interrupted (Ctrl+C)", EXIT_INTERRUPTED)


def _run(args: argparse.Namespace, out: JsonOut) -> int:
    if args.command == "sim":
        from nuanu_tui.cli import sim

        return sim.run(args)
    import asyncio

    # Every other command reads settings: a bad one is reported before anything runs.
    settings = settings_from(args)
    if args.command not in DIAGNOSTIC_COMMANDS:  # they must work to show what is wrong with the prompts
        check_prompts(settings, [settings.prompt, *(getattr(args, "prompts", None) or [])])
    if getattr(args, "demo", False):
        from nuanu_tui.demo import install  # --demo is composed here, not in the engine

        install()
    if args.command == "say":
        from nuanu_tui.cli import say

        return asyncio.run(say.run(args, settings, out))
    if args.command == "bench":
        from nuanu_tui.cli import bench

        return asyncio.run(bench.run(args, settings))
    if args.command == "ride":
        from nuanu_tui.cli import ride

        return asyncio.run(ride.run(args, settings))
    if args.command == "models":
        from nuanu_tui.cli import models

        return asyncio.run(models.run(args, settings))
    if args.command == "ratings":
        from nuanu_tui.cli import ratings

        return ratings.run(args, settings)
    if args.command == "doctor":
        from nuanu_tui.cli import doctor

        return asyncio.run(doctor.run(settings))
    if args.command == "prompts":
        from nuanu_tui.cli import prompts

        return prompts.run(settings)
    from nuanu_tui.cli import tui

    return tui.run(args, settings)
