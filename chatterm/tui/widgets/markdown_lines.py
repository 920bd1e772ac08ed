"""Markdown as rendered lines, without a widget: the answer's segments and the live tail.

The answer pane (:mod:`chatterm.tui.widgets.answer_pane`) and a comparison's column
(:mod:`chatterm.tui.widgets.compare_column`) draw answers from these. Each segment cut by
:class:`~chatterm.tui.segments.SegmentSplitter` is rendered once per width and look, with
Rich's Markdown renderer, into :class:`Line` lists; :class:`FrozenSegments` keeps the
finished ones with their heights and where each starts, so a line is found by bisection
and a frame costs the lines drawn, not the length of the answer. :class:`MarkdownLines`
adds the live tail, rendered again only when it changed, and says from which line the
answer differs from the last time it was drawn (a column repaints from there).

After a new width, a segment keeps its old lines (and height) until one of its lines is
asked for, so a resize renders what is on screen, not the whole answer.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.app import App
from textual.strip import Strip

from chatterm.tui.markdown.hostile import parse_lost_text, shown_as_plain_text
from chatterm.tui.markdown.look import MarkdownLook, ThemedMarkdown
from chatterm.tui.segments import SegmentSplitter, ends_at_blank_line

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


class AppendedText:
    """Text appended a piece at a time, joined only when read (a join per frame would copy
    the whole answer every frame)."""

    __slots__ = ("_parts",)

    def __init__(self, text: str = "") -> None:
        self._parts = [text] if text else []

    def append(self, text: str) -> None:
        self._parts.append(text)

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""


@dataclass(eq=False, slots=True)
class _Segment:
    source: str
    lines: Lines | None = None  # rendered, without the gap after it
    key: RenderKey | None = None  # what ``lines`` were rendered for


class FrozenSegments:
    """Finished segments: each one's lines, height and first line, for one key at a time.

    A blank line follows a segment that ended at a blank line (one cut inside a tight
    list, a table or a long code block goes on seamlessly into the next), and the last
    segment once the answer is finished.
    """

    def __init__(self) -> None:
        self._segments: list[_Segment] = []
        self._heights: list[int] = []  # lines each segment takes, the gap after it included
        self._starts: list[int] = []  # the first line of each segment, the first _valid right
        self._valid = 0
        self._unrendered = 0  # segments before this one have been rendered (for some key)
        self._key: RenderKey | None = None  # what segments are rendered for now
        self._finished = False

    def __len__(self) -> int:
        return len(self._segments)

    @property
    def sources(self) -> list[str]:
        return [segment.source for segment in self._segments]

    @property
    def rendered(self) -> list[Lines | None]:
        """Each segment's rendered lines (None before it is first rendered)."""
        return [segment.lines for segment in self._segments]

    @property
    def stale(self) -> int:
        """Segments still rendered for another width or look."""
        return sum(1 for segment in self._segments if segment.key not in (None, self._key))

    def add(self, source: str, rendered: tuple[RenderKey, Lines] | None = None) -> None:
        """Freeze one more segment, with its lines if they are at hand (and their key)."""
        segment = _Segment(source)
        if rendered is not None:
            segment.key, segment.lines = rendered
        self._segments.append(segment)
        self._heights.append(0)
        if segment.lines is not None:
            self._set_height(len(self._segments) - 1)

    def replace_from(
        self,
        index: int,
        sources: list[str],
        *,
        finished: bool = False,
        rendered: Sequence[tuple[RenderKey, Lines] | None] = (),
    ) -> None:
        """Keep the first ``index`` segments; the given ones follow them.

        Args:
            index: segments to keep.
            sources: the segments after them.
            finished: whether these are all of a finished answer (its last segment is
                then followed by a blank line, whatever it ends with).
            rendered: lines at hand for some of ``sources`` (by position), and their key.
        """
        del self._segments[index:]
        del self._heights[index:]
        self._segments.extend(_Segment(source) for source in sources)
        self._heights.extend(0 for _ in sources)
        for segment, lines in zip(self._segments[index:], rendered, strict=False):
            if lines is not None:
                segment.key, segment.lines = lines
        self._unrendered = min(self._unrendered, index)
        self._finished = finished
        # The segment that was last may not be now, or now be followed by a gap.
        for position in range(max(0, index - 1), len(self._segments)):
            if self._segments[position].lines is not None:
                self._set_height(position)
        self._valid = min(self._valid, max(0, index - 1))

    def set_key(self, key: RenderKey) -> bool:
        """Render for ``key`` from now on (segments keep older lines until drawn or
        re-rendered); True if it is a new one."""
        if key == self._key:
            return False
        self._key = key
        return True

    def render_new(self, app: App[Any]) -> int:
        """Render the segments never rendered; return the number of lines. Only segments
        added since the last call can be new (this runs for every line drawn, so it must
        not walk the whole answer)."""
        segments = self._segments
        for index in range(self._unrendered, len(segments)):
            if segments[index].lines is None:
                self._render(app, index)
        self._unrendered = len(segments)
        return self.total()

    def line(self, app: App[Any], y: int) -> tuple[Line | None, bool]:
        """Line ``y`` (None past the end), rendering its segment first if it was rendered
        for another key; and whether that moved the lines after it."""
        moved = False
        total = self.total()
        while y < total:
            index = bisect_right(self._starts, y, 0, len(self._segments)) - 1
            segment = self._segments[index]
            if segment.key == self._key:
                lines = segment.lines or []
                offset = y - self._starts[index]
                return (lines[offset] if offset < len(lines) else Line()), moved
            if self._render(app, index):
                moved = True
                total = self.total()
        return None, moved

    def rewrap_some(self, app: App[Any], deadline: float) -> bool:
        """Render stale segments, the last first, until ``deadline``; True if a height
        changed."""
        changed = False
        for index in range(len(self._segments) - 1, -1, -1):
            if time.perf_counter() >= deadline:
                break
            if self._segments[index].key not in (None, self._key):
                changed = self._render(app, index) or changed
        return changed

    def total(self) -> int:
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

    def _render(self, app: App[Any], index: int) -> bool:
        """Render a segment for the current key; True if its height changed."""
        assert self._key is not None
        segment = self._segments[index]
        segment.lines, segment.key = render_markdown(app, segment.source, self._key), self._key
        return self._set_height(index)

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


class MarkdownLines:
    """Streamed Markdown as rendered lines: finished segments kept, the tail re-rendered."""

    def __init__(self) -> None:
        self._splitter = SegmentSplitter()
        self._clear()

    def _clear(self) -> None:
        self._text = AppendedText()
        self._frozen = FrozenSegments()
        self._tail = _Segment("")
        self._previous_tail = self._tail  # the tail last rendered before this one
        self._changed_from: int | None = 0  # the first line that may differ since last asked
        # The frozen segments are exactly what the splitter cut from the text appended
        # (not so after finish(), which freezes the tail as well).
        self._streamed = True
        #: a segment drawn after a new width changed its height: lay out again
        self.height_changed = False

    @property
    def text(self) -> str:
        """The answer so far, as appended (or as given to :meth:`finish`)."""
        return self._text.text

    @property
    def sources(self) -> list[str]:
        """Each segment's Markdown, the live tail last (if any)."""
        return self._frozen.sources + ([self._tail.source] if self._tail.source else [])

    @property
    def frozen(self) -> FrozenSegments:
        """The finished segments (to read: they change through this object only)."""
        return self._frozen

    @property
    def stale(self) -> int:
        """Finished segments still rendered for another width or look."""
        return self._frozen.stale

    def rewrap_some(self, app: App[Any], deadline: float) -> bool:
        """Render stale segments, the last first, until ``deadline``; True if a height
        changed."""
        return self._frozen.rewrap_some(app, deadline)

    @property
    def frozen_line_count(self) -> int:
        """The lines of the finished segments: the live tail starts there."""
        return self._frozen.total()

    def append(self, text: str) -> None:
        """Add answer text: freeze the segments it finishes; the rest is the live tail."""
        if not text:
            return
        self._text.append(text)
        frozen, before = len(self._frozen), self._frozen.total()
        for source in self._splitter.feed(text):
            self._frozen.add(source, self._tail_lines(source))
        if len(self._frozen) != frozen:  # where the tail was, segments now
            self._changed_since(before)
        if self._splitter.tail != self._tail.source:
            if self._tail.lines is not None:
                self._previous_tail = self._tail
            self._tail = _Segment(self._splitter.tail)

    def finish(self, text: str | None = None) -> None:
        """All of the answer frozen; segments that did not change keep their lines.

        Args:
            text: the final answer (already made safe); by default what was appended.
        """
        splitter = self._splitter
        if text is not None and text != self.text:
            self._text = AppendedText(text)
            sources = splitter.split_all(text)
        elif self._streamed:
            # The frozen segments are the splitter's, and splitting goes the same
            # incrementally as at once: only the tail needs splitting (the whole of a
            # long answer took tens of milliseconds, after the last token).
            sources = [*self._frozen.sources, *splitter.split_all(splitter.tail)]
        else:
            sources = splitter.split_all(self.text)
        kept = self._frozen.sources
        keep = 0
        while keep < min(len(kept), len(sources)) and kept[keep] == sources[keep]:
            keep += 1
        rendered = [self._tail_lines(source) for source in sources[keep:]]
        self._frozen.replace_from(keep, sources[keep:], finished=True, rendered=rendered)
        self._tail = self._previous_tail = _Segment("")
        self._changed_since(None)
        self._splitter = splitter.fresh()
        self._streamed = False

    def reset(self) -> None:
        """Forget the answer (its text turned out to be reasoning)."""
        self._splitter = self._splitter.fresh()
        self._clear()

    def _tail_lines(self, source: str) -> tuple[RenderKey, Lines] | None:
        """The live tail's lines, if it was drawn as this very source."""
        tail = self._tail
        if tail.source == source and tail.lines is not None and tail.key is not None:
            return tail.key, tail.lines
        return None

    # -- lines ----------------------------------------------------------------------------

    def _changed_since(self, line: int | None) -> None:
        """Lines from ``line`` on (all, if None) may differ from those last drawn."""
        if line is None:
            self._changed_from = 0
        elif self._changed_from is None or line < self._changed_from:
            self._changed_from = line

    def take_changed_from(self) -> int | None:
        """The first line that may differ from the lines of the last call (None: none
        does), after :meth:`line_count` for the same key as then."""
        changed, self._changed_from = self._changed_from, None
        return changed

    def line_count(self, app: App[Any], key: RenderKey) -> int:
        """The lines the answer takes for ``key``, rendering what was never rendered."""
        if self._frozen.set_key(key):
            self._changed_from = 0
        total = self._frozen.render_new(app)
        tail = self._tail
        if tail.source and tail.key != key:
            tail.lines, tail.key = render_markdown(app, tail.source, key), key
            self._changed_since(total + _first_difference(self._previous_tail, tail))
        return total + len(tail.lines or [])

    def line(self, app: App[Any], y: int) -> Line | None:
        """Line ``y`` (call :meth:`line_count` first), or None past the end."""
        line, moved = self._frozen.line(app, y)
        if moved:  # rendered for another width: its height moved the lines after it
            self.height_changed = True
        if line is not None:
            return line
        offset = y - self._frozen.total()
        lines = self._tail.lines or []
        return lines[offset] if 0 <= offset < len(lines) else None


def _first_difference(before: _Segment, after: _Segment) -> int:
    """The first line where two renders of the live tail differ (a tail that grew keeps
    its lines but the last few)."""
    if before.lines is None or after.lines is None or before.key != after.key:
        return 0
    for index, (old, new) in enumerate(zip(before.lines, after.lines, strict=False)):
        if old != new:
            return index
    return min(len(before.lines), len(after.lines))
