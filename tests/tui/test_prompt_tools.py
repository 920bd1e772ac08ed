"""Composing the message in the TUI: the editor key (a real editor process: a Python script),
recalling this chat's prompts with Up/Down, and searching every saved chat's prompts."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets._toast import Toast
from tui_helpers import SIZE, chat, finish_reply, send, type_text

from chatterm.config import Settings
from chatterm.tui.app import ChatApp
from tests.waiting import settle, wait_for


def toasts(app: ChatApp) -> list[str]:
    return [" ".join(toast.render().plain.split()) for toast in app.screen.query(Toast)]


def editor_env(folder: Path, body: str) -> dict[str, str]:
    """``$VISUAL`` naming a Python script that records the text it was given (in
    ``seen.json`` beside it), then runs ``body`` with ``path``, the file to edit."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "editor.py"
    script.write_text(
        "import json, sys\nfrom pathlib import Path\npath = Path(sys.argv[-1])\n"
        "(Path(__file__).parent / 'seen.json').write_text(json.dumps(path.read_text()))\n" + body,
        encoding="utf-8",
    )
    return {"VISUAL": f"{sys.executable} '{script}'"}


def seen_by_editor(folder: Path) -> str | None:
    record = folder / "seen.json"
    return json.loads(record.read_text()) if record.exists() else None


@pytest.fixture
def terminal_handed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """``App.suspend`` as on a real terminal, minus the terminal: the headless driver tests
    run on cannot suspend. Only the hand-over is replaced; the editor really runs."""

    @contextlib.contextmanager
    def suspend(self: ChatApp) -> Iterator[None]:
        yield

    monkeypatch.setattr(ChatApp, "suspend", suspend)


async def press_alt(pilot: Pilot[Any], letter: str) -> None:
    """Alt+letter as a terminal reports it (ESC + letter): the key with the letter."""
    pilot.app.post_message(events.Key(f"alt+{letter}", letter))
    await settle(pilot)


# -- the editor ---------------------------------------------------------------------------


@pytest.mark.usefixtures("terminal_handed_over")
async def test_the_editor_key_puts_the_edited_text_in_the_prompt_unsent(tmp_path: Path) -> None:
    env = editor_env(tmp_path, "path.write_text('Rewritten:\\n' + path.read_text() + '\\n')\n")
    app = ChatApp(Settings(), "demo:fast", env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await type_text(pilot, "first draft")
        await press_alt(pilot, "e")
        assert seen_by_editor(tmp_path) == "first draft"
        assert screen.prompt.text == "Rewritten:\nfirst draft"  # no "e" typed, no newline added
        assert screen.turns == []  # not sent: Enter sends it
        assert screen.prompt.has_focus
        await pilot.press("enter")
        await finish_reply(pilot)
        assert [turn.prompt for turn in screen.turns] == ["Rewritten:\nfirst draft"]


@pytest.mark.usefixtures("terminal_handed_over")
async def test_what_the_editor_wrote_is_shown_safely_and_can_be_undone(tmp_path: Path) -> None:
    env = editor_env(tmp_path, "path.write_bytes(b'\\x1b[31mred\\x1b[0m \\xff')\n")
    app = ChatApp(Settings(), "demo:fast", env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await type_text(pilot, "mine")
        await press_alt(pilot, "e")
        assert screen.prompt.text == "␛[31mred␛[0m \ufffd"
        await pilot.press("ctrl+z")
        assert screen.prompt.text == "mine"


@pytest.mark.usefixtures("terminal_handed_over")
async def test_an_editor_that_fails_leaves_the_prompt_as_it_was(tmp_path: Path) -> None:
    env = editor_env(tmp_path, "path.write_text('half')\nsys.exit(2)\n")
    app = ChatApp(Settings(), "demo:fast", env=env)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await type_text(pilot, "keep me")
        await press_alt(pilot, "e")
        assert seen_by_editor(tmp_path) == "keep me"
        assert screen.prompt.text == "keep me"
        assert any("exited with status 2; the prompt is left as it was" in t for t in toasts(app))


@pytest.mark.usefixtures("terminal_handed_over")
async def test_an_editor_that_is_not_there_is_named(tmp_path: Path) -> None:
    env = {"EDITOR": str(tmp_path / "nano-not-here")}
    app = ChatApp(Settings(), "demo:fast", env=env)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await type_text(pilot, "draft")
        await press_alt(pilot, "e")
        assert screen.prompt.text == "draft"
        assert any("nano-not-here" in t and "was not found" in t for t in toasts(app))


async def test_without_an_editor_the_key_says_which_variables_to_set() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await type_text(pilot, "draft")
        await press_alt(pilot, "e")
        assert screen.prompt.text == "draft"
        assert any("set $VISUAL or $EDITOR" in text for text in toasts(app))


async def test_a_terminal_that_cannot_be_handed_over_is_said(tmp_path: Path) -> None:
    # Textual's headless driver (Pilot's) cannot suspend: SuspendNotSupported.
    app = ChatApp(Settings(), "demo:fast", env=editor_env(tmp_path, "path.write_text('x')\n"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await type_text(pilot, "draft")
        await press_alt(pilot, "e")
        assert screen.prompt.text == "draft"
        assert seen_by_editor(tmp_path) is None
        assert any("cannot be handed over to an editor" in text for text in toasts(app))


@pytest.mark.usefixtures("terminal_handed_over")
async def test_the_editor_waits_while_a_reply_streams(tmp_path: Path) -> None:
    env = editor_env(tmp_path, "path.write_text('x')\n")
    app = ChatApp(Settings(), "demo", env=env)  # the paced demo: a reply that takes a while
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: screen.live is not None, what="the reply streaming")
        await type_text(pilot, "next")
        await press_alt(pilot, "e")
        assert seen_by_editor(tmp_path) is None
        assert screen.prompt.text == "next"
        assert any("A reply is streaming" in text for text in toasts(app))
        await pilot.press("escape")
        await finish_reply(pilot)


async def test_the_palette_offers_the_editor() -> None:
    from tui_helpers import palette_hits

    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "editor")
        await wait_for(pilot, lambda: bool(palette_hits(app)), what="palette hits")
        assert "Write the message in $EDITOR" in palette_hits(app)


# -- Up/Down: this chat's prompts ---------------------------------------------------------


async def test_up_and_down_in_the_empty_prompt_recall_this_chats_prompts() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        for prompt in ("first", "second", "first", "third"):
            await send(pilot, prompt)
            await finish_reply(pilot)
        seen = []
        for _ in range(4):
            await pilot.press("up")
            seen.append(screen.prompt.text)
        assert seen == ["third", "first", "second", "second"]  # each once, the oldest stays
        assert screen.prompt.cursor_location == (0, len("second"))
        seen = []
        for _ in range(4):
            await pilot.press("down")
            seen.append(screen.prompt.text)
        assert seen == ["first", "third", "", ""]  # past the newest: the empty box again
        await pilot.press("up", "up", "enter")  # a recalled prompt is sent as typed
        await finish_reply(pilot)
        assert screen.turns[-1].prompt == "first"
        assert screen.prompt.text == ""


async def test_an_edited_recall_moves_the_cursor_again() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "one")
        await finish_reply(pilot)
        await send(pilot, "two\nlines")
        await finish_reply(pilot)
        await pilot.press("up")
        assert screen.prompt.text == "two\nlines"
        assert screen.prompt.cursor_location == (0, 3)  # the first line: Up goes on
        await pilot.press("up")
        assert screen.prompt.text == "one"
        await pilot.press("down")
        assert screen.prompt.text == "two\nlines"
        assert screen.prompt.cursor_location == (1, 5)  # the last line: Down goes on
        await type_text(pilot, "!")
        await pilot.press("up")
        assert screen.prompt.text == "two\nlines!"  # edited: the cursor moved instead
        assert screen.prompt.cursor_location[0] == 0
        await pilot.press("down", "down")
        assert screen.prompt.text == "two\nlines!"


async def test_up_with_a_draft_in_the_box_moves_the_cursor() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "sent before")
        await finish_reply(pilot)
        await type_text(pilot, "my draft")
        await pilot.press("up", "down")
        assert screen.prompt.text == "my draft"


async def test_a_new_chat_has_nothing_to_recall() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "old chat")
        await finish_reply(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        await pilot.press("up")
        assert screen.prompt.text == ""
