"""When and how long to wait before sending a failed request again.

Only failures *before the first token* are retried: after text has arrived a silent retry
would show the user a different reply than the one they were reading. The wait is
exponential with jitter (so many clients that failed together do not return together),
unless the server said how long to wait with ``retry-after-ms`` (OpenAI, Anthropic) or
``Retry-After`` (seconds or an HTTP date, RFC 9110), which wins when it is reasonable.
Hand-written because the usual libraries (tenacity, backoff) wrap a whole call, while here
the decision sits inside a stream that may already have shown something.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_MAX_RETRIES = 2
MAX_SERVER_WAIT_S = 60.0  # a longer Retry-After is not worth holding the user for

# Statuses worth sending again after a pause: a timeout, a conflict, a rate limit, and any
# server-side failure (5xx, Anthropic's 529 overloaded and Cloudflare's 520-524 included)
# except 501 and 505, which say the server will never do what was asked.
_RETRYABLE_4XX = frozenset({408, 409, 429})
_NEVER_5XX = frozenset({501, 505})
_STATUS_WORDS = {
    408: "request timeout",
    409: "conflict",
    429: "rate limited",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
    529: "overloaded",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``max_retries`` extra attempts, waiting ``base_s`` × 2^n (± jitter, at most
    ``cap_s``) unless the server says otherwise."""

    max_retries: int = DEFAULT_MAX_RETRIES
    base_s: float = 0.5
    cap_s: float = 8.0
    jitter: float = 0.25  # the wait is scaled by a random factor in [1 - jitter, 1 + jitter]

    def delay(
        self,
        retry: int,
        headers: Mapping[str, str] | None = None,
        *,
        rand: Callable[[], float] = random.random,
        now: datetime | None = None,
    ) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        server = server_wait(headers, now=now) if headers else None
        if server is not None and server <= MAX_SERVER_WAIT_S:
            return server
        backoff = min(self.base_s * 2.0**retry, self.cap_s)
        return backoff * (1 - self.jitter + 2 * self.jitter * rand())

    def wait(
        self,
        retry: int,
        headers: Mapping[str, str] | None = None,
        *,
        rand: Callable[[], float] = random.random,
        now: datetime | None = None,
    ) -> float | None:
        """Seconds to wait before retry number ``retry`` (0 for the first), or None when
        there is no retry left, or when the server asks for a wait longer than
        :data:`MAX_SERVER_WAIT_S` (a spent quota: asking again sooner cannot help)."""
        if retry >= self.max_retries:
            return None
        server = server_wait(headers, now=now) if headers else None
        if server is not None and server > MAX_SERVER_WAIT_S:
            return None
        return self.delay(retry, headers, rand=rand, now=now)


def retryable_status(status: int) -> bool:
    """Whether an HTTP error status is worth the same request again after a pause."""
    return status in _RETRYABLE_4XX or (500 <= status <= 599 and status not in _NEVER_5XX)


def status_reason(status: int) -> str:
    """A few words for a retry notice: ``HTTP 429 rate limited``."""
    words = _STATUS_WORDS.get(status, "server error" if status >= 500 else "error")
    return f"HTTP {status} {words}"


def format_wait(seconds: float) -> str:
    """``0.5 s``, ``3 s``, ``12 s``, ``2 min``, ``1.5 h``: a wait as people say it."""
    if seconds < 10:
        text = f"{seconds:.1f}".removesuffix(".0")
        return f"{text} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 3570:  # what rounds to 60 min reads as 1 h
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f}".removesuffix(".0") + " h"


def server_wait(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """The wait the server asked for, in seconds, or None if it did not ask (or asked in a
    form that cannot be read)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis)
        except ValueError:
            value = -1
        if 0 <= value < float("inf"):
            return value / 1000
    after = headers.get("retry-after")
    if after is None:
        return None
    after = after.strip()
    try:
        seconds = float(after)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < float("inf") else None
    from email.utils import parsedate_to_datetime  # rare (an HTTP date), and slow to import

    try:
        when = parsedate_to_datetime(after)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
