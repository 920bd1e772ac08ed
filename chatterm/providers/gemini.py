"""Google Gemini's native ``streamGenerateContent?alt=sse`` API (WIRE.md §5).

The stream is data-only SSE with CRLF line ends. Each chunk is a ``GenerateContentResponse``
whose ``parts[].text`` are increments: parts marked ``thought: true`` are thought summaries
(reasoning), the other text parts are the answer. ``usageMetadata`` is a running total on
(nearly) every chunk. The stream ends by closing after the chunk that carries
``finishReason``; there is no ``[DONE]``.

Two things make Gemini unlike the others:

* A mid-stream error is written as raw, often pretty-printed JSON **without** ``data:``, and
  it can come even after a chunk with ``finishReason: STOP``. A spec SSE decoder drops those
  lines (they look like fields with unknown names) and keeps them in
  ``SSEDecoder.ignored_lines``; :class:`GeminiParser` brace-matches them back into a JSON
  object as they arrive.
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
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from chatterm.catalog import model_info
from chatterm.decode.sse import SSEDecoder, SSEEvent
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
    UsageUpdate,
)
from chatterm.pricing import PriceSpec, is_local_url
from chatterm.providers.base import (
    RETRYABLE_STATUS,
    Provider,
    error_detail,
    one_line,
    redact,
)

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
KEY_ENV = "GEMINI_API_KEY"
ALT_KEY_ENV = "GOOGLE_API_KEY"

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
_VERSION_SUFFIX = re.compile(r"/v\d+(?:alpha|beta)?\d*$")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def usage_from_gemini(raw: Mapping[str, Any]) -> Usage:
    """Normalize ``usageMetadata``: thoughts are counted outside ``candidatesTokenCount``."""
    thoughts = _int(raw.get("thoughtsTokenCount"))
    return Usage(
        input_tokens=_int(raw.get("promptTokenCount")),
        output_tokens=_int(raw.get("candidatesTokenCount")) + thoughts,
        reasoning_tokens=thoughts,
        cached_input_tokens=_int(raw.get("cachedContentTokenCount")),
    )


class GeminiTranslator:
    """Turns Gemini stream chunks (candidate 0) into normalized events.

    ``feed`` takes SSE events; ``feed_object`` takes a JSON value found outside ``data:``
    lines. ``close`` emits the held-back :class:`Finish`, or reports an interrupted stream.
    """

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = secrets
        self._finish: FinishReason | None = None  # decided, not yet emitted
        self._tool_call = False
        self._blocked = False
        self._failed = False  # an error was reported and Finish("error") emitted
        self._closed = False
        self._last_usage: Usage | None = None

    def feed(self, frame: SSEEvent) -> list[Event]:
        data = frame.data
        if not data.strip():
            return []
        try:
            value = json.loads(data)
        except ValueError:
            return [self._warning(f"skipped a stream line that is not JSON: {data}")]
        if not isinstance(value, dict):
            return [self._warning(f"skipped a stream line that is not an object: {data}")]
        return self.feed_object(value)

    def feed_object(self, value: Any) -> list[Event]:
        """A decoded chunk, an ``{"error": ...}`` envelope, or a list of either."""
        if self._closed:
            return []
        if isinstance(value, list):
            events: list[Event] = []
            for item in value:
                events.extend(self.feed_object(item))
            if not value:
                events.append(self._warning("skipped an empty JSON list in the stream"))
            return events
        if not isinstance(value, dict):
            return [self._warning(f"skipped JSON that is not an object: {json.dumps(value)}")]
        if "error" in value:
            return self.error(value["error"])
        if not any(k in value for k in ("candidates", "usageMetadata", "promptFeedback")):
            return [self._warning(f"skipped JSON of an unknown shape: {json.dumps(value)}")]
        return self._chunk(value)

    def error(self, error: Any) -> list[Event]:
        """An error object from the server: report it and end the reply with ``error``."""
        if self._failed or self._closed:
            return []
        self._failed = True
        code: int | None = None
        status = message = ""
        if isinstance(error, dict):
            code = _int(error.get("code")) or None
            status = _str(error.get("status"))
            message = _str(error.get("message"))
        elif isinstance(error, str):
            message = error
        label = " ".join(part for part in (str(code or ""), status) if part)
        text = "Gemini sent an error"
        if label:
            text += f" ({label})"
        text += f": {message}" if message else f": {json.dumps(error)}"
        retryable = (code is not None and code in RETRYABLE_STATUS) or (
            status in _RETRYABLE_STATUS_NAMES
        )
        return [
            StreamError(one_line(redact(text, self._secrets)), retryable, code),
            Finish("error"),
        ]

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
        return [
            StreamError(
                "the stream ended before the model finished (no finish reason); "
                "the partial reply is kept",
                retryable=True,
            ),
            Finish("interrupted"),
        ]

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
                events.append(UsageUpdate(normalized))
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
                        events.append(
                            self._warning(
                                f"the model asked to call the tool {name!r}; "
                                "chatterm does not run tools"
                            )
                        )
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
        self._depth = 0
        self._in_string = False
        self._escape = False

    def add(self, line: str) -> tuple[str, str] | None:
        """``("json", text)`` when a value is complete, ``("junk", line)`` for a line that
        cannot start one, ``None`` while a value is still open."""
        if not self._lines and not line.lstrip().startswith(("{", "[")):
            return ("junk", line)
        self._lines.append(line)
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
            return None
        return ("json", self.take())

    def take(self) -> str:
        text = "\n".join(self._lines)
        self._lines.clear()
        self._depth = 0
        self._in_string = self._escape = False
        return text


class GeminiParser:
    """SSE decoder plus translator, watching the lines the decoder ignored for raw JSON."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self.decoder = SSEDecoder()
        self.translator = GeminiTranslator(secrets)
        self._secrets = secrets
        self._raw = _RawJSONCollector()
        self._raw_seen = 0  # lines of decoder.ignored_lines already looked at

    def feed(self, chunk: bytes) -> list[Event]:
        frames = self.decoder.feed(chunk)
        if len(frames) == 1 and len(self.decoder.ignored_lines) == self._raw_seen:
            return self.translator.feed(frames[0])
        events: list[Event] = []
        for frame in frames:
            events.extend(self.translator.feed(frame))
        self._raw_lines(events)
        return events

    def close(self) -> list[Event]:
        # A last event that lost its blank line still counts, as in google-genai: Gemini's
        # final chunk carries the finish reason, and a proxy may drop the trailing CRLF.
        events: list[Event] = []
        for frame in [*self.decoder.feed(b"\n\n"), *self.decoder.flush()]:
            events.extend(self.translator.feed(frame))
        self._raw_lines(events)
        leftover = self._raw.take()
        if leftover.strip():
            events.extend(self._unfinished_raw(leftover))
        if self.decoder.invalid_utf8_lines:
            events.append(
                StreamWarning(
                    f"{self.decoder.invalid_utf8_lines} stream line(s) were not valid UTF-8"
                )
            )
        events.extend(self.translator.close())
        return events

    def _raw_lines(self, events: list[Event]) -> None:
        lines = self.decoder.ignored_lines
        while self._raw_seen < len(lines):
            line = lines[self._raw_seen]
            self._raw_seen += 1
            found = self._raw.add(line)
            if found is None:
                continue
            kind, text = found
            if kind == "junk":
                events.append(self._warning(f"skipped a stream line that is not SSE: {text}"))
                continue
            try:
                value, _ = json.JSONDecoder().raw_decode(text.strip())
            except ValueError:
                events.append(self._warning(f"skipped text outside data lines: {text}"))
                continue
            events.extend(self.translator.feed_object(value))

    def _unfinished_raw(self, text: str) -> list[Event]:
        """The body ended inside a raw JSON value: an error cut short is still an error."""
        if '"error"' not in text:
            return [self._warning(f"skipped unfinished JSON outside data lines: {text}")]
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
            error["message"] = f"(cut off) {text}"
        return self.translator.error(error)

    def _warning(self, message: str) -> StreamWarning:
        return StreamWarning(one_line(redact(message, self._secrets), 120))


class GeminiProvider(Provider):
    """Gemini through the Generative Language API (or a server at ``GEMINI_BASE_URL``)."""

    def __init__(
        self,
        name: str = "gemini",
        base_url: str = GEMINI_BASE_URL,
        api_key: str | None = None,
        *,
        key_env: str = KEY_ENV,
        local: bool = False,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._key_env = key_env
        self._local = local or is_local_url(self.base_url)
        official = self.base_url in (GEMINI_BASE_URL, f"{GEMINI_BASE_URL}/{API_VERSION}")
        self._price_provider_id = "google" if official else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GeminiProvider:
        """``GEMINI_API_KEY`` (else ``GOOGLE_API_KEY``) and ``GEMINI_BASE_URL``."""
        env = os.environ if env is None else env
        key = env.get(KEY_ENV) or None
        key_env = KEY_ENV
        if key is None and env.get(ALT_KEY_ENV):
            key, key_env = env[ALT_KEY_ENV], ALT_KEY_ENV
        return cls("gemini", env.get("GEMINI_BASE_URL") or GEMINI_BASE_URL, key, key_env=key_env)

    # --- request ----------------------------------------------------------------------------

    def endpoint(self, model: str) -> str:
        """``{base}/v1beta/models/{model}:streamGenerateContent?alt=sse``.

        A model given as ``models/x`` (or ``tunedModels/x``) is used as the resource path; a
        base URL that already ends in an API version (``…/v1beta``) gets no second one.
        """
        root = self.base_url
        if not _VERSION_SUFFIX.search(urlsplit(root).path):
            root += f"/{API_VERSION}"
        resource = model if "/" in model else f"models/{model}"
        return f"{root}/{resource}:streamGenerateContent?alt=sse"

    def request_body(self, model: str, conversation: Conversation) -> dict[str, Any]:
        contents: list[dict[str, Any]] = []
        for message in conversation.messages:
            if not message.content:
                continue  # the API rejects empty text parts (a reply that failed at once)
            role = "model" if message.role == "assistant" else "user"
            part = {"text": message.content}
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].append(part)  # the API wants the roles to alternate
            else:
                contents.append({"role": role, "parts": [part]})
        body: dict[str, Any] = {"contents": contents}
        if conversation.system:
            body["systemInstruction"] = {"parts": [{"text": conversation.system}]}
        info = model_info("gemini", model)
        config: dict[str, Any] = {}
        max_tokens = conversation.max_tokens or info.max_output_tokens
        if max_tokens:
            config["maxOutputTokens"] = max_tokens
        if conversation.reasoning and info.reasoning:
            config["thinkingConfig"] = {"includeThoughts": True}
        if config:
            body["generationConfig"] = config
        return body

    def build_request(self, model: str, conversation: Conversation) -> httpx.Request:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self._api_key:
            headers["x-goog-api-key"] = self._api_key  # never in the URL: URLs get logged
        return httpx.Request(
            "POST",
            self.endpoint(model),
            headers=headers,
            content=json.dumps(self.request_body(model, conversation)).encode("utf-8"),
        )

    def new_parser(self) -> GeminiParser:
        return GeminiParser(self.secrets())

    def price_spec(self, model: str) -> PriceSpec:
        name = model.removeprefix("models/")
        return PriceSpec(
            model=name,
            provider_id=self._price_provider_id,
            base_url=None if self._price_provider_id else self.base_url,
            local=self._local,
        )

    # --- keys and errors --------------------------------------------------------------------

    def missing_key(self) -> str | None:
        if self._api_key and not self._api_key.isascii():
            return f"{self._key_env} has non-ASCII characters; copy the key again"
        if self._api_key or self._local:
            return None
        return (
            f"{KEY_ENV} is not set: export {KEY_ENV}=… (or {ALT_KEY_ENV}) to use {self.name} "
            "models, or pick another model (demo works offline)"
        )

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,) if self._api_key else ()

    def describe_http_error(self, status: int, body: bytes) -> str:
        """``{"error": {"code", "message", "status", "details"}}``, sometimes in a list.

        A bad key is a 400 (``API_KEY_INVALID``), not a 401, so the details decide the hint.
        """
        error = _error_object(body)
        line = f"HTTP {status} from {self.name}"
        detail = error_detail(body, self.secrets())
        if detail:
            line += f": {detail}"
        hint = self.status_hint(status)
        if _error_reason(error) in ("API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"):
            hint = self._key_hint()
        delay = _retry_delay(error)
        if delay and status == 429:
            hint = f"rate limited or out of quota; retry in {delay}"
        if hint:
            line += f" ({hint})"
        return one_line(redact(line, self.secrets()), 400)

    def status_hint(self, status: int) -> str:
        if status in (401, 403):
            return self._key_hint()
        if status == 404:
            return f"check the model name and GEMINI_BASE_URL ({self.base_url})"
        if status == 429:
            return "rate limited or out of quota; wait and retry"
        return super().status_hint(status)

    def _key_hint(self) -> str:
        if self._key_env == KEY_ENV:
            return f"check {KEY_ENV}"
        return f"check {self._key_env} (used because {KEY_ENV} is not set)"


def _error_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8", errors="replace"))
    except ValueError:
        return {}
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _details(error: dict[str, Any]) -> list[dict[str, Any]]:
    details = error.get("details")
    if not isinstance(details, list):
        return []
    return [item for item in details if isinstance(item, dict)]


def _error_reason(error: dict[str, Any]) -> str:
    for item in _details(error):
        reason = item.get("reason")
        if isinstance(reason, str) and reason:
            return reason
    return ""


def _retry_delay(error: dict[str, Any]) -> str:
    for item in _details(error):
        delay = item.get("retryDelay")
        if isinstance(delay, str) and re.fullmatch(r"\d+(?:\.\d+)?s", delay):
            return delay
    return ""
