"""Latency profiles for the emulator: how long the emulated providers take, per model and per service.

Numbers in `demo` follow published figures (docs/protocols.md §5); `fast` keeps tests quick while still
having a measurable floor; `zero` removes every injected delay (overhead measurements).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Flavor = Literal["groq", "openai"]


@dataclass(frozen=True, slots=True)
class LLMProfile:
    """`ttft_ms`: request arrival → first *content* token; `token_interval_ms`: gap between tokens."""

    ttft_ms: float
    token_interval_ms: float


@dataclass(frozen=True, slots=True)
class TTSProfile:
    """`first_audio_ms`: flush/trigger of a generation → its first audio frame;
    `chunk_interval_ms`: gap between audio frames; `chunk_ms`: audio duration carried by one frame."""

    first_audio_ms: float
    chunk_interval_ms: float
    chunk_ms: float


@dataclass(frozen=True, slots=True)
class ProfileSet:
    """A named set: per-path LLM defaults, model-id substring overrides (first match wins), one TTS profile."""

    name: str
    groq: LLMProfile
    openai: LLMProfile
    tts: TTSProfile
    models: tuple[tuple[str, LLMProfile], ...] = field(default=())

    def llm_for(self, model: str, flavor: Flavor) -> LLMProfile:
        for needle, prof in self.models:
            if needle in model:
                return prof
        return self.groq if flavor == "groq" else self.openai


# Groq llama-3.1-8b-instant: TTFT ≈157 ms warm p50 (krabarena.org, 3P) and 45–200 ms (tokenwisehq/kickllm, 3P);
# 560 tok/s in Groq's models table, 750–780 tok/s third-party → ~500 tok/s = 2 ms/token is conservative.
_GROQ_8B = LLMProfile(ttft_ms=200.0, token_interval_ms=2.0)
# Groq llama-3.3-70b-versatile: 280 tok/s (Groq models table) → 3.6 ms/token; TTFT ≈163 ms (krabarena.org, 3P).
_GROQ_70B = LLMProfile(ttft_ms=200.0, token_interval_ms=3.6)
# Groq openai/gpt-oss-20b: ≈1000 tok/s (papi-ai/groq release notes, 3P); reasoning precedes content.
_GPT_OSS_20B = LLMProfile(ttft_ms=250.0, token_interval_ms=1.0)
# Groq openai/gpt-oss-120b: ≈500 tok/s (same source).
_GPT_OSS_120B = LLMProfile(ttft_ms=300.0, token_interval_ms=2.0)
# GPT-4o-mini: TTFT 0.2–0.4 s synthetic, the prototype measured ~1.4 s TTFA end to end; 140–160 tok/s synthetic,
# 59 tok/s measured by a user (tokenwisehq.com, kickllm.com, community.openai.com/t/1307310, all 3P)
# → ~500 ms and ~80 tok/s = 12.5 ms/token.
_GPT_4O_MINI = LLMProfile(ttft_ms=500.0, token_interval_ms=12.5)
# Local Ollama qwen2.5 on a small CPU: our own assumption (no published figure), slow but plausible.
_LOCAL_QWEN = LLMProfile(ttft_ms=400.0, token_interval_ms=40.0)
# ElevenLabs Flash v2.5: 75 ms model inference (elevenlabs.io/docs/models, D); 100–200 ms end-to-end TTFB over WS
# (ElevenLabs Discord answer, 3P weak); first chunk p50 75–150 ms for <100 chars (usesherlock.ai, 3P) → 150 ms.
# Frame size and pace are our assumption: the service streams faster than real time (≈5×).
_FLASH = TTSProfile(first_audio_ms=150.0, chunk_interval_ms=40.0, chunk_ms=200.0)

DEMO = ProfileSet(
    name="demo",
    groq=_GROQ_8B,
    openai=_GPT_4O_MINI,
    tts=_FLASH,
    models=(
        ("gpt-oss-120b", _GPT_OSS_120B),
        ("gpt-oss", _GPT_OSS_20B),
        ("gpt-4o", _GPT_4O_MINI),
        ("70b", _GROQ_70B),
        ("8b", _GROQ_8B),
        ("qwen", _LOCAL_QWEN),
    ),
)

_FAST_LLM = LLMProfile(ttft_ms=30.0, token_interval_ms=2.0)
FAST = ProfileSet(
    name="fast",
    groq=_FAST_LLM,
    openai=_FAST_LLM,
    tts=TTSProfile(first_audio_ms=20.0, chunk_interval_ms=5.0, chunk_ms=100.0),
)

_ZERO_LLM = LLMProfile(ttft_ms=0.0, token_interval_ms=0.0)
ZERO = ProfileSet(
    name="zero",
    groq=_ZERO_LLM,
    openai=_ZERO_LLM,
    tts=TTSProfile(first_audio_ms=0.0, chunk_interval_ms=0.0, chunk_ms=100.0),
)

PROFILES: dict[str, ProfileSet] = {p.name: p for p in (DEMO, FAST, ZERO)}


def get_profile(profile: str | ProfileSet) -> ProfileSet:
    """Resolve a profile name (demo, fast, zero) or pass a ProfileSet through."""
    if isinstance(profile, ProfileSet):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(f"unknown sim profile {profile!r}: use one of {', '.join(PROFILES)}") from None
