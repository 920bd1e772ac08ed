"""Which of several replies to one prompt was first, fastest and cheapest
(:func:`chatterm.reply.figures.rank_replies`, what ``ask -m A -m B`` reports)."""

from __future__ import annotations

from chatterm.events import FinishReason, Usage
from chatterm.pricing import Cost
from chatterm.reply.accumulate import Reply
from chatterm.reply.figures import Ranking, rank_replies
from chatterm.reply.metrics import Metrics


def reply(
    ttft_ms: float | None,
    tokens_per_s: float | None,
    usd: float | None,
    finish: FinishReason = "stop",
) -> Reply:
    return Reply(
        model="m",
        reasoning="",
        text="x",
        finish_reason=finish,
        usage=Usage(10, 20),
        metrics=Metrics(ttft_ms=ttft_ms, tokens_per_s=tokens_per_s),
        cost=Cost(usd, "price_table" if usd is not None else "unknown"),
    )


def test_each_figure_has_its_own_winner() -> None:
    replies = [reply(300.0, 90.0, 0.01), reply(100.0, 40.0, 0.03), reply(200.0, 60.0, 0.002)]
    assert rank_replies(replies) == Ranking(
        fastest_first_token=1, fastest_tokens_per_s=0, cheapest=2
    )


def test_a_tie_goes_to_the_reply_given_first() -> None:
    replies = [reply(100.0, 50.0, 0.0), reply(100.0, 50.0, 0.0)]
    assert rank_replies(replies) == Ranking(0, 0, 0)


def test_a_reply_that_did_not_finish_cleanly_is_not_ranked() -> None:
    """A 401 costs nothing and a dropped reply may look fast: neither says anything of
    its model."""
    replies = [
        reply(None, None, 0.0, "error"),
        reply(50.0, 500.0, 0.0, "interrupted"),
        reply(400.0, 30.0, 0.02),
        reply(10.0, 900.0, 0.0, "cancelled"),
    ]
    assert rank_replies(replies) == Ranking(2, 2, 2)
    assert rank_replies([reply(10.0, 9.0, 0.0, "error")]) == Ranking(None, None, None)
    length = [reply(300.0, 20.0, 0.01, "length"), reply(200.0, 10.0, 0.02)]
    assert rank_replies(length) == Ranking(1, 0, 0)  # cut at the limit: still an answer


def test_no_cheapest_while_any_cost_is_unknown() -> None:
    replies = [reply(100.0, 50.0, 0.01), reply(200.0, 40.0, None)]
    assert rank_replies(replies).cheapest is None
    assert rank_replies([reply(100.0, 50.0, None)] * 2).cheapest is None


def test_figures_that_never_happened_are_skipped() -> None:
    replies = [reply(None, None, 0.01), reply(120.0, 33.0, 0.01)]
    assert rank_replies(replies) == Ranking(1, 1, 0)
    assert rank_replies([]) == Ranking(None, None, None)
