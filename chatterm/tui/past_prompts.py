"""The prompts of every saved chat, for the search behind the past-prompts key (alt+h).

A session's summary in the index holds only the start of its first prompt, so the
sessions themselves are read: newest first, a batch at a time (the screen shows each batch
as it comes, from a thread), at most :data:`MAX_SESSIONS` sessions and
:data:`MAX_PROMPTS` prompts. Each text is listed once, where it was sent last. A file that
cannot be read is passed over: the sessions screen is where its problem is shown.

The files are read through a store of this module's own, so the app's store does not
take up, as files it may write, sessions it never opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chatterm.sessions.index import SessionSummary
from chatterm.sessions.model import Session
from chatterm.sessions.store import SessionError, SessionStore

MAX_SESSIONS = 200
MAX_PROMPTS = 2000


@dataclass(frozen=True, slots=True)
class PastPrompt:
    """A prompt as sent (raw: shown through ``safe_text``), and where it comes from."""

    text: str
    title: str  # the session's
    sent: str  # when its turn started, ISO 8601


def prompts_of(session: Session) -> list[PastPrompt]:
    """The prompts of ``session``, every branch's, the newest first."""
    session.sync()
    return [PastPrompt(turn.prompt, session.title, turn.started) for turn in reversed(session.tree)]


class PastPrompts:
    """Reads the prompts of the sessions in ``folder``; :meth:`sessions` first, then
    :meth:`read` batch by batch (on a thread: each file is parsed) until :attr:`full`."""

    def __init__(
        self, folder: Path, *, max_sessions: int = MAX_SESSIONS, max_prompts: int = MAX_PROMPTS
    ) -> None:
        self._store = SessionStore(folder)
        self.max_sessions = max_sessions
        self.max_prompts = max_prompts
        self._seen: set[str] = set()
        self.count = 0  # prompts found so far

    @property
    def full(self) -> bool:
        return self.count >= self.max_prompts

    def sessions(self) -> list[SessionSummary]:
        """The newest readable sessions, newest first (SessionError if the folder cannot
        be listed)."""
        readable = [summary for summary in self._store.list() if summary.problem is None]
        return readable[: self.max_sessions]

    def read(self, summaries: Sequence[SessionSummary]) -> list[PastPrompt]:
        """The prompts of these sessions not found before, newest first, up to the cap."""
        found: list[PastPrompt] = []
        for summary in summaries:
            try:
                session = self._store.load_path(self._store.folder / summary.file_name)
            except SessionError:
                continue  # changed or gone since it was listed: passed over
            for prompt in prompts_of(session):
                if self.full:
                    return found
                if not prompt.text.strip() or prompt.text in self._seen:
                    continue
                self._seen.add(prompt.text)
                found.append(prompt)
                self.count += 1
        return found
