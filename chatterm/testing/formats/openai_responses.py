"""OpenAI Responses (``POST /v1/responses``), as documented at
https://platform.openai.com/docs/api-reference/responses-streaming.

SSE with ``event:`` lines equal to the JSON ``type``, and a ``sequence_number`` from 0 on
every event: ``response.created``, ``response.in_progress``, a reasoning item with one
summary part streamed as ``response.reasoning_summary_text.delta``, a message item with
``response.output_text.delta``, each closed by its ``*.done`` events, then
``response.completed`` (or ``response.incomplete`` for ``length``/``content_filter``) with
usage. No ``[DONE]``.

``hosted_tool`` adds an output item of that type after the reasoning (added, then done),
shaped as OpenAI documents it: the tools the server runs (``web_search_call``,
``file_search_call``, ``code_interpreter_call``, ``image_generation_call``, ``mcp_call``)
carry an ``id`` and their result; the calls the client runs (``function_call``,
``custom_tool_call``, ``computer_call``, ``local_shell_call``, ``shell_call``,
``apply_patch_call``) a ``call_id`` too. With an empty answer no message item follows.

Mid-stream errors (``error_shape``): ``nested`` (the default, what production sends),
``flat`` (the documented ``{"type": "error", "code", "message"}``), and ``failed``
(``response.failed`` with ``response.error``).
"""

from __future__ import annotations

from typing import Any

from chatterm.testing.formats.base import CREATED, Refusal, Request
from chatterm.testing.formats.openai_chat import OpenAIErrors
from chatterm.testing.frames import Frame
from chatterm.testing.scenario import Scenario

RESPONSE_ID = "resp_fake1"
REASONING_ID = "rs_fake1"
MESSAGE_ID = "msg_fake1"

NESTED_ERROR: dict[str, Any] = {
    "type": "service_unavailable_error",
    "code": "server_is_overloaded",
    "message": "Our servers are currently overloaded. Please try again later.",
    "param": None,
}
FAILED_ERROR: dict[str, Any] = {
    "code": "server_error",
    "message": "The model failed to generate a response.",
}
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
#: The output items of the tools the server runs itself: no ``call_id``, results inside.
SERVER_TOOL_ITEMS = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_call",
    }
)
TOOL_NAME = "get_weather"


def tool_item(kind: str) -> dict[str, Any]:
    """A completed output item of type ``kind``, with the fields its kind documents."""
    item: dict[str, Any] = {"id": f"{kind.removesuffix('_call')}_fake1", "type": kind}
    if kind not in SERVER_TOOL_ITEMS:
        item["call_id"] = "call_fake1"
    if kind in ("function_call", "custom_tool_call", "mcp_call", "mcp_approval_request"):
        item["name"] = TOOL_NAME
    if kind == "function_call":
        item["arguments"] = '{"city":"Paris"}'
    elif kind == "web_search_call":
        item["action"] = {"type": "search", "query": "weather in Paris"}
    elif kind == "shell_call":
        item["action"] = {"commands": ["ls -la"], "timeout_ms": 10000}
    elif kind == "mcp_call":
        item.update(server_label="weather", arguments="{}", output="sunny")
    if kind != "mcp_approval_request":
        item["status"] = "completed"
    return item


def response_object(
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    *,
    error: dict[str, Any] | None = None,
    incomplete: str | None = None,
) -> dict[str, Any]:
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": None,
        "max_output_tokens": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": {},
    }


def responses_usage(s: Scenario) -> dict[str, Any]:
    output = s.completion_count()
    return {
        "input_tokens": s.prompt_tokens,
        "input_tokens_details": {"cached_tokens": s.cached_tokens},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": s.reasoning_count()},
        "total_tokens": s.prompt_tokens + output,
    }


class Responses(OpenAIErrors):
    name = "responses"
    midstream_messages = {
        "default": NESTED_ERROR["message"],
        "nested": NESTED_ERROR["message"],
        "flat": NESTED_ERROR["message"],
        "failed": FAILED_ERROR["message"],
    }

    def check_body(self, request: Request) -> Refusal | None:
        refusal = super().check_body(request)
        if refusal is None and "input" not in request.body:
            return Refusal(400, "Missing required parameter: 'input'.", "invalid_request_error")
        return refusal

    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        wire = self.wire(s)
        model = s.model or request.model
        frames: list[Frame] = []
        output: list[dict[str, Any]] = []

        def event(payload: dict[str, Any], **meaning: Any) -> None:
            seq = sum(1 for f in frames if f.seq is not None)
            payload = {**payload, "sequence_number": seq}
            frames.append(wire.sse(payload, payload["type"], seq=seq, **meaning))

        def comment() -> None:
            if s.keepalive_comments:
                frames.append(wire.comment())

        comment()
        event(
            {
                "type": "response.created",
                "response": response_object(model, "in_progress", [], None),
            }
        )
        event(
            {
                "type": "response.in_progress",
                "response": response_object(model, "in_progress", [], None),
            }
        )
        if s.reasoning:
            index = len(output)
            summary = {"type": "summary_text", "text": ""}
            item: dict[str, Any] = {"id": REASONING_ID, "type": "reasoning", "summary": []}
            where = {"item_id": REASONING_ID, "output_index": index}
            event({"type": "response.output_item.added", "output_index": index, "item": item})
            event(
                {
                    "type": "response.reasoning_summary_part.added",
                    **where,
                    "summary_index": 0,
                    "part": summary,
                }
            )
            for piece in s.reasoning_pieces:
                delta = {"type": "response.reasoning_summary_text.delta", **where}
                event({**delta, "summary_index": 0, "delta": piece}, reasoning=piece)
            done_part = {"type": "summary_text", "text": s.reasoning}
            event(
                {
                    "type": "response.reasoning_summary_text.done",
                    **where,
                    "summary_index": 0,
                    "text": s.reasoning,
                }
            )
            event(
                {
                    "type": "response.reasoning_summary_part.done",
                    **where,
                    "summary_index": 0,
                    "part": done_part,
                }
            )
            item = {**item, "summary": [done_part]}
            event({"type": "response.output_item.done", "output_index": index, "item": item})
            output.append(item)
        if s.hosted_tool is not None:
            index = len(output)
            done = tool_item(s.hosted_tool)
            added = {**done, "status": "in_progress"} if "status" in done else done
            event({"type": "response.output_item.added", "output_index": index, "item": added})
            if s.hosted_tool == "web_search_call":  # the search's progress, as it streams
                for stage in ("in_progress", "searching", "completed"):
                    where = {"output_index": index, "item_id": done["id"]}
                    event({"type": f"response.web_search_call.{stage}", **where})
            event({"type": "response.output_item.done", "output_index": index, "item": done})
            output.append(done)
        comment()
        finish = s.native_finish_reason or s.finish_reason
        incomplete = _INCOMPLETE.get(finish or "")
        if s.native_finish_reason is not None:
            incomplete = s.native_finish_reason if s.native_finish_reason != "completed" else None
        if s.answer or s.hosted_tool is None:
            index = len(output)
            where = {"item_id": MESSAGE_ID, "output_index": index, "content_index": 0}
            message: dict[str, Any] = {
                "id": MESSAGE_ID,
                "type": "message",
                "status": "in_progress",
                "content": [],
                "role": "assistant",
            }
            text_part: dict[str, Any] = {
                "type": "output_text",
                "annotations": [],
                "logprobs": [],
                "text": "",
            }
            event({"type": "response.output_item.added", "output_index": index, "item": message})
            event({"type": "response.content_part.added", **where, "part": text_part})
            for piece in s.answer_pieces:
                event(
                    {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []},
                    content=piece,
                )
            full_part = {**text_part, "text": s.answer}
            event({"type": "response.output_text.done", **where, "text": s.answer, "logprobs": []})
            event({"type": "response.content_part.done", **where, "part": full_part})
            message = {
                **message,
                "status": "incomplete" if incomplete else "completed",
                "content": [full_part],
            }
            event({"type": "response.output_item.done", "output_index": index, "item": message})
            output.append(message)
        if finish is not None:
            usage = responses_usage(s) if s.usage_chunk else None
            status = "incomplete" if incomplete else "completed"
            response = response_object(model, status, output, usage, incomplete=incomplete)
            event(
                {"type": f"response.{status}", "response": response},
                finish=status if not incomplete else incomplete,
                usage=usage,
            )
        return frames

    def malformed(self, s: Scenario) -> Frame:
        return self.wire(s).sse("this is not JSON {", "response.output_text.delta")

    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        wire = self.wire(s)
        seq = sum(1 for f in sent if f.seq is not None)
        shape = s.error_shape
        if shape in ("default", "nested"):
            payload: dict[str, Any] = {
                "type": "error",
                "sequence_number": seq,
                "error": dict(s.error_object or NESTED_ERROR),
            }
        elif shape == "flat":
            flat = dict(s.error_object or NESTED_ERROR)
            flat.pop("type", None)
            payload = {"type": "error", **flat, "sequence_number": seq}
        elif shape == "failed":
            error = dict(s.error_object or FAILED_ERROR)
            response = response_object(s.model or request.model, "failed", [], None, error=error)
            payload = {"type": "response.failed", "response": response, "sequence_number": seq}
        else:
            raise ValueError(f"Responses error_shape is nested, flat or failed, not {shape!r}")
        return [wire.sse(payload, payload["type"], error=payload, seq=seq)]
