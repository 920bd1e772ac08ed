"""The model catalogue: built-in facts (reasoning, context windows), and the merged listing
of built-in, configured and discovered models with prices and key status."""

from __future__ import annotations

import pytest

from chatterm.catalogue.listing import CatalogueEntry, catalogue, table_price
from chatterm.config import ModelConfig, ProviderConfig, Settings
from chatterm.events import Usage
from chatterm.pricing import PriceOverride, PriceSpec, cost_of
from chatterm.providers.model_facts import (
    COMMON_MODELS,
    ModelInfo,
    base_name,
    guess_model_info,
    model_info,
)
from tests.test_import_hygiene import imported_heavy_modules


def by_ref(entries: list[CatalogueEntry]) -> dict[str, CatalogueEntry]:
    return {entry.ref: entry for entry in entries}


# -- built-in facts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "model", "window"),
    [
        ("openai", "gpt-5-mini", 400_000),
        ("openai", "gpt-4.1-2025-04-14", 1_047_576),
        ("openai", "gpt-4o-mini", 128_000),
        ("openai", "o4-mini", 200_000),
        ("anthropic", "claude-sonnet-4-5-20250929", 200_000),
        ("anthropic", "claude-3-7-sonnet-latest", 200_000),
        ("anthropic", "claude-sonnet-4-6", 1_000_000),
        ("gemini", "models/gemini-2.5-flash", 1_048_576),
        ("gemini", "gemini-3-pro-preview", 1_048_576),
    ],
)
def test_context_windows_by_exact_name_and_snapshot(kind: str, model: str, window: int) -> None:
    assert model_info(kind, model).context_window == window


@pytest.mark.parametrize(
    ("kind", "model"),
    [
        ("anthropic", "claude-opus-4-9"),  # a point release the table does not know yet
        ("openai", "gpt-5.9"),
        ("gemini", "gemini-2.5-flash-preview-09-2025"),
        ("deepseek", "deepseek-chat"),  # changed with each model behind the alias
        ("ollama", "qwen3:8b"),  # depends on the tag and num_ctx
    ],
)
def test_no_context_window_is_guessed(kind: str, model: str) -> None:
    assert model_info(kind, model).context_window is None


def test_family_rules_still_apply_to_unknown_point_releases() -> None:
    info = model_info("anthropic", "claude-opus-4-9")
    assert info.reasoning and info.max_output_tokens == 16_000
    assert model_info("openai", "gpt-5.9") == ModelInfo(reasoning=True, reasoning_visible=False)
    assert model_info("anthropic", "something-else").max_output_tokens == 8_192  # catch-all


def test_the_request_facts_are_unchanged_for_known_models() -> None:
    sonnet = model_info("anthropic", "claude-sonnet-4-5")
    assert (sonnet.reasoning, sonnet.max_output_tokens) == (True, 16_000)
    assert model_info("gemini", "gemini-2.5-pro").max_output_tokens is None
    assert not model_info("openai", "gpt-4.1").reasoning
    assert model_info("ollama", "qwen3:8b").reasoning
    assert not model_info("ollama", "llama3.2").reasoning


def test_base_name_drops_paths_snapshots_and_latest() -> None:
    assert base_name("models/gemini-2.5-pro") == "gemini-2.5-pro"
    assert base_name("claude-haiku-4-5-20251001") == "claude-haiku-4-5"
    assert base_name("gpt-4o-2024-08-06") == "gpt-4o"
    assert base_name("claude-3-5-haiku-latest") == "claude-3-5-haiku"
    assert base_name("o3") == "o3"


def test_guessing_for_servers_of_no_known_kind() -> None:
    assert guess_model_info("Qwen/Qwen3-8B").reasoning
    assert guess_model_info("deepseek-reasoner").reasoning
    assert guess_model_info("openai/gpt-4.1").context_window == 1_047_576
    unknown = guess_model_info("mistral-small")
    assert unknown == ModelInfo()  # not Anthropic's catch-all max_tokens


def test_every_common_model_resolves_to_known_facts() -> None:
    for kind, models in COMMON_MODELS.items():
        for model in models:
            if kind != "deepseek":
                assert model_info(kind, model).context_window, (kind, model)


# -- the listing ----------------------------------------------------------------------------


def test_builtin_listing_with_keys_and_prices() -> None:
    entries = by_ref(catalogue(Settings(), {"OPENAI_API_KEY": "sk-k", "GOOGLE_API_KEY": "g"}))
    mini = entries["openai:gpt-5-mini"]
    assert (mini.provider, mini.model, mini.source) == ("openai", "gpt-5-mini", "builtin")
    assert mini.reasoning and mini.context_window == 400_000
    assert mini.price_source == "price_table" and mini.input_per_mtok is not None
    assert mini.key_set and mini.key_env == "OPENAI_API_KEY" and mini.key_problem is None
    sonnet = entries["anthropic:claude-sonnet-4-5"]
    assert not sonnet.key_set and sonnet.key_env == "ANTHROPIC_API_KEY"
    assert sonnet.key_problem is not None and "ANTHROPIC_API_KEY" in sonnet.key_problem
    assert sonnet.max_output_tokens == 16_000
    flash = entries["gemini:gemini-2.5-flash"]
    assert flash.key_set and flash.key_env == "GOOGLE_API_KEY"  # the variable that is set
    demo = entries["demo"]
    assert demo.reasoning and demo.price_source == "local" and demo.input_per_mtok == 0.0
    assert demo.key_env is None and demo.key_problem is None
    assert "openai-responses:gpt-5" not in entries  # an alias, not listed twice


def test_table_prices_agree_with_reply_costs() -> None:
    for spec in (PriceSpec("gpt-5-mini", provider_id="openai"), PriceSpec("gpt-4o-mini")):
        price = table_price(spec)
        assert price is not None and not price.tiered
        inp = cost_of(Usage(input_tokens=1_000_000), spec).usd
        out = cost_of(Usage(output_tokens=1_000_000), spec).usd
        assert (inp, out) == pytest.approx((price.input_per_mtok, price.output_per_mtok))


def test_tiered_prices_show_their_lowest_tier() -> None:
    price = table_price(PriceSpec("gemini-2.5-pro", provider_id="google"))
    assert price is not None and price.tiered
    assert table_price(PriceSpec("no-such-model-anywhere", provider_id="openai")) is None
    assert table_price(PriceSpec("x", base_url="http://10.1.2.3:8000/v1")) is None


def test_config_models_and_their_overrides() -> None:
    settings = Settings(
        default_model="lan:qwen3-32b",
        model_cycle=("openai:gpt-5-mini", "demo"),
        favourites=("openai:o3",),
        providers={"lan": ProviderConfig("lan", "http://192.168.1.5:8000/v1", local=True)},
        model_settings={
            "lan:qwen3-32b": ModelConfig(context_window=32_768, max_tokens=2_000),
            "openai:gpt-5-mini": ModelConfig(
                price=PriceOverride(1.0, 3.0), reasoning=False, context_window=1_000
            ),
            "openai:my-finetune": ModelConfig(reasoning=True),
        },
    )
    entries = by_ref(catalogue(settings, {}))
    lan = entries["lan:qwen3-32b"]
    assert lan.source == "config" and lan.reasoning  # qwen3 reasons, guessed by name
    assert (lan.context_window, lan.max_output_tokens) == (32_768, 2_000)
    assert lan.price_source == "local" and lan.output_per_mtok == 0.0
    assert lan.key_env is None and not lan.key_set and lan.key_problem is None
    mini = entries["openai:gpt-5-mini"]
    assert mini.source == "config"  # named in the config wins over built-in
    assert not mini.reasoning and mini.context_window == 1_000
    assert (mini.input_per_mtok, mini.output_per_mtok, mini.price_source) == (1.0, 3.0, "config")
    assert entries["openai:o3"].source == "config"
    assert entries["openai:my-finetune"].reasoning
    assert entries["openai:my-finetune"].price_source == "unknown"
    assert entries["openai:gpt-4.1"].source == "builtin"


def test_discovered_models_and_the_order_of_the_listing() -> None:
    settings = Settings(
        providers={
            "deepseek": ProviderConfig("deepseek", "https://api.deepseek.com/v1", "DS_KEY"),
            "aaa": ProviderConfig("aaa", "http://127.0.0.1:8080/v1"),
        }
    )
    discovered = {"ollama": ["qwen3:8b", "Llama3.2:latest"], "deepseek": ["deepseek-chat"]}
    entries = catalogue(settings, {"DS_KEY": "k"}, discovered)
    providers = list(dict.fromkeys(e.provider for e in entries))
    assert providers == ["demo", "openai", "anthropic", "gemini", "ollama", "deepseek"]
    ollama = [e.model for e in entries if e.provider == "ollama"]
    assert ollama == ["Llama3.2:latest", "qwen3:8b"]
    refs = by_ref(entries)
    assert refs["ollama:qwen3:8b"].source == "discovered" and refs["ollama:qwen3:8b"].reasoning
    assert refs["ollama:qwen3:8b"].price_source == "local"
    # DeepSeek's API gets the built-in DeepSeek models; a listed one says so.
    assert refs["deepseek:deepseek-chat"].source == "discovered"
    assert refs["deepseek:deepseek-reasoner"].source == "builtin"
    assert refs["deepseek:deepseek-reasoner"].reasoning
    assert refs["deepseek:deepseek-reasoner"].key_set


def test_a_broken_config_reference_is_listed_with_its_problem() -> None:
    settings = Settings(model_cycle=("nowhere:model", "gpt-5"))
    refs = by_ref(catalogue(settings, {}, with_prices=False))
    assert "unknown provider 'nowhere'" in (refs["nowhere:model"].key_problem or "")
    assert "needs a provider prefix" in (refs["gpt-5"].key_problem or "")
    assert not refs["gpt-5"].reasoning


def test_without_prices_the_table_is_not_consulted() -> None:
    settings = Settings(model_settings={"openai:gpt-5": ModelConfig(price=PriceOverride(2, 4))})
    refs = by_ref(catalogue(settings, {}, with_prices=False))
    assert refs["openai:gpt-5-mini"].price_source == "unknown"
    assert refs["openai:gpt-5-mini"].input_per_mtok is None
    assert refs["openai:gpt-5"].price_source == "config"
    assert refs["demo"].price_source == "local"


def test_a_gateway_model_is_known_by_its_upstream_name() -> None:
    settings = Settings(
        providers={"gw": ProviderConfig("gw", "http://127.0.0.1:8000/api/v1", kind="gateway")},
        default_model="gw:anthropic/claude-sonnet-4-5",
    )
    entry = by_ref(catalogue(settings, {}, with_prices=False))["gw:anthropic/claude-sonnet-4-5"]
    assert entry.reasoning and entry.context_window == 200_000


def test_the_catalogue_modules_import_no_textual_and_no_price_table() -> None:
    modules = (
        "chatterm.catalogue.listing",
        "chatterm.catalogue.discovery",
        "chatterm.cli.models",
        "chatterm.cli.config",
    )
    assert imported_heavy_modules(modules, ("textual", "genai_prices")) == []


def test_an_unknown_name_behind_openai_is_guessed_as_other_servers_are() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"}
    settings = Settings(default_model="openai:Qwen/Qwen3-8B")
    assert by_ref(catalogue(settings, env, with_prices=False))["openai:Qwen/Qwen3-8B"].reasoning
    # Anthropic's own unknown names keep what requests to it contain.
    settings = Settings(default_model="anthropic:claude-next")
    entry = by_ref(catalogue(settings, {}, with_prices=False))["anthropic:claude-next"]
    assert entry.max_output_tokens == 8_192 and not entry.reasoning


def test_a_malformed_base_url_does_not_stop_the_listing() -> None:
    settings = Settings(providers={"bad": ProviderConfig("bad", "http://[::1/v1")})
    entries = by_ref(catalogue(settings, {}, {"bad": ["m"]}, with_prices=False))
    assert entries["bad:m"].source == "discovered"
    # config.toml refuses such a URL when it loads; built by hand, it still lists.


def test_two_spellings_of_one_model_are_one_entry() -> None:
    settings = Settings(model_cycle=("demo:", "demo", " demo"), default_model="demo:")
    refs = [entry.ref for entry in catalogue(settings, {}, {}, with_prices=False)]
    assert refs.count("demo") == 1
