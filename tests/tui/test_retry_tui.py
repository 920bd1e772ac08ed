"""Retries and cancelling in the TUI: the retry notice, Esc closing the connection (seen by
the fake server), and the retry key sending the failed turn's prompt again."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from tui_helpers import (
    SIZE,
    SteppingClock,
    chat,
    chunk,
    finish_reply,
    rendered,
    routed_factory,
    send,
    sse_body,
    sse_response,
)

from chatterm.config import Settings
from chatterm.sessions.model import Session
from chatterm.sessions.store import SessionStore, sessions_dir
from chatterm.tui.app import ChatApp
from chatterm.tui.widgets.turn import TurnView
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, Scenario
from tests.waiting import wait_for

SAFETY_TIMEOUT_S = 60.0  # a safety net against hangs only; no test depends on timing
OPENAI_ENV = {"OPENAI_API_KEY": "sk-test"}
BASE = Scenario()


def fake_env(server: FakeServer) -> dict[str, str]:
    return {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url + "/v1"}


def saved_session() -> Session:
    (path,) = sessions_dir().glob("*.json")
    return SessionStore().load(str(path))


def sent_messages(body: bytes) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in json.loads(body)["messages"]]


class GatedSleep:
    """A retry wait that lasts until the test opens the gate."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.gate = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.gate.wait()


async def instant(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_the_retry_notice_shows_while_waiting_then_the_reply_streams() -> None:
    statuses: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if not statuses:
            statuses.append(429)
            body = {"error": {"message": "Slow down", "type": "rate_limit_exceeded"}}
            return httpx.Response(429, headers={"retry-after-ms": "30000"}, json=body)
        statuses.append(200)
        return sse_response(sse_body(reasoning=["Hmm."], answer=["Hello ", "there."]))

    clock = SteppingClock()  # still: the countdown stays at 30 s
    app = ChatApp(
        Settings(),
        "openai:test",
        env=OPENAI_ENV,
        client_factory=routed_factory(handler),
        clock=clock,
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        sleep = screen.sleep = GatedSleep()
        await send(pilot, "hello")
        (turn,) = screen.turns
        await wait_for(pilot, lambda: turn.has_class("-retrying"))
        await wait_for(pilot, lambda: "retrying in 30 s" in rendered(screen.stats))

        notice = "retrying in 30 s: HTTP 429 rate limited (retry 1 of 2)"
        assert rendered(turn.notice) == notice
        assert rendered(screen.stats).startswith(f"↻ {notice} · openai:test")
        assert sleep.waits == [30.0]
        assert statuses == [429]

        clock.now += 31  # the wait is over: the bar says the retry is under way
        await wait_for(pilot, lambda: "retry 1 of 2 after HTTP 429" in rendered(screen.stats))
        sleep.gate.set()
        await finish_reply(pilot)

        assert statuses == [429, 200]
        assert not turn.has_class("-retrying")
        assert turn.reply is not None and turn.reply.finish_reason == "stop"
        assert turn.reply.text == "Hello there." and turn.reply.error is None
        assert "retrying" not in rendered(turn)
        assert "retries" not in rendered(screen.stats)  # nothing to retry now


async def test_when_every_retry_fails_the_error_says_so_and_the_key_sends_it_again() -> None:
    failures = 3

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal failures
        if failures:
            failures -= 1
            return httpx.Response(503, text="upstream connect error")
        return sse_response(sse_body(answer=["Back."]))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        screen.sleep = instant
        await send(pilot, "hello")
        await finish_reply(pilot)
        (failed,) = screen.turns
        assert failed.reply is not None and failed.reply.finish_reason == "error"
        status = " ".join(rendered(failed.status).split())
        assert "upstream connect error" in status and "(after 2 retries)" in status
        assert not failed.has_class("-retrying")
        assert rendered(screen.stats).split("\n")[-1].startswith("Ctrl+G retries  session ")
        assert screen.check_action("retry", ()) is True

        await pilot.press("ctrl+g")
        await finish_reply(pilot)
        first, second = screen.turns
        assert first is failed
        assert second.prompt == "hello"
        assert second.reply is not None and second.reply.text == "Back."
        assert screen.check_action("retry", ()) is False


async def test_escape_closes_the_connection_keeps_the_reply_and_ctrl_g_sends_it_again(
    fake_server: FakeServer,
) -> None:
    answer_events = 3
    stall = BASE.but(stall_after=1 + len(BASE.reasoning_pieces) + answer_events)
    fake_server.queue(BASE, stall, BASE, BASE)
    app = ChatApp(Settings(), "openai:test-model", env=fake_env(fake_server))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "one")
        await finish_reply(pilot)

        await send(pilot, "two")
        partial = "".join(BASE.answer_pieces[:answer_events])
        _, cancelled = screen.turns
        await wait_for(pilot, lambda: cancelled.answer.text == partial)
        request = fake_server.requests[1]
        assert not request.client_closed.is_set()
        await pilot.press("escape")
        # Seen from the server: the client hung up.
        assert await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)
        await finish_reply(pilot)
        assert cancelled.reply is not None and cancelled.reply.finish_reason == "cancelled"
        assert cancelled.reply.text == partial
        app.keeper.writer.wait()
        saved = saved_session().turns[1]
        assert (saved.finish_reason, saved.answer) == ("cancelled", partial)

        await pilot.press("ctrl+g")
        await finish_reply(pilot)
        await send(pilot, "three")
        await finish_reply(pilot)
        assert [turn.prompt for turn in screen.turns] == ["one", "two", "two", "three"]

    answer = BASE.answer
    # The retry follows the conversation before the cancelled turn, not the cancelled turn.
    assert sent_messages(fake_server.requests[2].body) == [
        ("user", "one"),
        ("assistant", answer),
        ("user", "two"),
    ]
    # And later prompts see the prompt once, with the answer that was retried for.
    assert sent_messages(fake_server.requests[3].body) == [
        ("user", "one"),
        ("assistant", answer),
        ("user", "two"),
        ("assistant", answer),
        ("user", "three"),
    ]
    session = saved_session()
    assert [t.finish_reason for t in session.turns] == ["stop", "cancelled", "stop", "stop"]
    assert session.turns[1].answer == partial  # the cancelled reply stays in the file


async def test_escape_while_the_model_has_said_nothing_yet_closes_the_connection(
    fake_server: FakeServer,
) -> None:
    fake_server.queue(Scenario(headers_delay_s=SAFETY_TIMEOUT_S), BASE)
    app = ChatApp(Settings(), "openai:test-model", env=fake_env(fake_server))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "hello")
        [request] = await asyncio.to_thread(fake_server.wait_for_requests, 1)
        await pilot.press("escape")
        assert await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)
        await finish_reply(pilot)
        (turn,) = screen.turns
        assert turn.reply is not None and turn.reply.finish_reason == "cancelled"

        await pilot.press("ctrl+g")
        await finish_reply(pilot)
        _, retried = screen.turns
        assert retried.reply is not None and retried.reply.text == BASE.answer
        assert sent_messages(fake_server.requests[1].body) == [("user", "hello")]


async def test_the_retry_key_does_nothing_after_a_reply_that_finished() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(sse_body(answer=["Fine."]))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        assert screen.check_action("retry", ()) is False  # no chat yet
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert screen.turns == []
        await send(pilot, "hello")
        await finish_reply(pilot)
        assert screen.check_action("retry", ()) is False
        await pilot.press("ctrl+g")
        await finish_reply(pilot)
        assert len(screen.turns) == 1
        assert "retries" not in rendered(screen.stats)


async def test_a_complete_reply_without_finish_reason_is_no_failure_to_retry() -> None:
    """The server never names a finish reason but ends with [DONE]: nothing was lost."""
    body = chunk({"role": "assistant", "content": ""}) + chunk({"content": "All here."})
    body += b"data: [DONE]\n\n"

    async def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(body)

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await send(pilot, "hello")
        await finish_reply(pilot)
        (turn,) = screen.turns
        assert turn.reply is not None
        assert (turn.reply.text, turn.reply.finish_reason) == ("All here.", "stop")
        assert screen.check_action("retry", ()) is False
        stats = rendered(screen.stats)
        assert "interrupted" not in stats and "1 warning" in stats


async def test_a_magistral_reply_shows_its_reasoning_and_answer() -> None:
    """Mistral's reasoning models send content as lists of thinking and text parts."""
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "Two and two."}]}
    body = chunk({"role": "assistant", "content": ""}) + chunk({"content": [thinking]})
    body += chunk({"content": [{"type": "text", "text": "It is **four**."}]}, "stop")
    body += b"data: [DONE]\n\n"

    async def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(body)

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "2 + 2?")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert "Two and two." in rendered(turn.reasoning.log_view)
        assert "It is four." in rendered(turn.answer)
        assert chat(app).check_action("retry", ()) is False


async def test_a_saved_chat_whose_last_reply_failed_can_be_retried() -> None:
    calls: list[Any] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(400, json={"error": {"message": "bad", "type": "x"}})
        return sse_response(sse_body(answer=["Good."]))

    factory = routed_factory(handler)
    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        await finish_reply(pilot)
        app.keeper.writer.wait()
    session_id = saved_session().id

    app = ChatApp(
        Settings(), "openai:test", env=OPENAI_ENV, client_factory=factory, session_ref=session_id
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await wait_for(pilot, lambda: len(screen.turns) == 1)
        assert screen.check_action("retry", ()) is True
        assert "Ctrl+G retries" in rendered(screen.stats)
        await pilot.press("ctrl+g")
        await finish_reply(pilot)
        last = screen.turns[-1]
        assert isinstance(last, TurnView) and last.reply is not None
        assert last.reply.text == "Good."
