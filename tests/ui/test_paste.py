"""Pasted text never runs a command, quits or switches a view; its text is kept without control characters."""

from __future__ import annotations

from typing import Any

from textual import events
from textual._xterm_parser import XTermParser
from ui_fakes import FakeEngine, fake_app, ready

from nuanu_tui.ui.paste import PASTE_END, PASTE_START, PasteSafeParser, clean_paste, install_paste_guard
from nuanu_tui.ui.widgets.trigger_input import TriggerInput

SIZE = (120, 40)
# What a terminal sends for a paste holding an escape sequence, then Ctrl+Q (quit), Ctrl+T (compare view),
# Ctrl+G (history), Enter and a colour code: a copy from a log file or another terminal.
HOSTILE = "две собаки \x1b слева\x11\x14\x07\x1b[31m красные\x1b[0m\r\nи \x1b]0;title\x07кот\x7f\x9b1m"
RAW = PASTE_START + HOSTILE + PASTE_END


def keys(tokens: list[Any]) -> list[str]:
    return [t.key for t in tokens if isinstance(t, events.Key)]


def test_textual_parser_turns_a_pasted_escape_into_key_presses() -> None:
    """Why the guard exists: the stock parser re-issues the characters after a pasted ESC as keys."""
    tokens = list(XTermParser().feed(RAW))
    assert "ctrl+q" in keys(tokens)


def test_paste_safe_parser_reads_the_whole_paste_as_text() -> None:
    tokens = list(PasteSafeParser().feed("a" + RAW + "b"))
    assert keys(tokens) == ["a", "b"]
    pastes = [t for t in tokens if isinstance(t, events.Paste)]
    assert len(pastes) == 1 and pastes[0].text == HOSTILE


def test_paste_end_marker_split_across_reads() -> None:
    parser = PasteSafeParser()
    tokens = list(parser.feed(PASTE_START + "привет\x11" + PASTE_END[:3]))
    assert tokens == []
    tokens = list(parser.feed(PASTE_END[3:] + "x"))
    assert [t.text for t in tokens if isinstance(t, events.Paste)] == ["привет\x11"]
    assert keys(tokens) == ["x"]


def test_clean_paste_keeps_the_text() -> None:
    assert clean_paste(HOSTILE) == "две собаки  слева красные и кот"


def test_install_paste_guard_swaps_the_driver_parser() -> None:
    from textual.drivers import linux_driver

    original = linux_driver.XTermParser
    try:
        install_paste_guard()
        assert linux_driver.XTermParser is PasteSafeParser
    finally:
        linux_driver.XTermParser = original  # type: ignore[misc]


async def test_a_hostile_paste_is_text_in_the_console() -> None:
    engine = FakeEngine()
    app = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        for token in PasteSafeParser().feed(RAW):  # what the driver posts for these bytes
            app.post_message(token)
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and app.current_mode == "console"
        field = app.screen.query_one(TriggerInput)
        assert field.value == "две собаки  слева красные и кот"
        assert engine.calls == []  # nothing was sent: Enter inside a paste is not Enter


async def test_a_paste_while_a_card_has_focus_goes_to_the_trigger_input() -> None:
    app = fake_app(FakeEngine())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.screen.set_focus(None)
        app.post_message(events.Paste("слон\x1b[2J на мопеде\x03"))
        await pilot.pause()
        await pilot.pause()
        field = app.screen.query_one(TriggerInput)
        assert field.value == "слон на мопеде" and field.has_focus
        assert app.is_running
