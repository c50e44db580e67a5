"""Child process for the cold-start benchmark: launch -> ready (imports, sockets open, connections warm),
then the first utterance's overhead against warm ones. Prints one JSON line.

Mode `engine`: the headless engine (what `nuanu-tui say` pays). Mode `tui`: the console (Pilot, no
terminal) with its engine process; ready is when the console has its engine. It also reports the peak RSS
of both processes, which is the app alone (nothing else runs in them).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

TRIGGER = "две собаки слева"


def settings_for(groq_url: str, el_url: str) -> Any:
    from pydantic import SecretStr

    from nuanu_tui.core.config import Settings

    return Settings().model_copy(
        update={
            "groq_base_url": groq_url,
            "elevenlabs_base_url": el_url,
            "groq_api_key": SecretStr("bench"),
            "elevenlabs_api_key": SecretStr("bench"),
            "failover": "off",
            "instant": False,  # the remark's own first audio, as in run.py's overhead rows
        }
    )


async def engine_mode(launched_ns: int, settings: Any, floor_ms: float, warm_runs: int) -> dict[str, Any]:
    from nuanu_tui.core.engine import Engine

    engine = await Engine.create(settings, llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null")
    ready_ms = (time.monotonic_ns() - launched_ns) / 1e6
    overheads = []
    for _ in range(warm_runs + 1):
        result = await engine.say(TRIGGER)
        overheads.append((result.stages_ms["first_audio"] or float("nan")) - floor_ms)
    await engine.aclose()
    return {"ready_ms": ready_ms, "first": overheads[0], "warm": overheads[1:]}


async def tui_mode(launched_ns: int, settings: Any, floor_ms: float, warm_runs: int) -> dict[str, Any]:
    from nuanu_tui.core.remote import launch_host

    launched = launch_host(settings)  # as the CLI does: before Textual is imported
    from nuanu_tui.ui.app import make_app

    app = make_app(
        settings, llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null", launched=launched
    )
    overheads = []
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.link.ready:
            await pilot.pause(0.01)
        ready_ms = (time.monotonic_ns() - launched_ns) / 1e6
        for _ in range(warm_runs + 1):
            view = await asyncio.wrap_future(app.screen.bridge.say(TRIGGER, app.screen))
            overheads.append((view.stages_ms.get("first_audio") or float("nan")) - floor_ms)
            await pilot.pause()
        from nuanu_tui.core.memory import peak_rss_mb, pss_mb

        future = app.link.host_stats()
        stats = await asyncio.wrap_future(future) if future is not None else None
        console_pss = pss_mb()
    return {
        "ready_ms": ready_ms,
        "first": overheads[0],
        "warm": overheads[1:],
        "console_rss_mb": peak_rss_mb(),
        "engine_rss_mb": stats.rss_peak_mb if stats is not None else None,
        "console_pss_mb": console_pss,
        "engine_pss_mb": stats.extra.get("pss_mb") if stats is not None else None,
    }


def main(argv: list[str]) -> None:
    launched, groq_url, el_url, floor_ms, warm_runs = (
        int(argv[0]),
        argv[1],
        argv[2],
        float(argv[3]),
        int(argv[4]),
    )
    mode = argv[5] if len(argv) > 5 else "engine"
    run = tui_mode if mode == "tui" else engine_mode
    print(json.dumps(asyncio.run(run(launched, settings_for(groq_url, el_url), floor_ms, warm_runs))))


if __name__ == "__main__":
    main(sys.argv[1:])
