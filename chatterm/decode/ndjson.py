"""Incremental newline-delimited JSON splitter (Ollama's native API).

Lines end at LF only (a CR before it is dropped), so U+2028 and friends inside JSON strings
survive, which ``str.splitlines`` would break. Parsing the JSON is the translator's job: a
line that is not JSON must become a counted warning, not an exception in the decoder.
Invalid UTF-8 is replaced (counted in ``invalid_utf8_lines``) and a line longer than
:data:`~chatterm.decode.lines.MAX_LINE_BYTES` is dropped (counted in ``oversized_lines``):
the splitting is the :class:`~chatterm.decode.lines.LineSplitter` the SSE decoder uses too.
"""

from __future__ import annotations

from typing import NamedTuple

from chatterm.decode.lines import MAX_LINE_BYTES, LineSplitter


class NDJSONLine(NamedTuple):
    """One non-blank line, and the bad lines met since the line before it (this one's
    included): not valid UTF-8, or too long and dropped."""

    text: str
    invalid_utf8: int = 0
    oversized: int = 0


class NDJSONDecoder:
    """Turns bytes, in any fragmentation, into the text of each non-blank line."""

    def __init__(self) -> None:
        self.invalid_utf8_lines = 0  # lines so far not valid UTF-8 (replaced), and
        self.oversized_lines = 0  # too long to keep (dropped): counted by self._lines
        self._lines = LineSplitter(self, cr_ends_line=False, max_line_bytes=MAX_LINE_BYTES)

    def feed(self, chunk: bytes) -> list[str]:
        return [line.text for line in self.feed_lines(chunk)]

    def flush(self) -> list[str]:
        """End of stream: a last line without its newline is still a whole JSON value."""
        return [line.text for line in self.flush_lines()]

    def feed_lines(self, chunk: bytes) -> list[NDJSONLine]:
        """:meth:`feed`, with each line's bad-line counts."""
        texts = self._lines.feed(chunk)
        if not texts:  # most reads end inside a line: no list to build
            return []
        return [self._line(text) for text in texts if text.strip()]

    def flush_lines(self) -> list[NDJSONLine]:
        """:meth:`flush`, with the line's bad-line counts."""
        text = self._lines.flush()
        return [self._line(text)] if text.strip() else []

    @property
    def _partial_size(self) -> int:
        """Bytes held of a line not yet ended (a test watches it stay bounded)."""
        return self._lines.held_size

    def _line(self, text: str) -> NDJSONLine:
        invalid_utf8, oversized = self._lines.take_bad_lines()
        return NDJSONLine(text, invalid_utf8, oversized)
