"""safe_text: terminal control sequences in model output are shown, never obeyed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatterm.text import safe_text

ESC = "\x1b"


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
    text = "Hello — привет 👋 漢字 `code` [bold]not markup[/bold] \u200b\u00a0 ok"
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
@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))))
def test_text_without_controls_is_untouched(text: str) -> None:
    assert safe_text(text) == text
