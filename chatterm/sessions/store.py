"""One file per session, under the user data folder (or ``$CHATTERM_HOME/data``).

``<data>/sessions/<id>.json`` or ``<id>.toml``: new sessions are written in the configured
format, a loaded session keeps the format it was read in, and either format always loads.
Every write is atomic (:func:`chatterm.files.atomic_write`), mode 0600.

A file that cannot be parsed, or that a newer chatterm wrote, is reported by name and never
written over: only a session that loaded cleanly (or a new one) can be saved, and a new
session never takes the name of an existing file.

Sessions are named on the command line by id, by a unique prefix of an id, or by the path
of a session file.
"""

from __future__ import annotations

import errno
from pathlib import Path

from chatterm import paths
from chatterm.errors import ChattermError
from chatterm.files import atomic_write
from chatterm.sessions.codec import FORMATS, SessionEncoder, SessionFormat, decode
from chatterm.sessions.index import (
    SessionFolderError,
    SessionSummary,
    broken_summary,
    list_summaries,
    session_files,
    summarize,
)
from chatterm.sessions.model import Session, SessionFormatError, is_valid_id


class SessionError(ChattermError):
    """A session cannot be found, read or written; the message names the file and the fix."""


class SessionNotFound(SessionError):
    """No session has that id, or the prefix matches more than one (a usage mistake)."""


def _folder_error(error: SessionFolderError) -> SessionError:
    return SessionError(str(error))


def sessions_dir() -> Path:
    return paths.data_dir() / "sessions"


class SessionStore:
    """Reads and writes session files in one folder.

    Args:
        folder: where the files live (default: :func:`sessions_dir`).
        new_format: the format of sessions created from now on.
    """

    def __init__(self, folder: Path | None = None, new_format: SessionFormat = "json") -> None:
        self.folder = folder or sessions_dir()
        self.new_format: SessionFormat = new_format
        # The file each session this store loaded or saved lives in; only those may be
        # written over.
        self._owned: dict[str, Path] = {}
        self._encoder = SessionEncoder()

    # -- paths ------------------------------------------------------------------------

    def path_for(self, session: Session) -> Path:
        """Where ``session`` is (or will be) saved."""
        owned = self._owned.get(session.id)
        if owned is not None:
            return owned
        if not is_valid_id(session.id):
            raise SessionError(f"{session.id!r:.40} cannot be a session id (a file name)")
        return self.folder / f"{session.id}.{self.new_format}"

    def find(self, ref: str) -> Path:
        """The file for an id, a unique id prefix, or a path to a session file."""
        candidate = Path(ref).expanduser()
        if candidate.suffix in (".json", ".toml") and candidate.is_file():
            return candidate
        if is_valid_id(ref):
            for fmt in FORMATS:
                exact = self.folder / f"{ref}.{fmt}"
                if exact.is_file():
                    return exact
            try:
                matches = sorted(
                    Path(entry.path)
                    for entry, _ in session_files(self.folder)
                    if entry.name.startswith(ref)
                )
            except SessionFolderError as exc:
                raise _folder_error(exc) from None
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                names = ", ".join(p.stem for p in matches[:3])
                more = ", …" if len(matches) > 3 else ""
                raise SessionNotFound(
                    f"{ref!r} matches {len(matches)} sessions ({names}{more}); give more of the id"
                )
        raise SessionNotFound(
            f"no session {ref!r:.60} in {self.folder}; `chatterm sessions list` shows the ids"
        )

    # -- reading ----------------------------------------------------------------------

    def load(self, ref: str) -> Session:
        """Read a session; :class:`SessionError` says which file failed and why."""
        return self.load_path(self.find(ref))

    def load_path(self, path: Path) -> Session:
        fmt = _format_of(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SessionError(
                f"cannot read {path}: {exc.strerror or exc}; check its permissions"
            ) from None
        try:
            session = decode(raw, fmt)
        except SessionFormatError as exc:
            raise SessionError(f"{path}: {exc}; the file is left as it is") from None
        if path.parent.resolve() == self.folder.resolve() and path.stem == session.id:
            self._owned[session.id] = path
        return session

    def list(self) -> list[SessionSummary]:
        """Every session, newest first; unreadable files are listed with their problem."""
        try:
            return list_summaries(self.folder, self._summarize_file)
        except SessionFolderError as exc:
            raise _folder_error(exc) from None

    def _summarize_file(self, path: Path, fmt: SessionFormat) -> SessionSummary:
        try:
            session = decode(path.read_bytes(), fmt)
        except OSError as exc:
            return broken_summary(path.name, fmt, f"cannot read: {exc.strerror or exc}")
        except SessionFormatError as exc:
            return broken_summary(path.name, fmt, str(exc))
        return summarize(session, fmt, path.name)

    # -- writing ----------------------------------------------------------------------

    def prepare(self, session: Session) -> tuple[Path, bytes]:
        """The file and the bytes to write for ``session``, checked but not yet written
        (so a caller can write them on another thread)."""
        path = self.path_for(session)
        if session.id not in self._owned:
            if any((self.folder / f"{session.id}.{fmt}").exists() for fmt in FORMATS):
                raise SessionError(
                    f"a session file named {session.id} already exists in {self.folder}; "
                    "it is left as it is"
                )
            self._owned[session.id] = path
        return path, self._encoder.encode(session, _format_of(path))

    def save(self, session: Session) -> Path:
        """Write ``session`` to its file, atomically."""
        path, data = self.prepare(session)
        write_session_file(path, data)
        return path

    def rename(self, ref: str, title: str) -> Session:
        session = self.load(ref)
        session.title = " ".join(title.split())
        session.touch()
        self.save(session)
        return session

    def delete(self, ref: str) -> Path:
        """Remove a session's file (even one that cannot be read: the user asked)."""
        path = self.find(ref)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SessionError(f"cannot delete {path}: {exc.strerror or exc}") from None
        self._owned = {k: v for k, v in self._owned.items() if v != path}
        return path


def write_session_file(path: Path, data: bytes) -> None:
    """Atomically write a session file; :class:`SessionError` if the disk refuses."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if exc.errno is not None and exc.errno in _DISK_FULL:
            reason = "the disk is full"
        raise SessionError(
            f"cannot save the session to {path}: {reason}; the conversation is kept in "
            "memory — free space or fix the folder's permissions, or export it elsewhere"
        ) from None


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


def _format_of(path: Path) -> SessionFormat:
    return "toml" if path.suffix == ".toml" else "json"
