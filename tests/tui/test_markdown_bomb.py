"""Hostile Markdown (issue 14, item 6): deep nesting is shown as plain text, and the app
keeps answering Esc and keys while it streams in."""

from __future__ import annotations

import httpx
from textual.app import App
from tui_helpers import (
    SIZE,
    HangingStream,
    chat,
    chunk,
    finish_reply,
    hanging_response,
    rendered,
    routed_factory,
    send,
    type_text,
)

from chatterm.config import Settings
from chatterm.tui.app import ChatApp
from chatterm.tui.markdown.hostile import (
    MAX_INDENT,
    MAX_MARKDOWN_CHARS,
    MAX_NESTING,
    shown_as_plain_text,
    too_deep,
)
from chatterm.tui.markdown.look import look_from_variables
from chatterm.tui.segments import split_all, split_segments
from chatterm.tui.widgets.markdown_lines import plain_lines, render_markdown
from tests.waiting import wait_for

OPENAI_ENV = {"OPENAI_API_KEY": "sk-test"}


def nested_list(depth: int) -> str:
    return "".join("  " * level + "- item\n" for level in range(depth))


def nested_quote(depth: int) -> str:
    return "".join(">" * (level + 1) + " quoted\n" for level in range(depth))


def test_nesting_up_to_the_cap_is_markdown_and_past_it_plain_text() -> None:
    assert not too_deep("> " * MAX_NESTING + "text")
    assert too_deep("> " * (MAX_NESTING + 1) + "text")
    assert too_deep(">" * (MAX_NESTING + 1))
    assert not too_deep("- " * MAX_NESTING + "text")
    assert too_deep("- " * (MAX_NESTING + 1) + "text")
    assert too_deep("1. " * (MAX_NESTING + 1) + "text")
    assert not too_deep(" " * MAX_INDENT + "- item")
    assert too_deep(" " * (MAX_INDENT + 1) + "- item")
    assert too_deep("\t" * (MAX_INDENT // 4 + 1) + "x")
    # Runs of the same characters that open nothing are not nesting.
    assert not too_deep("-" * 500)
    assert not too_deep("*" * 500 + "x" + "*" * 500)
    assert not too_deep("[" * 500 + "x" + "]" * 500)


def test_a_segment_is_plain_text_if_any_line_is_too_deep_or_it_is_too_big() -> None:
    assert not shown_as_plain_text(nested_list(MAX_NESTING))
    assert shown_as_plain_text(nested_list(MAX_INDENT // 2 + 2))
    assert shown_as_plain_text(nested_quote(MAX_NESTING + 1))
    assert not shown_as_plain_text("word " * (MAX_MARKDOWN_CHARS // 5))
    assert shown_as_plain_text("word " * (MAX_MARKDOWN_CHARS // 5 + 1))


def test_nesting_markdown_it_would_cut_short_is_plain_text_with_every_item() -> None:
    app = App[None]()  # not run: its console renders, as the answer pane's does
    key = (200, look_from_variables({}, dark=True))
    # Each list level takes two of markdown-it's twenty, each quote one: deeper than
    # that, it drops the text (Rich showed nine items of a ten-level list).
    for source, items in [(nested_list(9), 9), (nested_quote(19), 19)]:
        lines = render_markdown(app, source, key)
        assert lines != plain_lines(source, 200)
        texts = ["".join(segment.text for segment in line) for line in lines]
        assert sum("item" in text or "quoted" in text for text in texts) == items
    for source in (nested_list(10), nested_quote(20)):
        assert render_markdown(app, source, key) == plain_lines(source, 200)


def test_a_nesting_bomb_is_cut_into_small_plain_segments() -> None:
    bomb = nested_list(1100)
    segments = split_all(bomb)
    assert "".join(segments) == bomb
    plain = [segment for segment in segments if shown_as_plain_text(segment)]
    # The first holds the lines up to the first one too deep; the rest are cut at once.
    assert plain[0] == segments[0] and segments[0].count("\n") == MAX_INDENT // 2 + 2
    assert len(plain) > 1 and max(segment.count("\n") for segment in plain[1:]) <= 20
    # Incremental splitting gives the same segments.
    finished, tail = split_segments(bomb[: len(bomb) // 2])
    rest = split_all(tail + bomb[len(bomb) // 2 :])
    assert finished + rest == segments


async def test_escape_and_keys_work_while_a_nesting_bomb_streams_in() -> None:
    bomb_lines = nested_list(1100).splitlines(keepends=True)
    pieces = ["".join(bomb_lines[i : i + 50]) for i in range(0, len(bomb_lines), 50)]
    streams: list[HangingStream] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        first = chunk({"role": "assistant", "content": ""})
        streams.append(HangingStream([first] + [chunk({"content": p}) for p in pieces]))
        return hanging_response(streams[-1])

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        (turn,) = chat(app).turns
        await wait_for(pilot, lambda: turn.answer.text.endswith("  " * 1099 + "- item\n"))
        await pilot.pause()
        sources = turn.answer.sources
        assert "".join(sources) == turn.answer.text
        assert any(shown_as_plain_text(source) for source in sources)
        # Drawn as the text it is: the deepest item, its indentation wrapped, not a list.
        assert "- item" in rendered(turn.answer) and "•" not in rendered(turn.answer)
        await pilot.press("escape")
        await finish_reply(pilot)
        reply = turn.reply
        assert reply is not None and reply.finish_reason == "cancelled"
        (stream,) = streams
        assert stream.closed
        await type_text(pilot, "still here")
        await wait_for(pilot, lambda: chat(app).prompt.text == "still here")
