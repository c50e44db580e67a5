"""espeak TTS through the espeakng-loader wheel: real synthesis, streaming, cancel, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.tts import espeak
from nuanu_tui.core.tts.espeak import EspeakTTS

LONG = (
    "Посмотрите направо: рисовые поля, пальмы и храм на холме. За такой вид на Бали обычно берут деньги, "
    "а у нас он бесплатный, так что делайте фотографии, пока шаттл едет медленно. "
)


def _samples(pcm: bytes) -> np.ndarray:
    assert len(pcm) % 2 == 0
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def _rms(pcm: bytes) -> float:
    a = _samples(pcm)
    return float(np.sqrt((a**2).mean())) if a.size else 0.0


def test_synth_blocking_russian_is_loud_and_plausibly_long() -> None:
    tts = EspeakTTS()
    text = "Вот это да, две собаки слева!"
    pcm = tts.synth_blocking(text)
    seconds = len(pcm) / 2 / tts.format.sample_rate
    assert _rms(pcm) > 500  # silence is ~0; espeak speech is in the thousands
    assert 0.04 <= seconds / len(text) <= 0.2
    assert tts.format.encoding == "pcm" and tts.format.sample_rate == 22050


def test_rate_and_voice_are_configurable() -> None:
    text = "Шаттл Нуану едет дальше, пассажиры улыбаются."
    slow = EspeakTTS(rate=120).synth_blocking(text)
    fast = EspeakTTS(rate=300).synth_blocking(text)
    assert len(fast) < 0.7 * len(slow)
    english = EspeakTTS(voice="en").synth_blocking("Two dogs on the left!")
    assert _rms(english) > 500
    assert EspeakTTS(voice="en").spec == "espeak/en" and EspeakTTS().spec == "espeak/ru"


async def test_unknown_voice_is_a_tts_error() -> None:
    with pytest.raises(NuanuError) as info:
        await EspeakTTS(voice="no-such-voice").connect()
    assert info.value.kind == "tts" and "no-such-voice" in info.value.message


def test_missing_library_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import espeakng_loader

    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: "/nonexistent/libespeak-ng.so")
    engine = espeak._Engine()
    try:
        with pytest.raises(NuanuError) as info:
            engine._load()
    finally:
        engine.executor.shutdown()
    assert info.value.kind == "tts"
    assert str(info.value) == (
        "espeak-ng library not found: install the espeakng-loader package (pip install espeakng-loader)"
    )


async def test_streams_many_chunks_in_order_for_a_long_text() -> None:
    tts = EspeakTTS()
    await tts.connect()
    assert tts.state == "local"
    utt = await tts.start("u1")
    assert utt.reused is True and utt.format == tts.format
    await utt.send("Вот это да, ")
    await utt.send(LONG)
    await utt.finish()
    chunks = [c async for c in utt.audio()]
    assert len(chunks) > 1
    pcm = b"".join(chunks)
    assert _rms(pcm) > 500
    # as long as one-shot synthesis of the same clauses (espeak adds a little noise: not bit-exact)
    expected = len(tts.synth_blocking("Вот это да,")) + len(tts.synth_blocking(LONG.strip()))
    assert abs(len(pcm) - expected) < 0.03 * expected


async def test_two_utterances_in_sequence_both_speak() -> None:
    tts = EspeakTTS()
    for i, text in enumerate(["Первая фраза. ", "Вторая фраза, чуть длиннее первой. "]):
        utt = await tts.start(f"u{i}")
        await utt.send(text)
        await utt.finish()
        pcm = b"".join([c async for c in utt.audio()])
        assert _rms(pcm) > 500, i


async def test_cancel_ends_the_iterator_early() -> None:
    tts = EspeakTTS()
    full = len(tts.synth_blocking(LONG * 3))
    utt = await tts.start("c")
    for _ in range(3):
        await utt.send(LONG)
    await utt.finish()
    got = 0
    async for chunk in utt.audio():
        got += len(chunk)
        await utt.cancel()
    assert 0 < got < full / 10  # one ~50 ms chunk, not three long sentences
    # the engine is still usable afterwards
    after = await tts.start("d")
    await after.send("Снова в строю. ")
    await after.finish()
    assert _rms(b"".join([c async for c in after.audio()])) > 500


def test_callback_abort_stops_synthesis_mid_text() -> None:
    tts = EspeakTTS()
    chunks: list[bytes] = []

    def first_only(pcm: bytes) -> None:
        chunks.append(pcm)
        job.cancelled = True  # the next callback returns 1: espeak aborts

    job = espeak._Job(first_only)
    tts.engine.submit(tts.engine.synth, LONG, tts.voice, tts.rate, job).result()
    assert len(chunks) == 1
    assert len(tts.synth_blocking(LONG)) > 10 * len(chunks[0])  # and the next synthesis is complete


async def test_control_characters_are_stripped_before_synthesis() -> None:
    tts = EspeakTTS()
    utt = await tts.start("x")
    await utt.send("\x00\x07\x1b ")
    await utt.send("Привет\x00, мир\x07! ")
    await utt.finish()
    pcm = b"".join([c async for c in utt.audio()])
    clean = len(tts.synth_blocking("Привет, мир!"))
    assert abs(len(pcm) - clean) < 0.03 * clean and _rms(pcm) > 500


async def test_send_after_finish_is_ignored_and_iterator_ends() -> None:
    tts = EspeakTTS()
    utt = await tts.start("e")
    await utt.finish()
    await utt.send("Поздно. ")
    assert [c async for c in utt.audio()] == []
    await tts.aclose()
    assert tts.state == "closed"
    with pytest.raises(NuanuError):
        await tts.start("f")
