"""The remembered state: separate from config.toml, forgiving of damage, private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from chatterm.state import AppState, load_state, save_state, state_file


def test_the_state_lives_in_the_data_folder(isolated_home: Path) -> None:
    assert state_file() == isolated_home / "data" / "state.toml"


def test_round_trip_and_privacy(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.toml"
    state = AppState(
        last_model="anthropic:claude-sonnet-4-5",
        theme="chatterm-light",
        reasoning_shown=False,
        reasoning_effort="high",
    )
    assert save_state(state, path) is None
    assert load_state(path) == (state, None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "chatterm_state = 1" in path.read_text()


def test_a_missing_file_is_an_empty_state(tmp_path: Path) -> None:
    assert load_state(tmp_path / "none.toml") == (AppState(), None)


def test_unset_values_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    save_state(AppState(theme="x"), path)
    assert path.read_text() == 'chatterm_state = 1\ntheme = "x"\n'


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"theme = ", "is damaged"),
        (b"\xff\xfe", "is damaged"),
        (b"chatterm_state = 99\n", "another chatterm version"),
    ],
)
def test_a_damaged_file_is_reported_and_ignored(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "state.toml"
    path.write_bytes(content)
    state, message = load_state(path)
    assert state == AppState()
    assert message is not None and problem in message and str(path) in message
    assert "\n" not in message
    assert path.read_bytes() == content  # not rewritten just for being read


def test_wrong_values_are_dropped_one_by_one(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    path.write_text(
        'last_model = 3\ntheme = "ok"\nreasoning_shown = "yes"\nreasoning_effort = "max"\n'
        'favourites = ["demo", 1]\n'
    )
    assert load_state(path) == (AppState(theme="ok"), None)


def test_a_refused_write_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where a folder should be")
    message = save_state(AppState(theme="x"), blocker / "state.toml")
    assert message is not None and "cannot save" in message and "\n" not in message


@pytest.mark.parametrize("content", [b"a = " + b"[" * 3000 + b"]" * 3000, b"a = " + b"9" * 5000])
def test_absurd_content_is_damage_not_a_crash(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "state.toml"
    path.write_bytes(content)
    state, message = load_state(path)
    assert state == AppState() and message is not None and "is damaged" in message


def test_an_unencodable_model_name_is_saved_replaced(tmp_path: Path) -> None:
    path = tmp_path / "state.toml"
    assert save_state(AppState(last_model="openai:gpt\udcff"), path) is None
    assert load_state(path)[0].last_model == "openai:gpt?"
