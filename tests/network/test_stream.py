"""stream_reply's own error handling, through httpx.MockTransport (no sockets needed)."""

from __future__ import annotations

import gzip

import httpx

from chatterm.config import ProviderConfig, Settings
from chatterm.events import Conversation, Message
from chatterm.providers.registry import resolve_model
from chatterm.reply.live import ReplyStream

CONVERSATION = Conversation((Message("user", "hi"),))


def settings_with(base_url: str) -> Settings:
    return Settings(providers={"box": ProviderConfig("box", base_url, local=True)})


async def reply_from(base_url: str, transport: httpx.AsyncBaseTransport | None = None):  # type: ignore[no-untyped-def]
    settings = settings_with(base_url)
    target = resolve_model("box:m", settings, {})
    client = httpx.AsyncClient(transport=transport) if transport else httpx.AsyncClient()
    async with client:
        stream = ReplyStream(target, CONVERSATION, settings, client=client)
        async for _ in stream.events():
            pass
        return stream.reply()


async def test_invalid_base_url_is_one_line_error() -> None:
    reply = await reply_from("http://[::1")
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert reply.error.message.startswith("box has an invalid base URL")


async def test_unsupported_scheme_names_the_fix() -> None:
    reply = await reply_from("ftp://127.0.0.1/v1")
    assert reply.finish_reason == "error"
    assert reply.error is not None and "needs http(s)" in reply.error.message


async def test_broken_gzip_body_keeps_what_arrived() -> None:
    good = b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    body = gzip.compress(good)[:-12] + b"\x00garbage"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "content-encoding": "gzip"},
            content=body,
        )

    reply = await reply_from("http://127.0.0.1:1/v1", httpx.MockTransport(handler))
    assert reply.finish_reason in ("interrupted", "error")
    assert reply.error is not None and "could not be decoded" in reply.error.message
