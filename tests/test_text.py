"""safe_text: terminal control sequences in model output are shown, never obeyed."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatterm.text import INVISIBLE_PICTURE, SafeFeed, escape_unsafe_in_strings, safe_text

ESC = "\x1b"
#: Invisible formatting characters: bidi marks, embeddings, overrides and isolates, and
#: zero-width and other invisible characters.
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u180e\u200b\u2060\u2061\u2062\u2063\u2064\u206a\u206f\ufeff\ufff9\ufffa\ufffb"
HIDDEN = BIDI + ZERO_WIDTH
JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ


def inert(text: str) -> bool:
    """No character a terminal would act on, other than newline and tab (nor a line
    separator, whose width terminals disagree on)."""
    return not any(
        (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029"
        for c in text
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (f"{ESC}[31mred{ESC}[0m", "␛[31mred␛[0m"),  # CSI colour
        (f"{ESC}[2J{ESC}[H", "␛[2J␛[H"),  # clear screen, cursor home
        (f"{ESC}]52;c;aGVsbG8=\x07", "␛]52;c;aGVsbG8=␇"),  # OSC 52 clipboard write, BEL end
        (f"{ESC}]52;c;aGVsbG8={ESC}\\", "␛]52;c;aGVsbG8=␛\\"),  # OSC 52, ST end
        (f"{ESC}]0;pwned title\x07", "␛]0;pwned title␇"),  # OSC window title
        (f"{ESC}]8;;http://evil{ESC}\\link{ESC}]8;;{ESC}\\", "␛]8;;http://evil␛\\link␛]8;;␛\\"),
        (f"{ESC}P+q544e{ESC}\\", "␛P+q544e␛\\"),  # DCS
        ("ding\x07", "ding␇"),  # BEL
        (f"{ESC}[200~fake paste{ESC}[201~", "␛[200~fake paste␛[201~"),  # bracketed paste
        ("\x9b31mred", "\ufffd31mred"),  # C1 CSI
        ("\x9d0;title\x9c", "\ufffd0;title\ufffd"),  # C1 OSC ... ST
        ("\x90dcs\x9c", "\ufffddcs\ufffd"),  # C1 DCS
        ("a\x85b", "a\ufffdb"),  # NEL
        ("back\x08\x08space", "back␈␈space"),
        ("del\x7f", "del␡"),
        ("nul\x00", "nul␀"),
        ("\x0b\x0c\x1c\x1f", "␋␌␜␟"),
    ],
)
def test_controls_neutralized(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown
    assert inert(safe_text(raw))
    assert ESC not in safe_text(raw)


def test_newline_and_tab_kept() -> None:
    text = "line one\n\tindented\nline three\n"
    assert safe_text(text) == text


def test_crlf_becomes_lf() -> None:
    assert safe_text("one\r\ntwo\r\n") == "one\ntwo\n"


def test_lone_cr_is_shown_not_obeyed() -> None:
    # A bare CR would return the cursor and let later text overwrite the line.
    assert safe_text("visible\rhidden") == "visible␍hidden"


def test_crlf_with_other_controls() -> None:
    assert safe_text(f"a\r\n{ESC}[1mb\r") == "a\n␛[1mb␍"


def test_plain_text_unchanged() -> None:
    # U+200B used to be here: a zero-width space hides text, and is now shown (see below).
    text = "Hello — привет 👋 漢字 `code` [bold]not markup[/bold] 👨\u200d👩\u200d👧\u00a0 ok"
    assert safe_text(text) == text


def test_line_and_paragraph_separators_become_newlines() -> None:
    # Terminals disagree on their width (Rich: 0 cells), which would shift the screen.
    assert safe_text("one\u2028two\u2029three") == "one\ntwo\nthree"


def test_empty() -> None:
    assert safe_text("") == ""


@settings(deadline=None, derandomize=True)
@given(st.text())
def test_output_is_always_inert(text: str) -> None:
    out = safe_text(text)
    assert inert(out)
    # Nothing is dropped: only CRLF pairs shrink to one character.
    assert len(out) == len(text) - text.count("\r\n")


@settings(deadline=None, derandomize=True)
@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters=HIDDEN + JOINERS
        )
    )
)
def test_text_without_controls_is_untouched(text: str) -> None:
    assert safe_text(text) == text


# -- bidi controls and zero-width characters


@pytest.mark.parametrize("char", list(HIDDEN))
def test_invisible_formatting_characters_are_shown(char: str) -> None:
    assert safe_text(f"a{char}b") == f"a{INVISIBLE_PICTURE}b"


def test_trojan_source_override_is_shown() -> None:
    # An RLO makes "txt.exe" look like "exe.txt"; an isolate hides a reordering too.
    assert safe_text("file\u202etxt.exe") == "file⬚txt.exe"
    assert safe_text("\u2067x\u2069 = 1") == "⬚x⬚ = 1"


@pytest.mark.parametrize(
    "text",
    [
        "👨\u200d👩\u200d👧",  # family: ZWJ between emoji
        "👩🏽\u200d💻",  # a skin-tone modifier before the ZWJ
        "🏳\ufe0f\u200d🌈",  # a variation selector before the ZWJ
        "می\u200cخواهم",  # Persian: ZWNJ between letters
        "क्\u200dष",  # Devanagari: ZWJ after a virama
        "1\u200c2",
    ],
)
def test_joiners_between_letters_and_emoji_stay(text: str) -> None:
    assert safe_text(text) == text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\u200dx", "⬚x"),
        ("x\u200d", "x⬚"),
        ("x \u200c y", "x ⬚ y"),
        ("x\u200d\u200dy", "x⬚⬚y"),
        ("x\u200d\u202ey", "x⬚⬚y"),
        ("\u200c", "⬚"),
    ],
)
def test_joiners_alone_are_shown(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def joiner_is_between_letters(text: str, at: int) -> bool:
    def joins(char: str) -> bool:
        category = unicodedata.category(char)
        return category[0] in "LMN" or category in ("So", "Sk")

    return 0 < at < len(text) - 1 and joins(text[at - 1]) and joins(text[at + 1])


#: Text heavy in what the filter looks at, among letters, emoji and spaces.
_MIXED = st.text(
    alphabet=st.sampled_from([*HIDDEN, *JOINERS, "a", "ش", "👨", "\ufe0f", " ", "\r", "\n", "."])
    | st.characters()
)


@settings(deadline=None, derandomize=True)
@given(_MIXED)
def test_no_hidden_character_gets_through(text: str) -> None:
    out = safe_text(text)
    assert not any(char in HIDDEN for char in out)
    for at, char in enumerate(out):
        if char in JOINERS:
            assert joiner_is_between_letters(out, at), (text, out)
    assert len(out) == len(text) - text.count("\r\n")  # one for one


@settings(deadline=None, derandomize=True)
@given(_MIXED, st.lists(st.integers(min_value=0, max_value=40), max_size=6))
def test_safe_feed_gives_what_safe_text_gives_the_whole(text: str, cuts: list[int]) -> None:
    feed = SafeFeed()
    bounds = sorted({min(cut, len(text)) for cut in cuts})
    pieces = [text[a:b] for a, b in zip([0, *bounds], [*bounds, len(text)], strict=True)]
    assert "".join(feed.feed(piece) for piece in pieces) + feed.flush() == safe_text(text)


def test_json_and_toml_escape_hidden_characters_but_not_joiners() -> None:
    serialized = json.dumps({"text": f"a{HIDDEN}👨\u200d👩"}, ensure_ascii=False)
    escaped = escape_unsafe_in_strings(serialized)
    assert not any(char in HIDDEN for char in escaped)
    assert "\\u202e" in escaped and "👨\u200d👩" in escaped
    assert json.loads(escaped) == json.loads(serialized)  # exact
