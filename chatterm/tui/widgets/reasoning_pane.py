"""The reasoning pane: the model's thoughts as plain text, appended, collapsible.

:class:`ReasoningLog` is a line-API widget in the manner of Textual's ``Log``, but it
wraps: text is kept as paragraphs, each wrapped once for the current width and cached
as strips. Appending re-wraps only from the start of the last wrapped line that begins
a word, which is all that new text can change (greedy wrapping decides each line from
where it starts), so an append costs the same at the end of a 40,000-character
paragraph as at its start.
Drawing a line looks it up by bisection, so the cost of a frame does not grow with the
length of the reasoning (``Static.update(full_text)`` per token fell seconds behind).
Text is never parsed as markup; callers pass it through
:func:`chatterm.text.safe_text` first.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widgets import Collapsible

from chatterm.tui.compat import divide_line
from chatterm.tui.widgets.paint_style import StylePerPaint

TAB_SIZE = 4
_NON_SPACE = re.compile(r"\S+")


def expand_tabs(text: str, column: int, tab_size: int = TAB_SIZE) -> tuple[str, int]:
    """Tabs to spaces, with stops every ``tab_size`` cells from the paragraph's start.

    Args:
        text: a piece of one paragraph (no newlines).
        column: the cell where the piece starts in its paragraph.

    Returns:
        The piece without tabs, and the cell where the next piece starts (as
        ``Text.expand_tabs`` would place them on the whole paragraph).
    """
    if "\t" not in text:
        return text, column + cell_len(text)
    parts: list[str] = []
    for index, part in enumerate(text.split("\t")):
        if index:
            spaces = tab_size - column % tab_size
            parts.append(" " * spaces)
            column += spaces
        parts.append(part)
        column += cell_len(part)
    return "".join(parts), column


def wrap_paragraph(console: Console, text: str, width: int) -> tuple[list[Strip], int, int]:
    """Wrap one paragraph (tabs expanded, no newlines) as ``Text.wrap`` with ``fold`` would.

    Returns:
        The wrapped lines; then where wrapping may start again when text is added (the
        offset in ``text`` of the last line that :func:`_resumes` allows) and how many
        lines from there to the end.
    """
    if not text:
        return [Strip.blank(0)], 0, 1
    offsets = divide_line(text, width, fold=True)
    strips: list[Strip] = []
    for line in Text(text, end="").divide(offsets):
        line.rstrip_end(width)
        line.truncate(width, overflow="fold")
        strips.append(Strip(line.render(console), line.cell_len))
    first_word_ends = len(text) - len(text.lstrip())  # leading spaces belong to it
    for back, offset in enumerate(reversed(offsets), 1):
        if _resumes(text, offset, width, offset > first_word_ends):
            return strips, offset, back
    return strips, 0, len(strips)


def _resumes(text: str, offset: int, width: int, after_first: bool) -> bool:
    """Whether wrapping ``text[offset:]`` (and whatever is added to it) on its own gives
    the lines that wrapping all of ``text`` gives from ``offset``.

    Greedy wrapping decides each line from where it starts, with one exception: where a
    word too long for a line was folded, the rest of it may fit on one line when wrapped
    alone and not break in its trailing spaces as the folded word did. So a line may be
    wrapped again from its start if it starts a word (the first word of a paragraph
    includes its leading spaces), or if the rest of the folded word it starts with is
    already too long for a line (it can only grow).
    """
    if text[offset].isspace():
        return False
    if text[offset - 1].isspace() and after_first:
        return True
    rest = _NON_SPACE.match(text, offset)
    return rest is not None and cell_len(rest.group()) > width


class WrappedText:
    """Plain text that only grows, soft-wrapped to a width and cached as strips.

    Once :meth:`wrap_to` has wrapped it for a width, :meth:`append` keeps the wrapping
    current, re-wrapping the last paragraph only from the start of its last line.
    """

    def __init__(self) -> None:
        self.paragraphs: list[str] = [""]
        self.lines: list[list[Strip]] = []  # wrapped lines of each paragraph
        self.starts: list[int] = []  # the first line of each paragraph
        self.width = 0  # what the lines were wrapped for (0: not wrapped)
        self._column = 0  # cells in the last paragraph, tabs expanded: where a tab stops
        self._tail = ""  # the end of the last paragraph, tabs expanded, that may re-wrap
        self._tail_lines = 1  # the lines ``_tail`` takes

    def clear(self) -> None:
        self.paragraphs = [""]
        self.lines, self.starts = [], []
        self.width = self._column = 0
        self._tail, self._tail_lines = "", 1

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)

    @property
    def line_count(self) -> int:
        return self.starts[-1] + len(self.lines[-1]) if self.lines else 0

    def append(self, text: str, console: Console) -> None:
        """Add text at the end (it may start mid-line and hold several lines)."""
        first, *rest = text.split("\n")
        self.paragraphs[-1] += first
        self.paragraphs.extend(rest)
        if not self.width:
            return  # wrapped in full when a width is known
        expanded, self._column = expand_tabs(first, self._column)
        tail_lines = self._tail_lines
        if expanded:
            source = self._tail + expanded
            strips, restart, self._tail_lines = wrap_paragraph(console, source, self.width)
            self.lines[-1][-tail_lines:] = strips
            self._tail = source[restart:]
        for paragraph in rest:
            self._add(paragraph, console)

    def wrap_to(self, width: int, console: Console) -> int:
        """Wrap everything for ``width`` unless it is already; return the line count."""
        width = max(1, width)
        if width != self.width:
            self.lines.clear()
            self.starts.clear()
            self.width = width
            for paragraph in self.paragraphs:
                self._add(paragraph, console)
        return self.line_count

    def _add(self, paragraph: str, console: Console) -> None:
        expanded, self._column = expand_tabs(paragraph, 0)
        strips, restart, self._tail_lines = wrap_paragraph(console, expanded, self.width)
        self.starts.append(self.line_count)
        self.lines.append(strips)
        self._tail = expanded[restart:]

    def line(self, y: int) -> Strip | None:
        """Wrapped line ``y``, or None past the end."""
        if not 0 <= y < self.line_count:
            return None
        index = bisect_right(self.starts, y) - 1
        return self.lines[index][y - self.starts[index]]


class ReasoningLog(StylePerPaint):
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
        self._text = WrappedText()

    @property
    def text(self) -> str:
        """Everything appended so far."""
        return self._text.text

    @property
    def line_count(self) -> int:
        """Wrapped lines at the last width drawn."""
        return self._text.line_count

    def append(self, text: str) -> None:
        """Add text at the end (it may start mid-line and hold several lines)."""
        if not text:
            return
        wrapped = self._text
        before, before_width = wrapped.line_count, wrapped.width
        wrapped.append(text, self.app.console)
        width = self.size.width
        if width:
            # Only a change in height needs a new layout; otherwise a repaint will do.
            after = wrapped.wrap_to(width, self.app.console)
            self.refresh(layout=after != before or wrapped.width != before_width)
        else:
            self.refresh(layout=True)

    def clear(self) -> None:
        self._text.clear()
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._text.wrap_to(width, self.app.console)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.line_style
        self._text.wrap_to(width, self.app.console)
        strip = self._text.line(y)
        if strip is None:
            return Strip.blank(width, style)
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
