"""Incremental Server-Sent Events decoder (WHATWG HTML §9.2.5-9.2.6).

Written by hand because the ready-made decoders get the rules wrong where LLM streams need
them right: ``httpx.Response.iter_lines`` (and ``str.splitlines``) also break lines at
U+2028, U+2029 and U+0085, which JSON allows unescaped inside strings; httpx-sse and the
official SDKs keep a leading BOM in the first field name and dispatch events that have no
data. This decoder has its lines split on CR, LF and CRLF only, and decoded as UTF-8, by the
:class:`~chatterm.decode.lines.LineSplitter` it shares with the NDJSON decoder, and
dispatches exactly what the spec dispatches (its speed: bench/run.py, ``decode``).

Lines that are not SSE at all (Gemini appends raw JSON errors to its streams) are kept in
``ignored_lines`` so a translator can still find the error in them, and counted in
``ignored_count``. Nothing here raises on bad input: invalid UTF-8 is replaced (and counted
in ``invalid_utf8_lines``), and a line longer than :data:`MAX_LINE_BYTES` is dropped
(counted in ``oversized_lines``) instead of growing without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatterm.decode.lines import MAX_LINE_BYTES, LineSplitter

# MAX_LINE_BYTES (from lines.py) is still imported from here: the parsers' warnings name it.
__all__ = ["MAX_LINE_BYTES", "SSEDecoder", "SSEEvent"]

# Keep at most this much of the lines that were not SSE fields; enough for any error object.
_IGNORED_LIMIT = 64 * 1024
# A reconnection time with more digits than this is nonsense (and int() refuses > 4300).
_RETRY_DIGITS = 12


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event: its type (``message`` when none was given) and its data.

    ``invalid_utf8`` and ``oversized`` count the bad lines (not valid UTF-8; too long, so
    dropped) met since the event before it, this one's included: where in the stream they
    were, whatever the network reads were. They do not take part in comparisons.
    """

    data: str
    event: str = "message"
    id: str = ""
    invalid_utf8: int = field(default=0, compare=False)
    oversized: int = field(default=0, compare=False)


class SSEDecoder:
    """Turns bytes, in any fragmentation, into :class:`SSEEvent` objects.

    ``feed`` returns the events completed by the bytes given; ``flush`` ends the stream and
    drops a trailing event that never got its blank line, as the spec says.
    """

    def __init__(self) -> None:
        self.invalid_utf8_lines = 0  # lines so far not valid UTF-8 (replaced), and
        self.oversized_lines = 0  # too long to keep (dropped): counted by self._lines
        self._lines = LineSplitter(self, cr_ends_line=True, max_line_bytes=MAX_LINE_BYTES)
        self._data: list[str] = []
        self._event_type = ""
        self._last_id = ""
        self.reconnection_ms: int | None = None
        self.dispatched = 0  # events dispatched so far
        self.comments = 0  # comment lines (keep-alives) so far
        self.ignored_lines: list[str] = []
        self.ignored_count = 0  # every ignored line, also those past the size limit
        self._ignored_size = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        events: list[SSEEvent] = []
        for line in self._lines.feed(chunk):
            if line:
                self._process_line(line)
            else:
                self._dispatch(events)
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: an event without its terminating blank line is discarded."""
        tail = self._lines.flush()
        if tail:
            # An unterminated last line still counts as a line (it may be a raw JSON error
            # that a translator looks for in ``ignored_lines``), but it cannot dispatch.
            self._process_line(tail)
        self._data.clear()
        self._event_type = ""
        return []

    def take_ignored(self) -> list[str]:
        """The ignored lines kept so far, removed from the decoder (room for more)."""
        lines, self.ignored_lines = self.ignored_lines, []
        self._ignored_size = 0
        return lines

    @property
    def _partial_size(self) -> int:
        """Bytes held of a line not yet ended (a test watches it stay bounded)."""
        return self._lines.held_size

    def _process_line(self, line: str) -> None:
        if line[0] == ":":
            self.comments += 1
            return  # a comment (keep-alive)
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit() and len(value) <= _RETRY_DIGITS:
                self.reconnection_ms = int(value)
        elif name.strip():  # a line of nothing but spaces carries nothing to keep
            self.ignored_count += 1
            if self._ignored_size < _IGNORED_LIMIT:
                self.ignored_lines.append(line)
                self._ignored_size += len(line)

    def _dispatch(self, events: list[SSEEvent]) -> None:
        if not self._data:
            self._event_type = ""
            return
        invalid_utf8, oversized = self._lines.take_bad_lines()
        events.append(
            SSEEvent(
                "\n".join(self._data),
                self._event_type or "message",
                self._last_id,
                invalid_utf8,
                oversized,
            )
        )
        self.dispatched += 1
        self._data.clear()
        self._event_type = ""
