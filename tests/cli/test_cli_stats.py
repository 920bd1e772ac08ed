"""``chatterm stats``: spend and speed per model, as a table and as JSON Lines."""

from __future__ import annotations

import argparse
import io
import json
from datetime import date

import pytest

from chatterm.cli.main import main
from chatterm.cli.stats import stats_command
from chatterm.events import Usage
from chatterm.pricing import Cost
from chatterm.reply.metrics import Metrics
from chatterm.sessions.model import Turn, new_session
from chatterm.sessions.store import SessionStore, sessions_dir
from tests.cli.test_cli_sessions import HOSTILE, assert_one_line_error, assert_terminal_safe


def turn(
    model: str, started: str, tokens: tuple[int, int], cost: float | None, ttft: float | None,
    speed: float | None,
) -> Turn:  # fmt: skip
    return Turn(
        prompt="q",
        model=model,
        started=started,
        answer="a",
        finish_reason="stop",
        usage=Usage(input_tokens=tokens[0], output_tokens=tokens[1]),
        metrics=Metrics(ttft_ms=ttft, tokens_per_s=speed),
        cost=Cost(cost, "price_table" if cost is not None else "unknown"),
    )


GPT, CLAUDE = "openai:gpt-5-mini", "anthropic:claude-sonnet-4-5"


@pytest.fixture
def saved() -> SessionStore:
    """Two sessions, one with an alternative: five replies, worked out by hand below."""
    store = SessionStore()
    first = new_session(session_id="20261120-100000-aaaa")
    first.turns += [
        turn(GPT, "2026-11-20T10:00:00.000Z", (100, 50), 0.01, 200.0, 40.0),
        turn(GPT, "2026-11-20T11:00:00.000Z", (200, 100), 0.02, 400.0, 60.0),
    ]
    first.rewind(1)  # the second reply is regenerated: both count
    first.add(turn(GPT, "2026-11-21T09:00:00.000Z", (300, 150), None, 600.0, None))
    store.save(first)
    second = new_session(session_id="20261121-120000-bbbb")
    second.turns += [
        turn(CLAUDE, "2026-11-21T12:00:00.000Z", (1000, 500), 0.5, 1000.0, 80.0),
        turn(CLAUDE, "2026-11-22T12:00:00.000Z", (10, 5), 0.25, None, 100.0),
    ]
    store.save(second)
    return store


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["stats", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("saved")
def test_the_table_per_model_and_total(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split("  ")[0] == "MODEL"
    assert lines[0].split()[1:] == [
        "REPLIES",
        "TOKENS",
        "IN",
        "TOKENS",
        "OUT",
        "COST",
        "TTFT",
        "TOKENS/S",
    ]
    assert lines[1].split() == [CLAUDE, "2", "1,010", "505", "$0.750", "1.0s", "90.0"]
    assert lines[2].split() == [
        GPT,
        "3",
        "600",
        "300",
        "$0.030",
        "+",
        "1",
        "unknown",
        "400ms",
        "50.0",
    ]
    assert lines[3].split() == [
        "total",
        "5",
        "1,610",
        "805",
        "$0.780",
        "+",
        "1",
        "unknown",
        "500ms",
        "70.0",
    ]
    assert "medians" in lines[4]


@pytest.mark.usefixtures("saved")
def test_json_lines_one_record_per_model_then_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--json")
    assert code == 0
    claude, gpt, total = map(json.loads, out.splitlines())
    assert claude == {
        "type": "model", "model": CLAUDE, "replies": 2, "input_tokens": 1010,
        "output_tokens": 505, "cost_usd": 0.75, "cost_unknown": 0, "median_ttft_ms": 1000.0,
        "median_tokens_per_s": 90.0,
    }  # fmt: skip
    assert gpt["cost_usd"] == pytest.approx(0.03) and gpt["cost_unknown"] == 1
    assert gpt["median_tokens_per_s"] == 50.0
    assert total["type"] == "total" and "model" not in total
    assert (total["replies"], total["models"], total["since"]) == (5, 2, None)
    assert total["cost_usd"] == pytest.approx(0.78) and total["median_ttft_ms"] == 500.0


@pytest.mark.usefixtures("saved")
def test_since_a_day_in_local_time(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC0")
    time.tzset()
    try:
        code, out, _ = run(capsys, "--since", "2026-11-21", "--json")
        records = list(map(json.loads, out.splitlines()))
        assert code == 0
        assert [(r.get("model"), r["replies"]) for r in records] == [
            (CLAUDE, 2), (GPT, 1), (None, 3)
        ]  # fmt: skip
        assert records[-1]["since"] == "2026-11-21"
        assert records[1]["cost_usd"] is None  # its one reply's cost is unknown: not $0
        monkeypatch.setenv(
            "TZ", "XYZ-12"
        )  # twelve hours east: 10:00Z and 11:00Z are the 20th's 22:00, 23:00
        time.tzset()
        out = run(capsys, "--since", "2026-11-21")[1]
        assert out.splitlines()[2].split()[:2] == [GPT, "1"]
        monkeypatch.setenv("TZ", "XYZ-14")  # fourteen: 10:00Z on the 20th is the 21st
        time.tzset()
        out = run(capsys, "--since", "2026-11-21")[1]
        assert out.splitlines()[2].split()[:2] == [GPT, "3"]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_since_a_number_of_days(saved: SessionStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC0")
    time.tzset()
    try:
        out = io.StringIO()
        args = argparse.Namespace(since="2d", json=True)
        assert stats_command(args, stdout=out, store=saved, today=date(2026, 11, 22)) == 0
        total = json.loads(out.getvalue().splitlines()[-1])
        assert total["since"] == "2026-11-21" and total["replies"] == 3  # today and yesterday
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("bad", ["yesterday", "2026-02-30", "0d", "11/21/2026", "\x1b[2J"])
def test_a_bad_since_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], bad: str) -> None:
    code, out, err = run(capsys, "--since", bad)
    assert code == 2 and out == ""
    assert_one_line_error(err, "--since takes a day (YYYY-MM-DD) or a number of days (7d)")
    assert_terminal_safe(err)


def test_no_replies_is_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys) == (0, "no replies in the saved sessions\n", "")
    code, out, _ = run(capsys, "--json")
    (total,) = map(json.loads, out.splitlines())
    assert total["replies"] == 0 and total["cost_usd"] == 0.0 and total["models"] == 0


@pytest.mark.usefixtures("saved")
def test_nothing_since_a_later_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(capsys, "--since", "2030-01-01")[1]
        == "no replies since 2030-01-01 in the saved sessions\n"
    )


def test_a_model_name_is_data(capsys: pytest.CaptureFixture[str]) -> None:
    session = new_session(session_id="20261121-120000-cccc")
    session.turns.append(turn(HOSTILE, "2026-11-21T12:00:00.000Z", (1, 1), None, None, None))
    SessionStore().save(session)
    code, out, _ = run(capsys)
    assert code == 0 and "[bold red]loud" in out
    assert_terminal_safe(out)
    assert "unknown" in out.splitlines()[1]
    record = json.loads(run(capsys, "--json")[1].splitlines()[0])
    assert record["model"] == HOSTILE and record["cost_usd"] is None


@pytest.mark.usefixtures("saved")
def test_unreadable_files_are_counted_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    (sessions_dir() / "20261121-000000-dddd.json").write_text("{")
    code, out, err = run(capsys)
    assert code == 0 and out.splitlines()[-2].split()[:2] == ["total", "5"]
    assert_one_line_error(err, "1 session file could not be read")
