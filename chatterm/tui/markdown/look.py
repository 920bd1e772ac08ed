"""Rich's Markdown renderer dressed in the Textual theme.

The answer pane draws Markdown with :class:`rich.markdown.Markdown` (one renderable per
segment, built once) rather than Textual's ``Markdown`` widget, which costs a widget per
block. Rich looks its ``markdown.*`` styles up in the console theme, so
:class:`ThemedMarkdown` renders with a :class:`rich.theme.Theme` made from the app's CSS
variables pushed for the duration of the render: headings, inline code, links, tables
and code blocks take the colours Textual's own Markdown widget would use.

Rich's Markdown never interprets Rich markup, and callers pass text that went through
:func:`chatterm.text.safe_text`, so model output cannot style the terminal.
Links are shown with their address (``hyperlinks=False``): what a link points to is
never hidden.

Code blocks keep each highlighted line's rendering (:class:`HighlightedCode`): a code
block that is still streaming is drawn again on every frame, and laying its lines out
cost several times more than highlighting them, so only its new lines are laid out.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from markdown_it import MarkdownIt
from rich import errors
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement
from rich.padding import Padding
from rich.segment import Segment, Segments
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from rich.theme import Theme
from textual.app import App
from textual.color import Color, ColorParseError

DARK_CODE_THEME = "monokai"
LIGHT_CODE_THEME = "friendly"
ANSI_DARK_CODE_THEME = "ansi_dark"  # Rich's syntax themes in the terminal's 16 colours
ANSI_LIGHT_CODE_THEME = "ansi_light"


@dataclass(frozen=True, slots=True)
class MarkdownLook:
    """What a Markdown segment needs from the Textual theme."""

    theme: Theme
    code_theme: str


CODE_LINES_KEPT = 4096  # rendered code lines kept for code blocks drawn again

_code_lines: dict[Hashable, list[list[Segment]]] = {}


def _plain_style(style: str | Style) -> bool:
    """Whether a style means the same under any console theme (Pygments' token styles
    are ``Style`` objects; ``Syntax`` adds its background as a string such as
    ``"on #272822"``), so that a line's layout can be cached whatever theme draws it."""
    if isinstance(style, Style):
        return True
    try:
        Style.parse(style)  # a theme's own names ("markdown.code") do not parse
    except errors.StyleSyntaxError:
        return False
    return True


def _wrapped_code_line(
    console: Console, line: Text, options: ConsoleOptions, style: Style, pad: bool
) -> list[list[Segment]]:
    """One highlighted line of code wrapped to ``options``' width, as Rich's ``Syntax``
    lays it out, from the cache when the same line was laid out at the same width."""
    key: Hashable | None = None
    if _plain_style(line.style) and all(_plain_style(span.style) for span in line.spans):
        key = (
            line.plain,
            tuple(line.spans),
            line.style,
            line.justify,
            line.overflow,
            line.no_wrap,
            line.end,
            line.tab_size,
            options.max_width,
            options.ascii_only,
            style,
            pad,
        )
        lines = _code_lines.get(key)
        if lines is not None:
            return lines
    lines = console.render_lines(line, options, style=style, pad=pad)
    if key is not None:
        if len(_code_lines) >= CODE_LINES_KEPT:
            del _code_lines[next(iter(_code_lines))]
        _code_lines[key] = lines
    return lines


class HighlightedCode:
    """A code block drawn exactly as Rich's ``Syntax`` draws it word-wrapped, without line
    numbers, with each line's layout cached (:func:`_wrapped_code_line`). Highlighting
    still runs on the whole block, so a token spanning lines is coloured as Rich colours
    it."""

    def __init__(
        self,
        code: str,
        lexer: str,
        *,
        theme: str,
        background_color: str | None,
        padding: tuple[int, int],
    ) -> None:
        self.code = code
        self.theme = theme
        self.padding = Padding.unpack(padding)
        self.syntax = Syntax(
            code, lexer, theme=theme, word_wrap=True, background_color=background_color
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        syntax = self.syntax
        base_style = Syntax.get_theme(self.theme).get_background_style() + syntax.background_style
        transparent = base_style.transparent_background
        line_style = Style.null() if transparent else base_style
        _, pad_right, _, pad_left = self.padding
        line_options = options.update(
            width=max(0, options.max_width - pad_left - pad_right), height=None, justify="left"
        )
        ends_on_newline = self.code.endswith("\n")
        code = self.code if ends_on_newline else self.code + "\n"
        text = syntax.highlight(code.expandtabs(syntax.tab_size))
        segments: list[Segment] = []
        new_line = Segment("\n")
        for line in text.split("\n", allow_blank=ends_on_newline):
            for wrapped in _wrapped_code_line(
                console, line, line_options, line_style, not transparent
            ):
                segments.extend(wrapped)
                segments.append(new_line)
        if any(self.padding):
            yield Padding(Segments(segments), style=base_style, pad=self.padding)
        else:
            yield Segments(segments)


class _ThemedCodeBlock(CodeBlock):
    """A code block on the theme's code background instead of the Pygments one."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        background = console.get_style("markdown.code_block", default="none").bgcolor
        yield HighlightedCode(
            code,
            self.lexer_name,
            theme=self.theme,
            padding=(0, 1),
            background_color=background.name if background is not None else None,
        )


_PARSER: list[MarkdownIt] = []  # made once: making one was over half of a short render


def markdown_parser() -> MarkdownIt:
    """The parser Rich's ``Markdown`` makes for each document, made once."""
    if not _PARSER:
        _PARSER.append(MarkdownIt().enable("strikethrough").enable("table"))
    return _PARSER[0]


class _Markdown(Markdown):
    """Rich's Markdown with themed code blocks, parsed by the one shared parser (Rich
    makes a parser per document, compiling its rules and link patterns every time)."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": _ThemedCodeBlock,
        "code_block": _ThemedCodeBlock,
    }

    def __init__(self, markup: str, *, code_theme: str, hyperlinks: bool) -> None:
        # What Markdown.__init__ sets (tests/tui check the output against Rich's own).
        self.markup = markup
        self.parsed = markdown_parser().parse(markup)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = hyperlinks
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme


class ThemedMarkdown:
    """A Rich renderable: Markdown source, parsed once, drawn with a theme's styles."""

    def __init__(self, source: str, look: MarkdownLook) -> None:
        self.source = source
        self.look = look
        self.markdown = _Markdown(source, code_theme=look.code_theme, hyperlinks=False)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        with console.use_theme(self.look.theme):
            segments: list[Segment] = list(console.render(self.markdown, options))
        # Rich puts an empty line before a list, table or quote even at the very top:
        # without it, a segment that goes on with the list (or table) before it joins
        # on seamlessly. The space between blocks comes after the segment before.
        start = 0
        while start < len(segments) and segments[start].text == "\n":
            start += 1
        yield from segments[start:]


def _color(variables: Mapping[str, str], name: str, background: Color) -> str | None:
    """A CSS variable as an opaque hex colour (alpha blended onto the background)."""
    value = variables.get(name)
    if not value:
        return None
    try:
        color = Color.parse(value)
    except ColorParseError:
        return None  # "auto 87%" and friends have no fixed colour
    if color.a < 1:
        color = background.blend(color.with_alpha(1), color.a)
    return color.hex6


def _style(*parts: str | None) -> str:
    return " ".join(part for part in parts if part and part != "none") or "none"


def _text_style(variables: Mapping[str, str], name: str) -> str | None:
    value = variables.get(name, "")
    return None if value in ("", "none") else value


def look_from_variables(variables: Mapping[str, str], *, dark: bool) -> MarkdownLook:
    """Map Textual CSS variables (``App.get_css_variables()``) onto Rich Markdown styles."""
    try:
        background = Color.parse(variables.get("background", "#000000"))
    except ColorParseError:
        background = Color(0, 0, 0)

    def color(name: str) -> str | None:
        return _color(variables, name, background)

    foreground = color("foreground")
    muted = background.blend(Color.parse(foreground), 0.6).hex6 if foreground is not None else None
    if dark:
        code_inline_bg = background.blend(Color.parse(variables.get("warning", "#FEA62B")), 0.1)
        code_inline_fg = color("text-warning") or color("warning")
        code_block_bg = background.blend(Color(0, 0, 0), 0.25)
    else:
        code_inline_bg = background.blend(Color.parse(variables.get("error", "#B93C5B")), 0.05)
        code_inline_fg = color("text-error") or color("error")
        code_block_bg = background.blend(Color(0, 0, 0), 0.05)

    styles: dict[str, str] = {
        "markdown.code": _style(code_inline_fg, "on", code_inline_bg.hex6),
        "markdown.code_block": _style(foreground, "on", code_block_bg.hex6),
        "markdown.block_quote": _style("italic", muted),
        "markdown.list": "none",
        "markdown.item.bullet": _style("bold", color("text-primary")),
        "markdown.item.number": _style(color("text-primary")),
        "markdown.hr": _style(color("primary")),
        "markdown.h1.border": _style(color("primary")),
        "markdown.link": _style("underline", color("text-primary")),
        "markdown.link_url": _style(muted),
        "markdown.table.border": _style(color("primary")),
        "markdown.table.header": _style("bold", foreground),
        "markdown.kbd": _style("bold", color("text-accent")),
    }
    for level in range(1, 7):
        h = f"markdown-h{level}"
        styles[f"markdown.h{level}"] = _style(
            _text_style(variables, f"{h}-text-style"), color(f"{h}-color")
        )
    # Textual underlines h2 alone, which reads oddly without a colour: make it bold too.
    styles["markdown.h2"] = _style("bold", styles["markdown.h2"])
    return MarkdownLook(
        theme=Theme(styles, inherit=True),
        code_theme=DARK_CODE_THEME if dark else LIGHT_CODE_THEME,
    )


def _ansi_color(variables: Mapping[str, str], name: str) -> str | None:
    """A CSS variable as one of the terminal's 16 colours (``color(N)``) or ``default``;
    None when it is not an ANSI colour (an ANSI theme then leaves that style alone)."""
    value = variables.get(name, "").split(" ")[0]  # "ansi_default 50%": no alpha in ANSI
    try:
        color = Color.parse(value)
    except ColorParseError:
        return None
    if color.ansi is None:
        return None
    return "default" if color.ansi < 0 else f"color({color.ansi})"


def ansi_look_from_variables(variables: Mapping[str, str], *, dark: bool) -> MarkdownLook:
    """The look for a theme of ANSI colours: the terminal's own palette, nothing blended
    (an RGB colour would ignore the palette the user chose), code in Rich's ANSI styles."""

    def color(name: str) -> str | None:
        return _ansi_color(variables, name)

    styles: dict[str, str] = {
        "markdown.code": _style("bold", color("text-warning") or color("warning")),
        "markdown.code_block": _style(color("foreground")),
        "markdown.block_quote": _style("italic dim"),
        "markdown.list": "none",
        "markdown.item.bullet": _style("bold", color("text-primary")),
        "markdown.item.number": _style(color("text-primary")),
        "markdown.hr": _style(color("primary")),
        "markdown.h1.border": _style(color("primary")),
        "markdown.link": _style("underline", color("text-primary")),
        "markdown.link_url": _style("dim"),
        "markdown.table.border": _style(color("primary")),
        "markdown.table.header": _style("bold"),
        "markdown.kbd": _style("bold", color("text-accent")),
    }
    for level in range(1, 7):
        h = f"markdown-h{level}"
        styles[f"markdown.h{level}"] = _style(
            _text_style(variables, f"{h}-text-style"), color(f"{h}-color")
        )
    styles["markdown.h2"] = _style("bold", styles["markdown.h2"])
    return MarkdownLook(
        theme=Theme(styles, inherit=True),
        code_theme=ANSI_DARK_CODE_THEME if dark else ANSI_LIGHT_CODE_THEME,
    )


_LOOKS: dict[tuple[str, bool], MarkdownLook] = {}


def markdown_look(app: App[Any]) -> MarkdownLook:
    """The look for the app's current theme (cached per theme name)."""
    dark = app.current_theme.dark
    key = (app.theme, dark)
    look = _LOOKS.get(key)
    if look is None:
        make = ansi_look_from_variables if app.current_theme.ansi else look_from_variables
        look = _LOOKS[key] = make(app.get_css_variables(), dark=dark)
    return look
