"""LLM and TTS providers built from spec strings (`groq/llama-3.1-8b-instant`, `elevenlabs`, `espeak/ru`),
and the prompt files they are asked with.

The cloud and offline modules are imported only for the spec asked for, so an offline start never loads
the cloud SDKs."""

from __future__ import annotations

from nuanu_tui.core.config import Settings, parse_llm_spec
from nuanu_tui.core.errors import ConfigError
from nuanu_tui.core.llm.base import LLMProvider
from nuanu_tui.core.llm.prompt_files import Prompt
from nuanu_tui.core.tts.base import TTSProvider


def make_llm(spec: str, settings: Settings) -> LLMProvider:
    parsed = parse_llm_spec(spec)
    if parsed.provider == "offline":
        from nuanu_tui.core.llm.phrasebook import PhrasebookLLM

        if parsed.model != "phrasebook":
            raise ConfigError(f"unknown offline model {parsed.model!r}: use offline/phrasebook")
        return PhrasebookLLM(lang=settings.lang)
    from nuanu_tui.core.llm.cloud import CloudLLM

    return CloudLLM(parsed, settings)


def make_tts(spec: str, settings: Settings, *, output_format: str | None = None) -> TTSProvider:
    name, _, arg = spec.partition("/")
    if name == "espeak":
        from nuanu_tui.core.tts.espeak import EspeakTTS

        voice = arg or settings.espeak_voice or ("ru" if settings.lang == "ru" else "en")
        return EspeakTTS(voice=voice, rate=settings.espeak_rate)
    if name == "elevenlabs":
        from nuanu_tui.core.tts.elevenlabs import ElevenLabsTTS

        if arg:
            settings = settings.model_copy(update={"elevenlabs_model_id": arg})
        return ElevenLabsTTS(settings, output_format=output_format)
    raise ConfigError(f"bad TTS spec {spec!r}: use elevenlabs or espeak")


def prompts_for(settings: Settings) -> dict[str, Prompt]:
    """Every prompt file a configured nuanu-tui can use: shipped, and the user's in DATA_DIR/prompts
    (PromptError for a file that cannot be read or parsed)."""
    from nuanu_tui.core.llm.prompt_files import load_prompts
    from nuanu_tui.core.store_schema import default_db_path

    return load_prompts(default_db_path(settings.data_dir).parent)
