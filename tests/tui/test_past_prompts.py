"""Every saved chat's prompts, as the past-prompts search reads them: newest first, each
once, capped, unreadable files passed over, and the app's own store left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from session_files import write_session

from chatterm.sessions.store import SessionError
from chatterm.tui.past_prompts import PastPrompts


def read_all(reader: PastPrompts, batch: int = 2) -> list[str]:
    sessions = reader.sessions()
    texts: list[str] = []
    for start in range(0, len(sessions), batch):
        texts += [prompt.text for prompt in reader.read(sessions[start : start + batch])]
        if reader.full:
            break
    return texts


def test_prompts_come_newest_session_first_newest_prompt_first_each_once(tmp_path: Path) -> None:
    write_session(
        tmp_path, "20261101-090000-aaaa", "old", ["a1", "shared", "a2"], "2026-11-01T09:00:00Z"
    )
    write_session(tmp_path, "20261103-090000-cccc", "new", ["c1", "shared"], "2026-11-03T09:00:00Z")
    write_session(tmp_path, "20261102-090000-bbbb", "mid", ["b1", "  "], "2026-11-02T09:00:00Z")
    reader = PastPrompts(tmp_path)
    assert read_all(reader) == ["shared", "c1", "b1", "a2", "a1"]
    assert reader.count == 5 and not reader.full


def test_the_caps_hold(tmp_path: Path) -> None:
    for day in range(1, 8):
        write_session(
            tmp_path,
            f"202611{day:02d}-090000-aaaa",
            f"day {day}",
            [f"p{day}a", f"p{day}b"],
            f"2026-11-{day:02d}T09:00:00Z",
        )
    assert read_all(PastPrompts(tmp_path, max_sessions=3)) == [
        "p7b", "p7a", "p6b", "p6a", "p5b", "p5a"
    ]  # fmt: skip
    reader = PastPrompts(tmp_path, max_prompts=5)
    assert read_all(reader) == ["p7b", "p7a", "p6b", "p6a", "p5b"]
    assert reader.full


def test_unreadable_files_are_passed_over(tmp_path: Path) -> None:
    write_session(tmp_path, "20261101-090000-aaaa", "good", ["kept"], "2026-11-01T09:00:00Z")
    (tmp_path / "20261102-090000-bbbb.json").write_text("{ not json", encoding="utf-8")
    gone = write_session(tmp_path, "20261103-090000-cccc", "gone", ["lost"], "2026-11-03T09:00:00Z")
    reader = PastPrompts(tmp_path)
    sessions = reader.sessions()
    assert [summary.title for summary in sessions] == ["gone", "good"]  # the broken one: out
    gone.unlink()  # removed after the listing
    assert [prompt.text for prompt in reader.read(sessions)] == ["kept"]


def test_a_missing_folder_has_no_prompts_and_an_unreadable_one_says_so(tmp_path: Path) -> None:
    assert read_all(PastPrompts(tmp_path / "none")) == []
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    with pytest.raises(SessionError):
        PastPrompts(not_a_folder).sessions()


def test_each_prompt_knows_its_chat_and_when_it_was_sent(tmp_path: Path) -> None:
    write_session(
        tmp_path, "20261101-090000-aaaa", "Pasta", ["boil?", "salt?"], "2026-11-01T09:00:00Z"
    )
    reader = PastPrompts(tmp_path)
    (newest, oldest) = reader.read(reader.sessions())
    assert (newest.text, newest.title, newest.sent) == (
        "salt?",
        "Pasta",
        "2026-11-01T09:01:00.000Z",
    )
    assert oldest.text == "boil?"
