"""JSON and TOML files round-trip any text exactly, and bad bytes get a clear error."""

from __future__ import annotations

import json
import tomllib

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st
from session_factory import full_session, full_turn

from chatterm.sessions.codec import SESSION_FORMATS, SessionEncoder, SessionFormat, decode, encode
from chatterm.sessions.document import session_to_data
from chatterm.sessions.model import SessionFormatError, TimelineEntry, new_session

HOSTILE = [
    "quotes \" and ' and \"\"\" and '''",
    "back\\slashes \\n \\u0000 \\",
    "controls \x00\x01\x07\x08\x0b\x0c\x1b[31mred\x1b]52;c;aGk=\x07 \x7f \x85 \x9b",
    "line\r\nbreaks\rand\nmore\u2028\u2029",
    "emoji 😀👩‍👩‍👧 and CJK 漢字 and RTL שלום",
    "[bold red]not markup[/] $(rm -rf /) `tick`",
    "x" * 200_000,
    "",
    "trailing newline\n",
    "\ufeffBOM inside",
]


def _session_with(text: str):  # type: ignore[no-untyped-def]
    session = new_session(system=text or None, session_id="20261121-100000-beef")
    session.title = text
    turn = full_turn(prompt=text, answer=text)
    turn.reasoning = text
    turn.timeline = [TimelineEntry(0, "reasoning", text), TimelineEntry(17, "answer", text)]
    turn.warnings = (text,)
    session.turns.append(turn)
    return session


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_round_trips_exactly(fmt: SessionFormat, text: str) -> None:
    session = _session_with(text)
    assert decode(encode(session, fmt), fmt) == session


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
@settings(max_examples=150, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=300))
def test_any_text_round_trips(fmt: SessionFormat, text: str) -> None:
    session = _session_with(text)
    assert decode(encode(session, fmt), fmt) == session


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_the_formats_hold_the_same_document(fmt: SessionFormat) -> None:
    session = full_session()
    raw = encode(session, fmt)
    parsed = tomllib.loads(raw.decode()) if fmt == "toml" else json.loads(raw)
    other = encode(session, "json" if fmt == "toml" else "toml")
    other_parsed = json.loads(other) if fmt == "toml" else tomllib.loads(other.decode())
    assert parsed == other_parsed


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_nothing_in_a_file_can_drive_a_terminal(fmt: SessionFormat) -> None:
    session = _session_with("\x1b[31m \x07 \x9b2J \x85 \x7f \u2028 \u2029 \x00")
    raw = encode(session, fmt).decode()
    assert not any(0x7F <= ord(c) <= 0x9F or c in "\x1b\x07\x00\u2028\u2029" for c in raw)
    assert decode(raw.encode(), fmt) == session


def test_json_stays_readable_in_an_editor() -> None:
    raw = encode(_session_with("café 😀"), "json").decode()
    assert "café 😀" in raw
    assert raw.count("\n") > 10


def test_a_lone_surrogate_is_written_as_a_replacement_not_a_crash() -> None:
    session = _session_with("bad \udc80 byte")
    for fmt in SESSION_FORMATS:
        assert decode(encode(session, fmt), fmt).title == "bad \ufffd byte"


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"  \n\t", "empty"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_unreadable_bytes(fmt: SessionFormat, raw: bytes, message: str) -> None:
    with pytest.raises(SessionFormatError, match=message):
        decode(raw, fmt)


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_a_file_cut_short_anywhere_is_refused_never_read_in_part(fmt: SessionFormat) -> None:
    # A TOML file cut at a line break is still valid TOML: the end marker catches it.
    raw = encode(full_session(turns=12), fmt)
    line_ends = [i + 1 for i, byte in enumerate(raw) if byte == ord("\n")]
    for cut in sorted({*line_ends, *range(len(raw) - 120, len(raw) - 1), len(raw) // 2}):
        if raw[cut:].strip():
            with pytest.raises(SessionFormatError):
                decode(raw[:cut], fmt)


def test_json_errors_name_the_line() -> None:
    with pytest.raises(SessionFormatError, match="line 2 column"):
        decode(b'{"a":\n  }', "json")


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        (b'{"chatterm_session": NaN}', "json"),
        (b'{"chatterm_session": Infinity}', "json"),
        (b'{"x": -Infinity}', "json"),
        (b'{"x": ' + b"9" * 5000 + b"}", "json"),
        (b"x = " + b"9" * 5000 + b"\n", "toml"),
    ],
)
def test_values_that_are_not_data_are_refused(raw: bytes, fmt: SessionFormat) -> None:
    with pytest.raises(SessionFormatError):
        decode(raw, fmt)


def test_toml_nan_and_inf_are_refused_where_numbers_go() -> None:
    raw = encode(full_session(), "toml").replace(b"ttft_ms = 120.5", b"ttft_ms = nan")
    with pytest.raises(SessionFormatError, match="ttft_ms must be a number"):
        decode(raw, "toml")


def test_deep_nesting_is_refused_cleanly() -> None:
    with pytest.raises(SessionFormatError):
        decode(b"[" * 100_000 + b"]" * 100_000, "json")


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
@pytest.mark.parametrize("turns", [0, 1, 3])
def test_the_encoder_writes_the_plain_document(fmt: SessionFormat, turns: int) -> None:
    session = full_session(turns=max(turns, 1))
    session.turns[0].answer = "C1 \x85\x9b and \u2028 and DEL \x7f"
    session.title = "title \x9b"
    del session.turns[turns:]
    data = session_to_data(session)
    expected = (
        tomli_w.dumps(data)
        if fmt == "toml"
        else json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    )
    for raw, escaped in [("\x85", "\\u0085"), ("\x9b", "\\u009b"), ("\u2028", "\\u2028")]:
        expected = expected.replace(raw, escaped)
    expected = expected.replace("\x7f", "\\u007f")
    assert encode(session, fmt).decode() == expected


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_cached_turns_give_the_same_bytes_as_a_fresh_encoding(fmt: SessionFormat) -> None:
    encoder = SessionEncoder()
    session = full_session(turns=3)
    live = full_turn("live", "")
    live.finish_reason = None
    session.turns.append(live)
    for step in range(3):
        live.answer += f"piece {step} "
        assert encoder.encode(session, fmt) == encode(session, fmt)
    live.finish_reason = "stop"
    assert encoder.encode(session, fmt) == encode(session, fmt)
    session.turns.pop(0)  # a turn replaced or removed is not served from the cache
    session.turns.insert(0, full_turn("new first", "x"))
    assert encoder.encode(session, fmt) == encode(session, fmt)
    assert decode(encoder.encode(session, fmt), fmt) == session
