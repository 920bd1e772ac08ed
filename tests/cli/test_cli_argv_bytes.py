"""Undecodable bytes in arguments never reach the terminal raw.

Python gives an argument that is not valid UTF-8 as surrogate escapes (byte 0x9B becomes
U+DC9B), and a stream with ``surrogateescape`` (stdout under the C or a UTF-8 locale)
writes them back as the raw byte: 0x9B is an 8-bit CSI, which a terminal obeys. Every
command is run in a real process with such bytes in each argument that can be echoed: a
prompt, a model, a system prompt, a session reference, a title, an output path, and
arguments argparse itself complains about.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatterm.cli import common
from chatterm.cli.arguments import build_parser
from chatterm.cli.printer import json_line
from chatterm.sessions.store import sessions_dir

CSI = b"\x9b"
HOSTILE = b"\x9b31mred\x9b0m"  # an 8-bit CSI colour change, not valid UTF-8


def run(*args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "chatterm", *(os.fsencode(arg) for arg in args)],
        capture_output=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def assert_clean(result: subprocess.CompletedProcess[bytes]) -> None:
    """No raw C1 byte, valid UTF-8 on both streams, and no traceback."""
    for name, data in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert CSI not in data, (name, data[-400:])
        data.decode("utf-8")  # strict: a lone 0x9B byte is not UTF-8
    assert b"Traceback" not in result.stderr


def saved_session_id() -> str:
    [path] = sessions_dir().glob("*.json")
    return path.stem


@pytest.fixture
def saved(isolated_home: Path) -> str:
    """A session whose prompt and system prompt came with undecodable bytes."""
    result = run("ask", "-m", "demo:fast", "--save", "--system", HOSTILE, HOSTILE + b" hello")
    assert result.returncode == 0, result.stderr
    assert_clean(result)
    data = next(sessions_dir().glob("*.json")).read_bytes()
    assert CSI not in data
    data.decode("utf-8")
    return saved_session_id()


@pytest.mark.parametrize(
    "args",
    [
        ("ask", "-m", "demo:fast", "--json", HOSTILE),
        ("ask", "-m", "demo:fast", "--system", HOSTILE, "hi"),
        ("ask", "-m", HOSTILE, "hi"),
        ("ask", "-m", b"openai:" + HOSTILE, "hi"),  # no key: the message names the model
        ("ask", "-m", HOSTILE + b":x", "hi"),  # an unknown provider
        ("-m", HOSTILE),  # the TUI's model, refused before the TUI starts
        ("ask", "--session", HOSTILE, "hi"),
        ("sessions", "show", HOSTILE),
        ("sessions", "delete", HOSTILE),
        ("sessions", "export", HOSTILE),
        ("replay", "--plain", HOSTILE),
        ("ask", "hi", HOSTILE),  # argparse: unrecognized arguments
        ("ask", "--effort", HOSTILE, "hi"),  # argparse: invalid choice
        ("ask", "--retries", HOSTILE, "hi"),
        ("replay", "--speed", HOSTILE, "x"),
        (HOSTILE,),  # argparse: invalid command
    ],
)
def test_no_command_echoes_a_raw_c1_byte(isolated_home: Path, args: tuple[str | bytes]) -> None:
    result = run(*args)
    assert_clean(result)


def test_a_saved_prompt_lists_and_shows_clean(saved: str) -> None:
    for args in (("sessions", "list"), ("sessions", "list", "--json"), ("sessions", "show", saved)):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        assert_clean(result)
        assert "\ufffd31mred".encode() in result.stdout


def test_rename_echoes_the_title_clean_and_saves_it_clean(saved: str) -> None:
    result = run("sessions", "rename", saved, b"new \x9b2J title")
    assert result.returncode == 0, result.stderr
    assert_clean(result)
    assert result.stdout.decode().endswith("to new \ufffd2J title\n")
    title = json.loads(next(sessions_dir().glob("*.json")).read_text("utf-8"))["title"]
    assert title == "new \ufffd2J title"


def test_export_to_an_undecodable_file_name(saved: str, tmp_path: Path) -> None:
    target = os.fsencode(tmp_path) + b"/out\x9b2J.md"
    result = run("sessions", "export", saved, "-o", target)
    assert result.returncode == 0, result.stderr
    assert_clean(result)
    assert os.path.exists(target)  # the file has the name given, byte for byte


# -- in-process: the places every message goes through


def test_fail_writes_no_surrogate(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    assert common.fail("no session '\udc9b31m'") == common.EXIT_USAGE
    assert stderr.getvalue() == "chatterm: no session '\ufffd31m'\n"


def test_argparse_errors_write_no_surrogate(monkeypatch: pytest.MonkeyPatch) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ask", "hi", "x\udc9b31m"])
    assert stderr.getvalue().startswith("chatterm: unrecognized arguments: x\ufffd31m")


def test_json_lines_escape_a_lone_surrogate_exactly() -> None:
    line = json_line({"path": "out\udc9b.md"})
    assert line == '{"path": "out\\udc9b.md"}'
    assert json.loads(line) == {"path": "out\udc9b.md"}
