"""Helpers for the TUI tests: fake servers, a stepping clock, screen text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest
from textual import events
from textual.geometry import Region
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widget import Widget

from chatterm.network.stream import make_client
from chatterm.providers.demo import DemoScript
from chatterm.providers.registry import ResolvedModel
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.chat import ChatScreen
from tests.waiting import wait_for

SIZE = (120, 40)
Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    """One Chat Completions SSE event."""
    data = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": "test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def sse_body(
    reasoning: Sequence[str] = (),
    answer: Sequence[str] = (),
    finish: str = "stop",
    usage: dict[str, int] | None = None,
) -> bytes:
    parts = [chunk({"role": "assistant", "content": ""})]
    parts += [chunk({"reasoning_content": piece}) for piece in reasoning]
    parts += [chunk({"content": piece}) for piece in answer]
    parts.append(chunk({}, finish))
    if usage is not None:
        data = {"id": "chatcmpl-test", "choices": [], "usage": usage}
        parts.append(b"data: " + json.dumps(data).encode() + b"\n\n")
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def routed_factory(handler: Handler) -> Callable[[ResolvedModel], httpx.AsyncClient]:
    """Demo models keep their own transport; every other model is served by ``handler``."""

    def factory(target: ResolvedModel) -> httpx.AsyncClient:
        if target.provider.transport() is not None:
            return make_client(target)
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    return factory


class HangingStream(httpx.AsyncByteStream):
    """A response body that sends some chunks, then (unless ``hang`` is false) nothing
    more until closed.

    It records how it ended: ``closed`` when httpx closed it (``aclose``), ``finalized``
    when its iterator was shut down (cancelled or garbage-collected mid-iteration).
    """

    def __init__(
        self, chunks: Sequence[bytes], *, interval_s: float = 0.0, hang: bool = True
    ) -> None:
        self.chunks = list(chunks)
        self.interval_s = interval_s
        self.hang = hang
        self.sent = 0
        self.closed = False
        self.finalized = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            for chunk in self.chunks:
                if self.interval_s:
                    await asyncio.sleep(self.interval_s)
                self.sent += 1
                yield chunk
            if self.hang:
                await asyncio.Event().wait()  # a server that goes quiet
        finally:
            self.finalized = True

    async def aclose(self) -> None:
        self.closed = True


def hanging_response(stream: HangingStream) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=stream)


class CountingFactory:
    """A client factory that keeps every client it made, and how often it was asked."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.made: list[tuple[str, httpx.AsyncClient]] = []

    def __call__(self, target: ResolvedModel) -> httpx.AsyncClient:
        transport = target.provider.transport() or httpx.MockTransport(self.handler)
        client = httpx.AsyncClient(transport=transport)
        self.made.append((target.provider.name, client))
        return client


class SteppingClock:
    """A clock that moves only when the fake server sends something: exact metrics."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stepped_demo_factory(clock: SteppingClock) -> Callable[[ResolvedModel], httpx.AsyncClient]:
    """The demo's byte stream, one SSE event per read, 300 ms then 20 ms apart on ``clock``."""

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        messages = body["messages"]
        prompt = [m["content"] for m in messages if m["role"] == "user"][-1]
        chars = sum(len(m["content"]) for m in messages)
        script = DemoScript(body["model"], prompt, chars, paced=False)

        async def stream() -> AsyncIterator[bytes]:
            clock.now += 0.3
            for piece in script.events():
                clock.now += 0.02
                yield piece

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())

    def factory(target: ResolvedModel) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    return factory


def chat(app: ChatApp) -> ChatScreen:
    screen = app.screen
    assert isinstance(screen, ChatScreen)
    return screen


def rendered(widget: Widget) -> str:
    """The text a widget draws, line by line, stripped; a container's children in turn."""
    if widget.children:
        return "\n".join(rendered(child) for child in widget.children if child.display)
    width, height = widget.outer_size
    lines = [strip.text.strip() for strip in widget.render_lines(Region(0, 0, width, height))]
    return "\n".join(lines).strip("\n")


def key_event(character: str) -> events.Key:
    """The key event a terminal reports for one typed character, named as
    :meth:`Pilot.press` names it."""
    if character == " ":
        return events.Key("space", " ")
    name = character if character.isalnum() else _character_to_key(character)
    return events.Key(name, character if character.isprintable() else None)


async def type_text(pilot: Pilot[Any], text: str) -> None:
    """Type ``text`` as a fast typist or ``tmux send-keys`` does: the characters of a line
    are queued at once, in order, and the prompt inserts them as they come (Pilot.press
    waits about 0.1 s after each key). A line break is Ctrl+J, chatterm's newline key: a
    binding, which runs only once the key has gone up from the prompt to the screen, so
    it is pressed on its own, after the characters before it are in."""
    for number, line in enumerate(text.split("\n")):
        if number:
            await pilot.press("ctrl+j")
        for character in line:
            pilot.app.post_message(key_event(character))
        await pilot.pause()
        await pilot.pause()  # the keys reached the focused widget in the first pass


async def send(pilot: Pilot[Any], text: str) -> None:
    await type_text(pilot, text)
    await pilot.press("enter")


async def finish_reply(pilot: Pilot[Any]) -> None:
    """Wait for the reply in flight and the frame after it."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def lines_of(text: str) -> Iterator[str]:
    return (line for line in text.splitlines() if line.strip())


class SaveChecks:
    """Counts the app's save checks (the clock that saves what it remembers and reports a
    failed save), so a test waits for the next check instead of for half a second.

    Create it before the app mounts: the clock is set up then.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, every_s: float = 0.05) -> None:
        self.count = 0
        check = ChatApp._report_save_error
        monkeypatch.setattr("chatterm.tui.app.SAVE_CHECK_S", every_s)  # the same clock, faster

        def counted(app: ChatApp) -> None:
            check(app)
            self.count += 1

        monkeypatch.setattr(ChatApp, "_report_save_error", counted)

    async def next(self, pilot: Pilot[Any]) -> None:
        """Wait until a save check has run after this call."""
        target = self.count + 1
        await wait_for(pilot, lambda: self.count >= target, what="a save check")


def palette_hits(app: ChatApp) -> list[str]:
    """The command palette's hits as listed, best first (none while it is not open)."""
    from textual.command import CommandList, CommandPalette

    palette = app.screen
    if not isinstance(palette, CommandPalette):
        return []
    return [option.hit.text or "" for option in palette.query_one(CommandList).options]
