"""Recording a reply as it streams: the timeline, checkpoints, and save failures."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from chatterm.events import (
    AnswerWasReasoning,
    Event,
    Finish,
    ReasoningDelta,
    Started,
    StreamError,
    TextDelta,
    Usage,
    UsageUpdate,
)
from chatterm.reply.accumulate import ReplyAccumulator
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import Session, TimelineEntry, new_session
from chatterm.sessions.recorder import SessionWriter, TurnRecorder
from chatterm.sessions.store import SessionStore


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


def _on_disk(store: SessionStore, session: Session) -> dict:  # type: ignore[type-arg]
    return json.loads(store.path_for(session).read_bytes())


def _record(
    recorder: TurnRecorder, events: list[tuple[float, Event]], model: str = "demo"
) -> ReplyAccumulator:
    accumulator = ReplyAccumulator(model)
    for at, event in events:
        recorder.event(event, at)
        accumulator.add(at, event)
    return accumulator


def test_the_prompt_is_saved_before_the_first_token(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    TurnRecorder(session, writer, "Explain\nthe GIL", "demo")
    writer.wait()
    data = _on_disk(store, session)
    assert data["title"] == "Explain"
    assert data["turns"][0]["prompt"] == "Explain\nthe GIL"
    assert data["turns"][0]["finish_reason"] == "streaming"
    writer.close()


def test_deltas_within_a_frame_share_one_timeline_entry(store: SessionStore) -> None:
    recorder = TurnRecorder(new_session(), SessionWriter(store), "hi", "demo")
    _record(
        recorder,
        [
            (10.0, Started("demo")),
            (10.100, ReasoningDelta("a")),
            (10.110, ReasoningDelta("b")),
            (10.115, ReasoningDelta("c")),
            (10.117, ReasoningDelta("d")),  # 17 ms after the entry began: a new entry
            (10.118, TextDelta("x")),  # another kind: a new entry
            (10.119, ReasoningDelta("")),  # empty deltas are not recorded
            (10.120, AnswerWasReasoning()),
            (10.121, AnswerWasReasoning()),
            (10.500, TextDelta("y")),
            (10.600, Finish("stop")),
        ],
    )
    assert recorder.timeline == [
        TimelineEntry(100, "reasoning", "abc"),
        TimelineEntry(117, "reasoning", "d"),
        TimelineEntry(118, "answer", "x"),
        TimelineEntry(120, "answer_was_reasoning", ""),
        TimelineEntry(121, "answer_was_reasoning", ""),
        TimelineEntry(500, "answer", "y"),
    ]
    recorder.writer.close()


def test_checkpoints_follow_the_stream_and_the_finish_records_the_reply(
    store: SessionStore,
) -> None:
    writer = SessionWriter(store)
    session = new_session()
    recorder = TurnRecorder(session, writer, "hi", "demo", checkpoint_s=0.5)
    accumulator = _record(
        recorder, [(0.0, Started("demo")), (0.1, ReasoningDelta("think")), (0.2, TextDelta("He"))]
    )
    writer.wait()
    assert _on_disk(store, session)["turns"][0]["answer"] == ""  # not yet time
    recorder.event(TextDelta("llo"), 0.7)  # 0.6 s after the first event
    accumulator.add(0.7, TextDelta("llo"))
    writer.wait()
    turn = _on_disk(store, session)["turns"][0]
    assert (turn["reasoning"], turn["answer"], turn["finish_reason"]) == (
        "think",
        "Hello",
        "streaming",
    )
    # The stream goes quiet: the caller's clock ticks, and what arrived is saved.
    recorder.event(TextDelta(" world"), 0.8)
    accumulator.add(0.8, TextDelta(" world"))
    recorder.tick(1.0)
    writer.wait()
    assert _on_disk(store, session)["turns"][0]["answer"] == "Hello"
    recorder.tick(1.3)
    writer.wait()
    assert _on_disk(store, session)["turns"][0]["answer"] == "Hello world"
    for at, event in [(1.4, UsageUpdate(Usage(5, 7))), (1.4, Finish("stop"))]:
        recorder.event(event, at)
        accumulator.add(at, event)
    recorder.done(accumulator.reply())
    writer.close()
    saved = SessionStore(store.folder).load(session.id).turns[0]
    assert saved.finish_reason == "stop"
    assert saved.answer == "Hello world"
    assert saved.usage == Usage(5, 7)
    assert saved.metrics.ttft_ms == 100.0
    assert "".join(e.text for e in saved.timeline if e.kind == "answer") == "Hello world"


def test_a_cancelled_reply_is_saved_with_what_arrived(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    recorder = TurnRecorder(session, writer, "hi", "demo")
    accumulator = _record(recorder, [(0.0, Started("demo")), (0.2, TextDelta("partial"))])
    accumulator.cancel(0.3)
    recorder.done(accumulator.reply())
    writer.close()
    turn = SessionStore(store.folder).load(session.id).turns[0]
    assert (turn.answer, turn.finish_reason) == ("partial", "cancelled")


def test_an_error_is_recorded(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    recorder = TurnRecorder(session, writer, "hi", "demo")
    error = StreamError("HTTP 429 from openai: slow down", retryable=True, status=429)
    accumulator = _record(recorder, [(0.0, Started("demo")), (0.1, error), (0.1, Finish("error"))])
    recorder.done(accumulator.reply())
    writer.close()
    turn = SessionStore(store.folder).load(session.id).turns[0]
    assert turn.error == error
    assert turn.finish_reason == "error"


def test_turns_append_and_the_title_stays(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    for prompt in ("first question", "second question"):
        recorder = TurnRecorder(session, writer, prompt, "demo")
        accumulator = _record(recorder, [(0.0, Started("demo")), (0.1, Finish("stop"))])
        recorder.done(accumulator.reply())
    writer.close()
    loaded = SessionStore(store.folder).load(session.id)
    assert loaded.title == "first question"
    assert [t.prompt for t in loaded.turns] == ["first question", "second question"]


def test_replies_of_several_models_are_alternatives_of_one_turn(store: SessionStore) -> None:
    """``ask -m a -m b -m c --session``: three recorders at once on one session, their
    turns beside each other after the active path's last turn, the first one shown; each
    is checkpointed on its own and finishes in any order."""
    keeper = SessionKeeper(store)
    first = keeper.begin_turn("first question", "demo")
    first.done(_record(first, [(0.0, Started("demo")), (0.1, Finish("stop"))]).reply())
    recorders = keeper.begin_alternatives("second question", ["a", "b", "c"])
    keeper.writer.wait()
    assert keeper.session is not None
    on_disk = _on_disk(store, keeper.session)
    assert [turn.get("parent") for turn in on_disk["turns"]] == [None, 0, 0, 0]
    assert on_disk["active"] == 1  # the first model's, before any token
    assert [turn["finish_reason"] for turn in on_disk["turns"][1:]] == ["streaming"] * 3

    accumulators = [ReplyAccumulator(r.turn.model) for r in recorders]
    for at, (recorder, accumulator) in enumerate(zip(recorders, accumulators, strict=True)):
        for event in (Started(recorder.turn.model), TextDelta(f"from {recorder.turn.model}")):
            recorder.event(event, float(at))
            accumulator.add(float(at), event)
    for index in (2, 0, 1):  # the last model finishes first
        accumulators[index].add(5.0, Finish("stop"))
        recorders[index].done(accumulators[index].reply())
    keeper.close()

    loaded = SessionStore(store.folder).load(keeper.session.id)
    assert [turn.answer for turn in loaded.tree[1:]] == ["from a", "from b", "from c"]
    assert [turn.model for turn in loaded.turns] == ["demo", "a"]
    assert loaded.places() == [(1, 1), (1, 3)]
    assert loaded.history()[-1].content == "from a"


def test_replies_recorded_at_once_share_their_checkpoints(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A comparison's replies stream into one session: the session is encoded and written
    once per checkpoint interval with every reply's text, not once per reply."""
    keeper = SessionKeeper(store)
    recorders = keeper.begin_alternatives("race", ["a", "b", "c"])
    saved: list[list[str]] = []  # each turn's answer, at each checkpoint
    submit = keeper.writer.submit

    def counted(session: Session, *, searchable: bool = True) -> None:
        saved.append([turn.answer for turn in session.tree])
        submit(session, searchable=searchable)

    monkeypatch.setattr(keeper.writer, "submit", counted)
    for recorder in recorders:
        recorder.event(Started(recorder.turn.model), 0.0)
    for step in range(1, 21):  # two seconds of tokens, every reply one per 0.1 s
        for recorder in recorders:
            recorder.event(TextDelta(f"{recorder.turn.model}{step} "), step / 10)

    # One save per half second (at 0.5, 1, 1.5 and 2 s) however many replies, each with
    # every reply's text: the one due at 2 s came with a's 20th token, before b's and c's.
    def answers(upto: dict[str, int]) -> list[str]:
        return ["".join(f"{model}{step} " for step in range(1, upto[model] + 1)) for model in "abc"]

    assert len(saved) == 4
    assert saved[1] == answers({"a": 10, "b": 9, "c": 9})
    assert saved[-1] == answers({"a": 20, "b": 19, "c": 19})
    recorders[2].tick(2.5)  # the clock: what came since is saved, for all three
    assert len(saved) == 5
    assert saved[-1] == answers({"a": 20, "b": 20, "c": 20})
    keeper.close()


def test_alternatives_of_a_first_turn_start_the_session(store: SessionStore) -> None:
    keeper = SessionKeeper(store)
    recorders = keeper.begin_alternatives("hello", ["a", "b"])
    keeper.close()
    assert keeper.session is not None and keeper.session.title == "hello"
    loaded = SessionStore(store.folder).load(keeper.session.id)
    assert [turn.parent for turn in loaded.tree] == [None, None]
    assert [turn.model for turn in loaded.turns] == ["a"]
    assert [r.turn.model for r in recorders] == ["a", "b"]


def test_a_failing_disk_is_reported_once_and_saving_resumes(
    store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = SessionWriter(store)
    session = new_session()
    real_replace = os.replace

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    recorder = TurnRecorder(session, writer, "hi", "demo", checkpoint_s=0)
    recorder.event(Started("demo"), 0.0)
    recorder.event(TextDelta("a"), 0.1)
    recorder.event(TextDelta("b"), 0.2)
    writer.wait()
    message = writer.take_error()
    assert message is not None and "the disk is full" in message
    recorder.event(TextDelta("c"), 0.3)
    writer.wait()
    assert writer.take_error() is None  # the same failure again: already said
    monkeypatch.setattr(os, "replace", real_replace)
    recorder.event(TextDelta("d"), 0.4)
    writer.wait()
    assert writer.take_error() is None
    assert _on_disk(store, session)["turns"][0]["answer"] == "abcd"
    assert session.turns[0].answer == "abcd"  # in memory all along
    writer.close()


def test_a_save_after_close_is_written_at_once(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    writer.close()
    writer.submit(session)
    assert store.path_for(session).exists()
    assert writer._executor is None  # no thread left behind


def test_a_sessions_path_that_is_a_file_gives_a_clear_error(tmp_path: Path) -> None:
    from chatterm.sessions.store import SessionError

    path = tmp_path / "sessions"
    path.write_text("not a folder")
    store = SessionStore(path)
    with pytest.raises(SessionError, match="cannot read the sessions folder"):
        store.list()
    with pytest.raises(SessionError, match="cannot read the sessions folder"):
        store.load("2026")


def test_alternating_kinds_within_a_frame_keep_one_entry_per_kind(store: SessionStore) -> None:
    recorder = TurnRecorder(new_session(), SessionWriter(store), "hi", "demo")
    _record(
        recorder,
        [
            (0.0, Started("demo")),
            (0.100, ReasoningDelta("r1")),
            (0.101, TextDelta("a1")),
            (0.102, ReasoningDelta("r2")),
            (0.103, TextDelta("a2")),
            (0.104, AnswerWasReasoning()),
            (0.105, TextDelta("a3")),  # after a reset mark: never joins the text before it
        ],
    )
    assert recorder.timeline == [
        TimelineEntry(100, "reasoning", "r1r2"),
        TimelineEntry(101, "answer", "a1a2"),
        TimelineEntry(104, "answer_was_reasoning", ""),
        TimelineEntry(105, "answer", "a3"),
    ]
    recorder.writer.close()


def test_events_after_the_finish_change_nothing(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    recorder = TurnRecorder(session, writer, "hi", "demo")
    accumulator = _record(recorder, [(0.0, Started("demo")), (0.1, TextDelta("kept"))])
    accumulator.cancel(0.2)
    recorder.done(accumulator.reply())
    recorder.event(TextDelta(" straggler"), 0.3)
    recorder.tick(5.0)
    recorder.done(accumulator.reply())
    writer.close()
    turn = SessionStore(store.folder).load(session.id).turns[0]
    assert (turn.answer, turn.finish_reason) == ("kept", "cancelled")
    assert [e.text for e in turn.timeline] == ["kept"]


def test_a_session_changed_by_another_program_goes_on_in_a_new_file(
    store: SessionStore,
) -> None:
    writer = SessionWriter(store)
    session = new_session()
    first = TurnRecorder(session, writer, "q1", "demo")
    first.done(_record(first, [(0.0, Started("demo")), (0.1, Finish("stop"))]).reply())
    writer.wait()
    original_id = session.id
    # `chatterm ask --session` appends a turn from another process meanwhile.
    other_store = SessionStore(store.folder)
    other_writer = SessionWriter(other_store)
    theirs = other_store.load(original_id)
    their_turn = TurnRecorder(theirs, other_writer, "q-cli", "demo")
    their_turn.done(_record(their_turn, [(0.0, Started("demo")), (0.1, Finish("stop"))]).reply())
    other_writer.close()
    # This chat records its next turn: the other program's file is not written over.
    second = TurnRecorder(session, writer, "q2", "demo")
    second.done(_record(second, [(0.0, Started("demo")), (0.1, Finish("stop"))]).reply())
    writer.close()
    message = writer.take_error()
    assert message is not None and original_id in message and session.id in message
    assert session.id != original_id
    reread = SessionStore(store.folder)
    assert [t.prompt for t in reread.load(original_id).turns] == ["q1", "q-cli"]
    assert [t.prompt for t in reread.load(session.id).turns] == ["q1", "q2"]


def test_a_conflict_on_the_very_last_save_is_still_saved(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    recorder = TurnRecorder(session, writer, "q1", "demo")
    writer.wait()
    original_id = session.id
    path = store.path_for(session)
    accumulator = _record(recorder, [(0.0, Started("demo")), (0.1, TextDelta("the answer"))])
    # Someone rewrites the file while the final save is queued behind a checkpoint.
    path.write_text(path.read_text().replace('"title"', '"title"', 1) + "\n")
    recorder.done(accumulator.reply())
    writer.close()
    assert session.id != original_id
    assert SessionStore(store.folder).load(session.id).turns[0].answer == "the answer"
    assert writer.take_error() is not None


def test_a_fork_is_a_notice_that_can_be_taken_apart_from_failures(store: SessionStore) -> None:
    writer = SessionWriter(store)
    session = new_session()
    first = TurnRecorder(session, writer, "q1", "demo")
    first.done(_record(first, [(0.0, Started("demo")), (0.1, Finish("stop"))]).reply())
    writer.wait()
    original_id = session.id
    assert writer.forked_from(original_id) is None
    path = store.path_for(session)
    # Another program writes the file twice over: this session moves on twice.
    for _ in range(2):
        path = store.path_for(session)
        path.write_text(path.read_text() + "\n")
        later = TurnRecorder(session, writer, "again", "demo")
        later.done(_record(later, [(0.0, Started("demo")), (0.1, Finish("stop"))]).reply())
        writer.wait()
    writer.close()
    assert session.id != original_id
    assert writer.forked_from(session.id) == original_id  # followed back to the first
    notices = writer.take_notices()
    assert len(notices) == 2 and original_id in notices[0] and session.id in notices[1]
    assert writer.take_notices() == []
    assert writer.take_error() is None  # a fork is not a failure
