"""The words of the stats bar and of each turn's stats line, as pure functions.

The bar has two parts: the reply's figures on the left (cut with an ellipsis when the
terminal is narrow) and the session cost on the right (always shown).

Everything returns :class:`textual.content.Content` built from plain strings and style
tuples, never from markup, so a model name or an error message is shown as written.
Colours are theme variables (``$text-error``), resolved when the line is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.content import Content

from chatterm.events import Retrying, Usage
from chatterm.reply.accumulate import Reply
from chatterm.reply.figures import format_ms, format_rate, rank_replies, reply_figures, session_cost
from chatterm.retry import format_wait
from chatterm.text import safe_text

__all__ = [
    "column_live",
    "compare_bar",
    "error_line",
    "final_bar",
    "idle_bar",
    "live_bar",
    "ranking_line",
    "replay_bar",
    "reply_line",
    "retry_bar",
    "retry_notice",
    "session_cost",
]

DIM_SEPARATOR = (" · ", "dim")
ERROR_STYLE = "$text-error"
WARNING_STYLE = "$text-warning"
TONE_STYLES = {"error": ERROR_STYLE, "warning": WARNING_STYLE}


def _join(parts: Sequence[str | tuple[str, str] | Content]) -> Content:
    pieces: list[str | tuple[str, str] | Content] = []
    for part in parts:
        if pieces:
            pieces.append(DIM_SEPARATOR)
        pieces.append(part)
    return Content.assemble(*pieces)


def reply_parts(reply: Reply) -> list[str | tuple[str, str] | Content]:
    """The figures of one finished reply, in reading order, styled by tone."""
    return [(text, TONE_STYLES[tone]) if tone else text for text, tone in reply_figures(reply)]


def reply_line(reply: Reply) -> Content:
    """The stats line under a finished turn."""
    return _join(reply_parts(reply))


def error_line(reply: Reply) -> Content | None:
    """The reply's error as one line in the error colour, or None."""
    if reply.error is None:
        return None
    message = " ".join(safe_text(reply.error.message).split())
    return Content.assemble(("error: " + message, ERROR_STYLE))


def final_bar(reply: Reply) -> Content:
    """The stats bar once a reply has ended: any error first, then its figures."""
    parts = reply_parts(reply)
    error = error_line(reply)
    if error is not None:
        # The message leads, in place of the bare "error" figure: it is what to read.
        parts = [error, *(part for part in parts if part != ("error", ERROR_STYLE))]
    return _join(parts)


def retry_notice(notice: Retrying, remaining_s: float | None = None) -> str:
    """``retrying in 3 s: HTTP 429 rate limited (retry 1 of 2)``; with ``remaining_s``,
    the whole seconds left (a countdown), else the wait as announced."""
    if remaining_s is None:
        wait = format_wait(notice.delay_s)
    else:
        wait = f"{max(0, math.ceil(remaining_s))} s"
    reason = " ".join(safe_text(notice.reason).split())
    return f"retrying in {wait}: {reason} (retry {notice.retry} of {notice.max_retries})"


def retry_bar(
    model: str, elapsed_s: float, notice: Retrying, remaining_s: float, cancel_key: str = "Esc"
) -> Content:
    """The stats bar while a failed request waits to be sent again, and then while the
    retry waits for its first token."""
    if remaining_s > 0:
        state = ("↻ " + retry_notice(notice, remaining_s), WARNING_STYLE)
    else:
        reason = " ".join(safe_text(notice.reason).split())
        state = (f"↻ retry {notice.retry} of {notice.max_retries} after {reason}", WARNING_STYLE)
    elapsed = format_ms(elapsed_s * 1000)
    return _join([state, safe_text(model), elapsed, (f"{safe_text(cancel_key)} cancels", "dim")])


def live_bar(model: str, elapsed_s: float, usage: Usage, cancel_key: str = "Esc") -> Content:
    """The stats bar while a reply streams: model, elapsed time and tokens so far."""
    tokens = f"{usage.output_tokens:,} tokens" + (" est." if usage.estimated else "")
    return _join(
        [
            ("● streaming", "$text-success"),
            safe_text(model),
            format_ms(elapsed_s * 1000),
            tokens,
            (f"{safe_text(cancel_key)} cancels", "dim"),
        ]
    )


def idle_bar(model: str) -> Content:
    """The stats bar before the first reply."""
    return _join([f"model {safe_text(model)}", "ready"])


def replay_bar(model: str, index: int, turns: int) -> Content:
    """The stats bar while a recorded turn plays back (its figures follow when it ends)."""
    return _join([("▶ replay", "$text-accent"), safe_text(model), f"turn {index + 1} of {turns}"])


def column_live(elapsed_s: float, usage: Usage, retrying: str | None = None) -> Content:
    """The live line of one column of a comparison: elapsed time and tokens so far, or
    the retry it waits for."""
    if retrying is not None:
        return _join([("↻ " + retrying, WARNING_STYLE), format_ms(elapsed_s * 1000)])
    tokens = f"{usage.output_tokens:,} tokens" + (" est." if usage.estimated else "")
    return _join([("● streaming", "$text-success"), format_ms(elapsed_s * 1000), tokens])


def compare_bar(streaming: int, columns: int, elapsed_s: float, keys: Sequence[str]) -> Content:
    """The stats bar while a comparison streams: how many replies are still coming, the
    time since the prompt was sent, and the keys (cancel all, cancel the chosen one)."""
    return _join(
        [
            ("● comparing", "$text-success"),
            f"{streaming} of {columns} streaming",
            format_ms(elapsed_s * 1000),
            *((safe_text(key), "dim") for key in keys),
        ]
    )


def ranking_line(models: Sequence[str], replies: Sequence[Reply]) -> Content:
    """The line under a finished comparison: which model gave the first token soonest,
    which streamed fastest and which cost least (of those that finished cleanly)."""
    ranking = rank_replies(replies)

    def ttft(reply: Reply) -> str:
        return format_ms(reply.metrics.ttft_ms)

    def rate(reply: Reply) -> str:
        return format_rate(reply.metrics.tokens_per_s or 0.0)

    def cost(reply: Reply) -> str:
        return reply.cost.label() if reply.cost is not None else ""

    parts: list[str | tuple[str, str] | Content] = []
    for position, what, figure in (
        (ranking.fastest_first_token, "first token", ttft),
        (ranking.fastest_tokens_per_s, "fastest", rate),
        (ranking.cheapest, "cheapest", cost),
    ):
        if position is not None:
            model = safe_text(models[position])
            parts.append(
                Content.assemble(f"{what}: ", (model, "bold"), f" {figure(replies[position])}")
            )
    if not parts:
        return Content.assemble(("no reply finished cleanly: nothing to rank", WARNING_STYLE))
    return _join(parts)
