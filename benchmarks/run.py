"""nuanu-tui performance: overhead over the provider floor, cold start, CPU/RSS, and the seed's designs.

    uv run python -m benchmarks.run            # full run (~5 min), prints one table
    uv run python -m benchmarks.run --quick    # a few utterances, proves the harness works

Everything runs against the emulator in a separate process with fixed injected latencies, so the floor is
known exactly: floor = injected TTFT + token intervals until the first flushable clause + injected TTS time
to first audio. Overhead = first_audio - floor, where first_audio is the first sample handed to the
(paced, silent) output device. These are measurements, not pass/fail tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import SecretStr

from benchmarks.baselines import MinimalClient, null_player, prototype_utterance, sequential_utterance
from benchmarks.simproc import Floor, SimProcess, reply_tokens
from nuanu_tui.core.chunker import Chunker
from nuanu_tui.core.config import Settings
from nuanu_tui.core.engine import Engine
from nuanu_tui.core.memory import fmt_mb, peak_rss_mb
from nuanu_tui.core.tts.elevenlabs import ElevenLabsTTS

TRIGGER = "камера, две собаки слева на обочине"
FAST = Floor(ttft_ms=60.0, token_ms=4.0, tts_ms=40.0)  # overhead runs: short, so 100+ utterances are quick
DEMO = Floor(ttft_ms=200.0, token_ms=10.0, tts_ms=150.0)  # design.md's flush-policy example
RESULTS = Path(__file__).parent / "results"


def first_flush_token() -> int:
    """Index of the token whose arrival makes the first clause flushable (our chunker decides)."""
    chunker = Chunker()
    for i, tok in enumerate(reply_tokens()):
        if chunker.feed(tok):
            return i
    raise RuntimeError("reply never flushes before its end")


def settings_for(urls: tuple[str, str, str], **extra: Any) -> Settings:
    groq_url, openai_url, el_url = urls
    return Settings().model_copy(
        update={
            "groq_base_url": groq_url,
            "openai_base_url": openai_url,
            "elevenlabs_base_url": el_url,
            "groq_api_key": SecretStr("bench"),
            "openai_api_key": SecretStr("bench"),
            "elevenlabs_api_key": SecretStr("bench"),
            "failover": "off",
            # The overhead rows measure the remark against the provider floor; a remark that waits behind an
            # interjection would count the interjection's playback. Instant reactions: benchmarks/instant.py.
            "instant": False,
            **extra,
        }
    )


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def cpu_s() -> float:
    return time.process_time()


def rss_peak_mb() -> float | None:
    return peak_rss_mb()


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": pct(values, 50),
        "p95": pct(values, 95),
        "max": max(values) if values else float("nan"),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


async def interleaved(
    urls: tuple[str, str, str], k: int, runs: int, say: Any, other_cpu: Any = None
) -> tuple[list[Any], list[float], float, float]:
    """Alternate our utterance with the minimal client's (A B A B …) so machine drift hits both alike.

    Returns our results, the minimal client's first-audio times, and our CPU and wall time only. CPU
    includes `await other_cpu()` (another process's CPU seconds, read before and after each of ours).
    """
    client = MinimalClient(urls[0], urls[2], k)
    await client.open()
    results: list[Any] = []
    minimal_ms: list[float] = []
    cpu = wall = 0.0
    try:
        for _ in range(5):
            await client.utterance()
            await say()
        for _ in range(runs):
            minimal_ms.append(await client.utterance())
            o0 = await other_cpu() if other_cpu is not None else 0.0
            c0, w0 = cpu_s(), time.perf_counter()
            results.append(await say())
            cpu += cpu_s() - c0
            wall += time.perf_counter() - w0
            if other_cpu is not None:
                cpu += await other_cpu() - o0
    finally:
        await client.close()
    return results, minimal_ms, cpu, wall


def overhead_report(results: list[Any], minimal_ms: list[float], floor_ms: float) -> dict[str, Any]:
    ok = [(r, m) for r, m in zip(results, minimal_ms, strict=True) if r.ok]
    over = [r.stages_ms["first_audio"] - floor_ms for r, _ in ok]
    return {
        "overhead": summary(over),
        "minimal": summary([m - floor_ms for _, m in ok]),
        "own_p50": pct([r.stages_ms["first_audio"] - m for r, m in ok], 50),  # paired: ours − minimal
        "errors": [r.error for r in results if not r.ok],
        "parts_p50": {
            "llm": pct([r.stages_ms["ttft"] - FAST.ttft_ms for r, _ in ok], 50),
            "tts": pct(
                [r.stages_ms["first_audio_byte"] - r.stages_ms["first_flush"] - FAST.tts_ms for r, _ in ok],
                50,
            ),
            "audio": pct([r.stages_ms["first_audio"] - r.stages_ms["first_audio_byte"] for r, _ in ok], 50),
        },
    }


async def headless(
    urls: tuple[str, str, str], fmt: str, runs: int, floor_ms: float, k: int
) -> dict[str, Any]:
    engine = await Engine.create(
        settings_for(urls), llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null", output_format=fmt
    )
    try:
        results, minimal_ms, cpu, wall = await interleaved(urls, k, runs, lambda: engine.say(TRIGGER))
        underruns = engine.player.underruns
    finally:
        await engine.aclose()
    out = overhead_report(results, minimal_ms, floor_ms)
    out.update(
        cpu_per_utt_ms=cpu / max(runs, 1) * 1000,
        cpu_pct_streaming=100 * cpu / wall,
        underruns=underruns,
        ttfa_p50=pct([r.stages_ms["first_audio"] for r in results if r.ok], 50),
    )
    return out


async def with_tui(
    urls: tuple[str, str, str],
    fmt: str,
    runs: int,
    floor_ms: float,
    k: int,
    idle_s: float,
    *,
    separate_process: bool = True,
    audio: str = "null",
) -> dict[str, Any]:
    """The console running (Pilot, 120×40), utterances through its bridge. CPU counts both processes:
    the console's and the engine host's (`separate_process=False`: the engine on the console's thread)."""
    from nuanu_tui.ui.app import make_app

    app = make_app(
        settings_for(urls),
        llm="groq/llama-3.1-8b-instant",
        tts="elevenlabs",
        audio=audio,
        output_format=fmt,
        separate_process=separate_process,
    )
    out: dict[str, Any] = {}
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.link.ready:
            await pilot.pause(0.05)
        engine = app.link.engine
        screen = app.screen

        async def host() -> Any:
            future = app.link.host_stats()
            return None if future is None else await asyncio.wrap_future(future)

        async def one() -> Any:
            view = await asyncio.wrap_future(screen.bridge.say(TRIGGER, screen))
            await pilot.pause()  # let the UI render what arrived, as an operator would see it
            return next(r for r in reversed(engine.results) if r.utterance_id == view.utterance_id)

        async def host_cpu() -> float:
            stats = await host()
            return stats.cpu_s if stats is not None else 0.0

        results, minimal_ms, cpu, wall = await interleaved(urls, k, runs, one, host_cpu)
        await pilot.pause(0.5)
        idle0, cpu1, wall1 = await host(), cpu_s(), time.perf_counter()
        await asyncio.sleep(idle_s)  # the app idles with its timers running
        idle1 = await host()
        host_idle = idle1.cpu_s - idle0.cpu_s if idle1 is not None else 0.0
        out["cpu_pct_idle"] = 100 * (cpu_s() - cpu1 + host_idle) / (time.perf_counter() - wall1)
        out["underruns"] = idle1.underruns if idle1 is not None else engine.player.underruns
        out["host_rss_peak_mb"] = idle1.rss_peak_mb if idle1 is not None else None
        out["separate_process"] = separate_process
    out.update(overhead_report(results, minimal_ms, floor_ms))
    out.update(cpu_pct_streaming=100 * cpu / wall, cpu_per_utt_ms=cpu / max(runs, 1) * 1000)
    return out


def cold_start(
    urls: tuple[str, str, str], floor_ms: float, warm_runs: int, mode: str = "engine"
) -> dict[str, Any]:
    launched = time.monotonic_ns()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.coldstart",
            str(launched),
            urls[0],
            urls[2],
            str(floor_ms),
            str(warm_runs),
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parent.parent,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "cold start failed")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    warm_p50 = pct(data["warm"], 50)
    return {
        "ready_ms": data["ready_ms"],
        "first_overhead": data["first"],
        "warm_p50": warm_p50,
        "first_minus_warm": data["first"] - warm_p50,
        "console_rss_mb": data.get("console_rss_mb"),
        "engine_rss_mb": data.get("engine_rss_mb"),
        "console_pss_mb": data.get("console_pss_mb"),
        "engine_pss_mb": data.get("engine_pss_mb"),
    }


async def baselines(urls: tuple[str, str, str], runs: int) -> dict[str, Any]:
    ours_engine = await Engine.create(
        settings_for(urls), llm="groq/llama-3.1-8b-instant", tts="elevenlabs", audio="null"
    )
    try:
        await ours_engine.say(TRIGGER)
        ours = [(await ours_engine.say(TRIGGER)).stages_ms["first_audio"] for _ in range(runs)]
    finally:
        await ours_engine.aclose()
    player = null_player(44100)
    proto = [await prototype_utterance(urls[0], urls[2], player, TRIGGER) for _ in range(runs + 1)][1:]
    player.close()
    tts = ElevenLabsTTS(settings_for(urls))
    await tts.connect()
    player = null_player(24000)
    seq = [
        (await sequential_utterance(urls[0], tts, player, TRIGGER))["first_audio"] for _ in range(runs + 1)
    ][1:]
    player.close()
    await tts.aclose()
    p_ours = pct(ours, 50)
    p_proto = pct([p["first_audio"] for p in proto], 50)
    p_proto_byte = pct([p["first_audio_byte"] for p in proto], 50)
    p_seq = pct(seq, 50)
    return {
        "ours_ttfa_p50": p_ours,
        "proto_ttfa_p50": p_proto,
        "proto_first_byte_p50": p_proto_byte,
        "seq_ttfa_p50": p_seq,
        "ratio_proto": p_proto / p_ours,
        "ratio_seq": p_seq / p_ours,
        "n": runs,
    }


def fmt_row(name: str, value: str, target: str = "", verdict: str = "") -> str:
    return f"| {name:<52} | {value:>26} | {target:<14} | {verdict:<4} |"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def table(r: dict[str, Any]) -> str:
    rows = [
        fmt_row("metric", "value", "target", ""),
        "|" + "-" * 54 + "|" + "-" * 28 + "|" + "-" * 16 + "|------|",
    ]
    rows.append(fmt_row("floor (TTFT + tokens to 1st clause + TTS)", f"{r['floor_ms']:.1f} ms"))
    labels = (
        ("headless, PCM", "headless_pcm"),
        ("headless, MP3", "headless_mp3"),
        ("TUI running, PCM", "tui_pcm"),
        ("TUI running, MP3", "tui_mp3"),
    )
    for label, key in labels:
        o = r[key]["overhead"]
        tui = key.startswith("tui")
        ok = o["p50"] <= 2 and o["p95"] <= 5
        rows.append(
            fmt_row(
                f"overhead {label} (n={o['n']}) p50/p95/max",
                f"{o['p50']:.2f} / {o['p95']:.2f} / {o['max']:.2f} ms",
                "p50≤2 p95≤5" if tui else "",
                verdict(ok) if tui else "",
            )
        )
    m = r["headless_pcm"]["minimal"]
    rows.append(
        fmt_row("minimal client (bare httpx+websockets) p50/p95", f"{m['p50']:.2f} / {m['p95']:.2f} ms")
    )
    for label, key in labels:
        rows.append(fmt_row(f"engine's own cost, {label} (paired, p50)", f"{r[key]['own_p50']:+.2f} ms"))
    if "tui_pcm_one_process" in r:
        o = r["tui_pcm_one_process"]["overhead"]
        rows.append(
            fmt_row(
                f"  same, engine in the console's process (n={o['n']})",
                f"{o['p50']:.2f} / {o['p95']:.2f} / {o['max']:.2f} ms",
            )
        )
    tui_delta = r["tui_pcm"]["own_p50"] - r["headless_pcm"]["own_p50"]
    rows.append(
        fmt_row(
            "TUI running − headless (PCM, p50)", f"{tui_delta:+.2f} ms", "≤ 1 ms", verdict(tui_delta <= 1)
        )
    )
    parts = r["headless_pcm"]["parts_p50"]
    rows.append(
        fmt_row(
            "  where: LLM / TTS / audio legs (p50, headless PCM)",
            f"{parts['llm']:.2f} / {parts['tts']:.2f} / {parts['audio']:.2f} ms",
        )
    )
    for name, key in (("headless engine", "cold"), ("console + engine process", "cold_tui")):
        c = r[key]
        rows.append(fmt_row(f"cold start, {name}: launch → ready", f"{c['ready_ms']:.0f} ms"))
        rows.append(
            fmt_row(
                f"  first utterance overhead − warm p50 ({name})",
                f"{c['first_minus_warm']:+.2f} ms",
                "≤ 5 ms",
                verdict(c["first_minus_warm"] <= 5),
            )
        )
    demo = f"{DEMO.ttft_ms:.0f}/{DEMO.token_ms:.0f}/{DEMO.tts_ms:.0f}"
    for key in [k for k in r if k.startswith("baselines")]:
        b = r[key]
        net = f" [{b.get('net', 'loopback')}]"
        rows.append(
            fmt_row(f"TTFA p50, ours{net} (floor {demo} ms, n={b['n']})", f"{b['ours_ttfa_p50']:.1f} ms")
        )
        rows.append(
            fmt_row(
                f"TTFA p50, (a) prototype design{net}",
                f"{b['proto_ttfa_p50']:.1f} ms  ×{b['ratio_proto']:.2f}",
            )
        )
        rows.append(fmt_row("  (a) its own 'TTFA' = first audio byte", f"{b['proto_first_byte_p50']:.1f} ms"))
        rows.append(
            fmt_row(
                f"TTFA p50, (b) sequential design{net}", f"{b['seq_ttfa_p50']:.1f} ms  ×{b['ratio_seq']:.2f}"
            )
        )
    t = r["tui_pcm"]
    rows.append(
        fmt_row(
            "CPU while streaming (TUI, % of one core)",
            f"{t['cpu_pct_streaming']:.1f} %",
            "≤ 15 %",
            verdict(t["cpu_pct_streaming"] <= 15),
        )
    )
    rows.append(
        fmt_row(
            "CPU per utterance (headless PCM / TUI PCM, both processes)",
            f"{r['headless_pcm']['cpu_per_utt_ms']:.1f} / {t['cpu_per_utt_ms']:.1f} ms",
        )
    )
    rows.append(
        fmt_row(
            "CPU idle (TUI running)", f"{t['cpu_pct_idle']:.2f} %", "≤ 2 %", verdict(t["cpu_pct_idle"] <= 2)
        )
    )
    app = r["cold_tui"]
    for name, mb in (("console", app["console_rss_mb"]), ("engine", app["engine_rss_mb"])):
        rows.append(
            fmt_row(
                f"peak RSS, the app alone: {name} process",
                fmt_mb(mb),
                "≤ 150 MB",
                verdict(mb <= 150) if mb is not None else "",
            )
        )
    if app["console_rss_mb"] is not None and app["engine_rss_mb"] is not None:
        both = app["console_rss_mb"] + app["engine_rss_mb"]
        rows.append(fmt_row("  both together: RSS summed (shared pages twice)", f"{both:.0f} MB"))
    if app.get("console_pss_mb") and app.get("engine_pss_mb"):
        pss = app["console_pss_mb"] + app["engine_pss_mb"]
        rows.append(
            fmt_row(
                "  both together: PSS (shared pages split), at the end",
                f"{app['console_pss_mb']:.0f} + {app['engine_pss_mb']:.0f} = {pss:.0f} MB",
                "≤ 150 MB",
                verdict(pss <= 150),
            )
        )
    rows.append(fmt_row("peak RSS, this benchmark process (everything)", fmt_mb(r["rss_peak_mb"])))
    under = sum(r[k]["underruns"] for _, k in labels)
    rows.append(fmt_row("audio underruns during playback", str(under), "0", verdict(under == 0)))
    return "\n".join(rows)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    runs = 5 if args.quick else args.runs
    k = first_flush_token()
    floor_ms = FAST.first_audio_floor(k)
    out: dict[str, Any] = {
        "floor_ms": floor_ms,
        "first_flush_token": k,
        "runs": runs,
        "machine": platform.node(),
        "cores": os.cpu_count(),
    }
    only = set(args.only or ["headless", "tui", "cold", "baselines"])
    formats = [("pcm_24000", "pcm"), ("mp3_22050_32", "mp3")]
    with SimProcess(FAST) as urls:
        for fmt, key in formats if "headless" in only else []:
            out[f"headless_{key}"] = res = await headless(urls, fmt, runs, floor_ms, k)
            print(
                f"headless {fmt}: {res['overhead']} own {res['own_p50']:.2f} {res['parts_p50']}",
                file=sys.stderr,
            )
        for fmt, key in formats if "tui" in only else []:
            out[f"tui_{key}"] = res = await with_tui(
                urls, fmt, runs, floor_ms, k, 1.0 if args.quick else 10.0
            )
            print(f"TUI {fmt}: {res['overhead']} own {res['own_p50']:.2f}", file=sys.stderr)
        if "tui" in only and not args.quick:
            out["tui_pcm_one_process"] = res = await with_tui(
                urls, "pcm_24000", runs, floor_ms, k, 10.0, separate_process=False
            )
            print(f"TUI one process: {res['overhead']} own {res['own_p50']:.2f}", file=sys.stderr)
        if "cold" in only:
            out["cold"] = cold_start(urls, floor_ms, 3 if args.quick else 20)
            out["cold_tui"] = cold_start(urls, floor_ms, 3 if args.quick else 20, "tui")
    if "baselines" in only:
        for net in args.net or ["loopback", "lte"]:
            with SimProcess(DEMO, net) as urls:
                key = "baselines" if net == "loopback" else f"baselines_{net}"
                out[key] = res = await baselines(urls, 3 if args.quick else 20)
                res["net"] = net
                print(f"baselines under {net}: {res}", file=sys.stderr)
    out["rss_peak_mb"] = rss_peak_mb()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=120, help="warm utterances per overhead configuration")
    parser.add_argument(
        "--quick", action="store_true", help="a few utterances: proves the harness, not the speed"
    )
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument(
        "--only",
        action="append",
        choices=("headless", "tui", "cold", "baselines"),
        help="run only these parts",
    )
    parser.add_argument(
        "--net",
        action="append",
        help="emulated network for the baselines (repeat; default: loopback and lte)",
    )
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args))
    if args.only:
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return 0
    print(table(result))
    path = args.json or (None if args.quick else RESULTS / "latest.json")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
