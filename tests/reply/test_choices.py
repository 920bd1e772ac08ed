"""Splitting one stream of several choices into one reply per choice (``ChoiceSplit``),
over the real HTTP client and parser: an in-process transport serves the fake server's
Chat Completions bytes for ``n`` choices."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from chatterm.config import ModelConfig, ProviderConfig, Settings
from chatterm.events import (
    Conversation,
    Event,
    Finish,
    Message,
    Started,
    StreamError,
    TextDelta,
    UsageUpdate,
)
from chatterm.pricing import SHARED_COST, PriceOverride
from chatterm.providers.registry import resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.reply.choices import ChoiceSplit, pump_choices
from chatterm.reply.figures import SessionCosts, session_cost
from chatterm.reply.live import ReplyStream
from chatterm.testing.fakeserver import render
from chatterm.testing.frames import split_wire
from chatterm.testing.scenario import Scenario, after_answer

REF = "local:qwen3"
PRICE = PriceOverride(input_per_mtok=1.0, output_per_mtok=2.0)
SETTINGS = Settings(
    providers={"local": ProviderConfig(name="local", base_url="http://127.0.0.1:9/v1")},
    model_settings={REF: ModelConfig(price=PRICE)},
)
SCRIPTS = (("think a", "answer a"), ("think b", "a longer answer b"), ("", "c"))
SCENARIO = Scenario(
    choice_scripts=SCRIPTS, choice_finish_reasons=("stop", "length", "stop"), prompt_tokens=20
)


class Recorder:
    """A sink that keeps what it got, and notes in ``log`` when it ended."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.events: list[Event] = []
        self.replies: list[Reply] = []

    def event(self, event: Event, at: float) -> None:
        self.events.append(event)

    def done(self, reply: Reply) -> None:
        self.replies.append(reply)
        self.log.append(self.name)


def stream_of(
    scenario: Scenario, n: int, *, seen: list[dict[str, object]] | None = None
) -> ReplyStream:
    """A reply stream of ``n`` choices answered by ``scenario``, cut into awkward reads."""

    async def pieces(frames: list[bytes]) -> AsyncIterator[bytes]:
        for piece in frames:
            yield piece

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if seen is not None:
            seen.append(body)
        wire = split_wire(render("chat", scenario, body=body), "awkward")
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=pieces(wire)
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    conversation = Conversation(messages=(Message("user", "hi"),), choices=n)
    target = resolve_model(REF, SETTINGS, env={})
    return ReplyStream(target, conversation, SETTINGS, client=client)


def columns(n: int, log: list[str]) -> list[list[Recorder]]:
    return [[Recorder(f"printer {k}", log), Recorder(f"turn {k}", log)] for k in range(n)]


async def test_each_choice_gets_its_own_events_and_reply() -> None:
    seen: list[dict[str, object]] = []
    log: list[str] = []
    sinks = columns(3, log)
    replies = await pump_choices(stream_of(SCENARIO, 3, seen=seen), sinks)
    assert seen[0]["n"] == 3
    for index, ((reasoning, answer), finish) in enumerate(
        zip(SCRIPTS, ("stop", "length", "stop"), strict=True)
    ):
        reply = replies[index]
        assert (reply.reasoning, reply.text, reply.finish_reason) == (reasoning, answer, finish)
        for sink in sinks[index]:
            assert sink.replies == [reply]  # each sink ended once, with its choice's reply
            assert isinstance(sink.events[0], Started)
            text = "".join(e.text for e in sink.events if isinstance(e, TextDelta))
            assert text == answer
    # The request's usage goes to the first choice only.
    assert any(isinstance(e, UsageUpdate) for e in sinks[0][0].events)
    assert not any(isinstance(e, UsageUpdate) for k in (1, 2) for e in sinks[k][0].events)
    # The later choices end as they finish, the first with the stream (its usage is last);
    # within a choice the last sink ends first.
    assert log[-2:] == ["turn 0", "printer 0"]
    assert log.index("turn 1") == log.index("printer 1") - 1


async def test_the_request_is_counted_once_on_the_first_choice() -> None:
    replies = await pump_choices(stream_of(SCENARIO, 3), columns(3, []))
    first = replies[0]
    scripted = [SCENARIO.choice_script(i) for i in range(3)]
    output = sum(one.completion_count() for one in scripted)
    assert (first.usage.input_tokens, first.usage.output_tokens) == (20, output)
    assert not first.usage.estimated
    assert first.cost is not None and first.cost.source == "config"
    assert first.cost.usd == pytest.approx((20 * 1.0 + output * 2.0) / 1e6)
    for other in replies[1:]:
        assert other.cost == SHARED_COST
        assert other.usage.input_tokens == 0 and other.usage.estimated
    # Each choice's speed comes from its own text, never from every choice's tokens.
    assert first.metrics.tokens_per_s is None or first.usage.output_tokens > 0
    assert session_cost(SessionCosts([r.cost for r in replies])) == session_cost(
        SessionCosts([first.cost])
    )


async def test_a_stream_cut_short_ends_every_open_choice_early() -> None:
    long = Scenario(choice_scripts=(("a", "one two three four"), ("b", "five six seven eight")))
    stream = stream_of(long.but(truncate_after=after_answer(3), done=False), 2)
    replies = await pump_choices(stream, columns(2, []))
    for reply in replies:
        assert reply.finish_reason == "interrupted"
        assert reply.error is not None and "partial reply is kept" in reply.error.message


async def test_one_choice_can_be_cancelled_while_the_others_go_on() -> None:
    log: list[str] = []
    sinks = columns(2, log)
    split = ChoiceSplit(stream_of(SCENARIO.but(choice_scripts=SCRIPTS[:2]), 2), sinks)
    original: Callable[[Event, float], None] = sinks[1][0].event

    def first_delta_cancels(event: Event, at: float) -> None:
        original(event, at)
        if type(event).__name__ in ("ReasoningDelta", "TextDelta"):
            split.cancel(1)

    sinks[1][0].event = first_delta_cancels  # type: ignore[method-assign]
    replies = await split.pump()
    assert replies[1].finish_reason == "cancelled"
    assert replies[0].finish_reason == "stop" and replies[0].text == SCRIPTS[0][1]
    assert log.index("printer 1") < log.index("printer 0")  # ended at once


async def test_a_failing_sink_still_ends_every_choice_then_is_raised() -> None:
    log: list[str] = []
    sinks = columns(2, log)

    class Broken(Exception):
        pass

    def broken(event: Event, at: float) -> None:
        if isinstance(event, StreamError | Finish) or type(event).__name__ == "TextDelta":
            raise Broken

    sinks[0][0].event = broken  # type: ignore[method-assign]
    with pytest.raises(Broken):
        await pump_choices(stream_of(SCENARIO.but(choice_scripts=SCRIPTS[:2]), 2), sinks)
    assert sorted(log) == ["printer 0", "printer 1", "turn 0", "turn 1"]
    assert all(sink.replies[0].finish_reason == "cancelled" for sink in sinks[0])


def test_the_sinks_must_match_the_choices_asked_for() -> None:
    with pytest.raises(ValueError, match="2 lists of sinks for 3 choices"):
        ChoiceSplit(stream_of(SCENARIO, 3), columns(2, []))
