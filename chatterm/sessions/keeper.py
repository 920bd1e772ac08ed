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

Files attached to a prompt are stored (once, by hash) before the prompt is saved, and the
history sends them again from the store. One that is missing or damaged there is left out
of what is sent and reported once (:meth:`SessionKeeper.take_attachment_notices`); the
session opens all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chatterm.events import Attachment, Message
from chatterm.reply.figures import SessionCosts
from chatterm.sessions.attachment_store import AttachmentUnavailable
from chatterm.sessions.model import AttachmentRef, Session, Turn, history_of, new_session, now_iso
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
        # The open session's attachments: bytes read back (checked) or stored, by hash,
        # and the hashes found unavailable; what has been reported, by (session, hash).
        self._attached: dict[str, bytes] = {}
        self._unavailable: set[str] = set()
        self._reported: set[tuple[str, str]] = set()
        self._attachment_notices: list[str] = []

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
        """What ``next_prompt`` follows (see :func:`chatterm.sessions.model.history_of`),
        each prompt with its attachments read back from the store (see
        :meth:`attachments_of`)."""
        if self.session is None:
            return []
        return list(history_of(self.session.turns, next_prompt, self.attachments_of))

    def attachments_of(self, turn: Turn) -> tuple[Attachment, ...]:
        """The files attached to ``turn``'s prompt, with their bytes (to send again, or to
        attach to a regenerated prompt). One missing or damaged in the store is left out
        and reported once (:meth:`take_attachment_notices`)."""
        found: list[Attachment] = []
        for ref in turn.attachments:
            data = self._attached.get(ref.sha256)
            if data is None and ref.sha256 not in self._unavailable:
                try:
                    data = self.store.attachments.load(ref)
                except AttachmentUnavailable as problem:
                    self._unavailable.add(ref.sha256)
                    self._report(problem)
                else:
                    self._attached[ref.sha256] = data
            if data is not None:
                found.append(ref.with_data(data))
        return tuple(found)

    def take_attachment_notices(self) -> list[str]:
        """One line for each attachment of the open session found missing or damaged in
        the store since the last call (each is reported once)."""
        notices, self._attachment_notices = self._attachment_notices, []
        return notices

    def _report(self, problem: AttachmentUnavailable) -> None:
        session_id = self.session.id if self.session is not None else ""
        key = (session_id, problem.ref.sha256)
        if key in self._reported:
            return
        self._reported.add(key)
        self._attachment_notices.append(
            f"{problem} (session {session_id}); the turn opens without it, and it is not sent"
        )

    def _store(self, attachments: Sequence[Attachment]) -> tuple[AttachmentRef, ...]:
        """Store the attachments' bytes (synced) and give their references.

        Raises:
            AttachmentStoreError: the disk refused one (nothing is recorded then).
        """
        refs = tuple(self.store.attachments.put(attachment) for attachment in attachments)
        for attachment in attachments:
            self._attached[attachment.sha256] = attachment.data
            self._unavailable.discard(attachment.sha256)
        return refs

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
        self,
        prompt: str,
        model: str,
        *,
        started: str | None = None,
        compacts: bool = False,
        attachments: Sequence[Attachment] = (),
    ) -> TurnRecorder:
        """Start recording a reply; the session (and its file) begins with the first one.
        The prompt is saved before the first token arrives, and its ``attachments`` are
        stored before that. ``compacts``: the reply is a summary of the conversation, which
        the history sent after it starts with.

        Raises:
            AttachmentStoreError: an attachment could not be stored; nothing is recorded
                (send nothing: the reply could not be kept with its files).
        """
        refs = self._store(attachments)
        return self._begin(prompt, model, started=started, compacts=compacts, attachments=refs)

    def _begin(
        self,
        prompt: str,
        model: str,
        *,
        started: str | None = None,
        compacts: bool = False,
        attachments: tuple[AttachmentRef, ...] = (),
    ) -> TurnRecorder:
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
            attachments=attachments,
        )

    def begin_alternatives(
        self, prompt: str, models: Sequence[str], *, attachments: Sequence[Attachment] = ()
    ) -> list[TurnRecorder]:
        """Start recording one reply per model to the same prompt, as alternatives of one
        turn: each follows the turn the active path ends at, in the order given, and the
        active path ends at the first. They share the instant they were started, which is
        how a session tells replies begun together (compared) from replies regenerated
        one after another (:meth:`~chatterm.sessions.model.Session.begun_together`).
        Every prompt is saved before the first token, each with the same ``attachments``
        (stored once, first).

        Raises:
            AttachmentStoreError: as :meth:`begin_turn`; nothing is recorded.
        """
        refs = self._store(attachments)
        recorders: list[TurnRecorder] = []
        started = now_iso()
        for model in models:
            if recorders:
                assert self.session is not None
                self.session.rewind(len(self.session.turns) - 1)  # the next one beside it
            recorders.append(self._begin(prompt, model, started=started, attachments=refs))
        if len(recorders) > 1:
            TurnRecorder.save_together(recorders)
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
        self._forget_attachments()

    def _forget_attachments(self) -> None:
        self._attached.clear()
        self._unavailable.clear()

    def open(self, ref: str) -> Session:
        """Load a session by id, id prefix or path and make it the open one.

        A turn saved mid-stream (chatterm was killed) is marked ``interrupted``: nothing
        will stream into it again, and the next save says so. An attachment missing from
        the store (or not its recorded size) is reported (:meth:`take_attachment_notices`).

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
        self._forget_attachments()
        for attached in dict.fromkeys(ref for turn in session.tree for ref in turn.attachments):
            problem = self.store.attachments.check(attached)
            if problem is not None:
                self._unavailable.add(attached.sha256)
                self._report(problem)
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
        """Delete a session's file, and the attachments only it used; True if it was the
        open session (which is then forgotten, so the chat does not write it back)."""
        path = self.store.find(ref)
        was_open = self.session is not None and self._is_open_file(path)
        if was_open:
            self.writer.wait()  # a save still queued would bring the file back
        keep = set() if was_open or self.session is None else self._open_attachments()
        self.store.delete(str(path), keep=keep)
        if was_open:
            self.session = None
            self._forget_attachments()
        return was_open

    def _open_attachments(self) -> set[str]:
        """The hashes of the open session's attachments (it may not be saved yet)."""
        assert self.session is not None
        return {ref.sha256 for turn in self.session.tree for ref in turn.attachments}

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
