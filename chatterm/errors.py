"""chatterm's own error types: each carries one line that names the problem and the fix."""

from __future__ import annotations


class ChattermError(Exception):
    """A problem the user can fix; ``str(error)`` is the one-line message to show."""


class ConfigError(ChattermError):
    """The config file, a command-line option or a model name is wrong (exit code 2)."""
