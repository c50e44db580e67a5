"""A Static whose updates repaint in place and ask for a layout only when its height really changes.

Textual lays out the whole screen for any `refresh(layout=True)`, and `Static.update` always asks for one:
with twenty transcript cards, a picker and a waterfall, that is ~30 ms of CPU per streamed text chunk.
Most updates (the next words of a remark, a new TTFA in a footer, the status lines) keep the line count.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.visual import VisualType
from textual.widgets import Static


def quiet_virtual_size() -> Reactive[Size]:
    """A `virtual_size` reactive that repaints instead of asking for a layout.

    Textual declares `virtual_size` with layout=True, and sets it during a layout for every widget whose size
    changed: each new card (or a remark growing a line) buys a second full-screen layout in the next frame.
    That layout is redundant for widgets whose virtual size is set only by layout itself (the arrangement
    and the scrollbars are already updated in that same layout), as Textual's own scroll path assumes.
    """
    return Reactive(Size(0, 0), layout=False)


class SteadyStatic(Static):
    """`show(content)`: no-op if unchanged, repaint if the height is the same, relayout only if it is not."""

    virtual_size = quiet_virtual_size()

    def show(self, content: VisualType) -> None:
        if content == self.content:
            return
        width = self.outer_size.width - self.styles.gutter.width
        if width <= 0 or not self.display:
            # Not laid out yet (just mounted: its first layout is already pending and will measure this
            # content) or hidden (showing it is a style change, which lays out): no layout of our own.
            self.update(content, layout=False)
            return
        container, viewport = self.container_size, self.app.size
        old = self.get_content_height(container, viewport, width)  # cached since the last layout
        self.update(content, layout=False)
        if self.get_content_height(container, viewport, width) != old:
            self.refresh(layout=True)
