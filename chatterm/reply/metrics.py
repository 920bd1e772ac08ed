"""Timing figures of one reply, computed from event stamps only (never from the clock).

Taking every time from the stamps makes tests exact and lets replay reproduce the figures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metrics:
    """TTFT, time to first answer token, duration (all ms) and output tokens per second."""

    ttft_ms: float | None = None
    first_answer_ms: float | None = None
    duration_ms: float | None = None
    tokens_per_s: float | None = None


def compute_metrics(
    *,
    started_at: float | None,
    first_delta_at: float | None,
    first_answer_at: float | None,
    last_delta_at: float | None,
    ended_at: float | None,
    output_tokens: int,
) -> Metrics:
    """TTFT counts from the request to the first reasoning *or* answer delta; tokens/s is
    output tokens over the span from the first delta to the last one."""

    def since_start(at: float | None) -> float | None:
        if started_at is None or at is None:
            return None
        return round((at - started_at) * 1000.0, 1)

    tokens_per_s: float | None = None
    if first_delta_at is not None and last_delta_at is not None and output_tokens > 0:
        span = last_delta_at - first_delta_at
        if span > 0:
            tokens_per_s = round(output_tokens / span, 1)
    return Metrics(
        ttft_ms=since_start(first_delta_at),
        first_answer_ms=since_start(first_answer_at),
        duration_ms=since_start(ended_at),
        tokens_per_s=tokens_per_s,
    )
