"""One stream of several choices (Chat Completions ``n``) split into one reply per choice.

A request for ``n`` choices (``Conversation.choices``) is one stream whose events for each
choice come wrapped in a :class:`~chatterm.events.ChoiceEvent`. :class:`ChoiceSplit` pumps
that stream as :func:`~chatterm.reply.sink.pump` pumps one reply, into one list of sinks per
choice (a column of the TUI, a printer, a session turn), and ends each list with its own
:class:`~chatterm.reply.accumulate.Reply`::

    stream = ReplyStream(target, replace(conversation, choices=3), settings)
    split = ChoiceSplit(stream, [[column_1, turn_1], [column_2, turn_2], [column_3, turn_3]])
    replies = await split.pump()  # one Reply per choice, in order

Where the stream's plain events go: ``Started``, ``Retrying`` and ``StreamWarning`` to
every choice; a plain ``StreamError`` and ``Finish`` (the connection dropped, an error
chunk) to every choice still open; ``UsageUpdate`` to the first choice's sinks only.

Usage and cost: a stream of several choices reports one usage, for the whole request
(every choice's output together). The first choice's reply carries it, and the request's
cost; every other choice's cost is :data:`~chatterm.pricing.SHARED_COST` ($0, labelled
"cost with choice 1"), so that a session's cost counts the request once. Each choice's
usage otherwise (the first's before it takes the request's) and its tokens/s are
estimated from its own text, marked estimated.

Each choice's sinks end when its finish arrives; the first choice's when the stream ends,
since the request's usage comes last. :meth:`ChoiceSplit.cancel` ends one choice early,
the others going on (it is one request: to stop it, cancel the task running
:meth:`ChoiceSplit.pump`, and every choice ends, cancelled, with what arrived).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import replace

from chatterm import events
from chatterm.events import ChoiceEvent, Event, StreamEvent
from chatterm.pricing import SHARED_COST
from chatterm.reply.accumulate import LiveFigures, Reply, ReplyAccumulator
from chatterm.reply.live import ReplyStream, price_reply
from chatterm.reply.sink import Sink

#: Plain events every choice gets; the others are the request's end, or its usage.
_SHARED = (events.Started, events.Retrying, events.StreamWarning)


class ChoiceSplit:
    """One :class:`ReplyStream` of ``len(sinks)`` choices, ``sinks[k]`` the sinks of choice
    ``k`` (from 0). The stream's conversation must ask for that many choices."""

    def __init__(self, stream: ReplyStream, sinks: Sequence[Sequence[Sink]]) -> None:
        if len(sinks) != stream.conversation.choices:
            raise ValueError(
                f"{len(sinks)} lists of sinks for {stream.conversation.choices} choices"
            )
        self.stream = stream
        self.sinks = [tuple(one) for one in sinks]
        ref = stream.target.ref
        # Each choice's own figures: its text, its times; no input (the request's is the
        # first choice's, taken from the whole below).
        self._choices = [ReplyAccumulator(ref) for _ in sinks]
        # The request as a whole, for its usage: every choice's text and the one usage.
        self._whole = ReplyAccumulator(ref, stream.conversation.prompt_chars)
        self._replies: list[Reply | None] = [None] * len(sinks)

    @property
    def count(self) -> int:
        return len(self.sinks)

    def snapshot(self, index: int) -> LiveFigures:
        """The live figures of choice ``index`` (its own output, estimated)."""
        return self._choices[index].snapshot()

    def reply(self, index: int) -> Reply | None:
        """Choice ``index``'s reply once its sinks have ended, else None."""
        return self._replies[index]

    def replies(self) -> list[Reply]:
        """The replies of the choices whose sinks have ended, in order (every choice's,
        once :meth:`pump` has returned or raised)."""
        return [reply for reply in self._replies if reply is not None]

    async def pump(self) -> list[Reply]:
        """Send every event to its choice's sinks, ending each choice's sinks with its
        reply, and return the replies in order. An exception from the stream ends every
        open choice in an error (one line); one from a sink, or a cancellation, still ends
        every choice's sinks, then goes on."""
        try:
            async with aclosing(self.stream.stream_events()) as stream_events:
                iterator = aiter(stream_events)
                while True:
                    try:
                        timed = await anext(iterator)
                    except StopAsyncIteration:
                        break
                    except Exception as error:  # noqa: BLE001 - reported in the replies
                        for failure in self.stream.failed(error):
                            self._route(failure.event, failure.at)
                        break
                    self._route(timed.event, timed.at)
        finally:
            self._end_all()
        return self.replies()

    def end(self) -> None:
        """End every choice's sinks now, each with what arrived (cancelled if it had not
        finished): for a split whose :meth:`pump` never ran, or was cut before its end."""
        self._end_all()

    def cancel(self, index: int) -> None:
        """End choice ``index`` now, cancelled with what arrived; the others go on. The
        first choice's sinks still end with the stream (the request's usage is its)."""
        choice = self._choices[index]
        if choice.finish_reason is None:
            choice.cancel(self.stream.now())
        if index > 0:
            self._end(index)

    # -- routing

    def _route(self, event: StreamEvent, at: float) -> None:
        if isinstance(event, ChoiceEvent):
            if 0 <= event.index < self.count:
                self._to_choice(event.index, event.event, at)
            return
        if isinstance(event, _SHARED):
            self._whole.add(at, event)
            for index in self._open():
                self._to_choice(index, event, at)
        elif isinstance(event, events.UsageUpdate):
            self._whole.add(at, event)
            if self._replies[0] is None:
                self._deliver(0, event, at)
        else:  # the end of the request, for every choice still open
            if isinstance(event, events.StreamError):
                self._whole.add(at, event)
            for index in self._open():
                self._to_choice(index, event, at)

    def _open(self) -> list[int]:
        """The choices still taking events."""
        return [i for i, choice in enumerate(self._choices) if choice.finish_reason is None]

    def _to_choice(self, index: int, event: Event, at: float) -> None:
        choice = self._choices[index]
        if choice.finish_reason is not None:
            return  # ended (or cancelled): what comes after is not its
        choice.add(at, event)
        if isinstance(event, events.ReasoningDelta | events.TextDelta):
            self._whole.add(at, event)
        self._deliver(index, event, at)
        if choice.finish_reason is not None and index > 0:
            self._end(index)

    def _deliver(self, index: int, event: Event, at: float) -> None:
        for sink in self.sinks[index]:
            sink.event(event, at)

    # -- ending

    def _end_all(self) -> None:
        failure: BaseException | None = None
        for index in range(self.count):
            try:
                self._end(index)
            except BaseException as error:  # noqa: BLE001 - raised once every choice ended
                failure = failure or error
        if failure is not None:
            raise failure

    def _end(self, index: int) -> None:
        """End choice ``index``'s sinks with its reply (once), the last sink first, as
        :func:`~chatterm.reply.sink.end_sinks` does."""
        if self._replies[index] is not None:
            return
        reply = self._reply(index)
        self._replies[index] = reply
        failure: BaseException | None = None
        for sink in reversed(self.sinks[index]):
            try:
                sink.done(reply)
            except BaseException as error:  # noqa: BLE001 - raised once every sink ended
                failure = failure or error
        if failure is not None:
            raise failure

    def _reply(self, index: int) -> Reply:
        choice = self._choices[index]
        if choice.finish_reason is None:  # the stream stopped before this choice's end
            choice.cancel(self.stream.now())
        reply = choice.reply()
        if index > 0:
            return reply.with_cost(SHARED_COST)
        usage = self._whole.reply().usage
        return price_reply(replace(reply, usage=usage), self.stream.target, self.stream.settings)


async def pump_choices(stream: ReplyStream, sinks: Sequence[Sequence[Sink]]) -> list[Reply]:
    """:meth:`ChoiceSplit.pump` for a split that needs no handle (see the module)."""
    return await ChoiceSplit(stream, sinks).pump()
