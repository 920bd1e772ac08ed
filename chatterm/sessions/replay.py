"""Replay: a recorded session turned back into the events it streamed, with their timing.

:func:`turn_events` rebuilds one turn's events from its timeline (offsets in seconds from
the request); :func:`replay_session` plays every turn in order, waiting the recorded gaps
scaled by ``speed`` (0 plays everything at once), and yields the same events a live stream
gives, so the same sinks show them: the printers for ``chatterm replay --plain``, the turn
views in the TUI. Each turn ends with its recorded reply, so the figures shown are the
recorded ones. Nothing here touches the network.

Waiting is polled in short sleeps against the clock rather than one long sleep, so pause
and skip take effect within ``POLL_S`` and tests can drive a fake clock and sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

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
from chatterm.reply.accumulate import Reply
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


@dataclass(frozen=True, slots=True)
class TurnStarted:
    index: int
    turn: Turn


@dataclass(frozen=True, slots=True)
class TurnEnded:
    index: int
    reply: Reply


ReplayItem = TurnStarted | TimedEvent | TurnEnded


async def replay_session(
    session: Session,
    *,
    speed: float = 1.0,
    control: ReplayControl | None = None,
    sleep: Sleep = asyncio.sleep,
    first_turn: int = 0,
) -> AsyncIterator[ReplayItem]:
    """Every turn from ``first_turn`` on: ``TurnStarted``, its events (stamped with the
    playback time), ``TurnEnded`` with the recorded reply."""
    if speed < 0:
        raise ValueError("speed must be 0 or more")
    control = control or ReplayControl()
    origin = control.playing_time()
    cursor = 0.0  # recorded seconds since the start of the replay
    for index, turn in enumerate(session.turns[first_turn:], start=first_turn):
        if index > first_turn:
            cursor += TURN_GAP_S
            await _wait(control, origin, cursor, speed, sleep)
        yield TurnStarted(index, turn)
        turn_start = cursor
        for timed in turn_events(turn):
            cursor = turn_start + timed.at
            await _wait(control, origin, cursor, speed, sleep)
            yield TimedEvent(control.playing_time(), timed.event)
        yield TurnEnded(index, turn.to_reply())


async def _wait(
    control: ReplayControl, origin: float, cursor: float, speed: float, sleep: Sleep
) -> None:
    if speed == 0:
        return
    while not control.skipping:
        if control.paused:
            await sleep(POLL_S)
            continue
        remaining = origin + cursor / speed - control.playing_time()
        if remaining <= 0:
            return
        await sleep(min(remaining, POLL_S))
