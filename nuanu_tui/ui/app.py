"""NuanuApp: the Textual shell. Modes: console now; compare, bench, history register themselves when present."""

from __future__ import annotations

import argparse
import importlib
from pathlib import PurePath
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from nuanu_tui.ui.commands import NuanuCommands
from nuanu_tui.ui.link import EngineFactory, EngineLink, engine_factory
from nuanu_tui.ui.paste import clean_paste, install_paste_guard
from nuanu_tui.ui.screens.console import ConsoleScreen

OPTIONAL_MODES = {
    "compare": ("nuanu_tui.ui.screens.compare", "CompareScreen"),
    "bench": ("nuanu_tui.ui.screens.bench", "BenchScreen"),
    "history": ("nuanu_tui.ui.screens.history", "HistoryScreen"),
    "ride": ("nuanu_tui.ui.screens.ride", "RideScreen"),
}
QUIT_TIMEOUT_S = 6.0


def available_modes() -> dict[str, type[Screen[Any]]]:
    """Console always; the other views as soon as their screen modules exist."""
    modes: dict[str, type[Screen[Any]]] = {"console": ConsoleScreen}
    for name, (module, cls) in OPTIONAL_MODES.items():
        try:
            modes[name] = getattr(importlib.import_module(module), cls)
        except (ImportError, AttributeError):
            continue
    return modes


class NuanuApp(App[int]):
    """Owns the engine link (and so the engine thread); screens reach it through `NuanuHost` (ui/host.py) and
    observe it through messages."""

    TITLE = "nuanu-tui"
    CSS_PATH: ClassVar[list[str | PurePath]] = [
        "tcss/base.tcss",
        "tcss/console.tcss",
        "tcss/compare.tcss",
        "tcss/bench.tcss",
        "tcss/history.tcss",
        "tcss/ride.tcss",
    ]
    MODES = available_modes()  # type: ignore[assignment]
    DEFAULT_MODE = "console"
    COMMANDS = App.COMMANDS | {NuanuCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
        # View switching works everywhere; hidden here, each non-console view shows its own hints.
        Binding("ctrl+o", "open_mode('console')", "Console", show=False, id="mode-console"),
        Binding("ctrl+t", "open_mode('compare')", "Compare", show=False, id="mode-compare"),
        Binding("ctrl+n", "open_mode('bench')", "Bench", show=False, id="mode-bench"),
        Binding("ctrl+g", "open_mode('history')", "History", show=False, id="mode-history"),
        Binding("ctrl+y", "open_mode('ride')", "Ride", show=False, id="mode-ride"),
    ]

    def __init__(
        self, link: EngineLink, *, interrupt: bool = False, live_status: bool = True, instant: bool = True
    ) -> None:
        super().__init__()
        self.link = link
        self.interrupt_mode = interrupt
        self.instant = instant  # the picker's switch starts where NUANU_INSTANT put the engine
        self.live_status = live_status
        self._engine_started = False

    def start_engine(self, target: Screen[Any]) -> None:
        """Create the engine once, for the whole app lifetime (so the worker lives on the App). Every view
        that asks hears when the engine goes down and comes back."""
        self.link.watch(target)
        if not self._engine_started:
            self._engine_started = True
            self._open_engine(target)

    @work(group="engine", exit_on_error=False, description="create and warm the engine")
    async def _open_engine(self, target: Screen[Any]) -> bool:
        return await self.link.open(target)

    def has_mode(self, name: str) -> bool:
        return name in self.MODES

    def action_open_mode(self, name: str) -> None:
        if self.has_mode(name) and self.current_mode != name:
            self.switch_mode(name)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Paste) and not event.is_forwarded:
            event.text = clean_paste(event.text)  # every input gets text only, on one line
        await super().on_event(event)

    async def action_quit(self) -> None:
        """Close sockets and stop audio (bounded), then leave."""
        await self.link.aclose(QUIT_TIMEOUT_S)
        self.exit(0)

    async def on_unmount(self) -> None:
        await self.link.aclose(QUIT_TIMEOUT_S)


def make_app(
    settings: Any,
    *,
    llm: str | None = None,
    tts: str | None = None,
    audio: str | None = None,
    demo: bool = False,
    output_format: str | None = None,
    factory: EngineFactory | None = None,
    live_status: bool = True,
    separate_process: bool = True,
    launched: Any = None,
) -> NuanuApp:
    """One factory for the CLI and the tests."""
    fmt = output_format or getattr(settings, "output_format", None)
    if factory is None:
        factory = engine_factory(
            settings,
            separate_process=separate_process,
            launched=launched,
            llm=llm,
            tts=tts,
            audio=audio,
            demo=demo,
            output_format=fmt,
        )
    link = EngineLink(factory, output_format=fmt or "", settings=settings)
    return NuanuApp(
        link,
        interrupt=bool(getattr(settings, "interrupt", False)),
        live_status=live_status,
        instant=bool(getattr(settings, "instant", True)),
    )


def run_app(args: argparse.Namespace, settings: Any, launched: Any = None) -> int:
    app = make_app(
        settings,
        launched=launched,
        llm=getattr(args, "llm", None),
        tts=getattr(args, "tts", None),
        audio=getattr(args, "audio", None),
        demo=bool(getattr(args, "demo", False)),
        output_format=getattr(args, "output_format", None),
    )
    install_paste_guard()
    app.run()
    return app.return_code or 0
