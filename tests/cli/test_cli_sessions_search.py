"""``chatterm sessions search``: what people and scripts see.

Plain output: one session per hit (id, local date, title) and under it the turn and a
snippet, the match in bold on a terminal; ``--json``: one object per session found. Exit
codes as for the other sessions commands: 0 done (whether or not anything was found), 1
the sessions folder cannot be read, 2 a query with no words. Notes about the index go to
stderr, one line each, and never make the command fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatterm.cli.main import main
from chatterm.cli.sessions import search_sessions
from chatterm.sessions.index import SEARCH_INDEX_NAME
from chatterm.sessions.store import SessionStore, sessions_dir
from chatterm.text import local_time
from tests.cli.test_cli_sessions import (
    HOSTILE,
    FakeTty,
    assert_one_line_error,
    assert_terminal_safe,
    make_session,
    make_turn,
    run,
    save,
)


def sessions() -> SessionStore:
    older = make_session(
        "20261120-100000-aaaa", title="Groceries", updated="2026-11-20T10:00:00.000Z"
    )
    older.turns[0] = make_turn("What goes in a carbonara?", "Guanciale, eggs, pecorino, pepper.")
    newer = make_session(
        "20261121-100000-bbbb", title="Dinner plan", updated="2026-11-21T10:00:00.000Z"
    )
    newer.turns[1] = make_turn("Dessert?", "A tiramisù after the carbonara.", reasoning="")
    return save(older, newer)


def test_plain_output_newest_first_with_turn_and_snippet(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sessions()
    code, out, err = run(capsys, "sessions", "search", "carbonara")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        f"20261121-100000-bbbb  {local_time('2026-11-21T10:00:00.000Z')}  Dinner plan",
        "  turn 2 · answer: A tiramisù after the carbonara.",
        f"20261120-100000-aaaa  {local_time('2026-11-20T10:00:00.000Z')}  Groceries",
        "  turn 1 · prompt: What goes in a carbonara?",
    ]


def test_words_after_the_command_make_one_query(capsys: pytest.CaptureFixture[str]) -> None:
    sessions()
    code, out, _ = run(capsys, "sessions", "search", "tiramisu", "CARBONARA")
    assert code == 0 and out.count("\n") == 2 and "Dinner plan" in out
    code, out, _ = run(capsys, "sessions", "search", '"the carbonara"')
    assert code == 0 and "Dinner plan" in out and "Groceries" not in out
    code, out, _ = run(capsys, "sessions", "search", "guan*")
    assert code == 0 and "Groceries" in out and "Dinner plan" not in out


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    store = sessions()
    code, out, err = run(capsys, "sessions", "search", "--json", "carbonara")
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["20261121-100000-bbbb", "20261120-100000-aaaa"]
    first = records[0]
    assert first == {
        "id": "20261121-100000-bbbb",
        "title": "Dinner plan",
        "updated": "2026-11-21T10:00:00.000Z",
        "path": str(store.folder / "20261121-100000-bbbb.json"),
        "turn": 2,
        "tree_index": 1,
        "active": True,
        "field": "answer",
        "snippet": "A tiramisù after the carbonara.",
        "matches": [[21, 30]],
        "turns_matched": 1,
    }
    start, end = first["matches"][0]
    assert first["snippet"][start:end] == "carbonara"


def test_nothing_found(capsys: pytest.CaptureFixture[str]) -> None:
    sessions()
    code, out, err = run(capsys, "sessions", "search", "bouillabaisse")
    assert (code, out, err) == (0, "no saved session holds those words\n", "")
    code, out, err = run(capsys, "sessions", "search", "--json", "bouillabaisse")
    assert (code, out, err) == (0, "", "")


def test_no_sessions_yet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sessions", "search", "anything")
    assert (code, out, err) == (0, "no saved session holds those words\n", "")
    assert not sessions_dir().exists()


def test_a_query_without_words_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    sessions()
    code, out, err = run(capsys, "sessions", "search", "***", '""')
    assert code == 2 and out == ""
    assert_one_line_error(err, "give words to search for")


def test_limit(capsys: pytest.CaptureFixture[str]) -> None:
    sessions()
    code, out, _ = run(capsys, "sessions", "search", "--limit", "1", "carbonara")
    assert code == 0
    assert out.splitlines()[-1] == "… and 1 more session (--limit 0 shows all)"
    assert "Groceries" not in out
    code, out, _ = run(capsys, "sessions", "search", "--limit", "0", "carbonara")
    assert "Groceries" in out and "more session" not in out
    with pytest.raises(SystemExit) as exc:
        main(["sessions", "search", "--limit", "-3", "carbonara"])
    assert exc.value.code == 2
    assert_one_line_error(capsys.readouterr().err, "--limit")


def test_a_damaged_index_is_a_note_not_a_failure(capsys: pytest.CaptureFixture[str]) -> None:
    store = sessions()
    run(capsys, "sessions", "search", "carbonara")
    (store.folder / SEARCH_INDEX_NAME).write_bytes(b"junk" * 1000)
    code, out, err = run(capsys, "sessions", "search", "carbonara")
    assert code == 0 and out.count("\n") == 4
    assert err.startswith("chatterm: the search index") and err.count("\n") == 1
    assert "damaged" in err and "Traceback" not in err


def test_an_unreadable_sessions_folder_fails_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = sessions_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the folder should be")
    code, out, err = run(capsys, "sessions", "search", "carbonara")
    assert code == 1 and out == ""
    assert_one_line_error(err, str(folder))


def test_bold_matches_on_a_terminal_plain_text_otherwise(tmp_path: Path) -> None:
    store = sessions()
    tty = FakeTty()
    assert search_sessions(store, "tiramisu", tty, color=True) == 0
    assert "\x1b[1mtiramisù\x1b[0m" in tty.getvalue()
    assert "\x1b[2mturn 2 · answer:\x1b[0m" in tty.getvalue()


def test_hostile_text_is_shown_not_obeyed(capsys: pytest.CaptureFixture[str]) -> None:
    hostile = make_session("20261122-100000-cccc", title=HOSTILE)
    hostile.turns[0] = make_turn(f"needle {HOSTILE}", f"{HOSTILE} needle")
    save(hostile)
    code, out, _ = run(capsys, "sessions", "search", "needle")
    assert code == 0
    assert_terminal_safe(out)
    assert "[bold red]loud[/bold red]" in out
    code, out, _ = run(capsys, "sessions", "search", "--json", "needle")
    assert_terminal_safe(out)
    assert json.loads(out)["title"] == HOSTILE  # the data, escaped in JSON


def test_an_alternative_is_named_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    session = make_session("20261123-100000-dddd", title="Branches", turns=0)
    session.add(make_turn("Pick a colour", "Teal."))
    session.rewind(0)
    session.add(make_turn("Pick a colour", "Ochre."))
    save(session)
    code, out, _ = run(capsys, "sessions", "search", "teal")
    assert "turn 1 (an alternative) · answer: Teal." in out
    code, out, _ = run(capsys, "sessions", "search", "colour")
    assert "turn 1 and 1 more turn · prompt: Pick a colour" in out
    code, out, _ = run(capsys, "sessions", "search", "--json", "teal")
    record = json.loads(out)
    assert (record["active"], record["tree_index"], record["turns_matched"]) == (False, 0, 1)


def test_sessions_help_lists_search(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sessions", "search", "--help"])
    out = capsys.readouterr().out
    assert "QUERY" in out and "--json" in out and "--limit" in out
