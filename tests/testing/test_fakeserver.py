"""The fake server itself: each route's bytes are well-formed for its format, each fault does
what it says, presets are chosen per request, and ``python -m chatterm.testing.fakeserver``
runs.

The parsers here are deliberately strict, written from each vendor's streaming docs and
independently of chatterm's decoders: they check the framing (line ends, blank lines,
field names) before they look at the JSON.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatterm.network.tls import tls_context
from chatterm.testing import fakeserver
from chatterm.testing.formats.gateway import gateway_cost
from chatterm.testing.frames import index_after, index_of
from tests.fake_provider.server import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    PRESETS,
    FakeServer,
    Scenario,
    after_answer,
    after_reasoning,
    drop_offset,
    render,
    split_wire,
)

ROOT = Path(__file__).resolve().parents[2]
SAFETY_TIMEOUT_S = 60.0
MODEL = "fake-model"
GATEWAY_KEY = "gw-secret"
USER = "Tell me about naïve text handling"

#: format → (path, JSON body, headers) of a valid streaming request
REQUESTS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    "chat": (
        "/v1/chat/completions",
        {
            "model": MODEL,
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": USER}],
        },
        {"Authorization": "Bearer sk-test"},
    ),
    "responses": (
        "/v1/responses",
        {"model": MODEL, "stream": True, "input": USER},
        {"Authorization": "Bearer sk-test"},
    ),
    "anthropic": (
        "/v1/messages",
        {
            "model": MODEL,
            "max_tokens": 4096,
            "stream": True,
            "messages": [{"role": "user", "content": USER}],
        },
        {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"},
    ),
    "gemini": (
        f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": USER}]}]},
        {"x-goog-api-key": "AIza-test"},
    ),
    "ollama": (
        "/api/chat",
        {"model": MODEL, "messages": [{"role": "user", "content": USER}]},
        {},
    ),
    "gateway": (
        "/api/v1/generate/stream",
        {
            "service_name": "google-gemini",
            "model_name": MODEL,
            "input": [{"type": "text", "name": "input", "content": USER}],
        },
        {"X-API-Key": GATEWAY_KEY, "Accept": "text/event-stream"},
    ),
}
FORMATS = list(REQUESTS)
CONTENT_TYPES = {
    name: "application/x-ndjson" if name == "ollama" else "text/event-stream; charset=utf-8"
    for name in FORMATS
}
#: what each format's mid-stream error says
MIDSTREAM = {
    "chat": "The server had an error while processing your request. Sorry about that!",
    "responses": "Our servers are currently overloaded. Please try again later.",
    "anthropic": "Overloaded",
    "gemini": "The model is overloaded. Please try again later.",
    "ollama": "an error was encountered while running the model",
    "gateway": "Upstream provider error: the model is overloaded, please retry",
}


@dataclass
class Sent:
    status: int
    headers: httpx.Headers
    body: bytes
    reads: list[bytes] = field(default_factory=list)


def send(
    server: FakeServer,
    fmt: str,
    *,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    path: str | None = None,
    timeout: httpx.Timeout | float = SAFETY_TIMEOUT_S,
) -> Sent:
    """POST the format's request and read the raw body (no decompression)."""
    default_path, default_body, default_headers = REQUESTS[fmt]
    with (
        httpx.Client(verify=tls_context(), timeout=timeout) as client,
        client.stream(
            "POST",
            server.base_url + (path or default_path),
            json=default_body if body is None else body,
            headers={**default_headers, **(headers or {})},
        ) as response,
    ):
        reads = list(response.iter_raw())
    return Sent(response.status_code, response.headers, b"".join(reads), reads)


def wire_of(fmt: str, scenario: Scenario) -> bytes:
    frames = render(fmt, scenario, MODEL, REQUESTS[fmt][1])
    return b"".join(frame.wire for frame in frames)


# ----------------------------------------------------------------------------- strict parsers


def sse_events(body: bytes, eol: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) of every event; fails on any framing that is not clean SSE."""
    text = body.decode("utf-8")  # whole characters only
    sep = eol.decode()
    other = "\n" if sep == "\r\n" else "\r"
    assert text.replace(sep, "").count(other) == 0, "mixed line endings"
    if sep == "\r\n":
        assert "\n" not in text.replace("\r\n", ""), "a lone LF in a CRLF stream"
    assert text.endswith(sep * 2), "the last event is not terminated"
    events: list[tuple[str | None, str]] = []
    for block in text[: -len(sep) * 2].split(sep * 2):
        name: str | None = None
        data: list[str] = []
        for line in block.split(sep):
            assert line, "an empty line inside an event"
            if line.startswith(":"):
                continue
            key, colon, value = line.partition(":")
            assert colon, f"a line that is not a field: {line!r}"
            value = value.removeprefix(" ")
            assert key in ("event", "data"), f"unexpected field {key!r}"
            if key == "event":
                name = value
            else:
                data.append(value)
        if data:
            events.append((name, "\n".join(data)))
    return events


def ndjson_lines(body: bytes) -> list[Any]:
    text = body.decode("utf-8")
    assert text.endswith("\n")
    assert "\r" not in text
    return [json.loads(line) for line in text[:-1].split("\n")]


@dataclass
class Parsed:
    """What the wire says, read the way each vendor's documentation describes its format."""

    reasoning: str = ""
    text: str = ""
    finish: str | None = None
    usage: dict[str, Any] | None = None
    error: Any = None
    events: list[Any] = field(default_factory=list)


def parse(fmt: str, body: bytes) -> Parsed:
    out = Parsed()
    if fmt == "ollama":
        for line in ndjson_lines(body):
            out.events.append(line)
            if "error" in line:
                out.error = line["error"]
                continue
            message = line["message"]
            assert message["role"] == "assistant" and isinstance(message["content"], str)
            out.reasoning += message.get("thinking", "")
            out.text += message["content"]
            if line["done"]:
                out.finish = line["done_reason"]
                out.usage = {k: v for k, v in line.items() if k.endswith(("_count", "_duration"))}
        return out
    if fmt == "gemini":
        # Events are CRLF SSE; a raw JSON error may follow the last one.
        head, sep, tail = body.rpartition(b"\r\n\r\n")
        if tail:
            out.error = json.loads(tail)
            body = head + sep
        for name, data in sse_events(body, b"\r\n"):
            assert name is None
            chunk = json.loads(data)
            out.events.append(chunk)
            if "error" in chunk:
                out.error = chunk
                continue
            [candidate] = chunk["candidates"]
            for part in candidate["content"]["parts"]:
                if part.get("thought"):
                    out.reasoning += part["text"]
                else:
                    out.text += part["text"]
            out.finish = candidate.get("finishReason", out.finish)
            out.usage = chunk.get("usageMetadata", out.usage)
        return out
    for name, data in sse_events(body, b"\n"):
        if data == "[DONE]":
            assert fmt == "chat"
            out.events.append(data)
            continue
        payload = json.loads(data)
        out.events.append(payload)
        if fmt == "chat":
            assert name is None
            if "error" in payload:
                out.error = payload["error"]
                continue
            if payload["usage"]:
                out.usage = payload["usage"]
            for choice in payload["choices"]:
                delta = choice["delta"]
                out.reasoning += delta.get("reasoning_content") or ""
                out.text += delta.get("content") or ""
                out.finish = choice["finish_reason"] or out.finish
        elif fmt == "responses":
            assert name == payload["type"]
            kind = payload["type"]
            if kind == "response.reasoning_summary_text.delta":
                out.reasoning += payload["delta"]
            elif kind == "response.output_text.delta":
                out.text += payload["delta"]
            elif kind in ("response.completed", "response.incomplete"):
                out.finish = payload["response"]["status"]
                out.usage = payload["response"]["usage"]
            elif kind in ("error", "response.failed"):
                out.error = payload
        elif fmt == "anthropic":
            assert name == payload["type"]
            kind = payload["type"]
            if kind == "content_block_delta":
                delta = payload["delta"]
                out.reasoning += delta.get("thinking", "")
                out.text += delta.get("text", "")
            elif kind == "message_delta":
                out.finish = payload["delta"]["stop_reason"]
                out.usage = payload["usage"]
            elif kind == "error":
                out.error = payload
        else:  # the gateway
            assert name is None
            if "error" in payload:
                out.error = payload["error"]
            elif payload.get("final"):
                out.finish = "final"
                out.usage = payload.get("usage")
            else:
                target = "reasoning" if payload["name"] == "thinking" else "text"
                setattr(out, target, getattr(out, target) + payload["content"])
    return out


# ----------------------------------------------------------------------------- each route


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_route_streams_the_script_in_its_own_format(fake_server: FakeServer, fmt: str) -> None:
    sent = send(fake_server, fmt)

    assert sent.status == 200
    assert sent.headers["content-type"] == CONTENT_TYPES[fmt]
    assert sent.headers["transfer-encoding"] == "chunked"
    parsed = parse(fmt, sent.body)
    assert parsed.reasoning == DEFAULT_REASONING
    assert parsed.text == DEFAULT_ANSWER
    assert parsed.error is None
    assert parsed.finish in ("stop", "completed", "end_turn", "STOP", "final")
    assert parsed.usage
    assert sent.body == wire_of(fmt, Scenario())
    [request] = fake_server.requests
    assert (request.format, request.model, request.status) == (fmt, MODEL, 200)
    # The client can hold the whole body a moment before the server's thread records that
    # it finished: wait for it (a safety bound, not a timing assertion).
    assert request.finished.wait(10)


def test_chat_completions_shape(fake_server: FakeServer) -> None:
    events = parse("chat", send(fake_server, "chat").body).events
    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["prompt_tokens"] == 31
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    assert {e["object"] for e in events[:-1]} == {"chat.completion.chunk"}


def test_responses_shape(fake_server: FakeServer) -> None:
    scenario = Scenario()
    events = parse("responses", send(fake_server, "responses").body).events
    types = [e["type"] for e in events]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert types.count("response.output_text.delta") == len(scenario.answer_pieces)
    assert types.count("response.reasoning_summary_text.delta") == len(scenario.reasoning_pieces)
    done = {e["type"]: e for e in events if e["type"].endswith(".done")}
    assert done["response.output_text.done"]["text"] == scenario.answer
    assert done["response.reasoning_summary_text.done"]["text"] == scenario.reasoning
    added = [e["item"]["id"] for e in events if e["type"] == "response.output_item.added"]
    finished = [e["item"]["id"] for e in events if e["type"] == "response.output_item.done"]
    assert added == finished == ["rs_fake1", "msg_fake1"]
    final = events[-1]["response"]
    assert final["status"] == "completed"
    assert [item["id"] for item in final["output"]] == ["rs_fake1", "msg_fake1"]
    assert final["usage"] == {
        "input_tokens": 31,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": scenario.completion_count(),
        "output_tokens_details": {"reasoning_tokens": scenario.reasoning_count()},
        "total_tokens": 31 + scenario.completion_count(),
    }


def test_anthropic_shape(fake_server: FakeServer) -> None:
    scenario = Scenario(cached_tokens=10)
    fake_server.scenario = scenario
    events = parse("anthropic", send(fake_server, "anthropic").body).events
    types = [e["type"] for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert types.count("ping") == 1
    start = events[0]["message"]["usage"]
    assert start["input_tokens"] == 21 and start["cache_read_input_tokens"] == 10
    assert start["output_tokens"] == 1  # a placeholder
    blocks = [e for e in events if e["type"] == "content_block_start"]
    assert [(b["index"], b["content_block"]["type"]) for b in blocks] == [
        (0, "thinking"),
        (1, "text"),
    ]
    thinking = [e for e in events if e["type"] == "content_block_delta" and e["index"] == 0]
    assert [d["delta"]["type"] for d in thinking][-1] == "signature_delta"
    assert {d["delta"]["type"] for d in thinking[:-1]} == {"thinking_delta"}
    assert types.count("content_block_stop") == 2
    usage = events[-2]["usage"]
    assert usage["output_tokens"] == scenario.completion_count()
    assert usage["output_tokens_details"] == {"thinking_tokens": scenario.reasoning_count()}
    assert events[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}


def test_anthropic_redacted_thinking_and_padding(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario(redacted_thinking=True, json_padding=True)
    sent = send(fake_server, "anthropic")
    assert b',"index":0   }' in sent.body  # the recorded padding quirk
    events = parse("anthropic", sent.body).events
    first = [e for e in events if e.get("index") == 0]
    assert [e["type"] for e in first] == ["content_block_start", "content_block_stop"]
    assert first[0]["content_block"]["type"] == "redacted_thinking"


def test_gemini_shape(fake_server: FakeServer) -> None:
    scenario = Scenario(cached_tokens=5)
    fake_server.scenario = scenario
    sent = send(fake_server, "gemini")
    assert b"\r\n\r\ndata: {" in sent.body
    assert b'"candidates": [' in sent.body  # Google's spacing
    parsed = parse("gemini", sent.body)
    chunks = parsed.events
    finishes = [c["candidates"][0].get("finishReason") for c in chunks]
    assert finishes == [None] * (len(chunks) - 1) + ["STOP"]
    thoughts = [c for c in chunks if c["candidates"][0]["content"]["parts"][0].get("thought")]
    assert len(thoughts) == len(scenario.reasoning_pieces)
    totals = [c["usageMetadata"]["totalTokenCount"] for c in chunks]
    assert totals == sorted(totals)  # running totals
    assert "candidatesTokenCount" not in chunks[0]["usageMetadata"]  # zero counts left out
    last = chunks[-1]["usageMetadata"]
    thinking = scenario.reasoning_count()
    assert last["thoughtsTokenCount"] == thinking
    assert last["candidatesTokenCount"] == scenario.completion_count() - thinking
    assert last["promptTokenCount"] == 31 and last["cachedContentTokenCount"] == 5
    assert last["totalTokenCount"] == 31 + scenario.completion_count()
    assert {c["modelVersion"] for c in chunks} == {MODEL}


def test_ollama_shape(fake_server: FakeServer) -> None:
    scenario = Scenario()
    lines = parse("ollama", send(fake_server, "ollama").body).events
    assert [line["done"] for line in lines] == [False] * (len(lines) - 1) + [True]
    thinking = [line for line in lines if "thinking" in line["message"]]
    assert len(thinking) == len(scenario.reasoning_pieces)
    assert all(line["message"]["content"] == "" for line in thinking)
    final = lines[-1]
    assert final["done_reason"] == "stop"
    assert final["prompt_eval_count"] == 31
    assert final["eval_count"] == scenario.completion_count()
    assert final["eval_count"] / final["eval_duration"] * 1e9 == pytest.approx(100)
    stamps = [line["created_at"] for line in lines]
    assert stamps == sorted(stamps) and all(s.endswith("Z") for s in stamps)


def test_gateway_shape(fake_server: FakeServer) -> None:
    scenario = Scenario(warnings=("Approaching rate limit: 90% of requests used",))
    fake_server.scenario = scenario
    events = parse("gateway", send(fake_server, "gateway").body).events
    chunks, final = events[:-1], events[-1]
    assert {tuple(sorted(c)) for c in chunks} == {
        ("content", "done", "index", "is_final", "name", "type")
    }
    thinking = [c for c in chunks if c["name"] == "thinking"]
    output = [c for c in chunks if c["name"] == "output"]
    assert {c["index"] for c in thinking} == {0} and {c["index"] for c in output} == {1}
    assert [c["done"] for c in output] == [False] * (len(output) - 1) + [True]
    assert not any(c["is_final"] for c in chunks)
    assert final == {
        "final": True,
        "usage": {
            "input_tokens": 31,
            "output_tokens": scenario.completion_count(),
            "total_tokens": 31 + scenario.completion_count(),
        },
        "cost": gateway_cost(scenario),
        "warnings": list(scenario.warnings),
    }


def test_gateway_cost_uses_the_seed_examples_rates() -> None:
    # The seed's final chunk: 24 in, 512 out -> 0.0000018 + 0.0001536 = 0.0001554.
    scenario = Scenario(prompt_tokens=24, completion_tokens=512)
    assert gateway_cost(scenario) == {"input": 0.0000018, "output": 0.0001536, "total": 0.0001554}
    assert gateway_cost(scenario.but(cost=0.01))["total"] == 0.01


def test_model_lists(fake_server: FakeServer) -> None:
    with httpx.Client(
        verify=tls_context(), base_url=fake_server.base_url, timeout=SAFETY_TIMEOUT_S
    ) as client:
        openai_list = client.get("/v1/models").json()
        anthropic_list = client.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
        gemini_list = client.get("/v1beta/models").json()
        ollama_tags = client.get("/api/tags").json()
        missing = client.get("/nowhere")
    assert [m["id"] for m in openai_list["data"]] == list(fake_server.models)
    assert anthropic_list.json()["data"][0]["type"] == "model"
    assert anthropic_list.json()["has_more"] is False
    assert gemini_list["models"][0]["name"] == "models/test-model"
    assert ollama_tags["models"][0]["name"] == "test-model:latest"
    assert missing.status_code == 404


# ----------------------------------------------------------------------------- request checks


@pytest.mark.parametrize(
    ("fmt", "headers", "body", "status", "says"),
    [
        ("anthropic", {"anthropic-version": ""}, None, 400, "anthropic-version"),
        (
            "anthropic",
            {},
            {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x"}]},
            400,
            "max_tokens",
        ),
        (
            "anthropic",
            {},
            {
                "model": MODEL,
                "max_tokens": 2000,
                "stream": True,
                "thinking": {"type": "enabled", "budget_tokens": 4000},
                "messages": [{"role": "user", "content": "x"}],
            },
            400,
            "greater than `thinking.budget_tokens`",
        ),
        (
            "gemini",
            {},
            {"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
            400,
            "valid role: user, model",
        ),
        ("gateway", {"X-API-Key": ""}, None, 401, "X-API-Key"),
        ("gateway", {}, {"model_name": MODEL, "input": []}, 422, "service_name"),
        ("chat", {}, {"model": MODEL, "messages": []}, 400, "only streams"),
        ("ollama", {}, {"model": MODEL, "messages": [], "stream": False}, 400, "only streams"),
    ],
)
def test_requests_are_checked_like_the_real_apis(
    fake_server: FakeServer,
    fmt: str,
    headers: dict[str, str],
    body: dict[str, Any] | None,
    status: int,
    says: str,
) -> None:
    sent = send(fake_server, fmt, headers=headers, body=body)
    assert sent.status == status
    assert says in sent.body.decode()
    assert sent.headers["content-type"] == "application/json"


def test_gemini_needs_alt_sse_and_checks_the_key(fake_server: FakeServer) -> None:
    path = f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert send(fake_server, "gemini", path=path).status == 400
    fake_server.scenario = Scenario(api_key="AIza-right")
    wrong = send(fake_server, "gemini")
    assert wrong.status == 400
    error = json.loads(wrong.body)["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    assert send(fake_server, "gemini", headers={"x-goog-api-key": ""}).status == 403
    right = send(fake_server, "gemini", headers={"x-goog-api-key": "AIza-right"})
    assert right.status == 200
    query = send(
        fake_server, "gemini", headers={"x-goog-api-key": ""}, path=path + "?alt=sse&key=AIza-right"
    )
    assert query.status == 200


@pytest.mark.parametrize(
    ("fmt", "header", "value"),
    [
        ("chat", "Authorization", "Bearer sk-right"),
        ("responses", "Authorization", "Bearer sk-right"),
        ("anthropic", "x-api-key", "sk-right"),
        ("ollama", "Authorization", "Bearer sk-right"),
        ("gateway", "X-API-Key", "sk-right"),
    ],
)
def test_keys_are_checked_where_each_api_reads_them(
    fake_server: FakeServer, fmt: str, header: str, value: str
) -> None:
    fake_server.scenario = Scenario(api_key="sk-right")
    assert send(fake_server, fmt).status == 401
    assert send(fake_server, fmt, headers={header: value}).status == 200


# ----------------------------------------------------------------------------- faults


@pytest.mark.parametrize("fmt", FORMATS)
def test_midstream_error_in_the_formats_own_shape(fake_server: FakeServer, fmt: str) -> None:
    base = Scenario()
    fake_server.scenario = base.but(error_after=after_answer(3))
    sent = send(fake_server, fmt)

    assert sent.status == 200
    parsed = parse(fmt, sent.body)
    assert parsed.reasoning == base.reasoning
    assert parsed.text == "".join(base.answer_pieces[:3])
    assert parsed.finish is None  # no terminal event after an error
    assert MIDSTREAM[fmt] in json.dumps(parsed.error)
    if fmt == "chat":
        assert parsed.events[-1] == "[DONE]"
    elif fmt == "responses":
        assert parsed.error["error"]["code"] == "server_is_overloaded"  # nested
    elif fmt == "anthropic":
        assert parsed.error["error"]["type"] == "overloaded_error"
    elif fmt == "gemini":
        # Pretty-printed, and not an SSE data line.
        tail = sent.body.rpartition(b"\r\n\r\n")[2]
        assert tail.startswith(b'{\n  "error": {\n')
        assert parsed.error["error"]["status"] == "UNAVAILABLE"
    elif fmt == "ollama":
        assert parsed.events[-1] == {"error": MIDSTREAM[fmt]}


def test_gemini_error_can_follow_the_finish(fake_server: FakeServer) -> None:
    """The raw error may arrive after a chunk that already said STOP (vercel/ai#5217)."""
    fake_server.scenario = Scenario(error_after=after_answer(10_000))
    parsed = parse("gemini", send(fake_server, "gemini").body)
    assert parsed.finish == "STOP"
    assert parsed.text == DEFAULT_ANSWER
    assert parsed.error["error"]["code"] == 503


@pytest.mark.parametrize(
    ("shape", "kind"),
    [("nested", "error"), ("flat", "error"), ("failed", "response.failed")],
)
def test_responses_error_shapes(fake_server: FakeServer, shape: str, kind: str) -> None:
    fake_server.scenario = Scenario(error_after=after_answer(1), error_shape=shape)
    error = parse("responses", send(fake_server, "responses").body).error
    assert error["type"] == kind
    if shape == "flat":
        assert error["code"] == "server_is_overloaded" and "error" not in error
    if shape == "failed":
        assert error["response"]["status"] == "failed"
        assert error["response"]["error"]["code"] == "server_error"


def test_gemini_error_as_a_data_event(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario(error_after=after_answer(1), error_shape="data")
    sent = send(fake_server, "gemini")
    assert sent.body.endswith(b"\r\n\r\n")
    assert parse("gemini", sent.body).error["error"]["status"] == "UNAVAILABLE"


ENVELOPES = {
    "chat": lambda body: body["error"]["code"] == "rate_limit_exceeded",
    "responses": lambda body: body["error"]["type"] == "tokens",
    "anthropic": lambda body: (
        body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    ),
    "gemini": lambda body: (
        body["error"]["status"] == "RESOURCE_EXHAUSTED"
        and body["error"]["code"] == 429
        and body["error"]["details"][0]["retryDelay"] == "3s"
    ),
    "ollama": lambda body: isinstance(body["error"], str),
    "gateway": lambda body: isinstance(body["detail"], str),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_http_429_with_retry_after_in_the_formats_envelope(
    fake_server: FakeServer, fmt: str
) -> None:
    fake_server.scenario = Scenario.http_error(429)
    sent = send(fake_server, fmt)
    assert sent.status == 429
    assert sent.headers["retry-after"] == "3"
    if fmt in ("chat", "responses", "anthropic"):
        assert sent.headers["retry-after-ms"] == "3000"
    else:
        assert "retry-after-ms" not in sent.headers
    assert ENVELOPES[fmt](json.loads(sent.body))


def test_anthropic_529_and_request_id(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario.http_error(529)
    sent = send(fake_server, "anthropic")
    body = json.loads(sent.body)
    assert sent.status == 529
    assert body["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert body["request_id"] == sent.headers["request-id"]


def test_ollama_404_names_the_model(fake_server: FakeServer) -> None:
    sent = send(fake_server, "ollama", headers={"X-Fake-Scenario": "http-404"})
    assert sent.status == 404
    assert json.loads(sent.body) == {"error": f"model '{MODEL}' not found"}


def test_plain_text_error_body_is_sent_verbatim(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario.http_error(502, plain="upstream connect error")
    sent = send(fake_server, "gemini")
    assert (sent.status, sent.body) == (502, b"upstream connect error")
    assert sent.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("fmt", FORMATS)
def test_drop_cuts_the_connection_halfway_through_an_event(
    fake_server: FakeServer, fmt: str
) -> None:
    base = Scenario(split="awkward")
    scenario = base.but(drop_mid=after_answer(3))
    fake_server.scenario = scenario
    frames = render(fmt, base, MODEL, REQUESTS[fmt][1])
    cut = drop_offset(frames, after_answer(3))
    got = bytearray()
    path, body, headers = REQUESTS[fmt]
    with (
        httpx.Client(verify=tls_context(), timeout=SAFETY_TIMEOUT_S) as client,
        client.stream("POST", fake_server.base_url + path, json=body, headers=headers) as response,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        for chunk in response.iter_raw():
            got += chunk
    wire = b"".join(frame.wire for frame in frames)
    assert bytes(got) == wire[:cut]
    # The cut is inside the event carrying the 4th answer piece.
    start = sum(len(f.wire) for f in frames[: index_of(frames, after_answer(3))])
    assert start < cut < start + len(frames[index_of(frames, after_answer(3))].wire)
    assert fake_server.requests[0].bytes_sent == cut


@pytest.mark.parametrize("fmt", FORMATS)
def test_malformed_line_and_then_a_normal_end(fake_server: FakeServer, fmt: str) -> None:
    scenario = Scenario(garbage_after=after_answer(1))
    fake_server.scenario = scenario
    sent = send(fake_server, fmt)

    frames = render(fmt, scenario, MODEL, REQUESTS[fmt][1])
    assert sent.body == b"".join(frame.wire for frame in frames)
    [bad] = [i for i, frame in enumerate(frames) if b"this is not JSON {" in frame.wire]
    line = frames[bad].wire.decode()
    if fmt == "ollama":
        assert line == "this is not JSON {\n"
    else:  # an SSE event (named where the format names its events) whose data is not JSON
        assert line.endswith("data: this is not JSON {" + ("\r\n" if fmt == "gemini" else "\n") * 2)
    rest = b"".join(frame.wire for i, frame in enumerate(frames) if i != bad)
    assert rest == wire_of(fmt, Scenario())
    # It sits right after the first answer piece.
    before = b"".join(frame.wire for frame in frames[:bad]).decode()
    assert parse_prefix_text(fmt, before) == Scenario().answer_pieces[0]


def parse_prefix_text(fmt: str, prefix: str) -> str:
    """The answer text in a body prefix that ends at an event boundary (or mid-SSE-event)."""
    sep = "\r\n\r\n" if fmt == "gemini" else "\n\n"
    if fmt == "ollama":
        return parse(fmt, prefix.encode()).text
    complete = prefix[: prefix.rfind(sep) + len(sep)]
    return parse(fmt, complete.encode()).text


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_body_ends_cleanly_without_the_terminal_event(
    fake_server: FakeServer, fmt: str
) -> None:
    base = Scenario()
    fake_server.scenario = base.but(truncate_after=after_answer(4))
    sent = send(fake_server, fmt)  # no transport error: the chunked body is terminated
    parsed = parse(fmt, sent.body)
    assert parsed.text == "".join(base.answer_pieces[:4])
    assert parsed.finish is None and parsed.error is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_terminal_event_can_be_left_out(fake_server: FakeServer, fmt: str) -> None:
    fake_server.scenario = Scenario(finish_reason=None)
    parsed = parse(fmt, send(fake_server, fmt).body)
    assert parsed.text == DEFAULT_ANSWER
    assert parsed.finish is None


@pytest.mark.parametrize(
    ("fmt", "native"),
    [
        ("chat", "length"),
        ("responses", "incomplete"),
        ("anthropic", "max_tokens"),
        ("gemini", "MAX_TOKENS"),
        ("ollama", "length"),
    ],
)
def test_length_finish_in_each_formats_words(
    fake_server: FakeServer, fmt: str, native: str
) -> None:
    fake_server.scenario = Scenario(finish_reason="length")
    assert parse(fmt, send(fake_server, fmt).body).finish == native


@pytest.mark.parametrize("fmt", FORMATS)
def test_awkward_crlf_cuts_reach_the_client(fake_server: FakeServer, fmt: str) -> None:
    """Writes are cut inside UTF-8 characters and between CR and LF; each cut is one HTTP
    chunk, so the client's reads are at least as fine."""
    scenario = Scenario(split="awkward", line_ending="\r\n")
    fake_server.scenario = scenario
    sent = send(fake_server, fmt)
    frames = render(fmt, scenario, MODEL, REQUESTS[fmt][1])
    pieces = split_wire(frames, "awkward")
    assert sent.body == b"".join(pieces)
    server_cuts = set(cut_points(pieces))
    assert server_cuts <= set(cut_points(sent.reads))
    assert any(sent.body[c - 1] >= 0xC0 for c in server_cuts)  # inside a character
    assert any(sent.body[c - 1 : c + 1] == b"\r\n" for c in server_cuts)  # CR | LF
    if fmt != "ollama":  # NDJSON lines end at LF; the CR is the client's to drop
        assert parse_crlf(fmt, sent.body).text == DEFAULT_ANSWER


def parse_crlf(fmt: str, body: bytes) -> Parsed:
    return parse(fmt, body if fmt == "gemini" else body.replace(b"\r\n", b"\n"))


def cut_points(pieces: list[bytes]) -> Iterator[int]:
    offset = 0
    for piece in pieces[:-1]:
        offset += len(piece)
        yield offset


@pytest.mark.parametrize("fmt", ["anthropic", "ollama"])
def test_bytewise_and_gzip_framings(fake_server: FakeServer, fmt: str) -> None:
    fake_server.scenario = Scenario(split="bytewise", answer="Ünïcödé 🚀")
    sent = send(fake_server, fmt)
    assert len(sent.reads) == len(sent.body)  # one byte per read
    assert parse(fmt, sent.body).text == "Ünïcödé 🚀"
    fake_server.scenario = Scenario(content_encoding="gzip")
    path, body, headers = REQUESTS[fmt]
    with httpx.Client(verify=tls_context(), timeout=SAFETY_TIMEOUT_S) as client:
        response = client.post(fake_server.base_url + path, json=body, headers=headers)
    assert response.headers["content-encoding"] == "gzip"
    assert parse(fmt, response.content).text == DEFAULT_ANSWER


def test_delays_before_the_first_byte_and_per_write(fake_server: FakeServer) -> None:
    """Lower bounds only: the server waits at least this long, however fast the machine."""
    answer = "one two three"
    fake_server.scenario = Scenario(reasoning="", answer=answer, headers_delay_s=0.3)
    started = time.monotonic()
    send(fake_server, "ollama")
    assert time.monotonic() - started >= 0.3
    scenario = Scenario(reasoning="", answer=answer, write_delay_s=0.05)
    fake_server.scenario = scenario
    writes = len(render("ollama", scenario, MODEL, REQUESTS["ollama"][1]))
    started = time.monotonic()
    sent = send(fake_server, "ollama")
    assert time.monotonic() - started >= 0.05 * writes
    assert parse("ollama", sent.body).text == answer


def test_stall_keeps_the_connection_open_until_the_client_leaves(
    fake_server: FakeServer,
) -> None:
    base = Scenario(split="whole")
    scenario = base.but(stall_after=after_answer(2))
    fake_server.scenario = scenario
    expected = wire_of("anthropic", scenario)  # everything up to the stall
    path, body, headers = REQUESTS["anthropic"]
    got = bytearray()
    with (
        httpx.Client(verify=tls_context(), timeout=SAFETY_TIMEOUT_S) as client,
        client.stream("POST", fake_server.base_url + path, json=body, headers=headers) as response,
    ):
        chunks = response.iter_raw()  # kept: closing it would close the response
        for chunk in chunks:
            got += chunk
            if len(got) >= len(expected):
                break  # the server has nothing more to say
        [request] = fake_server.requests
        assert not request.client_closed.is_set()  # still waiting for us
        chunks.close()  # now leave
    assert bytes(got) == expected
    assert parse_prefix_text("anthropic", got.decode()) == "".join(base.answer_pieces[:2])
    assert request.client_closed.wait(SAFETY_TIMEOUT_S)


def test_hang_up_sends_nothing(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario(hang_up=True)
    with pytest.raises(httpx.RemoteProtocolError):
        send(fake_server, "gateway")


# ----------------------------------------------------------------------------- choosing


def test_preset_by_header_and_by_model_suffix(fake_server: FakeServer) -> None:
    by_header = send(
        fake_server, "anthropic", headers={"X-Fake-Scenario": "no-reasoning,error-mid"}
    )
    parsed = parse("anthropic", by_header.body)
    assert parsed.reasoning == "" and parsed.error is not None

    path = f"/v1beta/models/{MODEL}@http-429:streamGenerateContent?alt=sse"
    by_suffix = send(fake_server, "gemini", path=path)
    assert by_suffix.status == 429

    body = {**REQUESTS["ollama"][1], "model": "qwen3:8b@length"}
    lines = parse("ollama", send(fake_server, "ollama", body=body).body).events
    assert {line["model"] for line in lines} == {"qwen3:8b"}  # the suffix is not echoed
    assert lines[-1]["done_reason"] == "length"

    records = fake_server.requests
    assert [r.preset for r in records] == ["no-reasoning,error-mid", "http-429", "length"]
    assert [r.model for r in records] == [MODEL, MODEL, "qwen3:8b"]


def test_unknown_preset_is_a_400_naming_the_known_ones(fake_server: FakeServer) -> None:
    sent = send(fake_server, "gateway", headers={"X-Fake-Scenario": "nope"})
    assert sent.status == 400
    assert "unknown scenario 'nope'" in json.loads(sent.body)["detail"]


def test_queued_scenarios_come_first_then_the_default(fake_server: FakeServer) -> None:
    fake_server.scenario = Scenario(answer="default")
    fake_server.queue(Scenario(answer="first"), Scenario(answer="second"))
    texts = [
        parse(fmt, send(fake_server, fmt, headers={"X-Fake-Scenario": "length"}).body).text
        for fmt in ("chat", "gemini", "ollama")
    ]
    assert texts == ["first", "second", "default"]


def test_every_preset_is_documented_and_valid() -> None:
    doc = fakeserver.__doc__ or ""
    for name in PRESETS:
        assert f"``{name}``" in doc, name
        fakeserver.preset(name)


# ----------------------------------------------------------------------------- positions


def test_fault_positions() -> None:
    scenario = Scenario(tokens_per_chunk=20)
    for fmt in FORMATS:
        frames = render(fmt, scenario, MODEL, REQUESTS[fmt][1])
        reasoning = [i for i, f in enumerate(frames) if f.reasoning]
        answer = [i for i, f in enumerate(frames) if f.content]
        assert index_of(frames, after_answer(0)) == answer[0], fmt
        assert index_of(frames, after_answer(2)) == answer[2], fmt
        assert index_after(frames, after_answer(10_000)) == answer[-1] + 1, fmt
        assert index_of(frames, after_reasoning(1)) == reasoning[1], fmt
        no_reasoning = render(fmt, scenario.but(reasoning=""), MODEL, REQUESTS[fmt][1])
        first_answer = next(i for i, f in enumerate(no_reasoning) if f.content)
        assert index_of(no_reasoning, after_reasoning(0)) == first_answer, fmt


# ----------------------------------------------------------------------------- command line


def run_module(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONWARNINGS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "chatterm.testing.fakeserver", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
        **kwargs,
    )


def test_the_module_runs_prints_its_url_and_serves() -> None:
    process = run_module("--port", "0", "--scenario", "no-reasoning")
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], SAFETY_TIMEOUT_S)
        assert readable, "the server printed nothing"
        url = process.stdout.readline().strip()  # the first line, once it listens
        assert url.startswith("http://127.0.0.1:"), url
        with httpx.Client(verify=tls_context(), base_url=url, timeout=SAFETY_TIMEOUT_S) as client:
            assert client.get("/v1/models").status_code == 200
            _, body, headers = REQUESTS["ollama"]
            reply = client.post("/api/chat", json=body)
            suffixed = client.post("/api/chat", json={**body, "model": "q@http-503"})
        lines = ndjson_lines(reply.content)
        assert "".join(line["message"]["content"] for line in lines) == DEFAULT_ANSWER
        assert not any("thinking" in line["message"] for line in lines)
        assert suffixed.status_code == 503 and suffixed.headers["retry-after"] == "3"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "POST /api/chat -> ollama 200" in err
    assert "POST /api/chat -> ollama [http-503] 503" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_the_module_refuses_a_non_loopback_host(host: str) -> None:
    process = run_module("--host", host, "--port", "0")
    out, err = process.communicate(timeout=SAFETY_TIMEOUT_S)
    assert process.returncode == 2
    assert out == ""
    assert "loopback" in err or "127.0.0.1" in err
    assert "Traceback" not in err
    with pytest.raises(ValueError):
        FakeServer(host=host)


def test_the_module_lists_its_presets() -> None:
    process = run_module("--list-scenarios")
    out, _ = process.communicate(timeout=SAFETY_TIMEOUT_S)
    assert process.returncode == 0
    assert [line.split()[0] for line in out.splitlines()] == list(PRESETS)


def test_ipv6_loopback() -> None:
    try:
        server = FakeServer(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with server:
        assert server.base_url.startswith("http://[::1]:")
        with httpx.Client(verify=tls_context(), timeout=SAFETY_TIMEOUT_S) as client:
            assert client.get(server.base_url + "/api/tags").status_code == 200


def test_the_module_imports_the_standard_library_only() -> None:
    probe = (
        "import sys, chatterm.testing.fakeserver;"
        "print(sorted({m.split('.')[0] for m in sys.modules}"
        " & {'httpx', 'textual', 'pytest', 'rich', 'openai', 'anthropic'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=True,
        cwd=ROOT,
    )
    assert result.stdout.strip() == "[]"
