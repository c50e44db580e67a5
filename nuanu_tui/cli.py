"""`nuanu-tui`: the TUI by default; `say`, `bench`, `sim`, `models`, `doctor` for headless use.

Only the standard library is imported at module level: a Ctrl+C during the heavier imports lands inside
`main`'s handler (one line, exit 130) instead of printing a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nuanu_tui.core.errors import NuanuError

if TYPE_CHECKING:
    from nuanu_tui.core.config import Settings

# Exit statuses: a usage or settings mistake is 2 (argparse's convention), Ctrl+C is 128 + SIGINT.
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
USAGE_KINDS = frozenset({"usage", "settings", "input"})


class UsageError(NuanuError):
    def __init__(self, message: str) -> None:
        super().__init__("usage", message)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `--json` can still answer with one JSON object."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def _common(p: argparse.ArgumentParser, *, many_llms: bool = False) -> None:
    from nuanu_tui.core.config import OUTPUT_FORMATS

    if many_llms:
        p.add_argument("--llm", dest="llms", action="append", help="LLM spec (repeat for several)")
    else:
        p.add_argument(
            "--llm", help="LLM spec PROVIDER/MODEL, e.g. groq/llama-3.1-8b-instant or offline/phrasebook"
        )
    p.add_argument("--tts", help="TTS: elevenlabs[/MODEL] or espeak[/VOICE]")
    p.add_argument(
        "--audio",
        help="audio output: device (default), device:NAME or device:INDEX (as `doctor` lists them), null, wav:PATH",
    )
    p.add_argument(
        "--when-audio-lost",
        choices=("hold", "keep"),
        help="while the speaker is gone: hold remarks until it is back, dropping stale ones (default), "
        "or keep generating them, marked not heard",
    )
    p.add_argument("--demo", action="store_true", help="run against the in-process emulator (SIMULATED)")
    p.add_argument(
        "--output-format", choices=OUTPUT_FORMATS, help="ElevenLabs output format (default pcm_24000)"
    )
    p.add_argument(
        "--ws-mode", choices=("multi", "single"), help="ElevenLabs socket: multi-stream-input or stream-input"
    )
    p.add_argument("--lang", choices=("ru", "en"), help="spoken language (default ru)")
    _net_args(p)
    p.add_argument(
        "--no-failover",
        action="store_true",
        help="strict: no LLM failover chain and no espeak fallback; a provider fault fails the utterance",
    )


def _net_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--net",
        metavar="PROFILE",
        help="emulated network (with --demo / sim): loopback (default) | wifi | lte | bad",
    )
    p.add_argument("--rtt", type=float, metavar="MS", help="emulated round-trip time (custom network)")
    p.add_argument("--jitter", type=float, metavar="MS", help="emulated jitter (custom network)")
    p.add_argument("--loss", type=float, metavar="PCT", help="emulated loss, as TCP retransmission stalls")


def net_choice(args: argparse.Namespace) -> str | None:
    """`--net` / `--rtt --jitter --loss` as one network spec (None: not given). UsageError when malformed."""
    from nuanu_tui.core.netprofile import net_spec, parse_net

    try:
        spec = net_spec(
            getattr(args, "net", None),
            getattr(args, "rtt", None),
            getattr(args, "jitter", None),
            getattr(args, "loss", None),
        )
        return None if spec is None else parse_net(spec).spec()
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    from nuanu_tui.core.config import LLM_PROVIDERS

    parser = _Parser(prog="nuanu-tui", description="Operator console for the NUANU shuttle's live character.")
    _common(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    say = sub.add_parser("say", help="speak one remark about TRIGGER and print its stages")
    say.add_argument("trigger", help="what the camera sees, e.g. «две собаки слева»")
    _common(say)
    say.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    say.add_argument("--seed", type=int, help="seed for the offline phrasebook / LLM sampling")

    bench = sub.add_parser("bench", help="headless benchmark over a trigger set")
    _common(bench, many_llms=True)
    bench.add_argument("--runs", type=int, default=5, help="repetitions per LLM spec")
    bench.add_argument("--triggers", default="seed", help="seed | ride | FILE (text or JSONL)")
    bench.add_argument("--pause", type=float, default=0.0, help="seconds between utterances")
    bench.add_argument(
        "--no-warmup", action="store_true", help="do not run an uncounted warm-up per provider"
    )
    bench.add_argument("--json", dest="json_path", help="write results JSON here")
    bench.add_argument("--csv", dest="csv_path", help="write one CSV row per run here")
    bench.add_argument("--compare", dest="compare_path", help="earlier bench JSON to compare against")
    bench.add_argument(
        "--by-net",
        action="store_true",
        help="also print the table grouped by network condition (measured RTT: loopback/good/fair/poor)",
    )

    from nuanu_tui.ride_cli import add_ride_parser

    add_ride_parser(sub, _common)

    sim = sub.add_parser("sim", help="run the emulator (OpenAI/Groq SSE + ElevenLabs WS) on 127.0.0.1")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--profile", default="demo", help="latency profile: demo | fast | zero")
    sim.add_argument(
        "--key",
        action="append",
        dest="keys",
        metavar="KEY",
        help="accept only this API key (repeat for several); others get the providers' 401 / auth error."
        " Default: any non-empty key",
    )
    _net_args(sim)

    models = sub.add_parser("models", help="list what a provider's /models endpoint offers")
    models.add_argument(
        "provider", nargs="?", default="groq", choices=[p for p in LLM_PROVIDERS if p != "offline"]
    )

    sub.add_parser("doctor", help="keys (masked), endpoints, audio devices, offline parts")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    from nuanu_tui.core.config import load_settings

    settings = load_settings()
    update: dict[str, object] = {}
    if getattr(args, "lang", None):
        update["lang"] = args.lang
    if getattr(args, "ws_mode", None):
        update["ws_mode"] = args.ws_mode
    if getattr(args, "output_format", None):
        update["output_format"] = args.output_format
    if getattr(args, "when_audio_lost", None):
        update["audio_lost"] = args.when_audio_lost
    if getattr(args, "no_failover", False):
        update["failover"] = "off"
        update["tts_fallback"] = False
    net = net_choice(args)
    if net is not None:
        update["sim_net"] = net
    return settings.model_copy(update=update) if update else settings


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"nuanu-tui: error: {message}", file=sys.stderr)
    return code


class JsonOut:
    """`say --json`'s contract: exactly one JSON object on stdout, whatever happens."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.sent = False

    def emit(self, payload: dict[str, Any]) -> None:
        if self.enabled and not self.sent:
            self.sent = True
            print(json.dumps(payload, ensure_ascii=False), flush=True)

    def fail(self, args: argparse.Namespace | None, message: str, kind: str) -> None:
        from nuanu_tui.core.timeline import UtteranceResult

        result = UtteranceResult(
            trigger=getattr(args, "trigger", None) or "",
            llm=getattr(args, "llm", None) or "",
            tts=getattr(args, "tts", None) or "",
            error=message,
            error_kind=kind,
        )
        self.emit(result.to_json())


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
            return _run(args, out)
        except NuanuError as exc:
            from nuanu_tui.core.config import SettingsError, secret_values
            from nuanu_tui.core.redact import scrub

            message = scrub(exc.message, secret_values()) or exc.kind
            out.fail(args, message, exc.kind)
            if isinstance(exc, SettingsError):
                for line in exc.lines:
                    _fail(line)
                return EXIT_USAGE
            return _fail(message, EXIT_USAGE if exc.kind in USAGE_KINDS else EXIT_FAILED)
        except Exception as exc:  # last resort: one line, no traceback, no secrets
            from nuanu_tui.core.config import secret_values
            from nuanu_tui.core.redact import scrub

            message = scrub(f"{type(exc).__name__}: {exc}", secret_values()) or "unknown error"
            out.fail(args, message, "internal")
            return _fail(message)
    except KeyboardInterrupt:
        return _interrupted(out, args)


def _interrupted(out: JsonOut, args: argparse.Namespace | None) -> int:
    """Ctrl+C: one line (and the JSON object), exit 130. A second Ctrl+C while saying so is ignored."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out.fail(args, "interrupted (Ctrl+C)", "interrupted")
    return _fail("interrupted (Ctrl+C)", EXIT_INTERRUPTED)


def _run(args: argparse.Namespace, out: JsonOut) -> int:
    if args.command == "sim":
        from nuanu_tui.sim import run_forever

        run_forever(args.port, args.profile, net_choice(args), keys=args.keys)
        return 0
    import asyncio

    # Every other command reads settings: a bad one is reported before anything runs.
    settings = _settings(args)
    if getattr(args, "demo", False):
        from nuanu_tui.demo import install  # --demo is composed here, not in the engine

        install()
    if args.command == "say":
        return asyncio.run(_say(args, settings, out))
    if args.command == "bench":
        from nuanu_tui.bench_cli import run_bench_cli

        return asyncio.run(run_bench_cli(args, settings))
    if args.command == "ride":
        from nuanu_tui.ride_cli import run_ride_cli

        return asyncio.run(run_ride_cli(args, settings))
    if args.command == "models":
        return asyncio.run(_models(args, settings))
    if args.command == "doctor":
        from nuanu_tui.doctor import run_doctor

        return asyncio.run(run_doctor(settings))
    return _tui(args, settings)


def _tui(args: argparse.Namespace, settings: Settings) -> int:
    from nuanu_tui.core.remote import launch_host

    launched = launch_host(settings)  # its imports and warm-up overlap with Textual's start-up below
    try:
        from nuanu_tui.ui.app import run_app
    except ImportError:
        launched.proc.kill()
        build_parser().print_help()
        return 0
    return run_app(args, settings, launched)


def quiet_device_noise(settings: Settings, audio: str | None) -> None:
    """A headless command on a real device: ALSA/PortAudio's C-level lines go to engine.log, not the terminal."""
    if (audio or settings.audio).startswith("device"):
        from nuanu_tui.core.audio.stderr_tap import install
        from nuanu_tui.core.remote import engine_log_path

        install(engine_log_path(settings))


def offline_line(engine: object) -> str | None:
    from nuanu_tui.core.engine import Engine

    assert isinstance(engine, Engine)
    parts = []
    if engine.simulated:
        parts.append("SIMULATED: all providers are the in-process emulator (--demo)")
    reasons = engine.offline_reasons()
    if reasons:
        parts.append("OFFLINE: " + "; ".join(reasons))
    if engine.player.warning:
        parts.append(f"AUDIO: {engine.player.warning}")
    return " | ".join(parts) or None


SAY_FILL_WAIT_S = 60.0


async def _say(args: argparse.Namespace, settings: Settings, out: JsonOut) -> int:
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
            return _fail(message)

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
    if not result.ok:
        return _fail(result.error or "failed")
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


async def _models(args: argparse.Namespace, settings: Settings) -> int:
    from nuanu_tui.core.engine import make_llm

    model = {"groq": settings.groq_model, "openai": settings.openai_model}.get(args.provider, "any")
    provider = make_llm(f"{args.provider}/{model}", settings)
    try:
        names = await provider.list_models()
    finally:
        await provider.aclose()
    for name in names:
        print(name)
    return 0


if __name__ == "__main__":  # pragma: no cover
    os._exit(main())
