"""Connection states, audio device, OFFLINE/SIMULATED badges and session TTFA statistics."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widget import Widget

from nuanu_tui.ui.messages import StatusView
from nuanu_tui.ui.widgets.steady import SteadyStatic

STATE_STYLE = {
    "warm": "$success",
    "connected": "$success",
    "local": "$success",
    "offline": "$warning",
    "cold": "$warning",
    "reconnecting": "$warning",
    "closed": "$error",
    "unreachable": "$error",
}


def _state(state: str) -> str:
    return f"[{STATE_STYLE.get(state, '$text-muted')}]● {escape(state)}[/]"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _rtt(value: float | None, good_ms: float, warn_ms: float) -> str:
    """An RTT coloured against the thresholds: fine for a live remark, slow, degraded."""
    if value is None:
        return "[$text-muted]—[/]"
    style = "$success" if value <= good_ms else "$warning" if value <= warn_ms else "$error"
    return f"[{style}]{value:,.0f} ms[/]"


def net_line(status: StatusView) -> str:
    """`net groq 84 ms · elevenlabs 91 ms` (and the emulated profile under --demo); empty when unmeasured."""
    if not status.net_rtt:
        return ""
    parts = " · ".join(
        f"{escape(name)} {_rtt(ms, status.net_good_ms, status.net_warn_ms)}" for name, ms in status.net_rtt
    )
    profile = f" [dim]({escape(status.net)})[/]" if status.net else ""
    return f"[b]net[/]{profile} {parts}"


class StatusBar(Widget):
    """A banner (only when something is offline, simulated or silent) above two status lines.

    `show` runs on every status change (several per utterance): unchanged lines are not re-rendered, and
    changed ones repaint without a screen-wide layout unless their height changes.
    """

    DEFAULT_CSS = """
    StatusBar { height: auto; }
    StatusBar > #banner { height: auto; padding: 0 1; background: $warning 20%; display: none; }
    StatusBar > #banner.-shown { display: block; }
    StatusBar > #status-line { height: auto; padding: 0 1; background: $panel; }
    StatusBar > #banner { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._banner = SteadyStatic("", id="banner")
        self._line = SteadyStatic(
            "[dim]engine starting… (warming LLM connection and TTS socket)[/]", id="status-line"
        )

    def compose(self) -> ComposeResult:
        yield self._banner
        yield self._line

    def show(self, status: StatusView, *, interrupt_mode: bool) -> None:
        banner: list[str] = []
        if status.simulated:
            banner.append(
                "[b reverse $secondary] SIMULATED [/] all providers are the in-process emulator (--demo)"
            )
        if status.offline_reasons:
            banner.append("[b reverse $warning] OFFLINE [/] " + escape("; ".join(status.offline_reasons)))
        if status.audio_warning:
            banner.append("[b reverse $error] NO AUDIO [/] " + escape(status.audio_warning))
        if status.audio_lost:
            then = (
                "remarks held until it is back, dropped when stale"
                if status.audio_policy == "hold"
                else "remarks generated, not heard"
            )
            banner.append("[b reverse $error] AUDIO LOST [/] " + escape(f"{status.audio_lost} — {then}"))
        if status.unavailable:
            spare = f"; {status.fallback_tts} speaks instead" if status.fallback_tts else ""
            banner.append(
                "[b reverse $error] FAILING [/] "
                + escape(", ".join(status.unavailable))
                + escape(f" — skipped and probed in the background{spare}")
            )
        elif status.last_degraded and status.last_served_by:
            banner.append(
                "[b reverse $warning] DEGRADED [/] "
                + escape(f"last remark served by {status.last_served_by}")
            )
        if status.store_failed:  # never let a remark look recorded when it is not
            banner.append(
                f"[b reverse $error] NOT STORED [/] {status.store_failed} database write(s) failed: "
                + escape(status.store_error or "")
            )
        if status.net_degraded:
            banner.append(
                "[b reverse $warning] NET DEGRADED [/] "
                + escape(", ".join(status.net_degraded))
                + escape(f": round trip over {status.net_warn_ms:,.0f} ms — expect slower remarks")
            )
        if status.telemetry_problem:
            banner.append("[b reverse $warning] TELEMETRY [/] " + escape(status.telemetry_problem))
        self._banner.show("\n".join(banner))
        self._banner.set_class(bool(banner), "-shown")

        socket = status.tts_state != "local"
        reused = {True: ", reused", False: ", new socket", None: ""}[status.last_ws_reused] if socket else ""
        fmt = (
            f" {status.output_format}" if status.output_format and status.tts.startswith("elevenlabs") else ""
        )
        audio = f"{escape(status.audio)} {status.sample_rate} Hz"
        if status.audio_warning:
            audio += " [$warning](null sink)[/]"
        if status.audio_lost:
            audio += " [$error]● lost[/]"
        elif status.audio_back:
            audio += f" [$success]● back {escape(status.audio_back)}[/]"
        activity = "idle"
        if status.busy:
            activity = "speaking" + (f" +{status.queued} queued" if status.queued else "")
        line1 = (
            f"[b]LLM[/] {escape(status.llm)} {_state(status.llm_state)}   "
            f"[b]TTS[/] {escape(status.tts)}{escape(fmt)} {_state(status.tts_state)}{reused}   "
            f"[b]audio[/] {audio}"
        )
        line2 = (
            f"[b]session[/] {status.utterances} utt   [b]TTFA[/] p50 {_ms(status.ttfa_p50)} · "
            f"p90 {_ms(status.ttfa_p90)} (n={status.ttfa_n})   "
            f"[b]mode[/] {'interrupt' if interrupt_mode else 'queue'}   [b]engine[/] {activity}"
        )
        net = net_line(status)
        if net:
            line2 += f"   {net}"

        self._line.show(f"{line1}\n{line2}")

    def show_failure(self, message: str, restart_in: float | None = None) -> None:
        self._banner.update(f"[b reverse $error] ENGINE DOWN [/] {escape(message)}")
        self._banner.add_class("-shown")
        if restart_in is None:
            self._line.show("[dim]no engine: fix the cause and restart[/]")
        else:
            self._line.show(f"[dim]restarting the engine in {restart_in:.1f} s… (see engine.log)[/]")
