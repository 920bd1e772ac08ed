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
from session_files import write_session
from textual import events
from textual.pilot import Pilot
from textual.widgets._toast import Toast
from tui_helpers import SIZE, chat, finish_reply, palette_hits, send, type_text

from chatterm.config import Settings
from chatterm.sessions.store import sessions_dir
from chatterm.tui.app import ChatApp
from chatterm.tui.keymap import checked_keymap, with_enter_setting
from chatterm.tui.screens.prompt_search import PromptSearchScreen
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
        await press_alt(pilot, "v")
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
        await press_alt(pilot, "v")
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
        await press_alt(pilot, "v")
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
        await press_alt(pilot, "v")
        assert screen.prompt.text == "draft"
        assert any("nano-not-here" in t and "was not found" in t for t in toasts(app))


async def test_without_an_editor_the_key_says_which_variables_to_set() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await type_text(pilot, "draft")
        await press_alt(pilot, "v")
        assert screen.prompt.text == "draft"
        assert any("set $VISUAL or $EDITOR" in text for text in toasts(app))


async def test_a_terminal_that_cannot_be_handed_over_is_said(tmp_path: Path) -> None:
    # Textual's headless driver (Pilot's) cannot suspend: SuspendNotSupported.
    app = ChatApp(Settings(), "demo:fast", env=editor_env(tmp_path, "path.write_text('x')\n"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await type_text(pilot, "draft")
        await press_alt(pilot, "v")
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
        await press_alt(pilot, "v")
        assert seen_by_editor(tmp_path) is None
        assert screen.prompt.text == "next"
        assert any("A reply is streaming" in text for text in toasts(app))
        await pilot.press("escape")
        await finish_reply(pilot)


async def test_the_palette_offers_the_editor() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "editor")
        await wait_for(pilot, lambda: bool(palette_hits(app)), what="palette hits")
        assert "Write the message in $EDITOR" in palette_hits(app)


# -- Up/Down: this chat's prompts ---------------------------------------------------------


async def test_up_recalls_the_earliest_prompts_of_a_long_session_not_shown_yet() -> None:
    prompts = [f"question {n}" for n in range(30)]  # the chat opens on its latest 20 turns
    write_session(sessions_dir(), "20261207-090000-long", "Long", prompts, "2026-12-07T09:00Z")
    app = ChatApp(Settings(), "demo:fast", env={}, session_ref="20261207-090000-long")
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == 20, what="the latest turns shown")
        for _ in range(30):
            await pilot.press("up")
        assert screen.prompt.text == "question 0"


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


# -- Alt+H: every saved chat's prompts ----------------------------------------------------


def saved_chats() -> None:
    folder = sessions_dir()
    write_session(
        folder,
        "20261101-090000-aaaa",
        "Cooking",
        ["How long to boil pasta?", "And rice?"],
        "2026-11-01T09:00:00Z",
    )
    write_session(
        folder,
        "20261102-090000-bbbb",
        "Rust",
        ["Explain lifetimes\nwith an example", "How long to boil pasta?"],
        "2026-11-02T09:00:00Z",
    )


async def open_search(pilot: Pilot[Any]) -> PromptSearchScreen:
    await press_alt(pilot, "h")
    screen = pilot.app.screen
    assert isinstance(screen, PromptSearchScreen)
    await wait_for(pilot, lambda: not screen.reading, what="the saved chats read")
    return screen


def table_prompts(screen: PromptSearchScreen) -> list[str]:
    table = screen.table
    return [str(table.get_row_at(row)[0]) for row in range(table.row_count)]


async def test_alt_r_lists_every_chats_prompts_and_enter_puts_one_in_the_prompt() -> None:
    saved_chats()
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        chat_screen = chat(app)
        search = await open_search(pilot)
        assert table_prompts(search) == [
            "How long to boil pasta?",  # once, where it was sent last
            "Explain lifetimes with an example",  # one line in the list
            "And rice?",
        ]
        await type_text(pilot, "lifetimes")
        await wait_for(pilot, lambda: len(search.shown) == 1, what="the filter")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is chat_screen, what="back to the chat")
        assert chat_screen.prompt.text == "Explain lifetimes\nwith an example"  # whole
        assert chat_screen.prompt.has_focus
        assert chat_screen.turns == []  # not sent


async def test_enter_right_after_typing_takes_the_filtered_prompt() -> None:
    saved_chats()
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        chat_screen = chat(app)
        await open_search(pilot)
        await type_text(pilot, "RICE")  # case ignored
        await pilot.press("enter")  # before the typing pause has filled the table again
        await wait_for(pilot, lambda: app.screen is chat_screen, what="back to the chat")
        assert chat_screen.prompt.text == "And rice?"


async def test_the_arrows_move_the_list_and_esc_leaves_the_prompt_alone() -> None:
    saved_chats()
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        chat_screen = chat(app)
        await type_text(pilot, "my draft")
        search = await open_search(pilot)
        await pilot.press("down", "down")
        assert search.table.cursor_row == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is chat_screen, what="back to the chat")
        assert chat_screen.prompt.text == "my draft"
        await open_search(pilot)
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.screen is chat_screen, what="back to the chat")
        assert chat_screen.prompt.text == "Explain lifetimes\nwith an example"
        await pilot.press("ctrl+z")
        assert chat_screen.prompt.text == "my draft"  # the draft is one undo away


async def test_prompts_from_files_are_shown_and_taken_as_data() -> None:
    hostile = "[b]bold[/b] \x1b]52;c;aGk=\x07 \x1b[2J\u202eevil"
    write_session(sessions_dir(), "20261101-090000-aaaa", "\x1b[31mt", [hostile], "2026-11-01")
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        chat_screen = chat(app)
        search = await open_search(pilot)
        row = [str(cell) for cell in search.table.get_row_at(0)]
        assert row[0] == "[b]bold[/b] ␛]52;c;aGk=␇ ␛[2J⬚evil"
        assert row[1] == "␛[31mt"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is chat_screen, what="back to the chat")
        assert chat_screen.prompt.text == "[b]bold[/b] ␛]52;c;aGk=␇ ␛[2J⬚evil"


async def test_with_no_saved_chats_the_list_says_so() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        search = await open_search(pilot)
        assert search.table.row_count == 0
        status = str(search.query_one("#prompts-status").render())
        assert "No saved prompts yet" in status
        await pilot.press("enter")  # nothing to take: the list stays
        assert pilot.app.screen is search


async def test_this_chats_own_prompts_are_found_once_saved() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        chat_screen = chat(app)
        await send(pilot, "a prompt of this chat")
        await finish_reply(pilot)
        await wait_for(pilot, lambda: any(sessions_dir().glob("*.json")), what="the save")
        search = await open_search(pilot)
        assert table_prompts(search) == ["a prompt of this chat"]
        assert chat_screen.keeper.session is not None


async def test_the_palette_offers_the_past_prompts() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "past prompts")
        await wait_for(pilot, lambda: bool(palette_hits(app)), what="palette hits")
        assert "Past prompts…" in palette_hits(app)


# -- enter_sends = false: Enter inserts a newline, Ctrl+J sends ----------------------------


def test_enter_sends_false_stands_for_two_prompt_keys() -> None:
    assert with_enter_setting({"chat.cancel": "f10"}, enter_sends=True) == {"chat.cancel": "f10"}
    swapped = with_enter_setting({}, enter_sends=False)
    assert swapped == {"prompt.send": "ctrl+j,alt+enter", "prompt.newline": "enter,shift+enter"}
    assert checked_keymap(swapped) == (swapped, [])  # no clash, nothing the prompt edits with
    # A prompt key [keys] sets itself wins.
    mine = with_enter_setting({"prompt.send": "f10"}, enter_sends=False)
    assert mine == {"prompt.send": "f10", "prompt.newline": "enter,shift+enter"}


def welcome_text(app: ChatApp) -> str:
    return " ".join(str(chat(app).query_one("#welcome").render()).split())


async def test_with_enter_sends_false_enter_inserts_a_newline_and_ctrl_j_sends() -> None:
    app = ChatApp(Settings(enter_sends=False), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        assert screen.prompt.placeholder == (
            "Message the model (Ctrl+J sends, Enter inserts a newline)"
        )
        assert "Ctrl+J sends, Enter inserts a newline" in welcome_text(app)
        await type_text(pilot, "first line")
        await pilot.press("enter")
        await type_text(pilot, "second line")
        assert screen.prompt.text == "first line\nsecond line"
        assert screen.turns == []
        await pilot.press("ctrl+j")
        await finish_reply(pilot)
        assert [turn.prompt for turn in screen.turns] == ["first line\nsecond line"]
        await type_text(pilot, "again")
        await pilot.press("alt+enter")  # where the terminal reports it (kitty protocol)
        await finish_reply(pilot)
        assert [turn.prompt for turn in screen.turns][-1] == "again"
        assert not any("[keys]" in text for text in toasts(app))


async def test_enter_sends_by_default_as_the_placeholder_says() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        assert screen.prompt.placeholder == (
            "Message the model (Enter sends, Ctrl+J inserts a newline)"
        )
        await send(pilot, "one\ntwo")
        await finish_reply(pilot)
        assert [turn.prompt for turn in screen.turns] == ["one\ntwo"]


async def test_keys_can_swap_the_prompts_keys_too() -> None:
    # What enter_sends = false stands for, written as [keys].
    keys = {"prompt.send": "ctrl+j", "prompt.newline": "enter"}
    app = ChatApp(Settings(keys=keys), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        assert "Ctrl+J sends, Enter inserts a newline" in screen.prompt.placeholder
        await type_text(pilot, "a")
        await pilot.press("enter")
        await type_text(pilot, "b")
        await pilot.press("ctrl+j")
        await finish_reply(pilot)
        assert [turn.prompt for turn in screen.turns] == ["a\nb"]
        assert not any("[keys]" in text for text in toasts(app))


async def test_a_burst_of_keys_is_applied_in_order() -> None:
    """Keys that arrive in one read (a fast typist, a paste of keys, tmux send-keys): the
    editing keys and Enter act in order with the characters around them."""
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await type_text(pilot, "old text")
        burst = [("ctrl+a", None), ("ctrl+k", None), ("n", "n"), ("e", "e"), ("w", "w")]
        burst.append(("enter", "\r"))
        for key, character in burst:  # queued together, as a terminal read delivers them
            screen.prompt.post_message(events.Key(key, character))
        await finish_reply(pilot)
        assert [turn.prompt for turn in screen.turns] == ["new"]
