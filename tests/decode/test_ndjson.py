"""NDJSONDecoder: whole lines out of bytes in any fragmentation (Ollama's native API)."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatterm.decode import ndjson as ndjson_module
from chatterm.decode.ndjson import NDJSONDecoder, NDJSONLine


def decode(chunks: Iterable[bytes]) -> list[str]:
    decoder = NDJSONDecoder()
    lines: list[str] = []
    for chunk in chunks:
        lines.extend(decoder.feed(chunk))
    lines.extend(decoder.flush())
    return lines


STREAM = (
    '{"message":{"role":"assistant","thinking":"известни 🤔"},"done":false}\r\n'
    "\n"
    '{"message":{"content":"a\u2028b\u2029c\u0085d"},"done":false}\n'
    "   \n"
    '{"message":{"content":""},"done":true,"eval_count":7}'
).encode()
STREAM_LINES = [
    '{"message":{"role":"assistant","thinking":"известни 🤔"},"done":false}',
    '{"message":{"content":"a\u2028b\u2029c\u0085d"},"done":false}',
    '{"message":{"content":""},"done":true,"eval_count":7}',
]


def test_whole_stream() -> None:
    assert decode([STREAM]) == STREAM_LINES
    assert json.loads(STREAM_LINES[1])["message"]["content"] == "a\u2028b\u2029c\u0085d"


def test_split_at_every_byte_boundary() -> None:
    for cut in range(len(STREAM) + 1):
        assert decode([STREAM[:cut], STREAM[cut:]]) == STREAM_LINES, f"split at byte {cut}"


def test_one_byte_pieces() -> None:
    assert decode(STREAM[i : i + 1] for i in range(len(STREAM))) == STREAM_LINES


def test_lines_come_out_when_their_newline_arrives() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":') == []
    assert decoder.feed(b"1}") == []
    assert decoder.feed(b'\n{"b"') == ['{"a":1}']
    assert decoder.feed(b":2}\n") == ['{"b":2}']
    assert decoder.flush() == []


def test_crlf_endings() -> None:
    assert decode([b'{"a":1}\r\n{"b":2}\r\n']) == ['{"a":1}', '{"b":2}']


def test_cr_split_from_its_lf() -> None:
    assert decode([b'{"a":1}\r', b'\n{"b":2}\r', b"\n"]) == ['{"a":1}', '{"b":2}']


def test_lone_cr_is_not_a_line_end() -> None:
    # NDJSON ends lines at LF only; a CR inside a line stays (JSON would reject it anyway).
    assert decode([b'{"a":1}\r{"b":2}\n']) == ['{"a":1}\r{"b":2}']


def test_blank_and_whitespace_lines_skipped() -> None:
    assert decode([b'\n\n{"a":1}\n \t \n\r\n\n{"b":2}\n\n']) == ['{"a":1}', '{"b":2}']


def test_last_line_without_newline_returned_at_flush() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":1}\n{"done":true}') == ['{"a":1}']
    assert decoder.flush() == ['{"done":true}']
    assert decoder.flush() == []


def test_whitespace_tail_at_flush_is_nothing() -> None:
    decoder = NDJSONDecoder()
    decoder.feed(b'{"a":1}\n  ')
    assert decoder.flush() == []


def test_empty_feeds() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b"") == []
    assert decoder.flush() == []


def test_unicode_line_separators_survive() -> None:
    body = '{"content":"x\u2028y\u2029z\u0085w\x0bv\x0cu"}\n'.encode()
    assert decode([body]) == ['{"content":"x\u2028y\u2029z\u0085w\x0bv\x0cu"}']


def test_multi_byte_split() -> None:
    body = '{"thinking":"известни"}\n'.encode()
    cut = body.index("и".encode()) + 1
    assert decode([body[:cut], body[cut:]]) == ['{"thinking":"известни"}']


def test_invalid_utf8_counted_and_replaced() -> None:
    decoder = NDJSONDecoder()
    assert decoder.feed(b'{"a":"\xff"}\n{"b":1}\n') == ['{"a":"\ufffd"}', '{"b":1}']
    assert decoder.invalid_utf8_lines == 1
    assert decoder.feed(b'{"c":"\xc3"}') == []
    assert decoder.flush() == ['{"c":"\ufffd"}']
    assert decoder.invalid_utf8_lines == 2


def test_lines_are_not_parsed() -> None:
    # The decoder only splits; a line that is not JSON is the translator's business.
    assert decode([b"not json\n{\n"]) == ["not json", "{"]


_VALUES = st.lists(
    st.dictionaries(
        st.text(max_size=5),
        st.one_of(st.text(max_size=10), st.integers(), st.booleans(), st.none()),
        max_size=3,
    ),
    max_size=6,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(values=_VALUES, crlf=st.booleans(), final_newline=st.booleans(), data=st.data())
def test_any_fragmentation_gives_identical_lines(
    values: list[dict[str, object]], crlf: bool, final_newline: bool, data: st.DataObject
) -> None:
    ending = "\r\n" if crlf else "\n"
    lines = [json.dumps(v, ensure_ascii=False) for v in values]
    text = ending.join(lines) + (ending if final_newline and lines else "")
    body = text.encode("utf-8")
    cuts = sorted(
        set(data.draw(st.lists(st.integers(min_value=0, max_value=len(body)), max_size=10)))
    )
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    got = decode(chunks)
    assert got == lines
    assert [json.loads(line) for line in got] == values


def test_leading_bom_is_dropped_even_split_across_reads() -> None:
    for cut in range(0, 5):
        data = b'\xef\xbb\xbf{"a":1}\n'
        decoder = NDJSONDecoder()
        lines = decoder.feed(data[:cut]) + decoder.feed(data[cut:]) + decoder.flush()
        assert lines == ['{"a":1}'], cut


def test_an_overlong_line_counts_where_it_is_whatever_the_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The dropped line is between the two lines: its count goes with the second, also when
    # one read holds the first line and enough of the long one to overflow the limit.
    monkeypatch.setattr(ndjson_module, "MAX_LINE_BYTES", 10)
    body = b'{"a":1}\n' + b"x" * 20 + b'\n{"b":2}\n'
    expected = [NDJSONLine('{"a":1}'), NDJSONLine('{"b":2}', oversized=1)]
    for cut in range(len(body) + 1):
        decoder = NDJSONDecoder()
        lines = [*decoder.feed_lines(body[:cut]), *decoder.feed_lines(body[cut:])]
        assert [*lines, *decoder.flush_lines()] == expected, cut
        assert decoder.oversized_lines == 1
