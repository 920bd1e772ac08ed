"""Every provider end to end against the fake server: the same script, the same faults, the
same normalized reply, whatever the wire format.

``chatterm ask --json`` runs as a subprocess for each provider (OpenAI Chat Completions,
OpenAI Responses, Anthropic, Gemini, Ollama, the gateway) against one
:class:`~chatterm.testing.fakeserver.FakeServer`, which checks each provider's key where its
API reads it. A full reply, the same reply cut into awkward pieces, a mid-stream error in
the format's own shape, a dropped connection and a body that ends early must give the same
records everywhere: reasoning, text, usage, finish reason, error. A conversation then
switches provider at every turn, and each server must receive the history in its own
format.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chatterm.config import ProviderConfig, Settings
from chatterm.events import Conversation, Message, StreamWarning
from chatterm.providers.registry import ResolvedModel, resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.reply.live import ReplyStream
from chatterm.testing.formats.gateway import gateway_cost
from tests.fake_provider.server import FakeServer, RecordedRequest, Scenario, after_answer
from tests.waiting import FakeSleep

ROOT = Path(__file__).resolve().parent.parent
SAFETY_TIMEOUT_S = 60.0
KEY = "sk-e2e-secret-key"
PROMPT = "Tell me about naïve text handling"
SYSTEM = "Be brief."
_PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "GW_KEY",
)


@dataclass(frozen=True)
class Target:
    ref: str  # the model reference chatterm is given
    fmt: str  # the fake server's format that must answer it
    reasoning_count: bool  # the format reports a reasoning-token count
    midstream: str  # what the format's mid-stream error says


TARGETS = {
    "openai": Target(
        "openai:test-model",
        "chat",
        True,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "openai-responses": Target(
        "openai-responses:gpt-5",
        "responses",
        True,
        "Our servers are currently overloaded. Please try again later.",
    ),
    "anthropic": Target("anthropic:claude-sonnet-4-5", "anthropic", True, "Overloaded"),
    "gemini": Target(
        "gemini:gemini-2.5-flash",
        "gemini",
        True,
        "The model is overloaded. Please try again later.",
    ),
    "ollama": Target(
        "ollama:qwen3", "ollama", False, "an error was encountered while running the model"
    ),
    "gateway": Target(
        "gw:google-gemini/gemini-2.5-flash",
        "gateway",
        False,
        "Upstream provider error: the model is overloaded, please retry",
    ),
}
PROVIDERS = list(TARGETS)


def provider_env(server: FakeServer) -> dict[str, str]:
    root = server.base_url
    return {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": root + "/v1",
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": root,
        "GEMINI_API_KEY": KEY,
        "GEMINI_BASE_URL": root,
        "OLLAMA_HOST": root,
        "GW_KEY": KEY,
    }


def gateway_config(server: FakeServer) -> str:
    return (
        "[providers.gw]\n"
        'kind = "gateway"\n'
        f'base_url = "{server.base_url}/api/v1"\n'
        'api_key_env = "GW_KEY"\n'
    )


def settings_for(server: FakeServer) -> Settings:
    gateway = ProviderConfig(
        name="gw", base_url=server.base_url + "/api/v1", api_key_env="GW_KEY", kind="gateway"
    )
    return Settings(providers={"gw": gateway})


def resolve(server: FakeServer, provider: str) -> ResolvedModel:
    return resolve_model(TARGETS[provider].ref, settings_for(server), env=provider_env(server))


# ----------------------------------------------------------------------------- chatterm ask


@dataclass
class Ask:
    returncode: int
    stdout: str
    stderr: str

    @property
    def records(self) -> list[dict[str, Any]]:
        assert self.stdout.endswith("\n"), (self.stdout[-300:], self.stderr)
        return [json.loads(line) for line in self.stdout[:-1].split("\n")]

    @property
    def done(self) -> dict[str, Any]:
        records = self.records
        assert records[-1]["type"] == "done", records[-3:]
        assert sum(r["type"] == "done" for r in records) == 1
        return records[-1]

    def joined(self, kind: str) -> str:
        return "".join(r["text"] for r in self.records if r["type"] == kind)

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == "error"]


def ask(tmp_path: Path, server: FakeServer, provider: str) -> Ask:
    home = tmp_path / f"home-{provider}"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(gateway_config(server), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in _PROVIDER_ENV}
    env.update(provider_env(server))
    env.update(
        CHATTERM_HOME=str(home),
        NO_COLOR="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    env.pop("PYTHONWARNINGS", None)
    args = ["--json", "-m", TARGETS[provider].ref, "--system", SYSTEM, PROMPT]
    result = subprocess.run(
        [sys.executable, "-m", "chatterm", "ask", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=home,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
    )
    return Ask(result.returncode, result.stdout, result.stderr)


def expected_usage(provider: str, scenario: Scenario) -> dict[str, Any]:
    return {
        "input_tokens": scenario.prompt_tokens,
        "output_tokens": scenario.completion_count(),
        "reasoning_tokens": scenario.reasoning_count() if TARGETS[provider].reasoning_count else 0,
        "cached_input_tokens": 0,
        "estimated": False,
    }


def the_one_request(server: FakeServer, provider: str) -> RecordedRequest:
    [request] = server.requests
    assert request.format == TARGETS[provider].fmt
    assert request.scenario == keyed(provider, request.scenario)  # the key was checked
    return request


BASE = Scenario()


def serve(server: FakeServer, provider: str, scenario: Scenario) -> None:
    """Answer with ``scenario``, requiring the key wherever the provider's API wants one (a
    local Ollama has none)."""
    server.scenario = keyed(provider, scenario)


def keyed(provider: str, scenario: Scenario) -> Scenario:
    return scenario if provider == "ollama" else scenario.but(api_key=KEY)


FULL_REPLIES = {
    "per-event": BASE,
    "fragmented": BASE.but(split="awkward", line_ending="\r\n"),
    "3-tokens-per-event": BASE.but(tokens_per_chunk=3),
}


@pytest.mark.parametrize("framing", list(FULL_REPLIES))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_full_reply_gives_the_same_records(
    fake_server: FakeServer, tmp_path: Path, provider: str, framing: str
) -> None:
    scenario = FULL_REPLIES[framing]
    serve(fake_server, provider, scenario)
    result = ask(tmp_path, fake_server, provider)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    done = result.done
    assert done["reasoning"] == result.joined("reasoning") == scenario.reasoning
    assert done["text"] == result.joined("text") == scenario.answer
    assert done["finish_reason"] == "stop"
    assert done["usage"] == expected_usage(provider, scenario)
    assert result.errors == []
    assert done["warnings"] == []
    assert done["model"] == TARGETS[provider].ref
    if provider == "gateway":
        assert done["cost_usd"] == pytest.approx(gateway_cost(scenario)["total"])
        assert done["cost_source"] == "server"
    if provider == "ollama":
        assert done["server_tokens_per_s"] == pytest.approx(100.0)
    assert the_one_request(fake_server, provider).status == 200


@pytest.mark.parametrize("provider", PROVIDERS)
def test_midstream_error_keeps_the_partial_reply(
    fake_server: FakeServer, tmp_path: Path, provider: str
) -> None:
    serve(fake_server, provider, BASE.but(error_after=after_answer(3)))
    result = ask(tmp_path, fake_server, provider)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    done = result.done
    assert done["reasoning"] == result.joined("reasoning") == BASE.reasoning
    assert done["text"] == result.joined("text") == "".join(BASE.answer_pieces[:3])
    assert done["finish_reason"] == "error"
    [error] = result.errors
    assert TARGETS[provider].midstream in error["message"]
    assert "\n" not in error["message"] and KEY not in error["message"]
    assert [r["type"] for r in result.records][-2:] == ["error", "done"]
    if provider != "gemini":  # Gemini's running usage has arrived with every chunk
        assert done["usage"]["estimated"] is True
    the_one_request(fake_server, provider)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_dropped_connection_is_interrupted_and_keeps_the_text(
    fake_server: FakeServer, tmp_path: Path, provider: str
) -> None:
    serve(fake_server, provider, BASE.but(split="awkward", drop_mid=after_answer(3)))
    result = ask(tmp_path, fake_server, provider)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    done = result.done
    assert done["reasoning"] == BASE.reasoning
    assert done["text"] == result.joined("text") == "".join(BASE.answer_pieces[:3])
    assert done["finish_reason"] == "interrupted"
    [error] = result.errors
    assert "dropped" in error["message"]
    assert f"127.0.0.1:{fake_server.port}" in error["message"]
    assert error["retryable"] is True


@pytest.mark.parametrize("provider", PROVIDERS)
def test_body_ending_before_the_terminal_event_is_interrupted(
    fake_server: FakeServer, tmp_path: Path, provider: str
) -> None:
    serve(fake_server, provider, BASE.but(truncate_after=after_answer(3)))
    result = ask(tmp_path, fake_server, provider)

    assert result.returncode == 1
    done = result.done
    assert done["text"] == result.joined("text") == "".join(BASE.answer_pieces[:3])
    assert done["reasoning"] == BASE.reasoning
    assert done["finish_reason"] == "interrupted"
    [error] = result.errors
    assert error["retryable"] is True
    assert "partial reply is kept" in error["message"]


# ----------------------------------------------------------------------------- in process


async def reply_of(
    target: ResolvedModel,
    conversation: Conversation,
    settings: Settings,
    sleep: FakeSleep | None = None,
) -> tuple[Reply, list[Any]]:
    """The reply and its events; retries wait on ``sleep`` (default: waits nothing)."""
    stream = ReplyStream(target, conversation, settings, sleep=sleep or FakeSleep())
    events: list[Any] = []
    async with asyncio.timeout(SAFETY_TIMEOUT_S):
        async for timed in stream.events():
            events.append(timed.event)
    return stream.reply(), events


def one_question() -> Conversation:
    return Conversation((Message("user", PROMPT),), system=SYSTEM)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_line_that_is_not_json_is_skipped_with_a_warning(
    fake_server: FakeServer, provider: str
) -> None:
    serve(fake_server, provider, BASE.but(garbage_after=after_answer(2)))
    reply, events = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert reply.text == BASE.answer
    assert reply.reasoning == BASE.reasoning
    assert reply.finish_reason == "stop"
    assert reply.error is None
    [warning] = [e for e in events if isinstance(e, StreamWarning)]
    assert "not JSON" in warning.message


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_http_429_is_a_retryable_error_with_the_servers_message(
    fake_server: FakeServer, provider: str
) -> None:
    serve(fake_server, provider, Scenario.http_error(429, "slow down, e2e"))
    sleep = FakeSleep()
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server), sleep
    )
    assert len(fake_server.requests) == 1 + len(sleep.waits) == 3  # two retries, then give up
    assert reply.finish_reason == "error"
    assert reply.error is not None
    assert reply.error.status == 429 and reply.error.retryable
    assert "slow down, e2e" in reply.error.message
    assert (reply.text, reply.reasoning) == ("", "")


@pytest.mark.parametrize("provider", [p for p in PROVIDERS if p != "gateway"])
async def test_the_token_limit_is_length_in_every_format(
    fake_server: FakeServer, provider: str
) -> None:
    """(The gateway's final chunk has no finish reason to carry it.)"""
    serve(fake_server, provider, BASE.but(finish_reason="length"))
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert reply.finish_reason == "length"
    assert reply.text == BASE.answer


FRAMINGS = {
    "gzip-awkward": BASE.but(content_encoding="gzip", split="awkward"),
    "content-length-body": BASE.but(body_framing="length"),
    "close-delimited-body": BASE.but(body_framing="close", split="awkward"),
    "keepalive-comments": BASE.but(keepalive_comments=True),
    "padded-json": BASE.but(json_padding=True),
    "crlf-bytewise": BASE.but(
        line_ending="\r\n",
        split="bytewise",
        reasoning="ü 🚀 — thinking",
        answer="Ünï 🚀 a\u2028b\u2029c\x85d",
    ),
}


@pytest.mark.parametrize("framing", list(FRAMINGS))
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_framings_do_not_change_the_reply(
    fake_server: FakeServer, provider: str, framing: str
) -> None:
    scenario = FRAMINGS[framing]
    serve(fake_server, provider, scenario)
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert (reply.reasoning, reply.text) == (scenario.reasoning, scenario.answer)
    assert reply.finish_reason == "stop"
    assert reply.error is None and reply.warnings == ()
    usage = reply.usage
    assert (usage.input_tokens, usage.output_tokens) == (31, scenario.completion_count())
    assert not usage.estimated


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_cached_input_is_part_of_the_input_everywhere(
    fake_server: FakeServer, provider: str
) -> None:
    """Anthropic counts cache reads outside ``input_tokens``; Gemini and OpenAI inside."""
    serve(fake_server, provider, BASE.but(cached_tokens=12))
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert reply.usage.input_tokens == 31
    reports_cache = provider not in ("ollama", "gateway")
    assert reply.usage.cached_input_tokens == (12 if reports_cache else 0)


@pytest.mark.parametrize(
    ("provider", "shape", "says"),
    [
        ("openai-responses", "flat", "Our servers are currently overloaded"),
        ("openai-responses", "failed", "The model failed to generate a response."),
        ("gemini", "data", "The model is overloaded"),
        ("gateway", "event", "Upstream provider error"),
    ],
)
async def test_other_midstream_error_shapes(
    fake_server: FakeServer, provider: str, shape: str, says: str
) -> None:
    serve(fake_server, provider, BASE.but(error_after=after_answer(2), error_shape=shape))
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert reply.finish_reason == "error"
    assert reply.error is not None and says in reply.error.message
    assert reply.text == "".join(BASE.answer_pieces[:2])


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_an_error_after_the_last_piece_still_fails_the_reply(
    fake_server: FakeServer, provider: str
) -> None:
    """Gemini does this even after ``finishReason: STOP``; the others before their end."""
    serve(fake_server, provider, BASE.but(error_after=after_answer(10_000)))
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert reply.finish_reason == "error"
    assert reply.text == BASE.answer
    assert reply.error is not None and TARGETS[provider].midstream in reply.error.message


@pytest.mark.parametrize(
    "provider",
    [
        p
        for p in PROVIDERS
        if p != "anthropic"  # its usage is part of message_start and message_delta
    ],
)
async def test_no_usage_reported_means_an_estimate(fake_server: FakeServer, provider: str) -> None:
    serve(fake_server, provider, BASE.but(usage_chunk=False))
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert reply.finish_reason == "stop"
    assert reply.usage.estimated
    assert reply.usage.output_tokens > 0


@pytest.mark.parametrize(
    "provider",
    [p for p in PROVIDERS],
)
async def test_a_cut_event_is_reported_once_as_a_drop(
    fake_server: FakeServer, provider: str
) -> None:
    serve(fake_server, provider, BASE.but(drop_mid=after_answer(3)))
    reply, _ = await reply_of(
        resolve(fake_server, provider), one_question(), settings_for(fake_server)
    )
    assert reply.finish_reason == "interrupted"
    assert reply.error is not None and "dropped" in reply.error.message
    assert reply.warnings == ()


# ----------------------------------------------------------------------------- switching


def history_of(request: RecordedRequest) -> tuple[str | None, list[tuple[str, str]]]:
    """(system prompt, [(role, text)]) as one server received them, read in its format —
    with the format's own rules checked on the way."""
    body = request.json
    turns: list[tuple[str, str]] = []
    if request.format == "chat":
        system = None
        for message in body["messages"]:
            if message["role"] == "system":
                system = message["content"]
            else:
                turns.append((message["role"], message["content"]))
        return system, turns
    if request.format == "ollama":
        assert body.get("stream", True) is True
        system = None
        for message in body["messages"]:
            if message["role"] == "system":
                system = message["content"]
            else:
                turns.append((message["role"], message["content"]))
        return system, turns
    if request.format == "anthropic":
        for message in body["messages"]:
            assert message["role"] in ("user", "assistant")  # no system role in messages
            turns.append((message["role"], anthropic_text(message["content"])))
        return anthropic_text(body.get("system")), turns
    if request.format == "gemini":
        for content in body["contents"]:
            assert content["role"] in ("user", "model")
            role = "assistant" if content["role"] == "model" else "user"
            turns.append((role, "".join(part["text"] for part in content["parts"])))
        instruction = body.get("systemInstruction")
        system = "".join(p["text"] for p in instruction["parts"]) if instruction else None
        return system, turns
    if request.format == "responses":
        for item in body["input"]:
            turns.append((item["role"], responses_text(item["content"])))
        return body.get("instructions"), turns
    if request.format == "gateway":
        for item in body.get("history", []):
            assert item["type"] == "text"
            assert item["name"] == ("input" if item["role"] == "user" else "output")
            turns.append((item["role"], item["content"]))
        [prompt] = body["input"]
        assert (prompt["type"], prompt["name"]) == ("text", "input")
        turns.append(("user", prompt["content"]))
        return body.get("parameters", {}).get("system_prompt"), turns
    raise AssertionError(request.format)


def anthropic_text(content: Any) -> Any:
    if isinstance(content, list):
        assert all(block["type"] == "text" for block in content)
        return "".join(block["text"] for block in content)
    return content


def responses_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part["text"] for part in content)
    assert isinstance(content, str)
    return content


async def test_a_conversation_that_switches_provider_at_every_turn(
    fake_server: FakeServer,
) -> None:
    settings = settings_for(fake_server)
    order = ["openai", "anthropic", "gemini", "ollama", "openai-responses", "gateway"]
    fake_server.queue(
        *(
            keyed(
                provider,
                BASE.but(reasoning=f"thinking {n} — private", answer=f"answer {n}: ünï 🚀"),
            )
            for n, provider in enumerate(order)
        )
    )
    messages: list[Message] = []
    expected: list[tuple[str, str]] = []
    for n, provider in enumerate(order):
        question = f"question {n} from the user, ✓"
        messages.append(Message("user", question))
        expected.append(("user", question))
        conversation = Conversation(tuple(messages), system=SYSTEM)
        reply, _ = await reply_of(resolve(fake_server, provider), conversation, settings)

        assert reply.finish_reason == "stop", (provider, reply.error)
        assert reply.text == f"answer {n}: ünï 🚀"
        assert reply.reasoning == f"thinking {n} — private"
        request = fake_server.requests[n]
        assert request.format == TARGETS[provider].fmt
        system, turns = history_of(request)
        assert system == SYSTEM, provider
        assert turns == expected, provider  # the whole history, in this server's format
        messages.append(Message("assistant", reply.text))
        expected.append(("assistant", reply.text))

    # Reasoning stays with the reply it came from: no server ever saw it.
    assert not any(b"private" in r.body for r in fake_server.requests)
    assert len(fake_server.requests) == len(order)


def test_every_target_is_a_provider_of_its_own() -> None:
    """A guard for this file: each target resolves to a different provider class."""
    with FakeServer() as server:
        kinds = {type(resolve(server, p).provider) for p in PROVIDERS}
    assert len(kinds) == len(PROVIDERS)
