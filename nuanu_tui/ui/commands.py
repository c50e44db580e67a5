"""Command palette: fire seed triggers, switch provider/voice/format, toggle interrupt, open other views."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from nuanu_tui.ui.keys import does

if TYPE_CHECKING:
    from nuanu_tui.ui.screens.console import ConsoleScreen

MODE_TITLES = {
    "console": "console",
    "compare": "compare view",
    "bench": "bench view",
    "history": "history view",
    "ride": "ride view",
}


DISCOVERABLE = (
    "Speak seed",
    "Open ",
    "Toggle",
    "Stop",
    "Clear the queue",
    "Compare: speak",
    "Compare: heard",
    "Compare: lane",
    "Prompt: ",
    "Compare: toggle",
    "Compare: reset",
    "Compare: stop",
    "Bench: start",
    "Bench: cancel",
    "Bench: open",
    "Bench: triggers",
    "History: ",
)


def _mode_commands(screen: object) -> list[tuple[str, str, Callable[[], object]]]:
    """Actions of the compare, bench and history views (only while that view is shown)."""
    from nuanu_tui.ui.screens.bench import BenchScreen
    from nuanu_tui.ui.screens.compare import CompareScreen
    from nuanu_tui.ui.screens.history import HistoryScreen

    out: list[tuple[str, str, Callable[[], object]]] = []
    if isinstance(screen, CompareScreen):
        for i, seed in enumerate(screen.link.catalog.seeds, start=1):
            out.append(
                (
                    f"Compare: speak seed {i}: {seed}",
                    "Both lanes, same instant (F1–F5)",
                    partial(screen.fire, seed),
                )
            )
        for lane, name in ((0, "A"), (1, "B")):
            for spec in screen.llm_options:
                out.append(
                    (
                        f"Compare: lane {name} → {spec}",
                        f"LLM of lane {name} from the next round",
                        partial(screen.set_lane, lane, spec),
                    )
                )
        for lane, name in ((0, "A"), (1, "B")):
            for prompt in screen.link.catalog.prompts:
                out.append(
                    (
                        f"Compare: lane {name} prompt → {prompt}",
                        f"Prompt file of lane {name} from the next round (prompts race too)",
                        partial(screen.set_lane_prompt, lane, prompt),
                    )
                )
        for value, label in ((None, "first to audio"), (0, "lane A"), (1, "lane B")):
            out.append(
                (
                    f"Compare: heard = {label}",
                    "Which lane plays on the speaker (F6)",
                    partial(screen.set_audible, value),
                )
            )
        for lane, name in ((0, "A"), (1, "B")):
            out.append(
                (
                    f"Compare: toggle instant reaction, lane {name}",
                    f"An interjection before lane {name}'s remark, from the next round",
                    partial(screen.toggle_instant, lane),
                )
            )
        out.append(
            (
                "Compare: toggle sequential",
                "Lanes one after the other, both heard (F7)",
                screen.action_toggle_sequential,
            )
        )
        out.append(
            (
                "Compare: toggle arena (blind vote)",
                "Lanes as A and B in random order, hidden until you vote: ← A, → B, ↓ tie, s skip (F10)",
                screen.action_toggle_arena,
            )
        )
        out.append(("Compare: reset tally", "Forget the score (F8)", screen.action_reset))
        out.append(("Compare: stop round", "Cancel both lanes (Esc)", screen.action_stop))
    elif isinstance(screen, BenchScreen):
        out.append(
            ("Bench: start", "Run the benchmark with the settings shown (ctrl+r)", screen.action_start)
        )
        out.append(("Bench: cancel", "Stop now, keep finished runs (Esc)", screen.action_cancel))
        out.append(
            (
                "Bench: open slowest waterfall",
                "The slowest utterance's stages (F7)",
                screen.action_open_slowest,
            )
        )
        for name in screen.link.catalog.trigger_sets:
            out.append(
                (f"Bench: triggers = {name}", "Trigger set", partial(screen.set_config, triggers=name))
            )
        for spec in screen.link.catalog.llm_presets:
            out.append(
                (f"Bench: only {spec}", "Benchmark this LLM alone", partial(screen.set_config, llms=[spec]))
            )
    elif isinstance(screen, HistoryScreen):
        out.append(("History: refresh", "Read the store again (F5)", screen.action_refresh))
        out.append(
            (
                "History: export CSV",
                "Filtered utterances to the path shown (F3)",
                partial(screen.action_export, "csv"),
            )
        )
        out.append(
            (
                "History: export JSON",
                "Filtered utterances to the path shown (F4)",
                partial(screen.action_export, "json"),
            )
        )
        out.append(("History: all providers", "Clear the provider filter", partial(screen.filter, None)))
        out.append(
            ("History: any quality", "Clear the quality-flag filter", partial(screen.filter_flag, None))
        )
        for flag in screen.link.catalog.quality_flags:
            out.append(
                (
                    f"History: flagged {flag}",
                    "Only remarks the rubric flagged so",
                    partial(screen.filter_flag, flag),
                )
            )
        for provider in screen.data.get("providers", []):
            out.append(
                (f"History: only {provider}", "Filter by provider or spec", partial(screen.filter, provider))
            )
    return out


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
        out.extend(_mode_commands(screen))
        if not isinstance(screen, ConsoleScreen):
            return out
        console: ConsoleScreen = screen
        for i, seed in enumerate(console.link.catalog.seeds, start=1):
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
        for name in console.link.catalog.prompts:
            out.append(
                (
                    f"Prompt: {name}",
                    "Ask the character with this prompt file from the next utterance",
                    partial(console.switch_prompt, name),
                )
            )
        for fmt in picker.formats:
            out.append(
                (f"Output format: {fmt}", "ElevenLabs output format", partial(console.switch_tts, None, fmt))
            )
        if console.status is not None and console.status.simulated:
            for name, rtt_ms, jitter_ms, loss_pct in console.link.catalog.net_profiles:
                out.append(
                    (
                        f"Network: {name}",
                        f"Emulated link, live: {rtt_ms:g} ms RTT, {jitter_ms:g} ms jitter, {loss_pct:g} % loss",
                        partial(console.switch_net, name),
                    )
                )
        out.append(
            (
                "Toggle queue / interrupt",
                "What a new trigger does while one plays",
                console.action_toggle_mode,
            )
        )
        out.append(("Stop speaking", does("stop"), console.action_stop))
        out.append(("Clear the queue", does("clear_queue"), console.action_clear_queue))
        out.append(("Toggle side panel and waterfall", does("toggle_panels"), console.action_toggle_panels))
        return out

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            if title.startswith(DISCOVERABLE):
                yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
