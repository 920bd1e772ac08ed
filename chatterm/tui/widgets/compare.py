"""One prompt answered by several models at once: a column per reply, side by side.

Each column is a :class:`~chatterm.tui.widgets.compare_column.ColumnView`: what a turn
shows under its prompt (the prompt is shown once, above them), drawn as one line-based
widget so that a frame costs the lines on screen, not the panes in four columns. The
columns stand side by side while the view is at least ``STACK_BELOW`` cells wide and one
above another when it is narrower, where side by side would leave each a sliver.

One frame clock serves every column (a :class:`~chatterm.tui.frame_clock.FrameClock`,
whose period follows what a frame costs): each tick applies what each streaming column has
queued, then calls the screen once for the live figures. Four clocks would each lay out
and draw the screen on their own tick, four times the frames for the same text.

One column is *chosen* (marked on its left): the reply the conversation goes on with. When
every reply has ended, a line under the columns says which was first to answer, fastest
and cheapest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual import events
from textual.app import ComposeResult
from textual.containers import Container
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from chatterm.events import Attachment
from chatterm.tui.compat import NoLayoutOnResize
from chatterm.tui.frame_clock import FrameClock
from chatterm.tui.widgets.compare_column import ColumnRoom, ColumnView
from chatterm.tui.widgets.turn import UserMessage

STACK_BELOW = 100  # cells: narrower than this, the columns are stacked


class ColumnsRow(NoLayoutOnResize, Container):
    """The row (or, stacked, the column) of a comparison's replies: growing, it does not
    ask for the screen to be laid out a second time (:class:`~chatterm.tui.compat.
    NoLayoutOnResize`)."""


class CompareView(NoLayoutOnResize, Widget):
    """A prompt and one column per model's reply to it."""

    DEFAULT_CSS = """
    CompareView {
        width: 1fr;
        height: auto;
        layout: vertical;
        padding: 0 1;
        margin: 0 0 1 0;

        & > #compare-columns {
            width: 1fr;
            height: auto;
            layout: horizontal;
        }
        &.-stacked > #compare-columns {
            layout: vertical;
        }
        & > .compare-ranking {
            display: none;
            color: $text-secondary;
        }
        &.-ranked > .compare-ranking {
            display: block;
        }
    }
    """

    def __init__(
        self,
        prompt: str,
        models: Sequence[str],
        *,
        reasoning_collapsed: bool = False,
        on_frame: Callable[[], None] | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        super().__init__()
        self.prompt = prompt
        self.attachments = tuple(attachments)  # the files sent with the prompt
        self.models = tuple(models)
        self.on_frame = on_frame
        self.room = ColumnRoom()  # the height the columns share while they stream
        self.columns = [
            ColumnView(prompt, model, reasoning_collapsed=reasoning_collapsed, room=self.room)
            for model in models
        ]
        self.chosen = 0
        self.ranking = Static("", classes="compare-ranking")
        self._frame_clock: FrameClock | None = None

    def compose(self) -> ComposeResult:
        yield UserMessage(self.prompt, self.attachments)
        with ColumnsRow(id="compare-columns"):
            yield from self.columns
        yield self.ranking

    def on_mount(self) -> None:
        self.choose(self.chosen)

    def on_resize(self, event: events.Resize) -> None:
        stacked = event.size.width < STACK_BELOW
        self.set_class(stacked, "-stacked")
        self.room.shared = not stacked

    @property
    def streaming(self) -> bool:
        return any(column.streaming for column in self.columns)

    def choose(self, index: int) -> None:
        """Mark column ``index`` as the reply the conversation goes on with."""
        self.chosen = index
        for position, column in enumerate(self.columns):
            column.set_class(position == index, "-chosen")
        if self.has_class("-stacked") and self.is_attached:
            self.columns[index].scroll_visible(animate=False)

    def show_ranking(self, line: Content) -> None:
        self.ranking.update(line)
        self.add_class("-ranked")

    # -- the frame clock ------------------------------------------------------------------

    def start_clock(self) -> None:
        """Run the columns' frame clock (its period following what a frame costs, see
        :mod:`chatterm.tui.frame_clock`) until :meth:`stop_clock`."""
        if self._frame_clock is None and self.is_attached:
            self._frame_clock = FrameClock(self, self._on_frame)
            self._frame_clock.start()

    def stop_clock(self) -> None:
        if self._frame_clock is not None:
            self._frame_clock.stop()
            self._frame_clock = None

    def _on_frame(self) -> None:
        for column in self.columns:
            if column.streaming:
                column.flush()
        if self.on_frame is not None:
            self.on_frame()
