"""`--demo` composed outside the engine: the in-process emulator, and settings pointed at it.

The engine (`core/`) knows only the `Emulator` seam (start, switch the emulated network, stop); this module
is the one that imports `nuanu_tui.sim`. Composition roots (the CLI, the engine's process) call `install()`
before they create an engine with `demo=True`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr

DEMO_KEY = "sim-demo-key"
DEMO_SIM_KEEP = 50  # the demo emulator keeps this many recent requests/contexts, not a whole day's audio


class SimEmulator:
    """The emulator in its own thread, speaking phrasebook text with real espeak-ng audio."""

    def __init__(self) -> None:
        self._thread: Any = None
        self.server: Any = None

    async def start(self, settings: Any, profile: str) -> Any:
        """Start the emulator and return `settings` pointing every cloud client at it (throwaway keys)."""
        from nuanu_tui.sim import SimThread

        self._thread = SimThread(profile=profile, keep=DEMO_SIM_KEEP, net=settings.sim_net, **_demo_content())
        self.server = server = await asyncio.to_thread(self._thread.start)
        return settings.model_copy(
            update={
                "groq_base_url": server.groq_base_url,
                "openai_base_url": server.openai_base_url,
                "elevenlabs_base_url": server.elevenlabs_base_url,
                "groq_api_key": SecretStr(DEMO_KEY),
                "openai_api_key": SecretStr(DEMO_KEY),
                "elevenlabs_api_key": SecretStr(DEMO_KEY),
            }
        )

    def use_net(self, spec: str) -> tuple[str, str]:
        """Switch the emulated link live; returns (spec, label). ValueError for a bad spec."""
        from nuanu_tui.core.netprofile import parse_net

        profile = parse_net(spec)
        self.server.net = profile
        return profile.spec(), profile.label()

    @property
    def net_label(self) -> str | None:
        net = getattr(self.server, "net", None)
        return None if net is None else net.label()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None


def _quoted_trigger(message: str) -> str:
    """The trigger inside the LLM's user message («Сообщение камеры (данные): "…"»): the phrasebook must
    read what the camera saw, not the prefix (it took «сообщение» for the thing seen)."""
    import json

    start = message.find('"')
    if start < 0:
        return message
    try:
        value, _ = json.JSONDecoder().raw_decode(message, start)
    except ValueError:
        return message
    return value if isinstance(value, str) else message


def _demo_content() -> dict[str, object]:
    """The emulator speaks phrasebook text with real espeak-ng audio, so demo runs sound like the product."""
    kwargs: dict[str, object] = {}
    try:
        from nuanu_tui.core.llm.phrasebook import PhrasebookLLM

        book = PhrasebookLLM()
        kwargs["reply_fn"] = lambda message, model: book.compose(_quoted_trigger(message))
    except Exception:
        pass
    try:
        from nuanu_tui.sim.speech import espeak_speech

        kwargs["speech_fn"] = espeak_speech
    except Exception:
        pass
    return kwargs


def install() -> None:
    """Make `Engine.create(demo=True)` use the emulator (idempotent)."""
    from nuanu_tui.core.engine import set_demo_emulator

    set_demo_emulator(SimEmulator)
