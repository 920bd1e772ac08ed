"""What the app remembers between runs, kept apart from the user's ``config.toml``.

chatterm never writes ``config.toml`` (its comments would be lost). The last model the
user chose, the theme, whether reasoning panes are shown and the reasoning effort go to
``state.toml`` in the data folder, written atomically with tomli-w. (Favourites are the
config's ``favourites``: a list people edit and order by hand.)
A state file that cannot be read is reported once and treated as empty, and never written
over: choices are not remembered until the user fixes or removes it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from chatterm import paths
from chatterm.events import REASONING_EFFORTS, ReasoningEffort
from chatterm.files import atomic_write, file_problem, read_regular

STATE_VERSION = 1
STATE_LIMIT = 1 << 20  # the app writes a few hundred bytes here


@dataclass(frozen=True, slots=True)
class AppState:
    """Everything remembered; ``None`` means "not remembered: use the config's"."""

    last_model: str | None = None
    theme: str | None = None
    reasoning_shown: bool | None = None
    reasoning_effort: ReasoningEffort | None = None


def state_file() -> Path:
    return paths.data_dir() / "state.toml"


def load_state(path: Path | None = None) -> tuple[AppState, str | None]:
    """The remembered state and, if the file could not be used, a one-line problem.

    Values of the wrong type are dropped one by one (the rest is kept): the file is the
    app's own, so a damaged value is not worth stopping for.
    """
    path = path or state_file()
    try:
        raw = read_regular(path, limit=STATE_LIMIT)
    except FileNotFoundError:
        return AppState(), None
    except OSError as exc:
        return AppState(), f"cannot read {path} ({file_problem(exc)}); starting afresh"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, ValueError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return (
            AppState(),
            f"{path} is damaged ({reason}); starting afresh",
        )
    if data.get("chatterm_state", STATE_VERSION) != STATE_VERSION:
        return AppState(), f"{path} is from another chatterm version; starting afresh"
    state = AppState()
    strings = {"last_model", "theme"}
    for name in strings:
        if isinstance(data.get(name), str):
            state = replace(state, **{name: data[name]})
    if isinstance(data.get("reasoning_shown"), bool):
        state = replace(state, reasoning_shown=data["reasoning_shown"])
    if data.get("reasoning_effort") in REASONING_EFFORTS:
        state = replace(state, reasoning_effort=data["reasoning_effort"])
    return state, None


def save_state(state: AppState, path: Path | None = None) -> str | None:
    """Write the state; a one-line problem if the disk refused (nothing else is lost)."""
    path = path or state_file()
    data: dict[str, Any] = {"chatterm_state": STATE_VERSION}
    for item in fields(state):
        value = getattr(state, item.name)
        if value is None:
            continue
        data[item.name] = value
    try:
        # A model name from an undecodable argument can hold a lone surrogate.
        atomic_write(path, tomli_w.dumps(data).encode("utf-8", "replace"))
    except OSError as exc:
        return f"cannot save {path} ({file_problem(exc)}); settings are not remembered"
    return None
