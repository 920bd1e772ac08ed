"""Pytest fixtures for the fake LLM server (:mod:`chatterm.testing.fakeserver`).

Load them from ``tests/conftest.py`` with ``pytest_plugins = ["tests.fake_provider.fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chatterm.config import Settings
from chatterm.providers.registry import ResolvedModel, resolve_model

from .server import FakeServer

API_KEY = "sk-test-secret"


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A started fake server on 127.0.0.1 with the default scenario (DeepSeek-style on the
    Chat Completions route; every other route speaks its own format)."""
    server = FakeServer().start()
    try:
        yield server
    finally:
        server.stop()
    server.check()


def fake_model(server: FakeServer, model: str = "test-model") -> ResolvedModel:
    """``openai:<model>`` pointed at the fake server, with the test key."""
    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": server.base_url + "/v1"}
    return resolve_model(f"openai:{model}", Settings(), env=env)


@pytest.fixture
def fake_target(fake_server: FakeServer) -> ResolvedModel:
    """The resolved ``openai:test-model`` talking to :func:`fake_server`."""
    return fake_model(fake_server)
