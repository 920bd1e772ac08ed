"""Sessions as trees (schema version 2): branch operations, the codec round trip of any
tree in both formats, and version-1 files (committed as an older chatterm wrote them)
opening unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from session_factory import full_turn

from chatterm.pricing import SHARED_COST
from chatterm.sessions.codec import SESSION_FORMATS, SessionFormat, decode, encode
from chatterm.sessions.document import session_to_data
from chatterm.sessions.index import INDEX_NAME
from chatterm.sessions.model import Session, SessionFormatError, Turn, new_session
from chatterm.sessions.store import SessionStore

VERSION1 = Path(__file__).parent / "version1"
V1_ID = "20261121-100000-version1"


def prompts(turns: list[Turn]) -> list[str]:
    return [turn.prompt for turn in turns]


def chain(*names: str) -> Session:
    session = new_session(session_id="20261207-100000-tree")
    for name in names:
        session.add(full_turn(name, f"answer to {name}"))
    return session


# -- the branch operations ----------------------------------------------------------------


def test_add_follows_the_active_path_and_rewind_keeps_everything() -> None:
    session = chain("a", "b", "c")
    assert prompts(session.turns) == ["a", "b", "c"] and not session.branched
    assert [turn.parent for turn in session.tree] == [None, 0, 1]
    session.rewind(2)  # undo the last exchange
    assert prompts(session.turns) == ["a", "b"] and session.branched
    assert prompts(session.tree) == ["a", "b", "c"]  # kept
    session.add(full_turn("c2", "x"))
    assert prompts(session.turns) == ["a", "b", "c2"]
    assert session.alternatives(2) == [2, 3]  # c and c2 both follow b
    assert session.history()[-2].content == "c2"


def test_regenerating_a_middle_turn_and_flipping_back_restores_the_later_turns() -> None:
    session = chain("a", "b", "c", "d")
    session.rewind(1)  # regenerate b: the new reply follows a
    session.add(full_turn("b", "another answer"))
    assert prompts(session.turns) == ["a", "b"]
    assert [t.answer for t in session.turns] == ["answer to a", "another answer"]
    old_b, new_b = session.alternatives(1)
    session.show(old_b)  # flip back: the branch below it comes back whole
    assert prompts(session.turns) == ["a", "b", "c", "d"]
    assert session.turns[1].answer == "answer to b"
    session.show(new_b)
    assert prompts(session.turns) == ["a", "b"]
    assert [m.content for m in session.history()] == ["a", "answer to a", "b", "another answer"]


def test_show_follows_the_branch_written_last() -> None:
    session = chain("a", "b")
    session.rewind(1)
    session.add(full_turn("b2", "x"))
    session.add(full_turn("c2", "y"))
    session.show(0)  # the first turn: below it, b2 was written after b
    assert prompts(session.turns) == ["a", "b2", "c2"]


def test_rewinding_everything_leaves_an_empty_path_that_saves(tmp_path: Path) -> None:
    session = chain("a")
    session.rewind(0)
    assert session.turns == [] and prompts(session.tree) == ["a"]
    for fmt in SESSION_FORMATS:
        again = decode(encode(session, fmt), fmt)
        assert again.turns == [] and prompts(again.tree) == ["a"]
        assert session_to_data(again)["active"] == -1


def test_costs_count_every_reply_that_was_paid_for() -> None:
    session = chain("a", "b")
    session.rewind(1)
    session.add(full_turn("b", "again"))
    costs = session.costs()
    assert len(costs) == 3 and costs.alternatives == 1


def test_a_plain_list_append_still_lands_in_the_tree() -> None:
    session = chain("a")
    session.turns.append(full_turn("b", "x"))  # as code that knows only lists does
    again = decode(encode(session, "json"), "json")
    assert prompts(again.tree) == ["a", "b"] and again.tree[1].parent == 0
    assert session.tree[1].parent == 0 and not session.branched


# -- the codec ----------------------------------------------------------------------------


@st.composite
def trees(draw: st.DrawFn) -> Session:
    """A session built by any sequence of adds, rewinds and flips."""
    session = new_session(session_id="20261207-100000-hypo")
    texts = st.text(max_size=12)
    for _ in range(draw(st.integers(0, 12))):
        action = draw(st.sampled_from(["add", "add", "rewind", "show"]))
        if action == "add" or not session.tree:
            session.add(full_turn(draw(texts), draw(texts), model=draw(st.sampled_from("xyz"))))
        elif action == "rewind":
            session.rewind(draw(st.integers(0, len(session.turns))))
        else:
            session.show(draw(st.integers(0, len(session.tree) - 1)))
    return session


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session=trees(), fmt=st.sampled_from(SESSION_FORMATS))
def test_any_tree_round_trips(session: Session, fmt: SessionFormat) -> None:
    raw = encode(session, fmt)
    again = decode(raw, fmt)
    assert again.tree == session.tree
    assert again.path == session.path and again.turns == session.turns
    assert [t.parent for t in again.tree] == [t.parent for t in session.tree]
    assert encode(again, fmt) == raw  # read and written back: the same bytes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"active": 5}, "active must be"),
        ({"active": "0"}, "active must be"),
        ({"turns.1.parent": 1}, "parent must be an earlier"),
        ({"turns.0.parent": 1}, "parent must be an earlier"),
        ({"turns.1.parent": -1}, "parent must be a turn's index"),
        ({"turns.1.parent": True}, "parent must be a turn's index"),
    ],
)
def test_a_damaged_tree_is_named_not_guessed(change: dict[str, object], message: str) -> None:
    data = json.loads(encode(chain("a", "b"), "json"))
    for key, value in change.items():
        if key.startswith("turns."):
            _, index, field = key.split(".")
            data["turns"][int(index)][field] = value
        else:
            data[key] = value
    with pytest.raises(SessionFormatError, match=message):
        decode(json.dumps(data).encode(), "json")


# -- version 1 ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_a_version1_file_is_one_branch(fmt: SessionFormat) -> None:
    raw = (VERSION1 / f"{V1_ID}.{fmt}").read_bytes()
    session = decode(raw, fmt)
    assert session.version == 1 and not session.branched
    assert prompts(session.turns) == ["question 0", "question 1", "question 2"]
    assert [t.parent for t in session.tree] == [None, 0, 1]
    written = json.loads(encode(session, "json"))
    assert written["chatterm_session"] == 2 and written["active"] == 2
    assert [t.get("parent") for t in written["turns"]] == [None, 0, 1]


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_a_version1_file_is_opened_listed_and_shown_without_being_rewritten(
    fmt: SessionFormat, tmp_path: Path
) -> None:
    path = tmp_path / f"{V1_ID}.{fmt}"
    shutil.copyfile(VERSION1 / path.name, path)
    before = path.read_bytes()
    store = SessionStore(tmp_path)
    session = store.load(V1_ID)
    [listed] = store.list()
    assert (listed.turns, listed.alternatives, listed.problem) == (3, 0, None)
    assert prompts(session.turns) == ["question 0", "question 1", "question 2"]
    assert path.read_bytes() == before
    session.rewind(2)  # a change: now it is written, as version 2, every turn kept
    session.add(full_turn("question 2", "regenerated"))
    store.save(session)
    saved = decode(path.read_bytes(), fmt)
    assert saved.version == 2 and len(saved.tree) == 4
    assert [t.answer for t in saved.turns][-1] == "regenerated"
    assert saved.alternatives(2) == [2, 3]
    assert (tmp_path / INDEX_NAME).exists()


def test_a_prompt_asked_again_after_a_failure_is_sent_once() -> None:
    """Regenerating a retried reply, or retrying by typing the same prompt: the failed
    attempt before it is not sent, so the model never sees the prompt twice in a row."""
    session = chain("a")
    failed = full_turn("b", "")
    failed.finish_reason = "error"
    session.add(failed)
    assert [m.content for m in session.history("b")] == ["a", "answer to a"]
    assert [m.content for m in session.history("c")] == ["a", "answer to a", "b"]
    session.add(full_turn("b", "retried"))
    session.rewind(2)  # regenerate the retried reply: it asks "b" again
    assert [m.content for m in session.history("b")] == ["a", "answer to a"]


def test_undone_names_what_a_redo_brings_back() -> None:
    session = chain("a", "b")
    assert session.undone() is None  # nothing follows the last turn
    session.rewind(1)
    assert session.undone() == 1
    session.rewind(0)
    assert session.undone() == 0  # the first turn, under an empty path
    session.show(session.undone() or 0)
    assert prompts(session.turns) == ["a", "b"]


def test_the_markdown_export_keeps_undone_exchanges() -> None:
    from chatterm.sessions.export import to_markdown

    session = chain("a", "b", "c")
    session.rewind(1)  # b and c undone
    text = to_markdown(session)
    assert "1 undone exchange after the last turn" in text
    assert "answer to b" in text and "1 more turn followed it in its branch" in text
    session.rewind(0)
    text = to_markdown(session)
    assert "1 undone exchange (every exchange was undone)" in text and "answer to a" in text


# -- version 3 ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_a_file_says_version_3_only_when_a_cost_is_shared_by_choices(fmt: SessionFormat) -> None:
    session = new_session(session_id="20261207-140000-vers")
    session.add(full_turn("q", "choice 1"))
    assert json.loads(encode(session, "json"))["chatterm_session"] == 2
    second = full_turn("q", "choice 2")
    second.cost = SHARED_COST
    session.rewind(0)
    session.add(second)
    raw = encode(session, fmt)
    if fmt == "json":
        assert json.loads(raw)["chatterm_session"] == 3
    back = decode(raw, fmt)
    assert back.version == 3 and back.tree[1].cost == SHARED_COST
