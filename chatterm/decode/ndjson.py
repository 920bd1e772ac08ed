"""Incremental newline-delimited JSON splitter (Ollama's native API).

Lines end at LF only (a CR before it is dropped), so U+2028 and friends inside JSON strings
survive, which ``str.splitlines`` would break. Parsing the JSON is the translator's job: a
line that is not JSON must become a counted warning, not an exception in the decoder.
"""

from __future__ import annotations

_BOM = b"\xef\xbb\xbf"


class NDJSONDecoder:
    """Turns bytes, in any fragmentation, into the text of each non-blank line."""

    def __init__(self) -> None:
        self._partial: list[bytes] = []
        self._at_start = True
        self._bom_held = b""
        self.invalid_utf8_lines = 0

    def feed(self, chunk: bytes) -> list[str]:
        if self._at_start:
            chunk = self._strip_bom(chunk)
        if b"\n" not in chunk:
            if chunk:
                self._partial.append(chunk)
            return []
        if self._partial:
            self._partial.append(chunk)
            chunk = b"".join(self._partial)
            self._partial.clear()
        *lines, tail = chunk.split(b"\n")
        if tail:
            self._partial.append(tail)
        return [text for raw in lines if (text := self._decode(raw))]

    def flush(self) -> list[str]:
        """End of stream: a last line without its newline is still a whole JSON value."""
        if not self._partial:
            return []
        tail = b"".join(self._partial)
        self._partial.clear()
        text = self._decode(tail)
        return [text] if text else []

    def _strip_bom(self, chunk: bytes) -> bytes:
        """A leading BOM, possibly split across reads, is not part of the first line."""
        head = self._bom_held + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            self._bom_held = head
            return b""
        self._at_start = False
        self._bom_held = b""
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _decode(self, raw: bytes) -> str:
        raw = raw.rstrip(b"\r")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.invalid_utf8_lines += 1
            text = raw.decode("utf-8", errors="replace")
        return text if text.strip() else ""
