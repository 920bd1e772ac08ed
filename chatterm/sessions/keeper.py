"""The open session: the conversation as a file, kept up to date while it streams.

Every chat is a session, in the TUI and for ``chatterm ask --save/--session`` alike.
:class:`SessionKeeper` creates it when the first prompt is sent (so an empty chat leaves
no file), records each reply through a :class:`~chatterm.sessions.recorder.TurnRecorder`
(several at once when models are compared: alternatives of one turn), and saves on the
:class:`~chatterm.sessions.recorder.SessionWriter`'s background thread, so a slow disk
never stalls a frame. The history sent and the session cost shown both come
from the session's turns, so a session opened from disk continues exactly where it stopped.

The system prompt is the conversation's, like its model: a new chat starts on the config's
(or a role's, :meth:`SessionKeeper.switch_system`), an opened session on the one its
active path ends with, and a switch applies from the next turn on, which records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chatterm.events import Message
from chatterm.reply.figures import SessionCosts
from chatterm.sessions.model import Session, new_session, now_iso
from chatterm.sessions.recorder import SessionWriter, TurnRecorder
from chatterm.sessions.store import SessionError, SessionStore


class SessionKeeper:
    """The open session (if any), the store it lives in, and the writer that saves it.

    Args:
        store: where sessions are read and written.
        system: the system prompt of new chats (a loaded session keeps its own).
    """

    def __init__(self, store: SessionStore, *, system: str | None = None) -> None:
        self.store = store
        self.writer = SessionWriter(store)
        self.default_system = system
        self.session: Session | None = None
        #: the file :meth:`open` read the session from
        self.opened_from: Path | None = None
        self._system = system

    # -- the conversation -----------------------------------------------------------------

    @property
    def system(self) -> str | None:
        """The system prompt the next turn is sent with."""
        return self._system

    def switch_system(self, system: str | None) -> None:
        """Send ``system`` (None: no system prompt) from the next turn on; that turn
        records it. In a chat not begun yet, it is the new session's own."""
        self._system = system or None

    def history(self, next_prompt: str | None = None) -> list[Message]:
        """What ``next_prompt`` follows (see :func:`chatterm.sessions.model.history_of`)."""
        return list(self.session.history(next_prompt)) if self.session is not None else []

    def costs(self) -> SessionCosts:
        """The cost of every reply that has ended (not the one streaming), alternatives
        included: they were paid for too."""
        if self.session is None:
            return SessionCosts()
        self.session.sync()
        tree, path = self.session.tree, self.session.turns
        ended = [turn.cost for turn in tree if not turn.in_progress]
        return SessionCosts(ended, alternatives=len(tree) - len(path))

    def begin_turn(
        self, prompt: str, model: str, *, started: str | None = None, compacts: bool = False
    ) -> TurnRecorder:
        """Start recording a reply; the session (and its file) begins with the first one.
        The prompt is saved before the first token arrives. ``compacts``: the reply is a
        summary of the conversation, which the history sent after it starts with."""
        if self.session is None:
            self.session = new_session(system=self._system)
        system = self.session.system_to_record(self._system)
        return TurnRecorder(
            self.session,
            self.writer,
            prompt,
            model,
            started=started,
            compacts=compacts,
            system=system,
        )

    def begin_alternatives(self, prompt: str, models: Sequence[str]) -> list[TurnRecorder]:
        """Start recording one reply per model to the same prompt, as alternatives of one
        turn: each follows the turn the active path ends at, in the order given, and the
        active path ends at the first. They share the instant they were started, which is
        how a session tells replies begun together (compared) from replies regenerated
        one after another (:meth:`~chatterm.sessions.model.Session.begun_together`).
        Every prompt is saved before the first token."""
        recorders: list[TurnRecorder] = []
        started = now_iso()
        for model in models:
            if recorders:
                assert self.session is not None
                self.session.rewind(len(self.session.turns) - 1)  # the next one beside it
            recorders.append(self.begin_turn(prompt, model, started=started))
        if len(recorders) > 1:
            assert self.session is not None
            first = recorders[0].turn
            self.session.show(next(i for i, t in enumerate(self.session.tree) if t is first))
            self.path_changed()
        return recorders

    # -- switching sessions -----------------------------------------------------------

    def new(self) -> None:
        """Forget the open session (it stays saved); the next prompt starts another, with
        the default system prompt."""
        self.session = None
        self.opened_from = None
        self._system = self.default_system

    def open(self, ref: str) -> Session:
        """Load a session by id, id prefix or path and make it the open one.

        A turn saved mid-stream (chatterm was killed) is marked ``interrupted``: nothing
        will stream into it again, and the next save says so.

        Raises:
            SessionNotFound: no session has that id, prefix or path (or several match).
            SessionError: the session cannot be read (one line).
        """
        self.writer.wait()  # the open session's last save first, if it is the one asked for
        path = self.store.find(ref)
        session = self.store.load_path(path)
        for turn in session.tree:  # a reply killed in any branch
            if turn.in_progress:
                turn.finish_reason = "interrupted"
        self.session, self.opened_from = session, path
        self._system = session.system_in_force()
        return session

    def path_changed(self) -> None:
        """The open session's active path changed (an alternative shown, an exchange
        undone): save it, so that the file opens on the same branch."""
        if self.session is not None:
            self.session.touch()
            self.writer.submit(self.session)

    def is_open(self, session_id: str) -> bool:
        return self.session is not None and self.session.id == session_id

    def rename(self, ref: str, title: str) -> Session:
        """Retitle a session; returns it as saved.

        The open session is renamed in memory and saved from there (renaming the file
        under it would be undone by the chat's next save).

        Raises:
            SessionError: the session cannot be found, read or written.
        """
        path = self.store.find(ref)
        if self.session is not None and self._is_open_file(path):
            self.session.title = " ".join(title.split())
            self.session.touch()
            self.writer.save_now(self.session)
            return self.session
        return self.store.rename(str(path), title)

    def delete(self, ref: str) -> bool:
        """Delete a session's file; True if it was the open session (which is then
        forgotten, so the chat does not write it back)."""
        path = self.store.find(ref)
        was_open = self.session is not None and self._is_open_file(path)
        if was_open:
            self.writer.wait()  # a save still queued would bring the file back
        self.store.delete(str(path))
        if was_open:
            self.session = None
        return was_open

    def saved_path(self) -> Path | None:
        """Where the open session is saved, if it can be."""
        if self.session is None:
            return None
        try:
            return self.store.path_for(self.session)
        except SessionError:
            return None

    def _is_open_file(self, path: Path) -> bool:
        assert self.session is not None
        try:
            return self.store.path_for(self.session).resolve() == path.resolve()
        except SessionError:
            return False

    # -- saving -----------------------------------------------------------------------

    def take_error(self) -> str | None:
        """A save failure not reported yet (a repeat of the last one is not news)."""
        return self.writer.take_error()

    def take_notices(self) -> list[str]:
        """Notices not reported yet that the open session went on under a new id (see
        :meth:`forked_from`); :meth:`take_error` then gives only a failure."""
        return self.writer.take_notices()

    def forked_from(self) -> str | None:
        """The session the open one was copied from because another program changed its
        file meanwhile (saving it there would have written over that change), if it was."""
        if self.session is None:
            return None
        return self.writer.forked_from(self.session.id)

    def save_failure(self) -> SessionError | None:
        """Why the latest save failed, if it did."""
        return self.writer.failure()

    def close(self) -> None:
        """Finish every queued save (called when the app ends)."""
        self.writer.close()
