"""Full-text search over every saved session: a SQLite FTS5 index next to the session files.

The files stay the truth. The index (``<sessions>/.search.sqlite3``, mode 0600) holds the
text of every turn of every session (each branch's: prompt, reasoning, answer) and, per
file, the ``(inode, mtime, size)`` it was read at. Each search first compares those with the
folder (one ``stat`` per file) and reads again only the files that are new or changed, and
drops the files that are gone, so an index that is missing is built, and one that is
stale (a file edited behind chatterm's back) is brought up to date, before it answers. A
save updates the index in place when the index exists (saving never creates it), and
only the turns whose text changed are written again. A damaged index is deleted and
built again; one that cannot be used (locked by another chatterm for too long, a
read-only folder, no FTS5 in this Python's SQLite) is bypassed: the files are read and
searched directly. Either way the search says so in a note and never fails on its account.

A query is words, ``"quoted phrases"`` and ``prefix*``; every one must appear in the turn
(in any of its texts). User text never reaches FTS5 as syntax: each term is passed as a
quoted string. Matching folds case and diacritics (``unicode61 remove_diacritics 2``):
``creme`` finds "Crème". A run of letters with no spaces (Chinese, Japanese) is one word
to this tokenizer, so part of one is found with a prefix (``日本*``).

The query language and the snippets are :mod:`chatterm.sessions.search_query` (plain
text); a session's searchable text, the results and the search that reads the files
directly are :mod:`chatterm.sessions.search_scan`. This module is the index.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from chatterm.files import file_problem, kind_of
from chatterm.sessions.codec import SessionFormat
from chatterm.sessions.index import (
    SEARCH_INDEX_NAME,
)
from chatterm.sessions.search_query import FIELDS, SNIPPET_CHARS, Query, make_snippet
from chatterm.sessions.search_scan import (
    SearchError,
    SearchHit,
    SearchResults,
    SessionText,
    read_session_text,
    scan_folder,
)
from chatterm.text import mend

INDEX_VERSION = 1
BUSY_TIMEOUT_S = 3.0  # another chatterm writing the index: wait this long, then bypass it
SAVE_TIMEOUT_S = 0.2  # a save does not wait longer: the next search catches up instead
BATCH_S = 0.5  # a build commits this often, so another chatterm is not kept waiting
DEFAULT_LIMIT = 50


Stamp = tuple[int, int, int]  # inode, mtime_ns, size: one version of a file
_RETRY = "retry"  # the stamp of a file that could not be read for now: tried again
_SESSION_SUFFIXES = (".json", ".toml")


# -- the index --------------------------------------------------------------------------------

# A turn's row id in ``turns`` and ``body`` is its file's id and its index in the session's
# tree in one number, so the turns of a file are one range of row ids (and the sessions a
# query matches come without a join).
TREE_BITS = 24
_TREE_MASK = (1 << TREE_BITS) - 1

_SCHEMA = """
CREATE TABLE files(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    stamp TEXT NOT NULL,
    session_id TEXT NOT NULL,
    title TEXT NOT NULL,
    updated TEXT NOT NULL,
    problem TEXT
);
CREATE INDEX files_by_update ON files(updated, session_id);
CREATE TABLE turns(
    id INTEGER PRIMARY KEY,
    turn INTEGER NOT NULL,
    position INTEGER,
    fingerprint INTEGER NOT NULL
);
CREATE VIRTUAL TABLE body USING fts5(
    prompt, reasoning, answer, tokenize = 'unicode61 remove_diacritics 2', columnsize = 0
);
"""

# The newest of the sessions that match (their ids come from one pass over the matches:
# FTS5 reads a prefix's words once, and most of a query's time is that pass).
_NEWEST = """
SELECT id, session_id, title, updated, name FROM files
WHERE id IN (SELECT value FROM json_each(?))
ORDER BY updated DESC, session_id DESC LIMIT ?
"""


class _Bypass(Exception):
    """The index cannot be used for now; the message says why, in a few words."""


class _Damaged(Exception):
    """The index is not a database of ours, or not whole."""


def _key(name: str) -> str:
    """A file name as the index keeps it: itself, unless it holds bytes that are not UTF-8
    (which SQLite text cannot hold: they are written as ``\\xNN``)."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _stamp_text(stamp: Stamp) -> str:
    inode, mtime_ns, size = stamp
    return f"{inode}:{mtime_ns}:{size}"


class SearchIndex:
    """The search index of the sessions in ``folder``.

    Each call opens the database and closes it again (so a save on the writer thread and
    a search on another never share a connection), and none raises for the index's sake.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / SEARCH_INDEX_NAME

    def exists(self) -> bool:
        return os.path.lexists(self.path)

    # -- searching --------------------------------------------------------------------

    def search(
        self,
        query: Query,
        *,
        limit: int | None = DEFAULT_LIMIT,
        snippet_chars: int = SNIPPET_CHARS,
        progress: Callable[[int], None] | None = None,
    ) -> SearchResults:
        """The sessions whose turns hold every term, newest first (at most ``limit``).

        ``progress`` is told how many files are about to be read into the index, when
        there are many (a first search, after an upgrade).

        Raises:
            SearchError: the sessions folder itself cannot be read.
        """
        results = SearchResults()
        if not query or not os.path.lexists(self.folder):
            return results  # nothing to search (no session saved yet)
        for attempt in range(2):
            try:
                with self._open() as db:
                    self._update(db, self._scan(), progress)
                    turn_ids = _matching_turns(db, query)
                    return self._results(db, query, turn_ids, limit, snippet_chars, results)
            except _Damaged as damaged:
                if attempt:
                    results.notes.append(f"the search index is damaged again ({damaged})")
                    break
                self._discard()
                results.notes.append(
                    f"the search index {self.path.name} was damaged ({damaged}); it was built again"
                )
            except _Bypass as why:
                results.notes.append(
                    f"the search index cannot be used ({why}); the session files were "
                    "searched directly"
                )
                break
        return scan_folder(self.folder, query, limit, snippet_chars, results)

    def _results(
        self,
        db: sqlite3.Connection,
        query: Query,
        turn_ids: list[int],
        limit: int | None,
        snippet_chars: int,
        results: SearchResults,
    ) -> SearchResults:
        """The newest sessions among those ``turn_ids`` belong to, each with a turn."""
        files = {turn_id >> TREE_BITS for turn_id in turn_ids}
        results.total = len(files)
        if not files:
            return results
        listed = json.dumps(list(files))
        newest = db.execute(_NEWEST, (listed, -1 if limit is None else limit)).fetchall()
        shown = {row[0] for row in newest}
        matching: dict[int, set[int]] = {file_id: set() for file_id in shown}
        for turn_id in turn_ids:
            if (file_id := turn_id >> TREE_BITS) in shown:
                matching[file_id].add(turn_id)
        for file_id, session_id, title, updated, name in newest:
            wanted = matching[file_id]
            turns = [
                (turn_id, turn, position)
                for turn_id, turn, position in db.execute(
                    "SELECT id, turn, position FROM turns WHERE id BETWEEN ? AND ?",
                    (min(wanted), max(wanted)),
                )
                if turn_id in wanted
            ]
            if not turns:
                continue
            turn_id, turn, position = min(turns, key=_shown_row_first)
            texts = db.execute(
                "SELECT prompt, reasoning, answer FROM body WHERE rowid = ?", (turn_id,)
            ).fetchone()
            results.hits.append(
                SearchHit(
                    session_id=session_id,
                    title=title,
                    updated=updated,
                    file_name=name,
                    tree_index=turn_id & _TREE_MASK,
                    turn=turn,
                    active=position is not None,
                    snippet=make_snippet(
                        query, dict(zip(FIELDS, texts, strict=True)), snippet_chars
                    ),
                    turns_matched=len(turns),
                )
            )
        return results

    # -- keeping it up to date ----------------------------------------------------------

    def record(self, file_name: str, stamp: Stamp | None, text: SessionText) -> None:
        """A session was just written to ``file_name`` (now at ``stamp``): index its text.
        Only an index that exists is updated; any trouble leaves it for the next search
        to see (the file will not match the stamp the index holds)."""
        if stamp is None or not self.exists():
            return
        with contextlib.suppress(_Bypass, _Damaged, sqlite3.Error, OSError):
            with self._open(create=False, timeout=SAVE_TIMEOUT_S) as db:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    _record(db, _key(file_name), _stamp_text(stamp), text, None)

    def forget(self, file_name: str) -> None:
        """A session file was deleted: its text leaves the index."""
        if not self.exists():
            return
        with contextlib.suppress(_Bypass, _Damaged, sqlite3.Error, OSError):
            with self._open(create=False, timeout=SAVE_TIMEOUT_S) as db:
                with db:
                    row = db.execute(
                        "SELECT id FROM files WHERE name = ?", (_key(file_name),)
                    ).fetchone()
                    if row is not None:
                        _drop_file(db, row[0])

    def refresh(self, progress: Callable[[int], None] | None = None) -> list[str]:
        """Bring the index up to date with the folder (building it if it is missing);
        returns notes, as :meth:`search` gives them.

        Raises:
            SearchError: the sessions folder itself cannot be read.
        """
        notes: list[str] = []
        for attempt in range(2):
            try:
                with self._open() as db:
                    self._update(db, self._scan(), progress)
                    return notes
            except _Damaged as damaged:
                if attempt:
                    notes.append(f"the search index is damaged again ({damaged})")
                    break
                self._discard()
                notes.append(f"the search index was damaged ({damaged}); it was built again")
            except _Bypass as why:
                notes.append(f"the search index cannot be used ({why})")
                break
        return notes

    def _scan(self) -> list[tuple[str, str, SessionFormat, str]]:
        """Every session file in the folder: its path, its name as the index keeps it, its
        format and its stamp. This runs before every search, over every file, so it is
        kept to one ``stat`` a file."""
        found: list[tuple[str, str, SessionFormat, str]] = []
        try:
            entries = os.scandir(self.folder)
        except OSError as exc:
            raise SearchError(
                f"cannot read the sessions folder {self.folder}: {file_problem(exc)}"
            ) from None
        with entries:
            for entry in entries:
                name = entry.name
                if not name.endswith(_SESSION_SUFFIXES) or name[0] == "." or len(name) == 5:
                    continue  # not a session, hidden, or no name before the extension
                try:
                    info = entry.stat()
                except OSError:
                    continue  # gone, or a link to nothing: nothing to search
                fmt: SessionFormat = "json" if name.endswith(".json") else "toml"
                key = name if name.isascii() else _key(name)
                stamp = f"{info.st_ino}:{info.st_mtime_ns}:{info.st_size}"
                found.append((entry.path, key, fmt, stamp))
        return found

    def _update(
        self,
        db: sqlite3.Connection,
        files: list[tuple[str, str, SessionFormat, str]],
        progress: Callable[[int], None] | None,
    ) -> bool:
        """Read the new and changed ``files`` into the index and drop the files that are
        gone; whether anything changed."""
        unseen: dict[str, str] = dict(db.execute("SELECT name, stamp FROM files"))
        stale = [file for file in files if unseen.pop(file[1], None) != file[3]]
        gone = unseen.keys()
        if not stale and not gone:
            return False
        if progress is not None and len(stale) > 100:
            progress(len(stale))
        with db:
            db.execute("BEGIN IMMEDIATE")
            for key in gone:
                row = db.execute("SELECT id FROM files WHERE name = ?", (key,)).fetchone()
                if row is not None:
                    _drop_file(db, row[0])
        batch_until = time.monotonic() + BATCH_S
        db.execute("BEGIN IMMEDIATE")
        try:
            for path, key, fmt, stamp in stale:
                _index_file(db, Path(path), key, fmt, stamp)
                if time.monotonic() > batch_until:
                    db.commit()
                    batch_until = time.monotonic() + BATCH_S
                    db.execute("BEGIN IMMEDIATE")
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return True

    # -- the database file ----------------------------------------------------------------

    @contextlib.contextmanager
    def _open(
        self, *, create: bool = True, timeout: float = BUSY_TIMEOUT_S
    ) -> Iterator[sqlite3.Connection]:
        """The database, made (mode 0600) if missing and ``create``; :class:`_Damaged` or
        :class:`_Bypass` for what goes wrong, whenever it does."""
        try:
            db = self._connect(create, timeout)
        except sqlite3.Error as error:
            raise _trouble(error) from None
        try:
            yield db
        except sqlite3.Error as error:
            raise _trouble(error) from None
        finally:
            db.close()

    def _connect(self, create: bool, timeout: float) -> sqlite3.Connection:
        try:
            found = os.lstat(self.path)
        except FileNotFoundError:
            if not create:
                raise _Bypass("there is no search index") from None
            self._create_file()
        except OSError as exc:
            raise _Bypass(file_problem(exc)) from None
        else:
            if not stat.S_ISREG(found.st_mode):
                raise _Bypass(f"{self.path} is {kind_of(found.st_mode)}; move it away")
        db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            # A cache: no fsync (a power cut may damage it; it is then built again).
            db.execute("PRAGMA synchronous = OFF")
            if db.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
                self._make_schema(db)
        except BaseException:
            db.close()
            raise
        return db

    def _create_file(self) -> None:
        """An empty database file, mode 0600 whatever the umask (SQLite gives its journal
        the same mode)."""
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except FileExistsError:
            return  # another chatterm made it just now
        except OSError as exc:
            raise _Bypass(file_problem(exc)) from None
        try:
            os.fchmod(fd, 0o600)
        except OSError:
            pass
        finally:
            os.close(fd)

    @staticmethod
    def _make_schema(db: sqlite3.Connection) -> None:
        """Make the tables in an empty database (a database with other tables, or of
        another version, is not ours to change: :class:`_Damaged`)."""
        with db:
            db.execute("BEGIN IMMEDIATE")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == INDEX_VERSION:
                return  # another chatterm made them meanwhile
            if version != 0:
                raise _Damaged(f"written by another version ({version})")
            if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise _Damaged("it holds other tables")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {INDEX_VERSION}")

    def _discard(self) -> None:
        """Remove a damaged index (and its journal): the next open builds a new one."""
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")


def _trouble(error: sqlite3.Error) -> Exception:
    """What an SQLite error means for the index: damaged (built again) or unusable for now
    (bypassed)."""
    text = str(error)
    if isinstance(error, sqlite3.OperationalError):
        if "no such module" in text:
            return _Bypass("this Python's SQLite has no FTS5")
        if "locked" in text or "busy" in text:
            return _Bypass("another chatterm is writing it")
        if "no such table" in text or "no such column" in text:
            return _Damaged(text)
        return _Bypass(text)  # read-only, cannot open, disk full, I/O error
    if isinstance(error, sqlite3.DatabaseError):
        return _Damaged(text)  # not a database, malformed
    return _Bypass(text)


def _matching_turns(db: sqlite3.Connection, query: Query) -> list[int]:
    """The row ids of the turns that hold every term: one pass over the index (FTS5 reads
    a prefix's words once; most of a query's time is this pass)."""
    matches = db.execute("SELECT rowid FROM body WHERE body MATCH ?", (query.fts(),))
    return [turn_id for (turn_id,) in matches]


def _shown_row_first(row: tuple[int, int, int | None]) -> tuple[int, int]:
    """The order in which a session's matching turns are chosen to be shown: on the active
    path first, in its order, then the rest in the tree's."""
    turn_id, _, position = row
    return (0, position) if position is not None else (1, turn_id)


def _drop_file(db: sqlite3.Connection, file_id: int) -> None:
    low, high = file_id << TREE_BITS, (file_id << TREE_BITS) | _TREE_MASK
    db.execute("DELETE FROM body WHERE rowid BETWEEN ? AND ?", (low, high))
    db.execute("DELETE FROM turns WHERE id BETWEEN ? AND ?", (low, high))
    db.execute("DELETE FROM files WHERE id = ?", (file_id,))


def _index_file(
    db: sqlite3.Connection, path: Path, key: str, fmt: SessionFormat, stamp: str
) -> None:
    """Read one session file into the index (unless another chatterm just did)."""
    row = db.execute("SELECT stamp FROM files WHERE name = ?", (key,)).fetchone()
    if row is not None and row[0] == stamp:
        return
    text, problem, transient = read_session_text(path, fmt)
    _record(db, key, _RETRY if transient else stamp, text, problem)


def _record(
    db: sqlite3.Connection,
    key: str,
    stamp: str,
    text: SessionText | None,
    problem: str | None,
) -> None:
    """Make the index hold ``text`` for the file ``key`` (None: the file is not a session
    that can be read, and ``problem`` says why). Turns whose text is unchanged are not
    written again; their place in the tree is."""
    row = db.execute("SELECT id FROM files WHERE name = ?", (key,)).fetchone()
    session_id, title, updated = (
        (mend(text.session_id), mend(text.title), mend(text.updated))
        if text is not None
        else ("", "", "")
    )
    old: dict[int, tuple[int, int, int | None]] = {}
    if row is None:
        file_id = db.execute(
            "INSERT INTO files(name, stamp, session_id, title, updated, problem)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (key, stamp, session_id, title, updated, problem),
        ).lastrowid
        assert file_id is not None
    else:
        file_id = row[0]
        db.execute(
            "UPDATE files SET stamp = ?, session_id = ?, title = ?, updated = ?, problem = ?"
            " WHERE id = ?",
            (stamp, session_id, title, updated, problem, file_id),
        )
        low, high = file_id << TREE_BITS, (file_id << TREE_BITS) | _TREE_MASK
        old = {
            turn_id: (fingerprint, turn, position)
            for turn_id, fingerprint, turn, position in db.execute(
                "SELECT id, fingerprint, turn, position FROM turns WHERE id BETWEEN ? AND ?",
                (low, high),
            )
        }
    turns = text.turns if text is not None else ()
    if len(turns) > _TREE_MASK:
        turns = turns[:_TREE_MASK]  # more than any file can hold; the rest is not searched
    base = file_id << TREE_BITS
    for tree_index, turn in enumerate(turns):
        turn_id = base | tree_index
        fingerprint = turn.fingerprint()
        before = old.pop(turn_id, None)
        if before is not None and before[0] == fingerprint:
            if before[1:] != (turn.turn, turn.position):
                db.execute(
                    "UPDATE turns SET turn = ?, position = ? WHERE id = ?",
                    (turn.turn, turn.position, turn_id),
                )
            continue
        if before is not None:
            db.execute("DELETE FROM body WHERE rowid = ?", (turn_id,))
            db.execute("DELETE FROM turns WHERE id = ?", (turn_id,))
        db.execute(
            "INSERT INTO turns(id, turn, position, fingerprint) VALUES (?, ?, ?, ?)",
            (turn_id, turn.turn, turn.position, fingerprint),
        )
        db.execute(
            "INSERT INTO body(rowid, prompt, reasoning, answer) VALUES (?, ?, ?, ?)",
            (turn_id, mend(turn.prompt), mend(turn.reasoning), mend(turn.answer)),
        )
    for turn_id in old:  # turns the tree no longer has
        db.execute("DELETE FROM body WHERE rowid = ?", (turn_id,))
        db.execute("DELETE FROM turns WHERE id = ?", (turn_id,))
