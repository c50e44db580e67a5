"""The designs we compare against, rebuilt on the same emulator and measured the same way as ours.

(a) the seed prototype: a new `stream-input` WebSocket per utterance, parsed SDK chunks, the first text
    sent (with flush) once it holds >= 15 characters even mid-word, MP3 output decoded chunk by chunk
    with a fresh decoder each time;
(b) the sequential design: wait for the whole LLM text, then synthesise it, then play.
Both hand samples to the same paced null sink as ours, and TTFA is the first sample handed to it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from typing import Any

import groq
import miniaudio
import orjson
from websockets.asyncio.client import connect

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.null_sink import NullSink
from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.llm.prompts import build_messages
from nuanu_tui.core.timeline import Timeline
from nuanu_tui.core.tts.elevenlabs import ElevenLabsTTS

VOICE = "y2Y5MeVPm6ZQXK64WUui"
MODEL = "llama-3.1-8b-instant"


def _ms(t0: int) -> float:
    return (time.perf_counter_ns() - t0) / 1e6


async def prototype_utterance(groq_url: str, el_url: str, player: Player, trigger: str) -> dict[str, float]:
    """(a) the prototype's design. Returns ttfa (first sample handed over) and its own 'TTFA' (first byte)."""
    client = groq.AsyncGroq(api_key="bench", base_url=groq_url, max_retries=0)
    timeline = Timeline()
    t0 = timeline.t0_ns
    out: dict[str, float] = {}
    url = f"{el_url}/v1/text-to-speech/{VOICE}/stream-input?model_id=eleven_flash_v2_5&output_format=mp3_44100_128"
    ws = await connect(url, additional_headers={"xi-api-key": "bench"}, proxy=None)
    await ws.send(orjson.dumps({"text": " ", "generation_config": {"chunk_length_schedule": [50]}}).decode())
    playback = player.begin("proto", AudioFormat("pcm", 44100), timeline)

    async def receive() -> None:
        async for raw in ws:
            msg = orjson.loads(raw)
            if msg.get("audio"):
                data = base64.b64decode(msg["audio"])
                out.setdefault("first_audio_byte", _ms(t0))
                with contextlib.suppress(
                    miniaudio.DecodeError
                ):  # partial frames: the clicks the prototype had
                    pcm = miniaudio.decode(data, nchannels=1, sample_rate=44100).samples.tobytes()
                    playback.feed(pcm)
            if msg.get("isFinal"):
                break

    receiver = asyncio.create_task(receive())
    stream = await client.chat.completions.create(
        model=MODEL, messages=build_messages(trigger, "ru"), stream=True
    )
    buf, first = "", True
    async for chunk in stream:
        if not chunk.choices or not chunk.choices[0].delta.content:
            continue
        buf += chunk.choices[0].delta.content
        if first and len(buf) >= 15:
            await ws.send(orjson.dumps({"text": buf, "flush": True}).decode())
            buf, first = "", False
        elif not first and buf.endswith((".", "!", "?", ",")):
            await ws.send(orjson.dumps({"text": buf, "try_trigger_generation": True}).decode())
            buf = ""
    if buf:
        await ws.send(orjson.dumps({"text": buf, "flush": True}).decode())
    await ws.send(orjson.dumps({"text": ""}).decode())
    await receiver
    playback.end()
    await playback.wait_done()
    await ws.close()
    await client.close()
    out["first_audio"] = timeline.ms("first_audio") or float("nan")
    return out


async def sequential_utterance(
    groq_url: str, tts: ElevenLabsTTS, player: Player, trigger: str
) -> dict[str, float]:
    """(b) whole text first, then synthesis (on our warm socket, so only the ordering differs)."""
    client = groq.AsyncGroq(api_key="bench", base_url=groq_url, max_retries=0)
    timeline = Timeline()
    stream = await client.chat.completions.create(
        model=MODEL, messages=build_messages(trigger, "ru"), stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    utt = await tts.start(f"seq-{time.perf_counter_ns()}")
    await utt.send(text.strip() + " ")
    await utt.finish()
    playback = player.begin("seq", utt.format, timeline)
    async for data in utt.audio():
        playback.feed(data)
    playback.end()
    await playback.wait_done()
    await client.close()
    return {"first_audio": timeline.ms("first_audio") or float("nan")}


def null_player(rate: int) -> Player:
    player = Player(NullSink())
    player.start(rate)
    return player


class MinimalClient:
    """The transport floor on this machine: bare httpx + one warm websockets socket, no SDK, no pipeline.

    It sends the first clause as soon as its last token arrives and stops the clock at the first audio frame,
    decoded but not played. Whatever it measures above the injected delays is the emulator, the loopback and
    the machine; our engine's own cost is what we measure above *this*.
    """

    def __init__(self, groq_url: str, el_url: str, first_flush_token: int) -> None:
        import httpx

        self._http = httpx.AsyncClient(timeout=20)
        self._url = groq_url.rstrip("/") + "/openai/v1/chat/completions"
        self._el = f"{el_url}/v1/text-to-speech/{VOICE}/multi-stream-input?model_id=eleven_flash_v2_5&output_format=pcm_24000&auto_mode=true&inactivity_timeout=180"
        self._k = first_flush_token
        self._body = orjson.dumps(
            {"model": MODEL, "messages": build_messages("две собаки", "ru"), "stream": True, "max_tokens": 80}
        )
        self._ws: Any = None
        self._n = 0

    async def open(self) -> None:
        self._ws = await connect(
            self._el, additional_headers={"xi-api-key": "bench"}, proxy=None, compression=None
        )
        await self._http.get(
            self._url.replace("chat/completions", "models"), headers={"Authorization": "Bearer b"}
        )

    async def utterance(self) -> float:
        self._n += 1
        ctx = f"min-{self._n}"
        t0 = time.perf_counter_ns()
        await self._ws.send(orjson.dumps({"text": " ", "context_id": ctx}).decode())
        text, n, sent, first_audio = "", 0, False, float("nan")
        async with self._http.stream(
            "POST", self._url, content=self._body, headers={"Authorization": "Bearer b"}
        ) as r:
            async for line in r.aiter_lines():
                if not line.startswith("data: {"):
                    continue
                delta = orjson.loads(line[6:])["choices"]
                content = delta[0]["delta"].get("content") if delta else None
                if not content:
                    continue
                text += content
                if n == self._k and not sent:
                    await self._ws.send(
                        orjson.dumps({"text": text.strip() + " ", "context_id": ctx}).decode()
                    )
                    sent, text = True, ""
                    while True:  # the first audio frame for this context
                        msg = orjson.loads(await self._ws.recv())
                        if msg.get("audio") and (msg.get("contextId") or msg.get("context_id")) == ctx:
                            base64.b64decode(msg["audio"])
                            first_audio = _ms(t0)
                            break
                n += 1
        await self._ws.send(orjson.dumps({"text": text + " ", "context_id": ctx, "flush": True}).decode())
        await self._ws.send(orjson.dumps({"context_id": ctx, "close_context": True}).decode())
        while True:
            msg = orjson.loads(await self._ws.recv())
            if (msg.get("isFinal") or msg.get("is_final")) and (
                msg.get("contextId") or msg.get("context_id")
            ) == ctx:
                break
        return first_audio

    async def close(self) -> None:
        await self._ws.close()
        await self._http.aclose()
