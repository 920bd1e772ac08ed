"""Copying answers and code blocks to the clipboard, and exporting the chat to Markdown.

The clipboard is reached with OSC 52 (:meth:`textual.app.App.copy_to_clipboard`), which
works over SSH and inside tmux (with ``set -g set-clipboard on``); a few terminals ignore
it (macOS Terminal). What is copied is the text as shown: control characters made visible
(``safe_text``), so pasting an answer into a shell cannot send escape sequences.

"The code block under the cursor": the conversation has no text cursor (the prompt has the
focus), so it is the code block at the bottom of what is in view: the last code block of
the lowest turn on screen that has one. Pressing the key again, before anything scrolls or
a new turn arrives, steps to the code block before it (back through earlier turns, then
round to the newest again), so any block of the turns shown can be reached without leaving
the prompt (a long session opened from disk shows its earlier turns when scrolled up).

Export writes the open session as Markdown (:func:`chatterm.sessions.export.export_session`)
to ``chatterm-<session id>.md`` in the export folder (the current folder unless the app was
given one), never over an existing file: ``-1``, ``-2``, … are added instead.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from textual.geometry import Region
from textual.screen import Screen

from chatterm.sessions.model import Session
from chatterm.text import safe_text
from chatterm.tui.widgets.conversation import ConversationView
from chatterm.tui.widgets.turn import TurnView

MAX_EXPORT_SUFFIX = 999


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced (or indented) code block of an answer: its text and its language."""

    code: str
    language: str


def code_blocks(markdown: str) -> list[CodeBlock]:
    """The code blocks of a Markdown text, in order (fenced anywhere, lists included)."""
    blocks: list[CodeBlock] = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type in ("fence", "code_block"):
            language = token.info.split(maxsplit=1)[0] if token.info.strip() else ""
            blocks.append(CodeBlock(token.content, language))
    return blocks


def export_paths(folder: Path, stem: str, suffix: str = ".md") -> Iterator[Path]:
    """``folder/stem.md``, then ``stem-1.md``, ``stem-2.md``, … up to a bound."""
    for number in range(MAX_EXPORT_SUFFIX + 1):
        yield folder / f"{stem}{f'-{number}' if number else ''}{suffix}"


def write_new(session: Session, folder: Path) -> Path:
    """Export ``session`` as Markdown into a new file in ``folder``; its path.

    Raises OSError. The file is created exclusively: nothing that holds a name (a file, a
    link even to nothing, a FIFO) is written over or through; the next suffix is tried.
    """
    from chatterm.sessions.export import export_session  # F12 only: start-up skips it

    data = export_session(session, "md")
    stem = f"chatterm-{session.id}"
    for path in export_paths(folder, stem):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(path)  # never leave half an export behind
            raise
        return path
    raise FileExistsError(
        errno.EEXIST, f"{stem}.md and {MAX_EXPORT_SUFFIX} numbered others exist", str(folder)
    )


def _lines(count: int) -> str:
    return f"{count} line" + ("" if count == 1 else "s")


class TranscriptActions(Screen[None]):
    """The chat screen's copy and export keys.

    The chat screen sets ``export_dir`` and overrides :meth:`_busy` and
    :meth:`session_to_export`.
    """

    export_dir: Path | None
    _code_step: tuple[int, float, int] | None = None  # (turns, scroll y, blocks back)

    def _busy(self) -> bool:
        return False

    def session_to_export(self) -> Session | None:
        return None

    def _turns(self) -> list[TurnView]:
        return list(self.query(TurnView))

    def action_copy_answer(self) -> None:
        turns = [turn for turn in self._turns() if turn.answer.text]
        if not turns:
            self.notify("No answer to copy yet.", markup=False, timeout=3)
            return
        turn = turns[-1]
        text = turn.answer.text  # as shown: made safe on its way in
        self.app.copy_to_clipboard(text)
        still = " (still streaming: what arrived so far)" if turn.streaming else ""
        self.notify(
            f"Copied the last answer, {_lines(text.count(chr(10)) + 1)}, to the clipboard{still}.",
            markup=False,
            timeout=3,
        )

    def action_copy_code(self) -> None:
        turns = self._turns()
        found = [(index, code_blocks(turn.answer.text)) for index, turn in enumerate(turns)]
        blocks = [(index, block) for index, turn_blocks in found for block in turn_blocks]
        if not blocks:
            self.notify("No code block to copy yet.", markup=False, timeout=3)
            self._code_step = None
            return
        view = self.query_one(ConversationView)
        context = (len(turns), view.scroll_y)
        step = self._code_step
        if step is not None and step[:2] == context:
            back = (step[2] + 1) % len(blocks)
        else:
            back = self._blocks_below_view(view, turns, blocks)
        self._code_step = (*context, back)
        position = len(blocks) - 1 - back
        _, block = blocks[position]
        self.app.copy_to_clipboard(safe_text(block.code))
        language = f"{block.language} " if block.language else ""
        again = "; press again for the one before" if len(blocks) > 1 else ""
        self.notify(
            f"Copied the {language}code block ({_lines(block.code.count(chr(10)))}), "
            f"{position + 1} of {len(blocks)}{again}.",
            markup=False,
            timeout=3,
        )

    @staticmethod
    def _blocks_below_view(
        view: ConversationView, turns: list[TurnView], blocks: list[tuple[int, CodeBlock]]
    ) -> int:
        """How many code blocks come after the last one in a turn that is in view."""
        viewport = Region(0, round(view.scroll_y), view.size.width, view.size.height)
        visible = [i for i, turn in enumerate(turns) if turn.virtual_region.overlaps(viewport)]
        in_view = [n for n, (index, _) in enumerate(blocks) if index in visible]
        if not in_view:  # none in view: the nearest above it, else the first below
            top = visible[0] if visible else len(turns)
            in_view = [n for n, (index, _) in enumerate(blocks) if index < top] or [0]
        return len(blocks) - 1 - in_view[-1]

    def action_export(self) -> None:
        if self._busy():
            return
        session = self.session_to_export()
        if session is None or not session.turns:
            self.notify("Nothing to export yet.", markup=False, timeout=3)
            return
        first = self.export_dir or Path.cwd()
        # A full or read-only disk must not trap the chat: try the home and temp folders.
        folders = list(dict.fromkeys([first, Path.home(), Path(tempfile.gettempdir())]))
        failed: str | None = None
        for folder in folders:
            try:
                path = write_new(session, folder)
            except OSError as error:
                failed = failed or f"Cannot export to {folder}: {error.strerror or error}"
                continue
            where = f"Exported to {path}"
            if failed is not None:
                where = f"{failed}; exported to {path} instead"
            self.notify(safe_text(where), markup=False, timeout=8)
            return
        self.notify(
            safe_text(
                f"{failed}. The chat stays open: free some space and press F12 again, or "
                "copy each answer with F8."
            ),
            severity="error",
            markup=False,
        )
