"""Fold normalized events into one consolidated reply, the same shape for every provider.

The accumulator is deterministic: no I/O, no clock. Times come from the event stamps, so a
replayed stream produces the same reply and metrics as the live one did.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import assert_never

from chatterm import events
from chatterm.events import Event, FinishReason, Usage, estimate_tokens
from chatterm.pricing import Cost
from chatterm.reply.metrics import Metrics, compute_metrics


@dataclass(frozen=True, slots=True)
class Reply:
    """The consolidated reply: what a non-streamed call would have returned, plus timing."""

    model: str
    reasoning: str
    text: str
    finish_reason: FinishReason | None
    usage: Usage
    metrics: Metrics
    error: events.StreamError | None = None
    warnings: tuple[str, ...] = ()
    cost: Cost | None = None

    def with_cost(self, cost: Cost) -> Reply:
        return replace(self, cost=cost)


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """What a reply in flight shows each frame, without building the whole reply."""

    started_at: float | None
    #: the server's running total, else an estimate from what arrived (marked estimated)
    usage: Usage


class ReplyAccumulator:
    """Folds :class:`~chatterm.events.Event` values into a :class:`Reply`.

    Args:
        model: the model reference the reply is for (``provider:model``).
        prompt_chars: size of everything sent, used to estimate input tokens when the
            server reports no usage.
    """

    def __init__(self, model: str, prompt_chars: int = 0) -> None:
        self.model = model
        self.prompt_chars = prompt_chars
        self._reasoning: list[str] = []
        self._text: list[str] = []
        self._reasoning_chars = 0
        self._text_chars = 0
        self.usage: Usage | None = None
        self.finish_reason: FinishReason | None = None
        self.error: events.StreamError | None = None
        # One entry per kind of warning (or per distinct message without a kind), in the
        # order they first came; a later warning of a kind replaces its running total.
        self._warnings: dict[str, str] = {}
        self.started_at: float | None = None
        self.first_delta_at: float | None = None
        self.first_answer_at: float | None = None
        self.last_delta_at: float | None = None
        self.ended_at: float | None = None

    @property
    def reasoning(self) -> str:
        if len(self._reasoning) > 1:
            self._reasoning[:] = ["".join(self._reasoning)]
        return self._reasoning[0] if self._reasoning else ""

    @property
    def text(self) -> str:
        if len(self._text) > 1:
            self._text[:] = ["".join(self._text)]
        return self._text[0] if self._text else ""

    def add(self, at: float, event: Event) -> None:
        match event:
            case events.Started():
                self.started_at = at
            case events.ReasoningDelta(text=piece):
                if piece:
                    self._delta_at(at)
                    self._reasoning.append(piece)
                    self._reasoning_chars += len(piece)
            case events.TextDelta(text=piece):
                if piece:
                    self._delta_at(at)
                    if self.first_answer_at is None:
                        self.first_answer_at = at
                    self._text.append(piece)
                    self._text_chars += len(piece)
            case events.AnswerWasReasoning():
                moved = self.text
                self._reasoning.append(moved)
                self._reasoning_chars += len(moved)
                self._text.clear()
                self._text_chars = 0
                self.first_answer_at = None
            case events.UsageUpdate(usage=usage):
                self.usage = usage  # a running total: replace, never add
            case events.Finish(reason=reason):
                if self.finish_reason is None:
                    self.finish_reason = reason
                    self.ended_at = at
            case events.StreamError():
                if self.error is None:
                    self.error = event
            case events.StreamWarning(message=message, kind=kind):
                self._warnings[kind or "\0" + message] = message
            case events.Retrying():
                pass  # the failed attempt left nothing else behind; times count from Started
            case _:
                assert_never(event)

    @property
    def warnings(self) -> list[str]:
        """What the stream skipped: one line per kind, however many times it happened."""
        return list(self._warnings.values())

    def _delta_at(self, at: float) -> None:
        if self.first_delta_at is None:
            self.first_delta_at = at
        self.last_delta_at = at

    def snapshot(self) -> LiveFigures:
        """The live figures: the output estimate is made as the reply's own is."""
        if self.usage is not None:
            return LiveFigures(self.started_at, self._settled(self.usage))
        streamed = self._text_chars + self._reasoning_chars
        usage = Usage(output_tokens=estimate_tokens(streamed), estimated=True)
        return LiveFigures(self.started_at, usage)

    def cancel(self, at: float) -> None:
        """The user stopped the reply: keep what arrived, mark it cancelled."""
        self.add(at, events.Finish("cancelled"))

    def reply(self, at: float | None = None) -> Reply:
        """The reply as it stands. ``at`` is the end time when the stream has not finished."""
        usage = self._settled(self.usage) if self.usage is not None else self._estimated_usage()
        ended_at = self.ended_at if self.ended_at is not None else at
        return Reply(
            model=self.model,
            reasoning=self.reasoning,
            text=self.text,
            finish_reason=self.finish_reason,
            usage=usage,
            metrics=compute_metrics(
                started_at=self.started_at,
                first_delta_at=self.first_delta_at,
                first_answer_at=self.first_answer_at,
                last_delta_at=self.last_delta_at,
                ended_at=ended_at,
                output_tokens=self._streamed_tokens(usage),
            ),
            error=self.error,
            warnings=tuple(self.warnings),
        )

    def _streamed_tokens(self, usage: Usage) -> int:
        """Output tokens that arrived as deltas: hidden reasoning (OpenAI's o-series and
        gpt-5 count it but never stream it) is not part of the streaming rate."""
        if usage.reasoning_tokens and not self._reasoning_chars:
            return max(usage.output_tokens - usage.reasoning_tokens, 0)
        return usage.output_tokens

    def _settled(self, usage: Usage) -> Usage:
        """The server's usage, unless it cannot be this reply's. One that counts no token
        (its counts were junk) gives way to the reply's own estimate, keeping any cost the
        server charged; an output of 0 beside text that did stream is the estimate instead,
        and so is an input of 0 for a prompt that was sent (no request has no tokens: the
        count was junk or left out). Each is marked estimated: a paid reply never reads as
        an exact $0 it was not."""
        if usage.estimated:
            return usage
        if not usage.counts_tokens:
            return replace(
                self._estimated_usage(),
                cost_usd=usage.cost_usd,
                server_tokens_per_s=usage.server_tokens_per_s,
            )
        streamed = self._text_chars + self._reasoning_chars
        if usage.output_tokens == 0 and streamed:
            usage = replace(
                usage,
                output_tokens=estimate_tokens(streamed),
                reasoning_tokens=estimate_tokens(self._reasoning_chars),
                estimated=True,
            )
        if usage.input_tokens == 0 and self.prompt_chars:
            usage = replace(usage, input_tokens=estimate_tokens(self.prompt_chars), estimated=True)
        return usage

    def _estimated_usage(self) -> Usage:
        # A request that failed before anything arrived most likely never reached the model.
        failed_early = self.error is not None and self.first_delta_at is None
        return Usage(
            input_tokens=0 if failed_early else estimate_tokens(self.prompt_chars),
            output_tokens=estimate_tokens(self._text_chars + self._reasoning_chars),
            reasoning_tokens=estimate_tokens(self._reasoning_chars),
            estimated=True,
        )
