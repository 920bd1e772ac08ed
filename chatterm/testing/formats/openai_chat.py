"""OpenAI Chat Completions (``POST /v1/chat/completions``), as documented at
https://platform.openai.com/docs/api-reference/chat-streaming.

Data-only SSE: a role chunk, reasoning in the scenario's dialect (``reasoning_content``,
``reasoning``, inline ``<think>`` tags, none, or Mistral's ``content_parts``: each delta's
``content`` a list of parts, ``{"type": "thinking", "thinking": [{"type": "text", ...}]}``
for reasoning and ``{"type": "text", ...}`` for the answer), content deltas, a finish chunk, a
``choices: []`` usage chunk when ``stream_options.include_usage`` is set, then
``data: [DONE]``. Errors use the ``{"error": {message, type, param, code}}`` envelope, before
the stream (HTTP status) and inside it (a data event).
"""

from __future__ import annotations

import json
from typing import Any

from chatterm.testing.formats.base import CREATED, Refusal, Request, WireFormat
from chatterm.testing.frames import Frame, Wire
from chatterm.testing.scenario import Scenario

OPENAI_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided: {api_key}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: ("You are not allowed to use this model.", "invalid_request_error", None),
    404: ("The model `test-model` does not exist.", "invalid_request_error", "model_not_found"),
    429: (
        "Rate limit reached for test-model on tokens per min (TPM): Limit 30000, Used 30000, "
        "Requested 1200. Please try again in 2.4s.",
        "tokens",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}

MIDSTREAM_ERROR: dict[str, Any] = {
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


class OpenAIErrors(WireFormat):
    """The error envelope, key check and rate-limit headers both OpenAI APIs share."""

    retry_after_ms = True

    def default_message(self, status: int, request: Request) -> Refusal:
        message, error_type, code = OPENAI_ERRORS.get(
            status, (f"fake error {status}", "invalid_request_error", None)
        )
        return Refusal(status, message, error_type, code)

    def error_body(self, s: Scenario, refusal: Refusal, request: Request) -> bytes:
        envelope = {
            "error": {
                "message": refusal.message,
                "type": refusal.error_type or "invalid_request_error",
                "param": None,
                "code": refusal.code,
            }
        }
        return json.dumps(envelope).encode("utf-8")

    def retry_headers(self, s: Scenario, status: int) -> list[tuple[str, str]]:
        headers = super().retry_headers(s, status)
        if status == 429 and s.retry_after is not None:
            headers.append(("x-ratelimit-remaining-tokens", "0"))
        return headers

    def check(self, s: Scenario, request: Request) -> Refusal | None:
        if s.api_key is not None and presented_bearer(request) != s.api_key:
            return self.default_message(401, request)
        return None

    def check_body(self, request: Request) -> Refusal | None:
        if not isinstance(request.body.get("model"), str):
            return Refusal(400, "bad request: 'model' is required", "invalid_request_error")
        if request.body.get("stream") is not True:
            return Refusal(400, "bad request: this fake server only streams", "invalid_request")
        return None


def presented_bearer(request: Request) -> str:
    return (request.header("authorization") or "").removeprefix("Bearer ")


class ChatCompletions(OpenAIErrors):
    name = "chat"
    midstream_messages = {"default": MIDSTREAM_ERROR["error"]["message"]}

    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        options = request.body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        return chat_frames(s, request.model, include_usage=include_usage, wire=self.wire(s))

    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        wire = self.wire(s)
        error = dict(s.error_object or MIDSTREAM_ERROR)
        frames = [wire.sse(error, error=error)]
        if s.done_after_error:
            frames.append(wire.sse("[DONE]"))
        return frames


def chat_frames(s: Scenario, model: str, *, include_usage: bool, wire: Wire) -> list[Frame]:
    """The clean Chat Completions reply."""
    model = s.model or model
    usage_key = {"usage": None} if include_usage else {}
    frames: list[Frame] = []

    def chunk(
        delta: dict[str, Any], finish: str | None = None, reasoning: str = "", content: str = ""
    ) -> None:
        body: dict[str, Any] = {
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **usage_key,
        }
        frames.append(wire.sse(body, finish=finish, reasoning=reasoning, content=content))

    def comment() -> None:
        if s.keepalive_comments:
            frames.append(wire.comment())

    comment()
    if s.dialect == "reasoning_content":
        chunk({"role": "assistant", "content": None, "reasoning_content": ""})
    elif s.dialect == "none":
        chunk({"role": "assistant", "content": "", "refusal": None})
    else:
        chunk({"role": "assistant", "content": ""})
    if s.dialect == "reasoning_content":
        for piece in s.reasoning_pieces:
            chunk({"content": None, "reasoning_content": piece}, reasoning=piece)
    elif s.dialect == "reasoning":
        for piece in s.reasoning_pieces:
            chunk({"reasoning": piece}, reasoning=piece)
    elif s.dialect == "content_parts":
        for piece in s.reasoning_pieces:
            part = {"type": "thinking", "thinking": [{"type": "text", "text": piece}]}
            chunk({"content": [part]}, reasoning=piece)
    comment()
    for piece in s.content_pieces:
        if s.dialect == "reasoning_content":
            chunk({"content": piece, "reasoning_content": None}, content=piece)
        elif s.dialect == "content_parts":
            chunk({"content": [{"type": "text", "text": piece}]}, content=piece)
        else:
            chunk({"content": piece}, content=piece)
    finish = s.native_finish_reason or s.finish_reason
    if finish is not None:
        chunk({}, finish)
    if include_usage and s.usage_chunk:
        usage = chat_usage(s)
        body = {
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [],
            "usage": usage,
        }
        frames.append(wire.sse(body, usage=usage))
    if s.done:
        frames.append(wire.sse("[DONE]"))
    return frames


def chat_usage(s: Scenario) -> dict[str, Any]:
    """The ``usage`` object of the final chunk, in the dialect's server's shape."""
    completion = s.completion_count()
    usage: dict[str, Any] = {
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": s.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": s.cached_tokens},
    }
    if s.dialect != "think_tags":  # servers without a reasoning parser cannot count it
        usage["completion_tokens_details"] = {"reasoning_tokens": s.reasoning_count()}
    if s.dialect == "reasoning_content":  # DeepSeek's own cache counters
        usage["prompt_cache_hit_tokens"] = s.cached_tokens
        usage["prompt_cache_miss_tokens"] = s.prompt_tokens - s.cached_tokens
    if s.cost is not None:  # OpenRouter's extras
        usage["cost"] = s.cost
        usage["is_byok"] = False
    return usage
