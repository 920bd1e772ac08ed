"""A gateway's POST /generate/stream API (seed 003): translator, parser and provider."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from stream_helpers import INVALID_UTF8, fold_events, run_parser

from chatterm.decode.sse import SSEEvent
from chatterm.errors import ConfigError
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
from chatterm.providers.gateway import (
    GatewayParser,
    GatewayProvider,
    GatewayTranslator,
    split_service_model,
    usage_from_gateway,
)
from chatterm.reply.accumulate import Reply


def sse(*payloads: dict[str, Any]) -> bytes:
    return b"".join(
        b"data: " + json.dumps(p, ensure_ascii=False).encode() + b"\n\n" for p in payloads
    )


def piece(name: str, content: str, index: int = 0, done: bool = False) -> dict[str, Any]:
    """One streaming chunk in the seed's shape."""
    return {
        "type": "text",
        "name": name,
        "content": content,
        "done": done,
        "index": index,
        "is_final": False,
    }


FINAL_A = {
    "final": True,
    "usage": {"input_tokens": 24, "output_tokens": 512, "total_tokens": 536},
    "cost": {"input": 0.0000018, "output": 0.0001536, "total": 0.0001554},
    "warnings": [],
}
TRANSCRIPT_A = sse(
    piece("thinking", "A robot, a brush… 🤖"),
    piece("thinking", " Keep it short.", done=True),
    piece("output", "The robot ", index=1),
    piece("output", "dipped the brush\u2028— и начал.", index=1, done=True),
    FINAL_A,
)
USAGE_A = Usage(input_tokens=24, output_tokens=512, cost_usd=0.0001554)
TRANSCRIPT_A_EVENTS: list[Event] = [
    ReasoningDelta("A robot, a brush… 🤖"),
    ReasoningDelta(" Keep it short."),
    TextDelta("The robot "),
    TextDelta("dipped the brush\u2028— и начал."),
    UsageUpdate(USAGE_A),
    Finish("stop"),
]

TRANSCRIPT_B = sse(
    piece("output", "Recursion is"),
    piece("output", " a function calling itself."),
    {
        "type": "text",
        "name": "output",
        "content": "",
        "done": True,
        "index": 0,
        "is_final": True,
        "usage": {"input_tokens": 6, "output_tokens": 9, "total_tokens": 15},
        "cost": {"input": 0.000001, "output": 0.000004, "total": 0.000005},
        "warnings": ["Rate limit: 90% of the hourly quota used"],
    },
)
TRANSCRIPT_B_EVENTS: list[Event] = [
    TextDelta("Recursion is"),
    TextDelta(" a function calling itself."),
    UsageUpdate(Usage(input_tokens=6, output_tokens=9, cost_usd=0.000005)),
    StreamWarning("gateway: Rate limit: 90% of the hourly quota used"),
    Finish("stop"),
]

TRANSCRIPT_C = sse(
    piece("output", "Once upon"),
    {"error": {"message": "Upstream service google-gemini unavailable", "code": 503}},
)
TRANSCRIPT_C_EVENTS: list[Event] = [
    TextDelta("Once upon"),
    StreamError(
        "error from the gateway: Upstream service google-gemini unavailable",
        retryable=True,
        status=503,
    ),
    Finish("error"),
]

INTERRUPTED: list[Event] = [
    StreamError(
        "the stream ended before the gateway's final chunk; the partial reply is kept",
        retryable=True,
    ),
    Finish("interrupted"),
]


# --- helpers --------------------------------------------------------------------------------


def translate(*payloads: dict[str, Any] | str, close: bool = True) -> list[Event]:
    translator = GatewayTranslator()
    events: list[Event] = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        events.extend(translator.feed(SSEEvent(data)))
    if close:
        events.extend(translator.close())
    return events


def parse(chunks: Iterable[bytes], secrets: tuple[str, ...] = ()) -> list[Event]:
    return run_parser(GatewayParser(secrets), chunks)


def fold(events: Iterable[Event]) -> Reply:
    return fold_events(events, "gw:test")


# --- transcripts ----------------------------------------------------------------------------


class TestTranscripts:
    def test_a_thinking_output_usage_cost(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert events == TRANSCRIPT_A_EVENTS
        reply = fold(events)
        assert reply.reasoning == "A robot, a brush… 🤖 Keep it short."
        assert reply.text == "The robot dipped the brush\u2028— и начал."
        assert reply.finish_reason == "stop"
        assert reply.usage == USAGE_A
        assert (reply.error, reply.warnings) == (None, ())

    def test_b_is_final_on_a_content_chunk_with_warnings(self) -> None:
        events = parse([TRANSCRIPT_B])
        assert events == TRANSCRIPT_B_EVENTS
        assert fold(events).warnings == ("gateway: Rate limit: 90% of the hourly quota used",)

    def test_c_error_chunk_keeps_partial_text(self) -> None:
        events = parse([TRANSCRIPT_C])
        assert events == TRANSCRIPT_C_EVENTS
        reply = fold(events)
        assert (reply.text, reply.finish_reason) == ("Once upon", "error")

    def test_data_without_space_and_comments(self) -> None:
        body = (
            b": ping\n\n"
            b'data:{"type":"text","name":"output","content":"x"}\n\n'
            b'event: done\ndata: {"final": true}\n\n'
        )
        assert parse([body]) == [TextDelta("x"), Finish("stop")]


# --- chunks ---------------------------------------------------------------------------------


class TestChunks:
    def test_final_without_usage_or_cost(self) -> None:
        assert translate({"final": True}) == [Finish("stop")]

    def test_is_final_flag_alone(self) -> None:
        events = translate(piece("output", "a"), {**piece("output", "b"), "is_final": True})
        assert events == [TextDelta("a"), TextDelta("b"), Finish("stop")]

    def test_done_item_is_not_the_end(self) -> None:
        events = translate(piece("output", "a", done=True), piece("output", "b"))
        assert events == [TextDelta("a"), TextDelta("b"), *INTERRUPTED]

    def test_metadata_and_empty_chunks_emit_nothing(self) -> None:
        events = translate(
            {"type": "metadata", "name": "metadata", "content": '{"id": 1}'},
            piece("output", ""),
            {"type": "text", "name": "output"},
            {"type": "text", "name": "output", "content": None},
            close=False,
        )
        assert events == []

    def test_chunk_without_type_is_text(self) -> None:
        assert translate({"name": "output", "content": "x"}, close=False) == [TextDelta("x")]

    def test_image_output_is_one_warning(self) -> None:
        image = {"type": "image", "name": "output", "content": "iVBORw0KGgo="}
        events = translate(image, image, piece("output", "done"), {"final": True})
        assert isinstance(events[0], StreamWarning) and "image/output" in events[0].message
        assert events[1:] == [TextDelta("done"), Finish("stop")]

    @pytest.mark.parametrize(
        ("reason", "finish"),
        [
            ("stop", "stop"),
            ("length", "length"),
            ("MAX_TOKENS", "length"),
            ("max_tokens", "length"),
            ("SAFETY", "content_filter"),
            ("tool_calls", "tool_calls"),
            ("whatever", "stop"),
        ],
    )
    def test_finish_reason_on_the_final_chunk(self, reason: str, finish: str) -> None:
        assert translate({"final": True, "finish_reason": reason}) == [Finish(finish)]  # type: ignore[arg-type]

    def test_nothing_after_the_final_chunk(self) -> None:
        events = translate({"final": True}, piece("output", "late"), {"error": "late"})
        assert events == [Finish("stop")]

    @pytest.mark.parametrize(
        ("warnings", "expected"),
        [
            (["a", "b"], ["gateway: a", "gateway: b"]),
            ("single", ["gateway: single"]),
            (
                [{"message": "quota low"}, {"code": 1}],
                ["gateway: quota low", 'gateway: {"code": 1}'],
            ),
            ([None, 3, ""], []),
            (None, []),
        ],
    )
    def test_warnings(self, warnings: Any, expected: list[str]) -> None:
        events = translate({"final": True, "warnings": warnings})
        assert [e.message for e in events if isinstance(e, StreamWarning)] == expected
        assert events[-1] == Finish("stop")


class TestUsage:
    def test_usage_and_cost(self) -> None:
        assert usage_from_gateway(FINAL_A) == USAGE_A

    def test_cost_only(self) -> None:
        assert usage_from_gateway({"cost": {"total": 0.5}}) == Usage(cost_usd=0.5)
        assert usage_from_gateway({"cost": 0.25}) == Usage(cost_usd=0.25)

    def test_neither(self) -> None:
        assert usage_from_gateway({"final": True}) is None
        assert usage_from_gateway({"cost": {"total": "1.0"}}) is None

    def test_zero_cost_is_a_cost(self) -> None:
        assert usage_from_gateway({"usage": {}, "cost": {"total": 0}}) == Usage(cost_usd=0.0)

    def test_bad_cost_is_unknown(self) -> None:
        usage = usage_from_gateway({"usage": {"input_tokens": 1}, "cost": {"total": True}})
        assert usage == Usage(input_tokens=1)

    def test_reasoning_beside_output(self) -> None:
        raw = {
            "usage": {
                "input_tokens": 10,
                "output_tokens": 20,
                "thinking_tokens": 70,
                "total_tokens": 100,
            }
        }
        assert usage_from_gateway(raw) == Usage(
            input_tokens=10, output_tokens=90, reasoning_tokens=70
        )

    def test_reasoning_inside_output(self) -> None:
        raw = {
            "usage": {
                "input_tokens": 10,
                "output_tokens": 90,
                "reasoning_tokens": 70,
                "total_tokens": 100,
            }
        }
        assert usage_from_gateway(raw) == Usage(
            input_tokens=10, output_tokens=90, reasoning_tokens=70
        )

    def test_openai_style_names_and_cache(self) -> None:
        raw = {"usage": {"prompt_tokens": 4, "completion_tokens": 5, "cached_tokens": 2}}
        assert usage_from_gateway(raw) == Usage(
            input_tokens=4, output_tokens=5, cached_input_tokens=2
        )

    def test_usage_arrives_once(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert [e for e in events if isinstance(e, UsageUpdate)] == [UsageUpdate(USAGE_A)]


class TestErrors:
    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            ({"error": "model not available"}, "model not available"),
            ({"error": {"message": "quota exceeded", "type": "quota"}}, "quota exceeded [quota]"),
            ({"type": "error", "message": "bad input"}, "bad input"),
            ({"type": "error", "name": "error", "content": "stream failed"}, "stream failed"),
            ({"status": "error", "detail": "upstream timeout"}, "upstream timeout"),
            ({"type": "error"}, "the gateway sent an error"),
        ],
        ids=["string", "object", "type", "content", "detail", "bare"],
    )
    def test_error_shapes(self, payload: dict[str, Any], message: str) -> None:
        events = translate(piece("output", "a"), payload)
        assert events == [
            TextDelta("a"),
            StreamError(f"error from the gateway: {message}"),
            Finish("error"),
        ]

    @pytest.mark.parametrize(
        ("payload", "status", "retryable"),
        [
            ({"error": {"message": "m", "code": 429}}, 429, True),
            ({"error": "m", "status_code": 500}, 500, True),
            ({"error": {"message": "m", "status": 400}}, 400, False),
            ({"error": "m", "retryable": True}, None, True),
            ({"error": {"message": "m", "code": "E42"}}, None, False),
        ],
    )
    def test_status_and_retryable(
        self, payload: dict[str, Any], status: int | None, retryable: bool
    ) -> None:
        error = translate(payload)[0]
        assert isinstance(error, StreamError)
        assert (error.status, error.retryable) == (status, retryable)

    def test_error_on_the_final_chunk_keeps_usage(self) -> None:
        events = translate(
            {"final": True, "error": "cut off", "usage": {"input_tokens": 3}, "cost": 0.1}
        )
        assert events == [
            UsageUpdate(Usage(input_tokens=3, cost_usd=0.1)),
            StreamError("error from the gateway: cut off"),
            Finish("error"),
        ]

    def test_sse_error_event_with_plain_text(self) -> None:
        body = b"event: error\ndata: Internal Server Error\n\n"
        assert parse([body]) == [
            StreamError("error from the gateway: Internal Server Error"),
            Finish("error"),
        ]

    def test_bare_json_error_outside_sse(self) -> None:
        body = sse(piece("output", "a")) + b'{"detail": "Internal error in service"}\n'
        assert parse([body]) == [
            TextDelta("a"),
            StreamError("error from the gateway: Internal error in service"),
            Finish("error"),
        ]

    def test_nothing_after_an_error(self) -> None:
        translator = GatewayTranslator()
        translator.feed(SSEEvent('{"error":"x"}'))
        assert translator.feed(SSEEvent('{"final": true}')) == []
        assert translator.close() == []

    def test_error_message_is_one_line_and_redacted(self) -> None:
        key = "sk_" + "Q" * 40
        for pad in range(220, 300, 7):
            translator = GatewayTranslator(secrets=(key,))
            message = "bad\nthing " + "y" * pad + f" {key}"
            error = translator.feed(SSEEvent(json.dumps({"error": message})))[0]
            assert isinstance(error, StreamError)
            assert "\n" not in error.message and "QQQQ" not in error.message

    def test_garbage_is_a_warning_and_the_stream_continues(self) -> None:
        events = translate(
            piece("output", "a"), "{not json", "[1, 2]", "[DONE]", "", piece("output", "b"),
            {"final": True},
        )  # fmt: skip
        assert events[0] == TextDelta("a")
        assert [type(e) for e in events[1:3]] == [StreamWarning, StreamWarning]
        assert events[3:] == [TextDelta("b"), Finish("stop")]

    def test_invalid_utf8_is_a_warning(self) -> None:
        body = b'data: {"name":"output","content":"a\xffb","final":true}\n\n'
        assert parse([body]) == [
            TextDelta("a\ufffdb"),
            Finish("stop"),
            INVALID_UTF8,
        ]

    def test_warnings_are_redacted(self) -> None:
        key = "gw-secret-key-123456"
        events = parse([sse({"final": True, "warnings": [f"key {key} expires soon"]})], (key,))
        assert isinstance(events[0], StreamWarning) and key not in events[0].message


# --- provider -------------------------------------------------------------------------------


KEY = "sk_live_gateway_abcdef123456"
CONVERSATION = Conversation(
    messages=(
        Message("user", "Hi"),
        Message("assistant", "Hello!"),
        Message("user", "Write a haiku about programming."),
    ),
    system="Be brief.",
)


def gateway(key: str | None = KEY, key_env: str | None = "GW_KEY") -> GatewayProvider:
    return GatewayProvider("gw", "http://localhost:8000/api/v1/", key, key_env)


def body_of(model: str, conversation: Conversation = CONVERSATION) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gateway().build_request(model, conversation).content)
    return data


class TestRequest:
    def test_request(self) -> None:
        request = gateway().build_request("google-gemini/gemini-2.0-flash", CONVERSATION)
        assert request.method == "POST"
        assert str(request.url) == "http://localhost:8000/api/v1/generate/stream"
        assert request.headers["X-API-Key"] == KEY
        assert request.headers["Accept"] == "text/event-stream"
        assert request.headers["Content-Type"] == "application/json"
        assert "Authorization" not in request.headers
        assert json.loads(request.content) == {
            "service_name": "google-gemini",
            "model_name": "gemini-2.0-flash",
            "input": [
                {"type": "text", "name": "input", "content": "Write a haiku about programming."}
            ],
            "parameters": {"system_prompt": "Be brief."},
            "history": [
                {"role": "user", "type": "text", "name": "input", "content": "Hi"},
                {"role": "assistant", "type": "text", "name": "output", "content": "Hello!"},
            ],
        }

    def test_single_turn_has_no_history_or_parameters(self) -> None:
        body = body_of("openai/gpt-4.1", Conversation(messages=(Message("user", "x"),)))
        assert body == {
            "service_name": "openai",
            "model_name": "gpt-4.1",
            "input": [{"type": "text", "name": "input", "content": "x"}],
        }

    def test_split_at_the_first_slash(self) -> None:
        body = body_of("openrouter/meta-llama/llama-3.3-70b")
        assert (body["service_name"], body["model_name"]) == (
            "openrouter",
            "meta-llama/llama-3.3-70b",
        )

    def test_consecutive_user_turns_are_merged(self) -> None:
        conversation = Conversation(
            messages=(
                Message("user", "first (its reply failed)"),
                Message("user", "second"),
                Message("assistant", "answer"),
                Message("user", "third"),
                Message("user", "fourth"),
            )
        )
        body = body_of("svc/m", conversation)
        assert body["input"][0]["content"] == "third\n\nfourth"
        assert [(h["role"], h["content"]) for h in body["history"]] == [
            ("user", "first (its reply failed)\n\nsecond"),
            ("assistant", "answer"),
        ]

    def test_thinking_parameter_for_reasoning_models(self) -> None:
        assert body_of("google-gemini/gemini-2.5-flash")["parameters"]["enable_thinking"] is True
        off = Conversation(messages=CONVERSATION.messages, reasoning=False)
        body = body_of("google-gemini/gemini-3-pro-thinking-preview", off)
        assert body["parameters"]["enable_thinking"] is False
        assert "enable_thinking" not in body_of("google-gemini/gemini-2.0-flash")["parameters"]
        assert body_of("anthropic/claude-sonnet-4-5")["parameters"]["enable_thinking"] is True

    def test_max_tokens_parameter(self) -> None:
        conversation = Conversation(messages=(Message("user", "x"),), max_tokens=1024)
        assert body_of("svc/m", conversation)["parameters"] == {"max_tokens": 1024}

    @pytest.mark.parametrize("model", ["gemini-2.0-flash", "/gemini", "google-gemini/", " /x"])
    def test_model_without_service_is_a_config_error(self, model: str) -> None:
        with pytest.raises(ConfigError) as caught:
            gateway().build_request(model, CONVERSATION)
        message = str(caught.value)
        assert "\n" not in message and "gw:google-gemini/" in message
        with pytest.raises(ConfigError):
            gateway().split_model(model)

    def test_config_error_suggests_the_model(self) -> None:
        with pytest.raises(ConfigError, match="e.g. gw:google-gemini/gemini-2.5-flash"):
            split_service_model("gw", "gemini-2.5-flash")

    def test_no_key(self) -> None:
        provider = gateway(None, None)
        assert "X-API-Key" not in provider.build_request("s/m", CONVERSATION).headers
        assert provider.missing_key() is None and provider.secrets() == ()


class TestKeysAndPrice:
    def test_missing_key_names_the_variable(self) -> None:
        message = gateway(None).missing_key()
        assert message is not None and "GW_KEY" in message and "X-API-Key" in message
        assert "\n" not in message

    def test_key(self) -> None:
        assert gateway().missing_key() is None and gateway().secrets() == (KEY,)

    def test_non_ascii_key(self) -> None:
        message = gateway("k\u2026ey").missing_key()
        assert message is not None and "GW_KEY" in message and "\u2026" not in message

    def test_parser_carries_the_key_as_secret(self) -> None:
        events = gateway().new_parser().feed(sse({"error": f"bad key {KEY}"}))
        assert isinstance(events[0], StreamError) and KEY not in events[0].message

    @pytest.mark.parametrize(
        ("model", "provider_id", "name"),
        [
            ("google-gemini/gemini-2.0-flash", "google", "gemini-2.0-flash"),
            ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
            ("openai/gpt-4.1", "openai", "gpt-4.1"),
            ("self-hosted/llama3", None, "llama3"),
        ],
    )
    def test_price_spec(self, model: str, provider_id: str | None, name: str) -> None:
        spec = gateway().price_spec(model)
        assert (spec.model, spec.provider_id, spec.local) == (name, provider_id, False)
        assert spec.base_url == (None if provider_id else "http://localhost:8000/api/v1")


class TestDescribeHttpError:
    def test_fastapi_detail_401(self) -> None:
        message = gateway().describe_http_error(401, b'{"detail":"Invalid API key"}')
        assert message == "HTTP 401 from gw: Invalid API key (check GW_KEY, sent as X-API-Key)"

    def test_401_without_key_env(self) -> None:
        message = gateway(None, None).describe_http_error(403, b'{"detail":"Not authenticated"}')
        assert "api_key_env" in message and "[providers.gw]" in message

    def test_fastapi_validation_errors(self) -> None:
        body = json.dumps(
            {
                "detail": [
                    {"loc": ["body", "service_name"], "msg": "field required", "type": "missing"},
                    {"loc": ["body", "input", 0], "msg": "bad item", "type": "value_error"},
                ]
            }
        ).encode()
        assert gateway().describe_http_error(422, body) == (
            "HTTP 422 from gw: body.service_name: field required; body.input.0: bad item "
            "(the gateway rejected the request body)"
        )

    def test_detail_object_and_error_envelopes(self) -> None:
        detail = b'{"detail":{"message":"Unknown service foo","code":"bad_service"}}'
        assert "Unknown service foo" in gateway().describe_http_error(404, detail)
        assert "no credits" in gateway().describe_http_error(402, b'{"error":"no credits"}')
        nested = b'{"error":{"message":"slow down","type":"rate_limit"}}'
        assert gateway().describe_http_error(429, nested) == (
            "HTTP 429 from gw: slow down [rate_limit] (rate limited; wait and retry)"
        )

    def test_404_hint_and_plain_text(self) -> None:
        message = gateway().describe_http_error(404, b"Not Found")
        assert message == (
            "HTTP 404 from gw: Not Found "
            "(check SERVICE/MODEL and the base URL http://localhost:8000/api/v1)"
        )
        assert (
            gateway().describe_http_error(500, b"")
            == "HTTP 500 from gw (server error; retry later)"
        )

    def test_key_never_appears(self) -> None:
        for pad in range(250, 300, 5):
            body = json.dumps({"detail": "x" * pad + f" {KEY}"}).encode()
            message = gateway().describe_http_error(401, body)
            assert "sk_live_gat" not in message and "\n" not in message
        plain = gateway().describe_http_error(401, f"bad\nkey {KEY}".encode())
        assert KEY not in plain and "\n" not in plain
