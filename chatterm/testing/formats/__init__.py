"""The wire formats the fake server speaks, one module each, by route.

Every format renders a :class:`~chatterm.testing.scenario.Scenario` into frames
(:class:`~chatterm.testing.frames.Frame`) and answers HTTP errors in its own envelope; see
:class:`~chatterm.testing.formats.base.WireFormat`.
"""

from __future__ import annotations

from chatterm.testing.formats.anthropic import AnthropicMessages
from chatterm.testing.formats.base import Refusal, Request, WireFormat
from chatterm.testing.formats.gateway import GatewayStream
from chatterm.testing.formats.gemini import GeminiStream
from chatterm.testing.formats.ollama import OllamaChat
from chatterm.testing.formats.openai_chat import ChatCompletions
from chatterm.testing.formats.openai_responses import Responses

CHAT = ChatCompletions()
RESPONSES = Responses()
ANTHROPIC = AnthropicMessages()
GEMINI = GeminiStream()
OLLAMA = OllamaChat()
GATEWAY = GatewayStream()

#: every format by name: chat, responses, anthropic, gemini, ollama, gateway
FORMATS: dict[str, WireFormat] = {
    f.name: f for f in (CHAT, RESPONSES, ANTHROPIC, GEMINI, OLLAMA, GATEWAY)
}

__all__ = [
    "ANTHROPIC",
    "CHAT",
    "FORMATS",
    "GATEWAY",
    "GEMINI",
    "OLLAMA",
    "RESPONSES",
    "Refusal",
    "Request",
    "WireFormat",
]
