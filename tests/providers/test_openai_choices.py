"""Chat Completions with several choices in one stream (``n``): the request, the reading of
interleaved choices (each with its own reasoning, ``<think>`` tags, refusal and finish),
and the providers that cannot give several choices."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from chatterm.config import ProviderConfig, Settings
from chatterm.errors import ChattermError
from chatterm.events import (
    ChoiceEvent,
    Conversation,
    Event,
    Finish,
    Message,
    Started,
    StreamError,
    StreamEvent,
    StreamWarning,
    TextDelta,
    Usage,
    UsageUpdate,
)
from chatterm.providers.chat_completions_stream import ChoicesParser
from chatterm.providers.registry import resolve_model
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.testing.fakeserver import render
from chatterm.testing.frames import split_wire
from chatterm.testing.scenario import Scenario, after_answer

ENV = {
    "OPENAI_API_KEY": "sk-choices",
    "ANTHROPIC_API_KEY": "sk-ant-choices",
    "GEMINI_API_KEY": "AIza-choices",
    "GW_KEY": "gw-choices",
}
SETTINGS = Settings(
    providers={
        "local": ProviderConfig(name="local", base_url="http://127.0.0.1:8080/v1"),
        "gw": ProviderConfig(
            name="gw", base_url="http://127.0.0.1:8081/api/v1", api_key_env="GW_KEY", kind="gateway"
        ),
    }
)
CONVERSATION = Conversation(messages=(Message("user", "hi"),))

SCRIPTS = (
    ("Two plus two. 日本語 first.", "**4** — naïve 🚀"),
    ("Count on fingers.", "Four, as 2 + 2 says."),
    ("", "4"),
)
THREE = Scenario(
    choice_scripts=SCRIPTS,
    choice_finish_reasons=("stop", "length", "content_filter"),
    prompt_tokens=12,
)


def body_bytes(scenario: Scenario, n: int) -> bytes:
    frames = render("chat", scenario, body={"n": n, "stream_options": {"include_usage": True}})
    return b"".join(frame.wire for frame in frames)


def parse(data: bytes | Iterable[bytes], n: int) -> list[StreamEvent]:
    parser = ChoicesParser((), n)
    events: list[StreamEvent] = []
    for chunk in [data] if isinstance(data, bytes) else data:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


def fold(events: Sequence[StreamEvent], index: int) -> Reply:
    """Choice ``index``'s reply: its own events, and the plain end of the request."""
    accumulator = ReplyAccumulator("x")
    accumulator.add(0.0, Started("x"))
    for at, event in enumerate(events, 1):
        inner: Event | None = None
        if isinstance(event, ChoiceEvent):
            inner = event.event if event.index == index else None
        elif isinstance(event, StreamError | Finish):
            inner = event
        if inner is not None:
            accumulator.add(float(at), inner)
    return accumulator.reply()


def choice_events(events: Sequence[StreamEvent], index: int) -> list[Event]:
    return [e.event for e in events if isinstance(e, ChoiceEvent) and e.index == index]


def plain(events: Sequence[StreamEvent]) -> list[Event]:
    return [e for e in events if not isinstance(e, ChoiceEvent)]


# ----------------------------------------------------------------------------- the request


def test_the_request_asks_for_n_only_for_several_choices() -> None:
    target = resolve_model("local:qwen3", SETTINGS, env=ENV)
    one = json.loads(target.provider.build_request(target.model, CONVERSATION).content)
    assert "n" not in one
    three = Conversation(messages=CONVERSATION.messages, choices=3)
    assert json.loads(target.provider.build_request(target.model, three).content)["n"] == 3


@pytest.mark.parametrize(
    ("ref", "api"),
    [
        ("openai:gpt-5-mini", "OpenAI's Responses API"),
        ("openai-responses:gpt-5", "OpenAI's Responses API"),
        ("anthropic:claude-sonnet-4-5", "Anthropic's Messages API"),
        ("gemini:gemini-2.5-flash", "Gemini's API as chatterm asks it"),
        ("ollama:qwen3", "Ollama's chat API"),
        ("gw:google-gemini/gemini-2.5-flash", "the gateway's API"),
    ],
)
def test_a_provider_without_n_says_so_and_never_sends_the_request(ref: str, api: str) -> None:
    target = resolve_model(ref, SETTINGS, env=ENV)
    message = f"{ref} cannot give several choices in one request ({api} has no n)"
    assert target.provider.choices_refusal(ref) == message
    three = Conversation(messages=CONVERSATION.messages, choices=3)
    with pytest.raises(ChattermError, match="cannot give several choices"):
        target.provider.build_request(target.model, three)


@pytest.mark.parametrize("ref", ["openai:gpt-4.1-mini", "local:qwen3", "demo", "demo:fast"])
def test_chat_completions_providers_give_several_choices(ref: str) -> None:
    assert resolve_model(ref, SETTINGS, env=ENV).provider.choices_refusal(ref) is None


# ----------------------------------------------------------------------------- the reading


@pytest.mark.parametrize("split", ["whole", "awkward", "bytewise"])
def test_interleaved_choices_each_keep_their_own_reasoning_answer_and_finish(split: str) -> None:
    data = body_bytes(THREE, 3)
    if split == "whole":
        events = parse(data, 3)
    elif split == "bytewise":
        events = parse([data[i : i + 1] for i in range(len(data))], 3)
    else:  # every write cut inside a UTF-8 character, a line or a CRLF, as the server does
        frames = render("chat", THREE, body={"n": 3, "stream_options": {"include_usage": True}})
        pieces = split_wire(frames, "awkward")
        assert len(pieces) > len(frames)
        events = parse(pieces, 3)
    assert events == parse(data, 3)
    for index, ((reasoning, answer), finish) in enumerate(
        zip(SCRIPTS, ("stop", "length", "content_filter"), strict=True)
    ):
        reply = fold(events, index)
        assert (reply.reasoning, reply.text, reply.finish_reason) == (reasoning, answer, finish)
        assert reply.error is None
    # The one usage, every choice's output together, belongs to the request: plain.
    [usage] = [e for e in plain(events) if isinstance(e, UsageUpdate)]
    scripted = [THREE.choice_script(i) for i in range(3)]
    assert usage.usage.input_tokens == 12
    assert usage.usage.output_tokens == sum(one.completion_count() for one in scripted)
    assert [e for e in plain(events) if not isinstance(e, UsageUpdate)] == []


def test_the_chunks_really_are_interleaved() -> None:
    events = parse(body_bytes(THREE, 3), 3)
    order = [
        e.index for e in events if isinstance(e, ChoiceEvent) and isinstance(e.event, TextDelta)
    ]
    assert set(order[:3]) == {0, 1, 2}  # one piece of each before the next of any


def test_think_tags_are_split_per_choice() -> None:
    scenario = Scenario(
        dialect="think_tags",
        choice_scripts=(("first thoughts", "first answer"), ("second thoughts", "second answer")),
    )
    events = parse(body_bytes(scenario, 2), 2)
    replies = [fold(events, i) for i in (0, 1)]
    assert [(r.reasoning.strip(), r.text.strip()) for r in replies] == [
        ("first thoughts", "first answer"),
        ("second thoughts", "second answer"),
    ]


def test_the_reasoning_dialect_is_read_per_choice() -> None:
    scenario = Scenario(dialect="reasoning", choice_scripts=(("a", "A"), ("b", "B")))
    events = parse(body_bytes(scenario, 2), 2)
    assert [(fold(events, i).reasoning, fold(events, i).text) for i in (0, 1)] == [
        ("a", "A"),
        ("b", "B"),
    ]


def chunk(*choices: dict[str, Any], usage: dict[str, Any] | None = None) -> bytes:
    return b"data: " + json.dumps({"choices": list(choices), "usage": usage}).encode() + b"\n\n"


def test_a_refusal_and_an_error_finish_are_one_choices_own() -> None:
    data = b"".join(
        [
            chunk({"index": 0, "delta": {"content": "Sure: 4."}, "finish_reason": None}),
            chunk({"index": 1, "delta": {"refusal": "I can't help."}, "finish_reason": None}),
            chunk({"index": 2, "delta": {"content": "Half"}, "finish_reason": None}),
            chunk({"index": 2, "delta": {}, "finish_reason": "error"}),
            chunk({"index": 0, "delta": {}, "finish_reason": "stop"}),
            chunk({"index": 1, "delta": {}, "finish_reason": "content_filter"}),
            chunk(usage={"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14}),
            b"data: [DONE]\n\n",
        ]
    )
    events = parse(data, 3)
    assert (fold(events, 0).text, fold(events, 0).finish_reason) == ("Sure: 4.", "stop")
    assert (fold(events, 1).text, fold(events, 1).finish_reason) == (
        "I can't help.",
        "content_filter",
    )
    failed = fold(events, 2)
    assert (failed.text, failed.finish_reason) == ("Half", "error")
    assert failed.error == StreamError("the server ended the reply with an error (error)")
    assert plain(events) == [UsageUpdate(Usage(input_tokens=5, output_tokens=9))]


#: Three choices that are all still writing after a few answer pieces.
LONG = Scenario(choice_scripts=(("a", "one two three four five"), ("b", "six seven eight nine")))


def test_an_error_chunk_ends_every_open_choice_once() -> None:
    events = parse(body_bytes(LONG.but(error_after=after_answer(4)), 3), 3)
    ending = [e for e in plain(events) if isinstance(e, StreamError | Finish)]
    assert [type(e) for e in ending] == [StreamError, Finish]
    assert ending[1] == Finish("error")
    assert "The server had an error" in ending[0].message  # type: ignore[union-attr]
    assert not any(isinstance(e, Finish) for i in range(3) for e in choice_events(events, i))
    for index in range(3):
        reply = fold(events, index)
        assert reply.finish_reason == "error"
        assert LONG.choice_script(index).answer.startswith(reply.text)


def test_a_cut_stream_ends_each_open_choice_early() -> None:
    events = parse(body_bytes(LONG.but(truncate_after=after_answer(4), done=False), 3), 3)
    for index in range(3):
        [error] = [e for e in choice_events(events, index) if isinstance(e, StreamError)]
        assert error.retryable and "partial reply is kept" in error.message
        assert fold(events, index).finish_reason == "interrupted"


def test_a_server_that_ignores_n_leaves_the_other_choices_in_a_clear_error() -> None:
    events = parse(body_bytes(THREE.but(choices_sent=1), 3), 3)
    assert fold(events, 0).finish_reason == "stop"
    for index in (1, 2):
        reply = fold(events, index)
        assert reply.finish_reason == "error"
        assert reply.error == StreamError(
            f"the server sent no choice {index + 1} of the 3 asked for; it may not take n "
            "(several choices in one request)"
        )


def test_a_choice_index_outside_the_request_is_skipped_and_said() -> None:
    data = b"".join(
        [
            chunk({"index": 0, "delta": {"content": "A"}, "finish_reason": "stop"}),
            chunk({"index": 5, "delta": {"content": "?"}, "finish_reason": "stop"}),
            chunk({"index": 1, "delta": {"content": "B"}, "finish_reason": "stop"}),
            b"data: [DONE]\n\n",
        ]
    )
    events = parse(data, 2)
    assert [fold(events, i).text for i in (0, 1)] == ["A", "B"]
    [warning] = [e for e in plain(events) if isinstance(e, StreamWarning)]
    assert warning.kind == "unknown_shape" and '"index": 5' in warning.message


def test_a_surrogate_pair_split_between_two_deltas_of_one_choice_is_joined() -> None:
    # The two halves of 🚀 arrive as JSON escapes in two deltas of choice 1, with a delta
    # of choice 0 in between: each choice mends its own text.
    data = (
        b'data: {"choices":[{"index":1,"delta":{"content":"a\\ud83d"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"x\\ud83d"}}]}\n\n'
        b'data: {"choices":[{"index":1,"delta":{"content":"\\ude80b"}}]}\n\n'
        b'data: {"choices":[{"index":0,"delta":{"content":"y"},"finish_reason":"stop"}]}\n\n'
        b'data: {"choices":[{"index":1,"delta":{},"finish_reason":"stop"}]}\n\n'
    )
    events = parse(data, 2)
    assert fold(events, 1).text == "a🚀b"
    assert fold(events, 0).text == "x\ufffdy"  # a lone half is replaced, never passed on


def test_a_format_with_one_choice_refuses_a_parser_for_several() -> None:
    from chatterm.errors import ChattermError
    from chatterm.providers.gemini import GeminiFormat

    with pytest.raises(ChattermError, match="cannot give several choices"):
        GeminiFormat().new_choices_parser((), 2)
