"""The past prompts: every saved chat's prompts, filtered as you type; Enter takes one.

The list fills while it is read (:class:`~chatterm.tui.past_prompts.PastPrompts`, a batch
of sessions at a time on a thread), newest first. The filter keeps every prompt holding
all the words typed (in the prompt or its chat's title, case ignored); it waits for a
pause in the typing, as the sessions list does. Each row shows a prompt on one line, its
chat and when it was sent, all as data: ``safe_text`` into ``rich.text.Text``.

The screen is dismissed with the chosen prompt's whole text, or None.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from chatterm.sessions.store import SessionError
from chatterm.text import local_time, one_line, safe_text
from chatterm.tui.bindings import PROMPTS_BINDINGS
from chatterm.tui.past_prompts import PastPrompt, PastPrompts
from chatterm.tui.screens.filtered_table import FilteredTable, modal_list_css

FILTER_DELAY_S = 0.12  # typing pauses this long before the table is filled again
SESSIONS_PER_BATCH = 20  # sessions read before the list shows what they hold
COLUMNS = (("prompt", "Prompt", 58), ("chat", "Chat", 20), ("sent", "Sent", 16))
SHOWN_CHARS = 200  # of a prompt, on its one line


def row_cells(prompt: PastPrompt) -> list[Text]:
    return [
        Text(safe_text(one_line(prompt.text, SHOWN_CHARS))),
        Text(safe_text(one_line(prompt.title or "untitled", SHOWN_CHARS))),
        Text(local_time(prompt.sent)),
    ]


def matches(prompt: PastPrompt, words: str) -> bool:
    """Every word of ``words`` is in the prompt or its chat's title (case ignored)."""
    haystack = f"{prompt.text} {prompt.title}".casefold()
    return all(word in haystack for word in words.casefold().split())


# ModalScreen first: Textual gathers default CSS along the chain of first bases only.
class PromptSearchScreen(ModalScreen[str | None], FilteredTable[str | None]):
    """Pick a prompt of any saved chat (the sessions in ``folder``); dismissed with its
    text, or None."""

    TABLE_ID = "prompts-table"
    FILTER_ID = "prompts-filter"

    BINDINGS: ClassVar[list[BindingType]] = [*PROMPTS_BINDINGS]

    DEFAULT_CSS = modal_list_css("PromptSearchScreen", "prompts-status")

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.prompts: list[PastPrompt] = []  # newest first, as read so far
        self.shown: list[int] = []  # indexes into prompts, in the table's order
        self.reading = True
        self.sessions_read = 0
        self._problem: str | None = None  # why the folder could not be listed
        self._filter_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Past prompts"
            yield Input(placeholder="Filter: words of the prompt or its chat", id=self.FILTER_ID)
            yield DataTable(id=self.TABLE_ID, cursor_type="row", zebra_stripes=True)
            yield Static(Content("Reading the saved chats…"), id="prompts-status")

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, width=width, key=key)
        self.filter_input.focus()
        self._read()

    @work(exclusive=True, group="prompts", exit_on_error=False)
    async def _read(self) -> None:
        """Read the sessions, newest first, showing each batch's prompts as they come."""
        reader = PastPrompts(self.folder)
        try:
            try:
                sessions = await asyncio.to_thread(reader.sessions)
            except SessionError as error:  # the folder itself cannot be read
                self._problem = " ".join(str(error).split())
                return
            for start in range(0, len(sessions), SESSIONS_PER_BATCH):
                batch = sessions[start : start + SESSIONS_PER_BATCH]
                found = await asyncio.to_thread(reader.read, batch)
                self.sessions_read += len(batch)
                self._add(found)
                if reader.full:
                    break
        finally:
            self.reading = False
            self._show_status()

    # -- the table --------------------------------------------------------------------

    def _add(self, found: list[PastPrompt]) -> None:
        """Append newly read prompts (older than those listed) that match the filter."""
        words = self.filter_input.value
        first = len(self.prompts)
        self.prompts.extend(found)
        for index in range(first, len(self.prompts)):
            if matches(self.prompts[index], words):
                self._add_row(index)
        self._show_status()

    def _add_row(self, index: int) -> None:
        self.shown.append(index)
        self.table.add_row(*row_cells(self.prompts[index]), key=str(index))

    def _fill(self) -> None:
        """Show the prompts that match the filter, the cursor on the first."""
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        words = self.filter_input.value
        self.shown = []
        self.table.clear()
        for index, prompt in enumerate(self.prompts):
            if matches(prompt, words):
                self._add_row(index)
        self._show_status()

    def _show_status(self) -> None:
        total = len(self.prompts)
        noun = "prompt" if total == 1 else "prompts"
        if self._problem is not None:
            text = f"⚠ {self._problem}"
        elif not total and not self.reading:
            text = "No saved prompts yet: each chat is saved from its first message."
        else:
            count = f"{total:,} {noun}"
            if len(self.shown) != total:
                count = f"{len(self.shown):,} of {count} match"
            text = f"{count} from {self.sessions_read:,} chats"
            if self.reading:
                text += " · reading…"
            text += " · Enter puts one in the prompt, Esc closes"
        self.query_one("#prompts-status", Static).update(Content(safe_text(text)))

    @on(Input.Changed, "#prompts-filter")
    def _filter_changed(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY_S, self._fill)

    def highlighted(self) -> PastPrompt | None:
        key = self.highlighted_key()
        return self.prompts[int(key)] if key is not None else None

    # -- actions ----------------------------------------------------------------------

    @on(Input.Submitted, "#prompts-filter")
    @on(DataTable.RowSelected)
    def action_select(self) -> None:
        if self._filter_timer is not None:  # typed, then Enter before the pause: filter now
            self._fill()
        prompt = self.highlighted()
        if prompt is not None:
            self.dismiss(prompt.text)

    def action_close(self) -> None:
        self.dismiss(None)
