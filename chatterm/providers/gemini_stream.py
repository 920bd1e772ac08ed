"""Gemini's ``streamGenerateContent?alt=sse`` stream to normalized events.
Documented at https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent.

The stream is data-only SSE with CRLF line ends. Each chunk is a ``GenerateContentResponse``
whose ``parts[].text`` are increments: parts marked ``thought: true`` are thought summaries
(reasoning), the other text parts are the answer. ``usageMetadata`` is a running total on
(nearly) every chunk. The stream ends by closing after the chunk that carries
``finishReason``; there is no ``[DONE]``.

Two things make Gemini unlike the others:

* A mid-stream error is written as raw, often pretty-printed JSON **without** ``data:``, and
  it can come even after a chunk with ``finishReason: STOP``. A spec SSE decoder drops those
  lines (they look like fields with unknown names) and keeps them in
  ``SSEDecoder.ignored_lines``; :class:`GeminiParser` hands them over after each read and
  :class:`GeminiTranslator` brace-matches them back into a JSON object.
* Because of that, a ``finishReason`` is not the end: the reply's :class:`Finish` is held back
  until the body closes (``close()``), and an error that follows a ``STOP`` overrides it
  (``StreamError`` then ``Finish("error")``; the text stays). The accumulator keeps the first
  ``Finish``, so emitting ``stop`` early would make a later error unreportable.

Finish reasons (google-genai ``FinishReason``), decided per value:

* ``STOP`` → ``stop``, or ``tool_calls`` when the reply had ``functionCall`` parts;
  ``MAX_TOKENS`` → ``length``.
* Policy stops → ``content_filter`` with a warning naming the reason: ``SAFETY``,
  ``RECITATION``, ``LANGUAGE``, ``BLOCKLIST``, ``PROHIBITED_CONTENT``, ``SPII``,
  ``IMAGE_SAFETY``, ``IMAGE_PROHIBITED_CONTENT``, ``IMAGE_RECITATION``, ``ESCALATION``,
  ``MODEL_ARMOR``, ``PUP_LIMITED_DISABLED``. ``promptFeedback.blockReason`` (the prompt itself
  was blocked) → ``content_filter`` with a :class:`StreamError` naming the reason.
* Broken output → ``error`` with a :class:`StreamError`: ``MALFORMED_FUNCTION_CALL``,
  ``UNEXPECTED_TOOL_CALL``, ``TOO_MANY_TOOL_CALLS``, ``MALFORMED_RESPONSE`` (retryable: asking
  again can succeed) and ``MISSING_THOUGHT_SIGNATURE`` (not retryable: the request is at fault).
* Anything else (``OTHER``, ``FINISH_REASON_UNSPECIFIED``, ``IMAGE_OTHER``, ``NO_IMAGE``,
  ``CONTINUATION``, values added later) → ``stop`` with a warning naming the reason.

Other decisions: only candidate 0 is read (chatterm asks for one); ``functionCall`` parts are
not rendered (one warning names the tool); a last event that lost its blank line at EOF is
still read, as google-genai does; raw JSON outside ``data:`` that is a response chunk (a body
sent without ``alt=sse``) is translated rather than dropped; raw JSON cut off at EOF that
mentions ``"error"`` is still reported as an error. Within one network read, ``data:`` events
are translated before the raw lines of that read (Gemini only appends raw JSON at the end).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from chatterm.decode.sse import MAX_LINE_BYTES, SSEEvent
from chatterm.events import (
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
from chatterm.providers.json_values import count0, json_text, raw_decode
from chatterm.providers.parsing import (
    SkipTally,
    SSEStreamParser,
    ended_early,
    object_or_skipped,
    snippet,
    tool_call_warning,
    usage_update,
)
from chatterm.retry import retryable_status
from chatterm.text import one_line, redact

_CONTENT_FILTER = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "ESCALATION",
        "MODEL_ARMOR",
        "PUP_LIMITED_DISABLED",
    }
)
# Finish reasons meaning the model's output was broken; value: worth asking again.
_ERROR_FINISH: dict[str, bool] = {
    "MALFORMED_FUNCTION_CALL": True,
    "UNEXPECTED_TOOL_CALL": True,
    "TOO_MANY_TOOL_CALLS": True,
    "MALFORMED_RESPONSE": True,
    "MISSING_THOUGHT_SIGNATURE": False,
}
# google.rpc status names that mean "try again later" even when no HTTP code came with them.
_RETRYABLE_STATUS_NAMES = frozenset(
    {"RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED"}
)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def usage_from_gemini(raw: Mapping[str, Any]) -> Usage:
    """Normalize ``usageMetadata``: thoughts are counted outside ``candidatesTokenCount``."""
    thoughts = count0(raw.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=count0(raw.get("promptTokenCount")),
        output_tokens=count0(raw.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
        cached_input_tokens=count0(raw.get("cachedContentTokenCount")),
    )


class GeminiTranslator:
    """Turns Gemini stream chunks (candidate 0) into normalized events.

    ``feed`` takes SSE events; ``feed_object`` takes a JSON value found outside ``data:``
    lines. ``close`` emits the held-back :class:`Finish`, or reports an interrupted stream.
    """

    def __init__(self, secrets: tuple[str, ...] = (), skips: SkipTally | None = None) -> None:
        self._secrets = secrets
        self._skips = skips or SkipTally(secrets)
        self._finish: FinishReason | None = None  # decided, not yet emitted
        self._tool_call = False
        self._blocked = False
        self._failed = False  # an error was reported and Finish("error") emitted
        self._closed = False
        self._last_usage: Usage | None = None
        self._raw = _RawJSONCollector()

    def feed(self, frame: SSEEvent) -> list[Event]:
        value = object_or_skipped(frame.data, self._skips)
        return value if isinstance(value, list) else self.feed_object(value)

    def feed_object(self, value: Any) -> list[Event]:
        """A decoded chunk, an ``{"error": ...}`` envelope, or a list of either (the body
        of a request made without ``alt=sse``)."""
        if self._closed:
            return []
        if not isinstance(value, list):
            return self._object(value)
        if not value:
            return [self._skips.add("unknown_shape", "[]")]
        events: list[Event] = []
        for item in value:  # one level only: a list in the list is not a chunk
            events.extend(self._object(item))
        return events

    def _object(self, value: Any) -> list[Event]:
        if not isinstance(value, dict):
            return [self._skips.add("not_object", json_text(value))]
        if "error" in value:
            return self.error(value["error"])
        if not any(k in value for k in ("candidates", "usageMetadata", "promptFeedback")):
            return [self._skips.add("unknown_shape", json_text(value))]
        return self._chunk(value)

    def error(self, error: Any) -> list[Event]:
        """An error object from the server: report it and end the reply with ``error``."""
        if self._failed or self._closed:
            return []
        self._failed = True
        code: int | None = None
        status = message = ""
        if isinstance(error, dict):
            code = count0(error.get("code")) or None
            status = _str(error.get("status"))
            message = _str(error.get("message"))
        elif isinstance(error, str):
            message = error
        label = " ".join(part for part in (str(code or ""), status) if part)
        text = "Gemini sent an error"
        if label:
            text += f" ({label})"
        text += f": {message}" if message else f": {json_text(error)}"
        retryable = (code is not None and retryable_status(code)) or (
            status in _RETRYABLE_STATUS_NAMES
        )
        http_status = code if code is not None and 100 <= code <= 599 else None
        return [
            StreamError(one_line(redact(text, self._secrets)), retryable, http_status),
            Finish("error"),
        ]

    def outside_data(self, lines: list[str], streamed: bool) -> list[Event]:
        """Lines that were not SSE, joined by brace matching into the JSON values they
        hold (an error, or chunks sent without ``alt=sse``); what is not JSON is skipped."""
        events: list[Event] = []
        for line in lines:
            found = self._raw.add(line)
            if found is None:
                continue
            kind, text = found
            if kind == "junk":
                events.append(self._skips.add("not_sse", text))
                continue
            if kind == "unfinished":
                events.append(self._skips.add("unfinished_json", text))
                continue
            try:
                value, _ = raw_decode(text.strip())
            except ValueError:
                events.append(self._skips.add("not_json", text))
                continue
            events.extend(self.feed_object(value))
        return events

    def unfinished_raw_json(self) -> list[Event]:
        """The body ended inside a raw JSON value: an error cut short is still an error."""
        text = self._raw.take()
        if not text.strip():
            return []
        if '"error"' not in text:
            return [self._skips.add("unfinished_json", text)]
        code = re.search(r'"code"\s*:\s*(\d{3})', text)
        status = re.search(r'"status"\s*:\s*"([A-Z_]+)"', text)
        message = re.search(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
        error: dict[str, Any] = {}
        if code:
            error["code"] = int(code.group(1))
        if status:
            error["status"] = status.group(1)
        try:
            error["message"] = json.loads(f'"{message.group(1)}"') if message else ""
        except ValueError:
            error["message"] = message.group(1) if message else ""
        if not error["message"]:
            error["message"] = f"(cut off) {snippet(text, self._secrets, 200)}"
        return self.error(error)

    def close(self) -> list[Event]:
        if self._closed:
            return []
        self._closed = True
        if self._failed:
            return []
        if self._finish is not None:
            reason = self._finish
            if reason == "stop" and self._tool_call:
                reason = "tool_calls"
            return [Finish(reason)]
        return ended_early("the model finished (no finish reason)")

    # --- chunks ---------------------------------------------------------------------------

    def _chunk(self, chunk: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        if not self._failed:
            feedback = chunk.get("promptFeedback")
            if isinstance(feedback, dict):
                self._prompt_feedback(feedback, events)
            candidates = chunk.get("candidates")
            if isinstance(candidates, list):
                for candidate in candidates:
                    if isinstance(candidate, dict) and _int(candidate.get("index")) == 0:
                        self._candidate(candidate, events)
        # Usage still counts after an error: it is what the failed request cost.
        usage = chunk.get("usageMetadata")
        if isinstance(usage, dict):
            normalized = usage_from_gemini(usage)
            if normalized != self._last_usage:
                self._last_usage = normalized
                events.extend(usage_update(normalized))
        return events

    def _prompt_feedback(self, feedback: dict[str, Any], events: list[Event]) -> None:
        reason = _str(feedback.get("blockReason"))
        if not reason or self._blocked:
            return
        self._blocked = True
        text = f"Gemini blocked the prompt ({reason})"
        detail = _str(feedback.get("blockReasonMessage"))
        if detail:
            text += f": {detail}"
        events.append(StreamError(one_line(redact(text, self._secrets))))
        if self._finish is None:
            self._finish = "content_filter"

    def _candidate(self, candidate: dict[str, Any], events: list[Event]) -> None:
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            for part in parts:
                if not isinstance(part, dict):
                    continue
                text = part.get("text")
                if isinstance(text, str) and text:
                    # thoughtSignature-only parts have text "" and render nothing.
                    if part.get("thought") is True:
                        events.append(ReasoningDelta(text))
                    else:
                        events.append(TextDelta(text))
                elif isinstance(part.get("functionCall"), dict):
                    if not self._tool_call:
                        name = _str(part["functionCall"].get("name")) or "?"
                        events.append(tool_call_warning(name, self._secrets))
                    self._tool_call = True
        reason = candidate.get("finishReason")
        if isinstance(reason, str) and reason and self._finish is None:
            self._finish_reason(reason, _str(candidate.get("finishMessage")), events)

    def _finish_reason(self, raw: str, message: str, events: list[Event]) -> None:
        suffix = f": {message}" if message else ""
        if raw == "STOP":
            self._finish = "stop"
        elif raw == "MAX_TOKENS":
            self._finish = "length"
        elif raw in _CONTENT_FILTER:
            self._finish = "content_filter"
            events.append(self._warning(f"Gemini stopped the reply ({raw}){suffix}", 300))
        elif raw in _ERROR_FINISH:
            self._finish = "error"
            text = f"Gemini ended the reply with an error ({raw}){suffix}"
            events.append(
                StreamError(one_line(redact(text, self._secrets)), retryable=_ERROR_FINISH[raw])
            )
        else:
            self._finish = "stop"
            events.append(
                self._warning(f"Gemini stopped the reply for an unusual reason ({raw}){suffix}")
            )

    def _warning(self, message: str, limit: int = 120) -> StreamWarning:
        return StreamWarning(one_line(redact(message, self._secrets), limit))


class _RawJSONCollector:
    """Joins lines that were not SSE into JSON texts by matching braces and brackets."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._size = 0
        self._depth = 0
        self._in_string = False
        self._escape = False

    def add(self, line: str) -> tuple[str, str] | None:
        """``("json", text)`` when a value is complete, ``("junk", line)`` for a line that
        cannot start one, ``("unfinished", text)`` for a value grown too long to be one,
        ``None`` while a value is still open."""
        if not self._lines and not line.lstrip().startswith(("{", "[")):
            return ("junk", line)
        self._lines.append(line)
        self._size += len(line)
        for char in line:
            if self._in_string:
                if self._escape:
                    self._escape = False
                elif char == "\\":
                    self._escape = True
                elif char == '"':
                    self._in_string = False
            elif char == '"':
                self._in_string = True
            elif char in "{[":
                self._depth += 1
            elif char in "}]":
                self._depth -= 1
                if self._depth <= 0:
                    break  # anything after the value on this line is ignored by the decode
        if self._depth > 0:
            if self._size > MAX_LINE_BYTES:
                return ("unfinished", self.take())
            return None
        return ("json", self.take())

    def take(self) -> str:
        text = "\n".join(self._lines)
        self._lines.clear()
        self._size = 0
        self._depth = 0
        self._in_string = self._escape = False
        return text


class GeminiParser(SSEStreamParser[GeminiTranslator]):
    """:class:`SSEStreamParser` over :class:`GeminiTranslator`, with Gemini's two
    differences: the lines that were not SSE go to the translator after each read (raw JSON
    may come mid-stream), and a last event that lost its blank line still counts."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(GeminiTranslator, secrets)

    def _feed(self, chunk: bytes) -> Sequence[StreamEvent]:
        frames = self.decoder.feed(chunk)
        if len(frames) == 1 and not self.decoder.ignored_lines:
            frame = frames[0]
            if not (frame.invalid_utf8 or frame.oversized):
                return self.translator.feed(frame)
        events = self._translate(frames)
        events.extend(self._raw_lines())
        return events

    def _drain(self) -> Sequence[StreamEvent]:
        # A last event that lost its blank line still counts, as in google-genai: Gemini's
        # final chunk carries the finish reason, and a proxy may drop the trailing CRLF.
        events = self._translate([*self.decoder.feed(b"\n\n"), *self.decoder.flush()])
        events.extend(self._raw_lines())
        events.extend(self.translator.unfinished_raw_json())
        return events

    def _raw_lines(self) -> list[Event]:
        lines = self.decoder.take_ignored()
        return self.translator.outside_data(lines, self.decoder.dispatched > 0) if lines else []

    def _leftovers(self) -> list[Event]:
        return []  # the lines that were not SSE were each read as they came
