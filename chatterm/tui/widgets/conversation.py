"""The scrolling conversation, shared by the chat and the replay, and its welcome text.

A recorded conversation (a session opened from disk) is shown on its latest turns:
mounting every turn of a long session took seconds (README, Performance). The earlier
turns wait behind a line that says how many there are, and a batch of them is mounted
above the others whenever the view is scrolled to the top (or the line is clicked), the
view staying on what it showed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual import events, on
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from chatterm.sessions.model import Turn, sent_turns
from chatterm.text import safe_text
from chatterm.tui.bindings import (
    ATTACH_FILE,
    CANCEL,
    COMMAND_PALETTE,
    COMPARE,
    COPY_ANSWER,
    CYCLE_EFFORT,
    NEW_SESSION,
    NEWLINE,
    NEXT_MODEL,
    PICK_MODEL,
    PICK_ROLE,
    QUIT,
    SEND,
    SESSIONS,
    TOGGLE_REASONING,
    key_label,
)
from chatterm.tui.compat import NoLayoutOnResize
from chatterm.tui.widgets.compare import CompareView
from chatterm.tui.widgets.reasoning_pane import ReasoningPane
from chatterm.tui.widgets.turn import TurnView

TURNS_SHOWN = 20  # a recorded conversation shows its latest turns; earlier ones a batch at a time


class EarlierTurns(Static):
    """Stands for the turns of an opened session not shown yet, above the ones that are.

    A long session opens on its latest turns; the earlier ones are shown a batch at a
    time when the view is scrolled to the top or this line is clicked.
    """

    class Wanted(Message):
        """Show another batch of earlier turns."""

    def __init__(self) -> None:
        super().__init__(id="earlier-turns")
        self.count = 0
        self.display = False

    def set_count(self, count: int) -> None:
        self.count = count
        self.display = count > 0
        noun = "turn" if count == 1 else "turns"
        self.update(Content(f"↑ {count} earlier {noun}: scroll up or click to show them"))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Wanted())


class ConversationView(NoLayoutOnResize, VerticalScroll):
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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._earlier: list[Turn] = []  # recorded turns not mounted yet, oldest first
        self._alternatives: list[tuple[int, int]] = []  # of every recorded turn, in order
        self._summary_at = 0  # the turns before this one are summarized by it: folded
        self._shown = 0  # counts show_recorded calls, for batches mounted meanwhile
        # From show_recorded until the new turns are laid out and the view is at their
        # end: the view's moves meanwhile (to the top as the old turns go) are not the
        # user's, and must not bring in the earlier turns.
        self._placing = False

    def on_mount(self) -> None:
        self.watch(self, "scroll_y", self._scrolled, init=False)

    @property
    def earlier_turns(self) -> EarlierTurns:
        """The line standing for the turns not shown yet (the screen composes it)."""
        return self.query_one(EarlierTurns)

    async def show_recorded(
        self,
        turns: Sequence[Turn],
        *,
        reasoning_collapsed: bool,
        alternatives: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Show these recorded turns instead of any turn shown: the latest at once, the
        earlier ones on demand. ``alternatives`` gives, for each turn, which alternative at
        its place it is and how many there are (none given: one each)."""
        self._alternatives = list(alternatives) or [(1, 1)] * len(turns)
        self._summary_at = summary_position(turns)
        # Forget the earlier turns first: removing the views scrolls to the top, which
        # would show the previous ones.
        self._earlier = []
        self._shown += 1
        self._placing = True
        self.earlier_turns.set_count(0)
        await self.remove_children(
            [*self.query_children(TurnView), *self.query_children(CompareView)]
        )
        if not turns:
            self._placing = False
            return
        self._earlier = list(turns[:-TURNS_SHOWN])
        await self._mount_recorded(turns[-TURNS_SHOWN:], reasoning_collapsed)
        self.earlier_turns.set_count(len(self._earlier))
        self.scroll_end(animate=False)
        self.call_after_refresh(self._fill_view)

    async def _mount_recorded(self, turns: Sequence[Turn], reasoning_collapsed: bool) -> None:
        """Mount turns above those shown (below the earlier-turns line)."""
        views = [
            TurnView(
                turn.prompt,
                turn.model,
                reasoning_collapsed=reasoning_collapsed,
                summary=turn.compacts,
                attachments=turn.attachments,
            )
            for turn in turns
        ]
        await self.mount_all(views, after=self.earlier_turns)
        first = len(self._earlier)  # the position of the first of these turns
        for offset, (view, turn) in enumerate(zip(views, turns, strict=True)):
            if first + offset < len(self._alternatives):
                view.set_alternative(*self._alternatives[first + offset])
            if first + offset < self._summary_at:
                view.fold()
            view.show_recorded(turn.to_reply())

    def _scrolled(self, scroll_y: float) -> None:
        if scroll_y <= 0 and self._earlier and not self._placing:
            self.call_later(self.show_earlier_turns)

    def _fill_view(self) -> None:
        """Turns that fit without scrolling leave nothing to scroll up with: show more."""
        self._placing = False
        if self._earlier and not self.max_scroll_y:
            self.call_later(self.show_earlier_turns)

    @on(EarlierTurns.Wanted)
    async def show_earlier_turns(self) -> None:
        """Mount the batch of earlier turns above the first one shown, where the view
        stays on what it showed."""
        if not self._earlier:
            return
        batch, self._earlier = self._earlier[-TURNS_SHOWN:], self._earlier[:-TURNS_SHOWN]
        height, scroll_y = self.virtual_size.height, self.scroll_y
        shown = self._shown
        self.earlier_turns.set_count(len(self._earlier))
        # Reasoning folded as on the turns shown (Ctrl+R folds them all alike).
        collapsed = self.query(ReasoningPane).first().collapsed
        await self._mount_recorded(batch, collapsed)
        if shown != self._shown:
            return  # other turns were shown meanwhile: they removed these

        def keep_place() -> None:
            self.scroll_to(y=scroll_y + self.virtual_size.height - height, animate=False)
            self._fill_view()

        self.call_after_refresh(keep_place)


def summary_position(turns: Sequence[Turn]) -> int:
    """The position in ``turns`` of the summary that stands for the turns before it (the
    history sent starts with it: :func:`~chatterm.sessions.model.sent_turns`); 0 when none
    does."""
    sent = sent_turns(turns)
    if not sent or not sent[0].compacts:
        return 0
    return next(i for i, turn in enumerate(turns) if turn is sent[0])


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
            (COMPARE, "compares models side by side"),
            (PICK_ROLE, "picks a role"),
            (ATTACH_FILE, "attaches a file"),
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
