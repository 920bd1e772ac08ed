"""OpenAI Chat Completions: the request, the wire format and the provider, for OpenAI and
every server that imitates it (DeepSeek, Groq, OpenRouter, vLLM, llama.cpp, LM Studio,
Ollama's /v1, LiteLLM, Mistral).

Reading the stream, every reasoning dialect and several choices (``n``) included, is
:mod:`chatterm.providers.chat_completions_stream`; this module builds the request (the
reasoning effort each model takes, attachments as content parts) and names the parser.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from chatterm.events import (
    Conversation,
    ReasoningEffort,
)
from chatterm.pricing import is_local_url
from chatterm.providers.attachment_parts import IMAGES, AttachmentRules, chat_content
from chatterm.providers.base import (
    Provider,
    WireFormat,
    chat_messages,
    requested_effort,
)
from chatterm.providers.chat_completions_stream import (
    ChatCompletionsParser,
    ChoicesParser,
)
from chatterm.providers.endpoint import Endpoint, join_url
from chatterm.providers.model_facts import model_info

OPENAI_BASE_URL = "https://api.openai.com/v1"
KEY_ENV = "OPENAI_API_KEY"

# OpenAI's reasoning_effort values, weakest first. "minimal" is the original GPT-5 family's
# lowest, "none" (no reasoning at all) that of GPT-5.1 and later.
_EFFORT_ORDER = ("none", "minimal", "low", "medium", "high")
_GPT5 = re.compile(r"^gpt-5(?:\.(\d+))?")


def openai_effort_values(model: str, *, openai_api: bool = True) -> tuple[str, ...]:
    """The ``reasoning_effort`` values ``model`` accepts, weakest first; ``()`` for none.

    From OpenAI's API reference for ``reasoning_effort`` and its error messages: o-series
    models take low/medium/high (o1-mini and o1-preview take no effort at all); GPT-5,
    GPT-5 mini and nano add ``minimal``; GPT-5.1 and later take ``none`` instead of
    ``minimal``; Codex models take low/medium/high (the codex-mini ones medium/high); the
    ``-pro`` models accept only their default (high) and the ``-chat`` ones no reasoning
    parameter, so neither is sent one. gpt-oss takes low/medium/high wherever it is served
    (vLLM, Groq, llama.cpp, Ollama's /v1); on any other server that is not OpenAI
    (``openai_api=False``) nothing is assumed.
    """
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith("gpt-oss"):
        return ("low", "medium", "high")
    if not openai_api or not model_info("openai", name).reasoning:
        return ()
    if name.startswith(("o1-mini", "o1-preview")) or "-chat" in name:
        return ()
    if name.endswith("-pro") or "-pro-" in name:
        return ()
    if "codex-mini" in name:
        return ("medium", "high")
    if "codex" in name:
        return ("low", "medium", "high")
    gpt5 = _GPT5.match(name)
    if gpt5 is not None:
        if gpt5.group(1) is None:
            return ("minimal", "low", "medium", "high")
        return ("none", "low", "medium", "high")
    return ("low", "medium", "high")


def openai_effort(values: tuple[str, ...], level: ReasoningEffort) -> str | None:
    """The accepted value for ``level``: ``off`` is the weakest there is, a level missing
    from ``values`` the next stronger one (codex-mini's ``low`` is ``medium``)."""
    if not values:
        return None
    if level == "off":
        return values[0]
    wanted = _EFFORT_ORDER.index(level)
    for value in values:
        if _EFFORT_ORDER.index(value) >= wanted:
            return value
    return values[-1]


class ChatCompletionsFormat(WireFormat):
    """``POST {base_url}/chat/completions``, the stream read by :class:`ChatCompletionsParser`.

    ``openai_models``: the endpoint serves OpenAI's own model names (OpenAI itself, or
    ``openai:`` behind OPENAI_BASE_URL); only then does a model name say which
    ``reasoning_effort`` values the server takes.
    """

    attachment_rules = AttachmentRules("the Chat Completions API", IMAGES)

    def __init__(self, *, openai_models: bool) -> None:
        self.openai_models = openai_models
        self.kind = "openai" if openai_models else "openai-compat"

    def url(self, endpoint: Endpoint, model: str) -> str:
        return join_url(endpoint.base_url, "/chat/completions")

    def request_body(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> dict[str, Any]:
        messages = chat_messages(conversation, chat_content)
        body: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if conversation.max_tokens:
            # OpenAI renamed the field; most compatible servers only know the old name.
            official = endpoint.base_url == OPENAI_BASE_URL
            body["max_completion_tokens" if official else "max_tokens"] = conversation.max_tokens
        level = requested_effort(conversation)
        if level is not None:
            values = openai_effort_values(model, openai_api=self.openai_models)
            effort = openai_effort(values, level)
            if effort is not None:
                body["reasoning_effort"] = effort
        if conversation.choices > 1:
            body["n"] = conversation.choices
        return body

    def new_parser(self, secrets: tuple[str, ...]) -> ChatCompletionsParser:
        return ChatCompletionsParser(secrets)

    supports_choices = True

    def new_choices_parser(self, secrets: tuple[str, ...], choices: int) -> ChoicesParser:
        return ChoicesParser(secrets, choices)

    def supports_effort(self, model: str) -> bool:
        return bool(openai_effort_values(model, openai_api=self.openai_models))


class OpenAICompatProvider(Provider):
    """Chat Completions at OpenAI's own endpoint, or at a ``[providers.NAME]`` server."""

    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str | None,
        *,
        key_env: str | None = None,
        price_provider_id: str | None = None,
        local: bool | None = None,
    ) -> None:
        base_url = base_url.rstrip("/")
        endpoint = Endpoint(
            name,
            base_url,
            api_key,
            key_env,
            # Unset means "a server on this machine is free"; an OpenAI model behind a local
            # proxy (LiteLLM) is still paid for, so `openai:` passes False. Either way a
            # server on this machine needs no key.
            local=is_local_url(base_url) if local is None else local,
            key_optional=bool(local) or is_local_url(base_url),
            price_provider_id=price_provider_id,
        )
        openai_models = price_provider_id == "openai" or base_url == OPENAI_BASE_URL
        super().__init__(endpoint, ChatCompletionsFormat(openai_models=openai_models))

    @property
    def serves_openai_models(self) -> bool:
        """True for OpenAI itself and for ``openai:`` behind OPENAI_BASE_URL."""
        return self.kind == "openai"

    @classmethod
    def openai(cls, env: Mapping[str, str] | None = None) -> OpenAICompatProvider:
        """OpenAI itself, configured the way the official SDK reads its environment."""
        env = os.environ if env is None else env
        return cls(
            "openai",
            env.get("OPENAI_BASE_URL") or OPENAI_BASE_URL,
            env.get(KEY_ENV) or None,
            key_env=KEY_ENV,
            # openai: names OpenAI's models, wherever OPENAI_BASE_URL sends them: price them
            # as OpenAI's (an unknown name is "cost unknown", never a guessed $0).
            price_provider_id="openai",
            local=False,
        )
