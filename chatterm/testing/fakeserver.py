"""A fake LLM server on 127.0.0.1 that speaks each provider's real wire format, byte by byte.

It is a plain HTTP/1.1 server over sockets (standard library only, no framework in between)
that writes every byte of its responses itself, so a scenario can cut them anywhere, pause,
stall, or drop the connection. It serves, from scripted replies (reasoning, answer, usage):

=========================================================  ====================================
``POST /v1/chat/completions``                              OpenAI Chat Completions (SSE)
``POST /v1/responses``                                     OpenAI Responses (SSE, named events)
``POST /v1/messages``                                      Anthropic Messages (SSE)
``POST /v1beta/models/{model}:streamGenerateContent``      Gemini (``?alt=sse``, CRLF)
``POST /api/chat`` and ``GET /api/tags``                   Ollama (NDJSON)
``POST /api/v1/generate/stream``                           the gateway of seed 003 (SSE)
``GET /v1/models``, ``GET /v1beta/models``                 model lists (OpenAI or Anthropic
                                                           shape by ``anthropic-version``)
=========================================================  ====================================

Point a client at it with ``OPENAI_BASE_URL=<url>/v1``, ``ANTHROPIC_BASE_URL=<url>``,
``GEMINI_BASE_URL=<url>``, ``OLLAMA_HOST=<url>``, or a gateway ``base_url = "<url>/api/v1"``.
Keys are checked the way each API checks them (``Authorization: Bearer``, ``x-api-key``,
``x-goog-api-key``, ``X-API-Key``) when a scenario sets ``api_key``; the gateway always wants
one. Requests are validated like the real APIs do (Anthropic needs ``anthropic-version`` and
``max_tokens``; Gemini accepts the roles ``user`` and ``model`` only; …) and refused with a
400 (the gateway: 422) in the format's own envelope.

Choosing what it says
---------------------
Each request gets one :class:`~chatterm.testing.scenario.Scenario` (reply script, framing,
faults), taken from, in order:

1. :meth:`FakeServer.queue` — scenarios queued for the next requests, one each (multi-turn,
   or failures before a retry: ``queue(Scenario.http_error(503))`` fails the next request
   only, and the one after it gets the default);
2. the request header ``X-Fake-Scenario: NAME[,NAME…]``;
3. a model-name suffix ``MODEL@NAME[,NAME…]`` (``gemini-2.5-flash@error-mid``,
   ``qwen3@slow,drop``); the suffix is removed before the model is echoed;
4. :attr:`FakeServer.scenario` (``--scenario`` on the command line; ``ok`` by default).

Named presets (combine them left to right; each sets a few Scenario fields):

``ok``            reasoning, answer and usage, then a clean end
``slow``          0.5 s before the first byte, then 50 ms before every event
``drop``          the connection drops halfway through the 4th answer event
``truncated``     the body ends cleanly after 3 answer pieces, without the terminal event
``error-mid``     a mid-stream error in the format's own shape after 3 answer pieces
``malformed``     a line that is not JSON after the first answer piece, then a normal end
``stall``         2 answer pieces, then silence until the client gives up
``ping-forever``  a keep-alive every 0.2 s from the start, and never a token
``ping-mid``      2 answer pieces, then a keep-alive every 0.2 s and nothing else
``http-400`` ``http-401`` ``http-404`` ``http-500``   that status in the format's envelope
``http-429`` ``http-503`` ``http-529``  that status with ``retry-after: 3`` (plus
                  ``retry-after-ms`` on OpenAI and Anthropic routes)
``hang-up``       read the request, then close without answering
``html-200``      HTTP 200 with an HTML login page (a captive portal) instead of the stream
``empty-200``     HTTP 200 with an empty body
``no-reasoning``  ``no-usage``  ``length``  a reply without reasoning / usage / cut at the limit
``awkward``       every write cut inside a UTF-8 character, a line, or a CRLF
``bytewise``      one byte per write;  ``crlf``  CRLF line ends;  ``keepalive``  comments
``content-parts``  Chat Completions: content as lists of thinking and text parts (Mistral)
``no-finish-reason``  Chat Completions: no finish chunk, then the usage chunk and ``[DONE]``
``hosted-tool``   Responses: a ``shell_call`` the client must run, and no message after it

Faults available programmatically (all formats): ``headers_delay_s`` (before the first
byte), ``write_delay_s`` (per write), ``drop_after_bytes`` / ``drop_mid`` (abrupt close),
``error_after`` (the format's mid-stream error: Chat ``{"error"}`` data, Responses
``error``/``response.failed``, Anthropic ``event: error``, Gemini raw JSON without
``data:``, Ollama ``{"error"}`` line), ``status`` + ``retry_after`` (HTTP error in the
format's envelope), ``garbage_after`` (a line that is not JSON), ``truncate_after``,
``stall_after``, ``ping_after`` (then keep-alives until the client leaves: ``ping`` says
which, an SSE comment, an empty line or an event without a token, every ``ping_every_s``),
``hang_up``, ``body`` (a 200 with exactly these bytes instead of the
stream) and ``content_type`` (the 200's Content-Type); and framings: ``split`` (per event,
whole, ``awkward``, byte-wise, fixed sizes, explicit cuts), ``line_ending``, ``bom``,
gzip/deflate, chunked / Content-Length / close-delimited bodies. Fault positions are wire
events (an int) or script pieces (``after_answer(3)``), the latter meaning the same place in
every format.

Running it by hand::

    python -m chatterm.testing.fakeserver --port 8765 --scenario slow
    OPENAI_API_KEY=x OPENAI_BASE_URL=http://127.0.0.1:8765/v1 chatterm ask -m openai:m hi
    curl -N -H 'X-Fake-Scenario: error-mid' http://127.0.0.1:8765/api/chat \\
        -d '{"model": "qwen3", "messages": [{"role": "user", "content": "hi"}]}'

``--port 0`` picks a free port; the first line printed is the server's URL. The server only
listens on loopback addresses.

With chunked framing (the default) each write is one HTTP chunk, and an HTTP/1.1 client's
parser never merges two chunks, so the client reads the body in pieces at least as fine as
the scenario's writes. Every request is recorded (:class:`RecordedRequest`) with its headers
and body, the format that answered it, and events telling when the server finished answering
and whether it saw the client close the connection (``client_closed``: noticed at once
during a stall and during the ``headers_delay_s`` / ``write_delay_s`` pauses, so a test can
check that a cancelled client really hung up).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from chatterm.testing.connection import RecordedRequest, ensure_loopback
from chatterm.testing.formats import CHAT, FORMATS, Request
from chatterm.testing.formats.openai_chat import MIDSTREAM_ERROR
from chatterm.testing.frames import (
    Frame,
    awkward_offsets,
    drop_offset,
    mid_frame_offset,
    reconstruct,
    split_wire,
)
from chatterm.testing.scenario import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    PRESETS,
    After,
    Dialect,
    End,
    Scenario,
    Split,
    after_answer,
    after_reasoning,
    preset,
    script_tokens,
)
from chatterm.testing.server import FakeServer

__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_REASONING",
    "FORMATS",
    "MIDSTREAM_ERROR",
    "PRESETS",
    "After",
    "Dialect",
    "End",
    "FakeServer",
    "Frame",
    "RecordedRequest",
    "Scenario",
    "Split",
    "after_answer",
    "after_reasoning",
    "awkward_offsets",
    "drop_offset",
    "ensure_loopback",
    "main",
    "mid_frame_offset",
    "preset",
    "reconstruct",
    "render",
    "render_frames",
    "script_tokens",
    "split_wire",
]


def render_frames(
    scenario: Scenario, model: str = "test-model", include_usage: bool = True
) -> list[Frame]:
    """The Chat Completions body's frames, with every fault except stall and drop applied."""
    body = {"model": model, "stream": True, "stream_options": {"include_usage": include_usage}}
    return CHAT.render(scenario, Request(model, body))


def render(
    format_name: str,
    scenario: Scenario,
    model: str = "test-model",
    body: dict[str, Any] | None = None,
) -> list[Frame]:
    """The frames the server sends for ``scenario`` on the route of ``format_name``
    (``chat``, ``responses``, ``anthropic``, ``gemini``, ``ollama``, ``gateway``)."""
    if body is None:
        body = {"stream_options": {"include_usage": True}}
    return FORMATS[format_name].render(scenario, Request(model, body))


# ---------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chatterm.testing.fakeserver",
        description="A fake LLM server on 127.0.0.1 speaking OpenAI, Anthropic, Gemini, "
        "Ollama and gateway streams, with faults chosen per request "
        "(header X-Fake-Scenario: NAME, or a model name ending in @NAME).",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (127.0.0.1 or ::1)"
    )
    parser.add_argument(
        "--scenario",
        default="ok",
        help="preset(s) for requests that name none, e.g. slow or slow,error-mid",
    )
    parser.add_argument("--api-key", help="require this key from every client")
    parser.add_argument("--list-scenarios", action="store_true", help="list the presets")
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list_scenarios:
        width = max(map(len, PRESETS))
        for name, (description, _) in PRESETS.items():
            print(f"{name:<{width}}  {description}")
        return 0
    try:
        host = ensure_loopback(args.host)
        default = preset(args.scenario)
    except (ValueError, KeyError) as exc:
        parser.error(str(exc.args[0]))
    if args.api_key:
        default = default.but(api_key=args.api_key)
    try:
        server = FakeServer(default, host=host, port=args.port)
    except OSError as exc:
        print(f"cannot listen on {host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    if not args.quiet:
        server.log = lambda line: print(line, file=sys.stderr, flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with server:
        url = server.base_url
        print(url, flush=True)
        print(
            f"serving on {url} (scenario {args.scenario}); Ctrl+C stops it\n"
            f"  OPENAI_BASE_URL={url}/v1  ANTHROPIC_BASE_URL={url}  GEMINI_BASE_URL={url}\n"
            f"  OLLAMA_HOST={url}  gateway base_url={url}/api/v1",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
