"""Command palette: fire seed triggers, switch provider/voice/format, toggle interrupt, open other views."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from nuanu_tui.ui.screens.console import ConsoleScreen

MODE_TITLES = {
    "console": "console",
    "compare": "compare view",
    "bench": "bench view",
    "history": "history view",
}


class NuanuCommands(Provider):
    """Everything here is computed from in-memory state, so discovery stays instant (textual #6701)."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        from nuanu_tui.ui.screens.console import ConsoleScreen

        app = self.app
        out: list[tuple[str, str, Callable[[], object]]] = []
        for name, title in MODE_TITLES.items():
            if getattr(app, "has_mode", lambda _n: False)(name):
                out.append((f"Open {title}", f"Switch to the {title}", partial(app.switch_mode, name)))
        screen = self.screen
        if not isinstance(screen, ConsoleScreen):
            return out
        console: ConsoleScreen = screen
        for i, seed in enumerate(console.bridge.catalog.seeds, start=1):
            out.append(
                (f"Speak seed {i}: {seed}", "Fire a seed trigger (F1–F5)", partial(console.fire, seed))
            )
        from nuanu_tui.ui.widgets.provider_picker import ProviderPicker

        picker = console.query_one(ProviderPicker)
        for spec in picker.llms:
            out.append(
                (
                    f"Switch LLM: {spec}",
                    "Use this LLM from the next utterance",
                    partial(console.switch_llm, spec),
                )
            )
        for spec in picker.tts_choices:
            out.append(
                (
                    f"Switch TTS: {spec}",
                    "Use this voice/model from the next utterance",
                    partial(console.switch_tts, spec),
                )
            )
        for fmt in picker.formats:
            out.append(
                (f"Output format: {fmt}", "ElevenLabs output format", partial(console.switch_tts, None, fmt))
            )
        out.append(
            (
                "Toggle queue / interrupt",
                "What a new trigger does while one plays",
                console.action_toggle_mode,
            )
        )
        out.append(
            ("Stop speaking", "Interrupt the current utterance and clear the queue", console.action_stop)
        )
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            if title.startswith(("Speak seed", "Open ", "Toggle", "Stop")):
                yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
