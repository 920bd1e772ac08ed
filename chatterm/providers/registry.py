"""Model references (``provider:model``) to providers, and the default model choice.

Whatever follows the provider prefix is sent as is, so a model works the day it ships.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chatterm.config import Settings
from chatterm.errors import ConfigError
from chatterm.providers.base import Provider
from chatterm.providers.demo import DemoProvider
from chatterm.providers.openai_compat import OpenAICompatProvider

DEMO_MODELS = ("demo", "demo:fast")
OPENAI_DEFAULT_MODELS = ("openai:gpt-5-mini", "openai:gpt-5", "openai:gpt-4.1-mini")


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """A model reference with the provider that serves it."""

    ref: str  # as the user wrote it, normalized: "openai:gpt-5-mini", "demo", "demo:fast"
    provider: Provider
    model: str  # the name sent to the server


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
        provider: Provider = OpenAICompatProvider(
            custom.name,
            custom.base_url,
            key or None,
            key_env=custom.api_key_env,
            local=custom.local,
        )
        return ResolvedModel(ref, provider, name)
    if prefix == "openai":
        return ResolvedModel(ref, OpenAICompatProvider.openai(env), name)
    raise ConfigError(
        f"unknown provider {prefix!r} in model {ref!r}; use one of "
        f"{', '.join(known_providers(settings))}, or add [providers.{prefix}] "
        "with base_url to config.toml"
    )


def known_providers(settings: Settings) -> list[str]:
    return ["demo", "openai", *sorted(settings.providers)]


def default_model(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The configured default, else OpenAI when its key is set, else the offline demo."""
    env = os.environ if env is None else env
    if settings.default_model:
        return settings.default_model
    if env.get("OPENAI_API_KEY"):
        return OPENAI_DEFAULT_MODELS[0]
    return "demo"


def model_cycle(
    settings: Settings, env: Mapping[str, str] | None = None, current: str | None = None
) -> list[str]:
    """The models the switch key steps through, including the current one."""
    env = os.environ if env is None else env
    if settings.model_cycle:
        models = list(settings.model_cycle)
    else:
        models = list(DEMO_MODELS)
        if env.get("OPENAI_API_KEY"):
            models.extend(OPENAI_DEFAULT_MODELS)
    current = current or default_model(settings, env)
    if current not in models:
        models.insert(0, current)
    return models
