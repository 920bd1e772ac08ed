"""End to end: ReplyStream and stream_reply with a real httpx client against the fake server.

Everything here goes over a real socket on 127.0.0.1: HTTP/1.1 chunked framing, SSE split at
awkward byte offsets, dropped connections, stalls and cancellation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncGenerator, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatterm.config import NetworkSettings, Settings
from chatterm.events import (
    AnswerWasReasoning,
    Conversation,
    Event,
    Finish,
    Message,
    ReasoningDelta,
    Started,
    StreamError,
    StreamWarning,
    TextDelta,
    TimedEvent,
    Usage,
    UsageUpdate,
)
from chatterm.network.stream import make_client, stream_reply
from chatterm.pricing import Cost
from chatterm.providers.registry import ResolvedModel, resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.reply.live import ReplyStream
from chatterm.reply.metrics import Metrics
from tests.fake_provider.fixtures import API_KEY, fake_model
from tests.fake_provider.server import (
    Dialect,
    FakeServer,
    Scenario,
    mid_frame_offset,
    reconstruct,
    render_frames,
    split_wire,
)

SAFETY_TIMEOUT_S = 60.0  # a safety net against hangs only; no test depends on timing
# One attempt per reply: these tests look at how each failure reads; retrying it is
# tests/network/test_network_faults.py's subject.
ONE_ATTEMPT = Settings(network=NetworkSettings(max_retries=0))
PROMPT = "Tell me about naïve text handling"
SYSTEM = "Be brief."

FRAMINGS: dict[str, dict[str, Any]] = {
    "lf-per-event": {},
    "crlf-per-event": {"line_ending": "\r\n"},
    "lf-awkward": {"split": "awkward"},
    "crlf-awkward": {"line_ending": "\r\n", "split": "awkward"},
    "crlf-bytewise": {"line_ending": "\r\n", "split": "bytewise"},
    "lf-whole-body": {"split": "whole"},
    "crlf-7-byte-writes": {"line_ending": "\r\n", "split": 7},
    "crlf-keepalive-comments": {"line_ending": "\r\n", "keepalive_comments": True},
    "data-no-space-3-tokens": {"data_space": False, "tokens_per_chunk": 3},
    "paced-writes": {"write_delay_s": 0.001},
    "bom-crlf-awkward": {"bom": True, "line_ending": "\r\n", "split": "awkward"},
    "gzip-per-event": {"content_encoding": "gzip"},
    "content-length-body": {"body_framing": "length"},
    "close-delimited-awkward": {"body_framing": "close", "split": "awkward"},
    "deflate-crlf-awkward": {
        "content_encoding": "deflate",
        "line_ending": "\r\n",
        "split": "awkward",
    },
}
DIALECTS = ("reasoning_content", "reasoning", "think_tags", "none", "content_parts")


def conversation() -> Conversation:
    return Conversation((Message("user", PROMPT),), system=SYSTEM)


async def run_reply(
    target: ResolvedModel,
    client: httpx.AsyncClient | None = None,
    settings: Settings = ONE_ATTEMPT,
) -> tuple[Reply, list[TimedEvent]]:
    """Stream one reply to the end; return the consolidated reply and every event."""
    stream = ReplyStream(target, conversation(), settings, client=client)
    events: list[TimedEvent] = []
    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        async for timed in stream.events():
            events.append(timed)
    return stream.reply(), events


def expected_usage(scenario: Scenario) -> Usage:
    return Usage(
        input_tokens=scenario.prompt_tokens,
        output_tokens=scenario.completion_count(),
        reasoning_tokens=0 if scenario.dialect == "think_tags" else scenario.reasoning_count(),
        cached_input_tokens=scenario.cached_tokens,
        cost_usd=scenario.cost,
    )


def kinds(events: list[TimedEvent]) -> list[type]:
    return [type(t.event) for t in events]


def without_timing(reply: Reply) -> Reply:
    return dataclasses.replace(reply, metrics=Metrics())


# ----------------------------------------------------------------------------- full replies


@pytest.mark.parametrize("framing", list(FRAMINGS), ids=list(FRAMINGS))
@pytest.mark.parametrize("dialect", DIALECTS)
async def test_full_reply_is_consolidated(
    fake_server: FakeServer, fake_target: ResolvedModel, dialect: Dialect, framing: str
) -> None:
    scenario = Scenario(dialect=dialect, **FRAMINGS[framing])
    fake_server.scenario = scenario

    reply, events = await run_reply(fake_target)

    if dialect == "think_tags":
        # The tags and the blank lines around the thoughts are markup, not reasoning.
        assert reply.reasoning.strip() == scenario.reasoning
    else:
        assert reply.reasoning == scenario.expected_reasoning
    assert reply.text == scenario.answer
    assert "\u2028" in reply.text and "🚀" in reply.text
    assert reply.finish_reason == "stop"
    assert reply.error is None
    assert reply.warnings == ()
    assert reply.usage == expected_usage(scenario)
    assert reply.model == "openai:test-model"
    # openai: models are priced as OpenAI's wherever they are served; "test-model" has no
    # known price, so the cost is unknown (never a made-up $0).
    assert reply.cost == Cost(None, "unknown")
    assert isinstance(events[0].event, Started)
    # The usage chunk comes after the finish chunk on the wire, and is kept.
    assert kinds(events).count(Finish) == 1
    assert isinstance(events[-1].event, Finish | UsageUpdate)
    assert [t.at for t in events] == sorted(t.at for t in events)
    metrics = reply.metrics
    assert metrics.ttft_ms is not None and metrics.ttft_ms >= 0
    assert metrics.first_answer_ms is not None and metrics.first_answer_ms >= metrics.ttft_ms
    assert metrics.duration_ms is not None and metrics.duration_ms >= metrics.first_answer_ms
    if scenario.split == "whole" or scenario.body_framing != "chunked":
        # Without chunk boundaries the client may read the whole body at once, and then
        # there is no span to measure a rate over.
        assert metrics.tokens_per_s is None or metrics.tokens_per_s > 0
    else:
        assert metrics.tokens_per_s is not None and metrics.tokens_per_s > 0


async def test_reasoning_comes_before_the_answer(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    reply, events = await run_reply(fake_target)
    deltas = [t.event for t in events if isinstance(t.event, ReasoningDelta | TextDelta)]
    first_text = next(i for i, e in enumerate(deltas) if isinstance(e, TextDelta))
    assert all(isinstance(e, ReasoningDelta) for e in deltas[:first_text])
    assert all(isinstance(e, TextDelta) for e in deltas[first_text:])
    assert [e.text for e in deltas[first_text:]] == fake_server.scenario.answer_pieces
    assert reply.metrics.first_answer_ms is not None and reply.metrics.ttft_ms is not None
    assert reply.metrics.first_answer_ms >= reply.metrics.ttft_ms


@pytest.mark.parametrize("tokens_per_chunk", [1, 2, 5])
async def test_think_tags_without_the_opening_tag(
    fake_server: FakeServer, fake_target: ResolvedModel, tokens_per_chunk: int
) -> None:
    """QwQ/Qwen3 templates put <think> in the prompt: only </think> reaches the client."""
    scenario = Scenario(
        dialect="think_tags", think_open_tag=False, tokens_per_chunk=tokens_per_chunk
    )
    fake_server.scenario = scenario
    reply, events = await run_reply(fake_target)
    assert reply.reasoning.strip() == scenario.reasoning
    assert reply.text == scenario.answer
    assert reply.finish_reason == "stop"
    assert AnswerWasReasoning in kinds(events)


SPLITS: list[dict[str, Any]] = [
    {"split": "event"},
    {"split": "whole"},
    {"split": "awkward"},
    {"split": "bytewise"},
    {"split": 2},
    {"split": 3},
    {"split": 5},
    {"split": 64},
    {"line_ending": "\r\n", "split": "event"},
    {"line_ending": "\r\n", "split": "awkward"},
    {"line_ending": "\r\n", "split": 2},
    {"keepalive_comments": True, "split": "awkward"},
]


async def test_same_reply_however_the_bytes_are_split(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    results: list[tuple[Reply, list[Event]]] = []
    for framing in SPLITS:
        fake_server.scenario = Scenario(**framing)
        reply, timed = await run_reply(fake_target)
        results.append((without_timing(reply), [t.event for t in timed]))
    first_reply, first_events = results[0]
    assert first_reply.text == Scenario().answer
    for (reply, events), framing in zip(results[1:], SPLITS[1:], strict=True):
        assert reply == first_reply, framing
        assert events == first_events, framing


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=30_000), max_size=40),
    crlf=st.booleans(),
    dialect=st.sampled_from(DIALECTS),
)
def test_any_split_gives_the_same_events(
    fake_server: FakeServer, cuts: list[int], crlf: bool, dialect: Dialect
) -> None:
    base = Scenario(dialect=dialect, line_ending="\r\n" if crlf else "\n")
    target = fake_model(fake_server)

    async def both() -> tuple[list[object], list[object]]:
        fake_server.scenario = base
        _, reference = await run_reply(target)
        fake_server.scenario = base.but(split=tuple(cuts))
        _, split = await run_reply(target)
        return [t.event for t in reference], [t.event for t in split]

    reference, split = asyncio.run(both())
    assert split == reference


async def test_client_reads_at_least_every_cut_the_server_makes(fake_server: FakeServer) -> None:
    """The fake's splits reach the client: each server write is its own HTTP chunk."""
    scenario = Scenario(line_ending="\r\n", split="awkward")
    fake_server.scenario = scenario
    frames = render_frames(scenario, "test-model", include_usage=True)
    pieces = split_wire(frames, "awkward")
    server_cuts = set(_cut_points(pieces))
    async with httpx.AsyncClient(timeout=SAFETY_TIMEOUT_S) as client:
        async with client.stream(
            "POST",
            fake_server.base_url + "/v1/chat/completions",
            json={"model": "test-model", "stream": True, "stream_options": {"include_usage": True}},
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            reads = [chunk async for chunk in response.aiter_raw()]
    assert b"".join(reads) == b"".join(pieces)
    assert server_cuts <= set(_cut_points(reads))
    # The awkward cuts really are awkward: inside a character and between CR and LF.
    wire = b"".join(pieces)
    assert any(wire[c - 1] >= 0xC0 for c in server_cuts)
    assert any(wire[c - 1 : c + 1] == b"\r\n" for c in server_cuts)


def _cut_points(pieces: list[bytes]) -> Iterator[int]:
    offset = 0
    for piece in pieces[:-1]:
        offset += len(piece)
        yield offset


# ----------------------------------------------------------------------------- the request


async def test_request_carries_key_stream_flag_and_usage_option(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    await run_reply(fake_target)

    [request] = fake_server.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.header("authorization") == f"Bearer {API_KEY}"
    assert request.header("content-type") == "application/json"
    assert request.header("accept") == "text/event-stream"
    body = request.json
    assert body["model"] == "test-model"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": PROMPT},
    ]


async def test_wrong_key_is_refused_by_a_strict_server(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario(api_key="sk-the-right-one")
    reply, _ = await run_reply(fake_model(fake_server))
    assert reply.finish_reason == "error"
    assert reply.error is not None and reply.error.status == 401


async def test_connection_is_reused_between_replies(fake_server: FakeServer) -> None:
    target = fake_model(fake_server)
    fake_server.queue(Scenario(answer="first"), Scenario(answer="second"))
    async with make_client(target) as client:
        first, _ = await run_reply(target, client)
        second, _ = await run_reply(target, client)
    assert (first.text, second.text) == ("first", "second")
    assert first.finish_reason == second.finish_reason == "stop"


async def test_models_endpoint(fake_server: FakeServer) -> None:
    async with httpx.AsyncClient(timeout=SAFETY_TIMEOUT_S) as client:
        response = await client.get(fake_server.base_url + "/v1/models")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["data"]] == ["test-model", "deepseek-reasoner"]


# ----------------------------------------------------------------------------- HTTP errors


@pytest.mark.parametrize(
    ("scenario", "status", "retryable", "server_says"),
    [
        (Scenario.http_error(401), 401, False, "Incorrect API key provided"),
        (Scenario.http_error(403), 403, False, "You are not allowed to use this model."),
        (Scenario.http_error(404), 404, False, "The model `test-model` does not exist."),
        (Scenario.http_error(429), 429, True, "Rate limit reached for test-model"),
        (Scenario.http_error(500), 500, True, "The server had an error while processing"),
        (
            Scenario.http_error(503, plain="upstream connect error or disconnect/reset\r\n"),
            503,
            True,
            "upstream connect error or disconnect/reset",
        ),
    ],
    ids=["401", "403", "404", "429", "500", "503-plain"],
)
async def test_http_error_is_one_line_with_the_servers_message(
    fake_server: FakeServer,
    fake_target: ResolvedModel,
    scenario: Scenario,
    status: int,
    retryable: bool,
    server_says: str,
) -> None:
    fake_server.scenario = scenario
    reply, events = await run_reply(fake_target)

    assert kinds(events) == [Started, StreamError, Finish]
    error = reply.error
    assert error is not None
    assert server_says in error.message
    assert str(status) in error.message
    assert "\n" not in error.message and "\r" not in error.message
    assert API_KEY not in error.message
    assert error.retryable is retryable
    assert error.status == status
    assert reply.finish_reason == "error"
    assert reply.text == "" and reply.reasoning == ""


async def test_401_body_echoing_the_key_is_redacted(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario.http_error(401)
    reply, _ = await run_reply(fake_target)
    # The fake server really did put the key in its body; chatterm must not repeat it.
    assert fake_server.requests[0].header("authorization") == f"Bearer {API_KEY}"
    assert reply.error is not None
    assert API_KEY not in reply.error.message
    assert "secret" not in reply.error.message


# ----------------------------------------------------------------------------- mid-stream faults


@pytest.mark.parametrize("done_after_error", [True, False], ids=["then-DONE", "then-close"])
async def test_midstream_error_keeps_the_partial_reply(
    fake_server: FakeServer, fake_target: ResolvedModel, done_after_error: bool
) -> None:
    base = Scenario()
    answer_events = 5
    after = 1 + len(base.reasoning_pieces) + answer_events
    fake_server.scenario = base.but(error_after=after, done_after_error=done_after_error)

    reply, events = await run_reply(fake_target)

    assert reply.reasoning == base.reasoning
    assert reply.text == "".join(base.answer_pieces[:answer_events])
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert "The server had an error while processing your request" in reply.error.message
    assert "\n" not in reply.error.message
    assert reply.usage.estimated  # no usage chunk ever came
    assert kinds(events)[-2:] == [StreamError, Finish]


@pytest.mark.parametrize("events_sent", [1, 4, 60])
async def test_truncated_stream_is_interrupted_and_keeps_the_text(
    fake_server: FakeServer, fake_target: ResolvedModel, events_sent: int
) -> None:
    base = Scenario()
    fake_server.scenario = base.but(truncate_after=events_sent)
    frames = render_frames(base.but(truncate_after=events_sent))
    reasoning, text = reconstruct(frames)

    reply, _ = await run_reply(fake_target)

    assert reply.finish_reason == "interrupted"
    assert (reply.reasoning, reply.text) == (reasoning, text)
    assert reply.error is not None and reply.error.retryable
    assert "ended before the model finished" in reply.error.message


async def test_done_without_finish_reason_is_a_complete_stop(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(finish_reason=None)
    reply, _ = await run_reply(fake_target)
    assert (reply.finish_reason, reply.error) == ("stop", None)
    assert reply.text == Scenario().answer
    assert reply.warnings == (
        "the server sent no finish reason; the stream ended properly, so the reply is complete",
    )


async def test_no_finish_reason_and_no_done_is_interrupted(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(finish_reason=None, done=False)
    reply, _ = await run_reply(fake_target)
    assert reply.finish_reason == "interrupted"
    assert reply.text == Scenario().answer


async def test_finish_then_close_without_done_is_a_clean_stop(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(done=False, usage_chunk=False)
    reply, _ = await run_reply(fake_target)
    assert reply.finish_reason == "stop"
    assert reply.error is None
    assert reply.usage.estimated


@pytest.mark.parametrize("split", ["event", "awkward"])
@pytest.mark.parametrize("line_ending", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("body_framing", ["chunked", "length"])
async def test_abrupt_close_mid_line_is_interrupted_and_says_the_connection_dropped(
    fake_server: FakeServer,
    fake_target: ResolvedModel,
    split: Any,
    line_ending: Any,
    body_framing: Any,
) -> None:
    base = Scenario(split=split, line_ending=line_ending, body_framing=body_framing)
    frames = render_frames(base)
    cut_in = 1 + len(base.reasoning_pieces) + 7  # the 8th answer event, cut in half
    fake_server.scenario = base.but(drop_after_bytes=mid_frame_offset(frames, cut_in))

    reply, events = await run_reply(fake_target)

    assert reply.finish_reason == "interrupted"
    assert reply.reasoning == base.reasoning
    assert reply.text == "".join(base.answer_pieces[:7])
    assert reply.error is not None
    assert "dropped" in reply.error.message
    assert f"127.0.0.1:{fake_server.port}" in reply.error.message
    assert reply.error.retryable
    assert "\n" not in reply.error.message
    assert [type(t.event) for t in events].count(StreamError) == 1


async def test_close_delimited_body_cut_mid_line_is_interrupted(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    """Without chunking or a length, a drop looks like the end: the text is still kept."""
    base = Scenario(body_framing="close", split="awkward")
    cut_in = 1 + len(base.reasoning_pieces) + 7
    fake_server.scenario = base.but(drop_after_bytes=mid_frame_offset(render_frames(base), cut_in))
    reply, _ = await run_reply(fake_target)
    assert reply.finish_reason == "interrupted"
    assert reply.text == "".join(base.answer_pieces[:7])
    assert reply.error is not None and reply.error.retryable


async def test_hang_up_without_a_response(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(hang_up=True)
    reply, events = await run_reply(fake_target)
    assert kinds(events) == [Started, StreamError, Finish]
    assert reply.finish_reason == "error"
    assert reply.error is not None and reply.error.retryable
    assert f"127.0.0.1:{fake_server.port}" in reply.error.message
    assert "\n" not in reply.error.message


async def test_silence_past_the_read_timeout_is_interrupted_with_text_kept(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    # Everything before the stall goes out in one write, so the read timeout can only fire
    # in the silence after it (it always does: the server never sends more).
    base = Scenario(split="whole")
    fake_server.scenario = base.but(stall_after=1 + len(base.reasoning_pieces) + 2)
    settings = Settings(network=NetworkSettings(idle_timeout=2.0))
    reply, _ = await run_reply(fake_target, settings=settings)
    assert reply.finish_reason == "interrupted"
    assert reply.text == "".join(base.answer_pieces[:2])
    assert reply.error is not None and reply.error.retryable
    assert "went silent for 2 s mid-reply (network.idle_timeout)" in reply.error.message


async def test_connection_refused_is_a_clear_error() -> None:
    # A bound socket that never listens: connecting to it is refused, and nobody can take it.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}
        target = resolve_model("openai:test-model", Settings(), env=env)
        reply, events = await run_reply(target)

    assert kinds(events) == [Started, StreamError, Finish]
    assert reply.finish_reason == "error"
    assert reply.error is not None
    message = reply.error.message
    assert f"cannot connect to 127.0.0.1:{port}" in message
    assert "\n" not in message and API_KEY not in message
    assert reply.error.retryable


async def test_a_line_that_is_not_json_is_skipped_with_a_warning(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(garbage_after=3)
    reply, events = await run_reply(fake_target)
    assert reply.finish_reason == "stop"
    assert reply.text == Scenario().answer
    assert len(reply.warnings) == 1 and "not JSON" in reply.warnings[0]
    assert StreamWarning in kinds(events)


async def test_no_usage_chunk_means_estimated_usage(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(usage_chunk=False)
    reply, _ = await run_reply(fake_target)
    assert reply.finish_reason == "stop"
    assert reply.usage.estimated
    assert reply.usage.output_tokens > 0
    assert reply.cost is not None and reply.cost.estimated


@pytest.mark.parametrize(
    ("wire_reason", "finish"),
    [("length", "length"), ("content_filter", "content_filter"), ("tool_calls", "tool_calls")],
)
async def test_finish_reasons(
    fake_server: FakeServer, fake_target: ResolvedModel, wire_reason: str, finish: str
) -> None:
    fake_server.scenario = Scenario(finish_reason=wire_reason)
    reply, _ = await run_reply(fake_target)
    assert reply.finish_reason == finish
    assert reply.error is None


# ----------------------------------------------------------------------------- cancellation


async def test_cancelling_during_a_stall_closes_the_connection(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    base = Scenario()
    answer_events = 3
    fake_server.scenario = base.but(stall_after=1 + len(base.reasoning_pieces) + answer_events)
    stream = ReplyStream(fake_target, conversation(), Settings())
    enough = asyncio.Event()
    texts: list[str] = []

    async def consume() -> None:
        async for timed in stream.events():
            if isinstance(timed.event, TextDelta):
                texts.append(timed.event.text)
                if len(texts) == answer_events:
                    enough.set()

    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        task = asyncio.create_task(consume())
        await enough.wait()
        # The server has sent everything it will send and is now stalling.
        [request] = fake_server.requests
        assert not request.client_closed.is_set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # Seen from the server: the client hung up.
        assert await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)

    stream.cancel()
    reply = stream.reply()
    assert reply.finish_reason == "cancelled"
    assert reply.reasoning == base.reasoning
    assert reply.text == "".join(base.answer_pieces[:answer_events])
    assert reply.error is None
    assert reply.usage.estimated


async def test_stream_reply_generator_closed_early_closes_the_connection(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(stall_after=5)
    async with make_client(fake_target) as client, asyncio.timeout(SAFETY_TIMEOUT_S):
        events = stream_reply(client, fake_target, conversation())
        assert isinstance(events, AsyncGenerator)
        seen = 0
        async for timed in events:
            if isinstance(timed.event, ReasoningDelta):
                seen += 1
                if seen == 3:
                    break
        await events.aclose()
        [request] = fake_server.requests
        assert await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)


# ----------------------------------------------------------------------------- cost


async def test_server_reported_cost_wins(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(cost=0.00123)
    reply, _ = await run_reply(fake_target)
    assert reply.usage.cost_usd == pytest.approx(0.00123)
    assert reply.cost is not None
    assert reply.cost.source == "server"
    assert reply.cost.usd == pytest.approx(0.00123)


# ----------------------------------------------------------------------------- odd servers


@pytest.mark.parametrize("status", [301, 307, 308])
async def test_redirect_is_an_error_naming_the_status(
    fake_server: FakeServer, fake_target: ResolvedModel, status: int
) -> None:
    """A base URL that redirects (http to https, a moved endpoint) is not a reply."""
    location = "https://api.example.invalid/v1/chat/completions"
    fake_server.scenario = Scenario(status=status, error_headers=(("location", location),))
    reply, _ = await run_reply(fake_target)
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert reply.error.status == status
    assert str(status) in reply.error.message


ERROR_OBJECT = '{"error":{"code":500,"message":"model failed to load","type":"server_error"}}'


@pytest.mark.parametrize(
    ("raw", "sent_before"),
    [
        # Old llama.cpp builds: the error as an `error:` field, which SSE decoders ignore.
        (f"error: {ERROR_OBJECT}\n\n", 3),
        # A server that answers 200 with a plain JSON error body instead of a stream.
        (ERROR_OBJECT + "\n", 0),
    ],
    ids=["llama-cpp-error-field", "json-body-with-200"],
)
async def test_error_outside_sse_data_is_surfaced(
    fake_server: FakeServer, fake_target: ResolvedModel, raw: str, sent_before: int
) -> None:
    fake_server.scenario = Scenario(raw_after=(sent_before, raw), truncate_after=sent_before)
    reply, _ = await run_reply(fake_target)
    assert reply.finish_reason in ("error", "interrupted")
    assert reply.error is not None
    assert "model failed to load" in reply.error.message
