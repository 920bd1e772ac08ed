"""Which Markdown is shown as plain text instead: too deeply nested, or too big.

Deep nesting costs the block scanner (and markdown-it) work that grows faster than the
text, and past its nesting limit markdown-it silently drops what is nested deeper, so a
segment with a line nested deeper than :data:`MAX_NESTING` containers (or indented more
than :data:`MAX_INDENT` columns) is shown as the plain text it is. So is a segment longer
than :data:`MAX_MARKDOWN_CHARS`, which only a single line that never ends (or a run the
splitter cannot cut) can make: the live segment is rendered again on every frame.

The test looks at one line at a time and only at its start, so it is cheap, and whether a
segment is plain depends on its own text alone. Lists take two levels of markdown-it's
nesting each, so a list a dozen deep already loses its innermost items: a segment whose
parse reached that limit (:func:`parse_lost_text`) is shown as plain text too.
Pure: no Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markdown_it.token import Token

from chatterm.tui.markdown.blocks import indent_columns

MAX_NESTING = 24  # quote or list markers opening one line
MAX_INDENT = 4 * MAX_NESTING  # columns of leading whitespace
MAX_MARKDOWN_CHARS = 64 * 1024
PARSER_MAX_NESTING = 20  # markdown-it's "commonmark" preset, the one Rich parses with
_NESTED_BLOCKS = frozenset({"blockquote_open", "list_item_open"})

_CONTAINER_MARK = re.compile(r"[ \t]*(?:>|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))")


def too_deep(line: str) -> bool:
    """Whether a line opens more than ``MAX_NESTING`` quotes and list items, or is
    indented more than ``MAX_INDENT`` columns."""
    if indent_columns(line) > MAX_INDENT:
        return True
    pos = 0
    for _ in range(MAX_NESTING + 1):
        match = _CONTAINER_MARK.match(line, pos)
        if match is None:
            return False
        pos = match.end()
    return True


def shown_as_plain_text(source: str) -> bool:
    """Whether a segment is shown as plain text rather than rendered as Markdown."""
    if len(source) > MAX_MARKDOWN_CHARS:
        return True
    return any(too_deep(line) for line in source.split("\n"))


def parse_lost_text(tokens: Iterable[Token]) -> bool:
    """Whether markdown-it stopped at its nesting limit, and so dropped what a quote or a
    list item opened at that depth holds."""
    return any(
        token.type in _NESTED_BLOCKS and token.level >= PARSER_MAX_NESTING - 1 for token in tokens
    )
