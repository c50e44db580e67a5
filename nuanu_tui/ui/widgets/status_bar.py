"""Connection states, audio device, OFFLINE/SIMULATED badges and session TTFA statistics."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widget import Widget

from nuanu_tui.ui.messages import StatusView
from nuanu_tui.ui.widgets.fit import Part, fit_line
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


def _rtt_max(status: StatusView) -> str:
    """`net 91 ms`: the slowest round trip, for a line with no room for each provider's."""
    known = [ms for _, ms in status.net_rtt if ms is not None]
    worst = max(known) if known else None
    return f"[b]net[/] {_rtt(worst, status.net_good_ms, status.net_warn_ms)}"


def status_parts(status: StatusView, *, interrupt_mode: bool) -> tuple[list[Part], list[Part]]:
    """The two status lines as parts that shrink in the order README "Status lines" documents.

    Never dropped: the LLM's and TTS's provider and state, the audio device and its warning, the mode,
    whether the engine is speaking, and TTFA p50. From the first to give up (highest rank): the socket
    reuse note and the TTS output format (7); the TTFA sample count and the emulated network profile (6);
    the sample rate and the session count (5); TTFA p90, and each provider's RTT down to the slowest (4);
    the mode's label (3); the other labels (2); then model names down to the provider, `speaking +2
    queued` to `speaking +2`, and the network reading (1).
    """
    socket = status.tts_state != "local"
    reused = {True: "reused", False: "new socket", None: ""}[status.last_ws_reused] if socket else ""
    fmt = status.output_format if status.output_format and status.tts.startswith("elevenlabs") else ""
    llm_state, tts_state = _state(status.llm_state), _state(status.tts_state)
    llm, tts = escape(status.llm), escape(status.tts)
    audio_mark = ""
    if status.audio_warning:
        audio_mark = "[$warning](null sink)[/]"
    if status.audio_lost:
        audio_mark = "[$error]● lost[/]"
    elif status.audio_back:
        audio_mark = f"[$success]● back {escape(status.audio_back)}[/]"
    line1 = [
        Part((f"[b]LLM[/] {llm} {llm_state}", f"{llm} {llm_state}", f"{_short(llm)} {llm_state}"), (2, 1)),
        Part((f"[b]TTS[/] {tts}", tts, _short(tts)), (2, 1)),
        Part((escape(fmt), ""), (7,), " ") if fmt else Part(("",)),
        Part((tts_state,), (), " "),
        Part((f"[dim]{reused}[/]", ""), (7,), ", ") if reused else Part(("",)),
        Part((f"[b]audio[/] {escape(status.audio)}", escape(status.audio)), (2,)),
        Part((f"{status.sample_rate} Hz", ""), (5,), " "),
        Part((audio_mark,), (), " "),
    ]
    activity = "idle"
    if status.busy:
        activity = "speaking" + (f" +{status.queued} queued" if status.queued else "")
    brief = "idle" if not status.busy else "speaking" + (f" +{status.queued}" if status.queued else "")
    mode = "interrupt" if interrupt_mode else "queue"
    net = net_line(status)
    bare_net = net.replace(f" [dim]({escape(status.net)})[/]", "") if status.net else net
    line2 = [
        Part((f"[b]session[/] {status.utterances} utt", f"{status.utterances} utt", ""), (5, 5)),
        Part((f"[b]TTFA[/] p50 {_ms(status.ttfa_p50)}", f"TTFA {_ms(status.ttfa_p50)}"), (2,)),
        Part((f"· p90 {_ms(status.ttfa_p90)}", ""), (4,), " "),
        Part((f"(n={status.ttfa_n})", ""), (6,), " "),
        Part((f"[b]mode[/] {mode}", mode), (3,)),
        Part((f"[b]engine[/] {activity}", activity, brief), (2, 1)),
        Part((net, bare_net, _rtt_max(status), ""), (6, 4, 1)) if net else Part(("",)),
    ]
    return line1, line2


def _short(spec: str) -> str:
    """`groq/llama-3.1-8b-instant` → `groq`: the provider, when the model name does not fit."""
    return spec.split("/", 1)[0]


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
    StatusBar > #banner, StatusBar > #status-line { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._banner = SteadyStatic("", id="banner")
        self._status: StatusView | None = None
        self._interrupt = False
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

        self._status, self._interrupt = status, interrupt_mode
        self._fit()

    def on_resize(self) -> None:
        if self._status is not None:
            self._fit()

    def _fit(self) -> None:
        """Each status line fitted to the width it has now (see `status_parts` for the order)."""
        assert self._status is not None
        width = (self.size.width or self.app.size.width) - 2  # the line's padding
        line1, line2 = status_parts(self._status, interrupt_mode=self._interrupt)
        self._line.show(f"{fit_line(line1, width)}\n{fit_line(line2, width)}")

    def show_failure(self, message: str, restart_in: float | None = None) -> None:
        self._status = None
        self._banner.update(f"[b reverse $error] ENGINE DOWN [/] {escape(message)}")
        self._banner.add_class("-shown")
        if restart_in is None:
            self._line.show("[dim]no engine: fix the cause and restart[/]")
        else:
            self._line.show(f"[dim]restarting the engine in {restart_in:.1f} s… (see engine.log)[/]")
