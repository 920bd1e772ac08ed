"""The scrolling conversation, shared by the chat and the replay, and its welcome text."""

from __future__ import annotations

from collections.abc import Mapping

from textual import events
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from chatterm.render.safe_text import safe_text
from chatterm.tui.bindings import (
    CANCEL,
    COMMAND_PALETTE,
    COPY_ANSWER,
    CYCLE_EFFORT,
    NEW_SESSION,
    NEWLINE,
    NEXT_MODEL,
    PICK_MODEL,
    QUIT,
    SEND,
    SESSIONS,
    TOGGLE_REASONING,
    key_label,
)


class ConversationView(VerticalScroll):
    """The scrolling list of turns; pinned to the bottom unless the user scrolls up."""

    DEFAULT_CSS = """
    ConversationView {
        height: 1fr;
        padding: 1 1 0 1;
        scrollbar-gutter: stable;
    }
    ConversationView > #welcome, ConversationView > EarlierTurns {
        padding: 0 1;
        margin: 0 0 1 0;
        color: $text-muted;
    }
    """


class EarlierTurns(Static):
    """Stands for the turns of an opened session not shown yet, above the ones that are.

    Mounting a turn costs ~20 ms, so a long session opens on its latest turns; the
    earlier ones are shown a batch at a time when the view is scrolled to the top or
    this line is clicked.
    """

    class Wanted(Message):
        """Show another batch of earlier turns."""

    def __init__(self) -> None:
        super().__init__(id="earlier-turns")
        self.count = 0

    def set_count(self, count: int) -> None:
        self.count = count
        self.display = count > 0
        noun = "turn" if count == 1 else "turns"
        self.update(Content(f"↑ {count} earlier {noun}: scroll up or click to show them"))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Wanted())


def welcome(notice: str | None, keymap: Mapping[str, str] | None = None) -> Content:
    """What the empty conversation shows: the keys (as ``keymap`` has them), and the
    start-up notice if any."""
    keys = [
        (safe_text(key_label(binding, keymap)), what)
        for binding, what in (
            (SEND, "sends"),
            (NEWLINE, "inserts a newline"),
            (CANCEL, "cancels a reply"),
            (TOGGLE_REASONING, "shows or hides reasoning"),
            (NEXT_MODEL, "switches model"),
            (PICK_MODEL, "lists models"),
            (CYCLE_EFFORT, "sets the reasoning effort"),
            (COPY_ANSWER, "copies the last answer"),
            (NEW_SESSION, "starts a new chat"),
            (SESSIONS, "lists saved chats"),
            (COMMAND_PALETTE, "lists every action, model and theme"),
            (QUIT, "quits"),
        )
    ]
    pieces: list[str | tuple[str, str]] = [("chatterm", "bold $text-primary"), "  "]
    for index, (key, what) in enumerate(keys):
        if index:
            pieces.append(", ")
        pieces.extend([(key, "bold"), f" {what}"])
    pieces.append(".")
    if notice:
        pieces.extend(["\n\n", (safe_text(notice), "$text-warning")])
    return Content.assemble(*pieces)
