"""Spend and speed over every saved reply: the sums and medians of ``chatterm stats`` and
the stats screen, as pure functions of the session index's figures.

Every reply counts, alternatives included (each was paid for), read from the index
(:class:`~chatterm.sessions.index.ReplyFigures`, one request counted once however many
choices it gave). Days are local days: a reply belongs to the day its request was sent
on the user's clock, which is what "since Monday" means to them; the index keeps the
instant (UTC seconds), so the day follows the machine's time zone with no rebuild.

Costs: the sum of the known ones, with the number of replies whose cost is unknown
beside it (never counted as $0). Medians (TTFT, tokens/s) are of the replies that have
the figure; ``None`` when none has.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal, NamedTuple

from chatterm.sessions.index import SessionSummary, reply_figures

Figure = Literal["ttft_ms", "tokens_per_s"]
_DAYS = re.compile(r"([0-9]{1,5})d")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ReplyRecord(NamedTuple):
    """One reply's figures (see :class:`~chatterm.sessions.index.ReplyFigures`)."""

    started: int | None  # seconds since the epoch; None: not a time
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    ttft_ms: float | None
    tokens_per_s: float | None


def replies_of(summaries: Iterable[SessionSummary]) -> list[ReplyRecord]:
    """Every reply of the readable sessions, in no particular order. Figures that cannot
    be read (a damaged index, which ``SessionStore.list(figures=True)`` reads again from
    the files) add nothing."""
    records: list[ReplyRecord] = []
    for summary in summaries:
        if summary.problem is not None:
            continue
        figures = reply_figures(summary.figures)
        if figures is not None:
            records.extend(map(ReplyRecord._make, zip(*figures, strict=True)))
    return records


def day_of(started: int, tz: tzinfo | None = None) -> date:
    """The day of an instant in ``tz`` (None: the machine's local time zone)."""
    return datetime.fromtimestamp(started, tz).date()


def since(
    records: Iterable[ReplyRecord], first_day: date, tz: tzinfo | None = None
) -> list[ReplyRecord]:
    """The replies sent on ``first_day`` or after, in ``tz``; a reply whose time is not
    known is left out."""
    return [r for r in records if r.started is not None and day_of(r.started, tz) >= first_day]


def parse_since(text: str, today: date) -> date:
    """``--since``: a day (``2026-11-21``) or a number of days back (``7d``: today and the
    six days before it). ValueError with one line saying what is accepted."""
    text = text.strip()
    days = _DAYS.fullmatch(text)
    if days is not None and int(days.group(1)) >= 1:
        return today - timedelta(days=int(days.group(1)) - 1)
    if _DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"--since takes a day (YYYY-MM-DD) or a number of days (7d), not {text!r:.40}")


@dataclass(frozen=True, slots=True)
class ModelStats:
    """The replies of one model (or of all: ``model`` None)."""

    model: str | None
    replies: int
    input_tokens: int
    output_tokens: int
    cost_usd: float  # the sum of the known costs
    cost_unknown: int  # replies whose cost is unknown
    median_ttft_ms: float | None
    median_tokens_per_s: float | None

    @property
    def cost_known(self) -> bool:
        """Whether any reply's cost is known (else the sum says nothing)."""
        return self.cost_unknown < self.replies


def stats_of(records: Sequence[ReplyRecord], model: str | None = None) -> ModelStats:
    """The sums and medians of ``records`` (labelled ``model``)."""
    known = [r.cost_usd for r in records if r.cost_usd is not None]
    return ModelStats(
        model=model,
        replies=len(records),
        input_tokens=sum(r.input_tokens for r in records),
        output_tokens=sum(r.output_tokens for r in records),
        cost_usd=sum(known, 0.0),
        cost_unknown=len(records) - len(known),
        median_ttft_ms=_median(r.ttft_ms for r in records),
        median_tokens_per_s=_median(r.tokens_per_s for r in records),
    )


def per_model(records: Iterable[ReplyRecord]) -> list[ModelStats]:
    """One :class:`ModelStats` per model, the most spent on first (then the most
    replies, then by name)."""
    groups: dict[str, list[ReplyRecord]] = {}
    for record in records:
        groups.setdefault(record.model, []).append(record)
    stats = [stats_of(group, model) for model, group in groups.items()]
    return sorted(stats, key=lambda s: (-s.cost_usd, -s.replies, s.model or ""))


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


@dataclass(frozen=True, slots=True)
class DailySpend:
    """Spend per day and model, every day from the first to the last (days without a
    reply included, at 0), for stacked bars."""

    days: list[date] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # the most spent on first
    usd: dict[str, list[float]] = field(default_factory=dict)  # per model, per day
    unknown: list[int] = field(default_factory=list)  # replies of unknown cost, per day


def daily_spend(
    records: Iterable[ReplyRecord], tz: tzinfo | None = None, *, until: date | None = None
) -> DailySpend:
    """The known costs added up per local day and model, from the first day with a reply
    to ``until`` (default: the last day with a reply)."""
    timed = [(day_of(r.started, tz), r) for r in records if r.started is not None]
    if not timed:
        return DailySpend()
    first = min(day for day, _ in timed)
    last = max([day for day, _ in timed] + ([until] if until else []))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    totals: dict[str, float] = {}
    usd: dict[str, list[float]] = {}
    unknown = [0] * len(days)
    for day, record in timed:
        index = (day - first).days
        column = usd.setdefault(record.model, [0.0] * len(days))
        if record.cost_usd is None:
            unknown[index] += 1
        else:
            column[index] += record.cost_usd
            totals[record.model] = totals.get(record.model, 0.0) + record.cost_usd
    models = sorted(usd, key=lambda m: (-totals.get(m, 0.0), m))
    return DailySpend(days, models, {m: usd[m] for m in models}, unknown)


def daily_medians(
    records: Iterable[ReplyRecord], figure: Figure, tz: tzinfo | None = None
) -> dict[str, list[tuple[date, float]]]:
    """Per model, the median of ``figure`` on each local day that has one, in day order
    (lines over time: one point a day keeps a busy day from drowning the others)."""
    groups: dict[str, dict[date, list[float]]] = {}
    for record in records:
        value = getattr(record, figure)
        if record.started is None or value is None:
            continue
        days = groups.setdefault(record.model, {})
        days.setdefault(day_of(record.started, tz), []).append(value)
    return {
        model: [(day, statistics.median(values)) for day, values in sorted(days.items())]
        for model, days in sorted(groups.items())
    }
