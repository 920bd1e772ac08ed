"""The words of the stats bar and the per-turn stats line."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chatterm.events import StreamError, Usage
from chatterm.pricing import Cost
from chatterm.reply.accumulate import Reply
from chatterm.reply.figures import format_ms, format_stats, format_usage, session_cost
from chatterm.reply.metrics import Metrics
from chatterm.tui.stats import error_line, final_bar, idle_bar, live_bar, reply_line

REPLY = Reply(
    model="openai:gpt-5-mini",
    reasoning="thinking",
    text="answer",
    finish_reason="stop",
    usage=Usage(input_tokens=1200, output_tokens=230, reasoning_tokens=60),
    metrics=Metrics(ttft_ms=312.4, first_answer_ms=1234.0, duration_ms=4500.0, tokens_per_s=51.2),
    cost=Cost(0.0123, "price_table"),
)


@pytest.mark.parametrize(
    ("ms", "text"),
    [(None, "–"), (0.4, "0ms"), (312.4, "312ms"), (2345.0, "2.3s"), (65_000.0, "1m05s")],
)
def test_format_ms(ms: float | None, text: str) -> None:
    assert format_ms(ms) == text


def test_format_usage() -> None:
    assert format_usage(Usage(10, 5)) == "in 10 · out 5"
    usage = Usage(1200, 230, reasoning_tokens=60, cached_input_tokens=1000, estimated=True)
    assert format_usage(usage) == "in 1,200 (1,000 cached) · out 230 (60 reasoning) est."


def test_session_cost() -> None:
    assert session_cost([]) == "session $0"
    assert session_cost([Cost(0.01, "price_table"), Cost(0.002, "config")]) == "session $0.012"
    assert session_cost([Cost(0.01, "price_table"), None]) == "session $0.010 + unknown"
    assert session_cost([Cost(0.01, "server"), Cost(None, "unknown")]).endswith("+ unknown")
    assert session_cost([Cost(None, "unknown")]) == "session cost unknown"
    assert session_cost([Cost(0.5, "price_table", estimated=True)]) == "session ~$0.500"
    assert session_cost([Cost(0.0, "local", estimated=True)]) == "session $0"


def test_reply_line_has_every_figure() -> None:
    line = reply_line(REPLY).plain
    assert line == (
        "TTFT 312ms · answer 1.2s · total 4.5s · in 1,200 · out 230 (60 reasoning)"
        " · 51.2 tok/s · $0.012"
    )


def test_reply_line_leads_with_how_it_ended() -> None:
    cancelled = replace(REPLY, finish_reason="cancelled", cost=None)
    assert reply_line(cancelled).plain.startswith("cancelled · TTFT")
    assert reply_line(cancelled).plain.endswith("cost unknown")
    assert reply_line(replace(REPLY, finish_reason="length")).plain.startswith("finish: length")
    warned = replace(REPLY, warnings=("skipped a line", "again"))
    assert reply_line(warned).plain.endswith("2 warnings")


def test_error_line_is_one_line_in_the_error_colour() -> None:
    assert error_line(REPLY) is None
    failed = replace(
        REPLY, finish_reason="error", error=StreamError("HTTP 500\nfrom\x1b[31m x", status=500)
    )
    line = error_line(failed)
    assert line is not None
    assert line.plain == "error: HTTP 500 from␛[31m x"
    assert all(span.style == "$text-error" for span in line.spans)


def test_final_bar_puts_the_error_first() -> None:
    failed = replace(REPLY, finish_reason="error", error=StreamError("boom"))
    bar = final_bar(failed).plain
    assert bar.startswith("error: boom · TTFT")
    assert bar.count("error") == 1
    assert final_bar(replace(REPLY, metrics=Metrics(tokens_per_s=1234.5))).plain.endswith(
        "1,234 tok/s · $0.012"
    )


def test_live_and_idle_bars() -> None:
    live = live_bar("demo", 2.34, Usage(output_tokens=78, estimated=True)).plain
    assert live == "● streaming · demo · 2.3s · 78 tokens est. · Esc cancels"
    assert idle_bar("demo").plain == "model demo · ready"


def test_plain_and_tui_lines_say_the_same() -> None:
    assert reply_line(REPLY).plain == format_stats(REPLY)


def test_model_names_are_never_markup() -> None:
    assert live_bar("x:[b]y[/b]", 0, Usage()).plain.startswith("● streaming · x:[b]y[/b]")
