"""Anthropic Messages (``POST /v1/messages``), as documented at
https://docs.anthropic.com/en/docs/build-with-claude/streaming.

Named SSE events: ``message_start`` (with the input usage and a placeholder output count),
a ``thinking`` block (``thinking_delta`` pieces, then one ``signature_delta``), a ``ping``,
a ``text`` block (``text_delta`` pieces), ``message_delta`` with the stop reason and the
cumulative usage, ``message_stop``. ``redacted_thinking`` adds an opaque block that has no
deltas. A mid-stream failure is ``event: error`` with ``overloaded_error``; HTTP errors use
``{"type": "error", "error": {type, message}, "request_id"}`` (529 ``overloaded_error``,
429 ``rate_limit_error``, …).

Like the real API, the request must carry ``anthropic-version`` and ``max_tokens``, and a
thinking budget must be at least 1024 and below ``max_tokens``.
"""

from __future__ import annotations

import json
from typing import Any

from chatterm.testing.formats.base import Refusal, Request, WireFormat
from chatterm.testing.frames import Frame
from chatterm.testing.scenario import Scenario

MESSAGE_ID = "msg_01FakeServerReply"
REQUEST_ID = "req_011FakeServerRequest"
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qyR"
OVERLOADED: dict[str, Any] = {"details": None, "type": "overloaded_error", "message": "Overloaded"}

_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use this resource."),
    404: ("not_found_error", "model: {model}"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: (
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 30,000 input "
        "tokens per minute. Please try again later.",
    ),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


class AnthropicMessages(WireFormat):
    name = "anthropic"
    retry_after_ms = True
    midstream_messages = {"default": "Overloaded"}

    def response_headers(self, s: Scenario) -> list[tuple[str, str]]:
        return [("request-id", REQUEST_ID)]

    def default_message(self, status: int, request: Request) -> Refusal:
        error_type, message = _ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", f"fake {status}")
        )
        return Refusal(status, message.replace("{model}", request.model), error_type)

    def error_body(self, s: Scenario, refusal: Refusal, request: Request) -> bytes:
        envelope = {
            "type": "error",
            "error": {"type": refusal.error_type or "api_error", "message": refusal.message},
            "request_id": REQUEST_ID,
        }
        return json.dumps(envelope).encode("utf-8")

    def check(self, s: Scenario, request: Request) -> Refusal | None:
        presented = request.header("x-api-key") or (
            request.header("authorization") or ""
        ).removeprefix("Bearer ")
        if s.api_key is not None and presented != s.api_key:
            return self.default_message(401, request)
        return None

    def check_body(self, request: Request) -> Refusal | None:
        body = request.body

        def invalid(message: str) -> Refusal:
            return Refusal(400, message, "invalid_request_error")

        if not request.header("anthropic-version"):
            return invalid("anthropic-version: header is required")
        if not isinstance(body.get("model"), str):
            return invalid("model: Field required")
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            return invalid("max_tokens: Field required")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return invalid("messages: at least one message is required")
        for i, message in enumerate(messages):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in ("user", "assistant"):
                return invalid(
                    f"messages.{i}.role: Unexpected role {role!r}. The Messages API accepts a "
                    'top-level `system` parameter, not "system" as an input message role.'
                )
        thinking = body.get("thinking")
        if isinstance(thinking, dict) and thinking.get("type") == "enabled":
            budget = thinking.get("budget_tokens")
            if not isinstance(budget, int) or budget < 1024:
                return invalid("thinking.enabled.budget_tokens: Input should be >= 1024")
            if budget >= max_tokens:
                return invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
        if body.get("stream") is not True:
            return invalid("this fake server only streams: set stream to true")
        return None

    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        wire = self.wire(s)
        frames: list[Frame] = []
        pinged = False

        def event(payload: dict[str, Any], **meaning: Any) -> None:
            frames.append(wire.sse(payload, payload["type"], **meaning))

        def ping() -> None:
            nonlocal pinged
            if not pinged:
                pinged = True
                frames.append(wire.sse('{"type": "ping"}', "ping"))

        start_usage = {**self._input_usage(s), "output_tokens": 1, "service_tier": "standard"}
        message: dict[str, Any] = {
            "id": MESSAGE_ID,
            "type": "message",
            "role": "assistant",
            "model": s.model or request.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": start_usage,
        }
        if s.keepalive_comments:
            frames.append(wire.comment())
        event({"type": "message_start", "message": message})
        index = 0
        if s.redacted_thinking:
            block = {"type": "redacted_thinking", "data": REDACTED}
            event({"type": "content_block_start", "index": index, "content_block": block})
            event({"type": "content_block_stop", "index": index})
            index += 1
        if s.reasoning:
            block = {"type": "thinking", "thinking": "", "signature": ""}
            event({"type": "content_block_start", "index": index, "content_block": block})
            ping()
            for piece in s.reasoning_pieces:
                delta = {"type": "thinking_delta", "thinking": piece}
                event(
                    {"type": "content_block_delta", "index": index, "delta": delta}, reasoning=piece
                )
            delta = {"type": "signature_delta", "signature": SIGNATURE}
            event({"type": "content_block_delta", "index": index, "delta": delta})
            event({"type": "content_block_stop", "index": index})
            index += 1
        if s.keepalive_comments:
            frames.append(wire.comment())
        if s.answer:
            block = {"type": "text", "text": ""}
            event({"type": "content_block_start", "index": index, "content_block": block})
            ping()
            for piece in s.answer_pieces:
                delta = {"type": "text_delta", "text": piece}
                event(
                    {"type": "content_block_delta", "index": index, "delta": delta}, content=piece
                )
            event({"type": "content_block_stop", "index": index})
        finish = s.native_finish_reason or _STOP.get(s.finish_reason or "", s.finish_reason)
        if finish is not None:
            usage: dict[str, Any] = {**self._input_usage(s), "output_tokens": s.completion_count()}
            if s.reasoning:
                usage["output_tokens_details"] = {"thinking_tokens": s.reasoning_count()}
            stop: dict[str, Any] = {"stop_reason": finish, "stop_sequence": None}
            event(
                {"type": "message_delta", "delta": stop, "usage": usage},
                finish=finish,
                usage=usage,
            )
            event({"type": "message_stop"})
        return frames

    @staticmethod
    def _input_usage(s: Scenario) -> dict[str, Any]:
        return {
            "input_tokens": s.prompt_tokens - s.cached_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": s.cached_tokens,
        }

    def malformed(self, s: Scenario) -> Frame:
        """A named event whose data is not JSON (the SDK skips events without a name)."""
        return self.wire(s).sse("this is not JSON {", "content_block_delta")

    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        payload = {
            "type": "error",
            "error": dict(s.error_object or OVERLOADED),
            "request_id": REQUEST_ID,
        }
        return [self.wire(s).sse(payload, "error", error=payload)]
