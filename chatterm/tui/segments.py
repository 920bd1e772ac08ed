"""Cut a growing Markdown answer into finished segments and a live tail.

The answer pane renders each finished segment once and re-renders only the live tail on
each frame, so the cost of a frame stays flat however long the answer grows. A segment is
finished at the first blank line, outside any code fence, after at least ``max_lines``
lines, provided the next line has begun and does not start with whitespace (so an
indented continuation of a list item is never cut off from its item).

A fence longer than ``max_fence_lines`` is cut too, or one long code block would make the
live tail grow without bound: the finished part gets a closing fence and the tail starts
again with the opening line. Fences indented four or more spaces (inside nested list
items) are never cut, since reopening them alone would not parse the same.

The split depends only on text already received, and only on whole lines, so splitting
the tail again after more text arrives gives the same segments as splitting the whole
text at once. That is what lets the pane keep its frozen segments and re-split only the
tail. Pure and synchronous: no Textual here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEGMENT_LINES = 20
FENCE_SPLIT_LINES = 60

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FENCE_CLOSE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")


@dataclass(frozen=True, slots=True)
class _Fence:
    char: str
    length: int
    opening: str  # the opening line, without its newline
    splittable: bool  # indented at most three spaces: can be closed and reopened


def _open_fence(line: str) -> _Fence | None:
    match = _FENCE_OPEN.match(line)
    if match is None:
        return None
    fence = match.group("fence")
    if fence[0] == "`" and "`" in match.group("info"):
        return None  # ```code``` on one line is an inline code span, not a fence
    indent = match.group("indent")
    splittable = "\t" not in indent and len(indent) <= 3
    return _Fence(fence[0], len(fence), line, splittable)


def _closes(line: str, fence: _Fence) -> bool:
    match = _FENCE_CLOSE.match(line)
    if match is None:
        return False
    marker = match.group("fence")
    return marker[0] == fence.char and len(marker) >= fence.length


def split_segments(
    text: str,
    max_lines: int = SEGMENT_LINES,
    max_fence_lines: int = FENCE_SPLIT_LINES,
) -> tuple[list[str], str]:
    """Split ``text`` into finished segments and the live tail that follows them.

    Without fence cuts, ``"".join(segments) + tail == text``. A fence cut adds a closing
    fence line to the end of the segment it finishes and repeats the opening line at the
    start of what follows, so each segment parses on its own.

    Args:
        text: Markdown, as much as has arrived (the last line may be incomplete).
        max_lines: lines a segment needs before a blank line may finish it.
        max_fence_lines: fenced lines after which a long code block is cut.

    Returns:
        The finished segments, in order, and the tail (possibly empty).
    """
    segments: list[str] = []
    start = 0  # where the current segment begins in ``text``
    prefix = ""  # a reopened fence line that the current segment begins with
    lines = 0  # complete lines in the current segment, counting ``prefix``
    fence: _Fence | None = None
    fenced_lines = 0
    size = len(text)
    pos = 0
    while True:
        end = text.find("\n", pos)
        if end == -1:
            break  # an incomplete last line decides nothing yet
        line = text[pos:end]
        after = end + 1
        lines += 1
        if fence is None:
            fence = _open_fence(line)
            fenced_lines = 0
            if (
                fence is None
                and lines >= max_lines
                and not line.strip()
                and after < size
                and not text[after].isspace()
            ):
                segments.append(prefix + text[start:after])
                start, prefix, lines = after, "", 0
        elif _closes(line, fence):
            fence = None
        else:
            fenced_lines += 1
            if fence.splittable and fenced_lines >= max_fence_lines:
                indent = fence.opening[: len(fence.opening) - len(fence.opening.lstrip())]
                closing = indent + fence.char * fence.length + "\n"
                segments.append(prefix + text[start:after] + closing)
                start, prefix, lines = after, fence.opening + "\n", 1
                fenced_lines = 0
        pos = after
    return segments, prefix + text[start:]


def split_all(
    text: str,
    max_lines: int = SEGMENT_LINES,
    max_fence_lines: int = FENCE_SPLIT_LINES,
) -> list[str]:
    """Every segment of a finished answer, the last one included (no empty segments)."""
    segments, tail = split_segments(text, max_lines, max_fence_lines)
    if tail:
        segments.append(tail)
    return segments


class SegmentSplitter:
    """The incremental form: feed text as it arrives, collect segments as they finish.

    Only the live tail is ever scanned again, so the cost of a feed does not depend on how
    much of the answer is already finished.
    """

    def __init__(
        self, max_lines: int = SEGMENT_LINES, max_fence_lines: int = FENCE_SPLIT_LINES
    ) -> None:
        self.max_lines = max_lines
        self.max_fence_lines = max_fence_lines
        self.tail = ""

    def feed(self, text: str) -> list[str]:
        """Add ``text``; return the segments it finished (often none)."""
        if not text:
            return []
        finished, self.tail = split_segments(self.tail + text, self.max_lines, self.max_fence_lines)
        return finished
