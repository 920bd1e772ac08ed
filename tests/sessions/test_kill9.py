"""``kill -9`` in the middle of ``chatterm ask --save``: the session file still parses, its
last turn reads as interrupted, and it holds exactly what was printed.

No wall-clock assumption: the fake server sends part of the reply and then stalls, the test
waits (with a generous safety deadline only) until the file on disk holds everything
printed so far, and only then kills the process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from chatterm.sessions.model import Turn
from chatterm.sessions.store import SessionStore
from tests.cli.test_cli_ask import ask_env
from tests.fake_provider.server import FakeServer, Scenario, after_answer
from tests.waiting import wait_until

MODEL = "openai:test-model"
SAFETY_TIMEOUT_S = 120.0  # only a hung test waits this long
ANSWER_PIECES = 20  # sent before the stall: several checkpoints' worth of events


def saved_turn() -> Turn | None:
    """The only session's last turn as it is on disk now, if there is one (read without
    listing, which would write the folder's index while chatterm saves)."""
    store = SessionStore()
    files = sorted(store.folder.glob("[!.]*.json")) if store.folder.is_dir() else []
    if len(files) != 1:
        return None
    turns = store.load_path(files[0]).turns  # written atomically: always whole
    return turns[-1] if turns else None


def kill_when_printed_is_saved(
    argv: list[str], env: dict[str, str], home: Path, expected: str
) -> str:
    """Run ``chatterm ARGV --json``; once it has printed ``expected`` (all the server sends
    before it stalls) and the file on disk holds it, ``kill -9`` it. What it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chatterm", *argv],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=home,
    )
    printed = ""
    try:
        assert process.stdout is not None
        while printed != expected:  # everything the server sends before it stalls
            assert expected.startswith(printed), "more text than the server sent"
            line = process.stdout.readline()
            assert line, "chatterm ended before the kill"
            record = json.loads(line)
            assert record["type"] != "done", "the reply ended before the kill"
            if record["type"] == "text":
                printed += record["text"]

        # The stream is quiet now; the ticker saves what arrived.
        def all_saved() -> bool:
            assert process.poll() is None, "chatterm ended before the kill"
            turn = saved_turn()
            return turn is not None and turn.answer == printed

        wait_until(all_saved, within_s=SAFETY_TIMEOUT_S, what="what was printed, on disk")
        os.kill(process.pid, signal.SIGKILL)
        rest, _ = process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    for line in rest.decode().splitlines():  # the server sent no more text after the stall
        assert json.loads(line)["type"] not in ("text", "done")
    return printed


def test_kill_9_mid_stream_keeps_everything_printed(
    fake_server: FakeServer, isolated_home: Path
) -> None:
    base = Scenario(answer=" ".join(f"word{i}" for i in range(200)))
    fake_server.scenario = base.but(stall_after=after_answer(ANSWER_PIECES))
    expected = "".join(base.answer_pieces[:ANSWER_PIECES])
    argv = ["ask", "--save", "--json", "-m", MODEL, "Count."]
    env = ask_env(isolated_home, fake_server)
    printed = kill_when_printed_is_saved(argv, env, isolated_home, expected)

    [summary] = SessionStore().list()
    assert summary.problem is None, summary.problem
    session = SessionStore().load(summary.id)  # it parses
    assert session.title == "Count."
    [turn] = session.turns
    assert turn.prompt == "Count." and turn.model == MODEL
    assert turn.in_progress
    assert turn.to_reply().finish_reason == "interrupted"
    assert turn.reasoning == base.reasoning
    assert turn.answer == printed == expected
    assert "".join(e.text for e in turn.timeline if e.kind == "answer") == turn.answer


def test_kill_9_while_regenerating_keeps_the_earlier_reply_and_the_partial_new_one(
    fake_server: FakeServer, isolated_home: Path
) -> None:
    env = ask_env(isolated_home, fake_server)
    first = subprocess.run(
        [sys.executable, "-m", "chatterm", "ask", "--save", "-m", MODEL, "Count."],
        capture_output=True,
        env=env,
        cwd=isolated_home,
        timeout=SAFETY_TIMEOUT_S,
        check=True,
    )
    [summary] = SessionStore().list()
    before = SessionStore().load(summary.id).turns[0]
    assert before.finish_reason == "stop" and before.answer, first.stderr
    base = Scenario(answer=" ".join(f"again{i}" for i in range(200)))
    fake_server.scenario = base.but(stall_after=after_answer(ANSWER_PIECES))
    expected = "".join(base.answer_pieces[:ANSWER_PIECES])
    argv = ["ask", "--session", summary.id, "--regenerate", "--json", "-m", MODEL]
    printed = kill_when_printed_is_saved(argv, env, isolated_home, expected)

    session = SessionStore().load(summary.id)
    old, new = session.tree
    assert old == before  # the earlier alternative, whole
    assert session.alternatives(0) == [0, 1] and session.turns == [new]
    assert new.prompt == "Count." and new.in_progress and new.answer == printed == expected
