"""Replay: recorded timelines played back with their gaps, scaled, paused and skipped."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from session_factory import full_session

from chatterm.events import (
    AnswerWasReasoning,
    Event,
    Finish,
    ReasoningDelta,
    Started,
    StreamError,
    TextDelta,
    TimedEvent,
    Usage,
    UsageUpdate,
)
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.reply.sink import pump
from chatterm.sessions.model import Session, TimelineEntry, Turn, new_session
from chatterm.sessions.recorder import SessionWriter, TurnRecorder
from chatterm.sessions.replay import (
    MAX_GAP_S,
    TURN_GAP_S,
    ReplayControl,
    Sleep,
    replay_turns,
    turn_events,
)
from chatterm.sessions.store import SessionStore


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
    session: Session, *, speed: float, control: ReplayControl, sleep: Sleep
) -> AsyncIterator[ReplayItem]:
    """The replay as one stream of items: each turn's start, its events as played, and
    the reply it ends with."""
    async for played in replay_turns(session, speed=speed, control=control, sleep=sleep):
        yield TurnStarted(played.index, played.turn)
        async for timed in played.events():
            yield timed
        yield TurnEnded(played.index, played.reply())


class FakeTime:
    """A clock that only moves when the replay sleeps (and when the test says so)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.on_sleep: list[tuple[float, object]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for item in list(self.on_sleep):
            at, action = item
            if self.now >= at:
                self.on_sleep.remove(item)
                action()  # type: ignore[operator]


async def _play(
    session: Session, time: FakeTime, speed: float, control: ReplayControl | None = None
) -> list[tuple[float, ReplayItem]]:
    control = control or ReplayControl(time.clock)
    played: list[tuple[float, ReplayItem]] = []
    async for item in replay_session(session, speed=speed, control=control, sleep=time.sleep):
        played.append((round(time.now - 100.0, 6), item))
    return played


def _event_times(played: list[tuple[float, ReplayItem]]) -> list[tuple[float, Event]]:
    return [(at, item.event) for at, item in played if isinstance(item, TimedEvent)]


def test_turn_events_rebuild_the_stream() -> None:
    turn = full_session(turns=1).turns[0]
    turn.timeline.append(TimelineEntry(700, "answer_was_reasoning", ""))
    assert turn_events(turn) == [
        TimedEvent(0.0, Started("demo")),
        TimedEvent(0.12, ReasoningDelta("Adding two and two.")),
        TimedEvent(0.3, TextDelta("an")),
        TimedEvent(0.64, TextDelta("swer 0")),
        TimedEvent(0.7, AnswerWasReasoning()),
        TimedEvent(0.9, UsageUpdate(turn.usage)),
        TimedEvent(0.9, StreamError("HTTP 529 from anthropic: overloaded", True, 529)),
        TimedEvent(0.9, Finish("error")),
    ]


def test_a_turn_cut_short_by_a_kill_ends_interrupted_after_its_last_delta() -> None:
    turn = full_session(turns=1).turns[0]
    turn.finish_reason = None
    turn.error = None
    turn.metrics = type(turn.metrics)()
    events = turn_events(turn)
    assert events[-1] == TimedEvent(0.64, Finish("interrupted"))


async def test_the_recorded_gaps_are_kept_at_speed_one() -> None:
    time = FakeTime()
    played = await _play(full_session(turns=2), time, speed=1)
    kinds = [type(item).__name__ for _, item in played]
    assert kinds[0] == "TurnStarted" and kinds[-1] == "TurnEnded"
    times = _event_times(played)
    first_turn = [at for at, event in times[:6]]
    assert first_turn == [0.0, 0.12, 0.3, 0.64, 0.9, 0.9]
    second_start = 0.9 + TURN_GAP_S
    assert times[6] == (pytest.approx(second_start), Started("demo"))
    assert times[7][0] == pytest.approx(second_start + 0.12)


async def test_speed_scales_the_gaps() -> None:
    time = FakeTime()
    times = _event_times(await _play(full_session(turns=1), time, speed=4))
    assert [at for at, _ in times[:4]] == pytest.approx([0.0, 0.03, 0.075, 0.16])


async def test_speed_zero_is_instant() -> None:
    time = FakeTime()
    played = await _play(full_session(turns=3), time, speed=0)
    assert time.sleeps == []
    assert {at for at, _ in played} == {0.0}
    assert sum(isinstance(item, TurnEnded) for _, item in played) == 3


async def test_pause_stops_the_clock_and_resume_continues() -> None:
    time = FakeTime()
    control = ReplayControl(time.clock)
    time.on_sleep = [(100.2, control.pause), (105.2, control.resume)]
    times = _event_times(await _play(full_session(turns=1), time, speed=1, control=control))
    at = [t for t, _ in times]
    assert at[:2] == [0.0, 0.12]
    # Paused at 0.2 s for 5 s: the next delta (recorded at 0.3 s) plays at 5.3 s.
    assert at[2] == pytest.approx(5.3, abs=0.06)
    assert at[3] - at[2] == pytest.approx(0.34, abs=0.06)


async def test_skip_plays_the_rest_at_once() -> None:
    time = FakeTime()
    control = ReplayControl(time.clock)
    time.on_sleep = [(100.2, control.skip)]
    played = await _play(full_session(turns=3), time, speed=1, control=control)
    assert played[-1][0] == pytest.approx(0.2, abs=0.06)
    assert sum(isinstance(item, TurnEnded) for _, item in played) == 3


async def test_negative_speed_is_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        await _play(full_session(), FakeTime(), speed=-1)


async def test_each_turn_ends_with_its_recorded_reply() -> None:
    session = full_session(turns=2)
    played = await _play(session, FakeTime(), speed=0)
    ends = [item for _, item in played if isinstance(item, TurnEnded)]
    assert [end.reply for end in ends] == [turn.to_reply() for turn in session.turns]
    starts = [item for _, item in played if isinstance(item, TurnStarted)]
    assert [start.index for start in starts] == [0, 1]


async def test_a_recorded_stream_replays_to_the_same_reply(tmp_path: object) -> None:
    """Live events -> recorder -> file -> replay -> accumulator: the same text and timing."""
    store = SessionStore()
    writer = SessionWriter(store)
    session = new_session()
    recorder = TurnRecorder(session, writer, "hi", "demo:fast")
    live = ReplyAccumulator("demo:fast")
    script: list[tuple[float, Event]] = [
        (50.0, Started("demo:fast")),
        (50.2, ReasoningDelta("Let me ")),
        (50.205, ReasoningDelta("think.")),
        (50.4, TextDelta("<b>not</b> ")),
        (50.9, TextDelta("an answer")),
        (51.0, AnswerWasReasoning()),
        (51.5, TextDelta("The answer: 😀")),
        (51.6, UsageUpdate(Usage(10, 20))),
        (51.6, StreamError("dropped", retryable=True)),
        (51.6, Finish("interrupted")),
    ]
    for at, event in script:
        recorder.event(event, at)
        live.add(at, event)
    recorder.done(live.reply())
    writer.close()
    loaded = SessionStore().load(session.id)

    replayed = ReplyAccumulator("demo:fast")
    time = FakeTime()
    async for item in replay_session(
        loaded, speed=1, control=ReplayControl(time.clock), sleep=time.sleep
    ):
        if isinstance(item, TimedEvent):
            replayed.add(item.at, item.event)
    original = live.reply()
    again = replayed.reply()
    assert (again.reasoning, again.text) == (original.reasoning, original.text)
    assert again.finish_reason == original.finish_reason
    assert again.usage == original.usage
    assert again.error == original.error
    # The timing comes back too, to within the recorder's one-frame coalescing.
    assert again.metrics.ttft_ms == pytest.approx(original.metrics.ttft_ms, abs=1)
    assert again.metrics.duration_ms == pytest.approx(original.metrics.duration_ms, abs=1)


def test_huge_and_backward_offsets_play_within_bounds() -> None:
    """A damaged or hand-made file: a gap of ~31,000 years plays as MAX_GAP_S, an offset
    earlier than the one before plays at once; gaps within the limit stay as recorded."""
    turn = full_session(1).turns[0]
    turn.timeline = [
        TimelineEntry(0, "reasoning", "a"),
        TimelineEntry(1_000, "reasoning", "b"),
        TimelineEntry(10**15, "answer", "c"),
        TimelineEntry(500, "answer", "d"),
        TimelineEntry(10**15 + 2_000, "answer", "e"),
    ]
    turn.metrics = dataclasses.replace(turn.metrics, duration_ms=10.0**16)
    stamps = [timed.at for timed in turn_events(turn)]
    assert stamps == [0.0, 0.0, 1.0, 1.0 + MAX_GAP_S, 1.0 + MAX_GAP_S, 3.0 + MAX_GAP_S] + [
        3.0 + 2 * MAX_GAP_S
    ] * (len(stamps) - 6)


async def test_each_played_turn_folds_back_to_its_recorded_reply() -> None:
    """The replay's sources fold their events through the live accumulator: what they make
    is what was recorded (text, reasoning, finish), and the pump ends a sink with it."""
    session = full_session(turns=3)
    time = FakeTime()
    turns = replay_turns(session, speed=0, control=ReplayControl(time.clock), sleep=time.sleep)
    async for played in turns:
        sink = RecordingSink()
        reply = await pump(played, sink)
        recorded = played.turn.to_reply()
        folded = played.accumulator.reply()
        assert (folded.text, folded.reasoning) == (recorded.text, recorded.reasoning)
        assert folded.finish_reason == recorded.finish_reason
        assert reply == recorded and sink.replies == [recorded]
        assert [event for event, _ in sink.events] == [t.event for t in turn_events(played.turn)]


async def test_a_turn_stopped_early_ends_with_what_was_played_marked_cancelled() -> None:
    session = full_session(turns=1)
    time = FakeTime()
    turns = replay_turns(session, speed=1, control=ReplayControl(time.clock), sleep=time.sleep)
    played = await anext(turns)
    events = played.events()
    first = await anext(events)
    assert isinstance(first.event, Started)
    await events.aclose()
    reply = played.reply()
    assert reply.finish_reason == "cancelled" and reply.text == ""


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple[Event, float]] = []
        self.replies: list[Reply] = []

    def event(self, event: Event, at: float) -> None:
        self.events.append((event, at))

    def done(self, reply: Reply) -> None:
        self.replies.append(reply)
