"""The one place that does network I/O for every provider.

``stream_reply`` sends the request, turns HTTP and transport failures into
:class:`StreamError` events carrying the provider's own message, feeds the body through the
provider's parser, and stamps every event with the monotonic time its bytes arrived. The
TUI, ``chatterm ask`` and the tests all consume this same generator.

Retries and timeouts (``[network]`` in the config, :class:`~chatterm.config.NetworkSettings`):

- A request that fails *before the first token* (reasoning or answer) is sent again after
  a pause (:class:`~chatterm.retry.RetryPolicy`: backoff with jitter, or the server's
  ``retry-after-ms`` / ``Retry-After``), at most ``max_retries`` times: connection errors,
  a server that hangs up without answering or drops the body before the first token,
  HTTP 408/409/429/5xx, and a retryable error event at the start of a 200 stream
  (Anthropic's ``overloaded_error``). Each retry is announced by one :class:`Retrying`
  event; nothing else of the failed attempt reaches the consumer, because an attempt's
  events are held back until its first token. After the first token nothing is retried:
  the user has seen text, and another attempt would be another reply.
- :class:`Started` is sent once, before the first attempt, so a retried reply's times
  (TTFT, duration) include the waits: they are what the user lived through.
- Timeouts: connecting (``connect_timeout``, httpx's own, retried like any failure to
  connect: nothing was sent), then the waits on the server, timed by
  :class:`~chatterm.network.silence.Silence` rather than httpx, whose read timeout is one
  value for every read and is reset by any byte. ``first_token_timeout`` runs from sending
  the request to the first token: the response's head, keep-alive comments, blank lines and
  events without a token do not end it. Once tokens flow, ``idle_timeout`` is the longest
  wait between two pieces of progress (a token, usage, the finish), so a server pinging
  forever is cut off while a model that streams slowly but steadily is not.
  ``total_timeout`` caps the whole reply, retries included. Each ends with a message
  naming the value and the key that sets it, the reply so far kept. None is retried: the
  user has already waited that long once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import TypeVar

import httpx

from chatterm.config import NetworkSettings
from chatterm.errors import ChattermError
from chatterm.events import (
    ChoiceEvent,
    Conversation,
    Event,
    Finish,
    ReasoningDelta,
    Retrying,
    Started,
    StreamError,
    StreamEvent,
    StreamWarning,
    TextDelta,
    TimedStreamEvent,
    UsageUpdate,
)
from chatterm.network import debuglog
from chatterm.network.silence import Limit, Silence, SilenceTimeout
from chatterm.network.tls import tls_context
from chatterm.network.transport_errors import (
    host_of_request,
    retryable_transport,
    transport_error,
    transport_reason,
)
from chatterm.providers.base import Provider
from chatterm.providers.registry import ResolvedModel
from chatterm.retry import (
    MAX_SERVER_WAIT_S,
    RetryPolicy,
    format_wait,
    retryable_status,
    server_wait,
    status_reason,
)
from chatterm.text import one_line, redact

WRITE_TIMEOUT_S = 30.0  # sending the request body (a long prompt over a slow link)
_MAX_ERROR_BODY = 64 * 1024

Clock = Callable[[], float]
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def request_timeout(network: NetworkSettings) -> httpx.Timeout:
    """httpx's timeouts for one request: connecting (and waiting for a pooled connection)
    and writing. Reads are timed by :func:`stream_reply` itself."""
    return httpx.Timeout(
        connect=network.connect_timeout,
        read=None,
        write=WRITE_TIMEOUT_S,
        pool=network.connect_timeout,
    )


DEFAULT_TIMEOUT = request_timeout(NetworkSettings())


def make_client(
    target: ResolvedModel, timeout: httpx.Timeout = DEFAULT_TIMEOUT
) -> httpx.AsyncClient:
    """An HTTP client for the target's provider (the demo brings its own transport).

    :func:`stream_reply` sets each request's timeouts from the settings, so a client made
    once and kept (the TUI's) follows the config all the same.
    """
    transport = target.provider.transport()
    hooks = debuglog.log_hooks()  # empty unless CHATTERM_LOG is set
    if transport is not None:
        return httpx.AsyncClient(transport=transport, timeout=timeout, event_hooks=hooks)
    return httpx.AsyncClient(timeout=timeout, event_hooks=hooks, verify=tls_context())


async def stream_reply(
    client: httpx.AsyncClient,
    target: ResolvedModel,
    conversation: Conversation,
    *,
    clock: Clock = time.monotonic,
    network: NetworkSettings | None = None,
    sleep: Sleep = asyncio.sleep,
    rand: Callable[[], float] = random.random,
) -> AsyncIterator[TimedStreamEvent]:
    """Yield the reply's events, ending with a :class:`Finish` unless cancelled.

    ``sleep`` waits between attempts and ``rand`` draws the jitter: tests pass their own.
    """
    network = network or NetworkSettings()
    provider = target.provider
    secrets = provider.secrets()
    try:
        request = provider.build_request(target.model, conversation)
    except ChattermError as exc:
        yield TimedStreamEvent(clock(), Started(target.ref))
        yield TimedStreamEvent(clock(), StreamError(redact(one_line(str(exc)), secrets)))
        yield TimedStreamEvent(clock(), Finish("error"))
        return
    except (httpx.InvalidURL, ValueError) as exc:
        yield TimedStreamEvent(clock(), Started(target.ref))
        message = f"{provider.name} has an invalid base URL ({one_line(str(exc), 120)}); fix it"
        yield TimedStreamEvent(clock(), StreamError(redact(message, secrets)))
        yield TimedStreamEvent(clock(), Finish("error"))
        return
    yield TimedStreamEvent(clock(), Started(target.ref))
    policy = RetryPolicy(max_retries=network.max_retries)
    deadline = reply_deadline(network)
    retry = 0
    while True:
        attempt = _Attempt(
            client,
            provider,
            request,
            network,
            policy,
            retry,
            clock,
            rand,
            deadline,
            choices=conversation.choices,
        )
        async with aclosing(attempt.events()) as events:
            async for timed in events:
                yield timed
        if attempt.retry_in is None:
            return
        retry += 1
        notice = Retrying(retry, network.max_retries, attempt.retry_in, attempt.retry_reason)
        yield TimedStreamEvent(clock(), notice)
        await sleep(attempt.retry_in)
        request = provider.build_request(target.model, conversation)  # worked the first time


def reply_deadline(network: NetworkSettings) -> float | None:
    """When the reply must be over, on the event loop's clock (``total_timeout`` from
    now); None when there is no such limit."""
    if network.total_timeout <= 0:
        return None
    return asyncio.get_running_loop().time() + network.total_timeout


@dataclass(frozen=True, slots=True)
class _Failure:
    """A failed attempt's last events, and what a retry notice would say about them."""

    events: list[TimedStreamEvent]
    reason: str = ""
    headers: Mapping[str, str] | None = None


@dataclass(eq=False)
class _Attempt:
    """One request and its response, retried by :func:`stream_reply` when it fails early.

    Events are held back until the first token. If the attempt fails before it in a way
    worth retrying, and the policy allows another try, :attr:`retry_in` says after how
    long and none of the held events are passed on; otherwise they are, the error saying
    how many retries went before it.
    """

    client: httpx.AsyncClient
    provider: Provider
    request: httpx.Request
    network: NetworkSettings
    policy: RetryPolicy
    retry: int
    clock: Clock
    rand: Callable[[], float]
    #: when the whole reply must be over (loop time), if ever: ``total_timeout``
    deadline: float | None = None
    #: how many choices the request asks for (Chat Completions ``n``)
    choices: int = 1
    #: after a failure worth retrying: how long to wait, and why (for the notice)
    retry_in: float | None = None
    retry_reason: str = ""
    #: the events held back until the first token; None once one has been passed on
    _held: list[TimedStreamEvent] | None = field(default_factory=list)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.provider.secrets()

    async def events(self) -> AsyncGenerator[TimedStreamEvent, None]:
        clock, network, request = self.clock, self.network, self.request
        request.extensions = {**request.extensions, "timeout": request_timeout(network).as_dict()}
        # One watchdog for the attempt: the first token's wait runs from the request on.
        silence = Silence(self.deadline)
        silence.allow(network.first_token_timeout, "first_token")
        try:
            try:
                response = await self._send(silence)
            except httpx.HTTPError as exc:
                now = clock()
                error = transport_error(exc, request, self.secrets, network, connected=False)
                events = [TimedStreamEvent(now, error), TimedStreamEvent(now, Finish("error"))]
                failure = _Failure(events, transport_reason(exc, request))
                for timed in self._fail(failure, retryable=retryable_transport(exc)):
                    yield timed
                return
            except SilenceTimeout as exc:
                now = clock()
                error = self._timeout_error(exc.limit)
                failure = _Failure(
                    [TimedStreamEvent(now, error), TimedStreamEvent(now, Finish("error"))]
                )
                for timed in self._fail(failure, retryable=False):
                    yield timed
                return
            try:
                if not response.is_success:
                    for timed in await self._http_error(response, silence):
                        yield timed
                    return
                async for timed in self._body(response, silence):
                    yield timed
            finally:
                await response.aclose()
        finally:
            silence.stop()

    async def _send(self, silence: Silence) -> httpx.Response:
        """The response's head; :class:`SilenceTimeout` if it takes too long."""
        return await _watched(silence, self.client.send(self.request, stream=True))

    async def _http_error(
        self, response: httpx.Response, silence: Silence
    ) -> list[TimedStreamEvent]:
        provider, status = self.provider, response.status_code
        body = await _read_limited(response, silence, self.network.idle_timeout)
        message = provider.describe_http_error(status, body)
        if response.is_redirect:
            # httpx does not follow redirects for a POST; the base URL should not need it.
            location = response.headers.get("location", "elsewhere")
            message = redact(
                f"HTTP {status} from {provider.name}: redirected to "
                f"{one_line(location, 120)}; set the base URL to the final address",
                self.secrets,
            )
        now = self.clock()
        error = StreamError(message, retryable_status(status), status)
        events = [TimedStreamEvent(now, error), TimedStreamEvent(now, Finish("error"))]
        failure = _Failure(events, status_reason(status), response.headers)
        return self._fail(failure, retryable=error.retryable)

    async def _body(
        self, response: httpx.Response, silence: Silence
    ) -> AsyncIterator[TimedStreamEvent]:
        """The body's events. Only progress (a token, usage, the finish) renews the time
        the server may stay silent, and only a token ends the wait for the first one: bytes
        alone (keep-alive comments, blank lines, events without a token) renew nothing."""
        clock, network = self.clock, self.network
        parser = self.provider.new_parser(self.choices)
        parser.content_type = response.headers.get("content-type", "")
        chunks = response.aiter_bytes()
        try:
            while True:
                chunk = await _watched(silence, anext(chunks, None))
                if chunk is None:
                    break
                now = clock()
                events = parser.feed(chunk)
                if any(_is_progress(e) for e in events) and (
                    self._held is None or any(_is_token(e) for e in events)
                ):
                    silence.allow(network.idle_timeout, "idle")
                for timed in self._sort([TimedStreamEvent(now, e) for e in events]):
                    yield timed
                if self.retry_in is not None:
                    return
        except (httpx.HTTPError, SilenceTimeout) as exc:  # dropped, silent, broken gzip
            silence.stop()
            for timed in self._cut_short(exc, parser.close()):
                yield timed
            return
        now = clock()
        for timed in self._sort([TimedStreamEvent(now, e) for e in parser.close()]):
            yield timed
        if self._held is not None and self.retry_in is None:
            for timed in self._release():  # a reply without a single token
                yield timed

    def _cut_short(
        self, exc: httpx.HTTPError | SilenceTimeout, tail: list[StreamEvent]
    ) -> list[TimedStreamEvent]:
        """The events to pass on when the body stopped coming: dropped or silent."""
        now = self.clock()
        if isinstance(exc, SilenceTimeout):
            error = self._timeout_error(exc.limit)
        else:
            error = transport_error(exc, self.request, self.secrets, self.network, connected=True)
        if self._held is not None and isinstance(exc, SilenceTimeout):
            # Silent before the first token: not a reply cut short, no reply at all.
            kept = [e for e in tail if isinstance(e, StreamWarning)]
            tail = [*kept, error, Finish("error")]
        elif any(_inner(e) == Finish("interrupted") for e in tail):
            # The reply (or a choice of it) was cut short: say why, in place of the
            # parser's vaguer error, once for every choice. The half line at the cut is not
            # a malformed line: the drop says it all.
            tail = [
                error,
                *(e for e in tail if not isinstance(_inner(e), StreamError | StreamWarning)),
            ]
        events = [TimedStreamEvent(now, event) for event in tail]
        if self._held is None:
            return events
        failure = _Failure(events, "the connection dropped before the first token")
        retryable = not isinstance(exc, SilenceTimeout) and retryable_transport(exc)
        return self._fail(failure, retryable=retryable)

    def _sort(self, events: list[TimedStreamEvent]) -> list[TimedStreamEvent]:
        """What to pass on of a batch of events: all of it once a token has gone out.
        Before that, nothing until the batch brings a token (then everything held too),
        or an error (then the attempt is made again, or the error passed on)."""
        if self._held is None:
            return events
        for index, timed in enumerate(events):
            event = timed.event
            if _is_token(event):
                return [*self._release(), *events[index:]]
            if isinstance(event, StreamError):
                failure = _Failure(events[index:], one_line(event.message, 100))
                return self._fail(failure, retryable=event.retryable)
            self._held.append(timed)
        return []

    def _fail(self, failure: _Failure, *, retryable: bool) -> list[TimedStreamEvent]:
        """A failure before the first token: no events if the attempt is to be made again
        (:attr:`retry_in` set), else everything held and the failure's own events, the
        error saying how many retries went before it (or why there was none)."""
        held = self._held or []
        ended = any(isinstance(t.event, Finish) for t in held)  # a finished reply stays so
        notes: list[str] = []
        if retryable and not ended:
            wait = self.policy.wait(self.retry, failure.headers, rand=self.rand)
            if wait is not None and self._past_deadline(wait):
                total = format_wait(self.network.total_timeout)
                notes.append(
                    f"waiting {format_wait(wait)} would pass network.total_timeout = {total}; "
                    "not retried"
                )
            elif wait is not None:
                self.retry_in, self.retry_reason, self._held = wait, failure.reason, []
                return []
        asked = server_wait(failure.headers) if retryable and failure.headers else None
        if asked is not None and asked > MAX_SERVER_WAIT_S and self.retry < self.policy.max_retries:
            notes.append(f"the server asks to wait {format_wait(asked)}; not retried")
        if self.retry:
            notes.append(f"after {self.retry} retr{'y' if self.retry == 1 else 'ies'}")
        events = failure.events
        if notes:
            note = "; ".join(notes)
            events = [
                TimedStreamEvent(t.at, replace(t.event, message=f"{t.event.message} ({note})"))
                if isinstance(t.event, StreamError)
                else t
                for t in events
            ]
        return [*self._release(), *events]

    def _release(self) -> list[TimedStreamEvent]:
        """Everything held back; from now on every event goes straight out."""
        held, self._held = self._held or [], None
        return held

    def _past_deadline(self, wait: float) -> bool:
        """Whether the reply's deadline would pass during a wait of ``wait`` seconds."""
        if self.deadline is None:
            return False
        return asyncio.get_running_loop().time() + wait >= self.deadline

    def _timeout_error(self, limit: Limit) -> StreamError:
        host = host_of_request(self.request)
        if limit == "total":
            seconds = format_wait(self.network.total_timeout)
            message = (
                f"{host} took longer than {seconds} for the whole reply "
                "(network.total_timeout); the reply so far is kept"
                if self._held is None
                else f"{host} sent no token within {seconds}, the whole reply's limit "
                "(network.total_timeout); raise it for models that think long"
            )
        elif limit == "first_token":
            seconds = format_wait(self.network.first_token_timeout)
            message = (
                f"{host} sent nothing for {seconds} before the first token "
                "(network.first_token_timeout); raise it for models that think long"
            )
        else:
            seconds = format_wait(self.network.idle_timeout)
            message = (
                f"{host} went silent for {seconds} mid-reply (network.idle_timeout); "
                "the reply so far is kept"
            )
        return StreamError(redact(message, self.secrets), retryable=True)


async def _watched(silence: Silence, pending: Awaitable[T]) -> T:
    """Await ``pending`` with the silence watchdog running: :class:`SilenceTimeout` when it
    fires first (it cancels the wait), the watchdog paused again however the wait ends."""
    silence.start()
    try:
        return await pending
    except asyncio.CancelledError:
        limit = silence.timed_out()
        if limit is not None:
            raise SilenceTimeout(limit) from None
        raise
    finally:
        silence.pause()


def _inner(event: StreamEvent) -> Event:
    """The event itself, whichever choice it is of."""
    return event.event if isinstance(event, ChoiceEvent) else event


def _is_token(event: StreamEvent) -> bool:
    event = _inner(event)
    return isinstance(event, ReasoningDelta | TextDelta) and bool(event.text)


def _is_progress(event: StreamEvent) -> bool:
    """What shows the reply moving on, and so renews the idle timeout: not keep-alives."""
    return _is_token(event) or isinstance(_inner(event), UsageUpdate | Finish)


async def _read_limited(response: httpx.Response, silence: Silence, timeout_s: float) -> bytes:
    """The start of an error body; what arrived of it if the server goes quiet."""
    parts: list[bytes] = []
    size = 0
    chunks = response.aiter_bytes()
    try:
        while size < _MAX_ERROR_BODY:
            silence.allow(timeout_s, "idle")  # any byte of an error body is progress
            silence.start()
            chunk = await anext(chunks, None)
            silence.pause()
            if chunk is None:
                break
            parts.append(chunk)
            size += len(chunk)
    except httpx.HTTPError:
        pass  # whatever arrived of the error body is still worth showing
    except asyncio.CancelledError:
        if silence.timed_out() is None:
            raise
    finally:
        silence.pause()
    return b"".join(parts)
