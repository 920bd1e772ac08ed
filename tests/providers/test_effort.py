"""Reasoning effort: each provider's own parameter for off / low / medium / high.

Every mapping is checked on the request body a provider builds. A Conversation without
``effort`` must build the body chatterm always built (the other test files pin those in
full); with ``effort`` set, ``reasoning=False`` is "off".
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatterm.events import REASONING_EFFORTS, Conversation, Message, ReasoningEffort
from chatterm.providers.anthropic import (
    HIGH_THINKING_BUDGET,
    MIN_THINKING_BUDGET,
    AnthropicProvider,
    output_limit,
    thinking_budget,
)
from chatterm.providers.base import requested_effort
from chatterm.providers.demo import DemoProvider
from chatterm.providers.effort import effort_fields, kind_of, supports_effort
from chatterm.providers.gateway import GatewayProvider
from chatterm.providers.gemini import GeminiProvider
from chatterm.providers.ollama import OllamaProvider
from chatterm.providers.openai_compat import (
    OpenAICompatProvider,
    openai_effort,
    openai_effort_values,
)
from chatterm.providers.openai_responses import OpenAIResponsesProvider

MESSAGES = (Message("user", "Hi"), Message("assistant", "Hello!"), Message("user", "27 * 453?"))
KEY = "sk-test-abcdefghijklmnop"
LEVELS: tuple[ReasoningEffort, ...] = ("off", "low", "medium", "high")


def at(level: ReasoningEffort, messages: tuple[Message, ...] = MESSAGES) -> Conversation:
    """A conversation that asks for ``level`` the way the CLI and the TUI ask for it."""
    reasoning, effort = effort_fields(level)
    return Conversation(messages, reasoning=reasoning, effort=effort)


def legacy(reasoning: bool) -> Conversation:
    return Conversation(MESSAGES, reasoning=reasoning)


def body_of(request: httpx.Request) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(request.content)
    return data


# --- the conversation side ----------------------------------------------------------------------


class TestConversation:
    @pytest.mark.parametrize(
        ("level", "fields"),
        [("off", (False, "low")), ("low", (True, "low")), ("medium", (True, "medium"))],
    )
    def test_effort_fields(self, level: ReasoningEffort, fields: tuple[bool, str]) -> None:
        assert effort_fields(level) == fields

    @pytest.mark.parametrize("level", REASONING_EFFORTS)
    def test_requested_effort_round_trips(self, level: ReasoningEffort) -> None:
        assert requested_effort(at(level)) == level

    @pytest.mark.parametrize("reasoning", [True, False])
    def test_no_effort_is_no_level(self, reasoning: bool) -> None:
        assert requested_effort(legacy(reasoning)) is None


# --- OpenAI Chat Completions --------------------------------------------------------------------


def openai(env: dict[str, str] | None = None) -> OpenAICompatProvider:
    return OpenAICompatProvider.openai({"OPENAI_API_KEY": KEY, **(env or {})})


def chat_effort(
    provider: OpenAICompatProvider, model: str, conversation: Conversation
) -> str | None:
    body = body_of(provider.build_request(model, conversation))
    effort = body.get("reasoning_effort")
    assert effort is None or isinstance(effort, str)
    return effort


class TestOpenAIChat:
    def test_full_body(self) -> None:
        assert body_of(openai().build_request("gpt-5-mini", at("high"))) == {
            "model": "gpt-5-mini",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "27 * 453?"},
            ],
            "stream": True,
            "stream_options": {"include_usage": True},
            "reasoning_effort": "high",
        }

    @pytest.mark.parametrize("reasoning", [True, False])
    @pytest.mark.parametrize("model", ["gpt-5", "o3", "gpt-4.1"])
    def test_no_effort_sends_nothing(self, model: str, reasoning: bool) -> None:
        assert chat_effort(openai(), model, legacy(reasoning)) is None

    @pytest.mark.parametrize(
        ("model", "off", "low", "medium", "high"),
        [
            ("gpt-5", "minimal", "low", "medium", "high"),
            ("gpt-5-mini-2025-08-07", "minimal", "low", "medium", "high"),
            ("gpt-5-nano", "minimal", "low", "medium", "high"),
            ("gpt-5.1", "none", "low", "medium", "high"),
            ("gpt-5.2", "none", "low", "medium", "high"),
            ("gpt-5-codex", "low", "low", "medium", "high"),
            ("gpt-5.1-codex-mini", "medium", "medium", "medium", "high"),
            ("o1", "low", "low", "medium", "high"),
            ("o3-mini", "low", "low", "medium", "high"),
            ("o4-mini", "low", "low", "medium", "high"),
            ("gpt-oss-120b", "low", "low", "medium", "high"),
        ],
    )
    def test_levels(self, model: str, off: str, low: str, medium: str, high: str) -> None:
        sent = [chat_effort(openai(), model, at(level)) for level in LEVELS]
        assert sent == [off, low, medium, high]

    @pytest.mark.parametrize(
        "model",
        [
            "gpt-4.1",
            "gpt-4o-mini",
            "o1-mini",
            "o1-preview",
            "gpt-5-chat-latest",
            "gpt-5-pro",
            "o3-pro-2025-06-10",
            "gpt-5-pro-2025-10-06",
        ],
    )
    @pytest.mark.parametrize("level", LEVELS)
    def test_models_without_effort_get_none(self, model: str, level: ReasoningEffort) -> None:
        assert chat_effort(openai(), model, at(level)) is None

    def test_openai_models_behind_a_proxy_keep_their_effort(self) -> None:
        proxy = openai({"OPENAI_BASE_URL": "http://127.0.0.1:4000/v1"})
        assert proxy.serves_openai_models
        assert chat_effort(proxy, "gpt-5", at("off")) == "minimal"

    @pytest.mark.parametrize("level", LEVELS)
    def test_other_servers_only_for_gpt_oss(self, level: ReasoningEffort) -> None:
        vllm = OpenAICompatProvider("vllm", "http://127.0.0.1:8000/v1", None)
        assert not vllm.serves_openai_models
        expected = "low" if level == "off" else level
        assert chat_effort(vllm, "openai/gpt-oss-20b", at(level)) == expected
        for model in ("gpt-5", "o3", "deepseek-reasoner", "qwen3:32b", "openai/gpt-5"):
            assert chat_effort(vllm, model, at(level)) is None

    def test_weakest_value_and_next_stronger(self) -> None:
        assert openai_effort((), "high") is None
        assert openai_effort(("medium", "high"), "low") == "medium"
        assert openai_effort(("low", "medium"), "high") == "medium"
        assert openai_effort_values("gpt-oss-20b", openai_api=False) == ("low", "medium", "high")
        assert openai_effort_values("gpt-5", openai_api=False) == ()


# --- OpenAI Responses ---------------------------------------------------------------------------


def responses_reasoning(model: str, conversation: Conversation) -> Any:
    provider = OpenAIResponsesProvider.from_env({"OPENAI_API_KEY": KEY})
    return body_of(provider.build_request(model, conversation)).get("reasoning")


class TestOpenAIResponses:
    def test_no_effort_is_unchanged(self) -> None:
        assert responses_reasoning("gpt-5", legacy(True)) == {"effort": "medium", "summary": "auto"}
        assert responses_reasoning("gpt-5", legacy(False)) is None

    @pytest.mark.parametrize(
        ("model", "expected"),
        [
            (
                "gpt-5",
                [
                    {"effort": "minimal"},
                    {"effort": "low", "summary": "auto"},
                    {"effort": "medium", "summary": "auto"},
                    {"effort": "high", "summary": "auto"},
                ],
            ),
            (
                "gpt-5.1",
                [
                    {"effort": "none"},
                    {"effort": "low", "summary": "auto"},
                    {"effort": "medium", "summary": "auto"},
                    {"effort": "high", "summary": "auto"},
                ],
            ),
            (
                "o4-mini",
                [
                    {"effort": "low"},
                    {"effort": "low", "summary": "auto"},
                    {"effort": "medium", "summary": "auto"},
                    {"effort": "high", "summary": "auto"},
                ],
            ),
            ("gpt-4.1", [None, None, None, None]),
            ("gpt-5-pro", [None, None, None, None]),
        ],
    )
    def test_levels(self, model: str, expected: list[Any]) -> None:
        assert [responses_reasoning(model, at(level)) for level in LEVELS] == expected


# --- Anthropic ----------------------------------------------------------------------------------


def anthropic_body(model: str, conversation: Conversation) -> dict[str, Any]:
    provider = AnthropicProvider.from_env({"ANTHROPIC_API_KEY": KEY})
    return body_of(provider.build_request(model, conversation))


def thinking_of(model: str, conversation: Conversation) -> tuple[Any, int]:
    body = anthropic_body(model, conversation)
    thinking = body.get("thinking")
    return (thinking["budget_tokens"] if thinking else None), body["max_tokens"]


class TestAnthropic:
    @pytest.mark.parametrize("reasoning", [True, False])
    def test_no_effort_is_unchanged(self, reasoning: bool) -> None:
        expected = (10_000, 16_000) if reasoning else (None, 16_000)
        assert thinking_of("claude-sonnet-4-5", legacy(reasoning)) == expected

    @pytest.mark.parametrize(
        ("model", "off", "low", "medium", "high"),
        [
            (
                "claude-sonnet-4-5-20250929",
                (None, 16_000),
                (2048, 16_000),
                (10_000, 16_000),
                (32_000, 38_000),
            ),
            (
                "claude-3-7-sonnet-latest",
                (None, 16_000),
                (2048, 16_000),
                (10_000, 16_000),
                (32_000, 38_000),
            ),
            # Opus 4.1 writes at most 32,000 tokens: the answer keeps medium's 6,000.
            ("claude-opus-4-1", (None, 16_000), (2048, 16_000), (10_000, 16_000), (26_000, 32_000)),
        ],
    )
    def test_budgets(
        self,
        model: str,
        off: tuple[Any, int],
        low: tuple[int, int],
        medium: tuple[int, int],
        high: tuple[int, int],
    ) -> None:
        assert [thinking_of(model, at(level)) for level in LEVELS] == [off, low, medium, high]

    def test_medium_is_the_body_chatterm_always_sent(self) -> None:
        assert anthropic_body("claude-sonnet-4-5", at("medium")) == anthropic_body(
            "claude-sonnet-4-5", legacy(True)
        )

    def test_off_sends_no_thinking_block(self) -> None:
        body = anthropic_body("claude-sonnet-4-5", at("off"))
        assert body == anthropic_body("claude-sonnet-4-5", legacy(False))
        assert "thinking" not in body and not {"temperature", "top_k", "top_p"} & body.keys()

    @pytest.mark.parametrize("level", LEVELS)
    def test_no_thinking_for_models_without_it_or_after_a_prefill(
        self, level: ReasoningEffort
    ) -> None:
        assert thinking_of("claude-3-5-haiku-latest", at(level)) == (None, 8192)
        prefill = at(level, (*MESSAGES, Message("assistant", "The answer is")))
        assert thinking_of("claude-sonnet-4-5", prefill)[0] is None

    def test_high_with_a_small_max_tokens_keeps_the_answer_room(self) -> None:
        conversation = Conversation(MESSAGES, effort="high", max_tokens=300)
        assert thinking_of("claude-sonnet-4-5", conversation) == (32_000, 32_300)

    @pytest.mark.parametrize(
        ("model", "limit"),
        [
            ("claude-opus-4-20250514", 32_000),
            ("claude-opus-4-0", 32_000),
            ("claude-opus-4-1-20250805", 32_000),
            ("claude-opus-4-5", 64_000),
            ("claude-sonnet-4-5-20250929", 64_000),
            ("claude-sonnet-4-0", 64_000),
            ("claude-haiku-4-5", 64_000),
            ("claude-3-7-sonnet-20250219", 64_000),
            ("claude-4-opus-preview", 32_000),
        ],
    )
    def test_output_limit(self, model: str, limit: int) -> None:
        assert output_limit(model) == limit

    @pytest.mark.parametrize(
        ("max_tokens", "effort", "limit", "expected"),
        [
            (16_000, "low", None, (2048, 16_000)),
            (16_000, "medium", None, (10_000, 16_000)),
            (16_000, "high", 64_000, (32_000, 38_000)),
            (16_000, "high", None, (32_000, 38_000)),
            (16_000, "high", 32_000, (26_000, 32_000)),
            (3000, "low", None, (1024, 3000)),
            (300, "low", None, (1024, 1324)),
            (300, "medium", None, (1024, 1324)),
            (60_000, "high", 64_000, (37_500, 60_000)),  # limit leaves less: medium
        ],
    )
    def test_thinking_budget(
        self,
        max_tokens: int,
        effort: ReasoningEffort,
        limit: int | None,
        expected: tuple[int, int],
    ) -> None:
        assert thinking_budget(max_tokens, effort, limit) == expected

    @given(
        max_tokens=st.integers(1, 200_000),
        limit=st.sampled_from([None, 32_000, 64_000, 128_000]),
    )
    def test_budgets_always_keep_the_api_rules(self, max_tokens: int, limit: int | None) -> None:
        medium = thinking_budget(max_tokens, "medium", limit)
        low = thinking_budget(max_tokens, "low", limit)
        high = thinking_budget(max_tokens, "high", limit)
        for budget, total in (low, medium, high):
            assert MIN_THINKING_BUDGET <= budget < total
        assert low[0] <= medium[0] <= high[0]
        assert low[1] == medium[1]  # low thinks less within the same max_tokens
        if high != medium:  # high keeps medium's room for the answer, within the limit
            assert high[1] - high[0] == medium[1] - medium[0]
            assert high[0] <= max(HIGH_THINKING_BUDGET, medium[0])
            assert limit is None or high[1] <= limit


# --- Gemini -------------------------------------------------------------------------------------


def thinking_config(model: str, conversation: Conversation) -> Any:
    provider = GeminiProvider.from_env({"GEMINI_API_KEY": KEY})
    body = body_of(provider.build_request(model, conversation))
    return body.get("generationConfig", {}).get("thinkingConfig")


THOUGHTS = {"includeThoughts": True}


class TestGemini:
    @pytest.mark.parametrize(
        "model", ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview"]
    )
    def test_no_effort_is_unchanged(self, model: str) -> None:
        assert thinking_config(model, legacy(True)) == THOUGHTS
        assert thinking_config(model, legacy(False)) is None

    @pytest.mark.parametrize(
        ("model", "off"),
        [
            ("gemini-2.5-flash", 0),
            ("gemini-2.5-flash-lite", 0),
            ("models/gemini-2.5-pro", 128),  # 2.5 Pro cannot stop thinking: its minimum
            ("gemini-flash-latest", 0),
            ("gemini-pro-latest", 128),
        ],
    )
    def test_budgets(self, model: str, off: int) -> None:
        assert [thinking_config(model, at(level)) for level in LEVELS] == [
            {"thinkingBudget": off},
            {**THOUGHTS, "thinkingBudget": 1024},
            {**THOUGHTS, "thinkingBudget": 8192},
            {**THOUGHTS, "thinkingBudget": 24_576},
        ]

    def test_gemini_3_pro_levels(self) -> None:
        assert [thinking_config("gemini-3-pro-preview", at(level)) for level in LEVELS] == [
            {"thinkingLevel": "LOW"},  # cannot stop thinking
            {**THOUGHTS, "thinkingLevel": "LOW"},
            THOUGHTS,  # MEDIUM is refused by 3 Pro: its default (HIGH) it is
            {**THOUGHTS, "thinkingLevel": "HIGH"},
        ]

    @pytest.mark.parametrize("model", ["gemini-3-flash-preview", "gemini-3.1-flash-lite"])
    def test_gemini_3_flash_levels(self, model: str) -> None:
        assert [thinking_config(model, at(level)) for level in LEVELS] == [
            {"thinkingLevel": "MINIMAL"},
            {**THOUGHTS, "thinkingLevel": "LOW"},
            {**THOUGHTS, "thinkingLevel": "MEDIUM"},
            {**THOUGHTS, "thinkingLevel": "HIGH"},
        ]

    @pytest.mark.parametrize("level", LEVELS)
    def test_models_without_thinking_get_no_config(self, level: ReasoningEffort) -> None:
        assert thinking_config("gemini-2.0-flash", at(level)) is None

    def test_with_max_output_tokens(self) -> None:
        conversation = Conversation(MESSAGES, effort="low", max_tokens=2000)
        provider = GeminiProvider.from_env({"GEMINI_API_KEY": KEY})
        body = body_of(provider.build_request("gemini-2.5-flash", conversation))
        assert body["generationConfig"] == {
            "maxOutputTokens": 2000,
            "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 1024},
        }


# --- Ollama -------------------------------------------------------------------------------------


def think_of(model: str, conversation: Conversation) -> Any:
    return body_of(OllamaProvider().build_request(model, conversation)).get("think", "absent")


class TestOllama:
    @pytest.mark.parametrize("model", ["gpt-oss:20b", "qwen3:8b"])
    def test_no_effort_is_unchanged(self, model: str) -> None:
        assert think_of(model, legacy(True)) is True
        assert think_of(model, legacy(False)) is False

    @pytest.mark.parametrize("model", ["gpt-oss:20b", "gpt-oss:120b-cloud", "library/gpt-oss"])
    def test_gpt_oss_takes_levels(self, model: str) -> None:
        # GPT-OSS cannot stop reasoning: off is its shortest trace.
        assert [think_of(model, at(level)) for level in LEVELS] == ["low", "low", "medium", "high"]

    @pytest.mark.parametrize("model", ["qwen3:8b", "deepseek-r1:14b", "magistral"])
    def test_other_thinking_models_take_a_switch(self, model: str) -> None:
        assert [think_of(model, at(level)) for level in LEVELS] == [False, True, True, True]

    @pytest.mark.parametrize("level", LEVELS)
    def test_no_think_for_other_models(self, level: ReasoningEffort) -> None:
        assert think_of("llama3.2", at(level)) == "absent"


# --- Gateway ------------------------------------------------------------------------------------


def gateway_parameters(model: str, conversation: Conversation) -> dict[str, Any]:
    gateway = GatewayProvider("gw", "http://localhost:8000/api/v1", "key", "GW_KEY")
    parameters: dict[str, Any] = body_of(gateway.build_request(model, conversation)).get(
        "parameters", {}
    )
    return parameters


class TestGateway:
    def test_no_effort_is_unchanged(self) -> None:
        model = "google-gemini/gemini-2.5-flash"
        assert gateway_parameters(model, legacy(True)) == {"enable_thinking": True}
        assert gateway_parameters(model, legacy(False)) == {"enable_thinking": False}

    def test_levels_are_a_switch(self) -> None:
        model = "anthropic/claude-sonnet-4-5"
        sent = [gateway_parameters(model, at(level)).get("enable_thinking") for level in LEVELS]
        assert sent == [False, True, True, True]

    @pytest.mark.parametrize("level", LEVELS)
    def test_no_switch_for_other_models(self, level: ReasoningEffort) -> None:
        assert gateway_parameters("google-gemini/gemini-2.0-flash", at(level)) == {}


# --- what the TUI asks --------------------------------------------------------------------------


class TestSupportsEffort:
    def test_kind_of(self) -> None:
        assert kind_of(openai()) == "openai"
        assert kind_of(OpenAIResponsesProvider.from_env({})) == "openai-responses"
        assert kind_of(OpenAICompatProvider("groq", "https://api.groq.com/openai/v1", None)) == (
            "openai-compat"
        )
        assert kind_of(AnthropicProvider.from_env({})) == "anthropic"
        assert kind_of(GeminiProvider.from_env({})) == "gemini"
        assert kind_of(OllamaProvider()) == "ollama"
        assert kind_of(GatewayProvider("gw", "http://localhost:8000", None, None)) == "gateway"
        assert kind_of(DemoProvider()) == "demo"

    @pytest.mark.parametrize(
        ("kind", "model", "supported"),
        [
            ("openai", "gpt-5-mini", True),
            ("openai", "o4-mini", True),
            ("openai", "gpt-4.1", False),
            ("openai", "gpt-5-chat-latest", False),
            ("openai", "o1-mini", False),
            ("openai-responses", "gpt-5", True),
            ("openai-compat", "openai/gpt-oss-120b", True),
            ("openai-compat", "deepseek-reasoner", False),
            ("openai-compat", "gpt-5", False),
            ("anthropic", "claude-sonnet-4-5", True),
            ("anthropic", "claude-3-5-haiku-latest", False),
            ("gemini", "gemini-2.5-pro", True),
            ("gemini", "gemini-3-flash-preview", True),
            ("gemini", "gemini-2.0-flash", False),
            ("ollama", "gpt-oss:20b", True),
            ("ollama", "qwen3", True),
            ("ollama", "llama3.2", False),
            ("gateway", "google-gemini/gemini-2.5-flash", True),
            ("gateway", "google-gemini/gemini-2.0-flash", False),
            ("gateway", "gemini-2.5-flash", False),
            ("demo", "demo", False),
            ("unknown", "gpt-5", False),
        ],
    )
    def test_supports_effort(self, kind: str, model: str, supported: bool) -> None:
        assert supports_effort(kind, model) is supported

    @pytest.mark.parametrize(
        ("kind", "model"),
        [
            ("openai", "gpt-5"),
            ("openai-compat", "gpt-oss-20b"),
            ("anthropic", "claude-sonnet-4-5"),
            ("gemini", "gemini-2.5-flash"),
            ("ollama", "gpt-oss:20b"),
            ("gateway", "anthropic/claude-sonnet-4-5"),
        ],
    )
    def test_a_supported_model_gets_different_requests_for_off_and_high(
        self, kind: str, model: str
    ) -> None:
        assert supports_effort(kind, model)
        provider = {
            "openai": openai(),
            "openai-compat": OpenAICompatProvider("vllm", "http://127.0.0.1:8000/v1", None),
            "anthropic": AnthropicProvider.from_env({}),
            "gemini": GeminiProvider.from_env({}),
            "ollama": OllamaProvider(),
            "gateway": GatewayProvider("gw", "http://localhost:8000", None, None),
        }[kind]
        bodies = [body_of(provider.build_request(model, at(level))) for level in ("off", "high")]
        assert bodies[0] != bodies[1]
