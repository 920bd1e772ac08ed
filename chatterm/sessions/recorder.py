"""Recording a reply into its session while it streams, and saving it as it goes.

:class:`TurnRecorder` is a sink like the printers and the TUI: it receives each stamped
event, keeps the timeline (one entry per kind per ~16 ms frame), and checkpoints the
session at most every ``CHECKPOINT_S`` while text is arriving, so a ``kill -9`` loses at
most that much. The caller drives :meth:`TurnRecorder.tick` from its own clock (the TUI's
frame timer, the CLI's ticker) so a stream that goes quiet is still saved.

Writes go through a :class:`SessionWriter`: one background thread, newest bytes last, so a
slow disk (an fsync can take tens of ms) never stalls the event loop or the screen. A
write that fails is reported once through :meth:`SessionWriter.take_error`; the session
stays in memory and the next checkpoint tries again. Checkpoints leave the search index
alone; the save when a reply ends (and every other save) updates it, on the same thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, assert_never

from chatterm import events
from chatterm.events import Event
from chatterm.reply.accumulate import Reply
from chatterm.sessions.model import (
    FRAME_MS,
    AttachmentRef,
    Session,
    TimelineEntry,
    TimelineKind,
    Turn,
    now_iso,
    title_from_prompt,
)
from chatterm.sessions.store import SessionConflict, SessionError, SessionStore

if TYPE_CHECKING:
    from chatterm.sessions.search_scan import SessionText

CHECKPOINT_S = 0.5  # while text arrives, the file is at most this far behind


class SessionWriter:
    """Writes session files on one background thread, in the order they were submitted.

    If a session's file changes on disk behind its back (``chatterm ask --session`` or a
    second TUI on the same chat, an editor), the file is not written over: the session
    continues under a new id, in a new file, and :meth:`take_error` says so (a caller that
    words its own line takes the notice with :meth:`take_notices` and asks
    :meth:`forked_from`). Nothing is lost on either side.
    """

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self._executor: ThreadPoolExecutor | None = None
        self._last: Future[None] | None = None
        self._lock = threading.Lock()
        self._error: SessionError | None = None
        self._reported: str | None = None
        self._notices: list[str] = []
        self._fork_notes: dict[str, str] = {}  # said once the new file is written
        self._forked: dict[str, str] = {}  # new session id -> the id it was forked from
        self._closed = False
        self._pending: dict[str, int] = {}  # session id -> writes queued, not yet done
        self._conflicts: set[str] = set()  # ids whose file changed behind our back
        self._latest: dict[str, Session] = {}

    def submit(self, session: Session, *, searchable: bool = True) -> None:
        """Queue a save of ``session`` as it is now (it is encoded here, on the caller's
        thread, so later changes do not race the write); ``searchable``: the search index
        (if there is one) takes its text after the write (checkpoints do without)."""
        with self._lock:
            conflicted = session.id in self._conflicts
            idle = not self._pending.get(session.id)
        # While one of our writes is queued the file is ours to change; otherwise a
        # difference on disk is someone else's work.
        if conflicted or (idle and self.store.changed_on_disk(session)):
            self._fork(session)
        try:
            path, data = self.store.prepare(session)
        except SessionError as exc:
            self._set_error(exc)
            return
        text = self.store.searchable_text(session) if searchable else None
        session_id = session.id
        with self._lock:
            self._latest[session_id] = session
            self._pending[session_id] = self._pending.get(session_id, 0) + 1
        if self._closed:
            self._write(session_id, path, data, text)  # late (an app closing): written now
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="chatterm-save")
        self._last = self._executor.submit(self._write, session_id, path, data, text)

    def _fork(self, session: Session) -> None:
        old = self.store.fork(session)
        with self._lock:
            self._conflicts.discard(old)
            self._latest.pop(old, None)
            self._forked[session.id] = old
            self._fork_notes[session.id] = (
                f"session {old} was changed by another program since chatterm opened it; "
                f"this chat goes on as session {session.id} (both are kept)"
            )

    def save_now(self, session: Session) -> None:
        """Save and wait for the file (and everything queued before it) to be written."""
        self.submit(session)
        self.wait()

    def _write(
        self, session_id: str, path: Path, data: bytes, text: SessionText | None = None
    ) -> None:
        try:
            self.store.commit(path, data)
        except SessionConflict:
            with self._lock:
                self._conflicts.add(session_id)  # the next submit moves to a new file
        except SessionError as exc:
            self._set_error(exc)
        else:
            with self._lock:
                self._error = None
                self._reported = None  # a later failure is news again
                note = self._fork_notes.pop(session_id, None)
                if note is not None:
                    self._notices.append(note)
            if text is not None:
                self.store.index_saved(path, text)
        finally:
            with self._lock:
                self._pending[session_id] -= 1

    def _set_error(self, error: SessionError) -> None:
        with self._lock:
            self._error = error

    def take_error(self) -> str | None:
        """A message for the user, once: a session moved to a new file, or the latest
        write failure (a failure that repeats is not reported again until a write has
        succeeded in between)."""
        with self._lock:
            if self._notices:
                return self._notices.pop(0)
            if self._error is None:
                return None
            message = str(self._error)
            if message == self._reported:
                return None
            self._reported = message
            return message

    def take_notices(self) -> list[str]:
        """The notices :meth:`take_error` would give first (a session moved to a new file),
        taken now, so that what it gives afterwards is only a write failure."""
        with self._lock:
            notices, self._notices = self._notices, []
            return notices

    def forked_from(self, session_id: str) -> str | None:
        """The id whose file changed behind this writer's back, if ``session_id`` is the
        new id a session went on under (followed back to the first, if it moved twice)."""
        with self._lock:
            origin = self._forked.get(session_id)
            while origin is not None and origin in self._forked:
                origin = self._forked[origin]
            return origin

    def failure(self) -> SessionError | None:
        """Why the latest write failed, if it did (for a caller that words its own
        message); :meth:`take_error` still says it once."""
        with self._lock:
            return self._error

    def wait(self) -> None:
        """Wait for every queued write; a session whose file changed meanwhile is saved
        under its new id before this returns."""
        for _ in range(3):
            if self._last is not None:
                self._last.result()
            with self._lock:
                stranded = [self._latest[i] for i in self._conflicts if i in self._latest]
            if not stranded:
                return
            for session in stranded:
                self.submit(session)

    def close(self) -> None:
        """Finish every queued write and stop the thread; later saves are written on the
        caller's thread."""
        self.wait()
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


class TurnRecorder:
    """Records one reply of ``session`` and keeps its file up to date.

    A :class:`~chatterm.reply.sink.Sink`. Creating it appends the turn (the prompt is saved
    before the first token); feed it every stamped event with :meth:`event`, call
    :meth:`tick` now and then, and end it with :meth:`done` and the consolidated reply.
    ``system`` is the turn's own system prompt, when it is not the session's (see
    :meth:`~chatterm.sessions.model.Session.system_to_record`).
    ``attachments`` reference files already in the attachment store (the keeper stores
    them first: a saved turn never references a file that is not there).
    """

    def __init__(
        self,
        session: Session,
        writer: SessionWriter,
        prompt: str,
        model: str,
        *,
        checkpoint_s: float = CHECKPOINT_S,
        started: str | None = None,
        compacts: bool = False,
        system: str | None = None,
        attachments: tuple[AttachmentRef, ...] = (),
    ) -> None:
        self.session = session
        self.writer = writer
        self.checkpoint_s = checkpoint_s
        self.turn = Turn(
            prompt=prompt,
            model=model,
            started=started or now_iso(),
            compacts=compacts,
            system=system,
            attachments=attachments,
        )
        if not session.title:
            session.title = title_from_prompt(prompt)
        session.add(self.turn)
        self._start: float | None = None
        self._reasoning: list[str] = []
        self._answer: list[str] = []
        self._dirty = False
        self._last_save: float | None = None
        self._finished = False
        #: the recorders of replies streaming into this session at once (this one, or
        #: every one of a comparison): a checkpoint saves what each of them received
        self._together: list[TurnRecorder] = [self]
        self._checkpoint()

    @staticmethod
    def save_together(recorders: list[TurnRecorder]) -> None:
        """Replies recorded into one session at once (a comparison) share their
        checkpoints: whichever is due saves the text of all of them, so the session is
        encoded once per ``checkpoint_s``, not once per reply."""
        for recorder in recorders:
            recorder._together = recorders

    @property
    def ended(self) -> bool:
        """Whether :meth:`done` has recorded the reply (the turn is sealed)."""
        return self._finished

    @property
    def timeline(self) -> list[TimelineEntry]:
        return self.turn.timeline

    def event(self, event: Event, at: float) -> None:
        if self._finished:
            return  # a straggler after the end (an app closing): the turn is sealed
        match event:
            case events.Started():
                self._start = at
            case events.ReasoningDelta(text=text):
                if text:
                    self._add(at, "reasoning", text)
                    self._reasoning.append(text)
            case events.TextDelta(text=text):
                if text:
                    self._add(at, "answer", text)
                    self._answer.append(text)
            case events.AnswerWasReasoning():
                self._add(at, "answer_was_reasoning", "")
                self._reasoning.extend(self._answer)
                self._answer.clear()
            case events.UsageUpdate(usage=usage):
                self.turn.usage = usage
            case events.StreamError():
                self.turn.error = event
            case events.Finish() | events.StreamWarning():
                pass  # the consolidated reply carries them
            case events.Retrying():
                pass  # a notice while waiting: the turn records the reply, not the attempts
            case _:
                assert_never(event)
        if self._last_save is None:
            self._last_save = at
        else:
            self.tick(at)

    def _add(self, at: float, kind: TimelineKind, text: str) -> None:
        if self._start is None:
            self._start = at
        offset = max(0, round((at - self._start) * 1000))
        timeline = self.turn.timeline
        self._dirty = True
        if kind != "answer_was_reasoning":
            # The newest entry of this kind, unless a reset mark stands in between: the two
            # panes fill independently, so text of one kind may join an entry that another
            # kind's entry follows within the same frame.
            for entry in reversed(timeline[-2:]):
                if entry.kind == "answer_was_reasoning" or offset - entry.offset_ms >= FRAME_MS:
                    break
                if entry.kind == kind:
                    entry.text += text
                    return
        timeline.append(TimelineEntry(offset, kind, text))

    def tick(self, now: float) -> None:
        """Checkpoint if text arrived since the last save and it is time."""
        if not self._dirty or self._finished:
            return
        if self._last_save is None or now - self._last_save >= self.checkpoint_s:
            self._last_save = now
            self._checkpoint()

    def _checkpoint(self) -> None:
        for recorder in self._together:
            if recorder is self or (recorder._dirty and not recorder._finished):
                recorder._take_text()
                recorder._last_save = self._last_save
        self.session.touch()
        self.writer.submit(self.session, searchable=False)

    def _take_text(self) -> None:
        """Put the text received so far into the turn (to be saved with the session)."""
        self.turn.reasoning = "".join(self._reasoning)
        self.turn.answer = "".join(self._answer)
        self._reasoning[:] = [self.turn.reasoning] if self.turn.reasoning else []
        self._answer[:] = [self.turn.answer] if self.turn.answer else []
        self._dirty = False

    def done(self, reply: Reply) -> None:
        """The reply ended (however it ended): record it whole and save. Only the first
        call counts; later events are ignored (the saved turn is final)."""
        if self._finished:
            return
        self._finished = True
        self.turn.record_reply(reply)
        self._dirty = False
        self.session.touch()
        self.writer.submit(self.session)
