"""What every sub-command shares: exit codes, the one-line failure, colour, argv text.

Exit codes: 0 done (the reply finished), 1 the model, the network or a file failed (or the
reply was cancelled), 2 bad usage or config.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from chatterm.text import safe_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CommandFailed(Exception):
    """A command cannot go on: ``str()`` is the one line, ``code`` the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_USAGE) -> int:
    if sys.stderr is not None:
        sys.stderr.write(f"chatterm: {safe_text(message)}\n")
    return code


def silence_stdout() -> None:
    """Point stdout at the null device, so what is still buffered for a stdout that failed
    (a closed pipe, a full disk) goes nowhere at exit instead of raising there."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass


def wants_color(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and not when ``NO_COLOR`` is set or ``TERM=dumb``."""
    return stream.isatty() and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def valid_text(text: str) -> str:
    """Undecodable bytes (from argv or a pipe) become U+FFFD instead of a crash later."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
