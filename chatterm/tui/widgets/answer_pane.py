"""The answer pane: streamed Markdown whose cost per frame stays flat.

The answer is cut into segments (:mod:`chatterm.tui.segments`). Each finished segment is
rendered once, with Rich's Markdown renderer, into lines that :class:`FrozenMarkdown`
keeps and draws line by line (as Textual's ``Log`` does); only the live segment, the tail,
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
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary, ref

from rich.cells import chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

from chatterm.tui.compat import NoLayoutOnResize
from chatterm.tui.markdown.hostile import parse_lost_text, shown_as_plain_text
from chatterm.tui.markdown.look import MarkdownLook, ThemedMarkdown, markdown_look
from chatterm.tui.segments import SegmentSplitter, ends_at_blank_line, split_all
from chatterm.tui.widgets.paint_style import StylePerPaint

LIVE_GROWTH_LINES = 8  # the live segment's room grows this many lines at a time
REWRAP_DELAY_S = 0.2  # after the last width change, before re-rendering what is off screen
REWRAP_TICK_S = 1 / 30  # then a slice of re-rendering this often ...
REWRAP_SLICE_S = 0.008  # ... of at most about this long (one segment may overrun it)


RenderKey = tuple[int, MarkdownLook]  # what lines were rendered for: width and look


class Line(list[Segment]):
    """A rendered line: its segments, as a ``Strip`` holds them, without the strip's
    seven caches (which, with the strips derived from a line once drawn kept in them,
    came to about 15 MB for a 50,000-token answer). Lines on screen are made into strips
    as they are drawn."""

    __slots__ = ()

    @property
    def cell_length(self) -> int:
        return Segment.get_line_length(self)


Lines = list[Line]


def render_markdown(app: App[Any], source: str, key: RenderKey) -> Lines:
    """Markdown source as lines for a width and a look (without padding); nested too
    deep, or too big, it is shown as the plain text it is (wrapped)."""
    width, look = key
    if shown_as_plain_text(source):
        return plain_lines(source, width)
    markdown = ThemedMarkdown(source, look)
    if parse_lost_text(markdown.markdown.parsed):
        return plain_lines(source, width)
    options = app.console_options.update(width=width, highlight=False)
    lines = app.console.render_lines(markdown, options, pad=False)
    return [Line(line) for line in lines]


def plain_lines(source: str, width: int) -> Lines:
    """Text as lines cut every ``width`` cells (Rich's word wrapping of a megabyte-long
    line would stall the event loop)."""
    return [
        Line([Segment(chunk)])
        for text_line in source.rstrip("\n").split("\n")
        for chunk in (chop_cells(text_line, width) or [""])
    ]


DRAWN_KEPT = 4096  # lines kept drawn: several screens of every answer on screen

_drawn: dict[tuple[tuple[Segment, ...], int, Style], Strip] = {}


def draw(line: list[Segment], width: int, style: Style) -> Strip:
    """A rendered line as a widget draws it: in its style, ``width`` cells wide.

    Kept by content: every frame draws the lines on screen again (the view scrolls, the
    live segment is rendered anew), and most are the lines of the frame before.
    """
    key = (tuple(line), width, style)
    try:
        strip = _drawn.get(key)
    except TypeError:  # a control segment's codes are a list: drawn without keeping
        return Strip(line).apply_style(style).crop_extend(0, width, style)
    if strip is None:
        if len(_drawn) >= DRAWN_KEPT:
            _drawn.clear()
        strip = _drawn[key] = Strip(line).apply_style(style).crop_extend(0, width, style)
    return strip


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


@dataclass(eq=False, slots=True)
class _Segment:
    source: str
    lines: Lines | None = None  # rendered, without the gap after the segment
    key: RenderKey | None = None  # what ``lines`` were rendered for


class FrozenMarkdown(NoLayoutOnResize, StylePerPaint):
    """Finished segments, each rendered once to lines for the current width and look.

    A blank line follows a segment that ended at a blank line (one cut inside a tight
    list, a table or a long code block goes on seamlessly into the next), and the last
    segment once the answer is finished.
    """

    DEFAULT_CSS = """
    FrozenMarkdown {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._segments: list[_Segment] = []
        self._heights: list[int] = []  # lines each segment takes, the gap after it included
        self._starts: list[int] = []  # the first line of each segment, the first _valid right
        self._valid = 0
        self._unrendered = 0  # segments before this one have been rendered (for some key)
        self._key: RenderKey | None = None  # what segments are rendered for now
        self._finished = False

    @property
    def sources(self) -> list[str]:
        return [segment.source for segment in self._segments]

    @property
    def rendered(self) -> list[Lines | None]:
        """Each segment's rendered lines (None before it is first rendered)."""
        return [segment.lines for segment in self._segments]

    @property
    def stale(self) -> int:
        """Segments still drawn as they were rendered for another width or look."""
        return sum(1 for segment in self._segments if segment.key not in (None, self._key))

    @property
    def line_count(self) -> int:
        return self._total()

    def add(self, source: str, rendered: tuple[RenderKey, Lines] | None = None) -> None:
        """Freeze one more segment.

        Args:
            source: its Markdown.
            rendered: its lines if they are at hand (the live segment drew this very
                source), and what they were rendered for.
        """
        segment = _Segment(source)
        if rendered is not None:
            segment.key, segment.lines = rendered
        self._segments.append(segment)
        self._heights.append(0)
        if segment.lines is not None:
            self._set_height(len(self._segments) - 1)
        self.refresh(layout=True)

    def replace_from(self, index: int, sources: list[str], *, finished: bool = False) -> None:
        """Keep the first ``index`` segments; the given ones follow them.

        Args:
            index: segments to keep.
            sources: the segments after them.
            finished: whether these are all of a finished answer (its last segment is
                then followed by a blank line, whatever it ends with).
        """
        del self._segments[index:]
        del self._heights[index:]
        self._segments.extend(_Segment(source) for source in sources)
        self._heights.extend(0 for _ in sources)
        self._unrendered = min(self._unrendered, index)
        self._finished = finished
        if index:  # the segment that was last may not be now, or now be followed by a gap
            self._set_height(index - 1)
        self._valid = min(self._valid, max(0, index - 1))
        self.refresh(layout=True)

    def restyle(self) -> None:
        """The theme changed: segments are rendered again (lazily) with the new look."""
        self.refresh(layout=True)

    # -- rendering ------------------------------------------------------------------------

    def _set_height(self, index: int) -> bool:
        """Work out a segment's height from its lines; True if it changed."""
        segment = self._segments[index]
        last = index == len(self._segments) - 1
        gap = (last and self._finished) or ends_at_blank_line(segment.source)
        height = len(segment.lines) + int(gap) if segment.lines is not None else 0
        if height == self._heights[index]:
            return False
        self._heights[index] = height
        self._valid = min(self._valid, index)
        return True

    def _render_segment(self, index: int) -> bool:
        """Render a segment for the current key; True if its height changed."""
        assert self._key is not None
        segment = self._segments[index]
        segment.lines = render_markdown(self.app, segment.source, self._key)
        segment.key = self._key
        return self._set_height(index)

    def _total(self) -> int:
        """The number of lines, bringing the line starts up to date."""
        count = len(self._segments)
        starts = self._starts
        del starts[count:]
        valid = min(self._valid, len(starts))
        total = starts[valid - 1] + self._heights[valid - 1] if valid else 0
        for index in range(valid, count):
            if index < len(starts):
                starts[index] = total
            else:
                starts.append(total)
            total += self._heights[index]
        self._valid = count
        return total

    def _sync(self, width: int) -> int:
        """Make ``width`` and the app's look current and render segments never rendered
        (the others keep their lines, and heights, until drawn or re-rendered in the
        background); return the number of lines."""
        key = (max(1, width), markdown_look(self.app))
        if key != self._key:
            self._key = key
            if self.stale:
                _rewrapper(self.app).add(self)
        # Only segments added since the last call can be new (this runs for every line
        # drawn, so it must not walk the whole answer).
        segments = self._segments
        for index in range(self._unrendered, len(segments)):
            if segments[index].lines is None:
                self._render_segment(index)
        self._unrendered = len(segments)
        return self._total()

    def rewrap_some(self, deadline: float) -> bool:
        """Render stale segments, the last first, until ``deadline``; True when done."""
        changed = False
        for index in range(len(self._segments) - 1, -1, -1):
            if time.perf_counter() >= deadline:
                break
            if self._segments[index].key not in (None, self._key):
                changed = self._render_segment(index) or changed
        if changed:
            self.refresh(layout=True)
        return not self.stale

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._sync(width)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.line_style
        total = self._sync(width)
        while y < total:
            index = bisect_right(self._starts, y, 0, len(self._segments)) - 1
            segment = self._segments[index]
            if segment.key == self._key:
                lines = segment.lines or []
                offset = y - self._starts[index]
                return draw(lines[offset] if offset < len(lines) else [], width, style)
            # On screen, so needed now: render it, and lay out again if its height changed.
            if self._render_segment(index):
                self.refresh(layout=True)
                total = self._total()
        return Strip.blank(width, style)


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
        self._parts: list[str] = []
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
            self._parts = [text]
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
        self._parts = []
        self._splitter = SegmentSplitter(self._splitter.max_lines, self._splitter.max_fence_lines)
        self._streamed = True

    def _theme_changed(self) -> None:
        self.frozen.restyle()
        self.live.set_source(self.live.source)
