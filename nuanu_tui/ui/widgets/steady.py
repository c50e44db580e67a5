"""A Static whose updates repaint in place and ask for a layout only when its height really changes.

Textual lays out the whole screen for any `refresh(layout=True)`, and `Static.update` always asks for one:
with twenty transcript cards, a picker and a waterfall, that is ~30 ms of CPU per streamed text chunk.
Most updates (the next words of a remark, a new TTFA in a footer, the status lines) keep the line count.
"""

from __future__ import annotations

from textual.visual import VisualType
from textual.widgets import Static


class SteadyStatic(Static):
    """`show(content)`: no-op if unchanged, repaint if the height is the same, relayout only if it is not."""

    def show(self, content: VisualType) -> None:
        if content == self.content:
            return
        width = self.outer_size.width - self.styles.gutter.width
        if width <= 0 or not self.display:  # never laid out (or hidden): let the layout measure it
            self.update(content)
            return
        container, viewport = self.container_size, self.app.size
        old = self.get_content_height(container, viewport, width)  # cached since the last layout
        self.update(content, layout=False)
        if self.get_content_height(container, viewport, width) != old:
            self.refresh(layout=True)
