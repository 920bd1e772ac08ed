"""ReplyAccumulator: events stamped with times folded into one Reply, exactly."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from chatterm.events import (
    AnswerWasReasoning,
    Event,
    Finish,
    ReasoningDelta,
    Started,
    StreamError,
    StreamWarning,
    TextDelta,
    TimedEvent,
    Usage,
    UsageUpdate,
    estimate_tokens,
)
from chatterm.pricing import Cost
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.reply.metrics import Metrics


def fold(events: Iterable[TimedEvent | tuple[float, Event]], prompt_chars: int = 0) -> Reply:
    acc = ReplyAccumulator("openai:gpt-test", prompt_chars)
    for at, event in events:
        acc.add(at, event)
    return acc.reply()


# Times are exact binary fractions so every figure below is exact.
STREAM: list[TimedEvent] = [
    TimedEvent(100.0, Started("openai:gpt-test")),
    TimedEvent(100.25, ReasoningDelta("Compare ")),
    TimedEvent(100.5, ReasoningDelta("the tenths.")),
    TimedEvent(101.0, TextDelta("9.8 is ")),
    TimedEvent(102.25, TextDelta("greater.")),
    TimedEvent(102.5, Finish("stop")),
    TimedEvent(
        102.75, UsageUpdate(Usage(input_tokens=18, output_tokens=120, reasoning_tokens=110))
    ),
]


class TestFold:
    def test_reasoning_and_text(self) -> None:
        reply = fold(STREAM)
        assert reply.model == "openai:gpt-test"
        assert reply.reasoning == "Compare the tenths."
        assert reply.text == "9.8 is greater."
        assert reply.finish_reason == "stop"
        assert reply.usage == Usage(input_tokens=18, output_tokens=120, reasoning_tokens=110)
        assert reply.error is None
        assert reply.warnings == ()
        assert reply.cost is None

    def test_metrics_from_stamps(self) -> None:
        assert fold(STREAM).metrics == Metrics(
            ttft_ms=250.0,
            first_answer_ms=1000.0,
            duration_ms=2500.0,
            tokens_per_s=60.0,  # 120 tokens over 102.25 - 100.25 = 2 s
        )

    def test_usage_replaced_not_summed(self) -> None:
        events = [
            *STREAM[:-1],
            TimedEvent(102.6, UsageUpdate(Usage(input_tokens=18, output_tokens=50))),
            TimedEvent(102.7, UsageUpdate(Usage(input_tokens=18, output_tokens=120))),
            TimedEvent(102.8, UsageUpdate(Usage(input_tokens=18, output_tokens=120))),
        ]
        assert fold(events).usage == Usage(input_tokens=18, output_tokens=120)

    def test_text_property_is_stable_across_calls(self) -> None:
        acc = ReplyAccumulator("m")
        for piece in ["a", "b", "c"]:
            acc.add(1.0, TextDelta(piece))
        assert acc.text == "abc"
        acc.add(2.0, TextDelta("d"))
        assert acc.text == "abcd"
        assert acc.text == "abcd"
        assert acc.reasoning == ""

    def test_empty_deltas_are_ignored(self) -> None:
        reply = fold(
            [
                (0.0, Started("m")),
                (0.5, TextDelta("")),
                (0.5, ReasoningDelta("")),
                (1.0, TextDelta("x")),
                (2.0, Finish("stop")),
            ]
        )
        assert reply.metrics.ttft_ms == 1000.0
        assert reply.metrics.first_answer_ms == 1000.0

    def test_first_error_kept_and_warnings_collected(self) -> None:
        reply = fold(
            [
                (0.0, Started("m")),
                (0.1, StreamWarning("skipped a line")),
                (0.2, TextDelta("part")),
                (0.3, StreamError("first", retryable=True, status=None)),
                (0.4, StreamError("second")),
                (0.5, StreamWarning("another")),
                (0.6, Finish("error")),
            ]
        )
        assert reply.error == StreamError("first", retryable=True)
        assert reply.warnings == ("skipped a line", "another")
        assert reply.text == "part"
        assert reply.finish_reason == "error"

    def test_first_finish_wins(self) -> None:
        reply = fold(
            [
                (0.0, Started("m")),
                (1.0, Finish("stop")),
                (2.0, Finish("error")),
                (3.0, Finish("length")),
            ]
        )
        assert reply.finish_reason == "stop"
        assert reply.metrics.duration_ms == 1000.0

    def test_with_cost(self) -> None:
        reply = fold(STREAM)
        costed = reply.with_cost(Cost(0.5, "price_table"))
        assert costed.cost == Cost(0.5, "price_table")
        assert costed.text == reply.text and reply.cost is None


class TestAnswerWasReasoning:
    def test_moves_text_to_reasoning(self) -> None:
        reply = fold(
            [
                (0.0, Started("m")),
                (0.25, TextDelta("Okay, the user ")),
                (0.5, TextDelta("says hi.\n")),
                (0.75, AnswerWasReasoning()),
                (1.5, TextDelta("Hello!")),
                (2.0, Finish("stop")),
            ]
        )
        assert reply.reasoning == "Okay, the user says hi.\n"
        assert reply.text == "Hello!"
        # TTFT still counts the first delta; the first *answer* is the text after </think>.
        assert reply.metrics.ttft_ms == 250.0
        assert reply.metrics.first_answer_ms == 1500.0

    def test_appends_after_existing_reasoning(self) -> None:
        reply = fold(
            [
                (0.0, ReasoningDelta("server reasoning. ")),
                (1.0, TextDelta("inline thoughts")),
                (2.0, AnswerWasReasoning()),
            ]
        )
        assert (reply.reasoning, reply.text) == ("server reasoning. inline thoughts", "")
        assert reply.metrics.first_answer_ms is None

    def test_estimate_counts_moved_text_once(self) -> None:
        reply = fold(
            [(0.0, TextDelta("a" * 40)), (1.0, AnswerWasReasoning()), (2.0, TextDelta("b" * 8))]
        )
        assert reply.usage.output_tokens == estimate_tokens(48) == 12
        assert reply.usage.reasoning_tokens == estimate_tokens(40) == 10

    def test_with_nothing_before_it(self) -> None:
        reply = fold([(0.0, AnswerWasReasoning()), (1.0, TextDelta("answer"))])
        assert (reply.reasoning, reply.text) == ("", "answer")


class TestEstimate:
    def test_estimated_when_no_usage(self) -> None:
        reply = fold(
            [
                (0.0, Started("m")),
                (0.5, ReasoningDelta("r" * 10)),
                (1.0, TextDelta("t" * 30)),
                (2.0, Finish("stop")),
            ],
            prompt_chars=101,
        )
        assert reply.usage == Usage(
            input_tokens=26,  # ceil(101 / 4)
            output_tokens=10,  # ceil(40 / 4)
            reasoning_tokens=3,  # ceil(10 / 4)
            estimated=True,
        )
        assert reply.metrics.tokens_per_s == 20.0  # 10 estimated tokens over 0.5 s

    def test_server_usage_is_not_estimated(self) -> None:
        reply = fold(
            [(0.0, TextDelta("x")), (1.0, UsageUpdate(Usage(input_tokens=1, output_tokens=1)))]
        )
        assert reply.usage.estimated is False

    @pytest.mark.parametrize(("chars", "tokens"), [(0, 0), (1, 1), (4, 1), (5, 2), (400, 100)])
    def test_estimate_tokens(self, chars: int, tokens: int) -> None:
        assert estimate_tokens(chars) == tokens

    def test_empty_reply(self) -> None:
        reply = ReplyAccumulator("m").reply()
        assert reply.usage == Usage(estimated=True)
        assert reply.metrics == Metrics()
        assert (reply.reasoning, reply.text, reply.finish_reason) == ("", "", None)


class TestUsageThatCountsNothing:
    """A server's usage that cannot be the reply's gives way to the reply's own estimate."""

    EVENTS: list[tuple[float, Event]] = [
        (0.0, Started("m")),
        (0.5, ReasoningDelta("r" * 10)),
        (1.0, TextDelta("t" * 30)),
    ]

    def test_a_usage_of_zeros_is_the_estimate(self) -> None:
        reply = fold([*self.EVENTS, (2.0, UsageUpdate(Usage()))], prompt_chars=101)
        assert reply.usage == Usage(
            input_tokens=26, output_tokens=10, reasoning_tokens=3, estimated=True
        )

    def test_a_server_cost_beside_no_counts_is_kept(self) -> None:
        usage = Usage(cost_usd=0.25, server_tokens_per_s=9.0)
        reply = fold([*self.EVENTS, (2.0, UsageUpdate(usage))], prompt_chars=101)
        assert reply.usage == Usage(
            input_tokens=26,
            output_tokens=10,
            reasoning_tokens=3,
            estimated=True,
            cost_usd=0.25,
            server_tokens_per_s=9.0,
        )

    def test_no_output_beside_streamed_text_is_estimated(self) -> None:
        usage = Usage(input_tokens=40, cached_input_tokens=8)
        reply = fold([*self.EVENTS, (2.0, UsageUpdate(usage))], prompt_chars=101)
        assert reply.usage == Usage(
            input_tokens=40,
            output_tokens=10,
            reasoning_tokens=3,
            cached_input_tokens=8,
            estimated=True,
        )

    def test_no_output_with_nothing_streamed_is_exact(self) -> None:
        usage = Usage(input_tokens=40)
        reply = fold([(0.0, Started("m")), (2.0, UsageUpdate(usage))], prompt_chars=101)
        assert reply.usage == usage

    def test_an_estimate_from_the_server_is_kept(self) -> None:
        usage = Usage(input_tokens=40, output_tokens=0, estimated=True)
        reply = fold([*self.EVENTS, (2.0, UsageUpdate(usage))], prompt_chars=101)
        assert reply.usage == usage

    def test_the_live_figures_agree(self) -> None:
        acc = ReplyAccumulator("m", 101)
        for at, event in [*self.EVENTS, (2.0, UsageUpdate(Usage(input_tokens=40)))]:
            acc.add(at, event)
        assert acc.snapshot().usage == acc.reply().usage
        assert acc.snapshot().usage.estimated


class TestCancel:
    def test_cancel_keeps_text_and_marks_cancelled(self) -> None:
        acc = ReplyAccumulator("m")
        acc.add(10.0, Started("m"))
        acc.add(10.5, ReasoningDelta("thinking"))
        acc.add(11.0, TextDelta("half an ans"))
        acc.cancel(12.0)
        reply = acc.reply()
        assert (reply.reasoning, reply.text) == ("thinking", "half an ans")
        assert reply.finish_reason == "cancelled"
        assert reply.metrics.duration_ms == 2000.0
        assert reply.error is None

    def test_events_after_cancel_do_not_change_the_finish(self) -> None:
        acc = ReplyAccumulator("m")
        acc.add(0.0, Started("m"))
        acc.cancel(1.0)
        acc.add(2.0, Finish("stop"))
        assert acc.reply().finish_reason == "cancelled"
        assert acc.reply().metrics.duration_ms == 1000.0

    def test_cancel_after_finish_is_ignored(self) -> None:
        acc = ReplyAccumulator("m")
        acc.add(0.0, Started("m"))
        acc.add(1.0, Finish("stop"))
        acc.cancel(2.0)
        assert acc.reply().finish_reason == "stop"


class TestInProgress:
    def test_reply_while_streaming_uses_given_end_time(self) -> None:
        acc = ReplyAccumulator("m")
        acc.add(5.0, Started("m"))
        acc.add(5.5, TextDelta("so far"))
        reply = acc.reply(at=7.0)
        assert reply.finish_reason is None
        assert reply.metrics.duration_ms == 2000.0
        assert reply.metrics.first_answer_ms == 500.0

    def test_reply_without_end_time(self) -> None:
        acc = ReplyAccumulator("m")
        acc.add(5.0, Started("m"))
        assert acc.reply().metrics.duration_ms is None

    def test_finish_time_wins_over_given_time(self) -> None:
        acc = ReplyAccumulator("m")
        acc.add(5.0, Started("m"))
        acc.add(6.0, Finish("stop"))
        assert acc.reply(at=99.0).metrics.duration_ms == 1000.0

    def test_replay_is_deterministic(self) -> None:
        assert fold(STREAM) == fold(list(STREAM))


def test_failure_before_any_token_estimates_no_usage() -> None:
    acc = ReplyAccumulator("openai:x", prompt_chars=400)
    acc.add(0.0, Started("openai:x"))
    acc.add(0.1, StreamError("HTTP 401 from openai: bad key", status=401))
    acc.add(0.1, Finish("error"))
    usage = acc.reply().usage
    assert (usage.input_tokens, usage.output_tokens, usage.estimated) == (0, 0, True)


def test_rate_leaves_out_reasoning_that_was_counted_but_never_streamed() -> None:
    # OpenAI's reasoning models: 20 s of hidden thinking, then 100 answer tokens in 1 s.
    acc = ReplyAccumulator("openai:gpt-5-mini")
    acc.add(0.0, Started("openai:gpt-5-mini"))
    acc.add(20.0, TextDelta("first"))
    acc.add(21.0, TextDelta("last"))
    acc.add(21.0, Finish("stop"))
    acc.add(21.0, UsageUpdate(Usage(input_tokens=5, output_tokens=2100, reasoning_tokens=2000)))
    assert acc.reply().metrics.tokens_per_s == 100.0
