"""Sessions with every field set, for the store, codec, export and replay tests."""

from __future__ import annotations

from chatterm.events import StreamError, Usage
from chatterm.pricing import Cost
from chatterm.reply.metrics import Metrics
from chatterm.sessions.model import Session, TimelineEntry, Turn, new_session


def full_turn(prompt: str = "What is 2+2?", answer: str = "**4**", *, model: str = "demo") -> Turn:
    return Turn(
        prompt=prompt,
        model=model,
        started="2026-11-21T10:00:00.000Z",
        reasoning="Adding two and two.",
        answer=answer,
        finish_reason="stop",
        usage=Usage(
            input_tokens=12,
            output_tokens=30,
            reasoning_tokens=8,
            cached_input_tokens=4,
            cache_write_tokens=2,
            estimated=False,
            cost_usd=None,
            server_tokens_per_s=88.5,
        ),
        metrics=Metrics(ttft_ms=120.5, first_answer_ms=300.0, duration_ms=900.0, tokens_per_s=50.0),
        cost=Cost(0.00042, "price_table"),
        timeline=[
            TimelineEntry(120, "reasoning", "Adding two and two."),
            TimelineEntry(300, "answer", answer[:2]),
            TimelineEntry(640, "answer", answer[2:]),
        ],
    )


def full_session(turns: int = 2, *, session_id: str = "20261121-100000-abcd") -> Session:
    session = new_session(system="Be brief.", session_id=session_id)
    session.title = "Arithmetic"
    for index in range(turns):
        session.turns.append(full_turn(f"question {index}", f"answer {index}"))
    failed = session.turns[-1]
    failed.finish_reason = "error"
    failed.error = StreamError("HTTP 529 from anthropic: overloaded", retryable=True, status=529)
    failed.warnings = ("skipped 1 line that was not JSON",)
    return session
