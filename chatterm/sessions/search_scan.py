"""Sessions as a search sees them, and a search that reads the files themselves.

A session's searchable text (:class:`SessionText`: every turn's prompt, reasoning and
answer, and where the turn stands) is what the index keeps, and what a search reads from
each file when the index cannot be used (:func:`scan_folder`: locked too long, a read-only
folder, no FTS5). Both ways answer with the same :class:`SearchResults`. Split from
:mod:`chatterm.sessions.search`, which holds the index.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

from chatterm.files import file_problem, read_regular
from chatterm.sessions.codec import SessionFormat, decode
from chatterm.sessions.index import SESSION_FILE_LIMIT, SessionFolderError, session_files
from chatterm.sessions.model import Session, SessionFormatError
from chatterm.sessions.search_query import (
    SNIPPET_CHARS,
    Field,
    Query,
    Snippet,
    make_snippet,
    turn_matches,
)
from chatterm.text import mend

# -- what is indexed ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnText:
    """One turn's text, and where it stands: ``turn`` its place in its branch (from 1),
    ``position`` its place on the active path (from 0), None off the path."""

    prompt: str
    reasoning: str
    answer: str
    turn: int
    position: int | None

    def fingerprint(self) -> int:
        raw = "\0".join((self.prompt, self.reasoning, self.answer))
        return zlib.crc32(raw.encode("utf-8", "surrogatepass")) ^ (len(raw) << 32)


@dataclass(frozen=True, slots=True)
class SessionText:
    """What the index keeps of a session, taken at once (the strings are not copied)."""

    session_id: str
    title: str
    updated: str
    turns: tuple[TurnText, ...]  # every turn of the tree, in its order


def session_text(session: Session) -> SessionText:
    session.sync()
    on_path = {index: position for position, index in enumerate(session.path)}
    depths: list[int] = []
    turns = []
    for index, turn in enumerate(session.tree):
        parent = turn.parent
        depth = depths[parent] + 1 if parent is not None and 0 <= parent < index else 1
        depths.append(depth)
        turns.append(TurnText(turn.prompt, turn.reasoning, turn.answer, depth, on_path.get(index)))
    return SessionText(session.id, session.title, session.updated, tuple(turns))


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A session that holds the words, and the turn shown for it (its first match on the
    active path, else its first match in the tree)."""

    session_id: str
    title: str
    updated: str
    file_name: str
    tree_index: int  # the turn's index in the session's tree
    turn: int  # its place in its branch, from 1 (on the active path: its place there)
    active: bool  # on the active path
    snippet: Snippet
    turns_matched: int  # how many of the session's turns hold the words


@dataclass(slots=True)
class SearchResults:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0  # sessions that match (``hits`` may be cut at the limit)
    notes: list[str] = field(default_factory=list)  # what happened to the index, one line each


class SearchError(Exception):
    """The sessions folder itself cannot be read (the one failure a search reports)."""


def read_session_text(
    path: Path, fmt: SessionFormat
) -> tuple[SessionText | None, str | None, bool]:
    """The text of the session in ``path``, or why it cannot be read (and whether that
    may pass without the file changing)."""
    try:
        session = decode(read_regular(path, limit=SESSION_FILE_LIMIT), fmt)
    except OSError as exc:
        return None, file_problem(exc), True
    except SessionFormatError as exc:
        return None, str(exc), False
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop the others
        return None, f"cannot be read ({type(exc).__name__})", False
    if session.id != path.stem:
        return None, f"holds session {session.id!r:.40}", False
    return session_text(session), None, False


# -- without the index --------------------------------------------------------------------------


def _shown_first(item: tuple[int, TurnText]) -> tuple[int, int]:
    """The order in which a session's matching turns are chosen to be shown: on the active
    path first, in its order, then the rest in the tree's."""
    index, turn = item
    return (0, turn.position) if turn.position is not None else (1, index)


def scan_folder(
    folder: Path,
    query: Query,
    limit: int | None,
    snippet_chars: int = SNIPPET_CHARS,
    results: SearchResults | None = None,
) -> SearchResults:
    """Search by reading every session file (when the index cannot be used).

    Raises:
        SearchError: the sessions folder itself cannot be read.
    """
    results = results if results is not None else SearchResults()
    found: list[tuple[str, str, SearchHit]] = []
    try:
        entries = list(session_files(folder))
    except SessionFolderError as exc:
        raise SearchError(str(exc)) from None
    for entry, fmt in entries:
        text, _, _ = read_session_text(Path(entry.path), fmt)
        if text is None:
            continue
        matched = [
            (index, turn)
            for index, turn in enumerate(text.turns)
            if turn_matches(query, (turn.prompt, turn.reasoning, turn.answer))
        ]
        if not matched:
            continue
        index, turn = min(matched, key=_shown_first)
        texts: dict[Field, str] = {
            "prompt": turn.prompt,
            "reasoning": turn.reasoning,
            "answer": turn.answer,
        }
        hit = SearchHit(
            session_id=text.session_id,
            title=mend(text.title),
            updated=mend(text.updated),
            file_name=entry.name,
            tree_index=index,
            turn=turn.turn,
            active=turn.position is not None,
            snippet=make_snippet(query, texts, snippet_chars),
            turns_matched=len(matched),
        )
        found.append((hit.updated, hit.session_id, hit))
    found.sort(key=lambda item: item[:2], reverse=True)
    results.total = len(found)
    results.hits = [hit for _, _, hit in found[:limit]]
    return results
