"""Replay: a recorded session turned back into the events it streamed, with their timing.

:func:`turn_events` rebuilds one turn's events from its timeline (offsets in seconds from
the request); :func:`replay_turns` plays every turn in order as a
:class:`RecordedTurn`, a source like a live reply, waiting the recorded gaps scaled by
``speed`` (0 plays everything at once), so the same pump and sinks show it: the printers
for ``chatterm replay --plain``, the turn views in the TUI. Each turn ends with its recorded
reply, so the figures shown are the recorded ones. Nothing here touches the network.

Replies begun together (a comparison, :meth:`~chatterm.sessions.model.Session.begun_together`)
play together: the turn played has ``columns``, one source per reply, each from the same
start on the same clock, so they race as they did; the next turn waits for the slowest.

Waiting is polled in short sleeps against the clock rather than one long sleep, so pause
and skip take effect within ``POLL_S`` and tests can drive a fake clock and sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from chatterm.events import (
    AnswerWasReasoning,
    Event,
    Finish,
    ReasoningDelta,
    Started,
    TextDelta,
    TimedEvent,
    UsageUpdate,
)
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.sessions.model import Session, Turn

POLL_S = 0.05
TURN_GAP_S = 0.6  # between turns, at speed 1: time to read the next prompt
MAX_GAP_S = 600.0  # the longest wait replayed: chatterm's own default first-token limit

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


def turn_events(turn: Turn) -> list[TimedEvent]:
    """The turn's events, stamped in seconds from the request, ending with its finish.

    Played as recorded, but for a gap longer than ``MAX_GAP_S`` (played as that long) and
    an offset earlier than the one before it (played at once): a damaged or hand-made
    file must not hold a replay for years, or play it backwards."""
    events: list[TimedEvent] = [TimedEvent(0.0, Started(turn.model))]
    recorded = played = 0.0

    def step(offset_s: float) -> float:
        nonlocal recorded, played
        if offset_s > recorded:
            played += min(offset_s - recorded, MAX_GAP_S)
            recorded = offset_s
        return played

    for entry in turn.timeline:
        at = step(entry.offset_ms / 1000)
        event: Event
        if entry.kind == "reasoning":
            event = ReasoningDelta(entry.text)
        elif entry.kind == "answer":
            event = TextDelta(entry.text)
        else:
            event = AnswerWasReasoning()
        events.append(TimedEvent(at, event))
    end = step((turn.metrics.duration_ms or 0.0) / 1000)
    events.append(TimedEvent(end, UsageUpdate(turn.usage)))
    if turn.error is not None:
        events.append(TimedEvent(end, turn.error))
    events.append(TimedEvent(end, Finish(turn.finish_reason or "interrupted")))
    return events


class ReplayControl:
    """Pause, resume and skip for a replay in progress; the clock stops while paused."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.paused = False
        self.skipping = False
        self._paused_at: float | None = None
        self._paused_total = 0.0

    def toggle_pause(self) -> bool:
        """Pause or resume; True if now paused."""
        if self.paused:
            self.resume()
        else:
            self.pause()
        return self.paused

    def pause(self) -> None:
        if not self.paused:
            self.paused = True
            self._paused_at = self.clock()

    def resume(self) -> None:
        if self.paused and self._paused_at is not None:
            self._paused_total += self.clock() - self._paused_at
        self.paused = False
        self._paused_at = None

    def skip(self) -> None:
        """Play everything left at once."""
        self.skipping = True
        self.resume()

    def playing_time(self) -> float:
        """Seconds of playback so far: the clock, less the time spent paused."""
        now = self._paused_at if self._paused_at is not None else self.clock()
        return now - self._paused_total


class RecordedTurn:
    """One recorded turn played back as a :class:`~chatterm.reply.sink.Source`: its events
    at the recorded pace, folded through the same accumulator as a live reply.

    Played to the end, its reply is the recorded one (the figures shown are those of the
    day it streamed); stopped early, it is what was played, marked cancelled.
    """

    def __init__(self, index: int, turn: Turn, playback: _Playback) -> None:
        self.index = index
        self.turn = turn
        self._playback = playback
        self._start = playback.cursor  # where the recorded request was sent
        self.accumulator = ReplyAccumulator(turn.model)
        self._played_all = False
        #: every reply begun together with this one, in the order written, this one among
        #: them (just this one for a reply begun alone)
        self.columns: tuple[RecordedTurn, ...] = (self,)

    async def events(self) -> AsyncGenerator[TimedEvent, None]:
        start = self._start
        for timed in turn_events(self.turn):
            await self._playback.wait_until(start + timed.at)
            played = TimedEvent(self._playback.control.playing_time(), timed.event)
            self.accumulator.add(played.at, played.event)
            yield played
        self._played_all = True

    def failed(self, error: Exception) -> list[TimedEvent]:
        """A recorded turn has nothing that can fail: pass the error on."""
        raise error

    def reply(self) -> Reply:
        if self._played_all:
            return self.turn.to_reply()
        if self.accumulator.finish_reason is None:
            self.accumulator.cancel(self._playback.control.playing_time())
        return self.accumulator.reply()


class _Playback:
    """Where a replay is: the recorded seconds played so far, paced by the speed and the
    control (pause, skip)."""

    def __init__(self, control: ReplayControl, speed: float, sleep: Sleep) -> None:
        self.control = control
        self.speed = speed
        self.sleep = sleep
        self.origin = control.playing_time()
        self.cursor = 0.0  # recorded seconds since the start of the replay

    async def wait_until(self, cursor: float) -> None:
        self.cursor = max(self.cursor, cursor)  # replies played together: the furthest
        if self.speed == 0:
            return
        while not self.control.skipping:
            if self.control.paused:
                await self.sleep(POLL_S)
                continue
            remaining = self.origin + cursor / self.speed - self.control.playing_time()
            if remaining <= 0:
                return
            await self.sleep(min(remaining, POLL_S))


async def replay_turns(
    session: Session,
    *,
    speed: float = 1.0,
    control: ReplayControl | None = None,
    sleep: Sleep = asyncio.sleep,
    first_turn: int = 0,
) -> AsyncIterator[RecordedTurn]:
    """Every turn from ``first_turn`` on, each a source to pump once the one before it has
    been, after the recorded pause between turns."""
    if speed < 0:
        raise ValueError("speed must be 0 or more")
    playback = _Playback(control or ReplayControl(), speed, sleep)
    for index, turn in enumerate(session.turns[first_turn:], start=first_turn):
        if index > first_turn:
            await playback.wait_until(playback.cursor + TURN_GAP_S)
        played = RecordedTurn(index, turn, playback)
        together = session.begun_together(index)
        if len(together) > 1:
            played.columns = tuple(
                played
                if session.tree[i] is turn
                else RecordedTurn(index, session.tree[i], playback)
                for i in together
            )
            for column in played.columns:
                column.columns = played.columns
        yield played
