"""One compare lane: its LLM spec, whether it is heard, the live remark and its latency waterfall.

The bridge posts the lane's utterance events straight to this widget (already coalesced to screen rate),
so a lane never needs to know about the other one; the screen only sets the spec and the heard badge.
"""

from __future__ import annotations

import dataclasses

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from nuanu_tui.ui.messages import (
    NoticeArrived,
    StageArrived,
    TextArrived,
    UtteranceBegan,
    UtteranceDone,
    UtteranceView,
)
from nuanu_tui.ui.widgets.transcript import flag_badges
from nuanu_tui.ui.widgets.waterfall import Waterfall


class CompareLane(Vertical):
    """Render-only apart from the message handlers; `text` is what the operator sees streamed so far."""

    DEFAULT_CSS = """
    CompareLane { height: 1fr; padding: 0 1; }
    CompareLane > .lane--head { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    CompareLane.-heard > .lane--head { background: $success 30%; }
    CompareLane.-winner > .lane--head { text-style: bold; }
    CompareLane > .lane--text { height: auto; min-height: 3; max-height: 8; color: $text; }
    CompareLane > .lane--foot { height: auto; max-height: 2; color: $text-muted; }
    CompareLane.-error > .lane--foot { color: $error; }
    CompareLane > Waterfall { min-height: 10; }
    """

    def __init__(
        self, name: str, spec: str, stages: tuple[str, ...], labels: dict[str, str], **kwargs: object
    ):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lane_name = name
        self.spec = spec
        self.stages = stages
        self.labels = labels
        self.view: UtteranceView | None = None
        self.parts: list[str] = []
        self.heard = False
        self.sequential = False
        self.hidden = False  # arena: who speaks here stays unknown until the operator votes
        self.prompt: str | None = None  # the prompt file this lane asks with (None: the engine's)

    def compose(self) -> ComposeResult:
        yield Static(self._head(), classes="lane--head")
        yield Static("[dim]waiting for a trigger[/]", classes="lane--text")
        yield Static("", classes="lane--foot")
        yield Waterfall(self.stages, self.labels)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def _head(self) -> str:
        heard = ""
        if self.sequential:
            heard = " [$success]🔊 heard (sequential)[/]"
        elif self.heard:
            heard = " [b $success]🔊 heard[/]"
        elif self.view is not None and not self.heard:
            heard = " [dim]silent[/]"
        if self.hidden:
            return f" [b]{self.lane_name}[/] [dim]hidden until you vote[/]{heard}"
        prompt = (getattr(self.view, "prompt", None) if self.view is not None else None) or self.prompt
        shown = self.spec + (f" · {prompt}" if prompt else "")
        return f" [b]{self.lane_name}[/] {escape(shown)}{heard}"

    def _foot(self) -> str:
        v = self.view
        if v is None:
            return ""
        if v.done and v.error:  # hidden: the kind only, a provider's message could name it
            detail = "" if self.hidden else ": " + v.error
            badges = flag_badges(v.flags)
            return f"✖ {escape((v.error_kind or 'error') + detail)}" + (f"\n{badges}" if badges else "")
        ttfa, byte = v.stages_ms.get("first_audio"), v.stages_ms.get("first_audio_byte")
        ttft = v.stages_ms.get("ttft")
        parts = []
        if ttft is not None:
            parts.append(f"TTFT {ttft:,.0f} ms")
        if ttfa is not None:
            parts.append(f"TTFA [b]{ttfa:,.0f} ms[/]")
        elif byte is not None:
            parts.append(f"first byte {byte:,.0f} ms")
        if not v.done:
            parts.append("streaming…")
        elif v.prompt and not self.hidden:  # an arena lane's prompt is part of its identity
            parts.append(escape(v.prompt))
        badges = flag_badges(v.flags) if v.done else ""
        return " · ".join(parts) + (f"\n{badges}" if badges else "")

    def set_spec(self, spec: str) -> None:
        self.spec = spec
        self.query_one(".lane--head", Static).update(self._head())

    def set_prompt(self, name: str | None) -> None:
        self.prompt = name
        self.query_one(".lane--head", Static).update(self._head())

    def set_heard(self, heard: bool, *, sequential: bool = False) -> None:
        self.heard = heard
        self.sequential = sequential
        self.set_class(heard or sequential, "-heard")
        self.query_one(".lane--head", Static).update(self._head())

    def set_hidden(self, hidden: bool) -> None:
        """Arena: hide the lane's identity (spec, prompt, provider's error text) or reveal it."""
        self.hidden = hidden
        self.query_one(".lane--head", Static).update(self._head())
        self._show()

    def set_winner(self, winner: bool) -> None:
        self.set_class(winner, "-winner")

    def _show(self) -> None:
        self.query_one(".lane--foot", Static).update(self._foot())
        view = self.view
        if self.hidden and view is not None:  # Groq reports its queue time, others do not: that would tell
            view = dataclasses.replace(view, floor_ms=None, net_split=None)
        self.query_one(Waterfall).view = view

    # --- bridge messages (posted to this lane) ------------------------------------------------------
    def on_utterance_began(self, message: UtteranceBegan) -> None:
        self.view = message.view
        self.parts = []
        self.set_class(False, "-error")
        self.query_one(".lane--text", Static).update("…")
        self.query_one(".lane--head", Static).update(self._head())
        self._show()

    def on_text_arrived(self, message: TextArrived) -> None:
        if self.view is not None and message.utterance_id == self.view.utterance_id:
            self.parts.append(message.text)
            self.query_one(".lane--text", Static).update(escape(self.text))

    def on_stage_arrived(self, message: StageArrived) -> None:
        v = self.view
        if v is not None and message.utterance_id == v.utterance_id:
            self.view = dataclasses.replace(v, stages_ms={**v.stages_ms, message.stage: message.ms})
            self._show()

    def on_notice_arrived(self, message: NoticeArrived) -> None:
        self.log(f"lane {self.lane_name}: {message.message}")

    def on_utterance_done(self, message: UtteranceDone) -> None:
        self.finish(message.view)

    def finish(self, view: UtteranceView) -> None:
        self.view = view
        if view.text and view.text != self.text.strip():
            self.parts = [view.text]
        shown = self.text.strip() or ("—" if view.error else "…")
        self.query_one(".lane--text", Static).update(escape(shown))
        self.set_class(bool(view.error), "-error")
        self._show()
