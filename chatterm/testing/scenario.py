"""What the fake server says for one request: a :class:`Scenario` (reply script, framing,
faults), the fault positions (:class:`After`), and the named presets.

A scenario is format-neutral. The same ``Scenario(reasoning=..., answer=...,
error_after=after_answer(3))`` becomes thinking deltas and an ``event: error`` on the
Anthropic route, ``thought`` parts and a raw JSON error on the Gemini route, ``thinking``
lines and an ``{"error": ...}`` line on the Ollama route, and so on; see
:mod:`chatterm.testing.formats` for each format's rendering.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

#: Where a Chat Completions server puts the reasoning: ``delta.reasoning_content`` (DeepSeek),
#: ``delta.reasoning`` (vLLM, OpenRouter), inline ``<think>`` tags, nowhere, or ``delta.content``
#: as a list of parts, ``thinking`` parts then ``text`` parts (Mistral's magistral).
Dialect = Literal["reasoning_content", "reasoning", "think_tags", "none", "content_parts"]
Split = Literal["event", "whole", "awkward", "bytewise"] | int | tuple[int, ...]
End = Literal["clean", "stall", "drop", "ping"]
Ping = Literal["comment", "blank", "empty"]

DEFAULT_REASONING = (
    "The user wants a short note on naïve text handling. I should say that UTF-8 uses one to "
    "four bytes per character — 日本語 takes three each, and 🚀 takes four. A list and a small "
    "code block will make it concrete."
)
DEFAULT_ANSWER = (
    "## Naïve — 日本語 🚀\n\n"
    "Text is **not** bytes:\n\n"
    "- `é` is 2 bytes, `日` is 3 and `🚀` is 4\n"
    "- a line\u2028separator is legal, unescaped, inside a JSON string\n\n"
    "```python\n"
    'print("naïve — 日本語 🚀".encode())\n'
    "```\n\n"
    "| char | bytes |\n|---|---:|\n| é | 2 |\n| 🚀 | 4 |"
)

#: What a hotel or airport network answers in place of any HTTPS-less request.
CAPTIVE_PORTAL_PAGE = (
    b'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
    b"<title>Hotel Guest Wi-Fi &mdash; Sign in</title>\n</head>\n<body>\n"
    b"<h1>Welcome!</h1>\n<p>Accept the terms of use to continue.</p>\n"
    b'<form method="post" action="/login"><button>Connect</button></form>\n'
    b"</body>\n</html>\n"
)

_TOKEN = re.compile(r"\s*\S{1,4}|\s+")


def script_tokens(text: str) -> list[str]:
    """Cut text into token-sized pieces (at most four visible characters, spaces leading)."""
    return _TOKEN.findall(text)


def group_tokens(tokens: list[str], size: int) -> list[str]:
    size = max(1, size)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)]


@dataclass(frozen=True, slots=True)
class After:
    """A fault position counted in pieces of the script rather than in wire events.

    ``After("answer", 3)`` is the point where three answer pieces have been sent: the same
    place in the reply whatever the format's event structure. ``After("answer", 0)`` is just
    before the first answer piece (after all the reasoning).
    """

    channel: Literal["reasoning", "answer"]
    pieces: int


def after_answer(pieces: int) -> After:
    return After("answer", pieces)


def after_reasoning(pieces: int) -> After:
    return After("reasoning", pieces)


#: A fault position: a number of SSE data events / NDJSON lines, or a place in the script.
Point = int | After


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the fake server does for one streamed request, in any wire format.

    Integer fault positions (``truncate_after``, ``stall_after``, ``error_after``,
    ``garbage_after``) count wire *data* events: SSE events with data (Anthropic's ``ping``
    included) or NDJSON lines; comments do not count (the line that is not JSON does). For
    Chat Completions the role chunk is event 1. An :class:`After` counts script pieces
    instead, which means the same thing in every format. Truncating or stalling after N
    events still sends the comments and ``raw_after`` text that follow event N.

    ``finish_reason`` uses OpenAI's names (``stop``, ``length``, ``content_filter``,
    ``tool_calls``) and is mapped to each format's own (``end_turn``/``max_tokens``/…,
    ``STOP``/``MAX_TOKENS``/…, ``response.incomplete``); ``native_finish_reason`` sends a
    value as is. ``None`` leaves out the terminal event (finish chunk, ``message_delta`` and
    ``message_stop``, ``finishReason``, the ``done`` line, the gateway's final chunk,
    ``response.completed``).
    """

    # --- the reply script
    reasoning: str = DEFAULT_REASONING
    answer: str = DEFAULT_ANSWER
    dialect: Dialect = "reasoning_content"  # Chat Completions only: where reasoning goes
    tokens_per_chunk: int = 1
    think_open_tag: bool = True  # False: the template put <think> in the prompt (QwQ, Qwen3)
    finish_reason: str | None = "stop"  # None: no terminal event at all
    native_finish_reason: str | None = None  # sent as is, instead of the mapped value
    model: str | None = None  # None: echo the requested model
    prompt_tokens: int = 31
    cached_tokens: int = 0
    completion_tokens: int | None = None  # None: the number of scripted tokens
    reasoning_tokens: int | None = None  # None: the number of scripted reasoning tokens
    cost: float | None = None  # server-reported cost (OpenRouter, LiteLLM, the gateway)
    usage_chunk: bool = True  # report usage (Chat: when the request asks for it)
    done: bool = True  # Chat Completions: end with data: [DONE]
    redacted_thinking: bool = False  # Anthropic: a redacted_thinking block first
    hosted_tool: str | None = None  # Responses: an output item of this type after the
    #   reasoning ("web_search_call", "shell_call", "function_call", ...); with answer=""
    #   no message follows it
    warnings: tuple[str, ...] = ()  # the gateway's final chunk
    # Chat Completions ``n`` (several choices in one stream; see choice_script): each
    # choice's (reasoning, answer), its finish reason (None: no finish chunk for it), and
    # how many choices the server sends (None: as many as the request asks for)
    choice_scripts: tuple[tuple[str, str], ...] = ()
    choice_finish_reasons: tuple[str | None, ...] = ()
    choices_sent: int | None = None
    # --- framing
    line_ending: Literal["\n", "\r\n"] | None = None  # None: the format's own (CRLF: Gemini)
    split: Split = "event"
    keepalive_comments: bool = False  # ": keep-alive" before the first event and mid-stream
    data_space: bool = True  # "data: {…}" (True) or "data:{…}" (False)
    json_padding: bool = False  # spaces before the closing brace (Anthropic's recorded quirk)
    write_delay_s: float = 0.0  # pause before every body write
    headers_delay_s: float = 0.0  # pause before the status line (time to first byte)
    bom: bool = False  # a UTF-8 byte order mark before the first event
    content_encoding: Literal["gzip", "deflate"] | None = None  # compressed, flushed per write
    body_framing: Literal["chunked", "length", "close"] = "chunked"  # HTTP/1.1 body framing
    # --- faults
    status: int = 200  # an HTTP error before the stream, in the format's own envelope
    error_message: str | None = None  # None: the format's usual message for the status
    error_type: str | None = None
    error_code: str | None = None
    retry_after: float | None = None  # seconds: retry-after (and retry-after-ms for
    #                                   OpenAI and Anthropic routes)
    error_body: bytes = b""  # sent verbatim instead of the format's envelope
    error_content_type: str = "application/json"
    error_headers: tuple[tuple[str, str], ...] = ()
    error_after: Point | None = None  # a mid-stream error in the format's own shape
    error_object: Mapping[str, Any] | None = None  # its payload, instead of the default
    error_shape: str = "default"  # Responses: nested|flat|failed; Gemini: raw|data;
    #                               gateway: data|event
    done_after_error: bool = True  # Chat Completions: data: [DONE] after the error
    truncate_after: Point | None = None  # end the body cleanly there, then close
    drop_after_bytes: int | None = None  # close the socket abruptly after N body bytes
    drop_mid: Point | None = None  # close abruptly halfway through the event at that point
    stall_after: Point | None = None  # send up to there, then nothing until the client leaves
    ping_after: Point | None = None  # send up to there, then only keep-alives until the
    #                                  client leaves (a server that never gives up)
    ping: Ping = "comment"  # the keep-alive: ": ping" (NDJSON: a line of spaces), an empty
    #                         line, or an event without a token ("data: {}", an empty message)
    ping_every_s: float = 0.2
    garbage_after: Point | None = None  # a line that is not JSON
    raw_after: tuple[Point, str] | None = None  # raw text (not SSE) at that point
    hang_up: bool = False  # read the request, then close without any response
    body: bytes | None = None  # a 200 answered with exactly this body instead of the stream
    #                            (a captive portal's page, a proxy's, nothing at all)
    content_type: str | None = None  # the 200 response's Content-Type, instead of the format's
    api_key: str | None = None  # when set, any other key is refused as the API refuses it

    def but(self, **changes: Any) -> Scenario:
        return replace(self, **changes)

    # --- what a client should reconstruct

    @property
    def reasoning_pieces(self) -> list[str]:
        return group_tokens(script_tokens(self.reasoning), self.tokens_per_chunk)

    @property
    def answer_pieces(self) -> list[str]:
        return group_tokens(script_tokens(self.answer), self.tokens_per_chunk)

    @property
    def content_pieces(self) -> list[str]:
        """Chat Completions' ``delta.content`` strings, in order (reasoning included for
        think_tags)."""
        if self.dialect == "think_tags":
            opening = "<think>\n" if self.think_open_tag else ""
            return group_tokens(
                script_tokens(f"{opening}{self.reasoning}\n</think>\n\n{self.answer}"),
                self.tokens_per_chunk,
            )
        return self.answer_pieces

    @property
    def expected_reasoning(self) -> str:
        """The reasoning a Chat Completions client gets (none in the ``none`` dialect)."""
        return "" if self.dialect == "none" else self.reasoning

    def completion_count(self) -> int:
        """Output tokens, reasoning included."""
        if self.completion_tokens is not None:
            return self.completion_tokens
        return len(script_tokens(self.reasoning)) + len(script_tokens(self.answer))

    def reasoning_count(self) -> int:
        if self.reasoning_tokens is not None:
            return self.reasoning_tokens
        return len(script_tokens(self.reasoning))

    def choice_script(self, index: int) -> Scenario:
        """Choice ``index`` (from 0) of a request for several: ``choice_scripts[index]``
        when given, else the scenario's own reasoning and answer, after the first choice
        each opened by ``Choice N. `` so that the choices differ; its finish reason from
        ``choice_finish_reasons`` when given there."""
        if index < len(self.choice_scripts):
            reasoning, answer = self.choice_scripts[index]
        elif index == 0:
            reasoning, answer = self.reasoning, self.answer
        else:
            opening = f"Choice {index + 1}. "
            reasoning = opening + self.reasoning if self.reasoning else ""
            answer = opening + self.answer
        finish = self.finish_reason
        if index < len(self.choice_finish_reasons):
            finish = self.choice_finish_reasons[index]
        return replace(self, reasoning=reasoning, answer=answer, finish_reason=finish)

    # --- ready-made faults

    @classmethod
    def http_error(
        cls,
        status: int,
        message: str | None = None,
        *,
        error_type: str | None = None,
        code: str | None = None,
        plain: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        retry_after: float | None = None,
    ) -> Scenario:
        """An HTTP error before the stream starts, in the envelope of the route's format.

        ``plain`` sends a ``text/plain`` body instead (what a proxy in front of the server
        says). ``{api_key}`` in the message is replaced by the key the client presented, the
        way a careless server echoes it. A 429, 503 or 529 comes with ``retry-after: 3``
        unless ``retry_after`` says otherwise.
        """
        if plain is not None:
            return cls(
                status=status,
                error_body=plain.encode("utf-8"),
                error_content_type="text/plain; charset=utf-8",
                error_headers=tuple(headers),
                retry_after=retry_after,
            )
        if retry_after is None and status in (429, 503, 529):
            retry_after = 3.0
        return cls(
            status=status,
            error_message=message,
            error_type=error_type,
            error_code=code,
            error_headers=tuple(headers),
            retry_after=retry_after,
        )


# ---------------------------------------------------------------------------- presets

#: Named scenarios for ``X-Fake-Scenario: NAME`` or a ``model@NAME`` suffix: a description
#: and the fields they set. Names combine, left to right: ``slow,error-mid``.
PRESETS: dict[str, tuple[str, Mapping[str, Any]]] = {
    "ok": ("reasoning, answer and usage, then a clean end", {}),
    "slow": (
        "0.5 s before the first byte, then 50 ms before every event",
        {"headers_delay_s": 0.5, "write_delay_s": 0.05},
    ),
    "drop": (
        "the connection drops halfway through the 4th answer event",
        {"drop_mid": after_answer(3)},
    ),
    "truncated": (
        "the body ends cleanly after 3 answer pieces, without the terminal event",
        {"truncate_after": after_answer(3)},
    ),
    "error-mid": (
        "a mid-stream error in the format's own shape after 3 answer pieces",
        {"error_after": after_answer(3)},
    ),
    "malformed": (
        "a line that is not JSON after the first answer piece; the reply then completes",
        {"garbage_after": after_answer(1)},
    ),
    "stall": (
        "2 answer pieces, then silence until the client gives up",
        {"stall_after": after_answer(2)},
    ),
    "http-400": ("HTTP 400 in the format's error envelope", {"status": 400}),
    "http-401": ("HTTP 401 in the format's error envelope", {"status": 401}),
    "http-404": ("HTTP 404 (Ollama: model 'x' not found)", {"status": 404}),
    "http-429": (
        "HTTP 429 with retry-after: 3 (and retry-after-ms for OpenAI and Anthropic)",
        {"status": 429, "retry_after": 3.0},
    ),
    "http-500": ("HTTP 500 in the format's error envelope", {"status": 500}),
    "http-503": ("HTTP 503 with retry-after: 3", {"status": 503, "retry_after": 3.0}),
    "http-529": (
        "HTTP 529 (Anthropic's overloaded_error) with retry-after: 3",
        {"status": 529, "retry_after": 3.0},
    ),
    "hang-up": ("read the request, then close without answering", {"hang_up": True}),
    "html-200": (
        "HTTP 200 with an HTML login page (text/html) instead of the stream",
        {"body": CAPTIVE_PORTAL_PAGE, "content_type": "text/html; charset=utf-8"},
    ),
    "empty-200": ("HTTP 200 with an empty body", {"body": b""}),
    "no-reasoning": ("an answer without reasoning", {"reasoning": ""}),
    "no-usage": ("no usage reported", {"usage_chunk": False}),
    "length": ("the reply stops at the token limit", {"finish_reason": "length"}),
    "awkward": (
        "every write cut inside a UTF-8 character, a line, or a CRLF",
        {"split": "awkward"},
    ),
    "bytewise": ("one byte per write", {"split": "bytewise"}),
    "crlf": ("CRLF line ends", {"line_ending": "\r\n"}),
    "keepalive": ("keep-alive comments before and during the stream", {"keepalive_comments": True}),
    "content-parts": (
        "Chat Completions: content as lists of thinking and text parts (Mistral)",
        {"dialect": "content_parts"},
    ),
    "no-finish-reason": (
        "Chat Completions: no finish chunk, then the usage chunk and [DONE]",
        {"finish_reason": None},
    ),
    "hosted-tool": (
        "Responses: a shell_call the client must run, and no message after it",
        {"hosted_tool": "shell_call", "answer": ""},
    ),
    "ping-forever": (
        "a keep-alive every 0.2 s from the start, and never a token",
        {"ping_after": 0},
    ),
    "ping-mid": (
        "2 answer pieces, then a keep-alive every 0.2 s and nothing else",
        {"ping_after": after_answer(2)},
    ),
}

_FIELDS = frozenset(f.name for f in fields(Scenario))


def preset(names: str, base: Scenario | None = None) -> Scenario:
    """The scenario for comma-separated preset ``names``, applied in order over ``base``.

    Raises ``KeyError`` naming an unknown preset.
    """
    scenario = base or Scenario()
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        if name not in PRESETS:
            raise KeyError(f"unknown scenario {name!r}; known: {', '.join(PRESETS)}")
        changes = dict(PRESETS[name][1])
        assert changes.keys() <= _FIELDS, changes
        scenario = replace(scenario, **changes)
    return scenario


def split_preset_suffix(model: str) -> tuple[str, str | None]:
    """``"qwen3@slow,error-mid"`` → ``("qwen3", "slow,error-mid")``; no ``@`` → no preset."""
    name, at, suffix = model.rpartition("@")
    if not at or not name:
        return model, None
    return name, suffix
