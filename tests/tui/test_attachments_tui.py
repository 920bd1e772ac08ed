"""Attaching files in the TUI: the chooser (its field and its tree), ``@path`` in the
prompt, the chips and their removal, a pasted path, refusals (a binary file, a FIFO, a model
that cannot take the file), the request at the fake server, and file names shown as data."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from textual import events
from tui_helpers import chat, rendered, send, type_text

from chatterm.config import Settings
from chatterm.events import Attachment
from chatterm.providers.base import Provider
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.chat_attachments import mentioned_paths, pasted_path
from chatterm.tui.screens.dialogs import ConfirmScreen
from chatterm.tui.screens.file_chooser import (
    FileChooserScreen,
    PathField,
    SafeDirectoryTree,
    complete_path,
)
from chatterm.tui.widgets.attachment_chips import AttachmentChip, AttachmentChips, RemoveMark
from chatterm.tui.widgets.turn import TurnView, UserMessage
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer
from tests.waiting import wait_for

MODEL = "openai:gpt-test"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x08\x08\x02\x00\x00\x00"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Page >> endobj\n%%EOF\n"
HOSTILE = "\x1b[31mred[bold]x.txt"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The current folder, holding a text file, an image, a PDF and a binary file."""
    here = tmp_path / "work"
    here.mkdir()
    (here / "notes.txt").write_text("remember the milk\n", encoding="utf-8")
    (here / "shot.png").write_bytes(PNG)
    (here / "paper.pdf").write_bytes(PDF)
    (here / "tool.bin").write_bytes(b"\x7fELF\x00\x01\x02")
    monkeypatch.chdir(here)
    return here


@pytest.fixture
def env(fake_server: FakeServer) -> dict[str, str]:
    return {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": fake_server.base_url + "/v1"}


def demo_app() -> ChatApp:
    return ChatApp(Settings(), "demo:fast", env={}, discover_models=False)


def server_app(env: dict[str, str], **settings: Any) -> ChatApp:
    return ChatApp(Settings(**settings), MODEL, env=env, discover_models=False)


def chips(app: ChatApp) -> AttachmentChips:
    return chat(app).query_one(AttachmentChips)


def chip_names(app: ChatApp) -> list[str]:
    return [attachment.name for attachment in chips(app).attachments]


def notes(app: ChatApp) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


def last_user_message(app: ChatApp) -> str:
    return rendered(chat(app).query(UserMessage).last())


# -- the chooser ------------------------------------------------------------------------


async def test_the_chooser_completes_a_path_and_enter_attaches_the_file(folder: Path) -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("alt+a")
        await wait_for(pilot, lambda: isinstance(app.screen, FileChooserScreen), what="chooser")
        field = app.screen.query_one(PathField)
        assert field.value == f"{folder}/"
        await type_text(pilot, "no")
        await pilot.press("tab")
        assert field.value == f"{folder}/notes.txt"
        await pilot.press("enter")
        await wait_for(pilot, lambda: chip_names(app) == ["notes.txt"], what="the chip")
        assert not isinstance(app.screen, FileChooserScreen)
        assert chips(app).display
        chip = chips(app).query_one(AttachmentChip)
        assert rendered(chip.query_one(".chip-label")) == "notes.txt · text · 18 B"
        assert rendered(chip.query_one(RemoveMark)) == "✕"
        assert chat(app).prompt.has_focus

        await send(pilot, "what does it say?")
        await pilot.app.workers.wait_for_complete()
        turn = chat(app).query(TurnView).last()
        assert [attachment.name for attachment in turn.attachments] == ["notes.txt"]
        assert "attached: notes.txt · text · 18 B" in last_user_message(app)
        assert not chips(app).display and chip_names(app) == []  # cleared once sent


async def test_the_chooser_tree_attaches_the_file_chosen_and_esc_attaches_nothing(
    folder: Path,
) -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("alt+a")
        await wait_for(pilot, lambda: isinstance(app.screen, FileChooserScreen), what="chooser")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, FileChooserScreen))
        assert chip_names(app) == []

        await pilot.press("alt+a")
        await wait_for(pilot, lambda: isinstance(app.screen, FileChooserScreen), what="chooser")
        tree = app.screen.query_one(SafeDirectoryTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 4, what="the folder listed")
        await pilot.press("down")  # from the field to the tree
        assert tree.has_focus
        names = [str(node.label) for node in tree.root.children]
        row = next(node.line for node in tree.root.children if str(node.label) == "shot.png")
        tree.move_cursor_to_line(row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: chip_names(app) == ["shot.png"], what="the chip")
        assert sorted(names) == ["notes.txt", "paper.pdf", "shot.png", "tool.bin"]
        assert "shot.png · image ·" in rendered(chips(app))


async def test_a_binary_file_is_refused_in_one_line_and_nothing_is_attached(
    folder: Path,
) -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("alt+a")
        await wait_for(pilot, lambda: isinstance(app.screen, FileChooserScreen), what="chooser")
        await type_text(pilot, "tool.bin")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("binary file" in note for note in notes(app)))
        refusal = next(note for note in notes(app) if "binary file" in note)
        assert "\n" not in refusal and refusal.startswith("tool.bin is a binary file")
        assert chip_names(app) == [] and not chips(app).display


def test_completion_expands_the_home_folder_and_lists_what_matches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "draft.md").write_text("x", encoding="utf-8")
    (tmp_path / "data.csv").write_text("x", encoding="utf-8")
    (tmp_path / ".hidden").write_text("x", encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert complete_path("~/do", Path("/")) == (f"{tmp_path}/docs/", ["docs"])
    assert complete_path("~/d", Path("/")) == (f"{tmp_path}/d", ["data.csv", "docs", "draft.md"])
    assert complete_path("dr", tmp_path) == ("draft.md", ["draft.md"])
    assert complete_path(".h", tmp_path) == (".hidden", [".hidden"])
    assert complete_path("zz", tmp_path) == ("zz", [])


# -- @path --------------------------------------------------------------------------------


async def test_at_path_attaches_the_file_and_the_text_goes_as_typed(
    folder: Path, env: dict[str, str], fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(folder))
    app = server_app(env)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        prompt = "compare @notes.txt, @~/shot.png and @nowhere to me@example.com"
        sent: list[tuple[Attachment, ...]] = []
        real_send = chat(app).send

        async def spy(text: str, *args: Any, **kwargs: Any) -> None:
            sent.append(tuple(kwargs.get("attachments", ())))
            await real_send(text, *args, **kwargs)

        chat(app).send = spy  # type: ignore[method-assign]
        await send(pilot, prompt)
        await pilot.app.workers.wait_for_complete()
        assert [[a.name for a in files] for files in sent] == [["notes.txt", "shot.png"]]
        body = json.loads(fake_server.requests[-1].body)
        user = [m for m in body["messages"] if m["role"] == "user"][-1]
        content = user["content"]
        texts = [content] if isinstance(content, str) else [p.get("text", "") for p in content]
        assert any(prompt in text for text in texts)  # sent as typed
        assert "attached: notes.txt · text" in last_user_message(app)
        assert "attached: shot.png · image" in last_user_message(app)


def test_at_words_that_name_no_file_are_left_alone(folder: Path) -> None:
    (folder / "sub").mkdir()
    assert mentioned_paths("see @notes.txt. and @notes.txt again", folder) == [folder / "notes.txt"]
    assert mentioned_paths("@sub @missing.txt mail@notes.txt", folder) == []
    assert mentioned_paths(f"@{folder}/shot.png", Path("/")) == [folder / "shot.png"]


async def test_a_fifo_named_with_at_is_refused_and_nothing_is_sent(
    folder: Path, env: dict[str, str], fake_server: FakeServer
) -> None:
    os.mkfifo(folder / "pipe")
    app = server_app(env)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await send(pilot, "read @pipe")
        await wait_for(pilot, lambda: any(note.startswith("Not sent:") for note in notes(app)))
        assert fake_server.requests == []
        assert chat(app).prompt.text == "read @pipe"


# -- chips ----------------------------------------------------------------------------------


async def test_chips_are_removed_by_key_and_by_their_cross(folder: Path) -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = chat(app)
        for name in ("notes.txt", "shot.png", "paper.pdf"):
            assert await screen.attach_path(folder / name)
        assert not await screen.attach_path(folder / "notes.txt")  # the same content once
        await pilot.pause()
        assert chip_names(app) == ["notes.txt", "shot.png", "paper.pdf"]

        await pilot.press("shift+tab")  # from the prompt to the last chip
        last = screen.query(AttachmentChip).last()
        assert last.has_focus and last.attachment.name == "paper.pdf"
        await pilot.press("backspace")
        await wait_for(pilot, lambda: chip_names(app) == ["notes.txt", "shot.png"])
        assert screen.query(AttachmentChip).last().has_focus  # the one before it
        await pilot.press("delete")
        await wait_for(pilot, lambda: chip_names(app) == ["notes.txt"])

        await pilot.click(RemoveMark)
        await wait_for(pilot, lambda: chip_names(app) == [], what="the chip clicked away")
        assert not chips(app).display
        assert screen.prompt.has_focus


# -- pasting a path --------------------------------------------------------------------------


async def test_a_pasted_path_offers_to_attach_the_file(folder: Path) -> None:
    app = demo_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = chat(app)
        await type_text(pilot, "look ")
        app.post_message(events.Paste(f"'{folder}/shot.png'"))  # as a terminal drops it
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the offer")
        assert screen.prompt.text == f"look '{folder}/shot.png'"
        await pilot.press("y")
        await wait_for(pilot, lambda: chip_names(app) == ["shot.png"], what="the chip")
        assert screen.prompt.text == "look "

        app.post_message(events.Paste(f"{folder}/notes.txt"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the offer")
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert screen.prompt.text == f"look {folder}/notes.txt"  # stays as pasted
        assert chip_names(app) == ["shot.png"]

        app.post_message(events.Paste("just some words"))
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)


def test_what_a_paste_names(folder: Path) -> None:
    (folder / "my file.txt").write_text("x", encoding="utf-8")
    path = folder / "my file.txt"
    assert pasted_path(f"{folder}/my\\ file.txt", Path("/")) == path
    assert pasted_path(f'"{path}"\n', Path("/")) == path
    assert pasted_path(f"file://{folder}/my%20file.txt", Path("/")) == path
    assert pasted_path("notes.txt", folder) is None  # a bare name is a word
    assert pasted_path("./notes.txt", folder) == folder / "./notes.txt"
    assert pasted_path(f"{folder}", Path("/")) is None  # a folder
    assert pasted_path(f"{path}\n{path}", Path("/")) is None  # two lines
    assert pasted_path("file://elsewhere/etc/hosts", Path("/")) is None


# -- refusals and the request -----------------------------------------------------------------


async def test_a_model_that_cannot_take_the_file_is_named_and_nothing_is_sent(
    folder: Path, env: dict[str, str], fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pdfs(self: Provider, ref: str, attachments: tuple[Attachment, ...]) -> str | None:
        if any(attachment.kind == "pdf" for attachment in attachments):
            return f"{ref} takes no PDFs"
        return None

    monkeypatch.setattr(Provider, "attachments_problem", no_pdfs)
    app = server_app(env)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = chat(app)
        assert await screen.attach_path(folder / "paper.pdf")
        await send(pilot, "summarize it")
        await wait_for(pilot, lambda: any("takes no PDFs" in note for note in notes(app)))
        refusal = next(note for note in notes(app) if "takes no PDFs" in note)
        assert refusal == f"Not sent: {MODEL} takes no PDFs"
        assert fake_server.requests == []
        assert screen.prompt.text == "summarize it" and chip_names(app) == ["paper.pdf"]
        assert not screen.query(TurnView)


async def test_every_compared_model_is_checked(
    folder: Path, env: dict[str, str], fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def demo_only(self: Provider, ref: str, attachments: tuple[Attachment, ...]) -> str | None:
        return None if ref.startswith("demo") else f"{ref} cannot see images"

    monkeypatch.setattr(Provider, "attachments_problem", demo_only)
    app = server_app(env)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        screen = chat(app)
        screen.compare_models = ("demo:fast", MODEL)
        assert await screen.attach_path(folder / "shot.png")
        await send(pilot, "what is this?")
        await wait_for(pilot, lambda: any("cannot see images" in n for n in notes(app)))
        assert fake_server.requests == [] and screen.comparison is None
        assert chip_names(app) == ["shot.png"]


async def test_the_image_reaches_the_server_in_the_request_body(
    folder: Path, env: dict[str, str], fake_server: FakeServer
) -> None:
    import base64

    app = server_app(env)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        assert await chat(app).attach_path(folder / "shot.png")
        await send(pilot, "what is this?")
        await pilot.app.workers.wait_for_complete()
        body = json.loads(fake_server.requests[-1].body)
        user = [m for m in body["messages"] if m["role"] == "user"][-1]
        assert isinstance(user["content"], list)
        urls = [part["image_url"]["url"] for part in user["content"] if "image_url" in part]
        assert urls == ["data:image/png;base64," + base64.b64encode(PNG).decode()]


async def test_a_pdf_to_chat_completions_is_refused_before_the_request(
    folder: Path, env: dict[str, str], fake_server: FakeServer
) -> None:
    app = server_app(env)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = chat(app)
        assert await screen.attach_path(folder / "paper.pdf")
        await send(pilot, "summarize it")
        await wait_for(pilot, lambda: any(note.startswith("Not sent:") for note in notes(app)))
        refusal = next(note for note in notes(app) if note.startswith("Not sent:"))
        assert MODEL in refusal and "paper.pdf" in refusal and "\n" not in refusal
        assert fake_server.requests == []
        assert screen.prompt.text == "summarize it" and chip_names(app) == ["paper.pdf"]


# -- names as data ------------------------------------------------------------------------------


async def test_hostile_file_names_are_shown_as_data(folder: Path) -> None:
    (folder / HOSTILE).write_text("hi", encoding="utf-8")
    app = demo_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = chat(app)
        assert await screen.attach_path(folder / HOSTILE)
        await pilot.pause()
        chip = rendered(chips(app))
        assert "[bold]" in chip and "\x1b" not in chip and "␛[31mred[bold]x.txt" in chip
        assert all("\x1b" not in note for note in notes(app))

        await pilot.press("alt+a")
        await wait_for(pilot, lambda: isinstance(app.screen, FileChooserScreen), what="chooser")
        tree = app.screen.query_one(SafeDirectoryTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 5, what="the folder listed")
        labels = [node.label.plain for node in tree.root.children]
        assert "␛[31mred[bold]x.txt" in labels
        shown = rendered(tree)
        assert "\x1b" not in shown and "[bold]x.txt" in shown
        await pilot.press("escape")

        await send(pilot, "read it")
        await pilot.app.workers.wait_for_complete()
        message = last_user_message(app)
        assert "attached: ␛[31mred[bold]x.txt · text · 2 B" in message and "\x1b" not in message


async def test_regenerate_sends_the_files_again_and_a_reopened_chat_shows_them(
    folder: Path, env: dict[str, str], fake_server: FakeServer
) -> None:
    app = server_app(env)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await send(pilot, "look at @shot.png")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("alt+r")
        await wait_for(pilot, lambda: len(fake_server.requests) == 2, what="the regenerated")
        await pilot.app.workers.wait_for_complete()
        for request in fake_server.requests:
            user = [m for m in json.loads(request.body)["messages"] if m["role"] == "user"][-1]
            assert [part["type"] for part in user["content"]] == ["text", "image_url"]
        session = app.keeper.session
        assert session is not None
        await chat(app).open_session(session.id)  # shown from the file, as when reopened
        await pilot.pause()
        assert "attached: shot.png · image" in last_user_message(app)


async def test_rewriting_a_prompt_brings_its_files_back_as_chips(
    folder: Path, env: dict[str, str], fake_server: FakeServer
) -> None:
    app = server_app(env)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await send(pilot, "look at @shot.png")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("alt+e")
        await wait_for(pilot, lambda: chip_names(app) == ["shot.png"], what="the file back")
        await pilot.press("escape")  # leaving the rewrite takes them away with the text
        await wait_for(pilot, lambda: chip_names(app) == [], what="the chips cleared")
        await pilot.press("alt+e")
        await wait_for(pilot, lambda: chip_names(app) == ["shot.png"], what="the file back")
        await pilot.press("enter")  # the rewritten prompt goes with its file
        await wait_for(pilot, lambda: len(fake_server.requests) == 2, what="the rewrite sent")
        await pilot.app.workers.wait_for_complete()
        user = [
            m for m in json.loads(fake_server.requests[-1].body)["messages"] if m["role"] == "user"
        ]
        assert [part["type"] for part in user[-1]["content"]] == ["text", "image_url"]
        assert chip_names(app) == []
