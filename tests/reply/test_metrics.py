"""compute_metrics: timing figures from event stamps only."""

from __future__ import annotations

import pytest

from chatterm.reply.metrics import Metrics, compute_metrics


def metrics(**kwargs: float | int | None) -> Metrics:
    args: dict[str, float | int | None] = {
        "started_at": 50.0,
        "first_delta_at": 50.5,
        "first_answer_at": 51.0,
        "last_delta_at": 54.5,
        "ended_at": 55.0,
        "output_tokens": 200,
    }
    args.update(kwargs)
    return compute_metrics(**args)  # type: ignore[arg-type]


def test_all_figures() -> None:
    assert metrics() == Metrics(
        ttft_ms=500.0,
        first_answer_ms=1000.0,
        duration_ms=5000.0,
        tokens_per_s=50.0,  # 200 tokens over 54.5 - 50.5 = 4 s
    )


def test_ttft_counts_reasoning_deltas() -> None:
    # A reasoning model: first delta (reasoning) long before the first answer token.
    result = metrics(first_delta_at=50.25, first_answer_at=53.0)
    assert result.ttft_ms == 250.0
    assert result.first_answer_ms == 3000.0


def test_tokens_per_s_uses_delta_span_not_duration() -> None:
    # Same token count, longer wait before the first token: the rate does not change.
    assert metrics(started_at=40.0).tokens_per_s == metrics().tokens_per_s == 50.0


def test_rounding() -> None:
    result = metrics(
        started_at=0.0, first_delta_at=0.12346, last_delta_at=3.12346, output_tokens=10
    )
    assert result.ttft_ms == 123.5  # milliseconds to one decimal
    assert result.tokens_per_s == 3.3  # 10 / 3 to one decimal


@pytest.mark.parametrize(
    "kwargs",
    [
        {"output_tokens": 0},
        {"first_delta_at": None},
        {"last_delta_at": None},
        {"last_delta_at": 50.5},  # a single delta: no span to divide by
    ],
)
def test_no_rate_without_tokens_or_span(kwargs: dict[str, float | int | None]) -> None:
    assert metrics(**kwargs).tokens_per_s is None


def test_nothing_without_start() -> None:
    result = metrics(started_at=None)
    assert (result.ttft_ms, result.first_answer_ms, result.duration_ms) == (None, None, None)
    assert result.tokens_per_s == 50.0


def test_no_answer_yet() -> None:
    result = metrics(first_answer_at=None, ended_at=None)
    assert result.first_answer_ms is None
    assert result.duration_ms is None
    assert result.ttft_ms == 500.0


def test_defaults_are_none() -> None:
    assert Metrics() == Metrics(None, None, None, None)
