"""What the ride's memory costs: TTFT with the last three remarks in the prompt against none.

Against the emulator (fixed 200 ms TTFT, same reply), so the difference is our side only: building and
sending the longer request. A real provider also prefills the extra tokens; the script prints how many
characters (≈ tokens/3.5 for Russian) the memory adds, which is the input to that estimate.

    uv run python benchmarks/ride_prompt.py [--runs 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics

from pydantic import SecretStr

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.llm.prompts import build_messages
from nuanu_tui.sim import SimThread
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile

PROFILE = ProfileSet(
    name="ride-prompt",
    groq=LLMProfile(ttft_ms=200.0, token_interval_ms=5.0),
    openai=LLMProfile(ttft_ms=200.0, token_interval_ms=5.0),
    tts=TTSProfile(first_audio_ms=50.0, chunk_interval_ms=5.0, chunk_ms=100.0),
)
RECENT = (
    "Вот это да, две собаки слева караулят обочину, как настоящие инспекторы дорожного движения!",
    "Справа скутер обгоняет нас с таким видом, будто опаздывает на собственную свадьбу.",
    "Впереди группа туристов фотографирует храм, а храм, кажется, фотографирует их в ответ.",
)
TRIGGERS = ("две собаки слева", "впереди пять мотоциклов", "справа ребёнок", "впереди храм")


async def main(runs: int) -> dict[str, object]:
    thread = SimThread(profile=PROFILE, reply_fn=lambda trigger, model: "Ого, смотрите, как интересно!")
    server = thread.start()
    settings = Settings().model_copy(
        update={
            "groq_base_url": server.groq_base_url,
            "elevenlabs_base_url": server.elevenlabs_base_url,
            "groq_api_key": SecretStr("bench"),
            "elevenlabs_api_key": SecretStr("bench"),
            "failover": "off",
        }
    )
    engine = await Engine.create(settings, llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null")
    ttft: dict[str, list[float]] = {"none": [], "three": []}
    try:
        await engine.say("разогрев")
        for i in range(runs):  # interleaved, so drift on a loaded machine hits both alike
            for name, recent in (("none", ()), ("three", RECENT)):
                r = await engine.say(TRIGGERS[i % len(TRIGGERS)], recent=recent)
                if r.stages_ms["ttft"] is not None:
                    ttft[name].append(r.stages_ms["ttft"])
    finally:
        await engine.aclose()
        thread.stop()
    extra = len(build_messages("x", "ru", RECENT)[0]["content"]) - len(
        build_messages("x", "ru")[0]["content"]
    )
    p50 = {k: statistics.median(v) for k, v in ttft.items()}
    return {
        "runs": runs,
        "ttft_p50_ms": {k: round(v, 2) for k, v in p50.items()},
        "delta_p50_ms": round(p50["three"] - p50["none"], 2),
        "prompt_extra_chars": extra,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    print(json.dumps(asyncio.run(main(parser.parse_args().runs)), ensure_ascii=False))
