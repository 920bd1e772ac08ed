"""The fence-aware segment splitter behind the answer pane."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from chatterm.tui.segments import (
    SEGMENT_LINES,
    SegmentSplitter,
    ends_at_blank_line,
    split_all,
    split_segments,
)


def paragraph(number: int, lines: int = 3) -> str:
    return "\n".join(f"paragraph {number} line {i}" for i in range(lines)) + "\n\n"


def paragraphs(count: int) -> str:
    return "".join(paragraph(number) for number in range(count))


def test_every_blank_line_ends_a_segment_and_text_without_one_is_all_tail() -> None:
    assert split_segments("# Title\n\nsome text") == (["# Title\n\n"], "some text")
    assert split_segments("some text\nmore of it") == ([], "some text\nmore of it")


def test_cut_at_first_blank_line_after_blank_lines() -> None:
    text = paragraphs(10)  # 4 lines per paragraph, blank included
    segments, tail = split_segments(text, blank_lines=8)
    assert segments[0] == paragraph(0) + paragraph(1)
    assert "".join(segments) + tail == text
    assert all(segment.endswith("\n\n") for segment in segments)


def test_no_cut_until_the_next_line_has_begun() -> None:
    text = paragraphs(2)  # ends with a blank line: nothing follows it yet
    assert split_segments(text, max_lines=4) == ([paragraph(0)], paragraph(1))
    segments, _ = split_segments(text + "n", max_lines=4)
    assert segments == [paragraph(0), paragraph(1)]


def test_no_cut_before_an_indented_continuation() -> None:
    text = "1. item\n\n   more of item one\n\n2. item\n\nafter\n"
    segments, tail = split_segments(text, max_lines=1)
    assert segments == ["1. item\n\n   more of item one\n\n", "2. item\n\n"]
    assert tail == "after\n"


def test_no_cut_inside_a_code_fence() -> None:
    code = "```python\n" + "x = 1\n\n" * 10 + "```\n"
    text = "intro\n\n" + code + "\nafter\n"
    segments, tail = split_segments(text, blank_lines=3)
    assert segments == ["intro\n\n" + code + "\n"]
    assert tail == "after\n"


def test_tilde_fence_and_longer_closing_fence() -> None:
    text = "~~~\na\n\nb\n~~~~~\n\nc\n"
    assert split_segments(text, max_lines=2) == (["~~~\na\n\nb\n~~~~~\n\n"], "c\n")
    # A backtick line does not close a tilde fence.
    text = "~~~\na\n```\n\nb\n"
    assert split_segments(text, max_lines=1) == ([], text)


def test_inline_code_span_is_not_a_fence() -> None:
    text = "```inline``` code\n\nnext\n\nlast\n"
    segments, tail = split_segments(text, max_lines=1)
    assert segments == ["```inline``` code\n\n", "next\n\n"]
    assert tail == "last\n"


def test_long_fence_is_closed_and_reopened() -> None:
    body = "".join(f"line {i}\n" for i in range(10))
    text = "```python\n" + body + "```\n"
    segments, tail = split_segments(text, max_lines=100, max_fence_lines=4)
    assert segments[0] == "```python\nline 0\nline 1\nline 2\nline 3\n```\n"
    assert segments[1] == "```python\nline 4\nline 5\nline 6\nline 7\n```\n"
    assert tail == "```python\nline 8\nline 9\n```\n"


def test_deeply_indented_fence_is_never_cut() -> None:
    text = "- a\n    - b\n\n        ```\n" + "        x\n" * 10 + "        ```\n"
    assert split_segments(text, max_lines=1, max_fence_lines=2) == ([], text)


def test_split_all_includes_the_tail() -> None:
    text = paragraphs(6)
    assert "".join(split_all(text, max_lines=4)) == text
    assert split_all("") == []


def test_splitter_feeds_incrementally() -> None:
    splitter = SegmentSplitter(max_lines=4)
    finished: list[str] = []
    for char in paragraphs(3) + "end":
        finished += splitter.feed(char)
    assert finished == [paragraph(0), paragraph(1), paragraph(2)]
    assert splitter.tail == "end"
    assert splitter.feed("") == []


markdown_lines = st.lists(
    st.sampled_from(
        ["", "", "text", "  indented", "```", "```py", "~~~", "- item", "| a | b |", "# h"]
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(markdown_lines, st.lists(st.integers(min_value=1, max_value=40), max_size=30))
def test_incremental_equals_whole(lines: list[str], cuts: list[int]) -> None:
    """Splitting the tail as text arrives gives exactly the segments of a whole split."""
    text = "\n".join(lines)
    splitter = SegmentSplitter(max_lines=3, max_fence_lines=4)
    finished: list[str] = []
    position = 0
    for size in cuts:
        finished += splitter.feed(text[position : position + size])
        position += size
    finished += splitter.feed(text[position:])
    whole, tail = split_segments(text, max_lines=3, max_fence_lines=4)
    assert finished == whole
    assert splitter.tail == tail


@settings(max_examples=200, deadline=None)
@given(markdown_lines)
def test_without_fence_cuts_nothing_is_lost(lines: list[str]) -> None:
    text = "\n".join(lines)
    segments, tail = split_segments(text, max_lines=2, max_fence_lines=10_000)
    assert "".join(segments) + tail == text
    assert all(segments)


# -- cuts in text without blank lines: tight lists and tables ---------------------------


def tight_list(count: int, numbered: str = "") -> str:
    """``count`` one-line items: bullets, or numbered ``"1."``, ``"1.."`` (sequential)."""
    if numbered == "same":
        return "".join(f"1. item {i}\n" for i in range(1, count + 1))
    if numbered:
        return "".join(f"{i}{numbered} item {i}\n" for i in range(1, count + 1))
    return "".join(f"- item {i}\n" for i in range(1, count + 1))


def table(rows: int) -> str:
    return "| name | size |\n|:-----|-----:|\n" + "".join(
        f"| row {i} | {i} |\n" for i in range(rows)
    )


def test_a_tight_bullet_list_is_cut_before_an_item_past_twice_max_lines() -> None:
    segments, tail = split_segments(tight_list(30), max_lines=5)
    assert [len(segment.splitlines()) for segment in segments] == [10, 10]
    assert segments[1].startswith("- item 11\n")
    assert "".join(segments) + tail == tight_list(30)


def test_an_ordered_list_cut_numbers_on_where_it_stopped() -> None:
    sequential = tight_list(25, ".")
    segments, tail = split_segments(sequential, max_lines=5)
    assert "".join(segments) + tail == sequential  # already numbered right: untouched
    assert [segment.splitlines()[0] for segment in segments] == ["1. item 1", "11. item 11"]
    # Rich numbers a list from its first item, so "1." on every item is renumbered.
    same = tight_list(9, "same")
    segments, tail = split_segments(same, max_lines=2)
    assert [segment.splitlines()[0] for segment in segments] == ["1. item 1", "5. item 5"]
    assert tail.startswith("9. item 9\n")


def test_a_renumbered_item_keeps_its_content_column() -> None:
    text = "10. a\n" + "".join("1.  x\n" for _ in range(11))  # "1." then two spaces
    segments, tail = split_segments(text, max_lines=2)
    assert segments[1].startswith("14. x\n")
    text = "100. a\n" + "".join("1000. x\n" for _ in range(11))
    segments, tail = split_segments(text, max_lines=2)
    assert segments[1].startswith("104.  x\n")  # padded: "x" stays in column 6
    # "10." cannot replace "1. " without moving "x" a column right, and with it what
    # belongs to the item: the cut waits for an item that can be renumbered (none here).
    text = "1. a\n" * 25
    segments, tail = split_segments(text, max_lines=2)
    assert [segment.splitlines()[0] for segment in segments] == ["1. a", "5. a"]
    assert tail.startswith("9. a\n1. a\n") and tail.count("\n") == 17


def test_items_with_indented_continuations_are_cut_between_items() -> None:
    text = "".join(f"{i}. item\n   more of {i}\n" for i in range(1, 20))
    segments, tail = split_segments(text, max_lines=3)
    assert all(segment.startswith(tuple("0123456789")) for segment in [*segments, tail])
    assert "".join(segments) + tail == text


def test_a_number_that_cannot_interrupt_a_paragraph_is_not_cut_before() -> None:
    text = "".join(f"line {i} of a paragraph\n" for i in range(10)) + "2. not an item\n" * 3
    segments, _ = split_segments(text, max_lines=2)
    assert not any(segment.startswith("2.") for segment in segments)


def test_a_long_table_is_cut_between_rows_and_repeats_its_head() -> None:
    text = table(30)
    head = "| name | size |\n|:-----|-----:|\n"
    segments, tail = split_segments(text, max_lines=5)
    assert len(segments) == 3
    assert [len(segment.splitlines()) for segment in segments] == [10, 10, 10]
    assert all(segment.startswith(head) for segment in [*segments, tail])
    rows = [line for s in [*segments, tail] for line in s.splitlines()[2:]]
    assert rows == text.splitlines()[2:]


def test_a_table_is_not_cut_before_its_first_row() -> None:
    text = "".join(f"line {i}\n" for i in range(10)) + table(3)
    segments, tail = split_segments(text, max_lines=2)
    assert all(not segment.endswith("|-----:|\n") for segment in segments)


def test_a_long_paragraph_is_cut_past_three_times_max_lines() -> None:
    text = "".join(f"line {i}\n" for i in range(40))
    segments, tail = split_segments(text, max_lines=4)
    assert [len(segment.splitlines()) for segment in segments] == [12, 12, 12]
    assert "".join(segments) + tail == text


def test_never_cut_before_a_setext_underline_or_a_delimiter_row() -> None:
    text = "".join(f"line {i}\n" for i in range(6)) + "Heading\n=======\n| a |\n|---|\n"
    text = text * 4
    segments, tail = split_segments(text, max_lines=2)
    for segment in [*segments, tail][1:]:
        assert not segment.startswith(("=", "|---"))


def test_a_lazy_continuation_of_a_list_item_is_not_cut_off() -> None:
    text = "1. item\n" + "".join(f"lazy line {i}\n" for i in range(20)) + "2. next\n"
    segments, tail = split_segments(text, max_lines=2)
    assert segments == ["1. item\n" + "".join(f"lazy line {i}\n" for i in range(20))]
    assert tail == "2. next\n"


def test_ends_at_blank_line() -> None:
    assert ends_at_blank_line("text\n\n")
    assert ends_at_blank_line("text\n  \n")
    assert not ends_at_blank_line("- a\n- b\n")
    assert not ends_at_blank_line("The end.")


BOUND = 2 * SEGMENT_LINES + 1


@pytest.mark.parametrize(
    "text",
    [tight_list(400), tight_list(400, "."), tight_list(400, ")"), table(400)],
    ids=["bullets", "numbered", "numbered-paren", "table"],
)
def test_the_live_tail_stays_short_in_text_without_blank_lines(text: str) -> None:
    splitter = SegmentSplitter()
    longest = 0
    for start in range(0, len(text), 5):  # token-sized pieces
        splitter.feed(text[start : start + 5])
        longest = max(longest, splitter.tail.count("\n") + 1)
    assert longest <= BOUND


def test_the_live_tail_stays_short_in_a_long_paragraph() -> None:
    text = "".join(f"sentence {i} of a paragraph without a blank line\n" for i in range(400))
    splitter = SegmentSplitter()
    longest = 0
    for start in range(0, len(text), 5):
        splitter.feed(text[start : start + 5])
        longest = max(longest, splitter.tail.count("\n") + 1)
    assert longest <= 3 * SEGMENT_LINES + 1


# -- what Rich's parser makes of the segments -----------------------------------------------

MARKDOWN = MarkdownIt().enable("strikethrough").enable("table")  # as rich.markdown does


def top_level_items(text: str) -> list[tuple[int | None, str]]:
    """Each top-level list item: the number Rich shows (None for a bullet), its first line."""
    lines = text.splitlines()
    items: list[tuple[int | None, str]] = []
    number: int | None = None
    for token in MARKDOWN.parse(text):
        if token.level == 0 and token.type == "ordered_list_open":
            number = int(token.attrs.get("start", 1))
        elif token.level == 0 and token.type == "bullet_list_open":
            number = None
        elif token.level == 1 and token.type == "list_item_open":
            assert token.map is not None
            first = lines[token.map[0]].lstrip()
            content = first[len(token.markup) + (len(token.info) if token.info else 0) :]
            items.append((number, content.strip()))
            if number is not None:
                number += 1
    return items


def table_rows(text: str) -> list[tuple[str, ...]]:
    """Each top-level table row as (header..., cells...)."""
    rows: list[tuple[str, ...]] = []
    header: list[str] = []
    row: list[str] = []
    cell = ""
    for token in MARKDOWN.parse(text):
        if token.type == "table_open":
            header = []
        elif token.type == "inline" and cell:
            (header if cell == "th" else row).append(token.content)
        elif token.type in ("th_open", "td_open"):
            cell = token.tag
        elif token.type in ("th_close", "td_close"):
            cell = ""
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row:
            rows.append((*header, "|", *row))
    return rows


markdown_blocks = st.lists(
    st.sampled_from(
        [
            "",
            "",
            "text",
            "more | text",
            "  indented",
            "   3 in",
            "    code",
            "- item",
            "* star",
            "-",
            "1. one",
            "2. two",
            "1. one",
            "3) paren",
            "10. ten",
            " 2. sib",
            "| a | b |",
            "|---|--:|",
            "| 1 | 2 |",
            "| 3 |",
            "# h",
            "---",
            "===",
            "> quote",
            "<div>",
            "```",
            "~~~",
        ]
    ),
    max_size=120,
)


@settings(max_examples=400, deadline=None)
@given(markdown_blocks, st.integers(min_value=1, max_value=4))
def test_lists_and_tables_read_the_same_cut_or_whole(lines: list[str], max_lines: int) -> None:
    """Every top-level list item keeps its number, every table row its header."""
    text = "\n".join(lines) + "\n"
    segments = split_all(text, max_lines=max_lines, max_fence_lines=1_000)
    assert [item for s in segments for item in top_level_items(s)] == top_level_items(text)
    assert [row for s in segments for row in table_rows(s)] == table_rows(text)


@settings(max_examples=300, deadline=None)
@given(markdown_blocks, st.lists(st.integers(min_value=1, max_value=40), max_size=30))
def test_incremental_equals_whole_with_tight_cuts(lines: list[str], cuts: list[int]) -> None:
    text = "\n".join(lines)
    splitter = SegmentSplitter(max_lines=2, max_fence_lines=3)
    finished: list[str] = []
    position = 0
    for size in cuts:
        finished += splitter.feed(text[position : position + size])
        position += size
    finished += splitter.feed(text[position:])
    whole, tail = split_segments(text, max_lines=2, max_fence_lines=3)
    assert finished == whole
    assert splitter.tail == tail
