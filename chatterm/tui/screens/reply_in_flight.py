"""A reply in flight on the chat screen: where its events come from and where they go.

The chat screen streams one reply at a time into a turn, a comparison several at once
into its columns (:mod:`chatterm.tui.screens.chat_compare`); each is one
:class:`LiveReply`, pumped by its own worker and ended once, however the worker ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from chatterm.events import Event, ReasoningDelta, Retrying, TextDelta
from chatterm.reply.accumulate import Reply
from chatterm.reply.sink import Sink
from chatterm.sessions.recorder import TurnRecorder
from chatterm.tui.widgets.compare_column import ColumnView
from chatterm.tui.widgets.turn import TurnView

if TYPE_CHECKING:
    from chatterm.reply.live import ReplyStream


#: where a reply in flight shows: a turn, or a comparison's column
View = TypeVar("View", TurnView, ColumnView)


@dataclass(eq=False)
class LiveReply(Generic[View]):
    """The reply in flight: its stream, the turn it shows in and the session's recorder."""

    turn: View
    stream: ReplyStream
    recorder: TurnRecorder
    frozen_at: float = 0.0  # when survivors were last frozen for the collector
    ended: bool = False
    #: the last retry notice and when it came, until the first token arrives
    retrying: tuple[float, Retrying] | None = None

    def sinks(self) -> tuple[Sink, ...]:
        """Where the reply's events go: the turn on screen, then the session (so the file
        never runs ahead of the screen), then the retry notice's watch."""
        return (self.turn, self.recorder, self)

    def event(self, event: Event, at: float) -> None:
        if isinstance(event, Retrying):
            self.retrying = (at, event)
        elif self.retrying is not None and isinstance(event, ReasoningDelta | TextDelta):
            self.retrying = None

    def done(self, reply: Reply) -> None:
        pass  # the screen ends the turn, once, when the worker has ended
