"""Every injected fault looks, to the official SDKs and a raw websockets client, like the real service failing."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import groq
import httpx
import openai
import orjson
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from nuanu_tui.sim import LLMFault, SimServer, SimThread, TTSFault, default_reply, tokenize

TRIGGER = "камера, слон на мопеде"
MSGS = [{"role": "user", "content": TRIGGER}]
REPLY_TOKENS = tokenize(default_reply(TRIGGER, "gpt-4o-mini"))


@pytest.fixture
async def server() -> Any:
    sim = SimServer(profile="fast")
    await sim.start()
    yield sim
    await sim.stop()


def oai(server: SimServer, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.openai_base_url, api_key="k", max_retries=0, **kw)


async def collect(client: openai.AsyncOpenAI, got: list[str]) -> None:
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    async for c in stream:
        if c.choices and c.choices[0].delta.content:
            got.append(c.choices[0].delta.content)


async def ws_connect(server: SimServer, path: str = "multi-stream-input") -> ClientConnection:
    url = f"{server.elevenlabs_base_url}/v1/text-to-speech/v/{path}?model_id=eleven_flash_v2_5&output_format=pcm_16000"
    return await connect(url, additional_headers={"xi-api-key": "k"})


async def drain(ws: ClientConnection) -> tuple[list[Any], int | None]:
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


async def say(ws: ClientConnection, cid: str = "c", text: str = "Вот это да, слон на мопеде! ") -> None:
    await ws.send(orjson.dumps({"text": " ", "context_id": cid}).decode())
    await ws.send(orjson.dumps({"text": text, "context_id": cid, "flush": True}).decode())
    await ws.send(orjson.dumps({"context_id": cid, "close_context": True}).decode())


async def until_final(ws: ClientConnection) -> list[Any]:
    frames: list[Any] = []
    while not (frames and isinstance(frames[-1], dict) and frames[-1].get("isFinal")):
        raw = await asyncio.wait_for(ws.recv(), 5)
        try:
            frames.append(orjson.loads(raw))
        except orjson.JSONDecodeError:
            frames.append(raw)
    return frames


# -- LLM ------------------------------------------------------------------------------------------------------

STATUS_CASES = [
    (401, openai.AuthenticationError),
    (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
]


@pytest.mark.parametrize(("status", "exc"), STATUS_CASES)
async def test_llm_status_faults_raise_the_sdk_error(
    server: SimServer, status: int, exc: type[Exception]
) -> None:
    server.faults.next_llm("status", status=status, retry_after=2)
    client = oai(server)
    with pytest.raises(exc) as err:
        await collect(client, [])
    assert err.value.status_code == status  # type: ignore[attr-defined]
    assert isinstance(err.value.body, dict) and err.value.body.get("message")  # type: ignore[attr-defined]
    headers = err.value.response.headers  # type: ignore[attr-defined]
    assert headers.get("retry-after") == ("2" if status == 429 else None)
    got: list[str] = []
    await collect(client, got)  # one-shot: the next request is healthy
    assert got == REPLY_TOKENS
    await client.close()


async def test_groq_429_is_rate_limit_error_with_groq_body(server: SimServer) -> None:
    server.faults.next_llm(LLMFault("status", status=429, headers={"retry-after": "7"}))
    client = groq.AsyncGroq(base_url=server.groq_base_url, api_key="k", max_retries=0)
    with pytest.raises(groq.RateLimitError) as err:
        await client.chat.completions.create(model="llama-3.1-8b-instant", messages=MSGS, stream=True)
    assert err.value.response.headers["retry-after"] == "7"
    assert err.value.body["error"]["code"] == "rate_limit_exceeded"  # type: ignore[index]
    await client.close()


async def test_hang_before_headers_hits_the_read_timeout(server: SimServer) -> None:
    server.faults.next_llm("hang", hang_s=30)
    client = oai(server, timeout=httpx.Timeout(0.3, connect=1.0))
    t0 = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        await collect(client, [])
    assert time.perf_counter() - t0 < 10  # released by the client timeout, not by the 30 s hang
    await client.close()


async def test_drop_mid_stream_is_a_connection_error_after_n_tokens(server: SimServer) -> None:
    server.faults.next_llm("drop", after_tokens=3)
    got: list[str] = []
    client = oai(server)
    with pytest.raises(openai.APIConnectionError):
        await collect(client, got)
    assert got == REPLY_TOKENS[:3]
    await client.close()


async def test_malformed_sse_line_breaks_the_parser(server: SimServer) -> None:
    server.faults.next_llm("malformed", after_tokens=2)
    got: list[str] = []
    client = oai(server)
    with pytest.raises(json.JSONDecodeError):
        await collect(client, got)
    assert got == REPLY_TOKENS[:2]
    await client.close()


async def test_error_event_in_stream_raises_api_error(server: SimServer) -> None:
    server.faults.next_llm("error_event", after_tokens=1)
    got: list[str] = []
    client = oai(server)
    with pytest.raises(openai.APIError) as err:
        await collect(client, got)
    assert "error while processing" in err.value.message
    assert got == REPLY_TOKENS[:1]
    server.faults.next_llm("error_event")
    gclient = groq.AsyncGroq(base_url=server.groq_base_url, api_key="k", max_retries=0)
    stream = await gclient.chat.completions.create(model="llama-3.1-8b-instant", messages=MSGS, stream=True)
    with pytest.raises(groq.APIError):
        async for _ in stream:
            pass
    await client.close()
    await gclient.close()


async def test_empty_answer_is_a_clean_stream_without_content(server: SimServer) -> None:
    server.faults.next_llm("empty")
    client = oai(server)
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MSGS, stream=True)
    chunks = [c async for c in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ""
    assert chunks[-1].choices[0].finish_reason == "stop"
    await client.close()


async def test_persistent_fault_applies_until_cleared(server: SimServer) -> None:
    server.faults.llm = LLMFault("status", status=500)
    client = oai(server)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await collect(client, [])
    server.faults.clear()
    got: list[str] = []
    await collect(client, got)
    assert got == REPLY_TOKENS
    await client.close()


def test_unknown_fault_kind_is_refused() -> None:
    sim = SimServer()
    with pytest.raises(ValueError):
        sim.faults.next_llm("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sim.faults.next_tts("explode")  # type: ignore[arg-type]


# -- TTS ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 500])
async def test_handshake_rejected_with_http_status(server: SimServer, status: int) -> None:
    server.faults.next_tts("reject", status=status)
    with pytest.raises(InvalidStatus) as err:
        await ws_connect(server)
    assert err.value.response.status_code == status
    ws = await ws_connect(server)  # one-shot
    await ws.close()


async def test_invalid_key_closes_1008(server: SimServer) -> None:
    server.faults.next_tts("invalid_key")
    frames, code = await drain(await ws_connect(server))
    assert code == 1008 and frames == [
        {"message": "Invalid API key", "error": "invalid_api_key", "code": 1008}
    ]


async def test_quota_error_frame_then_1008(server: SimServer) -> None:
    server.faults.next_tts("quota")
    ws = await ws_connect(server)
    await say(ws)
    frames, code = await drain(ws)
    assert code == 1008
    assert frames[-1]["error"] == "quota_exceeded" and frames[-1]["code"] == 1008
    assert frames[-1]["message"].startswith("This request exceeds your quota")


def test_quota_through_the_official_sdk_is_api_error() -> None:
    with SimThread(profile="fast") as sim:
        sim.faults.next_tts("quota")
        client = ElevenLabs(api_key="k", base_url=sim.groq_base_url)
        client.text_to_speech._ws_base_url = sim.elevenlabs_base_url
        with pytest.raises(ApiError) as err:
            b"".join(
                client.text_to_speech.convert_realtime(
                    "v", text=iter(["Привет, ", "мир."]), model_id="eleven_flash_v2_5", voice_settings=None
                )
            )
        assert err.value.status_code == 1008
        assert isinstance(err.value.body, dict) and err.value.body["error"] == "quota_exceeded"


async def test_input_timeout_fault(server: SimServer) -> None:
    server.faults.next_tts("input_timeout", after_s=0.05)
    frames, code = await drain(await ws_connect(server))
    assert code == 1008 and frames[0]["error"] == "input_timeout_exceeded"
    assert "timeout of 20.0 seconds" in frames[0]["message"]


async def test_close_1011_after_n_frames(server: SimServer) -> None:
    server.faults.next_tts("close_1011", after_frames=2)
    ws = await ws_connect(server)
    await say(ws)
    frames, code = await drain(ws)
    assert code == 1011
    assert len(frames) == 2 and all(f["audio"] for f in frames)


def test_close_1011_through_the_official_sdk() -> None:
    with SimThread(profile="fast") as sim:
        sim.faults.tts = TTSFault("close_1011", after_frames=1)
        client = ElevenLabs(api_key="k", base_url=sim.groq_base_url)
        client.text_to_speech._ws_base_url = sim.elevenlabs_base_url
        with pytest.raises(ApiError) as err:
            b"".join(
                client.text_to_speech.convert_realtime(
                    "v",
                    text=iter(["Вот это да, слон на мопеде! ", "Держитесь крепче, друзья."]),
                    model_id="eleven_flash_v2_5",
                    output_format="pcm_16000",
                    voice_settings=None,
                )
            )
        assert err.value.status_code == 1011


async def test_drop_tcp_mid_utterance_is_1006(server: SimServer) -> None:
    server.faults.next_tts("drop", after_frames=1)
    ws = await ws_connect(server)
    await say(ws)
    frames, code = await drain(ws)
    assert code == 1006 and len(frames) == 1


async def test_malformed_frame_then_service_carries_on(server: SimServer) -> None:
    server.faults.next_tts("malformed", after_frames=1)
    ws = await ws_connect(server)
    await say(ws)
    frames = await until_final(ws)
    assert isinstance(frames[1], str) and not frames[1].startswith("{")
    assert all(isinstance(f, dict) for i, f in enumerate(frames) if i != 1)
    assert frames[-1] == {"isFinal": True, "contextId": "c"}
    await ws.close()


async def test_audio_for_unknown_context(server: SimServer) -> None:
    server.faults.next_tts(TTSFault("unknown_context", context_id="old-turn"))
    ws = await ws_connect(server)
    await say(ws)
    frames = await until_final(ws)
    assert frames[0]["contextId"] == "old-turn" and frames[0]["audio"]
    assert {f["contextId"] for f in frames[1:]} == {"c"}
    assert "old-turn" in server.sent_audio and server.sent_audio["c"]
    await ws.close()


async def test_first_audio_delay_override(server: SimServer) -> None:
    server.faults.next_tts("first_audio_delay", delay_ms=200)
    ws = await ws_connect(server)
    t0 = time.perf_counter()
    await say(ws)
    first = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
    assert first["audio"] and (time.perf_counter() - t0) * 1000 >= 200
    await ws.close()
