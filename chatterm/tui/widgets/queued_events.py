"""A streaming reply's queued events, applied to what shows it once per frame.

A turn (:class:`~chatterm.tui.widgets.turn.TurnView`) and a comparison's column
(:class:`~chatterm.tui.widgets.compare_column.ColumnView`) queue a reply's events as they
arrive and apply them on their frame clock's tick: the text of a frame joined into one
update of the reasoning and one of the answer, a retry notice shown, and an answer that
turned out to be reasoning moved. Both go through :func:`apply_events`, so they read a
stream alike.
"""

from __future__ import annotations

from typing import Protocol, assert_never

from chatterm import events
from chatterm.events import Event


class ReplyView(Protocol):
    """What shows a streaming reply."""

    def apply_text(self, reasoning: list[str], answer: list[str]) -> None:
        """Add the pieces of reasoning and answer text that arrived, in order."""

    def show_retry(self, event: events.Retrying) -> None:
        """The request failed before its first token and is sent again soon."""

    def answer_was_reasoning(self) -> None:
        """The answer so far was reasoning: move it there."""


def apply_events(queued: list[Event], view: ReplyView) -> None:
    """Apply ``queued`` to ``view``: the text joined per frame, in the order it came."""
    reasoning: list[str] = []
    answer: list[str] = []
    for event in queued:
        match event:
            case events.ReasoningDelta(text=piece):
                reasoning.append(piece)
            case events.TextDelta(text=piece):
                answer.append(piece)
            case events.Retrying():
                view.show_retry(event)
            case events.AnswerWasReasoning():
                view.apply_text(reasoning, answer)
                reasoning, answer = [], []
                view.answer_was_reasoning()
            case (
                events.Started()
                | events.UsageUpdate()
                | events.Finish()
                | events.StreamError()
                | events.StreamWarning()
            ):
                pass  # the accumulator has them; the reply shows them when it ends
            case _:
                assert_never(event)
    view.apply_text(reasoning, answer)
