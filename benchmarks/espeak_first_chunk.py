"""Benchmark: time from `send()` of a short Russian sentence to the first PCM chunk from espeak-ng.

Target: < 20 ms. Run: `uv run python benchmarks/espeak_first_chunk.py [--runs N]`.
Reports the cold first utterance (right after connect) separately from warm ones.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from nuanu_tui.core.tts.espeak import EspeakTTS

SENTENCE = "Вот это да, две собаки слева! "


async def one(tts: EspeakTTS, text: str) -> tuple[float, float, int]:
    utt = await tts.start("bench")
    t0 = time.perf_counter()
    await utt.send(text)
    await utt.finish()
    first = None
    n_bytes = 0
    async for chunk in utt.audio():
        if first is None:
            first = (time.perf_counter() - t0) * 1000
        n_bytes += len(chunk)
    total = (time.perf_counter() - t0) * 1000
    return first or float("nan"), total, n_bytes


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--voice", default="ru")
    args = parser.parse_args()
    tts = EspeakTTS(voice=args.voice)
    t = time.perf_counter()
    await tts.connect()
    print(f"connect: {(time.perf_counter() - t) * 1000:.1f} ms")
    cold_first, cold_total, n = await one(tts, SENTENCE)
    print(
        f"cold: first chunk {cold_first:.2f} ms, all audio {cold_total:.1f} ms, {n / 2 / tts.format.sample_rate:.2f} s"
    )
    firsts = []
    for _ in range(args.runs):
        first, _total, _n = await one(tts, SENTENCE)
        firsts.append(first)
    firsts.sort()
    p95 = firsts[min(len(firsts) - 1, int(0.95 * len(firsts)))]
    print(
        f"warm x{args.runs}: first chunk p50 {statistics.median(firsts):.2f} ms, p95 {p95:.2f} ms, "
        f"max {firsts[-1]:.2f} ms  (target < 20 ms: {'OK' if p95 < 20 else 'MISSED'})"
    )
    await tts.aclose()


if __name__ == "__main__":
    asyncio.run(main())
