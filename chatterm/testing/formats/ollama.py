"""Ollama's native chat API (``POST /api/chat``, ``GET /api/tags``), as documented at
https://github.com/ollama/ollama/blob/main/docs/api.md.

NDJSON (``application/x-ndjson``): one object per line, ``message.thinking`` lines for the
reasoning, ``message.content`` lines for the answer, then a ``done: true`` line with
``done_reason`` and the metrics (``prompt_eval_count``, ``eval_count``, durations in
nanoseconds; generation runs at :data:`EVAL_TOKENS_PER_S`). A mid-stream failure is an
``{"error": "..."}`` line; HTTP errors are ``{"error": "<string>"}`` (404:
``model 'x' not found``).
"""

from __future__ import annotations

import json
from typing import Any

from chatterm.testing.formats.base import Refusal, Request, WireFormat
from chatterm.testing.frames import Frame
from chatterm.testing.scenario import Scenario

#: the generation speed the ``done`` line's ``eval_count``/``eval_duration`` report
EVAL_TOKENS_PER_S = 100
MIDSTREAM_MESSAGE = "an error was encountered while running the model"
_ERRORS = {
    400: "invalid request",
    401: "unauthorized",
    404: "model '{model}' not found",
    429: "too many requests",
    500: "llama runner process has terminated: exit status 2",
    502: "upstream error",
    503: "server busy, please try again. maximum pending requests exceeded",
}


def created_at(n: int) -> str:
    """A fixed timestamp ``n`` × 20 ms after 2026-01-05T10:00:00Z, with nanoseconds, as
    Ollama writes them."""
    seconds, nanos = divmod(n * 20_000_000 + 1, 1_000_000_000)
    minutes, seconds = divmod(seconds, 60)
    return f"2026-01-05T10:{minutes % 60:02d}:{seconds:02d}.{nanos:09d}Z"


def tags(models: tuple[str, ...]) -> dict[str, Any]:
    """The body of ``GET /api/tags``."""
    return {
        "models": [
            {
                "name": name if ":" in name else f"{name}:latest",
                "model": name if ":" in name else f"{name}:latest",
                "modified_at": "2026-01-05T10:00:00.000000001Z",
                "size": 5_200_000_000,
                "digest": f"{i:064x}",
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": "qwen3",
                    "families": ["qwen3"],
                    "parameter_size": "8.2B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for i, name in enumerate(models, 1)
        ]
    }


class OllamaChat(WireFormat):
    name = "ollama"
    content_type = "application/x-ndjson"
    midstream_messages = {"default": MIDSTREAM_MESSAGE}

    def default_message(self, status: int, request: Request) -> Refusal:
        message = _ERRORS.get(status, f"fake error {status}")
        return Refusal(status, message.replace("{model}", request.model))

    def error_body(self, s: Scenario, refusal: Refusal, request: Request) -> bytes:
        return json.dumps({"error": refusal.message}).encode("utf-8")

    def check(self, s: Scenario, request: Request) -> Refusal | None:
        presented = (request.header("authorization") or "").removeprefix("Bearer ")
        if s.api_key is not None and presented != s.api_key:
            return self.default_message(401, request)
        return None

    def check_body(self, request: Request) -> Refusal | None:
        if not isinstance(request.body.get("model"), str) or not request.body["model"]:
            return Refusal(400, "model is required")
        if not isinstance(request.body.get("messages"), list):
            return Refusal(400, "messages is required")
        if request.body.get("stream") is False:
            return Refusal(400, "this fake server only streams: leave stream out or true")
        return None

    def malformed(self, s: Scenario) -> Frame:
        return self.wire(s).line("this is not JSON {")

    def keepalive(self, s: Scenario, request: Request) -> Frame:
        """NDJSON has no comments: a line of spaces, an empty line, or a message with no
        text and ``done: false``."""
        wire = self.wire(s)
        if s.ping == "comment":
            return Frame(f"   {wire.eol}".encode(), kind="comment")
        if s.ping == "blank":
            return Frame(wire.eol.encode(), kind="comment")
        message = {"role": "assistant", "content": ""}
        body = {"model": s.model or request.model, "message": message, "done": False}
        return wire.line(body)

    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        wire = self.wire(s)
        model = s.model or request.model
        frames: list[Frame] = []

        def line(message: dict[str, Any], **meaning: Any) -> None:
            body = {
                "model": model,
                "created_at": created_at(len(frames)),
                "message": {"role": "assistant", **message},
                "done": False,
            }
            frames.append(wire.line(body, **meaning))

        for piece in s.reasoning_pieces:
            line({"content": "", "thinking": piece}, reasoning=piece)
        for piece in s.answer_pieces:
            line({"content": piece}, content=piece)
        finish = s.native_finish_reason or {"length": "length"}.get(s.finish_reason or "", "stop")
        if s.finish_reason is not None or s.native_finish_reason is not None:
            final: dict[str, Any] = {
                "model": model,
                "created_at": created_at(len(frames)),
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": finish,
            }
            metrics: dict[str, Any] = {}
            if s.usage_chunk:
                output = s.completion_count()
                eval_ns = output * 1_000_000_000 // EVAL_TOKENS_PER_S
                metrics = {
                    "total_duration": eval_ns + 52_345_678,
                    "load_duration": 12_345_678,
                    "prompt_eval_count": s.prompt_tokens,
                    "prompt_eval_duration": 40_000_000,
                    "eval_count": output,
                    "eval_duration": eval_ns,
                }
            final.update(metrics)
            frames.append(wire.line(final, finish=finish, usage=metrics or None))
        return frames

    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        error = dict(s.error_object or {"error": MIDSTREAM_MESSAGE})
        return [self.wire(s).line(error, error=error)]
