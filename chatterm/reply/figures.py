"""The wording of a finished reply's figures: one source for the TUI, `ask` and replay.

Each figure comes with a tone (``None``, ``"warning"`` or ``"error"``) so a sink can colour
it; :func:`format_stats` joins them into the plain one-line form. :func:`rank_replies` says
which of several replies to one prompt was first, fastest and cheapest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from chatterm.events import CLEAN_FINISHES, Usage
from chatterm.pricing import Cost, format_usd
from chatterm.reply.accumulate import Reply

Tone = Literal["warning", "error"] | None
SEPARATOR = " · "


def format_ms(ms: float | None) -> str:
    """A duration, compactly: ``312ms``, ``2.3s``, ``1m05s``; ``–`` when unknown."""
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def format_rate(tokens_per_s: float) -> str:
    return f"{tokens_per_s:,.0f} tok/s" if tokens_per_s >= 100 else f"{tokens_per_s:.1f} tok/s"


def format_usage(usage: Usage) -> str:
    """``in 1,200 (1,000 cached) · out 230 (60 reasoning)``, with ``est.`` if estimated."""
    text = f"in {usage.input_tokens:,}"
    if usage.cached_input_tokens:
        text += f" ({usage.cached_input_tokens:,} cached)"
    text += f" · out {usage.output_tokens:,}"
    if usage.reasoning_tokens:
        text += f" ({usage.reasoning_tokens:,} reasoning)"
    if usage.estimated:
        text += " est."
    return text


class SessionCosts(list[Cost | None]):
    """The cost of each reply of a session, alternatives included; ``alternatives`` of
    them are replies kept off the active path (regenerated, edited, undone)."""

    def __init__(self, costs: Iterable[Cost | None] = (), alternatives: int = 0) -> None:
        super().__init__(costs)
        self.alternatives = alternatives


def session_cost(costs: Iterable[Cost | None]) -> str:
    """The sum of the known costs, saying so when some reply's cost is unknown, and that
    it includes alternatives when ``costs`` has any (:class:`SessionCosts`)."""
    text = _sum_of(costs)
    if isinstance(costs, SessionCosts) and costs.alternatives:
        text += " incl. alternatives"
    return text


def _sum_of(costs: Iterable[Cost | None]) -> str:
    total = 0.0
    known = unknown = 0
    estimated = False
    for cost in costs:
        if cost is not None and cost.source == "shared":
            continue  # another choice of the same request carries it
        if cost is None or cost.usd is None:
            unknown += 1
            continue
        known += 1
        total += cost.usd
        estimated = estimated or (cost.estimated and cost.source != "local")
    if unknown and not known:
        return "session cost unknown"
    text = "session " + ("~" if estimated else "") + format_usd(total)
    return text + " + unknown" if unknown else text


def reply_figures(reply: Reply) -> list[tuple[str, Tone]]:
    """The figures of one finished reply, in reading order, each with its tone."""
    metrics = reply.metrics
    figures: list[tuple[str, Tone]] = []
    # How the reply ended comes first, where a narrow terminal cannot cut it off.
    if reply.finish_reason == "cancelled":
        figures.append(("cancelled", "warning"))
    elif reply.finish_reason == "error":
        figures.append(("error", "error"))
    elif reply.finish_reason not in (None, "stop"):
        figures.append((f"finish: {reply.finish_reason}", "warning"))
    figures += [
        (f"TTFT {format_ms(metrics.ttft_ms)}", None),
        (f"answer {format_ms(metrics.first_answer_ms)}", None),
        (f"total {format_ms(metrics.duration_ms)}", None),
        (format_usage(reply.usage), None),
    ]
    if metrics.tokens_per_s is not None:
        figures.append((format_rate(metrics.tokens_per_s), None))
    if reply.usage.server_tokens_per_s is not None:
        figures.append((f"server {format_rate(reply.usage.server_tokens_per_s)}", None))
    figures.append((reply.cost.label() if reply.cost is not None else "cost unknown", None))
    if reply.warnings:
        count = len(reply.warnings)
        figures.append((f"{count} warning{'s' if count > 1 else ''}", "warning"))
    return figures


def format_stats(reply: Reply) -> str:
    return SEPARATOR.join(text for text, _ in reply_figures(reply))


@dataclass(frozen=True, slots=True)
class Ranking:
    """Which of several replies to one prompt did best, each as its position among them
    (None when no reply can be said to)."""

    fastest_first_token: int | None
    fastest_tokens_per_s: int | None
    cheapest: int | None


def rank_replies(replies: Sequence[Reply]) -> Ranking:
    """Rank the replies that finished cleanly (a failed reply's figures are not its
    model's): the lowest TTFT, the highest tokens/s, and the lowest cost, which only counts
    when every one of them has a known cost of its own (an unknown one might be cheaper;
    the choices of one request share one). A tie goes to the reply given first."""
    clean = [(i, reply) for i, reply in enumerate(replies) if reply.finish_reason in CLEAN_FINISHES]

    def best(value: Callable[[Reply], float | None], *, lowest: bool) -> int | None:
        known = [(i, v) for i, reply in clean if (v := value(reply)) is not None]
        if not known:
            return None
        sign = 1 if lowest else -1
        return min(known, key=lambda item: (sign * item[1], item[0]))[0]

    costs = [
        reply.cost.usd if reply.cost is not None and reply.cost.source != "shared" else None
        for _, reply in clean
    ]
    return Ranking(
        fastest_first_token=best(lambda reply: reply.metrics.ttft_ms, lowest=True),
        fastest_tokens_per_s=best(lambda reply: reply.metrics.tokens_per_s, lowest=False),
        cheapest=(
            best(lambda reply: reply.cost.usd if reply.cost else None, lowest=True)
            if None not in costs
            else None
        ),
    )
