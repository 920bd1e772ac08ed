"""Session documents to and from bytes, as JSON or TOML.

JSON is written with ``ensure_ascii=False`` and an indent so the file stays readable in an
editor (emoji and accents as themselves). TOML goes through ``tomli-w`` and comes back
through ``tomllib``. Either format round-trips any text exactly, control characters,
quotes, backslashes and ``\"\"\"`` included; a lone surrogate (which no UTF-8 file can
hold, and which chatterm's decoders never produce) is written as U+FFFD.
"""

from __future__ import annotations

import json
import tomllib
from typing import Any, Literal

import tomli_w

from chatterm.sessions.model import Session, SessionFormatError, session_from_data, session_to_data

SessionFormat = Literal["json", "toml"]
FORMATS: tuple[SessionFormat, ...] = ("json", "toml")


def encode(session: Session, fmt: SessionFormat) -> bytes:
    return encode_data(session_to_data(session), fmt)


def encode_data(data: dict[str, Any], fmt: SessionFormat) -> bytes:
    if fmt == "toml":
        text = tomli_w.dumps(data)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    return text.encode("utf-8", "replace")


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
        return json.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SessionFormatError(f"invalid TOML ({exc})") from None
    except json.JSONDecodeError as exc:
        raise SessionFormatError(
            f"invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        raise SessionFormatError("nested too deeply to be a session") from None
