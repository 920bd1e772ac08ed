"""``chatterm ask --save`` and ``--session``: the reply is recorded as it streams, and a
saved session is continued with its history, against the fake server on 127.0.0.1."""

from __future__ import annotations

import errno
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chatterm.cli.main import main
from chatterm.events import TimedEvent
from chatterm.reply import live as stream
from chatterm.reply.live import ReplyStream
from chatterm.sessions.model import Session, Turn
from chatterm.sessions.store import SessionStore
from chatterm.text import safe_text
from tests.cli.test_cli_ask import ask_env
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, Scenario
from tests.test_files_and_disk import BrokenDisk
from tests.waiting import default_sigint, wait_until

MODEL = "openai:test-model"
SAFETY_TIMEOUT_S = 60.0


@pytest.fixture
def server(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    """The fake server as chatterm's OpenAI endpoint (with a key, so the default model
    would be a real OpenAI one: a session's own model must win over it)."""
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url + "/v1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    return fake_server


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["ask", *args])
    out, err = capsys.readouterr()
    return code, out, err


def done_of(out: str) -> dict[str, Any]:
    records = [json.loads(line) for line in out.splitlines()]
    assert records[-1]["type"] == "done"
    done: dict[str, Any] = records[-1]
    return done


def only_session() -> Session:
    [summary] = SessionStore().list()
    assert summary.problem is None, summary.problem
    return SessionStore().load(summary.id)


def timeline_text(session: Session, turn: int, kind: str) -> str:
    return "".join(e.text for e in session.turns[turn].timeline if e.kind == kind)


# ----------------------------------------------------------------------------- save, continue


def test_save_then_continue_twice(capsys: pytest.CaptureFixture[str], server: FakeServer) -> None:
    answers = ["The first answer.", "The second answer.", "The third answer."]
    server.queue(*(Scenario(answer=a) for a in answers))

    code, out, err = ask(capsys, "--save", "--json", "-m", MODEL, "first question")
    assert code == 0 and err == ""
    session_id = done_of(out)["session_id"]
    assert done_of(out)["text"] == answers[0]

    # No -m: the session's model, not the default (which would be a real OpenAI model).
    code, out, err = ask(capsys, "--session", session_id, "second question")
    assert code == 0
    assert err == f"saved as session {session_id}\n"
    assert answers[1] in out

    code, out, err = ask(capsys, "--session", session_id[:15], "--json", "third question")
    assert code == 0 and err == ""
    assert done_of(out)["session_id"] == session_id

    first, second, third = server.requests
    assert [r.json["model"] for r in server.requests] == ["test-model"] * 3
    assert first.json["messages"] == [{"role": "user", "content": "first question"}]
    assert second.json["messages"] == [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": answers[0]},
        {"role": "user", "content": "second question"},
    ]
    assert third.json["messages"] == [
        *second.json["messages"],
        {"role": "assistant", "content": answers[1]},
        {"role": "user", "content": "third question"},
    ]

    session = only_session()
    assert session.id == session_id
    assert session.title == "first question"
    assert session.system is None
    assert [t.prompt for t in session.turns] == [
        "first question",
        "second question",
        "third question",
    ]
    assert [t.answer for t in session.turns] == answers
    scenario = Scenario()
    for index, turn in enumerate(session.turns):
        assert turn.model == MODEL
        assert turn.finish_reason == "stop"
        assert turn.reasoning == scenario.reasoning
        assert turn.usage.input_tokens == scenario.prompt_tokens
        assert turn.usage.output_tokens > 0 and not turn.usage.estimated
        metrics = turn.metrics
        assert metrics.ttft_ms is not None and metrics.duration_ms is not None
        assert metrics.first_answer_ms is not None and metrics.tokens_per_s is not None
        assert turn.cost is not None and turn.cost.source == "unknown" and turn.cost.usd is None
        assert turn.error is None
        offsets = [e.offset_ms for e in turn.timeline]
        assert offsets == sorted(offsets) and offsets[-1] <= metrics.duration_ms + 1
        assert timeline_text(session, index, "answer") == turn.answer
        assert timeline_text(session, index, "reasoning") == turn.reasoning
    assert session.updated >= session.turns[-1].started >= session.created


def test_the_system_prompt_belongs_to_the_session(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, out, _ = ask(capsys, "--save", "--json", "-m", MODEL, "--system", "Be terse.", "hi")
    assert code == 0
    session_id = done_of(out)["session_id"]
    assert only_session().system == "Be terse."
    # Continued with another --system: the session's own is kept (the history was
    # written under it).
    assert ask(capsys, "--session", session_id, "--system", "Be verbose.", "more")[0] == 0
    for request in server.requests:
        assert request.json["messages"][0] == {"role": "system", "content": "Be terse."}


def test_an_explicit_model_continues_a_session_on_another_model(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, out, _ = ask(capsys, "--save", "--json", "-m", MODEL, "hi")
    session_id = done_of(out)["session_id"]
    assert ask(capsys, "--session", session_id, "-m", "openai:other-model", "again")[0] == 0
    assert ask(capsys, "--session", session_id, "and again")[0] == 0  # the last one's model
    assert [r.json["model"] for r in server.requests] == [
        "test-model",
        "other-model",
        "other-model",
    ]
    assert only_session().models == [MODEL, "openai:other-model"]


def test_plain_mode_says_where_it_saved(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, out, err = ask(capsys, "--save", "-m", MODEL, "hello")
    assert code == 0
    session = only_session()
    assert err == f"saved as session {session.id}\n"
    assert out.rstrip("\n").endswith("──") and safe_text(Scenario().answer) in out


# ----------------------------------------------------------------------------- usage errors


def test_save_and_session_together_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, out, err = ask(capsys, "--save", "--session", "x", "-m", MODEL, "hi")
    assert code == 2 and out == ""
    assert err.startswith("chatterm: ") and err.count("\n") == 1
    assert server.requests == [] and SessionStore().list() == []


def test_unknown_ambiguous_and_unreadable_sessions(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    for _ in range(2):
        assert ask(capsys, "--save", "--json", "-m", MODEL, "hi")[0] == 0
    ids = [s.id for s in SessionStore().list()]
    before = len(server.requests)

    code, out, err = ask(capsys, "--session", "nope", "hi")
    assert (code, out) == (2, "") and "no session 'nope'" in err and err.count("\n") == 1
    common = ids[0][: next(i for i, (a, b) in enumerate(zip(*ids, strict=True)) if a != b)]
    if common:
        code, out, err = ask(capsys, "--session", common, "hi")
        assert (code, out) == (2, "") and "matches 2 sessions" in err

    broken = SessionStore().folder / "20261121-100000-bad1.json"
    broken.write_bytes(b'{"chatterm_session": 1, "turns": [')
    code, out, err = ask(capsys, "--session", "20261121-100000-bad1", "hi")
    assert (code, out) == (1, "") and "invalid JSON" in err and err.count("\n") == 1
    assert broken.read_bytes() == b'{"chatterm_session": 1, "turns": ['
    assert len(server.requests) == before


# ----------------------------------------------------------------------------- failed replies


def test_an_http_error_reply_is_saved(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    server.scenario = Scenario.http_error(500)
    code, out, err = ask(capsys, "--save", "--json", "-m", MODEL, "hi")
    assert code == 1 and err == ""
    done = done_of(out)
    assert done["finish_reason"] == "error" and "session_id" in done
    [turn] = only_session().turns
    assert turn.finish_reason == "error"
    assert turn.error is not None and turn.error.status == 500
    assert "The server had an error" in turn.error.message
    assert turn.answer == "" and turn.timeline == []


def test_a_midstream_error_keeps_the_partial_reply(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    base = Scenario()
    server.scenario = base.but(error_after=1 + len(base.reasoning_pieces) + 5)
    code, out, _ = ask(capsys, "--save", "--json", "-m", MODEL, "hi")
    assert code == 1
    [turn] = only_session().turns
    assert turn.finish_reason == "error" and turn.error is not None
    assert turn.answer == done_of(out)["text"] == "".join(base.answer_pieces[:5])
    assert turn.reasoning == base.reasoning


def test_a_session_that_cannot_be_saved_stops_before_the_request(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    folder = SessionStore().folder
    folder.parent.mkdir(parents=True)
    folder.write_bytes(b"")  # a file where the folder should be: nothing can be saved
    for args in (["--json"], []):
        code, out, err = ask(capsys, "--save", *args, "-m", MODEL, "hi")
        assert (code, out) == (1, ""), args
        assert err.startswith("chatterm: cannot save the session") and err.count("\n") == 1
    assert server.requests == []  # nothing was paid for
    assert folder.read_bytes() == b""


def test_a_save_failure_while_streaming_warns_but_keeps_the_reply(
    capsys: pytest.CaptureFixture[str], server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = SessionStore().folder

    class FolderGoesAway(ReplyStream):
        """The prompt was saved; then, as the request goes out, the folder becomes a
        file: every later save fails."""

        async def events(self) -> AsyncIterator[TimedEvent]:
            assert len(list(folder.glob("*.json"))) == 1
            shutil.rmtree(folder)
            folder.write_bytes(b"")
            async for timed in super().events():
                yield timed

    monkeypatch.setattr(stream, "ReplyStream", FolderGoesAway)  # the one `ask` imports
    code, out, err = ask(capsys, "--save", "--json", "-m", MODEL, "hi")
    assert code == 1
    done = done_of(out)
    assert done["text"] == Scenario().answer and done["finish_reason"] == "stop"
    assert "session_id" not in done
    assert err.startswith("chatterm: cannot save the session") and err.count("\n") == 1

    folder.unlink()
    code, out, err = ask(capsys, "--save", "-m", MODEL, "hi")
    assert code == 1 and safe_text(Scenario().answer) in out
    assert err.startswith("chatterm: cannot save") and "saved as" not in err
    assert len(server.requests) == 2


def test_continuing_a_file_outside_the_folder_saves_a_copy_and_says_so(
    capsys: pytest.CaptureFixture[str], server: FakeServer, tmp_path: Path
) -> None:
    code, out, _ = ask(capsys, "--save", "--json", "-m", MODEL, "first")
    session_id = done_of(out)["session_id"]
    inside = SessionStore().folder / f"{session_id}.json"
    mine = tmp_path / "mine.json"
    raw = inside.read_bytes()
    mine.write_bytes(raw)
    inside.unlink()
    code, out, err = ask(capsys, "--session", str(mine), "second")
    assert code == 0
    assert err == f"saved as session {session_id} in {inside} (the file you named is unchanged)\n"
    assert mine.read_bytes() == raw
    assert [t.prompt for t in only_session().turns] == ["first", "second"]


# ----------------------------------------------------------------------------- Ctrl+C


def test_ctrl_c_during_a_stall_saves_the_reply_as_cancelled(
    fake_server: FakeServer, isolated_home: Path
) -> None:
    base = Scenario()
    answer_events = 4
    fake_server.scenario = base.but(stall_after=1 + len(base.reasoning_pieces) + answer_events)
    process = subprocess.Popen(
        [sys.executable, "-m", "chatterm", "ask", "--save", "--json", "-m", MODEL, "hi"],
        stdin=subprocess.DEVNULL,
        preexec_fn=default_sigint,  # Ctrl+C works however the suite was started
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ask_env(isolated_home, fake_server),
        cwd=isolated_home,
    )
    try:
        assert process.stdout is not None
        printed: list[str] = []
        while len(printed) < answer_events:  # the server stalls after these
            line = process.stdout.readline()
            assert line, "chatterm ended early"
            record = json.loads(line)
            if record["type"] == "text":
                printed.append(record["text"])

        # While the stream is quiet, the ticker still saves what arrived.
        found: list[Turn] = []

        def checkpointed() -> bool:
            summaries = SessionStore().list()
            if summaries and summaries[0].turns == 1:
                turn = SessionStore().load(summaries[0].id).turns[0]
                if turn.answer == "".join(printed):
                    found.append(turn)
            return bool(found)

        wait_until(checkpointed, what="the stalled reply checkpointed")
        turn = found[0]
        assert turn.in_progress and turn.to_reply().finish_reason == "interrupted"
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1
    assert b"Traceback" not in err
    done = json.loads(rest.decode().splitlines()[-1])
    assert done["finish_reason"] == "cancelled"
    session = only_session()
    assert done["session_id"] == session.id
    [turn] = session.turns
    assert turn.finish_reason == "cancelled"
    assert turn.answer == done["text"] == "".join(printed)
    assert turn.reasoning == base.reasoning


# ---------------------------------------------------------------------------- a full disk
# ``ask`` ends after the reply: its messages never say the conversation is "kept in memory"
# (the TUI's, where it is), but what became of the exchange, and the fix, in one line.


def test_ask_save_on_a_full_disk_refuses_before_sending_in_one_line(
    capsys: pytest.CaptureFixture[str], server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = SessionStore().folder
    disk = BrokenDisk(monkeypatch, folder.parent, ("mkstemp", errno.ENOSPC))
    disk.broken = True
    for args in (["--json"], []):
        code, out, err = ask(capsys, "--save", *args, "-m", MODEL, "hi")
        assert (code, out) == (1, ""), args
        assert re.fullmatch(
            f"chatterm: cannot save the session to {re.escape(str(folder))}/[^ ]+\\.json: "
            "the disk is full; nothing was sent — free space or fix the folder's "
            "permissions, then ask again\n",
            err,
        ), err
    assert disk.refused
    assert server.requests == []  # nothing was paid for


def test_ask_save_into_a_folder_that_is_a_file_says_nothing_was_sent(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    folder = SessionStore().folder
    folder.parent.mkdir(parents=True)
    folder.write_bytes(b"")
    code, _, err = ask(capsys, "--save", "-m", MODEL, "hi")
    assert code == 1
    assert "; nothing was sent — free space or fix the folder's permissions" in err
    assert "memory" not in err and err.count("\n") == 1
    assert server.requests == []


def test_a_save_failing_mid_reply_says_the_reply_was_printed_not_saved(
    capsys: pytest.CaptureFixture[str], server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = SessionStore().folder
    disk = BrokenDisk(monkeypatch, folder.parent, ("mkstemp", errno.ENOSPC))

    class DiskFillsUp(ReplyStream):
        """The prompt was saved; then, as the request goes out, the disk fills up."""

        async def events(self) -> AsyncIterator[TimedEvent]:
            disk.broken = True
            async for timed in super().events():
                yield timed

    monkeypatch.setattr(stream, "ReplyStream", DiskFillsUp)  # the one `ask` imports
    code, out, err = ask(capsys, "--save", "-m", MODEL, "hi")
    assert code == 1 and safe_text(Scenario().answer) in out
    assert re.fullmatch(
        f"chatterm: cannot save the session to {re.escape(str(folder))}/[^ ]+\\.json: "
        "the disk is full; the reply was printed but not saved in full — free space or fix "
        "the folder's permissions\n",
        err,
    ), err
    [turn] = only_session().turns  # the prompt, saved before the request
    assert turn.prompt == "hi"


# ---------------------------------------------------------------------- two writers at once


@pytest.mark.parametrize("held_mode", ["--json", "--plain"])
def test_two_asks_on_one_session_at_once_both_keep_their_reply(
    held_mode: str,
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,
    isolated_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first ``ask --session`` is held before its reply while a second one runs on the
    same session from start to end; the first then saves into a copy (the file changed
    meanwhile) and says so: not a failure, and its done record names the copy."""
    code, out, _ = ask(capsys, "--save", "--json", "-m", MODEL, "question zero")
    assert code == 0
    session_id = done_of(out)["session_id"]

    # The server holds the first process's reply at its headers delay until released.
    gate = threading.Event()
    held_s = 0.125
    pause = server._pause

    def held_pause(conn: Any, record: Any, seconds: float) -> bool:
        if seconds == held_s:
            gate.wait(SAFETY_TIMEOUT_S)
            return False
        return pause(conn, record, seconds)

    monkeypatch.setattr(server, "_pause", held_pause)
    server.queue(
        Scenario(answer="The held answer.", headers_delay_s=held_s),
        Scenario(answer="The quick answer."),
    )
    env = ask_env(isolated_home, server)

    def start(prompt: str, *mode: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "chatterm", "ask", "--session", session_id, *mode, prompt],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=isolated_home,
        )

    held = start("held question", *([held_mode] if held_mode == "--json" else []))
    quick: subprocess.Popen[str] | None = None
    try:
        server.wait_for_requests(2, timeout=SAFETY_TIMEOUT_S)  # its prompt is on disk by now
        quick = start("quick question")
        quick_out, quick_err = quick.communicate(timeout=SAFETY_TIMEOUT_S)
        gate.set()
        held_out, held_err = held.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        gate.set()
        for process in (held, quick):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()

    # The second one continued the session; the held prompt (no answer yet) is not sent.
    assert quick.returncode == 0, quick_err
    assert "The quick answer." in quick_out
    assert quick_err == f"saved as session {session_id}\n"
    quick_request = json.loads(server.requests[2].body)
    assert [(m["role"], m["content"]) for m in quick_request["messages"]] == [
        ("user", "question zero"),
        ("assistant", Scenario().answer),
        ("user", "quick question"),
    ]
    kept = SessionStore().load(session_id)
    assert [(t.prompt, t.answer) for t in kept.turns] == [
        ("question zero", Scenario().answer),
        ("held question", ""),
        ("quick question", "The quick answer."),
    ]
    assert kept.turns[1].finish_reason == "interrupted"

    # The held one: its reply is whole, in a copy its done record (or its last line)
    # names; exit 0.
    assert held.returncode == 0, held_err
    if held_mode == "--json":
        assert held_err == ""
        done = done_of(held_out)
        assert done["text"] == "The held answer." and done["finish_reason"] == "stop"
        copy_id = done["session_id"]
    else:
        assert "The held answer." in held_out
        found = re.fullmatch(
            r"saved as session (\S+) \(a copy: (\S+) changed meanwhile\)\n", held_err
        )
        assert found is not None, held_err
        copy_id = found[1]
        assert found[2] == session_id
    assert copy_id != session_id
    copy = SessionStore().load(copy_id)
    assert [(t.prompt, t.answer) for t in copy.turns] == [
        ("question zero", Scenario().answer),
        ("held question", "The held answer."),
    ]
