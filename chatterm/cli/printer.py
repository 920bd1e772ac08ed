"""Sinks that print a reply as it streams: plain text for people, JSON Lines for scripts
(:mod:`chatterm.reply.sink`).

Plain output passes every piece of model and server text through :func:`safe_text`, so a
model cannot drive the terminal; colour (dim reasoning) is used only on a terminal and
when ``NO_COLOR`` is unset. JSON Lines keep the exact text, escaped as JSON.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, Protocol, TextIO, assert_never

from chatterm import events
from chatterm.events import Event
from chatterm.reply.accumulate import Reply
from chatterm.reply.figures import format_stats
from chatterm.retry import format_wait
from chatterm.text import SafeFeed, escape_unsafe_in_strings, safe_text


class Output(Protocol):
    """Where a printer writes: a text stream, or a :class:`GuardedOutput` around one."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class StdoutFailed(Exception):
    """Writing the reply failed and nothing else takes it (no session): stop the reply."""


class GuardedOutput:
    """A printer's stdout whose failure (a full disk, a closed pipe) is kept in ``error``
    rather than raised through the reply's pump, where it would keep the session recorder
    from getting the rest of the reply; nothing more is written after it. With ``stop``,
    the failure is raised as :class:`StdoutFailed` too: no one else wants the reply."""

    def __init__(self, out: TextIO, *, stop: bool) -> None:
        self.out = out
        self.stop = stop
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        if self.error is None:
            try:
                self.out.write(text)
            except OSError as error:
                self._failed(error)
        return len(text)

    def flush(self) -> None:
        if self.error is None:
            try:
                self.out.flush()
            except OSError as error:
                self._failed(error)

    def _failed(self, error: OSError) -> None:
        self.error = error
        if self.stop:
            raise StdoutFailed() from error


_DIM = "\x1b[2m"
_RED = "\x1b[31m"
_RESET = "\x1b[0m"


def dim(text: str, color: bool) -> str:
    """``text`` in the terminal's dim style when ``color``, else as it is."""
    return f"{_DIM}{text}{_RESET}" if color else text


class _Printer(ABC):
    """A printer ends once: a second ``done`` (a path that cannot know whether the pump
    ended it) prints nothing."""

    _ended = False

    def done(self, reply: Reply) -> None:
        if not self._ended:
            self._ended = True
            self._end(reply)

    @abstractmethod
    def _end(self, reply: Reply) -> None:
        """Write the reply's end (its stats line, or its ``done`` record)."""


class PlainPrinter(_Printer):
    """Reasoning under a ``thinking`` rule, then the answer, then one stats line."""

    def __init__(
        self, out: Output, err: Output, *, color: bool, show_reasoning: bool = True
    ) -> None:
        self.out = out
        self.err = err
        self.color = color
        self.show_reasoning = show_reasoning
        self._section: str | None = None  # "reasoning" | "answer"
        self._at_line_start = True
        self._reasoning_feed = SafeFeed()
        self._text_feed = SafeFeed()

    def _write(self, text: str, *, dim: bool = False) -> None:
        if text:
            # Whether a line is open depends on the text, not on the colour codes around it.
            self._at_line_start = text.endswith("\n")
            self.out.write(self._dim(text) if dim else text)

    def _enter(self, section: str) -> None:
        if self._section == section:
            return
        if self._section == "reasoning":
            self._write(self._reasoning_feed.flush(), dim=True)
        if not self._at_line_start:
            self._write("\n")
        if section == "reasoning":
            self._write("── thinking ──\n", dim=True)
        elif self._section == "reasoning":
            self._write("── answer ──\n", dim=True)
        self._section = section

    def _dim(self, text: str) -> str:
        return dim(text, self.color)

    def event(self, event: Event, at: float = 0.0) -> None:
        match event:
            case events.ReasoningDelta(text=text):
                if self.show_reasoning:
                    self._enter("reasoning")
                    self._write(self._reasoning_feed.feed(text), dim=True)
                    self.out.flush()
            case events.TextDelta(text=text):
                self._enter("answer")
                self._write(self._text_feed.feed(text))
                self.out.flush()
            case events.AnswerWasReasoning():
                if not self._at_line_start:
                    self._write("\n")
                self._write("── (the text above was the model's reasoning) ──\n", dim=True)
                self._section = "reasoning"  # so the answer that follows gets its rule
            case events.StreamError(message=message):
                if not self._at_line_start:
                    self._write("\n")
                    self.out.flush()
                line = f"error: {safe_text(message)}"
                self.err.write((f"{_RED}{line}{_RESET}" if self.color else line) + "\n")
                self.err.flush()
            case events.Retrying():
                # Before the first token, so nothing is open on stdout: one line on stderr.
                self.err.write(self._dim(retry_line(event)) + "\n")
                self.err.flush()
            case events.Started() | events.UsageUpdate() | events.Finish() | events.StreamWarning():
                pass
            case _:
                assert_never(event)

    def _end(self, reply: Reply) -> None:
        self._write(self._text_feed.flush())
        if not self._at_line_start:
            self._write("\n")
        self._write(f"── {format_stats(reply)} ──\n", dim=True)
        self.out.flush()


def retry_line(event: events.Retrying) -> str:
    """``retrying in 3 s: HTTP 429 rate limited (retry 1 of 2)``, safe for a terminal."""
    wait = format_wait(event.delay_s)
    reason = safe_text(event.reason)
    return f"retrying in {wait}: {reason} (retry {event.retry} of {event.max_retries})"


# A lone surrogate (an undecodable byte of a file name) would reach a surrogateescape
# stdout as the raw byte; as a \u escape it is valid JSON and reads back the same.
_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of JSON (no newline), safe to put on a terminal."""
    line = escape_unsafe_in_strings(json.dumps(record, ensure_ascii=False))
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)


class JsonLinesPrinter(_Printer):
    """One JSON object per line: deltas, errors, and exactly one ``done`` record.

    ``session_id``, when set by the time the reply is done, goes into the ``done`` record
    (the session the reply was saved in), and so does ``place`` (see :func:`done_record`).
    """

    def __init__(
        self, out: Output, *, show_reasoning: bool = True, session_id: str | None = None
    ) -> None:
        self.out = out
        self.show_reasoning = show_reasoning
        self.session_id = session_id
        self.place: tuple[int, int] | None = None

    def record(self, record: dict[str, Any]) -> None:
        """Write one record as a line and flush."""
        self.out.write(json_line(record) + "\n")
        self.out.flush()

    def event(self, event: Event, at: float = 0.0) -> None:
        match event:
            case events.ReasoningDelta(text=text):
                if self.show_reasoning:
                    self.record({"type": "reasoning", "text": text})
            case events.TextDelta(text=text):
                self.record({"type": "text", "text": text})
            case events.AnswerWasReasoning():
                self.record({"type": "answer_was_reasoning"})
            case events.StreamError(message=message, retryable=retryable):
                self.record({"type": "error", "message": message, "retryable": retryable})
            case events.Retrying(
                retry=retry, max_retries=max_retries, delay_s=delay_s, reason=reason
            ):
                self.record(
                    {
                        "type": "retrying",
                        "retry": retry,
                        "max_retries": max_retries,
                        "delay_s": round(delay_s, 3),
                        "reason": reason,
                    }
                )
            case events.Started() | events.UsageUpdate() | events.Finish() | events.StreamWarning():
                pass
            case _:
                assert_never(event)

    def _end(self, reply: Reply) -> None:
        self.record(
            done_record(
                reply,
                include_reasoning=self.show_reasoning,
                session_id=self.session_id,
                place=self.place,
            )
        )


def done_record(
    reply: Reply,
    *,
    include_reasoning: bool = True,
    session_id: str | None = None,
    place: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The ``done`` record; ``session_id`` is added only when given, and so is ``place``:
    which of the alternatives at the reply's turn in the session it is (from 1, in the
    order written) and how many there are, as ``alternative`` and ``alternatives``."""
    usage = reply.usage
    metrics = reply.metrics
    record: dict[str, Any] = {
        "type": "done",
        "model": reply.model,
        "text": reply.text,
        "reasoning": reply.reasoning if include_reasoning else "",
        "finish_reason": reply.finish_reason,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
            "estimated": usage.estimated,
        },
        "ttft_ms": metrics.ttft_ms,
        "first_answer_ms": metrics.first_answer_ms,
        "duration_ms": metrics.duration_ms,
        "tokens_per_s": metrics.tokens_per_s,
        "server_tokens_per_s": usage.server_tokens_per_s,
        "cost_usd": reply.cost.usd if reply.cost else None,
        "cost_source": reply.cost.source if reply.cost else "unknown",
        "warnings": list(reply.warnings),
    }
    if session_id is not None:
        record["session_id"] = session_id
    if place is not None:
        record["alternative"], record["alternatives"] = place
    return record
