"""One turn of the conversation: the user's message and the reply to it.

A turn shows the message as plain text, the model that answers, a collapsible reasoning
pane, the answer as Markdown and, once the reply ends, its stats line and any error.
While a failed request waits to be sent again, a line under the model says why and when
(``retrying in 3 s: HTTP 429 rate limited (retry 1 of 2)``), until the first token.

A turn is a :class:`~chatterm.reply.sink.Sink`, and it batches its own frames: an event
arriving is only queued (an append to a list); the turn's frame clock (a
:class:`~chatterm.tui.frame_clock.FrameClock`, whose period follows what a frame costs,
from the first event, or from :meth:`TurnView.start_clock`, until the reply ends) applies
what is queued in one update per pane, then calls the screen's ``on_frame`` for its live
figures. Every piece of model text goes through ``safe_text`` on the way in.

A turn can also be one column of a comparison (:mod:`chatterm.tui.widgets.compare`):
then it leaves the prompt to the comparison, which runs one frame clock for all its
columns (``own_clock=False``), and shows live figures under the reply while it streams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from chatterm import events
from chatterm.attachments import describe
from chatterm.events import Attachment, Event
from chatterm.reply.accumulate import Reply
from chatterm.sessions.model import AttachmentRef
from chatterm.text import SafeFeed, safe_text
from chatterm.tui.compat import NoLayoutOnResize
from chatterm.tui.frame_clock import FrameClock
from chatterm.tui.stats import error_line, reply_line, retry_notice
from chatterm.tui.widgets.answer_pane import AnswerPane
from chatterm.tui.widgets.queued_events import apply_events
from chatterm.tui.widgets.reasoning_pane import ReasoningPane


class UserMessage(Static):
    """The user's message, as written (never markup), above the reply or replies to it."""

    DEFAULT_CSS = """
    UserMessage {
        width: 1fr;
        background: $boost;
        border-left: outer $primary;
        padding: 0 1;
        margin: 0 0 1 0;
    }
    """

    def __init__(self, prompt: str, attachments: Sequence[Attachment | AttachmentRef] = ()) -> None:
        super().__init__(message_text(prompt, attachments), classes="user-message")


def message_text(prompt: str, attachments: Sequence[Attachment | AttachmentRef] = ()) -> Text:
    """The user's message, and under it a line per attached file (its name as data)."""
    text = Text(safe_text(prompt))
    for attachment in attachments:
        shown = (
            describe(attachment) if isinstance(attachment, Attachment) else attachment.describe()
        )
        text.append("\n")
        text.append(f"attached: {shown}", style="italic")
    return text


class TurnView(NoLayoutOnResize, Widget):
    """A user message and the reply to it, filled in as the reply streams."""

    DEFAULT_CSS = """
    TurnView {
        width: 1fr;
        height: auto;
        layout: vertical;
        padding: 0 1;
        margin: 0 0 1 0;

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
        &.-ended > .turn-status, &.-live-status > .turn-status {
            display: block;
        }
        &.-selected {
            border-left: thick $accent;
        }
        &.-compacted > ReasoningPane, &.-compacted > AnswerPane,
        &.-compacted > .turn-status {
            display: none;
        }
        &.-compacted > UserMessage {
            color: $text-muted;
        }
    }
    """

    def __init__(
        self,
        prompt: str,
        model: str,
        *,
        reasoning_collapsed: bool = False,
        on_frame: Callable[[], None] | None = None,
        show_prompt: bool = True,
        own_clock: bool = True,
        summary: bool = False,
        attachments: Sequence[Attachment | AttachmentRef] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.attachments = tuple(attachments)  # the files sent with the prompt
        self.alternative: tuple[int, int] | None = None  # (k, n): shown is k of n
        self.summary = summary  # the reply summarizes the turns above (compaction)
        self.on_frame = on_frame
        self.show_prompt = show_prompt
        self.own_clock = own_clock
        self.prompt = prompt
        self.model = model
        self.model_label = Static(self._label(), classes="model-label")
        self.reasoning = ReasoningPane(collapsed=reasoning_collapsed)
        self.answer = AnswerPane()
        self.status = Static("", classes="turn-status")
        self.notice = Static("", classes="turn-notice")
        self.reply: Reply | None = None
        self.streamed_chars = 0  # reasoning and answer received
        self._pending: list[Event] = []
        self._frame_timer: FrameClock | None = None
        self._reasoning_feed = SafeFeed()
        self._answer_feed = SafeFeed()

    def compose(self) -> ComposeResult:
        if self.show_prompt:
            yield UserMessage(self.prompt, self.attachments)
        yield self.model_label
        yield self.notice
        yield self.reasoning
        yield self.answer
        yield self.status

    def set_alternative(self, shown: int, count: int) -> None:
        """Say that this reply is alternative ``shown`` (from 1) of ``count`` at its place
        in the conversation; with one, nothing is said."""
        self.alternative = (shown, count) if count > 1 else None
        self.model_label.update(self._label())

    def _label(self) -> Text:
        label = Text()
        if self.alternative is not None:
            shown, count = self.alternative
            label.append(f"◀ {shown}/{count} ▶", style="bold")
            label.append("  ")
        label.append(safe_text(self.model))
        if self.summary:
            label.append(" · summary: sent instead of the turns above", style="bold")
        return label

    def fold(self) -> None:
        """Show only the prompt: a summary below stands for this turn in what is sent."""
        self.add_class("-compacted")

    @property
    def streaming(self) -> bool:
        return self.reply is None

    def event(self, event: Event, at: float) -> None:
        """Queue an event for the next frame. Cheap: called once per token."""
        self._pending.append(event)
        if isinstance(event, events.ReasoningDelta | events.TextDelta):
            self.streamed_chars += len(event.text)
        if self._frame_timer is None and self.reply is None and self.own_clock:
            self.start_clock()

    def start_clock(self) -> None:
        """Run the frame clock from now until the reply ends (the screen's live figures
        tick while the request waits for its first token)."""
        if self._frame_timer is None and self.is_attached:
            self._frame_timer = FrameClock(self, self._on_frame)
            self._frame_timer.start()

    def stop_clock(self) -> None:
        if self._frame_timer is not None:
            self._frame_timer.stop()
            self._frame_timer = None

    def _on_frame(self) -> None:
        self.flush()
        if self.on_frame is not None:
            self.on_frame()

    def show_live(self, figures: Content) -> None:
        """While the reply streams, a line of live figures where its stats will be."""
        if self.reply is None:
            self.status.update(figures, layout=False)
            self.add_class("-live-status")

    def done(self, reply: Reply) -> None:
        """The reply ended: :meth:`finish`, once, unless the turn has left the screen (the
        app is closing)."""
        if self.reply is None and self.is_attached:
            self.finish(reply)

    def flush(self) -> None:
        """Apply every queued event, one update per pane."""
        if self._pending:
            queued, self._pending = self._pending, []
            apply_events(queued, self)

    def show_retry(self, event: events.Retrying) -> None:
        self.notice.update(Content(retry_notice(event)))
        self.add_class("-retrying")

    def answer_was_reasoning(self) -> None:
        moved = self.answer.text + self._answer_feed.flush()
        self.answer.reset()
        self.reasoning.append(moved)

    def apply_text(self, reasoning: list[str], answer: list[str]) -> None:
        if reasoning or answer:
            self.remove_class("-retrying")  # the retry worked: the reply is under way
        if reasoning:
            self.reasoning.append(self._reasoning_feed.feed("".join(reasoning)))
        if answer:
            self.answer.append(self._answer_feed.feed("".join(answer)))

    def show_recorded(self, reply: Reply) -> None:
        """Show a reply from a saved session, whole: its reasoning, answer and stats."""
        if reply.reasoning:
            self._pending.append(events.ReasoningDelta(reply.reasoning))
        self.finish(reply)

    def finish(self, reply: Reply) -> None:
        """The reply ended: show all of it, rendered once more, and its stats."""
        self.stop_clock()
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
        self.remove_class("-live-status")
        self.add_class("-ended")
        self.remove_class("-retrying")  # the error line says how many retries went before
        self.set_class(reply.finish_reason == "cancelled", "-cancelled")
        self.set_class(reply.error is not None, "-error")
