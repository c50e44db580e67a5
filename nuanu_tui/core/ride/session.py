"""A ride: feeds -> inbox -> director -> engine, every decision recorded (JSON lines, SQLite, listeners).

This is where a ride is composed; each part keeps its one job (the director decides, feeds deliver, the
engine speaks, the store remembers). A skipped or rejected event never reaches the engine, so it costs no LLM
or TTS call. The ride runs on a ride clock:
- live feeds: wall time (event `ts` is the sender's wall clock);
- a replay at speed 1 or 4: the recording's time, running `speed` times faster than real time;
- `--speed max`: virtual time. Each event is judged at its own `ts`; a spoken remark counts as
  `NOMINAL_REMARK_S` of ride time and the next spoken remark stops the previous one's audio. Decisions then
  depend only on the file, so two replays give the same decisions.

Readiness: feeds bind first, so events that arrive while the engine is still starting wait in the inbox; the
director starts judging once the speaker says it is ready (`Engine.ready`), each event at its real age. The
`event_age` of a spoken event runs from its `ts` (or arrival) to the moment its remark starts (`t0`), so every
wait -- start-up, the busy slot, the previous remark stopping, the engine's queue -- is in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from nuanu_tui.core.events import PipelineEvent, StageReached, UtteranceStarted
from nuanu_tui.core.quality import RemarkSession
from nuanu_tui.core.ride.clock import RideClock
from nuanu_tui.core.ride.decisions import RideDecision, RideTally
from nuanu_tui.core.ride.director import Director, Verdict
from nuanu_tui.core.ride.events import Rejection, RideEvent, parse_event, trigger_of
from nuanu_tui.core.ride.feeds import Feed, Inbox
from nuanu_tui.core.ride.frames import Frame
from nuanu_tui.core.ride.recording import ReplayItem, RideRecorder
from nuanu_tui.core.ride.tracker import Tracker, tracker_config
from nuanu_tui.core.ride.vocab import vocabulary
from nuanu_tui.core.store_rows import result_json
from nuanu_tui.core.timeline import STAGES, UtteranceResult

NOMINAL_REMARK_S = 4.0
RECENT_REMARKS = 3
MAX_KEPT_DECISIONS = 200_000  # a day of flood is still bounded; counts are kept separately
STOP_WAIT_S = 5.0


class Speaker(Protocol):
    """What a ride needs from an engine (in-process `Engine` or the console's `RemoteEngine`). An engine
    that starts in the background also has `ready`, an `asyncio.Event` set once a remark can start at once."""

    async def say(
        self, trigger: str, *, on_event: Callable[[PipelineEvent], None] | None = ..., source: str = ...
    ) -> UtteranceResult: ...

    def interrupt(self) -> None: ...


class RideStore(Protocol):
    def record_ride_decision(self, decision: RideDecision, session_id: str | None) -> None: ...

    def record(
        self, result: UtteranceResult, session_id: str | None = None, run_id: str | None = None
    ) -> str: ...


@dataclass(slots=True)
class _Remark:
    event: RideEvent | None
    decision: RideDecision
    task: asyncio.Task[UtteranceResult | None]
    first_audio: asyncio.Event
    judged_ns: int = 0  # perf_counter_ns when the director said speak: the wait to t0 joins event_age
    virtual_end: float | None = None
    result: UtteranceResult | None = None


def _interrupted(
    ev: UtteranceStarted, stages: dict[str, float | None], reason: str, started_ns: int
) -> UtteranceResult:
    result = UtteranceResult(
        trigger=ev.trigger,
        llm=ev.llm,
        tts=ev.tts,
        utterance_id=ev.utterance_id,
        started_at=ev.started_at,
        offline=ev.offline,
        simulated=ev.simulated,
        source="ride",
        stages_ms=stages,
    )
    result.t0_ns = started_ns  # when it started: its event_age still runs to the remark's start
    result.error, result.error_kind = "interrupted: the ride moved on", "cancelled"
    return result


class RideSession:
    """Runs one ride. Every method is called on the ride's event loop."""

    def __init__(
        self,
        speaker: Speaker | None,
        director: Director | None = None,
        *,
        clock: RideClock | None = None,
        inbox_size: int = 256,
        recorder: RideRecorder | None = None,
        store: RideStore | None = None,
        session_id: str | None = None,
        on_decision: Callable[[RideDecision], None] | None = None,
        on_event: Callable[[PipelineEvent], None] | None = None,
        on_result: Callable[[UtteranceResult], None] | None = None,
        recent_in_prompt: bool = True,
        keep_decisions: int = MAX_KEPT_DECISIONS,
        tracker: Tracker | None = None,
    ) -> None:
        self._speaker = speaker  # None until `run` is handed the engine that is still starting
        self.director = director or Director()
        self.clock = clock or RideClock()
        self.inbox = Inbox(inbox_size, on_reject=self._rejected)
        self.recorder = recorder
        self.store = store
        self.session_id = session_id
        self.tracker = tracker or Tracker(tracker_config(self.director.config.min_confidence))
        self.tally = RideTally(tracker=self.tracker)
        self.decisions: deque[RideDecision] = deque(maxlen=keep_decisions)  # for the report; counts are apart
        self.results: list[UtteranceResult] = []
        self.recent: deque[str] = deque(maxlen=RECENT_REMARKS)
        self.remarks = RemarkSession()  # the ride is one session for the quality rubric's `repeats`
        self.recent_in_prompt = recent_in_prompt
        self._on_decision = on_decision
        self._on_event = on_event
        self._on_result = on_result
        self._remark: _Remark | None = None
        self._unwritten: deque[RideDecision | Frame] = deque()
        self._remarks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.recording: str | None = None
        self.listening = asyncio.Event()  # set once every feed is bound and reading
        self.ready = asyncio.Event()  # listening, and the speaker can start a remark at once
        self.ready_at: float | None = None  # wall clock, when `ready` was set
        self._now_ns = 0  # perf_counter_ns when `_now` last read the ride clock
        self._early_operator: list[tuple[str, bool]] = []  # typed before ready: spoken at ready, in order

    @property
    def speaker(self) -> Speaker:
        if self._speaker is None:
            raise RuntimeError("the ride's speaker is not there yet (the session is not ready)")
        return self._speaker

    # --- decisions ------------------------------------------------------------------------------------
    def _emit(self, d: RideDecision) -> None:
        self.tally.add(d)
        self.decisions.append(d)
        self._unwritten.append(d)
        if d.decision != "spoken":
            d.final = True
        self._write_ready()
        telemetry = getattr(self._speaker, "telemetry", None)  # the engine's OpenTelemetry export, if on
        if telemetry is not None:
            telemetry.decision(d.decision, d.reason)
        if self._on_decision is not None:
            self._on_decision(d)

    def _write_ready(self, everything: bool = False) -> None:
        """Write decisions in arrival order; a spoken one waits until its utterance id is known, and those
        after it wait with it, so a recording replays in the order the ride happened."""
        pending = self._unwritten
        while pending and (everything or isinstance(pending[0], Frame) or pending[0].final):
            self._write(pending.popleft())

    def _write(self, d: RideDecision | Frame) -> None:
        if isinstance(d, Frame):  # a frame taken: kept as sent (ts filled), so a replay tracks it again
            if self.recorder is not None:
                self.recorder.write_frame(d.to_json())
            return
        if self.recorder is not None:
            line = d.record_line()
            if d.raw is not None:
                line["raw"] = d.raw
            self.recorder.write(line)
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.record_ride_decision(d, self.session_id)

    def _rejected(self, r: Rejection) -> None:
        if isinstance(r.event, Frame):  # overflow: a frame dropped
            f = r.event
            self._emit(
                RideDecision(f.id, f.received_at, f.source, "rejected", r.reason, detail=r.detail, frame=True)
            )
            return
        if r.event is not None:  # overflow: the dropped event itself
            e = r.event
            self._emit(RideDecision(e.id, e.received_at, e.source, "rejected", r.reason, e, detail=r.detail))
            return
        self._emit(
            RideDecision(
                r.id, r.received_at, r.source, "rejected", r.reason, detail=r.detail, raw=r.raw, frame=r.frame
            )
        )

    def track(self, frame: Frame) -> None:
        """One camera frame: recorded, tracked, and each event it makes judged like any other."""
        self.tally.frames_received += 1
        if self.recorder is not None:
            self._unwritten.append(frame)
            self._write_ready()
        for event in self.tracker.update(frame):
            self.judge(event)

    def _apply(self, verdicts: Sequence[Verdict], now: float) -> None:
        for v in verdicts:
            e = v.event
            if v.decision == "held":
                continue
            if v.decision == "skipped":
                self._emit(RideDecision(e.id, e.received_at, e.source, "skipped", v.reason, e, trigger_of(e)))
            elif self._speaker is None:  # the ride ended before the engine was ready: never lost, not said
                self._emit(
                    RideDecision(e.id, e.received_at, e.source, "skipped", "not_ready", e, trigger_of(e))
                )
            else:
                self._speak(e, v.reason, now)

    def judge(self, event: RideEvent) -> None:
        """Decide one event now (the ride clock's now)."""
        if self.clock.virtual:
            self._settle_virtual(event.ts)
            self.clock.advance_to(event.ts)
        now = self._now()
        self._apply(self.director.judge(event, now), now)

    def _now(self) -> float:
        """The ride clock's now, with the monotonic instant it was read: a remark's wait to its t0 is counted
        from that same instant, so a loop or CPU hold-up in between is never lost from `event_age`."""
        self._now_ns = time.perf_counter_ns()
        return self.clock.now()

    # --- speaking -------------------------------------------------------------------------------------
    def _speak(self, event: RideEvent | None, reason: str, now: float, text: str | None = None) -> _Remark:
        trigger = text if event is None else trigger_of(event)
        assert trigger is not None
        age = None if event is None else max(0.0, (now - event.ts)) * 1000.0
        if age is not None and self.clock.speed:
            age /= self.clock.speed  # real milliseconds the event waited
        d = RideDecision(
            event.id if event else f"op-{len(self.decisions) + 1}",
            event.received_at if event else now,
            event.source if event else "operator",
            "spoken",
            reason,
            event,
            trigger,
            event_age_ms=age,
        )
        previous = self._remark
        if previous is not None and not previous.task.done() and (reason == "barge_in" or self.clock.virtual):
            self.speaker.interrupt()  # audio, TTS context and LLM stream stop now
        self.director.started(event, now)
        first_audio = asyncio.Event()
        task = asyncio.create_task(self._run_remark(trigger, d, first_audio, previous), name="ride-remark")
        remark = _Remark(event, d, task, first_audio, self._now_ns or time.perf_counter_ns())
        if self.clock.virtual:
            remark.virtual_end = now + NOMINAL_REMARK_S
        self._remark = remark
        self._remarks.add(task)
        task.add_done_callback(lambda t: self._remark_done(remark))
        self._emit(d)
        return remark

    async def _run_remark(
        self, trigger: str, d: RideDecision, first_audio: asyncio.Event, previous: _Remark | None
    ) -> UtteranceResult | None:
        if previous is not None and d.reason == "barge_in":
            with contextlib.suppress(BaseException):
                async with asyncio.timeout(STOP_WAIT_S):
                    await asyncio.shield(previous.task)

        started: list[UtteranceStarted] = []
        started_ns: list[int] = []
        stages: dict[str, float | None] = dict.fromkeys(STAGES)

        def on_event(ev: PipelineEvent) -> None:
            if isinstance(ev, UtteranceStarted):
                d.utterance_id = ev.utterance_id
                started.append(ev)
                started_ns.append(time.perf_counter_ns())
            elif isinstance(ev, StageReached):
                stages[ev.stage] = ev.ms
                if ev.stage == "first_audio":
                    first_audio.set()
            if self._on_event is not None:
                self._on_event(ev)

        kwargs: dict[str, Any] = {}
        if self.recent_in_prompt and self.recent:
            kwargs["recent"] = tuple(self.recent)
        if d.event is not None and d.event.label is not None:
            kwargs["label"] = d.event.label  # the instant interjection's category comes from the label
        if getattr(self.speaker, "remarks", None) is not None:  # an engine that rates its remarks
            kwargs["remarks"] = self.remarks
        try:
            result = await self.speaker.say(trigger, on_event=on_event, source="ride", **kwargs)
        except asyncio.CancelledError:
            if not started:
                return None
            return _interrupted(
                started[0], stages, d.reason, started_ns[0]
            )  # what was heard before it was stopped
        finally:
            first_audio.set()
        return result

    def _remark_done(self, remark: _Remark) -> None:
        self._remarks.discard(remark.task)
        result = None
        if not remark.task.cancelled() and remark.task.exception() is None:
            result = remark.task.result()
        d = remark.decision
        if result is not None:
            remark.result = result
            d.utterance_id = result.utterance_id or d.utterance_id
            if d.event_age_ms is not None and result.t0_ns and not self.clock.virtual:
                d.event_age_ms += max(0, result.t0_ns - remark.judged_ns) / 1e6  # judged -> the remark's t0
            result.stages_ms["event_age"] = d.event_age_ms
            fa = result.stages_ms.get("first_audio")
            if fa is not None and d.event_age_ms is not None:
                self.tally.event_to_first_audio.append(d.event_age_ms + fa)
            if result.text:
                self.recent.append(result.text)
            self.results.append(result)
            if self.store is not None:
                with contextlib.suppress(Exception):
                    self.store.record(result, self.session_id)
            if self._on_result is not None:
                self._on_result(result)
        d.final = True
        self._write_ready()
        if self._remark is remark:
            if not self.clock.virtual:
                self._ended(self._now())
            elif self._stopping:
                self._remark = None

    def _ended(self, now: float) -> None:
        self._remark = None
        held = self.director.ended(now)
        if held is not None and not self._stopping:
            self._apply(self.director.judge(held, now), now)
        elif held is not None:
            self._skip_busy(held)

    def _settle_virtual(self, until: float) -> None:
        """Virtual time: end the remark whose nominal length has run out before `until`."""
        r = self._remark
        if r is not None and r.virtual_end is not None and r.virtual_end <= until and self.director.speaking:
            self.clock.advance_to(r.virtual_end)
            self._remark = None if r.task.done() else r
            self._ended_virtual(r.virtual_end)

    def _ended_virtual(self, at: float) -> None:
        held = self.director.ended(at)
        if held is not None:
            self._apply(self.director.judge(held, at), at)

    def _skip_busy(self, e: RideEvent) -> None:
        self._emit(RideDecision(e.id, e.received_at, e.source, "skipped", "busy", e, trigger_of(e)))

    # --- operator -------------------------------------------------------------------------------------
    def operator(self, text: str, *, interrupt: bool = False) -> None:
        """A typed trigger always speaks: it queues behind the current remark, or stops it. Typed before the
        ride is ready, it is kept and spoken at ready."""
        if not self.ready.is_set():
            self._early_operator.append((text, interrupt))
            return
        now = self._now()
        event = parse_event(text, source="operator", received_at=now)
        if isinstance(event, Rejection):
            self._rejected(event)
            return
        if isinstance(event, Frame):  # pasted detections: tracked like a camera's
            self.track(event)
            return
        if interrupt and self._remark is not None and not self._remark.task.done():
            self.speaker.interrupt()
        self._speak(None, "ok", now, text=trigger_of(event))

    # --- running --------------------------------------------------------------------------------------
    async def run(
        self,
        feeds: Sequence[Feed] = (),
        *,
        replay: Sequence[ReplayItem] | None = None,
        stop: asyncio.Event | None = None,
        duration: float | None = None,
        until: Awaitable[Any] | None = None,
        speaker: Awaitable[Speaker] | None = None,
    ) -> RideTally:
        """Until `stop` is set, `duration` (real seconds from ready) passes, the replay (and its remarks) ends,
        or `until` completes. Stopping early cuts the remark playing; a natural end lets it finish.

        `speaker`: the engine, still starting (the session was made without one). Feeds listen meanwhile and
        what arrives waits in the inbox; judging starts at ready. A stop before ready cancels the start-up."""
        stop = stop or asyncio.Event()
        consumer: asyncio.Task[None] | None = None
        waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
        natural = True
        try:
            for feed in feeds:
                await feed.start(self.inbox)
            self.listening.set()
            if until is not None:
                waiters.append(asyncio.ensure_future(until))
            starting = asyncio.create_task(self._get_ready(speaker), name="ride-ready")
            done, _ = await asyncio.wait([starting, *waiters], return_when=asyncio.FIRST_COMPLETED)
            if starting not in done:  # stopped (or input ended) before the engine was ready
                starting.cancel()
                with contextlib.suppress(BaseException):
                    await starting
                natural = not stop.is_set()
            else:
                starting.result()  # an engine that could not start: its one-line error, as before
                consumer = asyncio.create_task(self._consume(), name="ride-director")
                if replay is not None:
                    waiters.append(asyncio.create_task(self._replay(replay)))
                done, _ = await asyncio.wait(waiters, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
                natural = bool(done) and not stop.is_set()
            for task in done:
                if task is not starting and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for w in waiters:
                w.cancel()
            for feed in feeds:
                with contextlib.suppress(Exception):
                    await feed.aclose()
            self.inbox.close()
            if consumer is not None:
                with contextlib.suppress(BaseException):
                    await consumer
            await self._finish(cut=not natural)
        return self.tally

    async def _get_ready(self, speaker: Awaitable[Speaker] | None) -> None:
        """Wait for the speaker (when it is still being made) and for its own readiness, then say ready."""
        # Writing a trigger from a label loads the vocabulary, pymorphy's dictionaries and num2words: in a
        # thread, meanwhile, not on the loop at the first event (num2words alone is ~0.1 s of imports).
        words = asyncio.ensure_future(asyncio.to_thread(lambda: vocabulary().trigger("dog", 2, "left")))
        if speaker is not None:  # shielded: a ride stopped while starting leaves the engine to its owner
            self._speaker = await asyncio.shield(speaker)
        with contextlib.suppress(Exception):
            await words
        ready = getattr(self._speaker, "ready", None)
        if isinstance(ready, asyncio.Event):
            await ready.wait()
        elif inspect.isawaitable(ready):
            await ready
        self.ready_at = time.time()
        self.ready.set()
        for text, interrupt in self._early_operator:
            self.operator(text, interrupt=interrupt)
        self._early_operator.clear()

    async def drain(self) -> None:
        """Wait until nothing is queued, waiting or speaking."""
        while len(self.inbox) or self.director.held is not None or self._remarks:
            await asyncio.sleep(0.01)

    async def _consume(self) -> None:
        while True:
            event = await self.inbox.get()
            if event is None:
                return
            if isinstance(event, Frame):
                self.track(event)
            else:
                self.judge(event)
            r = self._remark
            if self.clock.virtual and r is not None and not r.task.done():
                await r.first_audio.wait()  # as fast as the director allows: each remark reaches the ear
            await asyncio.sleep(0)  # let feeds and remarks breathe under a flood

    async def _replay(self, items: Sequence[ReplayItem]) -> None:
        """Feed a recorded ride at the clock's speed, then wait for the last remark to end."""
        origin = next((i.ts for i in items if i.ts is not None), None)
        if origin is not None and not self.clock.virtual:
            self.clock = RideClock(self.clock.speed, origin)
        elif origin is not None:
            self.clock.advance_to(origin)
        last = origin
        for item in items:
            if item.ts is not None:
                last = item.ts
                if not self.clock.virtual:
                    wait = self.clock.real_s(item.ts - self.clock.now())
                    if wait > 0:
                        await asyncio.sleep(wait)
            if self.clock.virtual:
                while len(self.inbox):
                    await asyncio.sleep(0)
            now = self.clock.now() if not self.clock.virtual else (last or self.clock.now())
            self.inbox.offer(parse_event(item.raw, source="replay", received_at=now))
        while len(self.inbox) or (self._remark is not None and not self._remark.task.done()):
            await asyncio.sleep(0.01)
        while self.director.held is not None or self._remarks:
            if self.clock.virtual and self._remark is not None and self._remark.virtual_end is not None:
                self._settle_virtual(self._remark.virtual_end)
            await asyncio.sleep(0.01)

    async def _finish(self, cut: bool) -> None:
        self._stopping = True
        while (e := self.inbox.get_nowait()) is not None:
            if isinstance(e, Frame):
                self.track(e)
            else:
                self.judge(e)
        held = self.director.drop_held()
        if held is not None:
            self._skip_busy(held)
        if self._remarks:
            if cut:
                self.speaker.interrupt()
            with contextlib.suppress(BaseException):
                async with asyncio.timeout(STOP_WAIT_S):
                    await asyncio.gather(*self._remarks, return_exceptions=True)
        for task in list(self._remarks):
            task.cancel()
        self._write_ready(everything=True)
        if self.recorder is not None:
            self.recorder.close()

    def report(self) -> dict[str, Any]:
        """The `ride --json` document. `ready_at`: wall clock when remarks could start at once (None: never)."""
        return {
            "ready_at": self.ready_at,
            "events": [d.to_json() for d in self.decisions],
            "utterances": [result_json(r, event_age_ms=r.stages_ms.get("event_age")) for r in self.results],
            "summary": self.tally.summary(),
            "queue_peak": self.inbox.peak,  # the most events and frames ever waiting at once
        }
