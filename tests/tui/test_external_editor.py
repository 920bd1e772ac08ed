"""The prompt in $VISUAL / $EDITOR: a real editor process (a small Python script) each time."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from chatterm.tui.external_editor import NO_EDITOR, edit_in_editor, editor_command
from tests.privileges import file_privileges_can_be_dropped, without_file_privileges

# The "editor": records what it was given (path, mode, text) next to itself, then runs the
# test's own lines with ``path`` (the file to edit) and ``Path`` at hand.
EDITOR_HEAD = """\
import json, os, signal, stat, sys
from pathlib import Path
path = Path(sys.argv[-1])
seen = {"path": str(path), "mode": stat.S_IMODE(os.stat(path).st_mode),
        "text": path.read_text(encoding="utf-8"), "argv": sys.argv[1:]}
(Path(__file__).parent / "seen.json").write_text(json.dumps(seen), encoding="utf-8")
"""


def make_editor(folder: Path, body: str) -> list[str]:
    """A command line running a script that edits its last argument with ``body``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "editor.py"
    script.write_text(EDITOR_HEAD + body, encoding="utf-8")
    return [sys.executable, str(script)]


def seen(command: list[str]) -> dict[str, object]:
    import json

    data: dict[str, object] = json.loads((Path(command[1]).parent / "seen.json").read_text())
    return data


def test_the_edited_text_comes_back_without_the_newline_editors_add(tmp_path: Path) -> None:
    command = make_editor(tmp_path, "path.write_text(seen['text'] + ' and more\\n')\n")
    edited = edit_in_editor("a draft", command)
    assert edited.text == "a draft and more" and edited.problem is None and edited.note is None
    record = seen(command)
    assert record["text"] == "a draft"
    assert record["mode"] == 0o600  # private: the prompt may hold anything
    written = Path(str(record["path"]))
    assert written.suffix == ".md" and written.name.startswith("chatterm-prompt-")
    assert not written.exists()  # removed afterwards


def test_only_one_trailing_newline_is_dropped(tmp_path: Path) -> None:
    command = make_editor(tmp_path, "path.write_bytes(b'line one\\r\\nline two\\n\\n')\n")
    assert edit_in_editor("", command).text == "line one\r\nline two\n"
    command = make_editor(tmp_path / "crlf", "path.write_bytes(b'one\\r\\n')\n")
    assert edit_in_editor("", command).text == "one"


def test_an_editor_that_replaces_the_file_is_read_by_name(tmp_path: Path) -> None:
    # vim and others write a new file and rename it over the old one.
    body = "new = path.with_suffix('.new')\nnew.write_text('renamed')\nos.replace(new, path)\n"
    assert edit_in_editor("x", make_editor(tmp_path, body)).text == "renamed"


def test_bytes_that_are_not_utf8_are_replaced(tmp_path: Path) -> None:
    command = make_editor(tmp_path, "path.write_bytes(b'caf\\xe9 \\xff\\xfe ok')\n")
    assert edit_in_editor("", command).text == "caf\ufffd \ufffd\ufffd ok"


def test_a_huge_file_is_cut_on_a_whole_character_with_a_note(tmp_path: Path) -> None:
    # 9 bytes of "a", then "é" (2 bytes) across the 10-byte limit: it is left out whole.
    command = make_editor(tmp_path, "path.write_bytes(b'a' * 9 + 'é'.encode() + b'tail\\n')\n")
    edited = edit_in_editor("", command, limit=10)
    assert edited.text == "a" * 9
    assert edited.note is not None and "10 bytes" in edited.note
    big = make_editor(tmp_path / "big", "path.write_bytes(b'x' * (3 << 20))\n")
    edited = edit_in_editor("", big)
    assert edited.text == "x" * (1 << 20)
    assert edited.note == "The edited text is longer than 1 MB: only its first 1 MB are kept."


def test_a_failing_editor_leaves_the_prompt_as_it_was(tmp_path: Path) -> None:
    command = make_editor(tmp_path, "path.write_text('half done')\nsys.exit(3)\n")
    edited = edit_in_editor("draft", command)
    assert edited.text is None
    assert edited.problem == (
        f"the editor {sys.executable!r} exited with status 3; the prompt is left as it was"
    )
    assert not Path(str(seen(command)["path"])).exists()


def test_an_editor_killed_by_a_signal_is_named(tmp_path: Path) -> None:
    command = make_editor(tmp_path, "os.kill(os.getpid(), signal.SIGTERM)\n")
    edited = edit_in_editor("draft", command)
    assert edited.text is None and edited.problem is not None
    assert "was stopped by SIGTERM" in edited.problem


def test_an_editor_that_cannot_be_started_is_named(tmp_path: Path) -> None:
    edited = edit_in_editor("draft", [str(tmp_path / "no-such-editor"), "-n"])
    assert edited.text is None and edited.problem is not None
    assert "no-such-editor" in edited.problem and "was not found" in edited.problem
    not_executable = tmp_path / "editor.sh"
    not_executable.write_text("#!/bin/sh\n")
    not_executable.chmod(0o600)
    edited = edit_in_editor("draft", [str(not_executable)])
    assert edited.problem is not None and "cannot be run" in edited.problem


def test_a_file_the_editor_removed_or_swapped_is_a_problem(tmp_path: Path) -> None:
    edited = edit_in_editor("draft", make_editor(tmp_path, "path.unlink()\n"))
    assert edited.text is None and edited.problem is not None
    assert edited.problem.startswith("cannot read the edited text back from")
    fifo = make_editor(tmp_path / "fifo", "path.unlink()\nos.mkfifo(path)\n")
    edited = edit_in_editor("draft", fifo)  # a FIFO would hang a plain read
    assert edited.problem is not None and "FIFO" in edited.problem


def test_no_temporary_file_no_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    command = make_editor(tmp_path, "")
    edited = edit_in_editor("draft", command)
    assert edited.text is None and edited.problem is not None
    assert edited.problem.startswith("cannot create a file for the editor")
    assert not (tmp_path / "seen.json").exists()  # the editor never ran


@pytest.mark.skipif(
    not file_privileges_can_be_dropped(), reason="root here cannot give up writing anywhere"
)
def test_a_temporary_folder_that_refuses_writes_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setattr(tempfile, "tempdir", str(locked))
    editor = make_editor(tmp_path / "ed", "")
    with without_file_privileges():
        edited = edit_in_editor("draft", editor)
    assert edited.problem is not None and "permission denied" in edited.problem


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(),
    reason="signal handlers are set from the main thread only",
)
def test_ctrl_c_in_the_editor_does_not_reach_chatterm(tmp_path: Path) -> None:
    # At a terminal Ctrl+C signals the whole foreground group: chatterm as well as the editor.
    import signal

    body = "os.kill(os.getppid(), signal.SIGINT)\npath.write_text('kept')\n"
    before = signal.getsignal(signal.SIGINT)
    edited = edit_in_editor("draft", make_editor(tmp_path, body))  # no KeyboardInterrupt
    assert edited.text == "kept"
    assert signal.getsignal(signal.SIGINT) is before


def test_the_editor_comes_from_visual_then_editor_split_as_a_shell_would() -> None:
    assert editor_command({"VISUAL": "code --wait", "EDITOR": "vi"}) == (
        ["code", "--wait"],
        None,
    )
    assert editor_command({"VISUAL": "  ", "EDITOR": "'/opt/My Editor/ed' -n"}) == (
        ["/opt/My Editor/ed", "-n"],
        None,
    )
    assert editor_command({}) == (None, NO_EDITOR)
    assert "$VISUAL or $EDITOR" in NO_EDITOR
    command, problem = editor_command({"VISUAL": "'unclosed"})
    assert command is None and problem is not None
    assert problem.startswith("$VISUAL cannot be read as a command")


def test_a_quoted_path_with_spaces_runs(tmp_path: Path) -> None:
    make_editor(tmp_path / "my editor", "path.write_text('from a spaced path')\n")
    script = tmp_path / "my editor" / "editor.py"
    command, _ = editor_command({"EDITOR": f"{sys.executable} '{script}' --flag"})
    assert command is not None
    assert edit_in_editor("", command).text == "from a spaced path"
    assert seen([sys.executable, str(script)])["argv"][:1] == ["--flag"]  # type: ignore[index]


def test_the_file_is_private_even_under_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        command = make_editor(tmp_path, "")
        edit_in_editor("secret", command)
    finally:
        os.umask(old)
    assert seen(command)["mode"] == stat.S_IMODE(0o600)
