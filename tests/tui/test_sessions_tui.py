"""Sessions in the TUI: recording, the sessions screen, opening, new chat, replay."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from textual.geometry import Region
from textual.widgets import DataTable, Input
from textual.widgets._toast import Toast
from tui_helpers import (
    SIZE,
    HangingStream,
    chat,
    chunk,
    finish_reply,
    hanging_response,
    rendered,
    routed_factory,
    send,
    sse_body,
    sse_response,
    type_text,
)

from chatterm.config import Settings
from chatterm.events import Message, StreamError, Usage
from chatterm.pricing import Cost
from chatterm.providers.demo import demo_answer
from chatterm.reply.metrics import Metrics
from chatterm.sessions.codec import encode
from chatterm.sessions.index import summarize
from chatterm.sessions.model import Session, TimelineEntry, Turn, new_session
from chatterm.sessions.store import SessionStore, sessions_dir
from chatterm.tui.app import ChatApp
from chatterm.tui.bindings import ALL_BINDINGS
from chatterm.tui.screens.chat import ChatScreen
from chatterm.tui.screens.dialogs import ConfirmScreen, RenameScreen
from chatterm.tui.screens.replay import ReplayScreen
from chatterm.tui.screens.sessions import SessionsScreen, row_cells
from chatterm.tui.stats import reply_line
from chatterm.tui.widgets.conversation import TURNS_SHOWN, EarlierTurns
from tests.waiting import settle, wait_for

OPENAI_ENV = {"OPENAI_API_KEY": "sk-test"}


# -- helpers ------------------------------------------------------------------------------


def make_turn(
    prompt: str,
    answer: str,
    *,
    model: str = "openai:test",
    reasoning: str = "",
    finish: Any = "stop",
    usd: float | None = 0.001,
    error: StreamError | None = None,
) -> Turn:
    timeline = [TimelineEntry(100, "reasoning", reasoning)] if reasoning else []
    timeline += [TimelineEntry(200, "answer", answer[:3]), TimelineEntry(600, "answer", answer[3:])]
    return Turn(
        prompt=prompt,
        model=model,
        started="2026-11-21T10:00:00.000Z",
        reasoning=reasoning,
        answer=answer,
        finish_reason=finish,
        usage=Usage(input_tokens=10, output_tokens=20, reasoning_tokens=5),
        metrics=Metrics(ttft_ms=100.0, first_answer_ms=200.0, duration_ms=900.0, tokens_per_s=25.0),
        cost=Cost(usd, "price_table" if usd is not None else "unknown"),
        error=error,
        timeline=timeline,
    )


def saved(session_id: str, title: str, turns: list[Turn], updated: str) -> Session:
    session = new_session(session_id=session_id)
    session.title = title
    session.turns = turns
    session.created = session.updated = updated
    SessionStore().save(session)
    return session


def three_sessions() -> list[Session]:
    return [
        saved(
            "20261101-090000-aaaa",
            "Cooking pasta",
            [make_turn("How long to boil pasta?", "About 10 minutes.", model="demo")],
            "2026-11-01T09:00:00.000Z",
        ),
        saved(
            "20261102-090000-bbbb",
            "Rust lifetimes",
            [
                make_turn("Explain lifetimes", "They track borrows.", reasoning="Think."),
                make_turn("More?", "Elision rules.", model="gemini:gemini-2.5-flash", usd=None),
            ],
            "2026-11-02T09:00:00.000Z",
        ),
        saved(
            "20261103-090000-cccc",
            "[b]Markup[/b] \x1b[31m title",
            [make_turn("Say [i]hi[/i]", "hi", usd=0.25)],
            "2026-11-03T09:00:00.000Z",
        ),
    ]


def files() -> list[Path]:
    folder = sessions_dir()
    paths = folder.glob("*.json") if folder.exists() else []
    return sorted(path for path in paths if not path.name.startswith("."))  # not the index


def load_only() -> Session:
    (path,) = files()
    return SessionStore().load(str(path))


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


def sessions_screen(app: ChatApp) -> SessionsScreen:
    screen = app.screen
    assert isinstance(screen, SessionsScreen)
    return screen


async def open_sessions(pilot: Any, rows: int) -> SessionsScreen:
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen))
    screen = sessions_screen(pilot.app)
    await wait_for(pilot, lambda: screen.summaries is not None and screen.table.row_count == rows)
    return screen


def table_rows(screen: SessionsScreen) -> list[list[str]]:
    table: DataTable[Any] = screen.table
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def listed_rows() -> list[list[str]]:
    """The table the store's listing makes, in its order."""
    return [[str(cell) for cell in row_cells(summary)] for summary in SessionStore().list()]


@pytest.fixture
def west_of_greenwich(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time five hours behind UTC (a POSIX rule: no time zone files needed), where
    year 1 at midnight UTC is before the first date Python can hold."""
    monkeypatch.setenv("TZ", "EST+5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def answer_chunks(words: int) -> list[bytes]:
    return [chunk({"role": "assistant", "content": ""})] + [
        chunk({"content": f"word{i} "}) for i in range(words)
    ]


# -- recording ----------------------------------------------------------------------------


async def test_a_reply_is_saved_as_a_session() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert files() == []  # an empty chat leaves no file
        await send(pilot, "Explain Python generators")
        await finish_reply(pilot)
        app.keeper.writer.wait()
        session = load_only()
        (turn,) = session.turns
        assert session.title == "Explain Python generators"
        assert turn.prompt == "Explain Python generators" and turn.model == "demo:fast"
        assert turn.answer == demo_answer("Explain Python generators")
        assert turn.reasoning.startswith("The user wrote")
        assert turn.finish_reason == "stop" and turn.cost is not None
        assert "".join(e.text for e in turn.timeline if e.kind == "answer") == turn.answer
        # The bar's session cost comes from the session's turns.
        assert chat(app).costs == [turn.cost]
        assert rendered(chat(app).stats).endswith("\nsession $0")


async def test_escape_mid_reply_leaves_the_partial_answer_saved_as_cancelled() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return hanging_response(HangingStream(answer_chunks(5)))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        (turn,) = chat(app).turns
        await wait_for(pilot, lambda: "word4" in turn.answer.text)
        app.keeper.writer.wait()
        streaming = load_only().turns[0]  # the prompt was saved before the first token
        assert streaming.prompt == "hello" and streaming.finish_reason is None
        await pilot.press("escape")
        await finish_reply(pilot)
        app.keeper.writer.wait()
        saved_turn = load_only().turns[0]
        assert saved_turn.finish_reason == "cancelled"
        assert saved_turn.answer == "word0 word1 word2 word3 word4 "


async def test_quitting_mid_reply_saves_it_as_cancelled() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return hanging_response(HangingStream(answer_chunks(3)))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        (turn,) = chat(app).turns
        await wait_for(pilot, lambda: "word2" in turn.answer.text)
        await pilot.press("ctrl+q")
    saved_turn = load_only().turns[0]
    assert saved_turn.finish_reason == "cancelled"
    assert saved_turn.answer == "word0 word1 word2 "


async def test_a_failed_save_is_reported_once_and_the_chat_goes_on() -> None:
    folder = sessions_dir()
    folder.parent.mkdir(parents=True)
    folder.write_text("not a folder")  # every save fails
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "one")
        await finish_reply(pilot)
        await wait_for(pilot, lambda: any("cannot save the session" in t for t in toasts(app)))
        await send(pilot, "two")
        await finish_reply(pilot)
        app.keeper.writer.wait()  # the second reply's saves have failed too
        for _ in range(3):  # the app's periodic check, run here rather than waited for
            app._report_save_error()
        await pilot.pause()
        assert sum("cannot save the session" in t for t in toasts(app)) == 1
        screen = chat(app)
        assert [t.reply.finish_reason for t in screen.turns if t.reply] == ["stop", "stop"]
        assert screen.history[-2:] == [
            Message("user", "two"),
            Message("assistant", demo_answer("two")),
        ]
    assert folder.read_text() == "not a folder"


# -- new chat -----------------------------------------------------------------------------


async def test_new_chat_key_starts_a_new_session() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "first chat")
        await finish_reply(pilot)
        first = app.keeper.session
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert screen.turns == [] and screen.history == [] and app.keeper.session is None
        assert rendered(screen.stats).strip() == "model demo:fast · ready"
        await send(pilot, "second chat")
        await finish_reply(pilot)
        assert app.keeper.session is not None and app.keeper.session is not first
        assert screen.history[0] == Message("user", "second chat")
        app.keeper.writer.wait()
    titles = sorted(SessionStore().load(str(path)).title for path in files())
    assert titles == ["first chat", "second chat"]


# -- the sessions screen ------------------------------------------------------------------


async def test_sessions_screen_lists_newest_first_and_filters() -> None:
    three_sessions()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        rows = table_rows(screen)
        assert [row[0] for row in rows] == [
            "[b]Markup[/b] ␛[31m title",  # shown as written, never as markup
            "Rust lifetimes",
            "Cooking pasta",
        ]
        assert rows[1][1:] == [
            "openai:test, gemini:gemini-2.5-flash",
            rows[1][2],
            "2",
            "$0.0010 + ?",
        ]
        assert rows[0][4] == "$0.250"
        assert "3 chats" in rendered(screen.query_one("#sessions-status"))
        await type_text(pilot, "gemini")
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        assert table_rows(screen)[0][0] == "Rust lifetimes"
        assert "1 of 3 chats match" in rendered(screen.query_one("#sessions-status"))
        await type_text(pilot, " nothing")
        await wait_for(pilot, lambda: screen.table.row_count == 0)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)


async def test_rename_updates_the_file_and_the_row() -> None:
    three_sessions()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        await pilot.press("down")  # Rust lifetimes
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        assert app.screen.query_one(Input).value == "Rust lifetimes"
        await pilot.press("ctrl+u")
        await type_text(pilot, "Borrow   checker")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        await wait_for(pilot, lambda: "Borrow checker" in [row[0] for row in table_rows(screen)])
        assert SessionStore().load("20261102-090000-bbbb").title == "Borrow checker"
        await wait_for(pilot, lambda: table_rows(screen) == listed_rows())
        highlighted = screen.highlighted()
        assert highlighted is not None and highlighted.title == "Borrow checker"
        # Esc leaves the title alone.
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        await type_text(pilot, "xyz")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert SessionStore().load("20261102-090000-bbbb").title == "Borrow checker"


async def test_delete_asks_first_and_n_keeps_the_file() -> None:
    three_sessions()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        await pilot.press("down", "down")  # Cooking pasta
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Delete “Cooking pasta”?" in rendered(app.screen.query_one("#question"))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert len(files()) == 3 and screen.table.row_count == 3
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen)
        assert [path.stem for path in files()] == ["20261102-090000-bbbb", "20261103-090000-cccc"]
        assert [row[0] for row in table_rows(screen)] == [
            "[b]Markup[/b] ␛[31m title",
            "Rust lifetimes",
        ]
        assert "2 chats" in rendered(screen.query_one("#sessions-status"))


async def test_a_corrupt_file_is_listed_with_its_problem_and_left_untouched() -> None:
    three_sessions()
    corrupt = sessions_dir() / "20261104-000000-dead.json"
    raw = b'{"chatterm_session": 1, "id": [oops \x1b[2J'
    corrupt.write_bytes(raw)
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_sessions(pilot, 4)
        titles = [row[0] for row in table_rows(screen)]
        (problem,) = [title for title in titles if title.startswith("⚠")]
        assert problem.startswith("⚠ 20261104-000000-dead.json: invalid JSON")
        index = titles.index(problem)
        for _ in range(index):
            await pilot.press("down")
        status = rendered(screen.query_one("#sessions-status"))
        assert status.startswith("⚠ 20261104-000000-dead.json cannot be read: invalid JSON")
        for key in ("enter", "f2", "f5"):  # not openable, renamable or replayable
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is screen
        assert any("cannot be read" in text for text in toasts(app))
    assert corrupt.read_bytes() == raw


async def test_a_date_the_local_zone_cannot_hold_is_shown_as_written(
    west_of_greenwich: None,
) -> None:
    three_sessions()
    saved("20261104-090000-old1", "Very old", [make_turn("q", "a")], "0001-01-01T00:00:00Z")
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 4)
        (row,) = [row for row in table_rows(screen) if row[0] == "Very old"]
        assert row[2] == "0001-01-01T00:00"
        await type_text(pilot, "very")
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        assert table_rows(screen) == [row]
        assert app.is_running and app.screen is screen


async def test_a_sessions_folder_that_cannot_be_read_is_said_in_the_status_line() -> None:
    folder = sessions_dir()
    folder.parent.mkdir(parents=True)
    folder.write_text("not a folder")
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=(240, 40)) as pilot:  # wide enough for a long tmp path
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        screen = sessions_screen(app)
        status = screen.query_one("#sessions-status")
        await wait_for(pilot, lambda: "cannot read the sessions folder" in rendered(status))
        assert rendered(status).startswith(f"⚠ cannot read the sessions folder {folder}")
        assert screen.summaries == [] and screen.table.row_count == 0
        await type_text(pilot, "x")  # filtering keeps the problem in view
        screen._fill()  # what the filter's timer runs
        await pilot.pause()
        assert "cannot read the sessions folder" in rendered(status)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
    assert folder.read_text() == "not a folder"


async def test_an_unexpected_listing_failure_is_said_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: SessionStore) -> list[Any]:
        raise RuntimeError("something\nodd")

    monkeypatch.setattr(SessionStore, "list", broken)
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        screen = sessions_screen(app)
        status = screen.query_one("#sessions-status")
        await wait_for(pilot, lambda: rendered(status).startswith("⚠ cannot list"))
        assert screen._problem == f"cannot list {sessions_dir()}: RuntimeError: something odd"
        assert len(rendered(status).splitlines()) == 1


async def test_rename_prefills_the_title_as_written_and_enter_alone_changes_nothing() -> None:
    three_sessions()
    path = sessions_dir() / "20261103-090000-cccc.json"
    raw = path.read_bytes()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        await pilot.press("f2")  # the newest: "[b]Markup[/b] \x1b[31m title"
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        field = app.screen.query_one(Input)
        assert field.value == "[b]Markup[/b] [31m title"  # no markup read, no ESC shown
        await pilot.pause()
        assert "[b]Markup[/b] [31m title" in rendered(field)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert path.read_bytes() == raw  # not rewritten: no ␛ for the ESC
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        await pilot.press("end")
        await type_text(pilot, " more")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
    assert SessionStore().load(str(path)).title == "[b]Markup[/b] [31m title more"


async def test_a_renamed_chat_moves_to_the_top_and_keeps_the_cursor() -> None:
    for index, title in enumerate(["Oldest", "Middle", "Newest"]):
        stamp = f"2001-01-0{index + 1}T09:00:00.000Z"
        saved(f"20010101-09000{index}-aaaa", title, [make_turn("q", "a")], stamp)
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        assert [row[0] for row in table_rows(screen)] == ["Newest", "Middle", "Oldest"]
        await pilot.press("down", "down", "f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        await pilot.press("ctrl+u")
        await type_text(pilot, "Renamed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: [row[0] for row in table_rows(screen)][0] == "Renamed")
        assert [row[0] for row in table_rows(screen)] == ["Renamed", "Newest", "Middle"]
        highlighted = screen.highlighted()
        assert highlighted is not None and highlighted.title == "Renamed"


async def test_number_columns_are_right_aligned_and_an_empty_chat_costs_a_dash() -> None:
    saved("20261101-090000-aaaa", "Empty", [], "2026-11-01T09:00:00.000Z")
    saved("20261102-090000-bbbb", "Priced", [make_turn("q", "a", usd=0.25)], "2026-11-02T09:00Z")
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 2)
        assert [row[3:] for row in table_rows(screen)] == [["1", "$0.250"], ["0", "–"]]
        for key in ("turns", "cost"):
            label = screen.table.columns[key].label  # type: ignore[index]
            assert label.justify == "right"
        await pilot.pause()
        table = screen.table
        width, height = table.outer_size
        lines = [strip.text for strip in table.render_lines(Region(0, 0, width, height))]
        header = next(line for line in lines if "Title" in line)
        row = next(line for line in lines if "Priced" in line)
        # Each label ends where the numbers under it end.
        cost_at = row.index("$0.250")
        assert header.index("Cost") + len("Cost") == cost_at + len("$0.250")
        assert header.index("Turns") + len("Turns") == len(row[:cost_at].rstrip())


def test_cost_text_matches_the_command_line_for_an_empty_chat() -> None:
    from chatterm.cli.sessions import cost_cell

    session = new_session(session_id="20261101-090000-aaaa")
    summary = summarize(session, "json", "20261101-090000-aaaa.json")
    assert [str(cell) for cell in row_cells(summary)][4] == cost_cell(summary) == "–"


async def test_five_thousand_sessions_list_in_one_table() -> None:
    store = SessionStore()
    session = new_session(session_id="20261101-000000-0000")
    session.turns = [make_turn("question", "answer")]
    folder = sessions_dir()
    folder.mkdir(parents=True)
    for index in range(5000):
        session.id = f"20261101-000000-{index:04d}"
        session.title = f"chat number {index}"
        session.updated = f"2026-11-01T00:00:00.{index % 1000:03d}Z"
        (folder / f"{session.id}.json").write_bytes(encode(session, "json"))
    assert len(store.list()) == 5000  # builds the index
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 5000)
        assert len(screen.query("*")) < 20  # one table, not a widget per row
        await type_text(pilot, "4999")
        await wait_for(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        assert app.keeper.session is not None and app.keeper.session.title == "chat number 4999"


# -- opening a session --------------------------------------------------------------------


async def test_opening_a_session_restores_it_and_the_next_prompt_continues_it() -> None:
    requests: list[dict[str, Any]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        return sse_response(sse_body(answer=["Third ", "answer."]))

    three_sessions()
    error = StreamError("HTTP 529 from openai: overloaded", retryable=True, status=529)
    saved(
        "20261105-090000-dddd",
        "Continue me",
        [
            make_turn("one", "First **answer**.", reasoning="Thinking [b]hard[/b]."),
            make_turn("two", "Half an ans", finish=None),  # saved mid-stream
            make_turn("three", "", finish="error", error=error, usd=None),
        ],
        "2026-11-05T09:00:00.000Z",
    )
    app = ChatApp(Settings(), "demo:fast", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await open_sessions(pilot, 4)
        await pilot.press("enter")  # the newest: "Continue me"
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == 3)
        first, second, third = screen.turns
        assert first.reasoning.text == "Thinking [b]hard[/b]."
        assert first.answer.text == "First **answer**."
        assert "First answer." in rendered(first.answer)
        assert rendered(first.status).startswith("TTFT 100ms")
        assert second.reply is not None and second.reply.finish_reason == "interrupted"
        assert rendered(second.status).startswith("finish: interrupted")
        assert rendered(third.status).splitlines()[1] == "error: HTTP 529 from openai: overloaded"
        assert screen.sub_title == "model: openai:test"  # the last turn's model
        assert third.reply is not None
        assert screen.costs == [
            Cost(0.001, "price_table"),
            Cost(0.001, "price_table"),
            third.reply.cost,
        ]
        assert rendered(screen.stats).endswith("session $0.0020 + unknown")
        await send(pilot, "four")
        await finish_reply(pilot)
        (body,) = requests
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("user", "one"),
            ("assistant", "First **answer**."),
            ("user", "two"),
            ("assistant", "Half an ans"),
            ("user", "three"),
            ("user", "four"),
        ]
        app.keeper.writer.wait()
    assert len(files()) == 4  # the same file, no new one
    session = SessionStore().load("20261105-090000-dddd")
    assert [t.prompt for t in session.turns] == ["one", "two", "three", "four"]
    assert session.turns[1].finish_reason == "interrupted"
    assert session.turns[3].answer == "Third answer." and session.title == "Continue me"


async def test_a_session_whose_model_cannot_be_used_keeps_the_current_model() -> None:
    saved(
        "20261105-090000-dddd",
        "Needs a key",
        [make_turn("one", "answer", model="anthropic:claude-sonnet-4-5")],
        "2026-11-05T09:00:00.000Z",
    )
    app = ChatApp(Settings(), "demo:fast", env={}, session_ref="20261105")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == 1)
        assert screen.sub_title == "model: demo:fast"
        assert any("ANTHROPIC_API_KEY" in text and "demo:fast" in text for text in toasts(app))


async def test_a_long_session_opens_on_its_latest_turns_and_shows_the_rest_on_demand() -> None:
    turns = [make_turn(f"question {n}", f"Answer {n}.", model="demo") for n in range(45)]
    saved("20261106-090000-eeee", "Long", turns, "2026-11-06T09:00:00.000Z")
    app = ChatApp(Settings(), "demo:fast", env={}, session_ref="20261106")
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == TURNS_SHOWN)
        prompts = [rendered(view.query_one(".user-message")) for view in screen.turns]
        assert "question 25" in prompts[0] and "question 44" in prompts[-1]
        earlier = screen.earlier_turns
        assert earlier.display and rendered(earlier).startswith("↑ 25 earlier turns")
        view = screen.conversation
        assert view.scroll_y == view.max_scroll_y > 0  # on the latest turn

        # Scrolled to the top: the batch before appears above, and the view stays on
        # the turn it showed.
        first_shown = screen.turns[0]
        offset_at_top = first_shown.virtual_region.y  # where it is with the view at the top
        view.scroll_home(animate=False)
        await wait_for(pilot, lambda: len(screen.turns) == 2 * TURNS_SHOWN)
        await wait_for(pilot, lambda: view.scroll_y > 0)  # put back once laid out
        assert "question 5" in rendered(screen.turns[0].query_one(".user-message"))
        assert first_shown.virtual_region.y - view.scroll_y == offset_at_top
        assert rendered(earlier).startswith("↑ 5 earlier turns")

        # Or the line is clicked.
        view.scroll_to_widget(earlier, animate=False, top=True)
        await pilot.pause()
        assert view.scroll_y > 0 and len(screen.turns) == 2 * TURNS_SHOWN
        await pilot.click(EarlierTurns)
        await wait_for(pilot, lambda: len(screen.turns) == 45)
        assert not earlier.display
        assert [t.content for t in screen.history if t.role == "user"][:2] == [
            "question 0",
            "question 1",
        ]


async def test_opening_another_session_after_earlier_turns_shows_only_its_turns() -> None:
    for second, tag in enumerate("ab"):
        turns = [make_turn(f"{tag} question {n}", f"{tag} {n}.", model="demo") for n in range(45)]
        saved(f"20261106-09000{second}-eeee", tag, turns, f"2026-11-06T09:00:0{second}.000Z")
    app = ChatApp(Settings(), "demo:fast", env={}, session_ref="20261106-090000")
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == TURNS_SHOWN)
        screen.conversation.scroll_home(animate=False)
        await wait_for(pilot, lambda: len(screen.turns) == 2 * TURNS_SHOWN)
        # Removing A's turns scrolls to the top: that must not bring A's earlier ones back.
        listing = await open_sessions(pilot, rows=2)
        assert "b" in table_rows(listing)[0]  # the newest first
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.keeper.session.title == "b")
        await settle(pilot)  # A's earlier turns would have been asked for by now
        prompts = [rendered(view.query_one(".user-message")) for view in screen.turns]
        assert len(prompts) == TURNS_SHOWN and all("b question" in p for p in prompts)
        assert rendered(screen.earlier_turns).startswith("↑ 25 earlier turns")


async def test_earlier_turns_that_fit_on_screen_are_shown_without_scrolling() -> None:
    turns = [make_turn(f"q{n}", "a", model="demo") for n in range(25)]
    saved("20261106-090000-ffff", "Short turns", turns, "2026-11-06T09:00:00.000Z")
    app = ChatApp(Settings(), "demo:fast", env={}, session_ref="20261106")
    async with app.run_test(size=(100, 250)) as pilot:  # all 25 fit: nothing to scroll
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == 25)
        assert not screen.earlier_turns.display


async def test_a_session_that_cannot_be_loaded_is_a_notice_and_a_new_chat() -> None:
    app = ChatApp(Settings(), "demo:fast", env={}, session_ref="nope")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        screen = chat(app)
        assert screen.turns == [] and app.keeper.session is None
        assert "no session 'nope'" in rendered(screen.query_one("#welcome"))
        assert any("no session 'nope'" in text for text in toasts(app))


async def test_renaming_or_deleting_the_open_chat_keeps_the_chat_consistent() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "hello there")
        await finish_reply(pilot)
        session = app.keeper.session
        assert session is not None
        sessions = await open_sessions(pilot, 1)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, RenameScreen))
        await pilot.press("ctrl+u")
        await type_text(pilot, "Renamed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is sessions)
        assert session.title == "Renamed"  # the next save keeps it
        await pilot.press("escape")
        await send(pilot, "again")
        await finish_reply(pilot)
        app.keeper.writer.wait()
        assert load_only().title == "Renamed"
        await open_sessions(pilot, 1)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_for(
            pilot, lambda: app.screen is sessions or isinstance(app.screen, SessionsScreen)
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.turns == [])
        assert app.keeper.session is None and files() == []


async def test_sessions_and_replay_wait_for_the_reply_in_flight() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return hanging_response(HangingStream(answer_chunks(2)))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "hello")
        (turn,) = chat(app).turns
        await wait_for(pilot, lambda: "word1" in turn.answer.text)
        for key in ("ctrl+o", "ctrl+l", "f5"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ChatScreen) and len(chat(app).turns) == 1
        assert sum("A reply is streaming" in text for text in toasts(app)) >= 1
        await pilot.press("escape")
        await finish_reply(pilot)


# -- replay -------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def replay_session_fixture() -> Session:
    session = new_session(session_id="20261106-090000-eeee")
    session.title = "Replayed"
    session.turns = [
        make_turn("first question", "First answer here.", reasoning="Reasoning one."),
        make_turn("second question", "Second answer.", finish="cancelled", usd=0.002),
    ]
    return session


async def test_replay_plays_the_recorded_text_and_stats() -> None:
    session = replay_session_fixture()
    app = ChatApp(Settings(), "demo", env={}, replay=session, replay_speed=0)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await wait_for(pilot, lambda: screen.done)
        await pilot.pause()
        first, second = screen.turns
        assert first.reasoning.text == "Reasoning one."
        assert first.answer.text == "First answer here."
        assert rendered(first.status) == rendered_line(session.turns[0])
        assert rendered(second.status).startswith("cancelled · TTFT 100ms")
        assert rendered(screen.stats).endswith("session $0.0030")
        assert screen.sub_title == "replay · speed instant · done"
        assert screen.title == "Replayed"
        await pilot.press("escape")  # opened on its own: closing it quits
    assert app.return_code == 0
    assert files() == []  # replay writes nothing


def rendered_line(turn: Turn) -> str:
    return reply_line(turn.to_reply()).plain


class SteppedSleep:
    """The replay's sleep, stepped by the test: each sleep returns only when the test
    lets one go, so "the replay waited a while" is a count of its polls, not seconds."""

    def __init__(self) -> None:
        self.calls = 0
        self._gate = asyncio.Semaphore(0)

    async def __call__(self, seconds: float) -> None:
        self.calls += 1
        await self._gate.acquire()

    async def polls(self, pilot: Any, count: int) -> None:
        """Let ``count`` sleeps end, and wait until the replay has slept again after each
        (so it has looked at the clock ``count`` times)."""
        target = self.calls + count
        for _ in range(count):
            self._gate.release()
        await wait_for(pilot, lambda: self.calls >= target)

    def let_go(self) -> None:
        """End the sleep in progress without waiting for another."""
        self._gate.release()


async def test_replay_pauses_resumes_and_skips() -> None:
    clock = FakeClock()
    sleep = SteppedSleep()
    session = replay_session_fixture()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = ReplayScreen(session, speed=1, clock=clock, sleep=sleep)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: len(screen.turns) == 1 and sleep.calls == 1)
        (first,) = screen.turns  # waiting for the reasoning, 100 ms in
        assert screen.sub_title == "replay · speed 1×"
        await pilot.press("space")
        assert screen.sub_title == "replay · speed 1× · paused"
        clock.now += 100  # time passes while paused: the replay does not move
        await sleep.polls(pilot, 3)
        first.flush()  # anything queued would be shown now
        assert first.reasoning.text == "" and len(screen.turns) == 1
        await pilot.press("space")
        assert screen.sub_title == "replay · speed 1×"
        await sleep.polls(pilot, 3)
        first.flush()
        assert first.reasoning.text == ""  # the paused time does not count
        clock.now += 0.15  # past the reasoning (100 ms), before the answer (200 ms)
        await sleep.polls(pilot, 1)  # it slept again: now waiting for the answer
        first.flush()
        assert first.reasoning.text == "Reasoning one."
        assert first.answer.text == "" and first.reply is None
        await pilot.press("s")
        sleep.let_go()  # the sleep in progress ends; skipping, the replay sleeps no more
        await wait_for(pilot, lambda: screen.done)
        assert screen.sub_title == "replay · speed 1× · done"
        assert [t.answer.text for t in screen.turns] == ["First answer here.", "Second answer."]
        assert rendered(screen.turns[0].status) == rendered_line(session.turns[0])


async def test_replay_key_replays_this_chat_over_it() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)
        assert any("Nothing to replay" in text for text in toasts(app))
        await send(pilot, "Explain Python generators")
        await finish_reply(pilot)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        await pilot.press("s")
        await wait_for(pilot, lambda: replay.done)
        (turn,) = replay.turns
        original = chat_turn_status(app)
        assert turn.answer.text == demo_answer("Explain Python generators")
        assert rendered(turn.status) == original
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))


def chat_turn_status(app: ChatApp) -> str:
    screen = app.screen_stack[0]
    assert isinstance(screen, ChatScreen)
    return rendered(screen.turns[0].status)


async def test_replay_from_the_sessions_screen_returns_to_it() -> None:
    three_sessions()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        sessions = await open_sessions(pilot, 3)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        await pilot.press("end")
        await wait_for(pilot, lambda: replay.done)
        assert replay.turns[0].answer.text == "hi"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is sessions)


# -- keys and commands --------------------------------------------------------------------


async def test_new_bindings_have_ids_and_palette_commands() -> None:
    ids = [binding.id for binding in ALL_BINDINGS]
    assert len(ids) == len(set(ids)) and all(ids)
    assert all(binding.tooltip for binding in ALL_BINDINGS)
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE):
        active = app.screen.active_bindings
        assert active["ctrl+l"].binding.id == "chat.new_session"
        assert active["ctrl+o"].binding.id == "chat.sessions"
        assert active["f5"].binding.id == "chat.replay"
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in ("New chat", "Sessions…", "Replay this chat"):
            assert title in titles


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
