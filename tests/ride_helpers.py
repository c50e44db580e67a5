"""Shared set-up for ride tests: a real engine on the session's emulator, and expected sample-ride counts."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine

GROQ = "groq/llama-3.1-8b-instant"
KEYS = {
    "groq_api_key": "gsk_RIDE_groq_0123456789abcdef",
    "openai_api_key": "sk-RIDE-openai-0123456789abcdef",
    "elevenlabs_api_key": "xi_RIDE_eleven_0123456789abcdef",
}

# Decision counts of the sample rides replayed at --speed max (virtual ride time: they depend on the file only).
SAMPLE_COUNTS: dict[str, dict[str, Any]] = {
    "camera_crossing": {  # frames: the events are what the tracker made of them (and one safety event)
        "received": 9,
        "spoken": 3,
        "spoken_by_reason": {"barge_in": 1, "ok": 2},
        "skipped": {"busy": 1, "cooldown": 3, "duplicate": 2},
        "rejected": {},
    },
    "village_street": {
        "received": 52,
        "spoken": 9,
        "spoken_by_reason": {"barge_in": 1, "ok": 8},
        "skipped": {
            "busy": 5,
            "cooldown": 8,
            "duplicate": 4,
            "low_confidence": 4,
            "rate_limit": 12,
            "stale": 5,
        },
        "rejected": {"malformed": 5},
    },
    "temple_ceremony": {
        "received": 50,
        "spoken": 10,
        "spoken_by_reason": {"barge_in": 1, "ok": 9},
        "skipped": {
            "busy": 13,
            "cooldown": 13,
            "duplicate": 2,
            "low_confidence": 2,
            "rate_limit": 1,
            "stale": 4,
        },
        "rejected": {"malformed": 5},
    },
    "market_in_rain": {
        "received": 50,
        "spoken": 8,
        "spoken_by_reason": {"barge_in": 1, "ok": 7},
        "skipped": {
            "busy": 11,
            "cooldown": 16,
            "duplicate": 1,
            "low_confidence": 3,
            "rate_limit": 4,
            "stale": 4,
        },
        "rejected": {"malformed": 3},
    },
}


def sim_settings(sim: Any, **update: Any) -> Settings:
    return Settings().model_copy(
        update={
            **{k: SecretStr(v) for k, v in KEYS.items()},
            "groq_base_url": sim.groq_base_url,
            "openai_base_url": sim.openai_base_url,
            "elevenlabs_base_url": sim.elevenlabs_base_url,
            "failover": "off",
            **update,
        }
    )


async def sim_engine(sim: Any, audio: str = "null", **update: Any) -> Engine:
    return await Engine.create(sim_settings(sim, **update), llm=GROQ, tts="elevenlabs", audio=audio)


def adds_up(summary: dict[str, Any]) -> bool:
    return summary["received"] == summary["spoken"] + sum(summary["skipped"].values()) + sum(
        summary["rejected"].values()
    )
