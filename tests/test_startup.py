"""The entry point pauses the garbage collector for start-up, and it always comes back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from chatterm import startup as launch
from chatterm.cli.main import main
from chatterm.config import Settings
from chatterm.tui.app import ChatApp


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    yield
    launch.resume_collector()
    gc.enable()


def test_pause_and_resume() -> None:
    launch.pause_collector()
    assert not gc.isenabled()
    launch.resume_collector()
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    launch.pause_collector()
    launch.resume_collector()
    assert not gc.isenabled()


def test_commands_other_than_the_tui_resume_it_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    launch.pause_collector()
    assert main(["sessions", "list"]) == 0
    assert gc.isenabled()


async def test_the_tui_resumes_it_after_its_first_frame() -> None:
    launch.pause_collector()
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert gc.isenabled()
