"""The built-in demo model: offline, no key, and still the real pipeline.

``demo`` answers through a scripted Chat Completions byte stream served by an
``httpx.MockTransport``, so its reply goes through the same HTTP client, SSE decoder and
translator as a real provider's. It reasons for a few sentences (``reasoning_content``, the
DeepSeek dialect), then writes a Markdown answer about the prompt with a list, a fenced code
block and a table, paced like a real model (TTFT ~300 ms, ~50 tokens/s). ``demo:fast`` is
the same without pacing. Usage is reported; the cost is $0.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from chatterm.events import estimate_tokens
from chatterm.providers.base import Provider
from chatterm.providers.endpoint import Endpoint
from chatterm.providers.openai_compat import ChatCompletionsFormat

if TYPE_CHECKING:
    import httpx

DEMO_URL = "http://demo.chatterm.invalid/v1"
FIRST_TOKEN_DELAY_S = 0.3
TOKEN_INTERVAL_S = 0.02  # 50 tokens/s
_TOKEN = re.compile(r"\s*\S{1,5}|\s+")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
_STOPWORDS = frozenset(
    "the and for are but not you your with this that what when where which how why who "
    "can could would should does did have has had was were will about from into tell "
    "explain please give show some any there their them they its it's just like".split()
)


def split_tokens(text: str) -> list[str]:
    """Cut text into token-sized pieces (about four characters, spaces leading)."""
    return _TOKEN.findall(text)


def _topic(prompt: str) -> str:
    first_line = next((line.strip() for line in prompt.splitlines() if line.strip()), "")
    topic = first_line.rstrip("?!.").strip() or "your message"
    return topic if len(topic) <= 60 else topic[:57].rstrip() + "…"


def _keywords(prompt: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(prompt):
        lower = word.lower()
        if lower not in _STOPWORDS:
            seen.setdefault(lower, None)
    words = list(seen)
    return words[:4] or ["streaming", "reasoning", "markdown"]


_POINTS = (
    "what it is, and where it fits in the question.",
    "the part that most often surprises people at first.",
    "how it behaves at the edges: empty input, huge input, errors.",
    "how to check it works: a tiny example you can run.",
)


def demo_reasoning(prompt: str) -> str:
    topic = _topic(prompt)
    words = ", ".join(_keywords(prompt))
    return (
        f"The user wrote “{topic}”. The words that matter most seem to be {words}. "
        "I should answer with a short overview first, then the key points as a list. "
        "A small code example will make it concrete, and a table can compare the parts. "
        "I am the offline demo model, so I will also say how to connect a real one."
    )


def demo_answer(prompt: str) -> str:
    topic = _topic(prompt)
    words = _keywords(prompt)
    points = "\n".join(
        f"{i}. **{word.capitalize()}**: {_POINTS[(i - 1) % len(_POINTS)]}"
        for i, word in enumerate(words, 1)
    )
    rows = "\n".join(f"| {word} | {len(word)} | {word[::-1]} |" for word in words)
    code_words = json.dumps(words)
    return (
        f"## About “{topic}”\n\n"
        f"You asked: *{topic}*. I am chatterm's **offline demo model**: I cannot think "
        "about it for real, but I can show how a reply streams, with my reasoning in its own "
        "pane and this answer rendered as Markdown.\n\n"
        f"Key points:\n\n{points}\n\n"
        "A little code that works with the same words:\n\n"
        "```python\n"
        f"words = {code_words}\n"
        "for word in sorted(words, key=len):\n"
        '    print(f"{word:<12} {len(word):>3}")\n'
        "```\n\n"
        "| word | letters | reversed |\n"
        "|------|--------:|----------|\n"
        f"{rows}\n\n"
        "To talk to a real model, set `OPENAI_API_KEY` (or add an OpenAI-compatible server "
        "to `config.toml`) and switch model with **Ctrl+N**."
    )


class DemoScript:
    """The Chat Completions byte stream the demo server sends for one request."""

    def __init__(self, model: str, prompt: str, prompt_chars: int, *, paced: bool) -> None:
        self.model = model
        self.paced = paced
        self.reasoning_tokens = split_tokens(demo_reasoning(prompt))
        self.answer_tokens = split_tokens(demo_answer(prompt))
        self.prompt_tokens = estimate_tokens(prompt_chars)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-demo",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n"

    def events(self) -> Iterator[bytes]:
        yield self._chunk({"role": "assistant", "content": None, "reasoning_content": ""})
        for token in self.reasoning_tokens:
            yield self._chunk({"content": None, "reasoning_content": token})
        for token in self.answer_tokens:
            yield self._chunk({"content": token})
        yield self._chunk({}, "stop")
        output = len(self.reasoning_tokens) + len(self.answer_tokens)
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": output,
            "total_tokens": self.prompt_tokens + output,
            "completion_tokens_details": {"reasoning_tokens": len(self.reasoning_tokens)},
        }
        usage_chunk = {
            "id": "chatcmpl-demo",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": usage,
        }
        yield b"data: " + json.dumps(usage_chunk).encode("utf-8") + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def body(self) -> AsyncIterator[bytes]:
        if not self.paced:
            # Unpaced, but still in network-sized reads so consumers see a real stream.
            batch: list[bytes] = []
            for piece in self.events():
                batch.append(piece)
                if len(batch) == 32:
                    yield b"".join(batch)
                    batch.clear()
                    await asyncio.sleep(0)
            if batch:
                yield b"".join(batch)
            return
        await asyncio.sleep(FIRST_TOKEN_DELAY_S)
        for piece in self.events():
            yield piece
            await asyncio.sleep(TOKEN_INTERVAL_S)


async def _handle(request: httpx.Request) -> httpx.Response:
    import httpx  # imported when first needed: it costs start-up ~15 ms

    body = json.loads(request.content)
    model = str(body.get("model", "demo"))
    messages = body.get("messages", [])
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    prompt = users[-1] if users else ""
    prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
    script = DemoScript(model, prompt, prompt_chars, paced=model != "fast")
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream; charset=utf-8"},
        content=script.body(),
    )


def scripted_transport() -> httpx.AsyncBaseTransport:
    """The demo server: answers every request in-process with a :class:`DemoScript`."""
    import httpx  # imported when first needed: it costs start-up ~15 ms

    return httpx.MockTransport(_handle)


class DemoProvider(Provider):
    """``demo`` (paced) and ``demo:fast`` (unpaced): Chat Completions at an in-process
    endpoint that is free and needs no key."""

    def __init__(self) -> None:
        endpoint = Endpoint(
            "demo", DEMO_URL, local=True, key_optional=True, in_process=scripted_transport
        )
        super().__init__(endpoint, ChatCompletionsFormat(openai_models=False), kind="demo")
