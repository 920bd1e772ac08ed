"""SSEDecoder against the WHATWG server-sent events rules, in every fragmentation."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatterm.decode.sse import SSEDecoder, SSEEvent


def decode(chunks: Iterable[bytes]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


def data_of(chunks: Iterable[bytes]) -> list[str]:
    return [event.data for event in decode(chunks)]


# A realistic stream: CRLF and LF endings, a comment, an event type, an id, multi-byte UTF-8
# (Cyrillic, an emoji, a CJK character), U+2028 inside JSON, multi-line data, [DONE].
REALISTIC = (
    b": OPENROUTER PROCESSING\r\n"
    b"\r\n" + 'data: {"content":"известни 👋"}\r\n\r\n'.encode() + b"event: delta\r\n"
    b"id: 7\r\n"
    + 'data: {"content":"a\u2028b\u2029c\u0085d 漢"}\r\n\r\n'.encode()
    + b": keep-alive\n\n"
    b"data: {\n"
    b'data: "k": 1}\n'
    b"\n"
    b"data: [DONE]\n\n"
)
REALISTIC_EVENTS = [
    SSEEvent('{"content":"известни 👋"}'),
    SSEEvent('{"content":"a\u2028b\u2029c\u0085d 漢"}', "delta", "7"),
    SSEEvent('{\n"k": 1}', "message", "7"),
    SSEEvent("[DONE]", "message", "7"),
]


class TestLineEndings:
    def test_lf(self) -> None:
        assert data_of([b"data: 1\n\ndata: 2\n\n"]) == ["1", "2"]

    def test_cr_only(self) -> None:
        events = decode([b"event: a\rdata: 1\r\rdata: 2\r\r"])
        assert events == [SSEEvent("1", "a"), SSEEvent("2", "message")]

    def test_crlf(self) -> None:
        assert data_of([b"data: 1\r\n\r\ndata: 2\r\n\r\n"]) == ["1", "2"]

    def test_mixed_endings(self) -> None:
        assert data_of([b"data: a\r\ndata: b\rdata: c\n\r\n"]) == ["a\nb\nc"]

    def test_crlf_split_across_reads_is_not_two_line_ends(self) -> None:
        # "data: 1\r" · "\n\r" · "\ndata: 2\r\n\r\n" is exactly two events.
        assert data_of([b"data: 1\r", b"\n\r", b"\ndata: 2\r\n\r\n"]) == ["1", "2"]

    def test_crlf_split_inside_an_event_does_not_dispatch_early(self) -> None:
        assert data_of([b"data: a\r", b"\ndata: b\r\n\r\n"]) == ["a\nb"]

    def test_cr_at_end_of_read_then_lf_alone(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: x\r") == []
        assert decoder.feed(b"\n") == []  # the other half of CRLF, not a blank line
        assert decoder.feed(b"\r\n") == [SSEEvent("x")]

    def test_cr_then_cr_is_a_blank_line(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: x\r") == []
        assert decoder.feed(b"\r") == [SSEEvent("x")]

    def test_line_separators_inside_json_survive(self) -> None:
        body = 'data: {"content":"a\u2028b\u2029c\u0085d"}\n\n'.encode()
        assert data_of([body]) == ['{"content":"a\u2028b\u2029c\u0085d"}']

    def test_other_splitlines_characters_are_not_line_ends(self) -> None:
        body = b"data: a\x0bb\x0cc\x1cd\x1de\x1ef\n\n"
        assert data_of([body]) == ["a\x0bb\x0cc\x1cd\x1de\x1ef"]


class TestBOM:
    def test_leading_bom_dropped(self) -> None:
        assert data_of([b"\xef\xbb\xbfdata: 1\n\n"]) == ["1"]

    @pytest.mark.parametrize("cut", [1, 2, 3])
    def test_bom_split_across_reads(self, cut: int) -> None:
        body = b"\xef\xbb\xbfdata: 1\n\n"
        assert data_of([body[:cut], body[cut:]]) == ["1"]

    def test_bom_fed_one_byte_at_a_time(self) -> None:
        body = b"\xef\xbb\xbfdata: 1\n\n"
        assert data_of(body[i : i + 1] for i in range(len(body))) == ["1"]

    def test_only_the_first_bom_is_stripped(self) -> None:
        decoder = SSEDecoder()
        events = decoder.feed(b"\xef\xbb\xbf\xef\xbb\xbfdata: 1\n\n")
        # The second BOM is part of the field name "\ufeffdata", which is not "data".
        assert events == []
        assert decoder.ignored_lines == ["\ufeffdata: 1"]

    def test_bom_later_in_stream_is_kept(self) -> None:
        decoder = SSEDecoder()
        events = decoder.feed(b"data: 1\n\n\xef\xbb\xbfdata: 2\n\n")
        assert events == [SSEEvent("1")]
        assert decoder.ignored_lines == ["\ufeffdata: 2"]

    def test_bom_inside_data_value_is_kept(self) -> None:
        assert data_of([b"data: \xef\xbb\xbfx\n\n"]) == ["\ufeffx"]

    def test_bom_prefix_that_is_really_another_character(self) -> None:
        # U+FF01 (full-width !) starts with the same byte as the BOM.
        body = "！: comment? no, a field\ndata: z\n\n".encode()
        decoder = SSEDecoder()
        events = [*decoder.feed(body[:1]), *decoder.feed(body[1:]), *decoder.flush()]
        assert events == [SSEEvent("z")]
        assert decoder.ignored_lines == ["！: comment? no, a field"]


class TestFields:
    def test_comments_ignored(self) -> None:
        decoder = SSEDecoder()
        events = decoder.feed(b": keep-alive\n\ndata: z\n: inside\n\n")
        assert events == [SSEEvent("z")]
        assert decoder.ignored_lines == []

    def test_multi_line_data_joined_with_newline(self) -> None:
        assert data_of([b'data: {\ndata: "a":1}\n\n']) == ['{\n"a":1}']

    def test_space_after_colon_is_optional_and_only_one_is_removed(self) -> None:
        assert data_of([b"data: a\ndata:b\ndata:  c\n\n"]) == ["a\nb\n c"]

    def test_data_with_and_without_space_identical(self) -> None:
        assert data_of([b'data:{"a":1}\n\n']) == data_of([b'data: {"a":1}\n\n'])

    def test_empty_data_line_dispatches_empty_string(self) -> None:
        assert decode([b"data:\n\n"]) == [SSEEvent("")]

    def test_field_name_without_colon(self) -> None:
        assert data_of([b"data\n\n"]) == [""]
        assert data_of([b"data: a\ndata\ndata: b\n\n"]) == ["a\n\nb"]

    def test_empty_data_lines_join(self) -> None:
        assert data_of([b"data:\ndata:\n\n"]) == ["\n"]

    def test_event_type(self) -> None:
        events = decode([b"event: error\ndata: {}\n\ndata: x\n\n"])
        assert events == [SSEEvent("{}", "error"), SSEEvent("x", "message")]

    def test_empty_event_type_is_message(self) -> None:
        assert decode([b"event:\ndata: x\n\n"]) == [SSEEvent("x", "message")]

    def test_field_names_are_case_sensitive(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"Data: x\nDATA: y\n\n") == []
        assert decoder.ignored_lines == ["Data: x", "DATA: y"]

    def test_value_keeps_further_colons(self) -> None:
        assert data_of([b'data: {"url":"http://x"}\n\n']) == ['{"url":"http://x"}']

    @pytest.mark.parametrize(
        "body", [b"id: 5\n\n", b"event: ping\n\n", b"retry: 10\n\n", b"\n\n\n", b"id\n\n"]
    )
    def test_event_without_data_is_not_dispatched(self, body: bytes) -> None:
        assert decode([body]) == []

    def test_event_type_of_undispatched_event_is_reset(self) -> None:
        assert decode([b"event: ping\n\ndata: x\n\n"]) == [SSEEvent("x", "message")]

    def test_id_is_kept_for_later_events(self) -> None:
        events = decode([b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"])
        assert [(e.data, e.id) for e in events] == [("a", "1"), ("b", "1"), ("c", "")]

    def test_id_without_data_still_sets_last_id(self) -> None:
        events = decode([b"id: 5\n\ndata: a\n\n"])
        assert events == [SSEEvent("a", "message", "5")]

    def test_id_with_nul_is_ignored(self) -> None:
        events = decode([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"])
        assert [e.id for e in events] == ["1", "1"]

    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            (b"retry: 3000", 3000),
            (b"retry:250", 250),
            (b"retry: 12a", None),
            (b"retry: -5", None),
            (b"retry: ", None),
            (b"retry: 1.5", None),
            ("retry: ²".encode(), None),
            ("retry: ١٢".encode(), None),  # Arabic-Indic digits are not ASCII digits
        ],
    )
    def test_retry(self, line: bytes, expected: int | None) -> None:
        decoder = SSEDecoder()
        decoder.feed(line + b"\n\n")
        assert decoder.reconnection_ms == expected

    def test_invalid_retry_keeps_previous_value(self) -> None:
        decoder = SSEDecoder()
        decoder.feed(b"retry: 100\n\nretry: x\n\n")
        assert decoder.reconnection_ms == 100

    def test_non_sse_lines_are_kept_in_ignored_lines(self) -> None:
        # Gemini appends a pretty-printed JSON error with no "data:" prefix.
        body = b'data: {"a":1}\n\n{\n  "error": {\n    "code": 503\n  }\n}\n'
        decoder = SSEDecoder()
        events = [*decoder.feed(body), *decoder.flush()]
        assert events == [SSEEvent('{"a":1}')]
        assert decoder.ignored_lines == ["{", '  "error": {', '    "code": 503', "  }", "}"]

    def test_unterminated_last_line_reaches_ignored_lines(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b'data: x\n\n{"error": "boom"}') == [SSEEvent("x")]
        assert decoder.flush() == []
        assert decoder.ignored_lines == ['{"error": "boom"}']

    def test_ignored_lines_are_bounded(self) -> None:
        decoder = SSEDecoder()
        line = b"x" * 1000 + b"\n"
        decoder.feed(line * 200)
        total = sum(len(x) for x in decoder.ignored_lines)
        assert 64 * 1024 <= total < 64 * 1024 + 1000


class TestEndOfStream:
    def test_trailing_event_without_blank_line_is_dropped(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: 1\n\ndata: tail\n") == [SSEEvent("1")]
        assert decoder.flush() == []

    def test_trailing_unterminated_line_is_dropped(self) -> None:
        assert data_of([b"data: 1\n\ndata: tail"]) == ["1"]

    def test_flush_on_empty_decoder(self) -> None:
        assert SSEDecoder().flush() == []

    def test_empty_feed(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"") == []
        assert decoder.feed(b"data: a\n") == []
        assert decoder.feed(b"") == []
        assert decoder.feed(b"\n") == [SSEEvent("a")]


class TestUTF8:
    def test_multi_byte_character_split_across_reads(self) -> None:
        body = 'data: {"content":"известни"}\n\n'.encode()
        # Cut inside the two-byte "и" of "известни" (S-OAI test_multi_byte_character...).
        cut = body.index("и".encode()) + 1
        assert data_of([body[:cut], body[cut:]]) == ['{"content":"известни"}']

    def test_invalid_utf8_is_counted_and_replaced(self) -> None:
        decoder = SSEDecoder()
        events = decoder.feed(b"data: a\xffb\n\ndata: ok\n\ndata: \xc3\n\n")
        assert events == [SSEEvent("a\ufffdb"), SSEEvent("ok"), SSEEvent("\ufffd")]
        assert decoder.invalid_utf8_lines == 2

    def test_valid_stream_counts_nothing(self) -> None:
        decoder = SSEDecoder()
        decoder.feed(REALISTIC)
        assert decoder.invalid_utf8_lines == 0


class TestFragmentation:
    def test_realistic_stream_whole(self) -> None:
        assert decode([REALISTIC]) == REALISTIC_EVENTS

    def test_realistic_stream_split_at_every_byte_boundary(self) -> None:
        for cut in range(len(REALISTIC) + 1):
            chunks = [REALISTIC[:cut], REALISTIC[cut:]]
            assert decode(chunks) == REALISTIC_EVENTS, f"split at byte {cut}"

    def test_realistic_stream_in_one_byte_pieces(self) -> None:
        pieces = [REALISTIC[i : i + 1] for i in range(len(REALISTIC))]
        assert decode(pieces) == REALISTIC_EVENTS

    def test_realistic_stream_with_bom_split_at_every_two_boundaries(self) -> None:
        body = b"\xef\xbb\xbf" + REALISTIC[:80]
        expected = decode([body])
        assert expected == REALISTIC_EVENTS[:1]
        for first in range(len(body) + 1):
            for second in range(first, len(body) + 1):
                chunks = [body[:first], body[first:second], body[second:]]
                assert decode(chunks) == expected, (first, second)

    def test_events_come_out_as_soon_as_their_blank_line_arrives(self) -> None:
        decoder = SSEDecoder()
        seen: list[int] = []
        for i in range(len(REALISTIC)):
            if decoder.feed(REALISTIC[i : i + 1]):
                seen.append(i)
        # Each event is dispatched by the last byte of its blank line (CRLF: the CR suffices).
        assert len(seen) == len(REALISTIC_EVENTS)
        assert REALISTIC[seen[-1]] == ord("\n")
        assert seen[-1] == len(REALISTIC) - 1


def _cuts_to_chunks(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted(set(cuts))
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


_FIELD_TEXT = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\r\n",
    ),
    max_size=12,
)
_LINE = st.one_of(
    _FIELD_TEXT.map(lambda v: "data: " + v),
    _FIELD_TEXT.map(lambda v: "data:" + v),
    _FIELD_TEXT.map(lambda v: "event: " + v),
    _FIELD_TEXT.map(lambda v: ": " + v),
    _FIELD_TEXT.map(lambda v: "id: " + v),
    st.just("retry: 42"),
    st.just(""),
)
_ENDING = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINE, _ENDING), max_size=12))
    bom = draw(st.booleans())
    body = "".join(line + ending for line, ending in lines) + "\n\n"
    return (b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8")


@settings(max_examples=500, deadline=None, derandomize=True)
@given(body=sse_streams(), data=st.data())
def test_any_fragmentation_gives_identical_events(body: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(body)), max_size=10))
    whole = SSEDecoder()
    expected = [*whole.feed(body), *whole.flush()]
    pieces = SSEDecoder()
    got: list[SSEEvent] = []
    for chunk in _cuts_to_chunks(body, cuts):
        got.extend(pieces.feed(chunk))
    got.extend(pieces.flush())
    assert got == expected
    assert pieces.ignored_lines == whole.ignored_lines
    assert pieces.reconnection_ms == whole.reconnection_ms
    assert pieces.invalid_utf8_lines == whole.invalid_utf8_lines == 0


@settings(max_examples=100, deadline=None, derandomize=True)
@given(values=st.lists(_FIELD_TEXT, min_size=1, max_size=5))
def test_data_values_round_trip(values: list[str]) -> None:
    body = "".join(f"data: {v}\n" for v in values) + "\n"
    assert data_of([body.encode()]) == ["\n".join(values)]
