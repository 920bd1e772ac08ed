"""Chat Completions streaming: translator, byte parser and provider."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from stream_helpers import INVALID_UTF8, fold_events, run_parser

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
from chatterm.providers.chat_completions_stream import (
    ChatCompletionsParser,
    ChatCompletionsTranslator,
    usage_from_openai,
)
from chatterm.providers.openai_compat import OpenAICompatProvider
from chatterm.reply.accumulate import Reply

# --- transcripts (as OpenAI's API sends them) ----------------------------------------

TRANSCRIPT_A = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"deepseek-reasoner","choices":[{"index":0,"delta":{"role":"assistant",'
    b'"content":null,"reasoning_content":""},"logprobs":null,"finish_reason":null}],'
    b'"usage":null}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":null,'
    b'"reasoning_content":"9.11 vs 9.8: compare tenths."},"logprobs":null,'
    b'"finish_reason":null}],"usage":null}\n\n'
    b": keep-alive\n\n"
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":"9.8 is greater.",'
    b'"reasoning_content":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":"",'
    b'"reasoning_content":null},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n'
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"deepseek-reasoner","choices":[],"usage":{"prompt_tokens":18,'
    b'"completion_tokens":120,"total_tokens":138,"prompt_tokens_details":{"cached_tokens":0},'
    b'"completion_tokens_details":{"reasoning_tokens":110},"prompt_cache_hit_tokens":0,'
    b'"prompt_cache_miss_tokens":18}}\n\n'
    b"data: [DONE]\n\n"
)
TRANSCRIPT_A_EVENTS: list[Event] = [
    ReasoningDelta("9.11 vs 9.8: compare tenths."),
    TextDelta("9.8 is greater."),
    Finish("stop"),
    UsageUpdate(Usage(input_tokens=18, output_tokens=120, reasoning_tokens=110)),
]

_B_HEAD = (
    '{"id":"chatcmpl-DuLddZr4DRHJOM0r9PiSog78i9fIY","object":"chat.completion.chunk",'
    '"created":1782321917,"model":"gpt-5-2025-08-07","service_tier":"default",'
    '"system_fingerprint":null,'
)
TRANSCRIPT_B = (
    "data: " + _B_HEAD + '"choices":[{"index":0,"delta":{"role":"assistant","content":"",'
    '"refusal":null},"finish_reason":null}],"usage":null,"obfuscation":"mbRezgIrEH"}\n\n'
    "data: " + _B_HEAD + '"choices":[{"index":0,"delta":{"content":"Olá"},'
    '"finish_reason":null}],"usage":null,"obfuscation":"6PfkJQFAw"}\n\n'
    "data: " + _B_HEAD + '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
    '"usage":null,"obfuscation":"RZdMG9"}\n\n'
    "data: " + _B_HEAD + '"choices":[],"usage":{"prompt_tokens":19,"completion_tokens":75,'
    '"total_tokens":94,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},'
    '"completion_tokens_details":{"reasoning_tokens":64,"audio_tokens":0,'
    '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},'
    '"obfuscation":"haKPyvbhUp"}\n\n'
    "data: [DONE]\n\n"
).encode()
TRANSCRIPT_B_EVENTS: list[Event] = [
    TextDelta("Olá"),
    Finish("stop"),
    UsageUpdate(Usage(input_tokens=19, output_tokens=75, reasoning_tokens=64)),
]

TRANSCRIPT_C = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"gpt-4.1","choices":[{"index":0,"delta":{"role":"assistant","content":"",'
    b'"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n'
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"The"},"logprobs":null,'
    b'"finish_reason":null}],"usage":null}\n\n'
    b'data: {"error":{"message":"The server had an error while processing your request. '
    b'Sorry about that!","type":"server_error","param":null,"code":null}}\n\n'
    b"data: [DONE]\n\n"
)
TRANSCRIPT_C_EVENTS: list[Event] = [
    TextDelta("The"),
    StreamError(
        "error from the server: The server had an error while processing your request. "
        "Sorry about that! [server_error]",
        retryable=True,  # a server fault: the same request may well succeed
    ),
    Finish("error"),
]


# Mistral's magistral models, constructed from Mistral's documented shapes (the chat
# completion chunk, ``ThinkChunk`` whose ``thinking`` is a list of ``TextChunk``, and
# ``TextChunk``): ``delta.content`` is a list of parts, the usage rides on the finish chunk.
_M_HEAD = (
    '{"id":"7d2c0b9e","object":"chat.completion.chunk","created":1750000000,'
    '"model":"magistral-medium-2509",'
)
TRANSCRIPT_MISTRAL_PARTS = (
    "data: " + _M_HEAD + '"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
    '"finish_reason":null}]}\n\n'
    "data: " + _M_HEAD + '"choices":[{"index":0,"delta":{"content":[{"type":"thinking",'
    '"thinking":[{"type":"text","text":"Two plus two"}]}]},"finish_reason":null}]}\n\n'
    "data: " + _M_HEAD + '"choices":[{"index":0,"delta":{"content":[{"type":"thinking",'
    '"thinking":[{"type":"text","text":" is four."}]}]},"finish_reason":null}]}\n\n'
    "data: " + _M_HEAD + '"choices":[{"index":0,"delta":{"content":[{"type":"text",'
    '"text":"2 + 2 = "}]},"finish_reason":null}]}\n\n'
    "data: " + _M_HEAD + '"choices":[{"index":0,"delta":{"content":[{"type":"text",'
    '"text":"4 — naïve 🚀"}]},"finish_reason":null}]}\n\n'
    "data: " + _M_HEAD + '"choices":[{"index":0,"delta":{"content":""},'
    '"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"total_tokens":63,'
    '"completion_tokens":52}}\n\n'
    "data: [DONE]\n\n"
).encode()
TRANSCRIPT_MISTRAL_PARTS_EVENTS: list[Event] = [
    ReasoningDelta("Two plus two"),
    ReasoningDelta(" is four."),
    TextDelta("2 + 2 = "),
    TextDelta("4 — naïve 🚀"),
    Finish("stop"),
    UsageUpdate(Usage(input_tokens=11, output_tokens=52)),
]

# A server that never names a finish reason (Snowflake Cortex does this), constructed: the
# usage chunk and [DONE] still end the stream properly.
TRANSCRIPT_NO_FINISH_REASON = (
    b'data: {"id":"s1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"claude-sonnet-4-5","choices":[{"index":0,"delta":{"role":"assistant",'
    b'"content":"All"}}]}\n\n'
    b'data: {"id":"s1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"claude-sonnet-4-5","choices":[{"index":0,"delta":{"content":" done."}}]}\n\n'
    b'data: {"id":"s1","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"claude-sonnet-4-5","choices":[],"usage":{"prompt_tokens":9,'
    b'"completion_tokens":3,"total_tokens":12}}\n\n'
    b"data: [DONE]\n\n"
)
#: What a stream that ends properly without a finish reason says.
NO_FINISH_REASON = StreamWarning(
    "the server sent no finish reason; the stream ended properly, so the reply is complete"
)
TRANSCRIPT_NO_FINISH_REASON_EVENTS: list[Event] = [
    TextDelta("All"),
    TextDelta(" done."),
    UsageUpdate(Usage(input_tokens=9, output_tokens=3)),
    NO_FINISH_REASON,
    Finish("stop"),
]


# --- helpers --------------------------------------------------------------------------------


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    *,
    index: int = 0,
    usage: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One chat.completion.chunk object."""
    body: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "model": "m"}
    if delta is not None or finish is not None:
        body["choices"] = [{"index": index, "delta": delta or {}, "finish_reason": finish}]
    else:
        body["choices"] = []
    body["usage"] = usage
    body.update(extra)
    return body


def translate(*payloads: dict[str, Any] | str, close: bool = True) -> list[Event]:
    """Feed data payloads (dicts are JSON-encoded) to a fresh translator."""
    translator = ChatCompletionsTranslator()
    events: list[Event] = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        events.extend(translator.feed(SSEEvent(data)))
    if close:
        events.extend(translator.close())
    return events


def parse(chunks: Iterable[bytes], secrets: tuple[str, ...] = ()) -> list[Event]:
    return run_parser(ChatCompletionsParser(secrets), chunks)


def fold(events: Iterable[Event]) -> Reply:
    return fold_events(events, "openai:test")


def of_type(events: Iterable[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


# --- transcripts ----------------------------------------------------------------------------


class TestTranscripts:
    def test_a_deepseek_reasoning_answer_usage(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert events == TRANSCRIPT_A_EVENTS
        reply = fold(events)
        assert reply.reasoning == "9.11 vs 9.8: compare tenths."
        assert reply.text == "9.8 is greater."
        assert reply.finish_reason == "stop"
        assert reply.usage == Usage(input_tokens=18, output_tokens=120, reasoning_tokens=110)
        assert reply.error is None
        assert reply.warnings == ()

    def test_b_openai_reasoning_model_without_reasoning_text(self) -> None:
        events = parse([TRANSCRIPT_B])
        assert events == TRANSCRIPT_B_EVENTS
        reply = fold(events)
        assert (reply.reasoning, reply.text, reply.finish_reason) == ("", "Olá", "stop")

    def test_c_mid_stream_error_keeps_partial_text(self) -> None:
        events = parse([TRANSCRIPT_C])
        assert events == TRANSCRIPT_C_EVENTS
        reply = fold(events)
        assert reply.text == "The"
        assert reply.finish_reason == "error"
        assert reply.error is not None and "server_error" in reply.error.message
        assert reply.error.retryable is True

    def test_c_without_done(self) -> None:
        body = TRANSCRIPT_C[: TRANSCRIPT_C.index(b"data: [DONE]")]
        assert parse([body]) == TRANSCRIPT_C_EVENTS

    def test_mistral_content_parts(self) -> None:
        events = parse([TRANSCRIPT_MISTRAL_PARTS])
        assert events == TRANSCRIPT_MISTRAL_PARTS_EVENTS
        reply = fold(events)
        assert (reply.reasoning, reply.text) == ("Two plus two is four.", "2 + 2 = 4 — naïve 🚀")
        assert (reply.finish_reason, reply.warnings) == ("stop", ())

    def test_no_finish_reason_before_done(self) -> None:
        events = parse([TRANSCRIPT_NO_FINISH_REASON])
        assert events == TRANSCRIPT_NO_FINISH_REASON_EVENTS
        reply = fold(events)
        assert (reply.text, reply.finish_reason, reply.error) == ("All done.", "stop", None)
        assert reply.warnings == (NO_FINISH_REASON.message,)


# --- reasoning dialects ---------------------------------------------------------------------


class TestReasoningDialects:
    def test_reasoning_content(self) -> None:
        events = translate(
            chunk({"role": "assistant", "content": None, "reasoning_content": "Okay"}),
            chunk({"content": None, "reasoning_content": ", so"}),
            chunk({"content": "Hi", "reasoning_content": None}),
            chunk({}, "stop"),
        )
        assert events == [
            ReasoningDelta("Okay"),
            ReasoningDelta(", so"),
            TextDelta("Hi"),
            Finish("stop"),
        ]

    def test_reasoning(self) -> None:
        events = translate(
            chunk({"reasoning": "think"}), chunk({"content": "ok"}), chunk({}, "stop")
        )
        assert events == [ReasoningDelta("think"), TextDelta("ok"), Finish("stop")]

    def test_reasoning_and_reasoning_details_not_doubled(self) -> None:
        # OpenRouter sends the same text in both fields.
        delta = {
            "role": "assistant",
            "content": "",
            "reasoning": "Let me see.",
            "reasoning_details": [
                {"type": "reasoning.text", "text": "Let me see.", "format": "unknown", "index": 0}
            ],
        }
        events = translate(chunk(delta), chunk({}, "stop"))
        assert events == [ReasoningDelta("Let me see."), Finish("stop")]

    def test_reasoning_content_and_reasoning_details_not_doubled(self) -> None:
        # Avian sends reasoning_content and reasoning_details together.
        delta = {
            "reasoning_content": "abc",
            "reasoning_details": [{"type": "reasoning.text", "text": "abc"}],
        }
        assert fold(translate(chunk(delta), chunk({}, "stop"))).reasoning == "abc"

    def test_reasoning_content_wins_over_reasoning(self) -> None:
        events = translate(chunk({"reasoning_content": "one", "reasoning": "one"}), close=False)
        assert events == [ReasoningDelta("one")]

    def test_reasoning_details_alone(self) -> None:
        details = [
            {"type": "reasoning.text", "text": "step 1. ", "format": "anthropic-claude-v1"},
            {"type": "reasoning.summary", "summary": "summary. ", "format": "openai-responses-v1"},
            {"type": "reasoning.encrypted", "data": "opaque=="},
            {"type": "reasoning.text", "text": "", "signature": "sig"},
        ]
        events = translate(chunk({"reasoning_details": details}), close=False)
        assert events == [ReasoningDelta("step 1. summary. ")]

    def test_reasoning_details_with_null_strings(self) -> None:
        delta = {
            "reasoning": None,
            "reasoning_content": None,
            "reasoning_details": [{"type": "reasoning.text", "text": "x"}],
        }
        assert translate(chunk(delta), close=False) == [ReasoningDelta("x")]

    def test_signature_only_detail_emits_nothing(self) -> None:
        delta = {"reasoning_details": [{"type": "reasoning.text", "text": "", "signature": "s"}]}
        assert translate(chunk(delta), close=False) == []

    def test_openrouter_empty_content_is_not_answer_start(self) -> None:
        events = translate(
            chunk({"role": "assistant", "content": "", "reasoning": "a"}),
            chunk({"role": "assistant", "content": "", "reasoning": "b"}),
            chunk({"role": "assistant", "content": "Answer", "reasoning": None}),
            chunk({"role": "assistant", "content": ""}, "stop"),
        )
        assert TextDelta("") not in events
        assert events == [
            ReasoningDelta("a"),
            ReasoningDelta("b"),
            TextDelta("Answer"),
            Finish("stop"),
        ]
        reply = fold(events)
        # Started at t=0, events at t=1.. : first answer is the third event.
        assert reply.metrics.ttft_ms == 1000.0
        assert reply.metrics.first_answer_ms == 3000.0

    def test_inline_think_tags_in_content(self) -> None:
        events = translate(
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": "<th"}),
            chunk({"content": "ink>\nhmm"}),
            chunk({"content": "</think>\n\n"}),
            chunk({"content": "Hello"}),
            chunk({}, "stop"),
        )
        reply = fold(events)
        assert (reply.reasoning, reply.text) == ("\nhmm", "Hello")

    def test_missing_open_tag_in_content(self) -> None:
        events = translate(
            chunk({"content": "Okay, greet them."}),
            chunk({"content": "\n</think>\n\nHi!"}),
            chunk({}, "stop"),
        )
        reply = fold(events)
        assert (reply.reasoning, reply.text) == ("Okay, greet them.\n", "Hi!")

    def test_server_side_reasoning_turns_off_tag_parsing(self) -> None:
        events = translate(
            chunk({"reasoning_content": "r"}),
            chunk({"content": "Use </think> to close."}),
            chunk({}, "stop"),
        )
        reply = fold(events)
        assert (reply.reasoning, reply.text) == ("r", "Use </think> to close.")

    def test_held_partial_tag_is_flushed_at_finish(self) -> None:
        events = translate(chunk({"content": "a <"}), chunk({}, "stop"))
        assert events == [TextDelta("a "), TextDelta("<"), Finish("stop")]


# --- chunk shapes ---------------------------------------------------------------------------


class TestChunkShapes:
    def test_role_chunk_alone_emits_nothing(self) -> None:
        first = chunk({"role": "assistant", "content": "", "refusal": None})
        assert translate(first, close=False) == []

    def test_refusal_is_answer_text(self) -> None:
        events = translate(
            chunk({"role": "assistant", "content": None, "refusal": ""}),
            chunk({"refusal": "I'm"}),
            chunk({"refusal": " sorry"}),
            chunk({}, "stop"),
        )
        assert events == [TextDelta("I'm"), TextDelta(" sorry"), Finish("stop")]
        assert fold(events).text == "I'm sorry"

    @pytest.mark.parametrize(
        ("reason", "normalized"),
        [
            ("stop", "stop"),
            ("length", "length"),
            ("content_filter", "content_filter"),
            ("tool_calls", "tool_calls"),
            ("function_call", "tool_calls"),
            ("end_turn", "stop"),
            ("max_tokens", "length"),
            ("something_new", "stop"),
        ],
    )
    def test_finish_reason_mapping(self, reason: str, normalized: str) -> None:
        events = translate(chunk({"content": "x"}), chunk({}, reason))
        assert events == [TextDelta("x"), Finish(normalized)]  # type: ignore[arg-type]

    @pytest.mark.parametrize("reason", ["error", "insufficient_system_resource"])
    def test_error_finish_reasons(self, reason: str) -> None:
        events = translate(
            chunk({"content": "part"}),
            chunk({}, reason),
            chunk({"content": "ignored"}),
            chunk(usage={"prompt_tokens": 3, "completion_tokens": 1, "cost": 0.5}),
        )
        assert events[0] == TextDelta("part")
        assert isinstance(events[1], StreamError) and reason in events[1].message
        assert events[2] == Finish("error")
        # After the error only usage counts: OpenRouter reports what the failure cost there.
        assert events[3:] == [UsageUpdate(Usage(input_tokens=3, output_tokens=1, cost_usd=0.5))]
        reply = fold(events)
        assert (reply.text, reply.finish_reason) == ("part", "error")

    def test_finish_reason_only_once(self) -> None:
        events = translate(chunk({}, "stop"), chunk({}, "length"))
        assert of_type(events, Finish) == [Finish("stop")]

    def test_finish_reason_and_content_in_one_chunk(self) -> None:
        assert translate(chunk({"content": "end"}, "length")) == [
            TextDelta("end"),
            Finish("length"),
        ]

    def test_azure_first_chunk_with_empty_choices(self) -> None:
        azure_first = {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [
                {"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False}}}
            ],
        }
        events = translate(
            azure_first,
            chunk({"content": "Hi"}, content_filter_results={}),
            chunk({}, "stop"),
        )
        assert events == [TextDelta("Hi"), Finish("stop")]

    def test_choices_with_other_index_ignored(self) -> None:
        events = translate(
            chunk({"role": "assistant", "content": ""}, index=1),
            chunk({"content": "zero"}, index=0),
            chunk({"content": "one"}, index=1),
            chunk({"reasoning_content": "one's thoughts"}, index=1),
            chunk({}, "length", index=1),
            chunk({}, "stop", index=0),
        )
        assert events == [TextDelta("zero"), Finish("stop")]

    def test_choice_without_index_is_choice_zero(self) -> None:
        payload = {"choices": [{"delta": {"content": "x"}, "finish_reason": None}]}
        assert translate(payload, close=False) == [TextDelta("x")]

    def test_odd_shapes_do_not_crash(self) -> None:
        events = translate(
            {"choices": None},
            {"choices": "nope"},
            {"choices": [None, 3, {"index": 0, "delta": None}]},
            {"choices": [{"index": 0, "delta": {"content": 5, "reasoning": ["x"]}}]},
            {"usage": "none"},
            close=False,
        )
        assert events == []

    def test_pretty_printed_json(self) -> None:
        pretty = json.dumps(chunk({"content": "spaced"}), indent=2)
        body = "".join(f"data: {line}\n" for line in pretty.splitlines()) + "\n"
        assert parse([body.encode()]) == [
            TextDelta("spaced"),
            StreamError(
                "the stream ended before the model finished (no finish reason); "
                "the partial reply is kept",
                retryable=True,
            ),
            Finish("interrupted"),
        ]


# --- content as a list of parts (Mistral) ---------------------------------------------------


def thinking_part(*texts: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": [{"type": "text", "text": t} for t in texts]}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


class TestContentParts:
    def test_thinking_parts_are_reasoning_and_text_parts_the_answer(self) -> None:
        events = translate(
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": [thinking_part("Let me", " see.")]}),
            chunk({"content": [thinking_part("Done."), text_part("Four")]}),
            chunk({"content": [text_part(".")]}, "stop"),
        )
        assert events == [
            ReasoningDelta("Let me see."),
            ReasoningDelta("Done."),
            TextDelta("Four"),
            TextDelta("."),
            Finish("stop"),
        ]

    def test_thinking_given_as_a_string(self) -> None:
        events = translate(
            chunk({"content": [{"type": "thinking", "thinking": "plain thought"}]}),
            chunk({"content": [text_part("answer")]}, "stop"),
        )
        assert events == [ReasoningDelta("plain thought"), TextDelta("answer"), Finish("stop")]

    def test_think_tags_inside_text_parts_are_not_reasoning_after_thinking_parts(self) -> None:
        events = translate(
            chunk({"content": [thinking_part("real")]}),
            chunk({"content": [text_part("<think>not a tag</think>")]}, "stop"),
        )
        assert fold(events).text == "<think>not a tag</think>"

    def test_other_part_types_are_skipped_with_a_counted_warning(self) -> None:
        events = translate(
            chunk({"content": [text_part("See "), {"type": "reference", "reference_ids": [1]}]}),
            chunk({"content": [{"type": "image_url", "image_url": {"url": "x"}}, "bare"]}),
            chunk({"content": [{"type": "thinking", "thinking": [{"type": "tool_reference"}]}]}),
            chunk({"content": [text_part("this.")]}, "stop"),
        )
        reply = fold(events)
        assert (reply.text, reply.reasoning, reply.finish_reason) == ("See this.", "", "stop")
        assert reply.warnings == (
            "skipped 4 content parts chatterm cannot show; the first: reference",
        )
        assert of_type(events, StreamWarning)[0] == StreamWarning(
            "skipped a content part chatterm cannot show: reference", "content_part"
        )

    def test_odd_parts_do_not_crash(self) -> None:
        events = translate(
            chunk({"content": [None, 3, {"type": "text", "text": 5}, {"type": "text"}]}),
            chunk({"content": [{"type": "thinking", "thinking": None}, {"type": None}]}),
            chunk({"content": []}),
            close=False,
        )
        assert all(isinstance(event, StreamWarning) for event in events)

    def test_a_whole_completion_with_parts(self) -> None:
        completion = {
            "id": "m1",
            "object": "chat.completion",
            "model": "magistral-small-2509",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": [thinking_part("Short."), text_part("Yes.")],
                    },
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
        }
        reply = fold(parse([json.dumps(completion, indent=2).encode()]))
        assert (reply.reasoning, reply.text, reply.finish_reason) == ("Short.", "Yes.", "stop")
        assert reply.warnings == ()


# --- usage ----------------------------------------------------------------------------------


class TestUsage:
    def test_usage_only_final_chunk_with_details(self) -> None:
        usage = {
            "prompt_tokens": 2000,
            "completion_tokens": 300,
            "total_tokens": 2300,
            "prompt_tokens_details": {"cached_tokens": 1536, "cache_write_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 256},
        }
        events = translate(chunk({"content": "x"}), chunk({}, "stop"), chunk(usage=usage))
        assert events[-1] == UsageUpdate(
            Usage(
                input_tokens=2000,
                output_tokens=300,
                reasoning_tokens=256,
                cached_input_tokens=1536,
                cache_write_tokens=64,
            )
        )

    def test_no_details_at_all(self) -> None:
        usage = usage_from_openai({"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12})
        assert usage == Usage(input_tokens=5, output_tokens=7)

    def test_null_details(self) -> None:
        raw = {
            "prompt_tokens": 5,
            "completion_tokens": 7,
            "prompt_tokens_details": None,
            "completion_tokens_details": "n/a",
        }
        assert usage_from_openai(raw) == Usage(input_tokens=5, output_tokens=7)

    def test_deepseek_prompt_cache_hit_tokens(self) -> None:
        raw = {
            "prompt_tokens": 100,
            "completion_tokens": 40,
            "total_tokens": 140,
            "prompt_cache_hit_tokens": 64,
            "prompt_cache_miss_tokens": 36,
            "completion_tokens_details": {"reasoning_tokens": 30},
        }
        usage = usage_from_openai(raw)
        assert usage.cached_input_tokens == 64
        assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (100, 40, 30)

    def test_cached_tokens_detail_preferred_over_deepseek_field(self) -> None:
        raw = {
            "prompt_tokens": 100,
            "prompt_tokens_details": {"cached_tokens": 10},
            "prompt_cache_hit_tokens": 64,
        }
        assert usage_from_openai(raw).cached_input_tokens == 10

    def test_xai_reasoning_outside_completion(self) -> None:
        # grok-3-mini [recorded]: prompt 288 + completion 27 + reasoning 313 = total 628.
        raw = {
            "prompt_tokens": 288,
            "completion_tokens": 27,
            "total_tokens": 628,
            "completion_tokens_details": {"reasoning_tokens": 313},
        }
        usage = usage_from_openai(raw)
        assert usage.output_tokens == 340
        assert usage.reasoning_tokens == 313

    def test_openai_reasoning_inside_completion(self) -> None:
        raw = {
            "prompt_tokens": 19,
            "completion_tokens": 75,
            "total_tokens": 94,
            "completion_tokens_details": {"reasoning_tokens": 64},
        }
        usage = usage_from_openai(raw)
        assert (usage.output_tokens, usage.reasoning_tokens) == (75, 64)

    def test_openrouter_cost(self) -> None:
        raw = {
            "prompt_tokens": 10,
            "completion_tokens": 20,
            "total_tokens": 30,
            "cost": 0.000123,
            "cost_details": {"upstream_inference_cost": None},
            "is_byok": False,
        }
        assert usage_from_openai(raw).cost_usd == pytest.approx(0.000123)
        assert usage_from_openai({**raw, "cost": 0}).cost_usd == 0.0

    @pytest.mark.parametrize("cost", [None, True, "0.1", {"total": 1}])
    def test_cost_that_is_not_a_number(self, cost: object) -> None:
        assert usage_from_openai({"prompt_tokens": 1, "cost": cost}).cost_usd is None

    def test_non_integer_counts_become_zero(self) -> None:
        raw = {"prompt_tokens": "12", "completion_tokens": True, "total_tokens": 1.5}
        assert usage_from_openai(raw) == Usage()

    def test_groq_duplicated_usage_is_replaced_not_added(self) -> None:
        usage = {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
        events = translate(
            chunk({"role": "assistant", "content": "Hi"}),
            chunk({}, "stop", usage=usage, x_groq={"id": "req_1", "usage": usage}),
            chunk(usage=usage, x_groq={"id": "req_1", "usage": usage}),
            "[DONE]",
        )
        updates = of_type(events, UsageUpdate)
        assert len(updates) == 2
        reply = fold(events)
        assert reply.usage == Usage(input_tokens=40, output_tokens=12)

    def test_usage_null_on_every_chunk_is_not_usage(self) -> None:
        events = translate(chunk({"content": "x"}, usage=None), close=False)
        assert of_type(events, UsageUpdate) == []


# --- errors and stream ends -----------------------------------------------------------------


INTERRUPTED = [
    StreamError(
        "the stream ended before the model finished (no finish reason); the partial reply is kept",
        retryable=True,
    ),
    Finish("interrupted"),
]


class TestErrorsAndEnds:
    def test_mid_stream_error_envelope(self) -> None:
        events = translate(
            chunk({"content": "partial"}),
            {"error": {"message": "Overloaded", "type": "server_error", "code": None}},
            chunk({"content": "ignored after the error"}),
            "[DONE]",
        )
        assert events == [
            TextDelta("partial"),
            StreamError("error from the server: Overloaded [server_error]", retryable=True),
            Finish("error"),
        ]

    def test_openrouter_error_on_a_normal_chunk(self) -> None:
        payload = chunk(
            {"content": ""},
            "error",
            error={"code": 502, "message": "Provider returned error", "metadata": {}},
            native_finish_reason="error",
        )
        events = translate(chunk({"content": "Hel"}), payload)
        assert events == [
            TextDelta("Hel"),
            StreamError("error from the server: Provider returned error", retryable=True),
            Finish("error"),
        ]

    def test_error_as_plain_string(self) -> None:
        events = translate({"error": "model crashed"})
        assert events == [StreamError("error from the server: model crashed"), Finish("error")]

    def test_vllm_error_object(self) -> None:
        payload = {
            "object": "error",
            "message": "This model's maximum context length is 4096 tokens.",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
        events = translate(chunk({"content": "a"}), payload)
        assert events == [
            TextDelta("a"),
            StreamError(
                "error from the server: This model's maximum context length is 4096 tokens. "
                "[BadRequestError]"
            ),
            Finish("error"),
        ]

    def test_error_flushes_held_text_first(self) -> None:
        events = translate(chunk({"content": "x </thi"}), {"error": {"message": "boom"}})
        assert events == [
            TextDelta("x "),
            TextDelta("</thi"),
            StreamError("error from the server: boom"),
            Finish("error"),
        ]

    def test_error_message_is_one_line_and_redacted(self) -> None:
        key = "tok_" + "Z" * 40  # no sk- shape: only the by-value redaction can catch it
        for pad in range(220, 300, 3):
            translator = ChatCompletionsTranslator(secrets=(key,))
            message = "bad\nrequest " + "y" * pad + f" key {key} Bearer abc.def"
            events = translator.feed(SSEEvent(json.dumps({"error": {"message": message}})))
            error = events[0]
            assert isinstance(error, StreamError)
            assert error.message.startswith("error from the server: bad request yyy")
            assert "\n" not in error.message
            assert "tok_ZZ" not in error.message, pad
            assert "abc.def" not in error.message

    def test_line_that_is_not_json_is_a_warning_and_the_stream_continues(self) -> None:
        events = translate(
            chunk({"content": "a"}),
            "{not json",
            chunk({"content": "b"}),
            chunk({}, "stop"),
        )
        assert events[0] == TextDelta("a")
        assert isinstance(events[1], StreamWarning) and "{not json" in events[1].message
        assert events[2:] == [TextDelta("b"), Finish("stop")]
        reply = fold(events)
        assert (reply.text, reply.finish_reason, reply.error) == ("ab", "stop", None)
        assert len(reply.warnings) == 1

    @pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "42", "null"])
    def test_json_that_is_not_an_object_is_a_warning(self, payload: str) -> None:
        events = translate(payload, close=False)
        assert len(events) == 1 and isinstance(events[0], StreamWarning)

    def test_empty_data_is_skipped_silently(self) -> None:
        assert translate("", "  ", close=False) == []

    def test_stream_ending_without_finish_reason(self) -> None:
        events = translate(chunk({"reasoning_content": "r"}), chunk({"content": "partial answ"}))
        assert events == [ReasoningDelta("r"), TextDelta("partial answ"), *INTERRUPTED]
        reply = fold(events)
        assert (reply.reasoning, reply.text) == ("r", "partial answ")
        assert reply.finish_reason == "interrupted"
        assert reply.error is not None and reply.error.retryable

    def test_done_without_finish_reason_is_a_complete_stop(self) -> None:
        events = translate(chunk({"content": "<thi"}), chunk(usage={"prompt_tokens": 3}), "[DONE]")
        assert events == [
            UsageUpdate(Usage(input_tokens=3)),
            TextDelta("<thi"),  # held back as a possible tag until the end
            NO_FINISH_REASON,
            Finish("stop"),
        ]

    def test_done_alone_is_still_a_stream_cut_short(self) -> None:
        # No chunk of a reply came at all: nothing says the reply is there, so it may be
        # asked for again.
        assert translate(chunk(usage={"prompt_tokens": 3}), "[DONE]") == [
            UsageUpdate(Usage(input_tokens=3)),
            *INTERRUPTED,
        ]

    def test_a_whole_completion_without_finish_reason_is_complete(self) -> None:
        completion = {"choices": [{"index": 0, "message": {"content": "whole"}}]}
        events = parse([json.dumps(completion).encode()])
        assert events == [TextDelta("whole"), NO_FINISH_REASON, Finish("stop")]

    def test_interrupted_flushes_held_text(self) -> None:
        events = translate(chunk({"content": "<thi"}))
        assert events == [TextDelta("<thi"), *INTERRUPTED]

    def test_done_is_not_json_and_ends_the_stream(self) -> None:
        events = translate(
            chunk({"content": "x"}), chunk({}, "stop"), "[DONE]", chunk({"content": "late"})
        )
        assert events == [TextDelta("x"), Finish("stop")]

    def test_usage_after_finish_before_done_is_kept(self) -> None:
        events = translate(chunk({}, "stop"), chunk(usage={"prompt_tokens": 3}), "[DONE]")
        assert events == [Finish("stop"), UsageUpdate(Usage(input_tokens=3))]

    def test_clean_close_after_finish_without_done(self) -> None:
        assert translate(chunk({"content": "x"}), chunk({}, "stop")) == [
            TextDelta("x"),
            Finish("stop"),
        ]

    def test_close_after_error_adds_nothing(self) -> None:
        translator = ChatCompletionsTranslator()
        translator.feed(SSEEvent('{"error":{"message":"x"}}'))
        assert translator.close() == []


class TestParser:
    def test_keep_alive_comments_and_event_without_data(self) -> None:
        body = (
            b": OPENROUTER PROCESSING\n\n"
            b"id: 1\n\n"
            b"data:\n\n"
            + b"data: "
            + json.dumps(chunk({"content": "ok"}, "stop")).encode()
            + b"\n\ndata: [DONE]\n\n"
        )
        assert parse([body]) == [TextDelta("ok"), Finish("stop")]

    def test_invalid_utf8_is_a_warning(self) -> None:
        body = (
            b'data: {"choices":[{"index":0,"delta":{"content":"a\xffb"},'
            b'"finish_reason":"stop"}]}\n\n'
        )
        events = parse([body])
        assert events[:2] == [TextDelta("a\ufffdb"), Finish("stop")]
        assert events[2:] == [INVALID_UTF8]

    def test_u2028_in_content_survives(self) -> None:
        payload = json.dumps(
            chunk({"content": "a\u2028b\u2029c\u0085d"}, "stop"), ensure_ascii=False
        )
        body = f"data: {payload}\n\n".encode()
        for cut in range(len(body) + 1):
            assert parse([body[:cut], body[cut:]]) == [
                TextDelta("a\u2028b\u2029c\u0085d"),
                Finish("stop"),
            ]

    def test_secrets_reach_the_translator(self) -> None:
        key = "my-very-secret-key-123"
        body = b'data: {"error":{"message":"bad key my-very-secret-key-123"}}\n\n'
        error = parse([body], secrets=(key,))[0]
        assert isinstance(error, StreamError)
        assert key not in error.message and "***" in error.message


# --- provider -------------------------------------------------------------------------------


CONVERSATION = Conversation(
    messages=(
        Message("user", "Hi"),
        Message("assistant", "Hello!"),
        Message("user", "Which is bigger, 9.11 or 9.8?"),
    ),
    system="Be brief.",
)


def openai(env: dict[str, str] | None = None) -> OpenAICompatProvider:
    return OpenAICompatProvider.openai(
        {"OPENAI_API_KEY": "sk-test-abcdefghijklmnop", **(env or {})}
    )


class TestProviderRequest:
    def test_openai_request(self) -> None:
        request = openai().build_request("gpt-5-mini", CONVERSATION)
        assert request.method == "POST"
        assert str(request.url) == "https://api.openai.com/v1/chat/completions"
        assert request.headers["Authorization"] == "Bearer sk-test-abcdefghijklmnop"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Accept"] == "text/event-stream"
        body = json.loads(request.content)
        assert body == {
            "model": "gpt-5-mini",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Which is bigger, 9.11 or 9.8?"},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
        }

    def test_no_system_message_when_none(self) -> None:
        conversation = Conversation(messages=(Message("user", "x"),))
        body = json.loads(openai().build_request("m", conversation).content)
        assert body["messages"] == [{"role": "user", "content": "x"}]

    def test_max_tokens_field_name(self) -> None:
        conversation = Conversation(messages=(Message("user", "x"),), max_tokens=256)
        body = json.loads(openai().build_request("m", conversation).content)
        assert body["max_completion_tokens"] == 256 and "max_tokens" not in body
        local = OpenAICompatProvider("vllm", "http://127.0.0.1:8000/v1/", None)
        body = json.loads(local.build_request("m", conversation).content)
        assert body["max_tokens"] == 256 and "max_completion_tokens" not in body

    def test_custom_server_without_key(self) -> None:
        provider = OpenAICompatProvider("llama", "http://localhost:8080/v1/", None)
        request = provider.build_request("qwen3", CONVERSATION)
        assert str(request.url) == "http://localhost:8080/v1/chat/completions"
        assert "Authorization" not in request.headers
        assert provider.missing_key() is None
        assert provider.secrets() == ()

    def test_openai_base_url_from_env(self) -> None:
        provider = openai({"OPENAI_BASE_URL": "https://proxy.example.com/v1/"})
        request = provider.build_request("gpt-5", CONVERSATION)
        assert str(request.url) == "https://proxy.example.com/v1/chat/completions"
        spec = provider.price_spec("gpt-5")
        # openai: names OpenAI's models wherever they are served: priced as OpenAI's.
        assert spec.provider_id == "openai" and spec.local is False

    def test_price_spec(self) -> None:
        spec = openai().price_spec("gpt-5-mini")
        assert (spec.model, spec.provider_id, spec.base_url, spec.local) == (
            "gpt-5-mini",
            "openai",
            None,
            False,
        )
        local = OpenAICompatProvider("lm", "http://127.0.0.1:1234/v1", None).price_spec("x")
        assert local.local is True and local.provider_id is None

    def test_new_parser_carries_the_key_as_secret(self) -> None:
        parser = openai().new_parser()
        events = parser.feed(b'data: {"error":{"message":"key sk-test-abcdefghijklmnop"}}\n\n')
        assert all("abcdefghijklmnop" not in getattr(e, "message", "") for e in events)


class TestMissingKey:
    def test_openai_without_key(self) -> None:
        message = OpenAICompatProvider.openai({}).missing_key()
        assert message is not None and "OPENAI_API_KEY" in message
        assert "\n" not in message

    def test_openai_with_empty_key(self) -> None:
        assert OpenAICompatProvider.openai({"OPENAI_API_KEY": ""}).missing_key() is not None

    def test_openai_with_key(self) -> None:
        assert openai().missing_key() is None
        assert openai().secrets() == ("sk-test-abcdefghijklmnop",)

    def test_custom_with_key_env_but_no_key(self) -> None:
        provider = OpenAICompatProvider(
            "groq", "https://api.groq.com/openai/v1", None, key_env="GROQ_API_KEY"
        )
        message = provider.missing_key()
        assert message is not None and "GROQ_API_KEY" in message

    def test_local_needs_no_key(self) -> None:
        provider = OpenAICompatProvider(
            "box", "http://lan-box:8000/v1", None, key_env="K", local=True
        )
        assert provider.missing_key() is None


class TestDescribeHttpError:
    KEY = "sk-test-abcdefghijklmnop"

    def test_openai_envelope_401(self) -> None:
        body = json.dumps(
            {
                "error": {
                    "message": "Incorrect API key provided: sk-test-**************mnop.",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        message = openai().describe_http_error(401, body)
        assert message.startswith("HTTP 401 from openai: Incorrect API key provided")
        assert "[invalid_request_error]" in message
        assert message.endswith("(check OPENAI_API_KEY)")

    def test_key_echoed_by_server_never_appears(self) -> None:
        body = json.dumps({"error": {"message": f"Invalid key {self.KEY} for org"}}).encode()
        message = openai().describe_http_error(401, body)
        assert self.KEY not in message
        assert "abcdefghijklmnop" not in message

    def test_key_echoed_in_plain_text_body(self) -> None:
        message = openai().describe_http_error(403, f"denied for {self.KEY}".encode())
        assert self.KEY not in message and "abcdefgh" not in message

    def test_key_cut_by_the_length_limit_never_appears(self) -> None:
        key = "gsk_" + "Q" * 40  # no sk- shape: only the by-value redaction can catch it
        provider = OpenAICompatProvider("groq", "https://api.groq.com/openai/v1", key)
        for pad in range(250, 300, 3):
            body = json.dumps({"error": {"message": "x" * pad + " " + key}}).encode()
            message = provider.describe_http_error(401, body)
            assert "gsk_QQ" not in message, pad
            plain = provider.describe_http_error(401, ("x" * pad + " " + key).encode())
            assert "gsk_QQ" not in plain, pad

    def test_vllm_shape(self) -> None:
        body = json.dumps(
            {
                "object": "error",
                "message": "The model `nope` does not exist.",
                "type": "NotFoundError",
                "param": None,
                "code": 404,
            }
        ).encode()
        provider = OpenAICompatProvider("vllm", "http://127.0.0.1:8000/v1", None)
        assert provider.describe_http_error(404, body) == (
            "HTTP 404 from vllm: The model `nope` does not exist. [NotFoundError] "
            "(check the model name and the base URL http://127.0.0.1:8000/v1)"
        )

    def test_plain_text_body(self) -> None:
        assert openai().describe_http_error(502, b"Bad Gateway\n") == (
            "HTTP 502 from openai: Bad Gateway (server error; retry later)"
        )

    def test_html_body_becomes_one_line(self) -> None:
        body = b"<html>\n<body>\n<h1>503 Service Unavailable</h1>\n</body>\n</html>\n"
        message = openai().describe_http_error(503, body)
        assert "\n" not in message
        assert "503 Service Unavailable" in message

    def test_empty_body(self) -> None:
        assert openai().describe_http_error(429, b"") == (
            "HTTP 429 from openai (rate limited; wait and retry)"
        )

    def test_long_body_is_shortened(self) -> None:
        message = openai().describe_http_error(400, b"e" * 5000)
        assert len(message) < 400 and message.count("e") >= 290

    def test_openrouter_error_with_int_code(self) -> None:
        body = json.dumps({"error": {"code": 402, "message": "Insufficient credits"}}).encode()
        provider = OpenAICompatProvider("openrouter", "https://openrouter.ai/api/v1", "k-123456")
        assert (
            provider.describe_http_error(402, body)
            == "HTTP 402 from openrouter: Insufficient credits"
        )


def test_skipped_line_warning_never_carries_the_key() -> None:
    translator = ChatCompletionsTranslator(secrets=("sk-live-abcdef123456",))
    events = translator.feed(SSEEvent("not json, key sk-live-abcdef123456 echoed"))
    assert len(events) == 1 and isinstance(events[0], StreamWarning)
    assert "sk-live-abcdef123456" not in events[0].message


def test_non_ascii_key_is_reported_by_name() -> None:
    provider = OpenAICompatProvider.openai({"OPENAI_API_KEY": "sk-abc\u2026def"})
    message = provider.missing_key()
    assert message is not None and "OPENAI_API_KEY" in message and "\u2026" not in message


def test_openai_models_behind_a_local_proxy_are_still_priced() -> None:
    # A LiteLLM proxy on localhost still bills OpenAI: no "$0 (local)" for openai: models.
    provider = OpenAICompatProvider.openai(
        {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:4000/v1"}
    )
    spec = provider.price_spec("gpt-4o-mini")
    assert spec.local is False and spec.provider_id == "openai"
    # ...but a key is optional there, as for any server on this machine.
    assert (
        OpenAICompatProvider.openai({"OPENAI_BASE_URL": "http://127.0.0.1:4000/v1"}).missing_key()
        is None
    )
