"""A model gateway's ``POST /api/v1/generate/stream`` (seed document 003).

The request carries ``X-API-Key`` and ``{"service_name", "model_name", "input": [...]}``.
The answer is SSE ``data:`` chunks ``{"type": "text", "name": "thinking" | "output",
"content": "…", "done": false, "index": N, "is_final": false}`` (thinking is item 0 and the
output item 1 when there is reasoning; the last chunk of an item has ``done: true``), then
the final chunk ``{"final": true, "usage": {input_tokens, output_tokens, total_tokens},
"cost": {input, output, total}, "warnings": [...]}``. No ``[DONE]``.

What the seed does not show is filled in the way a FastAPI service behaves, and is an
assumption: HTTP errors are ``{"detail": "..."}`` (422 with a list for a malformed body),
and a mid-stream failure is ``data: {"error": {"message", "type"}}`` (``error_shape``
``event`` adds ``event: error``). The cost is the scenario's ``cost``, else
:data:`INPUT_PER_MTOK`/:data:`OUTPUT_PER_MTOK` (the rates the seed's example implies).
"""

from __future__ import annotations

import json
from typing import Any

from chatterm.testing.formats.base import Refusal, Request, WireFormat
from chatterm.testing.frames import Frame
from chatterm.testing.scenario import Scenario

INPUT_PER_MTOK = 0.075
OUTPUT_PER_MTOK = 0.30
MIDSTREAM_ERROR: dict[str, Any] = {
    "message": "Upstream provider error: the model is overloaded, please retry",
    "type": "upstream_error",
}
_ERRORS = {
    400: "Bad request",
    401: "Invalid API key",
    403: "This API key cannot use {model}",
    404: "Model {model} not found",
    429: "Rate limit exceeded. Retry after 3 seconds.",
    500: "Internal server error",
    502: "Upstream provider error",
    503: "Service temporarily unavailable",
}


def gateway_cost(s: Scenario) -> dict[str, float]:
    """The final chunk's ``cost``: the scenario's total split by the default rates."""
    input_cost = s.prompt_tokens * INPUT_PER_MTOK / 1e6
    output_cost = s.completion_count() * OUTPUT_PER_MTOK / 1e6
    total = input_cost + output_cost
    if s.cost is not None:
        share = input_cost / total if total else 0.0
        input_cost, output_cost, total = s.cost * share, s.cost * (1 - share), s.cost
    return {
        "input": round(input_cost, 10),
        "output": round(output_cost, 10),
        "total": round(total, 10),
    }


class GatewayStream(WireFormat):
    name = "gateway"
    midstream_messages = {
        "default": MIDSTREAM_ERROR["message"],
        "data": MIDSTREAM_ERROR["message"],
        "event": MIDSTREAM_ERROR["message"],
    }

    def default_message(self, status: int, request: Request) -> Refusal:
        message = _ERRORS.get(status, f"fake error {status}")
        return Refusal(status, message.replace("{model}", request.model))

    def error_body(self, s: Scenario, refusal: Refusal, request: Request) -> bytes:
        if refusal.status == 422 and refusal.code:
            detail: Any = [
                {"loc": ["body", refusal.code], "msg": refusal.message, "type": "missing"}
            ]
        else:
            detail = refusal.message
        return json.dumps({"detail": detail}).encode("utf-8")

    def check(self, s: Scenario, request: Request) -> Refusal | None:
        presented = request.header("x-api-key")
        if not presented:
            return Refusal(401, "Missing API key: send it in the X-API-Key header")
        if s.api_key is not None and presented != s.api_key:
            return self.default_message(401, request)
        return None

    def check_body(self, request: Request) -> Refusal | None:
        for name in ("service_name", "model_name"):
            if not isinstance(request.body.get(name), str):
                return Refusal(422, "Field required", code=name)
        if not isinstance(request.body.get("input"), list):
            return Refusal(422, "Field required", code="input")
        return None

    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        wire = self.wire(s)
        frames: list[Frame] = []
        if s.keepalive_comments:
            frames.append(wire.comment())
        items = [("thinking", s.reasoning_pieces), ("output", s.answer_pieces)]
        index = 0
        for name, pieces in items:
            if not pieces:
                continue
            for i, piece in enumerate(pieces, 1):
                chunk: dict[str, Any] = {
                    "type": "text",
                    "name": name,
                    "content": piece,
                    "done": i == len(pieces),
                    "index": index,
                    "is_final": False,
                }
                if name == "thinking":
                    frames.append(wire.sse(chunk, reasoning=piece))
                else:
                    frames.append(wire.sse(chunk, content=piece))
            index += 1
            if s.keepalive_comments:
                frames.append(wire.comment())
        if s.finish_reason is not None or s.native_finish_reason is not None:
            final: dict[str, Any] = {"final": True}
            usage: dict[str, Any] | None = None
            if s.usage_chunk:
                output = s.completion_count()
                usage = {
                    "input_tokens": s.prompt_tokens,
                    "output_tokens": output,
                    "total_tokens": s.prompt_tokens + output,
                }
                final["usage"] = usage
                final["cost"] = gateway_cost(s)
            final["warnings"] = list(s.warnings)
            frames.append(wire.sse(final, finish="final", usage=usage))
        return frames

    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        payload = {"error": dict(s.error_object or MIDSTREAM_ERROR)}
        if s.error_shape in ("default", "data"):
            return [self.wire(s).sse(payload, error=payload)]
        if s.error_shape == "event":
            return [self.wire(s).sse(payload, "error", error=payload)]
        raise ValueError(f"gateway error_shape is data or event, not {s.error_shape!r}")
