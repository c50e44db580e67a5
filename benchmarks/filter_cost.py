"""Benchmark: what the output filter adds per chunk on the way from the LLM to the TTS (µs).

Chunks are real remarks (the offline phrasebook over the ride trigger set) cut by the real chunker.
Reported separately:
- clean, warm: the common case — clean text, words seen before (verdict cache hot);
- clean, cold: every cache emptied before each chunk (first sight of every word: pymorphy lookups);
- markup: the same chunks wrapped in markdown, emoji, a URL and a stage direction (the slow path).
Run: `uv run python benchmarks/filter_cost.py [--chunks N]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from nuanu_tui.core.chunker import Chunker
from nuanu_tui.core.llm.phrasebook import PhrasebookLLM
from nuanu_tui.core.safety import OutputFilter, normal_forms
from nuanu_tui.core.triggers import load_triggers


def real_chunks(n: int) -> list[str]:
    book = PhrasebookLLM(seed=7)
    triggers = load_triggers("ride")
    chunks: list[str] = []
    i = 0
    while len(chunks) < n:
        chunker = Chunker()
        reply = book.compose(triggers[i % len(triggers)])
        i += 1
        for word in reply.split(" "):
            chunks.extend(chunker.feed(word + " "))
        chunks.extend(chunker.finish())
    return chunks[:n]


def decorate(chunk: str, i: int) -> str:
    extras = ("**Смотрите**: ", "(смеётся) ", "🐘 ", "*вздыхает* ", "[тут](https://nuanu.com/x) ")
    return extras[i % len(extras)] + chunk


def measure(flt: OutputFilter, chunks: list[str], before: Callable[[], None] | None = None) -> list[float]:
    out: list[float] = []
    clock = time.perf_counter_ns
    for chunk in chunks:
        if before is not None:
            before()
        flt.reset()
        t0 = clock()
        flt.clean_chunk(chunk)
        out.append((clock() - t0) / 1000)
    return out


def report(label: str, samples: list[float]) -> None:
    q = statistics.quantiles(samples, n=100)
    print(
        f"{label:<14} n={len(samples):>6}  median {statistics.median(samples):7.2f} µs"
        f"  p95 {q[94]:7.2f} µs  p99 {q[98]:7.2f} µs  max {max(samples):8.1f} µs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chunks", type=int, default=5000)
    args = parser.parse_args()
    t = time.perf_counter()
    flt = OutputFilter()
    flt.warm()
    print(f"start-up (pymorphy load + blocklist compile): {(time.perf_counter() - t) * 1000:.1f} ms")
    chunks = real_chunks(args.chunks)
    print(f"mean chunk length {statistics.mean(len(c) for c in chunks):.0f} chars, {len(chunks)} chunks")

    def cold() -> None:
        flt.blocklist._cache.clear()
        normal_forms.cache_clear()

    measure(flt, chunks)  # first pass fills the caches
    report("clean, warm", measure(flt, chunks))
    report("clean, cold", measure(flt, chunks[: min(len(chunks), 1000)], before=cold))
    report("markup", measure(flt, [decorate(c, i) for i, c in enumerate(chunks)]))


if __name__ == "__main__":
    main()
