"""Model references to providers, and the default model and cycle."""

from __future__ import annotations

import json

import pytest

from chatterm.config import ProviderConfig, Settings
from chatterm.errors import ConfigError
from chatterm.events import Conversation, Message
from chatterm.providers.demo import DemoProvider
from chatterm.providers.openai_compat import OpenAICompatProvider
from chatterm.providers.registry import (
    DEMO_MODELS,
    OPENAI_DEFAULT_MODELS,
    default_model,
    known_providers,
    model_cycle,
    resolve_model,
)

NO_ENV: dict[str, str] = {}
WITH_KEY = {"OPENAI_API_KEY": "sk-test-registry-0123456789"}
CONVERSATION = Conversation(messages=(Message("user", "hi"),))

CUSTOM = Settings(
    providers={
        "groq": ProviderConfig("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        "local": ProviderConfig("local", "http://127.0.0.1:8000/v1", None, local=True),
    }
)


class TestResolve:
    def test_demo(self) -> None:
        target = resolve_model("demo", Settings(), NO_ENV)
        assert target.ref == "demo"
        assert isinstance(target.provider, DemoProvider)
        assert target.provider.missing_key() is None
        assert target.provider.transport() is not None

    def test_demo_fast(self) -> None:
        target = resolve_model("demo:fast", Settings(), NO_ENV)
        assert (target.ref, target.model) == ("demo:fast", "fast")
        assert isinstance(target.provider, DemoProvider)

    def test_unknown_demo_variant_is_an_error(self) -> None:
        with pytest.raises(ConfigError, match="use demo or demo:fast"):
            resolve_model("demo:turbo", Settings(), NO_ENV)

    def test_surrounding_whitespace(self) -> None:
        assert resolve_model("  demo:fast \n", Settings(), NO_ENV).ref == "demo:fast"

    def test_openai_any_new_model_name_is_sent_as_is(self) -> None:
        target = resolve_model("openai:gpt-7-turbo-preview-2031", Settings(), WITH_KEY)
        assert target.ref == "openai:gpt-7-turbo-preview-2031"
        assert target.model == "gpt-7-turbo-preview-2031"
        assert isinstance(target.provider, OpenAICompatProvider)
        assert target.provider.name == "openai"
        request = target.provider.build_request(target.model, CONVERSATION)
        assert json.loads(request.content)["model"] == "gpt-7-turbo-preview-2031"
        assert request.headers["Authorization"] == "Bearer sk-test-registry-0123456789"

    def test_model_name_with_colons_and_slashes(self) -> None:
        target = resolve_model("openai:ft:gpt-4.1:org/name:id", Settings(), WITH_KEY)
        assert target.model == "ft:gpt-4.1:org/name:id"

    def test_openai_without_key_resolves_but_reports_missing_key(self) -> None:
        target = resolve_model("openai:gpt-5-mini", Settings(), NO_ENV)
        message = target.provider.missing_key()
        assert message is not None and "OPENAI_API_KEY" in message

    def test_env_is_injected_not_read_from_os(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-os-environ-0000")
        target = resolve_model("openai:gpt-5", Settings(), NO_ENV)
        assert target.provider.missing_key() is not None
        assert target.provider.secrets() == ()

    def test_os_environ_is_the_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-from-os-environ-0000")
        target = resolve_model("openai:gpt-5", Settings())
        assert target.provider.secrets() == ("sk-from-os-environ-0000",)

    def test_custom_provider_with_key_from_env(self) -> None:
        env = {"GROQ_API_KEY": "gsk_test_key_123456"}
        target = resolve_model("groq:llama-3.3-70b-versatile", CUSTOM, env)
        assert (target.ref, target.model) == (
            "groq:llama-3.3-70b-versatile",
            "llama-3.3-70b-versatile",
        )
        provider = target.provider
        assert isinstance(provider, OpenAICompatProvider) and provider.name == "groq"
        assert provider.missing_key() is None
        assert provider.secrets() == ("gsk_test_key_123456",)
        request = provider.build_request(target.model, CONVERSATION)
        assert str(request.url) == "https://api.groq.com/openai/v1/chat/completions"
        assert request.headers["Authorization"] == "Bearer gsk_test_key_123456"

    def test_custom_provider_key_missing(self) -> None:
        target = resolve_model("groq:llama", CUSTOM, NO_ENV)
        message = target.provider.missing_key()
        assert message is not None and "GROQ_API_KEY" in message

    def test_custom_provider_empty_key_is_missing(self) -> None:
        target = resolve_model("groq:llama", CUSTOM, {"GROQ_API_KEY": ""})
        assert target.provider.missing_key() is not None
        assert "Authorization" not in target.provider.build_request("llama", CONVERSATION).headers

    def test_local_custom_provider(self) -> None:
        target = resolve_model("local:qwen3", CUSTOM, NO_ENV)
        assert target.provider.missing_key() is None
        assert target.provider.price_spec("qwen3").local is True
        request = target.provider.build_request("qwen3", CONVERSATION)
        assert str(request.url) == "http://127.0.0.1:8000/v1/chat/completions"

    def test_unknown_provider(self) -> None:
        with pytest.raises(ConfigError) as info:
            resolve_model("anthropic2:claude", CUSTOM, NO_ENV)
        message = str(info.value)
        assert "unknown provider 'anthropic2'" in message
        assert "demo, openai, anthropic, gemini, ollama, openai-responses, groq, local" in message
        assert "[providers.anthropic2]" in message

    @pytest.mark.parametrize("ref", ["gpt-5-mini", "", "  "])
    def test_missing_prefix(self, ref: str) -> None:
        with pytest.raises(ConfigError) as info:
            resolve_model(ref, CUSTOM, NO_ENV)
        message = str(info.value)
        assert "needs a provider prefix" in message
        known = "demo, openai, anthropic, gemini, ollama, openai-responses, groq, local"
        assert f"known providers: {known}" in message
        assert "\n" not in message

    def test_missing_prefix_suggests_openai(self) -> None:
        with pytest.raises(ConfigError, match="openai:gpt-5-mini"):
            resolve_model("gpt-5-mini", Settings(), NO_ENV)

    @pytest.mark.parametrize("ref", ["openai:", "groq:", "openai:  "])
    def test_empty_model_name(self, ref: str) -> None:
        with pytest.raises(ConfigError) as info:
            resolve_model(ref, CUSTOM, WITH_KEY)
        prefix = ref.strip().rstrip(":")
        assert str(info.value) == (
            f"model '{prefix}:' needs a model name after the colon, e.g. {prefix}:gpt-5-mini"
        )

    def test_known_providers(self) -> None:
        builtin = ["demo", "openai", "anthropic", "gemini", "ollama", "openai-responses"]
        assert known_providers(Settings()) == builtin
        assert known_providers(CUSTOM) == [*builtin, "groq", "local"]


class TestDefaultModel:
    def test_demo_without_openai_key(self) -> None:
        assert default_model(Settings(), NO_ENV) == "demo"

    def test_empty_openai_key_is_no_key(self) -> None:
        assert default_model(Settings(), {"OPENAI_API_KEY": ""}) == "demo"

    def test_openai_when_key_set(self) -> None:
        assert default_model(Settings(), WITH_KEY) == "openai:gpt-5-mini"
        assert default_model(Settings(), WITH_KEY) == OPENAI_DEFAULT_MODELS[0]

    def test_config_wins(self) -> None:
        settings = Settings(default_model="local:qwen3")
        assert default_model(settings, WITH_KEY) == "local:qwen3"
        assert default_model(settings, NO_ENV) == "local:qwen3"

    def test_default_resolves(self) -> None:
        assert resolve_model(default_model(Settings(), NO_ENV), Settings(), NO_ENV).ref == "demo"
        target = resolve_model(default_model(Settings(), WITH_KEY), Settings(), WITH_KEY)
        assert target.model == "gpt-5-mini"


class TestModelCycle:
    def test_demo_only_without_key(self) -> None:
        assert model_cycle(Settings(), NO_ENV) == ["demo", "demo:fast"]
        assert model_cycle(Settings(), NO_ENV) == list(DEMO_MODELS)

    def test_openai_models_added_with_key(self) -> None:
        assert model_cycle(Settings(), WITH_KEY) == [
            "openai:gpt-5-mini",
            "openai:gpt-5",
            "openai:gpt-4.1-mini",
            "demo",
            "demo:fast",
        ]

    def test_every_provider_with_a_key_is_offered(self) -> None:
        env = {"ANTHROPIC_API_KEY": "a", "GOOGLE_API_KEY": "g"}
        assert default_model(Settings(), env) == "anthropic:claude-sonnet-4-5"
        assert model_cycle(Settings(), env) == [
            "anthropic:claude-sonnet-4-5",
            "anthropic:claude-haiku-4-5",
            "gemini:gemini-2.5-flash",
            "gemini:gemini-2.5-pro",
            "demo",
            "demo:fast",
        ]

    def test_openai_reasoning_models_use_the_responses_api(self) -> None:
        assert resolve_model("openai:gpt-5", Settings(), WITH_KEY).provider.name == (
            "openai-responses"
        )
        assert resolve_model("openai:gpt-4.1", Settings(), WITH_KEY).provider.name == "openai"
        # A compatible server behind OPENAI_BASE_URL speaks Chat Completions only.
        env = {**WITH_KEY, "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}
        assert resolve_model("openai:gpt-5", Settings(), env).provider.name == "openai"

    def test_gateway_needs_service_and_model(self) -> None:
        settings = Settings(
            providers={"gw": ProviderConfig("gw", "http://127.0.0.1:8000/api/v1", kind="gateway")}
        )
        assert resolve_model("gw:google-gemini/gemini-2.5-flash", settings, NO_ENV).model == (
            "google-gemini/gemini-2.5-flash"
        )
        with pytest.raises(ConfigError):
            resolve_model("gw:gemini-2.5-flash", settings, NO_ENV)

    def test_config_cycle_used_as_is(self) -> None:
        settings = Settings(model_cycle=("local:qwen3", "demo"), default_model="demo")
        assert model_cycle(settings, WITH_KEY) == ["local:qwen3", "demo"]

    def test_configured_default_outside_cycle_is_put_first(self) -> None:
        settings = Settings(model_cycle=("demo", "demo:fast"), default_model="local:qwen3")
        assert model_cycle(settings, NO_ENV) == ["local:qwen3", "demo", "demo:fast"]

    def test_every_cycle_entry_resolves(self) -> None:
        for ref in model_cycle(Settings(), WITH_KEY):
            assert resolve_model(ref, Settings(), WITH_KEY).ref == ref


def test_model_cycle_includes_a_current_model_outside_the_list() -> None:
    settings = Settings(model_cycle=("demo", "demo:fast"))
    assert model_cycle(settings, {}, "openai:brand-new") == [
        "openai:brand-new",
        "demo",
        "demo:fast",
    ]
    assert model_cycle(settings, {}, "demo:fast") == ["demo", "demo:fast"]
