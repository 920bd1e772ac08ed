"""A model gateway's ``POST /generate/stream`` API (seed document 003).

Configured as ``[providers.NAME]`` with ``kind = "gateway"``, ``base_url`` (for example
``http://localhost:8000/api/v1``) and ``api_key_env``; the key travels as ``X-API-Key``. A
model is ``NAME:SERVICE/MODEL``: the gateway routes by ``service_name`` (``google-gemini``)
and ``model_name`` (``gemini-2.0-flash``).

The answer streams as SSE ``data:`` chunks ``{"type": "text", "name": "output" | "thinking",
"content": "…", "done": false, "index": 0, "is_final": false}``; the last chunk
(``"final": true``, or ``"is_final": true``) carries ``usage``, the ``cost`` the gateway
charged (``cost.total``, US dollars) and ``warnings``. A close before it is a cut reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chatterm.decode.sse import SSEEvent
from chatterm.errors import ConfigError
from chatterm.events import (
    Conversation,
    Event,
    Finish,
    FinishReason,
    Message,
    ReasoningDelta,
    StreamError,
    StreamWarning,
    TextDelta,
    Usage,
)
from chatterm.pricing import PriceSpec
from chatterm.providers.attachment_parts import TEXT_ONLY, AttachmentRules, text_with_files
from chatterm.providers.base import Provider, WireFormat
from chatterm.providers.endpoint import Endpoint, error_detail, join_url
from chatterm.providers.json_values import (
    count0,
    json_text,
    message_from_error_object,
    object_or_skip,
    usd,
)
from chatterm.providers.model_facts import model_info
from chatterm.providers.parsing import (
    SkipTally,
    SSEStreamParser,
    bare_json_error,
    ended_early,
    usage_update,
)
from chatterm.retry import retryable_status
from chatterm.text import one_line, redact

# Where the system prompt goes: the seed shows ``parameters`` as the place for generation
# settings (``{"enable_thinking": true}``) and no dedicated field for instructions.
SYSTEM_PARAMETER = "system_prompt"
THINKING_PARAMETER = "enable_thinking"
MAX_TOKENS_PARAMETER = "max_tokens"

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "completed": "stop",
    "length": "length",
    "max_tokens": "length",
    "max_output_tokens": "length",
    "content_filter": "content_filter",
    "safety": "content_filter",
    "refusal": "content_filter",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
}
# Catalogue kinds tried for a gateway model's reasoning support (the service names vary).
_KINDS = ("gemini", "anthropic", "openai", "ollama")


def has_thinking_switch(model_name: str) -> bool:
    """Whether the gateway's ``enable_thinking`` is sent for ``model_name``: a model the
    catalogue knows to reason, under any of the kinds a service name may stand for."""
    return any(model_info(kind, model_name).reasoning for kind in _KINDS)


def split_service_model(provider: str, model: str) -> tuple[str, str]:
    """``SERVICE/MODEL`` -> ``(service_name, model_name)``, split at the first ``/``."""
    service, slash, name = model.partition("/")
    if not slash or not service.strip() or not name.strip():
        raise ConfigError(
            f"gateway model {provider}:{model} needs a service and a model, "
            f"e.g. {provider}:google-gemini/{name or service or 'gemini-2.0-flash'}"
        )
    return service, name


def usage_from_gateway(final: Mapping[str, Any]) -> Usage | None:
    """Usage and the server-reported cost from the final chunk, or None if it has neither."""
    usage = final.get("usage")
    cost = final.get("cost")
    cost_usd = usd(cost.get("total")) if isinstance(cost, dict) else usd(cost)
    if not isinstance(usage, dict):
        return Usage(cost_usd=cost_usd) if cost_usd is not None else None
    prompt = count0(usage.get("input_tokens")) or count0(usage.get("prompt_tokens"))
    output = count0(usage.get("output_tokens")) or count0(usage.get("completion_tokens"))
    reasoning = count0(usage.get("reasoning_tokens")) or count0(usage.get("thinking_tokens"))
    if reasoning and prompt + output + reasoning == count0(usage.get("total_tokens")):
        output += reasoning  # reasoning counted beside the output, not inside it
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        reasoning_tokens=reasoning,
        cached_input_tokens=count0(usage.get("cached_tokens"))
        or count0(usage.get("cached_input_tokens")),
        cost_usd=cost_usd,
    )


def gateway_error_message(data: Any) -> str | None:
    """The message in a gateway error body: FastAPI's ``{"detail": …}`` (a string, or a
    list of validation errors) or the usual ``{"error": …}`` envelopes."""
    if isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        if isinstance(detail, str) and detail:
            return detail
        if isinstance(detail, list):
            parts = []
            for item in detail:
                if isinstance(item, dict) and isinstance(item.get("msg"), str):
                    loc = item.get("loc")
                    where = (
                        ".".join(str(p) for p in loc if isinstance(p, str | int))
                        if isinstance(loc, list)
                        else ""
                    )
                    parts.append(f"{where}: {item['msg']}" if where else item["msg"])
                elif isinstance(item, str):
                    parts.append(item)
            if parts:
                return "; ".join(parts)
        if isinstance(detail, dict):
            return message_from_error_object(detail) or message_from_error_object({"error": detail})
    return message_from_error_object(data)


class GatewayTranslator:
    """Turns ``/generate/stream`` SSE chunks into normalized events."""

    def __init__(self, secrets: tuple[str, ...] = (), skips: SkipTally | None = None) -> None:
        self._secrets = secrets
        self._skips = skips or SkipTally(secrets)
        self._ended = False
        self._skipped_kinds: set[str] = set()

    def feed(self, frame: SSEEvent) -> list[Event]:
        if self._ended:
            return []
        data = frame.data
        if not data.strip() or data.startswith("[DONE]"):
            return []
        chunk = object_or_skip(data)
        if isinstance(chunk, str):
            if frame.event == "error":  # an error event's text need not be JSON
                return self._error({"error": data})
            return [self._skips.add(chunk, data)]
        return self.feed_object(chunk, frame.event)

    def feed_object(self, chunk: dict[str, Any], event: str = "message") -> list[Event]:
        """One chunk, already parsed; ``event`` is its SSE event type."""
        if self._ended:
            return []
        final = chunk.get("final") is True or chunk.get("is_final") is True
        if event == "error" or _is_error(chunk):
            usage = usage_from_gateway(chunk) if final else None
            return usage_update(usage) + self._error(chunk)
        events = self._content(chunk)
        if final:
            events.extend(self._final(chunk))
        return events

    def outside_data(self, lines: list[str], streamed: bool) -> list[Event]:
        """A bare JSON error written outside ``data:`` lines (an exception handler that
        answered after the stream had started) is still the reason the reply stopped."""
        found = bare_json_error(lines, lambda found: _is_error(found) or "detail" in found)
        return [] if found is None else self.feed_object(found, "error")

    def close(self) -> list[Event]:
        if self._ended:
            return []
        self._ended = True
        return ended_early("the gateway's final chunk")

    def _content(self, chunk: dict[str, Any]) -> list[Event]:
        content = chunk.get("content")
        if not isinstance(content, str) or not content:
            return []
        kind = chunk.get("type") or "text"
        name = chunk.get("name")
        if kind == "text" and name == "output":
            return [TextDelta(content)]
        if kind == "text" and name == "thinking":
            return [ReasoningDelta(content)]
        if kind == "metadata" or name == "metadata":
            return []
        label = f"{kind}/{name}"
        if label in self._skipped_kinds:
            return []
        self._skipped_kinds.add(label)
        return [self._warning(f"skipped {label} output the terminal cannot show")]

    def _final(self, chunk: dict[str, Any]) -> list[Event]:
        self._ended = True
        events: list[Event] = []
        events.extend(usage_update(usage_from_gateway(chunk)))
        warnings = chunk.get("warnings")
        if isinstance(warnings, str):
            warnings = [warnings]
        if isinstance(warnings, list):
            for warning in warnings:
                text = _warning_text(warning)
                if text:
                    events.append(self._warning(f"gateway: {text}", 300))
        reason = chunk.get("finish_reason") or chunk.get("stop_reason")
        finish = _FINISH.get(reason.lower(), "stop") if isinstance(reason, str) else "stop"
        events.append(Finish(finish))
        return events

    def _error(self, chunk: dict[str, Any]) -> list[Event]:
        self._ended = True
        message = _error_message(chunk) or "the gateway sent an error"
        status = _status(chunk)
        retryable = chunk.get("retryable") is True or (
            status is not None and retryable_status(status)
        )
        return [
            StreamError(
                one_line(redact(f"error from the gateway: {message}", self._secrets)),
                retryable=retryable,
                status=status,
            ),
            Finish("error"),
        ]

    def _warning(self, message: str, limit: int = 120) -> StreamWarning:
        return StreamWarning(one_line(redact(message, self._secrets), limit))


def _is_error(chunk: dict[str, Any]) -> bool:
    return bool(
        chunk.get("error")
        or chunk.get("type") == "error"
        or chunk.get("name") == "error"
        or chunk.get("status") == "error"
    )


def _error_message(chunk: dict[str, Any]) -> str | None:
    error = chunk.get("error")
    if isinstance(error, str) and error:
        return error
    if isinstance(error, dict):
        return gateway_error_message({"error": error}) or gateway_error_message(error)
    for key in ("message", "content", "detail"):
        value = chunk.get(key)
        if isinstance(value, str) and value:
            return value
    return gateway_error_message(chunk)


def _status(chunk: dict[str, Any]) -> int | None:
    error = chunk.get("error")
    sources = [error, chunk] if isinstance(error, dict) else [chunk]
    for source in sources:
        for key in ("status_code", "status", "code"):
            value = source.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and 400 <= value < 600:
                return value
    return None


def _warning_text(warning: Any) -> str:
    if isinstance(warning, str):
        return warning
    if isinstance(warning, dict):
        for key in ("message", "msg", "detail", "warning"):
            value = warning.get(key)
            if isinstance(value, str) and value:
                return value
        return json_text(warning)
    return ""


class GatewayParser(SSEStreamParser[GatewayTranslator]):
    """:class:`SSEStreamParser` over :class:`GatewayTranslator`."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(GatewayTranslator, secrets)


def _merged(messages: tuple[Message, ...]) -> list[Message]:
    """Consecutive messages of one role joined (a user turn whose reply failed, then the
    next one), so that the history alternates as the services behind a gateway expect."""
    merged: list[Message] = []
    for message in messages:
        message = Message(message.role, text_with_files(message))  # text only: files inline
        if merged and merged[-1].role == message.role:
            merged[-1] = Message(message.role, f"{merged[-1].content}\n\n{message.content}")
        else:
            merged.append(message)
    return merged


def _item(message: Message) -> dict[str, str]:
    """A history entry: the seed's item shape (``type``/``name``/``content``, ``input`` for
    the user, ``output`` for the model) with the ``role`` chat APIs key on."""
    return {
        "role": message.role,
        "type": "text",
        "name": "input" if message.role == "user" else "output",
        "content": message.content,
    }


class GatewayFormat(WireFormat):
    """``POST {base_url}/generate/stream``, the stream read by :class:`GatewayParser`."""

    kind = "gateway"
    attachment_rules = AttachmentRules("the gateway's API", TEXT_ONLY)
    key_header = ("X-API-Key", "")

    def url(self, endpoint: Endpoint, model: str) -> str:
        return join_url(endpoint.base_url, "/generate/stream")

    def request_body(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> dict[str, Any]:
        service, model_name = split_service_model(endpoint.name, model)
        turns = _merged(conversation.messages)
        prompt = turns.pop().content if turns and turns[-1].role == "user" else ""
        body: dict[str, Any] = {
            "service_name": service,
            "model_name": model_name,
            "input": [{"type": "text", "name": "input", "content": prompt}],
        }
        parameters: dict[str, Any] = {}
        if conversation.system:
            parameters[SYSTEM_PARAMETER] = conversation.system
        if conversation.max_tokens:
            parameters[MAX_TOKENS_PARAMETER] = conversation.max_tokens
        if has_thinking_switch(model_name):
            # The gateway has only this switch: every effort level is "on", "off" is off.
            parameters[THINKING_PARAMETER] = conversation.reasoning
        if parameters:
            body["parameters"] = parameters
        if turns:
            body["history"] = [_item(turn) for turn in turns]
        return body

    def new_parser(self, secrets: tuple[str, ...]) -> GatewayParser:
        return GatewayParser(secrets)

    def supports_effort(self, model: str) -> bool:
        """Only off and on differ here: the gateway's one switch."""
        _, slash, name = model.partition("/")
        return bool(slash) and has_thinking_switch(name)

    def price_spec(self, endpoint: Endpoint, model: str) -> PriceSpec:
        # The gateway reports what it charged (Usage.cost_usd), which wins over any table.
        # Without it, the upstream's list price is the best estimate for the services
        # genai-prices knows; anything else stays unknown rather than guessed.
        service, _, name = model.partition("/")
        provider_id = _price_provider(service) if name else None
        return endpoint.price_spec(name or model, provider_id)

    def describe_http_error(self, endpoint: Endpoint, status: int, body: bytes) -> str:
        detail = error_detail(body, endpoint.secrets(), gateway_error_message)
        return endpoint.describe_http_error(status, body, detail=detail)


class GatewayProvider(Provider):
    """A ``[providers.NAME]`` table with ``kind = "gateway"``."""

    def __init__(
        self, name: str, base_url: str, api_key: str | None, key_env: str | None = None
    ) -> None:
        endpoint = Endpoint(
            name,
            base_url,
            api_key or None,
            key_env,
            unset_key="{key_env} is not set: export {key_env}=… to use {name} models "
            "(it is sent as X-API-Key)",
            key_hint="check {key_env}, sent as X-API-Key"
            if key_env
            else "the gateway wants a key: set api_key_env in [providers.{name}]",
            not_found_hint="check SERVICE/MODEL and the base URL {base_url}",
            more_hints={422: "the gateway rejected the request body"},
        )
        super().__init__(endpoint, GatewayFormat())

    def split_model(self, model: str) -> tuple[str, str]:
        """``(service_name, model_name)``; a :class:`ConfigError` naming the fix otherwise.

        The registry can call this when it resolves ``NAME:SERVICE/MODEL`` so a bad name is
        reported before anything is sent.
        """
        return split_service_model(self.name, model)


def _price_provider(service: str) -> str | None:
    service = service.lower()
    if "gemini" in service or "google" in service:
        return "google"
    if "anthropic" in service or "claude" in service:
        return "anthropic"
    if "openai" in service:
        return "openai"
    return None
