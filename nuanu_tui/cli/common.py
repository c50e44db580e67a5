"""What several commands share: exit statuses, usage errors, `say --json`'s contract, settings from the
flags, and the lines a headless command prints before it starts (offline, simulated, audio)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from nuanu_tui.core.errors import NuanuError

if TYPE_CHECKING:
    from nuanu_tui.core.config import Settings

# Exit statuses: a usage or settings mistake is 2 (argparse's convention), Ctrl+C is 128 + SIGINT.
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
EXIT_PIPE = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as a tool killed by it reports
USAGE_KINDS = frozenset({"usage", "settings", "input", "prompt"})


class UsageError(NuanuError):
    def __init__(self, message: str) -> None:
        super().__init__("usage", message)


def fail(message: str, code: int = EXIT_FAILED) -> int:
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


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings with the command line's overrides on top."""
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
    prompt = getattr(args, "prompt", None)
    if prompt:
        update["prompt"] = prompt
    return settings.model_copy(update=update) if update else settings


def check_prompts(settings: Settings, names: list[str | None]) -> None:
    """Every prompt file parses and every name asked for exists, before anything starts (PromptError: one
    line naming the file, exit 2)."""
    from nuanu_tui.core.llm.prompt_files import choose_prompt
    from nuanu_tui.core.providers import prompts_for

    prompts = prompts_for(settings)
    for name in names or [None]:
        choose_prompt(prompts, name, settings.lang)


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
