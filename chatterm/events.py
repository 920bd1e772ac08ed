"""The normalized event union: the one contract between translators, the accumulator and sinks.

Every provider's wire format is translated into these few frozen dataclasses. Consumers
``match`` on them and end with ``assert_never`` so that a new kind cannot be forgotten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

FinishReason = Literal[
    "stop", "length", "content_filter", "tool_calls", "cancelled", "interrupted", "error"
]
FINISH_REASONS: tuple[FinishReason, ...] = (
    "stop",
    "length",
    "content_filter",
    "tool_calls",
    "cancelled",
    "interrupted",
    "error",
)
# Finish reasons after which a reply is complete as far as the model is concerned.
CLEAN_FINISHES: frozenset[FinishReason] = frozenset(
    {"stop", "length", "content_filter", "tool_calls"}
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts for one reply, as a running total (replace, never add).

    ``output_tokens`` includes ``reasoning_tokens``; ``input_tokens`` includes
    ``cached_input_tokens``. ``cost_usd`` is set only when the server reported the cost itself,
    ``server_tokens_per_s`` only when it reported its own generation speed (Ollama).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False
    cost_usd: float | None = None
    server_tokens_per_s: float | None = None

    @property
    def counts_tokens(self) -> bool:
        """Whether some count is above zero. Every request has input, so a usage that counts
        nothing (a server's junk counts are read as 0) says nothing about the tokens."""
        return any(
            (
                self.input_tokens,
                self.output_tokens,
                self.reasoning_tokens,
                self.cached_input_tokens,
                self.cache_write_tokens,
            )
        )


@dataclass(frozen=True, slots=True)
class Started:
    """The request was sent; metrics count from here."""

    model: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class AnswerWasReasoning:
    """All answer text received so far was reasoning after all.

    Sent when a ``</think>`` arrives with no ``<think>`` before it: the chat template put the
    opening tag in the prompt, so the model's output began inside its thoughts.
    """


@dataclass(frozen=True, slots=True)
class UsageUpdate:
    usage: Usage


@dataclass(frozen=True, slots=True)
class Finish:
    reason: FinishReason


@dataclass(frozen=True, slots=True)
class StreamError:
    """The provider or the network failed. ``message`` is one line, safe to show."""

    message: str
    retryable: bool = False
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Retrying:
    """The request failed before the first token and is sent again after ``delay_s``.

    ``retry`` counts from 1 up to ``max_retries``; ``reason`` is one short line saying what
    failed (``HTTP 429 rate limited``, ``cannot connect to host:port``). Nothing of the
    failed attempt reaches the consumer but this event.
    """

    retry: int
    max_retries: int
    delay_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class StreamWarning:
    """Something in the stream was skipped (a line that was not JSON, an unknown shape).

    ``kind`` names a kind of skipped input (``not_json``, ``invalid_utf8``, …). Warnings of
    one kind are a running total, like usage: each replaces the one before it in the
    reply ("skipped 3 stream lines that were not JSON; the first: …"), so a reply reports
    each kind once however many lines it skipped. Warnings without a kind are each kept
    (exact repeats once).
    """

    message: str
    kind: str = ""


Event = (
    Started
    | ReasoningDelta
    | TextDelta
    | AnswerWasReasoning
    | UsageUpdate
    | Finish
    | StreamError
    | StreamWarning
    | Retrying
)


class TimedEvent(NamedTuple):
    """An event stamped with the monotonic time (seconds) at which it arrived."""

    at: float
    event: Event


@dataclass(frozen=True, slots=True)
class ChoiceEvent:
    """An event of one choice in a stream that carries several (Chat Completions ``n``).

    Only a request for several choices (``Conversation.choices`` above 1) gives these: the
    deltas, finish and error of choice ``index`` (from 0), wrapped so that they reach that
    choice's reply. Beside them, the plain events of such a stream belong to the request as
    a whole: ``Started``, ``Retrying``, ``StreamWarning`` and ``UsageUpdate`` (the one usage
    of every choice together), and a ``StreamError`` / ``Finish`` that ends every choice
    still open (the connection dropped). It is kept out of :data:`Event` so that every
    consumer of one reply stays as it is; :mod:`chatterm.reply.choices` splits such a
    stream into one reply per choice.
    """

    index: int
    event: Event


#: What a stream parser gives: the events of one reply, or of one choice of several.
StreamEvent = Event | ChoiceEvent


class TimedStreamEvent(NamedTuple):
    """A :data:`StreamEvent` stamped like :class:`TimedEvent` (what the network gives)."""

    at: float
    event: StreamEvent


AttachmentKind = Literal["text", "image", "pdf"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file handed to the model with a prompt, read once when it was attached
    (:func:`chatterm.attachments.read_attachment`). ``name`` is what the user and the model
    see (the file's name, never its folder); ``media_type`` is ``text/plain``, an image's
    (``image/png``, ``image/jpeg``, ``image/gif``, ``image/webp``) or ``application/pdf``;
    ``sha256`` (hex) names its stored copy."""

    name: str
    kind: AttachmentKind
    media_type: str
    data: bytes = field(repr=False)
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)

    def text(self) -> str:
        """A text attachment's content (UTF-8, a byte-order mark dropped)."""
        return self.data.decode("utf-8-sig")


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation, as sent to a provider: its text and, for a user
    message, the files attached to it (each provider sends them its own way)."""

    role: Literal["user", "assistant"]
    content: str
    attachments: tuple[Attachment, ...] = ()


ReasoningEffort = Literal["off", "low", "medium", "high"]
REASONING_EFFORTS: tuple[ReasoningEffort, ...] = ("off", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a provider is asked to continue.

    ``reasoning`` False asks a reasoning model not to think (where it can be asked);
    ``effort`` is how hard to think when it does, each provider mapping it onto its own
    parameter (OpenAI ``reasoning_effort``, Anthropic and Gemini thinking budgets, Ollama
    ``think``); None leaves the provider's usual amount. ``choices`` above 1 asks for that
    many answers in one stream (Chat Completions ``n``; see :class:`ChoiceEvent`), where the
    provider can give them (``Provider.choices_refusal``).
    """

    messages: tuple[Message, ...]
    system: str | None = None
    reasoning: bool = True
    max_tokens: int | None = None
    effort: Literal["low", "medium", "high"] | None = None
    choices: int = 1

    @property
    def prompt_chars(self) -> int:
        return len(self.system or "") + sum(len(m.content) for m in self.messages)


def estimate_tokens(chars: int) -> int:
    """About four characters a token: the usual rule of thumb for English text and code."""
    return math.ceil(chars / 4)
