"""Who a provider talks to: its name, address and key, and what is said about them.

A provider is a wire format (what requests and the stream look like) at an endpoint (whom
they go to, with which key). The endpoint holds what every format shares: whether a key is
missing or unusable, the secrets to keep out of messages, the credentials-beside-a-key rule,
and the one line for an HTTP error with its hint. Where providers word these differently,
the wording is data here (templates filled with ``{name}``, ``{base_url}``, ``{key_env}``),
not another copy of the code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from chatterm.pricing import PriceSpec
from chatterm.providers.json_values import loads, message_from_error_object
from chatterm.text import mend, one_line, redact
from chatterm.urls import credentials_of, has_credentials

if TYPE_CHECKING:
    import httpx

#: The end of most "not set" messages: what to do instead of setting the key.
PICK_ANOTHER = "or pick another model (demo works offline)"
#: The usual message for a key that is not set.
UNSET_KEY = "{key_env} is not set: export {key_env}=… to use {name} models, " + PICK_ANOTHER
#: The usual hint for HTTP 404.
NOT_FOUND = "check the model name and the base URL {base_url}"


def join_url(base_url: str, path: str) -> str:
    """``base_url`` with ``path`` (``/chat/completions``, maybe with a query of its own)
    added to the end of its path, and its query parameters kept, before the path's.

    A base URL may carry parameters (Azure's ``…/v1?api-version=2024-10-21``): the endpoint
    path goes into the URL's path, not after the query. A base URL without a query or a
    fragment (or one too malformed to split, which the request then reports) is joined as
    written."""
    if "?" not in base_url and "#" not in base_url:
        return base_url + path
    try:
        split = urlsplit(base_url)
    except ValueError:
        return base_url + path
    more_path, _, more_query = path.partition("?")
    query = "&".join(part for part in (split.query, more_query) if part)
    return urlunsplit((split.scheme, split.netloc, split.path.rstrip("/") + more_path, query, ""))


def url_path(base_url: str) -> str:
    """The path of ``base_url`` (no query, no trailing slash), or the URL if it cannot be
    split: what a check such as "already ends in /v1" looks at."""
    try:
        return urlsplit(base_url).path.rstrip("/")
    except ValueError:
        return base_url


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


def error_detail(
    body: bytes,
    secrets: tuple[str, ...] = (),
    message_of: Callable[[Any], str | None] = message_from_error_object,
) -> str:
    """The message inside the error envelopes ``message_of`` knows, else the start of the body.

    Redacted before it is shortened: a key cut in half would no longer match.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ""
    try:
        data: Any = loads(text)
    except ValueError:
        return one_line(redact(text, secrets))
    return one_line(redact(mend(message_of(data) or text), secrets))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A server and the key for it, with the wording of its key and HTTP error messages."""

    #: used before the colon in model references (``openai``, ``demo``, a config name)
    name: str
    #: where requests go (a user name or password in it is sent as Basic auth by httpx)
    base_url: str
    api_key: str | None = None
    #: the variable the key comes from, named in messages (None: no variable is known)
    key_env: str | None = None
    #: on this machine (or otherwise free): replies cost nothing
    local: bool = False
    #: usable without a key (a server on this machine, say)
    key_optional: bool = False
    #: genai-prices' provider id for the models served here, when their prices are known
    price_provider_id: str | None = None
    #: a transport of its own (the demo's scripted one) instead of the network
    in_process: Callable[[], httpx.AsyncBaseTransport] | None = None
    # The wording from here on: templates filled with {name}, {base_url} and {key_env}.
    #: the message for a key that is not set
    unset_key: str = UNSET_KEY
    #: the hint for HTTP 401 and 403; None: check the key's variable (or "the API key")
    key_hint: str | None = None
    #: the hint for HTTP 404
    not_found_hint: str = NOT_FOUND
    #: hints for other statuses, where this server's differ from the usual ones
    more_hints: Mapping[int, str] = field(default_factory=dict)
    #: how an HTTP error names the server: "HTTP 404 from {server}"
    server: str = "{name}"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    def missing_key(self) -> str | None:
        """A one-line explanation when the endpoint cannot be used for lack of a key."""
        if problem := unusable_key(self.api_key, self.key_env):
            return problem
        if self.api_key or self.key_optional or not self.key_env:
            return None
        return self._filled(self.unset_key)

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message: the API key, and the credentials the
        base URL carries."""
        key = (self.api_key,) if self.api_key else ()
        return (*key, *credentials_of(self.base_url))

    def url_credentials_beside_key(self) -> bool:
        """Whether the base URL's credentials would replace the key sent here (httpx turns
        ``user:pass@`` into a Basic Authorization header)."""
        return bool(self.api_key) and has_credentials(self.base_url)

    def status_hint(self, status: int) -> str:
        """What to check or do after an HTTP error of ``status``; "" when nothing helps."""
        if status in (401, 403):
            if self.key_hint is not None:
                return self._filled(self.key_hint)
            return f"check {self.key_env}" if self.key_env else "check the API key"
        if status == 404:
            return self._filled(self.not_found_hint)
        if status in self.more_hints:
            return self._filled(self.more_hints[status])
        if status == 429:
            return "rate limited; wait and retry"
        if status >= 500:
            return "server error; retry later"
        return ""

    def describe_http_error(
        self, status: int, body: bytes, *, detail: str | None = None, hint: str | None = None
    ) -> str:
        """One line for a non-2xx response, carrying the server's own message.

        ``detail`` (the message) is read from ``body`` with :func:`error_detail` unless given,
        ``hint`` is :meth:`status_hint`'s unless given.
        """
        secrets = self.secrets()
        detail = error_detail(body, secrets) if detail is None else detail
        hint = self.status_hint(status) if hint is None else hint
        line = f"HTTP {status} from {self._filled(self.server)}"
        if detail:
            line += f": {detail}"
        if hint:
            line += f" ({hint})"
        return redact(line, secrets)

    def price_spec(self, model: str, provider_id: str | None = None) -> PriceSpec:
        """How a reply of ``model`` from here is priced: by genai-prices' provider id
        (``provider_id``, else the endpoint's) when one is known, else by the base URL;
        nothing is looked up for a local endpoint, whose replies are free."""
        provider_id = provider_id or self.price_provider_id
        return PriceSpec(
            model=model,
            provider_id=provider_id,
            base_url=None if provider_id or self.local else self.base_url,
            local=self.local,
        )

    def _filled(self, template: str) -> str:
        return template.format(name=self.name, base_url=self.base_url, key_env=self.key_env)
