"""What every provider is: a wire format at an endpoint.

The :class:`~chatterm.providers.endpoint.Endpoint` says who is asked, where, with which key
(and what is said about that key and HTTP errors); the :class:`WireFormat` says what the
request and the response stream look like. A :class:`Provider` is one of each, and is
what the rest of chatterm holds, so the same format can serve several endpoints (OpenAI
and any Chat Completions server, the demo's in-process one) without subclasses.

A provider does no I/O: ``chatterm.network.stream.stream_reply`` owns the network for all
of them, so each format is tested by feeding its parser bytes and checking the events.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from chatterm.errors import ChattermError
from chatterm.events import Attachment, Conversation, Message, ReasoningEffort, StreamEvent
from chatterm.pricing import PriceSpec
from chatterm.providers.attachment_parts import (
    TEXT_ONLY,
    AttachmentRules,
    all_attachments,
    attachments_problem,
    text_with_files,
)
from chatterm.providers.endpoint import Endpoint
from chatterm.providers.model_facts import model_info, sees_images

if TYPE_CHECKING:
    import httpx

#: What a provider speaks, for the choices that depend on it (which models take an effort).
ProviderKind = Literal[
    "openai",
    "openai-responses",
    "openai-compat",
    "anthropic",
    "gemini",
    "ollama",
    "gateway",
    "demo",
]


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


def chat_messages(
    conversation: Conversation, content: Callable[[Message], Any] = text_with_files
) -> list[dict[str, Any]]:
    """The conversation as Chat Completions-style messages, the system prompt first (the
    shape Ollama's chat API takes too); ``content`` makes a message's ``content`` (by
    default its text, text files included)."""
    messages: list[dict[str, Any]] = []
    if conversation.system:
        messages.append({"role": "system", "content": conversation.system})
    messages.extend({"role": m.role, "content": content(m)} for m in conversation.messages)
    return messages


#: The API behind each kind of provider that gives one choice per request.
_ONE_CHOICE_APIS: dict[ProviderKind, str] = {
    "openai-responses": "OpenAI's Responses API",
    "anthropic": "Anthropic's Messages API",
    "gemini": "Gemini's API as chatterm asks it",
    "ollama": "Ollama's chat API",
    "gateway": "the gateway's API",
}


def one_choice_only(kind: ProviderKind, ref: str) -> str:
    """Why a request for several choices cannot go to ``ref`` (one line, no hint of what to
    do instead: that depends on where it is said)."""
    api = _ONE_CHOICE_APIS.get(kind, "its API")
    return f"{ref} cannot give several choices in one request ({api} has no n)"


class StreamParser(Protocol):
    """Bytes of one response body in, normalized events out.

    ``content_type`` is the response's Content-Type when the caller sets it (``""`` if not):
    a 200 whose body is no stream at all is then reported as, say, ``text/html``.
    """

    content_type: str

    def feed(self, chunk: bytes) -> list[StreamEvent]: ...

    def close(self) -> list[StreamEvent]:
        """The body ended: flush, and report a stream that stopped before its end."""
        ...


class WireFormat(ABC):
    """One API's requests and response stream, whichever endpoint serves it.

    A request is a POST of :meth:`request_body` as JSON to :meth:`url`, with
    :attr:`headers` and the key in :attr:`key_header`.
    """

    kind: ProviderKind
    #: headers every request carries
    headers: ClassVar[Mapping[str, str]] = {
        "Accept": "text/event-stream",
        "Content-Type": "application/json",
    }
    #: the header the key travels in, and what goes before the key
    key_header: ClassVar[tuple[str, str]] = ("Authorization", "Bearer ")

    @abstractmethod
    def url(self, endpoint: Endpoint, model: str) -> str: ...

    @abstractmethod
    def request_body(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> dict[str, Any]: ...

    @abstractmethod
    def new_parser(self, secrets: tuple[str, ...]) -> StreamParser: ...

    #: what this API takes beside text (:mod:`chatterm.providers.attachment_parts`)
    attachment_rules: ClassVar[AttachmentRules] = AttachmentRules("its API", TEXT_ONLY)

    #: whether one request can ask for several choices (Chat Completions ``n``); a format
    #: that can implements :meth:`new_choices_parser`
    supports_choices: ClassVar[bool] = False

    def new_choices_parser(self, secrets: tuple[str, ...], choices: int) -> StreamParser:
        """The parser for a request of ``choices`` choices: its events for each choice come
        as :class:`~chatterm.events.ChoiceEvent`. A format that gives one choice per request
        refuses, as :meth:`build_request` does (the request is never sent)."""
        raise ChattermError(one_choice_only(self.kind, "this model"))

    def supports_effort(self, model: str) -> bool:
        """Whether choosing a reasoning level changes the request for ``model``: by default,
        whether the catalogue knows it to reason when served by this kind of API."""
        return model_info(self.kind, model).reasoning

    def build_request(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> httpx.Request:
        import httpx  # imported when first needed: it costs start-up ~15 ms

        if conversation.choices > 1 and not self.supports_choices:
            raise ChattermError(one_choice_only(self.kind, f"{endpoint.name}:{model}"))
        attachments = all_attachments(conversation.messages)
        if attachments:
            problem = attachments_problem(
                self.attachment_rules,
                f"{endpoint.name}:{model}",
                attachments,
                sees_images=sees_images(self.kind, model),
            )
            if problem is not None:
                raise ChattermError(problem)
        url = self.url(endpoint, model)
        headers = dict(self.headers)
        if endpoint.api_key:
            name, before = self.key_header
            headers[name] = before + endpoint.api_key
        body = self.request_body(endpoint, model, conversation)
        return httpx.Request("POST", url, headers=headers, content=json.dumps(body).encode("utf-8"))

    def price_spec(self, endpoint: Endpoint, model: str) -> PriceSpec:
        return endpoint.price_spec(model)

    def describe_http_error(self, endpoint: Endpoint, status: int, body: bytes) -> str:
        return endpoint.describe_http_error(status, body)


class Provider:
    """One :class:`WireFormat` at one :class:`Endpoint`: what the rest of chatterm holds."""

    def __init__(
        self, endpoint: Endpoint, wire: WireFormat, *, kind: ProviderKind | None = None
    ) -> None:
        self.endpoint = endpoint
        self.wire = wire
        #: the wire format's kind, unless the endpoint makes it another (the demo)
        self.kind: ProviderKind = kind or wire.kind

    @property
    def name(self) -> str:
        """The name used before the colon in model references."""
        return self.endpoint.name

    @property
    def base_url(self) -> str:
        return self.endpoint.base_url

    def build_request(self, model: str, conversation: Conversation) -> httpx.Request:
        return self.wire.build_request(self.endpoint, model, conversation)

    def new_parser(self, choices: int = 1) -> StreamParser:
        """A parser for one response; for a request of several ``choices`` (which only a
        format that :meth:`choices_refusal` accepts can take), one that tells them apart."""
        if choices > 1:
            return self.wire.new_choices_parser(self.endpoint.secrets(), choices)
        return self.wire.new_parser(self.endpoint.secrets())

    def attachments_problem(self, ref: str, attachments: Sequence[Attachment]) -> str | None:
        """None when a request to ``ref`` (a model of this provider) can carry
        ``attachments``, else one line saying why not (before anything is sent)."""
        if not attachments:
            return None
        model = ref.partition(":")[2] or ref
        return attachments_problem(
            self.wire.attachment_rules,
            ref,
            attachments,
            sees_images=sees_images(self.kind, model),
        )

    def choices_refusal(self, ref: str) -> str | None:
        """None when one request to this provider can ask for several choices (Chat
        Completions ``n``), else one line saying that ``ref`` cannot."""
        return None if self.wire.supports_choices else one_choice_only(self.kind, ref)

    def price_spec(self, model: str) -> PriceSpec:
        return self.wire.price_spec(self.endpoint, model)

    def supports_effort(self, model: str) -> bool:
        """Whether choosing a reasoning level changes the request for ``model``."""
        return self.wire.supports_effort(model)

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
        return self.wire.describe_http_error(self.endpoint, status, body)

    def status_hint(self, status: int) -> str:
        return self.endpoint.status_hint(status)
