"""The retry wait: exponential with jitter, unless the server says how long."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatterm.retry import (
    MAX_SERVER_WAIT_S,
    RetryPolicy,
    format_wait,
    retryable_status,
    server_wait,
    status_reason,
)

NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "250.5", "retry-after": "9"}, 0.2505),  # the finer one wins
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": " 0.5 "}, 0.5),
        ({"retry-after": "Sat, 21 Nov 2026 12:00:07 GMT"}, 7.0),
        ({"retry-after": "Sat, 21 Nov 2026 11:59:00 GMT"}, 0.0),  # in the past: now
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "tomorrow"}, None),
        ({"retry-after": ""}, None),
        ({}, None),
    ],
)
def test_server_wait(headers: dict[str, str], expected: float | None) -> None:
    assert server_wait(headers, now=NOW) == expected


def test_backoff_doubles_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=4.0, jitter=0.25)
    assert [policy.delay(n, rand=lambda: 0.5) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(1, rand=lambda: 0.0) == 0.75
    assert policy.delay(1, rand=lambda: 1.0) == 1.25


def test_the_server_wins_unless_it_asks_too_much() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, {"retry-after": "7"}, rand=lambda: 0.5) == 7.0
    too_long = {"retry-after": str(MAX_SERVER_WAIT_S + 1)}
    assert policy.delay(0, too_long, rand=lambda: 0.5) == 0.5


def test_wait_is_none_without_retries_left_or_when_the_server_asks_too_much() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.wait(0, rand=lambda: 0.5) == 0.5
    assert policy.wait(1, {"retry-after-ms": "1500"}) == 1.5
    assert policy.wait(2, rand=lambda: 0.5) is None  # two retries made: none left
    assert RetryPolicy(max_retries=0).wait(0) is None
    assert policy.wait(0, {"retry-after": str(MAX_SERVER_WAIT_S)}) == MAX_SERVER_WAIT_S
    assert policy.wait(0, {"retry-after": str(MAX_SERVER_WAIT_S + 1)}) is None


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (409, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (520, True),  # Cloudflare: the origin failed
        (529, True),  # Anthropic: overloaded
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (413, False),
        (422, False),
        (501, False),  # not implemented: never will be
        (505, False),
        (301, False),
    ],
)
def test_retryable_status(status: int, retryable: bool) -> None:
    assert retryable_status(status) is retryable


def test_status_reason() -> None:
    assert status_reason(429) == "HTTP 429 rate limited"
    assert status_reason(529) == "HTTP 529 overloaded"
    assert status_reason(503) == "HTTP 503 service unavailable"
    assert status_reason(599) == "HTTP 599 server error"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (0.5, "0.5 s"),
        (0.625, "0.6 s"),
        (3.0, "3 s"),
        (12.4, "12 s"),
        (90, "90 s"),
        (600, "10 min"),
        (3600, "1 h"),
        (5400, "1.5 h"),
    ],
)
def test_format_wait(seconds: float, text: str) -> None:
    assert format_wait(seconds) == text
