"""The console's bridge over the shared engine link, without an App: a scripted engine in, a recording target
out. Every post happens on the engine loop before the bridge's future resolves, so no test waits on time."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ui_fakes import FIXED_STAGES, FIXED_TEXT, FakeEngine

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.ui.console_bridge import ConsoleBridge
from nuanu_tui.ui.link import EngineLink
from nuanu_tui.ui.messages import (
    EngineReady,
    ProviderSwitched,
    StageArrived,
    StatusChanged,
    TextArrived,
    UtteranceBegan,
    UtteranceDone,
)


class Recorder:
    """Stands where a screen would: keeps every message posted to it (from any thread), in order."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._lock = threading.Lock()

    def post_message(self, message: Any) -> bool:
        with self._lock:
            self.messages.append(message)
        return True

    def kinds(self) -> list[str]:
        return [type(m).__name__ for m in self.messages]


class RefusingEngine(FakeEngine):
    async def use_llm(self, spec: str) -> None:
        raise NuanuError("llm", f"no model {spec}")

    async def use_audio(self, spec: str) -> None:
        raise NuanuError("audio", f"no device {spec}")


async def opened(engine: FakeEngine) -> tuple[EngineLink, ConsoleBridge, Recorder]:
    async def factory() -> FakeEngine:
        return engine

    link, target = EngineLink(factory, output_format="pcm_24000"), Recorder()
    assert await link.open(target)  # type: ignore[arg-type]
    assert target.kinds() == ["EngineReady"] and isinstance(target.messages[0], EngineReady)
    target.messages.clear()
    return link, ConsoleBridge(link), target


async def test_say_posts_the_remark_in_order_and_resolves_to_its_view() -> None:
    link, bridge, target = await opened(FakeEngine())
    try:
        view = await asyncio.wrap_future(bridge.say("две собаки слева", target))  # type: ignore[arg-type]
    finally:
        await link.aclose()
    assert view.done and view.error is None
    assert view.text == "".join(FIXED_TEXT).strip()
    assert {k: v for k, v in view.stages_ms.items() if v is not None} == FIXED_STAGES
    kinds = target.kinds()
    assert kinds[0] == "StatusChanged" and kinds[-1] == "StatusChanged"  # queued, then idle again
    body = [m for m in target.messages if not isinstance(m, StatusChanged)]
    assert isinstance(body[0], UtteranceBegan) and isinstance(body[-1], UtteranceDone)
    assert "".join(m.text for m in body if isinstance(m, TextArrived)) == "".join(FIXED_TEXT)
    assert {m.stage: m.ms for m in body if isinstance(m, StageArrived)} == FIXED_STAGES
    assert body[-1].view == view


async def test_refused_switches_fail_and_only_the_model_switch_posts_the_status() -> None:
    link, bridge, target = await opened(RefusingEngine())
    try:
        await asyncio.wrap_future(bridge.use_llm("groq/nope", target))  # type: ignore[arg-type]
        llm = list(target.messages)
        target.messages.clear()
        await asyncio.wrap_future(bridge.use_audio("hw:9", target))  # type: ignore[arg-type]
        audio = list(target.messages)
    finally:
        await link.aclose()
    assert [type(m) for m in llm] == [ProviderSwitched, StatusChanged]
    assert (llm[0].kind, llm[0].spec, llm[0].error) == ("llm", "groq/nope", "no model groq/nope")
    assert [type(m) for m in audio] == [ProviderSwitched]  # nothing changed: no status to show
    assert (audio[0].kind, audio[0].error) == ("audio", "no device hw:9")
