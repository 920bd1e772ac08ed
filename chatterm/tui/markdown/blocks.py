"""How the lines of a Markdown segment read, as far as cutting it goes.

A line-level scanner that follows markdown-it (Rich's parser) closely enough to know whether
a line opens or closes a code fence, starts a list item or continues one, is a table row, or
ends an HTML block, and so where :mod:`chatterm.tui.segments` may cut a growing answer. It is
not a full parser; its rules are checked against markdown-it by a property test
(tests/tui/test_segments.py). Pure and synchronous: no Textual here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from chatterm.tui.compat import HTML_BLOCK_SEQUENCES

TIGHT_FACTOR = 2  # past this many times max_lines, cut before a list item or a table row
ANY_LINE_FACTOR = 3  # past this many times max_lines, cut before any safe line

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FENCE_CLOSE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*$")
_BULLET = re.compile(r"^(?P<marker>[-*+])(?P<space>[ \t]+|$)")
_ORDERED = re.compile(r"^(?P<number>\d{1,9})(?P<delim>[.)])(?P<space>[ \t]+|$)")
_HR = re.compile(r"^ {0,3}(?P<char>[-*_])(?:[ \t]*(?P=char)){2,}[ \t]*$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_DELIMITER_LIKE = re.compile(r"^[ \t]*[-:|][-:| \t]*$")
_DELIMITER_CELL = re.compile(r"^:?-+:?$")


@dataclass(frozen=True, slots=True)
class _Fence:
    char: str
    length: int


def _open_fence(line: str) -> _Fence | None:
    match = _FENCE_OPEN.match(line)
    if match is None or indent_columns(line) >= 4:
        return None
    fence = match.group("fence")
    if fence[0] == "`" and "`" in match.group("info"):
        return None  # ```code``` on one line is an inline code span, not a fence
    return _Fence(fence[0], len(fence))


def _closes(line: str, fence: _Fence) -> bool:
    match = _FENCE_CLOSE.match(line)
    if match is None or indent_columns(line) >= 4:
        return False
    marker = match.group("fence")
    return marker[0] == fence.char and len(marker) >= fence.length


def indent_columns(line: str) -> int:
    """Columns of leading whitespace (a tab goes to the next multiple of four)."""
    column = 0
    for char in line:
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            break
    return column


def _dedent(line: str, columns: int) -> str:
    """The line without its first ``columns`` columns of indentation."""
    column = 0
    for index, char in enumerate(line):
        if column >= columns or char not in " \t":
            return " " * (column - columns) + line[index:]
        column += 1 if char == " " else 4 - column % 4
    return " " * max(0, column - columns)


@dataclass(frozen=True, slots=True)
class _Item:
    """A list item's first line, its indentation removed."""

    ordered: bool
    number: int  # 0 for a bullet
    delim: str  # "." or ")"; the marker character for a bullet
    marker: int  # characters of the marker itself ("12." is 3)
    content_indent: int  # the column where the item's content starts
    content: str  # the rest of the line, as the item's content sees it

    @property
    def empty(self) -> bool:
        return not self.content.strip()


def _list_item(line: str) -> _Item | None:
    ordered = _ORDERED.match(line)
    match = ordered or _BULLET.match(line)
    if match is None or (ordered is None and _HR.match(line)):
        return None
    space = match.group("space")
    marker = match.end() - len(space)
    rest = line[match.end() :]
    if not rest.strip() or indent_columns(space) > 4:
        # An empty item, or indented code: the content is one space in.
        content_indent = marker + 1
        content = line[marker + 1 :] if space else ""
    else:
        content_indent = marker + indent_columns(space)
        content = rest
    if ordered is not None:
        return _Item(
            True,
            int(ordered.group("number")),
            ordered.group("delim"),
            marker,
            content_indent,
            content,
        )
    return _Item(False, 0, match.group("marker"), marker, content_indent, content)


def _cells(row: str) -> list[str]:
    """A table row's cells, split at pipes not escaped with a backslash."""
    cells: list[str] = []
    current: list[str] = []
    escaped = False
    for char in row.strip():
        if char == "|" and not escaped:
            cells.append("".join(current))
            current = []
        else:
            current.append(char)
        escaped = char == "\\" and not escaped
    cells.append("".join(current))
    if cells and not cells[0].strip():
        cells.pop(0)
    if cells and not cells[-1].strip():
        cells.pop()
    return cells


def _is_delimiter_row(line: str, header: str) -> bool:
    """Whether ``line`` under ``header`` makes the two the head of a table."""
    if not _DELIMITER_LIKE.match(line) or indent_columns(line) >= 4:
        return False
    stripped = line.strip()
    if len(stripped) < 2 or (stripped[0] == "-" and stripped[1] in " \t"):
        return False  # "-" underlines a heading, "- ..." is a list item
    parts = stripped.split("|")
    aligns = 0
    for index, part in enumerate(parts):
        cell = part.strip()
        if not cell:
            if index in (0, len(parts) - 1):
                continue
            return False
        if not _DELIMITER_CELL.match(cell):
            return False
        aligns += 1
    return aligns > 0 and aligns == len(_cells(header))


def _html_block(line: str, after_text: bool) -> re.Pattern[str] | None | Literal[False]:
    """Whether the line starts an HTML block: False if not; else the pattern that ends it,
    or None when it ends on this line (the rules are markdown-it's own)."""
    stripped = line.lstrip()
    if not stripped.startswith("<") or indent_columns(line) >= 4:
        return False
    for opening, closing, interrupts in HTML_BLOCK_SEQUENCES:
        if opening.search(stripped):
            if not interrupts and after_text:
                return False  # it goes on with the paragraph
            return None if closing.search(stripped) else closing
    return False


def _interrupts(line: str) -> bool:
    """Whether a line left of a list item's content starts a block even in the middle
    of the item's paragraph (which the line would otherwise go on with, lazily).

    markdown-it measures the line's indentation from the item's content column, where it
    is negative: any block start counts, however far the line is indented, except a list
    item indented four columns or more (from the list's own margin).
    """
    stripped = line.lstrip()
    if _list_item(stripped) is not None:
        return indent_columns(line) < 4
    if _HR.match(stripped) or _HEADING.match(stripped):
        return True
    if _open_fence(stripped) is not None or stripped.startswith(">"):
        return True
    return _html_block(stripped, after_text=True) is not False


def _ends_table(line: str) -> bool:
    """Whether a non-blank line ends a table instead of being its next row."""
    return indent_columns(line) >= 4 or _interrupts(line)


@dataclass(frozen=True, slots=True)
class Cut:
    """End the segment before a line; the next one starts with ``reopen`` and then the
    text from ``skip`` characters into that line."""

    reopen: str = ""
    skip: int = 0


WAIT = Cut("wait")  # the decision needs the whole of the next line


class BlockScanner:
    """What the lines of a segment so far mean, as far as cutting goes.

    A fresh instance is the state at the start of a segment, which Rich renders on its
    own. The content of the current list item is followed by a nested instance, fed the
    item's lines without their indentation, as markdown-it reads them.
    """

    def __init__(self) -> None:
        self.fence: _Fence | None = None
        self.fenced_lines = 0
        self.html: re.Pattern[str] | None = None  # what ends the HTML block we are in
        self.prev_blank = True  # the start of a segment reads like the line after a blank
        self.prev_text = False  # in a paragraph, which plain text goes on with
        self.in_quote = False  # in a block quote's paragraph, which plain text goes on with
        self.item: BlockScanner | None = None  # the current list item's content, in a list
        self.content_indent = 0  # of the current item
        self.ordered: tuple[str, int] | None = None  # delimiter, number of the current item
        self.bullet = ""  # the marker of a bullet list
        self.empty_item = 0  # 1: the item has no content yet; 2: and a blank line ended it
        self.header: str | None = None  # the previous line, if it could head a table
        self.table: str | None = None  # header and delimiter rows while in a table body
        self.table_rows = 0

    @property
    def in_list(self) -> bool:
        return self.item is not None

    def open_paragraph(self) -> bool:
        """Whether a plain line would go on with a paragraph (lazily, in a list item)."""
        if self.item is not None:
            return self.item.open_paragraph()
        return self.prev_text or self.in_quote

    def innermost_fence(self) -> BlockScanner | None:
        """The instance in whose code fence the last line was, if any."""
        if self.fence is not None:
            return self
        return self.item.innermost_fence() if self.item is not None else None

    # -- reading a line -----------------------------------------------------------------

    def lazy_line(self) -> None:
        """A line that goes on with the innermost paragraph, whatever it looks like."""
        self.prev_blank, self.header = False, None
        if self.item is not None:
            self.item.lazy_line()

    def feed(self, line: str) -> None:
        """Take one complete line (without its newline) into account."""
        if self.fence is not None:
            if _closes(line, self.fence):
                self.fence = None
                self._after_block()
            else:
                self.fenced_lines += 1
            return
        if self.html is not None:
            if not self.html.search(line.strip()):
                return
            self.html = None
            if line.strip():
                self._after_block()
                return
        if not line.strip():
            if self.item is not None:
                self.item.feed("")
                if self.empty_item == 2:
                    self._end_list()  # an empty item and two blank lines end a list
                elif self.empty_item:
                    self.empty_item = 2
            self.table = self.header = None
            self.prev_blank, self.prev_text, self.in_quote = True, False, False
            return
        header, self.header = self.header, None
        if header is not None and _is_delimiter_row(line, header):
            self._end_list()  # the line before started a list, or so it seemed
            self._after_block()
            self.table, self.table_rows = header + "\n" + line + "\n", 0
            self.prev_blank = False
            return
        if self.item is not None and self.empty_item != 2:
            indent = indent_columns(line)
            if indent >= self.content_indent:
                self.item.feed(_dedent(line, self.content_indent))
                self.prev_blank, self.empty_item = False, 0
                return
            if self.item.open_paragraph() and not _interrupts(line):
                self.item.lazy_line()
                self.prev_blank = False
                return
        self._outside_items(line)
        self.prev_blank = False

    def _outside_items(self, line: str) -> None:
        """A non-blank line that is not part of the current list item, if any."""
        indent = indent_columns(line)
        if indent >= 4:
            if self.item is None and (self.prev_text or self.in_quote):
                return  # indented code cannot interrupt a paragraph
            self.table = None
            self._end_list()
            self._after_block()  # indented code
            return
        if self.table is not None:
            if not _ends_table(line):
                self.table_rows += 1
                return
            self.table = None
        fence = _open_fence(line)
        if fence is not None:
            self._end_list()
            self._after_block()
            self.fence, self.fenced_lines = fence, 0
            return
        html = _html_block(line, after_text=self.open_paragraph() and self.item is None)
        if html is not False:
            self._end_list()
            self._after_block()
            self.html = html
            return
        item = _list_item(line.lstrip())
        if item is not None:
            if self._continues(item):
                if self.ordered is not None:
                    self.ordered = (item.delim, self.ordered[1] + 1)
                self._next_item(item, indent)
                return
            # A paragraph outside a list goes on through an empty item, or an ordered one
            # not numbered 1; anything else starts a list.
            top_paragraph = self.prev_text and self.item is None
            if not top_paragraph or (not item.empty and (not item.ordered or item.number == 1)):
                self._end_list()
                self._after_block()
                self.bullet = "" if item.ordered else item.delim
                self.ordered = (item.delim, item.number) if item.ordered else None
                self._next_item(item, indent)
                # A new block: in markdown-it a table head goes before a list item.
                self.header = line if "|" in line else None
                return
        if self.item is None and self.prev_text and _SETEXT.match(line):
            self.prev_text = False  # underlines a heading
            return
        self._end_list()
        if _HR.match(line) or _HEADING.match(line):
            self._after_block()
            return
        if line.lstrip().startswith(">"):
            self._after_block()
            self.in_quote = True
            return
        if self.in_quote:
            return  # goes on with the quote (which lists, tables and the like interrupt)
        self.prev_text = True
        self.header = line if "|" in line else None

    def _after_block(self) -> None:
        self.header = None
        self.prev_text = self.in_quote = False

    def _end_list(self) -> None:
        self.item = None
        self.ordered = None
        self.bullet = ""
        self.empty_item = self.content_indent = 0

    def _next_item(self, item: _Item, indent: int) -> None:
        self.content_indent = indent + item.content_indent
        self.empty_item = int(item.empty)
        self.item = BlockScanner()
        if not item.empty:
            self.item.feed(item.content)

    def _continues(self, item: _Item) -> bool:
        """Whether the item is the next one of the current list."""
        if self.item is None:
            return False
        if item.ordered:
            return self.ordered is not None and self.ordered[0] == item.delim
        return self.bullet == item.delim

    # -- deciding on a cut ------------------------------------------------------------------

    def cut_before(
        self, first: str, line: str | None, lines: int, max_lines: int, blank_lines: int
    ) -> Cut | None:
        """May the segment end before the next line?

        Args:
            first: the next line's first character (it has begun).
            line: the whole next line, or None while it is incomplete.
            lines: complete lines in the segment so far.
            max_lines: the segment size aimed at where no blank line comes.
            blank_lines: lines the segment needs before a blank line may end it.

        Returns:
            None for no, a cut for yes, or ``WAIT`` when only the whole line can tell.
        """
        if self.fence is not None or self.html is not None or first.isspace():
            return None
        if self.prev_blank:
            if lines < blank_lines:
                return None
            if self.in_list and (first.isdigit() or first in "-+*"):
                if line is None:
                    return WAIT
                item = _list_item(line)
                if item is not None and self._continues(item):
                    return self._list_cut(line, item)
            return Cut()
        if lines < TIGHT_FACTOR * max_lines:
            return None
        if line is None:
            return WAIT
        item = _list_item(line)
        if item is not None:
            if self._continues(item):
                return self._list_cut(line, item)
            if not item.ordered and not item.empty:
                return Cut()  # a new list (or table), in both readings
            return None
        if self.table is not None:
            if not _ends_table(line):
                return Cut(self.table) if self.table_rows else None
        elif self.in_list or self.in_quote:
            return None  # a lazy continuation would become a paragraph of its own
        if lines < ANY_LINE_FACTOR * max_lines:
            return None
        if _DELIMITER_LIKE.match(line) or _SETEXT.match(line) or line.startswith("<"):
            return None  # it would change the line before it, or might not start a block
        return Cut()

    def _list_cut(self, line: str, item: _Item) -> Cut | None:
        """Cut before the next item of a list; an ordered one must number on from there.

        Rich numbers a list from its first item's number, so the tail's first item gets
        the number it has in the whole list, provided its content keeps its column (a
        wider number that would move it could change what the lines after it belong to).
        """
        if "|" in line:
            return None  # at the start of a segment it could head a table instead
        if self.ordered is None:
            return Cut()
        number = self.ordered[1] + 1
        if item.number == number:
            return Cut()
        marker = f"{number}{item.delim}"
        wider = len(marker) - item.marker
        if wider > 0 and (
            len(marker) >= item.content_indent or line[item.marker : item.marker + wider].strip()
        ):
            return None
        return Cut(marker + " " * max(0, -wider), item.marker + max(0, wider))
