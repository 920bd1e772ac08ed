"""Incremental Server-Sent Events decoder (WHATWG HTML §9.2.5-9.2.6).

Written by hand because the ready-made decoders get the rules wrong where LLM streams need
them right: ``httpx.Response.iter_lines`` (and ``str.splitlines``) also break lines at
U+2028, U+2029 and U+0085, which JSON allows unescaped inside strings; httpx-sse and the
official SDKs keep a leading BOM in the first field name and dispatch events that have no
data. This decoder splits raw bytes on CR, LF and CRLF only (holding a CR that ends one read
until the next read shows whether an LF follows), decodes each whole line as UTF-8, and
dispatches exactly what the spec dispatches. It is also roughly twice as fast as httpx-sse.

Lines that are not SSE at all (Gemini appends raw JSON errors to its streams) are kept in
``ignored_lines`` so a translator can still find the error in them, and counted in
``ignored_count``. Nothing here raises on bad input: invalid UTF-8 is replaced (and counted
in ``invalid_utf8_lines``), and a line longer than :data:`MAX_LINE_BYTES` is dropped
(counted in ``oversized_lines``) instead of growing without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_BOM = b"\xef\xbb\xbf"
# Keep at most this much of the lines that were not SSE fields; enough for any error object.
_IGNORED_LIMIT = 64 * 1024
#: The longest line kept. Real events are far smaller (a few MB at most, for inline images);
#: a body with no line end at all must not eat the memory.
MAX_LINE_BYTES = 16 * 1024 * 1024
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
        self._partial: list[bytes] = []  # pieces of a line not yet terminated
        self._partial_size = 0
        self._discarding = False  # inside a line too long to keep: drop up to its end
        self._at_start = True  # a BOM is only stripped at the very start
        self._bom_held = b""  # the first bytes, while they may still be a split BOM
        self._skip_lf = False  # the previous read ended in CR: an LF now is its other half
        self._data: list[str] = []
        self._event_type = ""
        self._last_id = ""
        self.reconnection_ms: int | None = None
        self.invalid_utf8_lines = 0
        self.oversized_lines = 0
        self._pending_invalid = 0  # bad lines not yet attached to a dispatched event
        self._pending_oversized = 0
        self.dispatched = 0  # events dispatched so far
        self.comments = 0  # comment lines (keep-alives) so far
        self.ignored_lines: list[str] = []
        self.ignored_count = 0  # every ignored line, also those past the size limit
        self._ignored_size = 0

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._at_start:
            chunk = self._strip_bom(chunk)
        if not chunk:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
                if not chunk:
                    return []
        if self._discarding:
            chunk = self._discard_to_line_end(chunk)
            if not chunk:
                return []
        if b"\n" not in chunk and b"\r" not in chunk:
            self._hold(chunk)
            return []
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial.clear()
            self._partial_size = 0
        # bytes.splitlines knows only CR, LF and CRLF, which is exactly the SSE rule.
        lines = chunk.splitlines(keepends=True)
        last = lines[-1]
        tail = b""
        if last[-1:] == b"\r":
            self._skip_lf = True
        elif last[-1:] != b"\n":
            tail = lines.pop()
        events: list[SSEEvent] = []
        for raw in lines:
            line = raw.rstrip(b"\r\n")
            if not line:
                self._dispatch(events)
            elif len(line) > MAX_LINE_BYTES:
                self._oversized()
            else:
                self._process_line(self._decode(line))
        if tail:
            self._hold(tail)  # after the lines before it: a bad line counts where it is
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: an event without its terminating blank line is discarded."""
        tail = b"".join(self._partial) if self._partial else self._bom_held
        self._partial.clear()
        self._partial_size = 0
        self._bom_held = b""
        if tail:
            # An unterminated last line still counts as a line (it may be a raw JSON error
            # that a translator looks for in ``ignored_lines``), but it cannot dispatch.
            self._process_line(self._decode(tail))
        self._data.clear()
        self._event_type = ""
        return []

    def take_ignored(self) -> list[str]:
        """The ignored lines kept so far, removed from the decoder (room for more)."""
        lines, self.ignored_lines = self.ignored_lines, []
        self._ignored_size = 0
        return lines

    def _hold(self, piece: bytes) -> None:
        """Keep the start of a line until its end arrives, unless it grows too long."""
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size > MAX_LINE_BYTES:
            self._partial.clear()
            self._partial_size = 0
            self._discarding = True
            self._oversized()

    def _oversized(self) -> None:
        self.oversized_lines += 1
        self._pending_oversized += 1

    def _discard_to_line_end(self, chunk: bytes) -> bytes:
        """Drop the rest of an overlong line; return what follows its line end."""
        ends = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
        if not ends:
            return b""
        end = min(ends)
        self._discarding = False
        if chunk[end : end + 1] == b"\r":
            if end + 1 == len(chunk):
                self._skip_lf = True
            elif chunk[end + 1 : end + 2] == b"\n":
                end += 1
        return chunk[end + 1 :]

    def _decode(self, line: bytes) -> str:
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError:
            self.invalid_utf8_lines += 1
            self._pending_invalid += 1
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
        events.append(
            SSEEvent(
                "\n".join(self._data),
                self._event_type or "message",
                self._last_id,
                self._pending_invalid,
                self._pending_oversized,
            )
        )
        self._pending_invalid = self._pending_oversized = 0
        self.dispatched += 1
        self._data.clear()
        self._event_type = ""
