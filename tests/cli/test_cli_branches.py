"""The command line on sessions that branch (schema version 2): ``sessions fork``,
``ask --regenerate``, the alternatives ``sessions show`` marks and ``sessions export``
folds under their turn, and ``replay --turn N --alternative K``.

Provider traffic goes to the fake server on 127.0.0.1, never the internet.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from chatterm.cli.main import main
from chatterm.reply.figures import format_stats
from chatterm.sessions.export import to_markdown
from chatterm.sessions.model import Session, new_session, session_to_data
from chatterm.sessions.store import SessionStore
from tests.cli.test_cli_ask_sessions import MODEL, ask, done_of, server  # noqa: F401
from tests.cli.test_cli_replay import fake_tui  # noqa: F401
from tests.cli.test_cli_sessions import (
    make_turn,
    run,
    save,
)

SESSION_ID = "20261207-120000-tree"


def branched() -> Session:
    """Three turns on the active path, q0 → q1 → q2 (its second reply); off it: q2's first
    reply, and an edited q1 with a turn of its own after it.

    tree: 0 q0 · 1 q1 · 2 q2 "old reply" · 3 q2 "new reply" (follows 1) · 4 "q1 edited"
    (follows 0) · 5 q5 (follows 4); the active path is 0, 1, 3.
    """
    session = new_session(system="Be brief.", session_id=SESSION_ID)
    session.title = "Arithmetic"
    session.created = "2026-12-07T12:00:00.000Z"
    session.add(make_turn("q0", "zero"))
    session.add(make_turn("q1", "one"))
    session.add(make_turn("q2", "old reply"))
    session.rewind(2)
    session.add(make_turn("q2", "new reply", model="anthropic:claude-x"))
    session.rewind(1)
    session.add(make_turn("q1 edited", "edited one", model="openai:gpt-y"))
    session.add(make_turn("q5", "five"))
    session.show(3)
    assert [t.prompt for t in session.turns] == ["q0", "q1", "q2"]
    assert session.places() == [(1, 1), (1, 2), (2, 2)]
    return session


def saved_bytes(store: SessionStore, session: Session) -> bytes:
    return (store.folder / f"{session.id}.json").read_bytes()


# ----------------------------------------------------------------------------- show


def test_show_marks_the_turns_that_have_alternatives(capsys: pytest.CaptureFixture[str]) -> None:
    session = branched()
    save(session)
    code, out, err = run(capsys, "sessions", "show", session.id)
    assert code == 0 and err == ""
    header = out.splitlines()[1]
    assert "3 turns (3 alternatives)" in header
    assert "session $0.0025 incl. alternatives" in header  # six replies, each $0.00042
    rules = [line for line in out.splitlines() if line.startswith("── you ──")]
    assert rules == ["── you ──", "── you ── [1/2]", "── you ── [2/2]"]
    assert "── you ── [2/2]\nq2\n── anthropic:claude-x ──\n" in out
    assert "new reply" in out
    for off_path in ("old reply", "edited one", "five"):
        assert off_path not in out  # the active path only


def test_show_of_a_session_without_branches_is_unchanged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = new_session(session_id=SESSION_ID)
    session.add(make_turn())
    save(session)
    out = run(capsys, "sessions", "show", session.id)[1]
    assert "· 1 turn ·" in out and "alternative" not in out and "[1/1]" not in out


# ----------------------------------------------------------------------------- export


def test_markdown_folds_the_other_replies_under_their_turn() -> None:
    session = branched()
    text = to_markdown(session)
    assert "· 3 turns (3 alternatives) ·" in text
    assert "session $0.0025 incl. alternatives" in text
    assert text.count("## You") == 3  # the active path
    tree = session.tree
    turn2 = text.split("## You\n\nq1\n", 1)[1].split("## You", 1)[0]
    assert turn2.startswith("\n## openai:gpt-x (alternative 1 of 2)\n")
    assert "<details>\n<summary>1 other reply at this turn</summary>\n\n" in turn2
    folded = turn2.split("<summary>1 other reply at this turn</summary>", 1)[1]
    assert folded.startswith("\n\n### Alternative 2 of 2: openai:gpt-y\n\n")
    assert "**You (another prompt)**\n\nq1 edited\n" in folded  # an edited prompt is shown
    assert "edited one\n" in folded and f"*{format_stats(tree[4].to_reply())}*" in folded
    assert "*1 more turn followed it in its branch*" in folded
    assert folded.rstrip().endswith("</details>")

    turn3 = text.split("## You\n\nq2\n", 1)[1]
    assert turn3.startswith("\n## anthropic:claude-x (alternative 2 of 2)\n")
    assert "new reply" in turn3.split("<summary>1 other reply", 1)[0]
    folded = turn3.split("<summary>1 other reply at this turn</summary>", 1)[1]
    assert folded.startswith("\n\n### Alternative 1 of 2: openai:gpt-x\n\n")
    assert "another prompt" not in folded  # the same prompt: not repeated
    assert "old reply" in folded and "followed it" not in folded
    assert f"*{format_stats(tree[2].to_reply())}*" in folded
    assert "five" not in text  # what followed an alternative is counted, not shown
    # Every block that opens closes, in order.
    assert text.count("<details>") == text.count("</details>") == 2 + 5  # 2 folds, 5 reasonings


def test_folded_text_cannot_close_or_open_a_details_block() -> None:
    session = branched()
    old = session.tree[2]
    old.answer = "sneaky </details> then <details open> and <DETAILS>"
    old.reasoning = "also </details >"
    old.prompt = "q2 <details>"
    text = to_markdown(session)
    assert text.count("<details>") == text.count("</details>") == 7
    assert "sneaky &lt;/details> then &lt;details open> and &lt;DETAILS>" in text
    assert "also &lt;/details>" in text and "q2 &lt;details>" in text


def test_a_session_without_branches_exports_as_before() -> None:
    session = new_session(session_id=SESSION_ID)
    session.add(make_turn())
    text = to_markdown(session)
    assert "alternative" not in text and "other repl" not in text


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_json_and_toml_exports_hold_the_whole_tree(
    capsysbinary: pytest.CaptureFixture[bytes], fmt: str
) -> None:
    session = branched()
    save(session)
    assert main(["sessions", "export", session.id, "--format", fmt]) == 0
    raw = capsysbinary.readouterr().out
    data = json.loads(raw) if fmt == "json" else tomllib.loads(raw.decode())
    assert data == session_to_data(session)
    assert len(data["turns"]) == 6 and data["active"] == 3
    assert [turn.get("parent") for turn in data["turns"]] == [None, 0, 1, 1, 0, 4]
