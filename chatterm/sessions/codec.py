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
from functools import cache
from json.encoder import encode_basestring
from typing import Any, Literal

import tomli_w

from chatterm.sessions.document import session_from_data, session_to_data, turn_to_data
from chatterm.sessions.model import (
    Session,
    SessionFormatError,
    TimelineLoader,
    Turn,
    pending_timeline,
)
from chatterm.text import escape_unsafe_in_strings

SessionFormat = Literal["json", "toml"]
# What a session can be exported as (chatterm.sessions.export): its two file formats, and Markdown.
ExportFormat = Literal["md", "json", "toml"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("md", "json", "toml")
SESSION_FORMATS: tuple[SessionFormat, ...] = ("json", "toml")


def utf8_bytes(text: str) -> bytes:
    """UTF-8, with any lone surrogate (which UTF-8 cannot hold) as U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


_SURROGATE = re.compile("[\ud800-\udfff]")


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
        # id(turn) -> (turn, format, parent, text); holding the turn keeps its id from
        # being reused. The parent is part of the text: a path rearranged changes it.
        self._finished: dict[int, tuple[Turn, SessionFormat, int | None, str]] = {}

    def encode(self, session: Session, fmt: SessionFormat) -> bytes:
        data = session_to_data(session, with_turns=False)
        end = data.pop("end")
        turns = [self._turn_text(turn, fmt) for turn in session.tree]
        if len(self._finished) > len(session.tree):
            keep = {id(turn) for turn in session.tree}
            self._finished = {k: v for k, v in self._finished.items() if k in keep}
        if fmt == "toml":
            if not turns:
                data["turns"] = []  # an empty array is a plain value, not a table
            head = escape_unsafe_in_strings(tomli_w.dumps(data))
            text = "\n".join([head, *turns, tomli_w.dumps({"end": end})])
        else:
            head = json.dumps(data, ensure_ascii=False, indent=1)[:-2]  # without "\n}"
            head = escape_unsafe_in_strings(head)
            body = ",\n  ".join(turns)
            turns_json = f"[\n  {body}\n ]" if turns else "[]"
            end_json = json.dumps(end, ensure_ascii=False, indent=1).replace("\n", "\n ")
            text = f'{head},\n "turns": {turns_json},\n "end": {end_json}\n}}\n'
        return utf8_bytes(text)

    def _turn_text(self, turn: Turn, fmt: SessionFormat) -> str:
        cached = self._finished.get(id(turn))
        if cached is not None and cached[0] is turn and cached[1:3] == (fmt, turn.parent):
            return cached[3]
        array = pending_timeline(turn)
        if isinstance(array, _Array) and array.fmt == fmt:
            # Read from a file of this format and not used since: written back as read.
            text = array.spliced(turn_to_data(turn, with_timeline=False))
        elif fmt == "toml":
            text = escape_unsafe_in_strings(tomli_w.dumps({"turns": [turn_to_data(turn)]}))
        else:
            text = _json_turn(turn_to_data(turn))
            # Nested two levels deep; JSON strings hold no raw newlines, so this is safe.
            text = escape_unsafe_in_strings(text.replace("\n", "\n  "))
        if not turn.in_progress:
            self._finished[id(turn)] = (turn, fmt, turn.parent, text)
        return text


def _json_turn(data: dict[str, Any]) -> str:
    """``json.dumps(data, ensure_ascii=False, indent=1)``, the same text, with the timeline
    (last in ``data``) written here: json's indenting encoder is pure Python, and a
    session opened from a file has every turn encoded once at its first save (2,000
    turns took seconds, on the event loop)."""
    timeline = data.pop("timeline")
    head = json.dumps(data, ensure_ascii=False, indent=1)
    data["timeline"] = timeline
    if not timeline:
        return f'{head[:-2]},\n "timeline": []\n}}'
    quote = encode_basestring  # what json itself uses for text when ensure_ascii=False
    entries = ",\n".join(
        f"  [\n   {offset if type(offset) is int else json.dumps(offset)},\n"
        f"   {quote(kind)},\n   {quote(text)}\n  ]"
        for offset, kind, text in timeline
    )
    return f'{head[:-2]},\n "timeline": [\n{entries}\n ]\n}}'


def decode(raw: bytes, fmt: SessionFormat) -> Session:
    """Parse a session file's bytes; :class:`SessionFormatError` names what is wrong.

    A file as chatterm writes it has its timelines (most of its bytes) checked and set
    aside, and parsed when a turn's timeline is first used (:func:`_read_apart`); any
    other file is parsed whole, with the same result.
    """
    text = _text(raw)
    apart = _read_apart(text, fmt)
    if apart is not None:
        data, loaders = apart
        return session_from_data(data, timelines=loaders)
    return session_from_data(_parse(text, fmt))


def decode_data(raw: bytes, fmt: SessionFormat) -> object:
    return _parse(_text(raw), fmt)


def _text(raw: bytes) -> str:
    if not raw or raw.isspace():  # as ``not raw.strip()``, without copying the file
        raise SessionFormatError("the file is empty")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SessionFormatError(f"not UTF-8 text (byte {exc.start})") from None


def _parse(text: str, fmt: SessionFormat) -> object:
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


# -- timelines apart -----------------------------------------------------------------------
#
# A turn's timeline takes most of a session file (one entry per ~16 ms of streaming: half
# a million for 2,000 turns), and only replay reads it. In a file laid out as the encoder
# writes it, each non-empty timeline is one array in a fixed layout, so it can be found
# with a string search, checked with one regular expression (which accepts only what the
# parser would read as valid ``[offset_ms, kind, text]`` entries), and replaced with its
# index before the rest of the file is parsed; the turn parses it when its timeline is
# first used. Anything else (another layout, an edited file, a damaged one) is parsed
# whole, exactly as before, errors included.

_NUMBER = r"(?:0|[1-9][0-9]{0,14})"  # at most 10**15 - 1, as the model allows
_KIND = r'"(?:reasoning|answer|answer_was_reasoning)"'
# Strings as each parser reads them: JSON refuses raw control characters; TOML allows a
# tab, refuses DEL, and its \u escapes must not be surrogates (\U is left to the parser).
# Neither may hold what the encoder escapes (DEL, C1 controls, U+2028/U+2029), so that an
# array can be written back as it was read.
_JSON_CHAR = r'[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029]'
_JSON_STRING = rf'"{_JSON_CHAR}*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{{4}}){_JSON_CHAR}*)*"'
_TOML_CHAR = r'[^"\\\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]'
_TOML_STRING = (
    rf'"{_TOML_CHAR}*(?:\\(?:[btnfr"\\]|u(?![dD][89abAB])[0-9a-fA-F]{{4}}){_TOML_CHAR}*)*"'
)
_JSON_ENTRY = rf"\n    \[\n     {_NUMBER},\n     {_KIND},\n     {_JSON_STRING}\n    \]"
_TOML_ENTRY = rf"\n    \[\n        {_NUMBER},\n        {_KIND},\n        {_TOML_STRING},\n    \],"


class _Layout:
    """Where the encoder puts a turn's non-empty timeline, in one format."""

    def __init__(self, fmt: SessionFormat) -> None:
        self.fmt: SessionFormat = fmt
        if fmt == "json":
            self.opening = '\n   "timeline": [\n'  # a turn's key, three spaces in
            # The entries, then the array's end (the entries' own ends are indented more).
            self.array = re.compile(rf"((?:{_JSON_ENTRY})(?:,{_JSON_ENTRY})*)\n   \]")
        else:
            self.opening = "\ntimeline = [\n"
            self.array = re.compile(rf"((?:{_TOML_ENTRY})+)\n\]")


class _Array:
    """A timeline's entries as they are in the file (checked): parsed when called, and
    written back as they are while the turn has not used them."""

    __slots__ = ("fmt", "text")

    def __init__(self, fmt: SessionFormat, text: str) -> None:
        self.fmt: SessionFormat = fmt
        self.text = text

    def __call__(self) -> list[list[Any]]:
        if self.fmt == "json":
            items = json.loads(f"[{self.text}\n]")
        else:
            items = tomllib.loads(f"t = [{self.text}\n]")["t"]
        assert isinstance(items, list)
        return items

    def spliced(self, data: dict[str, Any]) -> str:
        """The turn's text as :meth:`SessionEncoder._turn_text` writes it, with this
        array as its timeline (which holds no character that needs escaping)."""
        if self.fmt == "json":
            head = json.dumps(data, ensure_ascii=False, indent=1)[:-2]  # without "\n}"
            head = escape_unsafe_in_strings(f'{head},\n "timeline": ['.replace("\n", "\n  "))
            return f"{head}{self.text}\n   ]\n  }}"
        text = escape_unsafe_in_strings(tomli_w.dumps({"turns": [{**data, "timeline": 0}]}))
        return text.replace("\ntimeline = 0\n", f"\ntimeline = [{self.text}\n]\n", 1)


@cache
def _layout(fmt: SessionFormat) -> _Layout:
    return _Layout(fmt)  # compiled when first needed: every start of chatterm imports this


def _read_apart(text: str, fmt: SessionFormat) -> tuple[object, list[TimelineLoader]] | None:
    """The document with each timeline replaced by its index, and a loader for each; None
    if the file is not laid out as the encoder writes it (it is then parsed whole)."""
    layout = _layout(fmt)
    if text.find(layout.opening) < 0:
        return None
    if fmt == "toml" and ('"""' in text or "'''" in text):
        return None  # a multi-line string could hold anything, a layout included
    pieces: list[str] = []
    arrays: list[str] = []
    done = 0
    while True:
        start = text.find(layout.opening, done)
        if start < 0:
            break
        begin = start + len(layout.opening) - 1  # the entries start with a newline
        array = layout.array.match(text, begin)
        if array is None:
            return None
        pieces += (text[done : begin - 1], str(len(arrays)))
        arrays.append(array[1])
        done = array.end()
    pieces.append(text[done:])
    rest = "".join(pieces)
    texts: list[tuple[str, str]] = []  # (key, TOML string) of each text set apart
    if fmt == "toml":
        rest = _TOML_TEXT.sub(lambda m: _set_apart(m, texts), rest)
    try:
        data = _parse(rest, fmt)
    except SessionFormatError:
        return None  # the whole file says where
    # Each index must stand as one turn's timeline (or text), in order, and nowhere else.
    turns = data.get("turns") if isinstance(data, dict) else None
    if not isinstance(turns, list) or not all(isinstance(turn, dict) for turn in turns):
        return None
    found = [turn["timeline"] for turn in turns if type(turn.get("timeline")) is int]
    if found != list(range(len(arrays))):
        return None
    if fmt == "toml":
        places = [
            (turn, key)
            for turn in turns
            for key, value in turn.items()
            if key in _TEXT_KEYS and type(value) is int
        ]
        if [(turn[key], key) for turn, key in places] != [
            (index, key) for index, (key, _) in enumerate(texts)
        ]:
            return None
        for (turn, key), (_, string) in zip(places, texts, strict=True):
            # A checked TOML basic string means the same as JSON (a tab may be raw).
            turn[key] = json.loads(string, strict=False)
    return data, [_Array(fmt, array) for array in arrays]


# The long texts of a TOML turn: tomllib reads a string with many escapes (every line
# break in an answer is one) slowly, and JSON's reader takes the same string at once.
_TEXT_KEYS = frozenset(("prompt", "reasoning", "answer"))
_TOML_TEXT = re.compile(rf"\n(prompt|reasoning|answer) = ({_TOML_STRING})(?=\n)")


def _set_apart(match: re.Match[str], texts: list[tuple[str, str]]) -> str:
    texts.append((match[1], match[2]))
    return f"\n{match[1]} = {len(texts) - 1}"
