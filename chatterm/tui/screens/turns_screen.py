"""What the chat and replay screens share: a conversation of turns above a stats bar."""

from __future__ import annotations

from textual.screen import Screen

from chatterm.tui.widgets.conversation import ConversationView
from chatterm.tui.widgets.stats_bar import StatsBar
from chatterm.tui.widgets.turn import TurnView


class TurnsScreen(Screen[None]):
    """A screen whose replies stream into turns (composed with ``#conversation`` and
    ``#stats``)."""

    @property
    def conversation(self) -> ConversationView:
        return self.query_one("#conversation", ConversationView)

    @property
    def stats(self) -> StatsBar:
        return self.query_one("#stats", StatsBar)

    @property
    def turns(self) -> list[TurnView]:
        """The turns shown, in order (not the columns of a comparison)."""
        return list(self.conversation.query_children(TurnView))
