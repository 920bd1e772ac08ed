"""What chatterm knows about common models: reasoning support and output limits.

A model chatterm does not know still works (names are sent as given); it just gets the
provider's defaults: no reasoning parameters, and the provider's default ``max_tokens``.
Rules match by name prefix, so dated snapshots (``claude-sonnet-4-5-20250929``) and new
point releases are covered without a table update.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Facts about one model that change what a request must contain."""

    reasoning: bool = False  # accepts a reasoning/thinking parameter
    max_output_tokens: int | None = None  # the default max_tokens chatterm sends
    reasoning_visible: bool = True  # streams reasoning text (OpenAI Chat: only a count)


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
    # Ollama: thinking-capable families take the `think` option.
    ("ollama", "qwen3", ModelInfo(reasoning=True)),
    ("ollama", "deepseek-r1", ModelInfo(reasoning=True)),
    ("ollama", "gpt-oss", ModelInfo(reasoning=True)),
    ("ollama", "magistral", ModelInfo(reasoning=True)),
)
_UNKNOWN = ModelInfo()


def model_info(kind: str, model: str) -> ModelInfo:
    """Facts for ``model`` served through a provider of ``kind`` (``openai``, ``anthropic``,
    ``gemini``, ``ollama``); unknown models get conservative defaults."""
    name = model.lower().rsplit("/", 1)[-1]  # "models/gemini-2.5-flash", "openai/gpt-5"
    for rule_kind, prefix, info in _RULES:
        if rule_kind == kind and name.startswith(prefix):
            return info
    return _UNKNOWN
