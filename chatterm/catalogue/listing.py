"""Every model chatterm can offer, with what is known about each: the listing behind
``chatterm models`` (and the TUI's model picker).

Three sources, merged: the built-in catalogue's common models of each provider
(:data:`chatterm.providers.model_facts.COMMON_MODELS`), the models the config names
(``default_model``, ``model_cycle``, ``favourites`` and each ``[models."provider:model"]``
table), and the models servers listed (:mod:`chatterm.catalogue.discovery`). A
``[models."p:m"]`` table's ``reasoning``, ``context_window``, ``max_tokens`` and price
override the built-in facts.

Prices are US dollars per million tokens: the config's override, else genai-prices' bundled
table (imported only when a price is wanted: it is slow to load), else unknown (``None``);
models on this machine cost 0.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from chatterm.config import Settings
from chatterm.errors import ConfigError
from chatterm.pricing import PriceSpec
from chatterm.providers.model_facts import (
    COMMON_MODELS,
    ModelInfo,
    guess_model_info,
    is_known,
    model_info,
)
from chatterm.providers.ollama import KEY_ENV as OLLAMA_KEY_ENV
from chatterm.providers.ollama import is_cloud_host, parse_ollama_host
from chatterm.providers.registry import BUILTIN, DEMO_MODELS, known_providers, resolve_model
from chatterm.text import one_line
from chatterm.urls import host_of

EntrySource = Literal["builtin", "config", "discovered"]
PriceSource = Literal["config", "price_table", "local", "unknown"]
_SOURCE_RANK: dict[EntrySource, int] = {"builtin": 0, "discovered": 1, "config": 2}
_BUILTIN_LISTED = ("openai", "anthropic", "gemini")  # "openai-responses" is an alias
_DEEPSEEK_HOST = "deepseek.com"


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One model as ``chatterm models`` lists it."""

    ref: str  # "provider:model", as -m takes it ("demo" for the demo)
    provider: str
    model: str
    reasoning: bool  # takes a reasoning/thinking parameter, or streams its reasoning
    context_window: int | None  # tokens; None when not known
    max_output_tokens: int | None  # the max_tokens chatterm sends; None: the server's default
    input_per_mtok: float | None  # US dollars per million tokens; None when not known
    output_per_mtok: float | None
    price_source: PriceSource
    price_tiered: bool  # the price rises above a prompt size; the lowest tier is shown
    key_set: bool  # the provider's key variable is set
    key_env: str | None  # the variable the key is read from; None when none is needed
    key_problem: str | None  # why the model cannot be used now (a missing key), or None
    source: EntrySource  # where it was listed from: config wins over discovered over builtin

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TablePrice:
    input_per_mtok: float
    output_per_mtok: float
    tiered: bool = False


def catalogue(
    settings: Settings,
    env: Mapping[str, str] | None = None,
    discovered: Mapping[str, Sequence[str]] | None = None,
    *,
    with_prices: bool = True,
) -> list[CatalogueEntry]:
    """Every model from the three sources, grouped by provider (in ``known_providers``
    order), each group in the order: built-in, config, discovered. ``with_prices=False``
    skips the price table (and its import); config and local prices are still given."""
    env = os.environ if env is None else env
    sources = _listed_refs(settings, discovered or {})
    order = {name: i for i, name in enumerate(known_providers(settings))}
    # Two spellings can name one model ("demo:" and "demo"): one entry per resolved ref,
    # from the most specific source, where the first spelling stood.
    unique: dict[str, CatalogueEntry] = {}
    for ref, source in sources.items():
        entry = _entry(ref, source, settings, env, with_prices)
        earlier = unique.get(entry.ref)
        if earlier is None or _SOURCE_RANK[entry.source] >= _SOURCE_RANK[earlier.source]:
            unique[entry.ref] = entry
    # sorted() is stable: within a provider the listing order above is kept.
    return sorted(unique.values(), key=lambda e: order.get(e.provider, len(order)))


def _listed_refs(
    settings: Settings, discovered: Mapping[str, Sequence[str]]
) -> dict[str, EntrySource]:
    refs: dict[str, EntrySource] = {}

    def add(ref: str, source: EntrySource) -> None:
        ref = ref.strip()
        if ref and _SOURCE_RANK[source] >= _SOURCE_RANK[refs.get(ref, "builtin")]:
            refs[ref] = source

    for ref in DEMO_MODELS:
        add(ref, "builtin")
    for provider in _BUILTIN_LISTED:
        for model in COMMON_MODELS[provider]:
            add(f"{provider}:{model}", "builtin")
    for name in sorted(settings.providers):
        if _provider_kind(name, settings) == "deepseek":
            for model in COMMON_MODELS["deepseek"]:
                add(f"{name}:{model}", "builtin")
    named = [settings.default_model or "", *settings.model_cycle, *settings.favourites]
    for ref in [*named, *settings.model_settings]:
        add(ref, "config")
    for provider, names in discovered.items():
        for model in sorted(names, key=str.lower):
            add(f"{provider}:{model}", "discovered")
    return refs


def _provider_kind(provider: str, settings: Settings) -> str | None:
    """The catalogue kind whose facts apply to ``provider``'s models; None: guess by name."""
    if provider in settings.providers:
        custom = settings.providers[provider]
        host = host_of(custom.base_url)
        if custom.kind == "openai" and (
            host == _DEEPSEEK_HOST or host.endswith("." + _DEEPSEEK_HOST)
        ):
            return "deepseek"
        return None
    if provider in ("openai", "openai-responses"):
        return "openai"
    return provider if provider in BUILTIN else None


def _facts(provider: str, model: str, settings: Settings) -> ModelInfo:
    if provider == "demo":
        return ModelInfo(reasoning=True)
    kind = _provider_kind(provider, settings)
    if provider in settings.providers and settings.providers[provider].kind == "gateway":
        model = model.partition("/")[2] or model  # SERVICE/MODEL
    if kind is not None and is_known(kind, model):
        return model_info(kind, model)
    if kind is not None and kind != "openai":
        # What requests to this provider will contain (its catch-all max_tokens, say).
        return model_info(kind, model)
    # An unknown name behind `openai:` is often another server's (OPENAI_BASE_URL).
    return guess_model_info(model)


def _limits(
    provider: str, model: str, ref: str, settings: Settings
) -> tuple[bool, int | None, int | None]:
    """``(reasoning, context window, max output tokens)`` of a model: the catalogue's facts,
    overridden by its ``[models."p:m"]`` table."""
    info = _facts(provider, model, settings)
    override = settings.model_settings.get(ref)
    reasoning, context, max_tokens = info.reasoning, info.context_window, info.max_output_tokens
    if override is not None:
        reasoning = info.reasoning if override.reasoning is None else override.reasoning
        context = override.context_window or context
        max_tokens = override.max_tokens or max_tokens
    return reasoning, context, max_tokens


def context_window(ref: str, settings: Settings, env: Mapping[str, str]) -> int | None:
    """The context window of ``ref`` in tokens, as the model list shows it (the config's
    ``context_window`` first); None when not known or ``ref`` names no usable model."""
    try:
        target = resolve_model(ref, settings, env)
    except (ConfigError, ValueError):
        return None
    provider = target.ref.partition(":")[0] if target.ref != "demo" else "demo"
    return _limits(provider, target.model, ref, settings)[1]


def _entry(
    ref: str, source: EntrySource, settings: Settings, env: Mapping[str, str], with_prices: bool
) -> CatalogueEntry:
    prefix, _, name = ref.partition(":")
    try:
        target = resolve_model(ref, settings, env)
    except (ConfigError, ValueError) as exc:
        # ValueError: pricing.is_local_url cannot parse a base_url such as "http://[::1".
        problem = str(exc) if isinstance(exc, ConfigError) else f"invalid base_url: {exc}"
        return CatalogueEntry(
            ref=ref,
            provider=prefix,
            model=name,
            reasoning=False,
            context_window=None,
            max_output_tokens=None,
            input_per_mtok=None,
            output_per_mtok=None,
            price_source="unknown",
            price_tiered=False,
            key_set=False,
            key_env=None,
            key_problem=one_line(problem),  # the model name itself is the problem
            source=source,
        )
    provider = target.ref.partition(":")[0] if target.ref != "demo" else "demo"
    reasoning, context, max_tokens = _limits(provider, target.model, ref, settings)
    override = settings.model_settings.get(ref)
    spec = target.provider.price_spec(target.model)
    price: TablePrice | None = None
    price_source: PriceSource = "unknown"
    if override is not None and override.price is not None:
        price = TablePrice(override.price.input_per_mtok, override.price.output_per_mtok)
        price_source = "config"
    elif spec.local:
        price, price_source = TablePrice(0.0, 0.0), "local"
    elif with_prices:
        price = table_price(spec)
        price_source = "price_table" if price is not None else "unknown"
    key_env = _key_env(provider, settings, env)
    return CatalogueEntry(
        ref=target.ref,
        provider=provider,
        model=target.model,
        reasoning=reasoning,
        context_window=context,
        max_output_tokens=max_tokens,
        input_per_mtok=price.input_per_mtok if price else None,
        output_per_mtok=price.output_per_mtok if price else None,
        price_source=price_source,
        price_tiered=price.tiered if price else False,
        key_set=bool(key_env and env.get(key_env)),
        key_env=key_env,
        key_problem=target.provider.missing_key(),
        source=source,
    )


def _key_env(provider: str, settings: Settings, env: Mapping[str, str]) -> str | None:
    """The variable ``provider``'s key is read from (the one that is set, when there are
    several), or None when it takes no key."""
    if provider in settings.providers:
        return settings.providers[provider].api_key_env
    if provider == "ollama":
        cloud = is_cloud_host(parse_ollama_host(env.get("OLLAMA_HOST")))
        return OLLAMA_KEY_ENV if cloud else None
    if provider == "openai-responses":
        provider = "openai"
    builtin = BUILTIN.get(provider)
    if builtin is None or not builtin.key_envs:
        return None
    return next((name for name in builtin.key_envs if env.get(name)), builtin.key_envs[0])


def table_price(spec: PriceSpec) -> TablePrice | None:
    """Input and output prices per million tokens from genai-prices' bundled table, looked
    up as :func:`chatterm.pricing.cost_of` does (by provider, else by address); None when
    the table does not know the model."""
    # Imported here: genai-prices pulls in pydantic, which start-up should not pay for.
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    attempts: list[tuple[str | None, str | None]] = []
    if spec.provider_id:
        attempts.append((spec.provider_id, None))
    if spec.base_url:
        attempts.append((None, spec.base_url))
    if not attempts:
        attempts.append((None, None))
    for provider_id, base_url in attempts:
        try:
            _, model = snapshot.find_provider_model(spec.model, None, provider_id, base_url)
        except LookupError:
            continue
        prices = model.get_prices(datetime.now(tz=UTC))
        rates = [_rate(getattr(prices, key, None)) for key in ("input_mtok", "output_mtok")]
        (inp, in_tiered), (out, out_tiered) = rates
        if inp is None or out is None:
            return None
        return TablePrice(inp, out, in_tiered or out_tiered)
    return None


def _rate(value: Any) -> tuple[float | None, bool]:
    """A price per million tokens, and whether it is the base of a tiered price."""
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return float(value), False
    base = getattr(value, "base", None)  # genai-prices' TieredPrices
    if isinstance(base, Decimal | int | float) and not isinstance(base, bool):
        return float(base), True
    return None, False
