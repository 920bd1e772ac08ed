"""Replaying a compared turn: replies begun together (they share their start instant) play
together, on one clock; ``replay --plain`` prints each whole under its model, in the order
written, then the comparison table, and ``--json`` tags each reply's records with its model
and ends with a ``compare`` record. A reply regenerated later is not part of it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatterm.sessions.model import Session, new_session
from chatterm.sessions.replay import replay_turns
from tests.cli.test_cli_sessions import make_turn, run, save

SESSION_ID = "20261207-130000-cmpr"


def compared() -> Session:
    """q0, then q1 answered by two models at once (begun together) and, later, by a third
    (regenerated); the active path shows the second model's reply."""
    session = new_session(session_id=SESSION_ID)
    session.title = "Compared"
    session.add(make_turn("q0", "zero"))
    session.add(make_turn("q1", "from gpt", model="openai:gpt-x"))
    session.rewind(1)
    session.add(make_turn("q1", "from claude", model="anthropic:claude-x"))
    session.rewind(1)
    later = make_turn("q1", "regenerated", model="openai:gpt-y")
    later.started = "2026-11-21T10:05:00.000Z"
    session.add(later)
    session.show(2)
    return session


def test_replies_begun_together_are_told_from_a_regenerated_one() -> None:
    session = compared()
    assert session.begun_together(0) == [0]
    assert session.begun_together(1) == [1, 2]
    session.show(3)
    assert session.begun_together(1) == [3]


async def test_replay_turns_gives_the_columns_of_a_compared_turn() -> None:
    session = compared()
    played = [turn async for turn in replay_turns(session, speed=0)]
    assert [len(turn.columns) for turn in played] == [1, 2]
    second = played[1]
    assert second.turn.answer == "from claude"
    assert [column.turn.answer for column in second.columns] == ["from gpt", "from claude"]


def test_replay_plain_prints_each_reply_then_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    save(compared())
    code, out, err = run(capsys, "replay", SESSION_ID, "--plain", "--speed", "0")
    assert code == 0 and err == ""
    second = out.split("── you ──\nq1\n", 1)[1]
    gpt, claude = second.index("══ openai:gpt-x ══"), second.index("══ anthropic:claude-x ══")
    assert gpt < second.index("from gpt") < claude < second.index("from claude")
    assert "regenerated" not in out
    table = second[second.index("from claude") :]
    assert "model" in table and "TTFT" in table and "openai:gpt-x" in table


def test_replay_json_tags_each_reply_and_ends_with_compare(
    capsys: pytest.CaptureFixture[str],
) -> None:
    save(compared())
    code, out, _ = run(capsys, "replay", SESSION_ID, "--json", "--speed", "0")
    assert code == 0
    records: list[dict[str, Any]] = [json.loads(line) for line in out.splitlines()]
    prompts = [r for r in records if r["type"] == "prompt"]
    assert prompts[1]["models"] == ["openai:gpt-x", "anthropic:claude-x"]
    dones = [r for r in records if r["type"] == "done"]
    assert [r.get("model") for r in dones[1:]] == ["openai:gpt-x", "anthropic:claude-x"]
    assert records[-1]["type"] == "compare"
    assert [r["model"] for r in records[-1]["results"]] == ["openai:gpt-x", "anthropic:claude-x"]


def test_replay_one_alternative_of_a_compared_turn_plays_it_alone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    save(compared())
    code, out, _ = run(
        capsys, "replay", SESSION_ID, "--plain", "--speed", "0", "--turn", "2", "--alternative", "1"
    )
    assert code == 0
    assert out.startswith("── you ── [1/3]\nq1\n── openai:gpt-x ──\n")
    assert "from gpt" in out and "from claude" not in out and "══" not in out
