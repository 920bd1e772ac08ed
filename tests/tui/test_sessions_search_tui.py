"""The sessions screen's filter searching every chat's text: the chats found so are added
below those the filter matched, with the turn and the words highlighted, and Enter opens
such a chat at that turn (its branch shown, the turn selected)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from test_sessions_tui import make_turn, open_sessions, saved, table_rows, toasts
from tui_helpers import SIZE, chat, rendered, type_text

from chatterm.config import Settings
from chatterm.sessions.index import SEARCH_INDEX_NAME
from chatterm.sessions.model import new_session
from chatterm.sessions.store import SessionStore, sessions_dir
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.chat import ChatScreen
from chatterm.tui.screens.sessions import MATCH_STYLE, SessionsScreen
from tests.waiting import settle, wait_for


def chats() -> None:
    saved(
        "20261101-090000-aaaa",
        "Kitchen notes",
        [
            make_turn("How long to boil pasta?", "About 10 minutes."),
            make_turn("A sauce?", "Pesto: basil, pine nuts, \x1b[31m[b]parmesan[/b]."),
            make_turn("Dessert?", "Panna cotta."),
            make_turn("Coffee?", "An espresso."),
        ],
        "2026-11-01T09:00:00.000Z",
    )
    # An alternative off the active path holds the word.
    session = new_session(session_id="20261102-090000-bbbb")
    session.add(make_turn("Where to go?", "Lisbon."))
    session.add(make_turn("What to eat?", "Bacalhau."))
    session.rewind(1)
    session.add(make_turn("What to eat?", "Pastéis de nata, and some parmesan-free pasta."))
    session.show(1)
    session.title = "Trip ideas"
    session.created = session.updated = "2026-11-02T09:00:00.000Z"
    SessionStore().save(session)
    saved(
        "20261103-090000-cccc",
        "Parmesan shopping",
        [make_turn("Where to buy cheese?", "The market.")],
        "2026-11-03T09:00:00.000Z",
    )


def status(screen: SessionsScreen) -> str:
    return rendered(screen.query_one("#sessions-status"))


def highlighted(cell: Text) -> list[str]:
    return [cell.plain[span.start : span.end] for span in cell.spans if span.style == MATCH_STYLE]


async def search_for(pilot: Any, screen: SessionsScreen, words: str, rows: int) -> None:
    await type_text(pilot, words)
    await wait_for(
        pilot,
        lambda: screen._searched == words and screen.table.row_count == rows,
        what=f"the text searched for {words!r}",
    )


async def test_the_filter_finds_chats_by_their_text_below_the_others() -> None:
    chats()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_sessions(pilot, 3)
        await search_for(pilot, screen, "parmesan", 3)
        rows = table_rows(screen)
        # The title match first, at once; then the two found by their text, newest first.
        assert [row[0].splitlines()[0] for row in rows] == [
            "Parmesan shopping",
            "Trip ideas",
            "Kitchen notes",
        ]
        trip, kitchen = (screen.table.get_row_at(i) for i in (1, 2))
        assert trip[0].plain.splitlines()[1] == "↳ Pastéis de nata, and some parmesan-free…"
        assert trip[1].plain.splitlines()[1] == "turn 2 (alt) · answer"
        assert highlighted(trip[0]) == ["parmesan"]
        assert kitchen[0].plain.splitlines()[1] == "↳ …␛[31m[b]parmesan[/b]."
        assert kitchen[1].plain.splitlines()[1] == "turn 2 · answer"
        assert highlighted(kitchen[0]) == ["parmesan"]  # text, never markup
        assert "\x1b" not in kitchen[0].plain
        assert "1 of 3 chats match · 2 more hold the words in their text" in status(screen)
        assert (sessions_dir() / SEARCH_INDEX_NAME).exists()
        await pilot.press("down")
        await wait_for(pilot, lambda: "Enter opens it at turn 2" in status(screen))
        assert toasts(app) == []


async def test_phrases_prefixes_and_accents_in_the_filter() -> None:
    chats()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        await search_for(pilot, screen, "pasteis", 1)
        assert table_rows(screen)[0][0].startswith("Trip ideas")
        await pilot.press(*["backspace"] * len("pasteis"))
        await search_for(pilot, screen, '"panna cotta"', 1)
        assert highlighted(screen.table.get_row_at(0)[0]) == ["Panna cotta"]
        await pilot.press(*["backspace"] * len('"panna cotta"'))
        await search_for(pilot, screen, "espres*", 1)
        assert highlighted(screen.table.get_row_at(0)[0]) == ["espresso"]


async def test_enter_opens_a_chat_found_by_its_text_at_that_turn() -> None:
    chats()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        await search_for(pilot, screen, "pesto", 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        chat_screen = chat(app)
        await wait_for(pilot, lambda: len(chat_screen.turns) == 4)
        assert chat_screen.selected == 1  # the second turn, selected
        second = chat_screen.turns[1]
        assert second.has_class("-selected")
        await settle(pilot)
        assert (
            chat_screen.conversation.scroll_offset.y > 0
            or chat_screen.conversation.max_scroll_y == 0
        )


async def test_enter_on_an_alternative_shows_its_branch() -> None:
    chats()
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sessions(pilot, 3)
        await search_for(pilot, screen, "nata", 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChatScreen))
        chat_screen = chat(app)
        await wait_for(pilot, lambda: len(chat_screen.turns) == 2)
        session = app.keeper.session
        assert session is not None and session.path == [0, 2]  # the branch that holds it
        assert "Pastéis de nata" in chat_screen.turns[1].answer.text
        assert chat_screen.selected is None  # the last turn: shown at the end
        app.keeper.writer.wait()
    assert SessionStore().load("20261102-090000-bbbb").path == [0, 2]  # saved so


async def test_a_word_only_in_titles_adds_nothing_and_a_damaged_index_is_a_notice() -> None:
    chats()
    folder = sessions_dir()
    (folder / SEARCH_INDEX_NAME).write_bytes(b"not a database" * 100)
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await open_sessions(pilot, 3)
        await search_for(pilot, screen, "shopping", 1)
        assert status(screen).startswith("1 of 3 chats match · Enter opens")
        await wait_for(pilot, lambda: any("damaged" in text for text in toasts(app)))
