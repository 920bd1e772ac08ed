"""Branching in the TUI: regenerate, flip between alternatives, edit an earlier prompt,
undo; the history each next request carries is the active path (checked in the requests
the server received), and the session file holds every branch."""

from __future__ import annotations

import json
from typing import Any

import httpx
from tui_helpers import (
    SIZE,
    chat,
    finish_reply,
    rendered,
    routed_factory,
    send,
    sse_body,
    sse_response,
)

from chatterm.config import Settings
from chatterm.sessions.store import SessionStore
from chatterm.tui.app import ChatApp
from chatterm.tui.widgets.turn import TurnView
from tests.waiting import settle, wait_for

OPENAI_ENV = {"OPENAI_API_KEY": "sk-test"}


class Server:
    """Answers each request with a numbered answer, and keeps what each one sent."""

    def __init__(self, failing: tuple[int, ...] = ()) -> None:
        self.requests: list[list[tuple[str, str]]] = []
        self.failing = failing  # the requests (from 1) answered with HTTP 400

    async def handler(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append([(m["role"], m["content"]) for m in body["messages"]])
        if len(self.requests) in self.failing:
            return httpx.Response(400, json={"error": {"message": "bad request"}})
        return sse_response(sse_body(answer=[f"answer {len(self.requests)}"]))

    def last_sent(self) -> list[tuple[str, str]]:
        return self.requests[-1]


def messages(*texts: str) -> list[tuple[str, str]]:
    """User and assistant messages, taking turns, starting with the user."""
    return [("user" if i % 2 == 0 else "assistant", text) for i, text in enumerate(texts)]


def label(view: TurnView) -> str:
    return rendered(view.query_one(".model-label"))


def answers(app: ChatApp) -> list[str]:
    return [view.reply.text if view.reply else "" for view in chat(app).turns]


async def test_retrying_twice_sends_the_prompt_once(isolated_home: Any) -> None:
    server = Server(failing=(2, 3))
    app, running = await start(server)
    async with running as pilot:
        await send(pilot, "A")
        await finish_reply(pilot)
        await send(pilot, "B")
        await finish_reply(pilot)
        for _ in range(2):
            await pilot.press("ctrl+g")
            await finish_reply(pilot)
        assert len(server.requests) == 4
        assert server.last_sent() == messages("A", "answer 1", "B")


async def start(server: Server) -> tuple[ChatApp, Any]:
    settings = Settings(model_cycle=("openai:test", "openai:other"))
    app = ChatApp(
        settings, "openai:test", env=OPENAI_ENV, client_factory=routed_factory(server.handler)
    )
    return app, app.run_test(size=SIZE, notifications=True)


async def test_regenerate_keeps_both_replies_and_flipping_decides_the_history(
    isolated_home: Any,
) -> None:
    server = Server()
    app, running = await start(server)
    async with running as pilot:
        await send(pilot, "first")
        await finish_reply(pilot)
        await send(pilot, "second")
        await finish_reply(pilot)
        await pilot.press("ctrl+n")  # regenerate on another model
        await pilot.press("alt+r")
        await finish_reply(pilot)
        assert server.last_sent() == [
            ("user", "first"),
            ("assistant", "answer 1"),
            ("user", "second"),
        ]
        assert answers(app) == ["answer 1", "answer 3"]
        last = chat(app).turns[-1]
        assert label(last).startswith("◀ 2/2 ▶") and "openai:other" in label(last)
        assert last.reply is not None and last.reply.model == "openai:other"

        await pilot.press("alt+left")  # back to the first alternative, with its own figures
        await wait_for(pilot, lambda: answers(app) == ["answer 1", "answer 2"], what="flipped")
        last = chat(app).turns[-1]
        assert label(last).startswith("◀ 1/2 ▶") and "openai:test" in label(last)
        await send(pilot, "third")
        await finish_reply(pilot)
        assert server.last_sent()[-3:] == [
            ("user", "second"),
            ("assistant", "answer 2"),
            ("user", "third"),
        ]

        session = app.keeper.session
        assert session is not None
        app.keeper.writer.wait()
        saved = SessionStore().load(session.id)
        assert [t.answer for t in saved.tree] == ["answer 1", "answer 2", "answer 3", "answer 4"]
        assert [t.answer for t in saved.turns] == ["answer 1", "answer 2", "answer 4"]
        assert "incl. alternatives" in rendered(chat(app).stats)


async def test_editing_an_earlier_prompt_forks_and_the_old_branch_comes_back(
    isolated_home: Any,
) -> None:
    server = Server()
    app, running = await start(server)
    async with running as pilot:
        for text in ("one", "two", "three"):
            await send(pilot, text)
            await finish_reply(pilot)
        await pilot.press("alt+up", "alt+up")  # select turn 2
        await settle(pilot)
        assert [view.has_class("-selected") for view in chat(app).turns] == [False, True, False]
        await pilot.press("alt+e")
        await settle(pilot)
        screen = chat(app)
        assert screen.prompt.text == "two" and "editing turn 2" in str(screen.prompt.border_title)
        screen.prompt.load_text("two, rewritten")
        await pilot.press("enter")
        await finish_reply(pilot)
        assert server.last_sent() == [
            ("user", "one"),
            ("assistant", "answer 1"),
            ("user", "two, rewritten"),
        ]
        assert [view.prompt for view in chat(app).turns] == ["one", "two, rewritten"]
        assert label(chat(app).turns[-1]).startswith("◀ 2/2 ▶")

        await pilot.press("alt+left")  # the old branch, with the turn after it
        await wait_for(pilot, lambda: len(chat(app).turns) == 3, what="the old branch shown")
        assert [view.prompt for view in chat(app).turns] == ["one", "two", "three"]
        assert label(chat(app).turns[1]).startswith("◀ 1/2 ▶")
        await send(pilot, "four")
        await finish_reply(pilot)
        assert server.last_sent() == messages(
            "one", "answer 1", "two", "answer 2", "three", "answer 3", "four"
        )


async def test_escape_leaves_the_edit_and_nothing_changes(isolated_home: Any) -> None:
    server = Server()
    app, running = await start(server)
    async with running as pilot:
        await send(pilot, "one")
        await finish_reply(pilot)
        await pilot.press("alt+e")
        await settle(pilot)
        assert chat(app).prompt.text == "one"
        await pilot.press("escape")
        await settle(pilot)
        assert chat(app).prompt.text == "" and chat(app).editing is None
        await send(pilot, "two")
        await finish_reply(pilot)
        assert [view.prompt for view in chat(app).turns] == ["one", "two"]


async def test_undo_takes_the_exchange_off_and_keeps_it(isolated_home: Any) -> None:
    server = Server()
    app, running = await start(server)
    async with running as pilot:
        await send(pilot, "one")
        await finish_reply(pilot)
        await send(pilot, "oops")
        await finish_reply(pilot)
        await pilot.press("alt+u")
        await wait_for(pilot, lambda: len(chat(app).turns) == 1, what="the exchange undone")
        await send(pilot, "instead")
        await finish_reply(pilot)
        assert server.last_sent() == [
            ("user", "one"),
            ("assistant", "answer 1"),
            ("user", "instead"),
        ]
        assert label(chat(app).turns[-1]).startswith("◀ 2/2 ▶")
        session = app.keeper.session
        assert session is not None
        assert [t.prompt for t in session.tree] == ["one", "oops", "instead"]
        await pilot.press("alt+left")
        await wait_for(pilot, lambda: answers(app)[-1] == "answer 2", what="the undone one back")


async def test_branch_keys_on_an_empty_chat_say_so(isolated_home: Any) -> None:
    server = Server()
    app, running = await start(server)
    async with running as pilot:
        for key in ("alt+r", "alt+u", "alt+e"):
            await pilot.press(key)
        await settle(pilot)
        assert chat(app).turns == [] and server.requests == []


async def test_redo_brings_back_what_undo_took_off(isolated_home: Any) -> None:
    server = Server()
    app, running = await start(server)
    async with running as pilot:
        for text in ("one", "two"):
            await send(pilot, text)
            await finish_reply(pilot)
        await pilot.press("alt+u", "alt+u")  # down to an empty conversation
        await wait_for(pilot, lambda: chat(app).turns == [], what="everything undone")
        await pilot.press("alt+y")  # back come "one" and, below it in its branch, "two"
        await wait_for(pilot, lambda: len(chat(app).turns) == 2, what="redone")
        assert answers(app) == ["answer 1", "answer 2"]
        await send(pilot, "three")
        await finish_reply(pilot)
        assert server.last_sent() == messages("one", "answer 1", "two", "answer 2", "three")
        await pilot.press("alt+y")
        await settle(pilot)
        assert len(chat(app).turns) == 3  # nothing undone: nothing to redo


async def test_a_new_chat_ends_an_edit_in_progress(isolated_home: Any) -> None:
    server = Server()
    app, running = await start(server)
    async with running as pilot:
        for text in ("one", "two"):
            await send(pilot, text)
            await finish_reply(pilot)
        await pilot.press("alt+e")
        await settle(pilot)
        await pilot.press("ctrl+l")
        await settle(pilot)
        screen = chat(app)
        assert screen.editing is None and not screen.prompt.border_title
        assert screen.prompt.text == ""
        await send(pilot, "fresh")
        await finish_reply(pilot)
        assert server.last_sent() == messages("fresh")
