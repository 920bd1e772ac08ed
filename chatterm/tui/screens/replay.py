"""The replay screen: a saved chat streams again, as it did live, with no network.

:func:`~chatterm.sessions.replay.replay_turns` turns each recorded turn back into a
source of its events with the original gaps (scaled by the speed). The screen mounts a
:class:`~chatterm.tui.widgets.turn.TurnView` for each and pumps the turn into it, exactly
as a live reply is; the turn ends with the recorded reply, so the stats line and the bar
show the recorded figures. Space pauses, S or End shows the rest at once, Esc closes.

A turn whose replies were begun together (a comparison) plays as it streamed: its replies
race side by side in a :class:`~chatterm.tui.widgets.compare.CompareView`, the one the
conversation went on with marked, and the ranking line follows when all have ended.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Header

from chatterm.pricing import Cost
from chatterm.reply.accumulate import Reply
from chatterm.reply.sink import pump
from chatterm.sessions.model import Session
from chatterm.sessions.replay import Clock, RecordedTurn, ReplayControl, Sleep, replay_turns
from chatterm.text import safe_text
from chatterm.tui.bindings import REPLAY_BINDINGS
from chatterm.tui.screens.turns_screen import TurnsScreen
from chatterm.tui.stats import ranking_line
from chatterm.tui.widgets.compare import CompareView
from chatterm.tui.widgets.conversation import ConversationView
from chatterm.tui.widgets.stats_bar import StatsBar
from chatterm.tui.widgets.steady_footer import SteadyFooter
from chatterm.tui.widgets.turn import TurnView


def speed_label(speed: float) -> str:
    """``1×``, ``2.5×``; ``instant`` for 0."""
    return f"{speed:g}×" if speed else "instant"


class ReplayScreen(TurnsScreen):
    """Plays ``session`` back at ``speed`` (0: everything at once).

    Args:
        session: the chat to replay (not changed).
        speed: a factor on the recorded gaps' pace: 2 plays twice as fast.
        clock: monotonic seconds, for pausing and pacing.
        sleep: how to wait (tests pass a fake).
    """

    BINDINGS: ClassVar[list[BindingType]] = [*REPLAY_BINDINGS]

    DEFAULT_CSS = """
    ReplayScreen {
        layout: vertical;
    }
    """

    def __init__(
        self,
        session: Session,
        *,
        speed: float = 1.0,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__()
        self.session = session
        self.speed = speed
        self.control = ReplayControl(clock)
        self._sleep = sleep
        self.current: TurnView | None = None
        self.costs: list[Cost | None] = []
        self.done = False

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield ConversationView(id="conversation")
        yield StatsBar(id="stats")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.title = safe_text(self.session.title or "untitled")
        self._show_state()
        self.conversation.anchor()
        self._play()

    def _show_state(self) -> None:
        state = f"replay · speed {speed_label(self.speed)}"
        if self.done:
            state += " · done"
        elif self.control.paused:
            state += " · paused"
        self.sub_title = state

    @work(exclusive=True, group="replay", exit_on_error=False)
    async def _play(self) -> None:
        total = len(self.session.turns)
        turns = replay_turns(
            self.session, speed=self.speed, control=self.control, sleep=self._sleep
        )
        async for played in turns:
            self.stats.show_replay(played.turn.model, played.index, total, self.costs)
            if len(played.columns) > 1:
                reply = await self._play_together(played)
            else:
                view = self.current = TurnView(played.turn.prompt, played.turn.model)
                await self.conversation.mount(view)
                self.conversation.scroll_end(animate=False)
                reply = await pump(played, view)
                self.current = None
                self.costs.append(reply.cost)
            self.stats.show_final(reply, self.costs)
        self.done = True
        self._show_state()
        self.refresh_bindings()

    async def _play_together(self, played: RecordedTurn) -> Reply:
        """Play replies begun together side by side, each at its recorded pace; returns
        the reply the conversation went on with."""
        columns = played.columns
        view = CompareView(played.turn.prompt, [column.turn.model for column in columns])
        view.chosen = columns.index(played)
        await self.conversation.mount(view)
        self.conversation.scroll_end(animate=False)
        view.start_clock()
        try:
            replies = await asyncio.gather(
                *(pump(column, turn) for column, turn in zip(columns, view.columns, strict=True))
            )
        finally:
            view.stop_clock()
        self.costs.extend(reply.cost for reply in replies)
        view.show_ranking(ranking_line(view.models, replies))
        return replies[view.chosen]

    # -- keys -------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        self.control.toggle_pause()
        self._show_state()

    def action_skip(self) -> None:
        self.control.skip()
        self._show_state()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "replay")
        if len(self.app.screen_stack) > 1:
            self.dismiss()
        else:  # opened on its own (``chatterm replay``): closing it ends the app
            self.app.exit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_pause", "skip"):
            return not self.done
        return True
