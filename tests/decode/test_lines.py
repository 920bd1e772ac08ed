"""LineSplitter, the line splitting under both decoders, in both of its line-end rules and in
every fragmentation; the hypothesis tests check it against a plain whole-body reference."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatterm.decode.lines import MAX_LINE_BYTES, LineSplitter

BOM = b"\xef\xbb\xbf"
# (text, invalid UTF-8 lines, too-long lines) for each line, the bad lines met since the line
# before it; the last entry is flush()'s line ("" when there is none) and what is left.
Row = tuple[str, int, int]


class Counts:
    def __init__(self) -> None:
        self.invalid_utf8_lines = 0
        self.oversized_lines = 0


def rows(
    chunks: Iterable[bytes], *, cr_ends_line: bool, max_line_bytes: int = MAX_LINE_BYTES
) -> tuple[list[Row], Counts]:
    counts = Counts()
    splitter = LineSplitter(counts, cr_ends_line=cr_ends_line, max_line_bytes=max_line_bytes)
    out: list[Row] = []
    for chunk in chunks:
        for line in splitter.feed(chunk):
            out.append((line, *splitter.take_bad_lines()))
    out.append((splitter.flush(), *splitter.take_bad_lines()))
    return out, counts


def lines(chunks: Iterable[bytes], *, cr_ends_line: bool, max_line_bytes: int = 100) -> list[str]:
    """The lines, the last one (without a line end) included when there is one."""
    found = [
        text
        for text, _, _ in rows(chunks, cr_ends_line=cr_ends_line, max_line_bytes=max_line_bytes)[0]
    ]
    return found if found[-1] else found[:-1]


def cuts_to_chunks(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted(set(cuts))
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


def reference(body: bytes, *, cr_ends_line: bool, max_line_bytes: int) -> tuple[list[Row], Counts]:
    """What :func:`rows` must give for ``body``, however it is cut: worked out on the whole."""
    if body.startswith(BOM):
        body = body[len(BOM) :]
    if cr_ends_line:
        *complete, last = re.split(rb"\r\n|\r|\n", body)
    else:
        *complete, last = body.split(b"\n")
        complete = [line.removesuffix(b"\r") for line in complete]
        last = last.removesuffix(b"\r")
    counts = Counts()
    out: list[Row] = []
    invalid = oversized = 0
    for index, line in enumerate([*complete, last]):
        is_last = index == len(complete)
        if len(line) > max_line_bytes:
            counts.oversized_lines += 1
            oversized += 1
            if is_last:
                out.append(("", invalid, oversized))
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            counts.invalid_utf8_lines += 1
            invalid += 1
        out.append((text, invalid, oversized))
        invalid = oversized = 0
    return out, counts


BOTH = pytest.mark.parametrize("cr_ends_line", [True, False], ids=["cr-lf-crlf", "lf-only"])

# Every kind of line end and line, multi-byte UTF-8 (an emoji, U+2028 that must not end a
# line), a blank line, and an unterminated last line.
STREAM = 'one\r\ntwo\nthree\rfour é\r\n\r\n{"a":"x\u2028y 👋"}\n\nlast'.encode()
STREAM_LINES = {
    True: ["one", "two", "three", "four é", "", '{"a":"x\u2028y 👋"}', "", "last"],
    False: ["one", "two", "three\rfour é", "", '{"a":"x\u2028y 👋"}', "", "last"],
}


class TestLineEnds:
    def test_lf(self) -> None:
        assert lines([b"a\nb\n\nc\n"], cr_ends_line=True) == ["a", "b", "", "c"]
        assert lines([b"a\nb\n\nc\n"], cr_ends_line=False) == ["a", "b", "", "c"]

    def test_crlf(self) -> None:
        assert lines([b"a\r\nb\r\n\r\n"], cr_ends_line=True) == ["a", "b", ""]
        assert lines([b"a\r\nb\r\n\r\n"], cr_ends_line=False) == ["a", "b", ""]

    def test_cr_alone_ends_a_line_only_where_cr_ends_lines(self) -> None:
        assert lines([b"a\rb\r\rc\n"], cr_ends_line=True) == ["a", "b", "", "c"]
        assert lines([b"a\rb\r\rc\n"], cr_ends_line=False) == ["a\rb\r\rc"]

    def test_only_one_cr_before_an_lf_is_dropped_where_lf_alone_ends_lines(self) -> None:
        assert lines([b"a\r\r\n"], cr_ends_line=False) == ["a\r"]
        assert lines([b"a\r\r\n"], cr_ends_line=True) == ["a", ""]

    def test_lf_cr_is_two_line_ends(self) -> None:
        assert lines([b"a\n\rb\n"], cr_ends_line=True) == ["a", "", "b"]

    @BOTH
    def test_unicode_breaks_are_not_line_ends(self, cr_ends_line: bool) -> None:
        text = "a\u2028b\u2029c\u0085d\x0be\x0cf\x1cg\x1dh\x1ei"
        assert lines([text.encode() + b"\n"], cr_ends_line=cr_ends_line) == [text]

    @BOTH
    def test_whole_stream(self, cr_ends_line: bool) -> None:
        assert lines([STREAM], cr_ends_line=cr_ends_line) == STREAM_LINES[cr_ends_line]


class TestCROnTheEdgeOfARead:
    def test_a_cr_ending_a_read_ends_its_line_at_once(self) -> None:
        splitter = LineSplitter(Counts(), cr_ends_line=True, max_line_bytes=100)
        assert list(splitter.feed(b"a\r")) == ["a"]
        assert list(splitter.feed(b"\n")) == []  # the other half of CRLF, not a blank line
        assert list(splitter.feed(b"b\n")) == ["b"]

    def test_cr_then_cr_is_a_blank_line(self) -> None:
        splitter = LineSplitter(Counts(), cr_ends_line=True, max_line_bytes=100)
        assert list(splitter.feed(b"a\r")) == ["a"]
        assert list(splitter.feed(b"\r")) == [""]

    def test_an_lf_is_only_dropped_right_after_the_cr(self) -> None:
        splitter = LineSplitter(Counts(), cr_ends_line=True, max_line_bytes=100)
        assert list(splitter.feed(b"a\r")) == ["a"]
        assert list(splitter.feed(b"")) == []  # an empty read changes nothing
        assert list(splitter.feed(b"b")) == []
        assert list(splitter.feed(b"\n")) == ["b"]

    def test_split_crlf_in_every_read_pattern(self) -> None:
        assert lines([b"a\r", b"\n\r", b"\nb\r\n\r\n"], cr_ends_line=True) == ["a", "", "b", ""]

    def test_where_lf_alone_ends_lines_the_cr_waits_for_the_lf(self) -> None:
        splitter = LineSplitter(Counts(), cr_ends_line=False, max_line_bytes=100)
        assert list(splitter.feed(b"a\r")) == []
        assert list(splitter.feed(b"\nb\r")) == ["a"]
        assert list(splitter.feed(b"c\n")) == ["b\rc"]

    def test_a_cr_at_the_end_of_the_stream_is_dropped_where_lf_alone_ends_lines(self) -> None:
        assert lines([b"a\nb\r"], cr_ends_line=False) == ["a", "b"]
        assert lines([b"a\n\r"], cr_ends_line=False) == ["a"]


class TestBOM:
    @BOTH
    def test_a_leading_bom_is_dropped(self, cr_ends_line: bool) -> None:
        assert lines([BOM + b"a\n"], cr_ends_line=cr_ends_line) == ["a"]

    @BOTH
    @pytest.mark.parametrize("cut", range(5))
    def test_a_leading_bom_split_anywhere(self, cr_ends_line: bool, cut: int) -> None:
        body = BOM + b"a\n"
        assert lines([body[:cut], body[cut:]], cr_ends_line=cr_ends_line) == ["a"]

    @BOTH
    def test_a_bom_in_one_byte_reads(self, cr_ends_line: bool) -> None:
        body = BOM + b"a\nb"
        pieces = [body[i : i + 1] for i in range(len(body))]
        assert lines(pieces, cr_ends_line=cr_ends_line) == ["a", "b"]

    @BOTH
    def test_only_the_first_bom_is_dropped(self, cr_ends_line: bool) -> None:
        assert lines([BOM + BOM + b"a\n"], cr_ends_line=cr_ends_line) == ["\ufeffa"]
        assert lines([b"a\n" + BOM + b"b\n"], cr_ends_line=cr_ends_line) == ["a", "\ufeffb"]

    @BOTH
    def test_a_character_that_starts_like_a_bom_is_kept(self, cr_ends_line: bool) -> None:
        body = "！x\n".encode()  # U+FF01 starts with the BOM's first byte
        for cut in range(len(body) + 1):
            got = lines([body[:cut], body[cut:]], cr_ends_line=cr_ends_line)
            assert got == ["！x"], cut

    @BOTH
    def test_a_stream_of_half_a_bom_is_a_bad_last_line(self, cr_ends_line: bool) -> None:
        got, counts = rows([b"\xef", b"\xbb"], cr_ends_line=cr_ends_line)
        assert got == [("\ufffd", 1, 0)]  # one replacement for the cut-short character
        assert counts.invalid_utf8_lines == 1


class TestTooLong:
    @BOTH
    def test_a_line_longer_than_the_limit_is_dropped_and_counted(self, cr_ends_line: bool) -> None:
        got, counts = rows([b"12345\n123456\nok\n"], cr_ends_line=cr_ends_line, max_line_bytes=5)
        assert got == [("12345", 0, 0), ("ok", 0, 1), ("", 0, 0)]
        assert counts.oversized_lines == 1

    def test_a_crlf_does_not_count_towards_the_limit(self) -> None:
        for cr_ends_line in (True, False):
            body = b"12345\r\nok\n"
            for cut in range(len(body) + 1):
                got = lines([body[:cut], body[cut:]], cr_ends_line=cr_ends_line, max_line_bytes=5)
                assert got == ["12345", "ok"], (cr_ends_line, cut)

    @BOTH
    def test_a_long_line_is_not_held_past_the_limit(self, cr_ends_line: bool) -> None:
        counts = Counts()
        splitter = LineSplitter(counts, cr_ends_line=cr_ends_line, max_line_bytes=5)
        for _ in range(10):
            assert list(splitter.feed(b"xxx")) == []
            assert splitter.held_size <= 6
        assert counts.oversized_lines == 1
        assert list(splitter.feed(b"xx\nok\n")) == ["ok"]
        assert splitter.take_bad_lines() == (0, 1)
        assert counts.oversized_lines == 1

    def test_a_dropped_line_ended_by_a_cr_at_the_end_of_a_read(self) -> None:
        for rest in (b"\nok\n", b"ok\n"):
            got = lines([b"1234567", b"89\r", rest], cr_ends_line=True, max_line_bytes=5)
            assert got == ["ok"], rest

    @BOTH
    def test_an_unterminated_last_line_over_the_limit(self, cr_ends_line: bool) -> None:
        got, counts = rows([b"ok\n123456"], cr_ends_line=cr_ends_line, max_line_bytes=5)
        assert got == [("ok", 0, 0), ("", 0, 1)]
        assert counts.oversized_lines == 1

    @BOTH
    def test_a_dropped_line_counts_where_it_is_at_every_cut(self, cr_ends_line: bool) -> None:
        body = b"a\n" + b"x" * 20 + b"\nb\n"
        for first in range(len(body) + 1):
            for second in range(first, len(body) + 1):
                chunks = [body[:first], body[first:second], body[second:]]
                got, counts = rows(chunks, cr_ends_line=cr_ends_line, max_line_bytes=10)
                assert got == [("a", 0, 0), ("b", 0, 1), ("", 0, 0)], (first, second)
                assert counts.oversized_lines == 1

    def test_the_default_limit(self) -> None:
        assert MAX_LINE_BYTES == 16 * 1024 * 1024


class TestUTF8:
    @BOTH
    def test_a_character_split_across_reads_is_whole(self, cr_ends_line: bool) -> None:
        body = "известни 👋\n".encode()
        for cut in range(len(body) + 1):
            got, counts = rows([body[:cut], body[cut:]], cr_ends_line=cr_ends_line)
            assert got == [("известни 👋", 0, 0), ("", 0, 0)], cut
            assert counts.invalid_utf8_lines == 0

    @BOTH
    def test_bad_bytes_are_replaced_and_counted_on_their_line(self, cr_ends_line: bool) -> None:
        got, counts = rows([b"ok\na\xffb\nok\n\xc3\n"], cr_ends_line=cr_ends_line)
        assert got == [
            ("ok", 0, 0),
            ("a\ufffdb", 1, 0),
            ("ok", 0, 0),
            ("\ufffd", 1, 0),
            ("", 0, 0),
        ]
        assert counts.invalid_utf8_lines == 2

    @BOTH
    def test_a_bad_unterminated_last_line(self, cr_ends_line: bool) -> None:
        got, counts = rows([b"ok\n\xc3"], cr_ends_line=cr_ends_line)
        assert got == [("ok", 0, 0), ("\ufffd", 1, 0)]
        assert counts.invalid_utf8_lines == 1

    def test_bad_lines_not_taken_add_up(self) -> None:
        splitter = LineSplitter(Counts(), cr_ends_line=True, max_line_bytes=3)
        assert list(splitter.feed(b"\xff\n12345\n\xfe\n")) == ["\ufffd", "\ufffd"]
        assert splitter.take_bad_lines() == (2, 1)
        assert splitter.take_bad_lines() == (0, 0)


class TestEndOfStream:
    @BOTH
    def test_the_last_line_comes_at_flush(self, cr_ends_line: bool) -> None:
        splitter = LineSplitter(Counts(), cr_ends_line=cr_ends_line, max_line_bytes=100)
        assert list(splitter.feed(b"a\nb")) == ["a"]
        assert list(splitter.feed(b"c")) == []
        assert splitter.held_size == 2
        assert splitter.flush() == "bc"
        assert splitter.held_size == 0
        assert splitter.flush() == ""

    @BOTH
    def test_nothing_held_is_an_empty_flush(self, cr_ends_line: bool) -> None:
        splitter = LineSplitter(Counts(), cr_ends_line=cr_ends_line, max_line_bytes=100)
        assert splitter.flush() == ""
        assert list(splitter.feed(b"a\n")) == ["a"]
        assert splitter.flush() == ""

    @BOTH
    def test_empty_reads(self, cr_ends_line: bool) -> None:
        assert lines([b"", b"a", b"", b"\n", b""], cr_ends_line=cr_ends_line) == ["a"]


class TestFragmentation:
    @BOTH
    def test_split_at_every_byte_boundary(self, cr_ends_line: bool) -> None:
        expected = rows([STREAM], cr_ends_line=cr_ends_line)
        assert [text for text, _, _ in expected[0]] == STREAM_LINES[cr_ends_line]
        for cut in range(len(STREAM) + 1):
            got = rows([STREAM[:cut], STREAM[cut:]], cr_ends_line=cr_ends_line)
            assert got[0] == expected[0], cut

    @BOTH
    def test_split_at_every_two_byte_boundaries(self, cr_ends_line: bool) -> None:
        body = BOM + STREAM
        expected = rows([body], cr_ends_line=cr_ends_line)[0]
        for first in range(len(body) + 1):
            for second in range(first, len(body) + 1):
                chunks = [body[:first], body[first:second], body[second:]]
                assert rows(chunks, cr_ends_line=cr_ends_line)[0] == expected, (first, second)

    @BOTH
    def test_one_byte_reads(self, cr_ends_line: bool) -> None:
        pieces = [STREAM[i : i + 1] for i in range(len(STREAM))]
        assert lines(pieces, cr_ends_line=cr_ends_line) == STREAM_LINES[cr_ends_line]


# Pieces that meet every rule: line ends of each kind, a BOM and its halves, bad bytes, a
# multi-byte character and U+2028, and runs long enough to go over a small limit.
_PIECES = st.sampled_from(
    [b"a", b"bc", b"\r", b"\n", b"\r\n", BOM, b"\xef", b"\xbb", b"\xff", "é€".encode()]
    + ["\u2028".encode(), b" ", b"x" * 7, b"y" * 16]
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    return b"".join(draw(st.lists(_PIECES, max_size=40)))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    body=bodies(),
    cr_ends_line=st.booleans(),
    max_line_bytes=st.one_of(st.integers(min_value=1, max_value=24), st.just(MAX_LINE_BYTES)),
    data=st.data(),
)
def test_any_fragmentation_gives_what_the_whole_body_gives(
    body: bytes, cr_ends_line: bool, max_line_bytes: int, data: st.DataObject
) -> None:
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(body)), max_size=12))
    expected, expected_counts = reference(
        body, cr_ends_line=cr_ends_line, max_line_bytes=max_line_bytes
    )
    got, counts = rows(
        cuts_to_chunks(body, cuts), cr_ends_line=cr_ends_line, max_line_bytes=max_line_bytes
    )
    assert got == expected
    assert vars(counts) == vars(expected_counts)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(body=st.binary(max_size=200), cr_ends_line=st.booleans(), data=st.data())
def test_any_bytes_in_one_byte_reads_or_any_cuts(
    body: bytes, cr_ends_line: bool, data: st.DataObject
) -> None:
    expected = reference(body, cr_ends_line=cr_ends_line, max_line_bytes=32)
    one_by_one = [body[i : i + 1] for i in range(len(body))]
    got = rows(one_by_one, cr_ends_line=cr_ends_line, max_line_bytes=32)
    assert (got[0], vars(got[1])) == (expected[0], vars(expected[1]))
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(body)), max_size=6))
    got = rows(cuts_to_chunks(body, cuts), cr_ends_line=cr_ends_line, max_line_bytes=32)
    assert (got[0], vars(got[1])) == (expected[0], vars(expected[1]))
