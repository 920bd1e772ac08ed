"""The pump: every event to every sink in order, and every sink ended once, however it ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence

import pytest

from chatterm.events import Event, Finish, Started, StreamError, TextDelta, TimedEvent
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.reply.sink import end_sinks, pump


class ScriptedSource:
    """Events from a list, folded as they pass; raises ``error`` after them if given."""

    def __init__(
        self,
        events: Sequence[TimedEvent],
        *,
        error: Exception | None = None,
        hang: bool = False,
    ) -> None:
        self._events = list(events)
        self._error = error
        self._hang = hang
        self.accumulator = ReplyAccumulator("test:model")
        self.closed = False
        self.started = asyncio.Event()

    async def events(self) -> AsyncGenerator[TimedEvent, None]:
        try:
            for timed in self._events:
                self.accumulator.add(timed.at, timed.event)
                yield timed
            self.started.set()
            if self._hang:
                await asyncio.Event().wait()
            if self._error is not None:
                raise self._error
        finally:
            self.closed = True

    def failed(self, error: Exception) -> list[TimedEvent]:
        ending = [
            TimedEvent(9.0, StreamError(f"failed: {error}")),
            TimedEvent(9.0, Finish("error")),
        ]
        for timed in ending:
            self.accumulator.add(timed.at, timed.event)
        return ending

    def reply(self) -> Reply:
        if self.accumulator.finish_reason is None:
            self.accumulator.cancel(10.0)
        return self.accumulator.reply()


class ListSink:
    def __init__(self, name: str, log: list[str], *, fail_on_done: bool = False) -> None:
        self.name = name
        self.log = log
        self.events: list[tuple[Event, float]] = []
        self.replies: list[Reply] = []
        self._fail_on_done = fail_on_done

    def event(self, event: Event, at: float) -> None:
        self.events.append((event, at))
        self.log.append(f"{self.name}:{type(event).__name__}")

    def done(self, reply: Reply) -> None:
        self.replies.append(reply)
        self.log.append(f"{self.name}:done")
        if self._fail_on_done:
            raise BrokenPipeError("the reader went away")


STREAM = [
    TimedEvent(0.0, Started("test:model")),
    TimedEvent(0.5, TextDelta("Hello")),
    TimedEvent(0.7, TextDelta(", world")),
    TimedEvent(0.9, Finish("stop")),
]


async def test_every_event_reaches_every_sink_in_order_then_each_ends_last_first() -> None:
    log: list[str] = []
    screen, recorder = ListSink("screen", log), ListSink("recorder", log)
    reply = await pump(ScriptedSource(STREAM), screen, recorder)
    assert reply.text == "Hello, world" and reply.finish_reason == "stop"
    assert screen.events == recorder.events == [(t.event, t.at) for t in STREAM]
    # Each event goes to the screen first; the sinks end in reverse (the recorder first).
    assert log[:2] == ["screen:Started", "recorder:Started"]
    assert log[-2:] == ["recorder:done", "screen:done"]
    assert screen.replies == recorder.replies == [reply]


async def test_a_source_failure_ends_the_reply_in_an_error_event() -> None:
    log: list[str] = []
    sink = ListSink("sink", log)
    source = ScriptedSource(STREAM[:2], error=RuntimeError("surprise"))
    reply = await pump(source, sink)
    assert reply.finish_reason == "error" and reply.text == "Hello"
    assert reply.error == StreamError("failed: surprise")
    assert [event for event, _ in sink.events][-2:] == [
        StreamError("failed: surprise"),
        Finish("error"),
    ]
    assert sink.replies == [reply] and source.closed


async def test_a_cancelled_pump_ends_every_sink_with_what_arrived_and_stays_cancelled() -> None:
    log: list[str] = []
    sink = ListSink("sink", log)
    source = ScriptedSource(STREAM[:2], hang=True)
    task = asyncio.create_task(pump(source, sink))
    async with asyncio.timeout(60):
        await source.started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (reply,) = sink.replies
    assert reply.text == "Hello" and reply.finish_reason == "cancelled"
    assert source.closed  # the source's own cleanup ran (a client closed, say)


async def test_a_sink_that_fails_does_not_keep_the_others_from_ending() -> None:
    log: list[str] = []
    printer = ListSink("printer", log, fail_on_done=True)
    recorder, watch = ListSink("recorder", log), ListSink("watch", log)
    with pytest.raises(BrokenPipeError):
        await pump(ScriptedSource(STREAM), recorder, printer, watch)
    assert log[-3:] == ["watch:done", "printer:done", "recorder:done"]
    assert len(recorder.replies) == 1 and recorder.replies[0].text == "Hello, world"


def test_end_sinks_alone_ends_a_reply_that_never_streamed() -> None:
    log: list[str] = []
    sink = ListSink("sink", log)
    reply = end_sinks(ScriptedSource(STREAM), sink)
    assert reply.finish_reason == "cancelled" and reply.text == ""
    assert sink.replies == [reply] and sink.events == []
