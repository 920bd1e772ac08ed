"""The session document: a conversation as data, in memory and on disk.

A conversation branches: a reply regenerated, a prompt edited, an exchange undone, and
nothing is thrown away. A :class:`Session` holds every turn ever written (``tree``, in the
order written) and each turn knows the turn it follows (``parent``, an index into the
tree; None for a first turn). Turns that follow the same turn are alternatives of each
other. ``turns`` is the *active path*, the branch shown and sent as history: from a first
turn down to the active one. Everything that reads a conversation reads ``turns``; only
:meth:`Session.add` and the branch methods change either list.

A :class:`Turn` holds the user's message and everything
about the reply to it (model, reasoning, answer, finish reason, usage, metrics, cost,
error) plus its *timeline*: the deltas as they arrived, coalesced to at most one entry per
~16 ms frame, each ``(offset_ms, kind, text)`` with the offset counted from the request.
The timeline is what replay plays back; the reasoning and answer are what resume sends.
A turn read from a file makes its timeline into entries when it is first used (see
:class:`_PendingTimeline`); reading, setting and comparing ``Turn.timeline`` work as for
any field.

:func:`session_to_data` / :func:`session_from_data` convert to and from plain dicts of
str/int/float/bool/list/dict, with no ``None`` anywhere (TOML has no null: a missing key
means "none"), so the JSON and TOML files have the same shape. The document ends with
``end = {turns = N}``: a TOML file cut short at a line break still parses, and this is how
a complete file is told from the start of one.

Version 2 writes every turn of the tree in ``turns``, each with ``parent`` (the index of
the turn it follows; absent for a first turn), and ``active`` (the index of the last turn
of the active path; -1 when it is empty). A version-1 file is one branch: turn i follows
turn i-1 and the last is active. It is read as that and written as version 2 only when it
is saved after a change.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeGuard, cast

from chatterm.events import (
    CLEAN_FINISHES,
    FINISH_REASONS,
    FinishReason,
    Message,
    StreamError,
    Usage,
)
from chatterm.pricing import Cost, CostSource
from chatterm.reply.accumulate import Reply
from chatterm.reply.figures import SessionCosts
from chatterm.reply.metrics import Metrics

SCHEMA_VERSION = 2
FRAME_MS = 16  # deltas closer together than one frame share a timeline entry

TimelineKind = Literal["reasoning", "answer", "answer_was_reasoning"]
TIMELINE_KINDS: tuple[TimelineKind, ...] = ("reasoning", "answer", "answer_was_reasoning")
_COST_SOURCES: tuple[CostSource, ...] = ("server", "config", "price_table", "local", "unknown")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
TITLE_CHARS = 60


class SessionFormatError(ValueError):
    """The document does not have the shape of a session; the message says where."""


class FutureSessionError(SessionFormatError):
    """The document was written by a newer chatterm (a higher schema version)."""


@dataclass(slots=True)
class TimelineEntry:
    offset_ms: int
    kind: TimelineKind
    text: str


@dataclass(slots=True)
class Turn:
    """One user message and the reply to it. ``finish_reason`` is None while streaming."""

    prompt: str
    model: str
    started: str  # ISO 8601, UTC
    reasoning: str = ""
    answer: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage = field(default_factory=Usage)
    metrics: Metrics = field(default_factory=Metrics)
    cost: Cost | None = None
    error: StreamError | None = None
    warnings: tuple[str, ...] = ()
    timeline: list[TimelineEntry] = field(default_factory=list)
    parent: int | None = None  # the index in the session's tree of the turn this follows

    @property
    def in_progress(self) -> bool:
        return self.finish_reason is None

    def to_reply(self) -> Reply:
        """The reply as recorded. A turn saved mid-stream (the process was killed) reads
        as ``interrupted``."""
        return Reply(
            model=self.model,
            reasoning=self.reasoning,
            text=self.answer,
            finish_reason=self.finish_reason or "interrupted",
            usage=self.usage,
            metrics=self.metrics,
            error=self.error,
            warnings=self.warnings,
            cost=self.cost,
        )

    def record_reply(self, reply: Reply) -> None:
        """Take the consolidated reply's text and figures (the timeline stays as recorded)."""
        self.reasoning = reply.reasoning
        self.answer = reply.text
        self.finish_reason = reply.finish_reason or "cancelled"
        self.usage = reply.usage
        self.metrics = reply.metrics
        self.cost = reply.cost
        self.error = reply.error
        self.warnings = reply.warnings


TimelineLoader = Callable[[], list[list[Any]]]  # gives checked [offset_ms, kind, text] lists


class _PendingTimeline:
    """A timeline read from a file and checked, not yet made into entries.

    A 2,000-turn session holds about half a million timeline entries, which only replay
    needs: making them took most of the time it took to open the session. They are made
    the first time the turn's ``timeline`` is used.
    """

    __slots__ = ("load", "_lists")

    def __init__(self, load: TimelineLoader) -> None:
        self.load = load
        self._lists: list[list[Any]] | None = None

    def lists(self) -> list[list[Any]]:
        if self._lists is None:
            self._lists = self.load()
        return self._lists

    def entries(self) -> list[TimelineEntry]:
        return [TimelineEntry(int(offset), kind, text) for offset, kind, text in self.lists()]


class _LazyTimeline:
    """``Turn.timeline``: the slot's own descriptor, except that a pending timeline is
    made into entries (and kept) when first read. Setting it works as before."""

    def __init__(self, slot: Any) -> None:
        self.slot = slot

    def __get__(self, turn: Turn | None, owner: type | None = None) -> Any:
        if turn is None:
            return self.slot
        value = self.slot.__get__(turn, owner)
        if type(value) is _PendingTimeline:
            value = value.entries()
            self.slot.__set__(turn, value)
        return value

    def __set__(self, turn: Turn, value: list[TimelineEntry]) -> None:
        self.slot.__set__(turn, value)

    def __delete__(self, turn: Turn) -> None:
        self.slot.__delete__(turn)


_TIMELINE_SLOT = vars(Turn)["timeline"]
# setattr: mypy would see the assignment as a change of the field's type.
setattr(Turn, "timeline", _LazyTimeline(_TIMELINE_SLOT))  # noqa: B010


def set_pending_timeline(turn: Turn, load: TimelineLoader) -> None:
    """Give ``turn`` a timeline that ``load`` produces when the turn's timeline is first
    used; ``load`` must give entries already checked."""
    _TIMELINE_SLOT.__set__(turn, _PendingTimeline(load))


def pending_timeline(turn: Turn) -> TimelineLoader | None:
    """The loader of the turn's timeline, if it has not been made into entries yet."""
    value = _TIMELINE_SLOT.__get__(turn, Turn)
    return value.load if type(value) is _PendingTimeline else None


def timeline_data(turn: Turn) -> list[list[Any]]:
    """The turn's timeline as ``[offset_ms, kind, text]`` lists (a pending one is not made
    into entries for this)."""
    value = _TIMELINE_SLOT.__get__(turn, Turn)
    if type(value) is _PendingTimeline:
        return [[int(offset), kind, text] for offset, kind, text in value.lists()]
    return [[entry.offset_ms, entry.kind, entry.text] for entry in value]


@dataclass(slots=True)
class Session:
    """A conversation: its id, title, times, every turn (``tree``) and the active path
    (``turns``). Given only ``turns``, they are one branch, each following the last."""

    id: str
    title: str
    created: str
    updated: str
    turns: list[Turn] = field(default_factory=list)
    system: str | None = None
    version: int = SCHEMA_VERSION
    tree: list[Turn] = field(default_factory=list)
    # The tree index of each turn of ``turns``, in order.
    path: list[int] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.tree:
            self.tree = list(self.turns)
            for index, turn in enumerate(self.tree):
                turn.parent = index - 1 if index else None
            self.path = list(range(len(self.tree)))
        elif not self.path and self.turns:
            self.path = [self._index(turn) for turn in self.turns]

    def _index(self, turn: Turn) -> int:
        for index, candidate in enumerate(self.tree):
            if candidate is turn:
                return index
        raise ValueError("the turn is not in this session")

    def sync(self) -> None:
        """Take ``turns`` as the active path if it was changed as a plain list (appended
        to, or replaced): turns new to the tree are added to it, each following the turn
        before it. A path rearranged in any other way becomes the whole tree, one branch.
        Every method that reads the tree calls this first."""
        turns, path, tree = self.turns, self.path, self.tree
        if len(path) == len(turns) and all(tree[i] is t for i, t in zip(path, turns, strict=True)):
            return
        known = len(path)
        if known <= len(turns) and all(tree[i] is t for i, t in zip(path, turns, strict=False)):
            for turn in turns[known:]:  # appended: added after the path's last turn
                turn.parent = path[-1] if path else None
                tree.append(turn)
                path.append(len(tree) - 1)
            return
        self.tree = list(turns)
        for index, turn in enumerate(self.tree):
            turn.parent = index - 1 if index else None
        self.path = list(range(len(turns)))

    @property
    def models(self) -> list[str]:
        """The models that wrote replies on the active path, in order of first use."""
        return list(dict.fromkeys(turn.model for turn in self.turns))

    def history(self, next_prompt: str | None = None) -> tuple[Message, ...]:
        """The messages ``next_prompt`` follows on the active path (see :func:`history_of`)."""
        return history_of(self.turns, next_prompt)

    def costs(self) -> SessionCosts:
        """The cost of every reply in the tree: alternatives were paid for too."""
        self.sync()
        costs = (turn.cost for turn in self.tree)
        return SessionCosts(costs, alternatives=len(self.tree) - len(self.turns))

    def touch(self) -> None:
        self.updated = now_iso()

    # -- the tree -------------------------------------------------------------------------

    def add(self, turn: Turn) -> None:
        """Add ``turn`` after the active path's last turn; it becomes the active one (an
        alternative of any turn that followed the same turn)."""
        self.sync()
        turn.parent = self.path[-1] if self.path else None
        self.tree.append(turn)
        self.path.append(len(self.tree) - 1)
        self.turns.append(turn)

    def alternatives(self, position: int) -> list[int]:
        """The tree indexes of the turns that could stand at ``position`` of the active
        path (the turn there and its siblings), in the order they were written."""
        self.sync()
        parent = self.tree[self.path[position]].parent
        return [index for index, turn in enumerate(self.tree) if turn.parent == parent]

    def places(self) -> list[tuple[int, int]]:
        """For each turn of the active path, which of the alternatives at its place it is
        (from 1, in the order written) and how many there are."""
        self.sync()
        siblings: dict[int | None, list[int]] = {}
        for index, turn in enumerate(self.tree):
            siblings.setdefault(turn.parent, []).append(index)
        places = []
        for index in self.path:
            group = siblings[self.tree[index].parent]
            places.append((group.index(index) + 1, len(group)))
        return places

    def rewind(self, position: int) -> None:
        """Cut the active path before ``position``: the next turn added follows the turn
        before it. Nothing leaves the tree."""
        self.sync()
        del self.path[position:]
        del self.turns[position:]

    def show(self, index: int) -> None:
        """Make the active path run through tree turn ``index`` and on down the branch
        written last below it."""
        self.sync()
        children: dict[int | None, int] = {}
        for child, turn in enumerate(self.tree):
            children[turn.parent] = child  # the last written wins
        path = [index]
        while self.tree[path[0]].parent is not None:
            parent = self.tree[path[0]].parent
            assert parent is not None
            path.insert(0, parent)
        while path[-1] in children:
            path.append(children[path[-1]])
        self.path = path
        self.turns = [self.tree[i] for i in path]

    def undone(self) -> int | None:
        """The tree index of the turn written last among those that follow the active
        path's last turn (a first turn, when the path is empty), or None: what a redo
        brings back."""
        self.sync()
        leaf = self.path[-1] if self.path else None
        following = [index for index, turn in enumerate(self.tree) if turn.parent == leaf]
        return following[-1] if following else None

    @property
    def branched(self) -> bool:
        """Whether any turn has an alternative (the tree is more than one branch)."""
        self.sync()
        return len(self.tree) != len(self.turns)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_id(now: datetime | None = None) -> str:
    """Sortable by creation time and readable: ``20261121-153012-7f3a9c``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def is_valid_id(session_id: str) -> bool:
    """Ids become file names: letters, digits, ``-`` and ``_`` only."""
    return bool(_ID.fullmatch(session_id))  # `$` alone would let a final line break in


def new_session(*, system: str | None = None, session_id: str | None = None) -> Session:
    now = now_iso()
    return Session(
        id=session_id or new_session_id(), title="", created=now, updated=now, system=system
    )


def title_from_prompt(prompt: str, limit: int = TITLE_CHARS) -> str:
    """The first line with text, whitespace collapsed, cut at a word near ``limit``."""
    line = next((ln for ln in prompt.splitlines() if ln.strip()), "")
    words = " ".join(line.split())
    if len(words) <= limit:
        return words or "untitled"
    cut = words[:limit].rsplit(" ", 1)[0]
    if len(cut) < limit // 2:
        cut = words[:limit]
    return cut.rstrip(" ,.;:") + "…"


# -- to and from plain data ----------------------------------------------------------------


def session_to_data(session: Session, *, with_turns: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "chatterm_session": SCHEMA_VERSION,  # a file is written only after a change
        "id": session.id,
        "title": session.title,
        "created": session.created,
        "updated": session.updated,
    }
    if session.system is not None:
        data["system"] = session.system
    session.sync()
    data["active"] = session.path[-1] if session.path else -1
    if with_turns:
        data["turns"] = [turn_to_data(turn) for turn in session.tree]
    # Last in the file: a TOML file cut short at a line break still parses, so the reader
    # needs this to tell a complete file from the first part of one.
    data["end"] = {"turns": len(session.tree)}
    return data


def turn_to_data(turn: Turn, *, with_timeline: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "prompt": turn.prompt,
        "model": turn.model,
        "started": turn.started,
        **({} if turn.parent is None else {"parent": turn.parent}),
        "finish_reason": turn.finish_reason or "streaming",
        "reasoning": turn.reasoning,
        "answer": turn.answer,
        "usage": _drop_none(
            {
                "input_tokens": turn.usage.input_tokens,
                "output_tokens": turn.usage.output_tokens,
                "reasoning_tokens": turn.usage.reasoning_tokens,
                "cached_input_tokens": turn.usage.cached_input_tokens,
                "cache_write_tokens": turn.usage.cache_write_tokens,
                "estimated": turn.usage.estimated,
                "cost_usd": turn.usage.cost_usd,
                "server_tokens_per_s": turn.usage.server_tokens_per_s,
            }
        ),
        "metrics": _drop_none(
            {
                "ttft_ms": turn.metrics.ttft_ms,
                "first_answer_ms": turn.metrics.first_answer_ms,
                "duration_ms": turn.metrics.duration_ms,
                "tokens_per_s": turn.metrics.tokens_per_s,
            }
        ),
    }
    if turn.cost is not None:
        data["cost"] = _drop_none(
            {"usd": turn.cost.usd, "source": turn.cost.source, "estimated": turn.cost.estimated}
        )
    if turn.error is not None:
        data["error"] = _drop_none(
            {
                "message": turn.error.message,
                "retryable": turn.error.retryable,
                "status": turn.error.status,
            }
        )
    if turn.warnings:
        data["warnings"] = list(turn.warnings)
    if with_timeline:
        data["timeline"] = timeline_data(turn)
    return data


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def session_from_data(data: object, *, timelines: Sequence[TimelineLoader] = ()) -> Session:
    """Build a session from parsed JSON or TOML; :class:`SessionFormatError` says what is
    wrong, :class:`FutureSessionError` if a newer chatterm wrote it.

    Args:
        data: the parsed document.
        timelines: for the codec, which reads timelines apart: a turn whose timeline is
            the whole number ``i`` gets its timeline from ``timelines[i]`` (checked
            already, made into entries when first used).
    """
    doc = _Reader(data, "the document")
    version = doc.table().get("chatterm_session")
    if isinstance(version, bool) or not isinstance(version, int):
        raise SessionFormatError("not a chatterm session (no chatterm_session version)")
    if version > SCHEMA_VERSION:
        raise FutureSessionError(
            f"written by a newer chatterm (session version {version}, this one reads "
            f"{SCHEMA_VERSION}); upgrade chatterm to open it"
        )
    if version < 1:
        raise SessionFormatError(f"unknown session version {version}")
    session_id = doc.string("id")
    if not is_valid_id(session_id):
        raise SessionFormatError(f"id {session_id!r:.40} is not a valid session id")
    turn_list = doc.list("turns")
    end = doc.table().get("end")
    if not isinstance(end, dict) or end.get("turns") != len(turn_list):
        raise SessionFormatError("the file ends early (it was cut short); the end is missing")
    tree = [
        _turn_from_data(_Reader(item, f"turns[{index}]"), timelines)
        for index, item in enumerate(turn_list)
    ]
    if version == 1:  # one branch: each turn follows the one before, the last is active
        active = len(tree) - 1
        for index, turn in enumerate(tree):
            turn.parent = index - 1 if index else None
    else:
        active = doc.table().get("active", len(tree) - 1)
        if type(active) is not int or not -1 <= active < len(tree):
            raise SessionFormatError(
                f"active must be -1 or the index of a turn, not {active!r:.20}"
            )
        for index, turn in enumerate(tree):
            if turn.parent is not None and not 0 <= turn.parent < index:
                raise SessionFormatError(f"turns[{index}].parent must be an earlier turn's index")
    path: list[int] = []
    at: int | None = active if active >= 0 else None
    while at is not None:
        path.append(at)
        at = tree[at].parent
    path.reverse()
    return Session(
        id=session_id,
        title=doc.string("title", ""),
        created=doc.string("created"),
        updated=doc.string("updated"),
        turns=[tree[index] for index in path],
        system=doc.optional_string("system"),
        version=version,
        tree=tree,
        path=path,
    )


def _turn_from_data(turn: _Reader, timelines: Sequence[TimelineLoader] = ()) -> Turn:
    fields = turn.table()
    finish = turn.string("finish_reason", "streaming")
    if finish != "streaming" and finish not in FINISH_REASONS:
        raise SessionFormatError(f"{turn.where}.finish_reason {finish!r:.30} is unknown")
    usage = turn.child("usage")
    metrics = turn.child("metrics")
    cost: Cost | None = None
    if "cost" in fields:
        cost_data = turn.child("cost")
        source = cost_data.string("source", "unknown")
        if source not in _COST_SOURCES:
            raise SessionFormatError(f"{cost_data.where}.source {source!r:.30} is unknown")
        cost = Cost(
            usd=cost_data.optional_number("usd"),
            source=source,
            estimated=cost_data.boolean("estimated", False),
        )
    error: StreamError | None = None
    if "error" in fields:
        error_data = turn.child("error")
        status = error_data.optional_number("status")
        error = StreamError(
            message=error_data.string("message"),
            retryable=error_data.boolean("retryable", False),
            status=None if status is None else int(status),
        )
    pending = fields.get("timeline")
    if type(pending) is int and 0 <= pending < len(timelines):
        load: TimelineLoader | None = timelines[pending]
        items: list[Any] = []
    else:
        load = None
        items = turn.list("timeline", [])
        _check_timeline(items, turn.where)
    result = Turn(
        prompt=turn.string("prompt"),
        model=turn.string("model"),
        started=turn.string("started", ""),
        reasoning=turn.string("reasoning", ""),
        answer=turn.string("answer", ""),
        finish_reason=None if finish == "streaming" else cast(FinishReason, finish),
        usage=Usage(
            input_tokens=usage.integer("input_tokens"),
            output_tokens=usage.integer("output_tokens"),
            reasoning_tokens=usage.integer("reasoning_tokens"),
            cached_input_tokens=usage.integer("cached_input_tokens"),
            cache_write_tokens=usage.integer("cache_write_tokens"),
            estimated=usage.boolean("estimated", False),
            cost_usd=usage.optional_number("cost_usd"),
            server_tokens_per_s=usage.optional_number("server_tokens_per_s"),
        ),
        metrics=Metrics(
            ttft_ms=metrics.optional_number("ttft_ms"),
            first_answer_ms=metrics.optional_number("first_answer_ms"),
            duration_ms=metrics.optional_number("duration_ms"),
            tokens_per_s=metrics.optional_number("tokens_per_s"),
        ),
        cost=cost,
        error=error,
        warnings=tuple(
            turn.child_string(item, f"warnings[{i}]")
            for i, item in enumerate(turn.list("warnings", []))
        ),
        timeline=[TimelineEntry(int(offset), kind, text) for offset, kind, text in items],
        parent=_parent(turn),
    )
    if load is not None:
        set_pending_timeline(result, load)
    return result


def _parent(turn: _Reader) -> int | None:
    value = turn.table().get("parent")
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise SessionFormatError(f"{turn.where}.parent must be a turn's index")
    return value


_KINDS = frozenset(TIMELINE_KINDS)


def _check_timeline(items: list[Any], where: str) -> None:
    """Every item must be ``[offset_ms, kind, text]``; the error names the first that is
    not. Checked a column at a time (the per-item loop only runs to find the culprit):
    half a million entries took most of a second one by one."""
    if not items:
        return
    ok = set(map(type, items)) == {list} and set(map(len, items)) == {3}
    if ok:
        offsets, kinds, texts = zip(*items, strict=True)
        types = set(map(type, offsets))
        ok = (
            types <= {int, float}
            and (float not in types or all(map(math.isfinite, offsets)))
            and 0 <= min(offsets)
            and max(offsets) <= _MAX_NUMBER
            and set(map(type, kinds)) == {str}
            and set(kinds) <= _KINDS
            and set(map(type, texts)) == {str}
        )
    if ok:
        return
    for index, item in enumerate(items):
        if not (
            isinstance(item, list)
            and len(item) == 3
            and _finite(item[0])
            and 0 <= item[0] <= _MAX_NUMBER
            and item[1] in TIMELINE_KINDS
            and isinstance(item[2], str)
        ):
            raise SessionFormatError(f"{where}.timeline[{index}] must be [offset_ms, kind, text]")
    raise AssertionError("a timeline failed the column checks but no item did")


_MISSING = object()
_MAX_NUMBER = 10**15  # any real count, cost or duration is far below this


def _finite(value: object) -> TypeGuard[int | float]:
    """A real number: not a bool, not NaN or infinite (JSON and TOML both allow those)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Reader:
    """Typed access to one table of the document, with errors that say where."""

    def __init__(self, value: object, where: str) -> None:
        self.value = value
        self.where = where

    def table(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise SessionFormatError(f"{self.where} must be a table")
        return self.value

    def _get(self, key: str, default: object) -> object:
        table = self.value if type(self.value) is dict else self.table()
        value = table.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise SessionFormatError(f"{self.where} has no {key!r}")
            return default
        return value

    def child(self, key: str) -> _Reader:
        reader = _Reader(self._get(key, {}), f"{self.where}.{key}")
        reader.table()
        return reader

    def string(self, key: str, default: object = _MISSING) -> str:
        return self.child_string(self._get(key, default), key)

    def child_string(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise SessionFormatError(f"{self.where}.{key} must be text")
        return value

    def optional_string(self, key: str) -> str | None:
        value = self._get(key, None)
        return None if value is None else self.child_string(value, key)

    def list(self, key: str, default: object = _MISSING) -> list[Any]:
        value = self._get(key, default)
        if not isinstance(value, list):
            raise SessionFormatError(f"{self.where}.{key} must be a list")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_NUMBER:
            raise SessionFormatError(f"{self.where}.{key} must be a whole number")
        return value

    def optional_number(self, key: str) -> float | None:
        value = self._get(key, None)
        if value is None:
            return None
        if not _finite(value) or abs(value) > _MAX_NUMBER:
            raise SessionFormatError(f"{self.where}.{key} must be a number")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise SessionFormatError(f"{self.where}.{key} must be true or false")
        return value


def history_of(turns: Sequence[Turn], next_prompt: str | None = None) -> tuple[Message, ...]:
    """What ``next_prompt`` (the prompt about to be sent after ``turns``) follows: every
    prompt, and every answer that has text (reasoning is not sent back), except

    - a reply that never ended and has no text (still streaming in another process, or
      killed; it reads as interrupted): nothing answered its prompt, and sending it would
      put two user messages in a row (the turn a concurrent ``chatterm ask --session``
      leaves reads so);
    - a reply that failed (cancelled, interrupted, error) and was then retried: the turn
      after it (or ``next_prompt``, a retry or a regenerated reply being asked for) has the
      same prompt, and the model should see that prompt once, with the answer that was
      retried for."""
    messages: list[Message] = []
    for index, turn in enumerate(turns):
        later = turns[index + 1].prompt if index + 1 < len(turns) else next_prompt
        if turn.finish_reason in _CUT_OFF and not turn.answer:
            continue
        failed = turn.finish_reason not in CLEAN_FINISHES
        if failed and later == turn.prompt:
            continue
        messages.append(Message("user", turn.prompt))
        if turn.answer:
            messages.append(Message("assistant", turn.answer))
    return tuple(messages)


_CUT_OFF: frozenset[FinishReason | None] = frozenset({None, "interrupted"})
