"""The time limits against servers that keep the connection busy but never make progress.

A keep-alive (an SSE comment, an empty line, an NDJSON line of spaces, an event without a
token) is bytes, not progress: before the first token it does not end the first-token wait,
and once tokens flow it does not renew the idle timeout. ``total_timeout`` caps the whole
reply. The fake server pings until the client leaves, so every test here ends only when a
limit fires; the limits are tiny, and no test measures how long anything took.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatterm.config import Settings
from chatterm.events import Finish, Started, StreamError, StreamWarning
from chatterm.providers.registry import ResolvedModel, resolve_model
from tests.cli.test_cli_ask import MODEL, PROMPT, ask
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, Scenario, preset
from tests.network.test_network_faults import (
    SAFETY_TIMEOUT_S,
    anthropic_target,
    kinds,
    network,
    run,
)
from tests.waiting import FakeSleep

BASE = Scenario()
ENDLESS = "word " * 5_000  # far more than the total limit lets through


def ollama_target(server: FakeServer) -> ResolvedModel:
    return resolve_model("ollama:qwen3", Settings(), env={"OLLAMA_HOST": server.base_url})


def openai_target(server: FakeServer) -> ResolvedModel:
    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url + "/v1"}
    return resolve_model("openai:test-model", Settings(), env=env)


TARGETS = {"chat-sse": openai_target, "anthropic-sse": anthropic_target, "ollama": ollama_target}
KEEPALIVES = [
    ("chat-sse", "comment"),  # ": ping"
    ("chat-sse", "blank"),  # an empty line
    ("chat-sse", "empty"),  # data: {}
    ("anthropic-sse", "comment"),
    ("ollama", "comment"),  # a line of spaces
    ("ollama", "blank"),
    ("ollama", "empty"),  # a message with no text, done: false
]


async def client_left(server: FakeServer) -> bool:
    [request] = server.requests
    return await asyncio.to_thread(request.client_closed.wait, SAFETY_TIMEOUT_S)


@pytest.mark.parametrize(("route", "ping"), KEEPALIVES)
async def test_keepalives_do_not_end_the_wait_for_the_first_token(
    fake_server: FakeServer, route: str, ping: str
) -> None:
    fake_server.scenario = preset("ping-forever").but(ping=ping, ping_every_s=0.02)
    settings = network(first_token_timeout=0.2, idle_timeout=0.2)
    sleep = FakeSleep()
    reply, events = await run(TARGETS[route](fake_server), settings, sleep)

    assert [k for k in kinds(events) if k is not StreamWarning] == [Started, StreamError, Finish]
    assert sleep.waits == []  # not retried
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert reply.error.message == (
        f"127.0.0.1:{fake_server.port} sent nothing for 0.2 s before the first token "
        "(network.first_token_timeout); raise it for models that think long"
    )
    assert await client_left(fake_server)


async def test_the_first_token_wait_runs_from_the_request_not_from_the_response_head(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    """The head is bytes too: a server answering just in time and then pinging does not
    get a second first-token wait."""
    fake_server.scenario = preset("ping-forever").but(headers_delay_s=0.1, ping_every_s=0.02)
    reply, _ = await run(fake_target, network(first_token_timeout=0.2))
    assert reply.error is not None and "(network.first_token_timeout)" in reply.error.message


@pytest.mark.parametrize(("route", "ping"), KEEPALIVES)
async def test_keepalives_after_the_first_tokens_do_not_renew_the_idle_timeout(
    fake_server: FakeServer, route: str, ping: str
) -> None:
    scenario = preset("ping-mid").but(reasoning="", ping=ping, ping_every_s=0.02)
    fake_server.scenario = scenario
    settings = network(first_token_timeout=SAFETY_TIMEOUT_S, idle_timeout=0.2)
    reply, events = await run(TARGETS[route](fake_server), settings)

    assert reply.finish_reason == "interrupted"
    assert reply.text == "".join(scenario.answer_pieces[:2])  # the reply so far is kept
    assert reply.error is not None
    assert reply.error.message == (
        f"127.0.0.1:{fake_server.port} went silent for 0.2 s mid-reply (network.idle_timeout); "
        "the reply so far is kept"
    )
    assert kinds(events).count(StreamError) == 1
    assert await client_left(fake_server)


async def test_a_slow_but_steady_stream_outlasts_the_idle_timeout(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    """Every piece is progress: a reply longer than the idle timeout, whose pieces come
    well within it, is received whole."""
    fake_server.scenario = BASE.but(write_delay_s=0.01, keepalive_comments=True)
    reply, _ = await run(fake_target, network(idle_timeout=1.0))
    assert reply.error is None
    assert reply.finish_reason == "stop"
    assert reply.text == BASE.answer


# ----------------------------------------------------------------------------- total_timeout


@pytest.mark.parametrize("route", ["chat-sse", "ollama"])
async def test_the_total_timeout_ends_a_reply_that_goes_on_and_keeps_its_text(
    fake_server: FakeServer, route: str
) -> None:
    scenario = preset("ping-mid").but(reasoning="", ping_every_s=0.02)
    fake_server.scenario = scenario
    settings = network(
        first_token_timeout=SAFETY_TIMEOUT_S, idle_timeout=SAFETY_TIMEOUT_S, total_timeout=0.5
    )
    sleep = FakeSleep()
    reply, events = await run(TARGETS[route](fake_server), settings, sleep)

    assert reply.finish_reason == "interrupted"
    assert reply.text == "".join(scenario.answer_pieces[:2])
    assert reply.error is not None
    assert reply.error.message == (
        f"127.0.0.1:{fake_server.port} took longer than 0.5 s for the whole reply "
        "(network.total_timeout); the reply so far is kept"
    )
    assert kinds(events).count(StreamError) == 1
    assert sleep.waits == [] and len(fake_server.requests) == 1  # not retried
    assert await client_left(fake_server)


async def test_the_total_timeout_ends_a_stream_of_tokens_that_never_stops(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    """Tokens keep the idle timeout at bay; only the total limit ends an endless reply."""
    fake_server.scenario = BASE.but(reasoning="", answer=ENDLESS, write_delay_s=0.01)
    settings = network(first_token_timeout=SAFETY_TIMEOUT_S, total_timeout=0.5)
    reply, _ = await run(fake_target, settings)

    assert reply.finish_reason == "interrupted"
    assert reply.text and ENDLESS.startswith(reply.text)
    assert reply.error is not None
    assert "for the whole reply (network.total_timeout)" in reply.error.message
    assert await client_left(fake_server)


async def test_the_total_timeout_before_any_token_says_so(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = preset("ping-forever").but(ping_every_s=0.02)
    settings = network(first_token_timeout=SAFETY_TIMEOUT_S, total_timeout=0.2)
    reply, events = await run(fake_target, settings)

    assert kinds(events) == [Started, StreamError, Finish]
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert reply.error.message == (
        f"127.0.0.1:{fake_server.port} sent no token within 0.2 s, the whole reply's limit "
        "(network.total_timeout); raise it for models that think long"
    )


async def test_the_total_timeout_covers_a_server_that_never_answers(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario(headers_delay_s=SAFETY_TIMEOUT_S)
    settings = network(first_token_timeout=SAFETY_TIMEOUT_S, total_timeout=0.2)
    reply, _ = await run(fake_target, settings)
    assert reply.error is not None
    assert "(network.total_timeout)" in reply.error.message
    assert await client_left(fake_server)


async def test_no_retry_waits_past_the_total_timeout(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = Scenario.http_error(429, retry_after=30)
    sleep = FakeSleep()
    reply, _ = await run(fake_target, network(total_timeout=20), sleep)

    assert sleep.waits == [] and len(fake_server.requests) == 1
    assert reply.error is not None
    assert reply.error.message.endswith(
        "(waiting 30 s would pass network.total_timeout = 20 s; not retried)"
    )


async def test_a_total_timeout_of_0_is_no_limit(
    fake_server: FakeServer, fake_target: ResolvedModel
) -> None:
    fake_server.scenario = BASE.but(headers_delay_s=0.05, write_delay_s=0.001)
    reply, _ = await run(fake_target, network(total_timeout=0))
    assert reply.error is None and reply.text == BASE.answer


# ----------------------------------------------------------------------------- chatterm ask


def test_ask_against_a_server_that_only_pings_ends_with_one_line(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[network]\nfirst_token_timeout = 0.3\nidle_timeout = 0.3\n", encoding="utf-8"
    )
    result = ask(home, fake_server, "-m", f"{MODEL}@ping-forever", PROMPT)

    assert result.returncode == 1
    assert "──" in result.stdout and "error" in result.stdout  # the stats line, no text
    assert result.stderr == (
        f"error: 127.0.0.1:{fake_server.port} sent nothing for 0.3 s before the first token "
        "(network.first_token_timeout); raise it for models that think long\n"
    )
