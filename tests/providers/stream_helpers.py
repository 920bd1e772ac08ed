"""What every provider's parser tests do: run a parser over chunks, fold events into a Reply."""

from __future__ import annotations

from collections.abc import Iterable

from chatterm.events import Event, Finish, Started, StreamError, StreamWarning
from chatterm.providers.base import StreamParser
from chatterm.reply.accumulate import Reply, ReplyAccumulator

#: What every parser says about one line of invalid UTF-8 (the line itself is kept).
INVALID_UTF8 = StreamWarning(
    "a stream line was not valid UTF-8; its bad bytes are shown as \ufffd", "invalid_utf8"
)
#: What every parser says about an empty 200 body.
EMPTY_BODY = [
    StreamError("the server answered 200 with an empty body; no reply arrived", retryable=True),
    Finish("interrupted"),
]


def run_parser(parser: StreamParser, chunks: Iterable[bytes]) -> list[Event]:
    """Feed every chunk, then close: all the events the stream produced."""
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


def fold_events(events: Iterable[Event], model: str) -> Reply:
    """The consolidated reply, each event one second after the last (Started at 0)."""
    accumulator = ReplyAccumulator(model)
    accumulator.add(0.0, Started(model))
    for i, event in enumerate(events, 1):
        accumulator.add(float(i), event)
    return accumulator.reply()
