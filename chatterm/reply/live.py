"""One reply in flight: the network's events folded into a priced :class:`Reply`.

:class:`ReplyStream` is the live source every consumer pumps (:mod:`chatterm.reply.sink`):
it streams from :func:`chatterm.network.stream.stream_reply`, folds each event into its
accumulator, and prices the reply at the end with the config's price override if any.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx

from chatterm.config import Settings
from chatterm.events import Conversation, TimedEvent
from chatterm.network.stream import Clock, Sleep, make_client, request_timeout, stream_reply
from chatterm.pricing import cost_of
from chatterm.providers.registry import ResolvedModel
from chatterm.reply.accumulate import Reply, ReplyAccumulator


def price_reply(reply: Reply, target: ResolvedModel, settings: Settings) -> Reply:
    """Attach the cost, honouring a ``[models."provider:model"]`` price in the config."""
    spec = target.provider.price_spec(target.model)
    model_config = settings.model_settings.get(target.ref)
    if model_config is not None and model_config.price is not None:
        spec = replace(spec, override=model_config.price)
    return reply.with_cost(cost_of(reply.usage, spec))


def new_accumulator(target: ResolvedModel, conversation: Conversation) -> ReplyAccumulator:
    return ReplyAccumulator(target.ref, conversation.prompt_chars)


class ReplyStream:
    """One reply in flight: events for a sink, folded into the consolidated reply.

    Consumers iterate :meth:`events`; if they are cancelled they call :meth:`cancel`; either
    way :meth:`reply` gives the priced, consolidated reply with whatever arrived.
    """

    def __init__(
        self,
        target: ResolvedModel,
        conversation: Conversation,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.target = target
        self.conversation = conversation
        self.settings = settings
        self.accumulator = new_accumulator(target, conversation)
        self._client = client
        self._clock = clock
        self._sleep = sleep

    async def events(self) -> AsyncIterator[TimedEvent]:
        network = self.settings.network
        client = self._client or make_client(self.target, request_timeout(network))
        try:
            async for timed in stream_reply(
                client,
                self.target,
                self.conversation,
                clock=self._clock,
                network=network,
                sleep=self._sleep,
            ):
                self.accumulator.add(timed.at, timed.event)
                yield timed
        finally:
            if self._client is None:
                await client.aclose()

    def cancel(self) -> None:
        self.accumulator.cancel(self._clock())

    def reply(self) -> Reply:
        if self.accumulator.finish_reason is None:
            # Ended without a finish event: the consumer stopped early.
            self.accumulator.cancel(self._clock())
        return price_reply(self.accumulator.reply(), self.target, self.settings)
