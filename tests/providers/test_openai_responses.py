"""OpenAI Responses API streaming: translator, byte parser and provider."""

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
from chatterm.providers.openai_responses import (
    OpenAIResponsesProvider,
    ResponsesParser,
    ResponsesTranslator,
    usage_from_responses,
)
from chatterm.reply.accumulate import Reply


def sse(*payloads: dict[str, Any]) -> bytes:
    """Named SSE events, the event name equal to the JSON type, as OpenAI sends them."""
    out = []
    for payload in payloads:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        out.append(f"event: {payload['type']}\ndata: {data}\n\n")
    return "".join(out).encode()


# --- transcripts (as OpenAI's API sends them, response objects trimmed) ---------------

USAGE_A = {
    "input_tokens": 92,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 456,
    "output_tokens_details": {"reasoning_tokens": 384},
    "total_tokens": 548,
}
TRANSCRIPT_A = sse(
    {
        "type": "response.created",
        "response": {"id": "resp_065", "object": "response", "status": "in_progress",
                     "model": "gpt-5-2025-08-07", "output": [], "usage": None},
        "sequence_number": 0,
    },
    {
        "type": "response.in_progress",
        "response": {"id": "resp_065", "status": "in_progress", "output": [], "usage": None},
        "sequence_number": 1,
    },
    {
        "type": "response.output_item.added",
        "item": {"id": "rs_065", "type": "reasoning", "content": [],
                 "encrypted_content": "gAAAA", "summary": []},
        "output_index": 0,
        "sequence_number": 2,
    },
    {
        "type": "response.reasoning_summary_part.added",
        "item_id": "rs_065", "output_index": 0,
        "part": {"type": "summary_text", "text": ""},
        "sequence_number": 3, "summary_index": 0,
    },
    {
        "type": "response.reasoning_summary_text.delta",
        "delta": "**Finalizing the response**\n\nI", "item_id": "rs_065",
        "obfuscation": "ub", "output_index": 0, "sequence_number": 4, "summary_index": 0,
    },
    {
        "type": "response.reasoning_summary_text.delta",
        "delta": " can mention 40°C — здесь.", "item_id": "rs_065",
        "obfuscation": "x", "output_index": 0, "sequence_number": 5, "summary_index": 0,
    },
    {
        "type": "response.reasoning_summary_text.done",
        "item_id": "rs_065", "output_index": 0, "sequence_number": 82, "summary_index": 0,
        "text": "**Finalizing the response**\n\nI can mention 40°C — здесь.",
    },
    {
        "type": "response.reasoning_summary_part.done",
        "item_id": "rs_065", "output_index": 0,
        "part": {"type": "summary_text", "text": "…"},
        "sequence_number": 83, "summary_index": 0,
    },
    {
        "type": "response.output_item.done",
        "item": {"id": "rs_065", "type": "reasoning", "content": [],
                 "encrypted_content": "gAAAA",
                 "summary": [{"type": "summary_text", "text": "…"}]},
        "output_index": 0, "sequence_number": 84,
    },
    {
        "type": "response.output_item.added",
        "item": {"id": "msg_065", "type": "message", "status": "in_progress", "content": [],
                 "role": "assistant"},
        "output_index": 1, "sequence_number": 85,
    },
    {
        "type": "response.content_part.added",
        "content_index": 0, "item_id": "msg_065", "output_index": 1,
        "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        "sequence_number": 86,
    },
    {
        "type": "response.output_text.delta",
        "content_index": 0, "delta": "Right", "item_id": "msg_065", "logprobs": [],
        "obfuscation": "bQHwqldZeg0", "output_index": 1, "sequence_number": 87,
    },
    {
        "type": "response.output_text.delta",
        "content_index": 0, "delta": " now: 40°C\u2028(104°F).", "item_id": "msg_065",
        "logprobs": [], "output_index": 1, "sequence_number": 88,
    },
    {
        "type": "response.output_text.done",
        "content_index": 0, "item_id": "msg_065", "logprobs": [], "output_index": 1,
        "sequence_number": 116, "text": "Right now: 40°C\u2028(104°F).",
    },
    {
        "type": "response.content_part.done",
        "content_index": 0, "item_id": "msg_065", "output_index": 1,
        "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": "…"},
        "sequence_number": 117,
    },
    {
        "type": "response.output_item.done",
        "item": {"id": "msg_065", "type": "message", "status": "completed",
                 "content": [{"type": "output_text", "annotations": [], "text": "…"}],
                 "role": "assistant"},
        "output_index": 1, "sequence_number": 118,
    },
    {
        "type": "response.completed",
        "response": {"id": "resp_065", "object": "response", "status": "completed",
                     "output": [], "usage": USAGE_A},
        "sequence_number": 119,
    },
)  # fmt: skip
TRANSCRIPT_A_EVENTS: list[Event] = [
    ReasoningDelta("**Finalizing the response**\n\nI"),
    ReasoningDelta(" can mention 40°C — здесь."),
    TextDelta("Right"),
    TextDelta(" now: 40°C\u2028(104°F)."),
    UsageUpdate(Usage(input_tokens=92, output_tokens=456, reasoning_tokens=384)),
    Finish("stop"),
]

TRANSCRIPT_B = sse(
    {
        "type": "response.created",
        "response": {"id": "resp_1", "object": "response", "status": "in_progress",
                     "output": []},
        "sequence_number": 0,
    },
    {
        "type": "response.output_text.delta",
        "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hello",
        "sequence_number": 5,
    },
    {"type": "keepalive", "sequence_number": 6},
    {
        "type": "error",
        "sequence_number": 7,
        "error": {"type": "service_unavailable_error", "code": "server_is_overloaded",
                  "message": "Our servers are currently overloaded. Please try again later.",
                  "param": None},
    },
)  # fmt: skip
TRANSCRIPT_B_EVENTS: list[Event] = [
    TextDelta("Hello"),
    StreamError(
        "error from the server: Our servers are currently overloaded. Please try again later. "
        "[server_is_overloaded]",
        retryable=True,
    ),
    Finish("error"),
]

TRANSCRIPT_C = sse(
    {"type": "response.created", "response": {"id": "r", "status": "in_progress"},
     "sequence_number": 0},
    {"type": "response.output_text.delta", "delta": "Par", "item_id": "m",
     "output_index": 0, "content_index": 0, "sequence_number": 1},
    {
        "type": "response.failed",
        "response": {"id": "r", "status": "failed",
                     "error": {"code": "server_error",
                               "message": "The model failed to generate a response."},
                     "usage": None},
        "sequence_number": 2,
    },
)  # fmt: skip
TRANSCRIPT_C_EVENTS: list[Event] = [
    TextDelta("Par"),
    StreamError(
        "error from the server: The model failed to generate a response. [server_error]",
        retryable=True,
    ),
    Finish("error"),
]

INTERRUPTED: list[Event] = [
    StreamError(
        "the stream ended before the response was complete (no response.completed); "
        "the partial reply is kept",
        retryable=True,
    ),
    Finish("interrupted"),
]


# A reply that asks for the hosted shell tool in local mode, constructed from OpenAI's
# documented shell tool (``shell_call`` with ``action.commands`` and a ``call_id``): the
# client is to run it, so no message follows and the reply ends as ``tool_calls``.
_SHELL_CALL = {
    "type": "shell_call",
    "id": "sh_01",
    "call_id": "call_01",
    "action": {"commands": ["ls -la"], "timeout_ms": 10000, "max_output_length": 4096},
    "status": "completed",
}
_SHELL_REASONING = {"type": "reasoning", "id": "rs_01", "summary": []}
TRANSCRIPT_SHELL_CALL = sse(
    {
        "type": "response.created",
        "response": {"id": "resp_01", "object": "response", "status": "in_progress",
                     "model": "gpt-5.1", "output": [], "usage": None},
        "sequence_number": 0,
    },
    {"type": "response.output_item.added", "output_index": 0, "item": _SHELL_REASONING,
     "sequence_number": 1},
    {"type": "response.reasoning_summary_part.added", "item_id": "rs_01", "output_index": 0,
     "summary_index": 0, "part": {"type": "summary_text", "text": ""}, "sequence_number": 2},
    {"type": "response.reasoning_summary_text.delta", "item_id": "rs_01", "output_index": 0,
     "summary_index": 0, "delta": "List the files.", "sequence_number": 3},
    {"type": "response.output_item.done", "output_index": 0, "item": _SHELL_REASONING,
     "sequence_number": 4},
    {"type": "response.output_item.added", "output_index": 1,
     "item": {**_SHELL_CALL, "status": "in_progress"}, "sequence_number": 5},
    {"type": "response.output_item.done", "output_index": 1, "item": _SHELL_CALL,
     "sequence_number": 6},
    {
        "type": "response.completed",
        "response": {"id": "resp_01", "object": "response", "status": "completed",
                     "model": "gpt-5.1", "output": [_SHELL_REASONING, _SHELL_CALL],
                     "usage": {"input_tokens": 40, "output_tokens": 30,
                               "output_tokens_details": {"reasoning_tokens": 12},
                               "total_tokens": 70}},
        "sequence_number": 7,
    },
)  # fmt: skip
TRANSCRIPT_SHELL_CALL_EVENTS: list[Event] = [
    ReasoningDelta("List the files."),
    UsageUpdate(Usage(input_tokens=40, output_tokens=30, reasoning_tokens=12)),
    StreamWarning("the model asked to call the tool 'shell'; chatterm does not run tools"),
    Finish("tool_calls"),
]


# --- helpers --------------------------------------------------------------------------------


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, **fields}


def text(delta: str, **fields: Any) -> dict[str, Any]:
    return event("response.output_text.delta", item_id="msg", output_index=1, delta=delta, **fields)


def summary(delta: str, index: int = 0, item: str = "rs") -> dict[str, Any]:
    return event(
        "response.reasoning_summary_text.delta",
        item_id=item,
        output_index=0,
        summary_index=index,
        delta=delta,
    )


def part_added(index: int, item: str = "rs") -> dict[str, Any]:
    return event(
        "response.reasoning_summary_part.added",
        item_id=item,
        output_index=0,
        summary_index=index,
        part={"type": "summary_text", "text": ""},
    )


def completed(usage: dict[str, Any] | None = None, **response: Any) -> dict[str, Any]:
    return event("response.completed", response={"status": "completed", "usage": usage, **response})


def asked_for(name: str) -> StreamWarning:
    return StreamWarning(f"the model asked to call the tool {name!r}; chatterm does not run tools")


def translate(*payloads: dict[str, Any] | str, close: bool = True) -> list[Event]:
    translator = ResponsesTranslator()
    events: list[Event] = []
    for payload in payloads:
        if isinstance(payload, str):
            events.extend(translator.feed(SSEEvent(payload)))
        else:
            frame = SSEEvent(json.dumps(payload), str(payload.get("type", "message")))
            events.extend(translator.feed(frame))
    if close:
        events.extend(translator.close())
    return events


def parse(chunks: Iterable[bytes], secrets: tuple[str, ...] = ()) -> list[Event]:
    return run_parser(ResponsesParser(secrets), chunks)


def fold(events: Iterable[Event]) -> Reply:
    return fold_events(events, "openai-responses:test")


# --- transcripts ----------------------------------------------------------------------------


class TestTranscripts:
    def test_a_summary_answer_usage(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert events == TRANSCRIPT_A_EVENTS
        reply = fold(events)
        assert reply.reasoning == "**Finalizing the response**\n\nI can mention 40°C — здесь."
        assert reply.text == "Right now: 40°C\u2028(104°F)."  # *.done texts not appended
        assert reply.finish_reason == "stop"
        assert reply.usage.output_tokens == 456 and reply.usage.reasoning_tokens == 384
        assert (reply.error, reply.warnings) == (None, ())

    def test_b_nested_error_after_keepalive(self) -> None:
        events = parse([TRANSCRIPT_B])
        assert events == TRANSCRIPT_B_EVENTS
        reply = fold(events)
        assert (reply.text, reply.finish_reason) == ("Hello", "error")

    def test_c_response_failed(self) -> None:
        assert parse([TRANSCRIPT_C]) == TRANSCRIPT_C_EVENTS

    def test_data_only_sse_without_event_lines(self) -> None:
        # The JSON type decides, not the SSE event name.
        body = b"".join(
            b"data: " + line[len(b"data: ") :] + b"\n\n"
            for line in TRANSCRIPT_A.split(b"\n")
            if line.startswith(b"data: ")
        )
        assert parse([body]) == TRANSCRIPT_A_EVENTS


# --- deltas ---------------------------------------------------------------------------------


class TestDeltas:
    def test_refusal_is_answer_text(self) -> None:
        events = translate(
            event("response.content_part.added", part={"type": "refusal", "refusal": ""}),
            event("response.refusal.delta", delta="I can't"),
            event("response.refusal.delta", delta=" help."),
            event("response.refusal.done", refusal="I can't help."),
            completed(),
        )
        assert events == [TextDelta("I can't"), TextDelta(" help."), Finish("stop")]

    def test_raw_reasoning_text(self) -> None:
        events = translate(
            event("response.reasoning_text.delta", item_id="rs", content_index=0, delta="Let"),
            event("response.reasoning_text.delta", item_id="rs", content_index=0, delta=" me"),
            event("response.reasoning_text.done", item_id="rs", text="Let me"),
            text("ok"),
            completed(),
        )
        assert events == [
            ReasoningDelta("Let"),
            ReasoningDelta(" me"),
            TextDelta("ok"),
            Finish("stop"),
        ]

    def test_blank_line_between_summary_parts(self) -> None:
        events = translate(
            part_added(0),
            summary("**Plan**\n\nFirst part."),
            part_added(1),
            summary("**Check**"),
            summary("\n\nSecond part."),
            part_added(2),
            summary("Third."),
            completed(),
        )
        assert fold(events).reasoning == (
            "**Plan**\n\nFirst part.\n\n**Check**\n\nSecond part.\n\nThird."
        )
        assert events[:2] == [
            ReasoningDelta("**Plan**\n\nFirst part."),
            ReasoningDelta("\n\n**Check**"),
        ]

    def test_summary_index_change_without_part_added(self) -> None:
        # An Azure recording has summary_index 0, 1, 2 on the deltas.
        events = translate(summary("one", 0), summary("two", 1), summary("three", 2), close=False)
        assert fold(events).reasoning == "one\n\ntwo\n\nthree"

    def test_no_doubled_separator_after_existing_newlines(self) -> None:
        events = translate(summary("one\n", 0), summary("two\n\n", 1), summary("x", 2), close=False)
        assert fold(events).reasoning == "one\n\ntwo\n\nx"

    def test_no_separator_before_the_first_part(self) -> None:
        events = translate(part_added(0), summary("first"), close=False)
        assert events == [ReasoningDelta("first")]

    def test_empty_deltas_emit_nothing(self) -> None:
        events = translate(text(""), summary(""), text(None), close=False)  # type: ignore[arg-type]
        assert events == []

    def test_unknown_and_lifecycle_events_are_ignored(self) -> None:
        events = translate(
            event("response.queued", response={}),
            event("keepalive", sequence_number=3),
            event("response.output_text.annotation.added", annotation={"type": "url"}),
            event("response.web_search_call.in_progress", item_id="ws"),
            event("response.something_new", delta="not text"),
            event("response.audio.delta", delta="AAAA"),
            text("x"),
            completed(),
        )
        assert events == [TextDelta("x"), Finish("stop")]


# --- terminal events ------------------------------------------------------------------------


class TestTerminal:
    def test_usage_with_cache(self) -> None:
        usage = {
            "input_tokens": 2000,
            "input_tokens_details": {"cached_tokens": 1536, "cache_write_tokens": 64},
            "output_tokens": 300,
            "output_tokens_details": {"reasoning_tokens": 256},
            "total_tokens": 2300,
        }
        events = translate(text("x"), completed(usage))
        assert events[1] == UsageUpdate(
            Usage(
                input_tokens=2000,
                output_tokens=300,
                reasoning_tokens=256,
                cached_input_tokens=1536,
                cache_write_tokens=64,
            )
        )

    def test_usage_without_details(self) -> None:
        assert usage_from_responses({"input_tokens": 5, "output_tokens": 7}) == Usage(
            input_tokens=5, output_tokens=7
        )
        odd = {"input_tokens": "5", "input_tokens_details": None, "output_tokens_details": 3}
        assert usage_from_responses(odd) == Usage()

    @pytest.mark.parametrize(
        ("reason", "finish"),
        [
            ("max_output_tokens", "length"),
            ("max_tokens", "length"),
            ("content_filter", "content_filter"),
            ("something_new", "length"),
            (None, "length"),
        ],
    )
    def test_incomplete(self, reason: str | None, finish: str) -> None:
        usage = {"input_tokens": 10, "output_tokens": 64}
        events = translate(
            text("cut"),
            event(
                "response.incomplete",
                response={
                    "status": "incomplete",
                    "incomplete_details": {"reason": reason} if reason else None,
                    "usage": usage,
                },
            ),
        )
        assert events == [
            TextDelta("cut"),
            UsageUpdate(Usage(input_tokens=10, output_tokens=64)),
            Finish(finish),  # type: ignore[arg-type]
        ]

    def test_function_call_item_finishes_with_tool_calls_naming_the_tool(self) -> None:
        item = {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "c1",
            "name": "get",
            "arguments": "",
        }
        events = translate(
            event("response.output_item.added", item=item, output_index=0),
            event("response.function_call_arguments.delta", item_id="fc_1", delta='{"a"'),
            event("response.function_call_arguments.done", item_id="fc_1", arguments='{"a":1}'),
            completed(),
        )
        assert events == [asked_for("get"), Finish("tool_calls")]

    def test_function_call_seen_only_in_the_final_output(self) -> None:
        events = translate(completed(output=[{"type": "message"}, {"type": "function_call"}]))
        assert events == [asked_for("?"), Finish("tool_calls")]

    def test_server_side_tool_still_stops(self) -> None:
        events = translate(
            event("response.output_item.added", item={"type": "web_search_call"}),
            text("found"),
            completed(output=[{"type": "web_search_call"}, {"type": "message"}]),
        )
        assert events[-1] == Finish("stop")

    def test_hosted_shell_call_transcript(self) -> None:
        events = parse([TRANSCRIPT_SHELL_CALL])
        assert events == TRANSCRIPT_SHELL_CALL_EVENTS
        reply = fold(events)
        assert (reply.reasoning, reply.text, reply.finish_reason) == (
            "List the files.",
            "",
            "tool_calls",
        )
        assert reply.warnings == (
            "the model asked to call the tool 'shell'; chatterm does not run tools",
        )

    @pytest.mark.parametrize(
        ("item", "name"),
        [
            ({"type": "function_call", "call_id": "c1", "name": "get_weather"}, "get_weather"),
            ({"type": "custom_tool_call", "call_id": "c1", "name": "grammar"}, "grammar"),
            (
                {"type": "computer_call", "call_id": "c1", "action": {"type": "screenshot"}},
                "computer",
            ),
            (
                {"type": "local_shell_call", "call_id": "c1", "action": {"type": "exec"}},
                "local_shell",
            ),
            ({"type": "shell_call", "call_id": "c1", "action": {"commands": ["ls"]}}, "shell"),
            ({"type": "apply_patch_call", "call_id": "c1", "operation": {}}, "apply_patch"),
            ({"type": "mcp_approval_request", "server_label": "s", "name": "deploy"}, "deploy"),
            ({"type": "tool_added_later_call", "call_id": "c1"}, "tool_added_later"),
        ],
        ids=lambda value: value if isinstance(value, str) else value["type"],
    )
    def test_a_call_the_client_runs_ends_with_tool_calls(
        self, item: dict[str, Any], name: str
    ) -> None:
        added = event("response.output_item.added", output_index=1, item={**item, "id": "x"})
        events = translate(summary("Need a tool."), added, completed(output=[item]))
        assert events == [ReasoningDelta("Need a tool."), asked_for(name), Finish("tool_calls")]

    @pytest.mark.parametrize(
        "item",
        [
            {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            {"type": "file_search_call", "id": "fs_1", "queries": ["x"], "status": "completed"},
            {
                "type": "code_interpreter_call",
                "id": "ci_1",
                "container_id": "c",
                "status": "completed",
            },
            {
                "type": "image_generation_call",
                "id": "ig_1",
                "result": "aGk=",
                "status": "completed",
            },
            {
                "type": "mcp_call",
                "id": "mcp_1",
                "name": "roll",
                "server_label": "dice",
                "output": "4",
            },
            {"type": "mcp_list_tools", "id": "ml_1", "server_label": "dice", "tools": []},
            {"type": "tool_added_later_call", "id": "t_1"},
        ],
        ids=lambda item: item["type"],
    )
    def test_a_tool_the_server_ran_before_the_answer_is_a_normal_stop(
        self, item: dict[str, Any]
    ) -> None:
        message = {"type": "message", "id": "msg", "content": []}
        events = translate(
            event("response.output_item.added", output_index=0, item=item),
            text("found"),
            completed(output=[item, message]),
        )
        assert events == [TextDelta("found"), Finish("stop")]

    def test_a_hosted_shell_with_its_output_is_a_normal_stop(self) -> None:
        call = {"type": "shell_call", "id": "sh_1", "call_id": "call_1", "status": "completed"}
        output = {"type": "shell_call_output", "id": "sho_1", "call_id": "call_1", "output": []}
        message = {"type": "message", "id": "msg", "content": []}
        events = translate(text("Done."), completed(output=[call, output, message]))
        assert events == [TextDelta("Done."), Finish("stop")]

    def test_a_tool_the_server_ran_with_no_answer_after_it_says_so(self) -> None:
        item = {"type": "code_interpreter_call", "id": "ci_1", "status": "completed"}
        events = translate(completed(output=[item]))
        assert events == [
            StreamWarning("the server ran the tool 'code_interpreter' and sent no answer after it"),
            Finish("stop"),
        ]

    def test_calls_streamed_but_left_out_of_the_final_output_still_count(self) -> None:
        item = {"type": "computer_call", "id": "cu_1", "call_id": "c1", "status": "completed"}
        events = translate(
            event("response.output_item.done", output_index=0, item=item), completed(output=[])
        )
        assert events == [asked_for("computer"), Finish("tool_calls")]

    def test_each_tool_is_named_once(self) -> None:
        calls = [
            {"type": "function_call", "call_id": f"c{i}", "name": name}
            for i, name in enumerate(["a", "b", "a"])
        ]
        events = translate(completed(output=calls))
        assert events == [asked_for("a"), asked_for("b"), Finish("tool_calls")]

    def test_odd_items_do_not_crash(self) -> None:
        items = [
            {"type": "shell_call", "call_id": ["not", "a", "string"]},
            {"type": ["x"], "call_id": {}},
            {"type": "shell_call_output", "call_id": ["x"]},
            {"type": "function_call", "name": 7},
        ]
        events = translate(completed(output=items))
        assert events == [asked_for("shell"), asked_for("?"), Finish("tool_calls")]

    def test_a_call_cut_by_the_token_limit_stays_length(self) -> None:
        item = {"type": "shell_call", "call_id": "c1", "status": "incomplete"}
        events = translate(
            event(
                "response.incomplete",
                response={"incomplete_details": {"reason": "max_output_tokens"}, "output": [item]},
            )
        )
        assert events == [asked_for("shell"), Finish("length")]

    def test_nothing_after_the_terminal_event(self) -> None:
        translator = ResponsesTranslator()
        translator.feed(SSEEvent(json.dumps(completed())))
        assert translator.feed(SSEEvent(json.dumps(text("late")))) == []
        assert translator.close() == []

    def test_failed_without_error_object(self) -> None:
        events = translate(event("response.failed", response={"status": "failed", "error": None}))
        assert events == [
            StreamError("error from the server: the response failed"),
            Finish("error"),
        ]

    def test_failed_keeps_its_usage(self) -> None:
        events = translate(
            event(
                "response.failed",
                response={
                    "error": {"code": "invalid_prompt", "message": "Flagged."},
                    "usage": {"input_tokens": 9, "output_tokens": 0},
                },
            )
        )
        assert events == [
            UsageUpdate(Usage(input_tokens=9)),
            StreamError("error from the server: Flagged. [invalid_prompt]"),
            Finish("error"),
        ]


# --- errors and garbage ---------------------------------------------------------------------


class TestErrors:
    def test_flat_error_event(self) -> None:
        events = translate(
            text("a"),
            event("error", code="ERR_SOMETHING", message="Something went wrong", param=None),
        )
        assert events == [
            TextDelta("a"),
            StreamError("error from the server: Something went wrong [ERR_SOMETHING]"),
            Finish("error"),
        ]

    def test_flat_error_without_code(self) -> None:
        events = translate(event("error", message="boom"))
        assert events[0] == StreamError("error from the server: boom")

    @pytest.mark.parametrize("code", ["rate_limit_exceeded", "too_many_requests", "server_error"])
    def test_retryable_codes(self, code: str) -> None:
        events = translate(event("error", error={"code": code, "message": "m"}))
        assert isinstance(events[0], StreamError) and events[0].retryable

    def test_chat_style_error_envelope_from_a_proxy(self) -> None:
        events = translate(text("a"), {"error": {"message": "upstream died", "type": "x"}})
        assert events[1:] == [
            StreamError("error from the server: upstream died [x]"),
            Finish("error"),
        ]

    def test_nothing_after_an_error(self) -> None:
        translator = ResponsesTranslator()
        translator.feed(SSEEvent(json.dumps(event("error", message="x"))))
        assert translator.feed(SSEEvent(json.dumps(completed()))) == []
        assert translator.close() == []

    def test_error_message_is_one_line_and_redacted(self) -> None:
        key = "tok_" + "Z" * 40
        for pad in range(220, 300, 7):
            translator = ResponsesTranslator(secrets=(key,))
            message = "bad\nrequest " + "y" * pad + f" key {key} Bearer abc.def"
            error = translator.feed(SSEEvent(json.dumps(event("error", message=message))))[0]
            assert isinstance(error, StreamError)
            assert "\n" not in error.message
            assert "tok_ZZ" not in error.message and "abc.def" not in error.message

    def test_garbage_is_a_warning_and_the_stream_continues(self) -> None:
        events = translate(text("a"), "{not json", "[1]", "[DONE]", "", text("b"), completed())
        assert events[0] == TextDelta("a")
        assert [type(e) for e in events[1:3]] == [StreamWarning, StreamWarning]
        assert events[3:] == [TextDelta("b"), Finish("stop")]
        assert fold(events).text == "ab"

    def test_invalid_utf8_is_a_warning(self) -> None:
        body = b'data: {"type":"response.output_text.delta","delta":"a\xffb"}\n\n'
        assert parse([body]) == [
            TextDelta("a\ufffdb"),
            INVALID_UTF8,
            *INTERRUPTED,
        ]

    def test_warning_never_carries_the_key(self) -> None:
        key = "sk-live-abcdef123456"
        events = parse([f"data: not json {key}\n\n".encode()], secrets=(key,))
        assert isinstance(events[0], StreamWarning) and key not in events[0].message


# --- provider -------------------------------------------------------------------------------


CONVERSATION = Conversation(
    messages=(
        Message("user", "Hi"),
        Message("assistant", "Hello!"),
        Message("user", "Which is bigger, 9.11 or 9.8?"),
    ),
    system="Be brief.",
)
KEY = "sk-test-abcdefghijklmnop"


def provider(env: dict[str, str] | None = None) -> OpenAIResponsesProvider:
    return OpenAIResponsesProvider.from_env({"OPENAI_API_KEY": KEY, **(env or {})})


def body_of(model: str, conversation: Conversation = CONVERSATION) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(provider().build_request(model, conversation).content)
    return data


class TestRequest:
    def test_request(self) -> None:
        request = provider().build_request("gpt-4.1", CONVERSATION)
        assert request.method == "POST"
        assert str(request.url) == "https://api.openai.com/v1/responses"
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Accept"] == "text/event-stream"
        assert json.loads(request.content) == {
            "model": "gpt-4.1",
            "input": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Which is bigger, 9.11 or 9.8?"},
            ],
            "instructions": "Be brief.",
            "stream": True,
            "store": False,
        }

    def test_reasoning_for_reasoning_models(self) -> None:
        for model in ("gpt-5-mini", "o4-mini", "o3"):
            assert body_of(model)["reasoning"] == {"effort": "medium", "summary": "auto"}

    def test_no_reasoning_when_off_or_unsupported(self) -> None:
        off = Conversation(messages=CONVERSATION.messages, reasoning=False)
        assert "reasoning" not in body_of("gpt-5", off)
        assert "reasoning" not in body_of("gpt-4.1")

    def test_max_output_tokens_and_no_system(self) -> None:
        conversation = Conversation(messages=(Message("user", "x"),), max_tokens=512)
        body = body_of("gpt-5", conversation)
        assert body["max_output_tokens"] == 512
        assert "instructions" not in body
        assert "max_output_tokens" not in body_of("gpt-5")

    def test_base_url_from_env(self) -> None:
        custom = provider({"OPENAI_BASE_URL": "https://proxy.example.com/v1/"})
        request = custom.build_request("gpt-5", CONVERSATION)
        assert str(request.url) == "https://proxy.example.com/v1/responses"
        spec = custom.price_spec("gpt-5")
        # OpenAI's models wherever they are served (a proxy still bills): priced as OpenAI's.
        assert spec.provider_id == "openai" and spec.local is False

    def test_price_spec(self) -> None:
        spec = provider().price_spec("gpt-5-mini")
        assert (spec.model, spec.provider_id, spec.base_url, spec.local) == (
            "gpt-5-mini",
            "openai",
            None,
            False,
        )
        behind_proxy = provider({"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"})
        assert behind_proxy.price_spec("m").local is False
        assert behind_proxy.missing_key() is None  # but no key is needed on this machine

    def test_name(self) -> None:
        assert provider().name == "openai-responses"


class TestKeys:
    def test_missing_key(self) -> None:
        message = OpenAIResponsesProvider.from_env({}).missing_key()
        assert message is not None and "OPENAI_API_KEY" in message and "\n" not in message
        assert OpenAIResponsesProvider.from_env({"OPENAI_API_KEY": ""}).missing_key()

    def test_with_key(self) -> None:
        assert provider().missing_key() is None
        assert provider().secrets() == (KEY,)

    def test_local_server_needs_no_key(self) -> None:
        local = OpenAIResponsesProvider.from_env({"OPENAI_BASE_URL": "http://localhost:1234/v1"})
        assert local.missing_key() is None
        assert "Authorization" not in local.build_request("m", CONVERSATION).headers

    def test_non_ascii_key(self) -> None:
        message = OpenAIResponsesProvider.from_env({"OPENAI_API_KEY": "sk-a\u2026b"}).missing_key()
        assert message is not None and "\u2026" not in message

    def test_parser_carries_the_key_as_secret(self) -> None:
        events = (
            provider()
            .new_parser()
            .feed(f'data: {{"type":"error","message":"bad key {KEY}"}}\n\n'.encode())
        )
        assert isinstance(events[0], StreamError) and KEY not in events[0].message


class TestDescribeHttpError:
    def test_401(self) -> None:
        body = json.dumps(
            {
                "error": {
                    "message": f"Incorrect API key provided: {KEY}.",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        ).encode()
        message = provider().describe_http_error(401, body)
        assert message.startswith("HTTP 401 from openai-responses: Incorrect API key provided")
        assert message.endswith("(check OPENAI_API_KEY)")
        assert KEY not in message and "abcdefghijklmnop" not in message

    def test_404(self) -> None:
        message = provider().describe_http_error(404, b'{"error":{"message":"no such model"}}')
        assert "no such model" in message and "/responses" in message

    def test_429(self) -> None:
        assert provider().describe_http_error(429, b"") == (
            "HTTP 429 from openai-responses (rate limited; wait and retry)"
        )
