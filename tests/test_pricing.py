"""Cost of a reply: server-reported, config override, genai-prices snapshot, local, unknown.

genai-prices is only ever asked about its bundled snapshot (nothing here starts UpdatePrices),
so these lookups are offline. Its prices change between releases and over time, so table
lookups are checked for shape and ordering, not exact dollars.
"""

from __future__ import annotations

import pytest

from chatterm.events import Usage
from chatterm.pricing import Cost, PriceOverride, PriceSpec, cost_of, format_usd, is_local_url

MILLION = 1_000_000


class TestPriceTable:
    def test_known_openai_model(self) -> None:
        cost = cost_of(
            Usage(input_tokens=1000, output_tokens=500), PriceSpec("gpt-5-mini", "openai")
        )
        assert cost.source == "price_table"
        assert cost.usd is not None and cost.usd > 0
        assert cost.estimated is False
        assert cost.label().startswith("$")

    def test_output_costs_more_than_input_for_gpt_5_mini(self) -> None:
        spec = PriceSpec("gpt-5-mini", "openai")
        inp = cost_of(Usage(input_tokens=MILLION), spec).usd
        out = cost_of(Usage(output_tokens=MILLION), spec).usd
        assert inp is not None and out is not None and 0 < inp < out

    def test_cached_input_is_cheaper(self) -> None:
        spec = PriceSpec("gpt-5-mini", "openai")
        plain = cost_of(Usage(input_tokens=MILLION), spec).usd
        cached = cost_of(Usage(input_tokens=MILLION, cached_input_tokens=MILLION), spec).usd
        assert plain is not None and cached is not None and 0 < cached < plain

    def test_more_tokens_cost_more(self) -> None:
        spec = PriceSpec("gpt-5-mini", "openai")
        small = cost_of(Usage(input_tokens=10, output_tokens=10), spec).usd
        big = cost_of(Usage(input_tokens=10, output_tokens=10_000), spec).usd
        assert small is not None and big is not None and small < big

    def test_zero_usage_costs_zero_but_is_known(self) -> None:
        cost = cost_of(Usage(), PriceSpec("gpt-5-mini", "openai"))
        assert (cost.usd, cost.source) == (0.0, "price_table")

    def test_lookup_by_base_url(self) -> None:
        spec = PriceSpec("llama-3.3-70b-versatile", base_url="https://api.groq.com/openai/v1")
        cost = cost_of(Usage(input_tokens=1000, output_tokens=1000), spec)
        assert cost.source == "price_table" and cost.usd is not None and cost.usd > 0

    def test_estimated_usage_gives_estimated_cost(self) -> None:
        usage = Usage(input_tokens=100, output_tokens=100, estimated=True)
        cost = cost_of(usage, PriceSpec("gpt-5-mini", "openai"))
        assert cost.estimated is True
        assert cost.label().startswith("~$")

    def test_cache_counts_larger_than_input_do_not_crash(self) -> None:
        # genai-prices raises ValueError for these; a server's odd numbers must not crash us.
        usage = Usage(
            input_tokens=10, output_tokens=5, cached_input_tokens=20, cache_write_tokens=9
        )
        spec = PriceSpec("gpt-5-mini", "openai")
        cost = cost_of(usage, spec)
        assert cost.source == "price_table" and cost.usd is not None
        # Clamped to: all 10 input tokens read from cache, no cache writes, 5 output.
        clamped = cost_of(Usage(input_tokens=10, output_tokens=5, cached_input_tokens=10), spec)
        assert cost.usd == clamped.usd

    def test_parts_add_up(self) -> None:
        spec = PriceSpec("gpt-5-mini", "openai")
        both = cost_of(Usage(input_tokens=1000, output_tokens=500, reasoning_tokens=300), spec)
        inp = cost_of(Usage(input_tokens=1000), spec)
        out = cost_of(Usage(output_tokens=500), spec)
        assert both.usd is not None and inp.usd is not None and out.usd is not None
        # Reasoning is part of output: counted once, not added on top.
        assert both.usd == pytest.approx(inp.usd + out.usd)
        cached = cost_of(Usage(input_tokens=1000, cached_input_tokens=1000), spec)
        assert cached.usd is not None and 0 < cached.usd < inp.usd

    def test_unknown_server_address_gets_no_guessed_price(self) -> None:
        spec = PriceSpec("deepseek-r1", base_url="http://192.168.1.20:8000/v1")
        assert cost_of(Usage(input_tokens=1000, output_tokens=1000), spec).usd is None

    def test_unknown_model(self) -> None:
        spec = PriceSpec("no-such-model-2099", "openai")
        cost = cost_of(Usage(input_tokens=1000, output_tokens=1000), spec)
        assert cost == Cost(None, "unknown")
        assert cost.label() == "cost unknown"

    def test_unknown_model_on_unknown_server(self) -> None:
        spec = PriceSpec("my-finetune-v3", base_url="https://llm.internal.example/v1")
        cost = cost_of(Usage(input_tokens=1000, output_tokens=1000), spec)
        assert cost.usd is None and cost.label() == "cost unknown"

    def test_unknown_provider_id(self) -> None:
        cost = cost_of(Usage(input_tokens=1), PriceSpec("no-such-model-2099", "no-such-provider"))
        assert cost.usd is None


class TestPrecedence:
    OVERRIDE = PriceOverride(input_per_mtok=2.0, output_per_mtok=8.0, cached_input_per_mtok=0.5)

    def test_server_cost_wins_over_everything(self) -> None:
        usage = Usage(input_tokens=1000, output_tokens=1000, cost_usd=0.0042)
        spec = PriceSpec("gpt-5-mini", "openai", local=True, override=self.OVERRIDE)
        cost = cost_of(usage, spec)
        assert cost == Cost(0.0042, "server")
        assert cost.label() == "$0.0042 (server)"

    def test_server_reported_zero(self) -> None:
        cost = cost_of(Usage(cost_usd=0.0), PriceSpec("free-model"))
        assert cost == Cost(0.0, "server")
        assert cost.label() == "$0 (server)"

    def test_config_override_wins_over_local_and_table(self) -> None:
        usage = Usage(input_tokens=MILLION, output_tokens=MILLION)
        cost = cost_of(usage, PriceSpec("gpt-5-mini", "openai", local=True, override=self.OVERRIDE))
        assert cost == Cost(10.0, "config")

    def test_local_costs_zero(self) -> None:
        cost = cost_of(Usage(input_tokens=5000, output_tokens=5000), PriceSpec("qwen3", local=True))
        assert cost == Cost(0.0, "local")
        assert cost.label() == "$0 (local)"

    def test_local_estimated_has_no_tilde(self) -> None:
        cost = cost_of(Usage(output_tokens=5, estimated=True), PriceSpec("qwen3", local=True))
        assert cost.estimated is True
        assert cost.label() == "$0 (local)"

    def test_local_gpt_name_is_still_free(self) -> None:
        # A local server serving a model named like a paid one bills nobody.
        cost = cost_of(Usage(input_tokens=MILLION), PriceSpec("gpt-5-mini", local=True))
        assert cost.usd == 0.0


class TestOverrideMath:
    def test_cached_rate(self) -> None:
        price = PriceOverride(input_per_mtok=3.0, output_per_mtok=15.0, cached_input_per_mtok=0.3)
        usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=200_000)
        # 600k uncached * $3 + 400k cached * $0.3 + 200k out * $15, per million
        expected = (600_000 * 3.0 + 400_000 * 0.3 + 200_000 * 15.0) / MILLION
        cost = cost_of(usage, PriceSpec("x", override=price))
        assert cost.usd == pytest.approx(expected)
        assert cost.usd == pytest.approx(4.92)

    def test_no_cached_rate_means_input_rate(self) -> None:
        price = PriceOverride(input_per_mtok=3.0, output_per_mtok=15.0)
        usage = Usage(input_tokens=1_000_000, cached_input_tokens=400_000)
        assert cost_of(usage, PriceSpec("x", override=price)).usd == pytest.approx(3.0)

    def test_cached_more_than_input_is_clamped(self) -> None:
        price = PriceOverride(input_per_mtok=1.0, output_per_mtok=1.0, cached_input_per_mtok=0.0)
        usage = Usage(input_tokens=100, cached_input_tokens=500)
        assert cost_of(usage, PriceSpec("x", override=price)).usd == 0.0

    def test_free_override(self) -> None:
        price = PriceOverride(input_per_mtok=0.0, output_per_mtok=0.0)
        cost = cost_of(Usage(input_tokens=10, output_tokens=10), PriceSpec("x", override=price))
        assert cost == Cost(0.0, "config")
        assert cost.label() == "$0"

    def test_estimated_override(self) -> None:
        price = PriceOverride(input_per_mtok=1.0, output_per_mtok=1.0)
        cost = cost_of(Usage(input_tokens=MILLION, estimated=True), PriceSpec("x", override=price))
        assert cost == Cost(1.0, "config", estimated=True)
        assert cost.label() == "~$1.00"


class TestLabels:
    def test_unknown_is_never_zero(self) -> None:
        assert Cost(None, "unknown").label() == "cost unknown"
        assert Cost(None, "unknown", estimated=True).label() == "cost unknown"

    @pytest.mark.parametrize(
        ("usd", "text"),
        [
            (0, "$0"),
            (0.0, "$0"),
            (0.00012, "$0.0001"),
            (0.00004, "<$0.0001"),  # a real charge never prints as $0.0000
            (0.0042, "$0.0042"),
            (0.0099, "$0.0099"),
            (0.01, "$0.010"),
            (0.125, "$0.125"),
            (0.9994, "$0.999"),
            (1, "$1.00"),
            (12.345, "$12.35"),
            (1234.5, "$1234.50"),
        ],
    )
    def test_format_usd(self, usd: float, text: str) -> None:
        assert format_usd(usd) == text

    def test_price_table_label_has_no_suffix(self) -> None:
        assert Cost(0.25, "price_table").label() == "$0.250"
        assert Cost(0.25, "config").label() == "$0.250"

    def test_estimated_server_cost(self) -> None:
        assert Cost(0.5, "server", estimated=True).label() == "~$0.500 (server)"


class TestIsLocalUrl:
    @pytest.mark.parametrize(
        "url",
        [
            "http://localhost:11434",
            "http://localhost/v1",
            "http://0.0.0.0:8000/v1",
            "http://LOCALHOST:8080/v1",
            "http://127.0.0.1:8000/v1",
            "http://127.5.6.7/v1",
            "http://[::1]:8080/v1",
        ],
    )
    def test_local(self, url: str) -> None:
        assert is_local_url(url) is True

    @pytest.mark.parametrize(
        "url",
        [
            None,
            "",
            "https://api.openai.com/v1",
            "http://192.168.1.10:8000/v1",
            "http://10.0.0.5/v1",
            "http://localhost.example.com/v1",
            "not a url",
        ],
    )
    def test_not_local(self, url: str | None) -> None:
        assert is_local_url(url) is False
