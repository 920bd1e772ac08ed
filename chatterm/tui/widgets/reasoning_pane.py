"""The reasoning pane: the model's thoughts as plain text, appended, collapsible.

:class:`ReasoningLog` is a line-API widget in the manner of Textual's ``Log``, but it
wraps: text is kept as paragraphs, each wrapped once for the current width and cached
as strips, and appending re-wraps only the last paragraph. Drawing a line looks it up
by bisection, so the cost of a frame does not grow with the length of the reasoning
(``Static.update(full_text)`` per token fell seconds behind). Text is never parsed as
markup; callers pass it through :func:`chatterm.render.safe_text.safe_text` first.
"""

from __future__ import annotations

from bisect import bisect_right

from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Collapsible

TAB_SIZE = 4


class ReasoningLog(Widget):
    """Plain text that only grows, soft-wrapped, drawn line by line from a cache."""

    DEFAULT_CSS = """
    ReasoningLog {
        width: 1fr;
        height: auto;
        color: $text-muted;
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._paragraphs: list[str] = [""]
        self._wrapped: list[list[Strip]] = []  # wrapped lines of the first paragraphs
        self._starts: list[int] = []  # the first line of each wrapped paragraph
        self._width = 0

    @property
    def text(self) -> str:
        """Everything appended so far."""
        return "\n".join(self._paragraphs)

    @property
    def line_count(self) -> int:
        """Wrapped lines at the last width drawn."""
        return self._wrap_to(self._width) if self._width else 0

    def append(self, text: str) -> None:
        """Add text at the end (it may start mid-line and hold several lines)."""
        if not text:
            return
        before, before_width = self._wrapped_lines(), self._width
        first, *rest = text.split("\n")
        last = len(self._paragraphs) - 1
        self._paragraphs[last] += first
        self._paragraphs.extend(rest)
        del self._wrapped[last:]
        del self._starts[last:]
        width = self.size.width
        if width:
            # Only a change in height needs a new layout; otherwise a repaint will do.
            after = self._wrap_to(width)
            self.refresh(layout=after != before or self._width != before_width)
        else:
            self.refresh(layout=True)

    def clear(self) -> None:
        self._paragraphs = [""]
        self._wrapped.clear()
        self._starts.clear()
        self.refresh(layout=True)

    def _wrapped_lines(self) -> int:
        return self._starts[-1] + len(self._wrapped[-1]) if self._wrapped else 0

    def _wrap(self, paragraph: str, width: int) -> list[Strip]:
        if not paragraph:
            return [Strip.blank(0)]
        console = self.app.console
        text = Text(paragraph, end="")
        text.expand_tabs(TAB_SIZE)
        lines = text.wrap(console, width, overflow="fold")
        return [Strip(line.render(console), line.cell_len) for line in lines] or [Strip.blank(0)]

    def _wrap_to(self, width: int) -> int:
        """Wrap whatever is not wrapped yet for ``width``; return the number of lines."""
        width = max(1, width)
        if width != self._width:
            self._wrapped.clear()
            self._starts.clear()
            self._width = width
        total = self._wrapped_lines()
        for index in range(len(self._wrapped), len(self._paragraphs)):
            lines = self._wrap(self._paragraphs[index], width)
            self._starts.append(total)
            self._wrapped.append(lines)
            total += len(lines)
        return total

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._wrap_to(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        total = self._wrap_to(width)
        if y >= total or not self._starts:
            return Strip.blank(width, style)
        index = bisect_right(self._starts, y) - 1
        strip = self._wrapped[index][y - self._starts[index]]
        return strip.apply_style(style).extend_cell_length(width, style)


class ReasoningPane(Collapsible):
    """A collapsible "Reasoning" section holding a :class:`ReasoningLog`.

    Hidden until the first reasoning arrives, so models that do not reason show no pane.
    """

    DEFAULT_CSS = """
    ReasoningPane {
        background: transparent;
        border-top: none;
        padding: 0;
        margin: 0 0 1 0;
        &.-empty {
            display: none;
        }
        &:focus-within {
            background-tint: $foreground 3%;
        }
        & > Contents {
            padding: 0 1 0 3;
        }
        & > CollapsibleTitle {
            color: $text-muted;
            padding: 0;
        }
    }
    """

    def __init__(self, *, collapsed: bool = False, id: str | None = None) -> None:
        self.log_view = ReasoningLog()
        super().__init__(
            self.log_view, title="Reasoning", collapsed=collapsed, id=id, classes="-empty"
        )

    @property
    def text(self) -> str:
        return self.log_view.text

    def append(self, text: str) -> None:
        """Add reasoning text (already made safe) and show the pane."""
        if not text:
            return
        self.remove_class("-empty")
        self.log_view.append(text)
