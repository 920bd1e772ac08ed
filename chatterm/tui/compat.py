"""Every private name of Rich, Textual and markdown-it that chatterm relies on, in one place.

Each entry wraps one upstream private (an underscore name, an internal table, a handler
name) behind a small typed name, so that an upgrade that moves or reshapes one breaks here,
and in tests/tui/test_compat.py with a message naming the private and what to do, rather
than somewhere in a widget. Textual is imported inside the functions that need it, so the
pure modules that use this one (:mod:`chatterm.tui.markdown.blocks`) stay free of Textual.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Final, cast

from markdown_it.rules_block.html_block import HTML_SEQUENCES
from rich._wrap import divide_line as _rich_divide_line

if TYPE_CHECKING:
    from textual import events
    from textual.binding import Binding
    from textual.geometry import Size
    from textual.widget import Widget


def divide_line(text: str, width: int, fold: bool = True) -> list[int]:
    """rich._wrap.divide_line: where Text.wrap breaks a line, for the reasoning pane's wrap."""
    return _rich_divide_line(text, width, fold=fold)


def normalize_key_list(keys: str) -> str:
    """textual.keys._normalize_key_list: key lists with characters named, to check [keys]."""
    from textual.keys import _normalize_key_list

    return _normalize_key_list(keys)


def add_escape_sequences(keys: Mapping[str, str]) -> None:
    """Edits textual._ansi_sequences.ANSI_SEQUENCES_KEYS, to undo a translation (alt+digit)."""
    from textual import _ansi_sequences

    # Each escape sequence (a key of ``keys``) reads as its key name at once: for a tuple
    # entry, Textual's parser emits Key(member.value) for each enum member, as for its Keys.
    names = Enum(  # type: ignore[misc]
        "EscapeSequenceKey", [(f"KEY_{index}", key) for index, key in enumerate(keys.values())]
    )
    table = cast("dict[str, object]", _ansi_sequences.ANSI_SEQUENCES_KEYS)
    for index, sequence in enumerate(keys):
        table[sequence] = (names[f"KEY_{index}"],)


def footer_key_is(key: Widget, binding: Binding, tooltip: str, key_display: str) -> bool:
    """textual.widgets._footer.FooterKey: whether a key of the Footer is the one it makes
    for ``binding`` (its key, action, label, key display and tooltip), enabled or not."""
    from textual.widgets._footer import FooterKey

    return (
        isinstance(key, FooterKey)
        and key.key == binding.key
        and key.action == binding.action
        and key.description == binding.description
        and key.key_display == key_display
        and (key.tooltip or "") == (tooltip or "")
    )


def enable_footer_key(key: Widget, enabled: bool) -> None:
    """FooterKey._disabled and its ``-disabled`` class: what the Footer gives a key whose
    binding is (not) enabled, set on a key already built (a click on a disabled key
    rings the bell instead of pressing it)."""
    from textual.widgets._footer import FooterKey

    assert isinstance(key, FooterKey)
    key._disabled = not enabled
    key.set_class(not enabled, "-disabled")


HTML_BLOCK_SEQUENCES: Final[Sequence[tuple[re.Pattern[str], re.Pattern[str], bool]]] = (
    HTML_SEQUENCES
)
"""markdown-it's HTML_SEQUENCES (html_block): the block scanner ends HTML blocks as it does."""


class BeforeTextAreaInput:
    """Hooks before TextArea's private _on_key/_on_paste: the prompt keeps Enter, cleans pastes."""

    # A mixin listed before TextArea. Textual calls the handler of the event's name of each
    # class in the MRO in turn, this one's before TextArea's (which inserts the text), and
    # stops at the first that calls event.prevent_default().

    async def _on_key(self, event: events.Key) -> None:
        await self.before_key(event)

    async def _on_paste(self, event: events.Paste) -> None:
        await self.before_paste(event)

    async def before_key(self, event: events.Key) -> None:
        """A key before TextArea inserts it; event.prevent_default() keeps it out."""

    async def before_paste(self, event: events.Paste) -> None:
        """A paste before TextArea inserts event.text, which may be changed here."""


KEEP_LINES_WHEN_TALLER = True  # False: every line drawn again at any new size, as Textual does
LINES_KEPT_WHEN_TALLER = 256  # past this many drawn lines kept, a growing widget starts afresh


class NoLayoutOnResize:
    """Overrides Widget's private _size_updated: a new size does not ask for a layout again.

    A mixin listed before Widget. While Textual lays the screen out, it tells each widget
    its new size with ``Widget._size_updated``, whose ``layout=True`` default sets the
    ``virtual_size`` reactive as a layout change: every widget that grew asks for a second
    full layout pass (and a second paint) that changes nothing, for widgets whose virtual
    size follows from that layout (auto-height widgets, and a scrolling container of
    them). ``layout=False`` is what Textual itself passes when it reflows after a scroll.

    It also marks as dirty only the new lines of a widget that grew taller at the same
    width: Textual marks the whole widget, so every streaming frame that added a line drew
    every line of the turn, the answer pane and a comparison's columns again.
    """

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        from textual.geometry import Region
        from textual.widget import Widget

        widget = self
        assert isinstance(widget, Widget)
        old = widget.outer_size  # what Widget._size_updated compares with (its _size)
        taller = KEEP_LINES_WHEN_TALLER and old.width == size.width and 0 < old.height < size.height
        if taller:
            # Widget._size_updated marks the whole widget dirty for any new size, so every
            # line on screen is drawn again; grown at the same width, the lines above the
            # old bottom are what they were (whatever changed in them was marked dirty by
            # the widget itself).
            widget._size = size
        changed = Widget._size_updated(widget, size, virtual_size, container_size, layout=False)
        if taller:
            lines_kept = widget._styles_cache._cache  # drawn lines, by line number
            if len(lines_kept) > LINES_KEPT_WHEN_TALLER:
                widget._set_dirty()  # all again: lines scrolled past are not kept for ever
            else:
                top = max(0, old.height - 1 - widget.content_offset.y)
                widget._set_dirty(Region(0, top, size.width, size.height - top))
            return True
        return changed
