"""The stats screen (alt+g, or the palette): what each model cost and how fast it answered.

A table of the figures ``chatterm stats`` prints, per model, over a period (the last 7,
30 or 90 days, or everything; ``p`` moves on), and three charts drawn by plotext through
:class:`textual_plotext.PlotextPlot`: spend per day as bars stacked by model, and each
model's median TTFT and tokens/s per day as lines. Everything comes from the session
index on a thread (:meth:`SessionStore.list` with the figures; no session file is opened
while the index is intact), and the sums are :mod:`chatterm.sessions.stats`'.

Model names are data: they reach the table as ``rich.text.Text`` and the charts made
visible and inert (:func:`~chatterm.text.visible_line`), since plotext's output is read
back as ANSI. A period without a reply shows a sentence instead of empty charts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, timedelta
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual_plotext import PlotextPlot

from chatterm.pricing import format_usd
from chatterm.reply.figures import format_ms
from chatterm.sessions.stats import (
    Figure,
    ModelStats,
    ReplyRecord,
    daily_medians,
    daily_spend,
    day_of,
    per_model,
    replies_of,
    since,
    stats_of,
)
from chatterm.sessions.store import SessionError, SessionStore
from chatterm.text import safe_text, visible_line
from chatterm.tui.bindings import STATS_BINDINGS
from chatterm.tui.widgets.steady_footer import SteadyFooter

#: (days back, today included, or None for everything; the words for it)
PERIODS: tuple[tuple[int | None, str], ...] = (
    (7, "the last 7 days"),
    (30, "the last 30 days"),
    (90, "the last 90 days"),
    (None, "every saved reply"),
)
CHARTED_MODELS = 6  # more would not tell apart in 16 colours: the rest are "other"
LABEL_CHARS = 28
COLUMNS = (
    ("model", "Model", 36),
    ("replies", "Replies", 8),
    ("input", "Tokens in", 12),
    ("output", "Tokens out", 12),
    ("cost", "Cost", 18),
    ("ttft", "TTFT", 8),
    ("speed", "Tokens/s", 9),
)


def chart_label(model: str) -> str:
    """A model's name as a chart may show it: one visible line, cut short."""
    label = visible_line(model)
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def cost_cell(stats: ModelStats) -> str:
    if stats.replies and stats.cost_unknown == stats.replies:
        return "unknown"
    text = format_usd(stats.cost_usd)
    return f"{text} + {stats.cost_unknown} ?" if stats.cost_unknown else text


def row_cells(stats: ModelStats) -> list[Text]:
    name = "total" if stats.model is None else safe_text(stats.model)
    speed = stats.median_tokens_per_s
    return [
        Text(name, style="bold" if stats.model is None else ""),
        Text(str(stats.replies), justify="right"),
        Text(f"{stats.input_tokens:,}", justify="right"),
        Text(f"{stats.output_tokens:,}", justify="right"),
        Text(cost_cell(stats), justify="right"),
        Text(format_ms(stats.median_ttft_ms), justify="right"),
        Text("–" if speed is None else f"{speed:.1f}", justify="right"),
    ]


def day_ticks(first: date, last: date, room: int) -> tuple[list[float], list[str]]:
    """Positions (days after ``first``) and labels for about ``room`` ticks."""
    days = (last - first).days + 1
    step = max(1, -(-days // max(1, room)))
    positions: list[float] = list(range(0, days, step))
    return positions, [(first + timedelta(days=p)).strftime("%m-%d") for p in positions]


class StatsScreen(Screen[None]):
    """Spend and speed over the saved sessions of ``store``."""

    BINDINGS: ClassVar[list[BindingType]] = [*STATS_BINDINGS]

    DEFAULT_CSS = """
    StatsScreen {
        layout: vertical;
        & > #stats-status {
            height: auto;
            padding: 0 2;
            color: $text-muted;
        }
        & > DataTable {
            height: auto;
            max-height: 10;
            margin: 0 1;
        }
        & > #spend-chart {
            height: 1fr;
            min-height: 8;
        }
        & > #speed-charts {
            height: 1fr;
            min-height: 8;
        }
        &.empty > DataTable, &.empty > #spend-chart, &.empty > #speed-charts {
            display: none;
        }
    }
    """

    def __init__(self, store: SessionStore, today: date | None = None) -> None:
        super().__init__()
        self.store = store
        self.today = today
        self.records: list[ReplyRecord] | None = None  # None until read
        self.period = 0  # the index in PERIODS
        self.unreadable = 0  # session files that could not be read

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static(Content("Reading the sessions…"), id="stats-status")
        yield DataTable(id="stats-table", cursor_type="none", zebra_stripes=True)
        yield PlotextPlot(id="spend-chart")
        with Horizontal(id="speed-charts"):
            yield PlotextPlot(id="ttft-chart")
            yield PlotextPlot(id="speed-chart")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.title = "chatterm"
        self.sub_title = "spend and speed"
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            text = Text(label) if key == "model" else Text(label, justify="right")
            table.add_column(text, width=width, key=key)
        self.add_class("empty")
        self._read()

    @work(exclusive=True, group="stats", exit_on_error=False)
    async def _read(self) -> None:
        try:
            summaries = await asyncio.to_thread(self.store.list, figures=True)
        except SessionError as error:
            self._say(f"The sessions cannot be read: {error}")
            return
        self.unreadable = sum(1 for summary in summaries if summary.problem is not None)
        self.records = replies_of(summaries)
        self.show()

    def action_next_period(self) -> None:
        self.period = (self.period + 1) % len(PERIODS)
        if self.records is not None:
            self.show()

    def action_close(self) -> None:
        self.dismiss(None)

    def _say(self, text: str) -> None:
        self.query_one("#stats-status", Static).update(Content(safe_text(text)))

    def show(self) -> None:
        """Fill the table and draw the charts for the period chosen."""
        assert self.records is not None
        days, words = PERIODS[self.period]
        today = self.today or date.today()
        records = self.records
        first_day = None
        if days is not None:
            first_day = today - timedelta(days=days - 1)
            records = since(records, first_day)
        models = per_model(records)
        table = self.query_one(DataTable)
        table.clear()
        if not records:
            self.add_class("empty")
            self._say(
                f"No replies in {words} (p: another period). The charts fill in as you chat."
                + self._unreadable_note()
            )
            return
        self.remove_class("empty")
        for stats in models:
            table.add_row(*row_cells(stats))
        if len(models) > 1:
            table.add_row(*row_cells(stats_of(records)))
        total = stats_of(records)
        self._say(
            f"{words.capitalize()}: {total.replies:,} replies, {cost_cell(total)}. TTFT and "
            "tokens/s are medians; every reply counts, alternatives included. "
            "p: another period" + self._unreadable_note()
        )
        charted = [stats.model for stats in models[:CHARTED_MODELS] if stats.model is not None]
        try:
            self._draw_charts(records, charted, first_day, today)
        except Exception as error:  # noqa: BLE001 - the table stands; the charts say why not
            self._say(f"The charts could not be drawn ({type(error).__name__}: {error}).")

    def _draw_charts(
        self,
        records: Sequence[ReplyRecord],
        charted: list[str],
        first_day: date | None,
        today: date,
    ) -> None:
        self._draw_spend(records, charted, first_day, today)
        first = first_day or min(day_of(r.started) for r in records if r.started is not None)
        self._draw_lines(
            "ttft-chart", "TTFT, median per day (ms)", records, "ttft_ms", charted, first, today
        )
        self._draw_lines(
            "speed-chart",
            "Tokens/s, median per day",
            records,
            "tokens_per_s",
            charted,
            first,
            today,
        )

    def _unreadable_note(self) -> str:
        if not self.unreadable:
            return ""
        return f" ({self.unreadable} unreadable session files not counted.)"

    def _draw_spend(
        self,
        records: Sequence[ReplyRecord],
        charted: list[str],
        first_day: date | None,
        today: date,
    ) -> None:
        plot = self.query_one("#spend-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        spend = daily_spend(records, until=today)
        if first_day is not None and spend.days and spend.days[0] > first_day:
            # The period starts before the first reply in it: its first days are empty.
            padding = (spend.days[0] - first_day).days
            spend = type(spend)(
                [first_day + timedelta(days=n) for n in range(padding)] + spend.days,
                spend.models,
                {m: [0.0] * padding + usd for m, usd in spend.usd.items()},
                [0] * padding + spend.unknown,
            )
        if not spend.days:
            plot.refresh()
            return
        spent = [m for m in spend.models if any(spend.usd[m])]  # not a model of unknown cost
        series = [spend.usd[m] for m in charted if m in spent]
        labels = [chart_label(m) for m in charted if m in spent]
        others = [m for m in spent if m not in charted]
        if others:
            series.append([sum(day) for day in zip(*(spend.usd[m] for m in others), strict=True)])
            labels.append(f"{len(others)} other models")
        unknown = sum(spend.unknown)
        note = f" ({unknown} replies of unknown cost not in the bars)" if unknown else ""
        if not series:  # nothing was paid for (local models, or costs not known)
            plt.title(f"Spend per day, US dollars: nothing spent{note}")
            plot.refresh()
            return
        positions = list(range(len(spend.days)))
        # textual-plotext's stub calls it label; plotext 5.3's stacked_bar takes labels.
        plt.stacked_bar(positions, series, labels=labels, width=0.8)  # type: ignore[call-arg]
        ticks, tick_labels = day_ticks(spend.days[0], spend.days[-1], 12)
        plt.xticks(ticks, tick_labels)
        plt.title(f"Spend per day, US dollars{note}")
        plot.refresh()

    def _draw_lines(
        self,
        chart_id: str,
        title: str,
        records: Sequence[ReplyRecord],
        figure: Figure,
        charted: list[str],
        first: date,
        today: date,
    ) -> None:
        plot = self.query_one(f"#{chart_id}", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        medians = daily_medians(records, figure)
        drawn = 0
        for model in charted:
            points = medians.get(model)
            if not points:
                continue
            xs = [(day - first).days for day, _ in points]
            ys = [value for _, value in points]
            plt.plot(xs, ys, label=chart_label(model), marker="braille")
            drawn += 1
        if drawn:
            ticks, tick_labels = day_ticks(first, today, 5)
            plt.xticks(ticks, tick_labels)
            plt.xlim(0, max(1, (today - first).days))
        plt.title(title if drawn else f"{title}: no reply has it")
        plot.refresh()
