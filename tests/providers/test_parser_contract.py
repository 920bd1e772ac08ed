"""The contract every provider's stream parser keeps, checked once for every wire format.

Each wire format (the offline demo counted as one) is a :class:`Case`: a model reference
the registry resolves (other references that build the same format are its aliases, and
must read every body alike), the fake server's writer for the format, and what the format
says where formats differ (usage fields, the wording of a cut or of a mid-stream error). A
test fails when the registry can build a provider that no case names. The bodies are real
wire bytes from :mod:`chatterm.testing.formats` for one short scripted reply, and only the
parser's public side is used (``new_parser()``, ``content_type``, ``feed``, ``close``).

The contract: a body gives the same events however it is cut into reads (every split
point, one byte at a time, random cuts), with any line end the format allows; an empty 200,
an HTML page and a JSON error where the stream should be each end the reply with one clear
error; nothing raises. The per-provider test files keep what is particular to each format.

Some scripts only some formats have (:data:`EXTRA_SCRIPTS`, named by each case's
``extra``): Chat Completions' end without a finish reason and Mistral's content given as
lists of parts, the Responses API's hosted tools.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple, get_args, get_type_hints

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stream_helpers import EMPTY_BODY, fold_events

from chatterm.config import ProviderConfig, Settings
from chatterm.events import (
    ChoiceEvent,
    Event,
    Finish,
    FinishReason,
    ReasoningDelta,
    StreamError,
    StreamWarning,
    TextDelta,
    Usage,
    UsageUpdate,
)
from chatterm.providers.base import Provider
from chatterm.providers.registry import known_providers, resolve_model
from chatterm.testing.fakeserver import render
from chatterm.testing.formats import FORMATS, Request
from chatterm.testing.scenario import CAPTIVE_PORTAL_PAGE, Scenario, after_answer

# ----------------------------------------------------------------------------- the cases

#: One custom provider of every kind ``[providers.NAME]`` can declare.
SETTINGS = Settings(
    providers={
        "local": ProviderConfig(name="local", base_url="http://127.0.0.1:8080/v1"),
        "gw": ProviderConfig(
            name="gw", base_url="http://127.0.0.1:8081/api/v1", api_key_env="GW_KEY", kind="gateway"
        ),
    }
)
ENV = {
    "OPENAI_API_KEY": "sk-contract-openai",
    "ANTHROPIC_API_KEY": "sk-ant-contract",
    "GEMINI_API_KEY": "AIza-contract",
    "GW_KEY": "gw-contract",
}

LF, CRLF, CR = b"\n", b"\r\n", b"\r"
#: SSE ends a line at CR, LF or CRLF (WHATWG); JSON lines end at LF, a CR before it dropped.
SSE_LINE_ENDS = (LF, CRLF, CR)
JSON_LINE_ENDS = (LF, CRLF)

NO_FINISH_REASON = (
    "the stream ended before the model finished (no finish reason); the partial reply is kept"
)
CHAT_MIDSTREAM = {
    "default": StreamError(
        "error from the server: The server had an error while processing your request. "
        "Sorry about that! [server_error]",
        retryable=True,
    )
}
OVERLOADED = StreamError(
    "error from the server: Our servers are currently overloaded. Please try again later. "
    "[server_is_overloaded]",
    retryable=True,
)
GEMINI_OVERLOADED = StreamError(
    "Gemini sent an error (503 UNAVAILABLE): The model is overloaded. Please try again later.",
    retryable=True,
    status=503,
)
GATEWAY_OVERLOADED = StreamError(
    "error from the gateway: Upstream provider error: the model is overloaded, please retry "
    "[upstream_error]"
)
#: A proxy's error on a 200, in OpenAI's envelope, whatever the format behind it.
PROXY_ERROR = b'{"error": {"message": "Bad gateway", "code": "server_error"}}'
#: The message of the format's own error envelope on a 200 (a 429 in :func:`error_bodies`).
OWN_MESSAGE = "Slow down"


@dataclass(frozen=True, eq=False)  # hashed by identity: the caches key on it
class Case:
    """One wire format: the provider the registry builds for ``ref``, and what the format
    says where formats differ."""

    ref: str  # the model reference, resolved by the registry
    fmt: str  # the fake server's writer for the provider's wire format
    usage: Usage  # the scripted reply's usage, as this format reports it
    usage_without_end: Usage | None  # the last usage reported without the end of reply
    usage_after_first_piece: Usage | None  # the last usage reported when cut there
    cut: str  # the error when the body ends before the format's end of reply
    midstream: Mapping[str, StreamError]  # the format's mid-stream error, by error_shape
    proxy_error: StreamError  # PROXY_ERROR on a 200
    own_error: StreamError  # the format's own 429 envelope on a 200
    stream_kind: str = "an event stream"  # what a body that is none should have been
    line_ends: tuple[bytes, ...] = SSE_LINE_ENDS
    #: warnings beside the error for a body that is not a stream (per input, by name)
    not_stream_warnings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: a different error for an input that the format cannot read as an error (by name)
    other_errors: Mapping[str, StreamError] = field(default_factory=dict)
    #: other references the registry builds a provider of the same wire format from
    aliases: tuple[str, ...] = ()
    #: the scripts of :data:`EXTRA_SCRIPTS` this format has
    extra: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.ref


CHAT_USAGE = Usage(input_tokens=12, output_tokens=18, reasoning_tokens=7, cost_usd=0.0025)


def chat_case(ref: str, aliases: tuple[str, ...] = ()) -> Case:
    """A provider that speaks OpenAI Chat Completions (the demo included)."""
    return Case(
        ref=ref,
        aliases=aliases,
        fmt="chat",
        usage=CHAT_USAGE,
        usage_without_end=CHAT_USAGE,  # the usage chunk comes after the finish chunk
        usage_after_first_piece=None,
        cut=NO_FINISH_REASON,
        midstream=CHAT_MIDSTREAM,
        proxy_error=StreamError("error from the server: Bad gateway [server_error]", True),
        own_error=StreamError("error from the server: Slow down [tokens]", retryable=True),
        extra=("no-finish-reason", "content-parts"),
    )


CASES: list[Case] = [
    chat_case("demo"),
    chat_case("openai:gpt-4.1-mini", aliases=("local:qwen3",)),  # [providers.local]
    Case(
        ref="openai-responses:gpt-5",
        fmt="responses",
        aliases=("openai:gpt-5",),  # OpenAI's own hidden-reasoning models
        usage=Usage(input_tokens=12, output_tokens=18, reasoning_tokens=7),
        usage_without_end=None,
        usage_after_first_piece=None,
        cut="the stream ended before the response was complete (no response.completed); "
        "the partial reply is kept",
        midstream={
            "default": OVERLOADED,
            "nested": OVERLOADED,
            "flat": OVERLOADED,
            "failed": StreamError(
                "error from the server: The model failed to generate a response. [server_error]",
                retryable=True,
            ),
        },
        proxy_error=StreamError("error from the server: Bad gateway [server_error]", True),
        own_error=StreamError("error from the server: Slow down [rate_limit_exceeded]", True),
        extra=("tool-run-by-client", "tool-run-by-server"),
    ),
    Case(
        ref="anthropic:claude-sonnet-4-5",
        fmt="anthropic",
        usage=Usage(input_tokens=12, output_tokens=18, reasoning_tokens=7),
        usage_without_end=Usage(
            input_tokens=12, output_tokens=12, reasoning_tokens=5, estimated=True
        ),
        usage_after_first_piece=Usage(
            input_tokens=12, output_tokens=7, reasoning_tokens=5, estimated=True
        ),
        cut="the stream ended before the model finished (no message_stop); "
        "the partial reply is kept",
        midstream={
            "default": StreamError("error from the server: Overloaded [overloaded_error]", True)
        },
        proxy_error=StreamError("error from the server: Bad gateway [server_error]"),
        own_error=StreamError("error from the server: Slow down [rate_limit_error]", True),
    ),
    Case(
        ref="gemini:gemini-2.5-flash",
        fmt="gemini",
        usage=Usage(input_tokens=12, output_tokens=18, reasoning_tokens=7),
        usage_without_end=Usage(input_tokens=12, output_tokens=18, reasoning_tokens=7),
        usage_after_first_piece=Usage(input_tokens=12, output_tokens=9, reasoning_tokens=7),
        cut=NO_FINISH_REASON,
        midstream={
            "default": GEMINI_OVERLOADED,
            "raw": GEMINI_OVERLOADED,
            "data": GEMINI_OVERLOADED,
        },
        proxy_error=StreamError("Gemini sent an error: Bad gateway"),
        own_error=StreamError(
            "Gemini sent an error (429 RESOURCE_EXHAUSTED): Slow down", retryable=True, status=429
        ),
        # Gemini reads the lines outside SSE itself (its errors come that way), as they come
        not_stream_warnings={
            "captive-portal": ("skipped 12 lines that were not SSE; the first: <!DOCTYPE html>",)
        },
    ),
    Case(
        ref="ollama:qwen3",
        fmt="ollama",
        usage=Usage(input_tokens=12, output_tokens=18, server_tokens_per_s=100.0),
        usage_without_end=None,
        usage_after_first_piece=None,
        cut="the stream ended before Ollama finished (no done line); the partial reply is kept",
        midstream={
            "default": StreamError(
                "error from Ollama: an error was encountered while running the model"
            )
        },
        proxy_error=StreamError("error from Ollama: Bad gateway [server_error]"),
        own_error=StreamError("error from Ollama: Slow down"),
        stream_kind="a stream of JSON lines",
        line_ends=JSON_LINE_ENDS,
        not_stream_warnings={
            "captive-portal": (
                "skipped 12 stream lines that were not JSON; the first: <!DOCTYPE html>",
            ),
            "own-error-pretty": ("skipped 3 stream lines that were not JSON; the first: {",),
        },
        # one JSON value over three lines is no JSON line: the body is named instead
        other_errors={
            "own-error-pretty": StreamError(
                "the server answered 200 with JSON, not a stream of JSON lines "
                '(does this server stream?): { "error": "Slow down" }'
            )
        },
    ),
    Case(
        ref="gw:google-gemini/gemini-2.5-flash",  # a [providers.NAME] with kind = "gateway"
        fmt="gateway",
        usage=Usage(input_tokens=12, output_tokens=18, cost_usd=0.0025),
        usage_without_end=None,
        usage_after_first_piece=None,
        cut="the stream ended before the gateway's final chunk; the partial reply is kept",
        midstream={
            "default": GATEWAY_OVERLOADED,
            "data": GATEWAY_OVERLOADED,
            "event": GATEWAY_OVERLOADED,
        },
        proxy_error=StreamError("error from the gateway: Bad gateway [server_error]"),
        own_error=StreamError("error from the gateway: Slow down"),
    ),
]
IDS = [case.id for case in CASES]


@functools.cache
def provider_for(ref: str) -> Provider:
    return resolve_model(ref, SETTINGS, env=ENV).provider


def test_every_provider_the_registry_can_build_has_a_case() -> None:
    kinds = get_args(get_type_hints(ProviderConfig)["kind"])
    assert {custom.kind for custom in SETTINGS.providers.values()} == set(kinds)
    refs = [ref for case in CASES for ref in (case.ref, *case.aliases)]
    assert {ref.partition(":")[0] for ref in refs} == set(known_providers(SETTINGS))
    built = {type(provider_for(ref)) for ref in refs}
    assert built >= concrete_providers()
    assert {case.fmt for case in CASES} == set(FORMATS)  # every format the fake server writes
    for case in CASES:  # every mid-stream error shape the format's writer knows
        assert set(case.midstream) == set(FORMATS[case.fmt].midstream_messages), case.ref


def concrete_providers() -> set[type[Provider]]:
    """Every provider class chatterm defines that can be built."""
    found: set[type[Provider]] = set()
    pending = list(Provider.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("chatterm.") and not getattr(cls, "__abstractmethods__", None):
            found.add(cls)
    return found


# ----------------------------------------------------------------------------- the bodies

#: Short, so that every split point can be tried: reasoning, then an answer with multi-byte
#: UTF-8 and the separators that JSON allows raw in a string (U+2028, U+2029, U+0085), with
#: keep-alives: SSE comments, and a blank line (the only keep-alive JSON lines have).
SCRIPT = Scenario(
    reasoning="2 + 2 = 4; say so.",
    answer="**4** — naïve 日本語 🚀 a\u2028b\u2029c\u0085d",
    tokens_per_chunk=3,
    prompt_tokens=12,
    cost=0.0025,
    keepalive_comments=True,
    raw_after=(after_answer(1), "\n"),
)
FIRST_PIECE = SCRIPT.answer_pieces[0]
#: Scripts only some formats have (a case's ``extra`` names them).
EXTRA_SCRIPTS = {
    # Chat Completions: no finish chunk, but the usage chunk and [DONE]: a complete reply
    "no-finish-reason": SCRIPT.but(finish_reason=None),
    # Chat Completions: content as lists of thinking and text parts (Mistral's magistral)
    "content-parts": SCRIPT.but(dialect="content_parts"),
    # Responses: a shell_call the client is to run, and no message after it
    "tool-run-by-client": SCRIPT.but(hosted_tool="shell_call", answer=""),
    # Responses: a web search the server ran, then the answer written from it
    "tool-run-by-server": SCRIPT.but(hosted_tool="web_search_call"),
}
NO_FINISH_REASON_WARNING = (
    "the server sent no finish reason; the stream ended properly, so the reply is complete"
)
SHELL_CALL_WARNING = "the model asked to call the tool 'shell'; chatterm does not run tools"


class Outcome(NamedTuple):
    """What a reply amounts to once its events are folded."""

    reasoning: str
    text: str
    finish: FinishReason | None
    error: StreamError | None
    warnings: tuple[str, ...] = ()
    usage: Usage | None = None  # the last usage the parser reported


def script_names(case: Case) -> list[str]:
    errors = [f"error-{shape}" for shape in case.midstream]
    return ["reply", "no-end", "cut", *errors, *case.extra]


def scenario(case: Case, name: str) -> Scenario:
    """``reply``: the whole reply. ``no-end``: all of it but the format's end of reply (for
    Chat Completions the finish chunk and ``[DONE]``). ``cut``: the body ends after the
    first answer piece. ``error-SHAPE``: the format's mid-stream error there. Any other
    name is one of :data:`EXTRA_SCRIPTS`."""
    if name in EXTRA_SCRIPTS:
        return EXTRA_SCRIPTS[name]
    if name == "reply":
        return SCRIPT
    if name == "no-end":
        return SCRIPT.but(finish_reason=None, done=False)
    if name == "cut":
        return SCRIPT.but(truncate_after=after_answer(1))
    shape = name.removeprefix("error-")
    return SCRIPT.but(error_after=after_answer(1), error_shape=shape)


def expected(case: Case, name: str) -> Outcome:
    reasoning = SCRIPT.reasoning
    if name in ("reply", "content-parts", "tool-run-by-server"):
        return Outcome(reasoning, SCRIPT.answer, "stop", None, usage=case.usage)
    if name == "no-finish-reason":
        warnings = (NO_FINISH_REASON_WARNING,)
        return Outcome(reasoning, SCRIPT.answer, "stop", None, warnings, usage=case.usage)
    if name == "tool-run-by-client":
        usage = replace(case.usage, output_tokens=case.usage.reasoning_tokens)  # no answer
        return Outcome(reasoning, "", "tool_calls", None, (SHELL_CALL_WARNING,), usage=usage)
    cut = StreamError(case.cut, retryable=True)
    if name == "no-end":
        return Outcome(reasoning, SCRIPT.answer, "interrupted", cut, usage=case.usage_without_end)
    if name == "cut":
        return Outcome(
            reasoning, FIRST_PIECE, "interrupted", cut, usage=case.usage_after_first_piece
        )
    error = case.midstream[name.removeprefix("error-")]
    return Outcome(reasoning, FIRST_PIECE, "error", error, usage=case.usage_after_first_piece)


@functools.cache
def body(case: Case, name: str, newline: bytes | None = None) -> bytes:
    """The format's bytes for script ``name`` as its server writes them, or with every line
    ending in ``newline``."""
    wire = b"".join(frame.wire for frame in render(case.fmt, scenario(case, name)))
    if newline is None:
        return wire
    return wire.replace(CRLF, LF).replace(LF, newline)


SCRIPTS = [(case, name) for case in CASES for name in script_names(case)]
SCRIPT_IDS = [f"{case.id}-{name}" for case, name in SCRIPTS]


def line_ends(case: Case, name: str) -> list[bytes | None]:
    """As written (None), then every other line end the format allows. Gemini writes CRLF,
    but its raw JSON error after the events with LF; the others write LF."""
    native = body(case, name)
    return [None, *(end for end in case.line_ends if body(case, name, end) != native)]


LINE_END_NAMES = {LF: "-LF", CRLF: "-CRLF", CR: "-CR", None: ""}
#: every script with every line end its format allows
VARIANTS = [(case, name, end) for case, name in SCRIPTS for end in line_ends(case, name)]
VARIANT_IDS = [f"{case.id}-{name}{LINE_END_NAMES[end]}" for case, name, end in VARIANTS]


def split_variants() -> list[tuple[Case, str, bytes | None]]:
    """What is split at every point: the reply and every mid-stream error as written, the
    reply and the format's usual error with the other line ends, each body once (a shape
    may be another name for the usual one). The bodies that end early differ from the reply
    only at their end; they are read whole, a byte at a time and in random cuts."""
    chosen: dict[tuple[str, bytes], tuple[Case, str, bytes | None]] = {}
    for case, name, end in VARIANTS:
        if name in ("reply", "error-default") or (name.startswith("error-") and end is None):
            chosen.setdefault((case.ref, body(case, name, end)), (case, name, end))
    return list(chosen.values())


SPLIT = split_variants()
SPLIT_IDS = [VARIANT_IDS[VARIANTS.index(v)] for v in SPLIT]


def parse(
    case: Case, chunks: Iterable[bytes], content_type: str | None = None, ref: str | None = None
) -> list[Event]:
    """Feed every chunk to a new parser of the case's provider (or of ``ref``'s), then close
    it; the Content-Type is the format's unless given."""
    parser = provider_for(ref or case.ref).new_parser()
    parser.content_type = FORMATS[case.fmt].content_type if content_type is None else content_type
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    assert sum(isinstance(event, Finish) for event in events) == 1, events[-4:]
    return events


@functools.cache
def whole(case: Case, name: str) -> list[Event]:
    """The events of the body as written, read whole."""
    return parse(case, [body(case, name)])


def outcome(events: list[Event]) -> Outcome:
    reply = fold_events(events, "contract")
    usage = [event.usage for event in events if isinstance(event, UsageUpdate)]
    return Outcome(
        reply.reasoning,
        reply.text,
        reply.finish_reason,
        reply.error,
        reply.warnings,
        usage[-1] if usage else None,
    )


def without_warnings(events: list[Event]) -> list[Event]:
    return [event for event in events if not isinstance(event, StreamWarning)]


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def cut_at(data: bytes, points: Iterable[int]) -> list[bytes]:
    ends = sorted(set(points))
    return [data[a:b] for a, b in zip([0, *ends], [*ends, len(data)], strict=True)]


# ----------------------------------------------------------------------------- fragmentation


@pytest.mark.parametrize(("case", "name"), SCRIPTS, ids=SCRIPT_IDS)
def test_the_scripted_reply_reads_as_scripted(case: Case, name: str) -> None:
    events = whole(case, name)
    assert outcome(events) == expected(case, name)
    # piece by piece, as the script sent them
    cut = name == "cut" or name.startswith("error-")
    answer = [FIRST_PIECE] if cut else scenario(case, name).answer_pieces
    deltas = [event for event in events if isinstance(event, ReasoningDelta | TextDelta)]
    assert deltas == [
        *(ReasoningDelta(piece) for piece in SCRIPT.reasoning_pieces),
        *(TextDelta(piece) for piece in answer),
    ]


@pytest.mark.parametrize(("case", "name", "newline"), VARIANTS, ids=VARIANT_IDS)
def test_any_line_end_and_one_byte_reads_give_the_same_events(
    case: Case, name: str, newline: bytes | None
) -> None:
    data = body(case, name, newline)
    assert parse(case, [data]) == whole(case, name)
    assert parse(case, pieces(data, 1)) == whole(case, name)


@pytest.mark.parametrize(("case", "name", "newline"), SPLIT, ids=SPLIT_IDS)
def test_every_split_point_gives_the_same_events(
    case: Case, name: str, newline: bytes | None
) -> None:
    data = body(case, name, newline)
    for point in range(len(data) + 1):
        assert parse(case, [data[:point], data[point:]]) == whole(case, name), point


#: The servers' own recorded streams (the per-provider test files read each whole, with its
#: quirks: obfuscation fields, redacted thinking, an error after the end) and the case
#: whose format they are in: each must read alike however it is cut.
TRANSCRIPT_MODULES = {
    "test_openai_compat": "openai:gpt-4.1-mini",
    "test_openai_responses": "openai-responses:gpt-5",
    "test_anthropic": "anthropic:claude-sonnet-4-5",
    "test_gemini": "gemini:gemini-2.5-flash",
    "test_ollama": "ollama:qwen3",
    "test_gateway": "gw:google-gemini/gemini-2.5-flash",
}


def recorded_transcripts() -> list[tuple[Case, str, bytes]]:
    by_ref = {case.ref: case for case in CASES}
    found: list[tuple[Case, str, bytes]] = []
    for module_name, ref in TRANSCRIPT_MODULES.items():
        module = importlib.import_module(module_name)
        for name, value in sorted(vars(module).items()):
            if name.startswith("TRANSCRIPT_") and isinstance(value, bytes):
                found.append((by_ref[ref], f"{module_name}.{name}", value))
    return found


TRANSCRIPTS = recorded_transcripts()


def test_every_format_has_recorded_transcripts() -> None:
    assert {case.ref for case, _, _ in TRANSCRIPTS} == set(TRANSCRIPT_MODULES.values())


@pytest.mark.parametrize(
    ("case", "name", "data"), TRANSCRIPTS, ids=[name for _, name, _ in TRANSCRIPTS]
)
def test_every_split_point_of_a_recorded_transcript_gives_the_same_events(
    case: Case, name: str, data: bytes
) -> None:
    once = parse(case, [data])
    assert parse(case, pieces(data, 1)) == once
    for point in range(len(data) + 1):
        assert parse(case, [data[:point], data[point:]]) == once, point


@pytest.mark.parametrize("case", [c for c in CASES if CR not in c.line_ends], ids=lambda c: c.id)
def test_a_lone_cr_is_no_line_end_where_the_format_says_so(case: Case) -> None:
    # The whole body is one line, so no event in it is read; it is named, not half-read.
    events = parse(case, [body(case, "reply", CR)])
    reply = outcome(events)
    assert (reply.reasoning, reply.text, reply.finish) == ("", "", "error")
    assert reply.error is not None
    assert reply.error.message.startswith(
        f"the server answered 200 with JSON, not {case.stream_kind}"
    )


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_cuts_with_any_allowed_line_end_give_the_same_events(data: st.DataObject) -> None:
    case, name = data.draw(st.sampled_from(SCRIPTS), label="script")
    newline = data.draw(st.sampled_from(line_ends(case, name)), label="line end")
    wire = body(case, name, newline)
    points = data.draw(st.lists(st.integers(0, len(wire)), max_size=24), label="cuts")
    assert parse(case, cut_at(wire, points)) == whole(case, name)


# ----------------------------------------------------------------------------- not a stream

EMPTY_BODIES = {"empty": b"", "blank-lines": b"\n\n\r\n", "bom": b"\xef\xbb\xbf", "spaces": b"   "}


@pytest.mark.parametrize("empty", list(EMPTY_BODIES))
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_empty_200_says_so(case: Case, empty: str) -> None:
    data = EMPTY_BODIES[empty]
    assert parse(case, [data]) == EMPTY_BODY
    assert parse(case, pieces(data, 1)) == EMPTY_BODY


@pytest.mark.parametrize(
    ("content_type", "what"),
    [("", "an HTML page"), ("text/html; charset=utf-8", "text/html")],
    ids=["no-content-type", "text-html"],
)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_html_page_on_a_200_is_one_clear_error(case: Case, content_type: str, what: str) -> None:
    error = StreamError(
        f"the server answered 200 with {what}, not {case.stream_kind} "
        "(a login page, or a proxy's error page?): Hotel Guest Wi-Fi — Sign in"
    )
    warnings = case.not_stream_warnings.get("captive-portal", ())
    events = parse(case, [CAPTIVE_PORTAL_PAGE], content_type)
    assert outcome(events) == Outcome("", "", "error", error, warnings)
    assert without_warnings(events) == [error, Finish("error")]
    assert parse(case, pieces(CAPTIVE_PORTAL_PAGE, 5), content_type) == events


def error_bodies(case: Case) -> dict[str, bytes]:
    """A JSON error where the stream should be: a proxy's in OpenAI's envelope, and the
    format's own 429 envelope, as written and pretty-printed."""
    writer = FORMATS[case.fmt]
    refused = Scenario(status=429, error_message=OWN_MESSAGE)
    request = Request("test-model", {})
    own = writer.error_body(refused, writer.refusal_for(refused, request), request)
    return {
        "proxy-error": PROXY_ERROR,
        "own-error": own,
        "own-error-pretty": json.dumps(json.loads(own), indent=2).encode(),
    }


JSON_ERRORS = ["proxy-error", "own-error", "own-error-pretty"]


@pytest.mark.parametrize("which", JSON_ERRORS)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_json_error_on_a_200_is_the_error(case: Case, which: str) -> None:
    data = error_bodies(case)[which]
    error = case.proxy_error if which == "proxy-error" else case.own_error
    error = case.other_errors.get(which, error)
    warnings = case.not_stream_warnings.get(which, ())
    for content_type in ("application/json", ""):
        events = parse(case, [data], content_type)
        assert outcome(events) == Outcome("", "", "error", error, warnings)
        assert without_warnings(events) == [error, Finish("error")]
        assert parse(case, pieces(data, 1), content_type) == events


# ----------------------------------------------------------------------------- aliases

ALIASES = [(case, alias) for case in CASES for alias in case.aliases]


@pytest.mark.parametrize(("case", "alias"), ALIASES, ids=[alias for _, alias in ALIASES])
def test_another_reference_to_a_format_reads_every_body_alike(case: Case, alias: str) -> None:
    for name in script_names(case):
        assert parse(case, [body(case, name)], ref=alias) == whole(case, name), name
    for data in [*EMPTY_BODIES.values(), CAPTIVE_PORTAL_PAGE, *error_bodies(case).values()]:
        assert parse(case, [data], ref=alias) == parse(case, [data])


# ----------------------------------------------------------------------------- several choices

#: The script as three choices of one request (Chat Completions ``n``), interleaved.
CHOICES = 3
CHOICE_NAMES = ["reply", "no-end", "cut", "error-default"]
CHOICE_REFS = ["openai:gpt-4.1-mini", "local:qwen3", "demo"]


@functools.cache
def choices_body(name: str, newline: bytes | None = None) -> bytes:
    request = {"n": CHOICES, "stream_options": {"include_usage": True}}
    frames = render("chat", scenario(CASES[0], name).but(keepalive_comments=True), body=request)
    wire = b"".join(frame.wire for frame in frames)
    return wire if newline is None else wire.replace(CRLF, LF).replace(LF, newline)


def parse_choices(chunks: Iterable[bytes], ref: str = "openai:gpt-4.1-mini") -> list[object]:
    parser = provider_for(ref).new_parser(CHOICES)
    parser.content_type = FORMATS["chat"].content_type
    events: list[object] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.close())
    return events


@pytest.mark.parametrize("name", CHOICE_NAMES)
def test_every_split_point_of_several_choices_gives_the_same_events(name: str) -> None:
    assert CASES[0].fmt == "chat"
    data = choices_body(name)
    once = parse_choices([data])
    assert sum(isinstance(e, ChoiceEvent) for e in once) > CHOICES
    # Every split point of the whole reply; the bodies that end early differ only at the end.
    points = range(len(data) + 1) if name == "reply" else range(len(data) - 400, len(data) + 1)
    for point in points:
        assert parse_choices([data[:point], data[point:]]) == once, point
    assert parse_choices(pieces(data, 1)) == once
    for newline in SSE_LINE_ENDS:
        assert parse_choices([choices_body(name, newline)]) == once
    for ref in CHOICE_REFS:
        assert parse_choices([data], ref) == once, ref


def test_every_choice_of_the_scripted_reply_reads_as_scripted() -> None:
    events = parse_choices([choices_body("reply")])
    for index in range(CHOICES):
        mine = [e.event for e in events if isinstance(e, ChoiceEvent) and e.index == index]
        script = SCRIPT.choice_script(index)
        assert outcome(mine)[:4] == (script.reasoning, script.answer, "stop", None)
