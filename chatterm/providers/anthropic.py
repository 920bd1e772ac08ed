"""Anthropic Messages streaming, spoken over httpx without the SDK.
Documented at https://docs.anthropic.com/en/docs/build-with-claude/streaming.

Named SSE events whose ``event:`` equals the JSON ``type``: ``message_start`` (input usage;
its ``output_tokens`` is a placeholder), content blocks (``content_block_start`` /
``content_block_delta`` / ``content_block_stop``, keyed by ``index``), one or more
``message_delta`` (stop reason and *cumulative* usage), then ``message_stop``, the only clean
end. ``ping`` may come anywhere; ``error`` ends the stream with no ``message_stop``. Unknown
events, blocks and deltas are ignored: Anthropic adds new ones without a version change.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from chatterm.decode.sse import SSEEvent
from chatterm.events import (
    Conversation,
    Event,
    Finish,
    FinishReason,
    Message,
    ReasoningDelta,
    ReasoningEffort,
    StreamError,
    StreamWarning,
    TextDelta,
    Usage,
    estimate_tokens,
)
from chatterm.pricing import is_local_url
from chatterm.providers.attachment_parts import (
    IMAGES_AND_PDFS,
    MB,
    AttachmentRules,
    anthropic_blocks,
    text_with_files,
)
from chatterm.providers.base import Provider, WireFormat, requested_effort
from chatterm.providers.endpoint import Endpoint, join_url, url_path
from chatterm.providers.json_values import count, message_from_error_object
from chatterm.providers.model_facts import model_info
from chatterm.providers.parsing import (
    SkipTally,
    SSEStreamParser,
    bare_json_error,
    ended_early,
    object_or_skipped,
    usage_update,
)
from chatterm.text import one_line, redact

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"  # the value the official SDK hard-codes
KEY_ENV = "ANTHROPIC_API_KEY"
DEFAULT_MAX_TOKENS = 8192  # max_tokens is required; used when neither user nor catalog says
MIN_THINKING_BUDGET = 1024  # the API's floor for thinking.budget_tokens
LOW_THINKING_BUDGET = 2048  # effort "low"
HIGH_THINKING_BUDGET = 32_000  # effort "high": Anthropic advises batches above 32k
# Claude Opus 4 and 4.1 write at most 32,000 tokens; Opus 4.5, the Sonnet 4 family, Haiku 4.5
# and Claude 3.7 Sonnet 64,000 (Anthropic's models overview). Anything else is held to the
# smaller number, which every model with extended thinking allows.
SMALL_OUTPUT_LIMIT = 32_000
LARGE_OUTPUT_LIMIT = 64_000
_OPUS_4 = re.compile(r"^claude-opus-4(?:-(\d{1,2}))?(?!\d)")
REDACTED_THINKING = "[redacted thinking]"
# Put before an assistant turn that opens the history: the API wants a user message first.
CONVERSATION_START = "(start of conversation)"

_STOP: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",  # plus a warning: a server-tool loop paused and can be resumed
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
# Error types worth sending the request again for (HTTP 529, 500, 429 and 504 in disguise).
_RETRYABLE_ERRORS = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
)
_INPUT_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
_HINTS = {
    413: "the conversation is too large for one request",
    529: "Anthropic is overloaded; retry later",
}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _index(payload: dict[str, Any]) -> int:
    index = _int(payload.get("index"))
    return -1 if index is None else index


class MessagesTranslator:
    """Turns Messages API SSE events into normalized events."""

    def __init__(self, secrets: tuple[str, ...] = (), skips: SkipTally | None = None) -> None:
        self._secrets = secrets
        self._skips = skips or SkipTally(secrets)
        self._input: dict[str, int] = {}  # input counts: message_start, overwritten by deltas
        self._output: int | None = None  # only from message_delta: message_start's is a guess
        self._thinking_tokens = 0
        self._stop_reason: str | None = None
        self._stop_details: Any = None
        self._redacted_shown: set[int] = set()
        self._reasoning_block: int | None = None  # block that last wrote reasoning
        self._reasoning_ends_line = True
        self._reasoning_chars = 0
        self._text_chars = 0
        self._text_ends_line = True
        self._text_break = False  # a non-text block came after the last text
        self._done = False
        self._failed = False

    def feed(self, frame: SSEEvent) -> list[Event]:
        if self._done or self._failed:
            return []
        payload = object_or_skipped(frame.data, self._skips)
        return payload if isinstance(payload, list) else self.feed_object(payload, frame.event)

    def feed_object(self, payload: dict[str, Any], event: str = "message") -> list[Event]:
        """One event's data, already parsed; ``event`` is its SSE event type."""
        if self._done or self._failed:
            return []
        kind = payload.get("type")
        if not isinstance(kind, str):
            kind = event
        events: list[Event] = []
        if kind == "content_block_delta":
            self._delta(payload, events)
        elif kind == "content_block_start":
            self._block_start(payload, events)
        elif kind == "message_start":
            message = payload.get("message")
            if isinstance(message, dict):
                self._merge_input(message.get("usage"))
        elif kind == "message_delta":
            self._message_delta(payload, events)
        elif kind == "message_stop":
            self._finish(events)
        elif kind == "error" or "error" in payload:
            self._error(payload, events)
        # ping, content_block_stop and event types added later carry nothing to show.
        return events

    def outside_data(self, lines: list[str], streamed: bool) -> list[Event]:
        found = bare_json_error(lines, lambda found: "error" in found)
        return [] if found is None else self.feed_object(found, "error")

    def close(self) -> list[Event]:
        if self._done or self._failed:
            return []
        events: list[Event] = []
        self._usage_if_unknown(events)
        return [*events, *ended_early("the model finished (no message_stop)")]

    # --- content ----------------------------------------------------------------------------

    def _block_start(self, payload: dict[str, Any], events: list[Event]) -> None:
        block = payload.get("content_block")
        if not isinstance(block, dict):
            return
        index = _index(payload)
        kind = block.get("type")
        if kind == "text":
            self._text(block.get("text"), events)
            return
        self._text_break = True
        if kind == "thinking":
            self._reasoning(index, block.get("thinking"), events)
        elif kind == "redacted_thinking" and index not in self._redacted_shown:
            # Encrypted thoughts (Claude 3.7): nothing to read, but say they were there.
            self._redacted_shown.add(index)
            self._reasoning(index, REDACTED_THINKING, events, placeholder=True)

    def _delta(self, payload: dict[str, Any], events: list[Event]) -> None:
        delta = payload.get("delta")
        if not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta":
            self._text(delta.get("text"), events)
        elif kind == "thinking_delta":
            self._reasoning(_index(payload), delta.get("thinking"), events)
        # signature_delta (opaque), input_json_delta (tool input), citations_delta and any
        # newer delta type are not shown.

    def _text(self, text: Any, events: list[Event]) -> None:
        if not isinstance(text, str) or not text:
            return
        self._text_chars += len(text)
        if self._text_break and self._text_chars > len(text) and not self._text_ends_line:
            text = "\n\n" + text  # text resumed after a tool call: start a new paragraph
        self._text_break = False
        self._text_ends_line = text.endswith("\n")
        events.append(TextDelta(text))

    def _reasoning(
        self, index: int, text: Any, events: list[Event], *, placeholder: bool = False
    ) -> None:
        if not isinstance(text, str) or not text:
            return
        if not placeholder:
            self._reasoning_chars += len(text)
        if self._reasoning_block not in (None, index) and not self._reasoning_ends_line:
            text = "\n\n" + text  # a new thinking block: a new paragraph
        self._reasoning_block = index
        self._reasoning_ends_line = text.endswith("\n")
        events.append(ReasoningDelta(text))

    # --- message level ----------------------------------------------------------------------

    def _merge_input(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            return
        for field in _INPUT_FIELDS:
            value = count(raw.get(field))
            if value is not None:
                self._input[field] = value

    def _message_delta(self, payload: dict[str, Any], events: list[Event]) -> None:
        delta = payload.get("delta")
        if isinstance(delta, dict):
            reason = delta.get("stop_reason")
            if isinstance(reason, str) and reason:
                self._stop_reason = reason
                self._stop_details = delta.get("stop_details")
        raw = payload.get("usage")
        if not isinstance(raw, dict):
            return
        # Cumulative totals: every field present overwrites, absent ones keep their value.
        self._merge_input(raw)
        output = count(raw.get("output_tokens"))
        if output is not None:
            self._output = output
        details = raw.get("output_tokens_details")
        if isinstance(details, dict):
            thinking = count(details.get("thinking_tokens"))
            if thinking is not None:
                self._thinking_tokens = thinking
        if self._output is not None:
            events.extend(usage_update(self._usage(self._output, self._thinking_tokens)))

    def _usage(self, output: int, reasoning: int, *, estimated: bool = False) -> Usage:
        read = self._input.get("cache_read_input_tokens", 0)
        write = self._input.get("cache_creation_input_tokens", 0)
        return Usage(
            input_tokens=self._input.get("input_tokens", 0) + read + write,
            output_tokens=output,
            reasoning_tokens=reasoning,
            cached_input_tokens=read,
            cache_write_tokens=write,
            estimated=estimated,
        )

    def _usage_if_unknown(self, events: list[Event]) -> None:
        """No final output count arrived: the exact input count with an estimated output."""
        if self._output is not None or not self._input:
            return
        streamed = estimate_tokens(self._text_chars + self._reasoning_chars)
        reasoning = estimate_tokens(self._reasoning_chars)
        events.extend(usage_update(self._usage(streamed, reasoning, estimated=True)))

    def _finish(self, events: list[Event]) -> None:
        self._done = True
        self._usage_if_unknown(events)
        reason = self._stop_reason or "end_turn"
        if reason == "pause_turn":
            events.append(
                StreamWarning("the turn was paused by the server (pause_turn); send again to go on")
            )
        elif reason == "refusal":
            events.append(self._warning(_refusal_note(self._stop_details)))
        events.append(Finish(_STOP.get(reason, "stop")))

    def _error(self, payload: dict[str, Any], events: list[Event]) -> None:
        self._failed = True
        error = payload.get("error")
        kind = error.get("type") if isinstance(error, dict) else None
        message = message_from_error_object(payload)
        if message is None:
            message = f"the server sent an error [{kind}]" if kind else "the server sent an error"
        self._usage_if_unknown(events)
        text = one_line(redact(f"error from the server: {message}", self._secrets))
        events.append(StreamError(text, retryable=kind in _RETRYABLE_ERRORS))
        events.append(Finish("error"))

    def _warning(self, message: str) -> StreamWarning:
        return StreamWarning(one_line(redact(message, self._secrets), 120))


def _refusal_note(details: Any) -> str:
    note = "the model declined to answer (refusal)"
    if isinstance(details, dict):
        category = details.get("category")
        if isinstance(category, str) and category:
            note += f", category {category}"
        explanation = details.get("explanation")
        if isinstance(explanation, str) and explanation:
            note += f": {explanation}"
    return note


class MessagesParser(SSEStreamParser[MessagesTranslator]):
    """:class:`SSEStreamParser` over :class:`MessagesTranslator`."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(MessagesTranslator, secrets)


# --- request --------------------------------------------------------------------------------


def anthropic_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The history as the API wants it: strictly alternating, starting with the user.

    Empty messages are dropped (the API rejects them), consecutive messages of one role (a
    user turn whose reply failed) are joined by a blank line, and a history that opens
    with the assistant gets a short user turn in front. A message with images or PDFs is a
    list of content blocks (:func:`~chatterm.providers.attachment_parts.anthropic_blocks`),
    and so is any message joined to one.
    """
    turns: list[dict[str, Any]] = []
    for message in messages:
        content: str | list[dict[str, Any]]
        if any(a.kind != "text" for a in message.attachments):
            content = anthropic_blocks(message)
        else:
            content = text_with_files(message)
            if not content.strip():
                continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] = _joined(turns[-1]["content"], content)
        else:
            turns.append({"role": message.role, "content": content})
    if turns and turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": CONVERSATION_START})
    if turns and turns[-1]["role"] == "assistant" and isinstance(turns[-1]["content"], str):
        # A final assistant turn is a prefill, which may not end in whitespace.
        turns[-1]["content"] = turns[-1]["content"].rstrip()
    return turns


def _joined(
    first: str | list[dict[str, Any]], second: str | list[dict[str, Any]]
) -> str | list[dict[str, Any]]:
    if isinstance(first, str) and isinstance(second, str):
        return first + "\n\n" + second
    return _as_blocks(first) + _as_blocks(second)


def _as_blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def output_limit(model: str) -> int:
    """The most output tokens (thinking included) ``model`` may be asked for."""
    name = model.lower().rsplit("/", 1)[-1]
    opus = _OPUS_4.match(name)
    if opus is not None:
        return LARGE_OUTPUT_LIMIT if int(opus.group(1) or 0) >= 5 else SMALL_OUTPUT_LIMIT
    if name.startswith(("claude-sonnet-4", "claude-haiku-4", "claude-3-7-sonnet")):
        return LARGE_OUTPUT_LIMIT
    return SMALL_OUTPUT_LIMIT


def thinking_budget(
    max_tokens: int, effort: ReasoningEffort = "medium", limit: int | None = None
) -> tuple[int, int]:
    """``(budget_tokens, max_tokens)`` that the API accepts: 1024 <= budget < max_tokens.

    ``medium`` gives 5/8 of ``max_tokens`` (10,000 of the usual 16,000). Below 2,048 there
    is no room for both, so the minimum budget is added on top and the answer keeps all of
    the ``max_tokens`` asked for. ``low`` thinks less (2,048 of 16,000, never more than
    half of medium's budget nor less than the minimum) within the same ``max_tokens``.
    ``high`` thinks up to 32,000 tokens and raises ``max_tokens`` to keep the answer the room
    medium leaves it, within ``limit``; where that leaves less than medium, medium it is.
    """
    if max_tokens < 2 * MIN_THINKING_BUDGET:
        budget, total = MIN_THINKING_BUDGET, max_tokens + MIN_THINKING_BUDGET
    else:
        budget, total = max(MIN_THINKING_BUDGET, max_tokens * 5 // 8), max_tokens
    if effort == "low":
        return min(LOW_THINKING_BUDGET, max(MIN_THINKING_BUDGET, budget // 2)), total
    if effort == "high":
        answer = total - budget
        high = max(HIGH_THINKING_BUDGET, budget)
        if limit is not None:
            high = min(high, limit - answer)
        if high > budget:
            return high, high + answer
    return budget, total


def messages_url(base_url: str) -> str:
    """``{base_url}/v1/messages``, as the SDK builds it; a base that already ends in /v1 (a
    common way to write a proxy address) is not given a second one."""
    if url_path(base_url).endswith("/v1"):
        return join_url(base_url, "/messages")
    return join_url(base_url, "/v1/messages")


class MessagesFormat(WireFormat):
    """``POST {base_url}/v1/messages``, the stream read by :class:`MessagesParser`."""

    kind = "anthropic"
    attachment_rules = AttachmentRules(
        "Anthropic's Messages API",
        IMAGES_AND_PDFS,
        max_image_bytes=5 * MB,
        max_images=100,
        max_image_side=8000,
        max_pdf_bytes=32 * MB,
    )
    headers = {
        "accept": "text/event-stream",
        "content-type": "application/json",
        "anthropic-version": ANTHROPIC_VERSION,
    }
    key_header = ("x-api-key", "")

    def url(self, endpoint: Endpoint, model: str) -> str:
        return messages_url(endpoint.base_url)

    def request_body(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> dict[str, Any]:
        info = model_info("anthropic", model)
        max_tokens = conversation.max_tokens or info.max_output_tokens or DEFAULT_MAX_TOKENS
        messages = anthropic_messages(conversation.messages)
        body: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
        if conversation.system and conversation.system.strip():
            body["system"] = conversation.system
        # Thinking cannot follow an assistant prefill (the API wants it to open with a
        # thinking block). temperature/top_k, which thinking forbids, are never sent.
        ends_with_user = bool(messages) and messages[-1]["role"] == "user"
        level = requested_effort(conversation) or ("medium" if conversation.reasoning else "off")
        if level != "off" and info.reasoning and ends_with_user:
            budget, body["max_tokens"] = thinking_budget(max_tokens, level, output_limit(model))
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["stream"] = True
        return body

    def new_parser(self, secrets: tuple[str, ...]) -> MessagesParser:
        return MessagesParser(secrets)


class AnthropicProvider(Provider):
    """The Messages API at Anthropic's endpoint or a compatible proxy's."""

    def __init__(
        self,
        name: str = "anthropic",
        base_url: str = ANTHROPIC_BASE_URL,
        api_key: str | None = None,
        *,
        key_env: str | None = KEY_ENV,
        local: bool = False,
    ) -> None:
        base_url = base_url.rstrip("/")
        local = local or is_local_url(base_url)
        endpoint = Endpoint(
            name,
            base_url,
            api_key,
            key_env,
            local=local,
            key_optional=local,
            price_provider_id="anthropic" if base_url == ANTHROPIC_BASE_URL else None,
            more_hints=_HINTS,
        )
        super().__init__(endpoint, MessagesFormat())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AnthropicProvider:
        """Anthropic, configured the way the official SDK reads its environment."""
        env = os.environ if env is None else env
        return cls(
            "anthropic",
            env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_BASE_URL,
            env.get(KEY_ENV) or None,
            key_env=KEY_ENV,
        )

    @property
    def url(self) -> str:
        return messages_url(self.base_url)
