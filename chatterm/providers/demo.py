"""The built-in demo model: offline, no key, and still the real pipeline.

``demo`` answers through a scripted Chat Completions byte stream served by an
``httpx.MockTransport``, so its reply goes through the same HTTP client, SSE decoder and
translator as a real provider's. It reasons for a few sentences (``reasoning_content``, the
DeepSeek dialect), then writes a Markdown answer about the prompt with a list, a fenced code
block and a table, paced like a real model (TTFT ~300 ms, ~50 tokens/s). ``demo:fast`` is
the same without pacing. Usage is reported; the cost is $0. Asked for several choices
(``n``), it writes that many answers at once, their chunks interleaved, each choice after
the first taking the prompt's words in another order.
"""

from __future__ import annotations

import asyncio
import itertools
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


def _rotated(words: list[str], choice: int) -> list[str]:
    """The words in another order for each choice after the first."""
    shift = choice % len(words)
    return words[shift:] + words[:shift]


def demo_reasoning(prompt: str, choice: int = 0) -> str:
    """The demo's reasoning; ``choice`` (from 0) varies it for a request of several."""
    topic = _topic(prompt)
    words = ", ".join(_rotated(_keywords(prompt), choice))
    return (
        f"The user wrote “{topic}”. The words that matter most seem to be {words}. "
        "I should answer with a short overview first, then the key points as a list. "
        "A small code example will make it concrete, and a table can compare the parts. "
        "I am the offline demo model, so I will also say how to connect a real one."
    )


def demo_answer(prompt: str, choice: int = 0) -> str:
    """The demo's answer; ``choice`` (from 0) varies it for a request of several."""
    topic = _topic(prompt)
    words = _rotated(_keywords(prompt), choice)
    points = "\n".join(
        f"{i}. **{word.capitalize()}**: {_POINTS[(i - 1) % len(_POINTS)]}"
        for i, word in enumerate(words, 1)
    )
    rows = "\n".join(f"| {word} | {len(word)} | {word[::-1]} |" for word in words)
    code_words = json.dumps(words)
    heading = f"## About “{topic}”" + (f", take {choice + 1}" if choice else "")
    return (
        f"{heading}\n\n"
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
    """The Chat Completions byte stream the demo server sends for one request (of
    ``choices`` choices, their chunks interleaved one by one)."""

    def __init__(
        self,
        model: str,
        prompt: str,
        prompt_chars: int,
        *,
        paced: bool,
        choices: int = 1,
        images: int = 0,
    ) -> None:
        self.model = model
        self.paced = paced
        them = "them" if images > 1 else "it"
        seen = (
            f"\n\nYou attached {images} image{'s' if images > 1 else ''}: as the offline demo I "
            f"cannot see {them}, but a model that can would get {them} as image parts of this "
            "request."
            if images
            else ""
        )
        self.choices = [
            (split_tokens(demo_reasoning(prompt, k)), split_tokens(demo_answer(prompt, k) + seen))
            for k in range(max(1, choices))
        ]
        self.reasoning_tokens, self.answer_tokens = self.choices[0]
        self.prompt_tokens = estimate_tokens(prompt_chars)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, index: int = 0) -> bytes:
        chunk = {
            "id": "chatcmpl-demo",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n"

    def _choice(self, index: int) -> Iterator[bytes]:
        reasoning, answer = self.choices[index]
        yield self._chunk(
            {"role": "assistant", "content": None, "reasoning_content": ""}, index=index
        )
        for token in reasoning:
            yield self._chunk({"content": None, "reasoning_content": token}, index=index)
        for token in answer:
            yield self._chunk({"content": token}, index=index)
        yield self._chunk({}, "stop", index=index)

    def events(self) -> Iterator[bytes]:
        lanes = [self._choice(index) for index in range(len(self.choices))]
        while lanes:
            for lane in list(lanes):
                piece = next(lane, None)
                if piece is None:
                    lanes.remove(lane)
                else:
                    yield piece
        output = sum(len(reasoning) + len(answer) for reasoning, answer in self.choices)
        usage = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": output,
            "total_tokens": self.prompt_tokens + output,
            "completion_tokens_details": {
                "reasoning_tokens": sum(len(reasoning) for reasoning, _ in self.choices)
            },
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
        # Each choice writes at the demo's pace: a round of one piece of every choice a tick.
        pieces = self.events()
        while True:
            batch = [piece for piece in itertools.islice(pieces, len(self.choices))]
            if not batch:
                return
            for piece in batch:
                yield piece
            await asyncio.sleep(TOKEN_INTERVAL_S)


async def _handle(request: httpx.Request) -> httpx.Response:
    import httpx  # imported when first needed: it costs start-up ~15 ms

    body = json.loads(request.content)
    model = str(body.get("model", "demo"))
    messages = body.get("messages", [])
    users = [m.get("content", "") for m in messages if m.get("role") == "user"]
    last = users[-1] if users else ""
    parts = last if isinstance(last, list) else [{"type": "text", "text": str(last)}]
    prompt = "\n\n".join(
        str(part.get("text", "")) for part in parts if isinstance(part, dict) and "text" in part
    )
    images = sum(1 for part in parts if isinstance(part, dict) and part.get("type") == "image_url")
    prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
    n = body.get("n", 1)
    choices = n if isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 8 else 1
    script = DemoScript(
        model, prompt, prompt_chars, paced=model != "fast", choices=choices, images=images
    )
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
