"""The first second of a ride: the longest loop stall per phase, and safety event -> remark start.

    uv run python -m benchmarks.first_second            # 5 rides (~2 min), prints a table, writes results/
    uv run python -m benchmarks.first_second --quick    # 1 ride

Each ride is `nuanu-tui ride --demo --udp PORT --audio null` in its own fresh process (a cold interpreter, as a
user starts it), with the Groq -> OpenAI -> phrasebook failover chain (`--demo` sets both keys). Inside it,
`nuanu_tui.core.loopwatch` times every callback on the ride's loop: asyncio's debug-mode slow-callback
reports at 20 ms, plus each callback's own time (wall time minus the thread's run-queue wait, so a CPU stolen
by another process on this shared machine is not blamed on us).

A sender thread waits for the `ride: ready` line, then plays ROUNDS rounds: a normal event, then 0.5 s later
(its remark speaking) a safety event, which barges in. Phases come from the ride's own JSON: start-up is
launch -> `ready_at`; first remark is `ready_at` -> the end of the first remark; steady state is the rest.
Safety: arrival (`received_at`, stamped when the datagram is read) -> the safety remark's `t0` (its
`started_at` minus `wait_ms`), every safety event, the first remark's included.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ROUNDS = 6
SAFETY_AFTER_S = 0.5  # the normal remark is speaking by then (emulated TTFT + TTS first audio ~0.35 s)
ROUND_GAP_S = 2.5
LABELS = ("dog", "cow", "monkey", "scooter", "chicken", "goat", "bus", "horse")
# Relaxed director rules, so every round's normal event is spoken (the point is the loop, not the policy).
CHILD_ENV = {"NUANU_DEDUP_S": "0", "NUANU_COOLDOWN_S": "0", "NUANU_MAX_PER_MIN": "1000", "NUANU_INSTANT": "0"}


# --- the child: one ride, watched ------------------------------------------------------------------------
class _Tee(io.TextIOBase):
    """stderr as it was, and a flag when the ride says it is ready."""

    def __init__(self, inner: Any, ready: threading.Event) -> None:
        self.inner, self.ready = inner, ready
        self.listening = threading.Event()

    def write(self, s: str) -> int:
        if "ride: listening" in s:
            self.listening.set()
        if "ride: ready" in s:
            self.ready.set()
        return int(self.inner.write(s))

    def flush(self) -> None:
        self.inner.flush()


def _send_rounds(port: int, tee: _Tee, rounds: int, early: bool) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send(**event: Any) -> None:
        sock.sendto(json.dumps({**event, "ts": time.time()}).encode(), ("127.0.0.1", port))

    ready = tee.ready
    if early and tee.listening.wait(120) and not ready.is_set():
        send(label="elephant", side="left")  # while the ride is still starting: it waits, judged at ready
    if not ready.wait(120):
        return
    for i in range(rounds):
        send(label=LABELS[i % len(LABELS)], side="left" if i % 2 else "right", count=i + 1)
        time.sleep(SAFETY_AFTER_S)
        send(label="child", side="ahead", priority="safety")
        time.sleep(ROUND_GAP_S)


def child(port: int, rounds: int, json_path: str, watch_path: str, early: bool) -> int:
    import asyncio

    from nuanu_tui.core.loopwatch import LoopWatch

    watch = LoopWatch()
    started_at = time.time()

    class WatchedPolicy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            loop = super().new_event_loop()
            if not watch.thread_id and threading.current_thread() is threading.main_thread():
                watch.start(loop)  # the CLI's asyncio.run, on the main thread; not a worker's own loop
            return loop

    asyncio.set_event_loop_policy(WatchedPolicy())
    tee = _Tee(sys.stderr, threading.Event())
    sys.stderr = tee
    threading.Thread(target=_send_rounds, args=(port, tee, rounds, early), daemon=True).start()
    from nuanu_tui.cli import main

    duration = (2.0 if early else 0.0) + rounds * (SAFETY_AFTER_S + ROUND_GAP_S) + 1.0
    args = ["ride", "--demo", "--udp", str(port), "--audio", "null", "--duration", f"{duration:.1f}"]
    rc = main([*args, "--json", json_path])
    spans = [s for s in watch.spans]
    Path(watch_path).write_text(
        json.dumps(
            {
                "started_at": started_at,
                "callbacks": watch.callbacks,
                "spans": [[s.ended_at, s.wall_ms, s.runq_ms, s.what] for s in spans],
                "reports": [[s.ended_at, s.wall_ms, s.runq_ms, s.what] for s in watch.reports],
            }
        ),
        encoding="utf-8",
    )
    return rc


# --- the parent: rides, phases, numbers ------------------------------------------------------------------
def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_ride(
    rounds: int = ROUNDS, *, early: bool = False, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One watched ride in a fresh process; its ride JSON and loop watch, read back."""
    with tempfile.TemporaryDirectory() as tmp:
        ride_json, watch_json = Path(tmp, "ride.json"), Path(tmp, "watch.json")
        child_env = {**(env if env is not None else os.environ), **CHILD_ENV}
        child_env.setdefault("NUANU_DATA_DIR", str(Path(tmp, "data")))
        cmd = [sys.executable, "-m", "benchmarks.first_second", "--child", str(free_udp_port()), str(rounds)]
        cmd += [str(ride_json), str(watch_json)] + (["--early"] if early else [])
        proc = subprocess.run(
            cmd,
            cwd=Path(__file__).resolve().parent.parent,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0 or not ride_json.exists():
            raise RuntimeError(f"ride failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return {
            "ride": json.loads(ride_json.read_text(encoding="utf-8")),
            "watch": json.loads(watch_json.read_text(encoding="utf-8")),
            "stderr": proc.stderr,
        }


def t0_wall(u: dict[str, Any]) -> float:
    return float(u["started_at"]) - (u.get("wait_ms") or 0.0) / 1000.0


def phases(run: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Wall-clock bounds of start-up, first remark and steady state, from the ride's own JSON."""
    ride, watch = run["ride"], run["watch"]
    ready = float(ride["ready_at"])
    spoken = sorted(ride["utterances"], key=t0_wall)
    first = spoken[0]
    first_end = t0_wall(first) + max(v for v in first["stages_ms"].values() if v is not None) / 1000.0
    return {
        "start-up": (float(watch["started_at"]), ready),
        "first remark": (ready, first_end),
        "steady state": (first_end, float("inf")),
    }


def longest_stalls(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per phase: the longest callback by own time (ms), its wall time, and what it was."""
    out = {}
    spans = run["watch"]["spans"] + run["watch"]["reports"]
    for name, (since, until) in phases(run).items():
        inside = [s for s in spans if since <= s[0] < until]
        top = max(inside, key=lambda s: s[1] - s[2], default=None)
        out[name] = {
            "own_ms": 0.0 if top is None else round(max(0.0, top[1] - top[2]), 2),
            "wall_ms": 0.0 if top is None else round(top[1], 2),
            "what": None if top is None else top[3],
            "reports_over_20ms": sum(1 for s in inside if s[1] - s[2] >= 20.0),
        }
    return out


def safety_delays(run: dict[str, Any]) -> list[float]:
    """Arrival (datagram read) -> the safety remark's t0, ms, for every spoken safety event."""
    ride = run["ride"]
    by_id = {u["utterance_id"]: u for u in ride["utterances"]}
    out = []
    for e in ride["events"]:
        u = by_id.get(e["utterance_id"])
        if e["priority"] == "safety" and e["decision"] == "spoken" and u is not None:
            out.append((t0_wall(u) - float(e["received_at"])) * 1000.0)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--child", nargs=4, metavar=("PORT", "ROUNDS", "RIDE_JSON", "WATCH_JSON"))
    ap.add_argument("--early", action="store_true")
    args = ap.parse_args()
    if args.child:
        port, rounds, ride_json, watch_json = args.child
        raise SystemExit(child(int(port), int(rounds), ride_json, watch_json, args.early))
    runs = 1 if args.quick else args.runs
    stalls: dict[str, list[float]] = {}
    worst: dict[str, dict[str, Any]] = {}
    safety: list[float] = []
    first_safety: list[float] = []
    for i in range(runs):
        run = run_ride()
        for name, top in longest_stalls(run).items():
            stalls.setdefault(name, []).append(top["own_ms"])
            if top["own_ms"] >= worst.get(name, {}).get("own_ms", -1):
                worst[name] = top
        delays = safety_delays(run)
        safety += delays
        first_safety += delays[:1]
        print(f"ride {i + 1}/{runs}: stalls {longest_stalls(run)} safety {[round(d, 1) for d in delays]}")
    result = {
        "machine": f"{os.cpu_count()} cores",
        "runs": runs,
        "rounds": ROUNDS,
        "longest_stall_ms": {
            k: {"median": round(statistics.median(v), 2), "max": round(max(v), 2), "worst": worst[k]}
            for k, v in stalls.items()
        },
        "safety_to_t0_ms": {
            "n": len(safety),
            "p50": round(pct(safety, 0.5), 2),
            "p95": round(pct(safety, 0.95), 2),
            "max": round(max(safety), 2),
            "first_remark_max": round(max(first_safety), 2),
        },
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "first_second.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
