"""A comparison's column on its own: the answer's lines without a widget
(:class:`MarkdownLines`) and the line-based :class:`ColumnView`."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from tui_helpers import rendered

from chatterm import events
from chatterm.events import Usage
from chatterm.reply.accumulate import Reply
from chatterm.reply.metrics import Metrics
from chatterm.tui.markdown.look import markdown_look
from chatterm.tui.widgets.answer_pane import AnswerPane
from chatterm.tui.widgets.compare_column import ColumnView
from chatterm.tui.widgets.markdown_lines import MarkdownLines, render_markdown
from tests.waiting import wait_for

ANSWER = (
    "# Title\n\n"
    + "Some words in a paragraph, long enough to wrap in a narrow column.\n\n" * 12
    + "- one\n- two\n- three\n\n"
    + "```python\n"
    + "".join(f"print({n})\n" for n in range(30))
    + "```\n\n"
    + "| a | b |\n|---|---|\n| 1 | 2 |\n\nThe end."
)


def texts(lines: list[list[Segment]]) -> list[str]:
    return ["".join(segment.text for segment in line).rstrip() for line in lines]


def all_lines(answer: MarkdownLines, app: App[Any], width: int) -> list[str]:
    """Every line, drawn again (as the column lays out again) while drawing moved them."""
    while True:
        count = answer.line_count(app, (width, markdown_look(app)))
        lines = texts([answer.line(app, y) or [] for y in range(count)])
        if not answer.height_changed:
            return lines
        answer.height_changed = False


def pane_lines(pane: AnswerPane) -> list[str]:
    """The lines the pane draws for its answer (not the room below them)."""
    count = pane.lines.line_count(pane.app, (pane.size.width, markdown_look(pane.app)))
    return [pane.render_line(y).text.rstrip() for y in range(count)]


class PaneApp(App[None]):
    CSS = "AnswerPane { width: 40; }"

    def compose(self) -> ComposeResult:
        yield AnswerPane()


async def test_the_answer_pane_draws_what_rich_renders_from_the_whole_answer() -> None:
    """Streamed in awkward pieces into segments, the pane draws, once finished, what
    Rich renders from the whole answer at once (and a blank line); frozen segments are
    rendered once, and kept from the stream."""
    app = PaneApp()
    async with app.run_test(size=(60, 50)) as pilot:
        pane = app.query_one(AnswerPane)
        for start in range(0, len(ANSWER), 37):
            pane.append(ANSWER[start : start + 37])
            await pilot.pause(0)
        await pilot.pause()
        assert len(pane.lines.frozen) >= 2
        streamed = pane_lines(pane)
        first = pane.lines.line(app, 0)
        pane.finish()
        await pilot.pause()
        whole = texts(render_markdown(app, ANSWER, (40, markdown_look(app))))
        assert pane.text == ANSWER
        assert pane_lines(pane) == [*whole, ""]  # a blank line ends a finished answer
        assert streamed == whole[: len(streamed)]
        assert pane.lines.line(app, 0) is first  # kept from the stream


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(ANSWER) - 1), max_size=12))
def test_markdown_lines_come_out_the_same_however_the_text_is_cut(cuts: list[int]) -> None:
    app = App[None]()
    pieces = [
        ANSWER[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(ANSWER)], strict=True)
    ]
    streamed, whole = MarkdownLines(), MarkdownLines()
    for piece in pieces:
        streamed.append(piece)
        streamed.line_count(app, (30, markdown_look(app)))  # drawn between pieces
    whole.append(ANSWER)
    assert all_lines(streamed, app, 30) == all_lines(whole, app, 30)
    streamed.finish()
    whole.finish()
    assert all_lines(streamed, app, 30) == all_lines(whole, app, 30)


def test_markdown_lines_render_again_for_a_new_width_when_drawn() -> None:
    app = App[None]()
    answer = MarkdownLines()
    answer.append(ANSWER)
    answer.finish()
    wide = all_lines(answer, app, 80)
    narrow_count = answer.line_count(app, (30, markdown_look(app)))
    assert narrow_count == len(wide)  # the old heights stand in until drawn
    for y in range(3):  # the title, then the first paragraph's first line
        answer.line(app, y)
    assert answer.height_changed  # the paragraph took more lines at 30 cells
    answer.height_changed = False
    fresh = MarkdownLines()
    fresh.append(ANSWER)
    fresh.finish()
    assert all_lines(answer, app, 30) == all_lines(fresh, app, 30)
    assert max(len(line) for line in all_lines(answer, app, 30)) <= 30


def test_markdown_lines_finish_with_other_text_and_reset() -> None:
    app = App[None]()
    answer = MarkdownLines()
    answer.append("partial")
    answer.finish("the whole answer")
    assert answer.sources == ["the whole answer"]
    assert all_lines(answer, app, 40) == ["the whole answer", ""]
    answer.reset()
    assert answer.text == "" and answer.sources == []
    assert all_lines(answer, app, 40) == []


class ColumnApp(App[None]):
    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield ColumnView("the prompt", "openai:test\x1b[31m")


def reply(text: str, reasoning: str = "", error: bool = False) -> Reply:
    failure = events.StreamError("HTTP 401 from openai: invalid key", status=401)
    return Reply(
        model="openai:test",
        reasoning=reasoning,
        text=text,
        finish_reason="error" if error else "stop",
        usage=Usage(input_tokens=10, output_tokens=20),
        metrics=Metrics(ttft_ms=300.0, first_answer_ms=400.0, duration_ms=900.0),
        error=failure if error else None,
    )


async def test_a_column_streams_reasoning_answer_and_figures_then_its_stats() -> None:
    app = ColumnApp()
    async with app.run_test(size=(60, 30)) as pilot:
        column = app.query_one(ColumnView)
        column.event(events.ReasoningDelta("Thinking about\x1b[2J it."), 0.0)
        column.event(events.TextDelta("**Bold** answer"), 0.1)
        column.show_live(Content("● streaming · 1.0s · 3 tokens"))
        column.flush()
        await pilot.pause()
        shown = rendered(column)
        assert shown.splitlines()[0] == "openai:test␛[31m"  # the escape shown, not obeyed
        assert "▾ Reasoning" in shown and "Thinking about" in shown and "\x1b" not in shown
        assert "Bold answer" in shown and "**" not in shown
        assert shown.splitlines()[-1] == "● streaming · 1.0s · 3 tokens"
        column.finish(reply("**Bold** answer, whole.", "Thinking about it."))
        await pilot.pause()
        shown = rendered(column)
        assert "answer, whole." in shown and "● streaming" not in shown
        assert not column.streaming and "TTFT" in column.status.plain


async def test_the_reasoning_folds_by_a_click_on_its_title_and_the_answer_stays() -> None:
    app = ColumnApp()
    async with app.run_test(size=(60, 30)) as pilot:
        column = app.query_one(ColumnView)
        column.event(events.ReasoningDelta("a thought"), 0.0)
        column.event(events.TextDelta("the answer"), 0.0)
        column.flush()
        await pilot.pause()
        assert "a thought" in rendered(column)
        title = rendered(column).splitlines().index("▾ Reasoning")
        await pilot.click(ColumnView, offset=(3, title))
        await wait_for(pilot, lambda: column.reasoning_collapsed)
        shown = rendered(column)
        assert "▸ Reasoning" in shown and "a thought" not in shown and "the answer" in shown
        column.reasoning_collapsed = False
        await pilot.pause()
        assert "a thought" in rendered(column)


async def test_a_retry_notice_shows_until_the_first_token_and_an_error_ends_it() -> None:
    app = ColumnApp()
    async with app.run_test(size=(60, 30)) as pilot:
        column = app.query_one(ColumnView)
        column.event(events.Retrying(retry=1, max_retries=2, delay_s=3.0, reason="HTTP 429"), 0.0)
        column.flush()
        await pilot.pause()
        assert "retrying" in rendered(column)
        column.event(events.TextDelta("after the retry"), 0.0)
        column.flush()
        await pilot.pause()
        assert "retrying" not in rendered(column)
        column.finish(reply("after the retry", error=True))
        await pilot.pause()
        assert "401" in rendered(column) and column.has_class("-error")


async def test_an_answer_that_was_reasoning_moves_into_the_reasoning() -> None:
    app = ColumnApp()
    async with app.run_test(size=(60, 30)) as pilot:
        column = app.query_one(ColumnView)
        column.event(events.TextDelta("first thoughts"), 0.0)
        column.flush()
        column.event(events.AnswerWasReasoning(), 0.0)
        column.event(events.TextDelta("the real answer"), 0.0)
        column.flush()
        await pilot.pause()
        assert column.reasoning.text == "first thoughts"
        assert column.answer.text == "the real answer"


def test_a_growing_tail_reports_only_its_changed_lines() -> None:
    app = App[None]()
    answer = MarkdownLines()
    key = (30, markdown_look(app))
    answer.append("word " * 40)  # a paragraph of several lines, still growing
    answer.line_count(app, key)
    assert answer.take_changed_from() == 0
    lines = answer.line_count(app, key)
    answer.append("more ")
    assert answer.line_count(app, key) >= lines
    changed = answer.take_changed_from()
    assert changed is not None and changed >= lines - 2  # the last line or two
    assert answer.take_changed_from() is None  # nothing since
    frozen = answer.frozen_line_count
    answer.append("\n\nA new paragraph.\n\n" + "x\n\n" * 30 + "last")  # segments freeze
    answer.line_count(app, key)
    assert answer.frozen_line_count > frozen
    assert answer.take_changed_from() == frozen  # from where the tail was


class TwoColumnsApp(App[None]):
    def compose(self) -> ComposeResult:
        from chatterm.tui.widgets.compare import CompareView

        with VerticalScroll():
            yield CompareView("the prompt", ["openai:a", "openai:b"])


async def test_streaming_columns_share_a_room_and_repaint_without_a_layout() -> None:
    from chatterm.tui.widgets.compare import CompareView
    from chatterm.tui.widgets.compare_column import GROWTH_LINES

    app = TwoColumnsApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = app.query_one(CompareView)
        first, second = view.columns
        first.event(events.TextDelta("word " * 30), 0.0)
        second.event(events.TextDelta("short"), 0.0)
        view._on_frame()
        await pilot.pause()
        assert first.size.height == second.size.height == GROWTH_LINES  # one shared room
        layouts: list[bool] = []
        refresh = first.refresh

        def counting(*regions: Any, **options: Any) -> Any:
            layouts.append(bool(options.get("layout")))
            return refresh(*regions, **options)

        first.refresh = counting  # type: ignore[method-assign]
        first.event(events.TextDelta("more words "), 0.0)
        first.flush()
        assert layouts == [False]  # it fits: only its new lines are drawn again
        await pilot.pause()
        assert "more words" in rendered(first)
        first.event(events.TextDelta("line\n\n" * GROWTH_LINES), 0.0)
        first.flush()
        assert layouts[-1] is True  # outgrew the room: a layout, and a taller room
        await pilot.pause()
        height = first.size.height
        assert height == second.size.height and height > GROWTH_LINES
        assert height % GROWTH_LINES == 0
        first.finish(reply("word " * 30 + "more words " + "line\n\n" * GROWTH_LINES))
        second.finish(reply("short"))
        await pilot.pause()
        assert second.size.height < GROWTH_LINES  # ended: its own height


async def test_a_new_theme_renders_a_finished_column_in_its_look() -> None:
    app = ColumnApp()
    async with app.run_test(size=(60, 30)) as pilot:
        column = app.query_one(ColumnView)
        column.finish(reply("# Heading\n\n`code` and text"))
        await pilot.pause()
        before = column.answer.line(app, 0)
        app.theme = "textual-light"
        await pilot.pause()
        after = column.answer.line(app, 0)
        assert after is not None and after is not before
        assert after != before  # drawn in the light theme's colours
