"""The console's keys, in one place: its bindings, the command palette's help and the README's key table
are all made from `CONSOLE_KEYS` (a test keeps the README in step: `python -m nuanu_tui.ui.keys` prints it)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class Key:
    """One console key: what it is bound to, what the footer says, and what it does (README, palette)."""

    keys: str  # Textual key names, comma-separated
    shown: str  # how the README writes it
    action: str  # the screen action ("" for keys a widget or the app handles)
    footer: str  # footer label ("" = not in the footer)
    does: str  # what it does, one line
    id: str = ""


CONSOLE_KEYS: tuple[Key, ...] = (
    Key("", "Enter / ↑ ↓", "", "", "send the trigger / walk the trigger history"),
    Key("f1", "F1–F5", "seed(1)", "Seeds F1–F5", "the five seed triggers", "seed-1"),
    *(Key(f"f{i}", "", f"seed({i})", "", f"seed trigger {i}", f"seed-{i}") for i in range(2, 6)),
    Key(
        "escape",
        "Esc",
        "stop",
        "Stop",
        "stop the current remark (audio, TTS context, LLM stream); queued remarks play on",
        "stop",
    ),
    Key(
        "ctrl+l",
        "Ctrl+L",
        "clear_queue",
        "Clear queue",
        "drop every queued remark (each is recorded as dropped); the current one plays on",
        "clear-queue",
    ),
    Key(
        "f10,ctrl+b",
        "F10 / Ctrl+B",
        "toggle_panels",
        "Panels",
        "show / hide the side panel (hidden at first below 100×32) and the waterfall (shown wherever the"
        " transcript keeps five rows; its four main stages when the full one does not fit; every card shows"
        " `TTFT · flush · audio · done` anyway)",
        "toggle-panels",
    ),
    Key(
        "f6",
        "F6 / F7",
        "step(-1)",
        "Prev",
        "previous / next transcript card (its waterfall is shown)",
        "prev-card",
    ),
    Key("f7", "", "step(1)", "Next", "next transcript card", "next-card"),
    Key(
        "f8",
        "F8",
        "toggle_mode",
        "Queue/Interrupt",
        "queue ↔ interrupt (a new trigger stops the current remark and drops the queue)",
        "toggle-mode",
    ),
    Key("f9", "F9", "focus_trigger", "Input", "back to the trigger input", "focus-input"),
    Key("", "Ctrl+P", "", "", "command palette: switch provider, modes, seed triggers, every action here"),
    Key("", "Ctrl+Q", "", "", "quit (sockets closed, audio stopped)"),
)


def console_bindings() -> list[Binding]:
    return [
        Binding(k.keys, k.action, k.footer or k.does, show=bool(k.footer), id=k.id or None)
        for k in CONSOLE_KEYS
        if k.action
    ]


def does(action: str) -> str:
    """What the key bound to `action` does, with the key: the command palette's help line."""
    key = next(k for k in CONSOLE_KEYS if k.action == action)
    return f"{key.does[:1].upper()}{key.does[1:]} ({key.shown or key.keys})"


def readme_table() -> str:
    rows = ["| key | action |", "|---|---|"]
    rows += [f"| {k.shown} | {k.does} |" for k in CONSOLE_KEYS if k.shown]
    return "\n".join(rows)


if __name__ == "__main__":
    print(readme_table())
