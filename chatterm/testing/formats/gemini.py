"""Google Gemini (``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``), as documented
at https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent.

Data-only SSE with CRLF line ends (events end ``\\r\\n\\r\\n``), JSON spaced the way Google
writes it (``"key": value``). One chunk per piece: ``thought: true`` parts for the
reasoning, plain text parts for the answer; ``usageMetadata`` on every chunk as a running
total (zero counts left out), ``finishReason`` on the last chunk; the server then closes.

A mid-stream error (``error_shape`` ``raw``, the default) is a pretty-printed JSON object
appended **without** ``data:``, the way Google's front end writes it; ``data`` sends it as a
data event instead. HTTP errors use Google's envelope ``{"error": {code, message, status}}``,
pretty-printed. The key is checked in ``x-goog-api-key`` (or ``?key=``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from chatterm.testing.formats.base import Refusal, Request, WireFormat, running
from chatterm.testing.frames import Frame
from chatterm.testing.scenario import Scenario

RESPONSE_ID = "fakeGeminiResponse1"
UNAVAILABLE: dict[str, Any] = {
    "code": 503,
    "message": "The model is overloaded. Please try again later.",
    "status": "UNAVAILABLE",
}
_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "tool_calls": "STOP",
}
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: (
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
    ),
    403: (
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). "
        "Please use API Key or other form of API consumer identity to call this API.",
    ),
    404: (
        "NOT_FOUND",
        "models/{model} is not found for API version v1beta, or is not supported for "
        "generateContent.",
    ),
    429: (
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
    ),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}
_BAD_KEY = "API key not valid. Please pass a valid API key."


class GeminiStream(WireFormat):
    name = "gemini"
    line_ending = "\r\n"
    json_separators = (",", ": ")
    midstream_messages = {
        "default": UNAVAILABLE["message"],
        "raw": UNAVAILABLE["message"],
        "data": UNAVAILABLE["message"],
    }

    def default_message(self, status: int, request: Request) -> Refusal:
        reason, message = _ERRORS.get(status, ("UNKNOWN", f"fake error {status}"))
        return Refusal(status, message.replace("{model}", request.model), reason)

    def error_body(self, s: Scenario, refusal: Refusal, request: Request) -> bytes:
        error: dict[str, Any] = {
            "code": refusal.status,
            "message": refusal.message,
            "status": refusal.error_type or "UNKNOWN",
        }
        if refusal.code == "API_KEY_INVALID":
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ]
        elif s.retry_after is not None:
            delay = f"{max(0, math.ceil(s.retry_after))}s"
            error["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
            ]
        return (json.dumps({"error": error}, indent=2) + "\n").encode("utf-8")

    def check(self, s: Scenario, request: Request) -> Refusal | None:
        if s.api_key is None:
            return None
        presented = request.header("x-goog-api-key") or request.query.get("key")
        if not presented:
            return self.default_message(403, request)
        if presented != s.api_key:
            return Refusal(400, _BAD_KEY, "INVALID_ARGUMENT", "API_KEY_INVALID")
        return None

    def check_body(self, request: Request) -> Refusal | None:
        def invalid(message: str) -> Refusal:
            return Refusal(400, message, "INVALID_ARGUMENT")

        if request.query.get("alt") != "sse":
            return invalid("this fake server streams only with ?alt=sse")
        contents = request.body.get("contents")
        if not isinstance(contents, list) or not contents:
            return invalid("* GenerateContentRequest.contents: contents is not specified")
        for content in contents:
            role = content.get("role") if isinstance(content, dict) else None
            if role not in (None, "user", "model"):
                return invalid("Please use a valid role: user, model.")
        return None

    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        wire = self.wire(s)
        frames: list[Frame] = []
        reasoning = s.reasoning_pieces
        answer = s.answer_pieces or [""]
        thoughts = s.reasoning_count() if s.reasoning else 0
        candidates = s.completion_count() - thoughts
        finish = s.native_finish_reason or _FINISH.get(s.finish_reason or "", s.finish_reason)

        def chunk(part: dict[str, Any], n_thoughts: int, n_answer: int, last: bool) -> Frame:
            candidate: dict[str, Any] = {"content": {"parts": [part], "role": "model"}}
            if last and finish is not None:
                candidate["finishReason"] = finish
            candidate["index"] = 0
            body: dict[str, Any] = {"candidates": [candidate]}
            usage = self._usage(s, n_thoughts, n_answer) if s.usage_chunk else None
            if usage is not None:
                body["usageMetadata"] = usage
            body["modelVersion"] = s.model or request.model
            body["responseId"] = RESPONSE_ID
            text = part["text"]
            return wire.sse(
                body,
                reasoning=text if part.get("thought") else "",
                content="" if part.get("thought") else text,
                finish=candidate.get("finishReason"),
                usage=usage,
            )

        if s.keepalive_comments:
            frames.append(wire.comment())
        for i, piece in enumerate(reasoning, 1):
            n = running(thoughts, i, len(reasoning))
            frames.append(chunk({"text": piece, "thought": True}, n, 0, False))
        if s.keepalive_comments:
            frames.append(wire.comment())
        for i, piece in enumerate(answer, 1):
            n = running(candidates, i, len(answer))
            frames.append(chunk({"text": piece}, thoughts, n, i == len(answer)))
        return frames

    @staticmethod
    def _usage(s: Scenario, thoughts: int, answer: int) -> dict[str, Any]:
        usage: dict[str, Any] = {"promptTokenCount": s.prompt_tokens}
        if answer:
            usage["candidatesTokenCount"] = answer
        usage["totalTokenCount"] = s.prompt_tokens + answer + thoughts
        if s.cached_tokens:
            usage["cachedContentTokenCount"] = s.cached_tokens
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": s.prompt_tokens}]
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        error = {"error": dict(s.error_object or UNAVAILABLE)}
        if s.error_shape in ("default", "raw"):
            text = json.dumps(error, indent=2, ensure_ascii=False) + "\n"
            return [Frame(text.encode("utf-8"), kind="raw", error=error)]
        if s.error_shape == "data":
            return [self.wire(s).sse(error, error=error)]
        raise ValueError(f"Gemini error_shape is raw or data, not {s.error_shape!r}")
