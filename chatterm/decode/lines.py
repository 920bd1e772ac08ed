"""One incremental line splitter under both stream decoders (SSE and NDJSON).

Both get bytes cut anywhere by the network and need the same care (a line end, a character or
a leading BOM split across reads; a line too long to keep; bytes that are not UTF-8; a last
line without a line end), so it is written once. The rule they differ in is a parameter: SSE
ends lines at CR, LF and CRLF, NDJSON at LF only; neither at U+2028 and the other breaks
``str.splitlines`` knows, which JSON allows unescaped inside strings.

A CR that ends a read ends its line at once, and an LF that starts the next read is dropped
as its other half (httpx's ``LineDecoder`` holds the CR back instead, which keeps the line
waiting for the next read). Reads are split by ``bytes`` and ``str`` methods, never byte by
byte, and a read whose lines are all short enough and valid UTF-8 is done in a few calls;
otherwise its lines come one at a time, lazily, so that a bad line is counted when the
consumer reaches it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Protocol

_BOM = b"\xef\xbb\xbf"
_CR_LF_OR_CRLF = re.compile(rb"\r\n?|\n")
_LF_ONLY = re.compile(rb"\n")
#: The longest line kept. Real events are far smaller (a few MB at most, for inline images);
#: a body with no line end at all must not eat the memory.
MAX_LINE_BYTES = 16 * 1024 * 1024


class BadLineCounts(Protocol):
    """Where a splitter adds up the bad lines it meets: the public totals of the decoder
    that owns it."""

    invalid_utf8_lines: int
    oversized_lines: int


class LineSplitter:
    """Turns bytes, in any fragmentation, into the text of each line, its line end removed.

    With ``cr_ends_line``, CR and CRLF end a line as LF does (SSE); without it only LF does,
    and a CR just before it is dropped (NDJSON). A leading UTF-8 BOM, even split across
    reads, is not part of the first line. A line longer than ``max_line_bytes`` is dropped
    and invalid UTF-8 is replaced; both are added to ``counts`` and kept for
    :meth:`take_bad_lines` until the consumer takes them.
    """

    __slots__ = (
        "_at_start",
        "_bom_held",
        "_counts",
        "_cr_ends_line",
        "_discarding",
        "_held",
        "_hold_limit",
        "_line_end",
        "_max_line_bytes",
        "_new_invalid",
        "_new_oversized",
        "_skip_lf",
        "held_size",
    )

    def __init__(self, counts: BadLineCounts, *, cr_ends_line: bool, max_line_bytes: int) -> None:
        self._counts = counts
        self._cr_ends_line = cr_ends_line
        self._line_end = _CR_LF_OR_CRLF if cr_ends_line else _LF_ONLY
        self._max_line_bytes = max_line_bytes
        # Where CR does not end a line, a held piece may end with the CR of a CRLF.
        self._hold_limit = max_line_bytes if cr_ends_line else max_line_bytes + 1
        self._held: list[bytes] = []  # pieces of a line not yet ended
        self.held_size = 0  # their length in bytes
        self._discarding = False  # inside a line too long to keep: drop up to its end
        self._at_start = True  # a BOM is only stripped at the very start
        self._bom_held = b""  # the first bytes, while they may still be a split BOM
        self._skip_lf = False  # the previous read ended in CR: an LF now is its other half
        self._new_invalid = 0  # bad lines not yet taken by take_bad_lines
        self._new_oversized = 0

    def feed(self, chunk: bytes) -> Sequence[str] | Iterator[str]:
        """The lines that ``chunk`` completes, in order, blank ones included: a sequence
        (empty when the read ends no line) or, where the read holds a bad line, an iterator.

        Iterate to the end before the next feed or flush: the iterator splits the read as it
        goes, and counts a bad line when it reaches it.
        """
        if self._at_start:
            chunk = self._strip_bom(chunk)
        if not chunk:
            return ()
        if self._cr_ends_line:
            if self._skip_lf and chunk[:1] == b"\n":
                chunk = chunk[1:]
            self._skip_lf = chunk[-1:] == b"\r"
        if self._discarding:
            found = self._line_end.search(chunk)
            if found is None:
                return ()
            self._discarding = False
            chunk = chunk[found.end() :]
        end = chunk.rfind(b"\n") + 1
        after_cr = chunk.rfind(b"\r") + 1 if self._cr_ends_line else 0
        if after_cr > end:
            end = after_cr
        elif not end:
            if chunk:
                self._hold(chunk)
            return ()
        if self._held:
            end += self.held_size
            self._held.append(chunk)
            chunk = b"".join(self._held)
            self._held.clear()
            self.held_size = 0
        complete, tail = chunk[:end], chunk[end:]
        if len(chunk) <= self._max_line_bytes:  # so no line in it is too long
            try:
                if after_cr:  # CR ends lines here; bytes.splitlines knows no other ends
                    lines = [line.decode("utf-8") for line in complete.splitlines()]
                else:  # the usual case, the quickest: one decode, one split
                    text = complete.decode("utf-8")
                    lines = text.split("\n")
                    lines.pop()  # the empty string after the last line end
                    if not self._cr_ends_line and "\r" in text:  # CRs before LFs go
                        lines = [line.removesuffix("\r") for line in lines]
            except UnicodeDecodeError:
                pass  # a bad line, counted where it is by _one_by_one
            else:
                if tail:
                    self._hold(tail)  # shorter than the limit: nothing to count
                return lines
        return self._one_by_one(complete, tail)

    def flush(self) -> str:
        """End of stream: the last line, which had no line end; empty when there is none,
        or when it was too long (and is counted)."""
        tail = b"".join(self._held) if self._held else self._bom_held
        self._held.clear()
        self.held_size = 0
        self._bom_held = b""
        if tail[-1:] == b"\r":  # half a CRLF (where CR ends a line, none is ever held)
            tail = tail[:-1]
        if len(tail) > self._max_line_bytes:
            self._count_oversized()
            return ""
        return self._decode(tail)

    def take_bad_lines(self) -> tuple[int, int]:
        """The lines not valid UTF-8 and the lines too long met since the last take: what
        the consumer reports with the line or event it hands on now."""
        taken = (self._new_invalid, self._new_oversized)
        self._new_invalid = self._new_oversized = 0
        return taken

    def _split(self, complete: bytes) -> list[bytes]:
        """The lines of bytes that end with a line end, without their line ends."""
        if self._cr_ends_line:
            return complete.splitlines()  # on CR, LF and CRLF: bytes know no other breaks
        lines = complete.split(b"\n")
        lines.pop()  # the empty piece after the last line end
        return [line.removesuffix(b"\r") for line in lines]

    def _one_by_one(self, complete: bytes, tail: bytes) -> Iterator[str]:
        for line in self._split(complete):
            if len(line) > self._max_line_bytes:
                self._count_oversized()
            else:
                yield self._decode(line)
        if tail:
            self._hold(tail)  # after the lines before it: a bad line counts where it is

    def _hold(self, piece: bytes) -> None:
        """Keep the start of a line until its end arrives, unless it grows too long."""
        self._held.append(piece)
        self.held_size += len(piece)
        if self.held_size > self._hold_limit:
            self._held.clear()
            self.held_size = 0
            self._discarding = True
            self._count_oversized()

    def _count_oversized(self) -> None:
        self._counts.oversized_lines += 1
        self._new_oversized += 1

    def _decode(self, line: bytes) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self._counts.invalid_utf8_lines += 1
            self._new_invalid += 1
            return line.decode("utf-8", errors="replace")

    def _strip_bom(self, chunk: bytes) -> bytes:
        """A leading BOM, possibly split across reads, is not part of the first line."""
        head = self._bom_held + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._bom_held = head
            return b""
        self._at_start = False
        self._bom_held = b""
        return head[len(_BOM) :] if head.startswith(_BOM) else head
