"""Anthropic Messages streaming: translator, byte parser and provider."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stream_helpers import INVALID_UTF8, fold_events, run_parser

from chatterm.config import NetworkSettings, Settings
from chatterm.decode.sse import SSEEvent
from chatterm.events import (
    Conversation,
    Event,
    Finish,
    Message,
    ReasoningDelta,
    StreamError,
    StreamWarning,
    TextDelta,
    Usage,
    UsageUpdate,
)
from chatterm.providers import anthropic as anthropic_module
from chatterm.providers.anthropic import (
    ANTHROPIC_VERSION,
    CONVERSATION_START,
    DEFAULT_MAX_TOKENS,
    MIN_THINKING_BUDGET,
    REDACTED_THINKING,
    AnthropicProvider,
    MessagesParser,
    MessagesTranslator,
    anthropic_messages,
    thinking_budget,
)
from chatterm.providers.model_facts import ModelInfo
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.accumulate import Reply
from chatterm.reply.live import ReplyStream

KEY = "sk-ant-api03-test-abcdefghijklmnop"


def sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


# --- transcripts (as Anthropic's API sends them, plus one with the rarer shapes) ----------

TRANSCRIPT_A = (
    sse(
        "message_start",
        '{"type":"message_start","message":{"id":"msg_01X","type":"message",'
        '"role":"assistant","model":"claude-sonnet-4-20250514","content":[],'
        '"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":36,'
        '"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4}}}',
    )
    + sse(
        "content_block_start",
        '{"type":"content_block_start","index":0,"content_block":{"type":"thinking",'
        '"thinking":"","signature":""}}',
    )
    + sse("ping", '{"type": "ping"}')
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta",'
        '"thinking":"27 * 453 = 27*400 + 27*53"}}',
    )
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta",'
        '"thinking":" = 10800 + 1431 = 12231"}}',
    )
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta",'
        '"signature":"EqQBCgIYAhIM…"}}',
    )
    + sse("content_block_stop", '{"type":"content_block_stop","index":0}')
    + sse(
        "content_block_start",
        '{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}',
    )
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta",'
        '"text":"27 × 453 = 12,231"}}',
    )
    + sse("content_block_stop", '{"type":"content_block_stop","index":1}')
    + sse(
        "message_delta",
        '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
        '"usage":{"input_tokens":36,"cache_creation_input_tokens":0,'
        '"cache_read_input_tokens":0,"output_tokens":87}}',
    )
    + sse("message_stop", '{"type":"message_stop"}')
).encode()
TRANSCRIPT_A_EVENTS: list[Event] = [
    ReasoningDelta("27 * 453 = 27*400 + 27*53"),
    ReasoningDelta(" = 10800 + 1431 = 12231"),
    TextDelta("27 × 453 = 12,231"),
    UsageUpdate(Usage(input_tokens=36, output_tokens=87)),
    Finish("stop"),
]

# Recorded shape: JSON padded with spaces before the closing brace, error after ping.
TRANSCRIPT_B = (
    sse(
        "message_start",
        '{"type":"message_start","message":{"id":"msg_01Pvyf26bY17RcjmWfJsXGBn",'
        '"type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],'
        '"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":18,'
        '"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,'
        '"service_tier":"standard"}}       }',
    )
    + sse(
        "content_block_start",
        '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}  }',
    )
    + sse("ping", '{"type": "ping"}')
    + sse(
        "error",
        '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
    )
).encode()
TRANSCRIPT_B_EVENTS: list[Event] = [
    UsageUpdate(Usage(input_tokens=18, output_tokens=0, estimated=True)),
    StreamError("error from the server: Overloaded [overloaded_error]", retryable=True),
    Finish("error"),
]

# Prompt caching, a redacted block, an empty thinking delta, multi-byte text with a raw U+2028
# inside a JSON string, 2026 usage fields (thinking_tokens), two message_delta events.
TRANSCRIPT_C = (
    sse(
        "message_start",
        '{"type":"message_start","message":{"id":"msg_02","type":"message",'
        '"role":"assistant","model":"claude-3-7-sonnet-20250219","content":[],'
        '"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,'
        '"cache_creation_input_tokens":50,"cache_read_input_tokens":100,'
        '"cache_creation":{"ephemeral_5m_input_tokens":50,"ephemeral_1h_input_tokens":0},'
        '"output_tokens":5,"service_tier":"standard","inference_geo":"not_available"}}   }',
    )
    + sse(
        "content_block_start",
        '{"type":"content_block_start","index":0,"content_block":'
        '{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"}}',
    )
    + sse("content_block_stop", '{"type":"content_block_stop","index":0    }')
    + sse(
        "content_block_start",
        '{"type":"content_block_start","index":1,"content_block":{"type":"thinking",'
        '"thinking":"","signature":""}}',
    )
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":""}}',
    )
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta",'
        '"thinking":"Über naïve Käse…"}}',
    )
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":1,"delta":{"type":"signature_delta",'
        '"signature":"c2ln"}}',
    )
    + sse("content_block_stop", '{"type":"content_block_stop","index":1}')
    + sse(
        "content_block_start",
        '{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}',
    )
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":2,"delta":{"type":"text_delta",'
        '"text":"日本語\u2028line two 🎉"}}',
    )
    + sse("ping", '{"type": "ping"}')
    + sse(
        "content_block_delta",
        '{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":" end"}}',
    )
    + sse("content_block_stop", '{"type":"content_block_stop","index":2}')
    + sse(
        "message_delta",
        '{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},'
        '"usage":{"output_tokens":150}}',
    )
    + sse(
        "message_delta",
        '{"type":"message_delta","delta":{"stop_reason":null,"stop_sequence":null},'
        '"usage":{"input_tokens":12,"cache_creation_input_tokens":50,'
        '"cache_read_input_tokens":100,"output_tokens":200,'
        '"output_tokens_details":{"thinking_tokens":140}}   }',
    )
    + sse("message_stop", '{"type":"message_stop"   }')
).encode()
TRANSCRIPT_C_USAGE = Usage(
    input_tokens=162,
    output_tokens=200,
    reasoning_tokens=140,
    cached_input_tokens=100,
    cache_write_tokens=50,
)
TRANSCRIPT_C_EVENTS: list[Event] = [
    ReasoningDelta(REDACTED_THINKING),
    ReasoningDelta("\n\nÜber naïve Käse…"),
    TextDelta("日本語\u2028line two 🎉"),
    TextDelta(" end"),
    UsageUpdate(
        Usage(input_tokens=160, output_tokens=150, cached_input_tokens=100, cache_write_tokens=50)
    ),
    UsageUpdate(TRANSCRIPT_C_USAGE),
    Finish("length"),
]


# --- helpers --------------------------------------------------------------------------------


def message_start(usage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage if usage is not None else {"input_tokens": 20, "output_tokens": 3},
        },
    }


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def text_block(index: int) -> dict[str, Any]:
    return block_start(index, {"type": "text", "text": ""})


def thinking_block(index: int) -> dict[str, Any]:
    return block_start(index, {"type": "thinking", "thinking": "", "signature": ""})


def redacted_block(index: int) -> dict[str, Any]:
    return block_start(index, {"type": "redacted_thinking", "data": "opaque=="})


def delta(index: int, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


def text(index: int, value: str) -> dict[str, Any]:
    return delta(index, "text_delta", text=value)


def thinking(index: int, value: str) -> dict[str, Any]:
    return delta(index, "thinking_delta", thinking=value)


def block_stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(
    stop_reason: str | None = "end_turn", usage: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None, **extra},
        "usage": usage if usage is not None else {"output_tokens": 10},
    }


PING = {"type": "ping"}
STOP = {"type": "message_stop"}


def translate(
    *payloads: dict[str, Any] | str, close: bool = True, secrets: tuple[str, ...] = ()
) -> list[Event]:
    """Feed data payloads (dicts are JSON-encoded) to a fresh translator."""
    translator = MessagesTranslator(secrets)
    events: list[Event] = []
    for payload in payloads:
        if isinstance(payload, str):
            events.extend(translator.feed(SSEEvent(payload)))
        else:
            events.extend(translator.feed(SSEEvent(json.dumps(payload), payload.get("type", ""))))
    if close:
        events.extend(translator.close())
    return events


def parse(chunks: Iterable[bytes], secrets: tuple[str, ...] = ()) -> list[Event]:
    return run_parser(MessagesParser(secrets), chunks)


def fold(events: Iterable[Event]) -> Reply:
    return fold_events(events, "anthropic:test")


def of_type(events: Iterable[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


def without_usage(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, UsageUpdate)]


INTERRUPTED: list[Event] = [
    StreamError(
        "the stream ended before the model finished (no message_stop); the partial reply is kept",
        retryable=True,
    ),
    Finish("interrupted"),
]


# --- transcripts ----------------------------------------------------------------------------


class TestTranscripts:
    def test_a_thinking_answer_usage(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert events == TRANSCRIPT_A_EVENTS
        reply = fold(events)
        assert reply.reasoning == "27 * 453 = 27*400 + 27*53 = 10800 + 1431 = 12231"
        assert reply.text == "27 × 453 = 12,231"
        assert reply.finish_reason == "stop"
        assert reply.usage == Usage(input_tokens=36, output_tokens=87)
        assert (reply.error, reply.warnings) == (None, ())

    def test_b_mid_stream_overloaded_error(self) -> None:
        events = parse([TRANSCRIPT_B])
        assert events == TRANSCRIPT_B_EVENTS
        reply = fold(events)
        assert (reply.text, reply.finish_reason) == ("", "error")
        assert reply.error is not None and reply.error.retryable
        assert "Overloaded" in reply.error.message
        # Only message_start's input count is known; the placeholder output is not trusted.
        assert reply.usage.input_tokens == 18 and reply.usage.estimated

    def test_c_cache_redacted_thinking_and_cumulative_usage(self) -> None:
        events = parse([TRANSCRIPT_C])
        assert events == TRANSCRIPT_C_EVENTS
        reply = fold(events)
        assert reply.reasoning == f"{REDACTED_THINKING}\n\nÜber naïve Käse…"
        assert reply.text == "日本語\u2028line two 🎉 end"
        assert reply.usage == TRANSCRIPT_C_USAGE
        assert reply.finish_reason == "length"

    def test_aibridge_variant_api_error_is_retryable(self) -> None:
        body = TRANSCRIPT_B.replace(b'"overloaded_error"', b'"api_error"')
        error = of_type(parse([body]), StreamError)[0]
        assert error == StreamError("error from the server: Overloaded [api_error]", True)


# --- events and deltas ----------------------------------------------------------------------


class TestContent:
    def test_ping_anywhere_is_ignored(self) -> None:
        events = translate(
            PING, message_start(), PING, text_block(0), PING, text(0, "x"), PING, block_stop(0)
        )
        assert without_usage(events) == [TextDelta("x"), *INTERRUPTED]

    def test_signature_delta_is_never_rendered(self) -> None:
        events = translate(
            thinking_block(0),
            thinking(0, "hm"),
            delta(0, "signature_delta", signature="EqQBCgIYAhIMsecret"),
            block_stop(0),
            close=False,
        )
        assert events == [ReasoningDelta("hm")]

    def test_empty_thinking_delta_is_skipped(self) -> None:
        assert translate(thinking_block(0), thinking(0, ""), close=False) == []

    def test_thinking_display_omitted_shows_nothing(self) -> None:
        events = translate(
            thinking_block(0),
            delta(0, "signature_delta", signature="s"),
            block_stop(0),
            text_block(1),
            text(1, "answer"),
            close=False,
        )
        assert events == [TextDelta("answer")]

    def test_redacted_thinking_is_a_placeholder_once_per_block(self) -> None:
        events = translate(
            redacted_block(0),
            redacted_block(0),  # a repeated start of the same block
            block_stop(0),
            redacted_block(1),
            block_stop(1),
            text_block(2),
            text(2, "ok"),
            close=False,
        )
        assert events == [
            ReasoningDelta(REDACTED_THINKING),
            ReasoningDelta("\n\n" + REDACTED_THINKING),
            TextDelta("ok"),
        ]
        assert REDACTED_THINKING == "[redacted thinking]"

    def test_redacted_placeholder_does_not_count_as_streamed_reasoning(self) -> None:
        events = translate(message_start(), redacted_block(0), block_stop(0))
        usage = of_type(events, UsageUpdate)[0].usage
        assert usage == Usage(input_tokens=20, output_tokens=0, estimated=True)

    def test_thinking_blocks_are_separate_paragraphs(self) -> None:
        events = translate(
            thinking_block(0),
            thinking(0, "first"),
            block_stop(0),
            block_start(1, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
            block_stop(1),
            thinking_block(2),
            thinking(2, "second"),
            thinking(2, " thought"),
            close=False,
        )
        assert events == [
            ReasoningDelta("first"),
            ReasoningDelta("\n\nsecond"),
            ReasoningDelta(" thought"),
        ]

    def test_no_separator_after_a_line_end(self) -> None:
        events = translate(
            thinking_block(0), thinking(0, "one\n"), thinking_block(1), thinking(1, "two"),
            close=False,
        )  # fmt: skip
        assert events == [ReasoningDelta("one\n"), ReasoningDelta("two")]

    def test_citation_split_text_blocks_join_without_a_break(self) -> None:
        events = translate(
            text_block(0),
            text(0, "The capital is "),
            block_stop(0),
            block_start(1, {"type": "text", "text": "", "citations": []}),
            delta(1, "citations_delta", citation={"type": "char_location", "cited_text": "x"}),
            text(1, "Paris"),
            block_stop(1),
            text_block(2),
            text(2, "."),
            close=False,
        )
        assert fold(events).text == "The capital is Paris."

    def test_text_after_a_server_tool_is_a_new_paragraph(self) -> None:
        events = translate(
            text_block(0),
            text(0, "Let me search."),
            block_stop(0),
            block_start(
                1,
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            ),
            delta(1, "input_json_delta", partial_json=""),
            delta(1, "input_json_delta", partial_json='{"query": "x"}'),
            block_stop(1),
            block_start(
                2, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
            ),
            block_stop(2),
            text_block(3),
            text(3, "Found it."),
            close=False,
        )
        assert fold(events).text == "Let me search.\n\nFound it."

    def test_tool_use_input_json_is_ignored_safely(self) -> None:
        events = translate(
            message_start(),
            block_start(
                0,
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "get_weather",
                    "input": {},
                    "caller": {"type": "direct"},
                },
            ),
            delta(0, "input_json_delta", partial_json=""),
            delta(0, "input_json_delta", partial_json='{"city": "Par'),
            delta(0, "input_json_delta", partial_json='is"}'),
            block_stop(0),
            message_delta("tool_use", {"output_tokens": 40}),
            STOP,
        )
        assert events == [
            UsageUpdate(Usage(input_tokens=20, output_tokens=40)),
            Finish("tool_calls"),
        ]

    def test_unknown_events_blocks_and_deltas_are_ignored(self) -> None:
        events = translate(
            {"type": "brand_new_event", "payload": {"x": 1}},
            block_start(0, {"type": "compaction", "content": "summary"}),
            delta(0, "compaction_delta", content="more"),
            delta(0, "hologram_delta", text="not text"),
            block_start(1, {"type": "fallback"}),
            {"type": "content_block_delta", "index": 1, "delta": "odd"},
            {"type": "content_block_start", "index": 2, "content_block": None},
            {"type": "message_start", "message": None},
            {"type": "message_delta", "delta": None, "usage": None},
            close=False,
        )
        assert events == []

    def test_initial_text_in_block_start_is_kept(self) -> None:
        events = translate(
            block_start(0, {"type": "thinking", "thinking": "pre", "signature": ""}),
            block_start(1, {"type": "text", "text": "Hello"}),
            text(1, " world"),
            close=False,
        )
        assert events == [ReasoningDelta("pre"), TextDelta("Hello"), TextDelta(" world")]

    def test_deltas_without_a_block_start_still_count(self) -> None:
        events = translate(thinking(0, "r"), text(1, "t"), close=False)
        assert events == [ReasoningDelta("r"), TextDelta("t")]

    def test_type_from_the_sse_event_name_when_json_has_none(self) -> None:
        translator = MessagesTranslator()
        events = translator.feed(SSEEvent('{"index":0,"delta":{"type":"text_delta","text":"a"}}',
                                          "content_block_delta"))  # fmt: skip
        events += translator.feed(SSEEvent("{}", "message_stop"))
        assert events == [TextDelta("a"), Finish("stop")]

    def test_odd_field_types_do_not_crash(self) -> None:
        events = translate(
            {"type": "content_block_delta", "index": "0", "delta": {"type": "text_delta"}},
            {"type": "content_block_delta", "index": None, "delta": {"type": "text_delta",
                                                                     "text": 5}},
            {"type": "content_block_delta", "index": True, "delta": {"type": "thinking_delta",
                                                                     "thinking": ["x"]}},
            message_delta(None, {"output_tokens": "many", "input_tokens": None}),
            message_delta(7, "not usage"),  # type: ignore[arg-type]
            close=False,
        )  # fmt: skip
        assert events == []


# --- stop reasons ---------------------------------------------------------------------------


class TestStopReasons:
    @pytest.mark.parametrize(
        ("reason", "normalized"),
        [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("model_context_window_exceeded", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
            ("something_new", "stop"),
        ],
    )
    def test_mapping(self, reason: str, normalized: str) -> None:
        events = translate(message_start(), message_delta(reason), STOP)
        assert events[-1] == Finish(normalized)  # type: ignore[arg-type]
        assert of_type(events, StreamError) == []

    def test_pause_turn_is_stop_with_a_warning(self) -> None:
        events = translate(text(0, "Searching"), message_delta("pause_turn"), STOP)
        warnings = of_type(events, StreamWarning)
        assert len(warnings) == 1 and "turn was paused" in warnings[0].message
        assert events[-1] == Finish("stop")
        reply = fold(events)
        assert (reply.text, reply.finish_reason, reply.error) == ("Searching", "stop", None)

    def test_refusal_with_stop_details(self) -> None:
        details = {"type": "refusal", "category": "cyber", "explanation": "Not this one."}
        events = translate(message_delta("refusal", stop_details=details), STOP)
        assert events[1:] == [
            StreamWarning("the model declined to answer (refusal), category cyber: Not this one."),
            Finish("content_filter"),
        ]

    def test_refusal_without_details(self) -> None:
        events = translate(message_delta("refusal", stop_details=None), STOP)
        assert StreamWarning("the model declined to answer (refusal)") in events

    def test_finish_comes_at_message_stop_not_message_delta(self) -> None:
        translator = MessagesTranslator()
        events = translator.feed(SSEEvent(json.dumps(message_delta("end_turn"))))
        assert of_type(events, Finish) == []
        assert translator.feed(SSEEvent(json.dumps(STOP))) == [Finish("stop")]

    def test_later_null_stop_reason_keeps_the_earlier_one(self) -> None:
        events = translate(message_delta("max_tokens"), message_delta(None), STOP)
        assert events[-1] == Finish("length")

    def test_message_stop_without_message_delta_is_stop(self) -> None:
        events = translate(message_start(), text_block(0), text(0, "abcdefgh"), STOP)
        assert events == [
            TextDelta("abcdefgh"),
            UsageUpdate(Usage(input_tokens=20, output_tokens=2, estimated=True)),
            Finish("stop"),
        ]

    def test_nothing_after_message_stop(self) -> None:
        events = translate(text(0, "x"), message_delta(), STOP, text(0, "late"), PING, STOP)
        assert without_usage(events) == [TextDelta("x"), Finish("stop")]


# --- usage ----------------------------------------------------------------------------------


class TestUsage:
    def test_message_start_placeholder_is_not_reported(self) -> None:
        usage = {"input_tokens": 424, "output_tokens": 5}
        assert translate(message_start(usage), close=False) == []

    def test_message_delta_is_cumulative_replace_never_add(self) -> None:
        events = translate(
            message_start({"input_tokens": 5, "output_tokens": 1}),
            message_delta(None, {"output_tokens": 10}),
            message_delta("end_turn", {"output_tokens": 87}),
            STOP,
        )
        assert of_type(events, UsageUpdate) == [
            UsageUpdate(Usage(input_tokens=5, output_tokens=10)),
            UsageUpdate(Usage(input_tokens=5, output_tokens=87)),
        ]
        assert fold(events).usage == Usage(input_tokens=5, output_tokens=87)

    def test_input_includes_cache_reads_and_writes(self) -> None:
        start = {
            "input_tokens": 3,
            "cache_creation_input_tokens": 1200,
            "cache_read_input_tokens": 4000,
            "output_tokens": 1,
        }
        events = translate(message_start(start), message_delta(), STOP)
        assert of_type(events, UsageUpdate)[-1].usage == Usage(
            input_tokens=5203,
            output_tokens=10,
            cached_input_tokens=4000,
            cache_write_tokens=1200,
        )

    def test_input_growing_with_server_tools_overwrites(self) -> None:
        # The docs' web-search example: input_tokens 2679 at start, 10682 at the end.
        events = translate(
            message_start({"input_tokens": 2679, "output_tokens": 3}),
            message_delta(
                "end_turn",
                {
                    "input_tokens": 10682,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 510,
                    "server_tool_use": {"web_search_requests": 1},
                },
            ),
            STOP,
        )
        assert of_type(events, UsageUpdate) == [
            UsageUpdate(Usage(input_tokens=10682, output_tokens=510))
        ]

    def test_absent_or_null_fields_keep_message_start_values(self) -> None:
        start = {"input_tokens": 7, "cache_read_input_tokens": 90, "output_tokens": 1}
        events = translate(
            message_start(start),
            message_delta(None, {"output_tokens": 4, "cache_read_input_tokens": None}),
            close=False,
        )
        assert events == [
            UsageUpdate(Usage(input_tokens=97, output_tokens=4, cached_input_tokens=90))
        ]

    def test_thinking_tokens_are_reasoning_inside_output(self) -> None:
        events = translate(
            message_delta(
                "end_turn",
                {"output_tokens": 300, "output_tokens_details": {"thinking_tokens": 220}},
            ),
            message_delta(None, {"output_tokens": 310}),  # details not repeated: keep 220
            close=False,
        )
        assert [u.usage for u in of_type(events, UsageUpdate)] == [
            Usage(output_tokens=300, reasoning_tokens=220),
            Usage(output_tokens=310, reasoning_tokens=220),
        ]

    def test_no_reasoning_count_without_thinking_tokens(self) -> None:
        events = translate(thinking(0, "long thoughts"), message_delta(), STOP)
        assert of_type(events, UsageUpdate)[0].usage.reasoning_tokens == 0

    def test_interrupted_reply_has_exact_input_and_estimated_output(self) -> None:
        events = translate(
            message_start({"input_tokens": 40, "cache_read_input_tokens": 2, "output_tokens": 1}),
            thinking(0, "r" * 40),
            text(1, "t" * 20),
        )
        assert events[2] == UsageUpdate(
            Usage(
                input_tokens=42,
                output_tokens=15,
                reasoning_tokens=10,
                cached_input_tokens=2,
                estimated=True,
            )
        )
        assert events[3:] == INTERRUPTED

    def test_error_after_final_usage_keeps_the_exact_usage(self) -> None:
        events = translate(
            message_start(),
            text(0, "abc"),
            message_delta("end_turn", {"output_tokens": 9}),
            {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}},
        )
        assert of_type(events, UsageUpdate) == [
            UsageUpdate(Usage(input_tokens=20, output_tokens=9))
        ]
        assert fold(events).usage == Usage(input_tokens=20, output_tokens=9)

    def test_no_usage_at_all_leaves_the_estimate_to_the_accumulator(self) -> None:
        events = translate(text(0, "hello"))
        assert of_type(events, UsageUpdate) == []


# --- errors, garbage, truncation -------------------------------------------------------------


def error_event(kind: str, message: str = "boom", **extra: Any) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, **extra}


class TestErrors:
    @pytest.mark.parametrize(
        ("kind", "retryable"),
        [
            ("overloaded_error", True),
            ("api_error", True),
            ("rate_limit_error", True),
            ("timeout_error", True),
            ("invalid_request_error", False),
            ("authentication_error", False),
            ("permission_error", False),
            ("billing_error", False),
            ("request_too_large", False),
            ("not_found_error", False),
        ],
    )
    def test_error_event_retryable(self, kind: str, retryable: bool) -> None:
        events = translate(error_event(kind))
        assert events == [
            StreamError(f"error from the server: boom [{kind}]", retryable=retryable),
            Finish("error"),
        ]

    def test_error_keeps_partial_text_and_ends_the_stream(self) -> None:
        events = translate(
            message_start(),
            thinking_block(0),
            thinking(0, "plan"),
            block_stop(0),
            text_block(1),
            text(1, "Half an ans"),
            error_event("overloaded_error", "Overloaded"),
            text(1, "ignored"),
            message_delta(),
            STOP,
        )
        assert without_usage(events) == [
            ReasoningDelta("plan"),
            TextDelta("Half an ans"),
            StreamError("error from the server: Overloaded [overloaded_error]", retryable=True),
            Finish("error"),
        ]
        reply = fold(events)
        assert (reply.reasoning, reply.text, reply.finish_reason) == (
            "plan",
            "Half an ans",
            "error",
        )
        assert reply.error is not None and reply.error.retryable

    def test_recorded_go_sdk_payload_with_details_and_request_id(self) -> None:
        payload = {
            "type": "error",
            "error": {"details": None, "type": "overloaded_error", "message": "Overloaded"},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        }
        assert translate(payload)[0] == StreamError(
            "error from the server: Overloaded [overloaded_error]", retryable=True
        )

    def test_error_without_message(self) -> None:
        events = translate({"type": "error", "error": {"type": "overloaded_error"}})
        assert events[0] == StreamError(
            "error from the server: the server sent an error [overloaded_error]", retryable=True
        )
        assert translate({"type": "error"})[0] == StreamError(
            "error from the server: the server sent an error"
        )

    def test_error_as_string(self) -> None:
        events = translate({"type": "error", "error": "upstream went away"})
        assert events[0] == StreamError("error from the server: upstream went away")

    def test_bare_error_object_without_type(self) -> None:
        events = translate(text(0, "a"), {"error": {"message": "proxy says no", "type": "x"}})
        assert events == [
            TextDelta("a"),
            StreamError("error from the server: proxy says no [x]"),
            Finish("error"),
        ]

    def test_error_message_is_one_line_and_redacted(self) -> None:
        secret = "tok_" + "Z" * 40  # no sk- shape: only the by-value redaction can catch it
        for pad in range(220, 300, 3):
            message = "bad\nthing " + "y" * pad + f" key {secret} Bearer abc.def"
            events = translate(error_event("api_error", message), secrets=(secret,))
            error = events[0]
            assert isinstance(error, StreamError)
            assert error.message.startswith("error from the server: bad thing yyy")
            assert "\n" not in error.message and len(error.message) <= 300
            assert "tok_ZZ" not in error.message, pad
            assert "abc.def" not in error.message

    def test_close_after_error_adds_nothing(self) -> None:
        translator = MessagesTranslator()
        translator.feed(SSEEvent(json.dumps(error_event("api_error"))))
        assert translator.close() == []


class TestGarbageAndTruncation:
    def test_line_that_is_not_json_is_a_warning_and_the_stream_continues(self) -> None:
        events = translate(text(0, "a"), "{not json", text(0, "b"), message_delta(), STOP)
        assert events[0] == TextDelta("a")
        assert isinstance(events[1], StreamWarning) and "{not json" in events[1].message
        assert without_usage(events[2:]) == [TextDelta("b"), Finish("stop")]
        reply = fold(events)
        assert (reply.text, reply.finish_reason, reply.error) == ("ab", "stop", None)
        assert len(reply.warnings) == 1

    @pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "42", "null"])
    def test_json_that_is_not_an_object_is_a_warning(self, payload: str) -> None:
        events = translate(payload, close=False)
        assert len(events) == 1 and isinstance(events[0], StreamWarning)

    def test_warning_never_carries_the_key(self) -> None:
        events = translate(f"garbage {KEY} here", close=False, secrets=(KEY,))
        assert len(events) == 1 and isinstance(events[0], StreamWarning)
        assert KEY not in events[0].message

    def test_empty_data_is_skipped_silently(self) -> None:
        assert translate("", "  ", close=False) == []

    def test_stream_ending_without_message_stop(self) -> None:
        events = translate(thinking(0, "r"), text(1, "partial answ"))
        assert events == [ReasoningDelta("r"), TextDelta("partial answ"), *INTERRUPTED]
        reply = fold(events)
        assert (reply.reasoning, reply.text, reply.finish_reason) == (
            "r",
            "partial answ",
            "interrupted",
        )
        assert reply.error is not None and reply.error.retryable

    def test_message_delta_without_message_stop_is_interrupted(self) -> None:
        events = translate(message_start(), text(0, "all of it"), message_delta("end_turn"))
        assert events == [
            TextDelta("all of it"),
            UsageUpdate(Usage(input_tokens=20, output_tokens=10)),
            *INTERRUPTED,
        ]

    def test_transcript_cut_before_message_stop(self) -> None:
        body = TRANSCRIPT_A[: TRANSCRIPT_A.index(b"event: message_stop")]
        assert parse([body]) == [*TRANSCRIPT_A_EVENTS[:-1], *INTERRUPTED]

    def test_last_event_without_its_blank_line_is_dropped(self) -> None:
        body = TRANSCRIPT_A[: -len(b"\n")]  # message_stop never dispatched
        assert parse([body])[-1] == Finish("interrupted")

    def test_close_after_message_stop_adds_nothing(self) -> None:
        translator = MessagesTranslator()
        translator.feed(SSEEvent(json.dumps(STOP)))
        assert translator.close() == []


class TestParser:
    def test_padded_json_keep_alives_bom_and_data_without_space(self) -> None:
        body = (
            b"\xef\xbb\xbf: keep-alive\n\n"
            b"id: 1\n\n"
            b"event: ping\ndata:\n\n"
            b'event: content_block_delta\ndata:{"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"ok"}   }\n\n'
            b'event: message_stop\ndata: {"type":"message_stop"        }\n\n'
        )
        assert parse([body]) == [TextDelta("ok"), Finish("stop")]

    def test_u2028_u2029_u0085_inside_a_json_string(self) -> None:
        payload = json.dumps(text(0, "a\u2028b\u2029c\u0085d"), ensure_ascii=False)
        body = (
            f"event: content_block_delta\ndata: {payload}\n\n".encode()
            + sse("message_stop", '{"type":"message_stop"}').encode()
        )
        for cut in range(len(body) + 1):
            assert parse([body[:cut], body[cut:]]) == [
                TextDelta("a\u2028b\u2029c\u0085d"),
                Finish("stop"),
            ], cut

    def test_invalid_utf8_is_a_warning(self) -> None:
        body = (
            b'data: {"type":"content_block_delta","index":0,'
            b'"delta":{"type":"text_delta","text":"a\xffb"}}\n\n'
            b'data: {"type":"message_stop"}\n\n'
        )
        # The warning comes with the event whose line it was, wherever the reads were cut.
        assert parse([body]) == [TextDelta("a\ufffdb"), INVALID_UTF8, Finish("stop")]

    def test_secrets_reach_the_translator(self) -> None:
        body = sse("error", json.dumps(error_event("authentication_error", f"bad {KEY}")))
        error = parse([body.encode()], secrets=(KEY,))[0]
        assert isinstance(error, StreamError)
        assert KEY not in error.message and "***" in error.message


# --- provider: request ------------------------------------------------------------------------


CONVERSATION = Conversation(
    messages=(
        Message("user", "Hi"),
        Message("assistant", "Hello!"),
        Message("user", "What is 27 * 453?"),
    ),
    system="Be brief.",
)


def provider(env: dict[str, str] | None = None) -> AnthropicProvider:
    return AnthropicProvider.from_env({"ANTHROPIC_API_KEY": KEY, **(env or {})})


def body_of(request: httpx.Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.content)
    return data


class TestRequest:
    def test_request_with_thinking(self) -> None:
        request = provider().build_request("claude-sonnet-4-5-20250929", CONVERSATION)
        assert request.method == "POST"
        assert str(request.url) == "https://api.anthropic.com/v1/messages"
        assert request.headers["x-api-key"] == KEY
        assert request.headers["anthropic-version"] == ANTHROPIC_VERSION == "2023-06-01"
        assert request.headers["content-type"] == "application/json"
        assert "authorization" not in request.headers
        assert body_of(request) == {
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 16000,
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "What is 27 * 453?"},
            ],
            "system": "Be brief.",
            "thinking": {"type": "enabled", "budget_tokens": 10000},
            "stream": True,
        }

    def test_no_thinking_when_reasoning_is_off(self) -> None:
        conversation = Conversation(CONVERSATION.messages, reasoning=False)
        body = body_of(provider().build_request("claude-opus-4-1", conversation))
        assert "thinking" not in body and body["max_tokens"] == 16000
        assert "system" not in body

    def test_no_thinking_for_a_model_without_it(self) -> None:
        body = body_of(provider().build_request("claude-3-5-haiku-latest", CONVERSATION))
        assert "thinking" not in body and body["max_tokens"] == 8192

    def test_unknown_model_is_sent_as_is_without_thinking(self) -> None:
        body = body_of(provider().build_request("claude-next:preview/v2", CONVERSATION))
        assert body["model"] == "claude-next:preview/v2"
        assert "thinking" not in body and body["max_tokens"] == 8192

    def test_never_sampling_parameters(self) -> None:
        body = body_of(provider().build_request("claude-sonnet-4-5", CONVERSATION))
        assert not {"temperature", "top_k", "top_p"} & body.keys()

    def test_conversation_max_tokens_wins(self) -> None:
        conversation = Conversation(CONVERSATION.messages, reasoning=False, max_tokens=300)
        assert (
            body_of(provider().build_request("claude-sonnet-4-5", conversation))["max_tokens"]
            == 300
        )

    def test_default_max_tokens_when_the_catalog_has_none(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(anthropic_module, "model_info", lambda kind, model: ModelInfo())
        body = body_of(provider().build_request("x", CONVERSATION))
        assert body["max_tokens"] == DEFAULT_MAX_TOKENS == 8192

    def test_small_max_tokens_is_raised_for_thinking(self) -> None:
        conversation = Conversation(CONVERSATION.messages, max_tokens=500)
        body = body_of(provider().build_request("claude-sonnet-4-5", conversation))
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert body["max_tokens"] == 1524

    @pytest.mark.parametrize(
        ("asked", "budget", "sent"),
        [
            (1, 1024, 1025),
            (1024, 1024, 2048),
            (2047, 1024, 3071),
            (2048, 1280, 2048),
            (4096, 2560, 4096),
            (16000, 10000, 16000),
            (64000, 40000, 64000),
        ],
    )
    def test_thinking_budget(self, asked: int, budget: int, sent: int) -> None:
        assert thinking_budget(asked) == (budget, sent)

    @given(st.integers(min_value=1, max_value=1_000_000))
    def test_thinking_budget_is_always_valid(self, asked: int) -> None:
        budget, sent = thinking_budget(asked)
        assert MIN_THINKING_BUDGET <= budget < sent
        assert sent >= asked

    def test_prefill_turns_thinking_off(self) -> None:
        conversation = Conversation((Message("user", "Say hi"), Message("assistant", "Hi  \n")))
        body = body_of(provider().build_request("claude-sonnet-4-5", conversation))
        assert "thinking" not in body
        assert body["messages"][-1] == {"role": "assistant", "content": "Hi"}

    def test_blank_system_is_not_sent(self) -> None:
        conversation = Conversation(CONVERSATION.messages, system="  \n")
        assert "system" not in body_of(provider().build_request("m", conversation))

    def test_model_name_with_unicode_round_trips(self) -> None:
        body = body_of(provider().build_request("claude-ü", CONVERSATION))
        assert body["model"] == "claude-ü"


class TestHistory:
    def test_consecutive_same_role_messages_are_merged(self) -> None:
        messages = (
            Message("user", "first try"),
            Message("user", "second try"),
            Message("assistant", "part one"),
            Message("assistant", "part two"),
            Message("user", "thanks"),
        )
        assert anthropic_messages(messages) == [
            {"role": "user", "content": "first try\n\nsecond try"},
            {"role": "assistant", "content": "part one\n\npart two"},
            {"role": "user", "content": "thanks"},
        ]

    def test_history_starting_with_the_assistant_gets_a_user_turn(self) -> None:
        messages = (Message("assistant", "Welcome!"), Message("user", "Hi"))
        assert anthropic_messages(messages) == [
            {"role": "user", "content": CONVERSATION_START},
            {"role": "assistant", "content": "Welcome!"},
            {"role": "user", "content": "Hi"},
        ]

    def test_empty_messages_are_dropped_and_neighbours_merged(self) -> None:
        messages = (
            Message("user", "q1"),
            Message("assistant", ""),  # a reply that failed before any text
            Message("user", "q1 again"),
            Message("assistant", "  \n"),
        )
        assert anthropic_messages(messages) == [{"role": "user", "content": "q1\n\nq1 again"}]

    def test_alternation_always_holds(self) -> None:
        roles = ("user", "assistant")
        messages = tuple(
            Message(roles[(i * 7 // 3) % 2], f"m{i}")  # type: ignore[arg-type]
            for i in range(12)
        )
        turns = anthropic_messages(messages)
        assert turns[0]["role"] == "user"
        assert all(a["role"] != b["role"] for a, b in zip(turns, turns[1:], strict=False))
        joined = "".join(t["content"] for t in turns)
        assert all(f"m{i}" in joined for i in range(12))

    def test_the_request_carries_the_merged_history(self) -> None:
        conversation = Conversation(
            (Message("user", "a"), Message("user", "b")), system="s", reasoning=False
        )
        body = body_of(provider().build_request("claude-sonnet-4-5", conversation))
        assert body["messages"] == [{"role": "user", "content": "a\n\nb"}]


# --- provider: environment, keys, price --------------------------------------------------------


class TestEnvironment:
    def test_base_url_from_env(self) -> None:
        p = provider({"ANTHROPIC_BASE_URL": "https://gateway.example.com/anthropic/"})
        request = p.build_request("claude-sonnet-4-5", CONVERSATION)
        assert str(request.url) == "https://gateway.example.com/anthropic/v1/messages"
        spec = p.price_spec("claude-sonnet-4-5")
        assert spec.provider_id is None
        assert spec.base_url == "https://gateway.example.com/anthropic"
        assert spec.local is False

    def test_base_url_already_ending_in_v1(self) -> None:
        p = provider({"ANTHROPIC_BASE_URL": "https://proxy.example.com/v1"})
        assert p.url == "https://proxy.example.com/v1/messages"

    def test_empty_base_url_means_the_default(self) -> None:
        p = provider({"ANTHROPIC_BASE_URL": ""})
        assert p.url == "https://api.anthropic.com/v1/messages"

    def test_price_spec_official(self) -> None:
        spec = provider().price_spec("claude-sonnet-4-5")
        assert (spec.model, spec.provider_id, spec.base_url, spec.local) == (
            "claude-sonnet-4-5",
            "anthropic",
            None,
            False,
        )
        spec = provider({"ANTHROPIC_BASE_URL": "https://api.anthropic.com/"}).price_spec("m")
        assert spec.provider_id == "anthropic"

    @pytest.mark.parametrize("url", ["http://127.0.0.1:4000", "http://localhost:8082/"])
    def test_loopback_is_local_and_needs_no_key(self, url: str) -> None:
        p = AnthropicProvider.from_env({"ANTHROPIC_BASE_URL": url})
        assert p.price_spec("m").local is True
        assert p.missing_key() is None
        request = p.build_request("m", CONVERSATION)
        assert "x-api-key" not in request.headers
        assert request.headers["anthropic-version"] == "2023-06-01"

    def test_missing_key(self) -> None:
        message = AnthropicProvider.from_env({}).missing_key()
        assert message is not None and "ANTHROPIC_API_KEY" in message and "\n" not in message
        assert AnthropicProvider.from_env({"ANTHROPIC_API_KEY": ""}).missing_key() is not None

    def test_key_present(self) -> None:
        assert provider().missing_key() is None
        assert provider().secrets() == (KEY,)
        assert AnthropicProvider.from_env({}).secrets() == ()

    def test_non_ascii_key_is_reported_by_name(self) -> None:
        p = AnthropicProvider.from_env({"ANTHROPIC_API_KEY": "sk-ant-abc\u2026def"})
        message = p.missing_key()
        assert message is not None and "ANTHROPIC_API_KEY" in message and "\u2026" not in message

    def test_os_environ_is_the_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        p = AnthropicProvider.from_env()
        assert p.secrets() == (KEY,) and p.url == "http://127.0.0.1:9/v1/messages"

    def test_name_and_parser(self) -> None:
        p = provider()
        assert p.name == "anthropic"
        assert isinstance(p.new_parser(), MessagesParser)
        assert p.transport() is None

    def test_new_parser_carries_the_key_as_secret(self) -> None:
        body = sse("error", json.dumps(error_event("api_error", f"key {KEY}"))).encode()
        events = provider().new_parser().feed(body)
        assert events and all(KEY not in getattr(e, "message", "") for e in events)


# --- provider: HTTP errors --------------------------------------------------------------------


def envelope(kind: str, message: str) -> bytes:
    return json.dumps(
        {
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        }
    ).encode()


class TestDescribeHttpError:
    @pytest.mark.parametrize(
        ("status", "kind", "message", "expected"),
        [
            (
                401,
                "authentication_error",
                "invalid x-api-key",
                "HTTP 401 from anthropic: invalid x-api-key [authentication_error] "
                "(check ANTHROPIC_API_KEY)",
            ),
            (
                403,
                "permission_error",
                "Your API key does not have permission to use the specified resource.",
                "HTTP 403 from anthropic: Your API key does not have permission to use the "
                "specified resource. [permission_error] (check ANTHROPIC_API_KEY)",
            ),
            (
                400,
                "invalid_request_error",
                "max_tokens: 100 must be greater than thinking.budget_tokens",
                "HTTP 400 from anthropic: max_tokens: 100 must be greater than "
                "thinking.budget_tokens [invalid_request_error]",
            ),
            (
                404,
                "not_found_error",
                "model: claude-nope",
                "HTTP 404 from anthropic: model: claude-nope [not_found_error] "
                "(check the model name and the base URL https://api.anthropic.com)",
            ),
            (
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
                "HTTP 429 from anthropic: Number of request tokens has exceeded your per-minute "
                "rate limit [rate_limit_error] (rate limited; wait and retry)",
            ),
            (
                500,
                "api_error",
                "Internal server error",
                "HTTP 500 from anthropic: Internal server error [api_error] "
                "(server error; retry later)",
            ),
            (
                529,
                "overloaded_error",
                "Overloaded",
                "HTTP 529 from anthropic: Overloaded [overloaded_error] "
                "(Anthropic is overloaded; retry later)",
            ),
            (
                413,
                "request_too_large",
                "Request exceeds the maximum allowed number of bytes.",
                "HTTP 413 from anthropic: Request exceeds the maximum allowed number of bytes. "
                "[request_too_large] (the conversation is too large for one request)",
            ),
        ],
    )
    def test_api_envelope(self, status: int, kind: str, message: str, expected: str) -> None:
        assert provider().describe_http_error(status, envelope(kind, message)) == expected

    def test_key_echoed_by_the_server_never_appears(self) -> None:
        for pad in range(250, 300, 7):
            body = envelope("authentication_error", "x" * pad + f" {KEY}")
            message = provider().describe_http_error(401, body)
            assert KEY not in message and "abcdefghij" not in message, pad

    def test_plain_text_body(self) -> None:
        assert provider().describe_http_error(502, b"Bad Gateway\n") == (
            "HTTP 502 from anthropic: Bad Gateway (server error; retry later)"
        )


# --- the whole pipeline ------------------------------------------------------------------------


async def run_reply(handler: Any, conversation: Conversation = CONVERSATION) -> Reply:
    target = ResolvedModel("anthropic:claude-sonnet-4-5", provider(), "claude-sonnet-4-5")
    one_attempt = Settings(network=NetworkSettings(max_retries=0))  # retries: elsewhere
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        stream = ReplyStream(target, conversation, one_attempt, client=client)
        async for _ in stream.events():
            pass
        return stream.reply()


class TestPipeline:
    async def test_stream_reply_end_to_end(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=TRANSCRIPT_A
            )

        reply = await run_reply(handler)
        assert seen[0].url.path == "/v1/messages"
        assert (reply.reasoning, reply.text, reply.finish_reason) == (
            "27 * 453 = 27*400 + 27*53 = 10800 + 1431 = 12231",
            "27 × 453 = 12,231",
            "stop",
        )
        assert reply.usage == Usage(input_tokens=36, output_tokens=87)
        assert reply.cost is not None and reply.cost.source == "price_table"

    async def test_http_529_is_retryable_with_the_api_message(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(529, content=envelope("overloaded_error", "Overloaded"))

        reply = await run_reply(handler)
        assert reply.finish_reason == "error"
        assert reply.error == StreamError(
            "HTTP 529 from anthropic: Overloaded [overloaded_error] "
            "(Anthropic is overloaded; retry later)",
            retryable=True,
            status=529,
        )


# --- no SDK at run time -------------------------------------------------------------------------

_NO_SDK_PROBE = """
import json, sys
sys.modules["anthropic"] = None  # any `import anthropic` now raises ImportError
from chatterm.events import Conversation, Message
from chatterm.providers.anthropic import AnthropicProvider
p = AnthropicProvider.from_env({"ANTHROPIC_API_KEY": "k-123456"})
request = p.build_request("claude-sonnet-4-5", Conversation((Message("user", "hi"),)))
parser = p.new_parser()
events = parser.feed(sys.stdin.buffer.read()) + parser.close()
print(json.dumps({
    "url": str(request.url),
    "events": [type(e).__name__ for e in events],
    "loaded": sorted(m for m in sys.modules if m.split(".")[0] == "anthropic"),
}))
"""


def test_the_official_sdk_is_not_needed_at_run_time() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _NO_SDK_PROBE],
        input=TRANSCRIPT_A,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    out = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert out["url"] == "https://api.anthropic.com/v1/messages"
    assert out["events"] == [type(e).__name__ for e in TRANSCRIPT_A_EVENTS]
    assert out["loaded"] == ["anthropic"]  # only the blocking None placeholder


def test_the_module_never_imports_the_sdk() -> None:
    probe = "import sys; import chatterm.providers.anthropic; print('anthropic' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# --- fidelity with the official SDK, when it happens to be installed ------------------------------


@pytest.mark.parametrize(
    ("body", "expected_thinking"),
    [(TRANSCRIPT_A, "27 * 453 = 27*400 + 27*53 = 10800 + 1431 = 12231"), (TRANSCRIPT_C, None)],
    ids=["A", "C"],
)
def test_the_sdk_reads_the_same_reply(body: bytes, expected_thinking: str | None) -> None:
    sdk = pytest.importorskip("anthropic")
    sdk_httpx = pytest.importorskip("httpx2")  # this SDK build speaks httpx2, not httpx

    def handler(request: Any) -> Any:
        return sdk_httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    client = sdk.Anthropic(
        api_key=KEY,
        http_client=sdk_httpx.Client(transport=sdk_httpx.MockTransport(handler)),
        max_retries=0,
    )
    with client.messages.stream(
        model="test-model", max_tokens=1024, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    reply = fold(parse([body]))
    sdk_text = "".join(b.text for b in final.content if b.type == "text")
    sdk_thinking = "".join(b.thinking for b in final.content if b.type == "thinking")
    assert reply.text == sdk_text
    if expected_thinking is not None:
        assert reply.reasoning == sdk_thinking == expected_thinking
    else:  # ours also marks the redacted block
        assert reply.reasoning.endswith(sdk_thinking)
    usage = final.usage
    cache_read = usage.cache_read_input_tokens or 0
    cache_write = usage.cache_creation_input_tokens or 0
    assert reply.usage.input_tokens == usage.input_tokens + cache_read + cache_write
    assert reply.usage.cached_input_tokens == cache_read
    assert reply.usage.output_tokens == usage.output_tokens
