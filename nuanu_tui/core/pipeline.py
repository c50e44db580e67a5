"""One utterance: trigger -> LLM stream -> chunker -> TTS -> player, with every stage stamped in core.

The LLM request goes out first; the TTS context opens concurrently, so neither waits on the other's set-up.
Audio bytes are pumped into the player as they arrive; the player's writer thread stamps `first_audio`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from nuanu_tui.core.audio.player import Playback, Player
from nuanu_tui.core.chunker import Chunker, ChunkerConfig
from nuanu_tui.core.clock import ms_between, now_ns
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.events import (
    Notice,
    PipelineEvent,
    StageReached,
    TextDelta,
    UtteranceFinished,
    UtteranceStarted,
)
from nuanu_tui.core.health import HealthBoard
from nuanu_tui.core.instant import PAUSE_MS, Clip, OpeningGuard
from nuanu_tui.core.llm.base import LLMProvider, LLMRequest, LLMStats
from nuanu_tui.core.safety import OutputFilter
from nuanu_tui.core.timeline import Timeline, UtteranceResult
from nuanu_tui.core.tts.base import TTSProvider, TTSUtterance
from nuanu_tui.core.tts.fallback import FallbackUtterance

EventSink = Callable[[PipelineEvent], None]


def _no_events(_: PipelineEvent) -> None:
    return None


@dataclass(slots=True)
class UtteranceJob:
    utterance_id: str
    trigger: str
    llm: LLMProvider
    tts: TTSProvider
    player: (
        Player | Callable[[], Player]
    )  # a callable picks the output at the first audio byte (compare lanes)
    request: LLMRequest
    chunker: ChunkerConfig
    simulated: bool = False
    source: str = "cli"
    run_id: str | None = None
    fallback_tts: TTSProvider | None = None  # speaks the rest when the cloud voice fails
    output_filter: OutputFilter | None = None  # one per utterance: blocklist, markup stripping, length cap
    health: HealthBoard | None = None
    tts_open_budget_s: float | None = None  # with a fallback voice: the cloud voice must open by then
    t0_ns: int | None = None  # when the trigger was accepted (Engine.say); None: now
    interjection: Clip | None = None  # played at once, ahead of the remark, in the same stream


async def run_utterance(job: UtteranceJob, on_event: EventSink | None = None) -> UtteranceResult:
    """Run one utterance to the end of playback. Provider faults end up in `result.error`, never raised."""
    emit = on_event or _no_events
    timeline = Timeline(job.t0_ns)
    started_ns = now_ns()
    uid = job.utterance_id
    result = UtteranceResult(
        trigger=job.trigger,
        llm=job.llm.spec,
        tts=job.tts.spec,
        offline=bool(job.llm.offline or job.tts.offline),
        simulated=job.simulated,
        utterance_id=uid,
        started_at=time.time(),
        source=job.source,
        run_id=job.run_id,
    )

    def stage(name: str) -> None:
        if timeline.mark(name):
            emit(StageReached(uid, name, timeline.ms(name) or 0.0))

    def stage_from_player(name: str) -> None:  # already marked in the writer thread
        ms = timeline.ms(name)
        if ms is not None:
            emit(StageReached(uid, name, ms))

    emit(
        UtteranceStarted(
            uid, job.trigger, result.llm, result.tts, result.offline, job.simulated, result.started_at
        )
    )
    stats = LLMStats()
    parts: list[str] = []
    tts_ready: asyncio.Future[TTSUtterance] = asyncio.get_running_loop().create_future()
    playback = None
    segments: list[Playback] = []  # earlier playback segments of this utterance (before a TTS fallback)

    spoken: list[str] = []
    voices: list[TTSProvider] = []  # who produced audio, in order
    player: Player | None = None
    if job.interjection is not None:  # the reaction starts now; the remark's audio queues behind it
        player = job.player if isinstance(job.player, Player) else job.player()
        try:
            playback = player.begin(uid, job.tts.format, timeline, on_stage=stage_from_player)
        except NuanuError:
            playback = None  # no output: the remark's own begin reports it as this utterance's error
        else:
            playback.lead(job.interjection.pcm, PAUSE_MS)
            result.interjection = job.interjection.text
            result.interjection_ms = round(job.interjection.ms, 3)

    async def speak(utt: TTSUtterance, chunk: str) -> None:
        """The safety filter runs on each chunk right before the TTS sees it; clean text passes unchanged."""
        if job.output_filter is not None:
            verdict = job.output_filter.clean_chunk(chunk)
            if (verdict.blocked or verdict.truncated) and not result.filtered:
                result.filtered = True
                note = f"output filtered: {verdict.reason}"
                result.notices.append(note)
                emit(Notice(uid, note))
            chunk = verdict.text
            result.blocked = result.blocked or verdict.blocked
            result.markup = result.markup or verdict.stripped
        if not chunk:
            return
        spoken.append(chunk)
        await utt.send(chunk)
        stage("first_flush")

    async def llm_side() -> None:
        chunker = Chunker(job.chunker)
        guard = OpeningGuard(job.request.interjection)
        utt: TTSUtterance | None = None

        async def take(delta: str) -> None:
            nonlocal utt
            parts.append(delta)
            emit(TextDelta(uid, delta))
            chunks = chunker.feed(delta)
            if chunks:
                if utt is None:
                    utt = await tts_ready
                for chunk in chunks:
                    await speak(utt, chunk)

        async for raw in job.llm.stream(job.request, stats):
            stage("ttft")
            delta = guard.feed(raw)
            if delta:
                await take(delta)
        stage("llm_done")
        rest = guard.finish()
        if rest:
            await take(rest)
        if not parts:
            raise NuanuError("llm_empty", f"{job.llm.spec} returned an empty answer")
        if utt is None:
            utt = await tts_ready
        for chunk in chunker.finish():
            await speak(utt, chunk)
        if not spoken:
            raise NuanuError(
                "nothing_speakable", f"{job.llm.spec}'s answer had nothing speakable after filtering"
            )
        await utt.finish()

    def tts_fault(fault: NuanuError) -> None:
        result.degraded = True
        result.error_kind = result.error_kind or fault.kind
        note = f"TTS fell back to {job.fallback_tts.spec if job.fallback_tts else 'nothing'}: {fault.message}"
        result.notices.append(note)
        emit(Notice(uid, note))

    async def tts_side() -> None:
        nonlocal playback, player
        utt: TTSUtterance
        if job.fallback_tts is not None and job.health is not None and not job.tts.offline:
            utt = await FallbackUtterance(
                uid, job.tts, job.fallback_tts, job.health, tts_fault, open_budget_s=job.tts_open_budget_s
            ).open()
        else:
            utt = await job.tts.start(uid)
        result.ws_reused = None if job.tts.offline else utt.reused  # no socket, nothing to reuse
        tts_ready.set_result(utt)
        async for data in utt.audio():
            voice: TTSProvider = getattr(utt, "voice", job.tts)  # FallbackUtterance says who is speaking
            if not voices or voices[-1] is not voice:
                voices.append(voice)
            stage("first_audio_byte")
            if playback is not None and not playback.fed:
                playback.retarget(utt.format)  # only the interjection so far: the remark joins its stream
            if playback is None or playback.fmt != utt.format:
                if playback is None:
                    player = job.player if isinstance(job.player, Player) else job.player()
                else:  # the fallback voice took over: a new segment at its rate, after what was received
                    playback.final = False
                    playback.end()
                    segments.append(playback)
                assert player is not None
                playback = player.begin(uid, utt.format, timeline, on_stage=stage_from_player)
            playback.feed(data)
        stage("tts_done")
        if playback is None:
            raise NuanuError("tts_no_audio", f"{job.tts.spec} returned no audio")
        playback.end()
        for segment in segments:
            await segment.wait_done()
        await playback.wait_done()

    tasks = [
        asyncio.create_task(llm_side(), name=f"llm-{uid}"),
        asyncio.create_task(tts_side(), name=f"tts-{uid}"),
    ]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            exc = task.exception()
            if exc is not None:
                raise exc
    except NuanuError as exc:
        result.error, result.error_kind = exc.message, exc.kind
    except asyncio.CancelledError:
        result.error, result.error_kind = "interrupted by the operator", "cancelled"
        result.mark = "interrupted"
        raise
    except Exception as exc:  # a bug or an unmapped fault: still one line, never a crash
        result.error, result.error_kind = f"{type(exc).__name__}: {exc}", "internal"
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if not tts_ready.done():
            tts_ready.cancel()
        if result.error is not None:
            for segment in segments:
                segment.cancel()
            if playback is not None:
                if playback.fed or result.error_kind == "cancelled":
                    playback.cancel()
                else:
                    playback.end()  # only the interjection: it is never cut, it just has no remark after it
            if tts_ready.done() and not tts_ready.cancelled():
                with contextlib.suppress(BaseException):
                    await tts_ready.result().cancel()
        result.text = ("".join(spoken) if result.filtered else "".join(parts)).strip()
        result.stages_ms = timeline.stages_ms()
        result.t0_ns = timeline.t0_ns
        result.wait_ms = ms_between(timeline.t0_ns, started_ns)
        result.tokens = stats.tokens
        result.chars = len(result.text)
        result.provider_timings = stats.provider_timings
        if playback is not None and result.interjection is not None:
            result.gap_ms = None if playback.gap_ms is None else round(playback.gap_ms, 3)
            result.interjection_wait_ms = playback.lead_wait_ms
        result.audio_seconds = sum(p.audio_seconds for p in [*segments, playback] if p is not None)
        # Who really spoke: the LLM that wrote the text and the voices heard, not the ones asked for.
        served_offline = job.llm.offline if stats.served_offline is None else stats.served_offline
        result.served_by = (stats.served_by or job.llm.spec) if parts else None
        result.finish_reason = stats.finish_reason
        # The phrasebook reads no prompt: a remark it wrote (or would have written) records none.
        result.prompt = None if (served_offline if parts else job.llm.offline) else job.request.prompt
        result.voiced_by = [v.spec for v in voices]
        if parts or voices:  # nothing spoke: keep what was planned
            result.offline = bool(parts and served_offline) or any(v.offline for v in voices)
        if stats.failover_reasons:
            note = f"answered by {result.served_by}: " + "; ".join(stats.failover_reasons)
            result.notices.append(note)
            result.degraded = True
            emit(Notice(uid, note))
        if stats.fault is not None and result.error is None:
            result.degraded = True
            result.error_kind = result.error_kind or stats.fault.kind
            note = f"answer cut short: {stats.fault.message}"
            result.notices.append(note)
            emit(Notice(uid, note))
        emit(UtteranceFinished(result))
    return result
