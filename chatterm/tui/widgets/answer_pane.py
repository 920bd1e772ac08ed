"""The answer pane: streamed Markdown whose cost per frame stays flat.

The answer is cut into segments (:mod:`chatterm.tui.segments`). Each finished segment is
rendered once, with Rich's Markdown renderer, into lines that :class:`FrozenMarkdown`
keeps and draws line by line (as Textual's ``Log`` does); only the live segment, the tail,
is rendered again when more text arrives, in a :class:`MarkdownSegment`. The caller applies
text once per frame, not once per token.

Why not a widget per segment: Textual lays out every widget of the conversation on each
frame, so a frame's cost grew with the number of segments (measured: 11 ms at the start
of a 20k-token answer, 38 ms at its end, with 100 segment widgets). With all finished
segments in one widget the pane is two widgets however long the answer grows. A single
growing Markdown widget, or ``MarkdownStream``, falls further behind still (see
ARCHITECTURE.md, TUI).

Text must already have gone through ``safe_text``; Rich's Markdown never reads Rich markup.
"""

from __future__ import annotations

from bisect import bisect_right

from textual.app import ComposeResult
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from chatterm.tui.markdown_look import MarkdownLook, ThemedMarkdown, markdown_look
from chatterm.tui.segments import SegmentSplitter, split_all


class MarkdownSegment(Static):
    """The live segment: Markdown source drawn with the theme's look, redrawn per frame."""

    DEFAULT_CSS = """
    MarkdownSegment {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, source: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source

    def on_mount(self) -> None:
        self.set_source(self.source)

    def set_source(self, source: str, look: MarkdownLook | None = None) -> None:
        self.source = source
        self.display = bool(source)
        if source:
            self.update(ThemedMarkdown(source, look or markdown_look(self.app)))


class FrozenMarkdown(Widget):
    """Finished segments, each rendered once to lines at the current width.

    A segment ends at a blank line, so a blank line follows each one. A new width or a
    new theme renders them all again, once, when the widget is next laid out.
    """

    DEFAULT_CSS = """
    FrozenMarkdown {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sources: list[str] = []
        self._lines: list[list[Strip]] = []  # rendered lines of the first sources
        self._starts: list[int] = []  # the first line of each rendered source
        self._width = 0
        self._look: MarkdownLook | None = None

    def add(self, source: str) -> None:
        """Freeze one more segment."""
        self.sources.append(source)
        self.refresh(layout=True)

    def replace_from(self, index: int, sources: list[str]) -> None:
        """Keep the first ``index`` segments; the given ones follow them."""
        del self.sources[index:]
        del self._lines[index:]
        del self._starts[index:]
        self.sources.extend(sources)
        self.refresh(layout=True)

    def restyle(self) -> None:
        self._lines.clear()
        self._starts.clear()
        self.refresh(layout=True)

    @property
    def line_count(self) -> int:
        return self._starts[-1] + len(self._lines[-1]) if self._lines else 0

    def _render_to(self, width: int) -> int:
        """Render the segments not rendered yet for ``width``; return the number of lines."""
        width = max(1, width)
        look = markdown_look(self.app)
        if width != self._width or look is not self._look:
            self._lines.clear()
            self._starts.clear()
            self._width, self._look = width, look
        total = self.line_count
        console = self.app.console
        options = self.app.console_options.update(width=width, highlight=False)
        for source in self.sources[len(self._lines) :]:
            lines = console.render_lines(ThemedMarkdown(source, look), options, pad=False)
            strips = [Strip(line) for line in lines]
            strips.append(Strip.blank(0))
            self._starts.append(total)
            self._lines.append(strips)
            total += len(strips)
        return total

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._render_to(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        total = self._render_to(width)
        if y >= total:
            return Strip.blank(width, style)
        index = bisect_right(self._starts, y) - 1
        strip = self._lines[index][y - self._starts[index]]
        return strip.apply_style(style).crop_extend(0, width, style)


class AnswerPane(Widget):
    """Frozen segments in one widget, followed by the live segment."""

    DEFAULT_CSS = """
    AnswerPane {
        width: 1fr;
        height: auto;
        layout: vertical;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.frozen = FrozenMarkdown()
        self.live = MarkdownSegment()
        self._splitter = SegmentSplitter()
        self._parts: list[str] = []

    def compose(self) -> ComposeResult:
        yield self.frozen
        yield self.live

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    @property
    def text(self) -> str:
        """The answer so far, as appended."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def sources(self) -> list[str]:
        """The Markdown source of each segment shown, frozen ones first."""
        return [*self.frozen.sources, *([self.live.source] if self.live.source else [])]

    def append(self, text: str) -> None:
        """Add answer text: freeze the segments it finishes, redraw the live one."""
        if not text:
            return
        self._parts.append(text)
        for source in self._splitter.feed(text):
            self.frozen.add(source)
        self.live.set_source(self._splitter.tail)

    def finish(self, text: str | None = None) -> None:
        """Render the whole answer once more, all of it frozen.

        Segments already frozen from the same source keep their rendered lines (drawn
        from that source alone, they would come out the same); the rest, usually only
        the live tail, are rendered afresh from ``text``.

        Args:
            text: the final answer (already made safe); by default what was appended.
        """
        if text is None:
            text = self.text
        elif text != self.text:
            self._parts = [text]
        sources = split_all(text, self._splitter.max_lines, self._splitter.max_fence_lines)
        frozen = self.frozen.sources
        keep = 0
        while keep < min(len(frozen), len(sources)) and frozen[keep] == sources[keep]:
            keep += 1
        self.frozen.replace_from(keep, sources[keep:])
        self.live.set_source("")
        self._splitter = SegmentSplitter(self._splitter.max_lines, self._splitter.max_fence_lines)

    def reset(self) -> None:
        """Forget the answer (its text turned out to be reasoning)."""
        self.frozen.replace_from(0, [])
        self.live.set_source("")
        self._parts = []
        self._splitter = SegmentSplitter(self._splitter.max_lines, self._splitter.max_fence_lines)

    def _theme_changed(self) -> None:
        self.frozen.restyle()
        self.live.set_source(self.live.source)
