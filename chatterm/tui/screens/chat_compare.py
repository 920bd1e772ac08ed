"""Comparing models in the chat: one prompt, two to four models streaming side by side.

Alt+C opens the model list in its compare mode (Space chooses, Enter starts): the next
prompt then goes to every model chosen at once, each with its own provider, key, retries
and timeouts, after the same active path (each provider's request is built from it as a
model switch builds it). The replies are recorded as alternatives of one turn
(:meth:`~chatterm.sessions.keeper.SessionKeeper.begin_alternatives`), each saved as it
streams, and shown as columns (:class:`~chatterm.tui.widgets.compare.CompareView`).

A failing reply (a 401, a 429 after its retries, a dropped connection) ends in its own
column with its error while the others go on. Esc cancels them all, Alt+X the chosen one.
Alt+Left/Right chooses a column (the chosen reply is the active path's, so the file opens
on it), and when all have ended a line ranks them. Alt+K keeps the chosen reply: the
comparison folds into an ordinary turn, ``◀ k/n ▶``, the others its alternatives. Sending
the next prompt, or any branching key, keeps the chosen reply first.

With ``choices`` above 1 in the config, every prompt asks the model for that many choices
in one request (Chat Completions ``n``), shown the same way: one column per choice, split
from the one stream (:class:`~chatterm.reply.choices.ChoiceSplit`), Alt+X ending one choice
while the request goes on. A model whose API has no ``n`` says so and gives one reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from textual.worker import Worker, WorkerCancelled, WorkerFailed

from chatterm.config import Settings
from chatterm.errors import ChattermError
from chatterm.events import Attachment, Conversation, Message
from chatterm.pricing import Cost
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.accumulate import LiveFigures, Reply
from chatterm.reply.sink import end_sinks, pump
from chatterm.sessions.model import Session
from chatterm.text import safe_text
from chatterm.tui.bindings import CANCEL, CANCEL_COLUMN, KEEP_REPLY, NEXT_ALTERNATIVE, key_label
from chatterm.tui.clients import ClientPool
from chatterm.tui.memory import freeze_when_due, settle_memory
from chatterm.tui.screens.chat_branches import BranchActions
from chatterm.tui.screens.reply_in_flight import LiveReply
from chatterm.tui.stats import column_live, ranking_line, retry_notice
from chatterm.tui.widgets.compare import CompareView
from chatterm.tui.widgets.compare_column import ColumnView

if TYPE_CHECKING:
    from chatterm.network.stream import Clock, Sleep
    from chatterm.reply.choices import ChoiceSplit
    from chatterm.reply.live import ReplyStream

SETTLE_AFTER_S = 0.25


@dataclass(eq=False)
class Comparison:
    """The comparison on screen: its view and one reply in flight per column (for choices,
    one stream split among the columns by ``split``, pumped by one worker)."""

    view: CompareView
    replies: list[LiveReply[ColumnView]]
    started_at: float
    workers: list[Worker[Any]] = field(default_factory=list)
    frozen_at: float = 0.0  # when survivors were last frozen for the collector
    split: ChoiceSplit | None = None

    def figures(self, index: int) -> LiveFigures:
        live = self.replies[index]
        return self.split.snapshot(index) if self.split else live.stream.snapshot()

    @property
    def streaming(self) -> bool:
        return not all(live.ended for live in self.replies)

    @property
    def models(self) -> list[str]:
        """What each column is called: its model (and for choices, which choice)."""
        return list(self.view.models)


class CompareActions(BranchActions):
    """Comparisons for the chat screen, which sets ``settings``, ``env``, ``model_ref``,
    ``keymap`` and the rest below, and provides ``conversation_for``."""

    settings: Settings
    env: Mapping[str, str]
    model_ref: str
    reasoning_collapsed: bool
    discover_models: bool
    sleep: Sleep
    _clients: ClientPool
    _clock: Clock
    comparison: Comparison | None = None
    #: the models the next prompt goes to, chosen with the compare key (None: the current)
    compare_models: tuple[str, ...] | None = None

    if TYPE_CHECKING:  # the chat screen's own

        def conversation_for(
            self,
            prompt: str,
            target: ResolvedModel,
            history: Sequence[Message] | None = None,
            attachments: Sequence[Attachment] = (),
        ) -> Conversation: ...

        def favourites(self) -> tuple[str, ...]: ...

        def usable_model(self, ref: str, doing: str) -> ResolvedModel | None: ...

        async def not_sent(
            self, error: Exception, prompt: str, attachments: Sequence[Attachment]
        ) -> None: ...

        async def show_session(self, *, adopt_model: bool = True) -> None: ...

        @property
        def costs(self) -> list[Cost | None]: ...

    # -- choosing the models ----------------------------------------------------------------

    def action_compare(self) -> None:
        from chatterm.tui.screens.model_picker import (
            CompareModelsScreen,  # imported when first opened: start-up does without it
        )

        if self._busy():
            return
        picker = CompareModelsScreen(
            self.settings,
            self.env,
            current=self.model_ref,
            chosen=self.compare_models or (self.model_ref,),
            favourites=self.favourites(),
            discover=self.discover_models,
        )
        self.app.push_screen(picker, self._compare_chosen)

    def _compare_chosen(self, models: tuple[str, ...] | None) -> None:
        if models is None:
            return
        self.compare_models = models
        cancel = key_label(CANCEL, self.keymap)
        self.prompt.border_title = safe_text(
            f"compare {' · '.join(models)}: Enter sends to all, {cancel} leaves"
        )
        self.prompt.focus()

    def leave_comparing(self) -> bool:
        """Forget the models chosen for the next prompt; False if none were."""
        if self.compare_models is None:
            return False
        self.compare_models = None
        self.prompt.border_title = None
        return True

    def compare_targets(self) -> list[ResolvedModel] | None:
        """The chosen models, resolved; None (and says why) if one cannot be used."""
        targets = [self.usable_model(ref, "be compared") for ref in self.compare_models or ()]
        return None if None in targets else [t for t in targets if t is not None]

    # -- streaming ----------------------------------------------------------------------

    def reply_stream(self, target: ResolvedModel, conversation: Conversation) -> ReplyStream:
        """The stream of one request to ``target``, through the app's client for its
        provider (made off the event loop the first time: a bad proxy setting fails there)."""
        from chatterm.reply.live import ReplyStream  # warmed up after the first frame

        return ReplyStream(
            target,
            conversation,
            self.settings,
            get_client=lambda: self._clients.get(target),
            clock=self._clock,
            sleep=self.sleep,
        )

    async def send_compared(
        self,
        prompt: str,
        targets: Sequence[ResolvedModel],
        history: Sequence[Message] | None,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        """Send ``prompt`` (with ``attachments``) to every target at once, after ``history``
        (by default the whole conversation), each reply into its column and recorded as an
        alternative."""
        self.leave_comparing()
        if history is None:
            history = self.keeper.history(prompt)
        try:
            recorders = self.keeper.begin_alternatives(
                prompt, [target.ref for target in targets], attachments=tuple(attachments)
            )
        except ChattermError as error:  # the files could not be stored: nothing recorded
            await self.not_sent(error, prompt, attachments)
            return
        view = CompareView(
            prompt,
            [target.ref for target in targets],
            reasoning_collapsed=self.reasoning_collapsed,
            on_frame=self._on_compare_frame,
            attachments=attachments,
        )
        await self.conversation.mount(view)
        self.conversation.scroll_end(animate=False)
        replies = []
        for column, target, recorder in zip(view.columns, targets, recorders, strict=True):
            conversation = self.conversation_for(prompt, target, history, attachments)
            replies.append(LiveReply(column, self.reply_stream(target, conversation), recorder))
        comparison = self.comparison = Comparison(view, replies, started_at=self._clock())
        view.start_clock()
        for index, live in enumerate(replies):
            worker: Worker[Reply] = self.run_worker(
                pump(live.stream, *live.sinks()),
                name=f"compared reply {index + 1}",
                group="compare",
                exit_on_error=False,
            )
            comparison.workers.append(worker)
            self.run_worker(
                self._end_column_when_done(comparison, index, worker),
                name="end compared reply",
                exit_on_error=False,
            )
        self.refresh_bindings()

    async def send_choices(
        self,
        prompt: str,
        target: ResolvedModel,
        count: int,
        history: Sequence[Message] | None,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        """Ask ``target`` for ``count`` choices in one request (with ``attachments``), each
        into its column and recorded as an alternative (the first carries the request's
        usage and cost)."""
        from chatterm.reply.choices import ChoiceSplit  # with the network, after the first frame

        if history is None:
            history = self.keeper.history(prompt)
        try:
            recorders = self.keeper.begin_alternatives(
                prompt, [target.ref] * count, attachments=tuple(attachments)
            )
        except ChattermError as error:  # the files could not be stored: nothing recorded
            await self.not_sent(error, prompt, attachments)
            return
        labels = [f"{target.ref} · choice {number}" for number in range(1, count + 1)]
        view = CompareView(
            prompt,
            labels,
            reasoning_collapsed=self.reasoning_collapsed,
            on_frame=self._on_compare_frame,
            attachments=attachments,
        )
        await self.conversation.mount(view)
        self.conversation.scroll_end(animate=False)
        conversation = replace(
            self.conversation_for(prompt, target, history, attachments), choices=count
        )
        stream = self.reply_stream(target, conversation)
        replies = [
            LiveReply(column, stream, recorder)
            for column, recorder in zip(view.columns, recorders, strict=True)
        ]
        split = ChoiceSplit(stream, [live.sinks() for live in replies])
        comparison = self.comparison = Comparison(
            view, replies, started_at=self._clock(), split=split
        )
        view.start_clock()
        worker: Worker[list[Reply]] = self.run_worker(
            split.pump(), name="choices", group="compare", exit_on_error=False
        )
        comparison.workers.append(worker)
        self.run_worker(
            self._end_choices_when_done(comparison, split, worker),
            name="end choices",
            exit_on_error=False,
        )
        self.refresh_bindings()

    async def _end_choices_when_done(
        self, comparison: Comparison, split: ChoiceSplit, worker: Worker[list[Reply]]
    ) -> None:
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            pass
        split.end()  # a no-op once the split was pumped to its end
        for index in range(len(comparison.replies)):
            self._end_column(comparison, index)

    async def _end_column_when_done(
        self, comparison: Comparison, index: int, worker: Worker[Reply]
    ) -> None:
        """Wait for a column's worker to end, however it ends, then end its reply (as
        :meth:`ChatScreen._end_when_done` does for one reply)."""
        try:
            await worker.wait()
        except (WorkerCancelled, WorkerFailed):
            pass
        self._end_column(comparison, index)

    def _end_column(self, comparison: Comparison, index: int) -> None:
        live = comparison.replies[index]
        if live.ended:
            return
        live.ended = True
        if comparison.split is None:  # the split ends each choice's sinks itself
            end_sinks(live.stream, *live.sinks())
        if comparison.streaming or not self.is_attached:
            return
        comparison.view.stop_clock()
        replies = [live.turn.reply for live in comparison.replies]
        if any(reply is None for reply in replies):
            return  # the app is closing: the turns have left the screen
        comparison.view.show_ranking(
            ranking_line(comparison.models, [reply for reply in replies if reply is not None])
        )
        self._show_chosen(comparison)
        self.comparison_ended()
        self.refresh_bindings()
        self.set_timer(SETTLE_AFTER_S, self._settle_after_comparison)

    def _settle_after_comparison(self) -> None:
        if self.comparison is None or not self.comparison.streaming:
            settle_memory()

    def _on_compare_frame(self) -> None:
        """The live figures, on each tick of the comparison's clock: each column's line,
        the stats bar, and a checkpoint of a stream gone quiet."""
        comparison = self.comparison
        if comparison is None:
            return
        now = self._clock()
        comparison.frozen_at = freeze_when_due(comparison.frozen_at, now)
        for index, live in enumerate(comparison.replies):
            if live.ended or live.turn.reply is not None:
                continue
            live.recorder.tick(now)
            figures = comparison.figures(index)
            elapsed = now - figures.started_at if figures.started_at is not None else 0.0
            notice = None
            if live.retrying is not None:
                at, retrying = live.retrying
                notice = retry_notice(retrying, at + retrying.delay_s - now)
            live.turn.show_live(column_live(elapsed, figures.usage, notice))
        streaming = sum(not live.ended for live in comparison.replies)
        keys = [
            f"{key_label(CANCEL, self.keymap)} cancels all",
            f"{key_label(CANCEL_COLUMN, self.keymap)} the chosen",
        ]
        self.stats.show_compare(
            streaming, len(comparison.replies), now - comparison.started_at, keys, self.costs
        )

    def comparison_ended(self) -> None:
        """Called once every reply of a comparison has ended."""

    # -- cancelling ---------------------------------------------------------------------

    def comparing(self) -> bool:
        """Whether a comparison is streaming."""
        return self.comparison is not None and self.comparison.streaming

    def cancel_comparison(self) -> None:
        """Cancel every reply of the comparison still streaming (each keeps what came)."""
        if self.comparison is not None:
            for worker in self.comparison.workers:
                worker.cancel()

    def action_cancel_column(self) -> None:
        comparison = self.comparison
        if comparison is None or not comparison.streaming:
            self.notify("No comparison is streaming.", markup=False, timeout=3)
            return
        chosen = comparison.view.chosen
        if comparison.replies[chosen].ended or comparison.replies[chosen].turn.reply:
            self.notify(
                f"{safe_text(comparison.models[chosen])} has ended already: "
                f"{key_label(NEXT_ALTERNATIVE, self.keymap)} chooses another column.",
                markup=False,
                timeout=3,
            )
            return
        if comparison.split is not None:
            comparison.split.cancel(chosen)  # the request goes on for the others
        else:
            comparison.workers[chosen].cancel()

    # -- choosing and keeping a reply ---------------------------------------------------

    def _session_with_comparison(self) -> Session:
        session = self.keeper.session
        assert session is not None  # a comparison is recorded from its first prompt
        return session

    def _show_chosen(self, comparison: Comparison) -> None:
        """The chosen column's reply is the active path's (saved so: the file opens on it);
        with every reply ended, the stats bar shows its figures."""
        session = self._session_with_comparison()
        chosen = comparison.replies[comparison.view.chosen]
        session.show(session.tree.index(chosen.recorder.turn))
        self.keeper.path_changed()
        reply = chosen.turn.reply
        if reply is not None and not comparison.streaming:
            keep = key_label(KEEP_REPLY, self.keymap)
            self.stats.show_final(reply, self.costs, f"{keep} keeps this one")

    async def action_alternative(self, step: int) -> None:
        """With a comparison on screen, choose the column before or after; else show the
        previous or next alternative (:class:`BranchActions`)."""
        comparison = self.comparison
        if comparison is None:
            await super().action_alternative(step)
            return
        comparison.view.choose((comparison.view.chosen + step) % len(comparison.replies))
        self._show_chosen(comparison)

    async def action_keep_reply(self) -> None:
        comparison = self.comparison
        if comparison is None:
            self.notify("No comparison to keep a reply of.", markup=False, timeout=3)
            return
        if self._busy():
            return
        await self.keep_chosen()

    async def keep_chosen(self) -> None:
        """Go on with the chosen column's reply: the comparison becomes one turn whose
        alternatives are the others, and the chat continues on the chosen model."""
        comparison = self.comparison
        if comparison is None:
            return
        self.comparison = None
        chosen = comparison.view.chosen
        await self.show_session(adopt_model=True)
        others = len(comparison.replies) - 1
        stay = "the other reply stays" if others == 1 else f"the other {others} stay"
        self.notify(
            f"Kept the reply of {safe_text(comparison.models[chosen])}; {stay} as its "
            f"alternatives ({key_label(NEXT_ALTERNATIVE, self.keymap)} shows them).",
            markup=False,
            timeout=4,
        )

    async def settle_comparison(self) -> bool:
        """Before a branching key acts: a comparison still streaming stops it (False), one
        that has ended is kept at its chosen reply."""
        if self.comparison is None:
            return True
        if self._busy():
            return False
        await self.keep_chosen()
        return True

    async def action_regenerate(self) -> None:
        if await self.settle_comparison():
            await super().action_regenerate()

    async def action_select_turn(self, step: int) -> None:
        if await self.settle_comparison():
            await super().action_select_turn(step)

    async def action_undo_exchange(self) -> None:
        if await self.settle_comparison():
            await super().action_undo_exchange()

    async def action_redo_exchange(self) -> None:
        if await self.settle_comparison():
            await super().action_redo_exchange()

    async def action_edit_prompt(self) -> None:
        if await self.settle_comparison():
            await super().action_edit_prompt()
