"""SVG snapshots of the main screen (pytest-textual-snapshot).

Update with ``pytest tests/tui/test_snapshots.py --snapshot-update`` after checking the
report. Times come from :class:`SteppingClock`, which moves only when the fake server
sends something, so every figure on screen is the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import SIZE, SteppingClock, chat, send, stepped_demo_factory

from chatterm.config import Settings
from chatterm.tui.app import ChatApp

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
    """You should see the header "chatterm — model: demo", the key help and the notice
    in the empty conversation, the notice as a notification, the prompt with its
    placeholder, the stats bar "model demo · ready" and the footer keys."""
    app = ChatApp(Settings(), "demo", notice=NOTICE, env={})
    assert snap_compare(app, terminal_size=SIZE, run_before=steady)


def test_after_one_demo_reply(snap_compare: SnapCompare) -> None:
    """You should see the question, the model label "demo:fast", the expanded reasoning,
    the Markdown answer (heading, list, code block, table), the turn's stats line, and
    the stats bar with TTFT 320ms, 50 tok/s, $0 (local) and "session $0"."""
    clock = SteppingClock()
    app = ChatApp(
        Settings(),
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

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
