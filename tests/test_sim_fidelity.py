"""The emulator speaks the real wire protocols: proven with the official SDKs and a raw websockets client."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import groq
import openai
import orjson
import pytest
from elevenlabs import ElevenLabs
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from nuanu_tui.sim import (
    DEFAULT_MODELS,
    LLMProfile,
    ProfileSet,
    SimServer,
    SimThread,
    TTSProfile,
    default_reply,
    export_lines,
    synth_voice,
    tokenize,
)

TRIGGER = "камера, две собаки слева"
MSGS = [{"role": "system", "content": "Ты весёлый шаттл."}, {"role": "user", "content": TRIGGER}]


@pytest.fixture
async def server() -> Any:
    sim = SimServer(profile="fast")
    await sim.start()
    yield sim
    await sim.stop()


def oai(server: SimServer, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, **kw)


def gq(server: SimServer) -> groq.AsyncGroq:
    return groq.AsyncGroq(base_url=server.groq_base_url, api_key="k", max_retries=0)


async def ws_connect(
    server: SimServer, path: str, query: str = "", key: str | None = "k"
) -> ClientConnection:
    headers = {"xi-api-key": key} if key else {}
    url = f"{server.elevenlabs_base_url}/v1/text-to-speech/voice1/{path}?model_id=eleven_flash_v2_5{query}"
    return await connect(url, additional_headers=headers)


async def drain(ws: ClientConnection) -> tuple[list[Any], int | None]:
    """Every frame until the server closes, JSON-decoded when possible, and the close code."""
    frames: list[Any] = []
    try:
        async for raw in ws:
            try:
                frames.append(orjson.loads(raw))
            except orjson.JSONDecodeError:
                frames.append(raw)
    except ConnectionClosed:
        pass
    return frames, ws.close_code


async def until_final(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while sum(1 for f in frames if f.get("isFinal")) < count:
        frames.append(orjson.loads(await asyncio.wait_for(ws.recv(), 5)))
    return frames


# -- content helpers ------------------------------------------------------------------------------------------


def test_tokenize_round_trips_and_splits_realistically() -> None:
    reply = default_reply(TRIGGER, "x")
    toks = tokenize(reply)
    assert "".join(toks) == reply
    assert len(toks) > len(reply.split())  # punctuation/long words give extra pieces
    assert all(t for t in toks)
    assert toks[1].startswith(" ")  # words carry their leading space


def test_default_voice_is_deterministic_and_not_silent() -> None:
    pcm = synth_voice("Привет", 16000)
    assert pcm == synth_voice("Привет", 16000)
    assert len(pcm) == 6 * int(16000 * 0.065) * 2
    assert (
        max(abs(int.from_bytes(pcm[i : i + 2], "little", signed=True)) for i in range(0, len(pcm), 2)) > 3000
    )


def test_export_lines_name_the_three_base_urls() -> None:
    sim = SimServer()
    sim.port = 4321
    assert export_lines(sim) == [
        "export GROQ_BASE_URL=http://127.0.0.1:4321",
        "export OPENAI_BASE_URL=http://127.0.0.1:4321/v1",
        "export ELEVENLABS_BASE_URL=ws://127.0.0.1:4321",
    ]


# -- OpenAI / Groq ------------------------------------------------------------------------------------------


async def test_openai_sdk_streams_the_reply_with_usage_chunk(server: SimServer) -> None:
    client = oai(server)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MSGS, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == default_reply(TRIGGER, "gpt-4o-mini")
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) == len(tokenize(text))
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(content_chunks)
    assert all(c.usage is None for c in chunks[:-1])
    assert server.requests[-1]["messages"][-1]["content"] == TRIGGER
    await client.close()


async def test_openai_sdk_non_streaming_completion(server: SimServer) -> None:
    client = oai(server)
    result = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
    assert result.object == "chat.completion"
    assert result.choices[0].message.content == default_reply(TRIGGER, "gpt-4o-mini")
    assert result.usage is not None and result.usage.total_tokens > 0
    await client.close()


async def test_openai_models_list(server: SimServer) -> None:
    client = oai(server)
    page = await client.models.list()
    assert [m.id for m in page.data] == list(DEFAULT_MODELS)
    assert all(m.object == "model" for m in page.data)
    await client.close()


async def test_groq_sdk_streams_with_x_groq_usage_on_last_chunk(server: SimServer) -> None:
    client = gq(server)
    stream = await client.chat.completions.create(model="llama-3.1-8b-instant", messages=MSGS, stream=True)
    chunks = [c async for c in stream]
    assert chunks[0].x_groq is not None and chunks[0].x_groq.id.startswith("req_")
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == default_reply(TRIGGER, "x")
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.x_groq is not None and last.x_groq.id == chunks[0].x_groq.id
    usage = last.x_groq.usage
    assert usage is not None and usage.completion_tokens == len(tokenize(default_reply(TRIGGER, "x")))
    assert usage.total_time >= usage.completion_time > 0
    assert all(c.x_groq is None for c in chunks[1:-1])
    models = await client.models.list()
    assert "llama-3.3-70b-versatile" in [m.id for m in models.data]
    await client.close()


async def test_reasoning_model_streams_reasoning_first_unless_hidden(server: SimServer) -> None:
    client = gq(server)
    stream = await client.chat.completions.create(model="openai/gpt-oss-20b", messages=MSGS, stream=True)
    deltas = [c.choices[0].delta for c in [c async for c in stream]]
    kinds = ["r" if getattr(d, "reasoning", None) else "c" if d.content else "-" for d in deltas]
    assert "r" in kinds and "c" in kinds
    assert kinds.index("c") > max(i for i, k in enumerate(kinds) if k == "r")
    stream = await client.chat.completions.create(
        model="openai/gpt-oss-20b", messages=MSGS, stream=True, reasoning_format="hidden"
    )
    assert not [c async for c in stream if getattr(c.choices[0].delta, "reasoning", None)]
    await client.close()


async def test_unknown_model_is_404_model_not_found(server: SimServer) -> None:
    client = oai(server)
    with pytest.raises(openai.NotFoundError) as err:
        await client.chat.completions.create(model="llama-2-nope", messages=MSGS, stream=True)
    assert err.value.code == "model_not_found"
    assert "`llama-2-nope` does not exist" in err.value.message
    await client.close()


async def test_bearer_key_is_checked() -> None:
    sim = SimServer(api_keys={"good"})
    await sim.start()
    try:
        bad = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as err:
            await bad.chat.completions.create(model="gpt-4o-mini", messages=MSGS)
        assert err.value.status_code == 401 and err.value.code == "invalid_api_key"
        assert "wrong" not in str(err.value)
        good = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="good", max_retries=0)
        assert (await good.chat.completions.create(model="gpt-4o-mini", messages=MSGS)).choices
        await bad.close()
        await good.close()
    finally:
        await sim.stop()


async def test_first_content_token_not_before_ttft() -> None:
    prof = ProfileSet("t", LLMProfile(120.0, 1.0), LLMProfile(120.0, 1.0), TTSProfile(0, 0, 100))
    sim = SimServer(profile=prof)
    await sim.start()
    try:
        client = openai.AsyncOpenAI(base_url=sim.openai_base_url, api_key="k", max_retries=0)
        await client.models.list()  # warm the connection
        t0 = time.perf_counter()
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
        async for c in stream:
            if c.choices and c.choices[0].delta.content:
                break
        assert (time.perf_counter() - t0) * 1000 >= 120.0
        await client.close()
    finally:
        await sim.stop()


# -- ElevenLabs: official SDK --------------------------------------------------------------------------------


def _sdk_say(sim: SimServer, fmt: str, pieces: list[str]) -> bytes:
    client = ElevenLabs(api_key="k", base_url=sim.groq_base_url)
    client.text_to_speech._ws_base_url = sim.elevenlabs_base_url
    audio = client.text_to_speech.convert_realtime(
        "voice1", text=iter(pieces), model_id="eleven_flash_v2_5", output_format=fmt, voice_settings=None
    )
    return b"".join(audio)


PIECES = [
    "Вот",
    " это",
    " да,",
    " слон",
    " на",
    " мопеде!",
    " Держитесь",
    " крепче,",
    " друзья",
    ",",
    " едем",
    ".",
]


def test_elevenlabs_sdk_stream_input_pcm_is_bit_exact() -> None:
    with SimThread(profile="fast") as sim:
        got = _sdk_say(sim, "pcm_24000", PIECES)
        assert got and got == sim.sent_audio["stream-1"]
        assert sim.ws_messages[0]["text"] == " " and sim.ws_messages[-1] == {"text": ""}
        said = "".join(m["text"] for m in sim.ws_messages[1:-1])
        assert said.split() == "".join(PIECES).split()  # the SDK's chunker only moves spaces around
        assert got == synth_voice(said, 24000)
        assert sim.ws_connections == 1


def test_elevenlabs_sdk_stream_input_mp3_decodes_to_the_sent_pcm_length() -> None:
    miniaudio = pytest.importorskip("miniaudio")  # optional on Linux aarch64
    with SimThread(profile="fast") as sim:
        got = _sdk_say(sim, "mp3_44100_128", PIECES)
        assert got == sim.sent_encoded["stream-1"]
        pcm = sim.sent_audio["stream-1"]
        decoded = miniaudio.decode(
            got, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=44100
        )
        assert abs(len(decoded.samples) - len(pcm) // 2) < 0.1 * len(pcm) // 2
        assert max(abs(s) for s in decoded.samples) > 1000


# -- ElevenLabs: raw multi-stream-input ----------------------------------------------------------------------


async def test_multi_two_contexts_flush_close_give_final_per_context(server: SimServer) -> None:
    ws = await ws_connect(server, "multi-stream-input", "&output_format=pcm_16000")
    texts = {"a": "Привет, мир! ", "b": "Собака слева. "}
    for cid, text in texts.items():
        await ws.send(orjson.dumps({"text": " ", "context_id": cid, "voice_settings": None}).decode())
        await ws.send(orjson.dumps({"text": text, "context_id": cid}).decode())
        await ws.send(orjson.dumps({"text": "", "context_id": cid, "flush": True}).decode())
        await ws.send(orjson.dumps({"context_id": cid, "close_context": True}).decode())
    frames = await until_final(ws, 2)
    for cid, text in texts.items():
        mine = [f for f in frames if f.get("contextId") == cid]
        assert [f.get("isFinal") for f in mine].count(True) == 1 and mine[-1]["isFinal"] is True
        audio = b"".join(base64.b64decode(f["audio"]) for f in mine if f.get("audio"))
        assert audio == server.sent_audio[cid] == synth_voice(" " + text, 16000)
        assert "".join("".join(f["alignment"]["chars"]) for f in mine if f.get("audio")) == " " + text
    await ws.send(orjson.dumps({"close_socket": True}).decode())
    assert (await drain(ws))[1] == 1000
    assert server.open_sockets == 0


async def test_multi_context_id_spelling_is_switchable(server: SimServer) -> None:
    server.context_key = "context_id"
    ws = await ws_connect(server, "multi-stream-input", "&output_format=pcm_16000&auto_mode=true")
    await ws.send(orjson.dumps({"text": "Да. ", "context_id": "x"}).decode())
    await ws.send(orjson.dumps({"context_id": "x", "close_context": True}).decode())
    frames = await until_final(ws, 1)
    assert all(f["context_id"] == "x" and "contextId" not in f for f in frames)
    await ws.close()


async def test_multi_close_context_without_flush_drops_text(server: SimServer) -> None:
    ws = await ws_connect(server, "multi-stream-input", "&output_format=pcm_16000")
    await ws.send(orjson.dumps({"text": "Этот текст не прозвучит. ", "context_id": "c"}).decode())
    await ws.send(orjson.dumps({"context_id": "c", "close_context": True}).decode())
    frames = await until_final(ws, 1)
    assert frames == [{"isFinal": True, "contextId": "c"}]
    assert "c" not in server.sent_audio
    await ws.close()


async def test_schedule_and_auto_mode_trigger_without_flush(server: SimServer) -> None:
    long_text = (
        "Очень длинная фраза про слона на мопеде, который едет по пляжу и машет хоботом всем туристам подряд, "
        "а мы смеёмся и едем дальше. "
    )
    assert len(long_text) >= 120
    ws = await ws_connect(server, "multi-stream-input", "&output_format=pcm_16000")
    await ws.send(orjson.dumps({"text": long_text, "context_id": "s"}).decode())
    first = orjson.loads(
        await asyncio.wait_for(ws.recv(), 5)
    )  # schedule [120,...] reached: audio without flush
    assert first["contextId"] == "s" and first["audio"]
    await ws.close()
    ws = await ws_connect(server, "multi-stream-input", "&output_format=pcm_16000&auto_mode=true")
    await ws.send(orjson.dumps({"text": "Коротко. ", "context_id": "t"}).decode())
    first = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert first["contextId"] == "t" and first["audio"]
    await ws.close()


async def test_sixth_live_context_is_refused(server: SimServer) -> None:
    ws = await ws_connect(server, "multi-stream-input", "&output_format=pcm_16000")
    for i in range(6):
        await ws.send(orjson.dumps({"text": " ", "context_id": f"c{i}"}).decode())
    frames, code = await drain(ws)
    assert code == 1008
    assert frames[-1]["error"] == "max_active_conversations"
    assert "exceeded (5)" in frames[-1]["message"]


async def test_keepalive_resets_timer_then_inactivity_fires(server: SimServer) -> None:
    server.inactivity_timeout_override = 0.3
    ws = await ws_connect(server, "multi-stream-input", "&output_format=pcm_16000")
    await ws.send(orjson.dumps({"text": " ", "context_id": "k"}).decode())
    for _ in range(8):  # 0.8 s of keep-alives, well past the 0.3 s timeout
        await asyncio.sleep(0.1)
        await ws.send(orjson.dumps({"text": "", "context_id": "k"}).decode())
    assert server.open_sockets == 1
    frames, code = await drain(ws)
    assert code == 1008
    assert frames == [
        {
            "message": "Have not received a new text input within the timeout of 20.0 seconds. Streaming input "
            "terminated. Please make sure to either feed the input in the timely manner, or to send the end of "
            'input text (empty string "") when done.',
            "error": "input_timeout_exceeded",
            "code": 1008,
        }
    ]


async def test_inactivity_message_uses_the_requested_timeout(server: SimServer) -> None:
    server.inactivity_timeout_override = 0.1
    ws = await ws_connect(server, "stream-input", "&inactivity_timeout=60")
    frames, code = await drain(ws)
    assert code == 1008 and "timeout of 60.0 seconds" in frames[0]["message"]


async def test_ws_auth_header_first_message_or_missing(server: SimServer) -> None:
    server.api_keys = {"good"}
    ws = await ws_connect(server, "stream-input", key=None)
    await ws.send(orjson.dumps({"text": " ", "xi_api_key": "good"}).decode())
    await ws.send(orjson.dumps({"text": "Да. ", "flush": True}).decode())
    assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["audio"]
    await ws.close()
    ws = await ws_connect(server, "stream-input", key=None)
    await ws.send(orjson.dumps({"text": " "}).decode())
    frames, code = await drain(ws)
    assert code == 1008 and frames[0]["error"] == "needs_authorization"
    ws = await ws_connect(server, "stream-input", key="bad")
    frames, code = await drain(ws)
    assert code == 1008 and frames[0]["error"] == "invalid_api_key"
    assert server.ws_connections == 3 and server.open_sockets == 0
    assert all("xi_api_key" not in m and "xi-api-key" not in m for m in server.ws_messages)


async def test_changed_voice_settings_close_1008(server: SimServer) -> None:
    ws = await ws_connect(server, "stream-input")
    await ws.send(orjson.dumps({"text": " ", "voice_settings": {"stability": 0.5}}).decode())
    await ws.send(orjson.dumps({"text": "Да ", "voice_settings": {"stability": 0.9}}).decode())
    frames, code = await drain(ws)
    assert code == 1008 and "voice_settings" in frames[-1]["message"]


async def test_stream_input_eos_sends_is_final_and_closes_1000(server: SimServer) -> None:
    ws = await ws_connect(server, "stream-input", "&output_format=pcm_22050")
    await ws.send(orjson.dumps({"text": " ", "voice_settings": None}).decode())
    await ws.send(orjson.dumps({"text": "Короткая фраза. "}).decode())
    await ws.send(orjson.dumps({"text": ""}).decode())
    frames, code = await drain(ws)
    assert code == 1000
    assert frames[-1] == {"isFinal": True}
    audio = b"".join(base64.b64decode(f["audio"]) for f in frames[:-1])
    assert audio == server.sent_audio["stream-1"] == synth_voice("Короткая фраза. ", 22050)
    assert all(f["isFinal"] is None for f in frames[:-1])


async def test_first_audio_not_before_profile_delay() -> None:
    prof = ProfileSet("t", LLMProfile(0, 0), LLMProfile(0, 0), TTSProfile(150.0, 1.0, 100.0))
    sim = SimServer(profile=prof)
    await sim.start()
    try:
        ws = await ws_connect(sim, "multi-stream-input", "&output_format=pcm_16000")
        t0 = time.perf_counter()
        await ws.send(orjson.dumps({"text": "Да. ", "context_id": "x", "flush": True}).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["audio"]
        assert (time.perf_counter() - t0) * 1000 >= 150.0
        await ws.close()
    finally:
        await sim.stop()


def test_profiles_map_models_by_substring_and_path() -> None:
    from nuanu_tui.sim import get_profile

    demo = get_profile("demo")
    assert demo.llm_for("gpt-4o-mini", "openai") == LLMProfile(500.0, 12.5)
    assert demo.llm_for("llama-3.1-8b-instant", "groq") == LLMProfile(200.0, 2.0)
    assert demo.llm_for("openai/gpt-oss-20b", "groq").token_interval_ms == 1.0
    assert demo.llm_for("something-new", "groq") == demo.groq
    assert demo.llm_for("something-new", "openai") == demo.openai
    assert demo.tts.first_audio_ms == 150.0
    assert get_profile("zero").llm_for("x", "groq").ttft_ms == 0.0
    with pytest.raises(ValueError):
        get_profile("nope")


async def test_ws_key_in_authorization_query(server: SimServer) -> None:
    server.api_keys = {"good"}
    ws = await ws_connect(server, "stream-input", "&output_format=pcm_16000&authorization=good", key=None)
    await ws.send(orjson.dumps({"text": " "}).decode())
    await ws.send(orjson.dumps({"text": "Да. ", "flush": True}).decode())
    assert orjson.loads(await asyncio.wait_for(ws.recv(), 5))["audio"]
    await ws.close()


async def test_a_bounded_emulator_keeps_only_recent_history() -> None:
    """The demo's emulator runs for a whole day: it keeps the last `keep` requests, messages and contexts."""
    sim = SimServer(profile="fast", keep=2)
    await sim.start()
    try:
        client = oai(sim)
        for n in range(4):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"trigger {n}"}]
            )
        assert [r["messages"][0]["content"] for r in sim.requests] == ["trigger 2", "trigger 3"]
        ws = await ws_connect(sim, "multi-stream-input", "&output_format=pcm_16000")
        for cid in ("a", "b", "c"):
            await ws.send(orjson.dumps({"text": " ", "context_id": cid, "voice_settings": None}).decode())
            await ws.send(orjson.dumps({"text": "Собака слева. ", "context_id": cid}).decode())
            await ws.send(orjson.dumps({"context_id": cid, "flush": True}).decode())
        frames: list[dict[str, Any]] = []
        while {f.get("contextId") for f in frames if f.get("audio")} != {"a", "b", "c"}:
            frames.append(orjson.loads(await asyncio.wait_for(ws.recv(), 5)))
        assert list(sim.sent_audio) == ["b", "c"] and len(sim.ws_messages) == 2
        await ws.close()
        await client.close()
    finally:
        await sim.stop()
