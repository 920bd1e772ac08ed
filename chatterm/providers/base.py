"""What every provider is: a request builder and a byte-stream parser at an endpoint.

The endpoint (:mod:`chatterm.providers.endpoint`) holds the credentials and their wording.
A provider does no I/O. ``chatterm.network.stream.stream_reply`` owns the network for all of them,
so each provider is tested by feeding its parser bytes and checking the events.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Protocol

from chatterm.events import Conversation, Event, ReasoningEffort
from chatterm.pricing import PriceSpec
from chatterm.providers.endpoint import Endpoint

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


class Provider(ABC):
    """One wire format at one :class:`Endpoint`, which holds the credentials."""

    endpoint: Endpoint

    @property
    def name(self) -> str:
        """The name used before the colon in model references."""
        return self.endpoint.name

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    @abstractmethod
    def build_request(self, model: str, conversation: Conversation) -> httpx.Request: ...

    @abstractmethod
    def new_parser(self) -> StreamParser: ...

    def price_spec(self, model: str) -> PriceSpec:
        return self.endpoint.price_spec(model)

    def missing_key(self) -> str | None:
        """A one-line explanation when the provider cannot be used for lack of a key."""
        return self.endpoint.missing_key()

    def transport(self) -> httpx.AsyncBaseTransport | None:
        """A transport of its own (the demo's scripted one), or None for the network."""
        in_process = self.endpoint.in_process
        return None if in_process is None else in_process()

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in a message (see :meth:`Endpoint.secrets`)."""
        return self.endpoint.secrets()

    def url_credentials_beside_key(self) -> bool:
        return self.endpoint.url_credentials_beside_key()

    def describe_http_error(self, status: int, body: bytes) -> str:
        """One line for a non-2xx response, carrying the provider's own message."""
        return self.endpoint.describe_http_error(status, body)

    def status_hint(self, status: int) -> str:
        return self.endpoint.status_hint(status)
