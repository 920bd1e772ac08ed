"""The official ``anthropic`` SDK reads the fake server's Messages streams.

An independent check that :mod:`chatterm.testing.fakeserver` speaks Anthropic's real wire
format: the SDK (a test dependency only; chatterm never imports it) consumes the streams
with its own SSE decoder and its own snapshot accumulator (``messages.stream``), and must
rebuild the thinking, the signature, the text, the usage and the stop reason the scenario
scripted, and raise its own error types for the faults.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import anthropic
import pytest

from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, Scenario, after_answer, render

SAFETY_TIMEOUT_S = 60.0
MODEL = "claude-fake-test"  # a name the SDK does not know (it warns about old ones)
PROMPT = "Tell me about naïve text handling"
SYSTEM = "Be brief."
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"


def client(server: FakeServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key=API_KEY, base_url=server.base_url, max_retries=0, timeout=SAFETY_TIMEOUT_S
    )


def request(**extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 4096,
        "system": SYSTEM,
        "messages": [{"role": "user", "content": PROMPT}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        **extra,
    }


@dataclass
class Streamed:
    """What the SDK's ``messages.stream`` helper saw and rebuilt."""

    thinking: str = ""
    text: str = ""
    final: Any = None
    event_types: list[str] = field(default_factory=list)


async def sdk_stream(server: FakeServer, streamed: Streamed | None = None) -> Streamed:
    """``messages.stream``: the helper events, then the accumulated final message."""
    streamed = streamed if streamed is not None else Streamed()
    async with client(server) as sdk, asyncio.timeout(SAFETY_TIMEOUT_S):
        async with sdk.messages.stream(**request()) as stream:
            async for event in stream:
                streamed.event_types.append(event.type)
                if event.type == "thinking":
                    streamed.thinking += event.thinking
                elif event.type == "text":
                    streamed.text += event.text
            streamed.final = await stream.get_final_message()
    return streamed


SCENARIOS = {
    "default": Scenario(),
    "crlf-awkward-split": Scenario(line_ending="\r\n", split="awkward"),
    "bytewise": Scenario(split="bytewise", answer="Ünïcödé 🚀 split by bytes"),
    "3-tokens-per-delta": Scenario(tokens_per_chunk=3),
    "padded-json": Scenario(json_padding=True),
    "keepalive-comments": Scenario(keepalive_comments=True),
    "cached-input": Scenario(cached_tokens=12),
    "no-thinking": Scenario(reasoning=""),
    "max-tokens": Scenario(finish_reason="length"),
    "gzip": Scenario(content_encoding="gzip", split="awkward"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
async def test_the_sdk_rebuilds_the_scripted_message(
    fake_server: FakeServer, scenario: Scenario
) -> None:
    fake_server.scenario = scenario
    streamed = await sdk_stream(fake_server)
    final = streamed.final

    assert streamed.thinking == scenario.reasoning
    assert streamed.text == scenario.answer
    assert final.model == MODEL
    assert final.role == "assistant"
    blocks = [block.type for block in final.content]
    if scenario.reasoning:
        assert blocks == ["thinking", "text"]
        assert final.content[0].thinking == scenario.reasoning
        assert final.content[0].signature == SIGNATURE
        assert final.usage.output_tokens_details.thinking_tokens == scenario.reasoning_count()
    else:
        assert blocks == ["text"]
    assert final.content[-1].text == scenario.answer
    assert (
        final.stop_reason
        == {"stop": "end_turn", "length": "max_tokens"}[scenario.finish_reason or ""]
    )
    usage = final.usage
    # input_tokens leaves out the cached part, as Anthropic counts it.
    assert usage.input_tokens + usage.cache_read_input_tokens == scenario.prompt_tokens
    assert usage.cache_read_input_tokens == scenario.cached_tokens
    assert usage.cache_creation_input_tokens == 0
    assert usage.output_tokens == scenario.completion_count()  # message_delta, not the placeholder


async def test_raw_events_come_in_the_documented_order(fake_server: FakeServer) -> None:
    """``create(stream=True)``: the raw events, ping skipped by the SDK as it should be."""
    scenario = Scenario(tokens_per_chunk=8)
    fake_server.scenario = scenario
    types: list[str] = []
    indexes: list[int] = []
    async with client(fake_server) as sdk, asyncio.timeout(SAFETY_TIMEOUT_S):
        stream = await sdk.messages.create(**request(), stream=True)
        async with stream:
            async for event in stream:
                types.append(event.type)
                if event.type.startswith("content_block"):
                    indexes.append(event.index)
                if event.type == "message_start":
                    assert event.message.usage.output_tokens == 1  # a placeholder
                    assert event.message.content == []
                if event.type == "content_block_delta" and event.delta.type == "signature_delta":
                    assert event.delta.signature == SIGNATURE
                if event.type == "message_delta":
                    assert event.delta.stop_reason == "end_turn"
                    assert event.usage.output_tokens == scenario.completion_count()

    thinking = len(scenario.reasoning_pieces)
    text = len(scenario.answer_pieces)
    assert types == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * (thinking + 1),  # the thinking, then its signature
        "content_block_stop",
        "content_block_start",
        *["content_block_delta"] * text,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert indexes == [0] * (thinking + 3) + [1] * (text + 2)
    # The server did send a ping (the SDK drops it, as it should).
    wire = b"".join(frame.wire for frame in render("anthropic", scenario, MODEL))
    assert wire.count(b"event: ping\n") == 1


async def test_the_request_the_sdk_sends_passes_the_servers_checks(
    fake_server: FakeServer,
) -> None:
    await sdk_stream(fake_server)
    [recorded] = fake_server.requests
    assert (recorded.method, recorded.route, recorded.format) == (
        "POST",
        "/v1/messages",
        "anthropic",
    )
    assert recorded.status == 200
    # This SDK version sends the key as a bearer token (the API takes either) and a newer
    # anthropic-version than the 2023-06-01 that chatterm sends.
    assert f"Bearer {API_KEY}" == recorded.header("authorization") or (
        recorded.header("x-api-key") == API_KEY
    )
    assert recorded.header("anthropic-version")
    assert recorded.json["stream"] is True
    assert recorded.json["thinking"] == {"type": "enabled", "budget_tokens": 2048}


async def test_redacted_thinking_is_kept_verbatim(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario(redacted_thinking=True)
    final = (await sdk_stream(fake_server)).final
    assert [block.type for block in final.content] == ["redacted_thinking", "thinking", "text"]
    assert final.content[0].data.startswith("Emw")
    assert final.content[1].thinking == Scenario().reasoning


async def test_midstream_overloaded_error_raises_after_the_partial_text(
    fake_server: FakeServer,
) -> None:
    base = Scenario()
    fake_server.scenario = base.but(error_after=after_answer(3))
    streamed = Streamed()
    with pytest.raises(anthropic.APIStatusError) as raised:
        await sdk_stream(fake_server, streamed)

    assert streamed.thinking == base.reasoning
    assert streamed.text == "".join(base.answer_pieces[:3])
    body = raised.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "overloaded_error"
    assert body["error"]["message"] == "Overloaded"
    assert raised.value.status_code == 200  # the stream had started


@pytest.mark.parametrize(
    ("scenario", "sdk_error", "error_type"),
    [
        (Scenario.http_error(529), anthropic.OverloadedError, "overloaded_error"),
        (Scenario.http_error(429), anthropic.RateLimitError, "rate_limit_error"),
        (Scenario.http_error(500), anthropic.InternalServerError, "api_error"),
        (Scenario.http_error(404), anthropic.NotFoundError, "not_found_error"),
        (
            Scenario(api_key="sk-the-right-one"),
            anthropic.AuthenticationError,
            "authentication_error",
        ),
    ],
    ids=["529", "429", "500", "404", "wrong-key"],
)
async def test_http_errors_are_the_sdks_own_types(
    fake_server: FakeServer,
    scenario: Scenario,
    sdk_error: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    fake_server.scenario = scenario
    with pytest.raises(sdk_error) as raised:
        await sdk_stream(fake_server)

    error = raised.value
    assert isinstance(error.body, dict)
    assert error.body["type"] == "error"
    assert error.body["error"]["type"] == error_type
    assert error.body["request_id"] == error.response.headers["request-id"]
    if error.status_code in (429, 529):
        assert error.response.headers["retry-after"] == "3"
        assert error.response.headers["retry-after-ms"] == "3000"
    if error.status_code == 404:
        assert error.body["error"]["message"] == f"model: {MODEL}"


async def test_a_dropped_connection_is_a_connection_error(fake_server: FakeServer) -> None:
    """The SDK's public error family for a lost connection, not the transport class it
    wraps (which changes between releases)."""
    base = Scenario(split="awkward")
    fake_server.scenario = base.but(drop_mid=after_answer(3))
    streamed = Streamed()
    with pytest.raises(anthropic.APIConnectionError) as raised:
        await sdk_stream(fake_server, streamed)
    assert not isinstance(raised.value, anthropic.APITimeoutError)  # dropped, not slow
    assert streamed.text == "".join(base.answer_pieces[:3])


async def test_a_truncated_stream_has_no_stop_reason(fake_server: FakeServer) -> None:
    base = Scenario()
    fake_server.scenario = base.but(truncate_after=after_answer(5))
    streamed = await sdk_stream(fake_server)
    assert streamed.text == "".join(base.answer_pieces[:5])
    assert streamed.final.stop_reason is None


async def test_bad_requests_are_refused_like_the_real_api(fake_server: FakeServer) -> None:
    async with client(fake_server) as sdk, asyncio.timeout(SAFETY_TIMEOUT_S):
        with pytest.raises(anthropic.BadRequestError) as raised:
            await sdk.messages.create(
                **request(thinking={"type": "enabled", "budget_tokens": 512}), stream=True
            )
        assert "budget_tokens" in raised.value.message
        with pytest.raises(anthropic.BadRequestError) as raised:
            await sdk.messages.create(
                **request(messages=[{"role": "system", "content": "no"}]), stream=True
            )
        assert "top-level `system` parameter" in raised.value.message
