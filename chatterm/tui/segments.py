"""Cut a growing Markdown answer into finished segments and a live tail.

The answer pane renders each finished segment once and re-renders only the live tail on
each frame, so the cost of a frame stays flat however long the answer grows. Where a
segment may end, in order of preference:

- At a blank line outside any code fence (every one: ``blank_lines`` is 1 by default),
  provided the next line has begun and does not start with whitespace (so an indented
  continuation of a list item is never cut off from its item). A segment is then one
  block, and the live tail only the block being written: a tail of 20 lines or more was
  most of a frame's Markdown rendering, four times over in a comparison (README,
  Performance).
- Past ``2 * max_lines`` lines with no blank line (a tight list, a long table): before a
  top-level list item, or between two rows of a table. An ordered list cut this way
  carries on from the right number: Rich numbers a list from its first item's number, so
  the item that starts the tail is renumbered when the source numbers differently (``1.``
  on every item, say), as long as the new number leaves the item's content in its column
  (else the cut waits). A table cut this way repeats its header row and delimiter row at
  the start of the tail, the way a cut code fence is reopened.
- Past ``3 * max_lines`` lines, before any unindented line outside a list, table or fence
  that does not change what the line before it means (no setext underline, no table
  delimiter row, no ordered item that would start a list of its own).

A line nested too deep (:func:`chatterm.tui.markdown.hostile.too_deep`) makes its segment
plain text: the scanner, whose work grows with the nesting, never sees it or the lines
after it, and the segment ends after ``max_lines`` lines, before any line, so a nesting
bomb streams in as small plain segments.

A fence longer than ``max_fence_lines`` is cut too, or one long code block would make the
live tail grow without bound: the finished part gets a closing fence and the tail starts
again with the opening line. Fences indented four or more spaces (inside nested list
items) are never cut, since reopening them alone would not parse the same.

The rules follow how markdown-it (Rich's parser) reads the text, closely enough to know
whether a line starts a list item, continues one, or is a table row; it is not a full
parser (its rules are checked against markdown-it by a property test). What it cannot
cut: runs of indented lines (a long nested list under one item, an indented code block),
a list numbered ``1.`` throughout once its numbers need more digits, a list whose items
hold ``|`` (the first item of a segment could be read as a table head), and a single
line that never ends.

The split depends only on text already received, and only on whole lines, so splitting
the tail again after more text arrives gives the same segments as splitting the whole
text at once. After every cut the scanner starts afresh on the text the next segment
begins with (a reopened fence, a repeated table header, a renumbered item), exactly as
re-splitting that segment later will. That is what lets the pane keep its frozen segments
and re-split only the tail. Pure and synchronous: no Textual here.
"""

from __future__ import annotations

from chatterm.tui.markdown.blocks import WAIT, BlockScanner, Cut
from chatterm.tui.markdown.hostile import too_deep

SEGMENT_LINES = 20
FENCE_SPLIT_LINES = 60
BLANK_LINES = 1  # lines a segment needs before a blank line may end it


def split_segments(
    text: str,
    max_lines: int = SEGMENT_LINES,
    max_fence_lines: int = FENCE_SPLIT_LINES,
    *,
    blank_lines: int = BLANK_LINES,
) -> tuple[list[str], str]:
    """Split ``text`` into finished segments and the live tail that follows them.

    Without fence, table or renumbering cuts, ``"".join(segments) + tail == text``. A
    fence cut adds a closing fence line to the end of the segment it finishes and repeats
    the opening line at the start of what follows; a table cut repeats the header and
    delimiter rows; a list cut may renumber the first item; so each segment parses on its
    own as it would have in place.

    Args:
        text: Markdown, as much as has arrived (the last line may be incomplete).
        max_lines: the segment size aimed at where no blank line comes (a tight list, a
            table, a long paragraph).
        max_fence_lines: fenced lines after which a long code block is cut.
        blank_lines: lines a segment needs before a blank line may finish it.

    Returns:
        The finished segments, in order, and the tail (possibly empty).
    """
    segments: list[str] = []
    start = 0  # where the current segment's own text begins in ``text``
    prefix = ""  # text the current segment begins with that is not in ``text`` there
    lines = 0  # complete lines in the current segment, counting ``prefix``
    blocks = BlockScanner()
    opening = ""  # the line that opened the innermost code fence
    plain = False  # the current segment has a line nested too deep: it is plain text
    size = len(text)
    pos = 0
    while pos < size:
        end = text.find("\n", pos)
        line = text[pos:end] if end != -1 else None
        if lines:
            if plain:
                cut = Cut() if lines >= max_lines and line is not None else None
            else:
                cut = blocks.cut_before(text[pos], line, lines, max_lines, blank_lines)
            if cut is WAIT:
                break
            if cut is not None:
                segments.append(prefix + text[start:pos])
                blocks, lines, prefix, start = BlockScanner(), 0, cut.reopen, pos + cut.skip
                plain = False
                *whole, partial = cut.reopen.split("\n")
                for reopened in whole:  # a repeated table head
                    blocks.feed(reopened)
                    lines += 1
                if line is not None:
                    line = partial + text[start:end]
        if line is None:
            break  # an incomplete last line decides nothing yet
        after = end + 1
        if plain or too_deep(line):
            # Shown as plain text (chatterm.tui.markdown.hostile), so its blocks do not
            # matter; it is cut every ``max_lines`` lines, and the scanner, whose work
            # grows with the nesting, never sees the line.
            plain, lines, pos = True, lines + 1, after
            continue
        before = blocks.innermost_fence()
        fence_was = before.fence if before is not None else None
        blocks.feed(line)
        lines += 1
        holder = blocks.innermost_fence()
        if holder is None or holder.fence is None:
            pos = after
            continue
        if holder.fence is not fence_was:
            opening = line  # as written, with its indentation
        if holder.fenced_lines >= max_fence_lines and _splittable(opening):
            indent = opening[: len(opening) - len(opening.lstrip())]
            closing = indent + holder.fence.char * holder.fence.length + "\n"
            segments.append(prefix + text[start:after] + closing)
            prefix, start, lines = opening + "\n", after, 1
            blocks = BlockScanner()
            blocks.feed(opening)
        pos = after
    return segments, prefix + text[start:]


def _splittable(opening: str) -> bool:
    """A fence indented at most three spaces can be closed and reopened on its own."""
    indent = opening[: len(opening) - len(opening.lstrip())]
    return "\t" not in indent and len(indent) <= 3


def split_all(
    text: str,
    max_lines: int = SEGMENT_LINES,
    max_fence_lines: int = FENCE_SPLIT_LINES,
    *,
    blank_lines: int = BLANK_LINES,
) -> list[str]:
    """Every segment of a finished answer, the last one included (no empty segments)."""
    segments, tail = split_segments(text, max_lines, max_fence_lines, blank_lines=blank_lines)
    if tail:
        segments.append(tail)
    return segments


def ends_at_blank_line(segment: str) -> bool:
    """Whether a segment ends at a blank line, rather than inside a block that the next
    segment goes on with (a tight list, a table, a long code block or paragraph)."""
    if not segment.endswith("\n"):
        return False
    return not segment[:-1].rpartition("\n")[2].strip()


class SegmentSplitter:
    """The incremental form: feed text as it arrives, collect segments as they finish.

    Only the live tail is ever scanned again, so the cost of a feed does not depend on how
    much of the answer is already finished.
    """

    def __init__(
        self,
        max_lines: int = SEGMENT_LINES,
        max_fence_lines: int = FENCE_SPLIT_LINES,
        *,
        blank_lines: int = BLANK_LINES,
    ) -> None:
        self.max_lines = max_lines
        self.max_fence_lines = max_fence_lines
        self.blank_lines = blank_lines
        self.tail = ""

    def split_all(self, text: str) -> list[str]:
        """Every segment of ``text``, finished, cut as this splitter cuts."""
        return split_all(text, self.max_lines, self.max_fence_lines, blank_lines=self.blank_lines)

    def fresh(self) -> SegmentSplitter:
        """A splitter that cuts as this one does, with nothing fed yet."""
        return SegmentSplitter(self.max_lines, self.max_fence_lines, blank_lines=self.blank_lines)

    def feed(self, text: str) -> list[str]:
        """Add ``text``; return the segments it finished (often none)."""
        if not text:
            return []
        finished, self.tail = split_segments(
            self.tail + text, self.max_lines, self.max_fence_lines, blank_lines=self.blank_lines
        )
        return finished
