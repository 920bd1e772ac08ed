"""``kill -9`` in the middle of ``chatterm ask --save``: the session file still parses, its
last turn reads as interrupted, and it holds what was printed, less at most the last second.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chatterm.sessions.store import SessionStore
from tests.fake_provider.server import FakeServer, Scenario
from tests.test_cli_ask import ask_env

MODEL = "openai:test-model"
SAFETY_TIMEOUT_S = 60.0
RUN_BEFORE_KILL_S = 1.5  # of streamed text before the kill: several checkpoints' worth
MAY_LOSE_S = 1.0  # the checkpoints come every 0.5 s; this leaves room for a slow disk


def test_kill_9_mid_stream_keeps_all_but_the_last_second(
    fake_server: FakeServer, isolated_home: Path
) -> None:
    answer = " ".join(f"word{i}" for i in range(1500))
    scenario = Scenario(reasoning="Let me count.", answer=answer, write_delay_s=0.01)
    fake_server.scenario = scenario  # ~15 s of text: far longer than the test waits
    process = subprocess.Popen(
        [sys.executable, "-m", "chatterm", "ask", "--save", "--json", "-m", MODEL, "Count."],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ask_env(isolated_home, fake_server),
        cwd=isolated_home,
    )
    printed = ""
    seen: list[tuple[float, str]] = []  # (when read, all answer text read by then)
    try:
        assert process.stdout is not None
        first_text: float | None = None
        while first_text is None or time.monotonic() - first_text < RUN_BEFORE_KILL_S:
            line = process.stdout.readline()
            assert line, "chatterm ended before the kill"
            record = json.loads(line)
            assert record["type"] != "done", "the reply ended before the kill"
            if record["type"] == "text":
                now = time.monotonic()
                first_text = first_text or now
                printed += record["text"]
                seen.append((now, printed))
        killed_at = time.monotonic()
        os.kill(process.pid, signal.SIGKILL)
        rest, _ = process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    for line in rest.decode().splitlines():  # whatever was still in the pipe
        record = json.loads(line)
        assert record["type"] != "done"
        printed += record.get("text", "") if record["type"] == "text" else ""

    [summary] = SessionStore().list()
    assert summary.problem is None, summary.problem
    session = SessionStore().load(summary.id)  # it parses
    assert session.title == "Count."
    [turn] = session.turns
    assert turn.prompt == "Count." and turn.model == MODEL
    assert turn.in_progress
    assert turn.to_reply().finish_reason == "interrupted"
    assert turn.reasoning == "Let me count."
    assert turn.answer, "nothing was saved"
    assert printed.startswith(turn.answer), "the file holds text that was never printed"
    assert "".join(e.text for e in turn.timeline if e.kind == "answer") == turn.answer
    # Everything printed more than a second before the kill is on disk.
    old_enough = [text for at, text in seen if at <= killed_at - MAY_LOSE_S]
    assert old_enough, "the test did not run long enough to check anything"
    assert turn.answer.startswith(old_enough[-1])
    assert len(turn.answer) < len(answer)
