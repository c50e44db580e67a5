"""`nuanu-tui say TRIGGER`: one remark, its stages on stdout (or exactly one JSON object with `--json`)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nuanu_tui.cli.common import JsonOut, fail, offline_line, quiet_device_noise
from nuanu_tui.core.errors import NuanuError

if TYPE_CHECKING:
    from nuanu_tui.core.config import Settings

SAY_FILL_WAIT_S = 60.0


async def run(args: argparse.Namespace, settings: Settings, out: JsonOut) -> int:
    from nuanu_tui.core.engine import Engine
    from nuanu_tui.core.events import Notice
    from nuanu_tui.core.redact import scrub

    if not args.trigger.strip():
        raise NuanuError("input", "empty trigger: type what the camera sees")
    quiet_device_noise(settings, args.audio)
    strict = settings.failover == "off" and not settings.tts_fallback
    engine = await Engine.create(
        settings,
        llm=args.llm,
        tts=args.tts,
        audio=args.audio,
        demo=args.demo,
        output_format=args.output_format,
        # With a chain behind it, a dead LLM must not hold the first utterance; strict waits, to fail fast.
        warm_in_background=not strict,
    )
    try:
        line = offline_line(engine)
        if line:
            print(line, file=sys.stderr)
        fatal = {k: v for k, v in engine.warm_errors.items() if _fatal_warm(v)}
        if fatal and not strict:
            for message in fatal.values():
                print(f"warning: {scrub(message, settings.secrets())}; falling back", file=sys.stderr)
        elif fatal:
            # Unreachable or refused at start-up: fail now (within the connect timeout), not after a second wait.
            message = scrub("; ".join(fatal.values()), settings.secrets()) or "start-up failed"
            out.emit(_failed_json(args.trigger, engine, message))
            return fail(message)

        def on_event(event: object) -> None:
            if isinstance(event, Notice):
                print(f"notice: {event.message}", file=sys.stderr)

        result = await engine.say(
            args.trigger, on_event=on_event, seed=args.seed, accepted_ns=args.accepted_ns
        )
        await engine.instant.wait_filled(SAY_FILL_WAIT_S)  # after the remark: the next run starts warm
    finally:
        await engine.aclose()
        if engine.telemetry_problem:
            print(f"warning: {engine.telemetry_problem}", file=sys.stderr)
    if args.json:
        out.emit(result.to_json())
    else:
        print(result.text or "")
        for stage, ms in result.stages_ms.items():
            print(f"  {stage:<17} {'—' if ms is None else f'{ms:9.1f} ms'}")
        print(f"  ws_reused         {result.ws_reused}")
        print(f"  served_by         {result.served_by or '—'}")
        print(f"  voiced_by         {', '.join(result.voiced_by) or '—'}")
        print(f"  prompt            {result.prompt or '—'}")
        flags = "—" if result.quality is None else " ".join(result.quality.flags) or "clean"
        print(f"  quality           {flags}")
    if not result.ok:
        return fail(result.error or "failed")
    return 0


def _fatal_warm(message: str) -> bool:
    low = message.lower()
    return any(
        s in low for s in ("refused", "dns", "did not answer", "timed out", "api key", "handshake", "not set")
    )


def _failed_json(trigger: str, engine: object, message: str) -> dict[str, object]:
    from nuanu_tui.core.engine import Engine
    from nuanu_tui.core.timeline import UtteranceResult

    assert isinstance(engine, Engine)
    result = UtteranceResult(
        trigger=trigger,
        llm=engine.llm_spec,
        tts=engine.tts.spec,
        error=message,
        error_kind="startup",
        offline=bool(engine.offline_reasons()),
        simulated=engine.simulated,
    )
    return result.to_json()
