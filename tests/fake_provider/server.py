"""A fake OpenAI-compatible server that speaks the real wire format, byte by byte.

The server is a plain HTTP/1.1 implementation over sockets (no framework in between), run on
127.0.0.1 with an ephemeral port in background threads. It serves

* ``POST /v1/chat/completions`` as a chunked ``text/event-stream`` of real Chat Completions
  chunk shapes (role chunk, ``reasoning_content``/``reasoning``/``<think>`` reasoning, content
  deltas, finish chunk, a ``choices: []`` usage chunk when ``stream_options.include_usage`` is
  set, then ``data: [DONE]``), and
* ``GET /v1/models``.

What it sends is chosen per test by a :class:`Scenario`: the reply script, the framing (LF or
CRLF, how the bytes are cut into writes, keep-alive comments, a BOM, gzip/deflate, chunked or
Content-Length or close-delimited bodies, delays) and faults (an HTTP error status, a
mid-stream ``{"error": …}`` event, a truncated body, an abrupt close after N bytes, a stall
until the client goes away, a line that is not JSON, text that is not SSE, no usage chunk, a
hang-up before any response). Every request is recorded (:class:`RecordedRequest`) with its
headers and JSON body, and with events telling when the server finished answering it and
whether it saw the client close the connection.

With the default chunked framing each write becomes one HTTP chunk, and an HTTP/1.1 client's
parser never merges two chunks, so the client reads the body in pieces at least as fine as
the scenario's writes.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Dialect = Literal["reasoning_content", "reasoning", "think_tags", "none"]
Split = Literal["event", "whole", "awkward", "bytewise"] | int | tuple[int, ...]
End = Literal["clean", "stall", "drop"]

DEFAULT_REASONING = (
    "The user wants a short note on naïve text handling. I should say that UTF-8 uses one to "
    "four bytes per character — 日本語 takes three each, and 🚀 takes four. A list and a small "
    "code block will make it concrete."
)
DEFAULT_ANSWER = (
    "## Naïve — 日本語 🚀\n\n"
    "Text is **not** bytes:\n\n"
    "- `é` is 2 bytes, `日` is 3 and `🚀` is 4\n"
    "- a line\u2028separator is legal, unescaped, inside a JSON string\n\n"
    "```python\n"
    'print("naïve — 日本語 🚀".encode())\n'
    "```\n\n"
    "| char | bytes |\n|---|---:|\n| é | 2 |\n| 🚀 | 4 |"
)

_TOKEN = re.compile(r"\s*\S{1,4}|\s+")
_POLL_S = 0.02  # how often blocked server threads look at the stop flag
_CREATED = 1_750_000_000


def split_tokens(text: str) -> list[str]:
    """Cut text into token-sized pieces (at most four visible characters, spaces leading)."""
    return _TOKEN.findall(text)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the fake server does for one chat completions request.

    Event counts (``truncate_after``, ``stall_after``, ``error_after``, ``garbage_after``)
    count SSE *data* events: the role chunk is event 1, comments do not count (the line
    that is not JSON does). Truncating or stalling after N events still sends the comments
    and ``raw_after`` text that follow event N.
    """

    # --- the reply script
    reasoning: str = DEFAULT_REASONING
    answer: str = DEFAULT_ANSWER
    dialect: Dialect = "reasoning_content"
    tokens_per_chunk: int = 1
    think_open_tag: bool = True  # False: the template put <think> in the prompt (QwQ, Qwen3)
    finish_reason: str | None = "stop"  # None: no finish chunk at all
    model: str | None = None  # None: echo the requested model
    prompt_tokens: int = 31
    cached_tokens: int = 0
    completion_tokens: int | None = None  # None: the number of scripted tokens
    reasoning_tokens: int | None = None  # None: the number of scripted reasoning tokens
    cost: float | None = None  # server-reported usage.cost (OpenRouter, LiteLLM)
    usage_chunk: bool = True  # send the usage chunk when the request asks for it
    done: bool = True  # end with data: [DONE]
    # --- framing
    line_ending: Literal["\n", "\r\n"] = "\n"
    split: Split = "event"
    keepalive_comments: bool = False  # ": keep-alive" before the first event and mid-stream
    data_space: bool = True  # "data: {…}" (True) or "data:{…}" (False)
    write_delay_s: float = 0.0  # pause before every body write
    headers_delay_s: float = 0.0  # pause before the status line (time to first byte)
    bom: bool = False  # a UTF-8 byte order mark before the first event
    content_encoding: Literal["gzip", "deflate"] | None = None  # compressed, flushed per write
    body_framing: Literal["chunked", "length", "close"] = "chunked"  # HTTP/1.1 body framing
    # --- faults
    status: int = 200
    error_body: bytes = b""
    error_content_type: str = "application/json"
    error_headers: tuple[tuple[str, str], ...] = ()
    error_after: int | None = None  # mid-stream {"error": …} event after N data events
    error_object: Mapping[str, Any] | None = None
    done_after_error: bool = True
    truncate_after: int | None = None  # end the body cleanly after N data events, then close
    drop_after_bytes: int | None = None  # close the socket abruptly after N body bytes
    stall_after: int | None = None  # send N data events, then nothing until the client leaves
    garbage_after: int | None = None  # a data line that is not JSON after N data events
    raw_after: tuple[int, str] | None = None  # raw text (not SSE) after N data events
    hang_up: bool = False  # read the request, then close without any response
    api_key: str | None = None  # when set, any other Authorization gets a 401

    def but(self, **changes: Any) -> Scenario:
        return replace(self, **changes)

    # --- what a client should reconstruct

    @property
    def reasoning_pieces(self) -> list[str]:
        return _group(split_tokens(self.reasoning), self.tokens_per_chunk)

    @property
    def answer_pieces(self) -> list[str]:
        return _group(split_tokens(self.answer), self.tokens_per_chunk)

    @property
    def content_pieces(self) -> list[str]:
        """The ``delta.content`` strings, in order (reasoning included for think_tags)."""
        if self.dialect == "think_tags":
            opening = "<think>\n" if self.think_open_tag else ""
            return _group(
                split_tokens(f"{opening}{self.reasoning}\n</think>\n\n{self.answer}"),
                self.tokens_per_chunk,
            )
        return self.answer_pieces

    @property
    def expected_reasoning(self) -> str:
        return "" if self.dialect == "none" else self.reasoning

    def completion_count(self) -> int:
        if self.completion_tokens is not None:
            return self.completion_tokens
        return len(split_tokens(self.reasoning)) + len(split_tokens(self.answer))

    def reasoning_count(self) -> int:
        if self.reasoning_tokens is not None:
            return self.reasoning_tokens
        return len(split_tokens(self.reasoning))

    def usage_object(self) -> dict[str, Any]:
        """The ``usage`` object of the final chunk, in the dialect's server's shape."""
        completion = self.completion_count()
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }
        if self.dialect != "think_tags":  # servers without a reasoning parser cannot count it
            usage["completion_tokens_details"] = {"reasoning_tokens": self.reasoning_count()}
        if self.dialect == "reasoning_content":  # DeepSeek's own cache counters
            usage["prompt_cache_hit_tokens"] = self.cached_tokens
            usage["prompt_cache_miss_tokens"] = self.prompt_tokens - self.cached_tokens
        if self.cost is not None:  # OpenRouter's extras
            usage["cost"] = self.cost
            usage["is_byok"] = False
        return usage

    # --- ready-made faults

    @classmethod
    def http_error(
        cls,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        code: str | None = None,
        plain: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Scenario:
        """An HTTP error before the stream starts, with an OpenAI error envelope.

        ``plain`` sends a ``text/plain`` body instead (what a proxy in front of the server
        says). ``{api_key}`` in ``message`` is replaced by the key the client presented, the
        way a careless server echoes it.
        """
        if plain is not None:
            return cls(
                status=status,
                error_body=plain.encode("utf-8"),
                error_content_type="text/plain; charset=utf-8",
                error_headers=tuple(headers),
            )
        default_message, default_type, default_code = _ERRORS.get(
            status, (f"fake error {status}", "invalid_request_error", None)
        )
        envelope = {
            "error": {
                "message": message if message is not None else default_message,
                "type": error_type or default_type,
                "param": None,
                "code": code if code is not None else default_code,
            }
        }
        if status == 429 and not headers:
            headers = (("retry-after", "3"), ("x-ratelimit-remaining-tokens", "0"))
        return cls(
            status=status,
            error_body=json.dumps(envelope).encode("utf-8"),
            error_headers=tuple(headers),
        )


_ERRORS: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided: {api_key}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: ("You are not allowed to use this model.", "invalid_request_error", None),
    404: ("The model `test-model` does not exist.", "invalid_request_error", "model_not_found"),
    429: (
        "Rate limit reached for test-model on tokens per min (TPM): Limit 30000, Used 30000, "
        "Requested 1200. Please try again in 2.4s.",
        "tokens",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}

MIDSTREAM_ERROR: dict[str, Any] = {
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}


def _group(tokens: list[str], size: int) -> list[str]:
    size = max(1, size)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


# ---------------------------------------------------------------------------- the SSE body


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE event (or comment) on the wire, with what it carries."""

    wire: bytes
    kind: Literal["data", "comment", "raw"] = "data"
    reasoning: str = ""  # reasoning text in a dedicated field
    content: str = ""  # delta.content text
    finish: str | None = None
    usage: Mapping[str, Any] | None = None
    error: Mapping[str, Any] | None = None


def render_frames(
    scenario: Scenario, model: str = "test-model", include_usage: bool = True
) -> list[Frame]:
    """The body's frames, with every fault except the transport ones (stall, drop) applied."""
    s = scenario
    eol = s.line_ending
    prefix = "data: " if s.data_space else "data:"
    model = s.model or model
    usage_key = {"usage": None} if include_usage else {}
    frames: list[Frame] = []

    def data(payload: str, **meaning: Any) -> None:
        frames.append(Frame((prefix + payload + eol + eol).encode("utf-8"), **meaning))

    def chunk(delta: dict[str, Any], finish: str | None = None, **meaning: Any) -> None:
        body: dict[str, Any] = {
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **usage_key,
        }
        data(_dumps(body), finish=finish, **meaning)

    def comment() -> None:
        if s.keepalive_comments:
            frames.append(Frame((": keep-alive" + eol + eol).encode("utf-8"), kind="comment"))

    comment()
    if s.dialect == "reasoning_content":
        chunk({"role": "assistant", "content": None, "reasoning_content": ""})
    elif s.dialect == "none":
        chunk({"role": "assistant", "content": "", "refusal": None})
    else:
        chunk({"role": "assistant", "content": ""})
    if s.dialect == "reasoning_content":
        for piece in s.reasoning_pieces:
            chunk({"content": None, "reasoning_content": piece}, reasoning=piece)
    elif s.dialect == "reasoning":
        for piece in s.reasoning_pieces:
            chunk({"reasoning": piece}, reasoning=piece)
    comment()
    for piece in s.content_pieces:
        if s.dialect == "reasoning_content":
            chunk({"content": piece, "reasoning_content": None}, content=piece)
        else:
            chunk({"content": piece}, content=piece)
    if s.finish_reason is not None:
        chunk({}, s.finish_reason)
    if include_usage and s.usage_chunk:
        usage = s.usage_object()
        body = {
            "id": "chatcmpl-fake1",
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [],
            "usage": usage,
        }
        data(_dumps(body), usage=usage)
    if s.done:
        data("[DONE]")

    if s.raw_after is not None:
        count, raw = s.raw_after
        frames.insert(_index_after_data(frames, count), Frame(raw.encode("utf-8"), kind="raw"))
    if s.garbage_after is not None:
        at = _index_after_data(frames, s.garbage_after)
        bad = (prefix + "this is not JSON {" + eol + eol).encode("utf-8")
        frames.insert(at, Frame(bad))
    if s.error_after is not None:
        at = _index_after_data(frames, s.error_after)
        error = dict(s.error_object or MIDSTREAM_ERROR)
        frames = frames[:at]
        data(_dumps(error), error=error)
        if s.done_after_error:
            data("[DONE]")
    if s.truncate_after is not None:
        frames = frames[: _index_of_data(frames, s.truncate_after)]
    if s.stall_after is not None:
        frames = frames[: _index_of_data(frames, s.stall_after)]
    if s.bom and frames:
        frames[0] = replace(frames[0], wire=b"\xef\xbb\xbf" + frames[0].wire)
    return frames


def _dumps(value: Any) -> str:
    # Compact, and raw UTF-8 (U+2028 included), as the real servers send it.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _index_after_data(frames: list[Frame], count: int) -> int:
    """Index just after the ``count``-th data frame (comments before it included)."""
    seen = 0
    for i, frame in enumerate(frames):
        if seen == count:
            return i
        if frame.kind == "data":
            seen += 1
    return len(frames)


def _index_of_data(frames: list[Frame], number: int) -> int:
    """Index of the data frame numbered ``number`` (0-based), or the end."""
    seen = 0
    for i, frame in enumerate(frames):
        if frame.kind == "data":
            if seen == number:
                return i
            seen += 1
    return len(frames)


def reconstruct(frames: Sequence[Frame]) -> tuple[str, str]:
    """The (reasoning, content) a client should have after receiving ``frames``."""
    return "".join(f.reasoning for f in frames), "".join(f.content for f in frames)


def awkward_offsets(wire: bytes) -> list[int]:
    """Cut points a careless decoder gets wrong: inside ``data:``, mid-line, inside every
    multi-byte UTF-8 character, and between every CR and its LF."""
    cuts: set[int] = set()
    start = 0
    for line in wire.splitlines(keepends=True):
        if line.startswith(b"data:"):
            cuts.add(start + 3)
            cuts.add(start + len(line) // 2)
        start += len(line)
    for i, byte in enumerate(wire):
        if byte >= 0xC0:  # lead byte of a multi-byte character
            cuts.add(i + 1)
        elif byte == 0x0A and i and wire[i - 1] == 0x0D:
            cuts.add(i)
    return sorted(c for c in cuts if 0 < c < len(wire))


def split_wire(frames: Sequence[Frame], split: Split) -> list[bytes]:
    """The body cut into the writes the server makes."""
    wire = b"".join(f.wire for f in frames)
    if not wire:
        return []
    if split == "event":
        return [f.wire for f in frames]
    if split == "whole":
        return [wire]
    if split == "bytewise":
        return [wire[i : i + 1] for i in range(len(wire))]
    if split == "awkward":
        cuts = awkward_offsets(wire)
    elif isinstance(split, int):
        cuts = list(range(split, len(wire), split))
    else:
        cuts = sorted(c for c in set(split) if 0 < c < len(wire))
    bounds = [0, *cuts, len(wire)]
    return [wire[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def mid_frame_offset(frames: Sequence[Frame], data_index: int) -> int:
    """A byte offset in the middle of the ``data_index``-th data frame (0-based): a drop there
    cuts that event's line in half."""
    offset = 0
    seen = 0
    for frame in frames:
        if frame.kind == "data":
            if seen == data_index:
                return offset + len(frame.wire) // 2
            seen += 1
        offset += len(frame.wire)
    raise IndexError(data_index)


# ---------------------------------------------------------------------------- the server


@dataclass
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    scenario: Scenario | None = None
    #: set when the server has written its whole response (or given up on the client)
    finished: threading.Event = field(default_factory=threading.Event)
    #: set when the server saw the client close the connection before the response ended
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


class _Stopped(Exception):
    """The server is shutting down."""


class _Connection:
    """A buffered reader over one accepted socket that notices the server stopping."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.buffer = b""

    def _recv(self) -> bytes:
        while True:
            if self.stop.is_set():
                raise _Stopped
            readable, _, _ = select.select([self.sock], [], [], _POLL_S)
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

    def wait_for_close(self) -> bool:
        """Block until the peer closes (True) or the server stops (False)."""
        try:
            while True:
                data = self._recv()
                if not data:
                    return True
        except _Stopped:
            return False


class FakeServer:
    """The fake OpenAI-compatible server. Use as a context manager, or start()/stop().

    Set :attr:`scenario` (used for every chat request) or :meth:`queue` scenarios for the
    next requests, one each. :attr:`requests` lists what arrived.
    """

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or Scenario()
        self.models: tuple[str, ...] = ("test-model", "deepseek-reasoner")
        self.requests: list[RecordedRequest] = []
        self.errors: list[BaseException] = []
        self._queued: deque[Scenario] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="fake-openai-accept", daemon=True
        )

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (append ``/v1`` for an OpenAI base URL)."""
        return f"http://127.0.0.1:{self.port}"

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

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """The first ``count`` requests, waiting for them to arrive (a safety-net timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {count} request(s), got {len(self.requests)}")
            time.sleep(_POLL_S)
        return self.requests[:count]

    def check(self) -> None:
        """Raise the first exception a server thread hit (the fixture calls this)."""
        if self.errors:
            raise RuntimeError("the fake server failed") from self.errors[0]

    # --- threads

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._listener], [], [], _POLL_S)
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
                target=self._serve_connection, args=(sock,), name="fake-openai-conn", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve_connection(self, sock: socket.socket) -> None:
        with sock:
            sock.setblocking(True)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(sock, self._stop)
            try:
                while self._handle_one(conn):
                    pass
            except _Stopped:
                pass
            except Exception as exc:  # reported by check(), which the fixture calls
                self.errors.append(exc)

    def _next_scenario(self) -> Scenario:
        with self._lock:
            return self._queued.popleft() if self._queued else self.scenario

    def _handle_one(self, conn: _Connection) -> bool:
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
            if method == "POST" and path == "/v1/chat/completions":
                return self._chat(conn, record)
            if method == "GET" and path == "/v1/models":
                models = {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": _CREATED, "owned_by": "fake"}
                        for m in self.models
                    ],
                }
                return self._send_simple(conn, 200, json.dumps(models).encode())
            envelope = {
                "error": {
                    "message": f"Invalid URL ({method} {path})",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            }
            return self._send_simple(conn, 404, json.dumps(envelope).encode())
        finally:
            record.finished.set()

    def _read_chunked(self, conn: _Connection) -> bytes | None:
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

    def _send_simple(
        self,
        conn: _Connection,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        extra: Sequence[tuple[str, str]] = (),
    ) -> bool:
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
            f"content-type: {content_type}",
            f"content-length: {len(body)}",
            "x-request-id: req_fake",
            *(f"{k}: {v}" for k, v in extra),
        ]
        return conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def _chat(self, conn: _Connection, record: RecordedRequest) -> bool:
        scenario = self._next_scenario()
        record.scenario = scenario
        if scenario.hang_up:
            return False
        if scenario.headers_delay_s and self._stop.wait(scenario.headers_delay_s):
            return False
        presented = (record.header("authorization") or "").removeprefix("Bearer ")
        if scenario.api_key is not None and presented != scenario.api_key:
            scenario = Scenario.http_error(401)
        if scenario.status != 200:
            body = scenario.error_body.replace(b"{api_key}", presented.encode("utf-8"))
            return self._send_simple(
                conn, scenario.status, body, scenario.error_content_type, scenario.error_headers
            )
        try:
            request = json.loads(record.body)
            model = str(request["model"])
            if request.get("stream") is not True:
                raise ValueError("this fake server only streams")
        except (ValueError, KeyError, TypeError) as exc:
            envelope = {"error": {"message": f"bad request: {exc}", "type": "invalid_request"}}
            return self._send_simple(conn, 400, json.dumps(envelope).encode())
        options = request.get("stream_options") or {}
        frames = render_frames(scenario, model, include_usage=bool(options.get("include_usage")))
        pieces = split_wire(frames, scenario.split)
        end: End = "clean"
        if scenario.stall_after is not None:
            end = "stall"
        if scenario.drop_after_bytes is not None:
            end = "drop"
        extra = ""
        if scenario.content_encoding:
            if end == "drop":
                raise ValueError("drop_after_bytes counts plain bytes: do not compress")
            pieces = _compress(pieces, scenario.content_encoding)
            extra += f"content-encoding: {scenario.content_encoding}\r\n"
        chunked = scenario.body_framing == "chunked"
        if chunked:
            extra += "transfer-encoding: chunked\r\n"
        elif scenario.body_framing == "length":
            # Announce the whole body (and more when stalling): a drop leaves it short.
            declared = sum(len(piece) for piece in pieces) + (end == "stall")
            extra += f"content-length: {declared}\r\n"
        else:
            extra += "connection: close\r\n"  # the body ends when the connection does
        head = (
            "HTTP/1.1 200 OK\r\n"
            "content-type: text/event-stream; charset=utf-8\r\n"
            f"{extra}"
            "cache-control: no-cache\r\n"
            "x-request-id: req_fake\r\n\r\n"
        )
        if not conn.send(head.encode("latin-1")):
            record.client_closed.set()
            return False
        budget = scenario.drop_after_bytes
        for piece in pieces:
            if scenario.write_delay_s and self._stop.wait(scenario.write_delay_s):
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
        # A truncated reply ends its body properly, then the server closes the connection.
        keep_alive = scenario.truncate_after is None
        if not chunked:  # a close-delimited body ends when the connection closes
            return keep_alive and scenario.body_framing == "length"
        if not conn.send(b"0\r\n\r\n"):
            record.client_closed.set()
            return False
        return keep_alive


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
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
