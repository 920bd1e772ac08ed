"""Reading an OpenAI Chat Completions stream, as OpenAI and every imitating server send it.

Covers OpenAI itself and the compatible servers (DeepSeek, Groq, OpenRouter, vLLM,
llama.cpp, LM Studio, Ollama's /v1, LiteLLM, Mistral) with their reasoning dialects:
``delta.reasoning_content``, ``delta.reasoning`` (or ``reasoning_details`` when neither
string is present, never both), inline ``<think>`` tags in ``delta.content``, and
``delta.content`` given as a list of parts (Mistral's magistral models): ``text`` parts are
the answer, ``thinking`` parts (whose ``thinking`` is a list of text parts, or a string) the
reasoning, and any other part (an image, a reference) is skipped and counted in a warning.

The reply ends at its finish reason. A stream that ends properly (``data: [DONE]``, or a
whole completion sent unstreamed) after a reply but without a finish reason, as some
servers do (Snowflake Cortex), is complete: ``stop``, with a warning that the server sent
no finish reason. A stream that stops before either is cut short (``interrupted``).

A request for several choices in one stream (``n``) is read by :class:`ChoicesTranslator`:
one translator per choice, so each gets all of the above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chatterm.decode.sse import SSEEvent
from chatterm.events import (
    ChoiceEvent,
    Event,
    Finish,
    FinishReason,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    StreamWarning,
    TextDelta,
    Usage,
)
from chatterm.providers.json_values import (
    count0,
    json_object,
    json_text,
    message_from_error_object,
    usd,
)
from chatterm.providers.parsing import (
    SkipTally,
    SSEStreamParser,
    ended_early,
    object_or_skipped,
    usage_update,
)
from chatterm.providers.think_tags import ThinkTagSplitter
from chatterm.retry import retryable_status
from chatterm.text import one_line, redact

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "length": "length",
    "max_tokens": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "error": "error",
    "insufficient_system_resource": "error",
}
NO_FINISH_REASON = (
    "the server sent no finish reason; the stream ended properly, so the reply is complete"
)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_from_openai(raw: Mapping[str, Any]) -> Usage:
    """Normalize a Chat Completions ``usage`` object, including the servers' variations."""
    prompt = count0(raw.get("prompt_tokens"))
    completion = count0(raw.get("completion_tokens"))
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    if not isinstance(prompt_details, dict):
        prompt_details = {}
    if not isinstance(completion_details, dict):
        completion_details = {}
    reasoning = count0(completion_details.get("reasoning_tokens"))
    total = count0(raw.get("total_tokens"))
    # xAI counts reasoning outside completion_tokens; OpenAI counts it inside.
    output = (
        completion + reasoning
        if reasoning and prompt + completion + reasoning == total
        else completion
    )
    cached = count0(prompt_details.get("cached_tokens")) or count0(
        raw.get("prompt_cache_hit_tokens")
    )
    return Usage(
        input_tokens=prompt,
        output_tokens=output,
        reasoning_tokens=reasoning,
        cached_input_tokens=cached,
        cache_write_tokens=count0(prompt_details.get("cache_write_tokens")),
        cost_usd=usd(raw.get("cost")),
    )


class ChatCompletionsTranslator:
    """Turns Chat Completions SSE events into normalized events (choice 0 only: a request
    for several choices is read by :class:`ChoicesTranslator`)."""

    def __init__(self, secrets: tuple[str, ...] = (), skips: SkipTally | None = None) -> None:
        self._think = ThinkTagSplitter()
        self._secrets = secrets
        self._skips = skips or SkipTally(secrets)
        self._finish: FinishReason | None = None
        self._replied = False  # a chunk of the reply (choice 0) has come
        self._done = False
        self._failed = False

    def feed(self, frame: SSEEvent) -> list[Event]:
        if self._done:
            return []
        if frame.data.startswith("[DONE]"):
            self._done = True
            return self._complete_without_reason()
        chunk = object_or_skipped(frame.data, self._skips)
        return chunk if isinstance(chunk, list) else self.feed_object(chunk)

    def feed_object(self, chunk: dict[str, Any]) -> list[Event]:
        """One chunk, already parsed."""
        if self._done:
            return []
        if self._failed:
            # After an error only the usage still counts (OpenRouter sends its cost there).
            usage = chunk.get("usage")
            return usage_update(usage_from_openai(usage)) if isinstance(usage, dict) else []
        if chunk.get("error") or chunk.get("object") == "error":
            return self._error(chunk)
        events: list[Event] = []
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, dict) and _int(choice.get("index")) == 0:
                    self._choice(choice, events)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.extend(usage_update(usage_from_openai(usage)))
        return events

    def _choice(self, choice: dict[str, Any], events: list[Event]) -> None:
        self._replied = True
        delta = choice.get("delta")
        if isinstance(delta, dict):
            reasoning = _reasoning_text(delta)
            if reasoning:
                self._think.stop_looking()
                events.append(ReasoningDelta(reasoning))
            content = delta.get("content")
            if isinstance(content, str) and content:
                events.extend(self._think.feed(content))
            elif isinstance(content, list):
                self._content_parts(content, events)
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                events.append(TextDelta(refusal))
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason and self._finish is None:
            self._finish = _FINISH.get(reason, "stop")
            events.extend(self._think.close())
            if self._finish == "error":
                self._failed = True
                events.append(StreamError(f"the server ended the reply with an error ({reason})"))
            events.append(Finish(self._finish))

    def _content_parts(self, parts: list[Any], events: list[Event]) -> None:
        for part in parts:
            kind = part.get("type") if isinstance(part, dict) else None
            if isinstance(part, dict) and kind is None:  # the type is optional (Mistral)
                kind = "text" if "text" in part else "thinking" if "thinking" in part else None
            if kind == "text" and isinstance(part.get("text"), str):
                if part["text"]:
                    events.extend(self._think.feed(part["text"]))
            elif kind == "thinking" and isinstance(part.get("thinking"), str | list):
                self._think.stop_looking()
                reasoning = self._thinking_text(part["thinking"], events)
                if reasoning:
                    events.append(ReasoningDelta(reasoning))
            else:
                events.append(self._skipped_part(part))

    def _thinking_text(self, thinking: str | list[Any], events: list[Event]) -> str:
        """A thinking part's text: a string, or a list of text parts (others skipped)."""
        if isinstance(thinking, str):
            return thinking
        pieces: list[str] = []
        for inner in thinking:
            text = inner.get("text") if isinstance(inner, dict) else None
            if isinstance(text, str) and inner.get("type", "text") == "text":
                pieces.append(text)
            else:
                events.append(self._skipped_part(inner))
        return "".join(pieces)

    def _skipped_part(self, part: Any) -> StreamWarning:
        kind = part.get("type") if isinstance(part, dict) else None
        return self._skips.add("content_part", kind if isinstance(kind, str) else json_text(part))

    def _complete_without_reason(self) -> list[Event]:
        """The stream ended properly: a reply that named no finish reason is complete."""
        if self._failed or self._finish is not None or not self._replied:
            return []
        self._finish = "stop"
        return [*self._think.close(), StreamWarning(NO_FINISH_REASON), Finish("stop")]

    def _error(self, chunk: dict[str, Any]) -> list[Event]:
        self._failed = True
        message = message_from_error_object(chunk) or "the server sent an error"
        events = self._think.close()
        events.append(
            StreamError(
                one_line(redact(f"error from the server: {message}", self._secrets)),
                retryable=_retryable_error(chunk),
            )
        )
        events.append(Finish("error"))
        return events

    def outside_data(self, lines: list[str], streamed: bool) -> list[Event]:
        """An error the server wrote outside ``data:`` lines, or a whole completion from a
        server that does not stream (see :func:`outside_chunk`), which ends as a stream
        ending properly does."""
        chunk = outside_chunk(lines, streamed)
        if chunk is None:
            return []
        events = self.feed_object(chunk)
        if "choices" in chunk:  # a whole completion
            events += self._complete_without_reason()
        return events

    def close(self) -> list[Event]:
        if self._failed or self._finish is not None:
            return []
        return [*self._think.close(), *ended_early("the model finished (no finish reason)")]


def outside_chunk(lines: list[str], streamed: bool) -> dict[str, Any] | None:
    """What the lines that were not ``data:`` lines amount to, as a chunk to read: an error
    the server wrote outside them (old llama.cpp builds sent ``error: {...}``; some proxies
    answer 200 with a bare JSON error object), or a whole completion from a server that
    does not stream, each choice's message its one and only delta. None for neither."""
    for line in lines:
        if line.startswith("error:"):
            found = json_object(line[len("error:") :])
            if found is not None:
                return {"error": found.get("error", found)}
    found = json_object("\n".join(lines))
    if found is None:
        return None
    if "error" in found:
        return {"error": found["error"]}
    choices = found.get("choices")
    if streamed or not isinstance(choices, list):
        return None
    as_deltas = [
        {**choice, "delta": choice.get("message")} for choice in choices if isinstance(choice, dict)
    ]
    return {"choices": as_deltas, "usage": found.get("usage")}


_RETRYABLE_ERROR_TYPES = frozenset(
    {"server_error", "overloaded_error", "rate_limit_exceeded", "timeout", "api_error"}
)


def _retryable_error(chunk: dict[str, Any]) -> bool:
    """A mid-stream error the same request may not hit again (overload, a server fault)."""
    error = chunk.get("error")
    if not isinstance(error, dict):
        return False
    code = error.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and retryable_status(code):
        return True
    return (
        error.get("type") in _RETRYABLE_ERROR_TYPES or error.get("code") in _RETRYABLE_ERROR_TYPES
    )


def _reasoning_text(delta: dict[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str) and value:
            return value
    details = delta.get("reasoning_details")
    if isinstance(details, list):
        parts = []
        for item in details:
            if isinstance(item, dict):
                text = item.get("text") or item.get("summary")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""


class ChatCompletionsParser(SSEStreamParser[ChatCompletionsTranslator]):
    """:class:`SSEStreamParser` over :class:`ChatCompletionsTranslator`."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(ChatCompletionsTranslator, secrets)


# ------------------------------------------------------------------ several choices (n)
#
# A request for several choices (``n`` above 1) is one stream whose chunks are told apart by
# ``index``. Each choice's chunks go to a ChatCompletionsTranslator of its own, so everything
# it knows (the reasoning dialects, ``<think>`` tags, refusals, finish reasons) is kept per
# choice, and what it gives comes out wrapped in a ChoiceEvent. What belongs to the request
# as a whole stays plain: the one usage record (every choice's tokens together), skipped
# lines, and an error chunk, which ends every choice still open. At the end of the body a
# choice that never finished ended early, and one that never came at all, in a stream that
# did end, says the server seems not to take ``n``.


def _wrap(index: int, events: Sequence[Event]) -> list[StreamEvent]:
    return [ChoiceEvent(index, event) for event in events]


class ChoicesTranslator:
    """Turns the SSE events of a Chat Completions stream of ``choices`` choices into
    normalized events, each choice's wrapped with its index (see the module docstring)."""

    def __init__(
        self, secrets: tuple[str, ...] = (), skips: SkipTally | None = None, *, choices: int
    ) -> None:
        self._skips = skips or SkipTally(secrets)
        self._choices = [ChatCompletionsTranslator(secrets, self._skips) for _ in range(choices)]
        self._seen = [False] * choices
        self._ended = [False] * choices
        self._done = False
        self._failed = False

    def feed(self, frame: SSEEvent) -> list[StreamEvent]:
        if self._done:
            return []
        if frame.data.startswith("[DONE]"):
            self._done = True
            # Each choice reads the end of the stream as a reply of one choice would.
            events: list[StreamEvent] = []
            for index, choice in enumerate(self._choices):
                events.extend(self._own(index, choice.feed(frame)))
            return events
        chunk = object_or_skipped(frame.data, self._skips)
        return list(chunk) if isinstance(chunk, list) else self.feed_object(chunk)

    def feed_object(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """One chunk, already parsed."""
        if self._done:
            return []
        events: list[StreamEvent] = []
        if self._failed:
            # After an error only the usage still counts (OpenRouter sends its cost there).
            usage = chunk.get("usage")
            events.extend(usage_update(usage_from_openai(usage)) if isinstance(usage, dict) else [])
            return events
        if chunk.get("error") or chunk.get("object") == "error":
            return self._error(chunk)
        choices = chunk.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if not isinstance(choice, dict):
                    continue
                index = choice.get("index", 0)
                if not isinstance(index, int) or isinstance(index, bool):
                    index = -1
                if not 0 <= index < len(self._choices):
                    events.append(self._skips.add("unknown_shape", json_text(choice)))
                    continue
                self._seen[index] = True
                single = {"choices": [{**choice, "index": 0}]}
                events.extend(self._own(index, self._choices[index].feed_object(single)))
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.extend(usage_update(usage_from_openai(usage)))
        return events

    def _own(self, index: int, events: Sequence[Event]) -> list[StreamEvent]:
        """Choice ``index``'s events, wrapped; noting when it has ended."""
        if any(isinstance(event, Finish) for event in events):
            self._ended[index] = True
        return _wrap(index, events)

    def _error(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        """An error chunk ends the request: each open choice lets go of the text it held
        back (half a ``<think>`` tag), then one error and finish end every choice."""
        self._failed = True
        events: list[StreamEvent] = []
        ending: list[Event] = []
        for index, choice in enumerate(self._choices):
            if self._ended[index]:
                continue
            self._ended[index] = True
            own = choice.feed_object(chunk)
            events.extend(_wrap(index, [e for e in own if not isinstance(e, StreamError | Finish)]))
            ending = ending or [e for e in own if isinstance(e, StreamError | Finish)]
        events.extend(ending)  # none when every choice had ended already
        return events

    def outside_data(self, lines: list[str], streamed: bool) -> list[StreamEvent]:
        chunk = outside_chunk(lines, streamed)
        return [] if chunk is None else self.feed_object(chunk)

    def close(self) -> list[StreamEvent]:
        if self._failed:
            return []
        # A stream that ended as it should (all the choices it sent finished, or [DONE])
        # but without some choice: the server does not seem to take n.
        complete = self._done or all(
            ended for ended, seen in zip(self._ended, self._seen, strict=True) if seen
        )
        events: list[StreamEvent] = []
        for index, choice in enumerate(self._choices):
            if self._seen[index]:
                events.extend(self._own(index, choice.close()))
            elif complete:
                count = len(self._choices)
                message = (
                    f"the server sent no choice {index + 1} of the {count} asked for; "
                    "it may not take n (several choices in one request)"
                )
                events.extend(self._own(index, [StreamError(message), Finish("error")]))
            else:
                events.extend(self._own(index, ended_early("this choice began")))
        return events


class ChoicesParser(SSEStreamParser[ChoicesTranslator]):
    """:class:`SSEStreamParser` over :class:`ChoicesTranslator`."""

    def __init__(self, secrets: tuple[str, ...] = (), choices: int = 2) -> None:
        def translator(secrets: tuple[str, ...], skips: SkipTally) -> ChoicesTranslator:
            return ChoicesTranslator(secrets, skips, choices=choices)

        super().__init__(translator, secrets)
