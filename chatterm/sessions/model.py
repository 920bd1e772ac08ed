"""The session document: a conversation as data, in memory and on disk.

A conversation branches: a reply regenerated, a prompt edited, an exchange undone, and
nothing is thrown away. A :class:`Session` holds every turn ever written (``tree``, in the
order written) and each turn knows the turn it follows (``parent``, an index into the
tree; None for a first turn). Turns that follow the same turn are alternatives of each
other. ``turns`` is the *active path*, the branch shown and sent as history: from a first
turn down to the active one. Everything that reads a conversation reads ``turns``; only
:meth:`Session.add` and the branch methods change either list.

A session has one system prompt (``system``), and a turn sent with another one (a role
chosen mid-chat) records its own (``Turn.system``; ``""`` for none): each turn's is
:meth:`Session.system_of` it, and from a switch on, the turns after it carry the new one.

A :class:`Turn` holds the user's message (with an :class:`AttachmentRef` for each file
attached to it: the bytes are kept once, by hash, in the attachment store) and everything
about the reply to it (model, reasoning, answer, finish reason, usage, metrics, cost,
error) plus its *timeline*: the deltas as they arrived, coalesced to at most one entry per
~16 ms frame, each ``(offset_ms, kind, text)`` with the offset counted from the request.
The timeline is what replay plays back; the reasoning and answer are what resume sends.
A turn read from a file makes its timeline into entries when it is first used (see
:class:`_PendingTimeline`); reading, setting and comparing ``Turn.timeline`` work as for
any field.

:mod:`chatterm.sessions.document` turns a session into plain data and back (the shape of
the files); :mod:`chatterm.sessions.codec` turns that into bytes.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from chatterm.attachments import format_size
from chatterm.events import (
    CLEAN_FINISHES,
    Attachment,
    AttachmentKind,
    FinishReason,
    Message,
    StreamError,
    Usage,
)
from chatterm.pricing import Cost
from chatterm.reply.accumulate import Reply
from chatterm.reply.figures import SessionCosts
from chatterm.reply.metrics import Metrics
from chatterm.text import visible_line

SCHEMA_VERSION = 6  # the newest read; a file says the lowest its contents need
FRAME_MS = 16  # deltas closer together than one frame share a timeline entry

TimelineKind = Literal["reasoning", "answer", "answer_was_reasoning"]
TIMELINE_KINDS: tuple[TimelineKind, ...] = ("reasoning", "answer", "answer_was_reasoning")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$")
TITLE_CHARS = 60
SHA256_HEX = re.compile(r"[0-9a-f]{64}")  # an attachment's hash: also its stored file's name


class SessionFormatError(ValueError):
    """The document does not have the shape of a session; the message says where."""


class FutureSessionError(SessionFormatError):
    """The document was written by a newer chatterm (a higher schema version)."""


@dataclass(slots=True)
class TimelineEntry:
    offset_ms: int
    kind: TimelineKind
    text: str


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """A file attached to a prompt, as its turn records it: what it was and the hash that
    names its bytes in the attachment store (:mod:`chatterm.sessions.attachment_store`)."""

    name: str
    kind: AttachmentKind
    media_type: str
    size: int
    sha256: str  # 64 lowercase hex digits

    @classmethod
    def of(cls, attachment: Attachment) -> AttachmentRef:
        return cls(
            name=attachment.name,
            kind=attachment.kind,
            media_type=attachment.media_type,
            size=attachment.size,
            sha256=attachment.sha256,
        )

    def with_data(self, data: bytes) -> Attachment:
        """The attachment again, with its bytes (read back from the store)."""
        return Attachment(self.name, self.kind, self.media_type, data, self.sha256)

    def describe(self) -> str:
        """``diagram.png · image · 212 KB``, the name made visible (as
        :func:`chatterm.attachments.describe` shows an attachment)."""
        return f"{visible_line(self.name)} · {self.kind} · {format_size(self.size)}"


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
    #: the answer summarizes the turns before it on its path, and the history sent after it
    #: starts with it (compaction, asked for by the user)
    compacts: bool = False
    # The system prompt this turn was sent with when it is not the session's ("": none).
    system: str | None = None
    #: the files attached to the prompt (their bytes are in the attachment store)
    attachments: tuple[AttachmentRef, ...] = ()

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
    version: int = field(default=SCHEMA_VERSION, compare=False)  # the file's, as read
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

    def system_of(self, turn: Turn) -> str | None:
        """The system prompt ``turn`` was sent with (None: none)."""
        return (turn.system if turn.system is not None else self.system) or None

    def system_in_force(self) -> str | None:
        """The system prompt the active path ends with: what continuing it sends."""
        return self.system_of(self.turns[-1]) if self.turns else self.system or None

    def system_switches(self) -> dict[int, str | None]:
        """Where the active path changes system prompt: each position whose turn was sent
        with another one than the turn before it (the first turn: than the session's),
        with that prompt (None: none)."""
        switches: dict[int, str | None] = {}
        before = self.system or None
        for position, turn in enumerate(self.turns):
            system = self.system_of(turn)
            if system != before:
                switches[position] = system
            before = system
        return switches

    def system_to_record(self, system: str | None) -> str | None:
        """``Turn.system`` for a turn sent with ``system``: None when that is the
        session's own, ``""`` for none at all."""
        if (system or None) == (self.system or None):
            return None
        return system or ""

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

    def begun_together(self, position: int) -> list[int]:
        """The replies at ``position`` of the active path that were begun together with
        the one shown (a comparison: they share their ``started`` instant), as indices in
        the tree in the order written; just the one shown for a reply begun alone."""
        self.sync()
        shown = self.tree[self.path[position]]
        together = [
            i
            for i in self.alternatives(position)
            if (self.tree[i].started, self.tree[i].prompt) == (shown.started, shown.prompt)
        ]
        return together

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


AttachmentLoader = Callable[["Turn"], tuple[Attachment, ...]]


def history_of(
    turns: Sequence[Turn],
    next_prompt: str | None = None,
    attachments: AttachmentLoader | None = None,
) -> tuple[Message, ...]:
    """What ``next_prompt`` (the prompt about to be sent after ``turns``) follows: the
    prompt of every turn :func:`sent_turns` keeps, and its answer if it has text (reasoning
    is not sent back). ``attachments`` gives a turn's attached files with their bytes
    (:meth:`chatterm.sessions.keeper.SessionKeeper.attachments_of`); without it the
    prompts go without them."""
    messages: list[Message] = []
    for turn in sent_turns(turns, next_prompt):
        files = attachments(turn) if attachments is not None and turn.attachments else ()
        messages.append(Message("user", turn.prompt, files))
        if turn.answer:
            messages.append(Message("assistant", turn.answer))
    return tuple(messages)


def sent_turns(turns: Sequence[Turn], next_prompt: str | None = None) -> list[Turn]:
    """The turns whose exchange is sent as history before ``next_prompt``: every one except

    - a reply that never ended and has no text (still streaming in another process, or
      killed; it reads as interrupted): nothing answered its prompt, and sending it would
      put two user messages in a row (the turn a concurrent ``chatterm ask --session``
      leaves reads so);
    - a reply that failed (cancelled, interrupted, error) and was then retried: the turn
      after it (or ``next_prompt``, a retry or a regenerated reply being asked for) has the
      same prompt, and the model should see that prompt once, with the answer that was
      retried for;
    - every turn before a summary of them (a turn that ``compacts``, once it finished with
      an answer): the summary stands for them.
    """
    sent: list[Turn] = []
    for index, turn in enumerate(turns):
        later = turns[index + 1].prompt if index + 1 < len(turns) else next_prompt
        if turn.finish_reason in _CUT_OFF and not turn.answer:
            continue
        failed = turn.finish_reason not in CLEAN_FINISHES
        if failed and later == turn.prompt:
            continue
        if turn.compacts and not failed and turn.answer:
            sent.clear()
        sent.append(turn)
    return sent


_CUT_OFF: frozenset[FinishReason | None] = frozenset({None, "interrupted"})
