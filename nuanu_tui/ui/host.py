"""What a screen (or the command palette) may use of the app: a typed seam, so no view imports `NuanuApp`
and the app, its commands and its screens form no import circle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.screen import Screen

    from nuanu_tui.ui.link import EngineLink


class NuanuHost(Protocol):
    """The app as its views see it: the shared engine link, the operator's switches, the engine's start."""

    link: EngineLink
    interrupt_mode: bool
    instant: bool
    live_status: bool

    def start_engine(self, target: Screen[Any]) -> None: ...

    def has_mode(self, name: str) -> bool: ...
