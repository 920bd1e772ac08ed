"""A line-based widget's style, worked out once per paint rather than once per line.

Textual's ``Widget.rich_style`` walks the styles of every ancestor each time it is read,
and the answer panes, the reasoning log and a comparison's columns read it for every line
they draw: about a third of drawing a line (README, Performance). A paint asks a widget
for its lines in one ``render_lines`` call, so the style is read once there and used by
each ``render_line`` of that call; outside a paint, :attr:`StylePerPaint.line_style` reads
it afresh, so a changed style is never missed.
"""

from __future__ import annotations

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class StylePerPaint(Widget):
    """A mixin, listed before Widget: :attr:`line_style` is ``rich_style``, read once a paint."""

    _paint_style: Style | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._paint_style = None

    @property
    def line_style(self) -> Style:
        """The widget's style for drawing its lines."""
        style = self._paint_style
        return style if style is not None else self.rich_style
