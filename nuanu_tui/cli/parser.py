"""Every command's flags in one place: the parser is built on each start, the commands' modules are not."""

from __future__ import annotations

import argparse

from nuanu_tui.cli.common import UsageError

SPEEDS = ("1", "4", "max")  # ride --speed


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `--json` can still answer with one JSON object."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def _common(p: argparse.ArgumentParser, *, many_llms: bool = False) -> None:
    from nuanu_tui.core.config import OUTPUT_FORMATS

    if many_llms:
        p.add_argument("--llm", dest="llms", action="append", help="LLM spec (repeat for several)")
        p.add_argument(
            "--prompt",
            dest="prompts",
            action="append",
            metavar="NAME",
            help="prompt file by name (repeat to compare; crossed with --llm); see `nuanu-tui prompts`",
        )
    else:
        p.add_argument(
            "--llm", help="LLM spec PROVIDER/MODEL, e.g. groq/llama-3.1-8b-instant or offline/phrasebook"
        )
        p.add_argument(
            "--prompt", metavar="NAME", help="the character's prompt file by name (see `nuanu-tui prompts`)"
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

    ride = sub.add_parser("ride", help="ride mode: camera events in, the director decides, rides recorded")
    _common(ride)
    ride.add_argument("--ws", type=int, metavar="PORT", help="WebSocket feed on ws://HOST:PORT/events")
    ride.add_argument(
        "--udp", type=int, metavar="PORT", help="UDP feed (one JSON event or frame per datagram)"
    )
    ride.add_argument("--stdin", action="store_true", help="JSON lines (or plain text triggers) on stdin")
    ride.add_argument(
        "--mqtt", metavar="URL", help="MQTT feed mqtt://[USER@]HOST:PORT/TOPIC (+, # wildcards; mqtts:// for TLS;"
        " password in NUANU_MQTT_PASSWORD; default NUANU_MQTT)",
    )  # fmt: skip
    ride.add_argument("--replay", metavar="FILE", help="replay a recorded ride or a sample (village_street)")
    ride.add_argument("--speed", choices=SPEEDS, default="1", help="replay speed: 1, 4 or max")
    ride.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    ride.add_argument("--host", help="address the feeds listen on (default 127.0.0.1 / NUANU_EVENTS_HOST)")
    ride.add_argument("--json", dest="json_path", metavar="PATH", help="write the ride report here")

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

    ratings = sub.add_parser(
        "ratings", help="arena ratings (Bradley–Terry, Elo scale) and quick-rating likes"
    )
    ratings.add_argument("--json", action="store_true", help="print {votes, ratings: [...]} on stdout")
    ratings.add_argument("--import", dest="import_path", metavar="FILE", help="merge votes from a JSONL file")
    ratings.add_argument(
        "--export", dest="export_path", metavar="FILE", help="write every vote to a JSONL file"
    )
    sub.add_parser(
        "prompts",
        help="the prompt files: name, version, source file, approximate tokens (DATA_DIR/prompts wins)",
    )
    return parser
