"""Gemini streamGenerateContent: translator, byte parser and provider."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from stream_helpers import fold_events, run_parser

from chatterm.config import NetworkSettings
from chatterm.decode.sse import SSEEvent
from chatterm.events import (
    Conversation,
    Event,
    Finish,
    Message,
    ReasoningDelta,
    Started,
    StreamError,
    StreamWarning,
    TextDelta,
    Usage,
    UsageUpdate,
)
from chatterm.network.stream import stream_reply
from chatterm.providers.gemini import GeminiProvider
from chatterm.providers.gemini_stream import GeminiParser, GeminiTranslator, usage_from_gemini
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.accumulate import Reply

# --- transcripts (as Gemini's API sends them, and variations) ---------------------------

_A1 = (
    '{"candidates": [{"content": {"parts": [{"text": "**Comparing decimals**\\n\\nI compare '
    'the tenths digit: 8 > 1.\\n","thought": true}],"role": "model"},"index": 0}],'
    '"usageMetadata": {"promptTokenCount": 12,"totalTokenCount": 52,"promptTokensDetails": '
    '[{"modality": "TEXT","tokenCount": 12}],"thoughtsTokenCount": 40},'
    '"modelVersion": "gemini-2.5-flash","responseId": "r1"}'
)
_A2 = (
    '{"candidates": [{"content": {"parts": [{"text": "9.8 is"}],"role": "model"},"index": 0}],'
    '"usageMetadata": {"promptTokenCount": 12,"candidatesTokenCount": 3,"totalTokenCount": 55,'
    '"promptTokensDetails": [{"modality": "TEXT","tokenCount": 12}],"thoughtsTokenCount": 40},'
    '"modelVersion": "gemini-2.5-flash","responseId": "r1"}'
)
_A3 = (
    '{"candidates": [{"content": {"parts": [{"text": " greater."}],"role": "model"},'
    '"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 12,'
    '"candidatesTokenCount": 5,"totalTokenCount": 57,"promptTokensDetails": '
    '[{"modality": "TEXT","tokenCount": 12}],"thoughtsTokenCount": 40},'
    '"modelVersion": "gemini-2.5-flash","responseId": "r1"}'
)
TRANSCRIPT_A = "".join(f"data: {c}\r\n\r\n" for c in (_A1, _A2, _A3)).encode()
TRANSCRIPT_A_EVENTS: list[Event] = [
    ReasoningDelta("**Comparing decimals**\n\nI compare the tenths digit: 8 > 1.\n"),
    UsageUpdate(Usage(input_tokens=12, output_tokens=40, reasoning_tokens=40)),
    TextDelta("9.8 is"),
    UsageUpdate(Usage(input_tokens=12, output_tokens=43, reasoning_tokens=40)),
    TextDelta(" greater."),
    UsageUpdate(Usage(input_tokens=12, output_tokens=45, reasoning_tokens=40)),
    Finish("stop"),
]

_B1 = (
    '{"candidates": [{"content": {"parts": [{"text": "Okay"}],"role": "model"}}],'
    '"usageMetadata": {"promptTokenCount": 2304,"totalTokenCount": 2304,"promptTokensDetails": '
    '[{"modality": "TEXT","tokenCount": 2304}]},"modelVersion": "gemini-2.0-flash"}'
)
_RAW_503 = (
    "{\n"
    '  "error": {\n'
    '    "code": 503,\n'
    '    "message": "The model is overloaded. Please try again later.",\n'
    '    "status": "UNAVAILABLE"\n'
    "  }\n"
    "}\n"
)
TRANSCRIPT_B = f"data: {_B1}\r\n\r\n{_RAW_503}".encode()
ERROR_503 = StreamError(
    "Gemini sent an error (503 UNAVAILABLE): The model is overloaded. Please try again later.",
    retryable=True,
    status=503,
)
TRANSCRIPT_B_EVENTS: list[Event] = [
    TextDelta("Okay"),
    UsageUpdate(Usage(input_tokens=2304)),
    ERROR_503,
    Finish("error"),
]

# An error after a chunk that already said STOP (vercel/ai#5217): the error wins.
_C1 = (
    '{"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"index":0}],'
    '"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":1,"totalTokenCount":9}}'
)
_C2 = (
    '{"candidates":[{"content":{"parts":[{"text":" there"}],"role":"model"},'
    '"finishReason":"STOP","index":0}],'
    '"usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":2,"totalTokenCount":10}}'
)
_RAW_500 = (
    "{\n"
    '  "error": {\n'
    '    "code": 500,\n'
    '    "message": "An internal error has occurred. {retry} \\"soon\\"",\n'
    '    "status": "INTERNAL"\n'
    "  }\n"
    "}\n"
)
TRANSCRIPT_C = f"data: {_C1}\r\n\r\ndata: {_C2}\r\n\r\n{_RAW_500}".encode()
TRANSCRIPT_C_EVENTS: list[Event] = [
    TextDelta("Hello"),
    UsageUpdate(Usage(input_tokens=8, output_tokens=1)),
    TextDelta(" there"),
    UsageUpdate(Usage(input_tokens=8, output_tokens=2)),
    StreamError(
        'Gemini sent an error (500 INTERNAL): An internal error has occurred. {retry} "soon"',
        retryable=True,
        status=500,
    ),
    Finish("error"),
]

# Multi-byte UTF-8 and a raw U+2028 inside a JSON string (JSON allows it unescaped).
_TRICKY = "naïve — 日本語 🙂\u2028next line"
_E1 = json.dumps(
    {"candidates": [{"content": {"parts": [{"text": "ünïcödé \u2029 thought", "thought": True}]}}]},
    ensure_ascii=False,
)
_E2 = json.dumps(
    {
        "candidates": [
            {"content": {"parts": [{"text": _TRICKY}], "role": "model"}, "finishReason": "STOP"}
        ],
        "usageMetadata": {
            "promptTokenCount": 4,
            "candidatesTokenCount": 9,
            "thoughtsTokenCount": 3,
        },
    },
    ensure_ascii=False,
)
TRANSCRIPT_E = f": keep-alive\r\n\r\ndata: {_E1}\r\n\r\ndata: {_E2}\r\n\r\n".encode()
TRANSCRIPT_E_EVENTS: list[Event] = [
    ReasoningDelta("ünïcödé \u2029 thought"),
    TextDelta(_TRICKY),
    UsageUpdate(Usage(input_tokens=4, output_tokens=12, reasoning_tokens=3)),
    Finish("stop"),
]

INTERRUPTED = [
    StreamError(
        "the stream ended before the model finished (no finish reason); the partial reply is kept",
        retryable=True,
    ),
    Finish("interrupted"),
]


# --- helpers --------------------------------------------------------------------------------


def part(text: str, *, thought: bool | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"text": text}
    if thought is not None:
        body["thought"] = thought
    body.update(extra)
    return body


def chunk(
    *parts: dict[str, Any],
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    index: int | None = 0,
    finish_message: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One GenerateContentResponse with a single candidate."""
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}}
    if index is not None:
        candidate["index"] = index
    if finish is not None:
        candidate["finishReason"] = finish
    if finish_message is not None:
        candidate["finishMessage"] = finish_message
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash"}
    if usage is not None:
        body["usageMetadata"] = usage
    body.update(extra)
    return body


def translate(*payloads: dict[str, Any] | str, close: bool = True) -> list[Event]:
    """Feed data payloads (dicts are JSON-encoded) to a fresh translator."""
    translator = GeminiTranslator()
    events: list[Event] = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        events.extend(translator.feed(SSEEvent(data)))
    if close:
        events.extend(translator.close())
    return events


def parse(chunks: Iterable[bytes], secrets: tuple[str, ...] = ()) -> list[Event]:
    return run_parser(GeminiParser(secrets), chunks)


def sse(*payloads: dict[str, Any]) -> bytes:
    return "".join(f"data: {json.dumps(p)}\r\n\r\n" for p in payloads).encode()


def fold(events: Iterable[Event]) -> Reply:
    return fold_events(events, "gemini:test")


def of_type(events: Iterable[Event], kind: type) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


# --- transcripts ----------------------------------------------------------------------------


class TestTranscripts:
    def test_a_thoughts_answer_usage(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert events == TRANSCRIPT_A_EVENTS
        reply = fold(events)
        assert reply.reasoning == "**Comparing decimals**\n\nI compare the tenths digit: 8 > 1.\n"
        assert reply.text == "9.8 is greater."
        assert reply.finish_reason == "stop"
        assert reply.usage == Usage(input_tokens=12, output_tokens=45, reasoning_tokens=40)
        assert (reply.error, reply.warnings) == (None, ())

    def test_b_raw_mid_stream_error(self) -> None:
        events = parse([TRANSCRIPT_B])
        assert events == TRANSCRIPT_B_EVENTS
        reply = fold(events)
        assert reply.text == "Okay"
        assert reply.finish_reason == "error"
        assert reply.error == ERROR_503
        assert reply.warnings == ()

    def test_c_error_after_stop_overrides_the_finish(self) -> None:
        events = parse([TRANSCRIPT_C])
        assert events == TRANSCRIPT_C_EVENTS
        assert of_type(events, Finish) == [Finish("error")]
        reply = fold(events)
        assert (reply.text, reply.finish_reason) == ("Hello there", "error")
        assert reply.error is not None and reply.error.status == 500

    def test_e_unicode_and_line_separators_inside_json(self) -> None:
        events = parse([TRANSCRIPT_E])
        assert events == TRANSCRIPT_E_EVENTS
        assert fold(events).text == _TRICKY

    def test_bom_at_stream_start(self) -> None:
        assert parse([b"\xef\xbb\xbf" + TRANSCRIPT_A]) == TRANSCRIPT_A_EVENTS

    def test_raw_error_is_reported_as_soon_as_it_is_complete(self) -> None:
        parser = GeminiParser()
        head = TRANSCRIPT_B[: TRANSCRIPT_B.index(b"{\n")]
        assert parser.feed(head) == TRANSCRIPT_B_EVENTS[:2]
        lines = _RAW_503.encode().splitlines(keepends=True)
        for line in lines[:-1]:
            assert parser.feed(line) == []
        assert parser.feed(lines[-1]) == [ERROR_503, Finish("error")]
        assert parser.close() == []


# --- parts ----------------------------------------------------------------------------------


class TestParts:
    def test_thought_parts_are_reasoning_others_answer(self) -> None:
        events = translate(
            chunk(part("plan", thought=True)),
            chunk(part("A", thought=False), part("B")),
            chunk(part("", thought=True, thoughtSignature="c2ln"), finish="STOP"),
        )
        assert events == [ReasoningDelta("plan"), TextDelta("A"), TextDelta("B"), Finish("stop")]

    def test_thought_and_answer_parts_in_one_chunk(self) -> None:
        events = translate(chunk(part("t1", thought=True), part("a1")), close=False)
        assert events == [ReasoningDelta("t1"), TextDelta("a1")]

    def test_thought_signature_on_empty_text_part_renders_nothing(self) -> None:
        # gemini-3-pro ends with {"text": "", "thoughtSignature": ...}
        events = translate(
            chunk(part("Hi")), chunk(part("", thoughtSignature="EiYKJGUx"), finish="STOP")
        )
        assert events == [TextDelta("Hi"), Finish("stop")]

    def test_thinking_without_thought_parts(self) -> None:
        # gemini-3-pro-preview: thoughtsTokenCount but no thought parts (WIRE §5.4).
        usage = {"promptTokenCount": 95, "candidatesTokenCount": 2, "thoughtsTokenCount": 94}
        events = translate(chunk(part("Yes."), finish="STOP", usage=usage))
        reply = fold(events)
        assert (reply.reasoning, reply.text) == ("", "Yes.")
        assert reply.usage == Usage(input_tokens=95, output_tokens=96, reasoning_tokens=94)

    def test_function_call_is_not_rendered_and_finishes_tool_calls(self) -> None:
        call = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
        events = translate(
            chunk(part("Let me check.")),
            chunk(call, {"functionCall": {"name": "other", "args": {}}}, {"thoughtSignature": "x"}),
            chunk(finish="STOP", finish_message="Model generated function call(s)."),
        )
        assert events[0] == TextDelta("Let me check.")
        warnings = of_type(events, StreamWarning)
        assert len(warnings) == 1 and "get_weather" in warnings[0].message
        assert events[-1] == Finish("tool_calls")
        assert fold(events).text == "Let me check."

    def test_function_call_cut_by_max_tokens_is_length(self) -> None:
        events = translate(chunk({"functionCall": {"name": "f", "args": {}}}, finish="MAX_TOKENS"))
        assert events[-1] == Finish("length")

    def test_other_part_kinds_are_ignored(self) -> None:
        events = translate(
            chunk(
                {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}},
                {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                part("done"),
            ),
            close=False,
        )
        assert events == [TextDelta("done")]

    def test_other_candidates_ignored_and_missing_index_is_zero(self) -> None:
        events = translate(
            chunk(part("zero"), index=None),
            chunk(part("one"), index=1),
            chunk(part("one more"), index=1, finish="SAFETY"),
            chunk(finish="STOP", index=None),
        )
        assert events == [TextDelta("zero"), Finish("stop")]

    def test_candidate_with_finish_reason_and_no_content(self) -> None:
        payload = {"candidates": [{"finishReason": "STOP", "index": 0}]}
        assert translate(chunk(part("x")), payload) == [TextDelta("x"), Finish("stop")]

    def test_odd_shapes_do_not_crash(self) -> None:
        events = translate(
            {"candidates": None},
            {"candidates": "nope"},
            {"candidates": [None, 3, {"index": 0, "content": None}]},
            {"candidates": [{"content": {"parts": "x"}}]},
            {"candidates": [{"content": {"parts": [None, 1, {"text": 5}, {"text": None}]}}]},
            {"candidates": [{"content": {"parts": [{"functionCall": "f"}]}, "finishReason": 3}]},
            {"candidates": [], "usageMetadata": "none"},
            {"candidates": [], "promptFeedback": {"blockReason": None}},
            close=False,
        )
        assert events == []


# --- usage ----------------------------------------------------------------------------------


class TestUsage:
    def test_mapping(self) -> None:
        raw = {
            "promptTokenCount": 1200,
            "cachedContentTokenCount": 1024,
            "candidatesTokenCount": 14,
            "thoughtsTokenCount": 62,
            "toolUsePromptTokenCount": 0,
            "totalTokenCount": 1276,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1200}],
            "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1024}],
            "trafficType": "ON_DEMAND",
        }
        assert usage_from_gemini(raw) == Usage(
            input_tokens=1200, output_tokens=76, reasoning_tokens=62, cached_input_tokens=1024
        )

    def test_missing_and_odd_fields_are_zero(self) -> None:
        assert usage_from_gemini({}) == Usage()
        raw = {"promptTokenCount": "5", "candidatesTokenCount": True, "thoughtsTokenCount": 1.5}
        assert usage_from_gemini(raw) == Usage()

    def test_running_totals_replace_and_last_chunk_wins(self) -> None:
        # gemini-3-pro: promptTokenCount 95 on early chunks, 189 on the last one.
        events = translate(
            chunk(part("a"), usage={"promptTokenCount": 95, "candidatesTokenCount": 1}),
            chunk(part("b"), usage={"promptTokenCount": 95, "candidatesTokenCount": 2}),
            chunk(
                part("c"),
                finish="STOP",
                usage={"promptTokenCount": 189, "candidatesTokenCount": 3, "thoughtsTokenCount": 9},
            ),
        )
        updates = of_type(events, UsageUpdate)
        assert [u.usage.input_tokens for u in updates] == [95, 95, 189]
        assert fold(events).usage == Usage(input_tokens=189, output_tokens=12, reasoning_tokens=9)

    def test_repeated_identical_usage_is_sent_once(self) -> None:
        usage = {"promptTokenCount": 7, "totalTokenCount": 7}
        events = translate(chunk(part("a"), usage=usage), chunk(part("b"), usage=usage))
        assert len(of_type(events, UsageUpdate)) == 1

    def test_usage_only_chunk_after_finish(self) -> None:
        events = translate(
            chunk(part("x"), finish="STOP"),
            {"usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1}},
        )
        assert events == [
            TextDelta("x"),
            UsageUpdate(Usage(input_tokens=3, output_tokens=1)),
            Finish("stop"),
        ]

    def test_usage_still_counts_after_an_error(self) -> None:
        events = translate(
            chunk(part("x")),
            {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}},
            chunk(part("ignored"), usage={"promptTokenCount": 3, "candidatesTokenCount": 1}),
        )
        assert events[0] == TextDelta("x")
        assert events[2:] == [Finish("error"), UsageUpdate(Usage(input_tokens=3, output_tokens=1))]
        assert fold(events).text == "x"


# --- finish reasons -------------------------------------------------------------------------


class TestFinish:
    def test_finish_waits_for_the_end_of_the_body(self) -> None:
        translator = GeminiTranslator()
        events = translator.feed(SSEEvent(json.dumps(chunk(part("x"), finish="STOP"))))
        assert events == [TextDelta("x")]
        assert translator.close() == [Finish("stop")]
        assert translator.close() == []

    @pytest.mark.parametrize(
        ("raw", "normalized"),
        [
            ("STOP", "stop"),
            ("MAX_TOKENS", "length"),
            ("SAFETY", "content_filter"),
            ("RECITATION", "content_filter"),
            ("LANGUAGE", "content_filter"),
            ("BLOCKLIST", "content_filter"),
            ("PROHIBITED_CONTENT", "content_filter"),
            ("SPII", "content_filter"),
            ("IMAGE_SAFETY", "content_filter"),
            ("IMAGE_PROHIBITED_CONTENT", "content_filter"),
            ("IMAGE_RECITATION", "content_filter"),
            ("ESCALATION", "content_filter"),
            ("MODEL_ARMOR", "content_filter"),
            ("PUP_LIMITED_DISABLED", "content_filter"),
            ("MALFORMED_FUNCTION_CALL", "error"),
            ("UNEXPECTED_TOOL_CALL", "error"),
            ("TOO_MANY_TOOL_CALLS", "error"),
            ("MALFORMED_RESPONSE", "error"),
            ("MISSING_THOUGHT_SIGNATURE", "error"),
            ("OTHER", "stop"),
            ("FINISH_REASON_UNSPECIFIED", "stop"),
            ("IMAGE_OTHER", "stop"),
            ("NO_IMAGE", "stop"),
            ("CONTINUATION", "stop"),
            ("SOMETHING_NEW", "stop"),
        ],
    )
    def test_mapping(self, raw: str, normalized: str) -> None:
        events = translate(chunk(part("x"), finish=raw))
        assert events[0] == TextDelta("x")
        assert events[-1] == Finish(normalized)  # type: ignore[arg-type]
        assert of_type(events, Finish) == [Finish(normalized)]  # type: ignore[arg-type]
        notes = events[1:-1]
        if raw in ("STOP", "MAX_TOKENS"):
            assert notes == []
        elif normalized == "error":
            assert len(notes) == 1 and isinstance(notes[0], StreamError)
            assert raw in notes[0].message
            assert notes[0].retryable is (raw != "MISSING_THOUGHT_SIGNATURE")
        else:
            assert len(notes) == 1 and isinstance(notes[0], StreamWarning)
            assert raw in notes[0].message
        assert fold(events).text == "x"

    def test_finish_message_is_shown(self) -> None:
        events = translate(
            chunk(part("x"), finish="RECITATION", finish_message="Matched\na source."),
        )
        assert events[1] == StreamWarning(
            "Gemini stopped the reply (RECITATION): Matched a source."
        )

    def test_first_finish_reason_wins(self) -> None:
        events = translate(chunk(finish="MAX_TOKENS"), chunk(part("late"), finish="STOP"))
        assert of_type(events, Finish) == [Finish("length")]

    def test_prompt_blocked(self) -> None:
        payload = {
            "promptFeedback": {
                "blockReason": "PROHIBITED_CONTENT",
                "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}],
            },
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
            "modelVersion": "gemini-2.5-flash",
        }
        events = translate(payload)
        assert events == [
            StreamError("Gemini blocked the prompt (PROHIBITED_CONTENT)"),
            UsageUpdate(Usage(input_tokens=9)),
            Finish("content_filter"),
        ]
        reply = fold(events)
        assert (reply.text, reply.finish_reason) == ("", "content_filter")
        assert reply.error is not None and not reply.error.retryable

    def test_prompt_blocked_with_message(self) -> None:
        payload = {"promptFeedback": {"blockReason": "OTHER", "blockReasonMessage": "Nope."}}
        events = translate(payload, payload)
        assert events == [
            StreamError("Gemini blocked the prompt (OTHER): Nope."),
            Finish("content_filter"),
        ]

    def test_stream_ending_without_finish_reason(self) -> None:
        events = translate(chunk(part("r", thought=True)), chunk(part("partial answ")))
        assert events == [ReasoningDelta("r"), TextDelta("partial answ"), *INTERRUPTED]
        reply = fold(events)
        assert (reply.reasoning, reply.text, reply.finish_reason) == (
            "r",
            "partial answ",
            "interrupted",
        )
        assert reply.error is not None and reply.error.retryable

    def test_truncated_mid_chunk(self) -> None:
        body = TRANSCRIPT_A[: TRANSCRIPT_A.index(b" greater.")]
        events = parse([body])
        assert events[:4] == TRANSCRIPT_A_EVENTS[:4]
        assert isinstance(events[4], StreamWarning) and "not JSON" in events[4].message
        assert events[5:] == INTERRUPTED
        assert fold(events).text == "9.8 is"

    def test_truncated_between_chunks(self) -> None:
        body = TRANSCRIPT_A[: TRANSCRIPT_A.index(b"data: " + _A3.encode())]
        assert parse([body]) == [*TRANSCRIPT_A_EVENTS[:4], *INTERRUPTED]

    @pytest.mark.parametrize("tail", [b"\r\n", b"\r", b"\n", b""], ids=["CRLF", "CR", "LF", "none"])
    def test_last_event_without_its_blank_line_still_counts(self, tail: bytes) -> None:
        body = TRANSCRIPT_A[: -len(b"\r\n\r\n")] + tail
        assert parse([body]) == TRANSCRIPT_A_EVENTS


# --- errors ---------------------------------------------------------------------------------


class TestErrors:
    @pytest.mark.parametrize(
        ("code", "status", "retryable"),
        [
            (429, "RESOURCE_EXHAUSTED", True),
            (500, "INTERNAL", True),
            (503, "UNAVAILABLE", True),
            (504, "DEADLINE_EXCEEDED", True),
            (400, "INVALID_ARGUMENT", False),
            (403, "PERMISSION_DENIED", False),
            (404, "NOT_FOUND", False),
        ],
    )
    def test_raw_error_status_and_retry(self, code: int, status: str, retryable: bool) -> None:
        raw = json.dumps({"error": {"code": code, "message": "msg", "status": status}}, indent=2)
        events = parse([sse(chunk(part("so far"))) + raw.encode() + b"\n"])
        assert events[0] == TextDelta("so far")
        assert events[1:] == [
            StreamError(f"Gemini sent an error ({code} {status}): msg", retryable, code),
            Finish("error"),
        ]

    def test_error_status_name_without_code(self) -> None:
        events = translate({"error": {"message": "try later", "status": "UNAVAILABLE"}})
        assert events == [
            StreamError("Gemini sent an error (UNAVAILABLE): try later", retryable=True),
            Finish("error"),
        ]

    def test_error_in_a_data_event(self) -> None:
        # Some relays put the error on a data: line.
        events = translate(
            chunk(part("a")),
            {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}},
            chunk(part("ignored"), finish="STOP"),
        )
        assert events == [
            TextDelta("a"),
            StreamError("Gemini sent an error (503 UNAVAILABLE): overloaded", True, 503),
            Finish("error"),
        ]

    def test_error_as_a_string_or_odd_shape(self) -> None:
        assert translate({"error": "quota"}) == [
            StreamError("Gemini sent an error: quota"),
            Finish("error"),
        ]
        events = translate({"error": {"details": []}})
        assert isinstance(events[0], StreamError) and "details" in events[0].message
        assert events[1:] == [Finish("error")]

    def test_only_the_first_error_counts(self) -> None:
        events = parse([TRANSCRIPT_B + _RAW_503.encode() + b'{"error": "again"}\n'])
        assert events == TRANSCRIPT_B_EVENTS

    def test_compact_raw_error_on_one_line(self) -> None:
        raw = b'{"error":{"code":429,"message":"Quota exceeded.","status":"RESOURCE_EXHAUSTED"}}'
        events = parse([sse(chunk(part("x"), finish="STOP")) + raw])
        assert events == [
            TextDelta("x"),
            StreamError(
                "Gemini sent an error (429 RESOURCE_EXHAUSTED): Quota exceeded.", True, 429
            ),
            Finish("error"),
        ]

    def test_raw_error_wrapped_in_a_list(self) -> None:
        raw = "[" + _RAW_503.rstrip("\n") + "]\n"
        assert parse([sse(chunk(part("Okay"))) + raw.encode()]) == [
            TextDelta("Okay"),
            ERROR_503,
            Finish("error"),
        ]

    def test_raw_error_with_details_and_braces_in_strings(self) -> None:
        error = {
            "error": {
                "code": 429,
                "message": 'Quota {"a": [1} exceeded ]]',
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "29s"}
                ],
            }
        }
        raw = json.dumps(error, indent=2).encode()
        events = parse([raw[:40], raw[40:]])
        assert events == [
            StreamError(
                'Gemini sent an error (429 RESOURCE_EXHAUSTED): Quota {"a": [1} exceeded ]]',
                True,
                429,
            ),
            Finish("error"),
        ]

    def test_raw_error_cut_off_at_eof_is_still_an_error(self) -> None:
        body = TRANSCRIPT_B[: TRANSCRIPT_B.index(b'    "status"')]
        events = parse([body])
        assert events[:2] == TRANSCRIPT_B_EVENTS[:2]
        assert events[2:] == [
            StreamError(
                "Gemini sent an error (503): The model is overloaded. Please try again later.",
                retryable=True,
                status=503,
            ),
            Finish("error"),
        ]

    def test_raw_error_cut_before_its_message(self) -> None:
        events = parse([b'{\n  "error": {\n    "code": 5'])
        assert isinstance(events[0], StreamError) and "cut off" in events[0].message
        assert events[1:] == [Finish("error")]

    def test_message_is_one_line_and_redacted(self) -> None:
        key = "AIza" + "Q" * 35  # a Gemini key has no sk- shape: only by-value redaction helps
        for pad in range(220, 300, 7):
            message = "bad\nrequest " + "y" * pad + f" key {key} ?key={key[:10]}x"
            raw = json.dumps({"error": {"code": 400, "message": message}}, indent=1).encode()
            events = parse([raw], secrets=(key,))
            error = events[0]
            assert isinstance(error, StreamError)
            assert error.message.startswith("Gemini sent an error (400): bad request yyy")
            assert "\n" not in error.message
            assert "AIzaQQ" not in error.message, pad

    def test_warning_is_redacted(self) -> None:
        key = "AIza" + "K" * 35
        events = parse([f"data: not json {key}\r\n\r\n".encode()], secrets=(key,))
        assert isinstance(events[0], StreamWarning) and key not in events[0].message


# --- garbage --------------------------------------------------------------------------------


class TestGarbage:
    def test_data_that_is_not_json_is_a_warning_and_the_stream_continues(self) -> None:
        events = translate(chunk(part("a")), "{not json", chunk(part("b"), finish="STOP"))
        assert events[0] == TextDelta("a")
        assert isinstance(events[1], StreamWarning) and "{not json" in events[1].message
        assert events[2:] == [TextDelta("b"), Finish("stop")]
        reply = fold(events)
        assert (reply.text, reply.finish_reason, reply.error) == ("ab", "stop", None)

    @pytest.mark.parametrize("payload", ["[1, 2]", '"text"', "42", "null"])
    def test_json_that_is_not_an_object_is_a_warning(self, payload: str) -> None:
        events = translate(payload, close=False)
        assert len(events) == 1 and isinstance(events[0], StreamWarning)

    def test_object_of_unknown_shape_is_a_warning(self) -> None:
        events = translate({"hello": "world"}, close=False)
        assert len(events) == 1 and isinstance(events[0], StreamWarning)

    def test_empty_data_is_skipped_silently(self) -> None:
        assert translate("", "  ", close=False) == []

    def test_comments_and_unknown_fields(self) -> None:
        body = b": ping\r\n\r\nevent: message\r\nid: 1\r\n" + sse(chunk(part("x"), finish="STOP"))
        assert parse([body]) == [TextDelta("x"), Finish("stop")]

    def test_text_line_outside_sse_is_a_warning(self) -> None:
        body = sse(chunk(part("x"))) + b"upstream hiccup\r\n\r\n" + sse(chunk(finish="STOP"))
        events = parse([body])
        assert events[0] == TextDelta("x")
        assert isinstance(events[1], StreamWarning) and "upstream hiccup" in events[1].message
        assert events[2:] == [Finish("stop")]

    def test_raw_json_that_is_not_an_error_is_a_warning(self) -> None:
        body = sse(chunk(part("x"), finish="STOP")) + b'{\n  "status": "ok"\n}\n'
        events = parse([body])
        assert events[0] == TextDelta("x")
        assert isinstance(events[1], StreamWarning)
        assert events[2:] == [Finish("stop")]

    def test_unbalanced_raw_text_is_a_warning(self) -> None:
        body = sse(chunk(part("x"), finish="STOP")) + b"{ oops ]\n"
        events = parse([body])
        assert isinstance(events[1], StreamWarning)
        assert events[-1] == Finish("stop")

    def test_unfinished_raw_json_at_eof_is_a_warning(self) -> None:
        body = sse(chunk(part("x"), finish="STOP")) + b'{\n  "note": "bye'
        events = parse([body])
        assert isinstance(events[1], StreamWarning) and events[1].kind == "unfinished_json"
        assert '{ "note": "bye' in events[1].message
        assert events[-1] == Finish("stop")

    def test_body_without_alt_sse_is_still_read(self) -> None:
        # Without alt=sse the endpoint streams one JSON array (WIRE §5.1); a proxy that drops
        # the query string produces this. It arrives whole, but it is not lost.
        body = json.dumps(
            [chunk(part("Hi")), chunk(part(" there"), finish="STOP")], indent=2
        ).encode()
        assert parse([body]) == [TextDelta("Hi"), TextDelta(" there"), Finish("stop")]

    def test_invalid_utf8_is_a_warning(self) -> None:
        body = (
            b'data: {"candidates":[{"content":{"parts":[{"text":"a\xff"}]},'
            b'"finishReason":"STOP"}]}\r\n\r\n'
        )
        events = parse([body])
        assert events[0] == TextDelta("a\ufffd")
        assert isinstance(events[1], StreamWarning) and "UTF-8" in events[1].message
        assert events[2] == Finish("stop")

    def test_multi_line_data_event(self) -> None:
        pretty = json.dumps(chunk(part("spaced"), finish="STOP"), indent=2)
        body = "".join(f"data: {line}\r\n" for line in pretty.splitlines()) + "\r\n"
        assert parse([body.encode()]) == [TextDelta("spaced"), Finish("stop")]


# --- provider: request ----------------------------------------------------------------------

KEY = "AIzaSyTESTKEY0123456789abcdefghijklmno"


def provider(**env: str) -> GeminiProvider:
    return GeminiProvider.from_env({"GEMINI_API_KEY": KEY, **env})


def body_of(request: httpx.Request) -> dict[str, Any]:
    return json.loads(request.content)  # type: ignore[no-any-return]


CONVERSATION = Conversation(
    messages=(
        Message("user", "Which is larger, 9.11 or 9.8?"),
        Message("assistant", "9.8 is larger."),
        Message("user", "Why?"),
    ),
    system="Be brief.",
)


class TestRequest:
    def test_url_headers_and_body(self) -> None:
        request = provider().build_request("gemini-2.5-flash", CONVERSATION)
        assert request.method == "POST"
        assert str(request.url) == (
            "https://generativelanguage.googleapis.com/v1beta/models/"
            "gemini-2.5-flash:streamGenerateContent?alt=sse"
        )
        assert request.headers["x-goog-api-key"] == KEY
        assert request.headers["content-type"] == "application/json"
        assert KEY not in str(request.url)
        assert "authorization" not in request.headers
        assert body_of(request) == {
            "contents": [
                {"role": "user", "parts": [{"text": "Which is larger, 9.11 or 9.8?"}]},
                {"role": "model", "parts": [{"text": "9.8 is larger."}]},
                {"role": "user", "parts": [{"text": "Why?"}]},
            ],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {"thinkingConfig": {"includeThoughts": True}},
        }

    @pytest.mark.parametrize(
        ("model", "path"),
        [
            ("models/gemini-2.5-pro", "/v1beta/models/gemini-2.5-pro"),
            ("gemini-3-pro-preview", "/v1beta/models/gemini-3-pro-preview"),
            ("tunedModels/my-model-123", "/v1beta/tunedModels/my-model-123"),
        ],
    )
    def test_model_path(self, model: str, path: str) -> None:
        request = provider().build_request(model, CONVERSATION)
        assert request.url.path == f"{path}:streamGenerateContent"
        assert request.url.params["alt"] == "sse"

    @pytest.mark.parametrize(
        ("base", "url"),
        [
            ("https://proxy.example/gemini/", "https://proxy.example/gemini/v1beta/models/m"),
            ("https://proxy.example/v1beta", "https://proxy.example/v1beta/models/m"),
            ("http://127.0.0.1:8085", "http://127.0.0.1:8085/v1beta/models/m"),
            ("https://gw.example/google/v1", "https://gw.example/google/v1/models/m"),
        ],
    )
    def test_base_url(self, base: str, url: str) -> None:
        request = provider(GEMINI_BASE_URL=base).build_request("m", CONVERSATION)
        assert str(request.url) == f"{url}:streamGenerateContent?alt=sse"

    def test_consecutive_same_role_messages_are_merged_and_empty_ones_dropped(self) -> None:
        conversation = Conversation(
            messages=(
                Message("user", "first try"),
                Message("assistant", ""),  # a reply that failed before any text
                Message("user", "second try"),
                Message("assistant", "part one"),
                Message("assistant", "part two"),
                Message("user", "ok"),
            ),
        )
        body = body_of(provider().build_request("gemini-2.0-flash", conversation))
        assert body == {
            "contents": [
                {"role": "user", "parts": [{"text": "first try"}, {"text": "second try"}]},
                {"role": "model", "parts": [{"text": "part one"}, {"text": "part two"}]},
                {"role": "user", "parts": [{"text": "ok"}]},
            ]
        }

    def test_max_tokens(self) -> None:
        conversation = Conversation((Message("user", "hi"),), max_tokens=256, reasoning=False)
        body = body_of(provider().build_request("gemini-2.5-flash", conversation))
        assert body["generationConfig"] == {"maxOutputTokens": 256}
        assert "systemInstruction" not in body

    @pytest.mark.parametrize(
        ("model", "reasoning", "thoughts"),
        [
            ("gemini-2.5-flash", True, True),
            ("models/gemini-2.5-pro", True, True),
            ("gemini-3-pro-preview", True, True),
            ("gemini-flash-latest", True, True),
            ("gemini-2.5-flash", False, False),
            ("gemini-2.0-flash", True, False),
            ("gemma-3-27b-it", True, False),
        ],
    )
    def test_thought_summaries_only_when_wanted_and_supported(
        self, model: str, reasoning: bool, thoughts: bool
    ) -> None:
        conversation = Conversation((Message("user", "hi"),), reasoning=reasoning)
        body = body_of(provider().build_request(model, conversation))
        config = body.get("generationConfig", {})
        assert ("thinkingConfig" in config) is thoughts
        if thoughts:
            assert config["thinkingConfig"] == {"includeThoughts": True}

    def test_model_name_sent_as_given(self) -> None:
        request = provider().build_request("Gemini-Exp_1206.x", CONVERSATION)
        assert "/models/Gemini-Exp_1206.x:streamGenerateContent" in str(request.url)

    def test_unicode_body(self) -> None:
        conversation = Conversation((Message("user", "日本語 \u2028 ok"),))
        request = provider().build_request("gemini-2.5-flash", conversation)
        assert body_of(request)["contents"][0]["parts"][0]["text"] == "日本語 \u2028 ok"

    def test_new_parser_knows_the_key(self) -> None:
        parser = provider().new_parser()
        assert isinstance(parser, GeminiParser)
        raw = json.dumps({"error": {"code": 400, "message": f"bad key {KEY}"}}).encode()
        events = parser.feed(raw + b"\n")
        assert isinstance(events[0], StreamError) and KEY not in events[0].message


# --- provider: keys, prices, errors ---------------------------------------------------------


class TestProvider:
    def test_key_from_gemini_api_key(self) -> None:
        p = GeminiProvider.from_env({"GEMINI_API_KEY": "g-key", "GOOGLE_API_KEY": "o-key"})
        assert p.secrets() == ("g-key",)
        assert p.missing_key() is None
        assert p.name == "gemini"

    def test_key_from_google_api_key(self) -> None:
        p = GeminiProvider.from_env({"GOOGLE_API_KEY": "o-key", "GEMINI_API_KEY": ""})
        assert p.secrets() == ("o-key",)
        assert p.build_request("m", CONVERSATION).headers["x-goog-api-key"] == "o-key"
        assert p.status_hint(403) == "check GOOGLE_API_KEY (used because GEMINI_API_KEY is not set)"

    def test_missing_key(self) -> None:
        p = GeminiProvider.from_env({})
        message = p.missing_key()
        assert message is not None
        assert "GEMINI_API_KEY" in message and "GOOGLE_API_KEY" in message
        assert p.secrets() == ()
        assert "x-goog-api-key" not in p.build_request("m", CONVERSATION).headers

    def test_local_server_needs_no_key(self) -> None:
        p = GeminiProvider.from_env({"GEMINI_BASE_URL": "http://localhost:9999"})
        assert p.missing_key() is None

    def test_non_ascii_key(self) -> None:
        p = GeminiProvider.from_env({"GEMINI_API_KEY": "AIza…"})
        assert p.missing_key() == "GEMINI_API_KEY has non-ASCII characters; copy the key again"

    def test_price_spec(self) -> None:
        spec = provider().price_spec("models/gemini-2.5-flash")
        assert (spec.model, spec.provider_id, spec.base_url, spec.local) == (
            "gemini-2.5-flash",
            "google",
            None,
            False,
        )
        official = provider(GEMINI_BASE_URL="https://generativelanguage.googleapis.com/v1beta/")
        assert official.price_spec("gemini-2.5-flash").provider_id == "google"

    def test_price_spec_elsewhere(self) -> None:
        spec = provider(GEMINI_BASE_URL="https://relay.example/g").price_spec("gemini-2.5-flash")
        assert (spec.provider_id, spec.base_url, spec.local) == (
            None,
            "https://relay.example/g",
            False,
        )
        local = provider(GEMINI_BASE_URL="http://127.0.0.1:8085").price_spec("gemini-2.5-flash")
        assert local.local

    def test_http_429_with_retry_delay(self) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": 429,
                    "message": "You exceeded your current quota.",
                    "status": "RESOURCE_EXHAUSTED",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "29s"},
                    ],
                }
            }
        ).encode()
        assert provider().describe_http_error(429, body) == (
            "HTTP 429 from gemini: You exceeded your current quota. [RESOURCE_EXHAUSTED] "
            "(rate limited or out of quota; retry in 29s)"
        )

    def test_http_error_wrapped_in_a_list(self) -> None:
        body = (
            b'[{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}]'
        )
        assert provider().describe_http_error(503, body) == (
            "HTTP 503 from gemini: The model is overloaded. [UNAVAILABLE] "
            "(server error; retry later)"
        )

    @pytest.mark.parametrize("status", [401, 403])
    def test_http_auth_errors_name_the_key_variable(self, status: int) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": status,
                    "message": "Permission denied.",
                    "status": "PERMISSION_DENIED",
                }
            }
        ).encode()
        message = provider().describe_http_error(status, body)
        assert message == (
            f"HTTP {status} from gemini: Permission denied. [PERMISSION_DENIED] "
            "(check GEMINI_API_KEY)"
        )

    def test_http_400_bad_key_names_the_key_variable(self) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": 400,
                    "message": "API key not valid. Please pass a valid API key.",
                    "status": "INVALID_ARGUMENT",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                        }
                    ],
                }
            }
        ).encode()
        assert provider().describe_http_error(400, body) == (
            "HTTP 400 from gemini: API key not valid. Please pass a valid API key. "
            "[INVALID_ARGUMENT] (check GEMINI_API_KEY)"
        )

    def test_http_404(self) -> None:
        body = b'{"error":{"code":404,"message":"models/nope is not found","status":"NOT_FOUND"}}'
        message = provider().describe_http_error(404, body)
        assert message.startswith("HTTP 404 from gemini: models/nope is not found [NOT_FOUND]")
        assert "GEMINI_BASE_URL" in message

    def test_http_error_not_json_and_redacted(self) -> None:
        body = f"<html>bad gateway {KEY}</html>".encode()
        message = provider().describe_http_error(502, body)
        assert KEY not in message
        assert message.startswith("HTTP 502 from gemini: <html>bad gateway ***</html>")

    def test_http_error_empty_body(self) -> None:
        assert provider().describe_http_error(500, b"") == (
            "HTTP 500 from gemini (server error; retry later)"
        )


# --- through stream_reply -------------------------------------------------------------------


async def _run(handler: Any, env: dict[str, str] | None = None) -> list[Event]:
    target = ResolvedModel(
        "gemini:gemini-2.5-flash",
        GeminiProvider.from_env(env or {"GEMINI_API_KEY": KEY}),
        "gemini-2.5-flash",
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        return [
            timed.event
            async for timed in stream_reply(
                client,
                target,
                CONVERSATION,
                clock=lambda: 0.0,
                network=NetworkSettings(max_retries=0),  # retries have tests of their own
            )
        ]


class TestThroughStreamReply:
    async def test_mid_stream_error(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=TRANSCRIPT_B
            )

        events = await _run(handler)
        assert events == [Started("gemini:gemini-2.5-flash"), *TRANSCRIPT_B_EVENTS]
        assert seen[0].headers["x-goog-api-key"] == KEY

    async def test_http_error(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                429,
                json={
                    "error": {"code": 429, "message": "Slow down.", "status": "RESOURCE_EXHAUSTED"}
                },
            )

        events = await _run(handler)
        assert events[1:] == [
            StreamError(
                "HTTP 429 from gemini: Slow down. [RESOURCE_EXHAUSTED] "
                "(rate limited or out of quota; wait and retry)",
                retryable=True,
                status=429,
            ),
            Finish("error"),
        ]
