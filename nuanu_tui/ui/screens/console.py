"""The console: trigger input, live transcript, provider picker, latency waterfall, status."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from nuanu_tui.ui.console_bridge import ConsoleBridge
from nuanu_tui.ui.keys import console_bindings
from nuanu_tui.ui.messages import (
    AudioDevicesListed,
    EngineFailed,
    EngineReady,
    ModelsListed,
    NoticeArrived,
    ProviderSwitched,
    StatusChanged,
    StatusView,
    UtteranceView,
)
from nuanu_tui.ui.screens.remarks import RemarkScreen
from nuanu_tui.ui.widgets.provider_picker import ProviderPicker
from nuanu_tui.ui.widgets.status_bar import StatusBar
from nuanu_tui.ui.widgets.transcript import Transcript, UtteranceCard
from nuanu_tui.ui.widgets.trigger_input import TriggerBar, TriggerInput, short
from nuanu_tui.ui.widgets.waterfall import Waterfall

if TYPE_CHECKING:
    from nuanu_tui.ui.host import NuanuHost
    from nuanu_tui.ui.link import EngineLink

STATUS_POLL_S = 2.0
SAY_GROUP = "console-say"
# Below either size the side panel starts hidden (F10 shows it): 80×24, the most common terminal, left the
# transcript zero rows with everything shown. The waterfall shows wherever it leaves the transcript its rows.
ROOMY_WIDTH = 100
ROOMY_HEIGHT = 32
TRANSCRIPT_MIN_ROWS = 5  # the transcript keeps at least this many rows of cards, whatever is shown


class ConsoleScreen(RemarkScreen):
    """Every engine event arrives here as a message posted by the bridge; handlers stay O(1)."""

    BINDINGS: ClassVar[list[BindingType]] = console_bindings()  # type: ignore[assignment]
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-narrow"), (ROOMY_WIDTH, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (ROOMY_HEIGHT, "-tall")]

    def __init__(self) -> None:
        super().__init__()
        self.live_uid: str | None = None
        self.pinned_uid: str | None = None
        self.status: StatusView | None = None
        self.results: list[UtteranceView] = []
        self.panels: bool | None = None  # F10: shown / hidden; None follows the terminal size
        self.kept: list[str] = []  # triggers fired while the engine was starting: spoken, in order, at ready
        self._bridge: ConsoleBridge | None = None

    @property
    def nuanu(self) -> NuanuHost:
        return cast("NuanuHost", self.app)

    @property
    def link(self) -> EngineLink:
        return self.nuanu.link

    @property
    def bridge(self) -> ConsoleBridge:
        if self._bridge is None:
            self._bridge = ConsoleBridge(self.link)
        return self._bridge

    @property
    def interrupt_mode(self) -> bool:
        return self.nuanu.interrupt_mode

    def compose(self) -> ComposeResult:
        cat = self.link.catalog
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield Transcript(id="transcript")
                yield Waterfall(cat.stages, cat.stage_labels, id="waterfall")
            yield ProviderPicker(
                cat.llm_presets,
                cat.tts_choices,
                cat.output_formats,
                interrupt=self.interrupt_mode,
                instant=self.nuanu.instant,
                prompts=cat.prompts,
                prompt=cat.prompt,
                id="picker",
            )
        yield TriggerBar(cat.seeds, id="trigger-bar")
        yield Footer()

    def on_mount(self) -> None:
        self._fit()
        self.query_one(TriggerInput).focus()
        self.nuanu.start_engine(self)
        if self.nuanu.live_status:
            self.set_interval(STATUS_POLL_S, lambda: self.link.request_status(self))

    # --- operator actions ---------------------------------------------------------------------------
    def fire(self, trigger: str) -> Worker[UtteranceView] | None:
        """Speak `trigger` now (interrupt mode) or after what is playing (queue mode). While the engine is
        starting it is kept and spoken the moment the engine is ready; never dropped."""
        if not self.link.ready:
            if self.link.closed:
                self._give_back(trigger, "the engine is not running")
                return None
            self.kept.append(trigger)
            self.notify(
                f"Starting… «{short(trigger, 40)}» is kept: spoken when the engine is ready.", timeout=4
            )
            return None
        return self.run_trigger(trigger, self.interrupt_mode)

    def _give_back(self, trigger: str, why: str) -> None:
        """Not spoken: the text goes back into the input (with the reason in one line), not lost."""
        field = self.query_one(TriggerInput)
        if not field.value.strip():
            field.value = trigger
        self.notify(f"Not spoken ({why}): the trigger is back in the input.", severity="warning", timeout=8)

    @work(group=SAY_GROUP, exit_on_error=False, description="speak one trigger")
    async def run_trigger(self, trigger: str, interrupt: bool) -> UtteranceView:
        future = self.bridge.say(trigger, self, interrupt=interrupt)
        return await asyncio.wrap_future(future)

    def action_seed(self, index: int) -> None:
        seeds = self.link.catalog.seeds
        if 1 <= index <= len(seeds):
            self.fire(seeds[index - 1])

    def action_stop(self) -> None:
        self.bridge.stop()

    async def action_clear_queue(self) -> None:
        if not self.link.ready:
            return
        dropped = await asyncio.wrap_future(self.bridge.clear_queue())
        what = f"{dropped} queued remark{'s' if dropped != 1 else ''} dropped (recorded)" if dropped else ""
        self.notify(what or "The queue is empty.", timeout=3)

    def action_step(self, delta: int) -> None:
        uid = self.query_one(Transcript).step(delta)
        if uid is not None:
            self.pin(uid)

    def action_toggle_mode(self) -> None:
        self.set_interrupt_mode(not self.interrupt_mode)
        self.query_one(ProviderPicker).set_interrupt(self.interrupt_mode)

    def action_toggle_panels(self) -> None:
        self.panels = not self.query_one(ProviderPicker).display
        self._fit()
        if self.panels and not self.query_one(Waterfall).display:
            self.notify("No room for the waterfall: the transcript keeps five rows.", timeout=3)

    # --- layout on small terminals ------------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._fit()
        self.call_after_refresh(self._fit)  # again once the bars above and below have their new heights

    def _fit(self) -> None:
        """Side panel: shown on roomy terminals (or after F10). Waterfall: whenever the transcript still
        keeps TRANSCRIPT_MIN_ROWS under it, in full if that fits, else its four main stages (80×24);
        F10 hides it. Runs on every resize, also mid-remark."""
        width, height = self.size
        roomy = width >= ROOMY_WIDTH and height >= ROOMY_HEIGHT
        show = roomy if self.panels is None else self.panels
        picker, waterfall = self.query_one(ProviderPicker), self.query_one(Waterfall)
        if picker.display != show:
            picker.display = show
        fixed = self.query_one(StatusBar).outer_size.height + self.query_one(TriggerBar).outer_size.height + 1
        room = height - fixed - 1  # the transcript's top border
        border = waterfall.styles.gutter.height
        full = room - waterfall.rows_for(False) - border >= TRANSCRIPT_MIN_ROWS
        compact = not full and room - waterfall.rows_for(True) - border >= TRANSCRIPT_MIN_ROWS
        waterfall.set_compact(compact)
        visible = self.panels is not False and (full or compact)
        if waterfall.display != visible:
            waterfall.display = visible

    def action_focus_trigger(self) -> None:
        self.query_one(TriggerInput).focus()

    def set_interrupt_mode(self, on: bool) -> None:
        self.nuanu.interrupt_mode = on
        if self.status is not None:
            self.query_one(StatusBar).show(self.status, interrupt_mode=on)

    def switch_llm(self, spec: str) -> None:
        if self.link.ready:
            self.bridge.use_llm(spec, self)

    def switch_prompt(self, name: str) -> None:
        """The prompt file the character is asked with, from the next utterance (palette: Prompt: NAME)."""
        if self.link.ready:
            self.bridge.use_prompt(name, self)

    def switch_net(self, spec: str) -> None:
        """Demo mode: switch the emulated network live (loopback, wifi, lte, bad)."""
        if self.link.ready:
            self.bridge.use_net(spec, self)

    def switch_tts(self, spec: str | None = None, fmt: str | None = None) -> None:
        if not self.link.ready:
            return
        current = self.status.tts if self.status else ""
        self.bridge.use_tts(spec or current, fmt, self)

    def pin(self, uid: str) -> None:
        self.pinned_uid = uid
        self.query_one(Transcript).select(uid)
        self.query_one(Waterfall).view = self.views.get(uid)

    def on_paste(self, event: events.Paste) -> None:
        """A paste that reached the screen (focus was on a card, button or picker) goes to the trigger
        input, as text (the app already stripped control characters): it never acts as keys."""
        event.stop()
        field = self.query_one(TriggerInput)
        field.focus()
        field.insert_text_at_cursor(event.text)

    # --- widget messages ----------------------------------------------------------------------------
    def on_trigger_bar_fire(self, event: TriggerBar.Fire) -> None:
        self.fire(event.trigger)

    def on_utterance_card_selected(self, event: UtteranceCard.Selected) -> None:
        self.pin(event.utterance_id)

    def on_provider_picker_changed(self, event: ProviderPicker.Changed) -> None:
        if event.kind == "llm":
            self.switch_llm(event.value)
        elif event.kind == "prompt":
            self.switch_prompt(event.value)
        elif event.kind == "tts":
            self.switch_tts(event.value)
        elif event.kind == "format":
            self.switch_tts(None, event.value)
        elif event.kind == "interrupt":
            self.set_interrupt_mode(event.value == "on")
        elif event.kind == "audio" and self.link.ready:
            self.bridge.use_audio(event.value, self)
        elif event.kind == "audio_lost" and self.link.ready:
            self.bridge.set_audio_policy(event.value, self)
        elif event.kind == "instant" and self.link.ready:
            self.bridge.set_instant(event.value == "on", self)

    # --- bridge messages ----------------------------------------------------------------------------
    def on_engine_ready(self, message: EngineReady) -> None:
        self._show_status(message.status)
        kept, self.kept = self.kept, []
        for trigger in kept:  # in the order typed, each after the one before (queue mode for these)
            self.run_trigger(trigger, False)
        if message.restarted:
            self.notify("The engine is back.", title="Engine restarted", timeout=5)
        for part, why in message.warm_errors.items():
            if part == "store":  # the database could not be opened, or was damaged and moved aside
                self.notify(why, title="Database", severity="warning", timeout=12)
            else:
                self.notify(f"{part.upper()} not warm: {why}", title="Warm-up", severity="warning", timeout=8)
        for provider in ("groq", "openai"):
            self.bridge.list_models(provider, self)
        self.bridge.list_audio_devices(self)

    def on_audio_devices_listed(self, message: AudioDevicesListed) -> None:
        self.query_one(ProviderPicker).set_devices(message.devices)

    def on_engine_failed(self, message: EngineFailed) -> None:
        if self.kept and message.restart_in is None:  # it will not start: hand the kept text back
            kept, self.kept = self.kept, []
            more = f"; {len(kept) - 1} more typed before it were not spoken either" if len(kept) > 1 else ""
            self._give_back(kept[-1], f"the engine did not start{more}")
        self.query_one(StatusBar).show_failure(message.message, message.restart_in)
        self.call_after_refresh(self._fit)
        title = "Engine failed to start" if message.restart_in is None else "Engine down"
        self.notify(message.message, title=title, severity="error", timeout=12)

    def on_status_changed(self, message: StatusChanged) -> None:
        self._show_status(message.status)

    def _show_status(self, status: StatusView) -> None:
        self.status = status
        self.query_one(StatusBar).show(status, interrupt_mode=self.interrupt_mode)
        self.call_after_refresh(self._fit)  # a banner line more or less changes the room left
        picker = self.query_one(ProviderPicker)
        picker.show_current(status.llm, status.tts, status.output_format)
        picker.show_audio(status.audio, status.audio_policy)

    def on_models_listed(self, message: ModelsListed) -> None:
        if message.models:
            added = self.query_one(ProviderPicker).add_models(message.models)
            if added:
                self.log(f"{message.provider}: {added} models from /models")

    def on_provider_switched(self, message: ProviderSwitched) -> None:
        what = message.kind.upper()
        if message.error:
            self.notify(
                f"{what} {message.spec}: {message.error}", title="Switch failed", severity="error", timeout=8
            )
        else:
            self.notify(f"{what} → {message.spec} (next utterance)", timeout=3)

    def on_notice_arrived(self, message: NoticeArrived) -> None:
        card = self.query_one(Transcript).card(message.utterance_id)
        if card is not None:
            card.add_notice(message.message)

    def follows(self, utterance_id: str) -> bool:
        """The waterfall shows the pinned card, else the live one."""
        return utterance_id == (self.pinned_uid or self.live_uid)

    def began(self, view: UtteranceView) -> None:
        self.live_uid = view.utterance_id
        self.pinned_uid = None
        self.query_one(Transcript).select(None)

    def finished(self, view: UtteranceView) -> None:
        self.views[view.utterance_id] = view
        self.results.append(view)
        if view.mark == "dropped":
            return  # Ctrl+L said how many; a dropped remark never had a card
        if view.error and view.error_kind == "cancelled":
            self.notify("Interrupted.", timeout=2)
        elif view.error:
            self.notify(
                view.error, title=f"Utterance failed ({view.error_kind})", severity="error", timeout=8
            )

    @on(Worker.StateChanged)
    def on_worker_failed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == SAY_GROUP and event.state == WorkerState.ERROR and worker.error is not None:
            self.notify(
                str(worker.error) or type(worker.error).__name__, title="Trigger failed", severity="error"
            )
