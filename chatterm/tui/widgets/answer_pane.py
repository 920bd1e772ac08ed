"""The answer pane: streamed Markdown whose cost per frame stays flat.

The answer is cut into segments (:mod:`chatterm.tui.segments`). Each finished segment is
rendered once, with Rich's Markdown renderer, into lines that :class:`FrozenMarkdown`
keeps (:class:`~chatterm.tui.widgets.markdown_lines.FrozenSegments`) and draws line by
line (as Textual's ``Log`` does); only the live segment, the tail,
is rendered again when more text arrives, in a :class:`MarkdownSegment`. The caller applies
text once per frame, not once per token. The live segment grows ``LIVE_GROWTH_LINES`` at a
time: a frame whose text fits the room left repaints that segment alone, where a layout
moves the view and repaints the whole screen (README, Performance).

Why not a widget per segment: Textual lays out every widget of the conversation on each
frame, so a frame's cost grew with the number of segments (bench/run.py's
``frame_cost_ratio``). With all finished segments in one widget the pane is two widgets
however long the answer grows. A single growing Markdown widget, or Textual's
``MarkdownStream``, renders the whole answer again as it grows, and falls further behind.

A new width (or theme) does not render every segment again at once, which took a quarter
of a second per long answer and froze the UI while the terminal was being resized.
Segments keep their old lines, and their old heights stand in for the new ones; a segment
is rendered afresh when one of its lines is drawn, so what is on screen is right at once,
and the rest follow a few at a time once the width has stopped changing
(:class:`_Rewrapper`), the newest first.

Text must already have gone through ``safe_text``; Rich's Markdown never reads Rich markup.
A segment nested too deep, or too big, is drawn as plain text instead
(:mod:`chatterm.tui.markdown.hostile`), so hostile Markdown cannot stall the event loop.
"""

from __future__ import annotations

import time
from typing import Any
from weakref import WeakKeyDictionary, ref

from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from chatterm.tui.compat import NoLayoutOnResize
from chatterm.tui.markdown.look import MarkdownLook, markdown_look
from chatterm.tui.segments import SegmentSplitter, split_all
from chatterm.tui.widgets.markdown_lines import (
    AppendedText,
    FrozenSegments,
    Lines,
    RenderKey,
    draw,
    render_markdown,
)
from chatterm.tui.widgets.paint_style import StylePerPaint

LIVE_GROWTH_LINES = 8  # the live segment's room grows this many lines at a time
REWRAP_DELAY_S = 0.2  # after the last width change, before re-rendering what is off screen
REWRAP_TICK_S = 1 / 30  # then a slice of re-rendering this often ...
REWRAP_SLICE_S = 0.008  # ... of at most about this long (one segment may overrun it)


class MarkdownSegment(NoLayoutOnResize, StylePerPaint):
    """The live segment: Markdown source drawn with the theme's look, redrawn per frame.

    Rendered once per change of source (or width, or look), however often Textual asks
    for its height and its lines in between: a ``Static`` holding the renderable rendered
    it for its height and again for its lines, so the Markdown of every frame was parsed
    and laid out twice.
    """

    DEFAULT_CSS = """
    MarkdownSegment {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, source: str = "", *, id: str | None = None, growth: int = 1) -> None:
        super().__init__(id=id)
        #: lines the segment grows by at a time (room for the text to come: a frame that
        #: fits repaints this segment only, without a layout that moves the view)
        self.growth = growth
        self.source = source
        self.display = bool(source)
        self._lines: Lines = []
        self._key: RenderKey | None = None  # what ``_lines`` were rendered for
        self._look: MarkdownLook | None = None  # given with the source, else the app's

    def set_source(self, source: str, look: MarkdownLook | None = None) -> None:
        was_shown = self.display and self._key is not None
        height = self._room(len(self._lines))
        self.source = source
        self._look = look
        self._key = None
        width = self.size.width
        if source and was_shown and width:
            # Drawn before at this width: render now, and lay the screen out again only
            # if the height changed. At the pace of a real model most frames add a few
            # words to the last line, and a repaint of this widget is all they need
            # (a layout moves and redraws everything on screen).
            self.refresh(layout=self._room(len(self._lines_for(width))) != height)
            return
        self.display = bool(source)
        self.refresh(layout=True)

    def _lines_for(self, width: int) -> Lines:
        key = (max(1, width), self._look or markdown_look(self.app))
        if key != self._key:
            self._key = key
            self._lines = render_markdown(self.app, self.source, key) if self.source else []
        return self._lines

    def rendered_as(self, source: str) -> tuple[RenderKey, Lines] | None:
        """The lines last rendered, and what for, if they were rendered from ``source``."""
        if self._key is None or source != self.source:
            return None
        return self._key, self._lines

    def _room(self, lines: int) -> int:
        return -(-lines // self.growth) * self.growth

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._room(len(self._lines_for(width)))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.line_style
        lines = self._lines_for(width)
        if y >= len(lines):
            return Strip.blank(width, style)
        return draw(lines[y], width, style)


class FrozenMarkdown(NoLayoutOnResize, StylePerPaint):
    """Finished segments, each rendered once to lines for the current width and look
    (:class:`~chatterm.tui.widgets.markdown_lines.FrozenSegments`), drawn line by line."""

    DEFAULT_CSS = """
    FrozenMarkdown {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._store = FrozenSegments()

    @property
    def sources(self) -> list[str]:
        return self._store.sources

    @property
    def rendered(self) -> list[Lines | None]:
        """Each segment's rendered lines (None before it is first rendered)."""
        return self._store.rendered

    @property
    def stale(self) -> int:
        """Segments still drawn as they were rendered for another width or look."""
        return self._store.stale

    @property
    def line_count(self) -> int:
        return self._store.total()

    def add(self, source: str, rendered: tuple[RenderKey, Lines] | None = None) -> None:
        """Freeze one more segment (with its lines if the live segment drew this very
        source, and what they were rendered for)."""
        self._store.add(source, rendered)
        self.refresh(layout=True)

    def replace_from(self, index: int, sources: list[str], *, finished: bool = False) -> None:
        """Keep the first ``index`` segments; the given ones follow them (all of a
        finished answer if ``finished``: its last segment is then followed by a gap)."""
        self._store.replace_from(index, sources, finished=finished)
        self.refresh(layout=True)

    def restyle(self) -> None:
        """The theme changed: segments are rendered again (lazily) with the new look."""
        self.refresh(layout=True)

    def _sync(self, width: int) -> int:
        """Make ``width`` and the app's look current and render segments never rendered
        (the others keep their lines, and heights, until drawn or re-rendered in the
        background); return the number of lines."""
        if self._store.set_key((max(1, width), markdown_look(self.app))) and self.stale:
            _rewrapper(self.app).add(self)
        return self._store.render_new(self.app)

    def rewrap_some(self, deadline: float) -> bool:
        """Render stale segments, the last first, until ``deadline``; True when done."""
        if self._store.rewrap_some(self.app, deadline):
            self.refresh(layout=True)
        return not self.stale

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._sync(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.line_style
        self._sync(width)
        line, moved = self._store.line(self.app, y)
        if moved:  # on screen, so rendered now for the new width: its height changed
            self.refresh(layout=True)
        return draw(line or [], width, style) if line is not None else Strip.blank(width, style)


class _Rewrapper:
    """Re-renders stale segments of every answer in slices, off the critical path.

    One per app, so that however many answers there are, a tick does a bounded amount of
    work and the UI stays responsive while a long conversation re-wraps after a resize.
    """

    def __init__(self, app: App[Any]) -> None:
        self._app = ref(app)  # weak, as the widgets are: the rewrapper keeps nothing alive
        self._pending: WeakKeyDictionary[FrozenMarkdown, None] = WeakKeyDictionary()
        self._timer: Timer | None = None

    def add(self, widget: FrozenMarkdown) -> None:
        self._pending[widget] = None
        # Wait until the width has settled: each new one restarts the delay.
        self._schedule(REWRAP_DELAY_S)

    def _schedule(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        app = self._app()
        self._timer = app.set_timer(delay, self._tick) if app is not None else None

    def _tick(self) -> None:
        self._timer = None
        deadline = time.perf_counter() + REWRAP_SLICE_S
        for widget in reversed(list(self._pending)):  # the newest answers first
            if not widget.is_attached or widget.rewrap_some(deadline):
                del self._pending[widget]
            if time.perf_counter() >= deadline:
                break
        if self._pending:
            self._schedule(REWRAP_TICK_S)


_REWRAPPERS: WeakKeyDictionary[App[Any], _Rewrapper] = WeakKeyDictionary()


def _rewrapper(app: App[Any]) -> _Rewrapper:
    rewrapper = _REWRAPPERS.get(app)
    if rewrapper is None:
        rewrapper = _REWRAPPERS[app] = _Rewrapper(app)
    return rewrapper


class AnswerPane(NoLayoutOnResize, Widget):
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
        self.live = MarkdownSegment(growth=LIVE_GROWTH_LINES)
        self._splitter = SegmentSplitter()
        self._text = AppendedText()
        # The frozen segments are exactly what the splitter cut from the text appended
        # (not so after finish(), which freezes the tail as well).
        self._streamed = True

    def compose(self) -> ComposeResult:
        yield self.frozen
        yield self.live

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    @property
    def text(self) -> str:
        """The answer so far, as appended."""
        return self._text.text

    @property
    def sources(self) -> list[str]:
        """The Markdown source of each segment shown, frozen ones first."""
        return [*self.frozen.sources, *([self.live.source] if self.live.source else [])]

    def append(self, text: str) -> None:
        """Add answer text: freeze the segments it finishes, redraw the live one."""
        if not text:
            return
        self._text.append(text)
        for source in self._splitter.feed(text):
            # A segment that ends where a frame did was drawn live as it is: keep its lines.
            self.frozen.add(source, self.live.rendered_as(source))
        self.live.set_source(self._splitter.tail)

    def finish(self, text: str | None = None) -> None:
        """Render the whole answer once more, all of it frozen.

        Segments already frozen from the same source keep their rendered lines (drawn
        from that source alone, they would come out the same); the rest, usually only
        the live tail, are rendered afresh from ``text``.

        Args:
            text: the final answer (already made safe); by default what was appended.
        """
        if text is None or text == self.text:
            text = self.text
            if self._streamed:
                # The frozen segments are the splitter's, and splitting goes the same
                # incrementally as at once: only the tail needs splitting (the whole of a
                # long answer took tens of milliseconds, after the last token).
                max_lines, fence_lines = self._splitter.max_lines, self._splitter.max_fence_lines
                sources = [
                    *self.frozen.sources,
                    *split_all(self._splitter.tail, max_lines, fence_lines),
                ]
            else:
                sources = self._split(text)
        else:
            self._text = AppendedText(text)
            sources = self._split(text)
        frozen = self.frozen.sources
        keep = 0
        while keep < min(len(frozen), len(sources)) and frozen[keep] == sources[keep]:
            keep += 1
        self.frozen.replace_from(keep, sources[keep:], finished=True)
        self.live.set_source("")
        self._splitter = SegmentSplitter(self._splitter.max_lines, self._splitter.max_fence_lines)
        self._streamed = False

    def _split(self, text: str) -> list[str]:
        return split_all(text, self._splitter.max_lines, self._splitter.max_fence_lines)

    def reset(self) -> None:
        """Forget the answer (its text turned out to be reasoning)."""
        self.frozen.replace_from(0, [])
        self.live.set_source("")
        self._text = AppendedText()
        self._splitter = SegmentSplitter(self._splitter.max_lines, self._splitter.max_fence_lines)
        self._streamed = True

    def _theme_changed(self) -> None:
        self.frozen.restyle()
        self.live.set_source(self.live.source)
