"""Headless bench against a fake engine: order, warm-up, cancel, outputs and storage."""

from __future__ import annotations

import asyncio
import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nuanu_tui.core.bench import (
    BenchConfig,
    BenchProgress,
    format_table,
    run_bench,
    schedule,
)
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.llm.prompt_files import PromptError
from nuanu_tui.core.quality import Remark, RemarkSession, rate
from nuanu_tui.core.stats import STAT_FIELDS
from nuanu_tui.core.store import Store
from nuanu_tui.core.timeline import STAGES, UtteranceResult

A, B, C = "groq/llama-3.1-8b-instant", "openai/gpt-4o-mini", "offline/phrasebook"
TRIGGERS = ["справа скутер обгоняет", "проезжаем рисовые поля, красиво", "слева храм"]
SAY_KEYS = {"ok", "error", "trigger", "llm", "tts", "text", "stages_ms", "ws_reused", "offline", "simulated"}


# the first stages keep the offsets these tests expect; stages added later follow
_STAGE_ORDER = [*(s for s in STAGES if s != "first_sound"), "first_sound"]


class FakeEngine:
    """Same `say` signature as the real engine; latency = 100 * call number (warm-ups get 10 000)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []
        self.interrupted = 0
        self.cancelled_calls = 0
        self.block_call: int | None = None  # this call never finishes on its own
        self.started = asyncio.Event()
        self.behaviour: dict[int, Callable[[UtteranceResult], None] | Exception] = {}

    async def say(
        self,
        trigger: str,
        *,
        llm: str | None = None,
        on_event: Callable[[object], None] | None = None,
        source: str = "cli",
        run_id: str | None = None,
        prompt: str | None = None,
        remarks: RemarkSession | None = None,
    ) -> UtteranceResult:
        n = len(self.calls)
        self.calls.append(
            {
                "trigger": trigger,
                "llm": llm,
                "source": source,
                "run_id": run_id,
                "prompt": prompt,
                "remarks": remarks,
            }
        )
        if on_event is not None:
            on_event(("started", n))
        if n == self.block_call:
            self.started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled_calls += 1
                raise
        await asyncio.sleep(0)
        action = self.behaviour.get(n)
        if isinstance(action, Exception):
            raise action
        base = 10_000.0 if source == "bench-warmup" else 100.0 * (n + 1)
        r = UtteranceResult(trigger=trigger, llm=llm or A, tts="elevenlabs", source=source, run_id=run_id)
        r.utterance_id = f"u{n}"
        r.text = f"ответ {n}"
        r.stages_ms = {stage: base + k for k, stage in enumerate(_STAGE_ORDER)}
        r.ws_reused = n > 0
        r.simulated = True
        if action is not None:
            action(r)
        if r.text:  # as the engine does: the rubric, in the session the caller gave
            r.prompt = None if prompt is None else f"{prompt}@1"
            r.quality = rate(Remark(r.text, trigger, r.utterance_id, seconds=2.0), remarks)
        return r

    def prompt_label(self, name: str | None) -> str:
        return f"{name or 'default'}@1"

    def interrupt(self) -> None:
        self.interrupted += 1


def cfg(**kw: object) -> BenchConfig:
    base: dict[str, object] = {"llms": [A, B], "triggers": TRIGGERS, "runs": 4, "label": "unit"}
    base.update(kw)
    return BenchConfig(**base)  # type: ignore[arg-type]


def test_schedule_abba() -> None:
    assert [s.spec for s in schedule([A, B], TRIGGERS, 4)] == [A, B, B, A, A, B, B, A]
    assert [s.spec for s in schedule([A, B, C], TRIGGERS, 3)] == [A, B, C, C, B, A, A, B, C]
    slots = schedule([A, B], TRIGGERS, 4)
    assert [s.trigger for s in slots] == [TRIGGERS[r % 3] for r in (0, 0, 1, 1, 2, 2, 3, 3)]
    assert [s.round for s in slots] == [0, 0, 1, 1, 2, 2, 3, 3]


async def test_order_warmup_and_counting() -> None:
    engine = FakeEngine()
    progress: list[BenchProgress] = []
    events: list[object] = []
    result = await run_bench(engine, cfg(), on_progress=progress.append, on_event=events.append)
    assert result.status == "done"
    assert [c["llm"] for c in engine.calls] == [A, B, A, B, B, A, A, B, B, A]
    assert [c["source"] for c in engine.calls] == ["bench-warmup"] * 2 + ["bench"] * 8
    assert [c["run_id"] for c in engine.calls] == [None, None] + [result.run_id] * 8
    assert [c["trigger"] for c in engine.calls[2:]] == [TRIGGERS[r % 3] for r in (0, 0, 1, 1, 2, 2, 3, 3)]
    assert len(result.runs) == 8 and len(result.warmups) == 2
    assert len(events) == 10  # on_event is passed through to every utterance
    # warm-ups (latency 10 000 ms) are not in the statistics
    for spec in (A, B):
        s = result.summary[spec]
        assert (s.total, s.ok, s.errors) == (4, 4, 0)
        assert s.stages["first_audio"].max < 10_000
    assert result.summary[A].stages["ttft"].p50 == pytest.approx(650.0)  # A ran as calls 2, 5, 6, 9
    # progress: before (current None) and after each utterance, counted `done` never includes warm-ups
    after = [p for p in progress if p.current is not None]
    assert [p.done for p in after] == [0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert [p.warmup for p in after] == [True, True] + [False] * 8
    assert all(p.total == 8 for p in progress)
    assert len(progress) == 20


async def test_no_warmup() -> None:
    engine = FakeEngine()
    result = await run_bench(engine, cfg(warmup=False, runs=1))
    assert [c["source"] for c in engine.calls] == ["bench", "bench"]
    assert result.warmups == []
    assert len(result.runs) == 2


async def test_cancel_between_utterances_keeps_partial_results(tmp_path: Path) -> None:
    engine = FakeEngine()
    cancel = asyncio.Event()

    def stop_after_three(p: BenchProgress) -> None:
        if p.current is not None and p.done == 3:
            cancel.set()

    with Store(tmp_path / "nuanu.db") as store:
        result = await run_bench(engine, cfg(), on_progress=stop_after_three, cancel=cancel, store=store)
        assert result.status == "cancelled"
        assert len(result.runs) == 3
        assert len(engine.calls) == 5  # 2 warm-ups + 3, nothing started after the cancel
        assert result.summary[A].total + result.summary[B].total == 3
        (run,) = store.bench_runs()
        assert run["status"] == "cancelled"
        assert run["summary"][A]["ok"] == result.summary[A].ok
        assert [u["id"] for u in store.utterances(run_id=result.run_id)] == [
            r.utterance_id for r in result.runs
        ]


async def test_cancel_interrupts_a_pause() -> None:
    engine = FakeEngine()
    cancel = asyncio.Event()
    first_done = asyncio.Event()

    def on_progress(p: BenchProgress) -> None:
        if p.current is not None:
            first_done.set()

    async def cancel_during_pause() -> None:
        await first_done.wait()
        await asyncio.sleep(0)  # let the bench enter its hour-long pause
        cancel.set()

    helper = asyncio.create_task(cancel_during_pause())
    bench = run_bench(engine, cfg(pause_s=3600.0, warmup=False), on_progress=on_progress, cancel=cancel)
    result = await asyncio.wait_for(bench, timeout=10)  # without the cancel this would take an hour
    await helper
    assert result.status == "cancelled"
    assert len(result.runs) == 1 and len(engine.calls) == 1


async def test_cancel_mid_utterance_interrupts_and_drops_it() -> None:
    engine = FakeEngine()
    engine.block_call = 4  # the third counted utterance hangs
    cancel = asyncio.Event()

    async def cancel_when_stuck() -> None:
        await engine.started.wait()
        cancel.set()

    helper = asyncio.create_task(cancel_when_stuck())
    result = await asyncio.wait_for(run_bench(engine, cfg(), cancel=cancel), timeout=10)
    await helper
    assert result.status == "cancelled"
    assert [r.utterance_id for r in result.runs] == ["u2", "u3"]
    assert engine.interrupted == 1
    assert engine.cancelled_calls == 1
    assert len(engine.calls) == 5


async def test_cancel_during_warmup() -> None:
    engine = FakeEngine()
    engine.block_call = 0
    cancel = asyncio.Event()
    helper = asyncio.create_task(engine.started.wait())
    bench = asyncio.create_task(run_bench(engine, cfg(), cancel=cancel))
    await helper
    cancel.set()
    result = await asyncio.wait_for(bench, timeout=10)
    assert result.status == "cancelled"
    assert result.runs == [] and result.warmups == []
    assert len(engine.calls) == 1
    assert result.summary == {}


async def test_task_cancellation_marks_the_stored_run_cancelled(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.block_call = 3
    with Store(tmp_path / "nuanu.db") as store:
        bench = asyncio.create_task(run_bench(engine, cfg(), store=store))
        await engine.started.wait()
        bench.cancel()
        with pytest.raises(asyncio.CancelledError):
            await bench
        (run,) = store.bench_runs()
        assert run["status"] == "cancelled"
        assert [u["id"] for u in store.utterances(run_id=run["id"])] == ["u2"]
        assert engine.cancelled_calls == 1


async def test_errors_are_counted_and_engine_exceptions_do_not_stop_the_bench() -> None:
    engine = FakeEngine()

    def timeout(r: UtteranceResult) -> None:
        r.error, r.error_kind = "groq timed out after 20 s", "timeout"

    engine.behaviour = {
        3: timeout,
        4: NuanuError("network", "connection refused"),
        5: RuntimeError("boom\nbang"),
    }
    result = await run_bench(engine, cfg(runs=2))
    assert result.status == "done"
    assert len(result.runs) == 4
    failed = [r for r in result.runs if not r.ok]
    assert [(r.llm, r.error_kind) for r in failed] == [(B, "timeout"), (B, "network"), (A, "internal")]
    assert failed[2].error == "RuntimeError: boom bang"
    assert failed[1].run_id == result.run_id and failed[1].source == "bench"
    assert result.summary[B].errors_by_kind == {"network": 1, "timeout": 1}
    assert result.summary[A].errors_by_kind == {"internal": 1}
    assert result.summary[A].ok == 1


async def test_json_shape() -> None:
    engine = FakeEngine()
    result = await run_bench(engine, cfg(runs=2))
    js = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert {"run_id", "status", "config", "runs", "summary"} <= set(js)
    assert js["status"] == "done" and js["run_id"] == result.run_id
    assert js["config"]["llms"] == [A, B] and js["config"]["runs"] == 2
    assert len(js["runs"]) == 4
    for i, run in enumerate(js["runs"]):
        assert set(run) >= SAY_KEYS
        assert run["run_index"] == i and run["round"] == i // 2
        assert run["source"] == "bench"
        assert set(run["stages_ms"]) == set(STAGES)
    assert js["runs"][1]["llm"] == B and js["runs"][1]["stages_ms"]["ttft"] == 400.0
    assert len(js["warmups"]) == 2
    assert set(js["summary"]) == {A, B}
    for spec_summary in js["summary"].values():
        for stage in STAGES:
            assert set(spec_summary[stage]) == set(STAT_FIELDS)
        assert spec_summary["ok"] == 2 and spec_summary["errors"] == 0
        assert spec_summary["errors_by_kind"] == {}
    assert js["summary"][A]["first_audio"]["n"] == 2
    assert js["summary"][A]["first_audio"]["p50"] == pytest.approx((303.0 + 603.0) / 2)


async def test_csv_rows(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.behaviour = {
        2: lambda r: setattr(r, "error", "bad") or setattr(r, "error_kind", "tts"),
        3: lambda r: setattr(r, "net_rtt_ms", {"llm": 84.5, "tts": None}),
    }
    result = await run_bench(engine, cfg(runs=3))
    out = tmp_path / "bench.csv"
    assert result.write_csv(out) == 6
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    assert [r["llm"] for r in rows] == [A, B, B, A, A, B]
    assert [int(r["round"]) for r in rows] == [0, 0, 1, 1, 2, 2]
    for stage in STAGES:
        assert f"{stage}_ms" in rows[0]
    assert float(rows[1]["first_audio_ms"]) == 403.0
    assert rows[0]["ok"] == "False" and rows[0]["error_kind"] == "tts"
    assert rows[1]["ok"] == "True"
    assert rows[0]["trigger"] == TRIGGERS[0] and rows[2]["trigger"] == TRIGGERS[1]
    assert (rows[1]["net_rtt_llm_ms"], rows[1]["net_rtt_tts_ms"]) == ("84.5", "")  # null: not measured
    assert (rows[0]["net_rtt_llm_ms"], rows[0]["net_rtt_tts_ms"]) == ("", "")


async def test_store_receives_every_run(tmp_path: Path) -> None:
    engine = FakeEngine()
    seen_in_store: list[int] = []
    with Store(tmp_path / "nuanu.db") as store:

        def check_store(p: BenchProgress) -> None:
            if p.current is not None and not p.warmup:
                # recorded the moment it finished, before the next one starts
                seen_in_store.append(len(store.utterances(run_id=result_id[0])))

        result_id: list[str] = []
        original = store.start_bench_run

        def capture(config: object, **kw: object) -> str:
            run_id = original(config, **kw)  # type: ignore[arg-type]
            result_id.append(run_id)
            return run_id

        store.start_bench_run = capture  # type: ignore[method-assign]
        result = await run_bench(engine, cfg(runs=3), store=store, on_progress=check_store)
        assert seen_in_store == [1, 2, 3, 4, 5, 6]
        rows = store.utterances(run_id=result.run_id)
        assert [r["id"] for r in rows] == [r.utterance_id for r in result.runs]
        assert all(r["run_id"] == result.run_id and r["source"] == "bench" for r in rows)
        (session,) = store.sessions()
        assert session["kind"] == "bench" and session["label"] == "unit"
        assert session["id"] == result.session_id
        assert session["utterances"] == 8  # 6 counted + 2 warm-ups (kept in the session, not the run)
        (run,) = store.bench_runs()
        assert run["id"] == result.run_id and run["status"] == "done"
        assert run["config"]["llms"] == [A, B]
        assert run["summary"] == {spec: s.to_json() for spec, s in result.summary.items()}


async def test_uses_given_session(tmp_path: Path) -> None:
    with Store(tmp_path / "nuanu.db") as store:
        session = store.start_session("console", "ride")
        result = await run_bench(FakeEngine(), cfg(runs=1), store=store, session_id=session)
        assert [s["id"] for s in store.sessions()] == [session]
        assert store.bench_runs(session_id=session)[0]["id"] == result.run_id


async def test_an_unknown_prompt_stops_the_bench_before_anything_is_stored_or_said(tmp_path: Path) -> None:
    class NoSuchPrompt(FakeEngine):
        def prompt_label(self, name: str | None) -> str:
            if name == "nope":
                raise PromptError("unknown prompt 'nope'")
            return super().prompt_label(name)

    engine = NoSuchPrompt()
    with Store(tmp_path / "nuanu.db") as store:
        session = store.start_session("console", "bench")
        with pytest.raises(PromptError, match="nope"):
            await run_bench(engine, cfg(runs=1, prompts=["minimal", "nope"]), store=store, session_id=session)
        assert store.bench_runs(session_id=session) == []  # no run left "running"
    assert engine.calls == []


@pytest.mark.parametrize(
    "bad",
    [
        {"llms": []},
        {"llms": [A, A]},
        {"llms": ["nonsense"]},
        {"triggers": []},
        {"triggers": ["ok", "  "]},
        {"runs": 0},
        {"pause_s": -1.0},
    ],
)
async def test_bad_config(bad: dict[str, object]) -> None:
    engine = FakeEngine()
    with pytest.raises(NuanuError) as info:
        await run_bench(engine, cfg(**bad))
    assert info.value.kind == "config"
    assert engine.calls == []


async def test_format_table() -> None:
    engine = FakeEngine()
    engine.behaviour = {3: lambda r: setattr(r, "error", "x") or setattr(r, "error_kind", "timeout")}
    result = await run_bench(engine, cfg(runs=2))
    table = format_table(result.summary)
    assert table == format_table({k: v.to_json() for k, v in result.summary.items()})
    lines = table.splitlines()
    assert lines[0].split() == ["configuration", "ok", "TTFA", "p50", "TTFA", "p90", "clean", "words", "sec"]
    # the overview: TTFA beside the rubric (the fake's two-word remarks are all too short)
    assert lines[1].split() == [A, "2/2", "453.0", "573.0", "0%", "2", "2.0"]
    assert lines[2].split() == [B, "1/2", "503.0", "503.0", "0%", "2", "2.0"]
    a_head = next(line for line in lines if line.startswith(A + "  ok"))
    assert "ok 2/2 (100.0%)" in a_head
    assert (
        lines[lines.index(a_head) + 1]
        == "  quality: 0/2 clean (0%); flags: too_short×2, off_topic×2, cut_off×2"
    )
    b_head = next(line for line in lines if line.startswith(B + "  ok"))
    assert "ok 1/2 (50.0%)" in b_head and "timeout×1" in b_head
    ttfa = next(line for line in lines if "first audio (TTFA)" in line)
    # A's counted runs are calls 2 and 5 -> first_audio 303 and 603
    assert ttfa.split()[-4:] == ["2", "453.0", "573.0", "453.0"]
    assert format_table({}) == "no runs"
    empty_stage = format_table({A: {"ok": 0, "errors": 1, "total": 1, "ttft": {"n": 0}}})
    assert "ok 0/1 (0.0%)" in empty_stage and "—" in empty_stage


# --- prompts crossed with LLMs, and the rubric in the summary -------------------------------------------
def test_schedule_crosses_prompts_with_llms() -> None:
    slots = schedule([A, B], TRIGGERS, 2, ["default", "minimal"])
    configs = [(A, "default"), (A, "minimal"), (B, "default"), (B, "minimal")]
    assert [(s.spec, s.prompt) for s in slots] == configs + configs[::-1]
    assert [s.trigger for s in slots] == [TRIGGERS[0]] * 4 + [TRIGGERS[1]] * 4
    assert [(s.spec, s.prompt) for s in schedule([A], TRIGGERS, 1)] == [(A, None)]


async def test_prompts_are_configurations_each_with_its_own_session() -> None:
    engine = FakeEngine()
    engine.behaviour = {
        n: (lambda r: setattr(r, "text", "Вот это да, слон на мопеде! Держитесь крепче.")) for n in range(20)
    }
    config = cfg(runs=2, prompts=["default", "minimal"])
    assert config.total == 8
    result = await run_bench(engine, config)
    counted = engine.calls[2:]
    assert [c["prompt"] for c in engine.calls[:2]] == ["default", "default"]  # one warm-up per LLM
    assert [(c["llm"], c["prompt"]) for c in counted[:4]] == [
        (A, "default"),
        (A, "minimal"),
        (B, "default"),
        (B, "minimal"),
    ]
    sessions = {(c["llm"], c["prompt"]): c["remarks"] for c in counted}
    assert len({id(s) for s in sessions.values()}) == 4  # one memory per configuration
    assert all(c["remarks"] is sessions[(c["llm"], c["prompt"])] for c in counted)
    assert not any(c["remarks"] in sessions.values() for c in engine.calls[:2])  # warm-ups remember nothing
    keys = [f"{A} · default@1", f"{A} · minimal@1", f"{B} · default@1", f"{B} · minimal@1"]
    assert list(result.summary) == keys
    for key in keys:  # every configuration said the same remark twice: the second is a repeat of the first
        quality = result.summary[key].quality
        assert quality is not None and (quality.n, quality.clean) == (2, 1)  # a moped is a scooter's kind
        assert quality.flags == {"off_topic": 1, "repeats": 1}  # the rice fields are not mentioned
    js = json.loads(json.dumps(result.to_json(), allow_nan=False))
    assert js["config"]["prompts"] == ["default", "minimal"]
    assert js["summary"][keys[0]]["quality"] == {
        "n": 2, "clean": 1, "clean_share": 0.5, "flags": {"off_topic": 1, "repeats": 1},
        "words_p50": 8.0, "seconds_p50": 2.0,
    }  # fmt: skip
    assert js["quality_by_prompt"]["default@1"]["flags"] == {"off_topic": 2, "repeats": 2}
    assert js["quality_by_llm"][A]["n"] == 4 and js["quality_by_llm"][B]["flags"]["repeats"] == 2
    assert [bool(run["quality"]["flags"]) for run in js["runs"]] == [False] * 4 + [True] * 4
    assert format_table(result.summary).splitlines()[1].split()[:3] == [A, "·", "default@1"]


async def test_csv_carries_prompt_and_quality(tmp_path: Path) -> None:
    engine = FakeEngine()
    engine.behaviour = {
        2: lambda r: setattr(r, "text", "Две собаки слева машут хвостами и встречают шаттл!"),
        3: lambda r: setattr(r, "text", ""),
    }
    result = await run_bench(engine, cfg(runs=1, prompts=["minimal"], triggers=["две собаки слева"]))
    out = tmp_path / "bench.csv"
    result.write_csv(out)
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["prompt"] == "minimal@1"
    assert (rows[0]["quality_words"], rows[0]["quality_on_topic"], rows[0]["quality_flags"]) == (
        "8",
        "True",
        "",
    )
    assert rows[1]["quality_flags"] == rows[1]["quality_words"] == ""  # no text, no verdict
    assert list(result.summary) == [
        f"{A} · minimal@1",
        f"{B} · minimal@1",
    ]  # a prompt named: it is in the key


async def test_duplicate_prompts_are_refused() -> None:
    with pytest.raises(NuanuError, match="--prompt names must be different"):
        await run_bench(FakeEngine(), cfg(prompts=["minimal", "minimal"]))
