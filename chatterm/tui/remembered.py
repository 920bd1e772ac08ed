"""What the TUI remembers between runs (:mod:`chatterm.state`), read once and saved lazily.

A change is only noted (:meth:`Remembered.update`); the app writes the file at most every
half second (:meth:`Remembered.flush`, on its save-check clock) and once more as it closes,
so stepping through ten models writes one file, not ten. A state file that cannot be read
or written is reported once per run (:meth:`Remembered.take_problem`): the app keeps
working with what it has in memory.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from chatterm.state import load_state, save_state


class Remembered:
    """The app's :class:`AppState`, with its file.

    Args:
        path: the state file (default ``state.toml`` in the data folder).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.state, problem = load_state(path)
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
        if not self._dirty:
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
