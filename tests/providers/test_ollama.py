"""Ollama's native /api/chat: translator, NDJSON parser, provider, model list."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
from stream_helpers import INVALID_UTF8, fold_events, run_parser

from chatterm.errors import ChattermError
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
from chatterm.providers.ollama import (
    OllamaChatParser,
    OllamaChatTranslator,
    OllamaProvider,
    list_installed_models,
    parse_ollama_host,
    usage_from_ollama,
)
from chatterm.reply.accumulate import Reply

# --- transcripts (as Ollama sends them) ------------------------------------------

TRANSCRIPT_A = (
    '{"model":"qwen3","created_at":"2026-01-05T10:00:00.000000001Z","message":{"role":'
    '"assistant","content":"","thinking":"17×23 = 17×20 + 17×3"},"done":false}\n'
    '{"model":"qwen3","created_at":"2026-01-05T10:00:00.020000001Z","message":{"role":'
    '"assistant","content":"","thinking":" = 340 + 51 = 391."},"done":false}\n'
    '{"model":"qwen3","created_at":"2026-01-05T10:00:00.040000001Z","message":{"role":'
    '"assistant","content":"17 × 23 = 391"},"done":false}\n'
    '{"model":"qwen3","created_at":"2026-01-05T10:00:00.060000001Z","message":{"role":'
    '"assistant","content":""},"done":true,"done_reason":"stop","total_duration":812345678,'
    '"load_duration":12345678,"prompt_eval_count":18,"prompt_eval_duration":40000000,'
    '"eval_count":64,"eval_duration":700000000}\n'
).encode()
A_USAGE = Usage(input_tokens=18, output_tokens=64, server_tokens_per_s=64 / 0.7)
TRANSCRIPT_A_EVENTS: list[Event] = [
    ReasoningDelta("17×23 = 17×20 + 17×3"),
    ReasoningDelta(" = 340 + 51 = 391."),
    TextDelta("17 × 23 = 391"),
    UsageUpdate(A_USAGE),
    Finish("stop"),
]

TRANSCRIPT_B = (
    b'{"model":"gemma4","created_at":"2025-10-26T17:21:21.196249Z","message":{"role":'
    b'"assistant","content":" Yes"},"done":false}\n'
    b'{"model":"gemma4","created_at":"2025-10-26T17:21:21.207235Z","message":{"role":'
    b'"assistant","content":"."},"done":false}\n'
    b'{"error":"an error was encountered while running the model"}\n'
)
TRANSCRIPT_B_EVENTS: list[Event] = [
    TextDelta(" Yes"),
    TextDelta("."),
    StreamError("error from Ollama: an error was encountered while running the model"),
    Finish("error"),
]

# Multi-byte UTF-8 everywhere, a raw U+2028/U+2029/U+0085 inside JSON strings (legal JSON,
# fatal for str.splitlines), text on the done line, a blank keep-alive line.
TRANSCRIPT_C = (
    '{"model":"qwen3","message":{"role":"assistant","content":"","thinking":"известни 🤔"},'
    '"done":false}\n'
    "\n"
    '{"model":"qwen3","message":{"role":"assistant","content":"a\u2028b\u2029c\u0085d"},'
    '"done":false}\n'
    '{"model":"qwen3","message":{"role":"assistant","content":" — fin"},"done":true,'
    '"done_reason":"length","prompt_eval_count":5,"eval_count":9,"eval_duration":3000000000}\n'
).encode()
TRANSCRIPT_C_EVENTS: list[Event] = [
    ReasoningDelta("известни 🤔"),
    TextDelta("a\u2028b\u2029c\u0085d"),
    TextDelta(" — fin"),
    UsageUpdate(Usage(input_tokens=5, output_tokens=9, server_tokens_per_s=3.0)),
    Finish("length"),
]

INTERRUPTED: list[Event] = [
    StreamError(
        "the stream ended before Ollama finished (no done line); the partial reply is kept",
        retryable=True,
    ),
    Finish("interrupted"),
]


# --- helpers --------------------------------------------------------------------------------


def line(
    content: str | None = None,
    thinking: str | None = None,
    *,
    done: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """One /api/chat stream object."""
    message: dict[str, Any] = {"role": "assistant", "content": content or ""}
    if thinking is not None:
        message["thinking"] = thinking
    body: dict[str, Any] = {"model": "qwen3", "message": message, "done": done}
    body.update(extra)
    return body


def translate(*payloads: dict[str, Any] | str, close: bool = True) -> list[Event]:
    translator = OllamaChatTranslator()
    events: list[Event] = []
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        events.extend(translator.feed(text))
    if close:
        events.extend(translator.close())
    return events


def parse(chunks: Iterable[bytes], secrets: tuple[str, ...] = ()) -> list[Event]:
    return run_parser(OllamaChatParser(secrets), chunks)


def fold(events: Iterable[Event]) -> Reply:
    return fold_events(events, "ollama:test")


# --- transcripts ----------------------------------------------------------------------------


class TestTranscripts:
    def test_a_thinking_answer_usage(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert events == TRANSCRIPT_A_EVENTS
        reply = fold(events)
        assert reply.reasoning == "17×23 = 17×20 + 17×3 = 340 + 51 = 391."
        assert reply.text == "17 × 23 = 391"
        assert reply.finish_reason == "stop"
        assert reply.usage == A_USAGE
        assert reply.usage.server_tokens_per_s == pytest.approx(91.428571, rel=1e-6)
        assert (reply.error, reply.warnings) == (None, ())

    def test_b_mid_stream_error_keeps_partial_text(self) -> None:
        events = parse([TRANSCRIPT_B])
        assert events == TRANSCRIPT_B_EVENTS
        reply = fold(events)
        assert (reply.text, reply.finish_reason) == (" Yes.", "error")
        assert reply.error is not None and reply.error.retryable is False

    def test_c_utf8_separators_and_text_on_done_line(self) -> None:
        assert parse([TRANSCRIPT_C]) == TRANSCRIPT_C_EVENTS
        assert fold(TRANSCRIPT_C_EVENTS).text == "a\u2028b\u2029c\u0085d — fin"

    def test_last_line_without_newline(self) -> None:
        assert parse([TRANSCRIPT_A.rstrip(b"\n")]) == TRANSCRIPT_A_EVENTS
        assert parse([TRANSCRIPT_B.rstrip(b"\n")]) == TRANSCRIPT_B_EVENTS


# --- lines ----------------------------------------------------------------------------------


class TestLines:
    def test_empty_content_and_absent_thinking_emit_nothing(self) -> None:
        assert translate(line(""), line("", ""), close=False) == []

    def test_thinking_and_content_on_one_line(self) -> None:
        events = translate(line("ans", "thought"), close=False)
        assert events == [ReasoningDelta("thought"), TextDelta("ans")]

    @pytest.mark.parametrize(
        ("reason", "normalized"),
        [
            ("stop", "stop"),
            ("length", "length"),
            ("load", "stop"),
            ("unload", "stop"),
            ("", "stop"),
            (None, "stop"),
            ("something_new", "stop"),
        ],
    )
    def test_done_reason_mapping(self, reason: str | None, normalized: str) -> None:
        done = line(done=True)
        if reason is not None:
            done["done_reason"] = reason
        events = translate(line("x"), done)
        # A done line without counts reports no usage: the reply's usage is then estimated.
        assert events == [TextDelta("x"), Finish(normalized)]  # type: ignore[arg-type]

    def test_tool_calls_end_with_tool_calls(self) -> None:
        call = {
            "id": "call_1",
            "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Paris"}},
        }
        tool_line = line("")
        tool_line["message"]["tool_calls"] = [call]
        events = translate(tool_line, line(done=True, done_reason="stop", eval_count=12))
        assert events == [UsageUpdate(Usage(output_tokens=12)), Finish("tool_calls")]

    def test_tool_calls_cut_by_length_stay_length(self) -> None:
        tool_line = line("")
        tool_line["message"]["tool_calls"] = [{"function": {"name": "f", "arguments": {}}}]
        events = translate(tool_line, line(done=True, done_reason="length"))
        assert events[-1] == Finish("length")

    def test_lines_after_done_are_ignored(self) -> None:
        events = translate(line("a"), line(done=True), line("late"), {"error": "late"})
        assert events == [TextDelta("a"), Finish("stop")]

    def test_done_false_line_without_message_is_not_a_warning(self) -> None:
        assert translate({"model": "m", "done": False}, close=False) == []

    def test_generate_shape_is_an_unknown_shape(self) -> None:
        events = translate({"model": "m", "response": "x"}, close=False)
        assert len(events) == 1 and isinstance(events[0], StreamWarning)

    def test_odd_field_types_do_not_crash(self) -> None:
        events = translate(
            {"message": None, "done": False},
            {"message": {"content": 5, "thinking": ["x"], "tool_calls": "no"}, "done": False},
            {"message": "text", "done": False},
            close=False,
        )
        assert events == []  # an ordinary done:false line whose fields are unusable


class TestUsage:
    def test_all_metrics(self) -> None:
        raw = {
            "prompt_eval_count": 26,
            "prompt_eval_duration": 130079000,
            "eval_count": 259,
            "eval_duration": 4232710000,
        }
        usage = usage_from_ollama(raw)
        assert (usage.input_tokens, usage.output_tokens) == (26, 259)
        assert usage.server_tokens_per_s == pytest.approx(259 / 4.23271)
        assert (usage.reasoning_tokens, usage.cached_input_tokens, usage.cost_usd) == (0, 0, None)

    def test_prompt_from_kv_cache_omits_prompt_eval_count(self) -> None:
        usage = usage_from_ollama({"eval_count": 3, "eval_duration": 1_000_000_000})
        assert usage == Usage(input_tokens=0, output_tokens=3, server_tokens_per_s=3.0)

    @pytest.mark.parametrize(
        "raw",
        [
            {},
            {"eval_count": 5},
            {"eval_count": 5, "eval_duration": 0},
            {"eval_count": 0, "eval_duration": 100},
            {"eval_count": "5", "eval_duration": 100},
            {"eval_count": True, "eval_duration": 100},
        ],
    )
    def test_no_speed_without_both_figures(self, raw: dict[str, Any]) -> None:
        assert usage_from_ollama(raw).server_tokens_per_s is None

    def test_usage_arrives_once_on_the_done_line(self) -> None:
        events = parse([TRANSCRIPT_A])
        assert [e for e in events if isinstance(e, UsageUpdate)] == [UsageUpdate(A_USAGE)]


class TestErrorsAndGarbage:
    def test_error_object_instead_of_string(self) -> None:
        events = translate(line("a"), {"error": {"message": "runner crashed", "type": "oom"}})
        assert events == [
            TextDelta("a"),
            StreamError("error from Ollama: runner crashed [oom]"),
            Finish("error"),
        ]

    def test_nothing_after_an_error(self) -> None:
        translator = OllamaChatTranslator()
        translator.feed('{"error":"boom"}')
        assert translator.feed(json.dumps(line("late", done=True))) == []
        assert translator.close() == []

    def test_empty_error_is_not_an_error(self) -> None:
        events = translate(line("x", error=""), line(done=True))
        assert events[0] == TextDelta("x") and events[-1] == Finish("stop")

    def test_error_message_is_one_line_and_redacted(self) -> None:
        key = "ollama_" + "K" * 40
        translator = OllamaChatTranslator(secrets=(key,))
        message = "bad\nthing " + "y" * 290 + f" {key}"
        error = translator.feed(json.dumps({"error": message}))[0]
        assert isinstance(error, StreamError)
        assert "\n" not in error.message and "KKKK" not in error.message

    def test_garbage_lines_are_warnings_and_the_stream_continues(self) -> None:
        events = translate(line("a"), "{not json", "[1, 2]", "null", line("b"), line(done=True))
        assert events[0] == TextDelta("a")
        assert [type(e) for e in events[1:4]] == [StreamWarning] * 3
        assert "{not json" in events[1].message  # type: ignore[union-attr]
        assert events[4:] == [TextDelta("b"), Finish("stop")]
        reply = fold(events)
        assert (reply.text, reply.finish_reason, reply.error) == ("ab", "stop", None)
        # One entry per kind, however many lines: the first one's start is shown.
        assert reply.warnings == (
            "skipped a stream line that is not JSON: {not json",
            "skipped 2 stream lines that were JSON but not objects; the first: [1, 2]",
        )

    def test_blank_lines_are_skipped(self) -> None:
        assert translate("", "   ", close=False) == []

    def test_close_without_done_is_interrupted_keeping_text(self) -> None:
        events = translate(line("", "hm"), line("partial"))
        assert events == [ReasoningDelta("hm"), TextDelta("partial"), *INTERRUPTED]
        reply = fold(events)
        assert (reply.reasoning, reply.text, reply.finish_reason) == (
            "hm",
            "partial",
            "interrupted",
        )
        assert reply.error is not None and reply.error.retryable

    def test_cut_inside_the_done_line_is_interrupted(self) -> None:
        body = TRANSCRIPT_A[: TRANSCRIPT_A.rindex(b'"eval_count"')]
        events = parse([body])
        assert events[:3] == TRANSCRIPT_A_EVENTS[:3]
        assert isinstance(events[3], StreamWarning)  # the cut line is not JSON
        assert events[4:] == INTERRUPTED

    def test_invalid_utf8_is_a_warning(self) -> None:
        body = b'{"message":{"content":"a\xffb"},"done":true}\n'
        events = parse([body])
        assert events == [
            TextDelta("a\ufffdb"),
            Finish("stop"),
            INVALID_UTF8,
        ]

    def test_warning_never_carries_the_key(self) -> None:
        key = "secret-ollama-key-123456"
        events = parse([f"not json {key}\n".encode()], secrets=(key,))
        assert isinstance(events[0], StreamWarning) and key not in events[0].message


# --- provider -------------------------------------------------------------------------------


CONVERSATION = Conversation(
    messages=(
        Message("user", "Hi"),
        Message("assistant", "Hello!"),
        Message("user", "What is 17 × 23?"),
    ),
    system="Be brief.",
)


def body_of(request: httpx.Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.content)
    return data


class TestHost:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, "http://127.0.0.1:11434"),
            ("", "http://127.0.0.1:11434"),
            ("  ", "http://127.0.0.1:11434"),
            ("0.0.0.0", "http://0.0.0.0:11434"),
            ("0.0.0.0:11434", "http://0.0.0.0:11434"),
            ("myhost", "http://myhost:11434"),
            ("myhost:8080", "http://myhost:8080"),
            (":56789", "http://127.0.0.1:56789"),
            ("http://1.2.3.4", "http://1.2.3.4"),
            ("http://1.2.3.4:11434/", "http://1.2.3.4:11434"),
            ("https://example.com", "https://example.com"),
            ("https://example.com:56789", "https://example.com:56789"),
            ("example.com/path/", "http://example.com:11434/path"),
            ("https://example.com:56789/path", "https://example.com:56789/path"),
            ("[::1]", "http://[::1]:11434"),
            ("[::1]:56789", "http://[::1]:56789"),
            ("http://[::1]", "http://[::1]"),
            ('"localhost:11434"', "http://localhost:11434"),
            ("myhost:notaport", "http://myhost:11434"),
            ("ollama.com", "https://ollama.com"),
            ("https://ollama.com", "https://ollama.com"),
        ],
    )
    def test_parse_like_ollama(self, value: str | None, expected: str) -> None:
        assert parse_ollama_host(value) == expected

    def test_host_from_env(self) -> None:
        provider = OllamaProvider.from_env({"OLLAMA_HOST": "0.0.0.0:11434"})
        request = provider.build_request("qwen3:8b", CONVERSATION)
        assert str(request.url) == "http://0.0.0.0:11434/api/chat"

    def test_default_host(self) -> None:
        request = OllamaProvider.from_env({}).build_request("llama3.2", CONVERSATION)
        assert str(request.url) == "http://127.0.0.1:11434/api/chat"


class TestRequest:
    def test_local_request(self) -> None:
        provider = OllamaProvider.from_env({"OLLAMA_API_KEY": "local-should-not-see-it"})
        request = provider.build_request("llama3.2:3b", CONVERSATION)
        assert request.method == "POST"
        assert "Authorization" not in request.headers
        assert request.headers["Content-Type"] == "application/json"
        assert body_of(request) == {
            "model": "llama3.2:3b",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "What is 17 × 23?"},
            ],
            "stream": True,
        }
        assert provider.secrets() == () and provider.missing_key() is None

    def test_no_system_message_when_none(self) -> None:
        conversation = Conversation(messages=(Message("user", "x"),))
        body = body_of(OllamaProvider().build_request("m", conversation))
        assert body["messages"] == [{"role": "user", "content": "x"}]

    def test_model_name_sent_as_given(self) -> None:
        body = body_of(OllamaProvider().build_request("hf.co/org/Model-GGUF:Q4_K_M", CONVERSATION))
        assert body["model"] == "hf.co/org/Model-GGUF:Q4_K_M"

    @pytest.mark.parametrize("model", ["qwen3:8b", "deepseek-r1:14b", "gpt-oss:20b"])
    def test_think_for_thinking_models(self, model: str) -> None:
        on = body_of(OllamaProvider().build_request(model, CONVERSATION))
        assert on["think"] is True
        off_conversation = Conversation(messages=CONVERSATION.messages, reasoning=False)
        off = body_of(OllamaProvider().build_request(model, off_conversation))
        assert off["think"] is False

    @pytest.mark.parametrize("reasoning", [True, False])
    def test_no_think_for_other_models(self, reasoning: bool) -> None:
        conversation = Conversation(messages=CONVERSATION.messages, reasoning=reasoning)
        body = body_of(OllamaProvider().build_request("llama3.2", conversation))
        assert "think" not in body

    def test_max_tokens_is_num_predict(self) -> None:
        conversation = Conversation(messages=(Message("user", "x"),), max_tokens=300)
        body = body_of(OllamaProvider().build_request("llama3.2", conversation))
        assert body["options"] == {"num_predict": 300}
        assert "options" not in body_of(OllamaProvider().build_request("llama3.2", CONVERSATION))

    def test_price_spec_local_is_free(self) -> None:
        spec = OllamaProvider.from_env({"OLLAMA_HOST": "gpu-box:11434"}).price_spec("qwen3")
        assert (spec.model, spec.local, spec.provider_id) == ("qwen3", True, None)


class TestCloud:
    KEY = "ollama-cloud-key-abcdef123456"

    def provider(self, key: str | None = KEY) -> OllamaProvider:
        env = {"OLLAMA_HOST": "https://ollama.com"}
        if key is not None:
            env["OLLAMA_API_KEY"] = key
        return OllamaProvider.from_env(env)

    def test_bearer_key_for_ollama_com(self) -> None:
        request = self.provider().build_request("gpt-oss:120b", CONVERSATION)
        assert str(request.url) == "https://ollama.com/api/chat"
        assert request.headers["Authorization"] == f"Bearer {self.KEY}"
        assert self.provider().secrets() == (self.KEY,)
        assert self.provider().missing_key() is None

    def test_missing_key_names_the_variable(self) -> None:
        message = self.provider(None).missing_key()
        assert message is not None and "OLLAMA_API_KEY" in message and "\n" not in message
        assert "Authorization" not in self.provider(None).build_request("m", CONVERSATION).headers

    def test_non_ascii_key(self) -> None:
        message = self.provider("abc\u2026def").missing_key()
        assert message is not None and "OLLAMA_API_KEY" in message and "\u2026" not in message

    def test_not_free(self) -> None:
        spec = self.provider().price_spec("gpt-oss:120b")
        assert spec.local is False and spec.base_url == "https://ollama.com"

    def test_key_echoed_in_error_is_redacted(self) -> None:
        body = json.dumps({"error": f"unauthorized: {self.KEY}"}).encode()
        message = self.provider().describe_http_error(401, body)
        assert self.KEY not in message
        assert message.endswith("(check OLLAMA_API_KEY)")

    def test_key_in_stream_error_is_redacted(self) -> None:
        parser = self.provider().new_parser()
        events = parser.feed(json.dumps({"error": f"bad {self.KEY}"}).encode() + b"\n")
        assert isinstance(events[0], StreamError) and self.KEY not in events[0].message


class TestDescribeHttpError:
    def test_404_hints_ollama_pull_with_the_model_from_the_body(self) -> None:
        body = b'{"error":"model \\"qwen3:8b\\" not found, try pulling it first"}'
        message = OllamaProvider().describe_http_error(404, body)
        assert message == (
            'HTTP 404 from ollama at http://127.0.0.1:11434: model "qwen3:8b" not found, '
            "try pulling it first (run `ollama pull qwen3:8b`, or check the model name)"
        )

    def test_404_hint_falls_back_to_the_requested_model(self) -> None:
        provider = OllamaProvider()
        provider.build_request("mistral-small3.2", CONVERSATION)
        message = provider.describe_http_error(404, b'{"error":"not found"}')
        assert "`ollama pull mistral-small3.2`" in message

    def test_400_thinking_not_supported(self) -> None:
        body = b'{"error":"\\"llama3.2\\" does not support thinking"}'
        message = OllamaProvider().describe_http_error(400, body)
        assert "does not support thinking" in message
        assert message.endswith("(turn reasoning off for this model)")

    def test_500_and_plain_text(self) -> None:
        message = OllamaProvider().describe_http_error(500, b'{"error":"llama runner exited"}')
        assert message == (
            "HTTP 500 from ollama at http://127.0.0.1:11434: llama runner exited "
            "(server error; retry later)"
        )
        assert "\n" not in OllamaProvider().describe_http_error(502, b"Bad\nGateway")


# --- model list -----------------------------------------------------------------------------


def client_for(handler: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


class TestListInstalledModels:
    async def test_names_in_server_order(self) -> None:
        seen: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            return httpx.Response(
                200,
                json={
                    "models": [
                        {"name": "qwen3:8b", "model": "qwen3:8b", "size": 5},
                        {"model": "llama3.2:latest"},
                        {"name": ""},
                        "junk",
                        {"name": "gpt-oss:20b"},
                    ]
                },
            )

        async with client_for(handler) as client:
            names = await list_installed_models(client, "0.0.0.0")
        assert names == ["qwen3:8b", "llama3.2:latest", "gpt-oss:20b"]
        assert seen == ["http://0.0.0.0:11434/api/tags"]

    async def test_no_models(self) -> None:
        async with client_for(lambda r: httpx.Response(200, json={"models": []})) as client:
            assert await list_installed_models(client, "http://127.0.0.1:11434") == []

    async def test_cloud_key_is_sent_only_to_ollama_com(self) -> None:
        headers: list[httpx.Headers] = []

        def handler(request: httpx.Request) -> httpx.Response:
            headers.append(request.headers)
            return httpx.Response(200, json={"models": []})

        async with client_for(handler) as client:
            await list_installed_models(client, "ollama.com", api_key="k-123456")
            await list_installed_models(client, "localhost", api_key="k-123456")
        assert headers[0]["Authorization"] == "Bearer k-123456"
        assert "Authorization" not in headers[1]

    async def test_unreachable_server(self) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("Connection refused", request=request)

        async with client_for(handler) as client:
            with pytest.raises(ChattermError) as caught:
                await list_installed_models(client, "myhost")
        message = str(caught.value)
        assert "http://myhost:11434" in message and "ollama serve" in message
        assert "\n" not in message

    @pytest.mark.parametrize(
        ("response", "needle"),
        [
            (httpx.Response(500, json={"error": "disk on fire"}), "HTTP 500"),
            (httpx.Response(200, text="<html>hi</html>"), "did not answer JSON"),
            (httpx.Response(200, json={"data": []}), "without a model list"),
            (httpx.Response(200, json=[1, 2]), "without a model list"),
        ],
        ids=["http-error", "not-json", "no-models-key", "not-an-object"],
    )
    async def test_failures_are_chatterm_errors(
        self, response: httpx.Response, needle: str
    ) -> None:
        async with client_for(lambda r: response) as client:
            with pytest.raises(ChattermError) as caught:
                await list_installed_models(client, "127.0.0.1:11434")
        message = str(caught.value)
        assert needle in message and "\n" not in message
        if response.status_code == 500:
            assert "disk on fire" in message
