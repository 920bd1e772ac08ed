"""Small modal dialogs: a yes/no question, and a title to edit."""

from __future__ import annotations

import re
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from chatterm.text import safe_text
from chatterm.tui.bindings import CONFIRM_BINDINGS, RENAME_BINDINGS

DIALOG_CSS = """
    align: center middle;
    & > Vertical {
        width: 70;
        max-width: 100%;
        height: auto;
        padding: 1 2;
        background: $surface;
        border: round $primary;
    }
    & .hint {
        color: $text-muted;
        margin: 1 0 0 0;
    }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Asks ``question``; dismissed with True for y, False for n or Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [*CONFIRM_BINDINGS]
    DEFAULT_CSS = "ConfirmScreen {" + DIALOG_CSS + "}"

    def __init__(self, question: str, hint: str = "y: yes · n or Esc: no") -> None:
        super().__init__()
        self.question = question
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content(safe_text(self.question)), id="question")
            yield Static(Content(self.hint), classes="hint")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)


# Control characters (C0, DEL, C1) would reach the terminal raw from an Input: the
# pre-filled title is shown without them (whitespace ones as spaces).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def editable_title(title: str) -> str:
    """``title`` as the rename input shows it: control characters left out."""
    return _CONTROLS.sub(lambda m: " " if m.group().isspace() else "", title)


class RenameScreen(ModalScreen[str | None]):
    """An input holding ``title``; dismissed with the new title (Enter), or None (Esc,
    nothing but spaces, or Enter on the title as it was: nothing to save).

    The input holds the title as it is written (an Input shows text, never markup), less
    any control character; so Enter without an edit leaves a title that has them as it
    was, rather than saving it without them (or with their pictures).
    """

    BINDINGS: ClassVar[list[BindingType]] = [*RENAME_BINDINGS]
    DEFAULT_CSS = "RenameScreen {" + DIALOG_CSS + "}"

    def __init__(self, title: str) -> None:
        super().__init__()
        self.old_title = title
        self.shown_title = editable_title(title)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content("Rename the chat"))
            yield Input(value=self.shown_title, id="title", select_on_focus=False)
            yield Static(Content("Enter: save · Esc: cancel"), classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value == self.shown_title:
            self.dismiss(None)  # not edited: the title stays exactly as it is
            return
        title = " ".join(event.value.split())
        self.dismiss(title or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
