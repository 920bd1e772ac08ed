"""What every provider is: a request builder and a byte-stream parser, plus error wording.

A provider does no I/O. ``chatterm.network.stream.stream_reply`` owns the network for all of them,
so each provider is tested by feeding its parser bytes and checking the events.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import urllib.parse
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Protocol

from chatterm.events import Conversation, Event, ReasoningEffort
from chatterm.pricing import PriceSpec
from chatterm.urls import credentials_of, has_credentials

if TYPE_CHECKING:
    import httpx


_SURROGATE = re.compile("[\ud800-\udfff]")
# Keys by their shape or by the name they are given, for text whose keys are not known
# by value (each pattern keeps its groups, the name, and replaces the rest with ***).
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9])"
_SECRET_PATTERNS = (
    # A header or field holding a key, with an optional scheme: "x-api-key: …",
    # "Authorization: Bearer …", '"api_key": "…"'.
    re.compile(
        _NOT_AFTER_WORD + r"((?:proxy-)?authorization|x-api-key|x-goog-api-key|api[_-]?key)"
        r"([\"']?\s*[:=]\s*[\"']?)(?:(?:Bearer|Basic|Token)\s+)?[^\s\"',;&]+",
        re.IGNORECASE,
    ),
    # A URL parameter or form field: ?key=…, &access_token=…, key%3D… (URL-encoded).
    re.compile(
        _NOT_AFTER_WORD + r"((?:api[_-]?key|key|access[_-]?token|token|password|secret)"
        r"(?:=|%3D))[^&\s\"'#]+",
        re.IGNORECASE,
    ),
    re.compile(r"(Bearer\s+)\S+", re.IGNORECASE),
    # A password in an address: scheme://user:***@host.
    re.compile(r"(://[^/\s:@]*:)[^/\s@]+(?=@)"),
    # Shapes: OpenAI, Anthropic, DeepSeek, OpenRouter (sk-…), Gemini (AIza…), Groq (gsk_…),
    # xAI (xai-…), Hugging Face (hf_…).
    re.compile(_NOT_AFTER_WORD + r"(sk-[A-Za-z0-9_-]{2})[A-Za-z0-9_*-]{6,}"),
    re.compile(_NOT_AFTER_WORD + r"(AIza)[0-9A-Za-z_-]{35}"),
    re.compile(_NOT_AFTER_WORD + r"(gsk_|xai-|hf_)[A-Za-z0-9]{20,}"),
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


def mend(text: str) -> str:
    """``text`` with surrogate pairs joined and lone surrogates replaced by U+FFFD.

    ``json.loads`` turns ``"\\ud83d"`` into a lone surrogate, which cannot be encoded as
    UTF-8: printed or saved as it is, it would raise.
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A key this long also has each half removed: a server that echoes part of a key (the
# start, or the end, "sk-proj-abc…" / "…wxyz4f2a") still gives half of it away.
_HALVES_FROM = 20


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys, by value and by shape, from text meant for a person or a file."""
    for form in _written_forms(tuple(secrets)):
        text = text.replace(form, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_keep_name, text)
    return text


@functools.lru_cache(maxsize=64)
def _written_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Every way a secret (and each half of a long one) may be written in a message,
    longest first: as it is, escaped as Python's repr and JSON write it (a library
    quoting a header value it refused), percent-encoded (a URL) and in base64 (a Basic
    Authorization header)."""
    pieces = [secret for secret in secrets if len(secret) >= 4]
    for secret in secrets:
        if len(secret) >= _HALVES_FROM:
            middle = len(secret) // 2
            pieces += [secret[:middle], secret[middle:]]
    forms: set[str] = set()
    for piece in pieces:
        forms |= {
            piece,
            repr(piece)[1:-1],
            repr(piece.encode("utf-8", "replace"))[2:-1],
            json.dumps(piece)[1:-1],
            json.dumps(piece, ensure_ascii=False)[1:-1],
            urllib.parse.quote(piece, safe=""),
            urllib.parse.quote_plus(piece, safe=""),
        }
    for secret in secrets:
        if len(secret) >= 4:
            raw = secret.encode("utf-8", "replace")
            forms |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
            forms |= {form.rstrip("=") for form in list(forms) if form.endswith("=")}
    return tuple(sorted((form for form in forms if len(form) >= 4), key=len, reverse=True))


def _keep_name(match: re.Match[str]) -> str:
    """What a pattern keeps (its groups: the name, a separator), then ``***``."""
    return "".join(group or "" for group in match.groups()) + "***"
