"""Incremental newline-delimited JSON splitter (Ollama's native API).

Lines end at LF only (a CR before it is dropped), so U+2028 and friends inside JSON strings
survive, which ``str.splitlines`` would break. Parsing the JSON is the translator's job: a
line that is not JSON must become a counted warning, not an exception in the decoder.
Invalid UTF-8 is replaced (counted in ``invalid_utf8_lines``) and a line longer than
:data:`~chatterm.decode.sse.MAX_LINE_BYTES` is dropped (counted in ``oversized_lines``).
"""

from __future__ import annotations

from typing import NamedTuple

from chatterm.decode.sse import MAX_LINE_BYTES

_BOM = b"\xef\xbb\xbf"


class NDJSONLine(NamedTuple):
    """One non-blank line, and the bad lines met since the line before it (this one's
    included): not valid UTF-8, or too long and dropped."""

    text: str
    invalid_utf8: int = 0
    oversized: int = 0


class NDJSONDecoder:
    """Turns bytes, in any fragmentation, into the text of each non-blank line."""

    def __init__(self) -> None:
        self._partial: list[bytes] = []
        self._partial_size = 0
        self._discarding = False  # inside a line too long to keep: drop up to its end
        self._at_start = True
        self._bom_held = b""
        self.invalid_utf8_lines = 0
        self.oversized_lines = 0
        self._pending_invalid = 0  # bad lines not yet attached to a returned line
        self._pending_oversized = 0

    def feed(self, chunk: bytes) -> list[str]:
        return [line.text for line in self.feed_lines(chunk)]

    def flush(self) -> list[str]:
        """End of stream: a last line without its newline is still a whole JSON value."""
        return [line.text for line in self.flush_lines()]

    def feed_lines(self, chunk: bytes) -> list[NDJSONLine]:
        """:meth:`feed`, with each line's bad-line counts."""
        if self._at_start:
            chunk = self._strip_bom(chunk)
        if self._discarding:
            end = chunk.find(b"\n")
            if end < 0:
                return []
            self._discarding = False
            chunk = chunk[end + 1 :]
        if b"\n" not in chunk:
            if chunk:
                self._hold(chunk)
            return []
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial.clear()
            self._partial_size = 0
        *lines, tail = chunk.split(b"\n")
        decoded = [line for raw in lines if (line := self._decode(raw)) is not None]
        if tail:
            self._hold(tail)  # after the lines before it: a bad line counts where it is
        return decoded

    def flush_lines(self) -> list[NDJSONLine]:
        """:meth:`flush`, with the line's bad-line counts."""
        tail = b"".join(self._partial) if self._partial else self._bom_held
        self._partial.clear()
        self._partial_size = 0
        self._bom_held = b""
        line = self._decode(tail) if tail else None
        return [line] if line is not None else []

    def _hold(self, piece: bytes) -> None:
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size > MAX_LINE_BYTES + 1:  # + 1: the CR of a CRLF may be here
            self._partial.clear()
            self._partial_size = 0
            self._discarding = True
            self._oversized()

    def _oversized(self) -> None:
        self.oversized_lines += 1
        self._pending_oversized += 1

    def _strip_bom(self, chunk: bytes) -> bytes:
        """A leading BOM, possibly split across reads, is not part of the first line."""
        head = self._bom_held + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._bom_held = head
            return b""
        self._at_start = False
        self._bom_held = b""
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _decode(self, raw: bytes) -> NDJSONLine | None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > MAX_LINE_BYTES:
            self._oversized()
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.invalid_utf8_lines += 1
            self._pending_invalid += 1
            text = raw.decode("utf-8", errors="replace")
        if not text.strip():
            return None
        line = NDJSONLine(text, self._pending_invalid, self._pending_oversized)
        self._pending_invalid = self._pending_oversized = 0
        return line
