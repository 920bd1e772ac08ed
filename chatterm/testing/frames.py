"""Frames (one wire event each, with what it carries) and how a body is cut into writes.

Shared by every wire format of the fake server: the writer that turns payloads into SSE
events or NDJSON lines, the fault positions resolved against a list of frames, and the byte
splitting (per event, whole, awkward cut points, fixed sizes) that reaches the client as
separate HTTP chunks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chatterm.testing.scenario import After, Point, Split


@dataclass(frozen=True, slots=True)
class Frame:
    """One event (or comment, or raw text) on the wire, with what it carries."""

    wire: bytes
    kind: Literal["data", "comment", "raw"] = "data"
    reasoning: str = ""  # reasoning text
    content: str = ""  # answer text (Chat Completions: delta.content, tags included)
    finish: str | None = None  # the format's own finish value
    usage: Mapping[str, Any] | None = None  # the format's own usage object
    error: Mapping[str, Any] | None = None  # the format's own error payload
    seq: int | None = None  # Responses: the event's sequence_number


def dumps(value: Any, *, padding: bool = False, separators: tuple[str, str] = (",", ":")) -> str:
    """Compact JSON with raw UTF-8 (U+2028 included), as the real servers send it."""
    text = json.dumps(value, ensure_ascii=False, separators=separators)
    if padding and text.endswith("}"):
        text = text[:-1] + "   }"
    return text


@dataclass(frozen=True, slots=True)
class Wire:
    """Writes frames in one format's framing: line ending, ``data:`` spacing, JSON style."""

    eol: str = "\n"
    data_space: bool = True
    padding: bool = False
    separators: tuple[str, str] = (",", ":")

    def json(self, value: Any) -> str:
        return dumps(value, padding=self.padding, separators=self.separators)

    def sse(
        self,
        payload: Any,
        event: str | None = None,
        *,
        reasoning: str = "",
        content: str = "",
        finish: str | None = None,
        usage: Mapping[str, Any] | None = None,
        error: Mapping[str, Any] | None = None,
        seq: int | None = None,
    ) -> Frame:
        """One SSE event: ``event:`` (when named), ``data:``, blank line."""
        data = payload if isinstance(payload, str) else self.json(payload)
        prefix = "data: " if self.data_space else "data:"
        head = f"event: {event}{self.eol}" if event else ""
        text = head + prefix + data + self.eol + self.eol
        return Frame(
            text.encode("utf-8"),
            reasoning=reasoning,
            content=content,
            finish=finish,
            usage=usage,
            error=error,
            seq=seq,
        )

    def line(
        self,
        payload: Any,
        *,
        reasoning: str = "",
        content: str = "",
        finish: str | None = None,
        usage: Mapping[str, Any] | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> Frame:
        """One NDJSON line."""
        data = payload if isinstance(payload, str) else self.json(payload)
        return Frame(
            (data + self.eol).encode("utf-8"),
            reasoning=reasoning,
            content=content,
            finish=finish,
            usage=usage,
            error=error,
        )

    def comment(self, text: str = "keep-alive") -> Frame:
        return Frame(f": {text}{self.eol}{self.eol}".encode(), kind="comment")

    @staticmethod
    def raw(text: str) -> Frame:
        return Frame(text.encode("utf-8"), kind="raw")


# ---------------------------------------------------------------------------- positions


def index_after(frames: Sequence[Frame], point: Point) -> int:
    """Where to insert something that comes right after ``point``.

    An int N: just after the N-th data frame (comments after it not included). An
    :class:`After`: just before the frame carrying that piece.
    """
    if isinstance(point, After):
        return _index_of_piece(frames, point)
    seen = 0
    for i, frame in enumerate(frames):
        if seen == point:
            return i
        if frame.kind == "data":
            seen += 1
    return len(frames)


def index_of(frames: Sequence[Frame], point: Point) -> int:
    """Where a body cut at ``point`` ends: an int N is the index of the data frame numbered
    N (0-based), so the comments after the N-th data frame are still sent."""
    if isinstance(point, After):
        return _index_of_piece(frames, point)
    seen = 0
    for i, frame in enumerate(frames):
        if frame.kind == "data":
            if seen == point:
                return i
            seen += 1
    return len(frames)


def _carries(frame: Frame, channel: str) -> bool:
    return bool(frame.reasoning if channel == "reasoning" else frame.content)


def _index_of_piece(frames: Sequence[Frame], point: After) -> int:
    """The index of the frame carrying piece number ``point.pieces`` (0-based) of the
    channel; past the last piece, the index just after it."""
    seen = 0
    last = -1
    for i, frame in enumerate(frames):
        if _carries(frame, point.channel):
            if seen == point.pieces:
                return i
            seen += 1
            last = i
    if last >= 0:
        return last + 1
    if point.channel == "reasoning":  # no reasoning at all: the point is before the answer
        return next((i for i, f in enumerate(frames) if f.content), len(frames))
    carriers = [i for i, f in enumerate(frames) if f.reasoning]
    return carriers[-1] + 1 if carriers else len(frames)


def mid_frame_offset(frames: Sequence[Frame], data_index: int) -> int:
    """A byte offset in the middle of the ``data_index``-th data frame (0-based): a drop there
    cuts that event's line in half."""
    offset = 0
    seen = 0
    for frame in frames:
        if frame.kind == "data":
            if seen == data_index:
                return offset + len(frame.wire) // 2
            seen += 1
        offset += len(frame.wire)
    raise IndexError(data_index)


def drop_offset(frames: Sequence[Frame], point: Point) -> int:
    """The byte offset halfway through the frame at ``point`` (see :func:`index_of`)."""
    index = index_of(frames, point)
    offset = sum(len(frame.wire) for frame in frames[:index])
    if index < len(frames):
        offset += len(frames[index].wire) // 2
    return offset


def reconstruct(frames: Sequence[Frame]) -> tuple[str, str]:
    """The (reasoning, content) a client should have after receiving ``frames``."""
    return "".join(f.reasoning for f in frames), "".join(f.content for f in frames)


# ---------------------------------------------------------------------------- byte splits


def awkward_offsets(wire: bytes) -> list[int]:
    """Cut points a careless decoder gets wrong: inside ``data:``, mid-line, inside every
    multi-byte UTF-8 character, and between every CR and its LF."""
    cuts: set[int] = set()
    start = 0
    for line in wire.splitlines(keepends=True):
        if line.startswith(b"data:"):
            cuts.add(start + 3)
        if len(line) > 2:
            cuts.add(start + len(line) // 2)
        start += len(line)
    for i, byte in enumerate(wire):
        if byte >= 0xC0:  # lead byte of a multi-byte character
            cuts.add(i + 1)
        elif byte == 0x0A and i and wire[i - 1] == 0x0D:
            cuts.add(i)
    return sorted(c for c in cuts if 0 < c < len(wire))


def split_wire(frames: Sequence[Frame], split: Split) -> list[bytes]:
    """The body cut into the writes the server makes."""
    wire = b"".join(f.wire for f in frames)
    if not wire:
        return []
    if split == "event":
        return [f.wire for f in frames]
    if split == "whole":
        return [wire]
    if split == "bytewise":
        return [wire[i : i + 1] for i in range(len(wire))]
    if split == "awkward":
        cuts = awkward_offsets(wire)
    elif isinstance(split, int):
        cuts = list(range(split, len(wire), split))
    else:
        cuts = sorted(c for c in set(split) if 0 < c < len(wire))
    bounds = [0, *cuts, len(wire)]
    return [wire[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
