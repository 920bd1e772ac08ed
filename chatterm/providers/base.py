"""What every provider is: a request builder and a byte-stream parser, plus error wording.

A provider does no I/O. ``chatterm.stream.stream_reply`` owns the network for all of them,
so each provider is tested by feeding its parser bytes and checking the events.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, Protocol

import httpx

from chatterm.events import Conversation, Event, ReasoningEffort
from chatterm.pricing import PriceSpec

# Status codes worth sending again after a pause: timeouts, conflicts, rate limits, overload.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})

_SECRET_PATTERNS = (
    re.compile(r"(sk-[A-Za-z0-9_-]{2})[A-Za-z0-9_*-]{6,}"),
    re.compile(r"((?:key|api_key|token)=)[^&\s\"']+", re.IGNORECASE),
    re.compile(r"(Bearer\s+)\S+", re.IGNORECASE),
)


def requested_effort(conversation: Conversation) -> ReasoningEffort | None:
    """The reasoning level a conversation asks for, or None when it names none.

    None (``effort`` unset) keeps each provider's request exactly as it was before effort
    levels existed, whatever ``reasoning`` says. With ``effort`` set, ``reasoning=False`` is
    ``"off"``: ask the model not to think, where that can be asked, rather than only not
    asking for its thoughts.
    """
    if conversation.effort is None:
        return None
    return conversation.effort if conversation.reasoning else "off"


class StreamParser(Protocol):
    """Bytes of one response body in, normalized events out."""

    def feed(self, chunk: bytes) -> list[Event]: ...

    def close(self) -> list[Event]:
        """The body ended: flush, and report a stream that stopped before its end."""
        ...


class Provider(ABC):
    """One wire format at one address, with its credentials."""

    #: name used before the colon in model references (``openai``, ``demo``, a config name)
    name: str

    @abstractmethod
    def build_request(self, model: str, conversation: Conversation) -> httpx.Request: ...

    @abstractmethod
    def new_parser(self) -> StreamParser: ...

    @abstractmethod
    def price_spec(self, model: str) -> PriceSpec: ...

    def missing_key(self) -> str | None:
        """A one-line explanation when the provider cannot be used for lack of a key."""
        return None

    def transport(self) -> httpx.AsyncBaseTransport | None:
        """A transport of its own (the demo's scripted one), or None for the network."""
        return None

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message (the API key)."""
        return ()

    def describe_http_error(self, status: int, body: bytes) -> str:
        """One line for a non-2xx response, carrying the provider's own message."""
        detail = error_detail(body, self.secrets())
        line = f"HTTP {status} from {self.name}"
        if detail:
            line += f": {detail}"
        hint = self.status_hint(status)
        if hint:
            line += f" ({hint})"
        return redact(line, self.secrets())

    def status_hint(self, status: int) -> str:
        if status in (401, 403):
            return "check the API key"
        if status == 404:
            return "check the model name and the base URL"
        if status == 429:
            return "rate limited; wait and retry"
        if status >= 500:
            return "server error; retry later"
        return ""


def error_detail(body: bytes, secrets: tuple[str, ...] = ()) -> str:
    """The message inside the usual error envelopes, else the start of the body.

    Redacted before it is shortened: a key cut in half would no longer match.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    try:
        data: Any = json.loads(text)
    except ValueError:
        return one_line(redact(text, secrets))
    return one_line(redact(message_from_error_object(data) or text, secrets))


def message_from_error_object(data: Any) -> str | None:
    """Find the human message in ``{"error": {...}}``, ``{"error": "..."}`` and friends."""
    if isinstance(data, list) and data:
        data = data[0]  # Gemini sometimes wraps the error object in a list
    if not isinstance(data, dict):
        return None
    error = data.get("error", data)
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            kind = error.get("type") or error.get("status") or error.get("code")
            return f"{message} [{kind}]" if isinstance(kind, str) and kind else message
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return None


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys, by value and by shape, from text meant for a person or a file."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text
