"""The command line on sessions that branch (schema version 2): ``sessions fork``,
``ask --regenerate``, the alternatives ``sessions show`` marks and ``sessions export``
folds under their turn, and ``replay --turn N --alternative K``.

Provider traffic goes to the fake server on 127.0.0.1, never the internet.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.main import main
from chatterm.cli.printer import done_record
from chatterm.cli.replay import choose_turn, one_turn_session, replay_command
from chatterm.reply.figures import format_stats
from chatterm.sessions.document import session_to_data
from chatterm.sessions.export import to_markdown
from chatterm.sessions.model import Session, Turn, new_session
from chatterm.sessions.store import SessionStore
from tests.cli.test_cli_ask_sessions import MODEL, ask, done_of, server  # noqa: F401
from tests.cli.test_cli_replay import fake_tui  # noqa: F401
from tests.cli.test_cli_sessions import (
    FakeTty,
    assert_one_line_error,
    assert_terminal_safe,
    make_turn,
    run,
    save,
)
from tests.fake_provider.server import FakeServer, Scenario
from tests.waiting import wait_for

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
    regenerated = make_turn("q2", "new reply", model="anthropic:claude-x")
    regenerated.started = "2026-12-07T12:05:00.000Z"  # after the old reply (not compared)
    session.add(regenerated)
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


# ----------------------------------------------------------------------------- fork


def forked_ids(before: set[str]) -> list[str]:
    return sorted({s.id for s in SessionStore().list()} - before)


def test_fork_copies_the_active_path_into_a_new_session(
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = branched()
    store = save(session)
    original = saved_bytes(store, session)
    code, out, err = run(capsys, "sessions", "fork", session.id[:12])
    assert code == 0 and err == ""
    [new_id] = forked_ids({session.id})
    assert out == f"forked session {session.id} at turn 3 as {new_id}\n"
    assert saved_bytes(store, session) == original  # untouched, byte for byte

    fork = SessionStore().load(new_id)
    assert fork.title == "Arithmetic (fork)"
    assert fork.system == "Be brief."
    assert fork.created != session.created
    assert not fork.branched and len(fork.tree) == 3  # no alternatives
    assert [t.prompt for t in fork.turns] == ["q0", "q1", "q2"]
    for copied, turn in zip(fork.turns, session.turns, strict=True):
        assert (copied.answer, copied.reasoning, copied.model) == (
            turn.answer,
            turn.reasoning,
            turn.model,
        )
        assert (copied.usage, copied.metrics, copied.cost) == (turn.usage, turn.metrics, turn.cost)
        assert copied.timeline == turn.timeline and copied.timeline
        assert copied.started == turn.started and copied.finish_reason == turn.finish_reason
    assert [t.parent for t in fork.tree] == [None, 0, 1]


def test_fork_at_a_turn(capsys: pytest.CaptureFixture[str]) -> None:
    session = branched()
    save(session)
    code, out, err = run(capsys, "sessions", "fork", session.id, "--at-turn", "2")
    assert code == 0 and err == ""
    [new_id] = forked_ids({session.id})
    assert out == f"forked session {session.id} at turn 2 as {new_id}\n"
    fork = SessionStore().load(new_id)
    assert [t.answer for t in fork.turns] == ["zero", "one"]
    # The fork continues on its own: its history is the copied path.
    assert [m.content for m in fork.history()] == ["q0", "zero", "q1", "one"]


@pytest.mark.parametrize("turn", ["0", "-1", "4", "99"])
def test_fork_out_of_range_names_the_valid_range(
    capsys: pytest.CaptureFixture[str], turn: str
) -> None:
    session = branched()
    store = save(session)
    original = saved_bytes(store, session)
    code, out, err = run(capsys, "sessions", "fork", session.id, f"--at-turn={turn}")
    assert code == 2 and out == ""
    assert_one_line_error(err, f"--at-turn {turn} is out of range", "3 turns", "give 1 to 3")
    assert forked_ids({session.id}) == []
    assert saved_bytes(store, session) == original


def test_fork_of_one_turn_and_of_no_turns(capsys: pytest.CaptureFixture[str]) -> None:
    one = new_session(session_id="20261207-120000-one")
    one.add(make_turn())
    empty = new_session(session_id="20261207-120000-empty")
    empty.add(make_turn())
    empty.rewind(0)  # every exchange undone: the tree keeps it
    save(one, empty)
    code, _, err = run(capsys, "sessions", "fork", one.id, "--at-turn", "2")
    assert code == 2
    assert_one_line_error(err, "1 turn on its active path", "(give 1)")
    code, _, err = run(capsys, "sessions", "fork", empty.id)
    assert code == 2
    assert_one_line_error(err, "has no turns on its active path")
    code, _, err = run(capsys, "sessions", "fork", "20261207-nothing")
    assert code == 2
    assert_one_line_error(err, "no session")
    with pytest.raises(SystemExit) as exc:
        main(["sessions", "fork", one.id, "--at-turn", "x"])
    assert exc.value.code == 2
    assert_one_line_error(capsys.readouterr().err, "--at-turn")


def test_fork_uses_the_configured_format_and_untitled(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    (isolated_home / "config.toml").write_text('session_format = "toml"\n')
    session = new_session(session_id=SESSION_ID)  # a JSON file, no title
    turn = make_turn()
    turn.finish_reason = None  # still streaming in another process (or killed)
    session.add(turn)
    store = save(session)
    assert run(capsys, "sessions", "fork", session.id)[0] == 0
    [new_id] = forked_ids({session.id})
    assert (store.folder / f"{new_id}.toml").is_file()
    fork = SessionStore().load(new_id)
    assert fork.title == "untitled (fork)"
    assert fork.turns[0].finish_reason == "interrupted"  # nothing streams into the copy


def test_fork_with_a_broken_config_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    (isolated_home / "config.toml").write_text('session_format = "yaml"\n')
    session = branched()
    save(session)
    code, _, err = run(capsys, "sessions", "fork", session.id)
    assert code == 2
    assert_one_line_error(err, "session_format")
    assert forked_ids({session.id}) == []


def test_fork_output_is_safe_for_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    session = branched()
    session.title = "evil \x1b[2J title"
    save(session)
    code, out, _ = run(capsys, "sessions", "fork", session.id)
    assert code == 0
    assert_terminal_safe(out)
    [new_id] = forked_ids({session.id})
    assert SessionStore().load(new_id).title == "evil \x1b[2J title (fork)"


# ----------------------------------------------------------------------------- ask --regenerate


def answers(*texts: str) -> list[Scenario]:
    return [Scenario(answer=text) for text in texts]


def test_regenerate_asks_the_last_prompt_again_and_keeps_both_replies(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
) -> None:
    server.queue(*answers("First.", "Second.", "Second, again.", "Second, thrice."))
    code, out, _ = ask(capsys, "--save", "--json", "-m", MODEL, "q1")
    assert code == 0
    session_id = done_of(out)["session_id"]
    assert done_of(out)["alternative"] == 1 and done_of(out)["alternatives"] == 1
    assert ask(capsys, "--session", session_id, "q2")[0] == 0

    code, out, err = ask(capsys, "--session", session_id, "--regenerate", "--json")
    assert code == 0 and err == ""
    done = done_of(out)
    assert done["text"] == "Second, again."
    assert (done["session_id"], done["alternative"], done["alternatives"]) == (session_id, 2, 2)
    history = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "First."},
        {"role": "user", "content": "q2"},
    ]
    assert server.requests[2].json["messages"] == history  # the history before it, same prompt
    assert server.requests[2].json["model"] == "test-model"  # the regenerated reply's model

    session = SessionStore().load(session_id)
    assert [t.answer for t in session.turns] == ["First.", "Second, again."]
    assert [t.answer for t in session.tree] == ["First.", "Second.", "Second, again."]
    assert [t.parent for t in session.tree] == [None, 0, 0]
    assert session.turns[-1].prompt == "q2" and session.turns[-1].timeline

    # Plain, on another model: the stderr line says which alternative it is.
    code, out, err = ask(capsys, "--session", session_id, "--regenerate", "-m", "openai:other")
    assert code == 0 and "Second, thrice." in out
    assert err == f"saved as session {session_id} (alternative 3 of 3 at turn 2)\n"
    assert server.requests[3].json["messages"] == history
    assert server.requests[3].json["model"] == "other"
    session = SessionStore().load(session_id)
    assert session.places() == [(1, 1), (3, 3)] and len(session.tree) == 4
    files = [p.name for p in SessionStore().folder.iterdir() if not p.name.startswith(".")]
    assert files == [f"{session_id}.json"]  # the same file

    # A normal prompt after it follows the new reply.
    server.queue(*answers("Third."))
    assert ask(capsys, "--session", session_id, "q3")[0] == 0
    assert server.requests[4].json["messages"][-3:] == [
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "Second, thrice."},
        {"role": "user", "content": "q3"},
    ]


def test_regenerating_the_only_turn(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
) -> None:
    server.queue(*answers("One.", "One, again."))
    session_id = done_of(ask(capsys, "--save", "--json", "-m", MODEL, "only")[1])["session_id"]
    code, out, err = ask(capsys, "--session", session_id, "--regenerate")
    assert code == 0 and "One, again." in out
    assert err == f"saved as session {session_id} (alternative 2 of 2 at turn 1)\n"
    assert server.requests[1].json["messages"] == [{"role": "user", "content": "only"}]
    assert [t.parent for t in SessionStore().load(session_id).tree] == [None, None]


def test_a_prompt_after_an_undo_says_its_alternative_too(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
) -> None:
    session = branched()
    session.rewind(2)  # as the TUI's undo leaves it
    session.tree[1].model = MODEL
    save(session)
    server.queue(*answers("Another."))
    code, out, _ = ask(capsys, "--session", session.id, "--json", "q2 again")
    assert code == 0
    assert (done_of(out)["alternative"], done_of(out)["alternatives"]) == (3, 3)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--regenerate"], ["give --session"]),
        (["--save", "--regenerate"], ["give --session"]),
        (["--session", SESSION_ID, "--regenerate", "new prompt"], ["give no prompt"]),
        (["--session", SESSION_ID, "--regenerate", "-"], ["give no prompt"]),
    ],
)
def test_regenerate_usage_errors(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
    args: list[str],
    words: list[str],
) -> None:
    session = branched()
    store = save(session)
    original = saved_bytes(store, session)
    code, out, err = ask(capsys, *args)
    assert code == 2 and out == ""
    assert_one_line_error(err, "--regenerate", *words)
    assert server.requests == []
    assert saved_bytes(store, session) == original


def test_regenerate_with_no_turns_or_a_bad_model_sends_nothing(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
) -> None:
    empty = new_session(session_id="20261207-120000-empty")
    empty.add(make_turn())
    empty.rewind(0)
    session = branched()
    store = save(empty, session)
    before = {path.name: path.read_bytes() for path in store.folder.iterdir()}
    code, out, err = ask(capsys, "--session", empty.id, "--regenerate")
    assert code == 2 and out == ""
    assert_one_line_error(err, f"session {empty.id} has no turn to regenerate")
    code, out, err = ask(capsys, "--session", session.id, "--regenerate", "-m", "nope:model")
    assert code == 2 and out == ""
    assert_one_line_error(err)
    assert server.requests == []
    assert {path.name: path.read_bytes() for path in store.folder.iterdir()} == before


# ----------------------------------------------------------------------------- replay


def test_replay_plays_the_active_path(capsys: pytest.CaptureFixture[str]) -> None:
    session = branched()
    save(session)
    code, out, err = run(capsys, "replay", session.id, "--plain", "--speed", "0")
    assert code == 0 and err == ""
    assert re.findall(r"── you ──\n(\w+)", out) == ["q0", "q1", "q2"]
    assert "new reply" in out and "old reply" not in out and "edited one" not in out


def test_replay_one_alternative_plain(capsys: pytest.CaptureFixture[str]) -> None:
    session = branched()
    save(session)
    code, out, err = run(
        capsys, "replay", session.id, "--plain", "--speed", "0", "--turn", "3", "--alternative", "1"
    )
    assert code == 0 and err == ""
    old = session.tree[2]
    assert out.startswith("── you ── [1/2]\nq2\n── openai:gpt-x ──\n")
    assert "old reply" in out and "new reply" not in out and "q0" not in out
    assert out.endswith(f"── {format_stats(old.to_reply())} ──\n")

    # The edited prompt at turn 2 is its own alternative; its branch's later turn is not played.
    code, out, _ = run(
        capsys, "replay", session.id, "--plain", "--speed", "0", "--turn", "2", "--alternative", "2"
    )
    assert code == 0
    assert out.startswith("── you ── [2/2]\nq1 edited\n── openai:gpt-y ──\n")
    assert "five" not in out and out.count("── you ──") == 1

    # --turn alone: that turn of the active path.
    code, out, _ = run(capsys, "replay", session.id, "--plain", "--speed", "0", "--turn", "1")
    assert code == 0
    assert out.startswith("── you ──\nq0\n") and out.count("── you ──") == 1


def test_replay_one_alternative_json(capsys: pytest.CaptureFixture[str]) -> None:
    session = branched()
    save(session)
    code, out, err = run(
        capsys, "replay", session.id, "--json", "--speed", "0", "--turn", "3", "--alternative", "1"
    )
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0] == {
        "type": "prompt",
        "turn": 2,
        "model": "openai:gpt-x",
        "text": "q2",
        "alternative": 1,
        "alternatives": 2,
    }
    assert [r["type"] for r in records].count("prompt") == 1
    assert records[-1] == json.loads(json.dumps(done_record(session.tree[2].to_reply())))
    # Without --turn, the prompt records are as before.
    out = run(capsys, "replay", session.id, "--json", "--speed", "0")[1]
    prompts = [json.loads(line) for line in out.splitlines() if '"prompt"' in line]
    assert [sorted(p) for p in prompts] == [["model", "text", "turn", "type"]] * 3


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--turn", "0"], ["--turn 0 is out of range", "give 1 to 3"]),
        (["--turn", "4"], ["--turn 4 is out of range", "3 turns", "give 1 to 3"]),
        (["--turn", "-2"], ["--turn -2 is out of range", "give 1 to 3"]),
        (["--turn", "1", "--alternative", "2"], ["--alternative 2", "1 alternative", "(give 1)"]),
        (["--turn", "3", "--alternative", "3"], ["--alternative 3", "turn 3", "give 1 to 2"]),
        (["--turn", "3", "--alternative", "0"], ["--alternative 0", "give 1 to 2"]),
        (["--alternative", "1"], ["--alternative", "--turn"]),
    ],
)
def test_replay_out_of_range_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], args: list[str], words: list[str]
) -> None:
    session = branched()
    save(session)
    code, out, err = run(capsys, "replay", session.id, "--plain", *args)
    assert code == 2 and out == ""
    assert_one_line_error(err, *words)


def test_replay_one_alternative_in_the_tui(fake_tui: list[tuple[Any, ...]]) -> None:  # noqa: F811
    session = branched()
    save(session)
    args = build_parser().parse_args(["replay", session.id, "--turn", "3", "--alternative", "1"])
    assert replay_command(args, stdout=FakeTty(), env={}) == 0
    [(_, replayed, _)] = fake_tui
    assert isinstance(replayed, Session)
    assert replayed.title == "Arithmetic · turn 3, alternative 1 of 2"
    [turn] = replayed.turns
    assert_same_reply(turn, session.tree[2])
    assert replayed.system == session.system


def assert_same_reply(played: Turn, recorded: Turn) -> None:
    assert (played.prompt, played.answer, played.model) == (
        recorded.prompt,
        recorded.answer,
        recorded.model,
    )
    assert played.timeline == recorded.timeline and played.metrics == recorded.metrics


async def test_the_tui_replay_view_plays_the_one_alternative() -> None:
    from chatterm.config import Settings
    from chatterm.tui.app import ChatApp
    from chatterm.tui.screens.replay import ReplayScreen

    session = branched()
    position, place = choose_turn(session, 2, 2)
    app = ChatApp(
        Settings(),
        "demo",
        env={},
        replay=one_turn_session(session, position, place),
        replay_speed=0,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await wait_for(pilot, lambda: screen.done)
        [view] = screen.turns
        assert view.answer.text == "edited one"
        assert screen.title == "Arithmetic · turn 2, alternative 2 of 2"
        await pilot.press("escape")
