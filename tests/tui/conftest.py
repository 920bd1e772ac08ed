"""Every TUI test runs with its own CHATTERM_HOME and without the user's API keys."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Config, sessions and cache under a fresh folder; no real keys leak in."""
    monkeypatch.setenv("CHATTERM_HOME", str(tmp_path))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
