"""What every stream parser shares so that no body, however broken, can crash chatterm.

A provider's parser turns response bytes into events. Whatever the bytes are (HTML from a
captive portal, binary garbage, JSON nested deeper than Python can parse, a usage count of
400 digits, a lone UTF-16 surrogate escaped in a JSON string), the result is events:
everything valid that arrived is kept, what was skipped is a counted
:class:`~chatterm.events.StreamWarning`, and a body that is not a stream at all is one
:class:`~chatterm.events.StreamError` that says what it was. :class:`GuardedParser` is the
base of every provider's parser and holds that policy in one place:

* skipped input is tallied per kind (:class:`SkipTally`): each warning of a kind is a
  running total that replaces the one before it, so 300 bad lines make one warning,
  "skipped 300 stream lines that were not JSON; the first: …" (redacted, shortened);
* invalid UTF-8 and overlong lines, counted by the decoders, are reported as they happen;
* text is mended: a surrogate pair split across two deltas is joined, a lone surrogate
  (which no terminal or file can encode) becomes U+FFFD;
* an empty 200 body, or one with no event in it that is HTML, JSON, text or binary data,
  ends the reply with an error naming what came instead (and the Content-Type when the
  caller set :attr:`GuardedParser.content_type`), rather than "the stream ended early";
* a reply that ends well with output tokens counted but nothing shown and nothing said (no
  text, no reasoning, no warning) gets a warning saying so, so that a shape chatterm does
  not know yet is at least reported rather than ending as a silent blank;
* last, any exception a parser still raises ends the reply with an error saying so instead
  of escaping: the reply so far is kept. The tests make sure it never fires.

Translators read JSON and numbers with :mod:`chatterm.providers.json_values` (``loads``,
``count``, ``usd``, ``message_from_error_object``): deep nesting is bad JSON like any other,
and a token count or a price that is negative, fractional, not finite, a string or
absurdly large is treated as absent.

Usage: a count is an int (or integral float) from 0 to 10^12, never a bool, a cost a finite
dollar amount from 0 to 10^6; anything else is absent and counts 0. A usage that then counts
nothing and has no cost is no usage (:func:`usage_update`), so the reply's estimate applies.
"""

from __future__ import annotations

import html
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from chatterm.decode.sse import MAX_LINE_BYTES, SSEDecoder, SSEEvent
from chatterm.events import (
    AnswerWasReasoning,
    ChoiceEvent,
    Event,
    Finish,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    StreamWarning,
    TextDelta,
    Usage,
    UsageUpdate,
)
from chatterm.providers.json_values import (
    json_object,
    object_or_skip,
)
from chatterm.text import mend, one_line, redact

#: More tokens than any reply will ever have: a count above it is junk, not a count.
INTERNAL_ERROR = "chatterm could not read the stream"

_SNIPPET_SCAN = 4096  # characters of a skipped line looked at for its snippet
_LAST_SPACE = re.compile(r"\s\S*\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON escape of a UTF-16 surrogate: the only way one gets into text (bytes decoded as
# UTF-8 never give one), so text needs mending only in a body that has one.
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_HEAD_BYTES = 4096  # the start of the body, kept to say what it was if it was no stream
_BOM = b"\xef\xbb\xbf"
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>?")

# Per kind of skipped input: the message for the first one, and the running total after it.
# ``{s}`` is a snippet of the first one (redacted, shortened), ``{n}`` the count.
_SKIPPED: dict[str, tuple[str, str]] = {
    "not_json": (
        "skipped a stream line that is not JSON: {s}",
        "skipped {n} stream lines that were not JSON; the first: {s}",
    ),
    "not_object": (
        "skipped a stream line that is JSON but not an object: {s}",
        "skipped {n} stream lines that were JSON but not objects; the first: {s}",
    ),
    "unknown_shape": (
        "skipped JSON of an unknown shape: {s}",
        "skipped {n} JSON values of an unknown shape; the first: {s}",
    ),
    "not_sse": (
        "skipped a line that is not SSE: {s}",
        "skipped {n} lines that were not SSE; the first: {s}",
    ),
    "content_part": (
        "skipped a content part chatterm cannot show: {s}",
        "skipped {n} content parts chatterm cannot show; the first: {s}",
    ),
    "unfinished_json": (
        "skipped JSON cut off by the end of the stream: {s}",
        "skipped {n} JSON values cut off by the end of the stream; the first: {s}",
    ),
    "invalid_utf8": (
        "a stream line was not valid UTF-8; its bad bytes are shown as \ufffd",
        "{n} stream lines were not valid UTF-8; their bad bytes are shown as \ufffd",
    ),
    "too_long": (
        f"skipped a stream line longer than {MAX_LINE_BYTES // 2**20} MiB",
        f"skipped {{n}} stream lines longer than {MAX_LINE_BYTES // 2**20} MiB",
    ),
}
SKIP_KINDS = frozenset(_SKIPPED)


# ------------------------------------------------------------------------------- reading


def usage_update(usage: Usage | None) -> list[Event]:
    """The event for a usage a translator read, or none when it reports nothing: no count
    above zero (its counts were junk, or zeros no request has) and no cost. Every translator
    sends its usage through here, so that none reads as an exact "in 0 · out 0 · $0"."""
    if usage is None or not (usage.counts_tokens or usage.cost_usd is not None):
        return []
    return [UsageUpdate(usage)]


def snippet(text: str, secrets: tuple[str, ...] = (), limit: int = 80) -> str:
    """The start of ``text`` on one line, keys removed, at most ``limit`` characters.

    Only the first few KB are looked at (a skipped line may be a megabyte). A key cut in
    half there would escape redaction, so the cut is moved back to a space; unless the only
    space is in the part shown, and then a key at the cut, thousands of characters into one
    long token, is far outside what is shown.
    """
    if len(text) > _SNIPPET_SCAN:
        text = text[:_SNIPPET_SCAN]
        space = _LAST_SPACE.search(text)
        if space is not None and space.start() > limit:
            text = text[: space.start()]
    return one_line(redact(text, secrets), limit)


class SkipTally:
    """Counts skipped input per kind; each skip is reported as the kind's running total."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = secrets
        self._counts: dict[str, int] = {}
        self._first: dict[str, str] = {}

    def add(self, kind: str, text: str = "", n: int = 1) -> StreamWarning:
        """``n`` more of ``kind`` (one of :data:`SKIP_KINDS`); ``text`` is what was skipped
        (only the first one's start is shown)."""
        total = self._counts.get(kind, 0) + n
        self._counts[kind] = total
        if kind not in self._first:
            self._first[kind] = snippet(text, self._secrets)
        one, many = _SKIPPED[kind]
        template = one if total == 1 else many
        return StreamWarning(template.format(n=total, s=self._first[kind]), kind)

    def count(self, kind: str) -> int:
        return self._counts.get(kind, 0)


class _Mender:
    """Keeps every piece of text encodable: see :func:`mend`. A high surrogate that ends a
    delta waits for the next delta of its channel, which may start with its other half.
    Each choice of a stream of several (:class:`~chatterm.events.ChoiceEvent`) has its own
    channels; an end of the whole stream (a plain error or finish) releases them all."""

    def __init__(self) -> None:
        self._held: dict[type[ReasoningDelta | TextDelta], str] = {}
        self._choices: dict[int, _Mender] = {}

    def events(self, events: Sequence[StreamEvent], *, final: bool = False) -> list[StreamEvent]:
        if not self._held and not self._choices and not any(self._suspect(e) for e in events):
            return list(events)
        out: list[StreamEvent] = []
        for event in events:
            match event:
                case ChoiceEvent(index=index, event=inner):
                    mender = self._choices.setdefault(index, _Mender())
                    out.extend(ChoiceEvent(index, e) for e in mender.plain([inner]))
                case StreamError() | Finish():
                    out.extend(self._release_choices())
                    out.extend(self.plain([event]))
                case _:
                    out.extend(self.plain([event]))
        if final:
            out.extend(self._release())
            out.extend(self._release_choices())
        return out

    def plain(self, events: Sequence[Event]) -> list[Event]:
        out: list[Event] = []
        for each in events:
            event = each.event if isinstance(each, ChoiceEvent) else each
            match event:
                case ReasoningDelta(text=text) | TextDelta(text=text):
                    kind = type(event)
                    text = self._held.pop(kind, "") + text
                    if text and "\ud800" <= text[-1] <= "\udbff":
                        self._held[kind] = text[-1]
                        text = text[:-1]
                    if text:
                        out.append(kind(mend(text)))
                case AnswerWasReasoning():
                    out.extend(self._release(TextDelta))
                    out.append(event)
                case StreamError(message=message):
                    out.extend(self._release())
                    out.append(StreamError(mend(message), event.retryable, event.status))
                case StreamWarning(message=message, kind=kind):
                    out.append(StreamWarning(mend(message), kind))
                case Finish():
                    out.extend(self._release())
                    out.append(event)
                case _:
                    out.append(event)
        return out

    @staticmethod
    def _suspect(event: StreamEvent) -> bool:
        match event:
            case ReasoningDelta(text=text) | TextDelta(text=text):
                return _SURROGATE.search(text) is not None
            case StreamError(message=text) | StreamWarning(message=text):
                return _SURROGATE.search(text) is not None
            case ChoiceEvent(event=inner):
                return _Mender._suspect(inner)
        return False

    def _release(self, only: type[ReasoningDelta | TextDelta] | None = None) -> list[Event]:
        out: list[Event] = []
        for kind in (ReasoningDelta, TextDelta):
            if (only is None or kind is only) and self._held.pop(kind, ""):
                out.append(kind("\ufffd"))
        return out

    def _release_choices(self) -> list[StreamEvent]:
        return [
            ChoiceEvent(index, event)
            for index, mender in self._choices.items()
            for event in mender._release()
        ]


# ------------------------------------------------------------------------------- parsers


class _Counted(Protocol):
    invalid_utf8_lines: int
    oversized_lines: int


class GuardedParser(ABC):
    """The base of every provider's parser (see the module docstring).

    A subclass sets :attr:`decoder` and implements :meth:`_feed` (bytes to events),
    :meth:`_drain` (the decoder's end of stream), :meth:`_framed` (whether the body was
    framed as the format says, even if nothing useful came of it) and :meth:`_end` (the
    translator's end of stream: a finish, or "ended early").
    """

    #: what the body should have been, for the message when it was not
    stream_kind: ClassVar[str] = "an event stream"
    #: parts of the Content-Type of a body in the right format
    stream_types: ClassVar[tuple[str, ...]] = ("event-stream",)

    decoder: _Counted

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self.secrets = secrets
        #: the response's Content-Type, when the caller knows it: named in the message
        #: for a body that is not a stream
        self.content_type = ""
        self.skips = SkipTally(secrets)
        self._mender = _Mender()
        self._head = bytearray()
        self._size = 0
        self._blank = True  # nothing but whitespace (and a BOM) so far
        self._escapes = False  # a surrogate escape (\\ud83d) has been seen: mend the text
        self._last_bytes = b""  # the end of the previous read, for an escape cut in two
        self._produced = False  # an event other than a warning has come out
        self._shown = False  # some reasoning or answer text has come out
        self._said = False  # a warning or an error has come out
        self._finish: Finish | None = None
        self._usage: Usage | None = None  # the last usage reported
        self._over = False
        self._reported_utf8 = 0
        self._reported_long = 0

    # --- the StreamParser protocol

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        if self._over or not chunk:
            return []
        self._note(chunk)
        try:
            events = self._feed(chunk)
        except Exception as exc:  # a bug: end the reply, keep what arrived
            return self._broken(exc)
        return self._settle(events)

    def close(self) -> list[StreamEvent]:
        if self._over:
            return []
        self._over = True
        try:
            events = list(self._drain())
            events.extend(self._decoder_warnings())
            if not self._produced and all(isinstance(e, StreamWarning) for e in events):
                refusal = self._not_a_stream()
                if refusal:
                    return self._settle([*events, *refusal], final=True)
            events.extend(self._leftovers())
            events.extend(self._end())
        except Exception as exc:  # a bug: end the reply, keep what arrived
            return self._broken(exc)
        events = self._settle(events, final=True)
        return [*events, *self._nothing_shown()]

    # --- what each format implements

    @abstractmethod
    def _feed(self, chunk: bytes) -> Sequence[StreamEvent]: ...

    @abstractmethod
    def _drain(self) -> Sequence[StreamEvent]: ...

    @abstractmethod
    def _framed(self) -> bool: ...

    @abstractmethod
    def _end(self) -> Sequence[StreamEvent]: ...

    def _leftovers(self) -> Sequence[StreamEvent]:
        """Warnings for what the decoder set aside and nothing used (after :meth:`_drain`)."""
        return []

    # --- shared

    def _note(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if len(self._head) < _HEAD_BYTES:
            self._head += chunk[: _HEAD_BYTES - len(self._head)]
        if self._blank and chunk.strip(b" \t\r\n" + _BOM):
            self._blank = False
        if not self._escapes:
            self._escapes = bool(
                _SURROGATE_ESCAPE.search(chunk)
                or _SURROGATE_ESCAPE.search(self._last_bytes + chunk[:5])
            )
            self._last_bytes = chunk[-5:]

    def _bad_lines(self, invalid_utf8: int, oversized: int) -> list[Event]:
        """Warnings for bad lines the decoder met (reported where they were in the stream,
        with the next frame, so that how the bytes were cut does not move them)."""
        events: list[Event] = []
        if invalid_utf8 > 0:
            self._reported_utf8 += invalid_utf8
            events.append(self.skips.add("invalid_utf8", n=invalid_utf8))
        if oversized > 0:
            self._reported_long += oversized
            events.append(self.skips.add("too_long", n=oversized))
        return events

    def _decoder_warnings(self) -> list[Event]:
        """At the end: the bad lines that came after the last frame."""
        return self._bad_lines(
            self.decoder.invalid_utf8_lines - self._reported_utf8,
            self.decoder.oversized_lines - self._reported_long,
        )

    def _settle(self, events: Sequence[StreamEvent], *, final: bool = False) -> list[StreamEvent]:
        events = self._mender.events(events, final=final) if self._escapes else list(events)
        if not self._produced:
            self._produced = any(not isinstance(e, StreamWarning) for e in events)
        for each in events:
            event = each.event if isinstance(each, ChoiceEvent) else each
            match event:
                case ReasoningDelta(text=text) | TextDelta(text=text):
                    self._shown = self._shown or bool(text)
                case StreamWarning() | StreamError():
                    self._said = True
                case UsageUpdate(usage=usage):
                    self._usage = usage
                case Finish():
                    self._finish = self._finish or event
        return events

    def _nothing_shown(self) -> list[StreamEvent]:
        """A warning for a reply that ended well with output tokens counted but nothing
        shown and nothing said: whatever the server sent them as, chatterm did not read it
        (a tool call says so itself, and its finish is ``tool_calls``)."""
        usage = self._usage
        if (
            self._shown
            or self._said
            or usage is None
            or usage.estimated
            or usage.output_tokens <= 0
            or self._finish is None
            or self._finish.reason not in ("stop", "length", "content_filter")
        ):
            return []
        n = usage.output_tokens
        if usage.reasoning_tokens >= n:
            message = f"the server counted {n} output tokens, all reasoning it does not send"
        else:
            message = f"the server counted {n} output tokens but sent nothing chatterm could show"
        return [StreamWarning(message + "; the reply is empty")]

    def _broken(self, exc: Exception) -> list[StreamEvent]:
        self._over = True
        message = (
            f"{INTERNAL_ERROR} ({type(exc).__name__}); the reply so far is kept. "
            "This is a bug in chatterm: please report it"
        )
        return [*self._mender.events([], final=True), StreamError(message), Finish("error")]

    def _not_a_stream(self) -> list[Event] | None:
        """The error for a body that was empty or not a stream at all, else None."""
        if self._blank:
            message = "the server answered 200 with an empty body; no reply arrived"
            return [StreamError(message, retryable=True), Finish("interrupted")]
        if self._framed():
            return None
        return [StreamError(self._describe_body()), Finish("error")]

    def _describe_body(self) -> str:
        head = bytes(self._head)
        text = head.removeprefix(_BOM).decode("utf-8", errors="replace")
        start = text.lstrip()
        sample = start[:1024]
        bad = sum(1 for c in sample if c == "\ufffd" or (c < " " and c not in "\t\n\r"))
        if bad * 10 > len(sample):
            kind, what, detail = "binary", "binary data", f"{self._size} bytes"
        elif start[:1] == "<":
            title = _TITLE.search(start)
            shown = title.group(1) if title else _TAG.sub(" ", start)
            kind, what, detail = "html", "an HTML page", html.unescape(shown)
        elif start[:1] in ("{", "["):
            kind, what, detail = "json", "JSON", start
        else:
            kind, what, detail = "text", "plain text", start
        media = self.content_type.partition(";")[0].strip().lower()
        if media and not any(part in media for part in self.stream_types):
            what = one_line(media, 60)
        hint = {
            "html": " (a login page, or a proxy's error page?)",
            "json": " (does this server stream?)",
        }.get(kind, "")
        shown = snippet(detail, self.secrets, 100) or "(blank)"
        return f"the server answered 200 with {what}, not {self.stream_kind}{hint}: {shown}"


class SSETranslator(Protocol):
    """One API's SSE events to normalized events; :class:`SSEStreamParser` does the rest."""

    def feed(self, frame: SSEEvent) -> Sequence[StreamEvent]: ...

    def outside_data(self, lines: list[str], streamed: bool) -> Sequence[StreamEvent]:
        """Events from the lines that were not SSE (an error written outside ``data:``),
        or none, and they are reported as skipped; ``streamed``: SSE events came too."""
        ...

    def close(self) -> Sequence[StreamEvent]: ...


Translator = TypeVar("Translator", bound=SSETranslator)


class SSEStreamParser(GuardedParser, Generic[Translator]):
    """A :class:`GuardedParser` over :class:`SSEDecoder` that leaves the format to a
    translator (made by ``translator(secrets, skips)``): each ``data:`` event goes to it as
    it comes, and at the end the lines that were not SSE (a proxy's bare JSON error); lines
    it finds nothing in are reported as skipped."""

    def __init__(
        self,
        translator: Callable[[tuple[str, ...], SkipTally], Translator],
        secrets: tuple[str, ...] = (),
    ) -> None:
        super().__init__(secrets)
        self.decoder: SSEDecoder = SSEDecoder()
        self.translator = translator(secrets, self.skips)
        self._outside_used = False

    def _feed(self, chunk: bytes) -> Sequence[StreamEvent]:
        frames = self.decoder.feed(chunk)
        if len(frames) == 1 and not (frames[0].invalid_utf8 or frames[0].oversized):
            return self.translator.feed(frames[0])
        return self._translate(frames)

    def _translate(self, frames: Iterable[SSEEvent]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for frame in frames:
            events.extend(self.translator.feed(frame))
            if frame.invalid_utf8 or frame.oversized:
                events.extend(self._bad_lines(frame.invalid_utf8, frame.oversized))
        return events

    def _drain(self) -> Sequence[StreamEvent]:
        events = self._translate(self.decoder.flush())
        lines = self.decoder.ignored_lines
        if lines:
            found = self.translator.outside_data(lines, self.decoder.dispatched > 0)
            if found:
                self._outside_used = True
                events.extend(found)
        return events

    def _framed(self) -> bool:
        return self.decoder.dispatched > 0 or self.decoder.ignored_count == 0

    def _leftovers(self) -> Sequence[StreamEvent]:
        ignored = self.decoder.ignored_count
        if not ignored or self._outside_used:
            return []
        first = self.decoder.ignored_lines[0] if self.decoder.ignored_lines else ""
        return [self.skips.add("not_sse", first, n=ignored)]

    def _end(self) -> Sequence[StreamEvent]:
        return self.translator.close()


def bare_json_error(
    lines: list[str], is_error: Callable[[dict[str, Any]], bool]
) -> dict[str, Any] | None:
    """The lines that were not SSE read as one JSON object, when ``is_error`` takes it for
    an error: a proxy that answered 200 with a bare JSON error instead of a stream."""
    found = json_object("\n".join(lines))
    return found if found is not None and is_error(found) else None


def ended_early(before: str) -> list[Event]:
    """The end of a reply whose stream stopped ``before`` the format's last event: a
    retryable error that keeps the reply so far, and an interrupted finish."""
    message = f"the stream ended before {before}; the partial reply is kept"
    return [StreamError(message, retryable=True), Finish("interrupted")]


def tool_call_warning(name: str, secrets: tuple[str, ...] = ()) -> StreamWarning:
    """What a reply that asks the client to run a tool says: the tool's name only (chatterm
    runs no tools, and the call's arguments are not shown)."""
    message = f"the model asked to call the tool {name!r}; chatterm does not run tools"
    return StreamWarning(one_line(redact(message, secrets), 120))


def object_or_skipped(text: str, skips: SkipTally) -> dict[str, Any] | list[Event]:
    """``text`` (an event's data, a line) as a JSON object, or the events to report instead:
    none for blank text, a counted skip for text that is not a JSON object."""
    if not text.strip():
        return []
    found = object_or_skip(text)
    return [skips.add(found, text)] if isinstance(found, str) else found
