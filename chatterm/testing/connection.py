"""The socket side of the fake server: the loopback-only rule, a buffered connection that
notices the server stopping, and the record of each request it received.

Apart from :mod:`chatterm.testing.server` (routing, scenarios, the bytes of each response)
because it knows nothing of wire formats: only sockets and what came over them.
"""

from __future__ import annotations

import ipaddress
import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from chatterm.testing.scenario import Scenario

POLL_S = 0.02  # how often blocked server threads look at the stop flag


def ensure_loopback(host: str) -> str:
    """The address to bind for ``host``, which must be a loopback address.

    Raises ``ValueError`` for anything else: this server answers anyone who connects, with
    whatever the scenario says, so it must not be reachable from another machine.
    """
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address; use 127.0.0.1 or ::1") from None
    if not address.is_loopback:
        raise ValueError(
            f"refusing to listen on {host}: the fake server only listens on loopback "
            "addresses (127.0.0.1, ::1)"
        )
    return str(address)


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # the request target, query included
    headers: list[tuple[str, str]]
    body: bytes
    scenario: Scenario | None = None
    format: str | None = None  # the wire format that answered (chat, anthropic, …)
    model: str | None = None  # the requested model, without a @preset suffix
    preset: str | None = None  # the preset names the request chose, if any
    status: int | None = None  # the HTTP status the server answered with
    #: set when the server has written its whole response (or given up on the client)
    finished: threading.Event = field(default_factory=threading.Event)
    #: set when the server saw the client close the connection before the response ended
    #: (at once while it pauses or stalls; otherwise at the next write)
    client_closed: threading.Event = field(default_factory=threading.Event)
    #: body bytes written (HTTP chunk framing excluded)
    bytes_sent: int = 0

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def route(self) -> str:
        """The path without the query, percent-decoded."""
        return unquote(urlsplit(self.path).path)

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query))


class Stopped(Exception):
    """The server is shutting down."""


class Connection:
    """A buffered reader over one accepted socket that notices the server stopping."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.buffer = b""

    def _recv(self) -> bytes:
        while True:
            if self.stop.is_set():
                raise Stopped
            readable, _, _ = select.select([self.sock], [], [], POLL_S)
            if readable:
                try:
                    return self.sock.recv(65536)
                except OSError:
                    return b""

    def read_until(self, marker: bytes, limit: int = 1 << 20) -> bytes | None:
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                return None
            data = self._recv()
            if not data:
                return None
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def read_exact(self, size: int) -> bytes | None:
        while len(self.buffer) < size:
            data = self._recv()
            if not data:
                return None
            self.buffer += data
        out, self.buffer = self.buffer[:size], self.buffer[size:]
        return out

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def closed_within(self, seconds: float) -> bool:
        """Wait ``seconds``, or less: True as soon as the peer closes the connection (or
        the server stops), False when the time is up with the connection still open."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            readable, _, _ = select.select([self.sock], [], [], min(POLL_S, remaining))
            if readable:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    return True
                self.buffer += data  # an early next request: keep it for read_until
        return True

    def wait_for_close(self) -> bool:
        """Block until the peer closes (True) or the server stops (False)."""
        try:
            while True:
                data = self._recv()
                if not data:
                    return True
        except Stopped:
            return False
