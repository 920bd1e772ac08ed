"""The private names of Rich, Textual and markdown-it behind chatterm.tui.compat, checked.

An upgrade (the tested versions are pinned in requirements/test.lock) that moves one of
them, changes its signature or the shape of its table, or stops using it the way chatterm
does fails here, with a message naming the package, the private name and what to do.
chatterm.tui.compat is imported inside each test, after the private name is found, so that
a move reads as that message rather than as an import error when the tests are collected.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from importlib.metadata import version
from typing import Any, NoReturn

import pytest
from markdown_it import MarkdownIt
from rich.console import Console
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.keys import Keys
from textual.widgets import Static, TextArea

from tests.waiting import wait_for


def broken(package: str, private: str, change: str, todo: str) -> NoReturn:
    """Fail with what changed upstream and what to do about it."""
    pytest.fail(
        f"{package} {version(package)}: {private} {change}. To do: {todo} "
        "(chatterm.tui.compat is the only module that uses it; the version chatterm was "
        "tested with is pinned in requirements/test.lock)",
        pytrace=False,
    )


def upstream(package: str, module: str, name: str, todo: str) -> Any:
    """``module.name`` as the installed ``package`` has it, or a failure saying it moved."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        broken(package, f"{module}.{name}", f"is gone ({error})", todo)


def check_parameters(
    package: str, private: str, function: Callable[..., Any], expected: list[str], todo: str
) -> None:
    names = list(inspect.signature(function).parameters)
    if names != expected:
        broken(package, private, f"takes ({', '.join(names)}), not ({', '.join(expected)})", todo)


DIVIDE_LINE_TODO = (
    "make chatterm.tui.compat.divide_line give the offsets where Rich's "
    "Text.wrap(overflow='fold') breaks a line; the reasoning pane wraps its paragraphs with "
    "them and must wrap exactly as Rich does (tests/tui/test_wrapping.py)"
)


def test_rich_divide_line_breaks_lines_where_text_wrap_does() -> None:
    private = "rich._wrap.divide_line"
    rich_divide_line = upstream("rich", "rich._wrap", "divide_line", DIVIDE_LINE_TODO)
    check_parameters("rich", private, rich_divide_line, ["text", "width", "fold"], DIVIDE_LINE_TODO)
    from chatterm.tui.compat import divide_line

    console = Console(width=200)
    for text, width in [
        ("the quick brown fox jumps over the lazy dog", 10),
        ("averyveryverylongwordthatmustfold and more", 8),
        ("  leading spaces and  double  spaces", 7),
        ("wide 漢字漢字漢字 characters", 6),
    ]:
        offsets = divide_line(text, width, fold=True)
        if not all(isinstance(offset, int) and 0 < offset < len(text) for offset in offsets):
            broken(
                "rich",
                private,
                f"no longer returns offsets into the text: {offsets!r}",
                DIVIDE_LINE_TODO,
            )
        lines = [line.plain.rstrip() for line in Text(text).divide(offsets)]
        wrapped = [line.plain.rstrip() for line in Text(text).wrap(console, width, overflow="fold")]
        if lines != wrapped:
            broken(
                "rich",
                private,
                f"no longer breaks {text!r} at width {width} as Text.wrap does "
                f"({lines!r}, not {wrapped!r})",
                DIVIDE_LINE_TODO,
            )


NORMALIZE_TODO = (
    "make chatterm.tui.compat.normalize_key_list name the single characters of a "
    "comma-separated key list as Textual's key events name them ('$' is dollar_sign); "
    "chatterm.tui.keymap checks the [keys] of config.toml with it"
)


def test_textual_normalize_key_list_names_characters_as_key_events_do() -> None:
    private = "textual.keys._normalize_key_list"
    function = upstream("textual", "textual.keys", "_normalize_key_list", NORMALIZE_TODO)
    check_parameters("textual", private, function, ["keys"], NORMALIZE_TODO)
    parser = upstream("textual", "textual._xterm_parser", "XTermParser", NORMALIZE_TODO)
    from chatterm.tui.compat import normalize_key_list

    typed = [event.key for event in parser().feed("$") if isinstance(event, events.Key)]
    normalized = normalize_key_list("ctrl+g, $,f6,x")
    if normalized != ",".join(["ctrl+g", *typed, "f6", "x"]):
        broken(
            "textual",
            private,
            f"turns 'ctrl+g, $,f6,x' into {normalized!r}, but a typed $ is the key {typed!r}",
            NORMALIZE_TODO,
        )


ESCAPE_TODO = (
    "make chatterm.tui.compat.add_escape_sequences tell Textual's input parser to read an "
    "escape sequence as a given key at once; restore_alt_keys needs it so that "
    "alt+1…alt+9 (the favourite models) and alt+letters reach the app in terminals that "
    "send ESC+key"
)


def test_textual_reads_escape_sequences_from_the_table_compat_edits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private = "textual._ansi_sequences.ANSI_SEQUENCES_KEYS"
    table = upstream("textual", "textual._ansi_sequences", "ANSI_SEQUENCES_KEYS", ESCAPE_TODO)
    if not isinstance(table, dict):
        broken("textual", private, f"is a {type(table).__name__}, not a dict", ESCAPE_TODO)
    up = table.get("\x1b[A")
    if up != (Keys.Up,):
        broken(
            "textual",
            private,
            f"no longer maps a sequence to a tuple of Keys (ESC [A is {up!r})",
            ESCAPE_TODO,
        )
    parser = upstream("textual", "textual._xterm_parser", "XTermParser", ESCAPE_TODO)
    from chatterm.tui.compat import add_escape_sequences

    for sequence in ("\x1b1", "\x1b2"):  # put back as they were after the test
        if sequence in table:
            monkeypatch.setitem(table, sequence, table[sequence])
        else:
            monkeypatch.delitem(table, sequence, raising=False)
    add_escape_sequences({"\x1b1": "alt+1", "\x1b2": "alt+2"})
    keys = [event.key for event in parser().feed("\x1b1\x1b2") if isinstance(event, events.Key)]
    if keys != ["alt+1", "alt+2"]:
        broken(
            "textual",
            private,
            f"is no longer what the input parser reads: ESC 1 ESC 2 arrive as {keys!r}",
            ESCAPE_TODO,
        )


HTML_TODO = (
    "make chatterm.tui.compat.HTML_BLOCK_SEQUENCES give, for each kind of HTML block, the "
    "pattern that opens it, the one that ends it and whether it may interrupt a paragraph, "
    "as markdown-it decides them; the block scanner (chatterm.tui.markdown.blocks) cuts a "
    "growing answer with them, and tests/tui/test_segments.py checks it against markdown-it"
)
# One line that opens each kind of HTML block (CommonMark's seven, in markdown-it's order).
HTML_OPENERS = ["<pre>", "<!-- note", "<?php", "<!DOCTYPE html", "<![CDATA[ x", "<div>", "<x-y>"]


def test_markdown_it_html_sequences_decide_html_blocks_as_markdown_it_does() -> None:
    private = "markdown_it.rules_block.html_block.HTML_SEQUENCES"
    module = "markdown_it.rules_block.html_block"
    table = upstream("markdown-it-py", module, "HTML_SEQUENCES", HTML_TODO)
    triples = isinstance(table, list | tuple) and all(
        isinstance(entry, tuple)
        and len(entry) == 3
        and isinstance(entry[0], re.Pattern)
        and isinstance(entry[1], re.Pattern)
        and isinstance(entry[2], bool)
        for entry in table
    )
    if not triples:
        broken(
            "markdown-it-py",
            private,
            f"is not (opening, closing, interrupts) triples: {table!r:.200}",
            HTML_TODO,
        )
    from chatterm.tui.compat import HTML_BLOCK_SEQUENCES

    assert HTML_BLOCK_SEQUENCES is table
    kinds = [
        next((index for index, entry in enumerate(table) if entry[0].search(line)), None)
        for line in HTML_OPENERS
    ]
    if kinds != list(range(len(HTML_OPENERS))) or len(table) != len(HTML_OPENERS):
        broken(
            "markdown-it-py",
            private,
            f"has {len(table)} kinds of HTML block, opened by {HTML_OPENERS} as kinds {kinds}",
            HTML_TODO,
        )
    parser = MarkdownIt()  # Rich's parser, with HTML blocks on as in CommonMark
    for line, (_opening, closing, interrupts) in zip(HTML_OPENERS, table, strict=True):
        after_text = [token.type for token in parser.parse(f"text\n{line}\n")]
        if ("html_block" in after_text) != interrupts:
            broken(
                "markdown-it-py",
                private,
                f"says {line!r} {'does' if interrupts else 'does not'} interrupt a paragraph, "
                f"but markdown-it parses 'text' then {line!r} as {after_text}",
                HTML_TODO,
            )
        blocks = [
            token for token in parser.parse(f"{line}\n\nafter\n") if token.type == "html_block"
        ]
        ends_at_blank = closing.search("") is not None
        if len(blocks) != 1 or ("after" not in blocks[0].content) != ends_at_blank:
            broken(
                "markdown-it-py",
                private,
                f"says the block {line!r} opens {'ends' if ends_at_blank else 'goes on'} at a "
                f"blank line, but markdown-it makes it {[block.content for block in blocks]}",
                HTML_TODO,
            )


HANDLERS_TODO = (
    "make chatterm.tui.compat.BeforeTextAreaInput run before_key and before_paste before "
    "TextArea inserts typed and pasted text (and let before_key keep a key out); without it "
    "Enter in the prompt inserts a newline instead of sending, and a paste keeps its "
    "control characters"
)


async def test_textual_text_area_takes_input_in_the_handlers_compat_runs_first() -> None:
    for name in ("_on_key", "_on_paste"):
        handler = vars(TextArea).get(name)
        if not inspect.iscoroutinefunction(handler):
            broken(
                "textual", f"TextArea.{name}", "is no longer TextArea's own handler", HANDLERS_TODO
            )
        check_parameters("textual", f"TextArea.{name}", handler, ["self", "event"], HANDLERS_TODO)
    for name in ("before_key", "before_paste"):
        if hasattr(TextArea, name):
            broken(
                "textual",
                f"TextArea.{name}",
                "now exists, and chatterm's hook of that name would replace it",
                "rename the hooks of chatterm.tui.compat.BeforeTextAreaInput and PromptArea",
            )
    from chatterm.tui.compat import BeforeTextAreaInput

    seen: list[str] = []

    class Probe(BeforeTextAreaInput, TextArea):
        async def before_key(self, event: events.Key) -> None:
            seen.append(event.key)
            if event.key == "enter":
                event.prevent_default()

        async def before_paste(self, event: events.Paste) -> None:
            event.text = event.text.upper()

    class ProbeApp(App[None]):
        def compose(self) -> ComposeResult:
            yield Probe()

    app = ProbeApp()
    async with app.run_test() as pilot:
        probe = app.query_one(Probe)
        probe.focus()
        await pilot.press("a", "enter", "b")
        await wait_for(pilot, lambda: "b" in probe.text, what="the typed b")
        if seen != ["a", "enter", "b"] or probe.text != "ab":
            broken(
                "textual",
                "TextArea._on_key",
                "no longer lets a subclass's handler of that name see each key first and keep "
                f"one out (typed a, enter, b: the hook saw {seen}, the text is {probe.text!r})",
                HANDLERS_TODO,
            )
        app.post_message(events.Paste("cd"))  # as the driver posts it
        await wait_for(pilot, lambda: "c" in probe.text.lower(), what="the paste")
        await pilot.pause()
        if probe.text != "abCD":
            broken(
                "textual",
                "TextArea._on_paste",
                "no longer lets a subclass's handler of that name change a paste before it "
                f"is inserted, once (pasted 'cd' after 'ab': the text is {probe.text!r})",
                HANDLERS_TODO,
            )


SIZE_UPDATED_TODO = (
    "make chatterm.tui.compat.NoLayoutOnResize keep a widget that grows from asking for a "
    "second layout of the screen after the one that gave it its new size; the streaming "
    "answer grows every frame, and bench/run.py's frame_p95_ms counts the extra pass"
)


class GrowingLines(Static):
    """An auto-height widget whose text grows, as the streaming answer does."""


async def test_textual_size_updated_takes_a_layout_flag_that_skips_a_second_layout() -> None:
    private = "textual.widget.Widget._size_updated"
    widget_class = upstream("textual", "textual.widget", "Widget", SIZE_UPDATED_TODO)
    size_updated = getattr(widget_class, "_size_updated", None)
    if size_updated is None:
        broken("textual", private, "is gone", SIZE_UPDATED_TODO)
    expected = ["self", "size", "virtual_size", "container_size", "layout"]
    check_parameters("textual", private, size_updated, expected, SIZE_UPDATED_TODO)
    from chatterm.tui.compat import NoLayoutOnResize

    class Growing(NoLayoutOnResize, GrowingLines):
        pass

    class Column(NoLayoutOnResize, VerticalScroll):
        pass

    class GrowApp(App[None]):
        def compose(self) -> ComposeResult:
            with Column():
                yield Growing("one")

    layouts: list[int] = []
    app = GrowApp()
    async with app.run_test(size=(40, 10)) as pilot:
        screen = app.screen
        refresh_layout = screen._refresh_layout

        def counted(*args: Any, **kwargs: Any) -> None:
            layouts.append(1)
            refresh_layout(*args, **kwargs)

        screen._refresh_layout = counted  # type: ignore[method-assign]
        growing = app.query_one(Growing)
        for lines in range(2, 6):
            layouts.clear()
            growing.update("\n".join(["line"] * lines))
            await wait_for(pilot, lambda: growing.size.height == lines)  # noqa: B023
            await pilot.pause()
            if len(layouts) != 1:
                broken(
                    "textual",
                    private,
                    f"with layout=False, a widget grown to {lines} lines laid the screen "
                    f"out {len(layouts)} times, not once",
                    SIZE_UPDATED_TODO,
                )


async def test_a_widget_grown_at_the_same_width_draws_only_its_new_lines_again() -> None:
    """Widget._size_updated marks the whole widget dirty for any new size; compat keeps the
    lines above the old bottom when a widget only grew taller, and draws the rest."""
    from rich.segment import Segment
    from textual.strip import Strip
    from textual.widget import Widget

    from chatterm.tui.compat import NoLayoutOnResize

    drawn: list[int] = []

    class Lines(NoLayoutOnResize, Widget):
        DEFAULT_CSS = "Lines { height: auto; }"
        count = 3

        def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
            return self.count

        def render_line(self, y: int) -> Strip:
            drawn.append(y)
            return Strip([Segment(f"line {y}")])

    class LinesApp(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield Lines()

    app = LinesApp()
    async with app.run_test(size=(40, 20)) as pilot:
        lines = app.query_one(Lines)
        await pilot.pause()
        lines.count = 6
        drawn.clear()
        lines.refresh(layout=True, repaint=False)  # taller; nothing above changed
        await wait_for(pilot, lambda: lines.size.height == 6)
        await pilot.pause()
        if min(drawn, default=6) < 2:
            broken(
                "textual",
                "textual.widget.Widget._size_updated",
                f"drew lines {sorted(set(drawn))} again after growing from 3 to 6 lines",
                SIZE_UPDATED_TODO,
            )
        shown = [strip.text.strip() for strip in lines.render_lines(lines.size.region)]
        assert shown == [f"line {y}" for y in range(6)]


FOOTER_KEY_TODO = (
    "make chatterm.tui.compat.footer_key_is tell whether a key of Textual's Footer is the one "
    "it builds for a binding, and enable_footer_key dim or light one in place as the Footer "
    "builds it (chatterm.tui.widgets.steady_footer keeps the bar's keys instead of rebuilding "
    "them; tests/tui/test_steady_footer.py)"
)


async def test_textual_footer_keys_carry_their_binding_and_disabled_state() -> None:
    private = "textual.widgets._footer.FooterKey"
    footer_key = upstream("textual", "textual.widgets._footer", "FooterKey", FOOTER_KEY_TODO)
    expected = ["self", "key", "key_display", "description", "action", "disabled", "tooltip"]
    check_parameters(
        "textual", private, footer_key.__init__, [*expected, "classes"], FOOTER_KEY_TODO
    )
    from textual.binding import Binding
    from textual.widgets import Footer

    from chatterm.tui.compat import enable_footer_key, footer_key_is

    class KeyApp(App[None]):
        BINDINGS = [Binding("f5", "noop", "Five", tooltip="the fifth")]

        def compose(self) -> ComposeResult:
            yield Footer(show_command_palette=False)

        def action_noop(self) -> None:
            pass

    app = KeyApp()
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query(footer_key)))
        key = app.screen.query_one(footer_key)
        binding = KeyApp.BINDINGS[0]
        assert isinstance(binding, Binding)
        if not footer_key_is(key, binding, "the fifth", app.get_key_display(binding)):
            broken("textual", private, "no longer holds its binding as it did", FOOTER_KEY_TODO)
        enable_footer_key(key, False)
        if not (key.has_class("-disabled") and getattr(key, "_disabled", None) is True):
            broken(
                "textual", f"{private}._disabled", "is not how a key is disabled", FOOTER_KEY_TODO
            )
        enable_footer_key(key, True)
        assert not key.has_class("-disabled")
