"""What the TUI remembers between runs (:mod:`chatterm.state`), read once and saved lazily.

A change is only noted (:meth:`Remembered.update`); the app writes the file at most every
half second (:meth:`Remembered.flush`, on its save-check clock) and once more as it closes,
so stepping through ten models writes one file, not ten. A state file that cannot be read
or written is reported once per run (:meth:`Remembered.take_problem`): the app keeps
working with what it has in memory.

A state file that exists but cannot be used (damaged, empty, unreadable, or written by
another version of chatterm) is never written over: this run's choices stay in memory, and the
report says how to have them remembered again (fix or remove the file).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from chatterm.state import load_state, save_state, state_file


class Remembered:
    """The app's :class:`AppState`, with its file.

    Args:
        path: the state file (default ``state.toml`` in the data folder).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.state, problem = load_state(path)
        file = path or state_file()
        if problem is None and _is_empty(file):
            # chatterm never writes an empty state: a file cut short (a crash, a full disk).
            problem = f"{file} is empty; starting afresh"
        # A file there that could not be used is the user's to fix: never written over.
        self.read_only = problem is not None and os.path.lexists(file)
        if problem and self.read_only:
            problem = kept_as_is(problem)
        self._problems: list[str] = [problem] if problem else []
        self._dirty = False
        self._save_failed = False

    def update(self, **changes: Any) -> None:
        """Note new values (``last_model=…``, ``theme=…``, …); saved by :meth:`flush`."""
        state = replace(self.state, **changes)
        if state != self.state:
            self.state = state
            self._dirty = True

    def flush(self) -> None:
        """Write the state if it changed since the last write."""
        if not self._dirty or self.read_only:
            return
        self._dirty = False
        problem = save_state(self.state, self.path)
        if problem and not self._save_failed:
            self._save_failed = True  # said once; later saves are still tried
            self._problems.append(problem)

    def take_problem(self) -> str | None:
        """A problem not yet reported (then forgotten), or None."""
        if not self._problems:
            return None
        problem = "\n".join(self._problems)
        self._problems.clear()
        return problem


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def kept_as_is(problem: str) -> str:
    """The load problem, saying that the file is left alone."""
    problem = problem.rstrip(". ")
    return (
        f"{problem}. It is left as it is: choices made now are not remembered until it is "
        "fixed or removed."
    )
