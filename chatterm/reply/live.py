"""One reply in flight: the network's events folded into a priced :class:`Reply`.

:class:`ReplyStream` is the live source every consumer pumps (:mod:`chatterm.reply.sink`):
it streams from :func:`chatterm.network.stream.stream_reply`, folds each event into its
accumulator, and prices the reply at the end with the config's price override if any. A
request for several choices is split into one reply per choice by
:mod:`chatterm.reply.choices`, which reads :meth:`ReplyStream.stream_events`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace

import httpx

from chatterm.config import Settings
from chatterm.errors import ChattermError
from chatterm.events import (
    ChoiceEvent,
    Conversation,
    Event,
    Finish,
    StreamError,
    StreamEvent,
    TimedEvent,
    TimedStreamEvent,
)
from chatterm.network.stream import Clock, Sleep, make_client, request_timeout, stream_reply
from chatterm.pricing import cost_of
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.accumulate import LiveFigures, Reply, ReplyAccumulator
from chatterm.text import one_line, redact


def price_reply(reply: Reply, target: ResolvedModel, settings: Settings) -> Reply:
    """Attach the cost, honouring a ``[models."provider:model"]`` price in the config."""
    spec = target.provider.price_spec(target.model)
    model_config = settings.model_settings.get(target.ref)
    if model_config is not None and model_config.price is not None:
        spec = replace(spec, override=model_config.price)
    return reply.with_cost(cost_of(reply.usage, spec))


def new_accumulator(target: ResolvedModel, conversation: Conversation) -> ReplyAccumulator:
    return ReplyAccumulator(target.ref, conversation.prompt_chars)


def first_choice(event: StreamEvent) -> Event | None:
    """The event as a reply of one choice sees it: itself, or the first choice's event
    unwrapped; None for another choice's."""
    if isinstance(event, ChoiceEvent):
        return event.event if event.index == 0 else None
    return event


class ReplyStream:
    """One reply in flight, a :class:`~chatterm.reply.sink.Source`: its events, folded as
    they pass, and the priced, consolidated reply with whatever arrived.

    The HTTP client is ``client``, else one ``get_client`` gives when streaming starts (the
    TUI's pool, which may fail on a bad proxy setting: that ends the reply in an error),
    else one made for this reply and closed after it.
    """

    def __init__(
        self,
        target: ResolvedModel,
        conversation: Conversation,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        get_client: Callable[[], Awaitable[httpx.AsyncClient]] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.target = target
        self.conversation = conversation
        self.settings = settings
        self.accumulator = new_accumulator(target, conversation)
        self._client = client
        self._get_client = get_client
        self._clock = clock
        self._sleep = sleep
        self._final: Reply | None = None

    async def events(self) -> AsyncGenerator[TimedEvent, None]:
        """The reply's events; of a request for several choices, the first choice's."""
        async for at, event in self.stream_events():
            single = first_choice(event)
            if single is not None:
                yield TimedEvent(at, single)

    async def stream_events(self) -> AsyncGenerator[TimedStreamEvent, None]:
        """Every event of the stream, each choice's wrapped in a
        :class:`~chatterm.events.ChoiceEvent` when several were asked for. The accumulator
        (:meth:`reply`) folds the first choice's, as :meth:`events` gives them."""
        network = self.settings.network
        client = self._client
        if client is None and self._get_client is not None:
            client = await self._get_client()
        owned = client is None
        if client is None:
            client = make_client(self.target, request_timeout(network))
        try:
            async for timed in stream_reply(
                client,
                self.target,
                self.conversation,
                clock=self._clock,
                network=network,
                sleep=self._sleep,
            ):
                single = first_choice(timed.event)
                if single is not None:
                    self.accumulator.add(timed.at, single)
                yield timed
        finally:
            if owned:
                await client.aclose()

    def now(self) -> float:
        """The time on the clock the events are stamped with."""
        return self._clock()

    def cancel(self) -> None:
        """The consumer stopped early: keep what arrived, marked cancelled."""
        self.accumulator.cancel(self._clock())

    def failed(self, error: Exception) -> list[TimedEvent]:
        """End the reply in an error after a failure :func:`stream_reply` did not foresee:
        one line, with the provider's secrets removed, never a traceback."""
        if isinstance(error, ChattermError):
            message = one_line(str(error))
        else:
            message = one_line(f"{type(error).__name__}: {error}")
        now = self._clock()
        ending = [
            TimedEvent(now, StreamError(redact(message, self.target.provider.secrets()))),
            TimedEvent(now, Finish("error")),
        ]
        for timed in ending:
            self.accumulator.add(timed.at, timed.event)
        return ending

    def snapshot(self) -> LiveFigures:
        """The figures to show while the reply streams."""
        return self.accumulator.snapshot()

    def reply(self) -> Reply:
        """The reply as it stands, priced; built once it has ended."""
        if self._final is not None:
            return self._final
        if self.accumulator.finish_reason is None:
            # Ended without a finish event: the consumer stopped early.
            self.accumulator.cancel(self._clock())
        self._final = price_reply(self.accumulator.reply(), self.target, self.settings)
        return self._final
