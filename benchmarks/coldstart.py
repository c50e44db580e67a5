"""Child process for the cold-start benchmark: launch -> ready (imports, sockets open, connections warm),
then the first utterance's overhead against warm ones. Prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def main(launched_ns: int, groq_url: str, el_url: str, floor_ms: float, warm_runs: int) -> None:
    from pydantic import SecretStr

    from nuanu_tui.core.config import Settings
    from nuanu_tui.core.engine import Engine

    settings = Settings().model_copy(
        update={
            "groq_base_url": groq_url,
            "elevenlabs_base_url": el_url,
            "groq_api_key": SecretStr("bench"),
            "elevenlabs_api_key": SecretStr("bench"),
            "failover": "off",
        }
    )
    engine = await Engine.create(settings, llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null")
    ready_ms = (time.monotonic_ns() - launched_ns) / 1e6
    overheads = []
    for _ in range(warm_runs + 1):
        result = await engine.say("две собаки слева")
        overheads.append((result.stages_ms["first_audio"] or float("nan")) - floor_ms)
    await engine.aclose()
    print(json.dumps({"ready_ms": ready_ms, "first": overheads[0], "warm": overheads[1:]}))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])))
