"""The roles: every role (the config's ``[roles.NAME]`` and the built-in ones), filtered as
you type; Enter takes one.

The first row is no role at all: the config's ``system_prompt`` (or none). Each row shows
the role's name, the model and effort it starts on (if it names them) and the start of its
system prompt; the status line shows more of the highlighted one's. The role in force (the
one whose system prompt the chat sends now) is marked ``●``. The filter keeps a role whose
name matches (fuzzy, best first), then those whose system prompt holds the words typed.
Names and prompts come from the config: shown through ``safe_text`` in
``rich.text.Text``, never as markup.

The screen is dismissed with the chosen role's name, :data:`NO_ROLE` for none, or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from chatterm.config import Role
from chatterm.text import one_line, safe_text
from chatterm.tui.bindings import ROLES_BINDINGS
from chatterm.tui.screens.filtered_table import FilteredTable, modal_list_css

NO_ROLE = "(none)"  # no role name holds a parenthesis
COLUMNS = (  # with a cell's padding, 94 columns: the box is 100 wide
    ("mark", "", 2),
    ("role", "Role", 16),
    ("model", "Model", 24),
    ("effort", "Effort", 6),
    ("system", "System prompt", 34),
)
STATUS_CHARS = 280  # of the highlighted role's system prompt, on the status line


def role_cells(role: Role | None, mark: str, default_system: str | None) -> list[Text]:
    """A row: the mark, the name, the model, the effort and the system prompt's start; no
    role stands for the config's system prompt."""
    if role is None:
        system = default_system or "no system prompt"
        return [
            Text(mark, style="bold"),
            Text(NO_ROLE),
            Text("the current", style="dim"),
            Text(""),
            Text(safe_text(one_line(system, 200)), style="italic" if default_system else "dim"),
        ]
    return [
        Text(mark, style="bold"),
        Text(safe_text(role.name)),
        Text(
            safe_text(role.model) if role.model else "the current",
            style="" if role.model else "dim",
        ),
        Text(role.reasoning_effort or ""),
        Text(safe_text(one_line(role.system, 200))),
    ]


def matching(roles: Mapping[str, Role], query: str) -> list[str]:
    """The names of the roles ``query`` finds: fuzzy on the name (best first), then the
    roles whose system prompt holds every word of it (in name order)."""
    query = query.strip()
    if not query:
        return list(roles)
    matcher = Matcher(query)
    scored = [(matcher.match(name), name) for name in roles]
    by_name = [name for score, name in sorted(scored, key=lambda s: -s[0]) if score > 0]
    words = query.casefold().split()
    by_text = [
        name
        for name, role in roles.items()
        if name not in by_name and all(word in role.system.casefold() for word in words)
    ]
    return by_name + by_text


# ModalScreen first: Textual gathers default CSS along the chain of first bases only.
class RolePickerScreen(ModalScreen[str | None], FilteredTable[str | None]):
    """Pick a role; dismissed with its name, :data:`NO_ROLE`, or None.

    Args:
        roles: every role, by name, in the order listed.
        current: the system prompt the chat sends now (its role is marked).
        default_system: the config's system prompt, which no role means.
    """

    TABLE_ID = "roles-table"
    FILTER_ID = "roles-filter"

    BINDINGS: ClassVar[list[BindingType]] = [*ROLES_BINDINGS]

    DEFAULT_CSS = modal_list_css("RolePickerScreen", "roles-status")

    def __init__(
        self, roles: Mapping[str, Role], *, current: str | None, default_system: str | None
    ) -> None:
        super().__init__()
        self.roles = dict(roles)
        self.current = current
        self.default_system = default_system

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Roles"
            yield Input(
                placeholder="Filter roles (name, or words of the prompt)", id=self.FILTER_ID
            )
            yield DataTable(id=self.TABLE_ID, cursor_type="row", zebra_stripes=True)
            yield Static(Content(""), id="roles-status")

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, width=width, key=key)
        self._fill(keep=self.current_name())
        self.filter_input.focus()

    def current_name(self) -> str:
        """The role whose system prompt is the one in force (no role: the config's)."""
        if (self.current or None) == (self.default_system or None):
            return NO_ROLE
        return next((n for n, r in self.roles.items() if r.system == self.current), "")

    def _fill(self, keep: str | None = None) -> None:
        """Show what the filter finds, the cursor on ``keep`` if shown, else on the first."""
        query = self.filter_input.value
        names = matching(self.roles, query)
        if not query.strip():
            names.insert(0, NO_ROLE)
        current = self.current_name()
        table = self.table
        table.clear()
        for name in names:
            mark = "●" if name == current else ""
            role = self.roles.get(name)
            table.add_row(*role_cells(role, mark, self.default_system), key=name)
        if keep in names:
            table.move_cursor(row=names.index(keep), animate=False, scroll=True)
        self._show_status()

    def _show_status(self) -> None:
        name = self.highlighted_key()
        role = self.roles.get(name) if name is not None else None
        if name is None:
            text = "No role matches: [roles.NAME] in config.toml adds one · Esc closes"
        elif role is None:
            system = self.default_system
            text = (
                f"The config's system prompt: {one_line(system, STATUS_CHARS)}"
                if system
                else ("No system prompt (system_prompt in config.toml sets one)")
            )
        else:
            source = "built-in" if role.builtin else "config.toml"
            text = f"{role.name} ({source}): {one_line(role.system, STATUS_CHARS)}"
        if name is not None:
            text += " · Enter uses it (a chat that has begun: from the next turn), Esc closes"
        self.query_one("#roles-status", Static).update(Content(safe_text(text)))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_status()

    @on(Input.Changed, "#roles-filter")
    def _filter_changed(self) -> None:
        self._fill()  # the best match first, highlighted

    # -- actions ----------------------------------------------------------------------

    @on(Input.Submitted, "#roles-filter")
    @on(DataTable.RowSelected)
    def action_select(self) -> None:
        name = self.highlighted_key()
        if name is not None:
            self.dismiss(name)

    def action_close(self) -> None:
        self.dismiss(None)
