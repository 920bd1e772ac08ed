"""The retry wait: exponential with jitter, unless the server says how long."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatterm.retry import MAX_SERVER_WAIT_S, RetryPolicy, server_wait

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
