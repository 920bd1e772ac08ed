"""Values read from JSON that a server sent, on terms that cannot crash chatterm.

Every provider's stream (and error body) is untrusted JSON: nested deeper than Python
parses, numbers of 400 digits, counts that are negative, fractional, strings or booleans,
costs that are NaN. These readers give a value or None (or a :class:`ValueError` like
any bad JSON), never an exception of another kind. The parsers' shared policy for what is
skipped and how it is reported is :mod:`chatterm.providers.parsing`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

MAX_COUNT = 10**12
#: Nanoseconds, for Ollama's durations (about 31 years).
MAX_NANOSECONDS = 10**18
#: Dollars for one reply above which a server-reported cost is junk.
MAX_USD = 1e6
#: The start of the message :class:`GuardedParser` reports when a parser raised anyway.


def _int_or_float(text: str) -> int | float:
    """An integer literal; one longer than Python converts (4300 digits) becomes a float
    (``inf``), which no count or price accepts, instead of failing the whole object."""
    try:
        return int(text)
    except ValueError:
        return float(text)


_DECODER = json.JSONDecoder(parse_int=_int_or_float)


def loads(text: str) -> Any:
    """``json.loads``, except that nesting too deep for Python is a :class:`ValueError`
    like any other bad JSON (``json`` raises :class:`RecursionError`), and a number too
    long for Python is ``inf`` rather than an error for the whole object."""
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def raw_decode(text: str) -> tuple[Any, int]:
    """``JSONDecoder.raw_decode`` (a value at the start of ``text``) on :func:`loads` terms."""
    try:
        return _DECODER.raw_decode(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def count(value: Any, limit: int = MAX_COUNT) -> int | None:
    """A token count (or duration) as a non-negative int, or None when ``value`` is not one.

    ``12`` and ``12.0`` are 12; ``-1``, ``1.5``, ``NaN``, ``"12"``, ``true`` and a number
    above ``limit`` are not counts.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= limit else None
    if isinstance(value, float) and value.is_integer() and 0 <= value <= limit:
        return int(value)
    return None


def count0(value: Any, limit: int = MAX_COUNT) -> int:
    """:func:`count`, with 0 for what is not a count."""
    found = count(value, limit)
    return 0 if found is None else found


def usd(value: Any) -> float | None:
    """A server-reported cost in dollars: finite, not negative, below :data:`MAX_USD`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 <= value <= MAX_USD:  # also false for NaN; compared before float(): no overflow
        return None
    return float(value)


def json_text(value: Any, limit: int = 1000) -> str:
    """The start of ``value`` as JSON, for a message; never raises."""
    try:
        return json.dumps(value, ensure_ascii=False)[:limit]
    except (ValueError, TypeError, RecursionError):
        return type(value).__name__


def object_or_skip(text: str) -> dict[str, Any] | Literal["not_json", "not_object"]:
    """``text`` as a JSON object, or the kind of skip it is (for :class:`SkipTally`)."""
    try:
        data = loads(text)
    except ValueError:
        return "not_json"
    return data if isinstance(data, dict) else "not_object"


def json_object(text: str) -> dict[str, Any] | None:
    """``text`` as a JSON object, or None when it is not one."""
    try:
        data = loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def message_from_error_object(data: Any) -> str | None:
    """Find the human message in ``{"error": {...}}``, ``{"error": "..."}`` and friends."""
    if isinstance(data, list) and data:
        data = data[0]  # Gemini sometimes wraps the error object in a list
    if not isinstance(data, dict):
        return None
    error = data.get("error", data)
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str) and message:
            kind = error.get("type") or error.get("status") or error.get("code")
            return f"{message} [{kind}]" if isinstance(kind, str) and kind else message
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return None
