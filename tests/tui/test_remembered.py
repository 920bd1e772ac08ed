"""What the TUI remembers between runs: theme, effort, reasoning panes, last model."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._toast import Toast
from tui_helpers import SIZE, SaveChecks, chat

from chatterm.config import ProviderConfig, Settings
from chatterm.state import AppState, load_state, state_file
from chatterm.tui.app import ChatApp
from chatterm.tui.remembered import Remembered
from tests.waiting import wait_for

LOCAL = ProviderConfig(name="local", base_url="http://127.0.0.1:9/v1")
SETTINGS = Settings(
    model_cycle=("local:gpt-oss-20b", "demo"),
    providers={"local": LOCAL},
    reasoning_effort="low",
    theme="chatterm-dark",
)


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


async def test_choices_are_remembered_across_runs() -> None:
    app = ChatApp(SETTINGS, "local:gpt-oss-20b", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        assert (app.theme, screen.effort, screen.reasoning_collapsed) == (
            "chatterm-dark",
            "low",
            False,
        )
        await pilot.press("f3")  # low -> medium
        await pilot.press("ctrl+r")  # reasoning hidden
        app.theme = "chatterm-high-contrast"
        await pilot.pause()
        await pilot.press("ctrl+n")  # demo
    state, problem = load_state()
    assert problem is None
    assert state == AppState(
        last_model="demo",
        theme="chatterm-high-contrast",
        reasoning_shown=False,
        reasoning_effort="medium",
    )
    # The next run starts where this one ended (the CLI starts on last_model).
    app = ChatApp(SETTINGS, "local:gpt-oss-20b", env={})
    async with app.run_test(size=SIZE):
        screen = chat(app)
        assert app.theme == "chatterm-high-contrast"
        assert screen.effort == "medium"
        assert screen.reasoning_collapsed is True
        assert screen.sub_title == "model: local:gpt-oss-20b · effort medium"


async def test_a_damaged_state_file_is_reported_once_and_never_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("theme = [oops")
    checks = SaveChecks(monkeypatch)
    app = ChatApp(SETTINGS, "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: any("state.toml" in text for text in toasts(app)))
        reports = [text for text in toasts(app) if "state.toml" in text]
        assert len(reports) == 1 and "damaged" in reports[0]
        assert "left as it is" in reports[0] and "fixed or removed" in reports[0]
        app.theme = "chatterm-light"
        await checks.next(pilot)
        await pilot.pause()
        assert len([text for text in toasts(app) if "state.toml" in text]) == 1
        assert app.theme == "chatterm-light"  # the choice holds for this run
        assert path.read_text() == "theme = [oops"  # checked after a save was due
    assert path.read_text() == "theme = [oops"  # the user's file, to fix or remove
    path.unlink()
    app = ChatApp(SETTINGS, "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        app.theme = "chatterm-light"
        await checks.next(pilot)
        assert load_state()[0].theme == "chatterm-light"  # saved on the clock, not at exit
    assert load_state()[0].theme == "chatterm-light"  # remembered again once it is gone


def test_a_state_that_cannot_be_saved_is_reported_once(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    remembered = Remembered(blocker / "state.toml")  # a folder that is a file
    remembered.update(theme="chatterm-light")
    remembered.flush()
    problem = remembered.take_problem()
    assert problem is not None and "cannot save" in problem
    remembered.update(theme="chatterm-dark")
    remembered.flush()
    assert remembered.take_problem() is None  # said once
    assert remembered.state.theme == "chatterm-dark"  # still remembered in memory


async def test_the_starting_theme_is_not_a_choice_to_remember(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checks = SaveChecks(monkeypatch)
    app = ChatApp(Settings(theme="chatterm-light"), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        await checks.next(pilot)
        assert app.theme == "chatterm-light"
    assert load_state()[0].theme is None  # a later change to config.toml still applies


async def test_the_model_chatterm_started_on_by_itself_is_not_remembered() -> None:
    app = ChatApp(SETTINGS, "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    state, _ = load_state()
    assert state.last_model is None  # a key set later must win over this start
