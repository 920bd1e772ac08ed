"""The one loop between a reply and what shows or keeps it: :func:`pump` a source into sinks.

A source is a reply as events: live from the network (:class:`~chatterm.reply.live.ReplyStream`)
or played from a session (:class:`~chatterm.sessions.replay.RecordedTurn`). A sink is
whatever the events go to: a turn on the chat or replay screen, the session recorder,
``chatterm ask``'s printers. Every consumer drives its reply with :func:`pump`, so each
sink sees the same events in the same order, and however the reply ends (finished, failed
in a way the source did not foresee, cancelled) every sink ends with the same reply.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Protocol

from chatterm.events import Event, TimedEvent
from chatterm.reply.accumulate import Reply


class Sink(Protocol):
    """Where a reply's events go."""

    def event(self, event: Event, at: float) -> None:
        """An event arrived; ``at`` is when, in seconds on the source's clock."""
        ...

    def done(self, reply: Reply) -> None:
        """The reply ended, however it ended. A sink ends once: an ending path that cannot
        know whether the pump ran (a worker cancelled before it started) may end it again,
        and the repeat is ignored."""
        ...


class Source(Protocol):
    """A reply as events, and the reply they make."""

    def events(self) -> AsyncGenerator[TimedEvent, None]: ...

    def failed(self, error: Exception) -> Sequence[TimedEvent]:
        """The events that end the reply after ``error``, which the source did not foresee
        (one line, secrets removed: never a traceback)."""
        ...

    def reply(self) -> Reply:
        """The reply as it stands; one that never finished is marked cancelled."""
        ...


async def pump(source: Source, *sinks: Sink) -> Reply:
    """Send every event of ``source`` to each sink in turn, then end them all with the reply.

    An exception from the source ends the reply in an error (:meth:`Source.failed`); one
    from a sink (a closed pipe) or a cancellation still ends every sink, then goes on.
    """
    try:
        async with aclosing(source.events()) as events:
            iterator = aiter(events)
            while True:
                try:
                    timed = await anext(iterator)
                except StopAsyncIteration:
                    break
                except Exception as error:  # noqa: BLE001 - reported in the reply, one line
                    for failure in source.failed(error):
                        _deliver(failure, sinks)
                    break
                _deliver(timed, sinks)
    finally:
        reply = end_sinks(source, *sinks)
    return reply


def _deliver(timed: TimedEvent, sinks: tuple[Sink, ...]) -> None:
    for sink in sinks:
        sink.event(timed.event, timed.at)


def end_sinks(source: Source, *sinks: Sink) -> Reply:
    """End every sink with the reply as it stands, the last one first (as nested blocks
    unwind: a recorder given after a printer has saved the reply before the printer's last
    line reports it). A sink that fails to end does not keep the others from ending."""
    reply = source.reply()
    failure: BaseException | None = None
    for sink in reversed(sinks):
        try:
            sink.done(reply)
        except BaseException as error:  # noqa: BLE001 - raised below, once every sink ended
            failure = failure or error
    if failure is not None:
        raise failure
    return reply
