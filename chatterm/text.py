"""Make model and server text safe to put on a terminal.

Model output is data: an ESC, a C1 control or a BEL must not reach the terminal, where it
could move the cursor, set the title, write the clipboard (OSC 52) or fake a paste. Each
control character is replaced by its visible Unicode "control picture" (ESC becomes ␛),
so nothing is hidden from the reader and nothing is obeyed by the terminal. Newline and tab
are kept. The Unicode line and paragraph separators (U+2028, U+2029) become newlines: they
are line breaks to the writer, while terminals disagree on their width (Rich counts zero
cells, some terminals one), which would shift everything after them on the screen. Rich
markup is not a concern here: callers build ``rich.text.Text`` objects, which never parse
markup.
"""

from __future__ import annotations

import re

# C0 controls except TAB and LF, DEL, and the C1 range (0x80-0x9F), which some terminals
# obey as 8-bit CSI/OSC introducers. CR is replaced too: it could overwrite a line. The
# line and paragraph separators become newlines.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code in (0x2028, 0x2029):
        return "\n"
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1 controls have no pictures


def safe_text(text: str) -> str:
    """``text`` with every terminal control character made visible and inert."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_picture, text.replace("\r\n", "\n"))


class SafeFeed:
    """:func:`safe_text` over a stream of pieces.

    A carriage return ending one piece waits for the next, so a CRLF split between two
    deltas still becomes one newline rather than a visible CR and a newline.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        self._held = ""
        if text.endswith("\r"):
            text, self._held = text[:-1], "\r"
        return safe_text(text)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return safe_text(text)


# Serialized JSON and TOML may carry these raw inside strings, but a C1 control can act as
# a terminal escape (U+009B is an 8-bit CSI) and U+2028/U+2029 split lines for
# str.splitlines() readers. A \u escape of four hex digits means the same in both formats.
_RAW_IN_STRINGS = re.compile("[\x7f-\x9f\u2028\u2029]")


def escape_unsafe_in_strings(serialized: str) -> str:
    """JSON or TOML text with every DEL, C1 control, U+2028 and U+2029 as a \\u escape;
    only for text where they can occur inside strings alone (not in keys or syntax)."""
    return _RAW_IN_STRINGS.sub(lambda m: f"\\u{ord(m.group()):04x}", serialized)
