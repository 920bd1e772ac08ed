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
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TextIO, assert_never

from chatterm import events
from chatterm.events import Event
from chatterm.reply.accumulate import Reply
from chatterm.reply.figures import format_ms, format_rate, format_stats, rank_replies
from chatterm.retry import format_wait
from chatterm.text import SafeFeed, escape_unsafe_in_strings, safe_text, visible_line


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


def bold(text: str, color: bool) -> str:
    """``text`` in bold when ``color``, else as it is."""
    return f"{_BOLD}{text}{_RESET}" if color else text


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
    """Reasoning under a ``thinking`` rule, then the answer, then one stats line. ``label``
    (terminal-safe) names the model in the error line, when several share stderr."""

    def __init__(
        self,
        out: Output,
        err: Output,
        *,
        color: bool,
        show_reasoning: bool = True,
        label: str | None = None,
    ) -> None:
        self.out = out
        self.err = err
        self.label = label
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
                if self.label is not None:
                    line = f"{self.label}: {line}"
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


class _Held:
    """An :class:`Output` that keeps what is written, in one list with its sibling's (so
    that stdout and stderr keep their order), until the reply is written out whole."""

    def __init__(self, chunks: list[tuple[Output, str]], target: Output) -> None:
        self.chunks = chunks
        self.target = target

    def write(self, text: str, /) -> int:
        if text:
            self.chunks.append((self.target, text))
        return len(text)

    def flush(self) -> None:
        pass


class HeldReply:
    """One model's reply in a compared run (a sink): printed as :class:`PlainPrinter`
    prints a reply (its error line naming the model), but held until
    :class:`PlainComparison` writes it out. A retry notice is said at once, on stderr and
    naming the model: it tells why nothing comes."""

    def __init__(self, comparison: PlainComparison, label: str, *, show_reasoning: bool) -> None:
        self.comparison = comparison
        self.label = label
        self.chunks: list[tuple[Output, str]] = []
        out, err = _Held(self.chunks, comparison.out), _Held(self.chunks, comparison.err)
        self.printer = PlainPrinter(
            out, err, color=comparison.color, show_reasoning=show_reasoning, label=label
        )
        self.ended = False

    def event(self, event: Event, at: float = 0.0) -> None:
        if isinstance(event, events.Retrying):
            line = f"{self.label}: {retry_line(event)}"
            self.comparison.err.write(dim(line, self.comparison.color) + "\n")
            self.comparison.err.flush()
        else:
            self.printer.event(event, at)

    def done(self, reply: Reply) -> None:
        if self.ended:
            return  # a sink ends once
        self.printer.done(reply)
        self.ended = True
        self.comparison.release()


class PlainComparison:
    """What a person sees of ``ask -m A -m B …``: each reply whole, under a rule naming its
    model, in the order the models were given, as soon as it and every reply before it have
    ended (replies streaming into one another would be unreadable); then :meth:`table`.
    ``replies`` holds one sink per model."""

    def __init__(
        self,
        out: Output,
        err: Output,
        models: Sequence[str],
        *,
        color: bool,
        show_reasoning: bool = True,
    ) -> None:
        self.out = out
        self.err = err
        self.color = color
        self.labels = compare_labels(models)
        self.replies = [
            HeldReply(self, label, show_reasoning=show_reasoning) for label in self.labels
        ]
        self._written = 0

    def release(self) -> None:
        """Write out every ended reply whose turn has come."""
        while self._written < len(self.replies) and self.replies[self._written].ended:
            held = self.replies[self._written]
            heading = f"══ {held.label} ══"
            if self._written:
                self.out.write("\n")
            self.out.write((f"{_BOLD}{heading}{_RESET}" if self.color else heading) + "\n")
            last: Output = self.out
            for target, text in held.chunks:
                if target is not last:
                    last.flush()  # stdout and stderr interleave as the reply had them
                    last = target
                target.write(text)
            held.chunks.clear()
            self.out.flush()
            self.err.flush()
            self._written += 1

    def table(self, replies: Sequence[Reply]) -> None:
        """The replies' figures side by side, the best of each marked with ``*``."""
        ranking = rank_replies(replies)
        header = ["model", "finish", "TTFT", "first answer", "speed", "tokens", "cost"]
        rows = [header]
        for position, (label, reply) in enumerate(zip(self.labels, replies, strict=True)):
            metrics, usage = reply.metrics, reply.usage
            rate = format_rate(metrics.tokens_per_s) if metrics.tokens_per_s is not None else "–"
            known = reply.cost is not None and reply.cost.usd is not None
            cost = reply.cost.label() if reply.cost is not None and known else "unknown"
            tokens = f"in {usage.input_tokens:,} · out {usage.output_tokens:,}"
            rows.append(
                [
                    label,
                    reply.finish_reason or "cancelled",
                    _marked(format_ms(metrics.ttft_ms), position, ranking.fastest_first_token),
                    _marked(format_ms(metrics.first_answer_ms), position, None),
                    _marked(rate, position, ranking.fastest_tokens_per_s),
                    tokens + (" est." if usage.estimated else ""),
                    _marked(cost, position, ranking.cheapest),
                ]
            )
        # A figure ends in "*" or a space (see _marked): its header too, so that they align.
        rows[0] = [cell + (" " if column in _FIGURES else "") for column, cell in enumerate(header)]
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        self.out.write("\n")
        for row in rows:
            cells = [
                cell.rjust(width) if column in _FIGURES else cell.ljust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            self.out.write("  ".join(cells).rstrip() + "\n")
        bests = (
            (ranking.fastest_first_token, "the fastest first token"),
            (ranking.fastest_tokens_per_s, "the fastest tokens/s"),
            (ranking.cheapest, "the cheapest"),
        )
        marked = [name for best, name in bests if best is not None]
        if marked:
            self.out.write(self._dim("* " + ", ".join(marked)) + "\n")
        self.out.flush()

    def _dim(self, text: str) -> str:
        return dim(text, self.color)


_FIGURES = frozenset({2, 3, 4, 6})  # the table's columns of figures, right-aligned
_BOLD = "\x1b[1m"


def _marked(figure: str, position: int, best: int | None) -> str:
    """A figure of the table, ending in ``*`` when it is the best, else in a space."""
    return figure + ("*" if position == best else " ")


def compare_labels(models: Sequence[str]) -> list[str]:
    """How plain output names each model of a compared run: its reference made visible,
    and ``#2`` (its place among the models given, from 1) when it was asked twice."""
    return [
        visible_line(model) + (f" #{position + 1}" if models.count(model) > 1 else "")
        for position, model in enumerate(models)
    ]


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
    ``tags`` go into every record, just after its type: which model of a compared run it
    is (``ask -m A -m B``), so that the lines of several printers can share one stdout.
    """

    def __init__(
        self,
        out: Output,
        *,
        show_reasoning: bool = True,
        session_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        self.out = out
        self.show_reasoning = show_reasoning
        self.session_id = session_id
        self.place: tuple[int, int] | None = None
        self.tags = dict(tags or {})

    def record(self, record: dict[str, Any]) -> None:
        """Write one record as a line (one write: lines never mix) and flush."""
        if self.tags:
            record = {"type": record["type"], **self.tags, **record}
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
    record: dict[str, Any] = {
        "type": "done",
        "model": reply.model,
        "text": reply.text,
        "reasoning": reply.reasoning if include_reasoning else "",
        **reply_fields(reply),
        "warnings": list(reply.warnings),
    }
    if session_id is not None:
        record["session_id"] = session_id
    if place is not None:
        record["alternative"], record["alternatives"] = place
    return record


def reply_fields(reply: Reply) -> dict[str, Any]:
    """How a reply ended and its figures, as the ``done`` record and each result of the
    ``compare`` record give them: finish reason, usage, times, tokens/s and cost."""
    usage = reply.usage
    metrics = reply.metrics
    return {
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
    }


def compare_tags(models: Sequence[str]) -> list[dict[str, Any]]:
    """What marks each model's records in a compared run: ``model``, and, when a model was
    given twice, ``index`` (its place among the models given, from 0) on every one."""
    repeated = len(set(models)) < len(models)
    return [
        {"model": model, **({"index": index} if repeated else {})}
        for index, model in enumerate(models)
    ]


def compare_record(replies: Sequence[Reply], tags: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``compare`` record that ends a run of several models: one result per reply, in
    the order the models were given, each opened by the reply's ``tags`` (its ``model``,
    and its ``index`` when a model was asked twice or for several choices), then which
    model was first, fastest and cheapest (:func:`~chatterm.reply.figures.rank_replies`;
    null when none was) and, when the replies have an index, which of them
    (``fastest_first_token_index``, …)."""
    results = []
    for reply, tag in zip(replies, tags, strict=True):
        result = {**tag, **reply_fields(reply)}
        result["cost_estimated"] = reply.cost.estimated if reply.cost else False
        results.append(result)
    ranking = rank_replies(replies)

    def model_at(position: int | None) -> Any:
        return None if position is None else tags[position]["model"]

    bests = {
        "fastest_first_token": ranking.fastest_first_token,
        "fastest_tokens_per_s": ranking.fastest_tokens_per_s,
        "cheapest": ranking.cheapest,
    }
    record: dict[str, Any] = {"type": "compare", "results": results}
    record.update({name: model_at(position) for name, position in bests.items()})
    if any("index" in tag for tag in tags):
        # The model alone does not say which reply when a model answered more than once.
        for name, position in bests.items():
            record[f"{name}_index"] = None if position is None else tags[position]["index"]
    return record
