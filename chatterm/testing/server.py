"""The HTTP/1.1 server behind :mod:`chatterm.testing.fakeserver`: routing, scenario
choice, HTTP errors and the byte-level delivery of each format's frames (the sockets
themselves are :mod:`chatterm.testing.connection`'s).

It writes every byte itself (status line, headers, chunk sizes, body), so a scenario can
cut a response anywhere, pause, stall or hang up; it binds loopback addresses only.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from chatterm.testing.connection import (
    POLL_S,
    Connection,
    RecordedRequest,
    Stopped,
    ensure_loopback,
)
from chatterm.testing.formats import (
    ANTHROPIC,
    CHAT,
    GATEWAY,
    GEMINI,
    OLLAMA,
    RESPONSES,
    Refusal,
    Request,
    WireFormat,
)
from chatterm.testing.formats.base import CREATED
from chatterm.testing.formats.ollama import tags
from chatterm.testing.frames import Frame, drop_offset, split_wire
from chatterm.testing.scenario import End, Scenario, preset, split_preset_suffix

_GEMINI_PATH = re.compile(r"^/v1beta/models/(?P<model>.+):streamGenerateContent$")
_STREAM_ROUTES: dict[str, WireFormat] = {
    "/v1/chat/completions": CHAT,
    "/v1/responses": RESPONSES,
    "/v1/messages": ANTHROPIC,
    "/api/chat": OLLAMA,
    "/api/v1/generate/stream": GATEWAY,
}


# ---------------------------------------------------------------------------- the server


class FakeServer:
    """The fake server. Use as a context manager, or start()/stop().

    Set :attr:`scenario` (used for every streamed request that names no preset) or
    :meth:`queue` scenarios for the next requests, one each. :attr:`requests` lists what
    arrived; :attr:`log`, when set, gets one line per request.
    """

    def __init__(
        self, scenario: Scenario | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.scenario = scenario or Scenario()
        self.models: tuple[str, ...] = ("test-model", "deepseek-reasoner")
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self.log: Callable[[str], None] | None = None
        self._queued: deque[Scenario] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.host = ensure_loopback(host)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._listener = socket.create_server((self.host, port), family=family)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="fake-llm-accept", daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, the server root (append ``/v1`` for an OpenAI base
        URL, ``/api/v1`` for the gateway)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def queue(self, *scenarios: Scenario) -> None:
        with self._lock:
            self._queued.extend(scenarios)

    def start(self) -> FakeServer:
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._accept_thread.is_alive():
            self._accept_thread.join(timeout=10)
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def wait_for_requests(self, count: int, timeout: float = 60.0) -> list[RecordedRequest]:
        """The first ``count`` requests, waiting for them to arrive (a safety-net timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} request(s), got {len(self.requests)}")
            time.sleep(POLL_S)
        return self.requests[:count]

    def check(self) -> None:
        """Raise the first exception a server thread hit (the fixture calls this)."""
        if self.errors:
            raise RuntimeError("the fake server failed") from self.errors[0]

    # --- threads

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._listener], [], [], POLL_S)
            if not readable:
                continue
            try:
                sock, _ = self._listener.accept()
            except BlockingIOError:
                continue
            except OSError as exc:  # pragma: no cover - listener closed under us
                if not self._stop.is_set():
                    self.errors.append(exc)
                return
            thread = threading.Thread(
                target=self._serve_connection, args=(sock,), name="fake-llm-conn", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve_connection(self, sock: socket.socket) -> None:
        with sock:
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, self._stop)
            try:
                while self._handle_one(conn):
                    pass
            except Stopped:
                pass
            except Exception as exc:  # reported by check(), which the fixture calls
                self.errors.append(exc)

    def _handle_one(self, conn: Connection) -> bool:
        """Serve one request; False when the connection must close."""
        head = conn.read_until(b"\r\n\r\n")
        if head is None:
            return False
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _version = request_line.split(" ", 2)
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        record = RecordedRequest(method, path, headers, b"")
        length = record.header("content-length")
        if length is not None:
            body = conn.read_exact(int(length))
        elif (record.header("transfer-encoding") or "").lower() == "chunked":
            body = self._read_chunked(conn)
        else:
            body = b""
        if body is None:
            return False
        record.body = body
        with self._lock:
            self.requests.append(record)
        try:
            return self._route(conn, record)
        finally:
            record.finished.set()
            if self.log is not None:
                chosen = f" [{record.preset}]" if record.preset else ""
                self.log(f"{method} {path} -> {record.format or '-'}{chosen} {record.status}")

    def _route(self, conn: Connection, record: RecordedRequest) -> bool:
        method, route = record.method, record.route
        if method == "POST" and route in _STREAM_ROUTES:
            return self._stream(conn, record, _STREAM_ROUTES[route], None)
        gemini = _GEMINI_PATH.match(route)
        if method == "POST" and gemini:
            return self._stream(conn, record, GEMINI, gemini["model"])
        if method == "GET" and route == "/v1/models":
            if record.header("anthropic-version"):
                return self._send_json(conn, record, 200, self._anthropic_models())
            models = [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"}
                for m in self.models
            ]
            return self._send_json(conn, record, 200, {"object": "list", "data": models})
        if method == "GET" and route == "/v1beta/models":
            listing = [
                {
                    "name": f"models/{m}",
                    "displayName": m,
                    "supportedGenerationMethods": ["generateContent", "streamGenerateContent"],
                }
                for m in self.models
            ]
            return self._send_json(conn, record, 200, {"models": listing})
        if method == "GET" and route == "/api/tags":
            return self._send_json(conn, record, 200, tags(self.models))
        if method == "GET" and route == "/api/version":
            return self._send_json(conn, record, 200, {"version": "0.12.6"})
        envelope = {
            "error": {
                "message": f"Invalid URL ({method} {record.path})",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
        return self._send_json(conn, record, 404, envelope)

    def _anthropic_models(self) -> dict[str, Any]:
        data = [
            {
                "type": "model",
                "id": m,
                "display_name": m,
                "created_at": "2025-05-14T00:00:00Z",
            }
            for m in self.models
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": self.models[0] if self.models else None,
            "last_id": self.models[-1] if self.models else None,
        }

    def _read_chunked(self, conn: Connection) -> bytes | None:
        parts: list[bytes] = []
        while True:
            size_line = conn.read_until(b"\r\n")
            if size_line is None:
                return None
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                conn.read_until(b"\r\n")
                return b"".join(parts)
            part = conn.read_exact(size + 2)
            if part is None:
                return None
            parts.append(part[:-2])

    def _send_json(
        self, conn: Connection, record: RecordedRequest, status: int, value: Any
    ) -> bool:
        return self._send_simple(conn, record, status, json.dumps(value).encode("utf-8"))

    def _send_simple(
        self,
        conn: Connection,
        record: RecordedRequest,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra: Sequence[tuple[str, str]] = (),
    ) -> bool:
        record.status = status
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"content-type: {content_type}",
            f"content-length: {len(body)}",
            "x-request-id: req_fake",
            *(f"{k}: {v}" for k, v in extra),
        ]
        return conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _choose(self, record: RecordedRequest, suffix: str | None) -> Scenario:
        """The request's scenario: queued, else named by header or model suffix, else the
        default."""
        with self._lock:
            if self._queued:
                return self._queued.popleft()
        names = record.header("x-fake-scenario") or suffix
        if not names:
            return self.scenario
        record.preset = names
        return preset(names, self.scenario)

    def _stream(
        self, conn: Connection, record: RecordedRequest, fmt: WireFormat, path_model: str | None
    ) -> bool:
        record.format = fmt.name
        try:
            parsed: Any = json.loads(record.body) if record.body else {}
        except ValueError:
            parsed = None
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        raw_model = path_model or body.get("model") or body.get("model_name") or ""
        model, suffix = split_preset_suffix(str(raw_model))
        record.model = model
        request = Request(model, body, record.headers, record.query)
        try:
            scenario = self._choose(record, suffix)
        except KeyError as exc:
            unknown = Refusal(400, str(exc.args[0]), "invalid_request_error")
            return self._refuse(conn, record, fmt, Scenario(), unknown, request)
        record.scenario = scenario
        if scenario.hang_up:
            return False
        if scenario.headers_delay_s and self._pause(conn, record, scenario.headers_delay_s):
            return False
        refusal = fmt.check(scenario, request)
        if refusal is None and scenario.status != 200:
            if scenario.error_body or scenario.status < 400:
                presented = _presented_key(request).encode("utf-8")
                error_body = scenario.error_body.replace(b"{api_key}", presented)
                extra = [
                    *fmt.response_headers(scenario),
                    *fmt.retry_headers(scenario, scenario.status),
                    *scenario.error_headers,
                ]
                return self._send_simple(
                    conn, record, scenario.status, error_body, scenario.error_content_type, extra
                )
            refusal = fmt.refusal_for(scenario, request)
            return self._refuse(conn, record, fmt, scenario, refusal, request, retry=True)
        if refusal is None:
            if parsed is None or not isinstance(parsed, dict):
                refusal = Refusal(400, "bad request: the body is not a JSON object")
            else:
                refusal = fmt.check_body(request)
        if refusal is not None:
            return self._refuse(conn, record, fmt, scenario, refusal, request)
        if scenario.body is not None:
            content_type = scenario.content_type or fmt.content_type
            extra = fmt.response_headers(scenario)
            return self._send_simple(conn, record, 200, scenario.body, content_type, extra)
        frames = fmt.render(scenario, request)
        ping = fmt.keepalive(scenario, request).wire
        return self._send_stream(conn, record, fmt, scenario, frames, ping)

    def _pause(self, conn: Connection, record: RecordedRequest, seconds: float) -> bool:
        """Wait before the next write; True (stop answering) if the client hung up in the
        meantime, which is then recorded, or the server is stopping."""
        if not conn.closed_within(seconds):
            return False
        if not self._stop.is_set():
            record.client_closed.set()
        return True

    def _refuse(
        self,
        conn: Connection,
        record: RecordedRequest,
        fmt: WireFormat,
        scenario: Scenario,
        refusal: Refusal,
        request: Request,
        *,
        retry: bool = False,
    ) -> bool:
        body = fmt.error_body(scenario, refusal, request)
        body = body.replace(b"{api_key}", _presented_key(request).encode("utf-8"))
        extra = [*fmt.response_headers(scenario)]
        if retry:
            extra += [*fmt.retry_headers(scenario, refusal.status), *scenario.error_headers]
        return self._send_simple(conn, record, refusal.status, body, "application/json", extra)

    def _send_stream(
        self,
        conn: Connection,
        record: RecordedRequest,
        fmt: WireFormat,
        scenario: Scenario,
        frames: list[Frame],
        ping: bytes = b"",
    ) -> bool:
        pieces = split_wire(frames, scenario.split)
        end: End = "clean"
        if scenario.stall_after is not None:
            end = "stall"
        elif scenario.ping_after is not None:
            end = "ping"
        budget = scenario.drop_after_bytes
        if budget is None and scenario.drop_mid is not None:
            budget = drop_offset(frames, scenario.drop_mid)
        if budget is not None:
            end = "drop"
        extra = "".join(f"{k}: {v}\r\n" for k, v in fmt.response_headers(scenario))
        if scenario.content_encoding:
            if end == "drop":
                raise ValueError("drop_after_bytes counts plain bytes: do not compress")
            pieces = _compress(pieces, scenario.content_encoding)
            extra += f"content-encoding: {scenario.content_encoding}\r\n"
        chunked = scenario.body_framing == "chunked"
        if chunked:
            extra += "transfer-encoding: chunked\r\n"
        elif scenario.body_framing == "length":
            # Announce the whole body (and more when stalling or pinging): a drop leaves it
            # short.
            more = (1 << 30) if end == "ping" else int(end == "stall")
            declared = sum(len(piece) for piece in pieces) + more
            extra += f"content-length: {declared}\r\n"
        else:
            extra += "connection: close\r\n"  # the body ends when the connection does
        head = (
            "HTTP/1.1 200 OK\r\n"
            f"content-type: {scenario.content_type or fmt.content_type}\r\n"
            f"{extra}"
            "cache-control: no-cache\r\n"
            "x-request-id: req_fake\r\n\r\n"
        )
        record.status = 200
        if not conn.send(head.encode("latin-1")):
            record.client_closed.set()
            return False
        for piece in pieces:
            if scenario.write_delay_s and self._pause(conn, record, scenario.write_delay_s):
                return False
            chunk_header = f"{len(piece):x}\r\n".encode() if chunked else b""
            if budget is not None and len(piece) >= budget:
                # Announce the whole chunk, send part of it, and hang up: a crash mid-write.
                conn.send(chunk_header + piece[:budget])
                record.bytes_sent += budget
                return False
            if not conn.send(chunk_header + piece + (b"\r\n" if chunked else b"")):
                record.client_closed.set()
                return False
            record.bytes_sent += len(piece)
            if budget is not None:
                budget -= len(piece)
        if end == "drop":
            return False
        if end == "stall":
            if conn.wait_for_close():
                record.client_closed.set()
            return False
        if end == "ping":
            return self._ping_until_closed(conn, record, scenario, ping, chunked)
        # A truncated reply ends its body properly, then the server closes the connection.
        keep_alive = scenario.truncate_after is None
        if not chunked:  # a close-delimited body ends when the connection closes
            return keep_alive and scenario.body_framing == "length"
        if not conn.send(b"0\r\n\r\n"):
            record.client_closed.set()
            return False
        return keep_alive

    def _ping_until_closed(
        self,
        conn: Connection,
        record: RecordedRequest,
        scenario: Scenario,
        ping: bytes,
        chunked: bool,
    ) -> bool:
        """Send a keep-alive every ``ping_every_s`` until the client leaves."""
        if scenario.content_encoding:
            raise ValueError("keep-alives are sent as they are: do not compress")
        write = f"{len(ping):x}\r\n".encode() + ping + b"\r\n" if chunked else ping
        while not self._pause(conn, record, scenario.ping_every_s):
            if not conn.send(write):
                record.client_closed.set()
                return False
            record.bytes_sent += len(ping)
        return False


def _presented_key(request: Request) -> str:
    for name in ("x-api-key", "x-goog-api-key"):
        value = request.header(name)
        if value:
            return value
    return (request.header("authorization") or "").removeprefix("Bearer ")


def _compress(pieces: list[bytes], encoding: str) -> list[bytes]:
    """Each write compressed and flushed on its own, so the stream still streams."""
    compressor = zlib.compressobj(wbits=31 if encoding == "gzip" else 15)
    out = [compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH) for piece in pieces]
    out.append(compressor.flush())
    return [piece for piece in out if piece]


_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Site Overloaded",
}
