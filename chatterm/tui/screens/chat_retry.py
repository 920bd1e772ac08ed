"""Retrying a reply that did not finish, for the chat screen.

A reply that ended cancelled, interrupted or in an error can be sent again with the retry
key: a new turn with the same prompt (and its files), on the current model. The failed turn
stays on screen and in the session file, but it is no longer sent as context
(:func:`chatterm.sessions.model.sent_turns`): the model sees the prompt once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.screen import Screen

from chatterm.events import CLEAN_FINISHES, Attachment, Message
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import Turn
from chatterm.tui.bindings import RETRY


def can_retry(turn: Turn) -> bool:
    """A reply that ended without finishing (not one still streaming)."""
    return turn.finish_reason is not None and turn.finish_reason not in CLEAN_FINISHES


class RetryActions(Screen[None]):
    """The retry key, for the chat screen, which sets ``keeper`` and provides the rest."""

    keeper: SessionKeeper

    if TYPE_CHECKING:  # the chat screen's own

        def _busy(self) -> bool: ...

        def ready_to_send(self) -> bool: ...

        def key_of(self, binding: Binding) -> str: ...

        async def send(
            self,
            prompt: str,
            history: Sequence[Message] | None = None,
            *,
            attachments: Sequence[Attachment] = (),
        ) -> None: ...

    def _failed_turn(self) -> Turn | None:
        """The session's last turn, if its reply ended without finishing."""
        session = self.keeper.session
        if session is None or not session.turns or not can_retry(session.turns[-1]):
            return None
        return session.turns[-1]

    def _retry_hint(self) -> str | None:
        if self._failed_turn() is None:
            return None
        return f"{self.key_of(RETRY)} retries"

    async def action_retry(self) -> None:
        """Send the last prompt again, as a new turn on the current model, after the
        conversation before it (the failed reply is not sent)."""
        if self._busy():
            return
        failed = self._failed_turn()
        if failed is None:
            self.notify("Nothing to retry: the last reply finished.", markup=False, timeout=3)
            return
        if not self.ready_to_send():
            return
        # The failed attempts with this prompt are not sent: the model sees it once.
        attachments = self.keeper.attachments_of(failed)
        await self.send(failed.prompt, self.keeper.history(failed.prompt), attachments=attachments)
