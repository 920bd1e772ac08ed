"""Cost of a reply from its usage.

Prices come from ``genai-prices`` (its bundled snapshot: chatterm never asks it to update
over the network), overridden per model by ``[models."provider:model"]`` in the config.
A cost the server reported itself (OpenRouter's and LiteLLM's ``usage.cost``) wins over
both, and is exact even when the token counts beside it were junk and are estimated. A
model with no known price costs *unknown*, never $0; local models cost $0. Of several
choices asked for in one request, the first carries the request's cost and the others
:data:`SHARED_COST`: counted once, wherever costs are added up.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from chatterm.events import Usage
from chatterm.urls import host_of

CostSource = Literal["server", "config", "price_table", "local", "unknown", "shared"]


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """US dollars per million tokens, from the config."""

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """What pricing needs to know about the model that wrote a reply."""

    model: str
    provider_id: str | None = None  # genai-prices provider id: "openai", "anthropic", ...
    base_url: str | None = None
    local: bool = False
    override: PriceOverride | None = None


@dataclass(frozen=True, slots=True)
class Cost:
    """A reply's cost in US dollars; ``usd`` is None when the price is unknown."""

    usd: float | None
    source: CostSource
    estimated: bool = False

    def label(self) -> str:
        if self.source == "shared":
            return "cost with choice 1"
        if self.usd is None:
            return "cost unknown"
        text = format_usd(self.usd)
        if self.estimated and self.source != "local":
            text = "~" + text
        if self.source == "server":
            text += " (server)"
        elif self.source == "local":
            text += " (local)"
        return text


#: The cost of a choice after the first of one request (Chat Completions ``n``): the
#: request's cost is the first choice's, so this one adds nothing to a sum.
SHARED_COST = Cost(0.0, "shared")


def format_usd(usd: float) -> str:
    if usd == 0:
        return "$0"
    if usd < 0.0001:
        return "<$0.0001"  # never print a real charge as $0.0000
    if usd < 0.01:
        return f"${usd:.4f}"
    return f"${usd:.2f}" if usd >= 1 else f"${usd:.3f}"


def is_local_url(url: str | None) -> bool:
    """True for loopback hosts: a server on this machine bills nobody."""
    if not url:
        return False
    host = host_of(url)
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
        return address.is_loopback or address.is_unspecified  # 0.0.0.0 reaches this host
    except ValueError:
        return False


def warm_up_prices() -> None:
    """Import the price table ahead of the first reply (it is slow to load)."""
    import genai_prices  # noqa: F401


def cost_of(usage: Usage, spec: PriceSpec) -> Cost:
    if usage.cost_usd is not None:
        return Cost(usage.cost_usd, "server")  # what was charged, even beside estimated counts
    if spec.override is not None:
        return Cost(_override_cost(usage, spec.override), "config", usage.estimated)
    if spec.local:
        return Cost(0.0, "local", usage.estimated)
    usd = _table_cost(usage, spec)
    if usd is None:
        return Cost(None, "unknown", usage.estimated)
    return Cost(usd, "price_table", usage.estimated)


def _override_cost(usage: Usage, price: PriceOverride) -> float:
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    cached_rate = price.cached_input_per_mtok
    if cached_rate is None:
        cached_rate = price.input_per_mtok
    return (
        (usage.input_tokens - cached) * price.input_per_mtok
        + cached * cached_rate
        + usage.output_tokens * price.output_per_mtok
    ) / 1_000_000


def _table_cost(usage: Usage, spec: PriceSpec) -> float | None:
    # Imported here: genai-prices pulls in pydantic, which start-up should not pay for.
    import genai_prices

    # genai-prices raises ValueError when the cache counts exceed the input they are part of,
    # which a server's odd report must not turn into a crash: clamp, as _override_cost does.
    cache_read = min(usage.cached_input_tokens, usage.input_tokens)
    cache_write = min(usage.cache_write_tokens, usage.input_tokens - cache_read)
    table_usage = genai_prices.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=cache_read or None,
        cache_write_tokens=cache_write or None,
    )
    attempts: list[dict[str, str]] = []
    if spec.provider_id:
        attempts.append({"provider_id": spec.provider_id})
    if spec.base_url:
        attempts.append({"provider_api_url": spec.base_url})
    if not attempts:
        # A bare model name: the table may know it from some provider. A server with its own
        # address that the table does not know (self-hosted, a relay) gets no guessed price.
        attempts.append({})
    for where in attempts:
        try:
            calc = genai_prices.calc_price(table_usage, spec.model, **where)
        except LookupError:
            continue
        total = calc.total_price
        return float(total) if isinstance(total, Decimal | int | float) else None
    return None
