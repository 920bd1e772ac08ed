"""Attachments on the command line's session side: ``ask --session`` sends a session's
files again (and says which it cannot), ``--regenerate`` takes them along, ``sessions
show`` and ``export`` list them as data, and ``sessions delete`` removes those no other
session uses."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from chatterm.attachments import make_attachment
from chatterm.cli.main import main
from chatterm.events import Attachment, Conversation, Started, TextDelta, Usage
from chatterm.reply import live as stream
from chatterm.reply.accumulate import Reply
from chatterm.reply.live import ReplyStream
from chatterm.reply.metrics import Metrics
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.store import SessionStore
from tests.cli.test_cli_ask_sessions import ask, server  # noqa: F401
from tests.fake_provider.server import FakeServer
from tests.providers.test_attachment_requests import png
from tests.test_files_and_disk import BrokenDisk

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x08" + bytes(40)
DIAGRAM = make_attachment("diagram.png", PNG)
HOSTILE = make_attachment("\x1b]0;owned\x07evil\u202etxt.sh", b"echo hi\n")


def saved(*files: Attachment) -> str:
    """A session with one finished turn (on the demo model) that has ``files`` attached."""
    keeper = SessionKeeper(SessionStore())
    recorder = keeper.begin_turn("what are these?", "demo:fast", attachments=files)
    recorder.event(Started("demo:fast"), 0.0)
    recorder.event(TextDelta("Two files."), 0.1)
    recorder.done(Reply("demo:fast", "", "Two files.", "stop", Usage(), Metrics()))
    keeper.close()
    return recorder.session.id


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Conversation]:
    """The conversations ``ask`` hands to its reply streams."""
    conversations: list[Conversation] = []

    class Recorded(ReplyStream):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            conversations.append(self.conversation)

    monkeypatch.setattr(stream, "ReplyStream", Recorded)  # the one `ask` imports
    return conversations


def test_ask_session_sends_the_files_again(
    capsys: pytest.CaptureFixture[str], sent: list[Conversation]
) -> None:
    session_id = saved(DIAGRAM, HOSTILE)
    code, _, err = run(capsys, "ask", "--session", session_id, "and now?")
    assert code == 0 and err == f"saved as session {session_id}\n"
    [conversation] = sent
    first, _, last = conversation.messages
    assert first.attachments == (DIAGRAM, HOSTILE) and last.attachments == ()
    session = SessionStore().load(session_id)
    assert session.version == 6 and session.turns[1].attachments == ()


def test_a_missing_file_is_said_on_stderr_and_the_rest_is_sent(
    capsys: pytest.CaptureFixture[str], sent: list[Conversation]
) -> None:
    session_id = saved(DIAGRAM, HOSTILE)
    (SessionStore().attachments.folder / DIAGRAM.sha256).unlink()
    code, _, err = run(capsys, "ask", "--session", session_id, "and now?")
    assert code == 0
    notice, saved_line = err.splitlines()
    assert notice.startswith("chatterm: attachment diagram.png is missing from ")
    assert f"(session {session_id})" in notice and saved_line.startswith("saved as")
    assert sent[0].messages[0].attachments == (HOSTILE,)


def test_regenerate_takes_the_files_along(
    capsys: pytest.CaptureFixture[str], sent: list[Conversation]
) -> None:
    session_id = saved(DIAGRAM)
    code, _, _ = run(capsys, "ask", "--session", session_id, "--regenerate")
    assert code == 0
    [conversation] = sent
    [prompt] = conversation.messages
    assert prompt.content == "what are these?" and prompt.attachments == (DIAGRAM,)
    session = SessionStore().load(session_id)
    assert len(session.tree) == 2 and session.tree[1].attachments == session.tree[0].attachments


def test_compared_models_record_the_files_on_every_reply(
    capsys: pytest.CaptureFixture[str], sent: list[Conversation]
) -> None:
    session_id = saved(DIAGRAM)
    args = ("ask", "--session", session_id, "--regenerate", "-m", "demo:fast", "-m", "demo")
    code, _, _ = run(capsys, *args)
    assert code == 0 and len(sent) == 2
    session = SessionStore().load(session_id)
    assert [t.attachments for t in session.tree[1:]] == [session.tree[0].attachments] * 2


def test_show_and_export_list_the_files_as_data(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    session_id = saved(DIAGRAM, HOSTILE)
    assert main(["sessions", "show", session_id]) == 0
    out = capsysbinary.readouterr().out.decode()
    lines = out.splitlines()
    at = lines.index("── you ──") + 1
    assert lines[at] == "what are these?"
    assert lines[at + 1] == f"attached: diagram.png · image · {len(PNG)} B"
    assert lines[at + 2].startswith("attached: ") and lines[at + 2].endswith(" · text · 8 B")
    assert "evil" in lines[at + 2] and "\x1b" not in out and "\x07" not in out
    assert "\u202e" not in out

    assert main(["sessions", "export", session_id, "--format", "md"]) == 0
    markdown = capsysbinary.readouterr().out.decode()
    assert f"- diagram\\.png · image · {len(PNG)} B" in markdown and "\x1b" not in markdown
    assert main(["sessions", "export", session_id, "--format", "json"]) == 0
    document = json.loads(capsysbinary.readouterr().out)
    names = [ref["name"] for ref in document["turns"][0]["attachments"]]
    assert names == ["diagram.png", HOSTILE.name]  # the document keeps the exact name
    assert document["turns"][0]["attachments"][0]["sha256"] == DIAGRAM.sha256


def test_replay_plays_a_session_with_files(capsys: pytest.CaptureFixture[str]) -> None:
    session_id = saved(DIAGRAM)
    code, out, _ = run(capsys, "replay", session_id, "--plain", "--speed", "0")
    assert code == 0 and "attached: diagram.png" in out and "Two files." in out


def test_sessions_delete_removes_the_files_only_it_used(capsys: pytest.CaptureFixture[str]) -> None:
    only_one = saved(DIAGRAM, HOSTILE)
    shared = saved(HOSTILE)
    folder = SessionStore().attachments.folder
    assert run(capsys, "sessions", "delete", only_one)[0] == 0
    assert sorted(p.name for p in folder.iterdir()) == [HOSTILE.sha256]
    assert run(capsys, "sessions", "delete", shared)[0] == 0
    assert list(folder.iterdir()) == []


def test_a_fork_shares_the_files_and_keeps_them(capsys: pytest.CaptureFixture[str]) -> None:
    original = saved(DIAGRAM)
    code, out, _ = run(capsys, "sessions", "fork", original)
    assert code == 0
    fork = out.split(" as ")[-1].strip()
    assert SessionStore().load(fork).turns[0].attachments[0].sha256 == DIAGRAM.sha256
    assert run(capsys, "sessions", "delete", original)[0] == 0
    assert (SessionStore().attachments.folder / DIAGRAM.sha256).read_bytes() == PNG


# -- with the fake server: -a, saved, sent again ------------------------------------------


def test_a_file_attached_with_save_is_sent_again_when_the_chat_goes_on(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    (tmp_path / "shot.png").write_bytes(png())
    args = ("-m", "openai:gpt-4.1", "--json")
    code, out, err = ask(capsys, "--save", *args, "-a", str(tmp_path / "shot.png"), "What?")
    assert code == 0, err
    session_id = json.loads(out.splitlines()[-1])["session_id"]
    (tmp_path / "shot.png").unlink()  # read once, at attach time: the store has it now
    code, _, err = ask(capsys, "--session", session_id, *args, "And now?")
    assert code == 0, err
    first, second = server.requests
    assert second.json["messages"][0] == first.json["messages"][0]  # the image again
    assert second.json["messages"][0]["content"][1]["type"] == "image_url"
    session = SessionStore().load(session_id)
    [ref] = session.turns[0].attachments
    assert (ref.name, ref.kind, ref.size) == ("shot.png", "image", len(png()))


def test_a_file_the_store_refuses_sends_nothing(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "notes.txt").write_text("notes\n")
    disk = BrokenDisk(monkeypatch, SessionStore().attachments.folder, ("mkstemp", errno.ENOSPC))
    disk.broken = True
    args = ("--save", "-m", "openai:gpt-4.1", "-a", str(tmp_path / "notes.txt"), "Read it")
    code, out, err = ask(capsys, *args)
    assert code == 1 and out == ""
    assert err.startswith("chatterm: cannot store the attachment notes.txt in ")
    assert err.endswith("the disk is full; free some space; nothing was sent\n")
    assert err.count("\n") == 1
    assert server.requests == [] and not list(SessionStore().folder.glob("*.json"))
