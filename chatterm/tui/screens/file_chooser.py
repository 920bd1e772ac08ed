"""The file chooser: a path field with Tab completion above a folder tree.

Alt+A opens it from the chat. The field starts at the current folder; Tab completes what
is typed (``~`` is expanded to the home folder; several matches complete to what they
share and are listed under the field), and a folder completed or entered becomes the
tree's root. Enter on a file's path, or on a file in the tree (Down moves there), chooses
it; Esc closes with nothing chosen. The chooser only names the file: the chat reads it
(once, :func:`chatterm.attachments.read_attachment`) and says why if it cannot be attached.

File names come from the disk and are data: the tree shows them with control characters
made visible and never as markup, as is every path the field's hint repeats.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from rich.text import Text, TextType
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Static

from chatterm.text import visible_line
from chatterm.tui.bindings import (
    CHOOSER_CLOSE,
    CHOOSER_COMPLETE,
    CHOOSER_TO_TREE,
    key_label,
)

CANDIDATES_SHOWN = 8  # completions listed under the field; the rest are counted
# An Input draws its text as is: a name with control characters (C0, DEL, C1) is never put
# in the field (the tree shows it, made visible, to choose it there).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def expand_path(text: str) -> str:
    """``text`` with a leading ``~`` (or ``~user``) expanded to that home folder."""
    return os.path.expanduser(text) if text.startswith("~") else text


def complete_path(text: str, cwd: Path) -> tuple[str, list[str]]:
    """``text`` completed as far as the folder's entries agree, and the entries that
    match (names only, sorted; hidden ones only when the name typed starts with a dot).
    A relative path is looked up from ``cwd``; a folder completed alone gets its ``/``."""
    expanded = expand_path(text)
    head, _, prefix = expanded.rpartition("/")
    if "/" in expanded:
        folder, typed = Path(head or "/"), head + "/"
    else:
        folder, typed = Path("."), ""
    base = folder if folder.is_absolute() else cwd / folder
    try:
        with os.scandir(base) as entries:
            names = sorted(
                entry.name
                for entry in entries
                if entry.name.startswith(prefix)
                and (prefix.startswith(".") or not entry.name.startswith("."))
            )
    except OSError:
        return expanded, []
    if not names:
        return expanded, []
    completed = typed + os.path.commonprefix(names)
    if len(names) == 1 and (base / names[0]).is_dir():
        completed += "/"
    return completed, names


class SafeDirectoryTree(DirectoryTree):
    """A folder tree whose file names are shown as data: control characters visible."""

    def process_label(self, label: TextType) -> Text:
        if isinstance(label, str):
            return Text(visible_line(label))
        return super().process_label(label)


class PathField(Input):
    """The path typed; Tab completes it, Down moves to the tree."""

    BINDINGS: ClassVar[list[BindingType]] = [CHOOSER_COMPLETE, CHOOSER_TO_TREE]

    def action_complete(self) -> None:
        screen = self.screen
        if isinstance(screen, FileChooserScreen):
            screen.complete()

    def action_to_tree(self) -> None:
        self.screen.query_one(SafeDirectoryTree).focus()


class FileChooserScreen(ModalScreen[Path | None]):
    """Choose a file to attach; dismissed with its path, or None (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [CHOOSER_CLOSE]
    DEFAULT_CSS = """
    FileChooserScreen {
        align: center middle;
        & > Vertical {
            width: 90;
            max-width: 100%;
            height: 80%;
            padding: 0 1;
            background: $surface;
            border: round $primary;
        }
        & .chooser-hint {
            color: $text-muted;
            height: auto;
            max-height: 3;
        }
        & SafeDirectoryTree {
            height: 1fr;
        }
    }
    """

    def __init__(self, start: Path, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.start = start
        self.keymap = keymap or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Content("Attach a file"), classes="chooser-title")
            yield PathField(value=_folder_text(self.start), id="chooser-path")
            yield Static(self._hint(), classes="chooser-hint", id="chooser-hint")
            yield SafeDirectoryTree(self.start, id="chooser-tree")

    def on_mount(self) -> None:
        self.path_field.focus()
        self.path_field.cursor_position = len(self.path_field.value)

    @property
    def path_field(self) -> PathField:
        return self.query_one(PathField)

    @property
    def folder_tree(self) -> SafeDirectoryTree:
        return self.query_one(SafeDirectoryTree)

    def _hint(self, note: str | None = None) -> Content:
        keys = (
            f"{key_label(CHOOSER_COMPLETE, self.keymap)} completes · Enter attaches · "
            f"{key_label(CHOOSER_TO_TREE, self.keymap)} browses · "
            f"{key_label(CHOOSER_CLOSE, self.keymap)} closes"
        )
        return Content(f"{visible_line(note)}\n{keys}" if note else keys)

    def _say(self, note: str | None) -> None:
        self.query_one("#chooser-hint", Static).update(self._hint(note))

    def complete(self) -> None:
        """Complete the path typed, list the matches, and root the tree at its folder."""
        field = self.path_field
        completed, names = complete_path(field.value, self.start)
        if _CONTROLS.search(completed):
            self._say("a name with control characters: choose it in the tree")
            return
        field.value = completed
        field.cursor_position = len(completed)
        if len(names) > 1:
            shown = "  ".join(names[:CANDIDATES_SHOWN])
            more = len(names) - CANDIDATES_SHOWN
            self._say(shown + (f"  … {more} more" if more > 0 else ""))
        else:
            self._say(None if names else "nothing matches")
        self._root_at(completed)

    def _root_at(self, text: str) -> None:
        """Show the folder ``text`` names (or is in) in the tree."""
        path = self._resolved(text)
        folder = path if text.endswith("/") or text == "" else path.parent
        try:
            if folder.is_dir() and folder != Path(self.folder_tree.path):
                self.folder_tree.path = folder
        except OSError:
            return

    def _resolved(self, text: str) -> Path:
        path = Path(expand_path(text))
        return path if path.is_absolute() else self.start / path

    @on(Input.Submitted)
    def _path_entered(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        path = self._resolved(text)
        try:
            is_dir = path.is_dir()
            exists = path.exists() or path.is_symlink()
        except OSError:
            is_dir, exists = False, True  # let the reading say what is wrong
        if is_dir:
            self.path_field.value = _folder_text(path)
            self._say(None)
            self._root_at(self.path_field.value)
        elif exists:
            self.dismiss(path)
        else:
            self._say(f"{text}: no such file")

    @on(DirectoryTree.FileSelected)
    def _file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    def action_close(self) -> None:
        self.dismiss(None)


def _folder_text(folder: Path) -> str:
    """A folder as the field holds it (ending in ``/``); empty if its path has control
    characters."""
    text = str(folder)
    if _CONTROLS.search(text):
        return ""
    return text if text.endswith("/") else text + "/"
