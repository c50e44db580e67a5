"""Launch -> first audio of `nuanu-tui say` when a host accepts TCP and never answers (a black hole).

Run: `uv run python -m benchmarks.dead_endpoint [--dead llm|tts] [--runs N] [--out FILE]`.

`--dead llm` (default): the chain is groq (the black hole) -> offline/phrasebook, spoken by espeak.
`--dead tts`: the phrasebook writes, ElevenLabs is the black hole and espeak stands behind it.
Audio goes to a WAV file. "First audio" is
seen from outside: the moment the WAV (or its hidden temporary file) first holds samples. Python's file
buffer (8 KiB, ~170 ms of 24 kHz audio written at real-time pace) delays that moment by the same amount
in every run and every version, so compare numbers from this script with each other only. The JSON's own
stages are reported next to it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TRIGGER = "две собаки слева"
LLM = "groq/llama-3.1-8b-instant"
WAV_HEADER = 44


def first_audio_seen(folder: Path) -> bool:
    return any(p.stat().st_size > WAV_HEADER for p in folder.iterdir() if p.suffix in (".wav", ".part"))


def one_run(port: int, folder: Path, dead: str) -> dict[str, Any]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("NUANU_", "GROQ_", "OPENAI_", "ELEVENLABS_"))
    }
    env["NUANU_DATA_DIR"] = str(folder / "data")
    if dead == "llm":
        env.update(GROQ_API_KEY="gsk_bench_black_hole_0123456789", GROQ_BASE_URL=f"http://127.0.0.1:{port}")
        parts = ["--llm", LLM]
    else:
        env.update(
            ELEVENLABS_API_KEY="xi_bench_black_hole_01234567", ELEVENLABS_BASE_URL=f"ws://127.0.0.1:{port}"
        )
        parts = ["--llm", "offline/phrasebook", "--tts", "elevenlabs"]
    wav = folder / "out.wav"
    args = [sys.executable, "-m", "nuanu_tui", "say", TRIGGER, *parts, "--audio", f"wav:{wav}", "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    seen: float | None = None
    while proc.poll() is None:
        if seen is None and first_audio_seen(folder):
            seen = time.perf_counter()
        time.sleep(0.002)
    out, err = proc.communicate()
    exited = time.perf_counter()
    data = json.loads(out) if out.strip() else {}
    return {
        "launch_to_first_audio_ms": None if seen is None else (seen - started) * 1000,
        "launch_to_exit_ms": (exited - started) * 1000,
        "exit": proc.returncode,
        "ttft_ms": data.get("stages_ms", {}).get("ttft"),
        "first_audio_ms": data.get("stages_ms", {}).get("first_audio"),
        "served_by": data.get("served_by"),
        "voiced_by": data.get("voiced_by"),
        "stderr": err.strip().splitlines()[-3:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dead", choices=("llm", "tts"), default="llm", help="which host is the black hole")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", help="write the results as JSON here")
    opts = parser.parse_args()
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # the kernel completes handshakes; nobody ever reads or answers
    port = hole.getsockname()[1]
    runs = []
    try:
        for _ in range(opts.runs):
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(one_run(port, Path(tmp), opts.dead))
    finally:
        hole.close()
    seen = [r["launch_to_first_audio_ms"] for r in runs if r["launch_to_first_audio_ms"] is not None]
    summary = {
        "runs": runs,
        "median_launch_to_first_audio_ms": statistics.median(seen) if seen else None,
        "median_launch_to_exit_ms": statistics.median(r["launch_to_exit_ms"] for r in runs),
    }
    for r in runs:
        print(
            f"launch->first audio {r['launch_to_first_audio_ms'] or float('nan'):7.0f} ms | "
            f"json ttft {r['ttft_ms'] or float('nan'):7.0f} ms, first_audio {r['first_audio_ms'] or float('nan'):7.0f}"
            f" ms | exit {r['exit']} after {r['launch_to_exit_ms']:.0f} ms | served_by {r['served_by']}"
            f" voiced_by {r['voiced_by']}"
        )
    print(f"median launch->first audio: {summary['median_launch_to_first_audio_ms']:.0f} ms")
    if opts.out:
        Path(opts.out).write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
