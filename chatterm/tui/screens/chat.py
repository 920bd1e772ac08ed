"""The chat screen: the conversation, the prompt, the stats bar, and the reply in flight.

Data flow for one reply: the prompt posts ``Submitted``; the screen mounts a
:class:`~chatterm.tui.widgets.turn.TurnView` and starts :meth:`ChatScreen._run_reply`, an
exclusive worker that pumps the :class:`~chatterm.reply.live.ReplyStream` into the turn,
the session's recorder and the retry notice's watch (:func:`chatterm.reply.sink.pump`).
The turn batches its own frames; on each it calls :meth:`ChatScreen._on_frame` for the
live stats. Esc cancels the worker; the partial reply is kept on screen and in the
session, marked cancelled.

A reply that ended cancelled, interrupted or in an error can be sent again with the retry
key (:mod:`chatterm.tui.screens.chat_retry`).

However the worker ends (done, failed, cancelled, even cancelled before it ever ran),
:meth:`ChatScreen._end_when_done` waits for it and then ends the turn, in one place:
:meth:`ChatScreen._end_reply`. The HTTP client comes from the app's
:class:`~chatterm.tui.clients.ClientPool`, one per provider, kept between turns.

Every chat is a session (:class:`~chatterm.sessions.keeper.SessionKeeper`): each reply
is recorded as it streams (the pump feeds the recorder, each frame checkpoints it, and
the reply's end records how it ended), and the history sent and the session cost shown
come from the session's turns. A session opened from disk is shown turn by turn as
recorded (its latest turns first, see :mod:`chatterm.tui.widgets.conversation`) and
continues in the same file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from chatterm.config import Settings
from chatterm.errors import ChattermError
from chatterm.events import (
    Attachment,
    Conversation,
    Message,
    ReasoningEffort,
)
from chatterm.pricing import Cost
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.sink import end_sinks, pump
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import Session
from chatterm.sessions.store import SessionError
from chatterm.text import safe_text
from chatterm.tui.bindings import CANCEL, CHAT_BINDINGS, REDO_EXCHANGE, key_label
from chatterm.tui.clients import ClientPool
from chatterm.tui.memory import freeze_when_due, settle_memory
from chatterm.tui.remembered import Remembered
from chatterm.tui.screens.chat_attachments import AttachmentActions
from chatterm.tui.screens.chat_compare import CompareActions
from chatterm.tui.screens.chat_context import ContextMeter
from chatterm.tui.screens.chat_models import ModelSwitching
from chatterm.tui.screens.chat_prompts import PromptComposing
from chatterm.tui.screens.chat_retry import RetryActions
from chatterm.tui.screens.chat_roles import RoleChoosing
from chatterm.tui.screens.chat_transcript import TranscriptActions
from chatterm.tui.screens.reply_in_flight import LiveReply
from chatterm.tui.screens.turns_screen import TurnsScreen
from chatterm.tui.widgets.attachment_chips import AttachmentChips
from chatterm.tui.widgets.compare_column import ColumnView
from chatterm.tui.widgets.conversation import ConversationView, EarlierTurns, welcome
from chatterm.tui.widgets.prompt import PromptArea
from chatterm.tui.widgets.reasoning_pane import ReasoningPane
from chatterm.tui.widgets.stats_bar import StatsBar
from chatterm.tui.widgets.steady_footer import SteadyFooter
from chatterm.tui.widgets.turn import TurnView

if TYPE_CHECKING:
    from chatterm.network.stream import Clock, Sleep
    from chatterm.tui.screens.sessions import OpenSession

SETTLE_AFTER_S = 0.25  # after a reply ends: once its worker and messages are gone, tidy up


def warm_up() -> None:
    """Import what the first reply needs, off the event loop and after the first frame:
    the price table, and httpx with the streaming pipeline, which the start-up leaves out
    to paint sooner."""
    import chatterm.network.stream  # noqa: F401
    import chatterm.reply.live  # noqa: F401
    from chatterm.pricing import warm_up_prices

    warm_up_prices()


class ChatScreen(
    RetryActions,
    RoleChoosing,
    ModelSwitching,
    TranscriptActions,
    CompareActions,
    ContextMeter,
    AttachmentActions,
    PromptComposing,
    TurnsScreen,
):
    """One conversation with a model that can be switched between turns.

    The model and effort keys are :class:`~chatterm.tui.screens.chat_models.ModelSwitching`'s,
    the roles :class:`~chatterm.tui.screens.chat_roles.RoleChoosing`',
    the copy and export keys :class:`~chatterm.tui.screens.chat_transcript.TranscriptActions`',
    comparing models :class:`~chatterm.tui.screens.chat_compare.CompareActions`', the
    context meter :class:`~chatterm.tui.screens.chat_context.ContextMeter`'s, and the
    branching keys :class:`~chatterm.tui.screens.chat_branches.BranchActions`',
    the editor and past prompts :class:`~chatterm.tui.screens.chat_prompts.PromptComposing`'s,
    attaching files :class:`~chatterm.tui.screens.chat_attachments.AttachmentActions`'.
    """

    BINDINGS: ClassVar[list[BindingType]] = [*CHAT_BINDINGS]

    def __init__(
        self,
        settings: Settings,
        model_ref: str,
        *,
        notice: str | None = None,
        env: Mapping[str, str] | None = None,
        clients: ClientPool,
        clock: Clock,
        keeper: SessionKeeper,
        remembered: Remembered | None = None,
        effort: ReasoningEffort | None = None,
        reasoning_shown: bool = True,
        export_dir: Path | None = None,
        discover_models: bool = True,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.env = os.environ if env is None else env
        self.notice = notice
        self._clients = clients
        self._clock = clock
        self.model_ref = model_ref
        self.target = None
        self.model_problem = None
        self.keeper = keeper
        self.remembered = remembered
        self.effort = effort or settings.reasoning_effort
        self.export_dir = export_dir
        self.discover_models = discover_models
        self.keymap = keymap or {}
        self.reasoning_collapsed = not reasoning_shown
        self.live: LiveReply[TurnView] | None = None
        self.sleep: Sleep = asyncio.sleep  # the wait between attempts (tests make it instant)
        self._worker: Worker[None] | None = None

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with ConversationView(id="conversation"):
            yield Static(welcome(self.notice, self.keymap), id="welcome")
            yield EarlierTurns()
        yield AttachmentChips(id="attachments")
        yield PromptArea(id="prompt", past_prompts=self.past_prompts, keymap=self.keymap)
        yield StatsBar(id="stats")
        yield SteadyFooter()

    @property
    def earlier_turns(self) -> EarlierTurns:
        return self.conversation.earlier_turns

    @property
    def prompt(self) -> PromptArea:
        return self.query_one("#prompt", PromptArea)

    @property
    def history(self) -> list[Message]:
        """What the next prompt follows: the session's prompts and answers (a failed
        reply that was retried left out, see :func:`~chatterm.sessions.model.history_of`)."""
        return self.keeper.history()

    @property
    def costs(self) -> list[Cost | None]:
        """The cost of each reply of the session that has ended."""
        return self.keeper.costs()

    async def on_mount(self) -> None:
        self.title = "chatterm"
        self._select_model(self.model_ref, announce=False)
        self.conversation.anchor()
        self.stats.cancel_key = self.key_of(CANCEL)
        self.stats.show_idle(self.model_ref, self.costs)
        self.prompt.focus()
        self.call_after_refresh(self.run_worker, warm_up, thread=True, exit_on_error=False)
        if self.keeper.session is not None:  # opened on a session (``chatterm --session ID``)
            await self.show_session()

    # -- models (the rest is ModelSwitching's) ------------------------------------------

    def comparison_ended(self) -> None:
        self.show_context()

    def _model_selected(self) -> None:
        if self.live is None and not self.costs:
            self.stats.show_idle(self.model_ref, self.costs)
        self.call_after_refresh(self.show_context)  # the new model's window

    # -- reasoning --------------------------------------------------------------------

    def action_toggle_reasoning(self) -> None:
        self.reasoning_collapsed = not self.reasoning_collapsed
        for pane in self.query(ReasoningPane):
            pane.collapsed = self.reasoning_collapsed
        for column in self.query(ColumnView):
            column.reasoning_collapsed = self.reasoning_collapsed
        if self.remembered is not None:
            self.remembered.update(reasoning_shown=not self.reasoning_collapsed)

    # -- sending ----------------------------------------------------------------------

    @on(PromptArea.Submitted)
    async def _on_submitted(self, event: PromptArea.Submitted) -> None:
        event.stop()
        text = event.text.strip()
        if not text:
            return
        if self._busy():
            return
        attachments = self.attachments_for(text)  # the chips' and @path's
        if attachments is None:
            return
        if self.compare_models is not None:
            targets = self.compare_targets()
            if (
                targets is None
                or self.attachments_refused(targets, attachments)
                or not self.context_allows(text, targets, attachments)
            ):
                return
            await self.keep_chosen()  # the last comparison goes on with its chosen reply
            event.prompt.clear()
            await self.attachments_sent()
            history = await self.branch_for_send(text)
            await self.send_compared(text, targets, history, attachments)
            return
        if not self.ready_to_send():
            return
        assert self.target is not None
        if self.attachments_refused([self.target], attachments) or not self.context_allows(
            text, [self.target], attachments
        ):
            return
        await self.keep_chosen()
        event.prompt.clear()
        await self.attachments_sent()
        history = await self.branch_for_send(text)  # a rewritten earlier prompt: a new branch
        choices = self.settings.choices
        if choices > 1 and self.target is not None:
            refusal = self.target.provider.choices_refusal(self.target.ref)
            if refusal is None:
                await self.send_choices(text, self.target, choices, history, attachments)
                return
            self.notify(
                safe_text(f"{refusal}: one reply (choices = {choices} in the config)."),
                severity="warning",
                markup=False,
            )
        await self.send(text, history, attachments=attachments)

    def ready_to_send(self) -> bool:
        """Whether the current model can take a prompt (and if not, say why)."""
        if self.target is None or self.model_problem:
            self.notify(safe_text(self.model_problem or "no model"), severity="error", markup=False)
            return False
        return True

    def conversation_for(
        self,
        prompt: str,
        target: ResolvedModel,
        history: Sequence[Message] | None = None,
        attachments: Sequence[Attachment] = (),
    ) -> Conversation:
        """The history (the full one by default; answers without reasoning) and the new
        message, with its ``attachments``."""
        model_config = self.settings.model_settings.get(target.ref)
        reasoning, effort = self.conversation_effort()
        if history is None:
            history = self.keeper.history(prompt)
        return Conversation(
            messages=(*history, Message("user", prompt, tuple(attachments))),
            system=self.keeper.system,
            reasoning=reasoning,
            effort=effort,
            max_tokens=model_config.max_tokens if model_config is not None else None,
        )

    async def send(
        self,
        prompt: str,
        history: Sequence[Message] | None = None,
        *,
        target: ResolvedModel | None = None,
        compacts: bool = False,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        """Start a turn: show the message (and the files attached to it) and stream the
        reply from ``target`` (by default the current model), after ``history`` (by default
        the whole conversation). ``compacts``: the reply is a summary that the history sent
        from then on starts with."""
        target = target or self.target
        assert target is not None
        try:
            # The session (and its file) begins with its first prompt, saved at once, its
            # attached files stored first.
            recorder = self.keeper.begin_turn(
                prompt, target.ref, compacts=compacts, attachments=tuple(attachments)
            )
        except ChattermError as error:  # the files could not be stored: nothing recorded
            await self.not_sent(error, prompt, attachments)
            return
        turn = TurnView(
            prompt,
            target.ref,
            reasoning_collapsed=self.reasoning_collapsed,
            on_frame=self._on_frame,
            summary=compacts,
            attachments=attachments,
        )
        await self.conversation.mount(turn)
        self.conversation.scroll_end(animate=False)  # pins the view to the bottom again
        conversation = self.conversation_for(prompt, target, history, attachments)
        stream = self.reply_stream(target, conversation)
        self.mark_alternatives(turn, len(recorder.session.turns) - 1)
        live = self.live = LiveReply(turn, stream, recorder)
        turn.start_clock()
        worker: Worker[None] = self._run_reply(live)
        self._worker = worker
        self.run_worker(self._end_when_done(worker, live), name="end reply", exit_on_error=False)
        self.refresh_bindings()

    @work(exclusive=True, group="reply", exit_on_error=False)
    async def _run_reply(self, live: LiveReply[TurnView]) -> None:
        await pump(live.stream, *live.sinks())

    async def _end_when_done(self, worker: Worker[None], live: LiveReply[TurnView]) -> None:
        """Wait for the reply's worker to end, however it ends, then end the turn.

        A worker cancelled before its first step never runs its body at all, so nothing
        in the body could be relied on to end the turn.
        """
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            pass
        if self._worker is worker:
            self._worker = None
        self._end_reply(live)

    def _end_reply(self, live: LiveReply[TurnView]) -> None:
        """The one way a turn ends: the reply as it stands goes in the history and on
        screen (a reply without a finish was cancelled)."""
        if live.ended:
            return
        live.ended = True
        if self.live is live:
            self.live = None
        # The worker's pump has ended the turn and the recorder, unless it never ran (then
        # this ends them: a reply without a finish was cancelled).
        try:
            reply = end_sinks(live.stream, *live.sinks())
        finally:
            live.turn.stop_clock()  # however the ending went, the turn stops ticking
        if not self.is_attached:
            return  # the app is closing
        self.stats.show_final(reply, self.costs, self._retry_hint())
        self.show_context()
        if live.recorder.turn.compacts:
            self.summary_ended(reply)
        self.refresh_bindings()
        # By then the worker and the messages about it are gone: what they held (the
        # stream, its accumulator, the request) is garbage to collect, not to freeze.
        self.set_timer(SETTLE_AFTER_S, self._settle_memory)

    def _settle_memory(self) -> None:
        if self.live is None:  # else the reply now streaming settles when it ends
            settle_memory()

    # -- cancelling -------------------------------------------------------------------

    def action_cancel_reply(self) -> None:
        if self._worker is not None and not self._worker.is_finished:
            self._worker.cancel()
        elif self.comparing():
            self.cancel_comparison()
        elif not self.leave_comparing():
            self.leave_editing()

    def key_of(self, binding: Binding) -> str:
        """The key that does ``binding``'s action, as the ``[keys]`` config has it."""
        return key_label(binding, self.keymap)

    def _busy(self) -> bool:
        """True (and says so) while a reply streams: it must end before anything else."""
        if self.live is None and not self.comparing():
            return False
        what = "A reply is streaming" if self.live is not None else "Replies are streaming"
        self.notify(
            f"{what}: {self.key_of(CANCEL)} cancels {'it' if self.live else 'them'}.",
            severity="warning",
            markup=False,
            timeout=3,
        )
        return True

    def end_live_reply(self) -> None:
        """End the reply in flight, if any, as it stands (the app is closing)."""
        if self.live is not None:
            self._end_reply(self.live)
        if self.comparison is not None:
            for index in range(len(self.comparison.replies)):
                self._end_column(self.comparison, index)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_reply":  # also leaves comparing, or rewriting an earlier prompt
            leaves = self.editing is not None or self.compare_models is not None
            return True if self.live is not None or self.comparing() or leaves else None
        if action == "cancel_column":
            return self.comparing()
        if action == "keep_reply":
            return self.comparison is not None and not self.comparison.streaming
        if action == "retry":
            # Offered (by the palette and the stats bar's hint) only when there is something
            # to retry.
            return self.live is None and self._failed_turn() is not None
        return self.model_action_allowed(action)

    async def action_edit_prompt(self) -> None:
        """Rewrite an earlier prompt (:class:`BranchActions`), its files back as chips: they
        go with the rewritten prompt unless removed."""
        await super().action_edit_prompt()
        session = self.keeper.session
        if self.editing is None or session is None:
            return
        await self.attachment_chips.clear()
        for attachment in self.keeper.attachments_of(session.turns[self.editing]):
            await self.attachment_chips.add(attachment)

    def leave_editing(self) -> bool:
        """Stop rewriting an earlier prompt: the box is emptied, and the files that came
        back with it go too."""
        left = super().leave_editing()
        if left:
            self.call_later(self.attachment_chips.clear)
        return left

    def session_to_export(self) -> Session | None:
        return self.keeper.session

    # -- sessions ---------------------------------------------------------------------

    async def action_new_session(self) -> None:
        if self._busy():
            return
        self.leave_editing()
        self.keeper.new()
        await self.show_session()
        self.notify("New chat.", markup=False, timeout=2)

    def action_sessions(self) -> None:
        from chatterm.tui.screens.sessions import (
            SessionsScreen,  # imported when first opened: start-up does without it
        )

        if not self._busy():
            self.app.push_screen(SessionsScreen(self.keeper, self._clock), self._sessions_closed)

    def action_stats(self) -> None:
        from chatterm.tui.screens.stats import (
            StatsScreen,  # imported when first opened, with its charts (plotext)
        )

        self.app.push_screen(StatsScreen(self.keeper.store))

    def action_replay(self) -> None:
        if self._busy():
            return
        session = self.keeper.session
        if session is None or not session.turns:
            self.notify("Nothing to replay yet.", markup=False, timeout=3)
            return
        from chatterm.tui.screens.replay import (
            ReplayScreen,  # imported when first opened: start-up does without it
        )

        self.app.push_screen(ReplayScreen(session, clock=self._clock))

    async def _sessions_closed(self, chosen: OpenSession | None) -> None:
        if chosen is not None:
            await self.open_session(chosen.ref, at=chosen.tree_index)
        elif self.keeper.session is None and self.turns:  # the open chat was deleted
            await self.show_session()

    async def open_session(self, ref: str, *, at: int | None = None) -> None:
        """Show a saved session and continue it (with its last model, if usable); ``at``:
        a turn (its index in the session's tree) to show, selected, on its branch."""
        try:
            session = self.keeper.open(ref)
        except SessionError as error:
            self.notify(safe_text(str(error)), severity="error", markup=False)
            return
        self.leave_editing()
        self.selected = None
        if at is not None and 0 <= at < len(session.tree):
            if at not in session.path:  # an alternative: its branch is shown, as Alt+←/→
                session.show(at)
                self.keeper.path_changed()
            position = session.path.index(at)
            self.selected = position if position < len(session.path) - 1 else None
        await self.show_session()
        if self.selected is not None:
            await self._show_selection()
        self.notify(f"Opened “{safe_text(session.title)}”.", markup=False, timeout=2)

    async def show_session(self, *, adopt_model: bool = True) -> None:
        """Show the open session's active path as recorded (none for a new chat), each
        turn saying which of its alternatives it is; ``adopt_model`` continues with the
        last reply's model (opening a session, not flipping between alternatives)."""
        session = self.keeper.session
        turns = session.turns if session is not None else []
        self.comparison = None  # shown, if there was one, as a turn with its alternatives
        await self.conversation.show_recorded(
            turns,
            reasoning_collapsed=self.reasoning_collapsed,
            alternatives=session.places() if session is not None else (),
        )
        if session is None or not turns:
            self.stats.show_idle(self.model_ref, self.costs)
            self.show_context()
            if session is not None and session.tree and adopt_model:  # opened so
                redo = key_label(REDO_EXCHANGE, self.keymap)
                self.notify(
                    f"Every exchange of this chat was undone: {redo} brings back the last.",
                    markup=False,
                    timeout=5,
                )
            return
        if adopt_model:
            self._adopt_model(session)
        self.stats.show_final(turns[-1].to_reply(), self.costs, self._retry_hint())
        self.show_context()
        self.refresh_bindings()

    # -- the frame clock --------------------------------------------------------------

    def _on_frame(self) -> None:
        """The live figures, on each frame of the streaming turn's clock (the turn has just
        applied what arrived): the stats bar, and a checkpoint of a stream gone quiet."""
        live = self.live
        if live is None:
            return
        now = self._clock()
        live.recorder.tick(now)  # a stream gone quiet is saved all the same
        live.frozen_at = freeze_when_due(live.frozen_at, now)
        figures = live.stream.snapshot()
        elapsed = now - figures.started_at if figures.started_at is not None else 0.0
        ref = live.stream.target.ref
        if live.retrying is not None:
            at, notice = live.retrying
            remaining = at + notice.delay_s - now
            self.stats.show_retrying(ref, elapsed, notice, remaining, self.costs)
            return
        self.stats.show_live(ref, elapsed, figures.usage, self.costs)
