"""Retries, timeouts and cancellation against the fake server (and httpx.MockTransport).

Before the first token a failed request is sent again (at most ``max_retries`` times) after
the wait the server asked for, or a backoff with jitter; after it nothing is retried. Every
wait goes through a fake ``sleep``, so no test waits for a retry: the waits are checked as
numbers. The timeouts are real but tiny (the fake server stays silent far longer), and no
test measures how long anything took.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from chatterm.config import NetworkSettings, Settings
from chatterm.events import (
    Conversation,
    Finish,
    Message,
    ReasoningDelta,
    Retrying,
    Started,
    StreamError,
    TextDelta,
    TimedEvent,
)
from chatterm.network.stream import stream_reply
from chatterm.network.tls import tls_context
from chatterm.providers.registry import ResolvedModel, resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.reply.live import ReplyStream
from chatterm.sessions.store import SessionStore
from tests.cli.test_cli_ask import MODEL, PROMPT, Ask, ask, ask_env
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import (
    FakeServer,
    RecordedRequest,
    Scenario,
    after_reasoning,
    mid_frame_offset,
    render_frames,
)
from tests.waiting import FakeSleep, default_sigint

SAFETY_TIMEOUT_S = 60.0  # a safety net against hangs only; no test depends on timing
CONVERSATION = Conversation((Message("user", PROMPT),))
BASE = Scenario()


def network(**changes: float) -> Settings:
    return Settings(network=replace(NetworkSettings(), **changes))


async def run(
    target: ResolvedModel,
    settings: Settings | None = None,
    sleep: FakeSleep | None = None,
) -> tuple[Reply, list[TimedEvent]]:
    stream = ReplyStream(target, CONVERSATION, settings or Settings(), sleep=sleep or FakeSleep())
    events: list[TimedEvent] = []
    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        async for timed in stream.events():
            events.append(timed)
    return stream.reply(), events


def kinds(events: list[TimedEvent]) -> list[type]:
    return [type(t.event) for t in events]


def notices(events: list[TimedEvent]) -> list[Retrying]:
    return [t.event for t in events if isinstance(t.event, Retrying)]


def anthropic_target(server: FakeServer) -> ResolvedModel:
    env = {"ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": server.base_url}
    return resolve_model("anthropic:claude-sonnet-4-5", Settings(), env=env)


def refused_target() -> tuple[ResolvedModel, socket.socket]:
    """A model at a bound port that never listens: every connection is refused."""
    unused = socket.socket()
    unused.bind(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1"}
    return resolve_model("openai:test-model", Settings(), env=env), unused


def assert_whole_reply(reply: Reply, events: list[TimedEvent]) -> None:
    """The reply as if the first attempt had worked: no error, nothing doubled."""
    assert reply.finish_reason == "stop"
    assert reply.error is None
    assert reply.reasoning == BASE.reasoning
    assert reply.text == BASE.answer
    assert StreamError not in kinds(events)
    assert kinds(events).count(Started) == 1 and kinds(events)[0] is Started


# ----------------------------------------------------------------------------- HTTP errors


async def test_429_waits_as_long_as_retry_after_says_then_streams(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.queue(Scenario.http_error(429, retry_after=3))
    sleep = FakeSleep()
    reply, events = await run(fake_target, sleep=sleep)

    assert sleep.waits == [3.0]
    assert notices(events) == [Retrying(1, 2, 3.0, "HTTP 429 rate limited")]
    assert kinds(events)[:2] == [Started, Retrying]  # nothing of the failed attempt
    assert_whole_reply(reply, events)
    assert [r.status for r in fake_server.requests] == [429, 200]
    assert fake_server.requests[0].body == fake_server.requests[1].body


async def test_retry_after_ms_is_preferred_to_retry_after(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    # retry-after: 2 (whole seconds, rounded up) and retry-after-ms: 1500
    fake_server.queue(Scenario.http_error(429, retry_after=1.5))
    sleep = FakeSleep()
    reply, _ = await run(fake_target, sleep=sleep)
    assert sleep.waits == [1.5]
    assert reply.finish_reason == "stop"


async def test_503_without_retry_after_backs_off_with_jitter(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.queue(
        Scenario.http_error(503, plain="upstream connect error"),
        Scenario.http_error(503, plain="upstream connect error"),
    )
    sleep = FakeSleep()
    async with httpx.AsyncClient(verify=tls_context()) as client, asyncio.timeout(SAFETY_TIMEOUT_S):
        events = [
            timed
            async for timed in stream_reply(
                client, fake_target, CONVERSATION, sleep=sleep, rand=lambda: 1.0
            )
        ]
    # 0.5 s then 1 s, each at the top of its ±25 % jitter
    assert sleep.waits == [0.625, 1.25]
    assert [n.reason for n in notices(events)] == ["HTTP 503 service unavailable"] * 2
    assert [n.retry for n in notices(events)] == [1, 2]
    assert Finish("stop") in [t.event for t in events]


@pytest.mark.parametrize("status", [408, 409, 500, 502, 504, 520, 529])
async def test_other_retryable_statuses(
    fake_server: FakeServer, fake_target: ResolvedModel, status: int
) -> None:
    fake_server.queue(Scenario.http_error(status))
    reply, events = await run(fake_target)
    assert notices(events)[0].reason.startswith(f"HTTP {status} ")
    assert reply.finish_reason == "stop"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 501])
async def test_errors_that_would_only_repeat_are_not_retried(
    fake_server: FakeServer, fake_target: ResolvedModel, status: int
) -> None:
    fake_server.scenario = Scenario.http_error(status)
    sleep = FakeSleep()
    reply, events = await run(fake_target, sleep=sleep)
    assert kinds(events) == [Started, StreamError, Finish]
    assert sleep.waits == [] and len(fake_server.requests) == 1
    assert reply.error is not None and "(after" not in reply.error.message


async def test_when_every_retry_fails_the_last_error_says_so(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario.http_error(429, retry_after=3)
    sleep = FakeSleep()
    reply, events = await run(fake_target, sleep=sleep)

    assert kinds(events) == [Started, Retrying, Retrying, StreamError, Finish]
    assert sleep.waits == [3.0, 3.0]
    assert len(fake_server.requests) == 3
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert "Rate limit reached for test-model" in reply.error.message
    assert reply.error.message.endswith("(after 2 retries)")
    assert reply.error.status == 429 and reply.error.retryable
    assert reply.usage.estimated and reply.usage.input_tokens == 0  # nothing was billed


async def test_max_retries_0_sends_once(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario.http_error(503)
    sleep = FakeSleep()
    reply, events = await run(fake_target, network(max_retries=0), sleep)
    assert kinds(events) == [Started, StreamError, Finish]
    assert sleep.waits == [] and len(fake_server.requests) == 1
    assert reply.error is not None and "(after" not in reply.error.message


async def test_max_retries_counts_the_extra_attempts(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario.http_error(500)
    reply, events = await run(fake_target, network(max_retries=4))
    assert [n.retry for n in notices(events)] == [1, 2, 3, 4]
    assert {n.max_retries for n in notices(events)} == {4}
    assert len(fake_server.requests) == 5
    assert reply.error is not None and reply.error.message.endswith("(after 4 retries)")


async def test_a_wait_longer_than_a_minute_is_not_waited_for(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario.http_error(429, retry_after=3600)
    sleep = FakeSleep()
    reply, events = await run(fake_target, sleep=sleep)
    assert sleep.waits == [] and len(fake_server.requests) == 1
    assert reply.error is not None
    assert reply.error.message.endswith("(the server asks to wait 1 h; not retried)")


async def test_a_retry_that_fails_differently_reports_its_own_error(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.queue(Scenario.http_error(503), Scenario.http_error(401))
    reply, events = await run(fake_target)
    assert kinds(events) == [Started, Retrying, StreamError, Finish]
    assert reply.error is not None and reply.error.status == 401
    assert reply.error.message.endswith("(after 1 retry)")


# ----------------------------------------------------------------------------- connections


async def test_connection_refused_is_retried_then_says_so_clearly() -> None:
    target, unused = refused_target()
    port = unused.getsockname()[1]
    sleep = FakeSleep()
    with unused:
        async with (
            httpx.AsyncClient(verify=tls_context()) as client,
            asyncio.timeout(SAFETY_TIMEOUT_S),
        ):
            events = [
                t
                async for t in stream_reply(
                    client, target, CONVERSATION, sleep=sleep, rand=lambda: 0.5
                )
            ]
    assert sleep.waits == [0.5, 1.0]
    assert [n.reason for n in notices(events)] == [f"cannot connect to 127.0.0.1:{port}"] * 2
    [error] = [t.event for t in events if isinstance(t.event, StreamError)]
    assert error.message.startswith(f"cannot connect to 127.0.0.1:{port} (")
    assert error.message.endswith("is the server running? (after 2 retries)")
    assert "\n" not in error.message and API_KEY not in error.message
    assert events[-1].event == Finish("error")


async def test_a_server_that_hangs_up_without_answering_is_retried(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.queue(Scenario(hang_up=True))
    reply, events = await run(fake_target)
    [notice] = notices(events)
    assert notice.reason == f"127.0.0.1:{fake_server.port} closed the connection without answering"
    assert_whole_reply(reply, events)


async def test_a_drop_before_the_first_token_is_retried(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    cut = mid_frame_offset(render_frames(BASE), 1)  # inside the role chunk
    fake_server.queue(BASE.but(drop_after_bytes=cut))
    reply, events = await run(fake_target)
    [notice] = notices(events)
    assert notice.reason == "the connection dropped before the first token"
    assert_whole_reply(reply, events)
    assert len(fake_server.requests) == 2


async def test_a_body_that_ends_before_the_first_token_is_retried(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.queue(BASE.but(truncate_after=1))  # the role chunk, then a clean end
    reply, events = await run(fake_target)
    first, *more = notices(events)
    assert "ended before the model finished" in first.reason
    # The server closes the connection after that body; if httpx reuses it before it has
    # seen the close, that attempt fails too (and is retried, as it should be).
    assert len(more) <= 1 and "ended before" not in "".join(n.reason for n in more)
    assert_whole_reply(reply, events)


# ----------------------------------------------------------------------------- in-stream errors


async def test_overloaded_error_event_before_the_first_token_is_retried(
    fake_server: FakeServer,
) -> None:
    """Anthropic answers 200, then ``event: error`` with ``overloaded_error``."""
    target = anthropic_target(fake_server)
    fake_server.queue(BASE.but(error_after=after_reasoning(0)))
    sleep = FakeSleep()
    reply, events = await run(target, sleep=sleep)

    [notice] = notices(events)
    assert "Overloaded" in notice.reason and "\n" not in notice.reason
    assert len(sleep.waits) == 1 and 0.375 <= sleep.waits[0] <= 0.625
    assert [r.status for r in fake_server.requests] == [200, 200]
    assert_whole_reply(reply, events)
    # The usage is the second attempt's alone, not two message_starts added up.
    assert reply.usage.input_tokens == BASE.prompt_tokens


async def test_a_server_error_chunk_before_the_first_token_is_retried(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.queue(BASE.but(error_after=1))  # after the role chunk
    reply, events = await run(fake_target)
    assert len(notices(events)) == 1
    assert_whole_reply(reply, events)


@pytest.mark.parametrize(
    ("scenario", "finish"),
    [
        (BASE.but(error_after=1 + len(BASE.reasoning_pieces) + 3), "error"),
        (BASE.but(drop_mid=1 + len(BASE.reasoning_pieces) + 3), "interrupted"),
        (BASE.but(truncate_after=1 + len(BASE.reasoning_pieces) + 3), "interrupted"),
    ],
    ids=["error-event", "drop", "truncated"],
)
async def test_nothing_is_retried_after_the_first_token(
    fake_server: FakeServer, fake_target: ResolvedModel, scenario: Scenario, finish: str
) -> None:
    fake_server.scenario = scenario
    sleep = FakeSleep()
    reply, events = await run(fake_target, sleep=sleep)

    assert sleep.waits == [] and notices(events) == []
    assert len(fake_server.requests) == 1
    assert reply.finish_reason == finish
    assert reply.reasoning == BASE.reasoning
    assert reply.text == "".join(BASE.answer_pieces[:3])
    assert reply.error is not None and "(after" not in reply.error.message


async def test_an_error_after_reasoning_only_is_not_retried_either(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = BASE.but(error_after=after_reasoning(2))
    reply, events = await run(fake_target)
    assert notices(events) == []
    assert reply.finish_reason == "error"
    assert reply.reasoning == "".join(BASE.reasoning_pieces[:2]) and reply.text == ""


async def test_events_before_the_first_token_arrive_in_order_with_it(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    """Held back until the first token, then passed on in order, with their own times."""
    fake_server.scenario = BASE.but(keepalive_comments=True, garbage_after=0)
    reply, events = await run(fake_target)
    stamps = [t.at for t in events]
    assert stamps == sorted(stamps)
    first_token = next(i for i, t in enumerate(events) if isinstance(t.event, ReasoningDelta))
    assert reply.warnings and first_token > 1  # the warning came first, and is kept


# ----------------------------------------------------------------------------- timeouts


async def test_connect_timeout_is_set_on_each_request_and_named_when_it_fires() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        raise httpx.ConnectTimeout("timed out", request=request)

    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": "http://10.0.0.1:8000/v1"}
    target = resolve_model("openai:test-model", Settings(), env=env)
    settings = network(connect_timeout=2.5, max_retries=1)
    sleep = FakeSleep()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        stream = ReplyStream(target, CONVERSATION, settings, client=client, sleep=sleep)
        events = [t async for t in stream.events()]
    reply = stream.reply()

    assert seen == [{"connect": 2.5, "read": None, "write": 30.0, "pool": 2.5}] * 2
    assert notices(events)[0].reason == "timed out connecting to 10.0.0.1:8000"
    assert reply.error is not None
    assert reply.error.message == (
        "timed out connecting to 10.0.0.1:8000 after 2.5 s (network.connect_timeout); "
        "check the address or your network (after 1 retry)"
    )


@pytest.mark.parametrize(
    "scenario",
    [Scenario(headers_delay_s=SAFETY_TIMEOUT_S), BASE.but(stall_after=1)],
    ids=["no-headers", "headers-and-a-role-chunk"],
)
async def test_silence_before_the_first_token_ends_with_its_own_message(
    fake_server: FakeServer, fake_target: ResolvedModel, scenario: Scenario
) -> None:
    fake_server.scenario = scenario
    sleep = FakeSleep()
    reply, events = await run(fake_target, network(first_token_timeout=0.2), sleep)

    assert kinds(events) == [Started, StreamError, Finish]
    assert sleep.waits == []  # the user waited once already: not retried
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert reply.error.message == (
        f"127.0.0.1:{fake_server.port} sent nothing for 0.2 s before the first token "
        "(network.first_token_timeout); raise it for models that think long"
    )
    # The server saw the client give up.
    [request] = fake_server.requests
    assert await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)


async def test_silence_between_chunks_ends_with_its_own_message_and_keeps_the_text(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = BASE.but(split="whole", stall_after=1 + len(BASE.reasoning_pieces) + 2)
    settings = network(idle_timeout=0.2, first_token_timeout=SAFETY_TIMEOUT_S)
    reply, events = await run(fake_target, settings)

    assert reply.finish_reason == "interrupted"
    assert reply.text == "".join(BASE.answer_pieces[:2])
    assert reply.error is not None
    assert reply.error.message == (
        f"127.0.0.1:{fake_server.port} went silent for 0.2 s mid-reply (network.idle_timeout); "
        "the reply so far is kept"
    )
    assert kinds(events).count(StreamError) == 1
    [request] = fake_server.requests
    assert await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)


async def test_the_idle_timeout_does_not_apply_before_the_first_token(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    """A model thinking quietly for longer than the idle timeout is still waited for."""
    # One write, with a length: after the pause the whole body comes in one read.
    fake_server.scenario = BASE.but(headers_delay_s=0.3, split="whole", body_framing="length")
    settings = network(idle_timeout=0.05, first_token_timeout=SAFETY_TIMEOUT_S)
    reply, events = await run(fake_target, settings)
    assert_whole_reply(reply, events)


# ----------------------------------------------------------------------------- cancelling


async def consume_until(
    stream: ReplyStream, ready: Callable[[TimedEvent], bool], seen: asyncio.Event
) -> None:
    async for timed in stream.events():
        if ready(timed):
            seen.set()


async def test_cancelling_while_waiting_for_the_first_token_closes_the_connection(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(headers_delay_s=SAFETY_TIMEOUT_S)
    stream = ReplyStream(fake_target, CONVERSATION, Settings(), sleep=FakeSleep())
    never = asyncio.Event()
    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        task = asyncio.create_task(consume_until(stream, lambda t: False, never))
        [request] = await asyncio.to_thread(fake_server.wait_for_requests, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)
    stream.cancel()
    reply = stream.reply()
    assert reply.finish_reason == "cancelled" and reply.error is None


async def test_cancelling_during_a_retry_wait_ends_the_reply_cancelled(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario.http_error(429, retry_after=30)
    waiting = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()  # a wait that only a cancel ends

    stream = ReplyStream(fake_target, CONVERSATION, Settings(), sleep=sleep)
    events: list[TimedEvent] = []

    async def consume() -> None:
        async for timed in stream.events():
            events.append(timed)

    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        task = asyncio.create_task(consume())
        await waiting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    stream.cancel()
    reply = stream.reply()
    assert kinds(events) == [Started, Retrying]
    assert reply.finish_reason == "cancelled" and reply.error is None
    assert len(fake_server.requests) == 1


# ----------------------------------------------------------------------------- the seam


async def test_only_tokens_release_held_events() -> None:
    """An empty delta is not a token: a retryable error after it is still retried."""
    bodies = [
        b'data: {"choices":[{"index":0,"delta":{"content":""}}]}\n\n'
        b'data: {"error":{"message":"busy","type":"server_error"}}\n\n',
        b'data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}\n\n'
        b"data: [DONE]\n\n",
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=bodies.pop(0)
        )

    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    target = resolve_model("openai:test-model", Settings(), env=env)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        stream = ReplyStream(target, CONVERSATION, Settings(), client=client, sleep=FakeSleep())
        events = [t.event async for t in stream.events()]
    assert [type(e) for e in events] == [Started, Retrying, TextDelta, Finish]
    assert stream.reply().text == "Hi"


# ----------------------------------------------------------------------------- chatterm ask


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def test_json_lines_announce_each_retry(fake_server: FakeServer, home: Path) -> None:
    fake_server.queue(Scenario.http_error(429, retry_after=0))
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.records[0] == {
        "type": "retrying",
        "retry": 1,
        "max_retries": 2,
        "delay_s": 0.0,
        "reason": "HTTP 429 rate limited",
    }
    assert "error" not in [r["type"] for r in result.records]
    assert result.done["finish_reason"] == "stop"
    assert result.done["text"] == BASE.answer


def test_plain_says_retrying_on_stderr(fake_server: FakeServer, home: Path) -> None:
    fake_server.queue(Scenario.http_error(503, retry_after=0))
    result = ask(home, fake_server, "-m", MODEL, PROMPT)
    assert result.returncode == 0
    assert result.stderr == "retrying in 0 s: HTTP 503 service unavailable (retry 1 of 2)\n"
    assert BASE.answer.splitlines()[0] in result.stdout


def test_retries_option_wins_over_the_config(fake_server: FakeServer, home: Path) -> None:
    (home / "config.toml").write_text("[network]\nmax_retries = 0\n", encoding="utf-8")
    fake_server.scenario = Scenario.http_error(429, retry_after=0)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)
    assert [r["type"] for r in result.records] == ["error", "done"]
    assert len(fake_server.requests) == 1

    result = ask(home, fake_server, "--json", "--retries", "1", "-m", MODEL, PROMPT)
    assert [r["type"] for r in result.records] == ["retrying", "error", "done"]
    assert result.records[1]["message"].endswith("(after 1 retry)")
    assert result.returncode == 1
    assert len(fake_server.requests) == 3


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_retries_option_takes_a_whole_number(home: Path, value: str) -> None:
    result = ask(home, None, "--retries", value, "-m", "demo", PROMPT)
    assert result.returncode == 2
    assert result.stderr.startswith("chatterm: argument --retries: give a whole number")
    assert result.stderr.count("\n") == 1


def interrupt_after_first_line(
    home: Path, server: FakeServer, *args: str
) -> tuple[Ask, RecordedRequest]:
    """Run ``ask --json``, press Ctrl+C once a line (or the request) is there, and wait."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chatterm", "ask", "--json", *args, "-m", MODEL, PROMPT],
        stdin=subprocess.DEVNULL,
        preexec_fn=default_sigint,  # Ctrl+C works however the suite was started
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ask_env(home, server),
        cwd=home,
    )
    try:
        assert process.stdout is not None
        if server.scenario.headers_delay_s:
            server.wait_for_requests(1, SAFETY_TIMEOUT_S)
            first = b""
        else:
            first = process.stdout.readline()  # the retrying record
            assert first, "chatterm ended early"
        [request] = server.requests
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return Ask(process.returncode, (first + rest).decode(), err.decode()), request


def test_ctrl_c_during_a_retry_wait_ends_the_reply_cancelled_and_saved(
    fake_server: FakeServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_server.scenario = Scenario.http_error(429, retry_after=30)
    result, _ = interrupt_after_first_line(home, fake_server, "--save")

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [r["type"] for r in result.records] == ["retrying", "done"]
    assert result.records[0]["delay_s"] == 30.0
    done = result.done
    assert done["finish_reason"] == "cancelled"
    assert len(fake_server.requests) == 1
    monkeypatch.setenv("CHATTERM_HOME", str(home))
    [turn] = SessionStore().load(done["session_id"]).turns
    assert turn.finish_reason == "cancelled" and turn.prompt == PROMPT


def test_ctrl_c_before_the_first_byte_closes_the_connection(
    fake_server: FakeServer, home: Path
) -> None:
    fake_server.scenario = Scenario(headers_delay_s=SAFETY_TIMEOUT_S)
    result, request = interrupt_after_first_line(home, fake_server)

    assert result.returncode == 1
    assert result.done["finish_reason"] == "cancelled"
    assert request.client_closed.wait(SAFETY_TIMEOUT_S), "the server never saw the client leave"
