"""Google Gemini's native API: requests, keys, prices and HTTP errors.
Documented at https://ai.google.dev/api/generate-content.

The stream itself is translated in :mod:`chatterm.providers.gemini_stream`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Any

from chatterm.events import (
    Conversation,
    ReasoningEffort,
)
from chatterm.pricing import PriceSpec, is_local_url
from chatterm.providers.attachment_parts import IMAGES_AND_PDFS, MB, AttachmentRules, gemini_parts
from chatterm.providers.base import Provider, WireFormat, requested_effort
from chatterm.providers.endpoint import PICK_ANOTHER, Endpoint, join_url, url_path
from chatterm.providers.gemini_stream import GeminiParser
from chatterm.providers.model_facts import model_info
from chatterm.text import one_line

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com"
API_VERSION = "v1beta"
KEY_ENV = "GEMINI_API_KEY"
ALT_KEY_ENV = "GOOGLE_API_KEY"
_VERSION_SUFFIX = re.compile(r"/v\d+(?:alpha|beta)?\d*$")
_UNSET_KEY = (
    f"{KEY_ENV} is not set: export {KEY_ENV}=… (or {ALT_KEY_ENV}) to use {{name}} models, "
    + PICK_ANOTHER
)
_ALT_KEY_HINT = f"check {{key_env}} (used because {KEY_ENV} is not set)"

# Gemini 2.5 thinking budgets per effort: Google's own mapping of OpenAI's reasoning_effort
# (its OpenAI-compatibility page: low 1,024, medium 8,192, high 24,576 tokens). The ranges
# (Gemini API "Thinking" page): 2.5 Pro 128-32,768 and thinking cannot be turned off;
# 2.5 Flash 0-24,576; 2.5 Flash-Lite 512-24,576 or 0. 0 turns thinking off.
THINKING_BUDGETS: dict[str, int] = {"low": 1024, "medium": 8192, "high": 24_576}
PRO_MIN_THINKING_BUDGET = 128


def thinking_config(model: str, level: ReasoningEffort) -> dict[str, Any]:
    """``generationConfig.thinkingConfig`` for ``level`` on a thinking model.

    Gemini 3 models take ``thinkingLevel`` (the budget is only accepted for backwards
    compatibility): Gemini 3 Pro knows LOW and HIGH (MEDIUM is refused, so medium leaves
    the model's default, which is HIGH) and cannot stop thinking, so off is LOW; the Flash
    models know MINIMAL, LOW, MEDIUM and HIGH, and off is MINIMAL. Gemini 2.5 and the
    ``-latest`` aliases take ``thinkingBudget``: off is 0, or 128 for a Pro model, which
    cannot turn thinking off. Thought summaries are asked for unless thinking is off.
    """
    name = model.lower().rsplit("/", 1)[-1]
    flash = "flash" in name
    config: dict[str, Any] = {} if level == "off" else {"includeThoughts": True}
    if name.startswith("gemini-3"):
        if level == "off":
            config["thinkingLevel"] = "MINIMAL" if flash else "LOW"
        elif flash or level != "medium":
            config["thinkingLevel"] = level.upper()
    elif level == "off":
        config["thinkingBudget"] = 0 if flash else PRO_MIN_THINKING_BUDGET
    else:
        config["thinkingBudget"] = THINKING_BUDGETS[level]
    return config


class GeminiFormat(WireFormat):
    """``POST …/models/{model}:streamGenerateContent?alt=sse``, the stream read by
    :class:`~chatterm.providers.gemini_stream.GeminiParser`."""

    kind = "gemini"
    attachment_rules = AttachmentRules(
        "Gemini's API", IMAGES_AND_PDFS, max_images=3000, max_inline_bytes=20 * MB
    )
    key_header = ("x-goog-api-key", "")  # never in the URL: URLs get logged

    def url(self, endpoint: Endpoint, model: str) -> str:
        """``{base}/v1beta/models/{model}:streamGenerateContent?alt=sse``.

        A model given as ``models/x`` (or ``tunedModels/x``) is used as the resource path; a
        base URL that already ends in an API version (``…/v1beta``) gets no second one.
        """
        version = "" if _VERSION_SUFFIX.search(url_path(endpoint.base_url)) else f"/{API_VERSION}"
        resource = model if "/" in model else f"models/{model}"
        return join_url(endpoint.base_url, f"{version}/{resource}:streamGenerateContent?alt=sse")

    def request_body(
        self, endpoint: Endpoint, model: str, conversation: Conversation
    ) -> dict[str, Any]:
        contents: list[dict[str, Any]] = []
        for message in conversation.messages:
            parts = gemini_parts(message)
            if not parts:
                continue  # the API rejects empty text parts (a reply that failed at once)
            role = "model" if message.role == "assistant" else "user"
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].extend(parts)  # the API wants the roles to alternate
            else:
                contents.append({"role": role, "parts": parts})
        body: dict[str, Any] = {"contents": contents}
        if conversation.system:
            body["systemInstruction"] = {"parts": [{"text": conversation.system}]}
        info = model_info("gemini", model)
        config: dict[str, Any] = {}
        max_tokens = conversation.max_tokens or info.max_output_tokens
        if max_tokens:
            config["maxOutputTokens"] = max_tokens
        level = requested_effort(conversation)
        if level is not None and info.reasoning:
            config["thinkingConfig"] = thinking_config(model, level)
        elif conversation.reasoning and info.reasoning:
            config["thinkingConfig"] = {"includeThoughts": True}
        if config:
            body["generationConfig"] = config
        return body

    def new_parser(self, secrets: tuple[str, ...]) -> GeminiParser:
        return GeminiParser(secrets)

    def price_spec(self, endpoint: Endpoint, model: str) -> PriceSpec:
        return endpoint.price_spec(model.removeprefix("models/"))

    def describe_http_error(self, endpoint: Endpoint, status: int, body: bytes) -> str:
        """``{"error": {"code", "message", "status", "details"}}``, sometimes in a list.

        A bad key is a 400 (``API_KEY_INVALID``), not a 401, so the details decide the hint.
        """
        error = _error_object(body)
        hint = endpoint.status_hint(status)
        if _error_reason(error) in ("API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED"):
            hint = endpoint.status_hint(401)  # the hint for a key that is refused
        delay = _retry_delay(error)
        if delay and status == 429:
            hint = f"rate limited or out of quota; retry in {delay}"
        return one_line(endpoint.describe_http_error(status, body, hint=hint), 400)


class GeminiProvider(Provider):
    """Gemini through the Generative Language API (or a server at ``GEMINI_BASE_URL``)."""

    def __init__(
        self,
        name: str = "gemini",
        base_url: str = GEMINI_BASE_URL,
        api_key: str | None = None,
        *,
        key_env: str = KEY_ENV,
        local: bool = False,
    ) -> None:
        base_url = base_url.rstrip("/")
        local = local or is_local_url(base_url)
        official = base_url in (GEMINI_BASE_URL, f"{GEMINI_BASE_URL}/{API_VERSION}")
        endpoint = Endpoint(
            name,
            base_url,
            api_key,
            key_env,
            local=local,
            key_optional=local,
            price_provider_id="google" if official else None,
            unset_key=_UNSET_KEY,
            key_hint=None if key_env == KEY_ENV else _ALT_KEY_HINT,
            not_found_hint="check the model name and GEMINI_BASE_URL ({base_url})",
            more_hints={429: "rate limited or out of quota; wait and retry"},
        )
        super().__init__(endpoint, GeminiFormat())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GeminiProvider:
        """``GEMINI_API_KEY`` (else ``GOOGLE_API_KEY``) and ``GEMINI_BASE_URL``."""
        env = os.environ if env is None else env
        key = env.get(KEY_ENV) or None
        key_env = KEY_ENV
        if key is None and env.get(ALT_KEY_ENV):
            key, key_env = env[ALT_KEY_ENV], ALT_KEY_ENV
        return cls("gemini", env.get("GEMINI_BASE_URL") or GEMINI_BASE_URL, key, key_env=key_env)


def _error_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return {}
    if isinstance(data, list) and data:
        data = data[0]
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _details(error: dict[str, Any]) -> list[dict[str, Any]]:
    details = error.get("details")
    if not isinstance(details, list):
        return []
    return [item for item in details if isinstance(item, dict)]


def _error_reason(error: dict[str, Any]) -> str:
    for item in _details(error):
        reason = item.get("reason")
        if isinstance(reason, str) and reason:
            return reason
    return ""


def _retry_delay(error: dict[str, Any]) -> str:
    for item in _details(error):
        delay = item.get("retryDelay")
        if isinstance(delay, str) and re.fullmatch(r"\d+(?:\.\d+)?s", delay):
            return delay
    return ""
