"""The context meter of the chat screen: how full the conversation is, and the check that
stops a request that cannot fit.

The stats bar shows the active path's size against the current model's context window
(:func:`~chatterm.sessions.context.context_use`: ``~12.3k / 200k · 6%``, ``~`` where part is
estimated), updated when a reply ends, a session is shown and the model changes (the window
is the new model's). Past ``context_warning`` of the window (0.8 by default) the meter turns
to the warning colour, and the first time it does for a conversation and model a
notification says what happens next. A prompt whose request would be over the window is
not sent: one line says so and how to make room, instead of paying for the server's 400.
An unknown window is shown as unknown and never stops a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from textual.screen import Screen

from chatterm.config import Settings
from chatterm.providers.registry import ResolvedModel
from chatterm.sessions.context import ContextUse, context_use, format_tokens, meter_text
from chatterm.sessions.keeper import SessionKeeper
from chatterm.text import safe_text
from chatterm.tui.bindings import NEW_SESSION, PICK_MODEL, key_label
from chatterm.tui.widgets.stats_bar import StatsBar


class ContextMeter(Screen[None]):
    """The meter and the check, for the chat screen, which sets ``settings``, ``env``,
    ``keeper``, ``keymap`` and ``model_ref`` and provides ``stats``."""

    settings: Settings
    env: Mapping[str, str]
    keeper: SessionKeeper
    keymap: Mapping[str, str]
    model_ref: str
    #: the conversation and model the warning was last given for, not to repeat it
    _context_warned: tuple[str | None, str] | None = None

    if TYPE_CHECKING:  # the chat screen's own

        @property
        def stats(self) -> StatsBar: ...

    def context_window_of(self, ref: str) -> int | None:
        from chatterm.catalogue.listing import (
            context_window,  # the model list's facts: loaded after the first frame
        )

        return context_window(ref, self.settings, self.env)

    def context_of(self, ref: str, next_prompt: str = "") -> ContextUse:
        """The size of the active path (and ``next_prompt``) against ``ref``'s window."""
        session = self.keeper.session
        turns = session.turns if session is not None else []
        return context_use(turns, self.keeper.system, self.context_window_of(ref), next_prompt)

    def show_context(self) -> None:
        """Update the meter for the current model (and warn once past the share set)."""
        use = self.context_of(self.model_ref)
        share = use.share
        warning = share is not None and share >= self.settings.context_warning
        self.stats.show_context(meter_text(use), warning=warning)
        session = self.keeper.session
        place = (session.id if session is not None else None, self.model_ref)
        if not warning:
            return
        if self._context_warned == place:
            return
        self._context_warned = place
        assert use.window is not None and share is not None
        self.notify(
            safe_text(
                f"This chat fills {share * 100:.0f}% of {self.model_ref}'s "
                f"{format_tokens(use.window)}-token context. A prompt that would not fit is "
                f"not sent: {self._making_room()}."
            ),
            severity="warning",
            markup=False,
            timeout=8,
        )

    def _making_room(self) -> str:
        return (
            f"start a new chat ({key_label(NEW_SESSION, self.keymap)}) or choose a model "
            f"with a larger window ({key_label(PICK_MODEL, self.keymap)})"
        )

    def context_allows(self, prompt: str, targets: Sequence[ResolvedModel]) -> bool:
        """Whether the request sending ``prompt`` fits each target's window; if not, say
        so in one line (naming the model) and make no request."""
        for target in targets:
            use = self.context_of(target.ref, prompt)
            if use.over():
                assert use.window is not None
                self.notify(
                    safe_text(
                        f"Not sent: this request needs about {format_tokens(use.tokens)} "
                        f"tokens, more than {target.ref}'s {format_tokens(use.window)}-token "
                        f"context. To go on, {self._making_room()}."
                    ),
                    severity="error",
                    markup=False,
                    timeout=10,
                )
                return False
        return True
