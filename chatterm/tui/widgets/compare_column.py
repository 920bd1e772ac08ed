"""One column of a comparison: a model's reply drawn as one line-based widget.

A column shows what a turn shows under its prompt (the model, a retry notice, the
reasoning, the answer as Markdown, the live figures and then the stats line) but draws
all of it itself, line by line, as Textual's ``Log`` does: four columns of nested panes
(a turn, its reasoning pane, its answer pane and their parts) made Textual lay out and
paint every one of them on every frame, which was most of a frame's cost (bench/run.py,
``compare_frame_p95_ms``; README, Performance). Here a frame costs the column's lines on
screen, and usually only the lines that changed: while the replies stream, the columns
take a shared room of whole ``GROWTH_LINES`` (:class:`ColumnRoom`), so most frames repaint
the live tail of each column (from the first line that differs from the last frame's),
and only a column outgrowing the room lays the screen out again and moves the view.
At the end each column takes its own height.

The column is a :class:`~chatterm.reply.sink.Sink` like
:class:`~chatterm.tui.widgets.turn.TurnView`: events are queued, and the comparison's frame
clock applies them (:meth:`ColumnView.flush`). The reasoning is plain text
(:class:`~chatterm.tui.widgets.reasoning_pane.WrappedText`) under a ``▾ Reasoning`` line
that a click folds or unfolds (Ctrl+R folds every pane); the answer is
:class:`~chatterm.tui.widgets.markdown_lines.MarkdownLines`. Model text goes through
``safe_text`` on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events as textual_events
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.visual import Visual, visualize

from chatterm import events
from chatterm.events import Event
from chatterm.reply.accumulate import Reply
from chatterm.text import SafeFeed, safe_text
from chatterm.tui.compat import NoLayoutOnResize
from chatterm.tui.markdown.look import markdown_look
from chatterm.tui.stats import error_line, reply_line, retry_notice
from chatterm.tui.widgets.markdown_lines import MarkdownLines, draw
from chatterm.tui.widgets.paint_style import StylePerPaint
from chatterm.tui.widgets.queued_events import apply_events
from chatterm.tui.widgets.reasoning_pane import WrappedText

GROWTH_LINES = 16  # while streaming, the columns grow this many lines at a time
REASONING_INDENT = 2  # cells the reasoning is set in from the column's edge


@dataclass(eq=False)
class ColumnRoom:
    """The height a comparison's columns share while they stream: lines for the tallest,
    rounded up to ``GROWTH_LINES``, so that a frame usually redraws the columns' new lines
    only, and the screen is laid out again (and the view moved) only when one outgrows it."""

    lines: int = 0
    shared: bool = True  # False while the columns are stacked: each has its own room


class ColumnView(NoLayoutOnResize, StylePerPaint):
    """A model's reply in a comparison, filled in as it streams, drawn line by line."""

    DEFAULT_CSS = """
    ColumnView {
        width: 1fr;
        height: auto;
        padding: 0 1;
        border-left: blank;
        &.-chosen {
            border-left: thick $accent;
        }
        & > .column--label {
            color: $text-secondary;
            text-style: italic;
        }
        & > .column--notice {
            color: $text-warning;
        }
        & > .column--reasoning {
            color: $text-muted;
        }
        & > .column--status {
            color: $text-muted;
        }
    }
    """

    COMPONENT_CLASSES = {"column--label", "column--notice", "column--reasoning", "column--status"}

    def __init__(
        self,
        prompt: str,
        model: str,
        *,
        reasoning_collapsed: bool = False,
        room: ColumnRoom | None = None,
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.model = model
        self.reply: Reply | None = None
        self.streamed_chars = 0  # reasoning and answer received
        self.answer = MarkdownLines()
        self.reasoning = WrappedText()
        self._reasoning_collapsed = reasoning_collapsed
        self._notice: Content | None = None  # why the request waits to be sent again
        self._status: Content | None = None  # live figures, then the stats (and error)
        self._pending: list[Event] = []
        self._reasoning_feed = SafeFeed()
        self._answer_feed = SafeFeed()
        # The short parts as strips, for the width they were made for:
        self._made: dict[str, tuple[int, list[Strip]]] = {}
        # What is drawn, worked out once per change (not once per line drawn):
        self._shape: tuple[int, list[tuple[str, int]]] | None = None
        self._laid_out = (0, 0)  # the width and the height of the last layout
        #: the height the comparison's columns share while they stream
        self.room = room if room is not None else ColumnRoom()

    # -- what the column shows ------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        return self.reply is None

    @property
    def reasoning_collapsed(self) -> bool:
        return self._reasoning_collapsed

    @reasoning_collapsed.setter
    def reasoning_collapsed(self, collapsed: bool) -> None:
        if collapsed != self._reasoning_collapsed:
            self._reasoning_collapsed = collapsed
            self._made.pop("reasoning-title", None)
            self._changed()

    @property
    def status(self) -> Content:
        """The live figures while the reply streams, then its stats line (and error)."""
        return self._status or Content("")

    def show_live(self, figures: Content) -> None:
        """While the reply streams, a line of live figures under it."""
        if self.reply is None:
            self._set_part("status", figures)

    # -- the sink -------------------------------------------------------------------------

    def event(self, event: Event, at: float) -> None:
        """Queue an event for the next frame. Cheap: called once per token."""
        self._pending.append(event)
        if isinstance(event, events.ReasoningDelta | events.TextDelta):
            self.streamed_chars += len(event.text)

    def done(self, reply: Reply) -> None:
        """The reply ended: :meth:`finish`, once, unless the column has left the screen."""
        if self.reply is None and self.is_attached:
            self.finish(reply)

    def flush(self) -> None:
        """Apply every queued event."""
        if self._pending:
            queued, self._pending = self._pending, []
            apply_events(queued, self)

    def show_retry(self, event: events.Retrying) -> None:
        self._set_part("notice", Content(retry_notice(event)))

    def answer_was_reasoning(self) -> None:
        moved = self.answer.text + self._answer_feed.flush()
        self.answer.reset()
        self._add_reasoning(moved)

    def finish(self, reply: Reply) -> None:
        """The reply ended: show all of it, rendered once more, and its stats."""
        self.flush()
        self.reply = reply
        self._add_reasoning(self._reasoning_feed.flush())
        self._answer_feed.flush()
        self.answer.finish(safe_text(reply.text))
        self._changed()
        lines = [reply_line(reply)]
        error = error_line(reply)
        if error is not None:
            lines.append(error)
        self._set_part("notice", None)
        self._set_part("status", Content("\n").join(lines))
        self.set_class(reply.finish_reason == "cancelled", "-cancelled")
        self.set_class(reply.error is not None, "-error")

    def apply_text(self, reasoning: list[str], answer: list[str]) -> None:
        if reasoning or answer:
            self._set_part("notice", None)  # the retry worked: the reply is under way
        if reasoning:
            self._add_reasoning(self._reasoning_feed.feed("".join(reasoning)))
        if answer:
            start = self._start_of("answer")
            self.answer.append(self._answer_feed.feed("".join(answer)))
            if not self.size.width:  # not laid out yet
                self._changed()
                return
            key = (self.size.width, markdown_look(self.app))
            self.answer.line_count(self.app, key)  # renders the live tail
            changed = self.answer.take_changed_from()
            if changed is not None:  # the lines before it are the same as before
                self._changed(start + changed)

    def _add_reasoning(self, text: str) -> None:
        if text:
            self.reasoning.append(text, self.app.console)
            self._changed()

    def _set_part(self, name: str, content: Content | None) -> None:
        if _same(content, self._notice if name == "notice" else self._status):
            return
        start = self._start_of(name)
        if name == "notice":
            self._notice = content
        else:
            self._status = content
        self._made.pop(name, None)
        self._changed(start)

    # -- drawing --------------------------------------------------------------------------

    def _short_part(self, name: str, width: int) -> list[Strip]:
        """The label, notice or status as strips ``width`` cells wide (made once per
        change and width)."""
        made = self._made.get(name)
        if made is not None and made[0] == width:
            return made[1]
        visual: Visual | None = None
        style = "column--status"
        if name == "label":
            visual, style = visualize(self, Text(safe_text(self.model))), "column--label"
        elif name == "notice" and self._notice is not None:
            visual, style = visualize(self, self._notice), "column--notice"
        elif name == "reasoning-title":
            mark = "▸" if self._reasoning_collapsed else "▾"
            visual, style = visualize(self, Text(f"{mark} Reasoning")), "column--reasoning"
        elif name == "status" and self._status:
            visual = visualize(self, self._status)
        strips: list[Strip] = []
        if visual is not None:
            strips = Visual.to_strips(self, visual, width, None, self.get_visual_style(style))
            strips = [strip.extend_cell_length(width) for strip in strips]
        self._made[name] = (width, strips)
        return strips

    def _parts(self, width: int) -> list[tuple[str, int]]:
        """What the column shows, top to bottom: each part's name and its lines."""
        if self._shape is not None and self._shape[0] == width:
            return self._shape[1]
        console = self.app.console
        parts = [("label", len(self._short_part("label", width)))]
        if self._notice is not None:
            parts.append(("notice", len(self._short_part("notice", width))))
        if self.reasoning.text:
            parts.append(("reasoning-title", 1))
            if not self._reasoning_collapsed:
                lines = self.reasoning.wrap_to(max(1, width - REASONING_INDENT), console)
                parts.append(("reasoning", lines))
            parts.append(("gap", 1))
        key = (max(1, width), markdown_look(self.app))
        parts.append(("answer", self.answer.line_count(self.app, key)))
        if self._status:
            parts.append(("status", len(self._short_part("status", width))))
        self._shape = (width, parts)
        return parts

    def _line_count(self, width: int) -> int:
        return sum(lines for _, lines in self._parts(width))

    def _start_of(self, name: str) -> int:
        """The first line of a part as last drawn (0 if it was not shown, or nothing was)."""
        start = 0
        for part, lines in self._parts(self.size.width) if self.size.width else ():
            if part == name:
                return start
            start += lines
        return 0

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        lines = self._line_count(width)
        if self.reply is None:  # streaming: room for the lines to come
            lines = -(-lines // GROWTH_LINES) * GROWTH_LINES
            room = self.room
            if room.shared:  # side by side: as tall as the tallest
                room.lines = lines = max(room.lines, lines)
        self._laid_out = (width, lines)
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.line_style
        for name, lines in self._parts(width):
            if y >= lines:
                y -= lines
                continue
            if name == "answer":
                return self._answer_line(y, width, style)
            if name == "reasoning":
                strip = self.reasoning.line(y) or Strip.blank(0)
                reasoning_style = self.get_component_rich_style("column--reasoning")
                indent = Strip.blank(REASONING_INDENT, style)
                shown = Strip.join([indent, strip.apply_style(reasoning_style)])
                return shown.crop_extend(0, width, style)
            if name == "gap":
                break
            return self._short_part(name, width)[y].apply_style(style)
        return Strip.blank(width, style)

    def _answer_line(self, y: int, width: int, style: Style) -> Strip:
        line = self.answer.line(self.app, y)
        if self.answer.height_changed:  # drawn for a new width: its segment moved lines
            self.answer.height_changed = False
            self._changed()
        return draw(line or [], width, style)

    def _changed(self, start: int = 0) -> None:
        """Draw again from line ``start`` on; lay the screen out again only if the column
        outgrew the height it was laid out with (the view then stays where it is)."""
        before = self._shape
        self._shape = None
        width, height = self._laid_out
        if self.reply is None and width == self.size.width:
            lines = self._line_count(width)
            end = max(lines, sum(count for _, count in before[1]) if before else height)
            # The lines above ``start`` stay as drawn even when the column outgrew its
            # room: a layout alone does not draw them again (compat.NoLayoutOnResize).
            self.refresh(Region(0, start, width, max(0, end - start)), layout=lines > height)
            return
        self.refresh(layout=True)

    def notify_style_update(self) -> None:
        """A new theme (or class): the parts are made again, the answer rendered for
        the new look."""
        super().notify_style_update()
        self._made.clear()
        self._shape = None
        self.refresh(layout=True)

    def on_click(self, event: textual_events.Click) -> None:
        """A click on the ``Reasoning`` line folds or unfolds the reasoning."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        y = offset.y
        for name, lines in self._parts(self.size.width):
            if y < lines:
                if name == "reasoning-title":
                    self.reasoning_collapsed = not self._reasoning_collapsed
                break
            y -= lines


def _same(one: Content | None, other: Content | None) -> bool:
    """Whether two parts read and look the same (Content's == compares the text only)."""
    if one is None or other is None:
        return one is other
    return one.plain == other.plain and one.spans == other.spans
