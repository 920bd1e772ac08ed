"""``chatterm ask`` when stdout cannot be written (``> /dev/full``: ENOSPC on every write).

The failure is one line naming the problem and exit 1, never "unexpected error"; with
``--save`` the reply is still recorded whole, since the session recorder gets every event
whether or not the printer could write it.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.ask import ask_command
from chatterm.sessions.store import SessionStore, sessions_dir

FULL = "chatterm: cannot write the reply to stdout: No space left on device"
needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")


def demo_reply(*options: str) -> dict[str, object]:
    """The ``done`` record of the demo's reply to "hi", written where it can be."""
    result = subprocess.run(
        [sys.executable, "-m", "chatterm", "ask", "-m", "demo:fast", "--json", *options, "hi"],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    done: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return done


def ask_into_dev_full(*options: str) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w") as full:
        return subprocess.run(
            [sys.executable, "-m", "chatterm", "ask", "-m", "demo:fast", *options, "hi"],
            stdout=full,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )


def the_saved_turn() -> dict[str, object]:
    [path] = sessions_dir().glob("*.json")
    [turn] = json.loads(path.read_text("utf-8"))["turns"]
    assert isinstance(turn, dict)
    return turn


@needs_dev_full
@pytest.mark.parametrize("json_lines", [False, True], ids=["plain", "json"])
def test_dev_full_is_one_line_and_the_saved_reply_is_whole(
    isolated_home: Path, json_lines: bool
) -> None:
    options = ("--json",) if json_lines else ()
    result = ask_into_dev_full("--save", *options)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{FULL}; the reply is saved as session "), line
    turn = the_saved_turn()
    expected = demo_reply()
    assert turn["finish_reason"] == "stop"
    assert turn["answer"] == expected["text"] and turn["reasoning"] == expected["reasoning"]
    assert line.endswith(str(next(sessions_dir().glob("*.json")).stem))


@needs_dev_full
@pytest.mark.parametrize("options", [(), ("--json",)], ids=["plain", "json"])
def test_dev_full_without_save_is_one_line(isolated_home: Path, options: tuple[str, ...]) -> None:
    result = ask_into_dev_full(*options)
    assert result.returncode == 1
    assert result.stderr == FULL + "\n"


class FullDisk(io.StringIO):
    """A stream on a full disk: every write and flush fails with ENOSPC."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def write(self, text: str) -> int:
        self.attempts += 1
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("json_lines", [False, True], ids=["plain", "json"])
def test_a_failing_stream_does_not_keep_the_recorder_from_the_reply(
    isolated_home: Path, json_lines: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["ask", "-m", "demo:fast", "--save", *(["--json"] if json_lines else []), "hi"]
    out, err = FullDisk(), io.StringIO()
    code = ask_command(build_parser().parse_args(argv), stdout=out, stderr=err, env={})
    assert code == 1
    assert out.attempts == 1  # nothing more is tried after the first failure
    assert err.getvalue() == ""  # the reply's own lines are not where the failure is told
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{FULL}; the reply is saved as session ")
    [summary] = SessionStore().list()
    session = SessionStore().load_path(sessions_dir() / summary.file_name)
    [turn] = session.turns
    expected = demo_reply()
    assert turn.finish_reason == "stop"
    assert turn.answer == expected["text"] and turn.reasoning == expected["reasoning"]


def test_a_failing_stream_without_save_stops_the_reply(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = FullDisk()
    args = build_parser().parse_args(["ask", "-m", "demo:fast", "hi"])
    assert ask_command(args, stdout=out, stderr=io.StringIO(), env={}) == 1
    assert out.attempts == 1
    assert capsys.readouterr().err == FULL + "\n"


class GoneReader(io.StringIO):
    """A pipe whose reader went away (``… | head``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def test_a_reader_that_went_away_is_no_message_and_the_reply_is_saved_whole(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(["ask", "-m", "demo:fast", "--save", "hi"])
    err = io.StringIO()
    assert ask_command(args, stdout=GoneReader(), stderr=err, env={}) == 1
    assert capsys.readouterr().err == ""
    assert err.getvalue().startswith("saved as session ")  # as ask says it on success
    assert the_saved_turn()["answer"] == demo_reply()["text"]
