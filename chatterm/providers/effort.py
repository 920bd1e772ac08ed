"""Reasoning effort: which models take it, and how a chosen level goes into a Conversation.

chatterm's levels are ``off``, ``low``, ``medium`` and ``high``. Each provider maps them onto
its own parameter when it builds a request (see ``requested_effort`` in
:mod:`chatterm.providers.base`):

- OpenAI (Chat Completions and Responses): ``reasoning_effort`` / ``reasoning.effort``; off
  is the weakest value the model accepts (``minimal`` for GPT-5, ``none`` for GPT-5.1 on,
  else ``low``). Other OpenAI-compatible servers get it for gpt-oss models only.
- Anthropic: the extended-thinking ``budget_tokens`` (low 2,048, medium 5/8 of
  ``max_tokens``, high up to 32,000 with ``max_tokens`` raised); off sends no thinking.
- Gemini: ``thinkingBudget`` on 2.5 (1,024 / 8,192 / 24,576; off 0, or 128 on Pro) and
  ``thinkingLevel`` on 3 (off MINIMAL on Flash, LOW on Pro).
- Ollama: ``think`` as the level for GPT-OSS (off is "low"), else true / false.
- Gateway: ``enable_thinking`` true, or false for off.

A Conversation names a level with ``effort`` set; ``reasoning=False`` then means off. With
``effort`` None every provider sends what it sent before levels existed.
"""

from __future__ import annotations

from typing import Literal

from chatterm.events import ReasoningEffort
from chatterm.providers.base import Provider, ProviderKind
from chatterm.providers.gateway import has_thinking_switch
from chatterm.providers.model_facts import model_info
from chatterm.providers.openai_compat import openai_effort_values


def effort_fields(level: ReasoningEffort) -> tuple[bool, Literal["low", "medium", "high"]]:
    """``(reasoning, effort)`` for a Conversation that asks for ``level``.

    Off is ``reasoning=False`` with an effort set (which one does not matter), so that
    providers tell the model not to think rather than only not asking for its thoughts.
    """
    if level == "off":
        return False, "low"
    return True, level


def kind_of(provider: Provider) -> ProviderKind:
    """The kind of wire format ``provider`` speaks, as :func:`supports_effort` takes it."""
    return provider.kind


def supports_effort(provider_kind: str, model: str) -> bool:
    """Whether choosing a reasoning level changes the request for ``model``.

    ``provider_kind`` is one of :data:`ProviderKind` (``kind_of(provider)`` gives it);
    ``model`` is the name sent to the server (``SERVICE/MODEL`` for a gateway). On the
    gateway and on Ollama's thinking models other than GPT-OSS only off and on differ.
    """
    if provider_kind in ("openai", "openai-responses"):
        return bool(openai_effort_values(model))
    if provider_kind == "openai-compat":
        return bool(openai_effort_values(model, openai_api=False))
    if provider_kind in ("anthropic", "gemini", "ollama"):
        return model_info(provider_kind, model).reasoning
    if provider_kind == "gateway":
        _, slash, name = model.partition("/")
        return bool(slash) and has_thinking_switch(name)
    return False
