"""The files attached to the next prompt, shown as chips above it: ``name · kind · size ✕``.

Each chip shows its file as data (:func:`chatterm.attachments.describe`: control characters
made visible, the name never read as markup). A chip is removed before sending by clicking
its ✕, or by focusing it (Shift+Tab from the prompt reaches the last chip, Tab the next)
and pressing Delete or Backspace. The row is hidden while nothing is attached.

The chips hold the attachments, already read (:func:`chatterm.attachments.read_attachment`);
the screen adds them, takes them when the prompt is sent, and clears them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from chatterm.attachments import describe
from chatterm.events import Attachment
from chatterm.tui.bindings import CHIP_BINDINGS


class RemoveMark(Static):
    """The ✕ of a chip: a click takes the chip's file off the prompt."""

    def on_click(self, event: events.Click) -> None:
        event.stop()
        chip = self.parent
        if isinstance(chip, AttachmentChip):
            chip.post_message(AttachmentChip.Removed(chip))


class AttachmentChip(Widget, can_focus=True):
    """One attached file."""

    BINDINGS: ClassVar[list[BindingType]] = [*CHIP_BINDINGS]

    DEFAULT_CSS = """
    AttachmentChip {
        width: auto;
        height: 1;
        layout: horizontal;
        margin: 0 1 0 0;
        padding: 0 0 0 1;
        background: $boost;
        &:focus {
            background: $accent 40%;
        }
        & > .chip-label {
            width: auto;
            max-width: 60;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & > RemoveMark {
            width: 3;
            color: $text-muted;
            &:hover {
                color: $text-error;
            }
        }
    }
    """

    @dataclass
    class Removed(Message):
        """The user asked for this chip's file to be taken off the prompt."""

        chip: AttachmentChip

    def __init__(self, attachment: Attachment) -> None:
        super().__init__()
        self.attachment = attachment
        self.tooltip = Content(describe(attachment))

    def compose(self) -> ComposeResult:
        yield Static(Content(describe(self.attachment)), classes="chip-label")
        yield RemoveMark(Content(" ✕"))

    def action_remove_chip(self) -> None:
        self.post_message(self.Removed(self))


class AttachmentChips(Widget):
    """The row of chips above the prompt, one per attached file (hidden when none)."""

    DEFAULT_CSS = """
    AttachmentChips {
        width: 1fr;
        height: auto;
        max-height: 3;
        layout: horizontal;
        overflow-x: auto;
        padding: 0 1;
        scrollbar-size-horizontal: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.display = False

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """The files attached, in the order they were attached."""
        return tuple(chip.attachment for chip in self.query_children(AttachmentChip))

    async def add(self, attachment: Attachment) -> bool:
        """Show ``attachment`` as a chip; False (and nothing shown) if the same content
        is attached already."""
        if any(shown.sha256 == attachment.sha256 for shown in self.attachments):
            return False
        await self.mount(AttachmentChip(attachment))
        self.display = True
        return True

    async def remove_chip(self, chip: AttachmentChip) -> None:
        await chip.remove()
        self.display = bool(self.attachments)

    async def clear(self) -> None:
        await self.remove_children(AttachmentChip)
        self.display = False
