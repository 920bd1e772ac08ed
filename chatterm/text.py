"""Text safe to show and to store: terminal-safe model text, one-line messages, secrets removed.

Model output is data: an ESC, a C1 control or a BEL must not reach the terminal, where it
could move the cursor, set the title, write the clipboard (OSC 52) or fake a paste. Each
control character is replaced by its visible Unicode "control picture" (ESC becomes ␛),
so nothing is hidden from the reader and nothing is obeyed by the terminal. Newline and tab
are kept. The Unicode line and paragraph separators (U+2028, U+2029) become newlines: they
are line breaks to the writer, while terminals disagree on their width (Rich counts zero
cells, some terminals one), which would shift everything after them on the screen. A lone
surrogate (an undecodable byte of argv or a file name, which Python keeps as U+DC80-U+DCFF
and a stream with ``surrogateescape`` writes back as the raw byte: 0x9B is an 8-bit CSI)
becomes U+FFFD. Invisible formatting characters (bidi overrides and isolates, which reorder
what is shown, and zero-width characters, which hide text) become ⬚ (U+2B1A DOTTED SQUARE):
one narrow character for one, as the control pictures are, so text keeps its length and
columns, and the reader sees that something invisible is there. ZWJ and ZWNJ between two
letters or symbols are kept: they shape Persian and Indic words and emoji sequences. Rich
markup is not a concern here: callers build ``rich.text.Text`` objects, which never parse
markup.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import unicodedata
import urllib.parse
from datetime import UTC, datetime

# C0 controls except TAB and LF, DEL, and the C1 range (0x80-0x9F), which some terminals
# obey as 8-bit CSI/OSC introducers. CR is replaced too: it could overwrite a line. The
# line and paragraph separators become newlines; surrogates are mended (see mend()).
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
# Invisible formatting characters: the bidi marks, embeddings, overrides and isolates
# (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which reorder what is shown
# ("Trojan Source"), and the zero-width and other invisible ones (U+180E, U+200B,
# U+2060-U+2064, U+206A-U+206F, U+FEFF, U+FFF9-U+FFFB), which hide text or split words.
_INVISIBLE = (
    "\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
# ZWNJ and ZWJ shape Persian and Indic words and build emoji sequences (👨‍👩‍👧): between
# two letters, marks, digits or symbols they are kept; anywhere else they only hide.
_JOINERS = "\u200c\u200d"
_CONTROL = re.compile(f"[{_CONTROLS}{_INVISIBLE}{_JOINERS}]")
INVISIBLE_PICTURE = "\u2b1a"  # ⬚ DOTTED SQUARE


def _joins(char: str) -> bool:
    """Whether a ZWJ/ZWNJ next to ``char`` can be part of a word or an emoji sequence."""
    category = unicodedata.category(char)
    return category[0] in "LMN" or category in ("So", "Sk")


def _made_safe(text: str, before: str) -> str:
    """:func:`safe_text`, with ``before`` the character that came just before ``text``."""
    text = mend(text).replace("\r\n", "\n")

    def picture(match: re.Match[str]) -> str:
        char = match.group()
        code = ord(char)
        if char in _JOINERS:
            at = match.start()
            previous = text[at - 1] if at else before
            following = text[at + 1 : at + 2]
            if previous and following and _joins(previous) and _joins(following):
                return char
            return INVISIBLE_PICTURE
        if code in (0x2028, 0x2029):
            return "\n"
        if code < 0x20:
            return chr(0x2400 + code)  # ␀ … ␟
        if code == 0x7F:
            return "\u2421"  # ␡
        if code <= 0x9F:
            return "\ufffd"  # C1 controls have no pictures
        return INVISIBLE_PICTURE

    return _CONTROL.sub(picture, text)


def safe_text(text: str) -> str:
    """``text`` with every terminal control character and every invisible formatting
    character (bidi controls, zero-width characters) made visible and inert."""
    if not _CONTROL.search(text):
        return text
    return _made_safe(text, "")


class SafeFeed:
    """:func:`safe_text` over a stream of pieces, giving what safe_text gives the whole.

    A carriage return ending one piece waits for the next, so a CRLF split between two
    deltas still becomes one newline rather than a visible CR and a newline; so does a
    ZWJ or ZWNJ ending one, whose next character decides whether it is kept.
    """

    def __init__(self) -> None:
        self._held = ""
        self._before = ""  # the last character let through, for a joiner that follows it

    def feed(self, text: str) -> str:
        text = self._held + text
        end = len(text.rstrip("\r" + _JOINERS))
        text, self._held = text[:end], text[end:]
        if not text:
            return ""
        before, self._before = self._before, text[-1]
        if not _CONTROL.search(text):
            return text
        return _made_safe(text, before)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return _made_safe(text, self._before) if text else ""


# Serialized JSON and TOML may carry these raw inside strings, but a C1 control can act as
# a terminal escape (U+009B is an 8-bit CSI) and U+2028/U+2029 split lines for
# str.splitlines() readers, and the invisible bidi and zero-width characters reorder or hide
# what a terminal shows (ZWJ and ZWNJ only join, and stay). A \u escape of four hex digits
# means the same in both formats.
_RAW_IN_STRINGS = re.compile(f"[\x7f-\x9f\u2028\u2029{_INVISIBLE}]")


def escape_unsafe_in_strings(serialized: str) -> str:
    """JSON or TOML text with every DEL, C1 control, U+2028, U+2029 and invisible
    formatting character (bidi, zero-width) as a \\u escape;
    only for text where they can occur inside strings alone (not in keys or syntax)."""
    return _RAW_IN_STRINGS.sub(lambda m: f"\\u{ord(m.group()):04x}", serialized)


_SURROGATE = re.compile("[\ud800-\udfff]")
# Keys by their shape or by the name they are given, for text whose keys are not known
# by value (each pattern keeps its groups, the name, and replaces the rest with ***).
_NOT_AFTER_WORD = r"(?<![A-Za-z0-9])"
_SECRET_PATTERNS = (
    # A header or field holding a key, with an optional scheme: "x-api-key: …",
    # "Authorization: Bearer …", '"api_key": "…"'.
    re.compile(
        _NOT_AFTER_WORD + r"((?:proxy-)?authorization|x-api-key|x-goog-api-key|api[_-]?key)"
        r"([\"']?\s*[:=]\s*[\"']?)(?:(?:Bearer|Basic|Token)\s+)?[^\s\"',;&]+",
        re.IGNORECASE,
    ),
    # A URL parameter or form field: ?key=…, &access_token=…, key%3D… (URL-encoded).
    re.compile(
        _NOT_AFTER_WORD + r"((?:api[_-]?key|key|access[_-]?token|token|password|secret)"
        r"(?:=|%3D))[^&\s\"'#]+",
        re.IGNORECASE,
    ),
    re.compile(r"(Bearer\s+)\S+", re.IGNORECASE),
    # A password in an address: scheme://user:***@host.
    re.compile(r"(://[^/\s:@]*:)[^/\s@]+(?=@)"),
    # Shapes: OpenAI, Anthropic, DeepSeek, OpenRouter (sk-…), Gemini (AIza…), Groq (gsk_…),
    # xAI (xai-…), Hugging Face (hf_…).
    re.compile(_NOT_AFTER_WORD + r"(sk-[A-Za-z0-9_-]{2})[A-Za-z0-9_*-]{6,}"),
    re.compile(_NOT_AFTER_WORD + r"(AIza)[0-9A-Za-z_-]{35}"),
    re.compile(_NOT_AFTER_WORD + r"(gsk_|xai-|hf_)[A-Za-z0-9]{20,}"),
)


def mend(text: str) -> str:
    """``text`` with surrogate pairs joined and lone surrogates replaced by U+FFFD.

    ``json.loads`` turns ``"\\ud83d"`` into a lone surrogate, which cannot be encoded as
    UTF-8: printed or saved as it is, it would raise.
    """
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A key this long also has each half removed: a server that echoes part of a key (the
# start, or the end, "sk-proj-abc…" / "…wxyz4f2a") still gives half of it away.
_HALVES_FROM = 20


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove API keys, by value and by shape, from text meant for a person or a file."""
    for form in _written_forms(tuple(secrets)):
        text = text.replace(form, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_keep_name, text)
    return text


@functools.lru_cache(maxsize=64)
def _written_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Every way a secret (and each half of a long one) may be written in a message,
    longest first: as it is, escaped as Python's repr and JSON write it (a library
    quoting a header value it refused), percent-encoded (a URL) and in base64 (a Basic
    Authorization header)."""
    pieces = [secret for secret in secrets if len(secret) >= 4]
    for secret in secrets:
        if len(secret) >= _HALVES_FROM:
            middle = len(secret) // 2
            pieces += [secret[:middle], secret[middle:]]
    forms: set[str] = set()
    for piece in pieces:
        forms |= {
            piece,
            repr(piece)[1:-1],
            repr(piece.encode("utf-8", "replace"))[2:-1],
            json.dumps(piece)[1:-1],
            json.dumps(piece, ensure_ascii=False)[1:-1],
            urllib.parse.quote(piece, safe=""),
            urllib.parse.quote_plus(piece, safe=""),
        }
    for secret in secrets:
        if len(secret) >= 4:
            raw = secret.encode("utf-8", "replace")
            forms |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
            forms |= {form.rstrip("=") for form in list(forms) if form.endswith("=")}
    return tuple(sorted((form for form in forms if len(form) >= 4), key=len, reverse=True))


def _keep_name(match: re.Match[str]) -> str:
    """What a pattern keeps (its groups: the name, a separator), then ``***``."""
    return "".join(group or "" for group in match.groups()) + "***"


def visible_line(text: str) -> str:
    """Whitespace (newlines included) collapsed, control characters made visible."""
    return safe_text(" ".join(text.split()))


def local_time(stamp: str) -> str:
    """An ISO 8601 time as local ``YYYY-MM-DD HH:MM``; as written if it is not a time
    (or one the local time zone cannot hold, such as year 1 west of Greenwich)."""
    try:
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone().strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, OSError):
        return visible_line(stamp[:16])
