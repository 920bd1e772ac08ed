"""The stats bar: one line above the footer about the reply in flight or the last one.

While a reply streams it shows the elapsed time and a live token count (updated on the
frame clock, never per token); when the reply ends, its TTFT, time to first answer
token, duration, tokens, speed and cost, with any error first. The context meter (how much
of the model's context window the conversation fills) and the session cost sit at the
right end, where a narrow terminal cannot cut them off, after the retry key when the
last reply did not finish (``Ctrl+G retries``). While a failed request waits to be sent
again, the bar counts down to the retry.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from chatterm.events import Retrying, Usage
from chatterm.pricing import Cost
from chatterm.reply.accumulate import Reply
from chatterm.tui.stats import (
    compare_bar,
    final_bar,
    idle_bar,
    live_bar,
    replay_bar,
    retry_bar,
    session_cost,
)


class StatsBar(Widget):
    """A single line of figures; the words come from :mod:`chatterm.tui.stats`."""

    DEFAULT_CSS = """
    StatsBar {
        width: 1fr;
        height: 1;
        layout: horizontal;
        padding: 0 1;
        background: $panel;
        color: $text;
        & > Static {
            height: 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & > #stats-reply {
            width: 1fr;
        }
        & > #stats-session {
            padding: 0 0 0 2;
            color: $text-muted;
        }
        & > #stats-context {
            padding: 0 0 0 2;
            color: $text-muted;
            &.-warning {
                color: $text-warning;
                text-style: bold;
            }
        }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # What each part shows, to skip updates that change nothing: the live bar is
        # redrawn every frame while a reply streams.
        self._shown: dict[str, tuple[str, tuple[object, ...]]] = {}
        self.cancel_key = "Esc"  # as the keymap names the cancel key (the screen sets it)

    def compose(self) -> ComposeResult:
        yield Static(id="stats-reply")
        yield Static(id="stats-context")
        yield Static(id="stats-session")

    def _changed(self, part: str, content: Content) -> bool:
        key = (content.plain, tuple(content.spans))  # Content's == compares the text only
        if self._shown.get(part) == key:
            return False
        self._shown[part] = key
        return True

    def _show(self, reply: Content, costs: Sequence[Cost | None], hint: str | None = None) -> None:
        if self._changed("reply", reply):
            # A fixed-size line: no layout pass, which would cost a frame's worth of time.
            self.query_one("#stats-reply", Static).update(reply, layout=False)
        session = session_cost(costs) if costs else ""
        # Content, not str: a str would be read as markup.
        right = Content.assemble(
            *([(hint, "$text-warning")] if hint else []),
            "  " if hint and session else "",
            session,
        )
        if not self._changed("session", right):
            return
        part = self.query_one("#stats-session", Static)
        part.update(right)
        # Sized by hand: ``width: auto`` measures a nowrap line by its widest word.
        part.styles.width = cell_len(right.plain) + 2 if right.plain else 0

    def show_context(self, meter: str, *, warning: bool) -> None:
        """The context meter (``~12.3k / 200k · 6%``), in the warning colour past the
        configured share."""
        part = self.query_one("#stats-context", Static)
        part.set_class(warning, "-warning")
        content = Content(meter)  # Content, not str: never read as markup
        if not self._changed("context", content):
            return
        part.update(content)
        part.styles.width = cell_len(meter) + 2 if meter else 0

    def show_idle(self, model: str, costs: Sequence[Cost | None]) -> None:
        self._show(idle_bar(model), costs)

    def show_live(
        self, model: str, elapsed_s: float, usage: Usage, costs: Sequence[Cost | None]
    ) -> None:
        self._show(live_bar(model, elapsed_s, usage, self.cancel_key), costs)

    def show_retrying(
        self,
        model: str,
        elapsed_s: float,
        notice: Retrying,
        remaining_s: float,
        costs: Sequence[Cost | None],
    ) -> None:
        self._show(retry_bar(model, elapsed_s, notice, remaining_s, self.cancel_key), costs)

    def show_final(
        self, reply: Reply, costs: Sequence[Cost | None], hint: str | None = None
    ) -> None:
        self._show(final_bar(reply), costs, hint)

    def show_compare(
        self,
        streaming: int,
        columns: int,
        elapsed_s: float,
        keys: Sequence[str],
        costs: Sequence[Cost | None],
    ) -> None:
        self._show(compare_bar(streaming, columns, elapsed_s, keys), costs)

    def show_replay(self, model: str, index: int, turns: int, costs: Sequence[Cost | None]) -> None:
        self._show(replay_bar(model, index, turns), costs)
