"""Up and Down in an empty prompt box: this chat's earlier prompts, as a shell's history.

Up in an empty box shows the newest prompt, Up again the one before it, and so on; Down
goes back toward the newest and, past it, to the empty box again. A prompt sent twice (a
retry) is offered once. Browsing lasts while the box shows a recalled prompt unchanged:
once the user edits it (or clears it, or sends it), Up and Down move the cursor as usual,
and the next Up from an empty box starts again from the newest prompt.

This is the bookkeeping only, with no Textual: the prompt widget decides when a key is
a recall (the cursor on the first line for Up, on the last for Down) and shows the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def newest_first(prompts: Sequence[str]) -> list[str]:
    """``prompts`` (oldest first) newest first, each text once (where it was last sent);
    blank ones left out."""
    return list(dict.fromkeys(prompt for prompt in reversed(prompts) if prompt.strip()))


class PromptRecall:
    """Where Up and Down are in the list of earlier prompts."""

    def __init__(self) -> None:
        self._entries: list[str] = []  # newest first, taken when browsing starts
        self._index = -1  # the entry shown; -1 when not browsing

    @property
    def browsing(self) -> bool:
        return self._index >= 0

    def _still_browsing(self, shown: str) -> bool:
        """Browsing goes on while the box shows the recalled entry as it was recalled."""
        if self._index >= 0 and shown != self._entries[self._index]:
            self._entries, self._index = [], -1
        return self._index >= 0

    def older(self, shown: str, earlier: Callable[[], Sequence[str]]) -> str | None:
        """The text Up shows, given the box's text ``shown`` and the chat's prompts (oldest
        first, asked for only when browsing starts); None when Up is not a recall (the box
        holds text of the user's, or there is nothing to recall)."""
        if not self._still_browsing(shown):
            if shown:
                return None
            self._entries = newest_first(earlier())
            if not self._entries:
                return None
            self._index = 0
            return self._entries[0]
        self._index = min(self._index + 1, len(self._entries) - 1)  # the oldest stays
        return self._entries[self._index]

    def newer(self, shown: str) -> str | None:
        """The text Down shows ("" past the newest prompt, and browsing ends); None when
        Down is not a recall."""
        if not self._still_browsing(shown):
            return None
        self._index -= 1
        if self._index < 0:
            self._entries = []
            return ""
        return self._entries[self._index]
