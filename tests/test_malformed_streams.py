"""Malformed streams, for every provider's parser: nothing crashes chatterm, everything valid
that arrived stays in the reply, and what was skipped is reported once per kind.

Each case puts a bad line into a real stream of the format (rendered by the fake server's
formats) or sends a body that is not a stream at all, and checks the events and the
consolidated reply. The end-to-end cases at the bottom run ``chatterm ask`` against the fake
server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatterm.cli.printer import done_record
from chatterm.decode import sse as sse_module
from chatterm.decode.ndjson import NDJSONDecoder
from chatterm.decode.sse import MAX_LINE_BYTES, SSEDecoder
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
    estimate_tokens,
)
from chatterm.network.tls import tls_context
from chatterm.providers.anthropic import AnthropicProvider, MessagesParser
from chatterm.providers.chat_completions_stream import ChatCompletionsParser
from chatterm.providers.endpoint import error_detail
from chatterm.providers.gateway import GatewayParser, GatewayProvider
from chatterm.providers.gemini import GeminiProvider
from chatterm.providers.gemini_stream import GeminiParser
from chatterm.providers.json_values import count, loads, usd
from chatterm.providers.ollama import OllamaChatParser, OllamaProvider
from chatterm.providers.openai_compat import OpenAICompatProvider
from chatterm.providers.openai_responses import ResponsesParser
from chatterm.providers.parsing import INTERNAL_ERROR, GuardedParser, snippet
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.reply.live import ReplyStream
from chatterm.testing.fakeserver import FakeServer, render
from chatterm.testing.frames import index_after
from chatterm.testing.scenario import CAPTIVE_PORTAL_PAGE, Scenario, after_answer
from tests.fake_provider.fixtures import API_KEY
from tests.test_providers_e2e import PROVIDERS, TARGETS, resolve, settings_for

PARSERS: dict[str, Callable[[], GuardedParser]] = {
    "chat": ChatCompletionsParser,
    "responses": ResponsesParser,
    "anthropic": MessagesParser,
    "gemini": GeminiParser,
    "ollama": OllamaChatParser,
    "gateway": GatewayParser,
}
FORMATS = tuple(PARSERS)
SSE_FORMATS = tuple(f for f in FORMATS if f != "ollama")
# Short, so that a bad line can go anywhere and everything else stays checkable.
SCRIPT = Scenario(
    reasoning="Think: 2 + 2 is 4, say so.",
    answer="Two and two make **4** — naïve 日本語 🚀.",
    prompt_tokens=777777777,
    cost=0.123456,
)
SENTINEL_TOKENS = b"777777777"
SENTINEL_COST = b"0.123456"
ROOT = Path(__file__).resolve().parent.parent


def body_of(fmt: str, scenario: Scenario = SCRIPT) -> bytes:
    return b"".join(frame.wire for frame in render(fmt, scenario))


def with_line(fmt: str, raw: bytes, scenario: Scenario = SCRIPT) -> bytes:
    """The stream with ``raw`` inserted after the first answer piece."""
    frames = render(fmt, scenario)
    at = index_after(frames, after_answer(1))
    wires = [frame.wire for frame in frames]
    wires.insert(at, raw)
    return b"".join(wires)


def as_line(fmt: str, payload: bytes) -> bytes:
    """``payload`` as one event of the format: a ``data:`` event, or one NDJSON line."""
    return payload + b"\n" if fmt == "ollama" else b"data: " + payload + b"\n\n"


def pieces(body: bytes, size: int | None) -> list[bytes]:
    if size is None:
        return [body]
    return [body[i : i + size] for i in range(0, len(body), size)]


def parse(fmt: str, chunks: Iterable[bytes], content_type: str = "") -> list[Event]:
    parser = PARSERS[fmt]()
    parser.content_type = content_type
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


def fold(events: Iterable[Event], prompt_chars: int = 0) -> Reply:
    accumulator = ReplyAccumulator("test", prompt_chars)
    accumulator.add(0.0, Started("test"))
    for i, event in enumerate(events, 1):
        accumulator.add(float(i), event)
    return accumulator.reply()


def assert_sound(events: list[Event]) -> None:
    """Exactly one Finish; no internal error; every text printable and savable."""
    finishes = [e for e in events if isinstance(e, Finish)]
    assert len(finishes) == 1, events[-5:]
    for event in events:
        if isinstance(event, StreamError):
            assert INTERNAL_ERROR not in event.message, event
        if isinstance(event, StreamError | StreamWarning):
            assert "\n" not in event.message and len(event.message) <= 400
            event.message.encode("utf-8")
        if isinstance(event, ReasoningDelta | TextDelta):
            event.text.encode("utf-8")  # no lone surrogate


def run(fmt: str, body: bytes, size: int | None = None) -> tuple[list[Event], Reply]:
    events = parse(fmt, pieces(body, size))
    assert_sound(events)
    return events, fold(events)


def assert_complete(reply: Reply) -> None:
    """The whole scripted reply arrived, whatever was skipped around it."""
    assert reply.text == SCRIPT.answer
    assert reply.reasoning == SCRIPT.reasoning
    assert reply.finish_reason == "stop"
    assert reply.error is None


# ----------------------------------------------------------------------------- bad lines

BAD_LINES: dict[str, bytes] = {
    "not-json": b"this is not JSON {",
    "number": b"42",
    "list": b"[1, 2]",
    "null": b"null",
    "string": b'"text"',
    "nul-bytes": b'{"a"\x00: 1}\x00',
    "binary-garbage": bytes(b for b in range(256) if b not in (10, 13)),
    "invalid-utf8-in-a-string": b'{"type": "x", "text": "\xff\xfe\xc3"}',
    "invalid-utf8-in-the-line": b"\xc3\x28 not even JSON \xa0\xa1",
    "deep-list": b"[" * 100_000,
    "deep-object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep-but-closed": b"[" * 5_000 + b"]" * 5_000,
    "cut-json": b'{"choices": [{"delta": {"content": "lost',
}


@pytest.mark.parametrize("size", [None, 7], ids=["whole", "7-byte-reads"])
@pytest.mark.parametrize("bad", list(BAD_LINES), ids=list(BAD_LINES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_bad_line_is_skipped_and_counted_and_the_reply_is_whole(
    fmt: str, bad: str, size: int | None
) -> None:
    events, reply = run(fmt, with_line(fmt, as_line(fmt, BAD_LINES[bad])), size)
    assert_complete(reply)
    assert any(isinstance(e, StreamWarning) for e in events)
    assert 1 <= len(reply.warnings) <= 2  # the line, and maybe its invalid UTF-8


@pytest.mark.parametrize("fmt", SSE_FORMATS)
def test_a_bom_in_the_middle_starts_a_line_that_is_not_sse(fmt: str) -> None:
    # Only a BOM at the very start is dropped (WHATWG); later it is part of a field name.
    raw = "\ufeffdata: {}\n\n".encode()
    events, reply = run(fmt, with_line(fmt, raw))
    assert_complete(reply)
    assert len(reply.warnings) == 1 and "not SSE" in reply.warnings[0]


def test_a_bom_in_the_middle_of_json_lines_is_a_line_that_is_not_json() -> None:
    events, reply = run("ollama", with_line("ollama", '\ufeff{"done": false}\n'.encode()))
    assert_complete(reply)
    assert reply.warnings == ('skipped a stream line that is not JSON: \ufeff{"done": false}',)


UNKNOWN: dict[str, bytes] = {
    "unknown-event-type": b'{"type": "brand_new_event", "payload": {"x": [1, 2]}}',
    "fields-of-the-wrong-type": (
        b'{"type": 5, "choices": "none", "candidates": {"a": 1}, "message": 7, "delta": [],'
        b' "usage": [1], "content": {"x": 1}, "name": 3, "final": "yes", "done": "no"}'
    ),
    "empty-object": b"{}",
    # Valid JSON that Python's int() refuses: read as inf, an unknown object here.
    "5000-digit-number": b'{"n": ' + b"9" * 5000 + b"}",
}


@pytest.mark.parametrize("payload", list(UNKNOWN), ids=list(UNKNOWN))
@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_events_and_fields_never_break_the_reply(fmt: str, payload: str) -> None:
    _, reply = run(fmt, with_line(fmt, as_line(fmt, UNKNOWN[payload])))
    assert_complete(reply)
    # APIs add event types without notice: most formats pass them over silently; Gemini
    # and Ollama, whose streams have no event types, count a chunk they cannot read.
    assert len(reply.warnings) <= 1


@pytest.mark.parametrize("fmt", SSE_FORMATS)
def test_sse_fields_that_are_nonsense_are_ignored(fmt: str) -> None:
    raw = b"retry: " + b"9" * 5000 + b"\nid: \x00\nevent:\n: comment\n\n"
    _, reply = run(fmt, with_line(fmt, raw))
    assert_complete(reply)
    assert reply.warnings == ()


# ----------------------------------------------------------------------------- aggregation


@pytest.mark.parametrize("fmt", FORMATS)
def test_300_bad_lines_are_one_warning_with_the_count_and_the_first_line(fmt: str) -> None:
    raw = b"".join(as_line(fmt, f"junk {i} sk-secret{i:04d}abcdefgh".encode()) for i in range(300))
    events, reply = run(fmt, with_line(fmt, raw))
    assert_complete(reply)
    assert sum(isinstance(e, StreamWarning) for e in events) == 300  # a running total each
    assert reply.warnings == (
        "skipped 300 stream lines that were not JSON; the first: junk 0 sk-se***",
    )
    record = done_record(reply)
    assert record["warnings"] == list(reply.warnings)


def test_kinds_are_reported_in_the_order_they_first_came() -> None:
    raw = b"".join(
        as_line("chat", line)
        for line in (b"{not json", b"[1]", b"{not json either", b"\xff", b"2", b"3")
    )
    _, reply = run("chat", with_line("chat", raw))
    assert_complete(reply)
    assert reply.warnings == (
        "skipped 3 stream lines that were not JSON; the first: {not json",
        "skipped 3 stream lines that were JSON but not objects; the first: [1]",
        "a stream line was not valid UTF-8; its bad bytes are shown as \ufffd",
    )


def test_warnings_without_a_kind_are_each_kept_and_repeats_collapse() -> None:
    accumulator = ReplyAccumulator("m")
    for message in ("gateway: quota 90%", "gateway: quota 90%", "the turn was paused"):
        accumulator.add(0.0, StreamWarning(message))
    accumulator.add(0.0, StreamWarning("skipped a stream line that is not JSON: a", "not_json"))
    accumulator.add(0.0, StreamWarning("skipped 2 stream lines …; the first: a", "not_json"))
    assert accumulator.reply().warnings == (
        "gateway: quota 90%",
        "the turn was paused",
        "skipped 2 stream lines …; the first: a",
    )


def test_a_snippet_never_carries_the_key_even_cut_from_a_megabyte() -> None:
    key = "k-" + "Z" * 40
    assert key not in snippet(f"x {key} y", (key,))
    for offset in range(4050, 4100):  # the key straddles where the line is cut
        line = " " * offset + key + " tail"
        shown = snippet(line, (key,))
        assert "ZZZZ" not in shown, offset
    assert snippet("data: " + "[" * 1_000_000, ()).startswith("data: [[[[")


# ----------------------------------------------------------------------------- numbers

JUNK_NUMBERS: dict[str, tuple[bytes, int]] = {
    "5000-digits": (b"9" * 5000, 0),
    "400-digits": (b"9" * 400, 0),
    "negative": (b"-5", 0),
    "fraction": (b"12.5", 0),
    "integral-float": (b"12.0", 12),
    "string": (b'"12"', 0),
    "overflowing-float": (b"1e400", 0),
    "NaN": (b"NaN", 0),
    "Infinity": (b"-Infinity", 0),
    "true": (b"true", 0),
    "null": (b"null", 0),
    "list": (b"[12]", 0),
    "object": (b'{"n": 12}', 0),
    "trillions": (b"10000000000000", 0),
}


@pytest.mark.parametrize("junk", list(JUNK_NUMBERS), ids=list(JUNK_NUMBERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_junk_token_counts_are_absent_counts(fmt: str, junk: str) -> None:
    value, expected = JUNK_NUMBERS[junk]
    body = body_of(fmt)
    assert SENTINEL_TOKENS in body
    events, reply = run(fmt, body.replace(SENTINEL_TOKENS, value))
    assert_complete(reply)
    assert reply.warnings == ()
    assert reply.usage.input_tokens == expected
    assert not reply.usage.estimated
    json.dumps(done_record(reply), allow_nan=False)


@pytest.mark.parametrize("junk", list(JUNK_NUMBERS), ids=list(JUNK_NUMBERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_junk_input_count_for_a_sent_prompt_is_the_marked_estimate(fmt: str, junk: str) -> None:
    """Beside a real output count, a junk input count is not an exact 0 (no request has no
    tokens): the prompt's estimate stands in, and the usage says it is an estimate."""
    value, expected = JUNK_NUMBERS[junk]
    events = parse(fmt, pieces(body_of(fmt).replace(SENTINEL_TOKENS, value), None))
    reply = fold(events, prompt_chars=4000)
    assert_complete(reply)
    if expected:
        assert (reply.usage.input_tokens, reply.usage.estimated) == (expected, False)
    else:
        assert reply.usage.input_tokens == estimate_tokens(4000) > 0
        assert reply.usage.estimated
        assert reply.usage.output_tokens > 0


@pytest.mark.parametrize("junk", list(JUNK_NUMBERS), ids=list(JUNK_NUMBERS))
@pytest.mark.parametrize("fmt", ["chat", "gateway"])
def test_junk_costs_are_unknown_costs(fmt: str, junk: str) -> None:
    value, _ = JUNK_NUMBERS[junk]
    body = body_of(fmt)
    assert SENTINEL_COST in body
    _, reply = run(fmt, body.replace(SENTINEL_COST, value))
    assert_complete(reply)
    expected = {"integral-float": 12.0, "fraction": 12.5}.get(junk)  # a cost may be $12.50
    assert reply.usage.cost_usd == expected


def test_number_readers() -> None:
    assert [count(v) for v in (0, 7, 7.0, -1, 1.5, "7", True, None, 10**13, float("nan"))] == [
        0,
        7,
        7,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert [usd(v) for v in (0, 0.5, -0.1, float("inf"), 10**400, "1", False)] == [
        0.0,
        0.5,
        None,
        None,
        None,
        None,
        None,
    ]
    assert loads("[" + "9" * 5000 + "]") == [float("inf")]
    with pytest.raises(ValueError):
        loads("[" * 100_000)


def test_ollama_speed_from_absurd_durations() -> None:
    line = b'{"message":{"content":"x"},"done":true,"eval_count":10,"eval_duration":1e400}\n'
    events, reply = run("ollama", line)
    assert reply.usage.output_tokens == 10
    assert reply.usage.server_tokens_per_s is None


# ----------------------------------------------------------------------------- big input


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_one_megabyte_delta_arrives_whole(fmt: str) -> None:
    big = "x" * (1 << 20)
    scenario = SCRIPT.but(answer=f"start {big} end", tokens_per_chunk=1 << 20)
    body = body_of(fmt, scenario)
    for size in (None, 64 * 1024):
        _, reply = run(fmt, body, size)
        assert reply.text == scenario.answer
        assert reply.finish_reason == "stop"


# Words (one event each) that make a body of just over 1 MB in each format.
_MEGABYTE_OF_EVENTS = {
    "chat": 4_200,
    "responses": 5_100,
    "anthropic": 8_800,
    "gemini": 3_100,
    "ollama": 8_000,
    "gateway": 10_800,
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_one_megabyte_chunk_of_many_events(fmt: str) -> None:
    words = " ".join(f"w{i:05d}" for i in range(_MEGABYTE_OF_EVENTS[fmt]))
    scenario = SCRIPT.but(answer=words)
    body = body_of(fmt, scenario)
    assert 1 << 20 < len(body) < 5 << 19
    _, reply = run(fmt, body)
    assert reply.text == scenario.answer


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_line_longer_than_the_limit_is_dropped_not_kept(fmt: str) -> None:
    huge = as_line(fmt, b'{"x": "' + b"y" * (MAX_LINE_BYTES + 10) + b'"}')
    body = with_line(fmt, huge)
    for size in (None, 1 << 20):
        events, reply = run(fmt, body, size)
        assert_complete(reply)
        assert reply.warnings == (f"skipped a stream line longer than {MAX_LINE_BYTES >> 20} MiB",)


def test_a_body_without_any_line_end_does_not_grow_without_bound() -> None:
    for decoder in (SSEDecoder(), NDJSONDecoder()):
        for _ in range(40):
            decoder.feed(b"z" * (1 << 20))
        assert decoder._partial_size <= MAX_LINE_BYTES + 1
        assert decoder.oversized_lines == 1


def test_line_limit_holds_for_every_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_module, "MAX_LINE_BYTES", 10)
    body = b"data: 1\n\ndata: 0123456789ab\r\ndata: 2\r\rdata: 3\n\n"
    whole = SSEDecoder()
    expected = [*whole.feed(body), *whole.flush()]
    assert [e.data for e in expected] == ["1", "2", "3"]
    assert whole.oversized_lines == 1
    for cut in range(len(body) + 1):
        for second in range(cut, len(body) + 1):
            decoder = SSEDecoder()
            got = [
                *decoder.feed(body[:cut]),
                *decoder.feed(body[cut:second]),
                *decoder.feed(body[second:]),
                *decoder.flush(),
            ]
            assert got == expected and decoder.oversized_lines == 1, (cut, second)
            assert [e.oversized for e in got] == [0, 1, 0]


# ----------------------------------------------------------------------------- surrogates


def _surrogate_body(fmt: str, answer: str, swaps: dict[bytes, bytes]) -> bytes:
    body = body_of(fmt, SCRIPT.but(answer=answer))
    for old, new in swaps.items():
        assert old in body, (fmt, old)
        body = body.replace(old, new)
    return body


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_surrogate_pair_split_across_deltas_is_joined(fmt: str) -> None:
    # " X" and " Y" are two deltas; escaped, they become the two halves of 🚀.
    swaps = {b'" X"': b'" \\ud83d"', b'" Y"': b'"\\ude80"'}
    _, reply = run(fmt, _surrogate_body(fmt, "a X Y b", swaps))
    assert reply.text == "a \U0001f680 b"


@pytest.mark.parametrize("fmt", FORMATS)
def test_lone_surrogates_become_replacement_characters(fmt: str) -> None:
    swaps = {b'" X"': b'" \\udc00x\\ud800"', b'" b"': b'" \\ud83d"'}
    events, reply = run(fmt, _surrogate_body(fmt, "a X b", swaps))
    assert reply.text == "a \ufffdx\ufffd \ufffd"
    json.dumps(done_record(reply), ensure_ascii=False).encode("utf-8")


def test_a_lone_surrogate_in_an_error_message_is_mended() -> None:
    body = b'data: {"error": {"message": "bad \\ud800 thing", "type": "server_error"}}\n\n'
    events = parse("chat", [body])
    assert_sound(events)
    error = next(e for e in events if isinstance(e, StreamError))
    assert "bad \ufffd thing" in error.message


def test_http_error_bodies_that_are_deep_or_carry_surrogates_are_described() -> None:
    deep = b"[" * 100_000
    lone = b'{"error": {"message": "no \\ud800 way"}}'
    providers = [
        OpenAICompatProvider("x", "http://h/v1", "k"),
        AnthropicProvider(api_key="k"),
        GeminiProvider(api_key="k"),
        OllamaProvider(),
        GatewayProvider("gw", "http://h/api/v1", "k"),
    ]
    for provider in providers:
        for body in (deep, lone):
            message = provider.describe_http_error(500, body)
            message.encode("utf-8")
            assert "\n" not in message
    assert "no \ufffd way" in error_detail(lone)


# ----------------------------------------------------------------------------- not a stream

NOT_STREAMS: dict[str, tuple[bytes, str, str]] = {
    # body, Content-Type, what the message must say
    "captive-portal": (CAPTIVE_PORTAL_PAGE, "", "an HTML page"),
    "html-with-type": (CAPTIVE_PORTAL_PAGE, "text/html; charset=utf-8", "text/html"),
    "proxy-text": (b"Bad gateway\nupstream connect error\n", "", "plain text"),
    "json-object": (b'{"status": "ok", "note": "not streaming"}', "", "JSON"),
    "binary": (bytes(range(256)) * 8, "application/octet-stream", "application/octet-stream"),
}


@pytest.mark.parametrize("case", list(NOT_STREAMS), ids=list(NOT_STREAMS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_200_that_is_not_a_stream_is_one_clear_error(fmt: str, case: str) -> None:
    body, content_type, what = NOT_STREAMS[case]
    for size in (None, 5):
        events = parse(fmt, pieces(body, size), content_type)
        assert_sound(events)
        errors = [e for e in events if isinstance(e, StreamError)]
        assert len(errors) == 1, errors
        message = errors[0].message
        assert message.startswith(f"the server answered 200 with {what}, not "), message
        assert not errors[0].retryable
        assert events[-1] == Finish("error")
    if case == "captive-portal":
        assert message.endswith(": Hotel Guest Wi-Fi — Sign in")
    if case == "proxy-text":
        assert message.endswith(": Bad gateway upstream connect error")


def test_the_start_of_a_body_is_redacted() -> None:
    parser = ChatCompletionsParser(("sk-proxy-secret-123",))
    events = parser.feed(b"<html><title>key sk-proxy-secret-123</title></html>") + parser.close()
    assert "sk-proxy-secret-123" not in str(events)


@pytest.mark.parametrize("body", [b"", b"\n\n\r\n", b"\xef\xbb\xbf", b"   "])
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_200_says_so(fmt: str, body: bytes) -> None:
    events = parse(fmt, [body])
    assert events == [
        StreamError("the server answered 200 with an empty body; no reply arrived", True),
        Finish("interrupted"),
    ]


@pytest.mark.parametrize("fmt", SSE_FORMATS)
def test_only_keep_alives_is_a_stream_cut_short_not_a_wrong_body(fmt: str) -> None:
    events = parse(fmt, [b": keep-alive\n\n: keep-alive\n\n"])
    assert events[-1] == Finish("interrupted")
    assert "not an event stream" not in str(events)


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_tokens_with_nothing_shown_are_never_a_silent_blank(fmt: str) -> None:
    # Whatever shape the text came in that chatterm does not read yet, the reply says so.
    blank = SCRIPT.but(reasoning="", answer="", completion_tokens=5, reasoning_tokens=0)
    _, reply = run(fmt, body_of(fmt, blank))
    assert (reply.text, reply.reasoning, reply.finish_reason) == ("", "", "stop")
    assert reply.usage.output_tokens == 5 and not reply.usage.estimated
    assert reply.warnings == (
        "the server counted 5 output tokens but sent nothing chatterm could show; "
        "the reply is empty",
    )


@pytest.mark.parametrize("fmt", ["chat", "responses"])  # OpenAI hides its reasoning
def test_output_that_was_all_hidden_reasoning_says_so(fmt: str) -> None:
    hidden = SCRIPT.but(reasoning="", answer="", completion_tokens=9, reasoning_tokens=9)
    _, reply = run(fmt, body_of(fmt, hidden.but(finish_reason="length")))
    assert (reply.text, reply.finish_reason) == ("", "length")
    assert reply.warnings == (
        "the server counted 9 output tokens, all reasoning it does not send; the reply is empty",
    )


def test_an_empty_reply_with_nothing_counted_needs_no_warning() -> None:
    _, reply = run(
        "chat", body_of("chat", SCRIPT.but(reasoning="", answer="", completion_tokens=0))
    )
    assert (reply.text, reply.finish_reason, reply.warnings) == ("", "stop", ())


def test_a_whole_completion_from_a_server_that_does_not_stream_is_read() -> None:
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "whole", "reasoning_content": "r"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    events = parse("chat", [json.dumps(completion, indent=2).encode()])
    reply = fold(events)
    assert (reply.reasoning, reply.text, reply.finish_reason) == ("r", "whole", "stop")
    assert reply.usage.input_tokens == 3 and reply.warnings == ()


def test_a_json_error_body_on_a_200_is_still_the_error() -> None:
    body = b'{"error": {"message": "quota exceeded", "type": "insufficient_quota"}}'
    for fmt in ("chat", "responses", "anthropic", "gemini", "gateway"):
        events = parse(fmt, [body])
        errors = [e for e in events if isinstance(e, StreamError)]
        assert len(errors) == 1 and "quota exceeded" in errors[0].message, fmt


def test_lines_that_are_not_sse_after_a_good_reply_are_counted() -> None:
    body = body_of("chat") + b"<html>\n<body>oops</body>\n</html>\n"
    _, reply = run("chat", body)
    assert_complete(reply)
    assert reply.warnings == ("skipped 3 lines that were not SSE; the first: <html>",)


# ----------------------------------------------------------------------------- last resort


def test_a_parser_that_raises_ends_the_reply_with_an_error_keeping_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parser = ChatCompletionsParser()
    body = body_of("chat")
    half = len(body) // 2
    events = parser.feed(body[:half])

    def boom(frame: Any) -> list[Event]:
        raise KeyError("surprise")

    monkeypatch.setattr(parser.translator, "feed", boom)
    events += parser.feed(body[half:])
    events += parser.feed(b"data: more\n\n") + parser.close()
    reply = fold(events)
    assert reply.finish_reason == "error"
    assert reply.error is not None and reply.error.message.startswith(INTERNAL_ERROR)
    assert "KeyError" in reply.error.message
    assert reply.text and SCRIPT.answer.startswith(reply.text)


# ----------------------------------------------------------------------------- end to end


def ask(server: FakeServer, home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and k not in ("OLLAMA_HOST", "NO_COLOR")
    }
    env.update(
        CHATTERM_HOME=str(home),
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=server.base_url + "/v1",
        NO_COLOR="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    return subprocess.run(
        [sys.executable, "-m", "chatterm", "ask", "-m", "openai:test-model", *args, "hi"],
        capture_output=True,
        env=env,
        cwd=home,
        timeout=60,
    )


def records(stdout: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.decode("utf-8").split("\n") if line]


def test_ask_json_a_captive_portal_is_one_error_line(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.scenario = Scenario(
        body=CAPTIVE_PORTAL_PAGE, content_type="text/html; charset=utf-8"
    )
    result = ask(fake_server, tmp_path, "--json")
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    out = records(result.stdout)
    errors = [r for r in out if r["type"] == "error"]
    assert len(errors) == 1
    assert errors[0]["message"].startswith("the server answered 200 with ")
    assert "Hotel Guest Wi-Fi" in errors[0]["message"]
    assert out[-1]["type"] == "done" and out[-1]["finish_reason"] == "error"


def test_ask_plain_a_captive_portal_is_one_line_on_stderr(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    fake_server.scenario = Scenario(body=CAPTIVE_PORTAL_PAGE, content_type="text/html")
    result = ask(fake_server, tmp_path)
    assert result.returncode == 1
    stderr = result.stderr.decode("utf-8")
    assert stderr.count("\n") == 1 and stderr.startswith("error: the server answered 200 with")


def test_ask_json_many_bad_lines_one_warning_and_the_whole_reply(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    garbage = "".join(f"data: garbage {i}\n\n" for i in range(200))
    bad_utf8 = 'data: {"choices":[{"index":0,"delta":{"content":"\\ud83d"}}]}\n\n'
    fake_server.scenario = SCRIPT.but(raw_after=(after_answer(2), garbage + bad_utf8))
    result = ask(fake_server, tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    done = records(result.stdout)[-1]
    assert done["warnings"] == ["skipped 200 stream lines that were not JSON; the first: garbage 0"]
    pieces = SCRIPT.answer_pieces
    assert done["text"] == "".join(pieces[:2]) + "\ufffd" + "".join(pieces[2:])
    assert done["finish_reason"] == "stop"


def test_ask_plain_a_lone_surrogate_does_not_crash_the_terminal_output(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    lone = 'data: {"choices":[{"index":0,"delta":{"content":" \\udc00 "}}]}\n\n'
    fake_server.scenario = SCRIPT.but(raw_after=(after_answer(1), lone))
    result = ask(fake_server, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "\ufffd" in result.stdout.decode("utf-8")


async def _reply_over_the_network(server: FakeServer, provider: str) -> Reply:
    target = resolve(server, provider)
    conversation = Conversation((Message("user", "hi"),))
    async with httpx.AsyncClient(verify=tls_context()) as client:
        stream = ReplyStream(target, conversation, settings_for(server), client=client)
        async for _ in stream.events():
            pass
    return stream.reply()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_provider_a_captive_portal_over_the_network(
    fake_server: FakeServer, provider: str
) -> None:
    fake_server.scenario = Scenario(body=CAPTIVE_PORTAL_PAGE, content_type="text/html")
    reply = await _reply_over_the_network(fake_server, provider)
    assert reply.finish_reason == "error" and reply.error is not None
    assert reply.error.message.startswith("the server answered 200 with ")
    assert reply.error.message.endswith(": Hotel Guest Wi-Fi — Sign in")
    assert len(fake_server.requests) == 1  # not worth retrying


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_provider_many_bad_lines_over_the_network(
    fake_server: FakeServer, provider: str
) -> None:
    fmt = TARGETS[provider].fmt
    junk = "".join(as_line(fmt, f"junk {i}".encode()).decode() for i in range(100))
    fake_server.scenario = SCRIPT.but(raw_after=(after_answer(2), junk), split="awkward")
    reply = await _reply_over_the_network(fake_server, provider)
    assert (reply.text, reply.finish_reason, reply.error) == (SCRIPT.answer, "stop", None)
    assert reply.warnings == ("skipped 100 stream lines that were not JSON; the first: junk 0",)
