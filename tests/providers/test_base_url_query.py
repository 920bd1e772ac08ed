"""A base URL with a query string (Azure style: ``…/v1?api-version=2024-10-21``).

The endpoint path goes into the URL's path and the base URL's query parameters are kept,
for every wire format and for the model listings: each request is sent through
``httpx.MockTransport``, and the path and the query the server received are checked.
"""

from __future__ import annotations

import httpx
import pytest

from chatterm.catalogue.discovery import discover
from chatterm.config import ProviderConfig, Settings
from chatterm.events import Conversation, Message
from chatterm.providers.endpoint import join_url
from chatterm.providers.ollama import list_installed_models
from chatterm.providers.registry import resolve_model

KEY = "sk-base-url-query-key-0123456789"
HOST = "http://127.0.0.1:8000"
QUERY = "api-version=2024-10-21&deployment=a%2Fb"  # kept as written, %2F and all


async def received(request: httpx.Request) -> httpx.Request:
    """The request as a server gets it."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"models": [], "data": []})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        await client.send(request)
    [got] = seen
    return got


# (model ref, environment, settings' providers, the path and the query the server gets)
CASES = {
    "openai": (
        "openai:gpt-4o",
        {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"{HOST}/openai/v1?{QUERY}"},
        {},
        "/openai/v1/chat/completions",
        QUERY,
    ),
    "openai-responses": (
        "openai-responses:gpt-5",
        {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"{HOST}/openai/v1/?{QUERY}"},
        {},
        "/openai/v1/responses",
        QUERY,
    ),
    "anthropic": (
        "anthropic:claude-sonnet-4-5",
        {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": f"{HOST}/proxy?{QUERY}"},
        {},
        "/proxy/v1/messages",
        QUERY,
    ),
    "anthropic-v1": (
        "anthropic:claude-sonnet-4-5",
        {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": f"{HOST}/proxy/v1?{QUERY}"},
        {},
        "/proxy/v1/messages",
        QUERY,
    ),
    "gemini": (
        "gemini:gemini-2.5-flash",
        {"GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": f"{HOST}/google?{QUERY}"},
        {},
        "/google/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        f"{QUERY}&alt=sse",
    ),
    "gemini-versioned": (
        "gemini:gemini-2.5-flash",
        {"GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": f"{HOST}/google/v1beta/?{QUERY}"},
        {},
        "/google/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        f"{QUERY}&alt=sse",
    ),
    "ollama": (
        "ollama:llama3",
        {"OLLAMA_HOST": f"{HOST}/ollama?{QUERY}"},
        {},
        "/ollama/api/chat",
        QUERY,
    ),
    "providers-openai": (
        "azure:gpt-4o",
        {"AZURE_KEY": KEY},
        {"azure": ProviderConfig("azure", f"{HOST}/openai/v1?{QUERY}", api_key_env="AZURE_KEY")},
        "/openai/v1/chat/completions",
        QUERY,
    ),
    "providers-gateway": (
        "gw:svc/model",
        {"GW_KEY": KEY},
        {
            "gw": ProviderConfig(
                "gw", f"{HOST}/api/v1?{QUERY}", api_key_env="GW_KEY", kind="gateway"
            )
        },
        "/api/v1/generate/stream",
        QUERY,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_every_wire_format_keeps_the_query_after_the_path(case: str) -> None:
    ref, env, providers, path, query = CASES[case]
    target = resolve_model(ref, Settings(providers=providers), env)
    conversation = Conversation(messages=(Message("user", "hi"),))
    request = target.provider.wire.build_request(
        target.provider.endpoint, target.model, conversation
    )
    got = await received(request)
    assert got.url.path == path.replace("%2F", "/")
    assert got.url.query.decode() == query
    assert got.url.params["api-version"] == "2024-10-21"
    assert got.url.params["deployment"] == "a/b"


async def test_model_listings_keep_the_query() -> None:
    """``GET {base}/models`` of an OpenAI-compatible server and Ollama's ``/api/tags``."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path.endswith("/api/tags"):
            return httpx.Response(200, json={"models": [{"name": "llama3:latest"}]})
        return httpx.Response(200, json={"object": "list", "data": [{"id": "gpt-4o"}]})

    settings = Settings(
        providers={"azure": ProviderConfig("azure", f"{HOST}/openai/v1?{QUERY}")},
    )
    env = {"OPENAI_BASE_URL": f"{HOST}/compat/v1?{QUERY}", "OLLAMA_HOST": f"{HOST}/o?{QUERY}"}
    found = await discover(
        settings,
        env,
        client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        refresh=True,
    )
    assert found.notes == {}
    assert found.models["azure"] == ("gpt-4o",) and found.models["ollama"] == ("llama3:latest",)
    by_path = {url.path: url.query.decode() for url in seen}
    assert by_path == {"/openai/v1/models": QUERY, "/compat/v1/models": QUERY, "/o/api/tags": QUERY}

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        assert await list_installed_models(client, f"{HOST}/o/?{QUERY}") == ["llama3:latest"]
    assert seen[-1].path == "/o/api/tags" and seen[-1].query.decode() == QUERY


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("http://h/v1", "/models", "http://h/v1/models"),  # no query: joined as written
        ("http://h/v1?a=1", "/models", "http://h/v1/models?a=1"),
        ("http://h/v1/?a=1&b=2", "/x?alt=sse", "http://h/v1/x?a=1&b=2&alt=sse"),
        ("http://h?a=1", "/models", "http://h/models?a=1"),
        ("http://h/v1#frag", "/models", "http://h/v1/models"),
        ("http://[::1/v1?a=1", "/models", "http://[::1/v1?a=1/models"),  # unreadable: as is
    ],
)
def test_join_url(base: str, path: str, url: str) -> None:
    assert join_url(base, path) == url
