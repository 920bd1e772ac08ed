"""The fence-aware segment splitter behind the answer pane."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chatterm.tui.segments import SegmentSplitter, split_all, split_segments


def paragraph(number: int, lines: int = 3) -> str:
    return "\n".join(f"paragraph {number} line {i}" for i in range(lines)) + "\n\n"


def paragraphs(count: int) -> str:
    return "".join(paragraph(number) for number in range(count))


def test_short_text_is_all_tail() -> None:
    assert split_segments("# Title\n\nsome text") == ([], "# Title\n\nsome text")


def test_cut_at_first_blank_line_after_max_lines() -> None:
    text = paragraphs(10)  # 4 lines per paragraph, blank included
    segments, tail = split_segments(text, max_lines=8)
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
    segments, tail = split_segments(text, max_lines=3)
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
    text = "- a\n    - b\n\n        ```\n" + "x\n" * 10 + "        ```\n"
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
