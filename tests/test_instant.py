"""Instant reactions: the interjection cache, the choice, the prompt, and what the listener hears.

End-to-end tests run the real engine against the in-package emulator: real sockets, the real player and
the WAV sink, with the emulator's record of the bytes it sent as the reference.
"""

from __future__ import annotations

import asyncio
import json
import os
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from nuanu_tui.core import instant as instant_module
from nuanu_tui.core.assets import read_asset
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.audio.wav_sink import WavSink
from nuanu_tui.core.config import Settings, choose_defaults
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import PipelineEvent, StageReached
from nuanu_tui.core.instant import (
    CATEGORIES,
    PAUSE_MS,
    OpeningGuard,
    VoiceKey,
    all_interjections,
    classify,
    decode_clip,
    encode_clip,
    interjection_table,
    voice_key,
)
from nuanu_tui.core.llm.prompt_files import default_system
from nuanu_tui.core.llm.prompts import build_messages
from nuanu_tui.core.providers import make_tts
from nuanu_tui.sim import SimThread
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile
from tests.conftest import FAKE_KEYS

GROQ = "groq/llama-3.1-8b-instant"
DOGS = "две собаки слева"
REPLY = "Ого! Две собаки слева — пусть идут первыми."  # opens with the interjection the engine will play
PROFILE = ProfileSet(
    name="instant",
    groq=LLMProfile(ttft_ms=40.0, token_interval_ms=2.0),
    openai=LLMProfile(ttft_ms=40.0, token_interval_ms=2.0),
    tts=TTSProfile(first_audio_ms=10.0, chunk_interval_ms=3.0, chunk_ms=100.0),
)


# --- units ------------------------------------------------------------------------------------------------


def test_cache_key_changes_with_every_part() -> None:
    base = VoiceKey("elevenlabs", "voice@api.elevenlabs.io", "eleven_flash_v2_5", "pcm_24000")
    variants = [
        VoiceKey("espeak", base.voice, base.model, base.format),
        VoiceKey(base.tts, "other@api.elevenlabs.io", base.model, base.format),
        VoiceKey(base.tts, base.voice, "eleven_turbo_v2_5", base.format),
        VoiceKey(base.tts, base.voice, base.model, "mp3_44100_128"),
    ]
    digests = {base.digest("Ого!"), base.digest("Ух ты!"), *(v.digest("Ого!") for v in variants)}
    assert len(digests) == 6
    assert base.digest("Ого!") == VoiceKey(*[base.tts, base.voice, base.model, base.format]).digest("Ого!")


def test_voice_key_of_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", FAKE_KEYS["ELEVENLABS_API_KEY"])
    settings = Settings()
    cloud = voice_key(make_tts("elevenlabs", settings, output_format="pcm_16000"))
    assert cloud == VoiceKey(
        "elevenlabs", f"{settings.elevenlabs_voice_id}@api.elevenlabs.io", "eleven_flash_v2_5", "pcm_16000"
    )
    emulated = settings.model_copy(update={"elevenlabs_base_url": "ws://127.0.0.1:9"})
    assert voice_key(make_tts("elevenlabs", emulated)).voice.endswith("@127.0.0.1")  # never the cloud's
    fast = voice_key(make_tts("espeak", settings.model_copy(update={"espeak_rate": 250})))
    assert (
        fast.tts == "espeak" and fast.model == "rate250" and fast != voice_key(make_tts("espeak", settings))
    )


@pytest.mark.parametrize(
    ("trigger", "label", "category"),
    [
        ("две собаки слева", None, "animals"),
        ("справа скутер обгоняет", None, "vehicles"),
        ("люди на пляже машут", None, "people"),
        ("храм впереди", None, "places"),
        ("начинается дождь", None, "weather"),
        ("осторожно, яма на дороге", None, "safety"),
        ("что-то непонятное", None, "general"),
        ("объект на обочине", "dog", "animals"),
        ("объект на обочине", "hazard", "safety"),
        ("две собаки слева", "unknown-label", "animals"),  # an unknown label falls back to the keywords
    ],
)
def test_classify(trigger: str, label: str | None, category: str) -> None:
    assert classify(trigger, label) == category


def test_interjections_come_from_the_shipped_asset() -> None:
    raw = json.loads(read_asset("interjections.json"))
    table = interjection_table()
    assert sorted(table) == ["en", "ru"]
    for lang, categories in table.items():
        assert list(categories) == list(CATEGORIES)
        assert {c: list(v) for c, v in categories.items()} == {c: raw[lang][c] for c in CATEGORIES}
    assert table["ru"]["safety"][0] == "Внимание!"  # safety first: the shipped table opens with it
    assert all_interjections("ru")[:2] == ["Ого!", "Ух ты!"]  # the fill order starts with "general"
    assert all_interjections("xx") == all_interjections("ru")  # an unknown language reacts in Russian


def test_an_interjection_table_missing_a_category_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {"ru": {c: ["Ого!"] for c in CATEGORIES if c != "weather"}}
    monkeypatch.setattr(instant_module, "read_asset", lambda _name: json.dumps(broken))
    interjection_table.cache_clear()
    try:
        with pytest.raises(NuanuError, match="ru has no weather interjections"):
            interjection_table()
    finally:
        monkeypatch.undo()
        interjection_table.cache_clear()
    assert interjection_table()["ru"]["weather"]


def test_clip_file_round_trip_and_damage() -> None:
    pcm = (b"\x10\x20" * 500) + b"\x00\x7f"
    blob = encode_clip(pcm, 24000)
    assert decode_clip(blob) == (pcm, 24000)
    flipped = bytearray(blob)
    flipped[-3] ^= 0xFF
    assert decode_clip(bytes(flipped)) is None
    assert decode_clip(blob[:-1]) is None
    assert decode_clip(b"garbage") is None


@pytest.mark.parametrize(
    ("deltas", "said", "text"),
    [
        (["Ого", "! Две", " собаки"], "Ого!", "Две собаки"),
        (["Ого, две собаки"], "Ого!", "Две собаки"),
        (["Ух", " ты! Слон"], "Ух ты!", "Слон"),
        (["Огород", " справа"], "Ого!", "Огород справа"),  # a longer word is not the interjection
        (["Две собаки"], "Ого!", "Две собаки"),
        (["Ого"], "Ого!", ""),  # only the interjection: nothing left to say
        (["Ого! Две"], None, "Ого! Две"),
    ],
)
def test_opening_guard(deltas: list[str], said: str | None, text: str) -> None:
    guard = OpeningGuard(said)
    out = "".join(guard.feed(d) for d in deltas) + guard.finish()
    assert out == text


def test_prompt_carries_the_interjection_after_the_trigger() -> None:
    plain = build_messages(DOGS, "ru")
    said = build_messages(DOGS, "ru", interjection="Ого!")
    assert said[0] == plain[0] and said[0]["content"] == default_system("ru")  # the cached prefix stays
    assert said[1]["content"].startswith(plain[1]["content"])
    note = said[1]["content"][len(plain[1]["content"]) :]
    assert '"Ого!"' in note and "не начинай с междометия" in note
    assert len(note) < 100  # the prompt stays short


# --- end to end -------------------------------------------------------------------------------------------


def opening_reply(trigger: str, model: str) -> str:
    return REPLY


@pytest.fixture(scope="module")
def isim() -> Iterator[Any]:
    thread = SimThread(profile=PROFILE, reply_fn=opening_reply)
    server = thread.start()
    yield server
    thread.stop()


@pytest.fixture
async def engines() -> AsyncIterator[list[Engine]]:
    made: list[Engine] = []
    yield made
    for engine in made:
        await engine.aclose()


def settings_for(server: Any, data_dir: Path, **overrides: Any) -> Settings:
    update: dict[str, Any] = {
        "groq_base_url": server.groq_base_url,
        "openai_base_url": server.openai_base_url,
        "elevenlabs_base_url": server.elevenlabs_base_url,
        "groq_api_key": SecretStr(FAKE_KEYS["GROQ_API_KEY"]),
        "openai_api_key": SecretStr(FAKE_KEYS["OPENAI_API_KEY"]),
        "elevenlabs_api_key": SecretStr(FAKE_KEYS["ELEVENLABS_API_KEY"]),
        "data_dir": data_dir,
        "instant": True,
        "failover": "off",
        "connect_timeout": 2.0,
    }
    update.update(overrides)
    return Settings().model_copy(update=update)


async def build(
    settings: Settings, engines: list[Engine], sink: Any = None, *, tts: str = "elevenlabs", llm: str = GROQ
) -> Engine:
    selection = choose_defaults(settings, llm, tts)
    provider = make_tts(selection.tts, settings)
    player = Player(sink if sink is not None else NullSink())
    player.start(provider.format.sample_rate)
    engine = Engine(settings, selection, player, provider)
    engines.append(engine)
    await engine.warm()
    return engine


async def warm_wav_engine(server: Any, engines: list[Engine], data_dir: Path, out: Path) -> Engine:
    """An engine writing `out`, started on a cache an earlier run filled (as the next `say` would be)."""
    settings = settings_for(server, data_dir)
    warm = await build(settings, engines)
    await warm.instant.wait_filled(30)
    return await build(settings, engines, WavSink(str(out)))


def fill_contexts(server: Any) -> set[str]:
    return {c for c in server.sent_audio if c.startswith("ij-")}


def wav_frames(path: Path) -> bytes:
    with wave.open(str(path), "rb") as w:
        return w.readframes(w.getnframes())


@pytest.mark.slow
async def test_cache_fills_once_per_voice_and_serves_every_utterance(
    isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    settings = settings_for(isim, tmp_path)
    engine = await build(settings, engines)
    first = await engine.say(DOGS)
    assert first.ok and first.interjection is None  # cold cache: skipped, never waited for
    await engine.instant.wait_filled(30)
    cache = engine.instant.cache(engine.tts)
    texts = all_interjections("ru")
    assert sorted(cache.clips) == sorted(texts)
    assert cache.synthesised == len(texts)
    asked = fill_contexts(isim)
    said = [await engine.say(DOGS) for _ in range(4)]
    assert [r.interjection for r in said] == list(
        interjection_table()["ru"]["animals"]
    )  # none twice in three
    assert all(r.ok and r.stages_ms["first_sound"] is not None for r in said)
    assert fill_contexts(isim) == asked  # hits: the TTS was not asked again
    # a second engine (the next run) finds the disk cache warm and asks the TTS for nothing
    again = await build(settings, engines)
    result = await again.say(DOGS)
    assert result.interjection == "Ого!"
    assert again.instant.cache(again.tts).synthesised == 0
    assert fill_contexts(isim) == asked


@pytest.mark.slow
async def test_voice_change_fills_the_new_voice(isim: Any, engines: list[Engine], tmp_path: Path) -> None:
    engine = await build(settings_for(isim, tmp_path), engines)
    await engine.instant.wait_filled(30)
    old = engine.instant.cache(engine.tts)
    await engine.use_tts("elevenlabs", output_format="pcm_16000")
    new = engine.instant.cache(engine.tts)
    assert new.key != old.key and new.key.format == "pcm_16000"
    await engine.instant.wait_filled(30)
    assert new.synthesised == len(all_interjections("ru"))
    assert {p.name for p in new.directory.iterdir()} >= {new.path(t).name for t in new.clips}
    result = await engine.say(DOGS)
    assert result.interjection is not None
    assert len({old.path(t) for t in old.clips} & {new.path(t) for t in new.clips}) == 0


@pytest.mark.slow
async def test_corrupt_cache_file_is_ignored_and_rebuilt(
    isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    settings = settings_for(isim, tmp_path)
    engine = await build(settings, engines)
    await engine.instant.wait_filled(30)
    path = engine.instant.cache(engine.tts).path("Ого!")
    good = path.read_bytes()
    path.write_bytes(good[:-7] + b"garbage")  # same length, bad samples
    again = await build(settings, engines)
    cache = again.instant.cache(again.tts)
    assert cache.rejected == 1 and "Ого!" not in cache.clips
    result = await again.say(DOGS)
    assert result.interjection != "Ого!"  # never played: the next animal one instead
    await again.instant.wait_filled(30)
    assert cache.synthesised == 1  # rebuilt, and only that one
    assert decode_clip(path.read_bytes()) is not None


@pytest.mark.slow
async def test_unwritable_data_dir_turns_the_feature_off_and_says_why(
    isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    engine = await build(settings_for(isim, blocker), engines)
    assert not engine.instant.active
    assert engine.instant.reason is not None and "instant reactions off" in engine.instant.reason
    result = await engine.say(DOGS)
    assert result.ok and result.interjection is None
    assert any("instant reactions off" in n and "cannot write" in n for n in result.notices)
    assert fill_contexts(isim) == fill_contexts(isim)  # nothing was asked of the TTS for it
    second = await engine.say(DOGS)
    assert not any("instant reactions off" in n for n in second.notices)  # said once, not every time


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to read-only dirs")
async def test_read_only_data_dir(isim: Any, engines: list[Engine], tmp_path: Path) -> None:
    data = tmp_path / "ro"
    data.mkdir()
    data.chmod(0o500)
    try:
        engine = await build(settings_for(isim, data), engines)
        assert engine.instant.reason is not None and not engine.instant.active
    finally:
        data.chmod(0o700)


SLOW_LLM = ProfileSet(  # the remark's first audio ~0.7 s after the trigger: after the interjection's pause
    name="slow-llm",
    groq=LLMProfile(ttft_ms=700.0, token_interval_ms=2.0),
    openai=LLMProfile(ttft_ms=700.0, token_interval_ms=2.0),
    tts=PROFILE.tts,
)


@pytest.mark.parametrize("late", [False, True], ids=["remark-early", "remark-late"])
@pytest.mark.slow
async def test_wav_holds_interjection_pause_remark_as_heard(
    late: bool, isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    """The WAV is what the listener heard: the interjection, the silence until the remark (the pause, or
    longer when the remark came late), the remark; `gap_ms` read back from the file agrees within 10 ms."""
    out = tmp_path / "out.wav"
    engine = await warm_wav_engine(isim, engines, tmp_path / "data", out)
    if late:
        isim.profile = SLOW_LLM
    requests_before = len(isim.requests)
    result = await engine.say(DOGS)
    await asyncio.to_thread(engine.player.close)
    assert result.ok, result.error
    clip = engine.instant.cache(engine.tts).get("Ого!")
    assert clip is not None and result.interjection == "Ого!"
    frames = wav_frames(out)
    remark = isim.sent_audio[result.utterance_id]
    rate = engine.player.sample_rate
    assert frames[: len(clip.pcm)] == clip.pcm  # the whole interjection, first
    assert frames.endswith(remark)  # the whole remark, last, exactly as the emulator sent it
    middle = frames[len(clip.pcm) : len(frames) - len(remark)]
    assert middle == bytes(len(middle))  # between them only silence: no overlap, nothing cut
    assert result.gap_ms is not None and result.gap_ms >= PAUSE_MS - 1
    if late:
        assert result.gap_ms > PAUSE_MS + 150  # the remark really came late: the stream waited for it
    heard_gap_ms = len(middle) / 2 / rate * 1000
    assert heard_gap_ms == pytest.approx(result.gap_ms, abs=10.0)
    assert result.stages_ms["first_sound"] < result.stages_ms["first_audio"]  # type: ignore[operator]
    # the prompt said which interjection was already played, and the remark does not open with it
    body = isim.requests[requests_before]
    assert '"Ого!"' in body["messages"][-1]["content"]
    assert REPLY.startswith("Ого!") and not result.text.lower().startswith("ого")
    assert result.text.startswith("Две собаки")


async def say_and_interrupt(engine: Engine, stage: str) -> tuple[asyncio.Task[Any], list[str]]:
    seen: list[str] = []
    reached = asyncio.Event()

    def on_event(event: PipelineEvent) -> None:
        if isinstance(event, StageReached):
            seen.append(event.stage)
            if event.stage == stage:
                reached.set()

    task = asyncio.create_task(engine.say(DOGS, on_event=on_event))
    await asyncio.wait_for(reached.wait(), 10)
    engine.interrupt()
    with pytest.raises(asyncio.CancelledError):
        await task
    return task, seen


@pytest.mark.parametrize("stage", ["first_sound", "first_audio"])
async def test_interrupt_stops_interjection_and_remark(
    stage: str, isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    out = tmp_path / "out.wav"
    engine = await warm_wav_engine(isim, engines, tmp_path / "data", out)
    _task, seen = await say_and_interrupt(engine, stage)
    assert "playback_done" not in seen
    record = engine.results[-1]
    assert record.error_kind == "cancelled"
    await asyncio.to_thread(engine.player.close)
    clip = engine.instant.cache(engine.tts).get("Ого!")
    assert clip is not None
    frames = wav_frames(out)
    if stage == "first_sound":  # stopped inside the interjection: part of it, and nothing of the remark
        assert 0 < len(frames) < len(clip.pcm) and clip.pcm.startswith(frames)
        assert "first_audio" not in seen
    else:  # stopped inside the remark: the whole interjection, then less than the whole remark
        remark = isim.sent_audio[next(reversed(isim.sent_audio))]
        assert frames.startswith(clip.pcm)
        # the silence heard before the remark is the pause, or longer when the remark came late (the WAV
        # holds what was heard): bound it by the gap the player measured
        gap_ms = max(PAUSE_MS, record.gap_ms or 0.0) + 10.0
        assert len(frames) < len(clip.pcm) + round(gap_ms * engine.player.sample_rate / 1000) * 2 + len(
            remark
        )


@pytest.mark.slow
async def test_offline_voice_has_espeak_interjections(engines: list[Engine], tmp_path: Path) -> None:
    settings = Settings().model_copy(update={"data_dir": tmp_path, "instant": True})
    engine = await build(settings, engines, tts="espeak", llm="offline/phrasebook")
    await engine.instant.wait_filled(60)
    cache = engine.instant.cache(engine.tts)
    assert cache.key.tts == "espeak" and len(cache.clips) == len(all_interjections("ru"))
    result = await engine.say(DOGS)
    assert result.ok and result.interjection == "Ого!"
    assert result.stages_ms["first_sound"] is not None and result.gap_ms is not None


@pytest.mark.slow
async def test_cloud_voice_interjections_serve_while_the_cloud_is_down(
    isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    settings = settings_for(isim, tmp_path, tts_fallback=True)
    warm = await build(settings, engines)
    await warm.instant.wait_filled(30)
    cloud_clip = warm.instant.cache(warm.tts).get("Ого!")
    assert cloud_clip is not None
    # the next run: the cloud voice's endpoint refuses connections (same host, so the same voice key)
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead = f"ws://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    down = settings.model_copy(update={"elevenlabs_base_url": dead})
    engine = await build(down, engines)
    assert "tts" in engine.warm_errors
    result = await engine.say(DOGS)
    assert result.ok, result.error
    assert result.interjection == "Ого!"
    assert engine.instant.cache(engine.tts).get("Ого!") == cloud_clip  # the character's own voice
    assert result.degraded  # the remark itself came from the offline voice


@pytest.mark.slow
async def test_instant_off_by_setting_and_per_call(isim: Any, engines: list[Engine], tmp_path: Path) -> None:
    settings = settings_for(isim, tmp_path)
    engine = await build(settings, engines)
    await engine.instant.wait_filled(30)
    assert (await engine.say(DOGS, instant=False)).interjection is None
    engine.set_instant(False)
    off = await engine.say(DOGS)
    assert off.interjection is None and off.gap_ms is None
    assert off.stages_ms["first_sound"] == off.stages_ms["first_audio"]  # the remark is the first sound
    assert (await engine.say(DOGS, instant=True)).interjection is not None


@pytest.mark.slow
async def test_bench_reports_first_sound_interjection_and_gap(
    isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    import csv
    import json

    from nuanu_tui.core.bench import BenchConfig, format_table, run_bench

    engine = await build(settings_for(isim, tmp_path), engines)
    await engine.instant.wait_filled(30)
    result = await run_bench(engine, BenchConfig(llms=[GROQ], triggers=[DOGS], runs=3, warmup=False))
    data = json.loads(json.dumps(result.to_json()))
    runs = data["runs"]
    assert [r["interjection"] for r in runs] == list(interjection_table()["ru"]["animals"][:3])
    assert all(r["gap_ms"] >= PAUSE_MS - 1 and r["stages_ms"]["first_sound"] is not None for r in runs)
    summary = data["summary"][GROQ]
    assert summary["first_sound"]["n"] == 3 and summary["gap_ms"]["n"] == 3
    assert summary["first_sound"]["p50"] < summary["first_audio"]["p50"]
    path = tmp_path / "bench.csv"
    result.write_csv(path)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [row["interjection"] for row in rows] == [r["interjection"] for r in runs]
    assert [float(row["gap_ms"]) for row in rows] == [r["gap_ms"] for r in runs]
    assert all(
        float(row["first_sound_ms"]) == r["stages_ms"]["first_sound"]
        for row, r in zip(rows, runs, strict=True)
    )
    table = format_table(result.summary)
    assert "first sound" in table and "interjection gap" in table


def test_a_clip_too_long_for_a_reaction_is_not_picked(tmp_path: Path) -> None:
    from nuanu_tui.core.instant import MAX_CLIP_MS, Instant

    class Voice:
        spec, voice, rate = "espeak/ru", "ru", 175
        format = type("F", (), {"sample_rate": 1000})()

    instant = Instant(tmp_path, "ru", 1000)
    cache = instant.cache(Voice())
    long_ms = int(MAX_CLIP_MS) + 50
    cache.store("Ого!", b"\x00\x40" * long_ms, 1000)  # loud throughout: nothing to trim
    cache.store("Ух ты!", b"\x00\x40" * 300, 1000)
    assert cache.get("Ого!") is not None and cache.get("Ого!").ms == long_ms  # type: ignore[union-attr]
    picked = instant.pick(DOGS, Voice())
    assert picked is not None and picked.text == "Ух ты!"


def test_benchmark_table_renders_the_committed_results() -> None:
    import json

    from benchmarks.instant import RESULTS, table

    data = json.loads(RESULTS.read_text(encoding="utf-8"))["results"]
    text = table(data)
    for row in ("first_sound, instant on", "cost to first_audio, paired", "wait behind the interjection"):
        assert row in text
    assert set(data) == {"groq/llama-3.1-8b-instant", "openai/gpt-4o-mini"}
    assert all(v["pairs_with_interjection"] == v["pairs"] > 0 for v in data.values())


@pytest.mark.slow
async def test_compare_turns_instant_reactions_on_per_lane(
    isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    from nuanu_tui.core.compare import CompareConfig, CompareSession

    engine = await build(settings_for(isim, tmp_path), engines)
    await engine.instant.wait_filled(30)
    lanes = (GROQ, "openai/gpt-4o-mini")
    on_a = await CompareSession(engine, CompareConfig(lanes=lanes, instant=(True, False))).run(DOGS)
    assert on_a.results[0].interjection is not None and on_a.results[1].interjection is None
    assert on_a.results[0].ok and on_a.results[1].ok
    off = await CompareSession(engine, CompareConfig(lanes=lanes)).run(DOGS)
    assert [r.interjection for r in off.results] == [None, None]  # off by default, whatever the engine says


@pytest.mark.slow
async def test_a_remark_cancels_an_interjection_being_synthesised(
    isim: Any, engines: list[Engine], tmp_path: Path
) -> None:
    engine = await build(settings_for(isim, tmp_path), engines)
    for _ in range(2000):  # wait for the state, not for time: the fill is synthesising its first clip
        if engine.instant._inflight:
            break
        await asyncio.sleep(0.005)
    assert engine.instant._inflight
    result = await engine.say(DOGS)
    assert result.ok and engine.instant.yielded >= 1
    await engine.instant.wait_filled(30)
    cache = engine.instant.cache(engine.tts)
    assert sorted(cache.clips) == sorted(all_interjections("ru"))  # the cancelled one was made again
    assert all(decode_clip(cache.path(t).read_bytes()) is not None for t in cache.clips)


def test_trimmed_clip_starts_and_ends_in_silence() -> None:
    import numpy as np

    from nuanu_tui.core.instant import trim_silence

    rate = 24000
    tone = (np.sin(np.arange(rate // 2) * 2 * np.pi * 440 / rate) * 12000).astype(np.int16)
    padded = np.concatenate([np.zeros(rate // 10, np.int16), tone, np.zeros(rate // 10, np.int16)])
    clip = np.frombuffer(trim_silence(padded.tobytes(), rate), dtype=np.int16)
    assert (
        tone.size <= clip.size < tone.size + rate * 25 // 1000
    )  # lead-in and tail cut, 10 ms kept each side
    assert abs(int(clip[0])) < 50 and abs(int(clip[-1])) < 50  # faded: no click at either end
    assert np.abs(clip).max() > 11000  # the sound itself untouched


def test_a_stored_clip_loads_at_the_next_start_without_numpy_or_soxr(tmp_path: Path) -> None:
    """A clip is written at the output's rate (here 48 kHz from a 24 kHz voice), so the next start-up reads it
    as it plays: loading it before ready imports neither numpy nor soxr (~0.1-0.2 s of CPU on that path)."""
    import subprocess
    import sys

    from nuanu_tui.core.instant import ClipCache, VoiceKey

    key = VoiceKey("elevenlabs", "v", "m", "pcm_24000")
    pcm = b"\x00\x40" * 2400  # 100 ms, loud throughout
    stored = ClipCache(tmp_path, key, 48000).store("Ого!", pcm, 24000)
    assert stored is not None and stored.sample_rate == 48000 and len(stored.pcm) == 2 * len(pcm)
    assert decode_clip(ClipCache(tmp_path, key, 48000).path("Ого!").read_bytes())[1] == 48000  # type: ignore[index]
    probe = (
        "import sys, pathlib; from nuanu_tui.core.instant import ClipCache, VoiceKey;"
        f" c = ClipCache(pathlib.Path({str(tmp_path)!r}), VoiceKey('elevenlabs', 'v', 'm', 'pcm_24000'), 48000);"
        " clip = c.load('Ого!'); print(clip.sample_rate, len(clip.pcm),"
        " ','.join(sorted({'numpy', 'soxr'} & {m.split('.')[0] for m in sys.modules})) or '-')"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["48000", str(len(stored.pcm)), "-"]
