"""Compare: one trigger on two LLM lanes at the same instant (shared TTS), side by side, with a tally.

The round runs in the bridge's engine loop (CompareSession); each lane widget receives its own utterance
events, this screen gets the round events (began, heard lane, done with the tally snapshot).
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, ClassVar, cast

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Label, Select, Static, Switch

from nuanu_tui.ui.messages import LaneHeard, RoundBegan, RoundDone, TallyView
from nuanu_tui.ui.widgets.lane import CompareLane
from nuanu_tui.ui.widgets.tally import TallyPanel
from nuanu_tui.ui.widgets.trigger_input import TriggerBar, TriggerInput

if TYPE_CHECKING:
    from nuanu_tui.ui.compare_bridge import CompareBridge
    from nuanu_tui.ui.host import NuanuHost
    from nuanu_tui.ui.link import EngineLink

ROUND_GROUP = "compare-round"
AUDIBLE_CHOICES = (("heard: first to audio", "auto"), ("heard: lane A", "0"), ("heard: lane B", "1"))
LANE_NAMES = ("A", "B")


class CompareScreen(Screen[None]):
    """Lanes, audible choice and the sequential switch apply from the next round."""

    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [(0, "-short"), (32, "-tall")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "seed(1)", "Seeds F1–F5", id="compare-seed-1"),
        Binding("f2", "seed(2)", "Seed 2", show=False, id="compare-seed-2"),
        Binding("f3", "seed(3)", "Seed 3", show=False, id="compare-seed-3"),
        Binding("f4", "seed(4)", "Seed 4", show=False, id="compare-seed-4"),
        Binding("f5", "seed(5)", "Seed 5", show=False, id="compare-seed-5"),
        Binding("escape", "stop", "Stop", id="compare-stop"),
        Binding("f6", "cycle_audible", "Heard", id="compare-audible"),
        Binding("f7", "toggle_sequential", "Sequential", id="compare-sequential"),
        Binding("f8", "reset", "Reset", id="compare-reset"),
        Binding("f9", "focus_trigger", "Input", show=False, id="compare-focus-input"),
        Binding("left", "vote('a')", "Vote A", id="compare-vote-a"),
        Binding("right", "vote('b')", "Vote B", id="compare-vote-b"),
        Binding("down", "vote('tie')", "Tie", id="compare-vote-tie"),
        Binding("s", "vote('skip')", "Skip", id="compare-vote-skip"),
        Binding("ctrl+o", "app.open_mode('console')", "Console", id="compare-to-console"),
        Binding("f10", "toggle_arena", "Arena", id="compare-arena"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._round_link: CompareBridge | None = None
        self.rounds: list[RoundDone] = []
        self.tally: TallyView | None = None
        self.llm_options: list[str] = []
        self.lane_instant = [False, False]  # per lane: an interjection before the remark (palette)
        # Arena: each round the lanes sit in a random order; `shown[p]` is the lane index at position p
        # (0 = the left widget "A"). Identities stay hidden until the operator votes on `pending`.
        self.arena = False
        self.shown: tuple[int, int] = (0, 1)
        self.pending: RoundDone | None = None
        self.arena_rng = random.Random()
        self.votes_cast = 0
        self.round_running = False
        self.lane_prompt: list[str | None] = [None, None]  # per lane: the prompt file (None: the engine's)

    @property
    def nuanu(self) -> NuanuHost:
        return cast("NuanuHost", self.app)

    @property
    def link(self) -> EngineLink:
        return self.nuanu.link

    @property
    def round_link(self) -> CompareBridge:
        """This view's own bridge module, over the shared link (made once, kept with the screen)."""
        if self._round_link is None:
            from nuanu_tui.ui.compare_bridge import CompareBridge

            self._round_link = CompareBridge(self.link)
        return self._round_link

    def compose(self) -> ComposeResult:
        cat = self.link.catalog
        a, b = cat.compare_lanes
        llms = self.llm_options = self._llm_options()
        with Horizontal(id="compare-controls"):
            yield Label("A", classes="lane-label")
            yield Select([(s, s) for s in llms], value=a, id="lane-a", allow_blank=False, compact=True)
            yield Label("B", classes="lane-label")
            yield Select([(s, s) for s in llms], value=b, id="lane-b", allow_blank=False, compact=True)
            yield Select(AUDIBLE_CHOICES, value="auto", id="audible", allow_blank=False, compact=True)
            yield Switch(False, id="sequential", tooltip="Run the lanes one after the other, both heard")
            yield Label("sequential", id="sequential-label")
        with Horizontal(id="lanes"):
            yield CompareLane("A", a, cat.stages, cat.stage_labels, id="lane-0")
            yield CompareLane("B", b, cat.stages, cat.stage_labels, id="lane-1")
        yield TallyPanel(id="tally")
        yield Static(
            "[dim]One trigger starts both lanes at the same instant. F1–F5: seed triggers.[/]",
            id="round-line",
        )
        yield TriggerBar(cat.seeds, id="compare-trigger-bar")
        yield Footer()

    def _llm_options(self) -> list[str]:
        cat = self.link.catalog
        specs = list(dict.fromkeys([*cat.compare_lanes, *cat.llm_presets]))
        for models in self.link.known_models.values():
            specs.extend(m for m in models if m not in specs)
        return specs

    def on_mount(self) -> None:
        self.query_one(TriggerInput).focus()

    def on_screen_resume(self) -> None:
        """Models listed since the screen was built (the console asks /models at start-up)."""
        options = self._llm_options()
        if options == self.llm_options:
            return
        self.llm_options = options
        for wid in ("#lane-a", "#lane-b"):
            select = self.query_one(wid, Select)
            value = select.value
            select.set_options([(s, s) for s in options])
            if isinstance(value, str):
                select.value = value

    # --- configuration --------------------------------------------------------------------------------
    @property
    def lanes(self) -> tuple[str, str]:
        a = self.query_one("#lane-a", Select).value
        b = self.query_one("#lane-b", Select).value
        return (str(a), str(b))

    @property
    def audible(self) -> int | None:
        value = self.query_one("#audible", Select).value
        return None if value in ("auto", Select.BLANK) else int(str(value))

    @property
    def sequential(self) -> bool:
        return self.query_one("#sequential", Switch).value

    def set_lane(self, lane: int, spec: str) -> None:
        select = self.query_one("#lane-a" if lane == 0 else "#lane-b", Select)
        if spec not in self.llm_options:
            self.llm_options.append(spec)
            value = self.query_one("#lane-b" if lane == 0 else "#lane-a", Select).value
            for wid in ("#lane-a", "#lane-b"):
                self.query_one(wid, Select).set_options([(s, s) for s in self.llm_options])
            self.query_one("#lane-b" if lane == 0 else "#lane-a", Select).value = value
        select.value = spec

    def set_lane_prompt(self, lane: int, name: str) -> None:
        """The prompt file one lane asks with, from the next round (a new prompt starts a new tally)."""
        self.lane_prompt[lane] = name
        self.widget_of(lane).set_prompt(name)
        self.notify(f"Lane {'AB'[lane]}: prompt {name} (next round)", timeout=3)

    def toggle_instant(self, lane: int) -> None:
        """Instant reaction on or off for one lane, from the next round."""
        self.lane_instant[lane] = not self.lane_instant[lane]
        state = "on" if self.lane_instant[lane] else "off"
        self.notify(f"Lane {'AB'[lane]}: instant reaction {state} (next round)", timeout=3)

    def widget_of(self, lane: int) -> CompareLane:
        """The widget showing lane `lane` this round (arena rounds swap them at random)."""
        return self.query_one(f"#lane-{self.shown.index(lane)}", CompareLane)

    def set_audible(self, lane: int | None) -> None:
        self.query_one("#audible", Select).value = "auto" if lane is None else str(lane)

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id in ("lane-a", "lane-b") and isinstance(event.value, str):
            lane = 0 if event.select.id == "lane-a" else 1
            self.widget_of(lane).set_spec(event.value)

    # --- actions ------------------------------------------------------------------------------------
    def fire(self, trigger: str) -> None:
        if not self.link.ready:
            self.notify("The engine is still starting; try again in a moment.", severity="warning", timeout=4)
            return
        if self.arena and self.round_running:
            self.notify("Arena: let this round finish and vote first.", timeout=3)
            return
        if self.pending is not None:
            self._reveal(None)  # a new trigger before a vote skips it
        audible = self.audible
        if self.arena:
            # A fixed heard lane would tell which side is which; the first to audio wins the speaker.
            audible = None
            self.shown = (0, 1) if self.arena_rng.random() < 0.5 else (1, 0)
        self.round_running = True
        self.run_round(trigger, self.lanes, audible, self.sequential)

    @work(group=ROUND_GROUP, exit_on_error=False, description="compare round")
    async def run_round(
        self, trigger: str, lanes: tuple[str, str], audible: int | None, sequential: bool
    ) -> None:
        targets = (self.widget_of(0), self.widget_of(1))
        try:
            round_ = self.round_link.compare(
                trigger,
                lanes,
                audible,
                sequential,
                self,
                targets,
                instant=(self.lane_instant[0], self.lane_instant[1]),
                prompts=(self.lane_prompt[0], self.lane_prompt[1]),
            )
            await asyncio.wrap_future(round_)
        except Exception as exc:  # provider faults are lane errors; this is config, interrupt or a bug
            kind = getattr(exc, "kind", "")
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            if kind == "cancelled":
                self.notify("Round interrupted (not counted).", timeout=3)
            else:
                self.notify(message, title="Compare round failed", severity="error", timeout=8)
        finally:
            self.round_running = False

    def action_seed(self, index: int) -> None:
        seeds = self.link.catalog.seeds
        if 1 <= index <= len(seeds):
            self.fire(seeds[index - 1])

    def action_stop(self) -> None:
        self.round_link.compare_stop()

    def action_cycle_audible(self) -> None:
        order = [None, 0, 1]
        self.set_audible(order[(order.index(self.audible) + 1) % 3])

    def action_toggle_sequential(self) -> None:
        switch = self.query_one("#sequential", Switch)
        switch.value = not switch.value

    def action_reset(self) -> None:
        self.round_link.compare_reset()
        self.rounds.clear()
        self.tally = None
        self.query_one(TallyPanel).tally = None
        self.query_one("#round-line", Static).update("[dim]Tally reset.[/]")

    def action_toggle_arena(self) -> None:
        """Arena mode on or off, from the next round: lanes in random order, identities hidden until a vote."""
        if self.pending is not None:
            self._reveal(None)
        self.arena = not self.arena
        if not self.arena:
            self.shown = (0, 1)
        self.query_one(TallyPanel).display = not self.arena
        state = "on: lanes shown as A and B in random order, hidden until you vote (← A, → B, ↓ tie, s skip)"
        self.query_one("#round-line", Static).update(f"[b]Arena {state if self.arena else 'off'}[/]")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "vote":
            return self.pending is not None
        return True

    def action_vote(self, choice: str) -> None:
        """The operator's verdict on the pending arena round; `skip` reveals without storing a vote."""
        if self.pending is None:
            return
        self._reveal(None if choice == "skip" else choice)

    def _reveal(self, winner: str | None) -> None:
        done, self.pending = self.pending, None
        assert done is not None
        shown = (done.views[self.shown[0]], done.views[self.shown[1]])  # positions A, B
        a, b, stored = self.round_link.arena_verdict(shown, winner)
        self.votes_cast += stored
        if winner is None:
            verdict = "skipped (no vote stored)"
        elif a == b:
            verdict = "both sides are the same configuration: no vote stored"
        else:
            picked = {"a": "A", "b": "B", "tie": "a tie"}[winner]
            verdict = f"you voted {picked}" + ("" if stored else " [$error](no database: not stored)[/]")
        for position in (0, 1):
            self.query_one(f"#lane-{position}", CompareLane).set_hidden(False)
        self.query_one(TallyPanel).tally = self.tally
        self.refresh_bindings()
        self.query_one("#round-line", Static).update(
            f"[b]round {done.round}[/] {verdict} · [b]A[/] {escape(a)} · [b]B[/] {escape(b)}"
        )
        self.query_one(TriggerInput).focus()

    def action_focus_trigger(self) -> None:
        self.query_one(TriggerInput).focus()

    def on_trigger_bar_fire(self, event: TriggerBar.Fire) -> None:
        event.stop()
        self.fire(event.trigger)

    # --- bridge messages ----------------------------------------------------------------------------
    def on_round_began(self, message: RoundBegan) -> None:
        for lane in (0, 1):
            widget = self.widget_of(lane)
            widget.set_hidden(self.arena)
            widget.set_spec(message.lanes[lane])
            widget.set_heard(False, sequential=message.sequential)
            widget.set_winner(False)
        order = (
            " then ".join(LANE_NAMES[self.shown.index(i)] for i in message.order)
            if message.sequential
            else "A ∥ B"
        )
        self.query_one("#round-line", Static).update(
            f"[b]round {message.round}[/] «{escape(message.trigger)}» [dim]{order}…[/]"
        )

    def on_lane_heard(self, message: LaneHeard) -> None:
        self.widget_of(message.lane).set_heard(True)

    def on_round_done(self, message: RoundDone) -> None:
        self.rounds.append(message)
        self.tally = message.tally
        arena = any(self.query_one(f"#lane-{p}", CompareLane).hidden for p in (0, 1))
        if not arena:
            self.query_one(TallyPanel).tally = message.tally
        for lane in (0, 1):
            widget = self.widget_of(lane)
            widget.finish(message.views[lane])
            widget.set_winner(message.winner == lane)
        if message.outcome == "win" and message.winner is not None:
            verdict = f"lane {LANE_NAMES[self.shown.index(message.winner)]} first to audio"
        elif message.outcome == "tie":
            verdict = "tie"
        else:
            verdict = "no audio on either lane"
        heard = "" if message.audible is None else f" · heard {LANE_NAMES[self.shown.index(message.audible)]}"
        skew = message.start_skew_ms
        skew_text = "< 1 ms" if skew < 1 else f"{skew:,.0f} ms"  # whole ms: µs jitter is not news
        line = f"[b]round {message.round}[/] {verdict}{heard} [dim]· lanes started {skew_text} apart[/]"
        if arena:
            self.pending = message
            if any(v.error for v in message.views):
                self._reveal(None)
                line = f"[b]round {message.round}[/] a lane failed: no vote · " + line.split("[/] ", 1)[1]
                self.query_one("#round-line", Static).update(line)
                return
            line += " · [b]which was better?[/] ← A  → B  ↓ tie  s skip"
            self.set_focus(None)  # the arrows vote (the input would take them as cursor moves)
            self.refresh_bindings()
        self.query_one("#round-line", Static).update(line)
