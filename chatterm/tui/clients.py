"""One HTTP client per provider, kept for as long as the app runs.

A client per reply cost time and memory to build (README, Performance) and a new TCP and
TLS handshake before every first token. The pool builds a provider's client the first
time a reply needs it, in a thread so that the event loop does not wait for the SSL
context, and keeps it (and its open connections) for the turns that follow. The app
closes them all when it ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import Context
from typing import TYPE_CHECKING

from chatterm.providers.registry import ResolvedModel

if TYPE_CHECKING:
    import httpx

# httpx is imported by the factory, when the first reply needs a client (start-up skips it).
ClientFactory = Callable[[ResolvedModel], "httpx.AsyncClient"]
ClientKey = tuple[str, str, str]


def client_key(target: ResolvedModel) -> ClientKey:
    """What makes two models share a client: the same provider at the same address."""
    provider = target.provider
    base_url = getattr(provider, "base_url", None)
    return type(provider).__qualname__, provider.name, str(base_url or "")


class ClientPool:
    """HTTP clients by provider, made by ``factory`` once each and closed together.

    Args:
        factory: makes the client for a model's provider (called once per provider).
    """

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._clients: dict[ClientKey, httpx.AsyncClient] = {}
        self._making: dict[ClientKey, asyncio.Task[httpx.AsyncClient]] = {}

    def __len__(self) -> int:
        return len(self._clients)

    async def get(self, target: ResolvedModel) -> httpx.AsyncClient:
        """The client for the target's provider, made (off the event loop) if need be.

        Raises:
            Exception: whatever the factory raised (the next call tries again).
        """
        key = client_key(target)
        client = self._clients.get(key)
        if client is not None and not client.is_closed:
            return client
        task = self._making.get(key)
        if task is None:
            # A context of its own: the caller's (a reply's worker) must not stay
            # reachable from the task for as long as someone holds on to it.
            making = asyncio.to_thread(self._factory, target)
            task = asyncio.get_running_loop().create_task(making, context=Context())
            self._making[key] = task
        try:
            client = await asyncio.shield(task)
        finally:
            if task.done() and self._making.get(key) is task:
                del self._making[key]
        self._clients[key] = client
        return client

    async def aclose(self) -> None:
        """Close every client (and its connections), made or being made."""
        making, self._making = list(self._making.values()), {}
        made = await asyncio.gather(*making, return_exceptions=True)
        clients = [*self._clients.values(), *made]
        self._clients = {}
        await asyncio.gather(
            *(client.aclose() for client in clients if not isinstance(client, BaseException)),
            return_exceptions=True,
        )
