"""The `ask` sinks: what a person and what a script see for the same events."""

from __future__ import annotations

import io
import json

from chatterm.cli.printer import JsonLinesPrinter, PlainPrinter, done_record
from chatterm.events import (
    AnswerWasReasoning,
    Event,
    Finish,
    ReasoningDelta,
    Started,
    StreamError,
    TextDelta,
    Usage,
    UsageUpdate,
)
from chatterm.pricing import Cost
from chatterm.reply.accumulate import ReplyAccumulator

EVENTS: list[Event] = [
    Started("openai:test"),
    ReasoningDelta("Think\x1b]0;pwned\x07 "),
    ReasoningDelta("hard."),
    TextDelta("[bold]Hi[/bold] \x1b[31mred"),
    TextDelta(" there"),
    UsageUpdate(Usage(input_tokens=10, output_tokens=20, reasoning_tokens=5)),
    Finish("stop"),
]


def _reply(events: list[Event]):  # type: ignore[no-untyped-def]
    acc = ReplyAccumulator("openai:test", 40)
    for i, event in enumerate(events):
        acc.add(float(i), event)
    return acc.reply().with_cost(Cost(0.0012, "price_table"))


def test_plain_output_sets_reasoning_apart_and_neutralizes_escapes() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = PlainPrinter(out, err, color=False)
    for event in EVENTS:
        printer.event(event)
    printer.done(_reply(EVENTS))
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert text.startswith("── thinking ──\nThink␛]0;pwned␇ hard.\n── answer ──\n")
    assert "[bold]Hi[/bold] ␛[31mred there\n" in text
    last = text.rstrip("\n").splitlines()[-1]
    assert (
        "TTFT 1.0s" in last
        and "answer 3.0s" in last
        and "in 10" in last
        and "out 20 (5 reasoning)" in last
    )
    assert "$0.0012" in last
    assert err.getvalue() == ""


def test_plain_output_without_reasoning_and_with_error_on_stderr() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = PlainPrinter(out, err, color=False, show_reasoning=False)
    events: list[Event] = [
        ReasoningDelta("hidden"),
        TextDelta("partial"),
        StreamError("HTTP 500 from x: boom\x1b[2J", retryable=True),
        Finish("error"),
    ]
    for event in events:
        printer.event(event)
    assert "hidden" not in out.getvalue()
    assert out.getvalue() == "partial\n"
    assert err.getvalue() == "error: HTTP 500 from x: boom␛[2J\n"


def test_plain_colour_only_when_asked() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = PlainPrinter(out, err, color=True)
    printer.event(ReasoningDelta("r"))
    assert "\x1b[2m" in out.getvalue()


def test_plain_marks_reclassified_reasoning() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = PlainPrinter(out, err, color=False)
    for event in (TextDelta("thinking aloud"), AnswerWasReasoning(), TextDelta("Answer")):
        printer.event(event)
    assert out.getvalue() == (
        "thinking aloud\n── (the text above was the model's reasoning) ──\n── answer ──\nAnswer"
    )


def test_json_lines_keep_exact_text_and_end_with_one_done() -> None:
    out = io.StringIO()
    printer = JsonLinesPrinter(out)
    for event in EVENTS:
        printer.event(event)
    printer.done(_reply(EVENTS))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["type"] for r in records] == ["reasoning", "reasoning", "text", "text", "done"]
    assert records[2]["text"] == "[bold]Hi[/bold] \x1b[31mred"
    done = records[-1]
    assert done["text"] == "".join(r["text"] for r in records if r["type"] == "text")
    assert done["reasoning"] == "".join(r["text"] for r in records if r["type"] == "reasoning")
    assert done["finish_reason"] == "stop"
    assert done["usage"] == {
        "input_tokens": 10,
        "output_tokens": 20,
        "reasoning_tokens": 5,
        "cached_input_tokens": 0,
        "estimated": False,
    }
    assert done["ttft_ms"] == 1000.0
    assert done["first_answer_ms"] == 3000.0
    assert done["duration_ms"] == 6000.0
    assert done["tokens_per_s"] == 6.7  # 20 tokens over the 3 s from first to last delta
    assert done["cost_usd"] == 0.0012 and done["cost_source"] == "price_table"


def test_json_error_record_and_no_reasoning() -> None:
    out = io.StringIO()
    printer = JsonLinesPrinter(out, show_reasoning=False)
    printer.event(ReasoningDelta("secret thoughts"))
    printer.event(StreamError("overloaded", retryable=True, status=529))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records == [{"type": "error", "message": "overloaded", "retryable": True}]


def test_done_record_unknown_cost_is_null_not_zero() -> None:
    acc = ReplyAccumulator("openai:brand-new", 4)
    acc.add(0.0, Started("openai:brand-new"))
    acc.add(1.0, TextDelta("hi"))
    acc.add(2.0, Finish("stop"))
    record = done_record(acc.reply().with_cost(Cost(None, "unknown")))
    assert record["cost_usd"] is None and record["cost_source"] == "unknown"
    assert record["usage"]["estimated"] is True


def test_crlf_split_between_deltas_is_one_newline() -> None:
    out, err = io.StringIO(), io.StringIO()
    printer = PlainPrinter(out, err, color=False, show_reasoning=False)
    for event in (TextDelta("line one\r"), TextDelta("\nline two\r")):
        printer.event(event)
    assert out.getvalue() == "line one\nline two"


def test_colour_does_not_change_the_layout() -> None:
    def run(color: bool) -> str:
        out, err = io.StringIO(), io.StringIO()
        printer = PlainPrinter(out, err, color=color)
        for event in (ReasoningDelta("done.\n"), TextDelta("Answer")):
            printer.event(event)
        return out.getvalue().replace("\x1b[2m", "").replace("\x1b[0m", "")

    assert run(color=True) == run(color=False) == "── thinking ──\ndone.\n── answer ──\nAnswer"
