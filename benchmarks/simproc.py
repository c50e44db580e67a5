"""The emulator in its own process for benchmarks, so its work never shares our interpreter's GIL."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from dataclasses import dataclass

import numpy as np

from nuanu_tui.sim import SimServer
from nuanu_tui.sim.content import tokenize
from nuanu_tui.sim.network import set_precise_timing
from nuanu_tui.sim.profiles import LLMProfile, ProfileSet, TTSProfile

# The reply the design doc uses for its flush-policy numbers.
REPLY = "Вот это да, слон на мопеде! А за ним ещё два."
SPEECH_S = 0.25  # audio per generation: short, so a 100-utterance run is not dominated by playback


@dataclass(frozen=True, slots=True)
class Floor:
    ttft_ms: float
    token_ms: float
    tts_ms: float

    def profile(self) -> ProfileSet:
        llm = LLMProfile(ttft_ms=self.ttft_ms, token_interval_ms=self.token_ms)
        return ProfileSet(
            name="bench",
            groq=llm,
            openai=llm,
            tts=TTSProfile(first_audio_ms=self.tts_ms, chunk_interval_ms=5.0, chunk_ms=100.0),
        )

    def first_audio_floor(self, first_flush_token: int) -> float:
        """Injected TTFT + token intervals until the first flushable clause + injected TTS time to audio."""
        return self.ttft_ms + first_flush_token * self.token_ms + self.tts_ms


def reply_tokens() -> list[str]:
    return tokenize(REPLY)


def _reply(_trigger: str, _model: str) -> str:
    return REPLY


def _speech(_text: str, rate: int) -> bytes:
    """A quiet tone of SPEECH_S: real bytes to decode and play, of a fixed, short length."""
    t = np.arange(int(rate * SPEECH_S)) / rate
    return (np.sin(2 * np.pi * 220 * t) * 3000).astype(np.int16).tobytes()


def _serve(floor: Floor, conn: mp.connection.Connection, net: str | None = None) -> None:  # type: ignore[name-defined]
    async def main() -> None:
        set_precise_timing(True)  # the floor must be exact: the emulator's timer slack is not our overhead
        server = SimServer(profile=floor.profile(), reply_fn=_reply, speech_fn=_speech, net=net, net_seed=1)
        await server.start()
        conn.send((server.groq_base_url, server.openai_base_url, server.elevenlabs_base_url))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # wait for "stop"
        await server.stop()

    asyncio.run(main())


class SimProcess:
    """`with SimProcess(floor) as urls:` — the emulator in a spawned process, stopped on exit."""

    def __init__(self, floor: Floor, net: str | None = None) -> None:
        """`net`: the emulated link (loopback, wifi, lte, bad or rtt=…; see nuanu_tui/sim/network.py)."""
        self.floor = floor
        ctx = mp.get_context("spawn")
        self._parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(floor, child, net), daemon=True)

    def __enter__(self) -> tuple[str, str, str]:
        self._proc.start()
        return self._parent.recv()

    def __exit__(self, *exc: object) -> None:
        self._parent.send("stop")
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
