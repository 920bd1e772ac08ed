"""An opt-in debug log of chatterm's HTTP traffic: ``CHATTERM_LOG=/path/to/file``.

Off unless the variable is set. Each request is one line when it is sent (method, address,
headers), one when its response arrives (status, headers, time to the headers), and one
when its body is done (bytes, total time, any error, the start of an error body); a
request that fails before any response (no connection) is one ``error`` line, and an
unexpected exception one ``crash`` line with its traceback. Lines are JSON objects
(ASCII only, so ``cat``-ing the log cannot drive a terminal), appended to the file, which
is created mode 0600 (its folder 0700).

Keys are never written: the ``Authorization``, ``Proxy-Authorization``, ``x-api-key``,
``x-goog-api-key`` and ``api-key`` headers (and any header whose name says key, token,
secret, password, auth or cookie) are ``***``; so are URL parameters named that way
(``key=``, ``access_token=``…) and a password in the address. Every other value is also
passed through :func:`chatterm.text.redact` with the request's own keys, so a
server echoing a key back (an error body, a redirect) is caught by value. Request bodies
(the conversation) are not logged, only their size.

The hooks are httpx event hooks, so a client logs with one argument::

    httpx.AsyncClient(..., event_hooks=debuglog.log_hooks())

A log that cannot be opened or written is given up quietly (chatterm must not fail for
its debug log); :func:`problem` says why.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import threading
import time
import traceback
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from chatterm.files import NotRegularFile, file_problem, kind_of, private_dir
from chatterm.text import one_line, redact

LOG_ENV = "CHATTERM_LOG"
REDACTED = "***"
ERROR_BODY_CHARS = 1000  # of an error response's body, kept in its "end" line
_FILE_MODE = 0o600

# Headers and URL parameters whose value is a credential, by a word of their name
# (x-api-key, X-Goog-Api-Key, api_key, access_token, Set-Cookie, X-Amz-Security-Token…).
_SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "key",
        "passwd",
        "password",
        "secret",
        "sig",
        "signature",
        "token",
    }
)
_WORD = re.compile(r"[^a-z0-9]+")
# Variables whose value is a credential (for redacting what an unexpected error says).
_SECRET_VARIABLE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)

Hook = Callable[[Any], Awaitable[None]]


def is_secret_name(name: str) -> bool:
    """Whether a header or URL parameter called ``name`` carries a credential."""
    return any(word in _SECRET_WORDS for word in _WORD.split(name.lower()))


def redact_headers(headers: Mapping[str, str], secrets: tuple[str, ...] = ()) -> dict[str, str]:
    """Header names (lower case) to values, credentials replaced by ``***``."""
    shown: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        shown[key] = REDACTED if is_secret_name(key) else redact(value, secrets)
    return shown


def redact_url(url: str | httpx.URL, secrets: tuple[str, ...] = ()) -> str:
    """``url`` with credential parameters and any user/password replaced by ``***``."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact(text, secrets)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = "&".join(_redact_param(item) for item in parts.query.split("&")) if parts.query else ""
    fragment = parts.fragment
    if fragment:
        fragment = "&".join(_redact_param(item) for item in fragment.split("&"))
    rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    return redact(rebuilt, secrets)


def _redact_param(item: str) -> str:
    name, equals, _ = item.partition("=")
    return f"{name}={REDACTED}" if equals and is_secret_name(name) else item


def environment_secrets(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The values of variables that look like credentials (``*_API_KEY``, ``*_TOKEN``…),
    longest first, for redacting text that did not come from a provider."""
    env = os.environ if env is None else env
    values = {
        value
        for name, value in env.items()
        if _SECRET_VARIABLE.search(name) and value and len(value) >= 8
    }
    return tuple(sorted(values, key=len, reverse=True))


# ------------------------------------------------------------------------------ the file


@dataclass
class _Log:
    path: Path
    fd: int | None = None
    failed: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 0

    def write(self, record: dict[str, Any]) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = json.dumps({"t": stamp, **record}, ensure_ascii=True, default=str) + "\n"
        with self.lock:
            if self.failed is not None:
                return
            try:
                if self.fd is None:
                    self.fd = _open_log(self.path)
                os.write(self.fd, line.encode("ascii"))
            except OSError as exc:
                self.failed = f"cannot write the debug log {self.path}: {file_problem(exc)}"

    def new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id


def _open_log(path: Path) -> int:
    """The log file, opened for appending; only a regular file (a FIFO with no reader
    would block every write, a device would swallow the log or worse)."""
    private_dir(path.parent)
    with contextlib.suppress(FileNotFoundError):
        found = os.stat(path)  # a device is refused before it is opened
        if not stat.S_ISREG(found.st_mode):
            raise NotRegularFile(path, kind_of(found.st_mode))
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_NOCTTY", 0), _FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise NotRegularFile(path, "a FIFO (named pipe)") from None
        raise
    opened = os.fstat(fd)
    if not stat.S_ISREG(opened.st_mode):
        os.close(fd)
        raise NotRegularFile(path, kind_of(opened.st_mode))
    os.set_blocking(fd, True)
    return fd


_logs: dict[str, _Log] = {}
_logs_lock = threading.Lock()


def _current() -> _Log | None:
    """The log ``CHATTERM_LOG`` names now, or None when it is not set."""
    value = os.environ.get(LOG_ENV, "").strip()
    if not value:
        return None
    with _logs_lock:
        log = _logs.get(value)
        if log is None:
            log = _logs[value] = _Log(Path(value).expanduser())
        return log


def log_path() -> Path | None:
    log = _current()
    return log.path if log is not None else None


def problem() -> str | None:
    """Why the debug log is not being written (it could not be opened), or None."""
    log = _current()
    return log.failed if log is not None else None


def write(event: str, **fields: Any) -> None:
    """Append one record, when a log is set (fields must already be free of secrets)."""
    log = _current()
    if log is not None:
        log.write({"event": event, **fields})


# ----------------------------------------------------------------------------- the hooks


@dataclass
class _Pending:
    id: int
    started: float
    secrets: tuple[str, ...]


_requests: weakref.WeakKeyDictionary[httpx.Request, _Pending] = weakref.WeakKeyDictionary()


def _request_secrets(request: httpx.Request) -> tuple[str, ...]:
    """The credentials the request carries, to redact them by value wherever they echo."""
    found: list[str] = []
    for name, value in request.headers.items():
        if is_secret_name(name):
            found.append(value)
            _, _, token = value.partition(" ")  # "Bearer KEY": the key alone too
            if token:
                found.append(token)
    for name, value in request.url.params.multi_items():
        if is_secret_name(name):
            found.append(value)
    if request.url.password:
        found.append(request.url.password)
    return tuple(sorted({s for s in found if len(s) >= 4}, key=len, reverse=True))


def _pending(request: httpx.Request) -> _Pending:
    pending = _requests.get(request)
    if pending is None:  # a request the hook did not see (logging began mid-way)
        pending = _requests[request] = _Pending(0, time.monotonic(), _request_secrets(request))
    return pending


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 1)


async def _on_request(request: httpx.Request) -> None:
    log = _current()
    if log is None:
        return
    secrets = _request_secrets(request)
    pending = _requests[request] = _Pending(log.new_id(), time.monotonic(), secrets)
    size = request.headers.get("content-length")
    log.write(
        {
            "event": "request",
            "id": pending.id,
            "method": request.method,
            "url": redact_url(request.url, secrets),
            "headers": redact_headers(request.headers, secrets),
            "body_bytes": int(size) if size and size.isdigit() else None,
        }
    )


async def _on_response(response: httpx.Response) -> None:
    log = _current()
    if log is None:
        return
    pending = _pending(response.request)
    log.write(
        {
            "event": "response",
            "id": pending.id,
            "status": response.status_code,
            "ms": _ms(pending.started),
            "headers": redact_headers(response.headers, pending.secrets),
        }
    )
    if isinstance(response.stream, httpx.AsyncByteStream):
        response.stream = _LoggedBody(response, response.stream, log, pending)


class _LoggedBody(httpx.AsyncByteStream):
    """The response body, passed through as it is, counted; its end is logged once."""

    def __init__(
        self,
        response: httpx.Response,
        stream: httpx.AsyncByteStream,
        log: _Log,
        pending: _Pending,
    ) -> None:
        self._stream = stream
        self._response = weakref.ref(response)
        self._status = response.status_code
        self._log = log
        self._pending = pending
        self._bytes = 0
        self._kept = bytearray()
        self._error: str | None = None
        self._ended = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                self._bytes += len(chunk)
                if self._status >= 400 and len(self._kept) < ERROR_BODY_CHARS * 4:
                    self._kept += chunk[: ERROR_BODY_CHARS * 4 - len(self._kept)]
                yield chunk
        except BaseException as exc:
            self._error = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            raise

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._end()

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        secrets = self._pending.secrets
        size = self._bytes
        body = bytes(self._kept)
        response = self._response()
        if not size and response is not None and hasattr(response, "_content"):
            body = response.content  # read before the hooks saw it (a mock transport)
            size = len(body)
        record: dict[str, Any] = {
            "event": "end",
            "id": self._pending.id,
            "status": self._status,
            "bytes": size,
            "ms": _ms(self._pending.started),
        }
        if self._error is not None:
            record["error"] = one_line(redact(self._error, secrets), 300)
        if self._status >= 400 and body:
            text = body[: ERROR_BODY_CHARS * 4].decode("utf-8", "replace")
            record["body"] = one_line(redact(text, secrets), ERROR_BODY_CHARS)
        self._log.write(record)


def log_hooks() -> dict[str, list[Hook]]:
    """httpx event hooks that log every request, when ``CHATTERM_LOG`` is set; else none
    (``{}``), so a client without a log pays nothing."""
    if _current() is None:
        return {}
    return {"request": [_on_request], "response": [_on_response]}


def log_error(request: httpx.Request, error: BaseException) -> None:
    """A request that failed before its response (no connection, a timeout, a bad URL)."""
    log = _current()
    if log is None:
        return
    pending = _requests.get(request)
    secrets = pending.secrets if pending is not None else _request_secrets(request)
    log.write(
        {
            "event": "error",
            "id": pending.id if pending is not None else None,
            "method": request.method,
            "url": redact_url(request.url, secrets),
            "ms": _ms(pending.started) if pending is not None else None,
            "error": one_line(redact(f"{type(error).__name__}: {error}", secrets), 300),
        }
    )


# ---------------------------------------------------------------------- unexpected errors


def crash_message(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """One line about an unexpected exception, for stderr or a notification, with every
    credential in the environment (and ``secrets``) removed; the traceback, redacted the
    same way, goes to the debug log when one is set."""
    secrets = (*secrets, *environment_secrets())
    log = _current()
    if log is not None:
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        log.write(
            {
                "event": "crash",
                "error": one_line(redact(f"{type(error).__name__}: {error}", secrets), 300),
                "traceback": redact("".join(lines), secrets),
            }
        )
    text = one_line(redact(f"{type(error).__name__}: {error}", secrets), 200)
    if log is not None and log.failed is None:
        where = f"the traceback is in {log.path}"
    else:
        where = f"set {LOG_ENV}=/path/to/file and run it again for the traceback"
    return f"unexpected error: {text}; {where}"
