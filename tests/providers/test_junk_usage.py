"""Junk usage never reads as an exact $0, in any wire format.

Each case renders a real stream of the format with the fake server's writers, spoils the
usage it reports (the whole object, or every number in it: counts, durations, the gateway's
cost) and folds what the parser makes of it into a reply. A usage that counts nothing is no
usage: the reply carries its own estimate, marked, and a paid model's cost is an estimate
(``~$…``) or unknown, never "in 0 · out 0 · $0" as if the server had said so.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatterm.cli.printer import done_record
from chatterm.events import Event, StreamError, Usage, UsageUpdate, estimate_tokens
from chatterm.pricing import Cost, PriceSpec, cost_of
from chatterm.providers.anthropic import MessagesParser
from chatterm.providers.chat_completions_stream import ChatCompletionsParser
from chatterm.providers.gateway import GatewayParser
from chatterm.providers.gemini_stream import GeminiParser
from chatterm.providers.json_values import MAX_COUNT
from chatterm.providers.ollama import OllamaChatParser
from chatterm.providers.openai_responses import ResponsesParser
from chatterm.providers.parsing import INTERNAL_ERROR, GuardedParser
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.reply.figures import format_usage
from chatterm.testing.fakeserver import FakeServer, render
from chatterm.testing.scenario import Scenario
from chatterm.tui.stats import live_bar, reply_line
from tests.test_providers_e2e import PROVIDERS, TARGETS, ask, serve

PARSERS: dict[str, Callable[[], GuardedParser]] = {
    "chat": ChatCompletionsParser,
    "responses": ResponsesParser,
    "anthropic": MessagesParser,
    "gemini": GeminiParser,
    "ollama": OllamaChatParser,
    "gateway": GatewayParser,
}
FORMATS = tuple(PARSERS)
SCRIPT = Scenario(reasoning="Two and two.", answer="Two and two make four, as ever.")
PROMPT_CHARS = 400
PAID = PriceSpec("gpt-4o", provider_id="openai")
USAGE_KEYS = ("usage", "usageMetadata")
# The Ollama done line's own figures, which are its usage.
OLLAMA_FIGURES = ("_count", "_duration")

#: What a whole usage object may be instead of one.
JUNK_OBJECTS: dict[str, Any] = {
    "empty": {},
    "null": None,
    "string": "n/a",
    "list": [31, 5],
    "number": 36,
    "true": True,
}
#: What every number in a usage object may be instead of a count.
JUNK_NUMBERS: dict[str, Any] = {
    "zero": 0,
    "null": None,
    "negative": -5,
    "huge": 10**13,
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
    "string": "12",
    "true": True,
    "false": False,
    "fraction": 12.5,
    "list": [12],
    "object": {"n": 12},
}


def _numbers_spoiled(value: Any, junk: Callable[[], Any]) -> Any:
    """``value`` with every number in it (booleans aside) replaced by ``junk()``."""
    if isinstance(value, dict):
        return {k: _numbers_spoiled(v, junk) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers_spoiled(v, junk) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return junk()
    return value


def _spoiled(payload: Any, whole: Callable[[], Any] | None, junk: Callable[[], Any]) -> Any:
    """``payload`` with its usage objects replaced by ``whole()`` (when given) or with their
    numbers replaced by ``junk()``; the gateway's ``cost`` and Ollama's figures too."""
    if isinstance(payload, list):
        return [_spoiled(v, whole, junk) for v in payload]
    if not isinstance(payload, dict):
        return payload
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if key in USAGE_KEYS or key == "cost":
            out[key] = whole() if whole is not None else _numbers_spoiled(value, junk)
        elif key.endswith(OLLAMA_FIGURES) and "done" in payload:
            out[key] = (junk if whole is None else whole)()
        else:
            out[key] = _spoiled(value, whole, junk)
    return out


def spoiled_body(
    fmt: str, junk: Callable[[], Any], whole: Callable[[], Any] | None = None
) -> bytes:
    """The stream of ``fmt`` for :data:`SCRIPT`, its usage spoiled (see :func:`_spoiled`)."""
    out: list[bytes] = []
    for frame in render(fmt, SCRIPT):
        if frame.kind != "data":
            out.append(frame.wire)
            continue
        text = frame.wire.decode("utf-8")
        lines = text.splitlines(keepends=True)
        for i, line in enumerate(lines):
            prefix = "data: " if line.startswith("data: ") else ""
            if (fmt != "ollama" and not prefix) or line.startswith("data: [DONE]"):
                continue
            body = line[len(prefix) :]
            ending = body[len(body.rstrip("\r\n")) :]
            payload = json.loads(body)
            lines[i] = prefix + json.dumps(_spoiled(payload, whole, junk)) + ending
        out.append("".join(lines).encode("utf-8"))
    return b"".join(out)


def parse(fmt: str, body: bytes) -> list[Event]:
    parser = PARSERS[fmt]()
    return [*parser.feed(body), *parser.close()]


def fold(events: list[Event]) -> Reply:
    accumulator = ReplyAccumulator("test", prompt_chars=PROMPT_CHARS)
    for i, event in enumerate(events, 1):
        accumulator.add(float(i), event)
    reply = accumulator.reply()
    return reply.with_cost(cost_of(reply.usage, PAID))


def assert_never_an_exact_zero(reply: Reply) -> None:
    usage, cost = reply.usage, reply.cost
    assert cost is not None
    counts = (usage.input_tokens, usage.output_tokens)
    assert usage.estimated or any(counts), usage
    # A cost the server reported is what it charged, $0 included: nothing made up.
    assert cost.usd is None or cost.usd > 0 or cost.estimated or cost.source == "server"


def assert_the_reply_estimate(reply: Reply) -> None:
    assert reply.usage.estimated
    assert reply.usage.output_tokens == estimate_tokens(len(reply.text) + len(reply.reasoning))
    assert reply.usage.input_tokens == estimate_tokens(PROMPT_CHARS)
    cost = reply.cost
    assert cost is not None
    if cost.source != "server":  # the gateway's cost, when it was a valid number
        assert cost.estimated and cost.usd and cost.label().startswith("~$")


def test_the_spoiler_reaches_every_usage() -> None:
    for fmt in FORMATS:
        clean = parse(fmt, spoiled_body(fmt, junk=lambda: 7))
        usages = [e.usage for e in clean if isinstance(e, UsageUpdate)]
        assert usages, fmt
        assert usages[-1].output_tokens in (7, 14), (fmt, usages[-1])


# A number in place of Ollama's figures is a valid count, in place of the gateway's cost a
# valid cost: not junk there.
OBJECT_CASES = [
    (fmt, junk)
    for fmt in FORMATS
    for junk in JUNK_OBJECTS
    if not (junk == "number" and fmt in ("ollama", "gateway"))
]


@pytest.mark.parametrize(("fmt", "junk"), OBJECT_CASES, ids=[f"{f}-{j}" for f, j in OBJECT_CASES])
def test_a_junk_usage_object_is_no_usage(fmt: str, junk: str) -> None:
    value = JUNK_OBJECTS[junk]
    reply = fold(parse(fmt, spoiled_body(fmt, junk=lambda: value, whole=lambda: value)))
    assert reply.error is None and reply.finish_reason == "stop"
    assert_never_an_exact_zero(reply)
    assert_the_reply_estimate(reply)


@pytest.mark.parametrize("junk", list(JUNK_NUMBERS), ids=list(JUNK_NUMBERS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_junk_counts_are_no_counts(fmt: str, junk: str) -> None:
    value = JUNK_NUMBERS[junk]
    events = parse(fmt, spoiled_body(fmt, junk=lambda: value))
    reply = fold(events)
    assert reply.error is None and reply.finish_reason == "stop"
    assert_never_an_exact_zero(reply)
    assert_the_reply_estimate(reply)
    record = done_record(reply)
    json.dumps(record, allow_nan=False)
    assert record["usage"]["estimated"] is True
    assert record["cost_source"] in ("price_table", "server")
    assert format_usage(reply.usage).endswith(" est.")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_stats_lines_mark_the_estimate(fmt: str) -> None:
    events = parse(fmt, spoiled_body(fmt, junk=lambda: None, whole=dict))
    reply = fold(events)
    line = reply_line(reply).plain
    assert " est." in line and " · ~$" in line, line
    accumulator = ReplyAccumulator("test", prompt_chars=PROMPT_CHARS)
    for i, event in enumerate(events, 1):
        accumulator.add(float(i), event)
        bar = live_bar("test", 1.0, accumulator.snapshot().usage).plain
        assert " tokens est." in bar, (event, bar)


def test_a_server_cost_beside_junk_counts_is_kept() -> None:
    # The gateway's cost is what it charged; the counts it sent beside it are junk.
    body = spoiled_body("gateway", junk=lambda: -1)
    body = body.replace(b'"total": -1', b'"total": 0.25')
    reply = fold(parse("gateway", body))
    assert reply.usage.estimated and reply.usage.output_tokens > 0
    assert reply.usage.cost_usd == 0.25
    assert reply.cost == Cost(0.25, "server")


ZERO_OUTPUT: dict[str, bytes] = {
    "chat": b'data: {"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":0}}\n\n',
    "responses": b'data: {"type":"response.completed","response":{"usage":'
    b'{"input_tokens":31,"output_tokens":0}}}\n\n',
    "anthropic": b'event: message_delta\ndata: {"type":"message_delta","delta":'
    b'{"stop_reason":"end_turn"},"usage":{"input_tokens":31,"output_tokens":0}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    "gemini": b'data: {"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"STOP",'
    b'"index":0}],"usageMetadata":{"promptTokenCount":31,"candidatesTokenCount":0}}\n\n',
    "ollama": b'{"message":{"content":""},"done":true,"prompt_eval_count":31,"eval_count":0}\n',
    "gateway": b'data: {"final":true,"usage":{"input_tokens":31,"output_tokens":0}}\n\n',
}
ANSWER: dict[str, bytes] = {
    "chat": b'data: {"choices":[{"index":0,"delta":{"content":"Four, as ever."}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    "responses": b'data: {"type":"response.output_text.delta","item_id":"m","output_index":0,'
    b'"content_index":0,"delta":"Four, as ever."}\n\n',
    "anthropic": b'event: message_start\ndata: {"type":"message_start","message":'
    b'{"usage":{"input_tokens":31,"output_tokens":1}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"Four, as ever."}}\n\n',
    "gemini": b'data: {"candidates":[{"content":{"parts":[{"text":"Four, as ever."}]},'
    b'"index":0}]}\n\n',
    "ollama": b'{"message":{"content":"Four, as ever."},"done":false}\n',
    "gateway": b'data: {"type":"text","name":"output","content":"Four, as ever."}\n\n',
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_zero_output_beside_streamed_text_is_an_estimate(fmt: str) -> None:
    # The input count is real; the output count says nothing arrived, though text did.
    reply = fold(parse(fmt, ANSWER[fmt] + ZERO_OUTPUT[fmt]))
    assert reply.text == "Four, as ever." and reply.finish_reason == "stop", reply
    assert reply.usage.estimated
    assert reply.usage.input_tokens == 31
    assert reply.usage.output_tokens == estimate_tokens(len(reply.text))


@pytest.mark.parametrize("fmt", FORMATS)
def test_zero_output_with_nothing_streamed_is_exact(fmt: str) -> None:
    reply = fold(parse(fmt, ZERO_OUTPUT[fmt]))
    assert reply.text == "" and not reply.usage.estimated, reply
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (31, 0)
    assert reply.cost is not None and reply.cost.usd and reply.cost.usd > 0


def test_a_real_usage_is_kept_exact() -> None:
    for fmt in FORMATS:
        reply = fold(parse(fmt, spoiled_body(fmt, junk=lambda: 7)))
        assert not reply.usage.estimated, fmt
        assert reply.usage.output_tokens in (7, 14), fmt


# --------------------------------------------------------------------------- properties

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**15), max_value=10**15)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


def _valid_count(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_COUNT


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(FORMATS),
    values=st.lists(JSON_VALUES, min_size=1, max_size=40),
    whole=st.one_of(st.none(), JSON_VALUES),
)
def test_any_json_as_usage_never_reads_as_an_exact_zero(
    fmt: str, values: list[Any], whole: Any
) -> None:
    drawn = itertools.cycle(values)
    body = spoiled_body(
        fmt,
        junk=lambda: next(drawn),
        whole=(lambda: whole) if whole is not None else None,
    )
    events = parse(fmt, body)
    for event in events:
        if isinstance(event, StreamError):
            assert INTERNAL_ERROR not in event.message
        if isinstance(event, UsageUpdate):
            usage: Usage = event.usage
            counts = (
                usage.input_tokens,
                usage.output_tokens,
                usage.reasoning_tokens,
                usage.cached_input_tokens,
                usage.cache_write_tokens,
            )
            assert all(_valid_count(n) for n in counts), usage
            assert usage.cost_usd is None or (math.isfinite(usage.cost_usd) and usage.cost_usd >= 0)
            speed = usage.server_tokens_per_s
            assert speed is None or (math.isfinite(speed) and speed > 0)
    reply = fold(events)
    assert_never_an_exact_zero(reply)
    json.dumps(done_record(reply), allow_nan=False)


# ------------------------------------------------------------------------ end to end


@pytest.mark.parametrize("provider", PROVIDERS)
def test_ask_json_reports_the_estimate(
    fake_server: FakeServer, tmp_path: Path, provider: str
) -> None:
    fmt = TARGETS[provider].fmt
    serve(fake_server, provider, SCRIPT.but(body=spoiled_body(fmt, junk=lambda: None)))
    result = ask(tmp_path, fake_server, provider)
    assert result.returncode == 0, result.stderr
    done = result.done
    assert done["text"] == SCRIPT.answer
    assert done["usage"]["estimated"] is True
    assert done["usage"]["output_tokens"] > 0 and done["usage"]["input_tokens"] > 0
    if done["cost_source"] == "local":
        assert done["cost_usd"] == 0
    else:
        assert done["cost_usd"] is None or done["cost_usd"] > 0, done
