"""`nuanu-tui bench`: the headless benchmark front end (table on stdout, progress on a TTY, JSON/CSV files)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path

from nuanu_tui.cli.common import offline_line, quiet_device_noise
from nuanu_tui.core.bench import BenchConfig, BenchProgress, format_table, run_bench
from nuanu_tui.core.config import Settings
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.stats import compare_runs, summarize_runs
from nuanu_tui.core.store import Store
from nuanu_tui.core.timeline import UtteranceResult
from nuanu_tui.core.triggers import load_triggers

STORE_FAILED = 3  # exit status: the benchmark ran, but its results did not all reach the database


class _ProgressBar:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, p: BenchProgress) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * p.done / max(p.total, 1))
        what = "warm-up" if p.warmup else p.spec + (f" · {p.prompt}" if p.prompt else "")
        ttfa = ""
        if p.current is not None and p.current.ttfa is not None:
            ttfa = f" TTFA {p.current.ttfa:.0f} ms"
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} {what}{ttfa}\x1b[K")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _compare_text(old_path: str, new_summary: dict[str, object]) -> str:
    try:
        old = json.loads(Path(old_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NuanuError("config", f"cannot read earlier bench JSON {old_path}: {exc}") from None
    deltas = compare_runs(old.get("summary", {}), new_summary)
    lines = [f"compared with {old_path}:", f"  {'spec':<32} {'stage':<17} {'Δp50 ms':>9} {'ratio':>7}"]
    for spec, stages in deltas.items():
        for stage, d in stages.items():
            delta = "—" if d.delta_ms is None else f"{d.delta_ms:+.1f}"
            ratio = "—" if d.ratio is None else f"{d.ratio:.3f}"
            lines.append(f"  {spec:<32} {stage:<17} {delta:>9} {ratio:>7}")
    return "\n".join(lines)


def _by_net(result: UtteranceResult) -> str:
    from nuanu_tui.core.netprobe import net_condition

    return f"{result.llm} · net {net_condition(result.net_rtt_ms)}"


async def run(args: argparse.Namespace, settings: Settings) -> int:
    from nuanu_tui.core.engine import Engine

    triggers = load_triggers(args.triggers)
    llms = args.llms or []
    quiet_device_noise(settings, args.audio)
    engine = await Engine.create(
        settings,
        llm=llms[0] if llms else None,
        tts=args.tts,
        audio=args.audio,
        demo=args.demo,
        output_format=args.output_format,
    )
    llms = llms or [engine.llm_spec]
    config = BenchConfig(
        llms=llms,
        triggers=triggers,
        runs=args.runs,
        pause_s=args.pause,
        warmup=not args.no_warmup,
        tts=engine.tts.spec,
        label=f"bench {args.triggers}",
        prompts=list(getattr(args, "prompts", None) or []),
    )
    store = Store.from_settings(settings).open()
    if store.recovered:
        print(store.recovered, file=sys.stderr)
    cancel = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, cancel.set)
    bar = _ProgressBar()
    try:
        line = offline_line(engine)
        if line:
            print(line, file=sys.stderr)
        result = await run_bench(engine, config, on_progress=bar, cancel=cancel, store=store)
    finally:
        bar.close()
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)
        await engine.aclose()
        if engine.telemetry_problem:
            print(f"warning: {engine.telemetry_problem}", file=sys.stderr)
        store.flush(timeout=5)
        store.close()
    print(format_table(result.summary))
    if getattr(args, "by_net", False):
        print("\nby network condition (the larger of the LLM and TTS round trips when each remark started):")
        print(format_table(summarize_runs(result.runs, key=_by_net)))
    if result.status != "done":
        print(f"(run {result.status}: {len(result.runs)} of {config.total} utterances kept)", file=sys.stderr)
    payload = result.to_json()
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.csv_path:
        result.write_csv(args.csv_path)
    if args.compare_path:
        print(_compare_text(args.compare_path, payload["summary"]))
    if store.write_errors:  # never report success for results that are not in the database
        print(
            f"store: {store.write_errors} of {store.write_errors + store.writes} writes to {store.path} failed"
            f" ({store.last_error}); this run is not (fully) stored",
            file=sys.stderr,
        )
        return STORE_FAILED
    ok = all(s.ok for s in result.summary.values()) if result.summary else False
    return 0 if ok and result.status == "done" else 1
