"""The one place that does network I/O for every provider.

``stream_reply`` sends the request, turns HTTP and transport failures into
:class:`StreamError` events carrying the provider's own message, feeds the body through the
provider's parser, and stamps every event with the monotonic time its bytes arrived. The
TUI, ``chatterm ask`` and the tests all consume this same generator.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import httpx

from chatterm.accumulate import Reply, ReplyAccumulator
from chatterm.config import Settings
from chatterm.errors import ChattermError
from chatterm.events import (
    Conversation,
    Finish,
    Started,
    StreamError,
    StreamWarning,
    TimedEvent,
)
from chatterm.pricing import cost_of
from chatterm.providers.base import RETRYABLE_STATUS, one_line, redact
from chatterm.providers.registry import ResolvedModel

# Connect quickly or say so; between chunks a reasoning model may think quietly for a while.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=10.0)
_MAX_ERROR_BODY = 64 * 1024

Clock = Callable[[], float]


def make_client(
    target: ResolvedModel, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.AsyncClient:
    """An HTTP client for the target's provider (the demo brings its own transport)."""
    transport = target.provider.transport()
    if transport is not None:
        return httpx.AsyncClient(transport=transport, timeout=timeout)
    return httpx.AsyncClient(timeout=timeout)


async def stream_reply(
    client: httpx.AsyncClient,
    target: ResolvedModel,
    conversation: Conversation,
    *,
    clock: Clock = time.monotonic,
) -> AsyncIterator[TimedEvent]:
    """Yield the reply's events, ending with a :class:`Finish` unless cancelled."""
    provider = target.provider
    secrets = provider.secrets()
    try:
        request = provider.build_request(target.model, conversation)
    except ChattermError as exc:
        yield TimedEvent(clock(), Started(target.ref))
        yield TimedEvent(clock(), StreamError(redact(one_line(str(exc)), secrets)))
        yield TimedEvent(clock(), Finish("error"))
        return
    except (httpx.InvalidURL, ValueError) as exc:
        yield TimedEvent(clock(), Started(target.ref))
        message = f"{provider.name} has an invalid base URL ({one_line(str(exc), 120)}); fix it"
        yield TimedEvent(clock(), StreamError(redact(message, secrets)))
        yield TimedEvent(clock(), Finish("error"))
        return
    yield TimedEvent(clock(), Started(target.ref))
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        yield TimedEvent(clock(), _transport_error(exc, request, secrets, connected=False))
        yield TimedEvent(clock(), Finish("error"))
        return
    try:
        if not response.is_success:
            body = await _read_limited(response)
            message = provider.describe_http_error(response.status_code, body)
            if response.is_redirect:
                # httpx does not follow redirects for a POST; the base URL should not need it.
                location = response.headers.get("location", "elsewhere")
                message = redact(
                    f"HTTP {response.status_code} from {provider.name}: redirected to "
                    f"{one_line(location, 120)}; set the base URL to the final address",
                    secrets,
                )
            error = StreamError(
                message, response.status_code in RETRYABLE_STATUS, response.status_code
            )
            yield TimedEvent(clock(), error)
            yield TimedEvent(clock(), Finish("error"))
            return
        parser = provider.new_parser()
        try:
            async for chunk in response.aiter_bytes():
                now = clock()
                for event in parser.feed(chunk):
                    yield TimedEvent(now, event)
        except httpx.HTTPError as exc:  # dropped connection, idle timeout, broken gzip
            now = clock()
            tail = parser.close()
            if Finish("interrupted") in tail:
                # The reply was cut short: say why, in place of the parser's vaguer error.
                yield TimedEvent(now, _transport_error(exc, request, secrets, connected=True))
                # The half line at the cut is not a malformed line: the drop says it all.
                tail = [e for e in tail if not isinstance(e, StreamError | StreamWarning)]
            for event in tail:
                yield TimedEvent(now, event)
            return
        now = clock()
        for event in parser.close():
            yield TimedEvent(now, event)
    finally:
        await response.aclose()


async def _read_limited(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size >= _MAX_ERROR_BODY:
                break
    except httpx.HTTPError:
        pass  # whatever arrived of the error body is still worth showing
    return b"".join(parts)


def _transport_error(
    exc: httpx.HTTPError, request: httpx.Request, secrets: tuple[str, ...], *, connected: bool
) -> StreamError:
    host = request.url.host or "the server"
    if request.url.port:
        host = f"{host}:{request.url.port}"
    reason = one_line(str(exc) or type(exc).__name__, 160)
    if isinstance(exc, httpx.ConnectTimeout):
        message = f"timed out connecting to {host}; check the address or your network"
    elif isinstance(exc, httpx.ReadTimeout):
        message = (
            f"{host} sent nothing for too long; the reply so far is kept"
            if connected
            else f"{host} did not answer in time; try again, or check the server"
        )
    elif isinstance(exc, httpx.ConnectError):
        message = f"cannot connect to {host} ({reason}); is the server running?"
    elif isinstance(exc, httpx.UnsupportedProtocol):
        message = f"cannot send to {request.url.scheme}:// addresses; the base URL needs http(s)"
    elif isinstance(exc, httpx.DecodingError):
        message = f"{host} sent a body that could not be decoded ({reason})"
    elif connected:
        message = f"the connection to {host} dropped mid-reply ({reason}); the reply so far is kept"
    else:
        message = f"request to {host} failed ({reason})"
    return StreamError(redact(message, secrets), retryable=True)


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
    ) -> None:
        self.target = target
        self.conversation = conversation
        self.settings = settings
        self.accumulator = new_accumulator(target, conversation)
        self._client = client
        self._clock = clock

    async def events(self) -> AsyncIterator[TimedEvent]:
        client = self._client or make_client(self.target)
        try:
            async for timed in stream_reply(
                client, self.target, self.conversation, clock=self._clock
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
