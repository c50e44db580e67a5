"""Benchmark: what the quality rubric costs per remark (µs), against a same-run baseline.

The rubric runs after a remark has played, off the audio path; what it costs is still time the engine's loop
is busy before the next queued remark can start. Remarks are real (the offline phrasebook over the ride
trigger set), each rated in one session (so `repeats` compares against up to 10 earlier remarks).
Reported:
- warm: the steady state (pymorphy's parses and the lemma cache hot for the words seen before);
- cold: every cache emptied before each remark (first sight of every word);
- baseline: the phrasebook composing the same remark (pymorphy work of a similar kind), for the ratio.
Run: `uv run python benchmarks/quality_cost.py [--remarks N]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from nuanu_tui.core.llm.phrasebook import PhrasebookLLM
from nuanu_tui.core.quality import Remark, RemarkSession, _content_lemma, rate, subject_of
from nuanu_tui.core.safety import normal_forms
from nuanu_tui.core.triggers import load_triggers


def remarks(n: int) -> list[tuple[str, str]]:
    book = PhrasebookLLM(seed=11)
    triggers = load_triggers("ride")
    return [(t, book.compose(t)) for t in (triggers[i % len(triggers)] for i in range(n))]


def measure(items: list[tuple[str, str]], before: Callable[[], None] | None = None) -> list[float]:
    session = RemarkSession()
    clock = time.perf_counter_ns
    out: list[float] = []
    for i, (trigger, text) in enumerate(items):
        if before is not None:
            before()
        t0 = clock()
        rate(Remark(text, trigger, f"u{i}", seconds=3.0), session)
        out.append((clock() - t0) / 1000)
    return out


def baseline(items: list[tuple[str, str]]) -> list[float]:
    book = PhrasebookLLM(seed=11)
    clock = time.perf_counter_ns
    out: list[float] = []
    for trigger, _ in items:
        t0 = clock()
        book.compose(trigger)
        out.append((clock() - t0) / 1000)
    return out


def report(label: str, samples: list[float], base: float | None = None) -> None:
    q = statistics.quantiles(samples, n=100)
    median = statistics.median(samples)
    ratio = f"  ×{median / base:.2f} of baseline" if base else ""
    print(
        f"{label:<10} n={len(samples):>5}  median {median:8.1f} µs  p95 {q[94]:8.1f} µs"
        f"  max {max(samples):9.1f} µs{ratio}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--remarks", type=int, default=2000)
    args = parser.parse_args()
    items = remarks(args.remarks)
    measure(items[:50])  # load pymorphy and razdel once

    def cold() -> None:
        _content_lemma.cache_clear()
        subject_of.cache_clear()
        normal_forms.cache_clear()

    base = baseline(items)
    report("baseline", base)
    report("warm", measure(items), statistics.median(base))
    report("cold", measure(items[: min(len(items), 500)], before=cold), statistics.median(base))


if __name__ == "__main__":
    main()
