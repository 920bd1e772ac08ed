"""What every provider is: a request builder and a byte-stream parser, plus error wording.

A provider does no I/O. ``chatterm.network.stream.stream_reply`` owns the network for all of them,
so each provider is tested by feeding its parser bytes and checking the events.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Protocol

from chatterm.events import Conversation, Event, ReasoningEffort
from chatterm.pricing import PriceSpec
from chatterm.text import mend, one_line, redact
from chatterm.urls import credentials_of, has_credentials

if TYPE_CHECKING:
    import httpx


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
    """Bytes of one response body in, normalized events out.

    ``content_type`` is the response's Content-Type when the caller sets it (``""`` if not):
    a 200 whose body is no stream at all is then reported as, say, ``text/html``.
    """

    content_type: str

    def feed(self, chunk: bytes) -> list[Event]: ...

    def close(self) -> list[Event]:
        """The body ended: flush, and report a stream that stopped before its end."""
        ...


def unusable_key(key: str | None, key_env: str | None) -> str | None:
    """Why a key cannot go into an HTTP header, in one line naming its variable, or None.

    Checked before any request: an HTTP library refusing the header quotes the key in its
    error (escaped, past the redaction of its plain form). A line break or space usually
    comes from a file with CRLF line ends or a stray copy."""
    if not key:
        return None
    name = key_env or "the API key"
    if not key.isascii():
        return f"{name} has non-ASCII characters; copy the key again"
    if not key.isprintable() or any(character.isspace() for character in key):
        return (
            f"{name} has a space, tab or line break in it (a .env file with CRLF line ends "
            "adds one); set it again without"
        )
    return None


class Provider(ABC):
    """One wire format at one address, with its credentials."""

    #: name used before the colon in model references (``openai``, ``demo``, a config name)
    name: str
    #: where requests go (a user name or password in it is sent as Basic auth by httpx)
    base_url: str = ""
    _api_key: str | None = None

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
        """Values that must never appear in a message: the API key, and the credentials a
        base URL carries."""
        key = (self._api_key,) if self._api_key else ()
        return (*key, *credentials_of(self.base_url))

    def url_credentials_beside_key(self) -> bool:
        """Whether the base URL's credentials would replace the key this provider sends
        (httpx turns ``user:pass@`` into a Basic Authorization header)."""
        return bool(self._api_key) and has_credentials(self.base_url)

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
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        return one_line(redact(text, secrets))
    return one_line(redact(mend(message_from_error_object(data) or text), secrets))


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
