"""The official ``openai`` SDK reads the fake server's streams the way chatterm does.

An independent check that the fake server speaks the real wire format: for each scenario
the SDK (a test dependency only; chatterm never imports it) and chatterm's own pipeline
consume the same bytes from the same server, and reconstruct the same text, reasoning,
usage and finish reason. Errors line up too: status codes, messages, what counts as
retryable, and what a cut connection looks like.

The Responses API (``responses.create(stream=True)`` and the strict ``responses.stream``
helper) is read by the SDK alone: it must rebuild the reasoning summary, the text, the
usage and the terminal status, and raise or yield its own error types for the faults.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest

from chatterm.config import Settings
from chatterm.events import Conversation, Message
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.accumulate import Reply
from chatterm.reply.live import ReplyStream
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import (
    FakeServer,
    Scenario,
    after_answer,
    mid_frame_offset,
    render_frames,
)
from tests.waiting import FakeSleep

SAFETY_TIMEOUT_S = 60.0
PROMPT = "Tell me about naïve text handling"
SYSTEM = "Be brief."


@dataclass
class SdkResult:
    content: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Any = None
    chunks: int = 0
    models: set[str] = field(default_factory=set)


async def sdk_reply(server: FakeServer) -> SdkResult:
    """What the official SDK reconstructs from one streamed completion."""
    result = SdkResult()
    async with (
        openai.AsyncOpenAI(
            api_key=API_KEY,
            base_url=server.base_url + "/v1",
            max_retries=0,
            timeout=SAFETY_TIMEOUT_S,
        ) as client,
        asyncio.timeout(SAFETY_TIMEOUT_S),
    ):
        stream = await client.chat.completions.create(
            model="test-model",
            messages=[
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": PROMPT},
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
        async with stream:
            async for chunk in stream:
                result.chunks += 1
                result.models.add(chunk.model)
                assert chunk.object == "chat.completion.chunk"
                if chunk.usage is not None:
                    result.usage = chunk.usage
                for choice in chunk.choices:
                    assert choice.index == 0
                    delta = choice.delta
                    result.content += delta.content or ""
                    extra = delta.model_extra or {}
                    result.reasoning += extra.get("reasoning_content") or ""
                    result.reasoning += extra.get("reasoning") or ""
                    if choice.finish_reason is not None:
                        result.finish_reason = choice.finish_reason
    return result


async def chatterm_reply(target: ResolvedModel) -> Reply:
    conversation = Conversation((Message("user", PROMPT),), system=SYSTEM)
    stream = ReplyStream(target, conversation, Settings(), sleep=FakeSleep())  # retries at once
    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        async for _ in stream.events():
            pass
    return stream.reply()


SCENARIOS = {
    "deepseek-lf": Scenario(),
    "crlf": Scenario(line_ending="\r\n"),
    "crlf-awkward-split": Scenario(line_ending="\r\n", split="awkward"),
    "lf-awkward-split": Scenario(split="awkward"),
    "5-byte-writes": Scenario(split=5),
    "whole-body": Scenario(split="whole"),
    "gzip": Scenario(content_encoding="gzip", split="awkward"),
    "content-length-body": Scenario(body_framing="length", line_ending="\r\n"),
    "close-delimited-body": Scenario(body_framing="close", split=3),
    "keepalive-comments": Scenario(keepalive_comments=True, line_ending="\r\n"),
    "data-without-space": Scenario(data_space=False),
    "vllm-reasoning-field": Scenario(dialect="reasoning", tokens_per_chunk=3),
    "openai-no-reasoning-text": Scenario(dialect="none", cached_tokens=12),
    "server-cost": Scenario(cost=0.0042),
    "finish-length": Scenario(finish_reason="length"),
    "no-usage-chunk": Scenario(usage_chunk=False),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS.values()), ids=list(SCENARIOS))
async def test_sdk_and_chatterm_reconstruct_the_same_reply(
    fake_server: FakeServer, fake_target: ResolvedModel, scenario: Scenario
) -> None:
    fake_server.scenario = scenario
    sdk = await sdk_reply(fake_server)
    reply = await chatterm_reply(fake_target)

    # The SDK parsed every chunk of the real shape, and got the scripted reply.
    assert sdk.models == {"test-model"}
    assert sdk.content == scenario.answer
    assert sdk.reasoning == scenario.expected_reasoning
    # chatterm agrees with it.
    assert reply.text == sdk.content
    assert reply.reasoning == sdk.reasoning
    assert reply.finish_reason == sdk.finish_reason == scenario.finish_reason
    if not scenario.usage_chunk:
        assert sdk.usage is None
        assert reply.usage.estimated
        return
    usage = sdk.usage
    assert usage is not None
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert reply.usage.input_tokens == usage.prompt_tokens
    assert reply.usage.output_tokens == usage.completion_tokens
    assert reply.usage.reasoning_tokens == usage.completion_tokens_details.reasoning_tokens
    assert reply.usage.cached_input_tokens == usage.prompt_tokens_details.cached_tokens
    assert not reply.usage.estimated
    assert reply.usage.cost_usd == (usage.model_extra or {}).get("cost")


async def test_think_tags_reach_the_sdk_raw_and_chatterm_split(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    scenario = Scenario(dialect="think_tags", split="awkward")
    fake_server.scenario = scenario
    sdk = await sdk_reply(fake_server)
    reply = await chatterm_reply(fake_target)

    assert sdk.content == f"<think>\n{scenario.reasoning}\n</think>\n\n{scenario.answer}"
    assert sdk.reasoning == ""
    assert reply.text == scenario.answer
    assert reply.reasoning.strip() == scenario.reasoning
    assert reply.finish_reason == sdk.finish_reason == "stop"


async def test_chatterm_sends_the_request_the_sdk_sends(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    await sdk_reply(fake_server)
    await chatterm_reply(fake_target)

    sdk_request, chatterm_request = fake_server.wait_for_requests(2)
    assert sdk_request.json == chatterm_request.json
    for request in (sdk_request, chatterm_request):
        assert (request.method, request.path) == ("POST", "/v1/chat/completions")
        assert request.header("authorization") == f"Bearer {API_KEY}"
        assert (request.header("content-type") or "").startswith("application/json")


async def test_midstream_error_raises_in_the_sdk_and_ends_chatterm_with_error(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    base = Scenario()
    after = 1 + len(base.reasoning_pieces) + 4
    fake_server.scenario = base.but(error_after=after)

    with pytest.raises(openai.APIError) as raised:
        await sdk_reply(fake_server)
    reply = await chatterm_reply(fake_target)

    assert raised.value.message in (reply.error.message if reply.error else "")
    assert reply.finish_reason == "error"
    assert reply.text == "".join(base.answer_pieces[:4])


@pytest.mark.parametrize(
    ("scenario", "sdk_error"),
    [
        (Scenario.http_error(401), openai.AuthenticationError),
        (Scenario.http_error(404), openai.NotFoundError),
        (Scenario.http_error(429), openai.RateLimitError),
        (Scenario.http_error(500), openai.InternalServerError),
        (Scenario.http_error(503, plain="upstream connect error"), openai.InternalServerError),
    ],
    ids=["401", "404", "429", "500", "503-plain"],
)
async def test_http_errors_match_the_sdk(
    fake_server: FakeServer,
    fake_target: ResolvedModel,
    scenario: Scenario,
    sdk_error: type[openai.APIStatusError],
) -> None:
    fake_server.scenario = scenario
    with pytest.raises(sdk_error) as raised:
        await sdk_reply(fake_server)
    reply = await chatterm_reply(fake_target)

    assert reply.error is not None
    assert reply.error.status == raised.value.status_code
    # The SDK retries exactly these; chatterm calls the same ones retryable.
    status = raised.value.status_code
    assert reply.error.retryable == (status in (408, 409, 429) or status >= 500)
    body = raised.value.body
    server_message = body["message"] if isinstance(body, dict) else str(body)
    if API_KEY in server_message:  # the 401 echoes the key: chatterm must hide it
        server_message = server_message.split(API_KEY)[0]
    assert server_message.strip() in reply.error.message
    assert API_KEY not in reply.error.message


async def test_truncated_stream_has_no_finish_reason_in_either(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(truncate_after=20)
    sdk = await sdk_reply(fake_server)
    reply = await chatterm_reply(fake_target)

    assert sdk.finish_reason is None
    assert reply.finish_reason == "interrupted"
    assert (reply.reasoning, reply.text) == (sdk.reasoning, sdk.content)


async def test_abrupt_close_is_a_connection_error_in_the_sdk(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    base = Scenario(line_ending="\r\n")
    fake_server.scenario = base.but(drop_after_bytes=mid_frame_offset(render_frames(base), 30))

    with pytest.raises(openai.APIConnectionError):
        await sdk_reply(fake_server)
    reply = await chatterm_reply(fake_target)

    assert reply.finish_reason == "interrupted"
    assert reply.error is not None and "dropped" in reply.error.message


async def test_models_list_through_the_sdk(fake_server: FakeServer) -> None:
    async with openai.AsyncOpenAI(
        api_key=API_KEY, base_url=fake_server.base_url + "/v1", max_retries=0, timeout=30
    ) as client:
        page = await client.models.list()
        ids = [model.id async for model in page]
    assert ids == ["test-model", "deepseek-reasoner"]


# ----------------------------------------------------------------------------- Responses API


@dataclass
class ResponsesResult:
    reasoning: str = ""
    text: str = ""
    types: list[str] = field(default_factory=list)
    sequence: list[int] = field(default_factory=list)
    final: Any = None  # the response object of the terminal event
    error_events: list[Any] = field(default_factory=list)


def responses_client(server: FakeServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=API_KEY, base_url=server.base_url + "/v1", max_retries=0, timeout=SAFETY_TIMEOUT_S
    )


RESPONSES_REQUEST: dict[str, Any] = {
    "model": "gpt-5",
    "instructions": SYSTEM,
    "input": PROMPT,
    "reasoning": {"effort": "low", "summary": "auto"},
}


async def sdk_responses(
    server: FakeServer, result: ResponsesResult | None = None
) -> ResponsesResult:
    """``responses.create(stream=True)``: every event, typed by the SDK."""
    result = result if result is not None else ResponsesResult()
    async with responses_client(server) as client, asyncio.timeout(SAFETY_TIMEOUT_S):
        stream = await client.responses.create(**RESPONSES_REQUEST, stream=True)
        async with stream:
            async for event in stream:
                result.types.append(event.type)
                result.sequence.append(event.sequence_number)
                if event.type == "response.reasoning_summary_text.delta":
                    result.reasoning += event.delta
                elif event.type == "response.output_text.delta":
                    result.text += event.delta
                elif event.type in ("response.completed", "response.incomplete", "response.failed"):
                    result.final = event.response
                elif event.type == "error":
                    result.error_events.append(event)
    return result


RESPONSES_SCENARIOS = {
    "default": Scenario(),
    "crlf-awkward-split": Scenario(line_ending="\r\n", split="awkward"),
    "3-tokens-per-delta": Scenario(tokens_per_chunk=3),
    "keepalive-comments": Scenario(keepalive_comments=True),
    "cached-input": Scenario(cached_tokens=20),
    "no-reasoning-summary": Scenario(reasoning=""),
}


@pytest.mark.parametrize(
    "scenario", list(RESPONSES_SCENARIOS.values()), ids=list(RESPONSES_SCENARIOS)
)
async def test_responses_stream_is_rebuilt_by_the_sdk(
    fake_server: FakeServer, scenario: Scenario
) -> None:
    fake_server.scenario = scenario
    result = await sdk_responses(fake_server)

    assert result.reasoning == scenario.reasoning
    assert result.text == scenario.answer
    assert result.sequence == list(range(len(result.sequence)))
    assert result.types[:2] == ["response.created", "response.in_progress"]
    assert result.types[-1] == "response.completed"
    final = result.final
    assert final.status == "completed"
    assert final.output_text == scenario.answer
    usage = final.usage
    assert usage.input_tokens == scenario.prompt_tokens
    assert usage.input_tokens_details.cached_tokens == scenario.cached_tokens
    assert usage.output_tokens == scenario.completion_count()
    assert usage.output_tokens_details.reasoning_tokens == scenario.reasoning_count()
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    if scenario.reasoning:
        assert final.output[0].type == "reasoning"
        assert final.output[0].summary[0].text == scenario.reasoning


async def test_responses_stream_helper_accumulates_a_consistent_snapshot(
    fake_server: FakeServer,
) -> None:
    """``responses.stream`` checks item identities and ordering strictly, and raises on any
    event that does not fit the snapshot it builds."""
    scenario = Scenario(split="awkward")
    fake_server.scenario = scenario
    text = ""
    async with responses_client(fake_server) as client, asyncio.timeout(SAFETY_TIMEOUT_S):
        async with client.responses.stream(**RESPONSES_REQUEST) as stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    text += event.delta
                    assert event.snapshot == text
            final = await stream.get_final_response()
    assert final.output_text == text == scenario.answer
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert final.usage is not None and final.usage.output_tokens == scenario.completion_count()


@pytest.mark.parametrize(
    ("finish_reason", "reason"),
    [("length", "max_output_tokens"), ("content_filter", "content_filter")],
)
async def test_responses_incomplete(
    fake_server: FakeServer, finish_reason: str, reason: str
) -> None:
    fake_server.scenario = Scenario(finish_reason=finish_reason)
    result = await sdk_responses(fake_server)
    assert result.types[-1] == "response.incomplete"
    assert result.final.status == "incomplete"
    assert result.final.incomplete_details.reason == reason
    assert result.text == Scenario().answer
    assert result.final.usage.output_tokens == Scenario().completion_count()


async def test_responses_nested_error_event_raises_in_the_sdk(fake_server: FakeServer) -> None:
    base = Scenario()
    fake_server.scenario = base.but(error_after=after_answer(4))
    result = ResponsesResult()
    with pytest.raises(openai.APIError) as raised:
        await sdk_responses(fake_server, result)
    assert raised.value.message == ("Our servers are currently overloaded. Please try again later.")
    assert result.text == "".join(base.answer_pieces[:4])
    assert result.reasoning == base.reasoning


async def test_responses_flat_error_event_is_an_error_event(fake_server: FakeServer) -> None:
    """The documented flat shape has no ``error`` key: the SDK yields it, it does not raise."""
    base = Scenario()
    fake_server.scenario = base.but(error_after=after_answer(2), error_shape="flat")
    result = await sdk_responses(fake_server)
    [error] = result.error_events
    assert error.code == "server_is_overloaded"
    assert error.message == "Our servers are currently overloaded. Please try again later."
    assert result.types[-1] == "error"
    assert result.text == "".join(base.answer_pieces[:2])
    assert result.sequence == list(range(len(result.sequence)))


async def test_responses_failed_carries_the_error(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario(error_after=after_answer(2), error_shape="failed")
    result = await sdk_responses(fake_server)
    assert result.types[-1] == "response.failed"
    assert result.final.status == "failed"
    assert result.final.error.code == "server_error"
    assert result.final.error.message == "The model failed to generate a response."


@pytest.mark.parametrize(
    ("scenario", "sdk_error"),
    [
        (Scenario.http_error(429), openai.RateLimitError),
        (Scenario.http_error(500), openai.InternalServerError),
        (Scenario(api_key="sk-the-right-one"), openai.AuthenticationError),
    ],
    ids=["429", "500", "wrong-key"],
)
async def test_responses_http_errors(
    fake_server: FakeServer, scenario: Scenario, sdk_error: type[openai.APIStatusError]
) -> None:
    fake_server.scenario = scenario
    with pytest.raises(sdk_error) as raised:
        await sdk_responses(fake_server)
    error = raised.value
    assert isinstance(error.body, dict) and error.body["message"]
    if error.status_code == 429:
        assert error.response.headers["retry-after"] == "3"
        assert error.response.headers["retry-after-ms"] == "3000"
        assert error.code == "rate_limit_exceeded"


async def test_responses_dropped_connection_is_a_connection_error(
    fake_server: FakeServer,
) -> None:
    base = Scenario(line_ending="\r\n", split="awkward")
    fake_server.scenario = base.but(drop_mid=after_answer(3))
    result = ResponsesResult()
    with pytest.raises(openai.APIConnectionError):
        await sdk_responses(fake_server, result)
    assert result.text == "".join(base.answer_pieces[:3])
    assert result.final is None
