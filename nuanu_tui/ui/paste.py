"""Pasted text is text: it never runs a command, quits or switches a view.

Two holes, both closed here:
- Textual's terminal parser reads an ESC inside a bracketed paste as the start of a key sequence and, when
  no sequence matches within 32 characters, re-issues those characters as *key presses*: a pasted
  `\\x1b` followed by `\\x11` became Ctrl+Q. `PasteSafeParser` takes everything between the paste markers
  as one `Paste` event, whatever it contains.
- A `Paste` event's text went into the input as is (control characters included), and only its first line
  was kept. `clean_paste` strips escape sequences and control characters and keeps the rest on one line.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from typing import Any

from textual import events
from textual._xterm_parser import XTermParser
from textual.message import Message

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other two-character escapes, then lone controls.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"[\t\r\n\u2028\u2029]+")


def clean_paste(text: str) -> str:
    """Escape sequences and control characters removed; line breaks and tabs become one space."""
    text = _ESCAPES.sub("", text)
    text = _BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


class PasteSafeParser(XTermParser):
    """Textual's parser, except that a bracketed paste is read up to its end marker as text, never keys.

    The start marker must arrive in one read (terminals write it with the pasted text); the end marker may
    be split across reads. A paste that itself contains the end marker still ends there: no parser can
    tell the two apart, which is why terminals filter it out of pastes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._paste: list[str] | None = None  # text of the paste being read, None outside a paste

    def feed(self, data: str) -> Iterable[Message]:
        if not data:  # end of input: an unfinished paste is still delivered, as text
            if self._paste is not None:
                text, self._paste = "".join(self._paste), None
                yield events.Paste(text.replace("\x00", ""))
            yield from super().feed(data)
            return
        while data:
            if self._paste is None:
                start = data.find(PASTE_START)
                if start < 0:
                    yield from super().feed(data)
                    return
                if start:
                    yield from super().feed(data[:start])
                self._paste, data = [], data[start + len(PASTE_START) :]
                continue
            self._paste.append(data)
            joined = "".join(self._paste)
            end = joined.find(PASTE_END)
            if end < 0:
                self._paste = [joined]
                return
            self._paste = None
            yield events.Paste(joined[:end].replace("\x00", ""))
            data = joined[end + len(PASTE_END) :]


def install_paste_guard() -> None:
    """Make Textual's terminal drivers read input with `PasteSafeParser` (textual is pinned exactly)."""
    if sys.platform == "win32":
        from textual.drivers import win32 as driver
    else:
        from textual.drivers import linux_driver as driver
    driver.XTermParser = PasteSafeParser  # type: ignore[misc]
