"""``chatterm replay``: a saved session streamed again through the ``ask`` printers.

Timing is checked against a fake clock and sleep, never the wall clock.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.main import main
from chatterm.cli.printer import done_record
from chatterm.cli.replay import play, replay_command
from chatterm.config import Settings
from chatterm.reply.figures import format_stats
from chatterm.sessions.model import Session
from chatterm.sessions.replay import POLL_S, TURN_GAP_S, ReplayControl
from chatterm.sessions.store import SessionStore
from tests.cli.test_cli_sessions import FakeTty, assert_one_line_error, make_session, run, save
from tests.waiting import default_sigint

ROOT = Path(__file__).resolve().parents[2]
SAFETY_TIMEOUT_S = 60.0


class FakeTime:
    """A clock that only moves when the replay sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class StampedOut(io.StringIO):
    """Remembers the fake time of every write."""

    def __init__(self, fake: FakeTime) -> None:
        super().__init__()
        self.fake = fake
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((self.fake.now, text))
        return super().write(text)

    def when(self, text: str) -> float:
        """The time of the first write containing ``text``."""
        return next(at for at, written in self.writes if text in written)


@pytest.fixture
def session() -> Session:
    session = make_session()
    save(session)
    return session


def test_plain_replay_at_speed_0_prints_the_recorded_turns(
    capsys: pytest.CaptureFixture[str], session: Session
) -> None:
    code, replayed, err = run(capsys, "replay", session.id, "--plain", "--speed", "0")
    assert code == 0 and err == ""
    # Exactly what `sessions show` prints after the session's header.
    shown = run(capsys, "sessions", "show", session.id)[1]
    header_lines = 3  # title, facts, system prompt
    assert shown.split("\n", header_lines)[header_lines] == "\n" + replayed
    first, second = session.turns
    assert replayed.startswith(
        "── you ──\nquestion 0\n── openai:gpt-x ──\n── thinking ──\nAdding two and two.\n"
        "── answer ──\nanswer 0\n"
    )
    assert f"── {format_stats(first.to_reply())} ──\n\n── you ──\nquestion 1\n" in replayed
    assert "error: HTTP 529 from anthropic: overloaded\n" in replayed
    assert replayed.endswith(f"── {format_stats(second.to_reply())} ──\n")


def test_replay_without_a_terminal_prints_plain(
    capsys: pytest.CaptureFixture[str], session: Session
) -> None:
    plain = run(capsys, "replay", session.id, "--plain", "--speed", "0")[1]
    assert run(capsys, "replay", session.id, "--speed", "0") == (0, plain, "")


def test_json_replay(capsys: pytest.CaptureFixture[str], session: Session) -> None:
    code, out, err = run(capsys, "replay", session.id, "--json", "--speed", "0")
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    first, second = session.turns
    assert [r["type"] for r in records] == [
        *["prompt", "reasoning", "text", "text", "done"],
        *["prompt", "reasoning", "text", "text", "error", "done"],
    ]
    assert records[0] == {"type": "prompt", "turn": 0, "model": first.model, "text": "question 0"}
    assert records[5]["text"] == "question 1" and records[5]["turn"] == 1
    assert "".join(r["text"] for r in records[2:4]) == first.answer
    assert records[4] == json.loads(json.dumps(done_record(first.to_reply())))
    assert records[-1] == json.loads(json.dumps(done_record(second.to_reply())))
    assert records[-2]["message"] == "HTTP 529 from anthropic: overloaded"


async def test_replay_keeps_the_recorded_gaps_scaled_by_speed(session: Session) -> None:
    fake = FakeTime()
    out = StampedOut(fake)
    speed = 2.0
    code = await play(
        session,
        out,
        speed=speed,
        control=ReplayControl(clock=fake.clock),
        sleep=fake.sleep,
    )
    assert code == 0
    # Timeline: reasoning at 120 ms, the answer in two pieces at 300 and 640 ms, the end
    # at the recorded duration (900 ms); the next turn after a pause to read its prompt.
    assert out.when("question 0") == 0
    assert out.when("Adding two and two.") == pytest.approx(0.120 / speed)
    assert out.when("answ") == pytest.approx(0.300 / speed)
    assert out.when("er 0") == pytest.approx(0.640 / speed)
    assert out.when("TTFT") == pytest.approx(0.900 / speed)
    second_start = 0.900 + TURN_GAP_S
    assert out.when("question 1") == pytest.approx(second_start / speed)
    assert out.when("er 1") == pytest.approx((second_start + 0.640) / speed)
    assert fake.now == pytest.approx((second_start + 0.900) / speed)
    assert max(fake.sleeps) <= POLL_S
    # Nothing is printed before its time.
    for at, text in out.writes:
        if "er 1" in text:
            assert at >= (second_start + 0.640) / speed - 1e-9


async def test_speed_0_never_sleeps(session: Session) -> None:
    fake = FakeTime()
    out = StampedOut(fake)
    assert await play(session, out, speed=0, sleep=fake.sleep) == 0
    assert fake.sleeps == [] and "answer 1" in out.getvalue()


@pytest.mark.parametrize("speed", ["-1", "-0.5", "nan", "inf", "fast", ""])
def test_a_bad_speed_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], session: Session, speed: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["replay", session.id, "--plain", "--speed", speed])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "--speed", "0 or more")


def test_plain_and_json_together_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], session: Session
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["replay", session.id, "--plain", "--json"])
    assert exc.value.code == 2
    assert_one_line_error(capsys.readouterr().err)


def test_unknown_and_unreadable_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "replay", "nope", "--plain")
    assert code == 2 and out == ""
    assert_one_line_error(err, "no session 'nope'")
    folder = SessionStore().folder
    folder.mkdir(parents=True)
    broken = folder / "20261121-100000-bad1.json"
    broken.write_bytes(b"{")
    code, out, err = run(capsys, "replay", "20261121-100000-bad1", "--plain")
    assert code == 1 and out == ""
    assert_one_line_error(err, "invalid JSON")
    assert broken.read_bytes() == b"{"


def test_replay_never_touches_the_network(
    capsys: pytest.CaptureFixture[str], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_network(*args: Any, **kwargs: Any) -> httpx.Response:
        raise AssertionError("replay used the network")

    monkeypatch.setattr(httpx.AsyncClient, "send", no_network)
    monkeypatch.setattr(httpx.Client, "send", no_network)
    assert run(capsys, "replay", session.id, "--plain", "--speed", "0")[0] == 0
    assert run(capsys, "replay", session.id, "--json", "--speed", "0")[0] == 0


# ----------------------------------------------------------------------------- the TUI path


@pytest.fixture
def fake_tui(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Stands in for chatterm.tui.app (no textual): records run_replay's arguments."""
    calls: list[tuple[Any, ...]] = []
    module = types.ModuleType("chatterm.tui.app")
    module.run_replay = lambda *args: calls.append(args)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chatterm.tui.app", module)
    return calls


def test_on_a_terminal_replay_opens_the_tui(
    session: Session, fake_tui: list[tuple[Any, ...]]
) -> None:
    tty = FakeTty()
    args = build_parser().parse_args(["replay", session.id[:12], "--speed", "2.5"])
    assert replay_command(args, stdout=tty, env={}) == 0
    [(settings, replayed, speed)] = fake_tui
    assert isinstance(settings, Settings)
    assert replayed == SessionStore().load(session.id)
    assert speed == 2.5
    assert tty.getvalue() == ""


def test_plain_on_a_terminal_does_not_open_the_tui(
    session: Session, fake_tui: list[tuple[Any, ...]]
) -> None:
    for flag in ("--plain", "--json"):
        tty = FakeTty()
        args = build_parser().parse_args(["replay", session.id, flag, "--speed", "0"])
        assert replay_command(args, stdout=tty, env={}) == 0
        assert "answer 1" in tty.getvalue()
    assert fake_tui == []


# ----------------------------------------------------------------------------- Ctrl+C


async def test_cancelling_stops_the_replay_cleanly(session: Session) -> None:
    started = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        started.set()
        await asyncio.Event().wait()

    out = io.StringIO()
    task = asyncio.create_task(play(session, out, speed=1, sleep=sleep_forever))
    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        await started.wait()
        task.cancel()
        assert await task == 1
    assert out.getvalue().startswith("── you ──\nquestion 0\n")
    assert out.getvalue().endswith("── replay stopped ──\n")


@pytest.mark.parametrize("json_lines", [False, True])
async def test_a_replay_stopped_mid_turn_prints_no_figures_for_it(
    session: Session, json_lines: bool
) -> None:
    started = asyncio.Event()

    async def sleep_forever(seconds: float) -> None:
        started.set()
        await asyncio.Event().wait()

    out = io.StringIO()
    task = asyncio.create_task(
        play(session, out, speed=1, json_lines=json_lines, sleep=sleep_forever)
    )
    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        await started.wait()
        task.cancel()
        assert await task == 1
    if json_lines:
        records = [json.loads(line) for line in out.getvalue().splitlines()]
        assert [record["type"] for record in records] == ["prompt"]
    else:
        assert "cancelled" not in out.getvalue() and "TTFT" not in out.getvalue()
        assert out.getvalue().endswith("── replay stopped ──\n")


def test_ctrl_c_ends_a_replay_with_exit_1_and_no_traceback(
    session: Session, isolated_home: Path
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chatterm", "replay", session.id, "--plain", "--speed", "0.001"],
        stdin=subprocess.DEVNULL,
        preexec_fn=default_sigint,  # Ctrl+C works however the suite was started
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the prompt comes at once, the reply ~2 minutes on
        assert first == "── you ──\n".encode()
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1
    assert b"Traceback" not in err and err == b""
    assert rest.decode().endswith("── replay stopped ──\n")
