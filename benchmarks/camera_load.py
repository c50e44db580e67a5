"""Camera load: four cameras x 30 fps x 20 detections for a minute into a real ride, against a baseline
ride without frames, same run, same events.

    uv run python -m benchmarks.camera_load               # 2 pairs of 60 s rides (~5 min), table + results/
    uv run python -m benchmarks.camera_load --seconds 15 --pairs 1   # quicker

Each ride is `nuanu-tui ride --udp PORT --audio null --json …` in its own process, pointed at the emulator in
another process (DEMO floor: 200 ms TTFT, 150 ms TTS), so the ride's CPU is the ride's alone. Once the ride
says `ready`, this process sends, paced to the wall clock:
- frames (load run only): cameras front, rear, left, right, 30 fps each, 20 detections per frame (people, cars,
  scooters, dogs… drifting and jittering by a few pixels; `right` sends no track ids, so it exercises the IoU
  association); ~1.9 KB per datagram;
- events (both runs): every 5 s a normal event, and 0.5 s later (its remark playing) a safety event that barges in.
Measured: the ride process's CPU (user + system, /proc) over the sending window as % of one core; frames sent
against `summary.frames.received` and rejections (overflow means the queue was full); the queue's peak; event ->
first audio of the normal events and of the safety events (their `event_age_ms` + the remark's `first_audio`),
medians pooled over the rides of each kind and the load/baseline ratio. Baseline and load rides alternate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.run import DEMO
from benchmarks.simproc import SimProcess

RESULTS = Path(__file__).parent / "results"
CAMERAS = ("front", "rear", "left", "right")
FPS = 30
DETECTIONS = 20
ROUND_S = 5.0
FIRST_ROUND_S = 5.0
SAFETY_AFTER_S = 0.5  # its remark is playing then (first audio ~0.4 s, 0.25 s of emulated speech)
LABELS = ("person", "car", "motorcycle", "dog", "bicycle", "bus", "truck", "cat", "bird", "cow")
KEYS = {"GROQ_API_KEY": "gsk_bench_camera_0123456789", "ELEVENLABS_API_KEY": "xi_bench_camera_0123456789"}
# Relaxed rules so every round's normal event is spoken and every safety event barges in.
RIDE_ENV = {"NUANU_DEDUP_S": "0", "NUANU_COOLDOWN_S": "0", "NUANU_MAX_PER_MIN": "1000", "NUANU_INSTANT": "0"}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


class Scene:
    """20 objects per camera, each staying in its third of the image (so after the first second the tracker
    makes no new events and the remarks measured are the bench's own); boxes jitter a few pixels each frame."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        thirds = ((80.0, 360.0), (500.0, 780.0), (920.0, 1200.0))
        self.objects = {
            cam: [
                (LABELS[i % len(LABELS)], self.rng.uniform(*thirds[i % 3]), self.rng.uniform(150, 600), 0.0)
                for i in range(DETECTIONS)
            ]
            for cam in CAMERAS
        }

    def frame(self, cam: str, n: int, ts: float) -> bytes:
        rng = self.rng
        dets = []
        for i, (label, x0, y, vx) in enumerate(self.objects[cam]):
            x = min(1220.0, max(60.0, x0 + vx * n / FPS)) + rng.uniform(-3, 3)
            d: dict[str, Any] = {"label": label, "conf": round(rng.uniform(0.6, 0.95), 2),
                                 "box": [round(x - 40, 1), round(y - 40, 1), round(x + 40, 1), round(y + 40, 1)]}  # fmt: skip
            if cam != "right":
                d["track_id"] = i + 1
            dets.append(d)
        body = {"type": "detections", "camera": cam, "ts": round(ts, 3), "frame": n, "width": 1280,
                "height": 720, "detections": dets}  # fmt: skip
        return json.dumps(body, separators=(",", ":")).encode()


def send(port: int, seconds: float, frames: bool, stop: threading.Event) -> dict[str, Any]:
    """Frames at 30 fps per camera (if `frames`) and the event rounds, paced to the wall clock."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = ("127.0.0.1", port)
    scene = Scene()
    sent = size = 0
    # The first round waits for the camera remarks of the first second to be over.
    rounds: list[float] = [
        i * ROUND_S + FIRST_ROUND_S for i in range(int((seconds - FIRST_ROUND_S) // ROUND_S) + 1)
    ]
    events: list[tuple[float, str, dict[str, Any]]] = []
    for i, t in enumerate(rounds):
        label = ("goat", "monkey", "horse", "chicken", "pig", "duck")[i % 6]
        events.append((t, f"bench-n-{i}", {"label": label, "side": "left", "count": 2}))
        events.append(
            (t + SAFETY_AFTER_S, f"bench-s-{i}", {"label": "child", "side": "ahead", "priority": "safety"})
        )
    start = time.perf_counter()
    tick = 0
    try:
        while not stop.is_set():
            now = time.perf_counter() - start
            if now >= seconds:
                break
            while events and events[0][0] <= now:
                _, eid, body = events.pop(0)
                sock.sendto(json.dumps({"id": eid, "ts": time.time(), **body}).encode(), addr)
            if frames:
                ts = time.time()
                for cam in CAMERAS:
                    data = scene.frame(cam, tick, ts)
                    sock.sendto(data, addr)
                    sent += 1
                    size += len(data)
            tick += 1
            wait = start + tick / FPS - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
    finally:
        sock.close()
    return {"frames_sent": sent, "bytes_per_frame": round(size / sent) if sent else 0, "rounds": len(rounds)}


def ride(urls: tuple[str, str, str], seconds: float, frames: bool) -> dict[str, Any]:
    """One ride process: ready, then `seconds` of sending while its CPU is measured, then SIGTERM."""
    groq, openai, eleven = urls
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "ride.json")
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUANU_")}
        env.update(KEYS)
        env.update(RIDE_ENV)
        env.update(GROQ_BASE_URL=groq, OPENAI_BASE_URL=openai, ELEVENLABS_BASE_URL=eleven,
                   NUANU_DATA_DIR=str(Path(tmp, "data")), NUANU_FAILOVER="off")  # fmt: skip
        port = free_udp_port()
        cmd = [sys.executable, "-m", "nuanu_tui", "ride", "--udp", str(port), "--audio", "null", "--json", str(out),
               "--llm", "groq/llama-3.1-8b-instant", "--tts", "elevenlabs"]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        errors: list[str] = []
        ready = threading.Event()

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                errors.append(line)
                if "ready" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(60):
            proc.kill()
            raise RuntimeError("ride never said ready: " + "".join(errors)[-2000:])
        stop = threading.Event()
        t0, c0 = time.perf_counter(), cpu_ticks(proc.pid)
        sent = send(port, seconds, frames, stop)
        t1, c1 = time.perf_counter(), cpu_ticks(proc.pid)
        time.sleep(1.5)  # the last safety remark reaches first audio before the ride is stopped
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        report = json.loads(out.read_text(encoding="utf-8"))
    hz = os.sysconf("SC_CLK_TCK")
    return {"cpu_pct": 100.0 * (c1 - c0) / hz / (t1 - t0), "wall_s": t1 - t0, **sent, "report": report}


def event_to_audio(report: dict[str, Any], prefix: str, part: str = "both") -> list[float]:
    """Arrival -> first audio of the events whose id starts with `prefix` (safety ones: only those that barged
    in, so both runs compare the same path); `part`: `age` (arrival -> the remark's start) or `audio` (the
    remark's start -> first audio) alone."""
    utterances = {u["utterance_id"]: u for u in report["utterances"]}
    out = []
    for e in report["events"]:
        if prefix == "bench-s-" and e["reason"] != "barge_in":
            continue
        if e["id"].startswith(prefix) and e["decision"] == "spoken":
            u = utterances.get(e["utterance_id"])
            fa = u and u["stages_ms"].get("first_audio")
            if fa is not None and e["event_age_ms"] is not None:
                out.append({"both": e["event_age_ms"] + fa, "age": e["event_age_ms"], "audio": fa}[part])
    return out


def p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def digest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several rides of one kind: CPU per ride and its median; latencies pooled over every ride's events."""
    reports = [run["report"] for run in runs]

    def pooled(prefix: str, part: str = "both") -> list[float]:
        return [v for r in reports for v in event_to_audio(r, prefix, part)]

    rejected: dict[str, int] = {}
    for r in reports:
        for k, v in r["summary"]["frames"]["rejected"].items():
            rejected[k] = rejected.get(k, 0) + v
    normal, safety = pooled("bench-n-"), pooled("bench-s-")
    return {
        "cpu_pct": round(statistics.median(run["cpu_pct"] for run in runs), 1),
        "cpu_pct_runs": [round(run["cpu_pct"], 1) for run in runs],
        "frames_sent": sum(run["frames_sent"] for run in runs),
        "frames_received": sum(r["summary"]["frames"]["received"] for r in reports),
        "frames_rejected": rejected,
        "queue_peak": max(r.get("queue_peak") or 0 for r in reports),
        "bytes_per_frame": runs[0]["bytes_per_frame"],
        "camera_events": sum(
            1 for r in reports for e in r["events"] if str(e["source"]).startswith("camera:")
        ),
        "normal_event_to_audio_p50": p50(normal),
        "normal_n": len(normal),
        "normal_age_p50": p50(pooled("bench-n-", "age")),
        "normal_first_audio_p50": p50(pooled("bench-n-", "audio")),
        "safety_age_p50": p50(pooled("bench-s-", "age")),
        "safety_first_audio_p50": p50(pooled("bench-s-", "audio")),
        "safety_event_to_audio_p50": p50(safety),
        "safety_n": len(safety),
        "barge_ins": sum(r["summary"]["spoken_by_reason"].get("barge_in", 0) for r in reports),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pairs", type=int, default=2, help="baseline/load pairs, interleaved")
    args = parser.parse_args()
    base_runs, load_runs = [], []
    with SimProcess(DEMO) as urls:
        for _ in range(args.pairs):  # interleaved, so a busy moment on this shared machine hits both kinds
            base_runs.append(ride(urls, args.seconds, frames=False))
            load_runs.append(ride(urls, args.seconds, frames=True))
    base, load = digest(base_runs), digest(load_runs)

    def ratio(key: str) -> float | None:
        return round(load[key] / base[key], 3) if load[key] and base[key] else None

    result = {
        "seconds": args.seconds,
        "pairs": args.pairs,
        "cameras": len(CAMERAS),
        "fps": FPS,
        "detections": DETECTIONS,
        "baseline": base,
        "load": load,
        "ratio_normal_event_to_audio": ratio("normal_event_to_audio_p50"),
        "ratio_safety_event_to_audio": ratio("safety_event_to_audio_p50"),
        "frames_lost": load["frames_sent"] - load["frames_received"] + sum(load["frames_rejected"].values()),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "camera_load.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    rows = [
        ("ride CPU, % of one core", base["cpu_pct"], load["cpu_pct"], "<= 25 % under load"),
        ("frames sent / received", "—", f"{load['frames_sent']} / {load['frames_received']}", "all"),
        ("frames rejected", "—", load["frames_rejected"] or "none", "none below the queue limit"),
        ("queue peak (limit 256)", base["queue_peak"], load["queue_peak"], ""),
        ("normal event -> first audio p50, ms", base["normal_event_to_audio_p50"], load["normal_event_to_audio_p50"],
         f"ratio {result['ratio_normal_event_to_audio']}"),
        ("safety event (barge-in) -> first audio p50, ms", base["safety_event_to_audio_p50"], load["safety_event_to_audio_p50"],
         f"ratio {result['ratio_safety_event_to_audio']}"),
        ("  of which arrival -> remark start", base["normal_age_p50"], load["normal_age_p50"], ""),
        ("  of which remark start -> first audio", base["normal_first_audio_p50"], load["normal_first_audio_p50"], ""),
        ("barge-ins", base["barge_ins"], load["barge_ins"], f"of {base['safety_n']} / {load['safety_n']} safety"),
    ]  # fmt: skip
    print(f"{'':40} {'baseline':>12} {'4 cams x 30 fps':>18}")
    for name, a, b, note in rows:
        print(f"{name:40} {a!s:>12} {b!s:>18}  {note}")
    print(f"results: {RESULTS / 'camera_load.json'}")


if __name__ == "__main__":
    main()
