"""Model references (``provider:model``) to providers, and the default model choice.

Whatever follows the provider prefix is sent as is, so a model works the day it ships.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chatterm.config import Settings
from chatterm.errors import ConfigError
from chatterm.providers.anthropic import AnthropicProvider
from chatterm.providers.base import Provider
from chatterm.providers.demo import DemoProvider
from chatterm.providers.gateway import GatewayProvider
from chatterm.providers.gemini import GeminiProvider
from chatterm.providers.model_facts import model_info
from chatterm.providers.ollama import OllamaProvider
from chatterm.providers.openai_compat import OpenAICompatProvider
from chatterm.providers.openai_responses import OpenAIResponsesProvider
from chatterm.urls import credentials_beside_key

DEMO_MODELS = ("demo", "demo:fast")
OPENAI_DEFAULT_MODELS = ("openai:gpt-5-mini", "openai:gpt-5", "openai:gpt-4.1-mini")


@dataclass(frozen=True, slots=True)
class BuiltinProvider:
    """A provider chatterm knows without configuration."""

    make: Callable[[Mapping[str, str], str], Provider]  # (environment, model name)
    key_envs: tuple[str, ...]  # any of these set means the user has a key
    suggested: tuple[str, ...]  # models offered when a key is set


def _openai(env: Mapping[str, str], model: str) -> Provider:
    """OpenAI's own reasoning models show their reasoning only through the Responses API;
    everything else (and any OPENAI_BASE_URL server) speaks Chat Completions."""
    info = model_info("openai", model)
    if info.reasoning and not info.reasoning_visible and not env.get("OPENAI_BASE_URL"):
        return OpenAIResponsesProvider.from_env(env)
    return OpenAICompatProvider.openai(env)


BUILTIN: dict[str, BuiltinProvider] = {
    "openai": BuiltinProvider(_openai, ("OPENAI_API_KEY",), OPENAI_DEFAULT_MODELS),
    "anthropic": BuiltinProvider(
        lambda env, model: AnthropicProvider.from_env(env),
        ("ANTHROPIC_API_KEY",),
        ("anthropic:claude-sonnet-4-5", "anthropic:claude-haiku-4-5"),
    ),
    "gemini": BuiltinProvider(
        lambda env, model: GeminiProvider.from_env(env),
        ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        ("gemini:gemini-2.5-flash", "gemini:gemini-2.5-pro"),
    ),
    "ollama": BuiltinProvider(lambda env, model: OllamaProvider.from_env(env), (), ()),
    "openai-responses": BuiltinProvider(
        lambda env, model: OpenAIResponsesProvider.from_env(env), (), ()
    ),
}


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model reference with the provider that serves it."""

    ref: str  # as the user wrote it, normalized: "openai:gpt-5-mini", "demo", "demo:fast"
    provider: Provider
    model: str  # the name sent to the server


# Where each built-in provider's address comes from, to name it in a message.
_URL_VARIABLES = {
    "openai": "OPENAI_BASE_URL",
    "openai-responses": "OPENAI_BASE_URL",
    "anthropic": "ANTHROPIC_BASE_URL",
    "gemini": "GEMINI_BASE_URL",
    "ollama": "OLLAMA_HOST",
}


def _checked(provider: Provider, where: str, key_env: str | None) -> Provider:
    """The provider, unless its base URL's credentials would replace the key it sends."""
    if provider.url_credentials_beside_key():
        raise ConfigError(credentials_beside_key(where, key_env or "a key"))
    return provider


def resolve_model(
    ref: str, settings: Settings, env: Mapping[str, str] | None = None
) -> ResolvedModel:
    env = os.environ if env is None else env
    ref = ref.strip()
    prefix, colon, name = ref.partition(":")
    if prefix == "demo":
        if name not in ("", "fast"):
            raise ConfigError(f"unknown demo model {ref!r}; use demo or demo:fast")
        return ResolvedModel(
            "demo:fast" if name == "fast" else "demo", DemoProvider(), name or "demo"
        )
    if colon and not name:
        raise ConfigError(
            f"model {ref!r} needs a model name after the colon, e.g. {prefix}:gpt-5-mini"
        )
    if not colon:
        raise ConfigError(
            f"model {ref!r} needs a provider prefix, e.g. openai:{ref or 'gpt-5-mini'} "
            f"(known providers: {', '.join(known_providers(settings))})"
        )
    if prefix in settings.providers:
        custom = settings.providers[prefix]
        key = env.get(custom.api_key_env) if custom.api_key_env else None
        where = f"[providers.{custom.name}] base_url"
        if custom.kind == "gateway":
            gateway = GatewayProvider(custom.name, custom.base_url, key or None, custom.api_key_env)
            gateway.split_model(name)  # NAME:MODEL without SERVICE/ is a usage error
            return ResolvedModel(ref, _checked(gateway, where, custom.api_key_env), name)
        provider: Provider = OpenAICompatProvider(
            custom.name,
            custom.base_url,
            key or None,
            key_env=custom.api_key_env,
            local=custom.local,
        )
        return ResolvedModel(ref, _checked(provider, where, custom.api_key_env), name)
    builtin = BUILTIN.get(prefix)
    if builtin is not None:
        keys = [variable for variable in builtin.key_envs if env.get(variable)]
        where = _URL_VARIABLES.get(prefix, "the base URL")
        provider = _checked(builtin.make(env, name), where, keys[0] if keys else None)
        return ResolvedModel(ref, provider, name)
    raise ConfigError(
        f"unknown provider {prefix!r} in model {ref!r}; use one of "
        f"{', '.join(known_providers(settings))}, or add [providers.{prefix}] "
        "with base_url to config.toml"
    )


def known_providers(settings: Settings) -> list[str]:
    return ["demo", *BUILTIN, *sorted(settings.providers)]


def _suggested_models(env: Mapping[str, str]) -> list[str]:
    """Models of the built-in providers whose key is set, in BUILTIN's order."""
    return [
        model
        for builtin in BUILTIN.values()
        if any(env.get(name) for name in builtin.key_envs)
        for model in builtin.suggested
    ]


def default_model(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The configured default, else the first provider with a key set, else the demo."""
    env = os.environ if env is None else env
    if settings.default_model:
        return settings.default_model
    suggested = _suggested_models(env)
    return suggested[0] if suggested else "demo"


def model_cycle(
    settings: Settings, env: Mapping[str, str] | None = None, current: str | None = None
) -> list[str]:
    """The models the switch key steps through, including the current one."""
    env = os.environ if env is None else env
    if settings.model_cycle:
        models = list(settings.model_cycle)
    else:
        models = [*_suggested_models(env), *DEMO_MODELS]
    current = current or default_model(settings, env)
    if current not in models:
        models.insert(0, current)
    return models
