"""The chat screen's branching keys: regenerate, flip between alternatives, edit an earlier
prompt, undo the last exchange, and the turn selection they act on.

Nothing is thrown away: each key changes the session's active path
(:class:`~chatterm.sessions.model.Session`), and every reply ever written stays in the tree
and the file. The screen shows the active path again after each change (as it shows a
session opened from disk), and each turn with alternatives says which it is (``◀ 2/3 ▶``).
The next prompt follows the active path: that is the history sent.

A selected turn (Alt+Up/Alt+Down) is where regenerate, edit and the alternative keys act;
with none selected they act on the last turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from chatterm.events import Attachment, Message
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import Session
from chatterm.tui.bindings import REDO_EXCHANGE, REGENERATE, key_label
from chatterm.tui.screens.turns_screen import TurnsScreen
from chatterm.tui.widgets.prompt import PromptArea
from chatterm.tui.widgets.turn import TurnView


class BranchActions(TurnsScreen):
    """Branching for the chat screen, which sets ``keeper`` and ``keymap``, overrides
    :meth:`_busy` and :meth:`ready_to_send`, and provides ``prompt``, ``show_session`` and
    ``send``."""

    keeper: SessionKeeper
    keymap: Mapping[str, str]
    selected: int | None = None  # a position in the active path; None: the last turn
    editing: int | None = None  # the position whose prompt the prompt box is rewriting

    # -- what the chat screen provides ------------------------------------------------------

    def _busy(self) -> bool:
        return False

    def ready_to_send(self) -> bool:
        return True

    if TYPE_CHECKING:  # the chat screen's own (it comes first in the chat screen's bases)

        async def show_session(self, *, adopt_model: bool = True) -> None: ...

        async def send(
            self,
            prompt: str,
            history: Sequence[Message] | None = None,
            *,
            attachments: Sequence[Attachment] = (),
        ) -> None: ...

        @property
        def prompt(self) -> PromptArea: ...

    # -- the turn acted on ------------------------------------------------------------------

    def _session(self) -> Session | None:
        session = self.keeper.session
        return session if session is not None and session.turns else None

    def _position(self) -> int | None:
        session = self._session()
        if session is None:
            return None
        if self.selected is not None and self.selected < len(session.turns):
            return self.selected
        return len(session.turns) - 1

    def mark_alternatives(self, view: TurnView, position: int) -> None:
        """Say on ``view`` which alternative at ``position`` it shows."""
        session = self.keeper.session
        if session is not None and position < len(session.turns):
            view.set_alternative(*session.places()[position])

    async def action_select_turn(self, step: int) -> None:
        """Move the selection up or down the conversation; past the last turn, none."""
        session = self._session()
        if session is None:
            return
        count = len(session.turns)
        current = count if self.selected is None else self.selected
        target = max(current + step, 0)
        self.selected = target if target < count else None
        await self._show_selection()

    async def _show_selection(self) -> None:
        session = self._session()
        views = self.turns
        if session is None or not views:
            return
        if self.selected is not None:
            while len(session.turns) - len(views) > self.selected:  # not mounted yet
                before = len(views)
                await self.conversation.show_earlier_turns()
                views = self.turns
                if len(views) == before:
                    break
        first = len(session.turns) - len(views)
        for offset, view in enumerate(views):
            view.set_class(first + offset == self.selected, "-selected")
            if first + offset == self.selected:
                view.scroll_visible(animate=False, top=True)
        if self.selected is None:
            self.conversation.scroll_end(animate=False)

    # -- regenerate, alternatives, undo -----------------------------------------------------

    async def action_regenerate(self) -> None:
        """Ask again at the selected turn (or the last), on the current model: the new
        reply is an alternative of the old, which is kept."""
        if self._busy():
            return
        session, position = self._session(), self._position()
        if session is None or position is None:
            self.notify("Nothing to regenerate yet.", markup=False, timeout=3)
            return
        if not self.ready_to_send():
            return
        self.leave_editing()
        asked = session.turns[position]
        attachments = self.keeper.attachments_of(asked)  # the prompt's files go again
        session.rewind(position)
        self.selected = None
        await self.show_session(adopt_model=False)
        await self.send(asked.prompt, self.keeper.history(asked.prompt), attachments=attachments)

    async def action_alternative(self, step: int) -> None:
        """Show the previous or next alternative at the selected turn (or the last)."""
        if self._busy():
            return
        session, position = self._session(), self._position()
        if session is None or position is None:
            return
        alternatives = session.alternatives(position)
        if len(alternatives) < 2:
            regenerate = key_label(REGENERATE, self.keymap)
            self.notify(
                f"This turn has one reply: {regenerate} asks for another.",
                markup=False,
                timeout=3,
            )
            return
        shown = alternatives.index(session.path[position])
        session.show(alternatives[(shown + step) % len(alternatives)])
        self.keeper.path_changed()
        self.selected = position if position < len(session.turns) - 1 else None
        await self.show_session(adopt_model=False)
        await self._show_selection()

    async def action_undo_exchange(self) -> None:
        """Take the last exchange off the active path; it stays in the session."""
        if self._busy():
            return
        session = self._session()
        if session is None:
            self.notify("Nothing to undo.", markup=False, timeout=3)
            return
        self.leave_editing()
        position = len(session.turns) - 1
        session.rewind(position)
        self.keeper.path_changed()
        self.selected = None
        await self.show_session(adopt_model=False)
        follows = f"follows turn {position}" if position else "starts the conversation afresh"
        self.notify(
            f"Undone: turn {position + 1} is kept in the session, and "
            f"{key_label(REDO_EXCHANGE, self.keymap)} brings it back. The next prompt "
            f"{follows}.",
            markup=False,
            timeout=5,
        )

    async def action_redo_exchange(self) -> None:
        """Bring back the exchange undone last, with the turns after it in its branch."""
        if self._busy():
            return
        session = self.keeper.session
        undone = session.undone() if session is not None else None
        if session is None or undone is None:
            self.notify("Nothing to redo.", markup=False, timeout=3)
            return
        self.leave_editing()
        session.show(undone)
        self.keeper.path_changed()
        self.selected = None
        await self.show_session(adopt_model=False)

    # -- editing an earlier prompt ----------------------------------------------------------

    async def action_edit_prompt(self) -> None:
        """Put the selected turn's prompt (or the last) in the prompt box; sending it
        starts a new branch at that turn."""
        if self._busy():
            return
        session, position = self._session(), self._position()
        if session is None or position is None:
            self.notify("No prompt to edit yet.", markup=False, timeout=3)
            return
        self.editing = position
        prompt = self.prompt
        prompt.load_text(session.turns[position].prompt)
        prompt.move_cursor(prompt.document.end)
        prompt.border_title = (
            f"editing turn {position + 1}: Enter sends it as a new branch "
            f"(the old one is kept), Esc leaves it"
        )
        prompt.focus()

    def leave_editing(self) -> bool:
        """Stop rewriting an earlier prompt (the box is emptied); False if it was not. The
        conversation changing under it (a new chat, another session, undo, regenerate)
        ends it too."""
        if self.editing is None:
            return False
        self.editing = None
        self.selected = None
        self.prompt.border_title = None
        self.prompt.clear()
        return True

    async def branch_for_send(self, text: str) -> Sequence[Message] | None:
        """Before a prompt is sent: when it rewrites an earlier one, cut the active path
        there and give the history it follows; otherwise None (the whole conversation)."""
        position, self.editing = self.editing, None
        self.prompt.border_title = None
        if self.selected is not None:
            self.selected = None
            await self._show_selection()
        session = self._session()
        if position is None or session is None or position >= len(session.turns):
            return None
        session.rewind(position)
        await self.show_session(adopt_model=False)
        return self.keeper.history(text)
