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
``effort`` None every provider sends what it sent before levels existed. Which models take
a level is each wire format's rule (``WireFormat.supports_effort``), asked through the
provider or, here, by the provider's kind.
"""

from __future__ import annotations

from typing import Literal

from chatterm.events import ReasoningEffort
from chatterm.providers.anthropic import MessagesFormat
from chatterm.providers.base import Provider, ProviderKind, WireFormat
from chatterm.providers.gateway import GatewayFormat
from chatterm.providers.gemini import GeminiFormat
from chatterm.providers.ollama import OllamaChatFormat
from chatterm.providers.openai_compat import ChatCompletionsFormat
from chatterm.providers.openai_responses import ResponsesFormat


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


# Each kind's wire format, which decides which models take an effort.
_FORMATS: dict[str, WireFormat] = {
    wire.kind: wire
    for wire in (
        ChatCompletionsFormat(openai_models=True),
        ChatCompletionsFormat(openai_models=False),
        ResponsesFormat(),
        MessagesFormat(),
        GeminiFormat(),
        OllamaChatFormat(),
        GatewayFormat(),
    )
}


def supports_effort(provider_kind: str, model: str) -> bool:
    """Whether choosing a reasoning level changes the request for ``model``, on a provider
    of ``provider_kind`` (:meth:`Provider.supports_effort` asks a provider at hand).

    ``provider_kind`` is one of :data:`ProviderKind` (``kind_of(provider)`` gives it);
    ``model`` is the name sent to the server (``SERVICE/MODEL`` for a gateway). On the
    gateway and on Ollama's thinking models other than GPT-OSS only off and on differ; the
    demo takes none.
    """
    wire = _FORMATS.get(provider_kind)
    return wire is not None and wire.supports_effort(model)
