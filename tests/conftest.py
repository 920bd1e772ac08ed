"""Shared fixtures: every test runs with its own CHATTERM_HOME and no real API keys."""

from __future__ import annotations

import compileall
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

pytest_plugins = ["tests.fake_provider.fixtures"]

# No wall-clock limits on examples: on a loaded machine an example is slower, not wrong.
settings.register_profile("chatterm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("chatterm")

PACKAGE = Path(__file__).resolve().parent.parent / "chatterm"


def pytest_configure(config: pytest.Config) -> None:
    """Compile chatterm's bytecode once, before any worker starts: the many tests that run
    ``python -m chatterm`` as a process then load it as an installed copy would, instead
    of compiling every module again in each process (PYTHONDONTWRITEBYTECODE, set on some
    machines, stops Python from keeping what it compiles)."""
    if not hasattr(config, "workerinput"):  # pytest-xdist's workers skip it
        compileall.compile_dir(PACKAGE, quiet=1)


_PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    "OLLAMA_HOST",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Config, sessions and cache go to a fresh folder; the developer's keys are hidden."""
    home = tmp_path / "chatterm-home"
    home.mkdir()
    monkeypatch.setenv("CHATTERM_HOME", str(home))
    for name in _PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def offline_home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The isolated home as the current folder, with no Ollama to find (port 9 refuses at
    once) and no debug log."""
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.delenv("CHATTERM_LOG", raising=False)
    monkeypatch.chdir(isolated_home)
    return isolated_home
