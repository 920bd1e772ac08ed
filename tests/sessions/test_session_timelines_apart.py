"""Timelines are read apart: checked when the file loads, made into entries when used
(and in TOML the long texts too, which JSON's reader takes faster than tomllib).

A file as the encoder writes it loads to the same session as parsing it whole; any other
file (another layout, a damaged entry) is parsed whole, with the same result or error;
and a session written back before its timelines were used gives the same bytes.
"""

from __future__ import annotations

import json
import re

import pytest
from session_factory import full_session

from chatterm.sessions.codec import SESSION_FORMATS, SessionFormat, decode, decode_data, encode
from chatterm.sessions.document import session_from_data
from chatterm.sessions.model import SessionFormatError, TimelineEntry, pending_timeline

TRICKY = [
    'quotes " and \\ and \\n',
    "tab\tand controls \x01\x1b[31m \x7f \x85 \u2028",
    "emoji 😀 and 漢字",
    '\n   ]\n]\n   "timeline": [\n',
    "",
]


def _session():  # type: ignore[no-untyped-def]
    session = full_session(turns=3)
    for index, turn in enumerate(session.turns):
        turn.timeline = [
            TimelineEntry(offset * 17, ("reasoning", "answer")[offset % 2], text)
            for offset, text in enumerate(TRICKY)
        ]
        if index == 1:
            turn.timeline = []
        turn.prompt = TRICKY[index]
        turn.answer = "\n\n".join(TRICKY)
    return session


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_a_file_as_written_loads_as_when_parsed_whole(fmt: SessionFormat) -> None:
    session = _session()
    raw = encode(session, fmt)
    loaded = decode(raw, fmt)
    assert pending_timeline(loaded.turns[0]) is not None  # not made into entries yet
    whole = session_from_data(decode_data(raw, fmt))
    assert loaded == whole == session
    assert pending_timeline(loaded.turns[0]) is None  # comparing used them
    assert loaded.turns[2].timeline[1].text == TRICKY[1]


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_written_back_unused_gives_the_same_bytes(fmt: SessionFormat) -> None:
    session = _session()
    raw = encode(session, fmt)
    loaded = decode(raw, fmt)
    assert encode(loaded, fmt) == raw
    assert pending_timeline(loaded.turns[0]) is not None  # written back without parsing
    other = "toml" if fmt == "json" else "json"
    assert decode(encode(loaded, other), other) == session


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"answer",', '"tool",', "timeline[1] must be"),
        ("17,", "-17,", "timeline[1] must be"),
        ("34,", "true,", "timeline[2] must be"),
    ],
)
def test_a_damaged_entry_is_refused_as_before(
    fmt: SessionFormat, old: str, new: str, message: str
) -> None:
    raw = encode(_session(), fmt).decode().replace(old, new, 1).encode()
    with pytest.raises(SessionFormatError, match=re.escape(message)):
        decode(raw, fmt)


def test_another_layout_loads_the_same() -> None:
    session = _session()
    compact = json.dumps(json.loads(encode(session, "json")), ensure_ascii=False).encode()
    assert decode(compact, "json") == session
    four = json.dumps(json.loads(encode(session, "json")), indent=4).encode()
    assert decode(four, "json") == session


def test_a_toml_file_with_multi_line_strings_is_parsed_whole() -> None:
    session = _session()
    raw = encode(session, "toml").decode()
    raw = raw.replace('title = "', 'title = """', 1).replace('"\ncreated', '"""\ncreated', 1)
    loaded = decode(raw.encode(), "toml")
    assert pending_timeline(loaded.turns[0]) is None
    assert loaded == session
