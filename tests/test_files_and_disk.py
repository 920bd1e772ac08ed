"""Files and disk: damaged files never crash chatterm and are never written over; a full or
read-only disk is one clear message, and the conversation stays in memory and exportable.

Each of the files chatterm reads (a session, ``config.toml``, ``state.toml``, a theme) is
made empty, corrupt, cut short, not UTF-8 or unreadable; then the TUI starts (through the
real command line, with Pilot driving it), and ``ask``, ``sessions list``, ``models`` and
``config show`` run. None raises, each problem is one line (or one notification), and the
file's bytes are exactly as they were.

"Unreadable" is a real ``chmod 000``; as root the test gives up the permission overrides
for the run (tests/privileges.py), so the kernel refuses as it refuses any user.

A full (ENOSPC) or read-only (EROFS) disk is simulated by making the writes into the data
folder fail (``tempfile.mkstemp`` or ``os.replace``), mid-chat.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets._toast import Toast

from chatterm import paths
from chatterm.cli.main import main
from chatterm.config import Settings
from chatterm.sessions.model import new_session
from chatterm.sessions.store import SessionStore, sessions_dir
from chatterm.state import state_file
from chatterm.tui.app import ChatApp
from tests.privileges import file_privileges_can_be_dropped, without_file_privileges
from tests.tui.tui_helpers import SIZE, SaveChecks, chat, finish_reply, send

SESSION_ID = "20261121-100000-abcdef"
GOOD_THEME = b'name = "mine"\nprimary = "#4EA1F3"\n'
GOOD_CONFIG = b'default_model = "demo"\nsystem_prompt = "Be brief."\n'
GOOD_STATE = b'chatterm_state = 1\ntheme = "chatterm-light"\nlast_model = "demo"\n'


def good_session() -> bytes:
    store = SessionStore()
    session = new_session(session_id=SESSION_ID)
    session.title = "A good chat"
    path = store.save(session)
    data = path.read_bytes()
    path.unlink()
    return data


def where(kind: str) -> Path:
    return {
        "session": sessions_dir() / f"{SESSION_ID}.json",
        "config": paths.config_file(),
        "state": state_file(),
        "theme": paths.config_dir() / "themes" / "mine.toml",
    }[kind]


def good_bytes(kind: str) -> bytes:
    if kind == "session":
        return good_session()
    return {"config": GOOD_CONFIG, "state": GOOD_STATE, "theme": GOOD_THEME}[kind]


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda good: b"",
    "corrupt": lambda good: b"\x00\x01{{ not [ valid = \x1b]0;x\x07",
    "truncated": lambda good: good[: len(good) // 2],
    "not-utf8": lambda good: good[:10] + b"\xff\xfe\x80" + good[10:],
    "binary": lambda good: bytes(range(256)) * 4,
    "unreadable": lambda good: good,  # readable bytes; reading them fails
}
KINDS = ("session", "config", "state", "theme")


@pytest.fixture
def home(offline_home: Path) -> Path:
    return offline_home


def damage(kind: str, how: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, bytes]:
    """Write the damaged file (``unreadable``: mode 000). Its path and bytes."""
    path = where(kind)
    data = DAMAGES[how](good_bytes(kind))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if how == "unreadable":
        path.chmod(0)
    return path, data


def toasts(app: ChatApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


class TuiRun:
    """``chatterm`` through :func:`chatterm.cli.main.main`, the app driven by Pilot: start, one
    reply from the offline demo, quit."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.toasts: list[str] = []
        self.app: ChatApp | None = None
        self.checks = SaveChecks(monkeypatch)
        monkeypatch.setattr("chatterm.tui.app.run_tui", self.run)

    def run(
        self,
        settings: Settings,
        model_ref: str,
        notice: str | None = None,
        session_ref: str | None = None,
    ) -> None:
        app = self.app = ChatApp(
            settings, model_ref, notice=notice, session_ref=session_ref, discover_models=False
        )

        async def drive() -> None:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await self.checks.next(pilot)  # what was found at start is reported
                await send(pilot, "hello")
                await finish_reply(pilot)
                app.theme = "chatterm-high-contrast"  # something to remember
                await self.checks.next(pilot)
                await pilot.pause()  # the toasts it raised are shown
                self.toasts = toasts(app)
                assert chat(app).turns[-1].reply is not None

        asyncio.run(drive())


def one_line_each(err: str) -> None:
    assert "Traceback" not in err, err
    for line in err.splitlines():
        assert line.startswith("chatterm: "), err


@pytest.mark.parametrize("how", sorted(DAMAGES))
@pytest.mark.parametrize("kind", KINDS)
def test_damaged_files_never_crash_and_are_left_alone(
    kind: str,
    how: str,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if how == "unreadable" and not file_privileges_can_be_dropped():
        pytest.skip("root here cannot give up reading mode-000 files")
    path, data = damage(kind, how, monkeypatch)
    with without_file_privileges():
        run_everything_over(kind, how, path, monkeypatch, capsys)
    with open(path, "rb") as file:  # noqa: PTH123 - Path.read_bytes may be refusing
        assert file.read() == data, f"{path} was written over"


def run_everything_over(
    kind: str,
    how: str,
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    usable = how == "empty" and kind in ("config", "state")  # empty TOML: all defaults
    config_broken = kind == "config" and not usable

    for argv, ok in (
        (["ask", "-m", "demo:fast", "hi"], not config_broken),
        (["sessions", "list"], True),
        (["models", "--offline"], not config_broken),
        (["config", "show"], not config_broken),
        (["config", "path"], True),
    ):
        code = main(argv)
        captured = capsys.readouterr()
        one_line_each(captured.err)
        assert code == (0 if ok else 2), (argv, captured.err)
        if not ok:
            assert captured.err.count("\n") == 1 and str(path) in captured.err, captured.err
        if kind == "session" and argv[:2] == ["sessions", "list"]:
            assert f"{SESSION_ID}.json" in captured.out  # listed, with its problem
            assert "cannot read" in captured.out or how == "empty"

    tui = TuiRun(monkeypatch)
    assert main(["-m", "demo:fast"]) == 0
    one_line_each(capsys.readouterr().err)
    assert tui.app is not None and tui.app.return_code in (0, None)
    if not usable and kind != "session":
        assert any(str(path) in toast for toast in tui.toasts), tui.toasts

    if kind == "session":
        code = main(["sessions", "show", SESSION_ID])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1, err
        one_line_each(err)
        tui = TuiRun(monkeypatch)
        assert main(["-m", "demo:fast", "--session", SESSION_ID]) == 0
        assert any(SESSION_ID in toast for toast in tui.toasts), tui.toasts
        assert tui.app is not None and tui.app.keeper.session is not None
        assert tui.app.keeper.session.id != SESSION_ID  # the chat went on in a new file


def test_a_session_from_a_newer_chatterm_is_left_alone(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = where("session")
    document = json.loads(good_session())
    document["chatterm_session"] = 99
    data = json.dumps(document).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    assert main(["sessions", "rename", SESSION_ID, "new", "title"]) == 1
    one_line_each(capsys.readouterr().err)
    TuiRun(monkeypatch)
    assert main(["-m", "demo:fast", "--session", SESSION_ID]) == 0
    assert path.read_bytes() == data


def test_damaged_index_and_cache_are_rebuilt_quietly(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The index and the model cache are chatterm's caches: damaged, they are rebuilt."""
    store = SessionStore()
    session = new_session(session_id=SESSION_ID)
    session.title = "kept"
    store.save(session)
    (sessions_dir() / ".index.json").write_bytes(b"\x00{garbage")
    (paths.cache_dir()).mkdir(parents=True, exist_ok=True)
    (paths.cache_dir() / "models.json").write_bytes(b"[1, 2")
    assert main(["sessions", "list"]) == 0
    assert main(["models", "--offline"]) == 0
    captured = capsys.readouterr()
    assert "kept" in captured.out
    one_line_each(captured.err)
    json.loads((sessions_dir() / ".index.json").read_bytes())


# ------------------------------------------------------------------- a failing disk


DiskFault = tuple[str, int]
FAULTS = [("mkstemp", errno.ENOSPC), ("replace", errno.EROFS), ("mkstemp", errno.EDQUOT)]


class BrokenDisk:
    """Writes into ``folder`` fail with ``code`` while ``broken`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, folder: Path, fault: DiskFault) -> None:
        self.folder = folder.absolute()
        self.where, self.code = fault
        self.broken = False
        self.refused = 0
        real_mkstemp = tempfile.mkstemp
        real_replace = os.replace
        real_open = os.open

        def inside(path: Any) -> bool:
            return self.broken and Path(os.fspath(path)).absolute().is_relative_to(self.folder)

        def mkstemp(*args: Any, **kwargs: Any) -> Any:
            if self.where == "mkstemp" and inside(kwargs.get("dir") or ""):
                return self.refuse()
            return real_mkstemp(*args, **kwargs)

        def replace(source: Any, target: Any, **kwargs: Any) -> None:
            if self.where == "replace" and inside(target):
                return self.refuse()
            real_replace(source, target, **kwargs)

        def open_(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
            if flags & os.O_CREAT and inside(path):
                return self.refuse()
            return real_open(path, flags, mode, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        monkeypatch.setattr(os, "replace", replace)
        monkeypatch.setattr(os, "open", open_)

    def refuse(self) -> Any:
        self.refused += 1
        raise OSError(self.code, os.strerror(self.code))


@pytest.mark.parametrize("fault", FAULTS, ids=["full", "read-only", "quota"])
async def test_disk_fails_mid_chat(
    fault: DiskFault, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    disk = BrokenDisk(monkeypatch, paths.data_dir(), fault)
    checks = SaveChecks(monkeypatch)
    app = ChatApp(Settings(), "demo:fast", env={}, export_dir=elsewhere, discover_models=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "first question")
        await finish_reply(pilot)
        keeper = app.keeper
        assert keeper.session is not None
        keeper.writer.wait()  # the first reply is on disk
        [saved] = sessions_dir().glob("2*.json")
        before = saved.read_bytes()

        disk.broken = True
        await send(pilot, "second question")
        await finish_reply(pilot)
        app.theme = "chatterm-light"  # state.toml cannot be written either
        keeper.writer.wait()  # the second reply's saves have been tried (and refused)
        await checks.next(pilot)  # and reported
        await checks.next(pilot)  # a later check says nothing more
        await pilot.pause()  # the toasts are shown
        assert disk.refused
        notes = toasts(app)
        [note] = [n for n in notes if "Not saved" in n or "cannot save the session" in n]
        reason = {errno.ENOSPC: "disk is full", errno.EROFS: "Read-only", errno.EDQUOT: "full"}
        assert reason[fault[1]] in note, note
        assert "kept in memory" in note and "export" in note, note
        assert len([n for n in notes if "cannot save" in n]) <= 2, notes  # session, state
        screen = chat(app)
        assert [t.prompt for t in screen.turns] == ["first question", "second question"]
        assert all(t.reply is not None for t in screen.turns)
        assert [t.prompt for t in keeper.session.turns] == ["first question", "second question"]
        assert saved.read_bytes() == before  # the old file is whole, not half-written
        assert not list(sessions_dir().glob(".*.tmp"))  # no temp file left behind

        await pilot.press("f12")  # export goes to another folder: it works
        await pilot.pause()
        [exported] = elsewhere.glob("chatterm-*.md")
        text = exported.read_text(encoding="utf-8")
        assert "first question" in text and "second question" in text

        disk.broken = False  # space freed: the next save catches up
        await send(pilot, "third question")
        await finish_reply(pilot)
        keeper.writer.wait()
        third = json.loads(saved.read_bytes())
        assert [turn["prompt"] for turn in third["turns"]][-1] == "third question"
    document = json.loads(saved.read_bytes())
    prompts = [turn["prompt"] for turn in document["turns"]]
    assert prompts == ["first question", "second question", "third question"]


def test_cli_export_elsewhere_while_the_data_disk_is_broken(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--save", "-m", "demo:fast", "hello"]) == 0
    capsys.readouterr()
    [saved] = sessions_dir().glob("2*.json")
    before = saved.read_bytes()
    disk = BrokenDisk(monkeypatch, paths.data_dir(), ("mkstemp", errno.EROFS))
    disk.broken = True
    out = tmp_path / "copy.md"
    assert main(["sessions", "export", saved.stem, "-o", str(out)]) == 0
    assert "hello" in out.read_text(encoding="utf-8")
    for argv, code in (
        (["sessions", "rename", saved.stem, "new"], 1),
        (["ask", "--session", saved.stem, "-m", "demo:fast", "more"], 1),
        (["ask", "--save", "-m", "demo:fast", "again"], 1),
        (["sessions", "list"], 0),  # the index is a cache: not written, not a problem
        (["models", "--refresh"], 0),
    ):
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        one_line_each(err)
        if code:
            assert "Read-only" in err or "read-only" in err, err
    assert saved.read_bytes() == before
    assert disk.refused


def test_cli_writes_to_a_broken_disk_are_one_line(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--save", "-m", "demo:fast", "hello"]) == 0
    [saved] = sessions_dir().glob("2*.json")
    capsys.readouterr()
    broken = tmp_path / "broken"
    broken.mkdir()
    disk = BrokenDisk(monkeypatch, broken, ("mkstemp", errno.ENOSPC))
    disk.broken = True
    assert main(["sessions", "export", saved.stem, "-o", str(broken / "x.md")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disk is full" in err, err
    assert not list(broken.iterdir())
    monkeypatch.setenv("CHATTERM_HOME", str(broken / "home"))
    assert main(["config", "init"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disk is full" in err, err


async def test_tui_export_onto_the_same_broken_disk_says_what_to_do(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = BrokenDisk(monkeypatch, tmp_path / "chatterm-home", ("mkstemp", errno.ENOSPC))
    for name in ("user", "tmp"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # fallbacks land in the test's folders
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    app = ChatApp(Settings(), "demo:fast", env={}, export_dir=home, discover_models=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "question")
        await finish_reply(pilot)
        disk.broken = True
        await pilot.press("f12")
        await pilot.pause()
        [note] = [n for n in toasts(app) if "xport" in n]
        exported = list(Path(tempfile.gettempdir()).glob("chatterm-*.md")) + list(
            Path.home().glob("chatterm-*.md")
        )
        assert exported or ("F8" in note or "another" in note), note
        assert not list(home.glob("chatterm-*.md"))  # nothing half-written left
