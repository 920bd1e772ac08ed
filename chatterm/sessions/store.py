"""One file per session, under the user data folder (or ``$CHATTERM_HOME/data``).

``<data>/sessions/<id>.json`` or ``<id>.toml``: new sessions are written in the configured
format, a loaded session keeps the format it was read in, and either format always loads.
Every write is atomic (:func:`chatterm.files.atomic_write`), mode 0600.

A file that cannot be parsed, or that a newer chatterm wrote, is reported by name and never
written over: only a session that loaded cleanly (or a new one) can be saved, and a new
session never takes the name of an existing file.

Sessions are named on the command line by id, by a unique prefix of an id, or by the path
of a session file.

The files attached to prompts are kept beside the sessions folder, in an
:class:`~chatterm.sessions.attachment_store.AttachmentStore` (``<data>/attachments/``);
deleting a session removes those of its attachments that no other session references.

When a search index exists (:mod:`chatterm.sessions.search`), saving a session puts its
text in it and deleting one takes it out; saving never creates the index.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from chatterm import paths
from chatterm.errors import ChattermError
from chatterm.files import atomic_write, file_problem, read_regular
from chatterm.sessions.attachment_store import FOLDER_NAME, AttachmentStore, AttachmentStoreError
from chatterm.sessions.codec import SESSION_FORMATS, SessionEncoder, SessionFormat, decode
from chatterm.sessions.index import (
    SEARCH_INDEX_NAME,
    SESSION_FILE_LIMIT,
    SessionFolderError,
    SessionSummary,
    broken_summary,
    list_summaries,
    session_files,
    summarize,
)
from chatterm.sessions.model import (
    SHA256_HEX,
    Session,
    SessionFormatError,
    is_valid_id,
    new_session_id,
)

if TYPE_CHECKING:
    from chatterm.sessions.search import SearchIndex
    from chatterm.sessions.search_scan import SessionText


class SessionError(ChattermError):
    """A session cannot be found, read or written; the message names the file and the fix."""


class SessionNotFound(SessionError):
    """No session has that id, or the prefix matches more than one (a usage mistake)."""


class SessionSaveFailed(SessionError):
    """The disk refused a session file (full, read-only, no permission); the old file stays.

    The message says the conversation is kept in memory, which is true in the TUI: the chat
    carries on and the next save tries again. A command that ends instead (``ask``) says
    what became of the exchange with :meth:`for_command`.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"cannot save the session to {path}: {reason}; the conversation is kept in "
            "memory — free space or fix the folder's permissions, or export it elsewhere"
        )
        self.path = path
        self.reason = reason

    def for_command(self, outcome: str, fix: str) -> str:
        """The message for a command that ends: ``outcome`` is what became of the
        exchange, ``fix`` what to do."""
        return f"cannot save the session to {self.path}: {self.reason}; {outcome} — {fix}"


class SessionConflict(SessionError):
    """The file changed on disk since this store read or wrote it (another chatterm, an
    editor): it is not written over."""


_FRESH_ID_TRIES = 100  # an id is the time plus 24 random bits: one try nearly always does

# What identifies one version of a file: a replace gives a new inode, an edit in place a
# new mtime or size.
Stamp = tuple[int, int, int]


def _stamp(path: Path) -> Stamp | None:
    try:
        stat = path.stat()
    except OSError:  # missing, or a folder that is not one: the write will say what is wrong
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def _folder_error(error: SessionFolderError) -> SessionError:
    return SessionError(str(error))


def sessions_dir() -> Path:
    return paths.data_dir() / "sessions"


class SessionStore:
    """Reads and writes session files in one folder.

    Args:
        folder: where the files live (default: :func:`sessions_dir`); the attachments
            are kept beside it, in ``attachments/``.
        new_format: the format of sessions created from now on.
    """

    def __init__(self, folder: Path | None = None, new_format: SessionFormat = "json") -> None:
        self.folder = folder or sessions_dir()
        self.attachments = AttachmentStore(self.folder.parent / FOLDER_NAME)
        self.new_format: SessionFormat = new_format
        # The file each session this store loaded or saved lives in; only those may be
        # written over, and only while they are as this store last saw them (None: the
        # file must not exist yet).
        self._owned: dict[str, Path] = {}
        self._stamps: dict[Path, Stamp | None] = {}
        self._lock = threading.Lock()  # commits come from a writer thread too
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
        try:
            return self._find(ref)
        except OSError as exc:  # the folder (or the path given) cannot be looked into
            where = Path(str(exc.filename or self.folder))
            if where.parent == self.folder:
                where = self.folder
            what = "the sessions folder " if where == self.folder else ""
            raise SessionError(f"cannot read {what}{where}: {file_problem(exc)}") from None

    def _find(self, ref: str) -> Path:
        candidate = Path(ref).expanduser()
        if candidate.suffix in (".json", ".toml") and _present(candidate):
            return candidate
        if is_valid_id(ref):
            exact = [self.folder / f"{ref}.{fmt}" for fmt in SESSION_FORMATS]
            found = [path for path in exact if _present(path)]
            if found:
                return _one_file(found)
            try:
                matches = sorted(
                    Path(entry.path)
                    for entry, _ in session_files(self.folder)
                    if entry.name.startswith(ref)
                )
            except SessionFolderError as exc:
                raise _folder_error(exc) from None
            stems = sorted({path.stem for path in matches})
            if len(stems) == 1:
                return _one_file(matches)
            if len(stems) > 1:
                names = ", ".join(stems[:3])
                more = ", …" if len(stems) > 3 else ""
                raise SessionNotFound(
                    f"{ref!r} matches {len(stems)} sessions ({names}{more}); give more of the id"
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
            # Stamped around the read, so a write landing meanwhile is not taken for ours.
            for _ in range(3):
                before = _stamp(path)
                raw = read_regular(path, limit=SESSION_FILE_LIMIT)
                stamp = _stamp(path)
                if stamp == before:
                    break
        except OSError as exc:
            raise SessionError(f"cannot read {path}: {file_problem(exc)}") from None
        try:
            session = decode(raw, fmt)
        except SessionFormatError as exc:
            raise SessionError(f"{path}: {exc}; the file is left as it is") from None
        if path.parent.resolve() == self.folder.resolve():
            if path.stem != session.id:
                raise SessionError(
                    f"{path} holds session {session.id!r:.40}, not {path.stem!r}; rename the "
                    f"file to {session.id}{path.suffix} to open it"
                )
            with self._lock:
                self._owned[session.id] = path
                self._stamps[path] = stamp
        return session

    def list(self, *, figures: bool = False) -> list[SessionSummary]:
        """Every session, newest first; unreadable files are listed with their problem.
        ``figures``: the summaries' reply figures are checked (see :func:`list_summaries`)."""
        try:
            return list_summaries(self.folder, self._summarize_file, figures=figures)
        except SessionFolderError as exc:
            raise _folder_error(exc) from None

    def _summarize_file(self, path: Path, fmt: SessionFormat) -> SessionSummary:
        try:
            session = decode(read_regular(path, limit=SESSION_FILE_LIMIT), fmt)
        except OSError as exc:
            return broken_summary(path.name, fmt, file_problem(exc), transient=True)
        except SessionFormatError as exc:
            return broken_summary(path.name, fmt, str(exc))
        except Exception as exc:  # noqa: BLE001 - one odd file must not hide the others
            return broken_summary(path.name, fmt, f"cannot be read ({type(exc).__name__})")
        if session.id != path.stem:
            return broken_summary(
                path.name,
                fmt,
                f"holds session {session.id!r:.40}; rename the file to {session.id}{path.suffix}",
            )
        return summarize(session, fmt, path.name)

    # -- writing ----------------------------------------------------------------------

    def prepare(self, session: Session) -> tuple[Path, bytes]:
        """The file and the bytes to write for ``session``, checked but not yet written
        (so a caller can write them on another thread with :meth:`commit`).

        A session that has no file of its own yet (a new one, or one read from a file
        outside the folder) whose id is already taken in the folder gets a fresh id: it
        never takes an existing file's place.
        """
        with self._lock:
            if session.id not in self._owned:
                if not is_valid_id(session.id):
                    raise SessionError(f"{session.id!r:.40} cannot be a session id (a file name)")
                path = self.folder / f"{session.id}.{self.new_format}"
                try:
                    for _ in range(_FRESH_ID_TRIES):
                        if not self._taken(session.id):
                            break
                        session.id = new_session_id()
                    else:
                        raise SessionSaveFailed(path, "no free session id (the clock is stuck?)")
                except OSError as exc:  # the folder cannot be looked into
                    raise SessionSaveFailed(path, _save_reason(exc)) from None
                path = self.folder / f"{session.id}.{self.new_format}"
                self._owned[session.id] = path
                self._stamps[path] = None
            path = self._owned[session.id]
        return path, self._encoder.encode(session, _format_of(path))

    def _taken(self, session_id: str) -> bool:
        """Whether a file (or a link, even to nothing) holds the name; OSError when the
        folder cannot be looked into."""
        for fmt in SESSION_FORMATS:
            try:
                (self.folder / f"{session_id}.{fmt}").lstat()
            except FileNotFoundError:
                continue
            return True
        return False

    def commit(self, path: Path, data: bytes) -> None:
        """Write prepared bytes, unless the file changed since this store last saw it.

        Raises:
            SessionConflict: someone else wrote or removed the file; it is left alone.
            SessionError: the disk refused (full, read-only); the old file stays.
        """
        with self._lock:
            expected = self._stamps.get(path)
            if _stamp(path) != expected:
                raise SessionConflict(
                    f"{path} changed on disk since chatterm opened it (another chatterm or an "
                    "editor); it is not written over"
                )
            write_session_file(path, data)
            self._stamps[path] = _stamp(path)

    def changed_on_disk(self, session: Session) -> bool:
        """True if the session's file is not as this store last wrote or read it."""
        with self._lock:
            path = self._owned.get(session.id)
            return path is not None and _stamp(path) != self._stamps.get(path)

    def fork(self, session: Session) -> str:
        """Give ``session`` a fresh id (and file), leaving its old file to whoever changed
        it; returns the old id."""
        old = session.id
        with self._lock:
            path = self._owned.pop(old, None)
            if path is not None:
                self._stamps.pop(path, None)
        session.id = new_session_id()
        return old

    def save(self, session: Session) -> Path:
        """Write ``session`` to its file, atomically (see :meth:`commit`), and into the
        search index if there is one."""
        path, data = self.prepare(session)
        text = self.searchable_text(session)
        self.commit(path, data)
        if text is not None:
            self.index_saved(path, text)
        return path

    def rename(self, ref: str, title: str) -> Session:
        session = self.load(ref)
        session.title = " ".join(title.split())
        session.touch()
        self.save(session)
        return session

    def delete(self, ref: str, *, keep: Collection[str] = ()) -> Path:
        """Remove a session's file (even one that cannot be read: the user asked), and the
        stored attachments it references that no other session does (nor ``keep``: the
        hashes an unsaved session in memory references)."""
        path = self.find(ref)
        attached = self._attachments_of_file(path)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SessionError(f"cannot delete {path}: {file_problem(exc)}") from None
        with self._lock:
            self._owned = {k: v for k, v in self._owned.items() if v != path}
            self._stamps.pop(path, None)
        if path.parent == self.folder and self._has_search_index():
            self.search_index().forget(path.name)
        self._remove_unused_attachments(attached - set(keep), path)
        return path

    # -- attachments ------------------------------------------------------------------

    def _attachments_of_file(self, path: Path) -> set[str]:
        """The hashes of the attachments a session file references: from its turns, or
        when it does not parse, every hash written in it (what it may have referenced)."""
        try:
            raw = read_regular(path, limit=SESSION_FILE_LIMIT)
        except OSError:
            return set()  # nothing is known: nothing is removed
        if b"sha256" not in raw:
            return set()  # no attachment (the usual case): not worth parsing
        try:
            session = decode(raw, _format_of(path))
        except SessionFormatError:
            return set(_HASH_IN_TEXT.findall(raw.decode("ascii", "replace")))
        return {ref.sha256 for turn in session.tree for ref in turn.attachments}

    def _remove_unused_attachments(self, hashes: set[str], deleted: Path) -> None:
        """Remove the stored files of ``hashes`` that no session in the folder references.
        The references come from the listing (its index rebuilt for any file changed); a
        file that cannot be parsed keeps every hash written in it, and one that cannot be
        read at all keeps them all."""
        if not hashes:
            return
        try:
            summaries = self.list()
        except SessionError:
            return  # the folder cannot be read: every file is kept
        used: set[str] = set()
        for summary in summaries:
            if summary.problem is None:
                used.update(summary.attachments)
                continue
            try:
                raw = read_regular(self.folder / summary.file_name, limit=SESSION_FILE_LIMIT)
            except OSError:
                return
            used.update(sha for sha in hashes if sha.encode() in raw)
        try:
            self.attachments.remove(hashes - used)
        except AttachmentStoreError as exc:
            raise SessionError(f"deleted {deleted}, but {exc}") from None

    # -- the search index ---------------------------------------------------------------

    def search_index(self) -> SearchIndex:
        """The full-text index of this folder's sessions."""
        from chatterm.sessions.search import SearchIndex  # SQLite loads when first needed

        return SearchIndex(self.folder)

    def _has_search_index(self) -> bool:
        return os.path.lexists(self.folder / SEARCH_INDEX_NAME)

    def searchable_text(self, session: Session) -> SessionText | None:
        """What the search index would keep of ``session`` as it is now, to pass to
        :meth:`index_saved` once it is saved; None when there is no index to keep it."""
        if not self._has_search_index():
            return None
        from chatterm.sessions.search_scan import session_text

        return session_text(session)

    def index_saved(self, path: Path, text: SessionText) -> None:
        """Put a session just written to ``path`` into the search index, as of the file
        this store wrote (a failure leaves the index stale: the next search reads it)."""
        with self._lock:
            stamp = self._stamps.get(path)
        self.search_index().record(path.name, stamp, text)


def _present(path: Path) -> bool:
    """Whether something other than a folder holds the name (a FIFO or a link to nothing
    too: reading it then says what it is, rather than "no such session")."""
    try:
        return not stat.S_ISDIR(path.stat().st_mode)
    except NotADirectoryError:  # the folder is a file: listing it says so
        return False
    except FileNotFoundError:
        return path.is_symlink()


def _one_file(paths: list[Path]) -> Path:
    if len(paths) > 1:
        raise SessionError(
            f"{paths[0]} and {paths[1]} both hold session {paths[0].stem}; remove one "
            "(or rename it to another id) to open it"
        )
    return paths[0]


def write_session_file(path: Path, data: bytes) -> None:
    """Atomically write a session file; :class:`SessionError` if the disk refuses."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise SessionSaveFailed(path, _save_reason(exc)) from None


def _save_reason(exc: OSError) -> str:
    if exc.errno is not None and exc.errno in _DISK_FULL:
        return "the disk is full"
    return exc.strerror or type(exc).__name__


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
_HASH_IN_TEXT = re.compile(rf"(?<![0-9a-f])({SHA256_HEX.pattern})(?![0-9a-f])")


def _format_of(path: Path) -> SessionFormat:
    return "toml" if path.suffix == ".toml" else "json"
