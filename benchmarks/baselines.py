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

import groq
import miniaudio
import orjson
from websockets.asyncio.client import connect

from nuanu_tui.core.audio.base import AudioFormat
from nuanu_tui.core.audio.player import Player
from nuanu_tui.core.audio.sinks import NullSink
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
