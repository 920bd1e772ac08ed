"""What chatterm knows about common models: reasoning support, output limits, context windows.

A model chatterm does not know still works (names are sent as given); it just gets the
provider's defaults: no reasoning parameters, and the provider's default ``max_tokens``.
Rules match by name prefix, so dated snapshots (``claude-sonnet-4-5-20250929``) and new
point releases are covered without a table update.

Context windows are different: they change between point releases, so they are looked up by
exact name (after a dated or ``-latest`` suffix is removed) and a model not in the table has
none (``None``), rather than a number guessed from its family. The numbers come from the
providers' model pages (OpenAI, Anthropic, Google AI and Vertex AI model cards), cross-checked
with genai-prices' table. DeepSeek's context length has changed with each model behind the
``deepseek-chat``/``deepseek-reasoner`` aliases, and an Ollama model's depends on its tag and
the server's ``num_ctx``, so neither is listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Facts about one model that change what a request must contain."""

    reasoning: bool = False  # accepts a reasoning/thinking parameter
    max_output_tokens: int | None = None  # the default max_tokens chatterm sends
    reasoning_visible: bool = True  # streams reasoning text (OpenAI Chat: only a count)
    context_window: int | None = None  # tokens the model can attend to (prompt + reply)


# (provider kind, model-name prefix, info): the first matching prefix wins.
_RULES: tuple[tuple[str, str, ModelInfo], ...] = (
    # Anthropic: extended thinking from Claude 3.7 on; max_tokens is required by the API.
    ("anthropic", "claude-3-7", ModelInfo(reasoning=True, max_output_tokens=16_000)),
    ("anthropic", "claude-sonnet-4", ModelInfo(reasoning=True, max_output_tokens=16_000)),
    ("anthropic", "claude-opus-4", ModelInfo(reasoning=True, max_output_tokens=16_000)),
    ("anthropic", "claude-haiku-4", ModelInfo(reasoning=True, max_output_tokens=16_000)),
    ("anthropic", "claude-4", ModelInfo(reasoning=True, max_output_tokens=16_000)),
    ("anthropic", "claude-3-5-haiku", ModelInfo(max_output_tokens=8_192)),
    ("anthropic", "claude-3-5", ModelInfo(max_output_tokens=8_192)),
    ("anthropic", "claude-3", ModelInfo(max_output_tokens=4_096)),
    ("anthropic", "", ModelInfo(max_output_tokens=8_192)),
    # Gemini: thinking (and thought summaries) from 2.5 on.
    ("gemini", "gemini-2.5", ModelInfo(reasoning=True)),
    ("gemini", "gemini-3", ModelInfo(reasoning=True)),
    ("gemini", "gemini-flash-latest", ModelInfo(reasoning=True)),
    ("gemini", "gemini-pro-latest", ModelInfo(reasoning=True)),
    # OpenAI reasoning models: effort is accepted; text only through the Responses API.
    ("openai", "o1", ModelInfo(reasoning=True, reasoning_visible=False)),
    ("openai", "o3", ModelInfo(reasoning=True, reasoning_visible=False)),
    ("openai", "o4", ModelInfo(reasoning=True, reasoning_visible=False)),
    ("openai", "gpt-5", ModelInfo(reasoning=True, reasoning_visible=False)),
    ("openai", "gpt-oss", ModelInfo(reasoning=True)),
    # DeepSeek's API: the reasoner streams `reasoning_content`; the chat model does not reason.
    ("deepseek", "deepseek-reasoner", ModelInfo(reasoning=True)),
    ("deepseek", "deepseek-chat", ModelInfo()),
    # Ollama: thinking-capable families take the `think` option.
    ("ollama", "qwen3", ModelInfo(reasoning=True)),
    ("ollama", "deepseek-r1", ModelInfo(reasoning=True)),
    ("ollama", "gpt-oss", ModelInfo(reasoning=True)),
    ("ollama", "magistral", ModelInfo(reasoning=True)),
)
_UNKNOWN = ModelInfo()

_OPENAI_400K = ("gpt-5", "gpt-5-mini", "gpt-5-nano")
_OPENAI_1M = ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano")
_OPENAI_200K = ("o3", "o3-mini", "o4-mini")
_ANTHROPIC_200K = (
    "claude-opus-4-5",
    "claude-opus-4-1",
    "claude-opus-4-0",
    "claude-opus-4",
    "claude-sonnet-4-5",
    "claude-sonnet-4-0",
    "claude-sonnet-4",
    "claude-haiku-4-5",
    "claude-3-7-sonnet",
    "claude-3-5-sonnet",
    "claude-3-5-haiku",
    "claude-3-opus",
    "claude-3-haiku",
)
_GEMINI_1M = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-3.1-pro-preview",
)
# (provider kind, exact model name) -> context window in tokens.
_CONTEXT_WINDOWS: dict[tuple[str, str], int] = {
    **{("openai", name): 400_000 for name in _OPENAI_400K},
    **{("openai", name): 1_047_576 for name in _OPENAI_1M},
    **{("openai", name): 128_000 for name in ("gpt-4o", "gpt-4o-mini")},
    **{("openai", name): 200_000 for name in _OPENAI_200K},
    **{("anthropic", name): 200_000 for name in _ANTHROPIC_200K},
    **{("anthropic", name): 1_000_000 for name in ("claude-opus-4-6", "claude-sonnet-4-6")},
    **{("gemini", name): 1_048_576 for name in _GEMINI_1M},
}

# The models `chatterm models` lists for each provider kind before any server is asked.
COMMON_MODELS: dict[str, tuple[str, ...]] = {
    "openai": (
        "gpt-5",
        "gpt-5-mini",
        "gpt-5-nano",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-4o",
        "gpt-4o-mini",
        "o3",
        "o4-mini",
    ),
    "anthropic": (
        "claude-opus-4-1",
        "claude-opus-4-0",
        "claude-sonnet-4-5",
        "claude-sonnet-4-0",
        "claude-haiku-4-5",
        "claude-3-7-sonnet-latest",
        "claude-3-5-haiku-latest",
    ),
    "gemini": (
        "gemini-2.5-pro",
        "gemini-2.5-flash",
        "gemini-2.5-flash-lite",
        "gemini-3-pro-preview",
    ),
    "deepseek": ("deepseek-chat", "deepseek-reasoner"),
}

# Kinds tried, in this order, for a model behind a server of no known kind.
_GUESS_KINDS = ("openai", "anthropic", "gemini", "deepseek", "ollama")
# A dated snapshot or moving alias of a model: "-2025-04-14", "-20250929", "-latest".
_SNAPSHOT_SUFFIX = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)$")


def _name(model: str) -> str:
    return model.lower().rsplit("/", 1)[-1]  # "models/gemini-2.5-flash", "openai/gpt-5"


def base_name(model: str) -> str:
    """The model's name without its path, dated snapshot or ``-latest`` suffix."""
    return _SNAPSHOT_SUFFIX.sub("", _name(model))


def _rule(kind: str, name: str, *, catch_all: bool) -> ModelInfo | None:
    for rule_kind, prefix, info in _RULES:
        if rule_kind == kind and name.startswith(prefix) and (prefix or catch_all):
            return info
    return None


def model_info(kind: str, model: str) -> ModelInfo:
    """Facts for ``model`` served through a provider of ``kind`` (``openai``, ``anthropic``,
    ``gemini``, ``ollama``, ``deepseek``); unknown models get conservative defaults."""
    info = _rule(kind, _name(model), catch_all=True) or _UNKNOWN
    window = _CONTEXT_WINDOWS.get((kind, base_name(model)))
    return replace(info, context_window=window) if window else info


def guess_model_info(model: str) -> ModelInfo:
    """Facts for ``model`` behind a server of no known kind (an OpenAI-compatible server, a
    gateway, a relay): the first kind that has a rule for the name, else the defaults."""
    for kind in _GUESS_KINDS:
        if is_known(kind, model):
            return model_info(kind, model)
    return _UNKNOWN


def is_known(kind: str, model: str) -> bool:
    """True when the catalogue has facts for ``model`` as served by ``kind``: a rule (not
    only a provider's catch-all default) or a context window."""
    known_window = (kind, base_name(model)) in _CONTEXT_WINDOWS
    return known_window or _rule(kind, _name(model), catch_all=False) is not None


# Model-name prefixes known to read text only (their APIs answer an image with a 400):
# DeepSeek's API models, OpenAI's small o-series before o4 and GPT-3.5, Anthropic's
# Claude 3.5 Haiku. Every other model may see images (a vision model, or one not known).
_TEXT_ONLY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("deepseek", "deepseek-"),
    ("openai", "o1-mini"),
    ("openai", "o3-mini"),
    ("openai", "gpt-3.5"),
    ("openai", "deepseek-"),  # DeepSeek behind an OpenAI-compatible base URL
    ("anthropic", "claude-3-5-haiku"),
)


def sees_images(kind: str, model: str) -> bool | None:
    """False for a model the catalogue knows reads text only, True for the vision models of
    the providers whose current models all see images, None when not known."""
    name = _name(model)
    if kind in ("openai-responses", "openai-compat"):
        kind = "openai"  # OpenAI's other API, or a server that serves its model names
    if any(kind == k and name.startswith(prefix) for k, prefix in _TEXT_ONLY_PREFIXES):
        return False
    if kind in ("anthropic", "gemini") or (
        kind == "openai" and name.startswith(("gpt-4", "gpt-5", "o1", "o3", "o4"))
    ):
        return True
    return None
