"""Benchmark: the device path on a real audio server, and underruns with the console running.

A private PulseAudio server with a null sink (as in the tests) stands in for the speaker; its monitor is
recorded. Reported:
- device latency: when a trigger's first sample is rendered by the server (its onset on the monitor) minus
  `first_sound` (the moment that sample went to the device: the interjection's, or the remark's when
  there is none), p50/p95/max over the remarks, headless;
- TTFA (`first_audio`) on the device and, same emulator, on the null sink;
- underruns while the console (Pilot, engine in its own process) speaks remarks, on this server and on
  the null sink, as counted by the output (a period the device asked for and the ring could not fill, or
  PortAudio's underflow flag).
Run: `uv run python -m benchmarks.speaker [--runs N] [--json PATH]` (needs pulseaudio, pulseaudio-utils and
libportaudio2). Everything runs against the emulator in a separate process with fixed injected latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.run import FAST, TRIGGER, first_flush_token, pct, settings_for, with_tui
from benchmarks.simproc import SimProcess
from nuanu_tui.sim import heard
from nuanu_tui.sim.pulse import PulseServer, available

RESULTS = Path(__file__).resolve().parent / "results" / "speaker.json"


def spread(values: list[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": pct(values, 50) if values else None,
        "p95": pct(values, 95) if values else None,
        "max": max(values) if values else None,
    }


async def device_path(
    urls: tuple[str, str, str], server: PulseServer, runs: int, audio: str
) -> dict[str, Any]:
    """`runs` remarks through `audio` headless; on the device, each one's onset on the recorded monitor."""
    from nuanu_tui.core.engine import Engine

    recorder = server.record() if audio != "null" else None
    engine = await Engine.create(
        settings_for(urls), llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio=audio
    )
    results = []
    try:
        name = engine.player.sink_name
        for _ in range(runs):
            results.append(await engine.say(TRIGGER))
        underruns = engine.player.underruns
    finally:
        await engine.aclose()
        recording = recorder.stop() if recorder is not None else None
    out: dict[str, Any] = {
        "audio": name,
        "errors": [r.error for r in results if not r.ok],
        "ttfa_ms": spread(
            [r.stages_ms["first_audio"] for r in results if r.ok and r.stages_ms["first_audio"]]
        ),
        "underruns": underruns,
    }
    if recording is not None:
        latencies, after = [], 0
        for r in results:
            first_ms, done_ms = r.stages_ms["first_sound"], r.stages_ms["playback_done"]
            if not r.ok or first_ms is None or done_ms is None:
                continue
            first_ns = r.t0_ns + int(first_ms * 1e6)
            start = max(
                after,
                (first_ns - recording.start_ns) * recording.rate // 1_000_000_000 - recording.rate // 50,
            )
            at = heard.onset(recording.samples, start)
            if at is None:
                continue
            latencies.append((recording.start_ns + at * 1_000_000_000 // recording.rate - first_ns) / 1e6)
            after = (r.t0_ns + int(done_ms * 1e6) - recording.start_ns) * recording.rate // 1_000_000_000
        out["device_latency_ms"] = spread(latencies)
    return out


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    runs = 3 if args.quick else args.runs
    k = first_flush_token()
    floor_ms = FAST.first_audio_floor(k)
    server = PulseServer().start()
    os.environ.update(server.env())  # before anything loads PortAudio; the engine processes inherit it
    out: dict[str, Any] = {"runs": runs, "floor_ms": floor_ms, "cores": os.cpu_count()}
    try:
        with SimProcess(FAST) as urls:
            out["headless_device"] = await device_path(urls, server, runs, "device")
            print(f"headless device: {out['headless_device']}", file=sys.stderr)
            out["headless_null"] = await device_path(urls, server, runs, "null")
            print(f"headless null: {out['headless_null']}", file=sys.stderr)
            for audio in ("device", "null"):
                recorder = server.record() if audio == "device" else None
                try:
                    res = await with_tui(
                        urls, "pcm_24000", runs, floor_ms, k, 1.0 if args.quick else 5.0, audio=audio
                    )
                finally:
                    if recorder is not None:
                        recorder.stop()
                out[f"tui_{audio}"] = {
                    "underruns": res["underruns"],
                    "overhead": res["overhead"],
                    "errors": res["errors"],
                }
                print(
                    f"TUI {audio}: underruns {res['underruns']} overhead {res['overhead']}", file=sys.stderr
                )
    finally:
        server.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40, help="remarks per configuration")
    parser.add_argument(
        "--quick", action="store_true", help="a few remarks: proves the harness, not the numbers"
    )
    parser.add_argument("--json", type=Path, help="write the raw numbers here")
    args = parser.parse_args(argv)
    why = available()
    if why is not None:
        print(f"benchmarks.speaker: {why}", file=sys.stderr)
        return 2
    out = asyncio.run(main_async(args))
    text = json.dumps(out, indent=1, ensure_ascii=False)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
