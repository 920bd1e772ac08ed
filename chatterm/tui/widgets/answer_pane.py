"""The answer pane: streamed Markdown whose cost per frame stays flat.

The answer is cut into segments (:mod:`chatterm.tui.segments`). Each finished segment is
rendered once, with Rich's Markdown renderer, into lines; only the live segment, the
tail, is rendered again when more text arrives
(:class:`~chatterm.tui.widgets.markdown_lines.MarkdownLines`). :class:`AnswerPane` draws
all of them line by line, as Textual's ``Log`` does, and the caller applies text once per
frame, not once per token. While the answer streams the pane grows ``LIVE_GROWTH_LINES``
at a time, and a frame repaints the lines from the first one that changed: only an answer
that outgrows its room lays the screen out again, which moves the view and repaints the
whole screen (README, Performance).

Why one widget: Textual lays out every widget of the conversation on each frame, so a
widget per segment made a frame's cost grow with the answer (bench/run.py's
``frame_cost_ratio``); and with the finished segments and the live one as two widgets,
every segment that froze moved the second one, a layout per freeze. A single growing
Markdown widget, or Textual's ``MarkdownStream``, renders the whole answer again as it
grows, and falls further behind.

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

from textual.app import App
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.timer import Timer

from chatterm.tui.compat import NoLayoutOnResize
from chatterm.tui.markdown.look import markdown_look
from chatterm.tui.widgets.markdown_lines import MarkdownLines, RenderKey, draw
from chatterm.tui.widgets.paint_style import StylePerPaint

LIVE_GROWTH_LINES = 8  # the live segment's room grows this many lines at a time
REWRAP_DELAY_S = 0.2  # after the last width change, before re-rendering what is off screen
REWRAP_TICK_S = 1 / 30  # then a slice of re-rendering this often ...
REWRAP_SLICE_S = 0.008  # ... of at most about this long (one segment may overrun it)


class _Rewrapper:
    """Re-renders stale segments of every answer in slices, off the critical path.

    One per app, so that however many answers there are, a tick does a bounded amount of
    work and the UI stays responsive while a long conversation re-wraps after a resize.
    """

    def __init__(self, app: App[Any]) -> None:
        self._app = ref(app)  # weak, as the widgets are: the rewrapper keeps nothing alive
        self._pending: WeakKeyDictionary[AnswerPane, None] = WeakKeyDictionary()
        self._timer: Timer | None = None

    def add(self, widget: AnswerPane) -> None:
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


class AnswerPane(NoLayoutOnResize, StylePerPaint):
    """The answer, finished segments and live tail, drawn line by line as one widget."""

    DEFAULT_CSS = """
    AnswerPane {
        width: 1fr;
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        #: the answer as rendered lines (its finished segments and the live tail)
        self.lines = MarkdownLines()
        self._finished = False  # all of it frozen: no room left for text to come
        self._key: RenderKey | None = None  # what the lines were last counted for
        self._laid_out = (0, 0)  # the width and the height of the last layout

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    @property
    def text(self) -> str:
        """The answer so far, as appended."""
        return self.lines.text

    @property
    def sources(self) -> list[str]:
        """The Markdown source of each segment shown, the live tail last."""
        return self.lines.sources

    def append(self, text: str) -> None:
        """Add answer text: freeze the segments it finishes, render the live tail."""
        if text:
            self.lines.append(text)
            self._changed()

    def finish(self, text: str | None = None) -> None:
        """Render the whole answer once more, all of it frozen.

        Segments already frozen from the same source keep their rendered lines (drawn
        from that source alone, they would come out the same); the rest, usually only
        the live tail, are rendered afresh from ``text``.

        Args:
            text: the final answer (already made safe); by default what was appended.
        """
        self.lines.finish(text)
        self._finished = True
        self.refresh(layout=True)

    def reset(self) -> None:
        """Forget the answer (its text turned out to be reasoning)."""
        self.lines.reset()
        self._finished = False
        self.refresh(layout=True)

    def _theme_changed(self) -> None:
        self.refresh(layout=True)  # the new look is a new key: rendered again when drawn

    def _line_count(self, width: int) -> int:
        """Lines for ``width`` and the app's look, rendering what never was; after a new
        width or look, the segments off screen are rendered again in the background."""
        key = (max(1, width), markdown_look(self.app))
        count = self.lines.line_count(self.app, key)
        if key != self._key:
            if self._key is not None and self.lines.stale:
                _rewrapper(self.app).add(self)
            self._key = key
        return count

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        lines = self._line_count(width)
        if not self._finished:  # streaming: room for the lines to come
            lines = -(-lines // LIVE_GROWTH_LINES) * LIVE_GROWTH_LINES
        self._laid_out = (width, lines)
        return lines

    def _changed(self) -> None:
        """Draw again from the first line that changed; lay the screen out again only if
        the answer outgrew its room (a layout moves the view and redraws the screen)."""
        width, height = self._laid_out
        if not width or width != self.size.width:
            self.refresh(layout=True)
            return
        lines = self._line_count(width)
        start = self.lines.take_changed_from()
        if start is None and lines <= height:
            return
        start = min(start if start is not None else lines, height)
        # The lines above ``start`` stay as drawn even when a layout follows
        # (compat.NoLayoutOnResize draws only the new ones).
        end = max(lines, height)
        self.refresh(Region(0, start, width, max(0, end - start)), layout=lines > height)

    def rewrap_some(self, deadline: float) -> bool:
        """Render stale segments, the last first, until ``deadline``; True when done."""
        if self.lines.rewrap_some(self.app, deadline):
            self.refresh(layout=True)
        return not self.lines.stale

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.line_style
        self._line_count(width)
        line = self.lines.line(self.app, y)
        if self.lines.height_changed:  # rendered now for the new width: its height changed
            self.lines.height_changed = False
            self.refresh(layout=True)
        return draw(line, width, style) if line is not None else Strip.blank(width, style)
