"""The output filter sits between the LLM and the TTS: blocked words never reach the speaker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.safety import SAFE_PHRASE_RU
from nuanu_tui.sim import SimThread
from tests.conftest import E2E_PROFILE, FAKE_KEYS

REPLIES = {
    "грязно": "Вот это да, эти суки опять бегут за шаттлом! Держитесь крепче.",
    "чисто": "Вот это да, слон на мопеде! А за ним ещё два.",
    "markdown": "**Вот это да**, слон на мопеде (смеётся)! Подробнее: https://example.com",
}


def reply(trigger: str, _model: str) -> str:
    for key, text in REPLIES.items():
        if key in trigger:
            return text
    return REPLIES["чисто"]


@pytest.fixture(scope="module")
def sim_server() -> Iterator[object]:
    thread = SimThread(profile=E2E_PROFILE, reply_fn=reply)
    server = thread.start()
    yield server
    thread.stop()


async def make_engine(server: object) -> Engine:
    settings = Settings().model_copy(
        update={
            "groq_base_url": server.groq_base_url,  # type: ignore[attr-defined]
            "elevenlabs_base_url": server.elevenlabs_base_url,  # type: ignore[attr-defined]
            "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
            "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
        }
    )
    return await Engine.create(settings, llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null")


def sent_text(server: object, context_id: str) -> str:
    msgs = [m for m in server.ws_messages if m.get("context_id") == context_id]  # type: ignore[attr-defined]
    return "".join(m.get("text", "") for m in msgs)


@pytest.mark.slow
async def test_blocked_word_never_reaches_the_tts(sim_server: object) -> None:
    engine = await make_engine(sim_server)
    try:
        result = await engine.say("грязно: собаки бегут")
    finally:
        await engine.aclose()
    assert result.ok, result.error
    spoken = sent_text(sim_server, result.utterance_id)
    assert "сук" not in spoken.lower()
    assert SAFE_PHRASE_RU.split()[0] in spoken
    assert result.filtered is True
    assert any("output filtered" in n for n in result.notices)
    assert "сук" not in result.text.lower()


@pytest.mark.slow
async def test_clean_text_reaches_the_tts_unchanged(sim_server: object) -> None:
    engine = await make_engine(sim_server)
    try:
        result = await engine.say("чисто: слон")
    finally:
        await engine.aclose()
    assert result.ok and result.filtered is False
    assert sent_text(sim_server, result.utterance_id).strip() == REPLIES["чисто"]


async def test_markup_and_urls_are_not_spoken(sim_server: object) -> None:
    engine = await make_engine(sim_server)
    try:
        result = await engine.say("markdown: слон")
    finally:
        await engine.aclose()
    assert result.ok
    spoken = sent_text(sim_server, result.utterance_id)
    assert "**" not in spoken and "https" not in spoken and "смеётся" not in spoken
    assert "слон на мопеде" in spoken
