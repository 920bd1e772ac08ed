"""A session opened in the TUI whose attached file is missing from the store: the chat
says so once (naming the file and the session, as data) and opens all the same."""

from __future__ import annotations

from textual.widgets._toast import Toast
from tui_helpers import SIZE, chat

from chatterm.attachments import make_attachment
from chatterm.config import Settings
from chatterm.events import Usage
from chatterm.reply.accumulate import Reply
from chatterm.reply.metrics import Metrics
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.store import SessionStore
from chatterm.tui.app import ChatApp
from tests.waiting import wait_for

HOSTILE = make_attachment("\x1b[2Jwiped\u202e.txt", b"notes\n")


def saved_with_missing_file() -> str:
    keeper = SessionKeeper(SessionStore())
    recorder = keeper.begin_turn("what do these say?", "demo:fast", attachments=(HOSTILE,))
    reply = Reply("demo:fast", "", "Nothing much.", "stop", Usage(), Metrics())
    recorder.done(reply)
    keeper.close()
    assert recorder.session is not None
    (keeper.store.attachments.folder / HOSTILE.sha256).unlink()
    return recorder.session.id


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


async def test_a_missing_attachment_is_reported_and_the_turn_opens() -> None:
    session_id = saved_with_missing_file()
    app = ChatApp(Settings(), "demo:fast", env={}, session_ref=session_id)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == 1, what="the turn")
        await wait_for(
            pilot, lambda: any("is missing" in text for text in toasts(app)), what="the notice"
        )
        [notice] = [text for text in toasts(app) if "is missing" in text]
        assert session_id in notice and "wiped" in notice
        assert "\x1b" not in notice and "\u202e" not in notice
        assert app.keeper.history("next")[0].attachments == ()  # sent without it
