"""A system prompt switched mid-chat (a role chosen): recorded from that turn on, sent with
the turns after it, kept through the codec in both formats (schema version 5 only when a
turn holds one), and files of versions 2, 3 and 4 still read as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from session_factory import full_turn

from chatterm.events import Usage
from chatterm.pricing import SHARED_COST
from chatterm.reply.accumulate import Reply
from chatterm.reply.metrics import Metrics
from chatterm.sessions.codec import SESSION_FORMATS, SessionFormat, decode, encode
from chatterm.sessions.export import to_markdown
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import SCHEMA_VERSION, Session, new_session
from chatterm.sessions.store import SessionStore

SESSION_ID = "20261207-150000-role"


def recorded(keeper: SessionKeeper, prompt: str, model: str = "demo") -> None:
    """One exchange through the keeper, as the TUI and ``ask`` record it."""
    recorder = keeper.begin_turn(prompt, model)
    answer = f"answer to {prompt}"
    recorder.done(Reply(model, "", answer, "stop", Usage(), Metrics()))


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


def test_a_switch_mid_chat_is_recorded_from_that_turn_on(store: SessionStore) -> None:
    keeper = SessionKeeper(store, system="Be brief.")
    assert keeper.system == "Be brief."
    recorded(keeper, "one")
    keeper.switch_system("You review code.")
    assert keeper.system == "You review code."  # what the next turn is sent with
    recorded(keeper, "two")
    recorded(keeper, "three")
    keeper.switch_system(None)  # no system prompt at all
    recorded(keeper, "four")
    keeper.close()

    session = keeper.session
    assert session is not None
    assert session.system == "Be brief."
    # Only a turn sent with another system prompt than the session's holds its own.
    assert [turn.system for turn in session.turns] == [
        None,
        "You review code.",
        "You review code.",
        "",
    ]
    assert [session.system_of(turn) for turn in session.turns] == [
        "Be brief.",
        "You review code.",
        "You review code.",
        None,
    ]
    assert session.system_switches() == {1: "You review code.", 3: None}
    assert session.system_in_force() is None

    # Opened again, it goes on with the system prompt its active path ends with.
    reopened = SessionKeeper(store, system="the config's")
    back = reopened.open(session.id)
    assert back == session and back.version == 5
    assert reopened.system is None
    # An earlier branch continues with the one in force there.
    back.rewind(3)
    assert back.system_in_force() == "You review code."


def test_a_role_chosen_before_the_first_turn_is_the_sessions_own(store: SessionStore) -> None:
    keeper = SessionKeeper(store, system="Be brief.")
    keeper.switch_system("You explain.")
    recorded(keeper, "one")
    recorded(keeper, "two")
    keeper.close()
    session = keeper.session
    assert session is not None
    assert session.system == "You explain."
    assert [turn.system for turn in session.turns] == [None, None]
    assert json.loads(store.path_for(session).read_bytes())["chatterm_session"] == 2
    # A new chat starts on the default again.
    keeper.new()
    assert keeper.system == "Be brief."


def test_a_regenerated_reply_after_a_switch_is_sent_with_the_new_system(
    store: SessionStore,
) -> None:
    keeper = SessionKeeper(store, system="A")
    recorded(keeper, "one")
    recorded(keeper, "two")
    keeper.switch_system("B")
    session = keeper.session
    assert session is not None
    session.rewind(1)  # regenerating "two": the new reply follows "one"
    recorded(keeper, "two")
    keeper.close()
    assert [session.system_of(turn) for turn in session.tree] == ["A", "A", "B"]
    assert session.alternatives(1) == [1, 2]


def switched() -> Session:
    session = new_session(system="Be brief.", session_id=SESSION_ID)
    session.title = "Roles"
    session.add(full_turn("one", "answer one"))
    second = full_turn("two", "answer two")
    second.system = "You review code.\nQuote the lines."
    session.add(second)
    third = full_turn("three", "answer three")
    third.system = ""
    session.add(third)
    return session


@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_the_round_trip_keeps_each_turns_system_prompt(fmt: SessionFormat) -> None:
    session = switched()
    raw = encode(session, fmt)
    back = decode(raw, fmt)
    assert back == session
    assert back.version == 5 < SCHEMA_VERSION  # 6 holds attachments
    assert [turn.system for turn in back.tree] == [None, "You review code.\nQuote the lines.", ""]
    if fmt == "json":
        data = json.loads(raw)
        assert data["chatterm_session"] == 5
        assert "system" not in data["turns"][0]  # the session's own: not repeated
        assert data["turns"][1]["system"] == "You review code.\nQuote the lines."
        assert data["turns"][2]["system"] == ""
    # Saved again unchanged: the same bytes.
    assert encode(back, fmt) == raw


def test_a_file_says_version_5_only_when_a_turn_holds_its_own_system_prompt() -> None:
    session = new_session(system="Be brief.", session_id=SESSION_ID)
    session.add(full_turn("one"))
    assert json.loads(encode(session, "json"))["chatterm_session"] == 2
    shared = full_turn("one", "choice 2")
    shared.cost = SHARED_COST
    session.rewind(0)
    session.add(shared)
    assert json.loads(encode(session, "json"))["chatterm_session"] == 3
    summary = full_turn("summarize", "the summary")
    summary.compacts = True
    session.add(summary)
    assert json.loads(encode(session, "json"))["chatterm_session"] == 4
    switched_turn = full_turn("two")
    switched_turn.system = "You explain."
    session.add(switched_turn)
    assert json.loads(encode(session, "json"))["chatterm_session"] == 5


def test_a_history_is_sent_after_the_system_prompt_in_force(store: SessionStore) -> None:
    """The history is the same messages whatever the system prompt; what changes with a
    switch is the one system prompt sent with them."""
    keeper = SessionKeeper(store, system="A")
    recorded(keeper, "one")
    keeper.switch_system("B")
    assert [m.content for m in keeper.history("two")] == ["one", "answer to one"]
    assert keeper.system == "B"
    keeper.close()


# -- older files ---------------------------------------------------------------------------

VERSION_2 = """{
 "chatterm_session": 2,
 "id": "20261121-100000-vtwo",
 "title": "Two",
 "created": "2026-11-21T10:00:00.000Z",
 "updated": "2026-11-21T10:00:01.000Z",
 "system": "Be brief.",
 "active": 1,
 "turns": [
  {"prompt": "q1", "model": "demo", "started": "2026-11-21T10:00:00.000Z",
   "finish_reason": "stop", "reasoning": "", "answer": "a1", "usage": {}, "metrics": {},
   "timeline": []},
  {"prompt": "q2", "model": "demo", "started": "2026-11-21T10:00:00.500Z", "parent": 0,
   "finish_reason": "stop", "reasoning": "", "answer": "a2", "usage": {}, "metrics": {},
   "timeline": []}
 ],
 "end": {"turns": 2}
}
"""

VERSION_3 = """chatterm_session = 3
id = "20261121-100000-vthree"
title = "Three"
created = "2026-11-21T10:00:00.000Z"
updated = "2026-11-21T10:00:01.000Z"
system = "Be brief."
active = 0

[[turns]]
prompt = "q"
model = "demo"
started = "2026-11-21T10:00:00.000Z"
finish_reason = "stop"
answer = "choice 1"
timeline = []

[[turns]]
prompt = "q"
model = "demo"
started = "2026-11-21T10:00:00.000Z"
finish_reason = "stop"
answer = "choice 2"
timeline = []

[turns.cost]
usd = 0
source = "shared"

[end]
turns = 2
"""

VERSION_4 = (
    VERSION_2.replace('"chatterm_session": 2', '"chatterm_session": 4')
    .replace("vtwo", "vfour")
    .replace('"parent": 0,', '"parent": 0, "compacts": true,')
)


@pytest.mark.parametrize(
    ("name", "text", "version"),
    [
        ("20261121-100000-vtwo.json", VERSION_2, 2),
        ("20261121-100000-vthree.toml", VERSION_3, 3),
        ("20261121-100000-vfour.json", VERSION_4, 4),
    ],
    ids=["version 2", "version 3", "version 4"],
)
def test_version_2_and_3_files_are_read_with_the_sessions_system_prompt(
    store: SessionStore, name: str, text: str, version: int
) -> None:
    store.folder.mkdir(parents=True)
    path = store.folder / name
    path.write_text(text, encoding="utf-8")
    keeper = SessionKeeper(store, system="the config's")
    session = keeper.open(name.partition(".")[0])
    assert session.version == version
    assert [turn.compacts for turn in session.tree][-1] is (version == 4)
    assert all(turn.system is None for turn in session.tree)
    assert [session.system_of(turn) for turn in session.turns] == ["Be brief."] * len(session.turns)
    assert session.system_switches() == {}
    assert keeper.system == "Be brief."
    # Opening it changes nothing; continuing it with the same system prompt keeps its version.
    assert path.read_text(encoding="utf-8") == text
    recorded(keeper, "more")
    keeper.close()
    assert decode(path.read_bytes(), "json" if name.endswith("json") else "toml").version == (
        version
    )


def test_markdown_says_where_the_system_prompt_changed() -> None:
    text = to_markdown(switched())
    assert text.index("**System prompt**\n\n> Be brief.") < text.index("## You\n\none")
    switch = text.index("**System prompt from here on**\n\n> You review code.\n> Quote the lines.")
    assert text.index("answer one") < switch < text.index("## You\n\ntwo")
    none = text.index("**System prompt from here on:** none")
    assert text.index("answer two") < none < text.index("## You\n\nthree")
    assert text.count("System prompt") == 3
