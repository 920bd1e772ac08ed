"""A filter box over a table, as the model picker and the sessions list have it.

The filter keeps the focus while the user types; the arrow and page keys, which an input
has no use for, move the table's cursor instead.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.coordinate import Coordinate
from textual.screen import Screen, ScreenResultType
from textual.widgets import DataTable, Input

# Keys the filter passes on to the table, and the table's action for each.
_TABLE_KEYS = {
    "up": "cursor_up",
    "down": "cursor_down",
    "pageup": "page_up",
    "pagedown": "page_down",
}


def modal_list_css(screen: str, status_id: str) -> str:
    """The stylesheet of a modal list (the model picker, the past prompts): a framed box
    in the middle, the table filling it, a status line of at most three lines below."""
    return f"""
    {screen} {{
        align: center middle;
        & > Vertical {{
            width: 100;
            max-width: 100%;
            height: 80%;
            padding: 0 1;
            background: $surface;
            border: round $primary;
            border-title-color: $text-primary;
        }}
        & DataTable {{
            height: 1fr;
        }}
        & #{status_id} {{
            height: auto;
            max-height: 3;
            color: $text-muted;
        }}
    }}
    """


class FilteredTable(Screen[ScreenResultType]):
    """The filter and the table of a screen that composes both with these ids."""

    TABLE_ID: ClassVar[str]
    FILTER_ID: ClassVar[str]

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one(f"#{self.TABLE_ID}", DataTable)

    @property
    def filter_input(self) -> Input:
        return self.query_one(f"#{self.FILTER_ID}", Input)

    def highlighted_key(self) -> str | None:
        """The key of the row under the table's cursor, None when the table is empty."""
        table = self.table
        if not table.row_count:
            return None
        row_key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        return None if row_key.value is None else str(row_key.value)

    @on(events.Key)
    def _table_keys(self, event: events.Key) -> None:
        if event.key in _TABLE_KEYS and self.focused is self.filter_input:
            event.stop()
            getattr(self.table, f"action_{_TABLE_KEYS[event.key]}")()
