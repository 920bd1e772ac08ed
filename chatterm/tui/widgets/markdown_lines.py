"""An answer's Markdown as lines, for a widget that draws more than the answer.

:class:`~chatterm.tui.widgets.answer_pane.AnswerPane` is two widgets (the frozen segments
and the live one). A comparison's column draws its label, reasoning, answer and figures
as one line-based widget (:mod:`chatterm.tui.widgets.compare_column`), because Textual's
layout and paint cost grew with the widgets on screen, and four columns of nested panes
were most of a frame. :class:`MarkdownLines` is the answer without a widget: segments
cut by the same :class:`~chatterm.tui.segments.SegmentSplitter`, each finished one
rendered once per width and look (the same renderer and the same gaps as the pane), and
the live tail rendered again only when it changed.

After a new width, a segment keeps its old lines (and height) until one of its lines is
asked for, so a resize renders what is on screen, not the whole answer.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from textual.app import App

from chatterm.tui.segments import SegmentSplitter, ends_at_blank_line, split_all
from chatterm.tui.widgets.answer_pane import Line, Lines, RenderKey, render_markdown


@dataclass(eq=False, slots=True)
class _Segment:
    source: str
    lines: Lines | None = None  # rendered, without the gap after it
    key: RenderKey | None = None  # what ``lines`` were rendered for


class MarkdownLines:
    """Streamed Markdown as rendered lines: finished segments kept, the tail re-rendered."""

    def __init__(self) -> None:
        self._splitter = SegmentSplitter()
        self._clear()

    def _clear(self) -> None:
        self._parts: list[str] = []
        self._segments: list[_Segment] = []
        self._heights: list[int] = []  # lines each segment takes, its gap included
        self._starts: list[int] = []  # each segment's first line; the first _valid right
        self._valid = 0
        self._unrendered = 0  # segments before this one were rendered (for some key)
        self._tail = _Segment("")
        self._previous_tail = self._tail  # the tail last rendered before this one
        self._finished = False
        self._changed_from: int | None = 0  # the first line that may differ since last asked
        self._key: RenderKey | None = None
        #: a segment drawn after a new width changed its height: lay out again
        self.height_changed = False

    @property
    def text(self) -> str:
        """The answer so far, as appended (or as given to :meth:`finish`)."""
        if len(self._parts) > 1:
            self._parts[:] = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def sources(self) -> list[str]:
        """Each segment's Markdown, the live tail last (if any)."""
        tail = [self._tail.source] if self._tail.source else []
        return [segment.source for segment in self._segments] + tail

    @property
    def frozen_line_count(self) -> int:
        """The lines of the finished segments: the live tail starts there."""
        return self._total()

    def append(self, text: str) -> None:
        """Add answer text: freeze the segments it finishes; the rest is the live tail."""
        if not text:
            return
        self._parts.append(text)
        frozen, before = len(self._segments), self._total()
        for source in self._splitter.feed(text):
            segment = _Segment(source)
            if self._tail.source == source:  # drawn live as it is: keep its lines
                segment.lines, segment.key = self._tail.lines, self._tail.key
            self._add(segment)
        if len(self._segments) != frozen:  # where the tail was, segments now
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
        if text is not None and text != self.text:
            self._parts = [text]
        splitter = self._splitter
        sources = split_all(self.text, splitter.max_lines, splitter.max_fence_lines)
        keep = 0
        while (
            keep < min(len(self._segments), len(sources))
            and self._segments[keep].source == sources[keep]
        ):
            keep += 1
        del self._segments[keep:], self._heights[keep:]
        self._unrendered = min(self._unrendered, keep)
        self._valid = min(self._valid, max(0, keep - 1))
        self._finished = True
        for source in sources[keep:]:
            segment = _Segment(source)
            if self._tail.source == source:
                segment.lines, segment.key = self._tail.lines, self._tail.key
            self._add(segment)
        for index in range(max(0, keep - 1), len(self._segments)):
            self._set_height(index)  # the last one is now followed by a gap
        self._tail = self._previous_tail = _Segment("")
        self._changed_since(None)
        self._splitter = SegmentSplitter(splitter.max_lines, splitter.max_fence_lines)

    def reset(self) -> None:
        """Forget the answer (its text turned out to be reasoning)."""
        self._splitter = SegmentSplitter(self._splitter.max_lines, self._splitter.max_fence_lines)
        self._clear()

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
        if key != self._key:
            self._key = key
            self._changed_from = 0
        segments = self._segments
        for index in range(self._unrendered, len(segments)):
            if segments[index].lines is None:
                self._render(app, index)
        self._unrendered = len(segments)
        total = self._total()
        tail = self._tail
        if tail.source and tail.key != key:
            tail.lines, tail.key = render_markdown(app, tail.source, key), key
            self._changed_since(total + _first_difference(self._previous_tail, tail))
        return total + len(tail.lines or [])

    def line(self, app: App[Any], y: int) -> Line | None:
        """Line ``y`` (call :meth:`line_count` first), or None past the end."""
        total = self._total()
        while y < total:
            index = bisect_right(self._starts, y, 0, len(self._segments)) - 1
            segment = self._segments[index]
            if segment.key == self._key:
                lines = segment.lines or []
                offset = y - self._starts[index]
                return lines[offset] if offset < len(lines) else Line()
            if self._render(app, index):  # rendered for another width: its height moved
                self.height_changed = True
                total = self._total()
        offset = y - total
        lines = self._tail.lines or []
        return lines[offset] if 0 <= offset < len(lines) else None

    def _add(self, segment: _Segment) -> None:
        self._segments.append(segment)
        self._heights.append(0)
        if segment.lines is not None:
            self._set_height(len(self._segments) - 1)

    def _render(self, app: App[Any], index: int) -> bool:
        """Render a segment for the current key; True if its height changed."""
        assert self._key is not None
        segment = self._segments[index]
        segment.lines, segment.key = render_markdown(app, segment.source, self._key), self._key
        return self._set_height(index)

    def _set_height(self, index: int) -> bool:
        segment = self._segments[index]
        last = index == len(self._segments) - 1
        gap = (last and self._finished) or ends_at_blank_line(segment.source)
        height = len(segment.lines) + int(gap) if segment.lines is not None else 0
        if height == self._heights[index]:
            return False
        self._heights[index] = height
        self._valid = min(self._valid, index)
        return True

    def _total(self) -> int:
        """The frozen segments' lines, bringing the line starts up to date."""
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


def _first_difference(before: _Segment, after: _Segment) -> int:
    """The first line where two renders of the live tail differ (a tail that grew keeps
    its lines but the last few)."""
    if before.lines is None or after.lines is None or before.key != after.key:
        return 0
    for index, (old, new) in enumerate(zip(before.lines, after.lines, strict=False)):
        if old != new:
            return index
    return min(len(before.lines), len(after.lines))
