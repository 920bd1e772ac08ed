"""Where chatterm keeps its files: platformdirs folders, or everything under $CHATTERM_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "chatterm"


def _home() -> Path | None:
    value = os.environ.get("CHATTERM_HOME")
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    home = _home()
    return home if home else platformdirs.user_config_path(APP_NAME)


def config_file() -> Path:
    return config_dir() / "config.toml"


def data_dir() -> Path:
    home = _home()
    return home / "data" if home else platformdirs.user_data_path(APP_NAME)


def cache_dir() -> Path:
    home = _home()
    return home / "cache" if home else platformdirs.user_cache_path(APP_NAME)
