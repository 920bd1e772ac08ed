"""A realistic long reply for the benchmarks, and the Chat Completions stream that sends it.

:func:`markdown_answer` writes technical Markdown the way a model answers a long question:
headings, paragraphs with inline code, bold, italics and links, tight and loose bullet
lists, numbered lists (some with nested items), fenced code blocks of 4 to 40 lines, tables
of 3 to 5 columns and the odd block quote. It is deterministic (seeded by its size) and cut
into exactly ``tokens`` tokens with the demo model's tokenizer (about four characters each,
:func:`chatterm.providers.demo.split_tokens`), so a "50k" answer is 50,000 SSE chunks.

:class:`ScriptedReply` serves it as the DeepSeek-style Chat Completions stream the demo
model uses (``reasoning_content`` first, then ``content``, one token per chunk, a finish
chunk, a usage chunk and ``[DONE]``) over an ``httpx.MockTransport``: the same wire path as
``demo:fast``, with the bytes encoded before the clock starts. Unpaced, it sends 32 chunks
per read (as the demo does); paced, each read carries the chunks due by then at ``rate``
tokens per second, and it notes when the last token left.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from chatterm.providers.demo import split_tokens

REASONING_SHARE = 0.1  # reasoning tokens, as a share of the answer's
UNPACED_BATCH = 32  # chunks per read when unpaced, as demo:fast sends them

_WORDS = (
    "stream buffer token frame render widget layout segment parser event queue worker "
    "thread cache index session timeline reply model request response header payload "
    "latency throughput memory budget socket client server handler callback future task "
    "loop schedule batch window offset cursor line column width height theme style "
    "decode encode chunk delta usage cost price table list block fence paragraph value "
    "config option default error retry timeout backoff signal process module package test "
    "fixture snapshot result record field type schema version format file folder path"
).split()
_VERBS = (
    "keeps returns reads writes sends applies renders freezes splits joins checks "
    "measures caches drops retries parses wraps pads schedules batches coalesces"
).split()
_ADJECTIVES = (
    "small large stable fast slow live frozen pending final partial whole empty "
    "new old simple careful cheap costly flat linear constant"
).split()
_LANGS = ("python", "javascript", "bash", "rust", "json")
_LINK_HOSTS = ("docs.python.org", "textual.textualize.io", "www.python-httpx.org")


class _Writer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def word(self) -> str:
        return self.rng.choice(_WORDS)

    def sentence(self, inline: bool = True) -> str:
        rng = self.rng
        words = [self.word() for _ in range(rng.randint(6, 18))]
        words.insert(rng.randint(1, 3), rng.choice(_VERBS))
        words.insert(rng.randint(1, len(words)), rng.choice(_ADJECTIVES))
        if inline:
            roll = rng.random()
            at = rng.randrange(1, len(words))
            if roll < 0.25:
                words[at] = f"`{words[at]}_{self.word()}()`"
            elif roll < 0.4:
                words[at] = f"**{words[at]}**"
            elif roll < 0.5:
                words[at] = f"*{words[at]}*"
            elif roll < 0.55:
                host = rng.choice(_LINK_HOSTS)
                words[at] = f"[{words[at]}](https://{host}/{self.word()}/)"
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice("......?")

    def paragraph(self, sentences: tuple[int, int] = (2, 5), inline: bool = True) -> str:
        count = self.rng.randint(*sentences)
        return " ".join(self.sentence(inline) for _ in range(count))

    def heading(self) -> str:
        level = self.rng.choice(("##", "##", "###", "###", "####"))
        words = " ".join(self.word() for _ in range(self.rng.randint(2, 5)))
        return f"{level} {words.capitalize()}"

    def bullets(self) -> str:
        rng = self.rng
        loose = rng.random() < 0.3
        items = [f"- {self.sentence()}" for _ in range(rng.randint(3, 8))]
        return ("\n\n" if loose else "\n").join(items)

    def numbered(self) -> str:
        rng = self.rng
        lines = []
        for number in range(1, rng.randint(3, 9)):
            lines.append(f"{number}. {self.sentence()}")
            if rng.random() < 0.25:
                lines.extend(f"   - {self.sentence()}" for _ in range(rng.randint(1, 3)))
        return "\n".join(lines)

    def code(self) -> str:
        rng = self.rng
        lang = rng.choice(_LANGS)
        lines = [f"```{lang}"]
        depth = 0  # Python's indentation
        for _ in range(rng.randint(4, 40)):
            a, b, c = self.word(), self.word(), self.word()
            if lang == "python":
                line = rng.choice(
                    (
                        f"def {a}_{b}({c}, limit=64):",
                        f"{a} = {b}.{c}({rng.randint(0, 999)})",
                        f"for {a} in {b}_{c}:",
                        f"return {{{a!r}: {b}, {c!r}: {rng.random():.3f}}}",
                        f'print(f"{{{a}:<12}} {{{b}!r}}")',
                        f"# {self.sentence(inline=False)}",
                    )
                )
                if line.startswith("def "):
                    depth = 0
                lines.append("    " * depth + line)
                if line.endswith(":"):
                    depth = min(depth + 1, 3)
                elif depth > 1 and rng.random() < 0.3:
                    depth -= 1
                continue
            elif lang == "json":
                line = f'"{a}_{b}": {json.dumps(rng.choice([c, rng.randint(0, 9999), True]))},'
            elif lang == "bash":
                line = f"{a} --{b} {c}/{self.word()} | grep -c {self.word()}"
            else:
                line = rng.choice(
                    (
                        f"const {a} = await {b}.{c}({rng.randint(0, 99)});",
                        f"if ({a}.{b} > {rng.randint(0, 99)}) {{ {c}(); }}",
                        f"let {a}_{b}: Vec<{c.capitalize()}> = Vec::new();",
                        f"// {self.sentence(inline=False)}",
                    )
                )
            lines.append(line)
        lines.append("```")
        return "\n".join(lines)

    def table(self) -> str:
        rng = self.rng
        columns = rng.randint(3, 5)
        head = [self.word().capitalize() for _ in range(columns)]
        align = ["---", ":--", "--:", ":-:"]
        rows = [
            "| " + " | ".join(head) + " |",
            "|" + "|".join(rng.choice(align) for _ in range(columns)) + "|",
        ]
        for _ in range(rng.randint(3, 12)):
            cells = [
                rng.choice(
                    (
                        self.word(),
                        f"`{self.word()}`",
                        str(rng.randint(0, 99999)),
                        f"{rng.random():.2f}",
                    )
                )
                for _ in range(columns)
            ]
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def quote(self) -> str:
        return "> " + self.paragraph((1, 3))

    def block(self) -> str:
        roll = self.rng.random()
        if roll < 0.42:
            return self.paragraph()
        if roll < 0.57:
            return self.bullets()
        if roll < 0.65:
            return self.numbered()
        if roll < 0.8:
            return self.code()
        if roll < 0.88:
            return self.table()
        if roll < 0.97:
            return self.heading()
        return self.quote()


def _cut(tokens: int, make: Callable[[], str]) -> list[str]:
    """Blocks from ``make`` (blank lines between them) until there are ``tokens`` tokens."""
    pieces: list[str] = []
    while len(pieces) < tokens:
        pieces.extend(split_tokens(make() + "\n\n"))
    return pieces[:tokens]


def markdown_answer(tokens: int, seed: int | None = None) -> list[str]:
    """An answer of exactly ``tokens`` tokens of realistic Markdown, as its tokens."""
    writer = _Writer(tokens if seed is None else seed)
    pieces = split_tokens(f"{writer.heading()}\n\n{writer.paragraph()}\n\n")
    return (pieces + _cut(max(0, tokens - len(pieces)), writer.block))[:tokens]


def reasoning_text(tokens: int, seed: int = 0) -> list[str]:
    """Plain prose reasoning, ``tokens`` tokens long, as its tokens."""
    writer = _Writer(seed + 7)
    return _cut(tokens, lambda: writer.paragraph((3, 7), inline=False))


class ScriptedReply:
    """One reply's Chat Completions SSE stream, served over MockTransport.

    Each chunk is made as it is sent from a prefix, the token (escaped beforehand) and a
    suffix: cheap, and the reply's bytes are never all in memory at once (as with a real
    server; 55,000 chunks would be 10 MB in the process whose peak RSS is measured).

    Args:
        answer_tokens: the answer's size in tokens (the reasoning adds a tenth).
        rate: tokens per second, or 0 to send as fast as the reader takes them.
        model: the model named in the chunks.
        seed: another answer of the same size (several replies that differ).
    """

    def __init__(
        self,
        answer_tokens: int,
        rate: float = 0.0,
        model: str = "fast",
        seed: int | None = None,
    ) -> None:
        self.answer = markdown_answer(answer_tokens, seed)
        reasoning_tokens = round(answer_tokens * REASONING_SHARE)
        self.reasoning = reasoning_text(reasoning_tokens, 0 if seed is None else seed)
        self.rate = rate
        self.model = model
        self.total = len(self.reasoning) + len(self.answer)
        self.sent = 0  # tokens handed to the client so far
        self.first_token_at: float | None = None  # perf_counter() when the first token left
        self.last_token_at: float | None = None
        self.requests = 0
        self._first = self._chunk({"role": "assistant", "content": None, "reasoning_content": ""})
        marker = "\u0000"  # where the token goes in a chunk (json.dumps escapes it so)
        self._affixes = [
            self._chunk(delta).split(json.dumps(marker).encode())
            for delta in ({"content": None, "reasoning_content": marker}, {"content": marker})
        ]
        self._tokens = [json.dumps(token).encode() for token in (*self.reasoning, *self.answer)]
        usage = {
            "prompt_tokens": 12,
            "completion_tokens": self.total,
            "total_tokens": 12 + self.total,
            "completion_tokens_details": {"reasoning_tokens": len(self.reasoning)},
        }
        usage_chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "choices": []}
        usage_chunk["usage"] = usage
        self._last = b"".join(
            (
                self._chunk({}, "stop"),
                b"data: " + json.dumps(usage_chunk).encode() + b"\n\n",
                b"data: [DONE]\n\n",
            )
        )

    @property
    def answer_text(self) -> str:
        return "".join(self.answer)

    @property
    def answer_sent(self) -> int:
        """Answer tokens handed to the client so far."""
        return max(0, self.sent - len(self.reasoning))

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n\n"

    def _piece(self, start: int, end: int) -> bytes:
        """The bytes of tokens ``start`` to ``end`` (the role chunk with the first, the
        finish, usage and [DONE] with the last)."""
        parts = [self._first] if start == 0 else []
        reasoning = len(self.reasoning)
        for index in range(start, end):
            prefix, suffix = self._affixes[index >= reasoning]
            parts += (prefix, self._tokens[index], suffix)
        if end == self.total:
            parts.append(self._last)
        return b"".join(parts)

    def _sent(self, end: int) -> None:
        now = time.perf_counter()
        if self.first_token_at is None:
            self.first_token_at = now
        self.sent = end
        if end == self.total:
            self.last_token_at = now

    async def body(self) -> AsyncIterator[bytes]:
        total = self.total
        if not self.rate:
            for start in range(0, total, UNPACED_BATCH):
                end = min(total, start + UNPACED_BATCH)
                self._sent(end)
                yield self._piece(start, end)
                await asyncio.sleep(0)
            return
        began = time.perf_counter()
        sent = 0
        while sent < total:
            due = min(total, int((time.perf_counter() - began) * self.rate) + 1)
            if due > sent:
                self._sent(due)
                yield self._piece(sent, due)
                sent = due
            if sent < total:
                wait = began + sent / self.rate - time.perf_counter()
                await asyncio.sleep(max(0.0, wait))

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream; charset=utf-8"},
            content=self.body(),
        )

    def client(self, *_: object) -> httpx.AsyncClient:
        """A client factory for :class:`chatterm.tui.app.ChatApp`: every model is served
        this reply."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
