"""The session index: one small file that makes listing thousands of sessions fast.

The index is a cache, never the truth. Each entry is keyed by file name and remembers the
file's size and modification time; listing scans the folder (one ``stat`` per file), keeps
the entries whose file is unchanged, parses only the files that are new or changed, drops
entries whose file is gone, and writes the index back if anything moved. So a missing,
corrupt or stale index costs one slower listing, and saving a session never has to touch
the index at all.

A file that cannot be read is listed with its problem (so the user sees it by name), and
its entry keeps the problem until the file changes.

Each entry also keeps the figures of every reply (:class:`ReplyFigures`: when, which model,
tokens, cost, TTFT, tokens/s), so that ``chatterm stats`` and the stats screen add up every
session without opening one. They are kept as one string of JSON per entry, which a listing
passes over for a fraction of what parsing them would cost; only
``list_summaries(..., figures=True)`` reads and checks them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from operator import is_not
from pathlib import Path
from typing import Any, NamedTuple

from chatterm.errors import ChattermError
from chatterm.files import DanglingLink, atomic_write, file_problem, read_regular
from chatterm.sessions.codec import SESSION_FORMATS, SessionFormat
from chatterm.sessions.model import SHA256_HEX, Session, Turn

INDEX_NAME = ".index.json"
SEARCH_INDEX_NAME = ".search.sqlite3"  # the full-text index (chatterm.sessions.search)
INDEX_VERSION = 2  # 2: the replies' figures
PREVIEW_CHARS = 200
# A session is text: a long chat is a few MB. Past this it is not worth loading into memory.
SESSION_FILE_LIMIT = 256 << 20
INDEX_LIMIT = 64 << 20  # 10,000 sessions take about 6 MB; a bigger file is not ours


class SessionFolderError(ChattermError):
    """The sessions folder itself cannot be read."""


class ReplyFigures(NamedTuple):
    """The figures of every reply of a session, alternatives included, in the order
    written: one column per figure, one item per reply (columns are what the index stores:
    smaller than a list per reply, and checked a column at a time).

    A choice whose cost another choice of its request carries (cost source ``shared``)
    counts as a reply and adds nothing else: its tokens are in the first choice's usage
    (the request's), its cost is the first choice's, and its TTFT and tokens/s are left
    out, so that a request of N choices weighs as one request in the medians, as it does
    in the sums.
    """

    started: tuple[int | None, ...]  # seconds since the epoch; None: not a time
    models: tuple[str, ...]
    input_tokens: tuple[int, ...]
    output_tokens: tuple[int, ...]
    cost_usd: tuple[float | None, ...]  # None: unknown
    ttft_ms: tuple[float | None, ...]
    tokens_per_s: tuple[float | None, ...]


NO_FIGURES = ReplyFigures((), (), (), (), (), (), ())
NO_FIGURES_TEXT = "[]"


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """What a listing shows of one session file, without reading the whole file again."""

    id: str
    title: str
    models: tuple[str, ...]
    created: str
    updated: str
    turns: int
    cost_usd: float  # the sum of the known costs
    cost_unknown: int  # turns whose cost is unknown
    cost_estimated: bool
    preview: str  # the start of the first prompt, for filtering
    format: SessionFormat
    file_name: str
    problem: str | None = None  # why the file could not be read; the rest is then blank
    transient: bool = False  # the problem may pass without the file changing
    alternatives: int = 0  # turns kept off the active path (regenerated, edited, undone)
    # every reply's figures, as the JSON text reply_figures reads (see the module)
    figures: str = field(default=NO_FIGURES_TEXT, repr=False)
    attachments: tuple[str, ...] = ()  # the SHA-256 of each file attached in any branch

    @property
    def replies(self) -> int:
        """Every reply in the session, alternatives included."""
        return self.turns + self.alternatives

    @property
    def turns_text(self) -> str:
        """``3``, or ``3 (2 alt)`` when alternatives are kept off the active path."""
        return f"{self.turns} ({self.alternatives} alt)" if self.alternatives else str(self.turns)

    def matches(self, text: str) -> bool:
        """Case-insensitive match of every word of ``text`` in the id, title, models,
        date or first prompt."""
        haystack = " ".join(
            (self.id, self.title, " ".join(self.models), self.updated[:10], self.preview)
        ).casefold()
        return all(word in haystack for word in text.casefold().split())


def summarize(session: Session, fmt: SessionFormat, file_name: str) -> SessionSummary:
    """The turns on the active path; the cost of every reply, alternatives included (each
    was paid for)."""
    session.sync()
    every = session.tree
    known = [t.cost.usd for t in every if t.cost is not None and t.cost.usd is not None]
    return SessionSummary(
        id=session.id,
        title=session.title,
        models=tuple(session.models),
        created=session.created,
        updated=session.updated,
        turns=len(session.turns),
        cost_usd=sum(known, 0.0),
        cost_unknown=len(every) - len(known),
        cost_estimated=any(
            t.cost is not None and t.cost.estimated and t.cost.source != "local" for t in every
        ),
        preview=session.turns[0].prompt[:PREVIEW_CHARS] if session.turns else "",
        format=fmt,
        file_name=file_name,
        alternatives=len(every) - len(session.turns),
        figures=figures_of(every),
        attachments=tuple(sorted({ref.sha256 for t in every for ref in t.attachments})),
    )


def figures_of(turns: Iterable[Turn]) -> str:
    """The :class:`ReplyFigures` of ``turns``, as the index keeps them."""
    rows: list[tuple[int | None, str, int, int, float | None, float | None, float | None]] = []
    for turn in turns:
        started = _epoch_seconds(turn.started)
        if turn.cost is not None and turn.cost.source == "shared":
            rows.append((started, turn.model, 0, 0, 0.0, None, None))
            continue
        usage, metrics = turn.usage, turn.metrics
        cost = turn.cost.usd if turn.cost is not None else None
        rows.append(
            (
                started,
                turn.model,
                usage.input_tokens,
                usage.output_tokens,
                cost,
                metrics.ttft_ms,
                metrics.tokens_per_s,
            )
        )
    if not rows:
        return NO_FIGURES_TEXT
    return json.dumps([list(column) for column in zip(*rows, strict=True)], separators=(",", ":"))


def reply_figures(text: str) -> ReplyFigures | None:
    """The figures a summary holds; None if they are damaged (an index is a file anyone
    can write)."""
    try:
        columns = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return _checked_figures(columns) if type(columns) is list else None


def _epoch_seconds(stamp: str) -> int | None:
    try:
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            return None  # the files write UTC with its Z: anything else is not ours
        return int(when.timestamp())
    except (ValueError, OverflowError, OSError):
        return None


def broken_summary(
    file_name: str, fmt: SessionFormat, problem: str, transient: bool = False
) -> SessionSummary:
    """A file that cannot be listed as a session. A ``transient`` problem (permissions,
    an I/O error) is not remembered by the index: it may be fixed without the file
    changing."""
    stem = file_name.rsplit(".", 1)[0]
    return SessionSummary(
        id=stem,
        title="",
        models=(),
        created="",
        updated="",
        turns=0,
        cost_usd=0.0,
        cost_unknown=0,
        cost_estimated=False,
        preview="",
        format=fmt,
        file_name=file_name,
        problem=problem,
        transient=transient,
    )


def session_files(folder: Path) -> Iterable[tuple[os.DirEntry[str], SessionFormat]]:
    """Every ``<id>.json`` / ``<id>.toml`` in the folder (not the index, not temp files,
    not folders)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SessionFolderError(
            f"cannot read the sessions folder {folder}: {file_problem(exc)}"
        ) from None
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            if name.endswith(".tmp"):
                _remove_if_stale(entry)
            continue
        stem, dot, ext = name.rpartition(".")
        # Not only regular files: a FIFO or a dangling link under a session's name is
        # listed with its problem (reading it says what it is) rather than hidden.
        if dot and stem and ext in SESSION_FORMATS and not _is_folder(entry):
            yield entry, ext


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


STALE_TEMP_S = 600.0  # a write takes well under a second; older temp files were orphaned


def _remove_if_stale(entry: os.DirEntry[str]) -> None:
    """A temp file left by a write that was killed holds conversation text: tidy it."""
    with contextlib.suppress(OSError):
        if time.time() - entry.stat().st_mtime > STALE_TEMP_S:
            os.unlink(entry.path)


Summarizer = Callable[[Path, SessionFormat], SessionSummary]


def list_summaries(
    folder: Path, summarize_file: Summarizer, *, figures: bool = False
) -> list[SessionSummary]:
    """Summaries of every session file in ``folder``, newest first, refreshing the index.
    With ``figures``, an entry whose figures :func:`reply_figures` cannot read is read
    again from its file, like any other damaged entry."""
    index_path = folder / INDEX_NAME
    cached = _read_index(index_path)
    fresh: dict[str, list[Any]] = {}
    summaries: list[SessionSummary] = []
    changed = False
    for entry, fmt in session_files(folder):
        try:
            stat = entry.stat()
        except OSError as exc:
            if entry.is_symlink():  # a link to nothing (or past a loop): named, not hidden
                if isinstance(exc, FileNotFoundError):
                    exc = DanglingLink(Path(entry.path), os.readlink(entry.path))
                summaries.append(broken_summary(entry.name, fmt, file_problem(exc), True))
            continue  # else deleted while we looked
        stamp = [stat.st_ino, stat.st_mtime_ns, stat.st_size]
        record = cached.get(entry.name)
        summary = None
        if isinstance(record, list) and record[:3] == stamp:
            summary = _summary_from_record(record, entry.name, fmt, figures)
        if summary is None:
            summary = summarize_file(Path(entry.path), fmt)
            record = None if summary.transient else [*stamp, *_values_of(summary)]
            changed = True
        if record is not None:
            fresh[entry.name] = record
        summaries.append(summary)
    if changed or fresh.keys() != cached.keys():
        _write_index(index_path, fresh)
    summaries.sort(key=lambda s: (s.updated, s.id), reverse=True)
    return summaries


# An entry is a flat list, [inode, mtime_ns, size, *the summary's fields in order]: for
# 10,000 sessions it reads back about twice as fast as a dict per entry. The index is a
# file anyone can damage, so each row is checked against the exact types its fields may
# hold, as one tuple of types looked up in a set: per-field isinstance checks cost about
# as much as the JSON parse itself. Exact types also keep ``true`` out of the int fields.
_FIELDS = tuple(SessionSummary.__dataclass_fields__)
_FIELD_TYPES: tuple[tuple[type, ...], ...] = (
    (str,),  # id
    (str,),  # title
    (list,),  # models
    (str,),  # created
    (str,),  # updated
    (int,),  # turns
    (float, int),  # cost_usd
    (int,),  # cost_unknown
    (bool,),  # cost_estimated
    (str,),  # preview
    (str,),  # format
    (str,),  # file_name
    (str, type(None)),  # problem
    (bool,),  # transient
    (int,),  # alternatives
    (str,),  # figures, checked only when asked for (reply_figures)
    (list,),  # attachments
)
_ROW_SHAPES: frozenset[tuple[type, ...]] = frozenset(
    (int, int, int, *shape) for shape in itertools.product(*_FIELD_TYPES)
)


def _values_of(summary: SessionSummary) -> list[Any]:
    return [list(v) if isinstance(v, tuple) else v for v in (getattr(summary, n) for n in _FIELDS)]


def _read_index(path: Path) -> dict[str, list[Any]]:
    try:
        data = json.loads(read_regular(path, limit=INDEX_LIMIT))
    except (OSError, ValueError, RecursionError):
        return {}  # missing or corrupt: rebuilt from the files
    if not isinstance(data, dict) or data.get("chatterm_index") != INDEX_VERSION:
        return {}
    if data.get("fields") != list(_FIELDS):
        return {}  # written for another shape of summary
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def _write_index(path: Path, entries: dict[str, list[Any]]) -> None:
    data = {"chatterm_index": INDEX_VERSION, "fields": list(_FIELDS), "entries": entries}
    # A cache: no fsync (rebuilt if lost), and a read-only folder only costs speed. ASCII
    # escapes carry what UTF-8 cannot: a file name that is not UTF-8 (kept by Python as
    # lone surrogates) and a title holding a lone surrogate escape both round-trip.
    with contextlib.suppress(OSError):
        atomic_write(path, json.dumps(data).encode("ascii"), durable=False)


def _summary_from_record(
    record: list[Any], name: str, fmt: SessionFormat, with_figures: bool
) -> SessionSummary | None:
    """The cached summary, or None if the entry is not exactly what this file would give
    (its figures checked too, ``with_figures``)."""
    if tuple(map(type, record)) not in _ROW_SHAPES:
        return None
    (
        _inode, _mtime, _size, id_, title, models, created, updated, turns, cost_usd,
        cost_unknown, cost_estimated, preview, format_, file_name, problem, transient,
        alternatives, figures, attachments,
    ) = record  # fmt: skip
    if file_name != name or format_ != fmt or not math.isfinite(cost_usd):
        return None
    if turns < 0 or cost_unknown < 0 or alternatives < 0:
        return None
    if problem is None and id_ != name.rsplit(".", 1)[0]:
        return None
    if not all(type(model) is str for model in models):
        return None
    if with_figures and reply_figures(figures) is None:
        return None
    if not all(type(sha) is str and SHA256_HEX.fullmatch(sha) for sha in attachments):
        return None
    return SessionSummary(
        id_, title, tuple(models), created, updated, turns, cost_usd, cost_unknown,
        cost_estimated, preview, fmt, file_name, problem, transient, alternatives, figures,
        tuple(attachments),
    )  # fmt: skip


_INT = frozenset({int})
_STR = frozenset({str})
_INT_OR_NONE = frozenset({int, type(None)})
_NUMBER_OR_NONE = frozenset({int, float, type(None)})
_COLUMN_TYPES = (_INT_OR_NONE, _STR, _INT, _INT, _NUMBER_OR_NONE, _NUMBER_OR_NONE, _NUMBER_OR_NONE)
_not_none = partial(is_not, None)


def _checked_figures(columns: list[Any]) -> ReplyFigures | None:
    """The figures an entry holds, or None unless each column has one item per reply, of
    its types, and every measure is a finite number. Checked a column at a time: a check
    per reply would cost more than the rest of the entry."""
    if not columns:
        return NO_FIGURES if columns == [] else None
    if len(columns) != len(ReplyFigures._fields):
        return None
    replies = len(columns[1]) if type(columns[1]) is list else -1
    for column, types in zip(columns, _COLUMN_TYPES, strict=True):
        if type(column) is not list or len(column) != replies:
            return None
        if not set(map(type, column)) <= types:
            return None
    for column in columns[4:]:
        # JSON may hold NaN, and numbers too big for a float (read as inf): either makes
        # the sum not finite.
        if not math.isfinite(sum(filter(_not_none, column))):
            return None
    return ReplyFigures(*map(tuple, columns))
