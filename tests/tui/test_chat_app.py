"""The chat screen end to end, through Pilot, against the demo and fake servers."""

from __future__ import annotations

import gc
import json
import weakref
from typing import Any

import httpx
import pytest
from textual import events
from textual.widgets import Collapsible, Header
from textual.widgets._toast import Toast
from tui_helpers import (
    SIZE,
    CountingFactory,
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

from chatterm.config import NetworkSettings, Settings
from chatterm.events import Message, estimate_tokens
from chatterm.providers.demo import demo_answer
from chatterm.providers.registry import ResolvedModel
from chatterm.reply import live as stream_module
from chatterm.reply.accumulate import ReplyAccumulator
from chatterm.reply.live import ReplyStream
from chatterm.tui import memory as memory_module
from chatterm.tui.app import ChatApp
from chatterm.tui.bindings import CANCEL, NEWLINE, SEND, key_label
from chatterm.tui.memory import settle_memory
from chatterm.tui.screens import chat as chat_module
from chatterm.tui.widgets.reasoning_pane import ReasoningPane
from chatterm.tui.widgets.turn import TurnView
from tests.waiting import settle, wait_for

OPENAI_ENV = {"OPENAI_API_KEY": "sk-test"}


def toasts(app: ChatApp) -> list[str]:
    """The notifications on screen (the app must run with ``notifications=True``)."""
    return [toast.render().plain for toast in app.screen.query(Toast)]


def segment_text(turn: TurnView) -> str:
    """The answer pane as drawn."""
    return rendered(turn.answer)


async def test_demo_reply_fills_both_panes_and_the_stats() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Explain Python generators")
        await finish_reply(pilot)
        screen = chat(app)
        (turn,) = screen.turns
        assert turn.reply is not None and turn.reply.finish_reason == "stop"
        assert "Explain Python generators" in rendered(turn.query_one(".user-message"))
        assert rendered(turn.query_one(".model-label")) == "demo:fast"
        assert turn.reasoning.text.startswith("The user wrote “Explain Python generators”")
        assert "The user wrote" in rendered(turn.reasoning.log_view)
        answer = segment_text(turn)
        assert "About “Explain Python generators”" in answer
        assert "## About" not in answer  # rendered as Markdown, not shown as source
        assert 'print(f"{word:<12} {len(word):>3}")' in answer
        status = rendered(turn.status)
        assert status.startswith("TTFT ") and "$0 (local)" in status
        bar = rendered(screen.stats)
        for figure in ("TTFT", "answer", "total", "in ", "out ", "tok/s", "$0 (local)"):
            assert figure in bar
        assert bar.endswith("\nsession $0")
        assert screen.prompt.text == ""
        assert screen.history == [
            Message("user", "Explain Python generators"),
            Message("assistant", demo_answer("Explain Python generators")),
        ]


async def test_escape_keeps_the_partial_answer_marked_cancelled() -> None:
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "Explain Python generators")
        screen = chat(app)
        (turn,) = screen.turns
        await wait_for(pilot, lambda: "You asked" in turn.answer.text)
        await pilot.press("escape")
        await finish_reply(pilot)
        reply = turn.reply
        assert reply is not None and reply.finish_reason == "cancelled"
        full = demo_answer("Explain Python generators")
        assert reply.text and full.startswith(reply.text) and reply.text != full
        assert turn.has_class("-cancelled")
        assert rendered(turn.status).startswith("cancelled · TTFT")
        assert rendered(screen.stats).startswith("cancelled · TTFT")
        assert rendered(screen.stats).endswith("\nCtrl+G retries  session $0")
        assert "About “Explain Python generators”" in segment_text(turn)
        # The partial answer is history: the next prompt continues from it.
        assert screen.history[-1] == Message("assistant", reply.text)
        assert screen.conversation_for("go on", screen.target).messages[-2:] == (  # type: ignore[arg-type]
            Message("assistant", reply.text),
            Message("user", "go on"),
        )


async def test_enter_while_streaming_does_not_send() -> None:
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "first")
        await send(pilot, "second")
        await pilot.pause()
        screen = chat(app)
        assert len(screen.turns) == 1
        assert screen.prompt.text == "second"
        await wait_for(
            pilot, lambda: any("a reply is streaming" in text.lower() for text in toasts(app))
        )
        await pilot.press("escape")
        await finish_reply(pilot)


async def test_model_key_switches_the_header_and_the_next_turn() -> None:
    requests: list[dict[str, Any]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(json.loads(request.content))
        return sse_response(sse_body(answer=["Hello ", "from test."]))

    settings = Settings(model_cycle=("demo:fast", "openai:test"))
    app = ChatApp(settings, "demo:fast", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        header = app.screen.query_one(Header)
        assert screen.sub_title == "model: demo:fast"
        await send(pilot, "one")
        await finish_reply(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.sub_title == "model: openai:test"
        assert "model: openai:test" in rendered(header)
        await send(pilot, "two")
        await finish_reply(pilot)
        first, second = screen.turns
        assert rendered(first.query_one(".model-label")) == "demo:fast"
        assert rendered(second.query_one(".model-label")) == "openai:test"
        assert second.reply is not None and second.reply.text == "Hello from test."
        # The new model got the whole conversation, answers without reasoning.
        (body,) = requests
        assert body["model"] == "test"
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("user", "one"),
            ("assistant", demo_answer("one")),
            ("user", "two"),
        ]
        # An unknown price: the session cost says so.
        assert rendered(screen.stats).endswith("\nsession $0 + unknown")
        # The cycle wraps around to the first configured model.
        await pilot.press("ctrl+n")
        assert screen.sub_title == "model: demo:fast"


async def test_model_without_a_key_is_selectable_but_does_not_send() -> None:
    settings = Settings(model_cycle=("demo:fast", "openai:gpt-5-mini"))
    app = ChatApp(settings, "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.sub_title == "model: openai:gpt-5-mini · no key"
        assert any("OPENAI_API_KEY" in text for text in toasts(app))
        await send(pilot, "hello")
        await pilot.pause()
        assert screen.turns == []
        assert screen.prompt.text == "hello"
        assert sum("OPENAI_API_KEY" in text for text in toasts(app)) == 2


async def test_model_output_cannot_reach_the_terminal_as_escapes_or_markup() -> None:
    evil = "[bold red]x[/] \x1b]52;c;ZXZpbA==\x07 \x1b[2J \x9b31m"

    async def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(sse_body(reasoning=["think ", evil], answer=["Answer: ", evil]))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "say [b]hi[/b]")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        shown = "\n".join(
            [
                rendered(turn.query_one(".user-message")),
                rendered(turn.reasoning.log_view),
                segment_text(turn),
            ]
        )
        assert "say [b]hi[/b]" in shown
        assert shown.count("[bold red]x[/]") == 2
        assert shown.count("␛]52;c;ZXZpbA==␇") == 2
        assert shown.count("␛[2J") == 2
        for control in ("\x1b", "\x07", "\x9b"):
            assert control not in shown
        for source in turn.answer.sources:
            assert "\x1b" not in source
        # The history keeps what the model really sent.
        assert chat(app).history[-1] == Message("assistant", "Answer: " + evil)


async def test_model_names_are_shown_literally() -> None:
    name = "openai:[b]x[/b]\x1b[31m"
    app = ChatApp(Settings(), name, env=OPENAI_ENV)
    async with app.run_test(size=SIZE):
        header = rendered(app.screen.query_one(Header))
        assert "model: openai:[b]x[/b]␛[31m" in header


async def test_http_500_is_one_line_in_the_turn() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        error = {"error": {"message": "the server\nfell over", "type": "server_error"}}
        return httpx.Response(500, json=error)

    one_attempt = Settings(network=NetworkSettings(max_retries=0))  # see test_retry_tui.py
    factory = routed_factory(handler)
    app = ChatApp(one_attempt, "openai:test", env=OPENAI_ENV, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert turn.reply is not None and turn.reply.finish_reason == "error"
        status = rendered(turn.status).splitlines()
        assert status[0].startswith("error · TTFT")
        assert status[1] == (
            "error: HTTP 500 from openai: the server fell over [server_error]"
            " (server error; retry later)"
        )
        assert len(status) == 2
        assert turn.has_class("-error")
        assert rendered(chat(app).stats).startswith("error: HTTP 500 from openai")


async def test_an_unexpected_failure_is_one_line_not_a_traceback() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("surprise\nwith sk-abcdefghijklmnop inside")

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        error = rendered(turn.status).splitlines()[1]
        assert error.startswith("error: RuntimeError: surprise with sk-ab***")
        assert "abcdefghijklmnop" not in error


async def test_answer_that_was_reasoning_moves_to_the_reasoning_pane() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        # The model's chat template opened <think> in the prompt: only the close arrives.
        return sse_response(sse_body(answer=["still thinking\n", "</think>\n\n", "The answer."]))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert "still thinking" in turn.reasoning.text
        assert turn.answer.text == "The answer."
        assert segment_text(turn).strip() == "The answer."


async def test_reasoning_key_hides_and_shows_every_pane() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "one")
        await finish_reply(pilot)
        screen = chat(app)
        pane = screen.turns[0].reasoning
        contents = pane.query_one(Collapsible.Contents)
        assert not pane.collapsed and contents.display
        assert pane.log_view.region.height > 0
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert pane.collapsed and not contents.display
        assert pane.log_view.region.height == 0
        # A new turn follows the global setting.
        await send(pilot, "two")
        await finish_reply(pilot)
        assert all(p.collapsed for p in screen.query(ReasoningPane))
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert not any(p.collapsed for p in screen.query(ReasoningPane))
        assert pane.log_view.region.height > 0


async def test_a_paste_lands_once_with_its_line_ends_as_newlines() -> None:
    """A bracketed paste (what a terminal sends for Ctrl+Shift+V or tmux paste-buffer -p)
    is inserted exactly once: the user sends and pays for what they pasted, not twice."""
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await type_text(pilot, "say: ")
        app.post_message(events.Paste("plain paste one"))  # as the driver posts it
        await wait_for(pilot, lambda: "paste" in screen.prompt.text)
        await settle(pilot)
        assert screen.prompt.text == "say: plain paste one"
        app.post_message(events.Paste(" two\r\nthree\rfour"))
        await wait_for(pilot, lambda: "four" in screen.prompt.text)
        await settle(pilot)
        assert screen.prompt.text == "say: plain paste one two\nthree\nfour"


async def test_newline_key_inserts_a_newline() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await type_text(pilot, "a")
        await pilot.press("ctrl+j")
        await type_text(pilot, "b")
        await pilot.press("shift+enter")
        await type_text(pilot, "c")
        assert screen.prompt.text == "a\nb\nc"
        assert screen.turns == []
        await pilot.press("enter")
        await finish_reply(pilot)
        assert screen.turns[0].prompt == "a\nb\nc"


async def test_empty_prompt_does_nothing() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await send(pilot, "   ")
        await pilot.press("ctrl+j", "enter")
        assert chat(app).turns == []


async def test_keys_arriving_together_send_all_the_text() -> None:
    """A paste-like burst, as from tmux send-keys: Enter must not overtake the text."""
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        for char in "hello":
            app.post_message(events.Key(char, char))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause()
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert turn.prompt == "hello"


async def test_notice_shows_as_notification_and_in_the_empty_view() -> None:
    notice = "No API key found: running the offline demo model. [b]Set[/b] OPENAI_API_KEY"
    app = ChatApp(Settings(), "demo", notice=notice, env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert notice in rendered(app.screen.query_one("#welcome"))
        assert any(notice in text for text in toasts(app))


def answer_chunks(words: int) -> list[bytes]:
    """An answer as separate SSE events, one word each."""
    return [chunk({"role": "assistant", "content": ""})] + [
        chunk({"content": f"word{i} "}) for i in range(words)
    ]


async def test_escape_closes_the_connection_and_keeps_the_partial_answer() -> None:
    streams: list[HangingStream] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        streams.append(HangingStream(answer_chunks(5)))
        return hanging_response(streams[-1])

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        (turn,) = chat(app).turns
        await wait_for(pilot, lambda: "word4" in turn.answer.text)
        (stream,) = streams
        assert not stream.closed
        await pilot.press("escape")
        await finish_reply(pilot)
        assert stream.closed and stream.finalized
        reply = turn.reply
        assert reply is not None and reply.finish_reason == "cancelled"
        assert reply.text == "word0 word1 word2 word3 word4 "
        assert turn.has_class("-cancelled")
        assert "word4" in segment_text(turn)
        assert rendered(turn.status).startswith("cancelled · TTFT")
        assert chat(app).history[-1] == Message("assistant", reply.text)


async def test_quitting_mid_stream_is_clean() -> None:
    streams: list[HangingStream] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        streams.append(HangingStream(answer_chunks(3)))
        return hanging_response(streams[-1])

    factory = CountingFactory(handler)
    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        (turn,) = chat(app).turns
        await wait_for(pilot, lambda: "word2" in turn.answer.text)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    (stream,) = streams
    assert stream.closed and stream.finalized
    assert [client.is_closed for _, client in factory.made] == [True]


async def test_one_client_per_provider_for_the_whole_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Replies share their provider's client; nothing of a finished reply stays alive,
    not even when frozen for the collector mid-stream or cancelled; all close on exit."""
    monkeypatch.setattr(memory_module, "FREEZE_EVERY_S", 0.0)  # freeze every frame
    replies: list[weakref.ref[ReplyStream]] = []

    class TrackedStream(ReplyStream):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            replies.append(weakref.ref(self))

    monkeypatch.setattr(stream_module, "ReplyStream", TrackedStream)  # the one chat imports
    settled: list[int] = []

    def counting_settle() -> None:
        settle_memory()
        settled.append(len(settled))

    monkeypatch.setattr(chat_module, "settle_memory", counting_settle)
    streams: list[HangingStream] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        # Several frames per reply; the last one is cancelled while the server is quiet.
        prompt = json.loads(request.content)["messages"][-1]["content"]
        end = [] if prompt == "four" else [chunk({}, "stop"), b"data: [DONE]\n\n"]
        stream = HangingStream([*answer_chunks(6), *end], interval_s=0.01, hang=not end)
        streams.append(stream)
        return hanging_response(stream)

    settings = Settings(model_cycle=("demo:fast", "openai:test"))
    factory = CountingFactory(handler)
    app = ChatApp(settings, "demo:fast", env=OPENAI_ENV, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        for prompt in ("one", "two"):
            await send(pilot, prompt)
            await finish_reply(pilot)
        await pilot.press("ctrl+n")  # openai:test
        await send(pilot, "three")
        await finish_reply(pilot)
        await send(pilot, "four")  # cancelled half-way
        await wait_for(pilot, lambda: "word2" in screen.turns[-1].answer.text)
        settles = len(settled)
        await pilot.press("escape")
        await finish_reply(pilot)
        await wait_for(pilot, lambda: len(settled) > settles)  # the collector has settled
        assert [reply.finish_reason for reply in (t.reply for t in screen.turns) if reply] == [
            "stop",
            "stop",
            "stop",
            "cancelled",
        ]
        assert [name for name, _ in factory.made] == ["demo", "openai"]
        assert len(app.clients) == 2
        assert not any(client.is_closed for _, client in factory.made)
        assert screen.live is None and screen._worker is None
        gc.collect()
        assert len(replies) >= 4 and [reply() for reply in replies] == [None] * len(replies)
    assert all(client.is_closed for _, client in factory.made)
    assert all(stream.closed for stream in streams)


async def test_a_client_that_cannot_be_made_fails_the_turn_not_the_app() -> None:
    calls: list[str] = []

    def factory(target: ResolvedModel) -> httpx.AsyncClient:
        calls.append(target.ref)
        if len(calls) == 1:
            raise ImportError("Using SOCKS proxy, but the 'socksio' package is not installed.")
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    async def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(sse_body(answer=["fine now"]))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "one")
        await finish_reply(pilot)
        await send(pilot, "two")
        await finish_reply(pilot)
        first, second = chat(app).turns
        assert first.reply is not None and first.reply.finish_reason == "error"
        assert rendered(first.status).splitlines()[1] == (
            "error: ImportError: Using SOCKS proxy, but the 'socksio' package is not installed."
        )
        assert second.reply is not None and second.reply.text == "fine now"
        assert calls == ["openai:test", "openai:test"]  # tried again, then kept


async def test_the_live_token_count_does_not_build_the_reply_every_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[int] = []
    reply = ReplyAccumulator.reply

    def counting_reply(self: ReplyAccumulator, at: float | None = None) -> Any:
        built.append(1)
        return reply(self, at)

    monkeypatch.setattr(ReplyAccumulator, "reply", counting_reply)

    async def handler(request: httpx.Request) -> httpx.Response:
        return hanging_response(HangingStream(answer_chunks(40), interval_s=0.01))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        screen = chat(app)
        (turn,) = screen.turns
        await wait_for(pilot, lambda: "word39" in turn.answer.text)
        await wait_for(pilot, lambda: "tokens est." in rendered(screen.stats))
        # 40 words of 6 or 7 characters, about four characters a token.
        assert "● streaming · openai:test" in rendered(screen.stats)
        assert f"{estimate_tokens(turn.streamed_chars):,} tokens est." in rendered(screen.stats)
        assert turn.streamed_chars == len(turn.answer.text)
        assert built == []
        await pilot.press("escape")
        await finish_reply(pilot)
        assert len(built) == 1  # the final reply, once


async def test_bindings_have_ids_and_descriptions() -> None:
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE):
        active = app.screen.active_bindings
        ours = {"enter", "ctrl+j", "escape", "ctrl+r", "ctrl+n", "ctrl+q"}
        for key in ours:
            binding = active[key].binding
            assert binding.id and binding.description, key
        assert active["ctrl+q"].binding.action == "quit"
        assert [key_label(b) for b in (SEND, NEWLINE, CANCEL)] == ["Enter", "Ctrl+J", "Esc"]


async def test_objects_frozen_for_the_collector_are_released_at_exit() -> None:
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "hello")
        await finish_reply(pilot)
        await pilot.pause()
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


async def test_view_stays_pinned_to_the_bottom_unless_scrolled_up() -> None:
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=(80, 16)) as pilot:
        screen = chat(app)
        view = screen.conversation
        await send(pilot, "Explain Python generators")
        (turn,) = screen.turns
        await wait_for(pilot, lambda: view.max_scroll_y > 5)
        await wait_for(pilot, lambda: view.scroll_y == view.max_scroll_y)
        view.scroll_home(animate=False)  # the user scrolls up: the view lets go
        grown = view.max_scroll_y
        await wait_for(pilot, lambda: view.max_scroll_y > grown + 3)
        assert view.scroll_y == 0
        view.scroll_end(animate=False)  # back at the bottom: pinned again
        at = view.max_scroll_y
        await wait_for(pilot, lambda: view.max_scroll_y > at + 3)
        # Pinned, the view follows (a frame behind the growth); let go, it would stay at `at`.
        await wait_for(pilot, lambda: view.scroll_y == view.max_scroll_y > at + 3)
        assert screen.live is not None  # followed while streaming, not scrolled at its end
        await pilot.press("escape")
        await finish_reply(pilot)
        assert turn.reply is not None


async def test_a_bad_model_reference_does_not_crash() -> None:
    app = ChatApp(Settings(), "gpt-5-mini", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        assert screen.sub_title == "model: gpt-5-mini · not usable"
        await send(pilot, "hello")
        await pilot.pause()
        assert screen.turns == []
        assert any("needs a provider prefix" in text for text in toasts(app))
        await pilot.press("ctrl+n")  # the cycle still works
        assert screen.sub_title == "model: demo"


async def test_a_reply_worker_that_never_ran_still_ends_its_turn() -> None:
    """If the worker is cancelled before its first step, the turn still ends, cancelled."""
    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return sse_response(sse_body(answer=["never sent"]))

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await screen.send("hello")
        worker = screen._worker
        assert worker is not None
        screen.action_cancel_reply()  # before the event loop ever ran the worker's task
        await wait_for(pilot, lambda: screen.live is None)
        await pilot.pause()
        (turn,) = screen.turns
        assert turn.reply is not None and turn.reply.finish_reason == "cancelled"
        assert turn.has_class("-cancelled")
        assert screen.history == [Message("user", "hello")]
        assert worker.is_cancelled and requests == []
        assert screen._worker is None
