"""What a failed connection is called: the one-line messages for httpx's transport errors,
and whether such a failure is worth another attempt."""

from __future__ import annotations

import httpx

from chatterm.config import NetworkSettings
from chatterm.events import StreamError
from chatterm.retry import format_wait
from chatterm.text import one_line, redact


def host_of_request(request: httpx.Request) -> str:
    host = request.url.host or "the server"
    if request.url.port:
        host = f"{host}:{request.url.port}"
    return host


def retryable_transport(exc: httpx.HTTPError) -> bool:
    """Failures of the connection, not of what was sent: worth another try."""
    return isinstance(exc, httpx.NetworkError | httpx.TimeoutException | httpx.RemoteProtocolError)


def transport_reason(exc: httpx.HTTPError, request: httpx.Request) -> str:
    host = host_of_request(request)
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting to {host}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"{host} closed the connection without answering"
    return f"request to {host} failed"


def transport_error(
    exc: httpx.HTTPError,
    request: httpx.Request,
    secrets: tuple[str, ...],
    network: NetworkSettings,
    *,
    connected: bool,
) -> StreamError:
    host = host_of_request(request)
    reason = one_line(str(exc) or type(exc).__name__, 160)
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        message = (
            f"timed out connecting to {host} after {format_wait(network.connect_timeout)} "
            "(network.connect_timeout); check the address or your network"
        )
    elif isinstance(exc, httpx.ReadTimeout):  # only with a read timeout set by hand
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
