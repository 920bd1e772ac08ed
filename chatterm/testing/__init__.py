"""Test support that ships with chatterm.

:mod:`chatterm.testing.fakeserver` is a fake LLM server on 127.0.0.1 that speaks every wire
format chatterm reads (OpenAI Chat Completions and Responses, Anthropic Messages, Gemini,
Ollama, and the ``/generate/stream`` gateway) from scripted replies, with faults injected per
request. Run it with ``python -m chatterm.testing.fakeserver --port 0``.

Nothing here is imported by chatterm itself; the package uses the standard library only.
"""
