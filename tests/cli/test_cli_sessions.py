"""``chatterm sessions list|show|rename|delete|export``: what people and scripts see.

Exit codes: 0 done, 1 a session file cannot be read or written, 2 bad usage (no such
session, an ambiguous prefix, an export that would overwrite a file). Session text is data:
control characters are shown as symbols and Rich markup appears literally.
"""

from __future__ import annotations

import errno
import io
import json
import stat
import sys
import time
import tomllib
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.main import main
from chatterm.cli.sessions import sessions_command
from chatterm.events import StreamError, Usage
from chatterm.pricing import Cost
from chatterm.reply.figures import format_stats
from chatterm.reply.metrics import Metrics
from chatterm.sessions.document import session_to_data
from chatterm.sessions.export import to_markdown
from chatterm.sessions.model import Session, TimelineEntry, Turn, new_session
from chatterm.sessions.store import SessionStore
from chatterm.text import local_time
from tests.test_files_and_disk import BrokenDisk

HOSTILE = "evil \x1b]52;c;ZXZpbA==\x07 \x1b[2J [bold red]loud[/bold red] \x9b2J end"


def make_turn(
    prompt: str = "What is 2+2?",
    answer: str = "**4**",
    *,
    model: str = "openai:gpt-x",
    reasoning: str = "Adding two and two.",
    cost: Cost | None = None,
) -> Turn:
    cut = len(answer) // 2
    return Turn(
        prompt=prompt,
        model=model,
        started="2026-11-21T10:00:00.000Z",
        reasoning=reasoning,
        answer=answer,
        finish_reason="stop",
        usage=Usage(input_tokens=12, output_tokens=30, reasoning_tokens=8),
        metrics=Metrics(ttft_ms=120.0, first_answer_ms=300.0, duration_ms=900.0, tokens_per_s=50.0),
        cost=cost if cost is not None else Cost(0.00042, "price_table"),
        timeline=[
            *([TimelineEntry(120, "reasoning", reasoning)] if reasoning else []),
            TimelineEntry(300, "answer", answer[:cut]),
            TimelineEntry(640, "answer", answer[cut:]),
        ],
    )


def make_session(
    session_id: str = "20261121-100000-abcd",
    *,
    title: str = "Arithmetic",
    turns: int = 2,
    updated: str = "2026-11-21T10:05:00.000Z",
) -> Session:
    session = new_session(system="Be brief.", session_id=session_id)
    session.title = title
    session.created = "2026-11-21T10:00:00.000Z"
    session.updated = updated
    for index in range(turns):
        session.turns.append(make_turn(f"question {index}", f"answer {index}"))
    if turns:
        failed = session.turns[-1]
        failed.finish_reason = "error"
        failed.error = StreamError("HTTP 529 from anthropic: overloaded", retryable=True)
    return session


def save(*sessions: Session) -> SessionStore:
    store = SessionStore()
    for session in sessions:
        store.save(session)
    return store


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *words: str) -> None:
    assert err.startswith("chatterm: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


def assert_terminal_safe(text: str) -> None:
    assert not [c for c in text if (ord(c) < 0x20 and c not in "\n") or 0x7F <= ord(c) <= 0x9F]


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def west_of_greenwich(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time five hours behind UTC (a POSIX rule: no time zone files needed), where
    year 1 at midnight UTC is before the first date Python can hold."""
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# ----------------------------------------------------------------------------- list


def test_list_with_no_sessions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "sessions", "list")
    assert code == 0 and err == ""
    assert out.startswith("no saved sessions yet")
    assert run(capsys, "sessions", "list", "--json")[1] == ""


def test_list_is_a_table_newest_first(capsys: pytest.CaptureFixture[str]) -> None:
    older = make_session("20261120-090000-aaaa", title="Older one", updated="2026-11-20T09:00:00Z")
    newer = make_session("20261121-100000-bbbb", title="Newer one")
    newer.turns.append(make_turn("q", "a", model="anthropic:claude-x", cost=Cost(None, "unknown")))
    empty = make_session("20261119-080000-cccc", title="", turns=0, updated="2026-11-19T08:00Z")
    save(older, newer, empty)

    code, out, err = run(capsys, "sessions")  # no subcommand: list
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "UPDATED", "TURNS", "MODELS", "COST", "TITLE"]
    assert [line.split()[0] for line in lines[1:]] == [newer.id, older.id, empty.id]
    row = lines[1]
    assert local_time(newer.updated) in row
    assert " 3 " in row
    assert "openai:gpt-x, anthropic:claude-x" in row
    assert "$0.0008 + unknown" in row  # two priced turns, one unknown
    assert row.endswith("Newer one")
    assert "$0.0008 " in lines[2] and "+ unknown" not in lines[2]
    assert lines[3].endswith("untitled")
    # The columns line up: every row's date starts where the header's UPDATED does.
    column = lines[0].index("UPDATED")
    for line, session in zip(lines[1:], [newer, older, empty], strict=True):
        assert line.index(local_time(session.updated)) == column


@pytest.mark.parametrize(
    ("costs", "shown"),
    [
        ([Cost(0.012, "price_table")], "$0.012"),
        ([Cost(0.004, "price_table", estimated=True), Cost(0.006, "config")], "~$0.010"),
        ([Cost(None, "unknown")], "unknown"),
        ([Cost(0.0, "local"), Cost(None, "unknown")], "$0 + unknown"),
    ],
)
def test_list_cost_wording(
    capsys: pytest.CaptureFixture[str], costs: list[Cost], shown: str
) -> None:
    session = make_session(turns=0)
    session.turns = [make_turn(cost=cost) for cost in costs]
    save(session)
    out = run(capsys, "sessions", "list")[1]
    row = out.splitlines()[1]
    assert f"  {shown}  " in row, row


def test_list_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    store = save(make_session("20261121-100000-aaaa"), make_session("20261121-100000-bbbb"))
    code, out, err = run(capsys, "sessions", "list", "--json")
    assert code == 0 and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 2
    first = records[0]
    assert {
        "id",
        "title",
        "models",
        "created",
        "updated",
        "turns",
        "cost_usd",
        "cost_unknown",
        "cost_estimated",
        "file_name",
        "format",
        "path",
        "problem",
    } <= set(first)
    assert first["models"] == ["openai:gpt-x"]
    assert first["turns"] == 2 and first["problem"] is None
    assert first["cost_usd"] == pytest.approx(0.00084)
    assert Path(first["path"]) == store.folder / first["file_name"]


def test_a_zero_turn_session_costs_a_dash(capsys: pytest.CaptureFixture[str]) -> None:
    save(make_session(turns=0))
    row = run(capsys, "sessions", "list")[1].splitlines()[1]
    assert "  0  " in row and "  –  " in row and "$" not in row


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00"),  # before year 1 in local time
        ("9999-12-31T23:59:59-12:00", "9999-12-31T23:59"),  # after year 9999
        ("0001-01-01T00:00:00", "0001-01-01T00:00"),  # no zone: read as UTC
        ("not a\x1b[2J date", "not a␛[2J date"),
    ],
)
def test_a_time_the_local_zone_cannot_hold_is_shown_as_written(
    west_of_greenwich: None, stamp: str, shown: str
) -> None:
    assert local_time(stamp) == shown
    assert local_time("2026-11-21T15:30:00Z") == "2026-11-21 10:30"


def test_list_and_show_a_session_dated_year_1(
    capsys: pytest.CaptureFixture[str], west_of_greenwich: None
) -> None:
    session = make_session(updated="0001-01-01T00:00:00Z")
    session.created = "0001-01-01T00:00:00Z"
    save(session)
    code, out, err = run(capsys, "sessions", "list")
    assert code == 0 and err == ""
    assert "0001-01-01T00:00" in out.splitlines()[1]
    code, out, err = run(capsys, "sessions", "show", session.id)
    assert code == 0 and err == ""
    assert "0001-01-01T00:00" in out.splitlines()[1]


# ----------------------------------------------------------------------------- corrupt files


def test_a_corrupt_file_is_listed_with_its_problem_and_never_rewritten(
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = save(make_session("20261121-100000-good"))
    broken = store.folder / "20261121-110000-bad1.json"
    raw = b'{"chatterm_session": 1, "id": "20261121-110000-bad1", \x1b[2J'
    broken.write_bytes(raw)
    future = store.folder / "20261121-120000-new1.json"
    future_raw = json.dumps({"chatterm_session": 99, "id": "20261121-120000-new1"}).encode()
    future.write_bytes(future_raw)

    code, out, err = run(capsys, "sessions", "list")
    assert code == 0 and err == ""
    assert_terminal_safe(out)
    bad_row = next(line for line in out.splitlines() if line.startswith("20261121-110000-bad1"))
    assert "cannot read 20261121-110000-bad1.json: invalid JSON" in bad_row
    new_row = next(line for line in out.splitlines() if line.startswith("20261121-120000-new1"))
    assert "newer chatterm" in new_row
    records = {
        r["id"]: r
        for r in map(json.loads, run(capsys, "sessions", "list", "--json")[1].splitlines())
    }
    assert records["20261121-110000-bad1"]["problem"].startswith("invalid JSON")
    assert records["20261121-100000-good"]["problem"] is None

    for args in (
        ["show", "20261121-110000-bad1"],
        ["rename", "20261121-110000-bad1", "new title"],
        ["export", "20261121-110000-bad1"],
        ["show", "20261121-120000"],
        ["rename", "20261121-120000-new1", "x"],
    ):
        code, out, err = run(capsys, "sessions", *args)
        assert code == 1, args
        assert out == ""
        assert_one_line_error(err, "left as it is")
    assert broken.read_bytes() == raw
    assert future.read_bytes() == future_raw


# ----------------------------------------------------------------------------- show


def test_show_prints_the_conversation(capsys: pytest.CaptureFixture[str]) -> None:
    session = make_session()
    save(session)
    code, out, err = run(capsys, "sessions", "show", session.id)
    assert code == 0 and err == ""
    assert "\x1b" not in out  # not a terminal: no colour
    lines = out.splitlines()
    assert lines[0] == "Arithmetic"
    assert session.id in lines[1] and "2 turns" in lines[1] and "openai:gpt-x" in lines[1]
    assert "session $0.0008" in lines[1]
    assert lines[2] == "system: Be brief."
    first, second = session.turns
    expected_first = (
        "── you ──\nquestion 0\n── openai:gpt-x ──\n── thinking ──\nAdding two and two.\n"
        f"── answer ──\nanswer 0\n── {format_stats(first.to_reply())} ──\n"
    )
    assert expected_first in out
    assert f"── {format_stats(second.to_reply())} ──" in out
    assert "error: HTTP 529 from anthropic: overloaded" in out
    assert format_stats(second.to_reply()).startswith("error")


def test_show_a_session_by_prefix_and_by_path(capsys: pytest.CaptureFixture[str]) -> None:
    session = make_session()
    store = save(session)
    by_prefix = run(capsys, "sessions", "show", session.id[:12])
    by_path = run(capsys, "sessions", "show", str(store.folder / f"{session.id}.json"))
    assert by_prefix[0] == by_path[0] == 0
    assert by_prefix[1] == by_path[1] != ""


def test_show_dims_reasoning_on_a_terminal_unless_no_color() -> None:
    session = make_session()
    save(session)
    args = build_parser().parse_args(["sessions", "show", session.id])
    tty = FakeTty()
    assert sessions_command(args, stdout=tty, env={}) == 0
    coloured = tty.getvalue()
    assert "\x1b[2mAdding two and two.\x1b[0m" in coloured
    assert "answer 0" in coloured and "\x1b[2manswer 0" not in coloured

    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        plain = FakeTty()
        assert sessions_command(args, stdout=plain, env=env) == 0
        assert "\x1b" not in plain.getvalue()
        assert "Adding two and two." in plain.getvalue()


def test_hostile_text_is_shown_not_obeyed(capsys: pytest.CaptureFixture[str]) -> None:
    session = new_session(system=HOSTILE, session_id="20261121-100000-evil")
    session.title = HOSTILE
    session.turns.append(
        make_turn(prompt=HOSTILE, answer=HOSTILE, reasoning=HOSTILE, model="x:[bold]m\x1b[31m")
    )
    session.turns[0].error = StreamError(HOSTILE)
    store = save(session)

    for args in (["list"], ["show", session.id], ["export", session.id]):
        code, out, err = run(capsys, "sessions", *args)
        assert code == 0 and err == "", args
        assert_terminal_safe(out)
        assert "[bold red]loud[/bold red]" in out, args  # Rich markup, literally
        assert "␛]52;c;ZXZpbA==␇" in out, args  # the escape, made visible
    # A table row stays one line however the title is written.
    session.title = "two\nlines\x1b[2J"
    store.save(session)
    out = run(capsys, "sessions", "list")[1]
    assert len(out.splitlines()) == 2 and "two lines␛[2J" in out

    tty = FakeTty()
    args = build_parser().parse_args(["sessions", "show", session.id])
    assert sessions_command(args, stdout=tty, env={}) == 0
    without_our_colour = tty.getvalue().replace("\x1b[2m", "").replace("\x1b[0m", "")
    without_our_colour = without_our_colour.replace("\x1b[31m", "")  # the error line's red
    assert_terminal_safe(without_our_colour)


# ----------------------------------------------------------------------------- rename, delete


def test_rename_on_a_full_disk_says_the_title_is_unchanged(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = save(make_session())
    (summary,) = store.list()
    before = (store.folder / summary.file_name).read_bytes()
    disk = BrokenDisk(monkeypatch, store.folder.parent, ("mkstemp", errno.ENOSPC))
    disk.broken = True
    code, out, err = run(capsys, "sessions", "rename", summary.id, "New", "title")
    assert (code, out) == (1, "")
    assert err.startswith("chatterm: cannot save the session to ") and err.count("\n") == 1
    assert err.endswith(
        ": the disk is full; the title is unchanged — free space or fix the folder's "
        "permissions, then rename it again\n"
    ), err
    assert "kept in memory" not in err
    assert disk.refused and (store.folder / summary.file_name).read_bytes() == before


def test_rename(capsys: pytest.CaptureFixture[str]) -> None:
    session = make_session()
    store = save(session)
    code, out, err = run(capsys, "sessions", "rename", session.id[:10], "Sums", " and\tmore ")
    assert code == 0 and err == ""
    assert out == f"renamed {session.id} to Sums and more\n"
    renamed = SessionStore().load(session.id)
    assert renamed.title == "Sums and more"
    assert renamed.updated != session.updated  # touched
    assert renamed.turns == session.turns
    assert [p.name for p in store.folder.glob("*.json")] == [f"{session.id}.json"]

    code, out, err = run(capsys, "sessions", "rename", session.id, "  ")
    assert code == 2 and out == ""
    assert_one_line_error(err, "empty")


def test_renaming_a_file_outside_the_folder_saves_a_renamed_copy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    session = make_session()
    store = save(session)
    inside = store.folder / f"{session.id}.json"
    mine = tmp_path / "mine.json"
    raw = inside.read_bytes()
    mine.write_bytes(raw)
    inside.unlink()
    code, out, err = run(capsys, "sessions", "rename", str(mine), "New title")
    assert code == 0 and err == ""
    assert out == f"saved a renamed copy as {inside} (the file you named is unchanged)\n"
    assert mine.read_bytes() == raw
    assert SessionStore().load(session.id).title == "New title"


def test_delete(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    keep, gone = make_session("20261121-100000-keep"), make_session("20261121-100000-gone")
    store = save(keep, gone)
    path = store.folder / f"{gone.id}.json"
    code, out, err = run(capsys, "sessions", "delete", "20261121-100000-g")
    assert code == 0 and err == ""
    assert out == f"deleted session {gone.id} ({path})\n"
    assert not path.exists() and (store.folder / f"{keep.id}.json").exists()
    assert [s.id for s in SessionStore().list()] == [keep.id]

    code, out, err = run(capsys, "sessions", "delete", gone.id)
    assert code == 2
    assert_one_line_error(err, "no session", gone.id)

    # A session file elsewhere is not chatterm's to delete.
    elsewhere = tmp_path / "mine.json"
    elsewhere.write_bytes((store.folder / f"{keep.id}.json").read_bytes())
    code, out, err = run(capsys, "sessions", "delete", str(elsewhere))
    assert code == 2 and elsewhere.exists()
    assert_one_line_error(err, "not in the sessions folder")


def test_delete_removes_an_unreadable_file(capsys: pytest.CaptureFixture[str]) -> None:
    folder = SessionStore().folder
    folder.mkdir(parents=True)
    broken = folder / "20261121-100000-bad1.toml"
    broken.write_bytes(b"not = [toml")
    code, out, err = run(capsys, "sessions", "delete", "20261121-100000-bad1")
    assert code == 0 and err == "" and not broken.exists()


# ----------------------------------------------------------------------------- unknown ids


def test_unknown_and_ambiguous_ids_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    save(make_session("20261121-100000-aaaa"), make_session("20261121-100000-bbbb"))
    for command in (["show"], ["delete"], ["export"], ["rename"]):
        extra = ["title"] if command == ["rename"] else []
        code, out, err = run(capsys, "sessions", *command, "nope", *extra)
        assert code == 2 and out == ""
        assert_one_line_error(err, "no session 'nope'", "sessions list")
        code, out, err = run(capsys, "sessions", *command, "20261121-1000", *extra)
        assert code == 2 and out == ""
        assert_one_line_error(err, "matches 2 sessions", "20261121-100000-aaaa")
    code, out, err = run(capsys, "sessions", "show", "../../etc/passwd\x1b[2J")
    assert code == 2
    assert_one_line_error(err)
    assert "\x1b" not in err


def test_a_missing_subcommand_argument_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sessions", "show"])
    assert exc.value.code == 2
    assert_one_line_error(capsys.readouterr().err)


# ----------------------------------------------------------------------------- export


def test_export_to_stdout_in_every_format(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    session = make_session()
    session.turns[0].answer = 'C1 \x9b2J, LS \u2028, ESC \x1b[2J, quotes """ and \\ é 🚀'
    save(session)

    def export(*args: str) -> bytes:
        assert main(["sessions", "export", session.id, *args]) == 0
        out, err = capsysbinary.readouterr()
        assert err == b""
        return out

    markdown = export()
    assert markdown == export("--format", "md") == to_markdown(session).encode()
    assert markdown.startswith(b"# Arithmetic\n")
    data = export("--format", "json")
    assert json.loads(data) == session_to_data(session)
    toml = export("--format", "toml")
    assert tomllib.loads(toml.decode()) == session_to_data(session)
    for raw in (markdown, data, toml):
        assert_terminal_safe(raw.decode().replace("\t", ""))
    for raw in (data, toml):
        assert "\u2028".encode() not in raw  # escaped: the same text, on one line


def test_export_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    session = make_session()
    save(session)
    target = tmp_path / "chat.toml"
    code, out, err = run(
        capsys, "sessions", "export", session.id, "--format", "toml", "-o", str(target)
    )
    assert code == 0 and err == ""
    assert out == f"exported session {session.id} to {target}\n"
    assert tomllib.loads(target.read_text()) == session_to_data(session)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.toml", "chatterm-home"]

    # An existing file is kept unless --force.
    target.write_bytes(b"precious")
    code, out, err = run(capsys, "sessions", "export", session.id, "-o", str(target))
    assert code == 2 and out == ""
    assert_one_line_error(err, "already exists", "--force")
    assert target.read_bytes() == b"precious"
    code, out, err = run(capsys, "sessions", "export", session.id, "-o", str(target), "--force")
    assert code == 0
    assert target.read_text() == to_markdown(session)

    # No folder to write in, or a folder given as the file: usage errors, nothing written.
    for bad in (tmp_path / "missing" / "x.md", tmp_path):
        code, out, err = run(capsys, "sessions", "export", session.id, "-o", str(bad), "--force")
        assert code == 2
        assert_one_line_error(err)
    assert not (tmp_path / "missing").exists()

    # -o - is stdout.
    code, out, err = run(capsys, "sessions", "export", session.id, "-o", "-")
    assert code == 0 and out == to_markdown(session)


def test_export_never_writes_into_the_sessions_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    session, other = make_session(), make_session("20261121-110000-othr")
    store = save(session, other)
    own = store.folder / f"{session.id}.json"
    link = tmp_path / "link"
    link.symlink_to(store.folder)
    before = {path.name: path.read_bytes() for path in store.folder.iterdir()}
    for target in (
        own,  # the session's own file
        store.folder / f"{other.id}.json",  # another session
        store.folder / f"{session.id}.toml",  # a new file that would be read as a session
        store.folder / "notes.md",
        link / "notes.md",  # the folder through a link
    ):
        for fmt in ("md", "json"):
            code, out, err = run(
                capsys,
                "sessions",
                "export",
                session.id,
                "--format",
                fmt,
                "-o",
                str(target),
                "--force",
            )
            assert code == 2 and out == "", target
            assert_one_line_error(err, "sessions folder", "export somewhere else")
    assert {path.name: path.read_bytes() for path in store.folder.iterdir()} == before

    # A session file elsewhere, exported over itself.
    mine = tmp_path / "mine.json"
    mine.write_bytes(own.read_bytes())
    code, out, err = run(capsys, "sessions", "export", str(mine), "-o", str(mine), "--force")
    assert code == 2 and out == ""
    assert_one_line_error(err, "the session's own file")
    assert mine.read_bytes() == own.read_bytes()


def test_export_format_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sessions", "export", "x", "--format", "yaml"])
    assert exc.value.code == 2
    assert_one_line_error(capsys.readouterr().err, "yaml")


# ----------------------------------------------------------------------------- chatterm --session


def test_session_opens_the_tui_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    module = types.ModuleType("chatterm.tui.app")
    module.run_tui = lambda *args, **kwargs: calls.append((*args, kwargs))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chatterm.tui.app", module)
    assert main(["--session", "20261121-1000"]) == 0
    [(_, model, _, kwargs)] = calls
    assert model == "demo" and kwargs == {"session_ref": "20261121-1000"}


def test_session_before_another_command_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--session", "x", "ask", "hi")
    assert code == 2 and out == ""
    assert_one_line_error(err, "chatterm ask --session")
    code, out, err = run(capsys, "--session", "x", "sessions", "list")
    assert code == 2 and out == ""
    assert_one_line_error(err, "sessions")


def test_an_unreadable_sessions_folder_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    folder = SessionStore().folder
    folder.parent.mkdir(parents=True)
    folder.write_bytes(b"")  # a file where the folder should be
    for args in (["list"], ["list", "--json"], ["show", "2026"], ["delete", "2026"]):
        code, out, err = run(capsys, "sessions", *args)
        assert code == 1 and out == "", args
        assert_one_line_error(err, str(folder))
    assert run(capsys, "replay", "2026", "--plain")[0] == 1
