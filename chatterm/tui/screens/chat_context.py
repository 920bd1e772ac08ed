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

Compaction, only when asked (Alt+S, or ``Summarize`` in the palette): a model picked from
the model list (the current one highlighted) writes a summary of the conversation, as a
turn of its own marked as a summary (``compacts`` in the session). From then on the history
sent is the summary and the turns after it; the turns it stands for stay in the session and
on screen, folded to their prompts. A summary that fails compacts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from textual.screen import Screen

from chatterm.config import Settings
from chatterm.events import CLEAN_FINISHES, Attachment, Message
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.accumulate import Reply
from chatterm.sessions.context import (
    COMPACT_PROMPT,
    ContextUse,
    context_use,
    format_tokens,
    meter_text,
)
from chatterm.sessions.keeper import SessionKeeper
from chatterm.text import safe_text
from chatterm.tui.bindings import COMPACT, NEW_SESSION, PICK_MODEL, key_label
from chatterm.tui.widgets.stats_bar import StatsBar

if TYPE_CHECKING:
    from chatterm.tui.screens.model_picker import ModelPickerScreen


class ContextMeter(Screen[None]):
    """The meter and the check, for the chat screen, which sets ``settings``, ``env``,
    ``keeper``, ``keymap`` and ``model_ref`` and provides ``stats``."""

    settings: Settings
    env: Mapping[str, str]
    keeper: SessionKeeper
    keymap: Mapping[str, str]
    model_ref: str
    discover_models: bool
    #: the conversation and model the warning was last given for, not to repeat it
    _context_warned: tuple[str | None, str] | None = None

    if TYPE_CHECKING:  # the chat screen's own

        @property
        def stats(self) -> StatsBar: ...

        def _busy(self) -> bool: ...

        def model_picker(self, title: str | None = None) -> ModelPickerScreen: ...

        def usable_model(self, ref: str, doing: str) -> ResolvedModel | None: ...

        async def show_session(self, *, adopt_model: bool = True) -> None: ...

        async def send(
            self,
            prompt: str,
            history: Sequence[Message] | None = None,
            *,
            target: ResolvedModel | None = None,
            compacts: bool = False,
        ) -> None: ...

    def context_window_of(self, ref: str) -> int | None:
        from chatterm.catalogue.listing import (
            context_window,  # the model list's facts: loaded after the first frame
        )

        return context_window(ref, self.settings, self.env)

    def context_of(
        self, ref: str, next_prompt: str = "", attachments: Sequence[Attachment] = ()
    ) -> ContextUse:
        """The size of the active path (and ``next_prompt`` with its ``attachments``)
        against ``ref``'s window."""
        session = self.keeper.session
        turns = session.turns if session is not None else []
        window = self.context_window_of(ref)
        return context_use(turns, self.keeper.system, window, next_prompt, attachments)

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
            f"summarize the chat so far ({key_label(COMPACT, self.keymap)}), start a new "
            f"chat ({key_label(NEW_SESSION, self.keymap)}) or choose a model with a larger "
            f"window ({key_label(PICK_MODEL, self.keymap)})"
        )

    # -- compaction -------------------------------------------------------------------

    def action_compact(self) -> None:
        """Choose the model that writes the summary (the current one highlighted)."""
        if self._busy():
            return
        session = self.keeper.session
        if session is None or not session.turns:
            self.notify("Nothing to summarize yet.", markup=False, timeout=3)
            return
        picker = self.model_picker(title="Summarize the chat with")
        self.app.push_screen(picker, self._summarize_with)

    async def _summarize_with(self, ref: str | None) -> None:
        if ref is None or self._busy():
            return
        target = self.usable_model(ref, "summarize")
        if target is None or not self.context_allows(COMPACT_PROMPT, [target]):
            return
        await self.send(COMPACT_PROMPT, target=target, compacts=True)

    def summary_ended(self, reply: Reply) -> None:
        """A summary's reply ended: fold what it stands for, or say nothing changed."""
        if reply.finish_reason in CLEAN_FINISHES and reply.text:
            session = self.keeper.session
            count = len(session.turns) - 1 if session is not None else 0
            self.notify(
                f"Summarized {count} turn{'' if count == 1 else 's'}: from now on the "
                "summary is sent instead of them (they stay in the session).",
                markup=False,
                timeout=5,
            )
            self.call_later(self.show_session, adopt_model=False)
        else:
            self.notify(
                "The summary did not finish: nothing was compacted.",
                severity="warning",
                markup=False,
            )

    def context_allows(
        self,
        prompt: str,
        targets: Sequence[ResolvedModel],
        attachments: Sequence[Attachment] = (),
    ) -> bool:
        """Whether the request sending ``prompt`` (with ``attachments``) fits each target's
        window; if not, say so in one line (naming the model) and make no request."""
        for target in targets:
            use = self.context_of(target.ref, prompt, attachments)
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
