"""OpenAI Chat Completions (``POST /v1/chat/completions``), as documented at
https://platform.openai.com/docs/api-reference/chat-streaming.

Data-only SSE: a role chunk, reasoning in the scenario's dialect (``reasoning_content``,
``reasoning``, inline ``<think>`` tags, none, or Mistral's ``content_parts``: each delta's
``content`` a list of parts, ``{"type": "thinking", "thinking": [{"type": "text", ...}]}``
for reasoning and ``{"type": "text", ...}`` for the answer), content deltas, a finish chunk, a
``choices: []`` usage chunk when ``stream_options.include_usage`` is set, then
``data: [DONE]``. Errors use the ``{"error": {message, type, param, code}}`` envelope, before
the stream (HTTP status) and inside it (a data event). A request with ``n`` above 1 gets
that many choices (:meth:`Scenario.choice_script`), their chunks interleaved one by one,
each with its own ``index`` and finish; the one usage chunk counts them all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
        n = request.body.get("n", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128:
            return Refusal(400, "Invalid 'n': expected an integer from 1 to 128.", "invalid_value")
        return None


def presented_bearer(request: Request) -> str:
    return (request.header("authorization") or "").removeprefix("Bearer ")


class ChatCompletions(OpenAIErrors):
    name = "chat"
    midstream_messages = {"default": MIDSTREAM_ERROR["error"]["message"]}

    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        options = request.body.get("stream_options") or {}
        include_usage = bool(isinstance(options, dict) and options.get("include_usage"))
        n = request.body.get("n", 1)
        choices = n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1
        return chat_frames(
            s, request.model, include_usage=include_usage, wire=self.wire(s), choices=choices
        )

    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        wire = self.wire(s)
        error = dict(s.error_object or MIDSTREAM_ERROR)
        frames = [wire.sse(error, error=error)]
        if s.done_after_error:
            frames.append(wire.sse("[DONE]"))
        return frames


def chat_frames(
    s: Scenario, model: str, *, include_usage: bool, wire: Wire, choices: int = 1
) -> list[Frame]:
    """The clean Chat Completions reply; of ``choices`` above 1, each choice's chunks (as
    :meth:`Scenario.choice_script` says) interleaved one by one."""
    model = s.model or model
    usage_key = {"usage": None} if include_usage else {}

    def chunk(
        index: int,
        delta: dict[str, Any],
        finish: str | None = None,
        reasoning: str = "",
        content: str = "",
    ) -> Frame:
        body: dict[str, Any] = {
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
            ],
            **usage_key,
        }
        return wire.sse(body, finish=finish, reasoning=reasoning, content=content)

    def lane(index: int, one: Scenario) -> list[Frame | None]:
        """One choice's chunks, None where the mid-stream keep-alive goes."""
        frames: list[Frame | None] = []
        if one.dialect == "reasoning_content":
            frames.append(
                chunk(index, {"role": "assistant", "content": None, "reasoning_content": ""})
            )
        elif one.dialect == "none":
            frames.append(chunk(index, {"role": "assistant", "content": "", "refusal": None}))
        else:
            frames.append(chunk(index, {"role": "assistant", "content": ""}))
        if one.dialect == "reasoning_content":
            for piece in one.reasoning_pieces:
                delta = {"content": None, "reasoning_content": piece}
                frames.append(chunk(index, delta, reasoning=piece))
        elif one.dialect == "reasoning":
            for piece in one.reasoning_pieces:
                frames.append(chunk(index, {"reasoning": piece}, reasoning=piece))
        elif one.dialect == "content_parts":
            for piece in one.reasoning_pieces:
                part = {"type": "thinking", "thinking": [{"type": "text", "text": piece}]}
                frames.append(chunk(index, {"content": [part]}, reasoning=piece))
        frames.append(None)
        for piece in one.content_pieces:
            if one.dialect == "reasoning_content":
                delta = {"content": piece, "reasoning_content": None}
                frames.append(chunk(index, delta, content=piece))
            elif one.dialect == "content_parts":
                parts = [{"type": "text", "text": piece}]
                frames.append(chunk(index, {"content": parts}, content=piece))
            else:
                frames.append(chunk(index, {"content": piece}, content=piece))
        finish = one.native_finish_reason or one.finish_reason
        if finish is not None:
            frames.append(chunk(index, {}, finish))
        return frames

    sent = choices if s.choices_sent is None else min(s.choices_sent, choices)
    scripts = [s] if choices == 1 else [s.choice_script(i) for i in range(sent)]
    lanes = [lane(index, one) for index, one in enumerate(scripts)]
    frames: list[Frame] = []
    if s.keepalive_comments:
        frames.append(wire.comment())
    for step in range(max((len(one) for one in lanes), default=0)):
        for one in lanes:
            if step < len(one):
                frame = one[step]
                if frame is not None:
                    frames.append(frame)
                elif s.keepalive_comments and one is lanes[0]:
                    frames.append(wire.comment())
    if include_usage and s.usage_chunk:
        usage = chat_usage(s, scripts)
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


def chat_usage(s: Scenario, choices: Sequence[Scenario] = ()) -> dict[str, Any]:
    """The ``usage`` object of the final chunk, in the dialect's server's shape; of several
    ``choices``, their output counted together."""
    choices = choices or [s]
    completion = sum(one.completion_count() for one in choices)
    reasoning = sum(one.reasoning_count() for one in choices)
    usage: dict[str, Any] = {
        "prompt_tokens": s.prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": s.prompt_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": s.cached_tokens},
    }
    if s.dialect != "think_tags":  # servers without a reasoning parser cannot count it
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    if s.dialect == "reasoning_content":  # DeepSeek's own cache counters
        usage["prompt_cache_hit_tokens"] = s.cached_tokens
        usage["prompt_cache_miss_tokens"] = s.prompt_tokens - s.cached_tokens
    if s.cost is not None:  # OpenRouter's extras
        usage["cost"] = s.cost
        usage["is_byok"] = False
    return usage
