"""OpenAI's Responses API streaming (``POST /responses``).
Documented at https://platform.openai.com/docs/api-reference/responses-streaming.

Named SSE events whose ``event:`` equals the JSON ``type``. Reasoning summaries (and raw
reasoning text, for models that expose it) stream separately from the answer, which is the
reason to use this API over Chat Completions for OpenAI's reasoning models. Usage and the
finish reason come from the terminal event (``response.completed`` / ``.incomplete`` /
``.failed``); there is no ``[DONE]``, so a close before a terminal event is a cut reply.

Tool calls. A reply ends as ``tool_calls`` only when the model's turn ends waiting on the
client, which is read from the response's output items (the terminal event's ``output``, or
the items streamed when that is empty):

* calls the client runs: ``function_call``, ``custom_tool_call``, ``computer_call``,
  ``local_shell_call``, ``shell_call`` and ``apply_patch_call`` (each with a ``call_id``),
  and ``mcp_approval_request`` (the client must approve the call); so is an item type added
  later that ends in ``_call`` and carries a ``call_id``. A call whose output item (the same
  ``call_id``, a type ending in ``_output``) is in the response was run by the server: the
  shell tool runs either way, and its hosted form answers itself (``shell_call_output``);
* tools the server runs itself, their results inside the item (``web_search_call``,
  ``file_search_call``, ``code_interpreter_call``, ``image_generation_call``, ``mcp_call``),
  do not make a tool call of the reply: a web search followed by the message written from
  it is an ordinary ``stop``.

chatterm runs no tools, and a call's arguments are not shown: each tool the reply waits on
is named in a warning, as Gemini's ``functionCall`` is. A server-run tool is not mentioned
when an answer follows it; when none does, a warning names it, so the reply is not a silent
blank. A finish other than ``stop`` (``length``) is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from chatterm.decode.sse import SSEEvent
from chatterm.events import (
    Conversation,
    Event,
    Finish,
    FinishReason,
    ReasoningDelta,
    StreamError,
    StreamWarning,
    TextDelta,
    Usage,
)
from chatterm.providers.attachment_parts import (
    IMAGES_AND_PDFS,
    MB,
    AttachmentRules,
    responses_content,
)
from chatterm.providers.base import Provider, WireFormat, requested_effort
from chatterm.providers.endpoint import Endpoint, join_url
from chatterm.providers.json_values import count0
from chatterm.providers.model_facts import model_info
from chatterm.providers.openai_compat import (
    OpenAICompatProvider,
    openai_effort,
    openai_effort_values,
)
from chatterm.providers.parsing import (
    SkipTally,
    SSEStreamParser,
    bare_json_error,
    ended_early,
    object_or_skipped,
    tool_call_warning,
    usage_update,
)
from chatterm.text import one_line, redact

REASONING = {"effort": "medium", "summary": "auto"}

NOT_FOUND = "check the model name and that {base_url} offers /responses"

_REASONING_DELTAS = frozenset(
    {"response.reasoning_summary_text.delta", "response.reasoning_text.delta"}
)
_TEXT_DELTAS = frozenset({"response.output_text.delta", "response.refusal.delta"})
_INCOMPLETE: dict[str, FinishReason] = {
    "max_output_tokens": "length",
    "max_tokens": "length",  # the OpenAPI example's spelling
    "content_filter": "content_filter",
}
# Output items of calls the client is to run (see the module docstring).
_CLIENT_CALLS = frozenset(
    {
        "function_call",
        "custom_tool_call",
        "computer_call",
        "local_shell_call",
        "shell_call",
        "apply_patch_call",
        "mcp_approval_request",
    }
)
# Output items of the tools the server runs itself, their results inside.
_SERVER_CALLS = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
        "mcp_call",
    }
)
# Items whose name is the tool's (the others are named after their type).
_NAMED_CALLS = frozenset({"function_call", "custom_tool_call", "mcp_call", "mcp_approval_request"})
# Error codes worth sending the request again for (OpenAI's Responses error codes).
_RETRYABLE_CODES = frozenset(
    {"server_is_overloaded", "too_many_requests", "rate_limit_exceeded", "server_error"}
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def usage_from_responses(raw: Mapping[str, Any]) -> Usage:
    """Normalize a Responses ``usage`` object (``output_tokens`` includes reasoning)."""
    input_details = _dict(raw.get("input_tokens_details"))
    output_details = _dict(raw.get("output_tokens_details"))
    return Usage(
        input_tokens=count0(raw.get("input_tokens")),
        output_tokens=count0(raw.get("output_tokens")),
        reasoning_tokens=count0(output_details.get("reasoning_tokens")),
        cached_input_tokens=count0(input_details.get("cached_tokens")),
        cache_write_tokens=count0(input_details.get("cache_write_tokens")),
    )


def _is_call(item: dict[str, Any]) -> bool:
    kind = item.get("type")
    return isinstance(kind, str) and (
        kind in _CLIENT_CALLS or kind in _SERVER_CALLS or kind.endswith("_call")
    )


def waiting_calls(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The output items the reply ends waiting on: calls the client is to run."""
    answered = {
        item.get("call_id")
        for item in items
        if str(item.get("type")).endswith("_output") and isinstance(item.get("call_id"), str)
    }
    waiting: list[dict[str, Any]] = []
    for item in items:
        kind = item.get("type")
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            call_id = None
        if not _is_call(item) or kind in _SERVER_CALLS or call_id in answered:
            continue
        if kind in _CLIENT_CALLS or call_id is not None:
            waiting.append(item)
    return waiting


def tool_name(item: dict[str, Any]) -> str:
    """What a call item calls: its ``name``, else its type without ``_call``."""
    name = item.get("name")
    if isinstance(name, str) and name:
        return name
    kind = str(item.get("type"))
    return "?" if kind in _NAMED_CALLS else kind.removesuffix("_call")


def _names(items: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(tool_name(item) for item in items))


def _error_text(error: Mapping[str, Any]) -> tuple[str, str]:
    """The message and the code (or type) of an error object, either may be empty."""
    message = error.get("message")
    code = error.get("code")
    if not isinstance(code, str) or not code:
        code = error.get("type")
    if not isinstance(code, str) or code == "error":
        code = ""
    return (message if isinstance(message, str) else "", code)


class ResponsesTranslator:
    """Turns Responses API SSE events into normalized events."""

    def __init__(self, secrets: tuple[str, ...] = (), skips: SkipTally | None = None) -> None:
        self._secrets = secrets
        self._skips = skips or SkipTally(secrets)
        self._ended = False
        self._items: dict[Any, dict[str, Any]] = {}  # the output items streamed, by index
        self._answered = False  # some answer text came
        self._reasoning_key: tuple[Any, ...] | None = None
        self._reasoning_tail = ""  # the last characters of reasoning, to place separators
        self._new_part = False

    def feed(self, frame: SSEEvent) -> list[Event]:
        if self._ended or frame.data.startswith("[DONE]"):
            return []
        payload = object_or_skipped(frame.data, self._skips)
        return payload if isinstance(payload, list) else self.feed_object(payload, frame.event)

    def feed_object(self, payload: dict[str, Any], event: str = "message") -> list[Event]:
        """One event's data, already parsed; ``event`` is its SSE event type."""
        if self._ended:
            return []
        kind = payload.get("type")
        if not isinstance(kind, str):
            if payload.get("error"):  # a proxy's Chat-Completions-style error envelope
                return self._stream_error(_dict(payload["error"]) or payload)
            kind = event
        if kind in _TEXT_DELTAS:
            delta = payload.get("delta")
            if not isinstance(delta, str) or not delta:
                return []
            self._answered = True
            return [TextDelta(delta)]
        if kind in _REASONING_DELTAS:
            return self._reasoning(kind, payload)
        if kind == "response.reasoning_summary_part.added":
            self._new_part = True
            return []
        if kind == "response.output_item.added" or kind == "response.output_item.done":
            item = _dict(payload.get("item"))
            if item:
                index = payload.get("output_index")
                self._items[index if isinstance(index, int) else len(self._items)] = item
            return []
        if kind == "response.completed":
            return self._terminal(payload, "stop")
        if kind == "response.incomplete":
            response = _dict(payload.get("response"))
            reason = _dict(response.get("incomplete_details")).get("reason")
            finish = _INCOMPLETE.get(reason, "length") if isinstance(reason, str) else "length"
            return self._terminal(payload, finish)
        if kind == "response.failed":
            return self._failed(payload)
        if kind == "error":
            nested = payload.get("error")
            return self._stream_error(nested if isinstance(nested, dict) else payload)
        return []  # lifecycle, content parts, *.done texts, tools, keepalive: nothing to show

    def outside_data(self, lines: list[str], streamed: bool) -> list[Event]:
        found = bare_json_error(lines, lambda found: bool(found.get("error")))
        return [] if found is None else self.feed_object(found)

    def close(self) -> list[Event]:
        if self._ended:
            return []
        self._ended = True
        return ended_early("the response was complete (no response.completed)")

    def _reasoning(self, kind: str, payload: dict[str, Any]) -> list[Event]:
        delta = payload.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        index = (
            payload.get("summary_index")
            if kind == "response.reasoning_summary_text.delta"
            else payload.get("content_index")
        )
        key = (kind, payload.get("item_id"), payload.get("output_index"), index)
        if self._reasoning_key is not None and (self._new_part or key != self._reasoning_key):
            # A new summary part: keep the parts apart as paragraphs.
            tail = self._reasoning_tail
            gap = "" if tail.endswith("\n\n") else "\n" if tail.endswith("\n") else "\n\n"
            delta = gap + delta
        self._new_part = False
        self._reasoning_key = key
        self._reasoning_tail = (self._reasoning_tail + delta)[-2:]
        return [ReasoningDelta(delta)]

    def _terminal(self, payload: dict[str, Any], finish: FinishReason) -> list[Event]:
        self._ended = True
        response = _dict(payload.get("response"))
        events: list[Event] = []
        usage = response.get("usage")
        if isinstance(usage, dict):
            events.extend(usage_update(usage_from_responses(usage)))
        output = response.get("output")
        items = (
            [item for item in output if isinstance(item, dict)] if isinstance(output, list) else []
        )
        items = items or list(self._items.values())
        waiting = waiting_calls(items)
        events.extend(tool_call_warning(name, self._secrets) for name in _names(waiting))
        ran = [item for item in items if _is_call(item) and item not in waiting]
        if ran and not waiting and not self._answered:
            tools = " and ".join(repr(name) for name in _names(ran))
            plural = "s" if len(_names(ran)) > 1 else ""
            message = f"the server ran the tool{plural} {tools} and sent no answer after it"
            events.append(StreamWarning(one_line(redact(message, self._secrets), 200)))
        if finish == "stop" and waiting:
            finish = "tool_calls"
        events.append(Finish(finish))
        return events

    def _failed(self, payload: dict[str, Any]) -> list[Event]:
        response = _dict(payload.get("response"))
        events: list[Event] = []
        usage = response.get("usage")
        if isinstance(usage, dict):
            events.extend(usage_update(usage_from_responses(usage)))
        events.extend(self._stream_error(_dict(response.get("error")), "the response failed"))
        return events

    def _stream_error(
        self, error: Mapping[str, Any], fallback: str = "the server sent an error"
    ) -> list[Event]:
        self._ended = True
        message, code = _error_text(error)
        text = message or fallback
        if code:
            text += f" [{code}]"
        return [
            StreamError(
                one_line(redact(f"error from the server: {text}", self._secrets)),
                retryable=code in _RETRYABLE_CODES,
            ),
            Finish("error"),
        ]


class ResponsesParser(SSEStreamParser[ResponsesTranslator]):
    """:class:`SSEStreamParser` over :class:`ResponsesTranslator`."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(ResponsesTranslator, secrets)


class ResponsesFormat(WireFormat):
    """``POST {base_url}/responses``, the stream read by :class:`ResponsesParser`."""

    kind = "openai-responses"
    attachment_rules = AttachmentRules(
        "OpenAI's Responses API", IMAGES_AND_PDFS, max_pdf_bytes=32 * MB
    )

    def url(self, endpoint: Endpoint, model: str) -> str:
        return join_url(endpoint.base_url, "/responses")

    def request_body(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "input": [
                {"role": m.role, "content": responses_content(m)} for m in conversation.messages
            ],
            "stream": True,
            "store": False,
        }
        if conversation.system:
            body["instructions"] = conversation.system
        level = requested_effort(conversation)
        if level is None:
            if conversation.reasoning and model_info("openai", model).reasoning:
                body["reasoning"] = dict(REASONING)
        else:
            effort = openai_effort(openai_effort_values(model), level)
            if effort is not None and level == "off":
                body["reasoning"] = {"effort": effort}  # no summary: nothing is shown
            elif effort is not None:
                body["reasoning"] = {"effort": effort, "summary": "auto"}
        if conversation.max_tokens:
            body["max_output_tokens"] = conversation.max_tokens
        return body

    def new_parser(self, secrets: tuple[str, ...]) -> ResponsesParser:
        return ResponsesParser(secrets)

    def supports_effort(self, model: str) -> bool:
        return bool(openai_effort_values(model))


class OpenAIResponsesProvider(Provider):
    """OpenAI's Responses API, at OpenAI (or a server at ``OPENAI_BASE_URL`` that offers it)."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint, ResponsesFormat())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpenAIResponsesProvider:
        """The endpoint ``openai:`` uses (configured the way the official SDK reads its
        environment), under its own name."""
        endpoint = OpenAICompatProvider.openai(env).endpoint
        return cls(replace(endpoint, name="openai-responses", not_found_hint=NOT_FOUND))
