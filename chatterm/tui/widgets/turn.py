"""One turn of the conversation: the user's message and the reply to it.

A turn shows the message as plain text, the model that answers, a collapsible reasoning
pane, the answer as Markdown and, once the reply ends, its stats line and any error.
While a failed request waits to be sent again, a line under the model says why and when
(``retrying in 3 s: HTTP 429 rate limited (retry 1 of 2)``), until the first token.

The network side only calls :meth:`TurnView.push` (an append to a list); the screen's
frame clock calls :meth:`TurnView.flush`, which applies everything pending in one
update per pane. Every piece of model text goes through ``safe_text`` on the way in.
"""

from __future__ import annotations

from typing import assert_never

from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from chatterm.events import (
    AnswerWasReasoning,
    Event,
    Finish,
    ReasoningDelta,
    Retrying,
    Started,
    StreamError,
    StreamWarning,
    TextDelta,
    UsageUpdate,
)
from chatterm.reply.accumulate import Reply
from chatterm.text import SafeFeed, safe_text
from chatterm.tui.stats import error_line, reply_line, retry_notice
from chatterm.tui.widgets.answer_pane import AnswerPane
from chatterm.tui.widgets.reasoning_pane import ReasoningPane


class TurnView(Widget):
    """A user message and the reply to it, filled in as the reply streams."""

    DEFAULT_CSS = """
    TurnView {
        width: 1fr;
        height: auto;
        layout: vertical;
        padding: 0 1;
        margin: 0 0 1 0;

        & > .user-message {
            width: 1fr;
            background: $boost;
            border-left: outer $primary;
            padding: 0 1;
            margin: 0 0 1 0;
        }
        & > .model-label {
            color: $text-secondary;
            text-style: italic;
            margin: 0 0 0 0;
        }
        & > .turn-status {
            color: $text-muted;
            display: none;
        }
        & > .turn-notice {
            color: $text-warning;
            display: none;
        }
        &.-retrying > .turn-notice {
            display: block;
        }
        &.-ended > .turn-status {
            display: block;
        }
    }
    """

    def __init__(
        self,
        prompt: str,
        model: str,
        *,
        reasoning_collapsed: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.prompt = prompt
        self.model = model
        self.reasoning = ReasoningPane(collapsed=reasoning_collapsed)
        self.answer = AnswerPane()
        self.status = Static("", classes="turn-status")
        self.notice = Static("", classes="turn-notice")
        self.reply: Reply | None = None
        self.streamed_chars = 0  # reasoning and answer received, for a live token estimate
        self._pending: list[Event] = []
        self._reasoning_feed = SafeFeed()
        self._answer_feed = SafeFeed()

    def compose(self) -> ComposeResult:
        yield Static(Text(safe_text(self.prompt)), classes="user-message")
        yield Static(Text(safe_text(self.model)), classes="model-label")
        yield self.notice
        yield self.reasoning
        yield self.answer
        yield self.status

    @property
    def streaming(self) -> bool:
        return self.reply is None

    def push(self, event: Event) -> None:
        """Queue an event for the next frame. Cheap: called once per token."""
        self._pending.append(event)
        if isinstance(event, ReasoningDelta | TextDelta):
            self.streamed_chars += len(event.text)

    def flush(self) -> None:
        """Apply every queued event, one update per pane."""
        if not self._pending:
            return
        events, self._pending = self._pending, []
        reasoning: list[str] = []
        answer: list[str] = []
        for event in events:
            match event:
                case ReasoningDelta(text=piece):
                    reasoning.append(piece)
                case TextDelta(text=piece):
                    answer.append(piece)
                case Retrying():
                    self.notice.update(Content(retry_notice(event)))
                    self.add_class("-retrying")
                case AnswerWasReasoning():
                    self._apply(reasoning, answer)
                    reasoning, answer = [], []
                    moved = self.answer.text + self._answer_feed.flush()
                    self.answer.reset()
                    self.reasoning.append(moved)
                case Started() | UsageUpdate() | Finish() | StreamError() | StreamWarning():
                    pass  # the accumulator has them; the turn shows them when it ends
                case _:
                    assert_never(event)
        self._apply(reasoning, answer)

    def _apply(self, reasoning: list[str], answer: list[str]) -> None:
        if reasoning or answer:
            self.remove_class("-retrying")  # the retry worked: the reply is under way
        if reasoning:
            self.reasoning.append(self._reasoning_feed.feed("".join(reasoning)))
        if answer:
            self.answer.append(self._answer_feed.feed("".join(answer)))

    def show_recorded(self, reply: Reply) -> None:
        """Show a reply from a saved session, whole: its reasoning, answer and stats."""
        if reply.reasoning:
            self.push(ReasoningDelta(reply.reasoning))
        self.finish(reply)

    def finish(self, reply: Reply) -> None:
        """The reply ended: show all of it, rendered once more, and its stats."""
        self.flush()
        self.reply = reply
        self.reasoning.append(self._reasoning_feed.flush())
        self._answer_feed.flush()
        self.answer.finish(safe_text(reply.text))
        lines: list[Content] = [reply_line(reply)]
        error = error_line(reply)
        if error is not None:
            lines.append(error)
        self.status.update(Content("\n").join(lines))
        self.add_class("-ended")
        self.remove_class("-retrying")  # the error line says how many retries went before
        self.set_class(reply.finish_reason == "cancelled", "-cancelled")
        self.set_class(reply.error is not None, "-error")
