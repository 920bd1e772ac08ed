"""Copying the last answer and code blocks (OSC 52), and exporting the chat to Markdown."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx
import pytest
from textual.widgets._toast import Toast
from tui_helpers import (
    SIZE,
    Handler,
    chat,
    finish_reply,
    routed_factory,
    send,
    sse_body,
    sse_response,
)

from chatterm.config import Settings
from chatterm.sessions.export import export_session
from chatterm.sessions.model import new_session
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.chat_transcript import CodeBlock, code_blocks, export_paths, write_new

ANSWER_ONE = "First:\n\n```python\nprint('one')\n```\n\nand\n\n```sh\nls -l\n```\n"
ANSWER_TWO = "Second:\n\n```\nplain \x1b[31m block\n```\n"


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


class Clipboard:
    """Stands in for App.copy_to_clipboard, keeping every text and the OSC 52 written."""

    def __init__(self, app: ChatApp) -> None:
        self.app = app
        self.texts: list[str] = []
        self.original = app.copy_to_clipboard
        app.copy_to_clipboard = self  # type: ignore[method-assign]

    def __call__(self, text: str) -> None:
        self.texts.append(text)
        self.original(text)


def answers(*texts: str) -> Handler:
    """A fake server answering each request with the next of ``texts``."""
    replies = iter(texts)

    async def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(sse_body(answer=[next(replies)]))

    return handler


def test_code_blocks_are_found_in_order_with_their_language() -> None:
    text = "x\n\n- item\n\n  ```js\n  a()\n  ```\n\n~~~\nb\n~~~\n\n    indented\n"
    assert code_blocks(text) == [
        CodeBlock("a()\n", "js"),
        CodeBlock("b\n", ""),
        CodeBlock("indented\n", ""),
    ]
    assert code_blocks("no code") == []


def test_an_export_never_takes_a_name_that_is_held(tmp_path: Path) -> None:
    """A file, a link to nothing, a link to a file and a FIFO all hold a name: the export
    goes past them (a dangling link once made F12 spin forever) and writes through none."""
    session = new_session(session_id="20261207-120000-abcdef")
    stem = tmp_path / f"chatterm-{session.id}"
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    Path(f"{stem}.md").write_text("old")
    Path(f"{stem}-1.md").symlink_to(tmp_path / "nowhere.md")
    Path(f"{stem}-2.md").symlink_to(victim)
    os.mkfifo(f"{stem}-3.md")
    path = write_new(session, tmp_path)
    assert path == Path(f"{stem}-4.md")
    assert path.read_text(encoding="utf-8").startswith("# Untitled chat")
    assert victim.read_text() == "mine" and not (tmp_path / "nowhere.md").exists()
    assert Path(f"{stem}.md").read_text() == "old"


def test_an_export_gives_up_after_a_bound(tmp_path: Path) -> None:
    session = new_session(session_id="20261207-120000-abcdef")
    for path in export_paths(tmp_path, f"chatterm-{session.id}"):
        path.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError, match="numbered others exist"):
        write_new(session, tmp_path)


async def test_copy_the_last_answer_sends_osc_52() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        clipboard = Clipboard(app)
        await pilot.press("f8")
        await pilot.pause()
        assert clipboard.texts == [] and any("No answer" in t for t in toasts(app))
        written: list[str] = []
        driver = app._driver
        assert driver is not None
        original_write = driver.write
        driver.write = lambda data: (written.append(data), original_write(data))[1]  # type: ignore[method-assign]
        await send(pilot, "Explain Python generators")
        await finish_reply(pilot)
        await pilot.press("f8")
        await pilot.pause()
        (turn,) = chat(app).turns
        assert turn.reply is not None
        assert clipboard.texts == [turn.reply.text]
        assert app.clipboard == turn.reply.text
        osc = f"\x1b]52;c;{base64.b64encode(turn.reply.text.encode()).decode()}\a"
        assert osc in written
        assert any("Copied the last answer" in text for text in toasts(app))


async def test_copy_code_takes_the_block_in_view_then_the_ones_before() -> None:
    factory = routed_factory(answers(ANSWER_ONE, ANSWER_TWO))
    settings = Settings(model_cycle=("openai:test",))
    env = {"OPENAI_API_KEY": "sk-test"}
    app = ChatApp(settings, "openai:test", env=env, client_factory=factory)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        clipboard = Clipboard(app)
        await send(pilot, "one")
        await finish_reply(pilot)
        await send(pilot, "two")
        await finish_reply(pilot)
        for _ in range(4):
            await pilot.press("f9")
            await pilot.pause()
        # The newest first, made safe (an ESC cannot reach a paste), then back, then round.
        assert clipboard.texts == ["plain ␛[31m block\n", "ls -l\n", "print('one')\n"] + [
            "plain ␛[31m block\n"
        ]
        assert any("python code block (1 line), 1 of 3" in text for text in toasts(app))


async def test_export_writes_markdown_and_never_overwrites(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    app = ChatApp(Settings(), "demo:fast", env={}, export_dir=folder)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("f12")
        await pilot.pause()
        assert list(folder.iterdir()) == []
        assert any("Nothing to export" in text for text in toasts(app))
        await send(pilot, "Explain Python generators")
        await finish_reply(pilot)
        await pilot.press("f12")
        await pilot.pause()
        session = chat(app).keeper.session
        assert session is not None
        first = folder / f"chatterm-{session.id}.md"
        assert first.read_bytes() == export_session(session, "md")
        assert "## demo:fast" in first.read_text()
        first.write_text("mine")
        await pilot.press("f12")
        await pilot.pause()
        assert first.read_text() == "mine"
        second = folder / f"chatterm-{session.id}-1.md"
        assert second.read_bytes() == export_session(session, "md")
        assert any(str(second) in text for text in toasts(app))


async def test_export_to_a_folder_that_cannot_be_written_is_reported(tmp_path: Path) -> None:
    app = ChatApp(Settings(), "demo:fast", env={}, export_dir=tmp_path / "missing")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "hi")
        await finish_reply(pilot)
        await pilot.press("f12")
        await pilot.pause()
        assert any("Cannot export to" in text for text in toasts(app))
