"""The reasoning and answer panes on their own, in a minimal app."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.syntax import Syntax
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.strip import Strip
from tui_helpers import rendered

from chatterm.tui.markdown.look import (
    HighlightedCode,
    ThemedMarkdown,
    _Markdown,
    ansi_look_from_variables,
    look_from_variables,
    markdown_look,
)
from chatterm.tui.segments import split_all
from chatterm.tui.widgets.answer_pane import AnswerPane
from chatterm.tui.widgets.reasoning_pane import ReasoningLog
from tests.waiting import wait_for


class LogApp(App[None]):
    CSS = "ReasoningLog { width: 20; }"

    def compose(self) -> ComposeResult:
        yield ReasoningLog()


class AnswerApp(App[None]):
    CSS = "Screen { scrollbar-gutter: stable; }"  # a scrollbar appearing would re-wrap

    def compose(self) -> ComposeResult:
        yield AnswerPane()


async def test_reasoning_log_wraps_and_appends_mid_line() -> None:
    app = LogApp()
    async with app.run_test(size=(40, 20)) as pilot:
        log = app.query_one(ReasoningLog)
        log.append("one two three ")
        log.append("four five six seven\n\nnew ")
        log.append("paragraph [b]x[/b]\tend")
        await pilot.pause()
        assert log.text == "one two three four five six seven\n\nnew paragraph [b]x[/b]\tend"
        assert rendered(log).splitlines() == [
            "one two three four",
            "five six seven",
            "",
            "new paragraph",
            "[b]x[/b]  end",  # the tab stops at column 24 of the paragraph
        ]
        assert log.line_count == log.size.height == 5


async def test_reasoning_log_only_rewraps_the_last_paragraph() -> None:
    app = LogApp()
    async with app.run_test(size=(40, 20)) as pilot:
        log = app.query_one(ReasoningLog)
        log.append("first paragraph here\nsecond")
        await pilot.pause()
        first = log._text.lines[0]
        log.append(" grows")
        await pilot.pause()
        assert log._text.lines[0] is first
        assert rendered(log).splitlines()[-1] == "second grows"


async def test_answer_pane_freezes_finished_segments() -> None:
    paragraph = "Some words in a paragraph.\n\n"
    text = "# Title\n\n" + paragraph * 30 + "```python\nprint('hi')\n```\n\nThe end."
    app = AnswerApp()
    async with app.run_test(size=(80, 40)) as pilot:
        pane = app.query_one(AnswerPane)
        rendered_lines: list[list[Strip] | None] = []
        for start in range(0, len(text), 7):
            pane.append(text[start : start + 7])
            await pilot.pause(0)
            now = pane.lines.frozen.rendered
            # Frozen segments are rendered once: their lines are the same objects.
            assert all(a is b for a, b in zip(now, rendered_lines, strict=False))
            rendered_lines = now
        await pilot.pause()
        frozen = pane.lines.frozen
        assert len(frozen.sources) >= 2 and len(pane.sources) == len(frozen.sources) + 1
        assert pane.text == text
        assert "".join(pane.sources) == text
        first = frozen.rendered[0]
        pane.finish()
        await pilot.pause()
        assert frozen.sources == split_all(text) == pane.sources  # no live tail left
        assert frozen.rendered[0] is first
        shown = rendered(pane)
        assert "Title" in shown and "# Title" not in shown
        assert "print('hi')" in shown and "The end." in shown
        # The pane is one widget however long the answer is.
        assert not pane.children


async def test_answer_pane_rerenders_on_resize_and_theme_change() -> None:
    app = AnswerApp()
    async with app.run_test(size=(80, 40)) as pilot:
        pane = app.query_one(AnswerPane)
        pane.append("A paragraph long enough to wrap when the terminal is narrow. " * 3)
        pane.finish()
        await pilot.pause()
        wide = pane.lines.frozen.total()
        await pilot.resize_terminal(40, 40)
        await pilot.pause()
        assert pane.lines.frozen.total() > wide
        before = pane.lines.frozen.rendered[0]
        app.theme = "textual-light"
        await pilot.pause()
        assert pane.lines.frozen.rendered[0] is not before


async def test_answer_pane_finish_with_other_text_and_reset() -> None:
    app = AnswerApp()
    async with app.run_test(size=(80, 40)) as pilot:
        pane = app.query_one(AnswerPane)
        pane.append("partial")
        pane.finish("the whole answer")
        await pilot.pause()
        assert pane.sources == ["the whole answer"]
        assert rendered(pane) == "the whole answer"
        pane.reset()
        await pilot.pause()
        assert pane.sources == [] and pane.text == ""
        assert rendered(pane) == ""


async def test_markdown_look_follows_every_builtin_theme() -> None:
    app = AnswerApp()
    async with app.run_test(size=(80, 20)) as pilot:
        for name in sorted(app.available_themes):
            app.theme = name
            await pilot.pause()
            look = markdown_look(app)
            make = ansi_look_from_variables if app.current_theme.ansi else look_from_variables
            fresh = make(app.get_css_variables(), dark=app.current_theme.dark)
            assert look.theme.styles == fresh.theme.styles
            assert look.code_theme == fresh.code_theme
            # Every style parses, and a sample renders.
            for style in look.theme.styles.values():
                assert style is not None
            lines = app.console.render_lines(
                ThemedMarkdown("# h\n\n`code` **b** [l](http://x)\n\n```py\nx=1\n```", look),
                app.console.options.update_width(40),
            )
            assert lines


CODE_SAMPLES = [
    ("python", 'def f(x):\n    """A docstring\n    over lines."""\n\treturn x  # tab\n'),
    ("javascript", "const a = `template\nspanning lines`;\nif (a) { b(); }" + " // long" * 30),
    ("bash", "echo one\n\n\necho two   "),
    ("", "no language\n  indented"),
    ("no-such-language", "plain text"),
]


def test_highlighted_code_draws_what_rich_syntax_draws() -> None:
    """Code blocks are drawn with their lines' layout cached: the same segments as Rich's
    Syntax, at every width and theme, drawn once or again from the cache."""
    console = Console(width=120, color_system="truecolor", force_terminal=True)
    for width in (12, 57, 116):
        options = console.options.update(width=width, highlight=False)
        for theme in ("monokai", "friendly", "ansi_dark"):
            for background in ("#202020", None):
                for lexer, code in CODE_SAMPLES:
                    syntax = Syntax(
                        code,
                        lexer,
                        theme=theme,
                        word_wrap=True,
                        padding=(0, 1),
                        background_color=background,
                    )
                    expected = console.render_lines(syntax, options, pad=False)
                    for _ in range(2):
                        code_block = HighlightedCode(
                            code, lexer, theme=theme, padding=(0, 1), background_color=background
                        )
                        assert console.render_lines(code_block, options, pad=False) == expected


MARKDOWN_SAMPLES = [
    "# Title\n\nA paragraph with `code`, **bold**, *italics*, ~~struck~~ and a "
    "[link](https://example.com).",
    "- one\n- two\n  1. nested\n\n> a quote\n\n| a | b |\n|---|--:|\n| 1 | 2 |",
    "```python\ndef f(x):\n    return x * 2\n```\n\n---\n\n    indented code",
    "<b>html</b> & entities &amp; www.example.com autolinks",
]


def test_one_shared_parser_renders_what_a_parser_per_document_renders() -> None:
    """ThemedMarkdown parses with one parser made once; the output is what Rich's own
    ``Markdown`` (which makes a parser per document) draws with the same code blocks."""
    look = look_from_variables(App[None]().get_css_variables(), dark=True)

    class PerDocument(Markdown):  # Rich's constructor, chatterm's elements
        elements = _Markdown.elements

    console = Console(width=60, color_system="truecolor", force_terminal=True)
    for width in (20, 60):
        options = console.options.update(width=width, highlight=False)
        for source in MARKDOWN_SAMPLES:
            shared = _Markdown(source, code_theme=look.code_theme, hyperlinks=False)
            own = PerDocument(source, code_theme=look.code_theme, hyperlinks=False)
            assert vars(shared) == vars(own)
            with console.use_theme(look.theme):
                assert console.render_lines(shared, options) == console.render_lines(own, options)


class ScrollingAnswersApp(App[None]):
    CSS = "VerticalScroll { scrollbar-gutter: stable; }"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield AnswerPane(id="old")
            yield AnswerPane(id="fresh")


def long_answer(paragraphs: int = 40) -> str:
    words = "a paragraph of the answer that wraps differently at each terminal width"
    return "".join(f"## Part {i}\n\n{words} {i}. {words}.\n\n" for i in range(paragraphs))


async def test_a_new_width_renders_what_is_on_screen_now_and_the_rest_later() -> None:
    app = ScrollingAnswersApp()
    async with app.run_test(size=(80, 20)) as pilot:
        old = app.query_one("#old", AnswerPane)
        old.append(long_answer())
        old.finish()
        await pilot.pause()
        frozen = old.lines.frozen
        assert len(frozen.sources) > 4 and frozen.stale == 0
        await pilot.resize_terminal(50, 20)
        await pilot.pause()
        # The first segment is on screen: rendered for the new width already. Those
        # further down keep their old lines until the width has settled.
        assert frozen.stale > 0
        first = frozen.rendered[0]
        assert first is not None and max(strip.cell_length for strip in first) <= 50
        await wait_for(pilot, lambda: frozen.stale == 0)
        # Then it is as if the answer had been rendered at this width from the start.
        fresh = app.query_one("#fresh", AnswerPane)
        fresh.append(long_answer())
        fresh.finish()
        await pilot.pause()
        assert frozen.total() == fresh.lines.frozen.total()
        assert rendered(old) == rendered(fresh)


async def test_segments_cut_inside_a_tight_list_read_as_one_list() -> None:
    app = AnswerApp()
    async with app.run_test(size=(80, 40)) as pilot:
        pane = app.query_one(AnswerPane)
        items = "".join(f"{i}. item {i}\n" for i in range(1, 101))
        for start in range(0, len(items), 9):
            pane.append(items[start : start + 9])
        pane.finish()
        await pilot.pause()
        assert [source.split(".")[0] for source in pane.sources] == ["1", "41", "81"]
        shown = rendered(pane).splitlines()
        assert len(shown) == 100  # no blank line where a segment ends
        assert [line.split()[0] for line in shown] == [str(i) for i in range(1, 101)]
        assert shown[-1].endswith("item 100")
