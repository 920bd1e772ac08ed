"""The session document as plain data: what a session file holds, checked on the way in.

:func:`session_to_data` / :func:`session_from_data` convert a
:class:`~chatterm.sessions.model.Session` to and from plain dicts of
str/int/float/bool/list/dict, with no ``None`` anywhere (TOML has no null: a missing key
means "none"), so the JSON and TOML files have the same shape. The document ends with
``end = {turns = N}``: a TOML file cut short at a line break still parses, and this is how
a complete file is told from the start of one. Anyone can edit a file, so every value is
checked, and an error names where it is.

Version 2 writes every turn of the tree in ``turns``, each with ``parent`` (the index of
the turn it follows; absent for a first turn), and ``active`` (the index of the last turn
of the active path; -1 when it is empty). A version-1 file is one branch: turn i follows
turn i-1 and the last is active. It is read as that and written as version 2 only when it
is saved after a change. A file is written with the lowest version that holds it
(:func:`document_version`): 3 adds the ``shared`` cost source, 4 ``compacts``, 5 a
turn's own ``system``, 6 a turn's ``attachments`` (the name, kind, media type, size and
SHA-256 of each file attached to its prompt, whose bytes are kept by that hash beside the
sessions, never in the file).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeGuard, cast

from chatterm.events import FINISH_REASONS, AttachmentKind, FinishReason, StreamError, Usage
from chatterm.pricing import Cost, CostSource
from chatterm.reply.metrics import Metrics
from chatterm.sessions.model import (
    SCHEMA_VERSION,
    SHA256_HEX,
    TIMELINE_KINDS,
    AttachmentRef,
    FutureSessionError,
    Session,
    SessionFormatError,
    TimelineEntry,
    TimelineLoader,
    Turn,
    is_valid_id,
    set_pending_timeline,
    timeline_data,
)

_COST_SOURCES: tuple[CostSource, ...] = (
    "server",
    "config",
    "price_table",
    "local",
    "unknown",
    "shared",
)


def document_version(session: Session) -> int:
    """The lowest schema version that holds ``session``: 6 when a prompt has files
    attached (``attachments``), 5 when a turn was sent with a
    system prompt other than the session's (a role switched mid-chat: a key older
    versions do not know, and would send the wrong system prompt without), 4 when a turn
    summarizes the ones before it (``compacts``), 3 when a reply's cost is shared with
    another choice of its request (a source version 2 does not know), else 2. A file is
    written with it, so an older chatterm opens every file that it can read."""
    if any(turn.attachments for turn in session.tree):
        return 6
    if any(turn.system is not None for turn in session.tree):
        return 5
    if any(turn.compacts for turn in session.tree):
        return 4
    if any(turn.cost is not None and turn.cost.source == "shared" for turn in session.tree):
        return 3
    return 2


def session_to_data(session: Session, *, with_turns: bool = True) -> dict[str, Any]:
    session.sync()
    data: dict[str, Any] = {
        "chatterm_session": document_version(session),  # written only after a change
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
        **({"attachments": list(map(_ref_data, turn.attachments))} if turn.attachments else {}),
        "model": turn.model,
        "started": turn.started,
        **({} if turn.parent is None else {"parent": turn.parent}),
        **({"compacts": True} if turn.compacts else {}),
        **({} if turn.system is None else {"system": turn.system}),
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


def _ref_data(ref: AttachmentRef) -> dict[str, Any]:
    return {
        "name": ref.name,
        "kind": ref.kind,
        "media_type": ref.media_type,
        "size": ref.size,
        "sha256": ref.sha256,
    }


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
        compacts=turn.boolean("compacts", False),
        system=turn.optional_string("system"),
        attachments=_attachments(turn),
    )
    if load is not None:
        set_pending_timeline(result, load)
    return result


_ATTACHMENT_KINDS = ("text", "image", "pdf")


def _attachments(turn: _Reader) -> tuple[AttachmentRef, ...]:
    refs: list[AttachmentRef] = []
    for index, item in enumerate(turn.list("attachments", [])):
        ref = _Reader(item, f"{turn.where}.attachments[{index}]")
        ref.table()
        kind = ref.string("kind")
        if kind not in _ATTACHMENT_KINDS:
            raise SessionFormatError(f"{ref.where}.kind {kind!r:.30} is unknown")
        sha256 = ref.string("sha256")
        if not SHA256_HEX.fullmatch(sha256):  # it names a file: nothing else may get in
            raise SessionFormatError(f"{ref.where}.sha256 must be 64 lowercase hex digits")
        refs.append(
            AttachmentRef(
                name=ref.string("name"),
                kind=cast(AttachmentKind, kind),
                media_type=ref.string("media_type"),
                size=ref.integer("size"),
                sha256=sha256,
            )
        )
    return tuple(refs)


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
