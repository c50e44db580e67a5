"""Pure conversions from engine records to the UI's view records (ui/messages.py): no loop, no store, no I/O,
so every bridge shares them and a test needs nothing but values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nuanu_tui.core.compare import Tally, default_lanes
from nuanu_tui.core.config import LLM_PRESETS, OUTPUT_FORMATS
from nuanu_tui.core.errors import NuanuError
from nuanu_tui.core.netprofile import NET_PROFILES
from nuanu_tui.core.stats import compare_runs, summarize_runs
from nuanu_tui.core.timeline import STAGE_LABELS, STAGES, UtteranceResult, provider_floor_ms, split_ms
from nuanu_tui.core.triggers import BUILTIN_SETS, SEED_TRIGGERS
from nuanu_tui.ui.messages import Catalog, StageDeltaView, Summary, TallyView, UtteranceView

TTS_CHOICES = (
    "elevenlabs/eleven_flash_v2_5",
    "elevenlabs/eleven_turbo_v2_5",
    "elevenlabs/eleven_multilingual_v2",
    "espeak/ru",
    "espeak/en",
)


def catalog(settings: Any = None) -> Catalog:
    from nuanu_tui.core.llm.prompt_files import choose_prompt, load_prompts
    from nuanu_tui.core.providers import prompts_for
    from nuanu_tui.core.quality import FLAGS

    try:  # the command line has already refused a bad prompt file; this is only the list to offer
        found = prompts_for(settings) if settings is not None else load_prompts(None)
        current = choose_prompt(
            found, getattr(settings, "prompt", None), getattr(settings, "lang", None) or "ru"
        ).name
    except NuanuError:
        found, current = load_prompts(None), "default"
    return Catalog(
        prompts=tuple(found),
        prompt=current,
        quality_flags=FLAGS,
        stages=tuple(STAGES),
        stage_labels=dict(STAGE_LABELS),
        seeds=tuple(SEED_TRIGGERS),
        llm_presets=tuple(LLM_PRESETS),
        tts_choices=TTS_CHOICES,
        output_formats=tuple(OUTPUT_FORMATS),
        compare_lanes=default_lanes(),
        trigger_sets=tuple(BUILTIN_SETS),
        net_profiles=tuple((n, p.rtt_ms, p.jitter_ms, p.loss_pct) for n, p in NET_PROFILES.items()),
    )


floor_ms = provider_floor_ms


def view_of(result: UtteranceResult) -> UtteranceView:
    return UtteranceView(
        utterance_id=result.utterance_id,
        trigger=result.trigger,
        llm=result.llm,
        tts=result.tts,
        started_at=result.started_at,
        offline=result.offline,
        simulated=result.simulated,
        text=result.text,
        stages_ms=dict(result.stages_ms),
        done=True,
        error=result.error,
        error_kind=result.error_kind,
        ws_reused=result.ws_reused,
        floor_ms=floor_ms(result.provider_timings or {}),
        notices=tuple(result.notices),
        mark=result.mark,
        served_by=result.served_by,
        voiced_by=tuple(result.voiced_by),
        degraded=result.degraded,
        interjection=result.interjection,
        interjection_ms=result.interjection_ms,
        gap_ms=result.gap_ms,
        net_rtt_ms=dict(result.net_rtt_ms),
        net_split=split_ms(
            result.stages_ms.get("first_audio"), result.net_rtt_ms, floor_ms(result.provider_timings or {})
        ),
        prompt=result.prompt,
        flags=None if result.quality is None else tuple(result.quality.flags),
    )


def tally_view(tally: Tally) -> TallyView:
    ttft, ttfa = tally.diff("ttft"), tally.diff("first_audio")
    return TallyView(
        lanes=tally.lanes,
        rounds=tally.rounds,
        wins=(tally.wins[0], tally.wins[1]),
        ties=tally.ties,
        void=tally.void,
        errors=(tally.errors[0], tally.errors[1]),
        degraded=(tally.degraded[0], tally.degraded[1]),
        ttft_p50=(ttft.a_ms, ttft.b_ms),
        ttfa_p50=(ttfa.a_ms, ttfa.b_ms),
        ttft_diff=(ttft.delta_ms, ttft.ratio),
        ttfa_diff=(ttfa.delta_ms, ttfa.ratio),
    )


def summary_json(results: Sequence[UtteranceResult]) -> Summary:
    return {spec: s.to_json() for spec, s in summarize_runs(results).items()}


def stage_deltas(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, StageDeltaView]]:
    """Per spec and stage: how the median moved from an earlier run (`old`) to this one (`new`)."""
    return {
        spec: {
            stage: StageDeltaView(d.old_p50, d.new_p50, d.delta_ms, d.ratio) for stage, d in stages.items()
        }
        for spec, stages in compare_runs(old, new).items()
    }


def provider_of(spec: str) -> str:
    return spec.split("/", 1)[0]
