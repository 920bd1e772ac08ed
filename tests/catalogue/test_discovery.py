"""Model discovery: which servers are asked, what they said, the cache and its lifetime, and
failures as one-line notes (never an exception, never a key)."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from chatterm.catalogue.discovery import (
    CACHE_TTL_S,
    cache_file,
    cached_discovery,
    discover,
    discovery_targets,
)
from chatterm.config import ProviderConfig, Settings
from tests.fake_provider.server import FakeServer

KEY = "sk-discovery-secret-1234"


class Clock:
    """An injected wall clock: tests move it, nothing sleeps."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fake_settings(server: FakeServer, **extra: ProviderConfig) -> Settings:
    providers = {
        "fake": ProviderConfig("fake", server.base_url + "/v1", api_key_env="FAKE_KEY"),
        **extra,
    }
    return Settings(providers=providers)


def mock_factory(
    handler: Callable[[httpx.Request], httpx.Response],
) -> Callable[[], httpx.AsyncClient]:
    return lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler))


def listing(*ids: str) -> httpx.Response:
    return httpx.Response(200, json={"object": "list", "data": [{"id": i} for i in ids]})


# -- which servers ------------------------------------------------------------------------


def test_targets_cover_ollama_custom_providers_and_a_non_openai_base_url() -> None:
    settings = Settings(
        providers={
            "vllm": ProviderConfig("vllm", "http://127.0.0.1:8000/v1/"),
            "gw": ProviderConfig("gw", "http://127.0.0.1:9000/api/v1", kind="gateway"),
        }
    )
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:4000/v1", "OPENAI_API_KEY": KEY}
    targets = {t.provider: t for t in discovery_targets(settings, env)}
    assert set(targets) == {"ollama", "openai", "vllm"}  # a gateway has no listing
    assert targets["ollama"].base_url == "http://127.0.0.1:11434"
    assert targets["ollama"].quiet_when_down  # OLLAMA_HOST unset: not running is normal
    assert targets["vllm"].base_url == "http://127.0.0.1:8000/v1"
    assert targets["openai"].api_key == KEY
    assert KEY not in repr(targets["openai"])


def test_openai_itself_is_never_listed() -> None:
    for env in ({}, {"OPENAI_BASE_URL": "https://api.openai.com/v1", "OPENAI_API_KEY": KEY}):
        assert "openai" not in {t.provider for t in discovery_targets(Settings(), env)}


def test_ollama_cloud_is_asked_only_with_its_key() -> None:
    cloud = {"OLLAMA_HOST": "https://ollama.com"}
    assert discovery_targets(Settings(), cloud) == []
    [target] = discovery_targets(Settings(), {**cloud, "OLLAMA_API_KEY": KEY})
    assert target.api_key == KEY and not target.quiet_when_down


# -- against the fake server on 127.0.0.1 --------------------------------------------------


async def test_discovers_from_ollama_and_an_openai_compatible_server(
    fake_server: FakeServer,
) -> None:
    env = {"OLLAMA_HOST": fake_server.base_url, "FAKE_KEY": KEY}
    found = await discover(fake_settings(fake_server), env, clock=Clock())
    assert found.notes == {}
    assert found.models == {
        "ollama": ("test-model:latest", "deepseek-reasoner:latest"),
        "fake": ("test-model", "deepseek-reasoner"),
    }
    by_route = {r.route: r for r in fake_server.requests}
    assert set(by_route) == {"/api/tags", "/v1/models"}
    assert by_route["/v1/models"].header("authorization") == f"Bearer {KEY}"
    assert by_route["/api/tags"].header("authorization") is None  # a local Ollama gets none


async def test_no_key_means_no_authorization_header(fake_server: FakeServer) -> None:
    env = {"OLLAMA_HOST": fake_server.base_url}
    found = await discover(fake_settings(fake_server), env, clock=Clock())
    assert found.models["fake"] == ("test-model", "deepseek-reasoner")
    assert all(r.header("authorization") is None for r in fake_server.requests)


async def test_a_fresh_cache_is_used_and_an_old_one_is_not(fake_server: FakeServer) -> None:
    env = {"OLLAMA_HOST": fake_server.base_url}
    settings, clock = fake_settings(fake_server), Clock()
    first = await discover(settings, env, clock=clock)
    assert len(fake_server.requests) == 2
    clock.now += CACHE_TTL_S - 1
    again = await discover(settings, env, clock=clock)
    assert again.models == first.models
    assert len(fake_server.requests) == 2  # both lists came from the cache
    clock.now += 2  # now older than the lifetime
    await discover(settings, env, clock=clock)
    assert len(fake_server.requests) == 4
    await discover(settings, env, clock=clock, refresh=True)
    assert len(fake_server.requests) == 6


async def test_cached_discovery_reads_without_network_and_names_stale_lists(
    fake_server: FakeServer,
) -> None:
    env = {"OLLAMA_HOST": fake_server.base_url}
    settings, clock = fake_settings(fake_server), Clock()
    assert cached_discovery(settings, env, clock=clock).stale == {"ollama", "fake"}
    found = await discover(settings, env, clock=clock)
    requests = len(fake_server.requests)
    cached = cached_discovery(settings, env, clock=clock)
    assert cached.models == found.models and cached.stale == frozenset()
    clock.now += CACHE_TTL_S + 5
    old = cached_discovery(settings, env, clock=clock)
    assert old.models == found.models  # shown at start-up all the same ...
    assert old.stale == {"ollama", "fake"}  # ... and marked for a refresh
    assert len(fake_server.requests) == requests


async def test_a_cache_entry_is_for_one_address(fake_server: FakeServer) -> None:
    env = {"OLLAMA_HOST": fake_server.base_url}
    clock = Clock()
    await discover(fake_settings(fake_server), env, clock=clock)
    moved = Settings(providers={"fake": ProviderConfig("fake", "http://127.0.0.1:1/v1")})
    cached = cached_discovery(moved, env, clock=clock)
    assert "fake" not in cached.models and "fake" in cached.stale


async def test_the_cache_file_is_private_and_holds_no_secrets(fake_server: FakeServer) -> None:
    secret_url = fake_server.base_url + "/v1?key=url-secret-99"
    settings = Settings(
        providers={"fake": ProviderConfig("fake", secret_url, api_key_env="FAKE_KEY")}
    )
    env = {"OLLAMA_HOST": fake_server.base_url, "FAKE_KEY": KEY}
    await discover(settings, env, clock=Clock())
    path = cache_file()
    text = path.read_text()
    assert KEY not in text and "url-secret-99" not in text and fake_server.base_url not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(text)["chatterm_models_cache"] == 1


# -- failures: notes, not exceptions -------------------------------------------------------


async def test_http_errors_are_one_line_notes_without_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/api/tags"):
            return httpx.Response(200, json={"models": [{"name": "qwen3:8b"}]})
        echo = f"invalid key {request.headers['authorization']}"
        return httpx.Response(401, json={"error": {"message": echo}})

    settings = Settings(
        providers={"grp": ProviderConfig("grp", "https://example.test/v1", "GRP_KEY")}
    )
    env = {"GRP_KEY": KEY}
    found = await discover(settings, env, client_factory=mock_factory(handler), clock=Clock())
    assert found.models == {"ollama": ("qwen3:8b",)}
    note = found.notes["grp"]
    assert "HTTP 401" in note and "grp" in note and "\n" not in note
    assert KEY not in note


async def test_a_local_ollama_that_is_not_running_is_no_news() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    factory = mock_factory(handler)
    quiet = await discover(Settings(), {}, client_factory=factory, clock=Clock())
    assert quiet.models == {} and quiet.notes == {}
    named = await discover(
        Settings(), {"OLLAMA_HOST": "gpu-box:11434"}, client_factory=factory, clock=Clock()
    )
    assert "gpu-box" in named.notes["ollama"]


async def test_bad_answers_become_notes() -> None:
    answers = {
        "a": httpx.Response(200, text="<html>not json</html>"),
        "b": httpx.Response(200, json={"models": []}),  # no "data"
        "c": listing("one", "one", "two"),  # duplicates collapse
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return httpx.Response(200, json={"models": []})
        return answers[request.url.host]

    settings = Settings(
        providers={name: ProviderConfig(name, f"http://{name}/v1") for name in answers}
    )
    found = await discover(settings, {}, client_factory=mock_factory(handler), clock=Clock())
    assert "did not answer JSON" in found.notes["a"]
    assert "no data array" in found.notes["b"]
    assert found.models["c"] == ("one", "two")
    assert found.models["ollama"] == ()


async def test_a_server_that_never_answers_is_cut_off_and_noted() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.port == 11434:
            return httpx.Response(200, json={"models": []})
        await asyncio.sleep(30)
        return listing("late")

    settings = Settings(providers={"slow": ProviderConfig("slow", "http://slow.test/v1")})

    def factory() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    found = await discover(settings, {}, client_factory=factory, timeout=0.05, clock=Clock())
    assert "did not list its models" in found.notes["slow"]
    assert "slow" not in found.models


async def test_a_failed_server_is_asked_again_next_time() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) <= 2:
            return httpx.Response(503, json={"error": "busy"})
        if request.url.path.endswith("/models"):
            return listing("m")
        return httpx.Response(200, json={"models": []})

    settings = Settings(providers={"s": ProviderConfig("s", "http://s.test/v1")})
    clock, factory = Clock(), mock_factory(handler)
    first = await discover(settings, {}, client_factory=factory, clock=clock)
    assert "HTTP 503" in first.notes["s"]
    second = await discover(settings, {}, client_factory=factory, clock=clock)
    assert second.models["s"] == ("m",) and second.notes == {}


async def test_discovery_never_raises() -> None:
    def broken_factory() -> httpx.AsyncClient:
        raise RuntimeError("no client today")

    found = await discover(Settings(), {}, client_factory=broken_factory, clock=Clock())
    assert found.models == {}
    assert "no client today" in found.notes["discovery"]


async def test_a_damaged_cache_is_ignored_and_replaced() -> None:
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert cached_discovery(Settings(), {}, clock=Clock()).models == {}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"models": [{"name": "qwen3:8b"}]})

    found = await discover(Settings(), {}, client_factory=mock_factory(handler), clock=Clock())
    assert found.models == {"ollama": ("qwen3:8b",)}
    assert json.loads(path.read_text())["providers"]["ollama"]["models"] == ["qwen3:8b"]


async def test_an_unwritable_cache_is_a_note(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"models": [{"name": "qwen3:8b"}]})

    found = await discover(
        Settings(),
        {},
        client_factory=mock_factory(handler),
        clock=Clock(),
        cache_path=blocked / "models.json",
    )
    assert found.models == {"ollama": ("qwen3:8b",)}
    assert "cannot write the model cache" in found.notes["cache"]


@pytest.mark.parametrize("clock_back", [True, False])
async def test_a_clock_set_back_does_not_make_a_cache_fresh(clock_back: bool) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"models": [{"name": "qwen3:8b"}]})

    clock = Clock()
    await discover(Settings(), {}, client_factory=mock_factory(handler), clock=clock)
    clock.now += -100 if clock_back else 100
    assert cached_discovery(Settings(), {}, clock=clock).stale == (
        {"ollama"} if clock_back else frozenset()
    )


async def test_a_malformed_address_fails_alone() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "ok.test":
            return listing("m")
        return httpx.Response(200, json={"models": []})

    settings = Settings(
        providers={
            "bad": ProviderConfig("bad", "http://[::1/v1"),
            "ok": ProviderConfig("ok", "http://ok.test/v1"),
        }
    )
    env = {"OPENAI_BASE_URL": "http://[oops/v1"}
    found = await discover(settings, env, client_factory=mock_factory(handler), clock=Clock())
    assert found.models["ok"] == ("m",)
    assert "bad" in found.notes and "openai" in found.notes


async def test_a_deeply_nested_cache_is_ignored() -> None:
    path = cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert cached_discovery(Settings(), {}, clock=Clock()).models == {}


async def test_a_model_name_with_a_lone_surrogate_does_not_sink_the_others() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = b'{"models": [{"name": "bad\\ud800"}, {"name": "qwen3:8b"}]}'
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    found = await discover(Settings(), {}, client_factory=mock_factory(handler), clock=Clock())
    assert "qwen3:8b" in found.models["ollama"]
    assert not found.notes
    assert cached_discovery(Settings(), {}, clock=Clock()).models["ollama"][-1] == "qwen3:8b"
