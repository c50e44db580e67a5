"""The first second: launch -> first useful moment of each command, seen from outside the process.

Run: `uv run python -m benchmarks.startup [--runs N] [--cases say-offline,say-cloud,ride,console,collector]
[--out FILE]`.

Every launch is a fresh `python -m nuanu_tui ...` subprocess (the real CLI, nothing preloaded), in an empty
working directory (no `.env`) with its own data directory shared by the runs of one case, after one
uncounted launch that fills the caches a shuttle keeps between rides (interjection clips, bytecode).
Bytecode: the launches run with Python's default (PYTHONDONTWRITEBYTECODE removed), so the uncounted launch
writes the `.pyc` files an install with `--compile-bytecode` would have shipped; every counted launch
then reads them, as a deployed shuttle does.
Times are on the shared monotonic clock (`perf_counter_ns`), from just before `Popen` to:

- `say-offline` (phrasebook + espeak, `--audio device`): the first non-silent sample the listener hears,
  recorded from a private PulseAudio server's monitor (`sim/pulse.py`), so device latency is included.
- `say-cloud` (groq + ElevenLabs keys, pointed at an emulator in this process): the LLM request arriving at
  the emulator (its reply function runs right after the request is parsed).
- `ride` (`ride --demo --udp PORT`, stopped by SIGINT): the first output line containing `ready` (older builds: `listening`,
  labelled as such in the results).
- `console` (`nuanu-tui` in a pseudo-terminal of 120x40, keys pointed at the emulator): the typed trigger's
  LLM request arriving at the emulator. The trigger is typed once, as an operator would, the moment the
  console has drawn its header (`starting…`, or `engine idle` if the engine was first); a trigger typed
  while the engine starts is kept and sent at ready, so the figure is launch -> ready -> the request. A
  build that refuses it ("… again in a moment": the base before issue 18) then gets it typed again every
  0.1 s until one is accepted.
- `collector` (`say` offline, `--audio null`): launch -> exit with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing to
  a closed port, paired with the same launch without it; the figure is the pair's difference, after each
  launch's own remark (t0 -> playback done in its JSON; the phrasebook's line differs launch by launch) is
  taken out.

Reported per case: median and p95 over the counted runs (and every run). The machine is shared: compare
numbers from one run of this script, not across runs. `--base DIR` launches a second source tree (say, `git
archive main | tar -x -C DIR`) alternately with this one, through PYTHONPATH, for a same-run ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
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

TRIGGER = "две собаки слева"
CASES = ("say-offline", "say-cloud", "ride", "console", "collector")
TARGETS_MS = {
    "say-offline": 800.0,
    "say-cloud": 1200.0,
    "ride": 2500.0,
    "console": 2500.0,
    "collector": 500.0,
}
KEYS = {
    "GROQ_API_KEY": "gsk_bench_startup_0123456789abcdef",
    "ELEVENLABS_API_KEY": "xi_bench_startup_0123456789abcdef",
}
LAUNCH_TIMEOUT_S = 60.0
# Builds before issue 18 dropped a trigger typed while the engine started ("… try again in a moment"); the
# console case then types it again every RETYPE_S until one is accepted, so such a build pays for it.
REFUSAL_MARK, RETYPE_S = b"moment", 0.1  # the toast may wrap: its last word
HEADER_MARKS = (b"starting", b"idle")  # the console's header: `starting…`, then `engine idle` at ready
LISTENING_GRACE_S = 10.0  # ride: how long after launch to wait for `ready` once `listening` is out


def now_ns() -> int:
    return time.perf_counter_ns()


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (with few runs it is the largest or second largest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered) + 0.5) - 1))]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The machine's environment without any of ours: no keys, no endpoints, no collector."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NUANU_", "GROQ_", "OPENAI_", "ELEVENLABS_", "OTEL_", "PULSE_"))
        and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    env.update(extra)
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "nuanu_tui", *args]


class Emulator:
    """The emulator on its own thread; `arrivals` holds the perf_counter_ns of each chat request."""

    def __init__(self) -> None:
        from nuanu_tui.sim import SimThread, default_reply

        self.arrivals: list[int] = []

        def reply(trigger: str, model: str) -> str:
            self.arrivals.append(now_ns())
            return default_reply(trigger, model)

        self._thread = SimThread(profile="fast", reply_fn=reply, keep=200)
        self.server = self._thread.start()

    def env(self) -> dict[str, str]:
        return {
            **KEYS,
            "GROQ_BASE_URL": self.server.groq_base_url,
            "ELEVENLABS_BASE_URL": self.server.elevenlabs_base_url,
        }

    def first_after(self, launched: int) -> int | None:
        return next((t for t in self.arrivals if t >= launched), None)

    def stop(self) -> None:
        self._thread.stop()


def run_proc(args: list[str], env: dict[str, str], cwd: Path, **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, cwd=cwd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, **kw)


def finish(proc: subprocess.Popen[bytes], timeout: float = LAUNCH_TIMEOUT_S) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return out.decode(errors="replace"), err.decode(errors="replace")


# --- cases: one launch each, returning the sample (ms from launch) ---------------------------------------
class Context:
    """What the cases share in one benchmark run: the emulator, a PulseAudio server, the folders."""

    def __init__(self, cases: list[str]) -> None:
        self.flip = False  # collector: which of the pair goes first
        self.sim = Emulator() if {"say-cloud", "console"} & set(cases) else None
        self.pulse: Any = None
        self.pulse_missing: str | None = None
        if "say-offline" in cases:
            from nuanu_tui.sim import pulse

            self.pulse_missing = pulse.available()
            if self.pulse_missing is None:
                self.pulse = pulse.PulseServer().start()
                self.pulse.ensure_speaker()
        port = free_port()  # bound, then closed: connections are refused, as with a collector that is down
        self.dead_collector = f"http://127.0.0.1:{port}"

    def close(self) -> None:
        if self.sim is not None:
            self.sim.stop()
        if self.pulse is not None:
            self.pulse.stop()


def say_offline(ctx: Context, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    import numpy as np

    from nuanu_tui.sim.heard import SILENCE

    args = cli(
        "say", TRIGGER, "--llm", "offline/phrasebook", "--tts", "espeak", "--audio", "device", "--json"
    )
    recorder = ctx.pulse.record()
    launched = now_ns()
    out, err = finish(run_proc(args, {**env, **ctx.pulse.env()}, folder))
    rec = recorder.stop()
    loud = np.flatnonzero(np.abs(np.frombuffer(rec.samples, dtype=np.int16).astype(np.int32)) >= SILENCE)
    if not len(loud):
        raise RuntimeError(f"nothing heard: {err.strip()[-300:]}")
    heard = rec.start_ns + int(loud[0]) * 1_000_000_000 // rec.rate
    data = _json(out)
    return {
        "ms": (heard - launched) / 1e6,
        "json_first_sound_ms": data.get("stages_ms", {}).get("first_sound"),
        "json_wait_ms": data.get("wait_ms"),
        "interjection": data.get("interjection"),
    }


def say_cloud(ctx: Context, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    assert ctx.sim is not None
    args = cli(
        "say",
        TRIGGER,
        "--llm",
        "groq/llama-3.1-8b-instant",
        "--tts",
        "elevenlabs",
        "--audio",
        "null",
        "--json",
    )
    launched = now_ns()
    out, err = finish(run_proc(args, {**env, **ctx.sim.env()}, folder))
    arrived = ctx.sim.first_after(launched)
    if arrived is None:
        raise RuntimeError(f"no LLM request reached the emulator: {err.strip()[-300:]}")
    return {"ms": (arrived - launched) / 1e6, "json_wait_ms": _json(out).get("wait_ms")}


def ride(ctx: Context, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    args = cli("ride", "--demo", "--udp", str(free_port(socket.SOCK_DGRAM)), "--audio", "null")
    launched = now_ns()
    proc = subprocess.Popen(
        args, env=env, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    lines: list[tuple[int, str]] = []
    reader = threading.Thread(target=_read_lines, args=(proc, lines), daemon=True)
    reader.start()
    seen: dict[str, int] = {}
    started = time.monotonic()
    while "ready" not in seen and time.monotonic() < started + LAUNCH_TIMEOUT_S and reader.is_alive():
        for t, line in list(lines):
            for word in ("ready", "listening"):
                if re.search(rf"\b{word}\b", line) and word not in seen:
                    seen[word] = t
        if "listening" in seen and time.monotonic() > started + LISTENING_GRACE_S:
            break  # a build without a `ready` line: `listening` is its only start-up signal
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)  # the ride's own stop: report written, clean exit
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    if not seen:
        raise RuntimeError(f"ride never said ready or listening: {[x for _, x in lines][-5:]}")
    word = "ready" if "ready" in seen else "listening"
    tracebacks = sum("Traceback" in x for _, x in lines)
    return {
        "ms": (seen[word] - launched) / 1e6,
        "signal": word,
        "exit": proc.returncode,
        "tracebacks": tracebacks,
    }


def _read_lines(proc: subprocess.Popen[bytes], lines: list[tuple[int, str]]) -> None:
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        lines.append((now_ns(), raw.decode(errors="replace")))


def console(ctx: Context, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    import fcntl
    import pty
    import struct
    import termios

    assert ctx.sim is not None
    sim = ctx.sim
    env = {**env, **sim.env(), "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    launched = now_ns()
    proc = subprocess.Popen(
        cli("--audio", "null"),
        env=env,
        cwd=folder,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    stop, shown, refused = threading.Event(), threading.Event(), threading.Event()
    drained = threading.Thread(target=_drain, args=(master, stop, shown, refused), daemon=True)
    drained.start()
    arrived = typed = None
    retyped = last = 0
    deadline = time.monotonic() + LAUNCH_TIMEOUT_S
    try:
        while arrived is None and time.monotonic() < deadline and proc.poll() is None:
            if typed is None and shown.wait(0.002):
                # Once, as an operator would: the moment the console has drawn its header (and input).
                refused.clear()
                os.write(master, TRIGGER.encode() + b"\r")
                typed = last = now_ns()
            elif refused.is_set() and now_ns() - last >= RETYPE_S * 1e9:
                # A build that drops early triggers said so: from then on it is typed again every RETYPE_S
                # until one is accepted (how this case timed every build before issue 18).
                os.write(master, b"\x15" + TRIGGER.encode() + b"\r")  # Ctrl+U clears the input first
                last = now_ns()
                retyped += 1
            arrived = sim.first_after(launched)
            if typed is not None and arrived is None:
                time.sleep(0.002)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        stop.set()
        os.close(master)
        drained.join(2)
    if arrived is None:
        raise RuntimeError(
            f"the console never sent the typed trigger's LLM request (exit {proc.returncode}, typed again {retyped} times)"
        )
    assert typed is not None
    return {"ms": (arrived - launched) / 1e6, "typed_ms": (typed - launched) / 1e6, "retyped": retyped}


def collector(ctx: Context, folder: Path, env: dict[str, str]) -> dict[str, Any]:
    """One pair of launches, with and without the dead collector, in alternating order."""
    args = cli("say", TRIGGER, "--llm", "offline/phrasebook", "--tts", "espeak", "--audio", "null", "--json")
    ctx.flip = not ctx.flip
    order = (("plain", False), ("dead", True)) if ctx.flip else (("dead", True), ("plain", False))
    walls: dict[str, Any] = {}
    for name, dead in order:
        launched = now_ns()
        extra = {"OTEL_EXPORTER_OTLP_ENDPOINT": ctx.dead_collector} if dead else {}
        out, err = finish(run_proc(args, {**env, **extra}, folder))
        walls[name] = wall = (now_ns() - launched) / 1e6
        # The phrasebook picks a different line each launch (no repeats within ten), and `--audio null` plays
        # it in real time, so the remark's own length (t0 -> playback done, from its JSON) is taken out:
        # what is left is start-up plus shutdown, the part a collector can cost.
        remark = (_json(out).get("stages_ms") or {}).get("playback_done")
        if remark is None:
            raise RuntimeError(f"say printed no playback_done: {err.strip().splitlines()[-1:]}")
        walls[f"{name}_remark"] = remark
        walls[f"{name}_rest"] = wall - remark
        walls[f"{name}_stderr"] = err.strip().splitlines()[-1:]
    walls["ms"] = walls["dead_rest"] - walls["plain_rest"]
    return walls


def _drain(fd: int, stop: threading.Event, shown: threading.Event, refused: threading.Event) -> None:
    """Read the terminal's output as a terminal would (so the app never blocks writing its screen), set
    `shown` once the console's header is on it, and `refused` whenever it draws a refusal of the trigger."""
    seen = b""
    while not stop.is_set():
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        seen = seen[-64:] + data
        if not shown.is_set() and any(mark in seen for mark in HEADER_MARKS):
            shown.set()
        if REFUSAL_MARK in seen:
            refused.set()
            seen = b""


def _json(out: str) -> dict[str, Any]:
    for line in reversed(out.strip().splitlines()):
        with contextlib.suppress(ValueError):
            data = json.loads(line)
            if isinstance(data, dict):
                return data
    return {}


CASE_FUNCS = {
    "say-offline": (say_offline, "launch -> first non-silent sample on the PulseAudio monitor"),
    "say-cloud": (say_cloud, "launch -> the LLM request arrives at the emulator"),
    "ride": (ride, "launch -> the first output line containing `ready` (`listening` where noted)"),
    "console": (console, "launch -> the LLM request of a trigger typed once when the header is drawn"),
    "collector": (
        collector,
        "launch -> exit of `say` offline with OTEL_EXPORTER_OTLP_ENDPOINT at a closed port minus the same "
        "launch without it (paired, order alternating), each less its remark's own t0 -> playback done",
    ),
}


def run_case(ctx: Context, case: str, runs: int, trees: dict[str, str | None]) -> dict[str, Any]:
    """`runs` counted launches per tree after one uncounted one, the trees alternating launch by launch."""
    func, how = CASE_FUNCS[case]
    if case == "say-offline" and ctx.pulse is None:
        return {"skipped": ctx.pulse_missing}
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix=f"nuanu-startup-{case}-") as tmp:
        folder = Path(tmp)
        for i in range(runs + 1):
            names = list(trees) if i % 2 == 0 else list(reversed(trees))
            for name in names:
                extra = {"NUANU_DATA_DIR": str(folder / f"data-{name}")}
                if trees[name]:
                    extra["PYTHONPATH"] = str(trees[name])
                sample = func(ctx, folder, clean_env(**extra))
                if i:  # the first launch fills the caches a shuttle keeps (interjection clips, bytecode)
                    samples[name].append(sample)
    result: dict[str, Any] = {"how": how}
    for name, got in samples.items():
        ms = [s["ms"] for s in got]
        result[name] = {"ms_median": statistics.median(ms), "ms_p95": p95(ms), "runs": got}
    if "base" in samples:
        result["ratio_median"] = result["new"]["ms_median"] / result["base"]["ms_median"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="counted launches per case (plus one uncounted)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument(
        "--base",
        metavar="DIR",
        help="a source tree (e.g. `git archive` of main) launched alternately as baseline",
    )
    parser.add_argument("--out", help="write the results as JSON here")
    opts = parser.parse_args()
    cases = [c.strip() for c in opts.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    trees: dict[str, str | None] = {"new": None}
    if opts.base:
        trees["base"] = str(Path(opts.base).resolve())
    results: dict[str, Any] = {"runs": opts.runs, "load_before": os.getloadavg()[0], "trees": trees}
    ctx = Context(cases)
    try:
        for case in cases:
            results[case] = result = run_case(ctx, case, opts.runs, trees)
            if "skipped" in result:
                print(f"{case:<12} skipped: {result['skipped']}")
                continue
            for name in trees:
                r = result[name]
                print(
                    f"{case:<12} {name:<5} median {r['ms_median']:7.0f} ms  p95 {r['ms_p95']:7.0f} ms  "
                    f"(target <= {TARGETS_MS[case]:.0f} ms)",
                    flush=True,
                )
            if "ratio_median" in result:
                print(f"{case:<12} new/base median ratio {result['ratio_median']:.2f}", flush=True)
    finally:
        ctx.close()
    results["load_after"] = os.getloadavg()[0]
    if opts.out:
        Path(opts.out).write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
