"""The reasoning pane's incremental wrapping, against Rich wrapping the whole text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from chatterm.tui.widgets.reasoning_pane import TAB_SIZE, WrappedText, expand_tabs

CONSOLE = Console(width=80, color_system=None, legacy_windows=False)


def wrapped_at_once(text: str, width: int) -> list[tuple[str, int]]:
    """What the pane drew before it wrapped incrementally: each paragraph wrapped whole."""
    lines: list[tuple[str, int]] = []
    for paragraph in text.split("\n"):
        if not paragraph:
            lines.append(("", 0))
            continue
        whole = Text(paragraph, end="")
        whole.expand_tabs(TAB_SIZE)
        for line in whole.wrap(CONSOLE, width, overflow="fold"):
            lines.append((line.plain, line.cell_len))
    return lines


def drawn(wrapped: WrappedText) -> list[tuple[str, int]]:
    return [(strip.text, strip.cell_length) for lines in wrapped.lines for strip in lines]


# Words, runs of spaces, long words, tabs, wide characters and newlines.
pieces_of_text = st.lists(
    st.sampled_from(
        [
            "a",
            "word",
            "reasoning",
            " ",
            "  ",
            "     ",
            "\t",
            "\n",
            "\n\n",
            "x" * 23,
            "y" * 70,
            "日本語",
            "🙂",
            "·",
            "-",
        ]
    ),
    max_size=120,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(
    pieces_of_text,
    st.integers(min_value=1, max_value=30),
    st.lists(st.integers(min_value=1, max_value=25), max_size=60),
)
def test_appending_in_pieces_wraps_like_wrapping_all_at_once(
    text: str, width: int, cuts: list[int]
) -> None:
    wrapped = WrappedText()
    wrapped.wrap_to(width, CONSOLE)
    position = 0
    for size in cuts:
        wrapped.append(text[position : position + size], CONSOLE)
        position += size
    wrapped.append(text[position:], CONSOLE)
    assert wrapped.text == text
    assert drawn(wrapped) == wrapped_at_once(text, width)
    # Wrapping afresh (a new width, then back) gives the same lines.
    wrapped.wrap_to(width + 1, CONSOLE)
    wrapped.wrap_to(width, CONSOLE)
    assert drawn(wrapped) == wrapped_at_once(text, width)


def test_text_appended_before_a_width_is_known_is_wrapped_later() -> None:
    wrapped = WrappedText()
    wrapped.append("one two three\nfour", CONSOLE)
    assert wrapped.line_count == 0
    assert wrapped.wrap_to(8, CONSOLE) == 3
    wrapped.append(" five", CONSOLE)
    assert drawn(wrapped) == wrapped_at_once("one two three\nfour five", 8)
    wrapped.clear()
    assert wrapped.text == "" and wrapped.line_count == 0


def test_tabs_stop_where_they_would_in_the_whole_paragraph() -> None:
    assert expand_tabs("ab\tc", 0) == ("ab  c", 5)
    assert expand_tabs("\t", 3) == (" ", 4)
    assert expand_tabs("日\t", 0) == ("日  ", 4)
    assert expand_tabs("plain", 7) == ("plain", 12)


def test_an_append_rewraps_only_the_last_line() -> None:
    wrapped = WrappedText()
    wrapped.wrap_to(20, CONSOLE)
    wrapped.append("word " * 2000, CONSOLE)  # 10,000 characters, no newline
    lines = list(wrapped.lines[0])
    wrapped.append("more", CONSOLE)
    assert all(a is b for a, b in zip(lines[:-1], wrapped.lines[0], strict=False))
    assert wrapped._tail == "more" and wrapped._tail_lines == 1


def test_an_append_to_a_word_longer_than_many_lines_rewraps_a_line_or_two() -> None:
    wrapped = WrappedText()
    wrapped.wrap_to(20, CONSOLE)
    wrapped.append("x" * 40_000, CONSOLE)  # base64, say: one word, folded
    assert wrapped.line_count == 2000
    assert wrapped._tail_lines <= 2 and len(wrapped._tail) <= 40
    wrapped.append("y" * 5 + " end", CONSOLE)
    assert drawn(wrapped) == wrapped_at_once("x" * 40_000 + "y" * 5 + " end", 20)
