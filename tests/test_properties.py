"""Property tests for every wire format's decoder and translator (Hypothesis).

* Fragmentation: the bytes of a stream, cut anywhere into any number of reads, give
  exactly the events the whole body gives: for each format's clean replies and its faults
  (a line that is not JSON, a mid-stream error, a cut, invalid UTF-8, CRLF, a BOM).
* Robustness: arbitrary bytes, and arbitrary JSON in each format's vocabulary, never make
  a parser raise; the events always end in exactly one Finish, and the last-resort guard
  (:data:`~chatterm.providers.parsing.INTERNAL_ERROR`) never fires.
* ``<think>`` tags split at any point give the same reasoning and answer.
* Markdown nested to any depth (lists, quotes, indentation) is cut into segments, and a
  segment nested deeper than the cap is shown as plain text; rendering never raises.

Sessions round-trip any text: see ``tests/sessions``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App

from chatterm.decode.sse import SSEDecoder
from chatterm.events import (
    Event,
    Finish,
    ReasoningDelta,
    StreamError,
    StreamWarning,
    TextDelta,
)
from chatterm.providers.anthropic import MessagesParser
from chatterm.providers.chat_completions_stream import ChatCompletionsParser
from chatterm.providers.gateway import GatewayParser
from chatterm.providers.gemini_stream import GeminiParser
from chatterm.providers.ollama import OllamaChatParser
from chatterm.providers.openai_responses import ResponsesParser
from chatterm.providers.parsing import INTERNAL_ERROR, GuardedParser
from chatterm.providers.think_tags import ThinkTagSplitter
from chatterm.reply.accumulate import ReplyAccumulator
from chatterm.testing.fakeserver import render
from chatterm.testing.frames import awkward_offsets, index_after
from chatterm.testing.scenario import Scenario, after_answer
from chatterm.tui.markdown.hostile import MAX_NESTING, shown_as_plain_text, too_deep
from chatterm.tui.markdown.look import look_from_variables
from chatterm.tui.segments import split_all, split_segments
from chatterm.tui.widgets.markdown_lines import plain_lines, render_markdown

PARSERS: dict[str, Callable[[], GuardedParser]] = {
    "chat": ChatCompletionsParser,
    "responses": ResponsesParser,
    "anthropic": MessagesParser,
    "gemini": GeminiParser,
    "ollama": OllamaChatParser,
    "gateway": GatewayParser,
}
FORMATS = tuple(PARSERS)

BASE = Scenario(
    reasoning="Weigh 9.11 against 9.9: compare tenths, 1 < 9.",
    answer="**9.9** is larger — naïve 日本語 🚀\u2028ok",
    cost=0.0021,
)
# Variations every format can render; Gemini is left out of raw text mid-stream (it reads
# the lines around a raw JSON value in network-read order, see gemini_stream's docstring).
VARIANTS: dict[str, Scenario] = {
    "clean": BASE,
    "crlf-bom-keepalive": BASE.but(line_ending="\r\n", bom=True, keepalive_comments=True),
    "three-tokens-a-chunk": BASE.but(tokens_per_chunk=3, data_space=False),
    "not-json-line": BASE.but(garbage_after=after_answer(1)),
    "error-mid": BASE.but(error_after=after_answer(2)),
    "cut-short": BASE.but(truncate_after=after_answer(2)),
    "length": BASE.but(finish_reason="length", usage_chunk=False),
    "no-reasoning": BASE.but(reasoning=""),
}
CHAT_DIALECTS: dict[str, Scenario] = {
    "reasoning": BASE.but(dialect="reasoning"),
    "think-tags": BASE.but(dialect="think_tags"),
    "think-tags-no-open": BASE.but(dialect="think_tags", think_open_tag=False),
    "none": BASE.but(dialect="none"),
}


def _with_bytes(fmt: str, scenario: Scenario, raw: bytes) -> bytes:
    frames = render(fmt, scenario)
    wires = [frame.wire for frame in frames]
    wires.insert(index_after(frames, after_answer(1)), raw)
    return b"".join(wires)


def _line(fmt: str, payload: bytes) -> bytes:
    return payload + b"\n" if fmt == "ollama" else b"data: " + payload + b"\n\n"


@functools.cache
def _cases() -> list[tuple[str, str, bytes]]:
    cases: list[tuple[str, str, bytes]] = []
    for fmt in FORMATS:
        for name, scenario in VARIANTS.items():
            cases.append((fmt, name, b"".join(f.wire for f in render(fmt, scenario))))
        bad_utf8 = _line(fmt, b'{"x": "\xff\xc3"}') + _line(fmt, b"\xe2\x82 junk")
        cases.append((fmt, "invalid-utf8", _with_bytes(fmt, BASE, bad_utf8)))
        if fmt != "gemini":
            junk = b"<html>\n" + _line(fmt, b"[1, 2]") + b"stray text\r\n"
            cases.append((fmt, "junk-lines", _with_bytes(fmt, BASE, junk)))
    for name, scenario in CHAT_DIALECTS.items():
        cases.append(("chat", name, b"".join(f.wire for f in render("chat", scenario))))
    return cases


def _parse(fmt: str, chunks: Iterable[bytes]) -> list[Event]:
    parser = PARSERS[fmt]()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


@functools.cache
def _whole(index: int) -> list[Event]:
    fmt, _, body = _cases()[index]
    return _parse(fmt, [body])


def _cut(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted(set(cuts))
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def assert_sound(events: list[Event]) -> None:
    assert sum(isinstance(e, Finish) for e in events) == 1, events[-4:]
    for event in events:
        if isinstance(event, StreamError):
            assert INTERNAL_ERROR not in event.message, event.message
        if isinstance(event, StreamError | StreamWarning):
            assert "\n" not in event.message
            event.message.encode("utf-8")
        if isinstance(event, ReasoningDelta | TextDelta):
            assert event.text
            event.text.encode("utf-8")


# ----------------------------------------------------------------------------- fragmentation


def test_the_cases_are_what_they_claim() -> None:
    """Each case is a real reply: clean ones whole, faulty ones with their fault."""
    for index, (fmt, name, _) in enumerate(_cases()):
        events = _whole(index)
        assert_sound(events)
        finish = next(e for e in events if isinstance(e, Finish))
        expected = {"error-mid": "error", "cut-short": "interrupted", "length": "length"}
        if fmt == "gateway":
            expected["length"] = "stop"  # the fake gateway's final chunk names no reason
        assert finish.reason == expected.get(name, "stop"), (fmt, name)
        warned = any(isinstance(e, StreamWarning) for e in events)
        assert warned == (name in ("not-json-line", "invalid-utf8", "junk-lines")), (fmt, name)


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_fragmentation_gives_the_same_events(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(_cases()) - 1), label="case")
    fmt, _, body = _cases()[index]
    # Anywhere, and often where a careless decoder slips: between CR and LF, inside a
    # UTF-8 character, inside "data:", mid-line.
    place = st.one_of(st.integers(0, len(body)), st.sampled_from(_awkward(index)))
    cuts = data.draw(st.lists(place, max_size=24), label="cuts")
    chunks = _cut(body, cuts)
    assert _parse(fmt, chunks) == _whole(index)
    if fmt != "ollama":  # the decoder's own frames too: event names and bad-line counts
        assert _frames(chunks) == _frames([body])


@functools.cache
def _awkward(index: int) -> list[int]:
    return awkward_offsets(_cases()[index][2]) or [0]


def _frames(chunks: Iterable[bytes]) -> list[tuple[str, str, str, int, int]]:
    decoder = SSEDecoder()
    frames = [event for chunk in chunks for event in decoder.feed(chunk)]
    frames += decoder.flush()
    return [(f.event, f.data, f.id, f.invalid_utf8, f.oversized) for f in frames]


def test_one_event_a_read_gives_the_same_events() -> None:
    """The usual way a stream arrives: the server flushes each event on its own."""
    for index, (fmt, name, body) in enumerate(_cases()):
        ends = [m.end() for m in re.finditer(rb"\r\n\r\n|\n\n|\r\r|\n", body)]
        assert _parse(fmt, _cut(body, ends)) == _whole(index), (fmt, name)


def test_one_byte_at_a_time_gives_the_same_events() -> None:
    for index, (fmt, _, body) in enumerate(_cases()):
        if index % 3 == 0:  # a third of the cases keeps this well under a second
            one_by_one = [body[i : i + 1] for i in range(len(body))]
            assert _parse(fmt, one_by_one) == _whole(index), _cases()[index][:2]


# ----------------------------------------------------------------------------- robustness

_INTERESTING_LINES = st.sampled_from(
    [
        b"data: {",
        b"data: }",
        b"data: [DONE]",
        b"data:",
        b"data: null",
        b'data: {"error": {"message": "x"}}',
        b'data: {"type": "error"}',
        b"event: error",
        b"event: message_stop",
        b"id: 1",
        b"retry: 99999999999999999999",
        b": keep-alive",
        b"{",
        b"}",
        b"[",
        b'"error": {',
        b"\xef\xbb\xbf",
        b"\x00",
        b"\xff\xfe",
        b"<html>",
        b"",
        b" ",
    ]
)
_ENDINGS = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n", b"\r\n\r\n", b""])
_LINES = st.lists(
    st.tuples(st.one_of(_INTERESTING_LINES, st.binary(max_size=40)), _ENDINGS), max_size=25
).map(lambda parts: b"".join(line + end for line, end in parts))


@settings(max_examples=250, deadline=None, derandomize=True)
@given(
    fmt=st.sampled_from(FORMATS),
    body=st.one_of(st.binary(max_size=600), _LINES),
    data=st.data(),
)
def test_arbitrary_bytes_never_raise(fmt: str, body: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=8))
    assert_sound(_parse(fmt, _cut(body, cuts)))


# Keys and values of every format's vocabulary, so that random JSON reaches the code that
# reads each field, with every type in every place.
_KEYS = st.sampled_from(
    [
        "type", "choices", "index", "delta", "content", "reasoning_content", "reasoning",
        "reasoning_details", "refusal", "finish_reason", "usage", "prompt_tokens",
        "completion_tokens", "total_tokens", "completion_tokens_details", "reasoning_tokens",
        "prompt_tokens_details", "cached_tokens", "cost", "error", "message", "code",
        "status", "object", "response", "output", "item", "incomplete_details", "reason",
        "summary_index", "item_id", "output_index", "content_block", "text", "thinking",
        "stop_reason", "input_tokens", "output_tokens", "cache_read_input_tokens",
        "candidates", "parts", "thought", "finishReason", "usageMetadata", "promptTokenCount",
        "candidatesTokenCount", "thoughtsTokenCount", "promptFeedback", "blockReason",
        "functionCall", "name", "done", "done_reason", "eval_count", "eval_duration",
        "prompt_eval_count", "tool_calls", "final", "is_final", "warnings", "detail",
        "retryable", "status_code",
    ]
)  # fmt: skip
_TYPES = st.sampled_from(
    [
        "content_block_delta", "content_block_start", "message_start", "message_delta",
        "message_stop", "error", "text_delta", "thinking_delta", "redacted_thinking",
        "response.output_text.delta", "response.reasoning_summary_text.delta",
        "response.completed", "response.incomplete", "response.failed",
        "response.output_item.added", "text", "output", "thinking", "metadata", "stop",
        "length", "STOP", "SAFETY", "MAX_TOKENS", "end_turn", "tool_use", "refusal",
    ]
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    _TYPES,
    st.text(max_size=8),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=25,
)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(fmt=st.sampled_from(FORMATS), values=st.lists(_JSON, min_size=1, max_size=6))
def test_arbitrary_json_in_the_format_s_vocabulary_never_raises(
    fmt: str, values: list[Any]
) -> None:
    body = b"".join(
        _line(fmt, json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
        for value in values
    )
    events = _parse(fmt, [body])
    assert_sound(events)
    _fold(events)


def _fold(events: Iterable[Event]) -> tuple[str, str]:
    accumulator = ReplyAccumulator("m")
    for i, event in enumerate(events):
        accumulator.add(float(i), event)
    reply = accumulator.reply()
    return reply.reasoning, reply.text


# ----------------------------------------------------------------------------- think tags

# Pieces that make tags, broken tags, fences and line ends likely.
_THINK_PIECES = st.sampled_from(
    ["<think>", "</think>", "<th", "ink>", "</", "think", ">", "<", "\n", "\r\n", " ", "\t",
     "```", "`", "a", "b c", "é", "🚀", "\n\n"]
)  # fmt: skip
_THINK_TEXT = st.lists(_THINK_PIECES, max_size=24).map("".join)
_PLAIN = st.text(alphabet=st.sampled_from(list("ab <>/th\n")), max_size=30).filter(
    lambda text: "</think>" not in text and "<think>" not in text
)
_BLANK_LINES = re.compile(r"^(?:[ \t]*\r?\n)+")


def _split_think(chunks: Iterable[str]) -> list[Event]:
    splitter = ThinkTagSplitter()
    events: list[Event] = []
    for chunk in chunks:
        events.extend(splitter.feed(chunk))
    events.extend(splitter.close())
    return events


def _cut_text(text: str, cuts: Iterable[int]) -> list[str]:
    points = sorted(set(cuts))
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@settings(max_examples=500, deadline=None, derandomize=True)
@given(text=_THINK_TEXT, data=st.data())
def test_think_tags_split_anywhere_give_the_same_reasoning_and_answer(
    text: str, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=10))
    whole = _split_think([text])
    assert _fold(_split_think(_cut_text(text, cuts))) == _fold(whole)
    assert _fold(_split_think(list(text))) == _fold(whole)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(reasoning=_PLAIN, answer=_PLAIN, lead=st.sampled_from(["", " ", "\n"]), data=st.data())
def test_think_tags_are_removed_and_their_contents_kept(
    reasoning: str, answer: str, lead: str, data: st.DataObject
) -> None:
    text = f"{lead}<think>{reasoning}</think>{answer}"
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=10))
    # The blank lines after </think> go; an answer of nothing but spaces is no answer.
    shown = _BLANK_LINES.sub("", answer)
    expected = (reasoning, shown if shown.strip() else "")
    assert _fold(_split_think(_cut_text(text, cuts))) == expected


_NESTING_MARKS = {"bullet": "- ", "ordered": "1. ", "quote": "> ", "indent": "  "}


@st.composite
def _nested_line(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(sorted(_NESTING_MARKS)))
    depth = draw(st.one_of(st.integers(0, MAX_NESTING + 2), st.integers(0, 2000)))
    text = draw(st.sampled_from(["item", "*em* [x](u) `c`", "", "```", "| a | b |"]))
    return _NESTING_MARKS[kind] * depth + text


_MARKDOWN_APP = App[None]()  # not run: its console renders, as the answer pane's does
_LOOK = look_from_variables({}, dark=True)


@settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(lines=st.lists(_nested_line(), min_size=1, max_size=40), width=st.integers(1, 120))
def test_deeply_nested_markdown_falls_back_to_plain_text_and_never_raises(
    lines: list[str], width: int
) -> None:
    text = "\n".join(lines) + "\n"
    segments = split_all(text)
    finished, tail = split_segments(text[: len(text) // 2])
    assert finished + split_all(tail + text[len(text) // 2 :]) == segments
    for segment in segments:
        deep = any(too_deep(line) for line in segment.split("\n"))
        assert shown_as_plain_text(segment) == deep
        rendered = render_markdown(_MARKDOWN_APP, segment, (width, _LOOK))
        if deep:
            assert rendered == plain_lines(segment, width)
            assert all(line.cell_length <= width for line in rendered)
