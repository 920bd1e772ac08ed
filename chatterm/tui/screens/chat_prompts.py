"""Composing the message, for the chat screen: in the user's own editor, and from the
prompts written before (this chat's on Up in the empty prompt box, every saved chat's in
the past-prompts search, :mod:`chatterm.tui.screens.prompt_search`).

The editor key hands the terminal over (:meth:`textual.app.App.suspend`) to ``$VISUAL``,
else ``$EDITOR``, on the prompt's text (:mod:`chatterm.tui.external_editor`), and puts
what it gives back in the prompt box, not sent. The event loop stands still meanwhile, so
the key waits while a reply streams (its time limits would run out). Every way it can
fail leaves the prompt as it was and says why in one line: no editor set, one that cannot
be started or exits non-zero, a temporary file that cannot be written or read, a terminal
that cannot be handed over (Textual's headless driver, which tests run on, cannot).
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import SuspendNotSupported
from textual.notifications import SeverityLevel
from textual.screen import Screen

from chatterm.sessions.keeper import SessionKeeper
from chatterm.text import safe_text
from chatterm.tui.widgets.prompt import PromptArea
from chatterm.tui.widgets.turn import TurnView


class PromptComposing(Screen[None]):
    """The chat screen's editor and past-prompts keys, and the prompts the prompt box
    recalls.

    The chat screen sets ``env`` (where ``$VISUAL`` and ``$EDITOR`` are read) and
    ``keeper`` (whose store's folder holds the saved chats), and overrides :meth:`_busy`.
    """

    env: Mapping[str, str]
    keeper: SessionKeeper

    def _busy(self) -> bool:
        return False

    def _prompt_box(self) -> PromptArea:
        return self.query_one(PromptArea)

    def past_prompts(self) -> list[str]:
        """The prompts of this chat's active path, oldest first (also the earlier turns of
        a long session not mounted yet), else of the turns on screen: what Up recalls in
        the empty prompt box."""
        session = self.keeper.session
        if session is not None and session.turns:
            return [turn.prompt for turn in session.turns]
        return [turn.prompt for turn in self.query(TurnView)]

    def action_open_editor(self) -> None:
        """Write the message in the user's editor; it comes back to the prompt box."""
        from chatterm.tui.external_editor import (  # the first time the key is pressed
            Edited,
            edit_in_editor,
            editor_command,
        )

        if self._busy():
            return
        command, problem = editor_command(self.env)
        if command is None:
            self._say(problem or "no editor", "warning")
            return
        box = self._prompt_box()
        try:
            with self.app.suspend():
                # Nothing may escape this block: the app would stay suspended.
                try:
                    edited = edit_in_editor(box.text, command)
                except Exception as error:  # noqa: BLE001 - said, and the app comes back
                    edited = Edited(None, f"the editor failed: {type(error).__name__}: {error}")
        except SuspendNotSupported:
            self._say(
                "This terminal cannot be handed over to an editor (the app cannot suspend "
                "here); the prompt is left as it was.",
                "warning",
            )
            return
        box.focus()
        if edited.text is None:
            self._say(edited.problem or "the editor failed", "error")
            return
        box.put_text(edited.text)
        if edited.note is not None:
            self._say(edited.note, "warning")

    def action_search_prompts(self) -> None:
        """List every saved chat's prompts; the one chosen goes to the prompt box."""
        from chatterm.tui.screens.prompt_search import (
            PromptSearchScreen,  # imported when first opened: start-up does without it
        )

        self.app.push_screen(PromptSearchScreen(self.keeper.store.folder), self._prompt_chosen)

    def _prompt_chosen(self, text: str | None) -> None:
        box = self._prompt_box()
        if text is not None:
            box.put_text(text)
        box.focus()

    def _say(self, message: str, severity: SeverityLevel) -> None:
        self.notify(safe_text(message), severity=severity, markup=False)
