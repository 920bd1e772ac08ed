"""SVG snapshots of the main screens (pytest-textual-snapshot).

Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` after checking the
report. Times come from :class:`SteppingClock`, which moves only when the fake server
sends something, so every figure on screen is the same on every run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import SIZE, SteppingClock, chat, send, stepped_demo_factory

from chatterm.config import Settings
from chatterm.pricing import Cost
from chatterm.sessions.model import Turn, new_session
from chatterm.sessions.store import SessionStore
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.model_picker import ModelPickerScreen
from chatterm.tui.screens.sessions import SessionsScreen
from tests.waiting import wait_for

pytest.importorskip("pytest_textual_snapshot")

NOTICE = (
    "No API key found: running the offline demo model. "
    "Set OPENAI_API_KEY or add a provider to config.toml."
)

SnapCompare = Callable[..., bool]


async def steady(pilot: Pilot[Any]) -> None:
    chat(pilot.app).prompt.cursor_blink = False  # type: ignore[arg-type]
    await pilot.pause()


def test_empty_screen_with_the_demo_notice(snap_compare: SnapCompare) -> None:
    """You should see, in the chatterm-dark theme, the header "chatterm — model: demo",
    the key help and the notice in the empty conversation, the notice as a notification,
    the prompt with its placeholder, the stats bar "model demo · ready" and the footer
    keys (Send, Cancel dimmed, Reasoning, Model, Models, Effort dimmed: the demo takes
    no effort, New chat, Sessions, Quit, Palette)."""
    app = ChatApp(Settings(), "demo", notice=NOTICE, env={})
    assert snap_compare(app, terminal_size=SIZE, run_before=steady)


def one_demo_reply(theme: str | None = None) -> tuple[ChatApp, Callable[..., Any]]:
    """The app after one demo reply, in ``theme`` (the config's), with exact times."""
    clock = SteppingClock()
    app = ChatApp(
        Settings(theme=theme),
        "demo:fast",
        env={},
        client_factory=stepped_demo_factory(clock),
        clock=clock,
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()  # the prompt takes focus when the screen has mounted
        await send(pilot, "Explain Python generators")
        await pilot.app.workers.wait_for_complete()
        await steady(pilot)

    return app, run_before


def test_after_one_demo_reply(snap_compare: SnapCompare) -> None:
    """You should see the question, the model label "demo:fast", the expanded reasoning,
    the Markdown answer (heading, list, code block, table), the turn's stats line, and
    the stats bar with TTFT 320ms, 50 tok/s, $0 (local) and "session $0"."""
    app, run_before = one_demo_reply()
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_a_regenerated_reply(snap_compare: SnapCompare) -> None:
    """You should see the regenerated turn selected (a bar down its left edge) and scrolled
    to its top: the question, the model label "◀ 2/2 ▶  demo:fast", the reasoning and the
    start of the answer; the stats bar ends "session $0 incl. alternatives"."""
    app, first_reply = one_demo_reply()

    async def run_before(pilot: Pilot[Any]) -> None:
        await first_reply(pilot)
        await pilot.press("alt+r")
        app = pilot.app
        assert isinstance(app, ChatApp)
        await wait_for(pilot, lambda: len(app.keeper.costs()) == 2, what="the second reply")
        await pilot.press("alt+up")  # select it: its top scrolls into view
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_a_comparison(snap_compare: SnapCompare) -> None:
    """You should see two columns side by side under the question, "demo:fast" on the
    left (chosen: a thick bar down its left edge) and "demo" on the right, each ending
    with its code block, table and stats line; under them the ranking line (first token,
    fastest, cheapest); the stats bar shows the chosen reply and "Alt+K keeps this one"."""
    clock = SteppingClock()
    app = ChatApp(
        Settings(),
        "demo:fast",
        env={},
        client_factory=stepped_demo_factory(clock),
        clock=clock,
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        screen = chat(pilot.app)
        screen._compare_chosen(("demo:fast", "demo"))  # what the compare list's Enter does
        await send(pilot, "Explain Python generators")
        await wait_for(
            pilot,
            lambda: screen.comparison is not None and not screen.comparison.streaming,
            what="both replies",
        )
        await pilot.app.workers.wait_for_complete()
        await steady(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_after_one_demo_reply_in_the_light_theme(snap_compare: SnapCompare) -> None:
    """The same screen in chatterm-light: dark text on a near-white background, blue
    accents, the code block on a light grey with a light syntax theme."""
    app, run_before = one_demo_reply("chatterm-light")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_after_one_demo_reply_in_the_high_contrast_theme(snap_compare: SnapCompare) -> None:
    """The same screen in chatterm-high-contrast: white text on black, yellow accents,
    no faded text (the reasoning and the stats are light grey, not dim)."""
    app, run_before = one_demo_reply("chatterm-high-contrast")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_after_one_demo_reply_in_the_ansi_theme(snap_compare: SnapCompare) -> None:
    """The same screen in chatterm-ansi: only the terminal's 16 colours (the snapshot
    shows them in Textual's default terminal palette), the code block in Rich's ANSI
    syntax colours on the terminal's own background."""
    app, run_before = one_demo_reply("chatterm-ansi")
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_model_picker(snap_compare: SnapCompare) -> None:
    """You should see the "Models" box over the chat: the filter, then a table of models
    (demo marked ●, openai:test and demo:fast numbered as favourites 1 and 2), whether
    each reasons, its context window, "local" prices for the demo, "missing" keys for
    anthropic and gemini, and the status line "… models · prices in $ per million tokens".
    Prices are left out: the price table's figures change with its releases."""
    settings = Settings(favourites=("openai:test", "demo:fast"))
    app = ChatApp(settings, "demo", env={"OPENAI_API_KEY": "sk-test"}, discover_models=False)

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.press("ctrl+t")
        screen = pilot.app.screen
        assert isinstance(screen, ModelPickerScreen)
        await wait_for(pilot, lambda: not screen.refreshing)
        screen.entries = [
            replace(e, input_per_mtok=None, output_per_mtok=None)
            if e.price_source == "price_table"
            else e
            for e in screen.entries
        ]
        screen._fill(keep="demo")
        screen.filter_input.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.fixture
def utc() -> Iterator[None]:
    """Local time is UTC (the sessions screen shows dates in local time)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


@pytest.mark.usefixtures("utc")
def test_sessions_screen(snap_compare: SnapCompare) -> None:
    """You should see the header "chatterm — sessions", the empty filter with its
    placeholder, a table of four rows, newest first: "Markup [b]shown[/b] as written"
    (shown literally; 2 turns, $0.250), "Rust lifetimes" (openai:test, gemini…; $0.0010
    + ?), "Cooking pasta" (demo, $0), then the unreadable file "⚠ …dead.json: invalid
    JSON at line 1 …" (it has no date), the first row highlighted, the status
    "4 chats · Enter opens", and the footer keys Rename, Delete, Replay, Back."""
    store = SessionStore()
    for session_id, title, models, usd, updated in (
        ("20261101-090000-aaaa", "Cooking pasta", ("demo",), 0.0, "2026-11-01T09:00:00.000Z"),
        (
            "20261102-090000-bbbb",
            "Rust lifetimes",
            ("openai:test", "gemini:gemini-2.5-flash"),
            None,
            "2026-11-02T09:30:00.000Z",
        ),
        (
            "20261104-090000-cccc",
            "Markup [b]shown[/b] as written",
            ("openai:test", "openai:test"),
            0.125,
            "2026-11-04T18:45:00.000Z",
        ),
    ):
        session = new_session(session_id=session_id)
        session.title = title
        for index, model in enumerate(models):
            cost = Cost(0.001 if usd is None and index == 0 else usd, "price_table")
            session.turns.append(
                Turn(prompt="question", model=model, started=updated, answer="answer", cost=cost)
            )
            session.turns[-1].finish_reason = "stop"
        session.created = session.updated = updated
        store.save(session)
    (store.folder / "20261103-000000-dead.json").write_bytes(b'{"chatterm_session": 1, oops')
    app = ChatApp(Settings(), "demo", env={})

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.pause()
        await pilot.press("ctrl+o")
        screen = pilot.app.screen
        assert isinstance(screen, SessionsScreen)
        await wait_for(pilot, lambda: screen.table.row_count == 4)
        screen.filter_input.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
