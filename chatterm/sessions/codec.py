"""Session documents to and from bytes, as JSON or TOML.

JSON is written with ``ensure_ascii=False`` and an indent so the file stays readable in an
editor (emoji and accents as themselves). TOML goes through ``tomli-w`` and comes back
through ``tomllib``. Either format round-trips any text exactly, control characters,
quotes, backslashes and ``\"\"\"`` included; a lone surrogate (which no UTF-8 file can
hold; an undecodable command-line argument can carry one) is written as U+FFFD.

DEL, the C1 controls and U+2028/U+2029 are written as ``\\u`` escapes although both
formats allow them raw: a C1 control can act as a terminal escape (U+009B is an 8-bit
CSI) when someone ``cat``s the file, and the separators break lines for some readers.
Parsed, the text is the same.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Literal

import tomli_w

from chatterm.sessions.model import (
    Session,
    SessionFormatError,
    Turn,
    session_from_data,
    session_to_data,
    turn_to_data,
)

SessionFormat = Literal["json", "toml"]
FORMATS: tuple[SessionFormat, ...] = ("json", "toml")
# Only ever inside strings (keys are chatterm's own), where \uXXXX means the same in both.
_RAW_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def utf8_bytes(text: str) -> bytes:
    """UTF-8, with any lone surrogate (which UTF-8 cannot hold) as U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_unsafe(text: str) -> str:
    return _RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def encode(session: Session, fmt: SessionFormat) -> bytes:
    return SessionEncoder().encode(session, fmt)


class SessionEncoder:
    """Encodes sessions, keeping the text of each finished turn for the next time.

    A checkpoint while a reply streams re-saves the whole session; without the cache a
    2,000-turn session would be re-encoded (hundreds of ms) every checkpoint. With it, only
    the turn in flight is encoded and the rest is joined. A finished turn must not be
    changed in place afterwards (nothing in chatterm does): replace it instead.
    The bytes are identical to encoding the whole document in one go (a test checks).
    """

    def __init__(self) -> None:
        # id(turn) -> (turn, format, text); holding the turn keeps its id from being reused.
        self._finished: dict[int, tuple[Turn, SessionFormat, str]] = {}

    def encode(self, session: Session, fmt: SessionFormat) -> bytes:
        data = session_to_data(session, with_turns=False)
        end = data.pop("end")
        turns = [self._turn_text(turn, fmt) for turn in session.turns]
        if len(self._finished) > len(session.turns):
            keep = {id(turn) for turn in session.turns}
            self._finished = {k: v for k, v in self._finished.items() if k in keep}
        if fmt == "toml":
            if not turns:
                data["turns"] = []  # an empty array is a plain value, not a table
            head = _escape_unsafe(tomli_w.dumps(data))
            text = "\n".join([head, *turns, tomli_w.dumps({"end": end})])
        else:
            head = json.dumps(data, ensure_ascii=False, indent=1)[:-2]  # without "\n}"
            head = _escape_unsafe(head)
            body = ",\n  ".join(turns)
            turns_json = f"[\n  {body}\n ]" if turns else "[]"
            end_json = json.dumps(end, ensure_ascii=False, indent=1).replace("\n", "\n ")
            text = f'{head},\n "turns": {turns_json},\n "end": {end_json}\n}}\n'
        return utf8_bytes(text)

    def _turn_text(self, turn: Turn, fmt: SessionFormat) -> str:
        cached = self._finished.get(id(turn))
        if cached is not None and cached[0] is turn and cached[1] == fmt:
            return cached[2]
        data = turn_to_data(turn)
        if fmt == "toml":
            text = _escape_unsafe(tomli_w.dumps({"turns": [data]}))
        else:
            # Nested two levels deep; JSON strings hold no raw newlines, so this is safe.
            text = json.dumps(data, ensure_ascii=False, indent=1).replace("\n", "\n  ")
            text = _escape_unsafe(text)
        if not turn.in_progress:
            self._finished[id(turn)] = (turn, fmt, text)
        return text


def decode(raw: bytes, fmt: SessionFormat) -> Session:
    """Parse a session file's bytes; :class:`SessionFormatError` names what is wrong."""
    return session_from_data(decode_data(raw, fmt))


def decode_data(raw: bytes, fmt: SessionFormat) -> object:
    if not raw.strip():
        raise SessionFormatError("the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SessionFormatError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        if fmt == "toml":
            return tomllib.loads(text)
        return json.loads(text, parse_constant=_no_constant)
    except tomllib.TOMLDecodeError as exc:
        raise SessionFormatError(f"invalid TOML ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SessionFormatError(
            f"invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        raise SessionFormatError("nested too deeply to be a session") from None
    except ValueError as exc:  # an integer too long to convert, NaN/Infinity
        raise SessionFormatError(f"holds a value that is not data ({exc})") from None


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number chatterm writes")
