"""The ride view: camera events as they arrive with the director's decision, the current remark and its
waterfall, counters, the director's rules (editable while riding), and replays of recorded rides."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Select, Static

from nuanu_tui.ui.messages import (
    EngineFailed,
    EngineReady,
    UtteranceView,
)
from nuanu_tui.ui.ride_messages import DirectorChanged, RideBatch, RideCounters, RideStarted, RideStopped
from nuanu_tui.ui.screens.remarks import RemarkScreen
from nuanu_tui.ui.widgets.ride_feed import RideFeed, cameras_text, counters_text
from nuanu_tui.ui.widgets.transcript import Transcript
from nuanu_tui.ui.widgets.trigger_input import TriggerInput
from nuanu_tui.ui.widgets.waterfall import Waterfall

if TYPE_CHECKING:
    from nuanu_tui.ui.host import NuanuHost
    from nuanu_tui.ui.ride_bridge import RideBridge

READY_POLL_S = 0.25
SPEEDS = (("4×", "4"), ("1×", "1"), ("max", "max"))
KNOBS = (  # (setting, label, width)
    ("stale_ms", "stale ms", 8),
    ("min_confidence", "conf ≥", 6),
    ("dedup_s", "dedup s", 6),
    ("cooldown_s", "cool s", 6),
    ("max_per_min", "max/min", 5),
)


class RideScreen(RemarkScreen):
    """Every update arrives as a message from the ride bridge; the feed repaints once per batch."""

    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "pause", "Pause/resume", id="ride-pause"),
        Binding("f3", "replay", "Replay ride", id="ride-replay"),
        Binding("f4", "live", "Live", id="ride-live"),
        Binding("escape", "stop_remark", "Stop remark", id="ride-stop-remark"),
        Binding("f9", "focus_trigger", "Input", id="ride-input"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.counters = RideCounters()
        self.what = "idle"
        self.paused = False
        self.settings: dict[str, Any] = {}
        self.ride_options: list[tuple[str, str]] = []  # (label, what to replay), as listed in the picker
        self._rides: RideBridge | None = None

    @property
    def nuanu(self) -> NuanuHost:
        return cast("NuanuHost", self.app)

    @property
    def rides(self) -> RideBridge:
        if self._rides is None:
            from nuanu_tui.ui.ride_bridge import RideBridge

            self._rides = RideBridge(self.nuanu.link)
        return self._rides

    def compose(self) -> ComposeResult:
        cat = self.nuanu.link.catalog
        yield Static("RIDE · starting…", id="ride-title")
        yield Static(counters_text(self.counters), id="ride-counters")
        yield Static("", id="ride-cameras")  # cameras' fps and tracks per side, MQTT's state; hidden if none
        with Horizontal(id="ride-main"):
            yield RideFeed(id="ride-feed")
            with Vertical(id="ride-right"):
                yield Transcript(id="ride-transcript")
                yield Waterfall(cat.stages, cat.stage_labels, id="ride-waterfall")
        with Horizontal(id="ride-controls"):
            yield Select([], prompt="ride to replay", id="ride-pick", allow_blank=True)
            yield Select(SPEEDS, value="4", id="ride-speed", allow_blank=False)
            yield Button("Replay", id="ride-replay-button")
            yield Button("Live", id="ride-live-button")
            yield Button("Pause", id="ride-pause-button")
        with Horizontal(id="ride-director"):
            for name, label, width in KNOBS:
                yield Label(label)
                yield Input(id=f"knob-{name}", restrict=r"[0-9.]*", max_length=8, classes=f"w{width}")
            yield Button("Apply", id="ride-apply")
        yield TriggerInput(id="ride-trigger")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ride-trigger", TriggerInput).focus()
        self._fill_knobs(dataclasses.asdict(self.rides.director))
        self._load_rides()
        self.nuanu.start_engine(self)
        # The engine may be warming up for another view (its EngineReady goes there): look until it is up.
        self._waiting = self.set_interval(READY_POLL_S, self._when_ready)
        self._when_ready()

    def _when_ready(self) -> None:
        if self.rides.ready and not self.rides.running:
            self._waiting.stop()
            self.go_live()

    # --- engine lifecycle (when the ride view is the first screen to ask for the engine) ---------------
    def on_engine_ready(self, message: EngineReady) -> None:
        self._when_ready()

    def on_engine_failed(self, message: EngineFailed) -> None:
        self.query_one("#ride-title", Static).update(f"RIDE · ENGINE DOWN: {message.message}")

    # --- actions --------------------------------------------------------------------------------------
    def go_live(self) -> None:
        if self.rides.ready:
            self.rides.start(self, None)

    def action_live(self) -> None:
        self.go_live()

    def action_replay(self) -> None:
        """Replay the picked ride; with none picked, the first in the list (a sample ride)."""
        pick = self.query_one("#ride-pick", Select)
        if pick.is_blank():  # the widget's no-selection sentinel is never a ride's name
            if not self.ride_options:
                self.notify("Pick a ride to replay: none is listed yet.", timeout=4)
                return
            pick.value = self.ride_options[0][1]
        speed = self.query_one("#ride-speed", Select).value
        if not self.rides.ready:
            self.notify("The engine is still starting.", severity="warning", timeout=3)
            return
        self.query_one(RideFeed).clear()
        self.rides.start(self, str(pick.value), None if speed == "max" else float(str(speed)))

    def action_pause(self) -> None:
        self.rides.configure({"paused": not self.paused}, self)

    def action_stop_remark(self) -> None:
        self.rides.stop_remark()

    def action_focus_trigger(self) -> None:
        self.query_one("#ride-trigger", TriggerInput).focus()

    @on(Button.Pressed, "#ride-replay-button")
    def _replay_pressed(self) -> None:
        self.action_replay()

    @on(Button.Pressed, "#ride-live-button")
    def _live_pressed(self) -> None:
        self.action_live()

    @on(Button.Pressed, "#ride-pause-button")
    def _pause_pressed(self) -> None:
        self.action_pause()

    @on(Button.Pressed, "#ride-apply")
    def _apply_pressed(self) -> None:
        changes: dict[str, Any] = {}
        for name, _, _ in KNOBS:
            raw = self.query_one(f"#knob-{name}", Input).value.strip()
            if raw:
                try:
                    changes[name] = int(float(raw)) if name == "max_per_min" else float(raw)
                except ValueError:
                    self.notify(f"{name}: not a number", severity="error", timeout=4)
                    return
        self.rides.configure(changes, self)

    @on(Input.Submitted, "#ride-trigger")
    def _trigger(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        field = self.query_one("#ride-trigger", TriggerInput)
        if not text:
            return
        field.remember(text)
        field.value = ""
        if not self.rides.running:
            self.notify("No ride is running (F4 to go live).", severity="warning", timeout=3)
            return
        self._operator(text)

    @work(group="ride-operator", exit_on_error=False)
    async def _operator(self, text: str) -> None:
        try:
            await asyncio.wrap_future(self.rides.operator(text, self.nuanu.interrupt_mode))
        except Exception as exc:
            self.notify(str(getattr(exc, "message", exc)), severity="error", timeout=5)

    @work(thread=True, group="ride-list", exit_on_error=False)
    def _load_rides(self) -> None:
        options = self.rides.rides()
        self.app.call_from_thread(self._show_rides, options)

    def _show_rides(self, options: list[tuple[str, str]]) -> None:
        """Relisted after each recorded ride: what the operator picked stays picked."""
        self.ride_options = options
        pick = self.query_one("#ride-pick", Select)
        kept = None if pick.is_blank() else pick.value
        pick.set_options(options)
        if kept is not None and any(value == kept for _, value in options):
            pick.value = kept

    def _fill_knobs(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.paused = bool(settings.get("paused", False))
        for name, _, _ in KNOBS:
            if name in settings:
                value = settings[name]
                self.query_one(f"#knob-{name}", Input).value = (
                    f"{value:g}" if isinstance(value, float) else str(value)
                )
        self.query_one("#ride-pause-button", Button).label = "Resume" if self.paused else "Pause"

    # --- ride messages --------------------------------------------------------------------------------
    def on_ride_started(self, message: RideStarted) -> None:
        self.what = message.what
        self._title()

    def on_ride_batch(self, message: RideBatch) -> None:
        if message.lines or message.dropped:
            self.query_one(RideFeed).add(message.lines, message.dropped)
        was_ok = self.counters.feeds_ok
        self.counters = message.counters
        self.query_one("#ride-counters", Static).update(counters_text(message.counters))
        cameras = cameras_text(message.counters)
        line = self.query_one("#ride-cameras", Static)
        line.display = bool(cameras)
        line.update(cameras)
        if was_ok != message.counters.feeds_ok:
            self._title()
            if not message.counters.feeds_ok:
                self.notify("; ".join(message.counters.feeds), title="MQTT broker away", severity="warning")
        if message.counters.paused != self.paused:
            self.paused = message.counters.paused
            self.query_one("#ride-pause-button", Button).label = "Resume" if self.paused else "Pause"
        self._title()

    def on_ride_stopped(self, message: RideStopped) -> None:
        if message.error:
            self.notify(message.error, title="Ride", severity="error", timeout=8)
            self.what = f"stopped: {message.error}"
        else:
            self.what = f"{message.what} ended"
            if message.recording:
                self.notify(f"Recorded: {message.recording}", timeout=5)
                self._load_rides()
        self._title()

    def on_director_changed(self, message: DirectorChanged) -> None:
        if message.error:
            self.notify(message.error, title="Director", severity="error", timeout=5)
            return
        self._fill_knobs(message.settings)
        self.notify("Director: paused" if self.paused else "Director: rules applied", timeout=2)

    def _title(self) -> None:
        listening = ", ".join(self.counters.listening) or "no listeners"
        state = "PAUSED · " if self.paused else ""
        away = "" if self.counters.feeds_ok else " · MQTT AWAY, reconnecting"
        self.query_one("#ride-title", Static).update(f"RIDE · {state}{self.what} · {listening}{away}")

    # --- the current remark: RemarkScreen draws it; a finished one is not kept (a ride runs for hours) ---
    def finished(self, view: UtteranceView) -> None:
        self.views.pop(view.utterance_id, None)
