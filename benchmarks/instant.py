"""Benchmark: instant reactions on and off, paired in one run, on the demo emulator with the null sink.

For each LLM (the demo Groq and GPT profiles) and each round, the same trigger is spoken with instant
reactions on and off, in ABBA order, on one warm engine whose interjection cache is already filled.
Reported:
- `first_sound` p50/p95 with instant on (target: p50 <= 30 ms) and off (= the remark's first audio);
- the cost to the remark's own `first_audio` (target <= 2 ms at p50), paired on minus off, counting only
  the parts the client controls: t0 -> TTFT (choosing the interjection and starting it happen before the
  LLM request goes out) plus first audio byte -> first audio (the player), after taking out the time the
  remark's audio was ready but waited behind a still-playing interjection and its pause. That wait is
  reported on its own, and so is `first_audio` as heard. What lies between TTFT and the first audio byte
  is the emulated providers' time for this reply's first clause, which differs from reply to reply;
- `gap_ms`: the silence between the interjection's last sample and the remark's first.
Run: `uv run python -m benchmarks.instant [--rounds N] [--json PATH]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.triggers import load_triggers
from nuanu_tui.sim.network import set_precise_timing

LLMS = ("groq/llama-3.1-8b-instant", "openai/gpt-4o-mini")
RESULTS = Path(__file__).resolve().parent / "results" / "instant.json"


def pct(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95)}


def stage(r: UtteranceResult, name: str) -> float | None:
    return r.stages_ms.get(name)


async def run(rounds: int, data_dir: Path) -> dict[str, Any]:
    settings = Settings().model_copy(update={"data_dir": data_dir, "instant": True})
    engine = await Engine.create(settings, demo=True, audio="null")
    try:
        await engine.instant.wait_filled(120)
        triggers = load_triggers("seed")
        for spec in LLMS:  # warm each path once (connection, first-request costs) before counting
            await engine.say(triggers[0], llm=spec, instant=False)
        pairs: dict[str, list[tuple[UtteranceResult, UtteranceResult]]] = {spec: [] for spec in LLMS}
        for i in range(rounds):
            trigger = triggers[i % len(triggers)]
            for spec in LLMS:
                order = (True, False) if i % 2 == 0 else (False, True)
                got = {on: await engine.say(trigger, llm=spec, instant=on) for on in order}
                pairs[spec].append((got[True], got[False]))
        return summarize(pairs)
    finally:
        await engine.aclose()


def client_part(r: UtteranceResult, wait: float) -> float:
    """t0 -> TTFT plus first audio byte -> first audio, minus the wait behind the interjection."""
    ttft, byte, audio = stage(r, "ttft"), stage(r, "first_audio_byte"), stage(r, "first_audio")
    assert ttft is not None and byte is not None and audio is not None
    return ttft + (audio - byte) - wait


def summarize(pairs: dict[str, list[tuple[UtteranceResult, UtteranceResult]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec, rows in pairs.items():
        ok = [(on, off) for on, off in rows if on.ok and off.ok and on.interjection is not None]
        on_sound = [s for on, _ in ok if (s := stage(on, "first_sound")) is not None]
        off_sound = [s for _, off in ok if (s := stage(off, "first_sound")) is not None]
        waits = [on.interjection_wait_ms or 0.0 for on, _ in ok]
        heard_on = [stage(on, "first_audio") or 0.0 for on, _ in ok]
        own_on = [a - w for a, w in zip(heard_on, waits, strict=True)]
        off_audio = [stage(off, "first_audio") or 0.0 for _, off in ok]
        cost = [client_part(on, on.interjection_wait_ms or 0.0) - client_part(off, 0.0) for on, off in ok]
        out[spec] = {
            "pairs": len(rows),
            "pairs_with_interjection": len(ok),
            "first_sound_on": stats(on_sound),
            "first_sound_off": stats(off_sound),
            "first_audio_off": stats(off_audio),
            "first_audio_on_heard": stats(heard_on),
            "first_audio_on_own": stats(own_on),
            "first_audio_cost_paired": stats(cost),  # per pair: client part on (minus the wait) − off
            "wait_behind_interjection": stats(waits),
            "gap_ms": stats([on.gap_ms for on, _ in ok if on.gap_ms is not None]),
            "interjection_ms": stats([on.interjection_ms for on, _ in ok if on.interjection_ms is not None]),
        }
    return out


def fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def table(data: dict[str, Any]) -> str:
    rows = [
        ("first_sound, instant on (ms)", "first_sound_on"),
        ("first_sound, instant off (ms)", "first_sound_off"),
        ("first_audio, instant off (ms)", "first_audio_off"),
        ("first_audio, on, minus the wait (ms)", "first_audio_on_own"),
        ("cost to first_audio, paired (ms)", "first_audio_cost_paired"),
        ("wait behind the interjection (ms)", "wait_behind_interjection"),
        ("first_audio, on, as heard (ms)", "first_audio_on_heard"),
        ("gap interjection → remark (ms)", "gap_ms"),
        ("interjection length (ms)", "interjection_ms"),
    ]
    specs = list(data)
    head = "| | " + " | ".join(f"{s} p50 | p95" for s in specs) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(specs)]
    for label, key in rows:
        cells = " | ".join(f"{fmt(data[s][key]['p50'])} | {fmt(data[s][key]['p95'])}" for s in specs)
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="pairs per LLM (default 20)")
    parser.add_argument("--json", type=Path, default=RESULTS, help=f"where to write results ({RESULTS.name})")
    args = parser.parse_args()
    set_precise_timing(True)
    with tempfile.TemporaryDirectory() as tmp:
        data = asyncio.run(run(args.rounds, Path(tmp)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rounds": args.rounds, "results": data}, indent=2), encoding="utf-8")
    print(table(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
