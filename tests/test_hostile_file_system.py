"""The file system as an adversary would arrange it (issue 14, item 5).

A sessions folder chatterm may not read (mode 000, for real: as root the test gives up the
permission overrides), a FIFO or a device where a file is expected, a link to nothing
where an export goes, a session file whose name is not UTF-8, caches grown past reason.
Each command ends within a deadline with at most one line on stderr; the TUI keeps
chatting and quits on Ctrl+Q; nothing that is not a regular file is ever replaced.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets._toast import Toast

from chatterm import paths
from chatterm.catalogue import discovery
from chatterm.config import Settings
from chatterm.files import (
    DanglingLink,
    FileTooLarge,
    NotRegularFile,
    atomic_write,
    file_problem,
    read_regular,
)
from chatterm.sessions import index
from chatterm.sessions.model import Session, new_session
from chatterm.sessions.store import SessionStore, sessions_dir
from chatterm.state import state_file
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.chat import ChatScreen
from chatterm.tui.screens.sessions import SessionsScreen
from tests.privileges import drop_for_child, file_privileges_can_be_dropped, without_file_privileges
from tests.tui.tui_helpers import SIZE, chat, finish_reply, rendered, send
from tests.waiting import DEADLINE_S, default_sigint, settle, wait_for

needs_permission_bits = pytest.mark.skipif(
    not file_privileges_can_be_dropped(), reason="root here cannot give up its overrides"
)


@pytest.fixture
def home(offline_home: Path) -> Path:
    return offline_home


def run(*argv: str, stdin: str = "", privileged: bool = True) -> subprocess.CompletedProcess[str]:
    """``chatterm ARGV`` in a process of its own, which must end within the deadline."""

    def prepare() -> None:
        default_sigint()
        if not privileged:
            drop_for_child()

    return subprocess.run(
        [sys.executable, "-m", "chatterm", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=DEADLINE_S,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        preexec_fn=prepare,
        check=False,
    )


def one_line_error(err: str) -> str:
    assert "Traceback" not in err and "unexpected error" not in err, err
    lines = err.splitlines()
    assert len(lines) <= 1 and all(line.startswith("chatterm: ") for line in lines), err
    return err


@contextlib.contextmanager
def mode(path: Path, bits: int) -> Iterator[None]:
    path.chmod(bits)
    try:
        yield
    finally:
        path.chmod(0o700)


# -- the primitives ---------------------------------------------------------------------


def test_read_regular_refuses_what_is_not_a_file_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match="a FIFO"):
        read_regular(fifo, limit=100)
    with pytest.raises(NotRegularFile, match="a folder"):
        read_regular(tmp_path, limit=100)
    with pytest.raises(NotRegularFile, match="a character device"):
        read_regular(Path(os.devnull), limit=100)
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with pytest.raises(NotRegularFile):
        read_regular(link, limit=100)
    with pytest.raises(FileNotFoundError):
        read_regular(tmp_path / "missing", limit=100)


def test_read_regular_follows_a_link_and_caps_the_size(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_bytes(b"x" * 100)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    assert read_regular(link, limit=100) == b"x" * 100
    with pytest.raises(FileTooLarge, match="more than chatterm reads"):
        read_regular(link, limit=99)


def test_atomic_write_replaces_only_regular_files(tmp_path: Path) -> None:
    tmp_path = tmp_path / "here"
    tmp_path.mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile):
        atomic_write(fifo, b"data")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(DanglingLink, match="which does not exist"):
        atomic_write(dangling, b"data")
    assert not (tmp_path / "nowhere").exists() and dangling.is_symlink()
    real = tmp_path / "real"
    real.write_bytes(b"old")
    link = tmp_path / "link"
    link.symlink_to(real)
    atomic_write(link, b"new")  # through the link: the link stays a link
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "fifo", "link", "real"]


def test_file_problem_names_the_fix() -> None:
    assert "move it away" in file_problem(NotRegularFile(Path("x"), "a FIFO (named pipe)"))
    assert "owner and mode" in file_problem(PermissionError(13, "Permission denied"))
    assert "loops" in file_problem(OSError(40, "Too many levels of symbolic links"))


# -- an unreadable sessions folder ------------------------------------------------------


@needs_permission_bits
def test_an_unreadable_sessions_folder_is_one_line_in_every_command(home: Path) -> None:
    assert run("ask", "--save", "-m", "demo:fast", "first").returncode == 0
    [saved] = sessions_dir().glob("2*.json")
    with mode(sessions_dir(), 0):
        for argv, code in (
            (["ask", "--save", "-m", "demo:fast", "hello"], 1),
            (["ask", "--session", saved.stem, "-m", "demo:fast", "more"], 1),
            (["sessions", "list"], 1),
            (["sessions", "show", saved.stem], 1),
            (["sessions", "export", saved.stem], 1),
            (["replay", saved.stem, "--plain"], 1),
            (["sessions", "delete", saved.stem], 1),
        ):
            result = run(*argv, privileged=False)
            error = one_line_error(result.stderr)
            assert result.returncode == code, (argv, result.stderr)
            assert str(sessions_dir()) in error, error
            assert "permission denied" in error.casefold(), error
    assert saved.is_file()


@needs_permission_bits
def test_ask_save_into_an_unreadable_folder_sends_nothing(home: Path) -> None:
    """The prompt is saved before it is sent; when that fails, nothing is paid for."""
    sessions_dir().mkdir(parents=True)
    with mode(sessions_dir(), 0):
        result = run("ask", "--save", "-m", "demo:fast", "hello", privileged=False)
    assert result.returncode == 1 and result.stdout == ""
    error = one_line_error(result.stderr)
    assert "cannot save the session" in error and "nothing was sent" in error


@needs_permission_bits
@pytest.mark.parametrize("bits", [0, 0o500], ids=["mode-000", "read-only"])
async def test_the_tui_chats_on_when_the_sessions_folder_refuses(home: Path, bits: int) -> None:
    sessions_dir().mkdir(parents=True)
    with mode(sessions_dir(), bits), without_file_privileges():
        app = ChatApp(Settings(), "demo:fast", env={}, discover_models=False)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await send(pilot, "first question")
            await finish_reply(pilot)
            await wait_for(pilot, lambda: bool(toasts(app)), what="the save problem shown")
            [note] = [n for n in toasts(app) if "cannot save the session" in n]
            assert "kept in memory" in note
            await send(pilot, "second question")
            await finish_reply(pilot)
            assert [t.prompt for t in chat(app).turns] == ["first question", "second question"]
            await pilot.press("ctrl+o")  # the sessions screen says what is wrong, once
            await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), what="sessions")
            await settle(pilot)
            if bits == 0:
                assert "cannot read the sessions folder" in rendered(app.screen)
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: app.return_code is not None, what="the app quit")


def toasts(app: ChatApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query(Toast)]


# -- a name that is not UTF-8 -----------------------------------------------------------


def test_a_file_name_that_is_not_utf8_is_listed_not_fatal(home: Path) -> None:
    assert run("ask", "--save", "-m", "demo:fast", "hello").returncode == 0
    odd = os.fsencode(sessions_dir()) + b"/\xff\xfe\x9b31m.json"
    with open(odd, "wb") as file:  # noqa: PTH123 - a name pathlib would decode
        file.write(b"{}")
    for argv in (["sessions", "list"], ["sessions", "list", "--json"]):
        result = run(*argv)
        assert result.returncode == 0 and not result.stderr, result.stderr
        assert "\x1b" not in result.stdout and "\x9b" not in result.stdout
        assert len(result.stdout.splitlines()) == (2 if "--json" in argv else 3)
    records = [json.loads(line) for line in run("sessions", "list", "--json").stdout.splitlines()]
    assert any(r["problem"] and r["file_name"].endswith(".json") for r in records)
    assert len(list(sessions_dir().glob("2*.json"))) == 1  # nothing renamed, nothing lost


async def test_the_sessions_screen_lists_a_name_that_is_not_utf8(home: Path) -> None:
    SessionStore().save(_titled("A good chat"))
    odd = os.fsencode(sessions_dir()) + b"/\xff\xfe.json"
    with open(odd, "wb") as file:  # noqa: PTH123 - a name pathlib would decode
        file.write(b"not json")
    app = ChatApp(Settings(), "demo:fast", env={}, discover_models=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), what="sessions")
        await settle(pilot)
        shown = rendered(app.screen)
        assert "A good chat" in shown and "\ufffd\ufffd.json" in shown, shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen), what="the chat")


def _titled(title: str) -> Session:
    session = new_session()
    session.title = title
    return session


# -- FIFOs and devices where files belong -------------------------------------------------


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("place", "argv", "code", "said"),
    [
        ("config", ["ask", "-m", "demo:fast", "hi"], 2, True),
        ("config", ["config", "show"], 2, True),
        ("state", ["ask", "-m", "demo:fast", "hi"], 0, False),
        ("index", ["sessions", "list"], 0, False),
        ("index", ["ask", "--save", "-m", "demo:fast", "hi"], 0, False),
        ("models-cache", ["models"], 0, False),
        ("session", ["sessions", "show", "20261207-120000-abcdef"], 1, True),
        ("session", ["sessions", "list"], 0, False),
        ("log", ["ask", "-m", "demo:fast", "hi"], 0, True),
    ],
)
def test_a_fifo_where_a_file_belongs_never_hangs(
    home: Path, place: str, argv: list[str], code: int, said: bool
) -> None:
    path = {
        "config": paths.config_file(),
        "state": state_file(),
        "index": sessions_dir() / index.INDEX_NAME,
        "models-cache": discovery.cache_file(),
        "session": sessions_dir() / "20261207-120000-abcdef.json",
        "log": home / "debug.log",
    }[place]
    _fifo(path)
    if place == "log":
        os.environ["CHATTERM_LOG"] = str(path)
    try:
        result = run(*argv)  # a hang fails here, at the deadline
    finally:
        os.environ.pop("CHATTERM_LOG", None)
    assert result.returncode == code, result.stderr
    assert stat.S_ISFIFO(path.lstat().st_mode)  # left as it was
    if said:
        error = one_line_error(result.stderr)
        assert "FIFO" in error and str(path) in error, error
    else:
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    if place == "session" and argv[1] == "list":
        assert "FIFO" in result.stdout


def test_a_character_device_at_the_config_path_is_refused(home: Path) -> None:
    paths.config_dir().mkdir(parents=True, exist_ok=True)
    paths.config_file().symlink_to(os.devnull)
    result = run("config", "show")
    assert result.returncode == 2
    assert "character device" in one_line_error(result.stderr)


# -- writes that must not replace what is there ------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "device-link", "dangling-link"])
def test_export_force_never_replaces_what_is_not_a_file(
    home: Path, tmp_path: Path, kind: str
) -> None:
    assert run("ask", "--save", "-m", "demo:fast", "hello").returncode == 0
    [saved] = sessions_dir().glob("2*.json")
    target = tmp_path / "out" / "target.md"
    target.parent.mkdir()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device-link":
        target.symlink_to(os.devnull)
    else:
        target.symlink_to(tmp_path / "out" / "nowhere.md")
    before = target.lstat()
    result = run("sessions", "export", saved.stem, "-o", str(target), "--force")
    assert result.returncode == 2
    error = one_line_error(result.stderr)
    assert str(target) in error and ("not a regular file" in error or "does not exist" in error)
    after = target.lstat()
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.md"]
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_config_init_force_never_replaces_a_fifo(home: Path) -> None:
    _fifo(paths.config_file())
    result = run("config", "init", "--force")
    assert result.returncode == 1 and "FIFO" in one_line_error(result.stderr)
    assert stat.S_ISFIFO(paths.config_file().lstat().st_mode)


async def test_f12_past_a_dangling_link_exports_and_ctrl_q_quits(
    home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    app = ChatApp(Settings(), "demo:fast", env={}, export_dir=folder, discover_models=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "question")
        await finish_reply(pilot)
        session = app.keeper.session
        assert session is not None
        (folder / f"chatterm-{session.id}.md").symlink_to(tmp_path / "nowhere.md")
        await pilot.press("f12")
        await wait_for(pilot, lambda: any("xport" in n for n in toasts(app)), what="exported")
        exported = folder / f"chatterm-{session.id}-1.md"
        assert "question" in exported.read_text(encoding="utf-8")
        assert not (tmp_path / "nowhere.md").exists()
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app.return_code is not None, what="the app quit")


# -- caches grown past reason -------------------------------------------------------------


def test_an_oversized_index_or_model_cache_is_ignored_and_rebuilt(home: Path) -> None:
    assert run("ask", "--save", "-m", "demo:fast", "hello").returncode == 0
    index_path = sessions_dir() / index.INDEX_NAME
    with index_path.open("wb") as file:
        file.truncate(index.INDEX_LIMIT + 1)  # sparse: costs no disk
    listed = run("sessions", "list")
    assert listed.returncode == 0 and "hello" in listed.stdout and not listed.stderr
    assert index_path.stat().st_size < 1 << 20  # rebuilt from the files
    cache = discovery.cache_file()
    cache.parent.mkdir(parents=True, exist_ok=True)
    with cache.open("wb") as file:
        file.truncate(discovery.CACHE_LIMIT + 1)
    assert discovery._read_cache(cache) == {}


def test_a_dangling_link_under_a_sessions_name_is_listed_with_its_problem(home: Path) -> None:
    sessions_dir().mkdir(parents=True)
    (sessions_dir() / "20261207-120000-abcdef.json").symlink_to(home / "nowhere.json")
    result = run("sessions", "list")
    assert result.returncode == 0 and not result.stderr, result.stderr
    assert "20261207-120000-abcdef" in result.stdout and "does not exist" in result.stdout


@needs_permission_bits
def test_writing_into_a_folder_that_cannot_be_looked_into_is_one_line(
    home: Path, tmp_path: Path
) -> None:
    assert run("ask", "--save", "-m", "demo:fast", "hello").returncode == 0
    [saved] = sessions_dir().glob("2*.json")
    locked = tmp_path / "locked"
    locked.mkdir()
    with mode(locked, 0):
        export = run("sessions", "export", saved.stem, "-o", str(locked / "x.md"), privileged=False)
        os.environ["CHATTERM_HOME"] = str(locked / "home")
        try:
            init = run("config", "init", privileged=False)
        finally:
            os.environ["CHATTERM_HOME"] = str(home)
    assert export.returncode == 2 and "permission denied" in one_line_error(export.stderr)
    assert init.returncode == 1 and "permission denied" in one_line_error(init.stderr)
