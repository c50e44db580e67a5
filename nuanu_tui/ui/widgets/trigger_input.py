"""Trigger entry: an input with ↑/↓ history, and one button per seed trigger (also on F1–F5)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input


def short(text: str, width: int = 16) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip(" ,") + "…"


class TriggerInput(Input):
    """Enter sends; ↑/↓ walk what was sent before (newest first), like a shell."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Previous trigger", show=False),
        Binding("down", "history(1)", "Next trigger", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            placeholder="What does the camera see? e.g. справа слон на мопеде — Enter to speak", **kwargs
        )  # type: ignore[arg-type]
        self.history: list[str] = []
        self._pos = 0

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._pos = len(self.history)

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._pos = max(0, min(len(self.history), self._pos + step))
        self.value = self.history[self._pos] if self._pos < len(self.history) else ""
        self.cursor_position = len(self.value)


class TriggerBar(Widget):
    """The input plus the seed-trigger buttons; posts `Fire` for either."""

    DEFAULT_CSS = """
    TriggerBar { height: auto; }
    TriggerBar > #seeds { height: auto; }
    TriggerBar > #seeds > Button { margin: 0 1 0 0; min-width: 8; }
    """

    class Fire(Message):
        def __init__(self, trigger: str) -> None:
            super().__init__()
            self.trigger = trigger

    def __init__(self, seeds: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.seeds = seeds

    def compose(self) -> ComposeResult:
        yield TriggerInput(id="trigger")
        with Horizontal(id="seeds"):
            for i, seed in enumerate(self.seeds, start=1):
                yield Button(f"F{i} {short(seed, 12)}", id=f"seed-{i}", compact=True, tooltip=seed)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        field = self.query_one(TriggerInput)
        field.remember(text)
        field.value = ""
        if text:
            self.post_message(self.Fire(text))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("seed-"):
            event.stop()
            self.post_message(self.Fire(self.seeds[int(event.button.id.removeprefix("seed-")) - 1]))
