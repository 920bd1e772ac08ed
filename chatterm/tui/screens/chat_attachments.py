"""Attaching files to a prompt in the chat: the chooser, ``@path``, pasted paths, the chips.

Three ways to attach a file, each reading it once (:func:`chatterm.attachments.
read_attachment`), a file that cannot be attached (binary, too large, a FIFO, unreadable)
saying why in one line and attaching nothing:

- Alt+A opens the file chooser (:class:`~chatterm.tui.screens.file_chooser.FileChooserScreen`);
  the file chosen becomes a chip above the prompt.
- ``@path`` in the prompt (a word starting with ``@`` that names an existing file, ``~``
  expanded, relative to the current folder) attaches that file when the prompt is sent;
  the text is sent as typed, and a ``@word`` that names no file is left alone.
- Pasting text that is exactly a file's path (what a terminal pastes for a file dragged
  onto it, quoted, backslash-escaped or as a ``file://`` URL) asks whether to attach it;
  yes takes the path out of the prompt and attaches the file, no leaves the text as pasted.

Before a prompt with files is sent, each model it goes to is asked whether it can take
them (``Provider.attachments_problem``: a kind its API does not take, a model that cannot
see images, a size, count or pixel limit); a problem is one line, nothing is sent, and the
prompt and its chips stay. Once sent, the chips are cleared.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from textual import events, on
from textual.screen import Screen

from chatterm.attachments import AttachmentError, describe, read_attachment
from chatterm.events import Attachment
from chatterm.providers.registry import ResolvedModel
from chatterm.text import safe_text, visible_line
from chatterm.tui.screens.dialogs import ConfirmScreen
from chatterm.tui.widgets.attachment_chips import AttachmentChip, AttachmentChips
from chatterm.tui.widgets.prompt import PromptArea, pasted_text

if TYPE_CHECKING:
    from chatterm.tui.screens.file_chooser import FileChooserScreen

# A word starting with @ (at the start of the text or after whitespace: not an address).
_MENTION = re.compile(r"(?<!\S)@(\S+)")
# What may follow a path in a sentence ("see @notes.txt, then ...").
_TRAILING = ",.;:!?)]}\"'"


def mentioned_paths(text: str, cwd: Path) -> list[Path]:
    """The files ``text`` names as ``@path`` words, in order, each once: a word that
    names something other than a folder (``~`` expanded, relative to ``cwd``), tried as
    written and then without the punctuation that may end a sentence."""
    found: list[Path] = []
    for match in _MENTION.finditer(text):
        word = match.group(1)
        for candidate in dict.fromkeys((word, word.rstrip(_TRAILING))):
            path = _named_file(candidate, cwd)
            if path is not None:
                if path not in found:
                    found.append(path)
                break
    return found


def _named_file(text: str, cwd: Path) -> Path | None:
    """The path ``text`` names, if something other than a folder is there."""
    if not text:
        return None
    path = Path(os.path.expanduser(text) if text.startswith("~") else text)
    if not path.is_absolute():
        path = cwd / path
    try:
        if path.is_dir() or not (path.exists() or path.is_symlink()):
            return None
    except (OSError, ValueError):  # a name too long, a NUL
        return None
    return path


def pasted_path(text: str, cwd: Path) -> Path | None:
    """The file a paste names, when the paste is one path and nothing else (as a terminal
    pastes a file dragged onto it: maybe quoted, with backslash-escaped spaces, or as a
    ``file://`` URL); None for any other text. A bare name without a folder (``notes``)
    is not taken for a path: it is more likely a word."""
    text = text.strip()
    if not text or "\n" in text:
        return None
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if text.startswith("file://"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            return None
        text = unquote(parts.path)
    if "/" not in text and not text.startswith("~"):
        return None
    for candidate in dict.fromkeys((text, re.sub(r"\\(.)", r"\1", text))):
        path = _named_file(candidate, cwd)
        if path is not None:
            try:
                if path.is_file():
                    return path
            except OSError:
                return None
    return None


def _location(text: str, index: int) -> tuple[int, int]:
    """The (line, column) of character ``index`` of ``text``, as a TextArea counts them."""
    before = text[:index]
    return before.count("\n"), index - (before.rfind("\n") + 1)


class AttachmentActions(Screen[None]):
    """Attachments for the chat screen, which composes the chips (``#attachments``) and
    the prompt and sets ``keymap``."""

    keymap: Mapping[str, str]

    if TYPE_CHECKING:  # the chat screen's own

        @property
        def prompt(self) -> PromptArea: ...

    @property
    def attachment_chips(self) -> AttachmentChips:
        return self.query_one("#attachments", AttachmentChips)

    # -- attaching --------------------------------------------------------------------

    def action_attach_file(self) -> None:
        """Open the file chooser, at the current folder."""
        from chatterm.tui.screens.file_chooser import (
            FileChooserScreen,  # imported when first opened: start-up does without it
        )

        chooser: FileChooserScreen = FileChooserScreen(Path.cwd(), self.keymap)
        self.app.push_screen(chooser, self._file_chosen)

    async def _file_chosen(self, path: Path | None) -> None:
        if path is not None:
            await self.attach_path(path)
        self.prompt.focus()

    async def attach_path(self, path: Path) -> bool:
        """Read the file at ``path`` and show it as a chip; False (and one line saying
        why) if it cannot be attached."""
        try:
            attachment = read_attachment(path)
        except AttachmentError as error:
            self.notify(safe_text(str(error)), severity="error", markup=False)
            return False
        if not await self.attachment_chips.add(attachment):
            self.notify(
                f"{visible_line(attachment.name)} is attached already.", markup=False, timeout=3
            )
            return False
        self.notify(f"Attached {describe(attachment)}.", markup=False, timeout=3)
        return True

    @on(AttachmentChip.Removed)
    async def _chip_removed(self, event: AttachmentChip.Removed) -> None:
        event.stop()
        chips = self.attachment_chips
        shown = list(chips.query_children(AttachmentChip))
        had_focus = event.chip.has_focus
        place = shown.index(event.chip) if event.chip in shown else -1
        await chips.remove_chip(event.chip)
        self.notify(f"Removed {visible_line(event.chip.attachment.name)}.", markup=False, timeout=2)
        left = list(chips.query_children(AttachmentChip))
        if had_focus and left:
            left[max(place - 1, 0)].focus()  # the chip before it, to remove several
        elif had_focus or not left:
            self.prompt.focus()

    # -- pasting a path ---------------------------------------------------------------

    def on_paste(self, event: events.Paste) -> None:
        """A paste that is one file's path (the prompt has taken it as text): offer to
        attach the file instead."""
        path = pasted_path(event.text, Path.cwd())
        if path is None:
            return
        pasted = pasted_text(event.text)
        question = f"Attach {visible_line(str(path))}?"
        hint = "y: attach it (the path leaves the prompt) · n or Esc: keep the text as pasted"

        async def answered(attach: bool | None) -> None:
            if attach and await self.attach_path(path):
                self._take_out_of_prompt(pasted)
            self.prompt.focus()

        self.app.push_screen(ConfirmScreen(question, hint), answered)

    def _take_out_of_prompt(self, pasted: str) -> None:
        """Remove the last place ``pasted`` was put in the prompt (the path just attached)."""
        prompt = self.prompt
        at = prompt.text.rfind(pasted)
        if at < 0 or not pasted:
            return
        text = prompt.text
        start, end = _location(text, at), _location(text, at + len(pasted))
        prompt.replace("", start, end, maintain_selection_offset=False)

    # -- sending ----------------------------------------------------------------------

    def attachments_for(self, text: str) -> tuple[Attachment, ...] | None:
        """The files to send with ``text``: the chips' and those its ``@path`` words name
        (read now), each content once; None (and one line saying why) if one of those
        cannot be attached."""
        chosen = list(self.attachment_chips.attachments)
        for path in mentioned_paths(text, Path.cwd()):
            try:
                attachment = read_attachment(path)
            except AttachmentError as error:
                self.notify(safe_text(f"Not sent: {error}"), severity="error", markup=False)
                return None
            if all(shown.sha256 != attachment.sha256 for shown in chosen):
                chosen.append(attachment)
        return tuple(chosen)

    def attachments_refused(
        self, targets: Sequence[ResolvedModel], attachments: Sequence[Attachment]
    ) -> bool:
        """True (and one line saying why) when a target cannot take ``attachments``:
        then nothing is sent, and the prompt and its chips stay."""
        if not attachments:
            return False
        for target in targets:
            problem = target.provider.attachments_problem(target.ref, tuple(attachments))
            if problem:
                self.notify(safe_text(f"Not sent: {problem}"), severity="error", markup=False)
                return True
        return False

    async def attachments_sent(self) -> None:
        """The prompt went with its files: the chips are cleared."""
        await self.attachment_chips.clear()

    async def not_sent(
        self, error: Exception, prompt: str, attachments: Sequence[Attachment]
    ) -> None:
        """The turn could not be recorded (its files could not be stored), so nothing was
        sent: say why, and put the prompt (if the box is still empty) and its files back."""
        self.notify(safe_text(f"Not sent: {error}"), severity="error", markup=False)
        if not self.prompt.text:
            self.prompt.put_text(prompt)
        for attachment in attachments:
            await self.attachment_chips.add(attachment)
