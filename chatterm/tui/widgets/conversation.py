"""The scrolling conversation, shared by the chat and the replay, and its welcome text."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content

from chatterm.render.safe_text import safe_text
from chatterm.tui.bindings import (
    CANCEL,
    NEW_SESSION,
    NEWLINE,
    NEXT_MODEL,
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
    ConversationView > #welcome {
        padding: 0 1;
        margin: 0 0 1 0;
        color: $text-muted;
    }
    """


def welcome(notice: str | None) -> Content:
    """What the empty conversation shows: the keys, and the start-up notice if any."""
    keys = [
        (key_label(SEND), "sends"),
        (key_label(NEWLINE), "inserts a newline"),
        (key_label(CANCEL), "cancels a reply"),
        (key_label(TOGGLE_REASONING), "shows or hides reasoning"),
        (key_label(NEXT_MODEL), "switches model"),
        (key_label(NEW_SESSION), "starts a new chat"),
        (key_label(SESSIONS), "lists saved chats"),
        (key_label(QUIT), "quits"),
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
