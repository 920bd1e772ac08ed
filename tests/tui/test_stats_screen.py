"""The stats screen: opened by its key and from the palette, it shows each model's
figures and draws the charts; an empty history is a sentence."""

from __future__ import annotations

from datetime import date
from typing import Any

from textual import events
from textual.pilot import Pilot
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot
from tui_helpers import SIZE, palette_hits, type_text

from chatterm.config import Settings
from chatterm.sessions.model import new_session
from chatterm.sessions.store import SessionStore
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.stats import StatsScreen, chart_label
from tests.cli.test_cli_sessions import HOSTILE
from tests.cli.test_cli_stats import CLAUDE, GPT, turn
from tests.waiting import settle, wait_for


def save_replies() -> None:
    store = SessionStore()
    first = new_session(session_id="20261120-100000-aaaa")
    today = date.today().isoformat()
    first.turns += [
        turn(GPT, f"{today}T10:00:00.000Z", (100, 50), 0.01, 200.0, 40.0),
        turn(GPT, f"{today}T11:00:00.000Z", (200, 100), None, 400.0, 60.0),
        turn(CLAUDE, f"{today}T12:00:00.000Z", (1000, 500), 0.5, 1000.0, 80.0),
        turn(HOSTILE, "2020-01-01T12:00:00.000Z", (1, 1), 0.1, 10.0, 10.0),  # years ago
    ]
    store.save(first)


async def open_with_key(pilot: Pilot[Any]) -> StatsScreen:
    pilot.app.post_message(events.Key("alt+g", "g"))  # as a terminal reports ESC g
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, StatsScreen), what="stats")
    screen = pilot.app.screen
    assert isinstance(screen, StatsScreen)
    await wait_for(pilot, lambda: screen.records is not None, what="the index read")
    await settle(pilot)
    return screen


def table_rows(screen: StatsScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(row)] for row in range(table.row_count)]


def status(screen: StatsScreen) -> str:
    return str(screen.query_one("#stats-status", Static).render())


async def test_the_key_opens_the_figures_and_charts_of_the_last_7_days() -> None:
    save_replies()
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_with_key(pilot)
        assert table_rows(screen) == [
            [CLAUDE, "1", "1,000", "500", "$0.500", "1.0s", "80.0"],
            [GPT, "2", "300", "150", "$0.010 + 1 ?", "300ms", "50.0"],
            ["total", "3", "1,300", "650", "$0.510 + 1 ?", "400ms", "60.0"],
        ]
        assert "The last 7 days: 3 replies" in status(screen)
        for chart in screen.query(PlotextPlot):
            assert chart.display and chart.size.height >= 8
        spend = str(screen.query_one("#spend-chart", PlotextPlot).render())
        assert "Spend per day" in spend and "1 replies of unknown cost" in spend
        assert chart_label(CLAUDE) in spend
        # Everything: the old reply of a model with a hostile name, shown as data.
        await pilot.press("p", "p", "p")
        await settle(pilot)
        assert "Every saved reply: 4 replies" in status(screen)
        assert any("[bold red]loud" in row[0] for row in table_rows(screen))
        for chart in screen.query(PlotextPlot):
            drawn = str(chart.render())
            assert "\x1b]52" not in drawn and "\x1b[2J" not in drawn
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, StatsScreen), what="closed")


async def test_the_palette_opens_it() -> None:
    save_replies()
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "spend")
        await wait_for(pilot, lambda: bool(palette_hits(app)), what="palette hits")
        assert palette_hits(app)[0] == "Spend and speed charts…"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen), what="stats")
        screen = app.screen
        assert isinstance(screen, StatsScreen)
        await wait_for(pilot, lambda: screen.query_one(DataTable).row_count == 3, what="rows")


async def test_an_empty_history_is_a_sentence_not_an_empty_chart() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_with_key(pilot)
        assert status(screen).startswith("No replies in the last 7 days")
        for charts in ("#spend-chart", "#speed-charts"):
            assert not screen.query_one(charts).display
        assert not screen.query_one(DataTable).display


async def test_replies_that_cost_nothing_still_draw_their_charts() -> None:
    """Local models only: no bar to stack (a chart library's empty stack failed every
    chart after it), but the spend chart says so and the speed charts are drawn."""
    store = SessionStore()
    local = new_session(session_id="20261120-100000-bbbb")
    today = date.today().isoformat()
    local.turns += [turn(GPT, f"{today}T10:00:00.000Z", (10, 5), 0.0, 300.0, 50.0)]
    store.save(local)
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_with_key(pilot)
        assert "nothing spent" in str(screen.query_one("#spend-chart", PlotextPlot).render())
        assert "TTFT, median per day" in str(screen.query_one("#ttft-chart", PlotextPlot).render())
        assert "could not be drawn" not in status(screen)
