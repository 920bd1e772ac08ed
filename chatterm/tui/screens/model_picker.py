"""The model picker: every model chatterm can offer, filtered as you type.

The list is :func:`chatterm.catalogue.listing.catalogue`: each provider's common models, the
models the config names, and the models servers listed (:mod:`chatterm.catalogue.discovery`). It
opens at once on what is known without the network (the discovery cache, however old, and
no prices); the prices are then looked up on a thread and, when a server's cached list is
stale, the servers are asked again in the background. The list is filled again when either
arrives, the highlighted model kept.

Each row shows the model, whether it reasons, its context window, its input and output
price in US dollars per million tokens and whether its key is set. Choosing a model whose
key is missing (or that cannot be used at all) says how to fix it and keeps the picker
open. Names come from the config and from servers: they are shown through ``safe_text``
in ``rich.text.Text``, never as markup.

The screen is dismissed with the chosen ``provider:model``, or None.
:class:`CompareModelsScreen` is the same list for choosing the two to four models of a
comparison (:mod:`chatterm.tui.screens.chat_compare`): Space (or a click) chooses or
unchooses the highlighted model, Enter compares them, and it is dismissed with the models
in the order they were chosen. Model references hold no spaces, so the filter does
without them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from chatterm.catalogue.discovery import cached_discovery, discover
from chatterm.catalogue.listing import CatalogueEntry, catalogue
from chatterm.config import Settings
from chatterm.text import safe_text
from chatterm.tui.bindings import COMPARE_PICKER_BINDINGS, PICKER_BINDINGS
from chatterm.tui.screens.filtered_table import FilteredTable, modal_list_css

COLUMNS = (  # with a cell's padding, 94 columns: the box is 100 wide
    ("mark", "", 2),
    ("model", "Model", 40),
    ("reasoning", "Reasons", 7),
    ("context", "Context", 7),
    ("input", "In $/M", 7),
    ("output", "Out $/M", 7),
    ("key", "Key", 10),
)


def price_text(usd: float | None, entry: CatalogueEntry) -> str:
    """Dollars per million tokens: ``0.25``, ``0.40``, ``0.025``, ``local``, ``?`` when not
    known; ``+`` marks the lowest tier of a price that rises with the prompt's size."""
    if entry.price_source == "local":
        return "local"
    if usd is None:
        return "?"
    text = f"{usd:.2f}" if usd >= 0.1 or round(usd, 2) == usd else f"{usd:.3f}"
    return text + ("+" if entry.price_tiered else "")


def context_text(tokens: int | None) -> str:
    if tokens is None:
        return ""
    if tokens >= 1_000_000:
        return f"{round(tokens / 1_000_000, 1):g}M"
    return f"{round(tokens / 1000)}k"


def key_text(entry: CatalogueEntry) -> str:
    if entry.key_problem:
        return "missing" if entry.key_env else "unusable"
    return "set" if entry.key_env else "not needed"


def row_cells(entry: CatalogueEntry, mark: str) -> list[Text]:
    key = key_text(entry)
    return [
        Text(mark, style="bold"),
        Text(safe_text(entry.ref)),
        Text("yes" if entry.reasoning else "no"),
        Text(context_text(entry.context_window), justify="right"),
        Text(price_text(entry.input_per_mtok, entry), justify="right"),
        Text(price_text(entry.output_per_mtok, entry), justify="right"),
        Text(key, style="bold" if key in ("missing", "unusable") else ""),
    ]


class ModelNameFilter(Input):
    """The compare list's filter: it leaves Space to the list, which chooses with it (no
    model reference holds a space)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key != "space" and super().check_consume_key(key, character)


MAX_COMPARED = 4  # models in one comparison: more columns would each be too narrow

PickResult = TypeVar("PickResult")


# ModalScreen first: Textual gathers default CSS along the chain of first bases only.
class ModelListScreen(ModalScreen[PickResult], FilteredTable[PickResult]):
    """The list of models, filtered as you type; the subclasses say what choosing does.

    Args:
        settings: the configuration (its providers, models and prices).
        env: the environment (API keys, ``OLLAMA_HOST``, ``OPENAI_BASE_URL``).
        current: the model in use (marked ``●`` and highlighted).
        favourites: the models on alt+1…alt+9 (marked with their number).
        discover: ask servers whose cached list of models is stale, in the background.
    """

    TABLE_ID = "picker-table"
    FILTER_ID = "picker-filter"
    BOX_TITLE = "Models"
    FILTER_TYPE: ClassVar[type[Input]] = Input

    DEFAULT_CSS = modal_list_css("ModelListScreen", "picker-status")

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str],
        *,
        current: str,
        favourites: Sequence[str] = (),
        discover: bool = True,
        title: str | None = None,
    ) -> None:
        super().__init__()
        self.box_title = title or self.BOX_TITLE
        # The current model and the favourites are listed even when nothing else names them.
        named = (*settings.model_cycle, current, *favourites)
        self.settings = replace(settings, model_cycle=tuple(dict.fromkeys(named)))
        self.env = env
        self.current = current
        self.favourites = tuple(favourites)
        self.discover = discover
        self.entries: list[CatalogueEntry] = []
        self.shown: list[CatalogueEntry] = []
        self.discovered: dict[str, tuple[str, ...]] = {}
        self.notes: dict[str, str] = {}
        self.refreshing = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.box_title
            yield self.FILTER_TYPE(placeholder="Filter models (fuzzy)", id="picker-filter")
            yield DataTable(id="picker-table", cursor_type="row", zebra_stripes=True)
            yield Static(Content(""), id="picker-status")

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, width=width, key=key)
        cached = cached_discovery(self.settings, self.env)
        self.discovered = dict(cached.models)
        self.notes = dict(cached.notes)
        self.entries = catalogue(self.settings, self.env, self.discovered, with_prices=False)
        self._fill(keep=self.current)
        self.filter_input.focus()
        self.refreshing = True
        self._refresh(ask_servers=self.discover and bool(cached.stale))

    @work(exclusive=True, group="models", exit_on_error=False)
    async def _refresh(self, ask_servers: bool) -> None:
        """Prices first (a thread: the price table is slow to load), then what the
        servers say, each shown as it arrives."""
        try:
            await self._priced()
            if ask_servers:
                self._show_status()
                found = await discover(self.settings, self.env)
                self.discovered.update(found.models)
                self.notes = dict(found.notes)
                await self._priced()
        finally:
            self.refreshing = False
            self._show_status()

    async def _priced(self) -> None:
        discovered = dict(self.discovered)
        self.entries = await asyncio.to_thread(catalogue, self.settings, self.env, discovered)
        self._fill(keep=self.highlighted_ref())

    # -- the table --------------------------------------------------------------------

    def _mark(self, ref: str) -> str:
        if ref == self.current:
            return "●"
        if ref in self.favourites:
            return str(self.favourites.index(ref) + 1)
        return ""

    def _fill(self, keep: str | None = None) -> None:
        """Show the entries matching the filter (best match first), the cursor on
        ``keep`` if it is shown, else on the first row."""
        query = self.filter_input.value.strip()
        if query:
            matcher = Matcher(query)
            scored = [(matcher.match(entry.ref), entry) for entry in self.entries]
            ranked = sorted((item for item in scored if item[0] > 0), key=lambda i: -i[0])
            self.shown = [entry for _, entry in ranked]
        else:
            self.shown = list(self.entries)
        table = self.table
        table.clear()
        for entry in self.shown:
            table.add_row(*row_cells(entry, self._mark(entry.ref)), key=entry.ref)
        refs = [entry.ref for entry in self.shown]
        if keep in refs:
            table.move_cursor(row=refs.index(keep), animate=False, scroll=True)
        self._show_status()

    def highlighted(self) -> CatalogueEntry | None:
        ref = self.highlighted_key()
        return next((e for e in self.shown if e.ref == ref), None) if ref is not None else None

    def highlighted_ref(self) -> str | None:
        entry = self.highlighted()
        return entry.ref if entry is not None else None

    def _show_status(self) -> None:
        entry = self.highlighted()
        if entry is not None and entry.key_problem:
            text = f"⚠ {entry.ref}: {entry.key_problem}"
        else:
            count = str(len(self.entries))
            if len(self.shown) != len(self.entries):
                count = f"{len(self.shown)} of {count}"
            text = f"{count} models · prices in $ per million tokens"
            if self.refreshing:
                text += " · looking up prices and servers…"
            elif self.notes:
                text += " · " + "; ".join(self.notes.values())
            text += " · " + self.status_hint()
        self.query_one("#picker-status", Static).update(Content(safe_text(text)))

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_status()

    @on(Input.Changed, "#picker-filter")
    def _filter_changed(self) -> None:
        self._fill()  # the best match first, highlighted

    def status_hint(self) -> str:
        return "Enter switches, Esc closes"

    # -- actions ----------------------------------------------------------------------

    def usable_highlighted(self) -> CatalogueEntry | None:
        """The highlighted model, if it can be used; if its key is missing, say how to fix
        it (the list stays open)."""
        entry = self.highlighted()
        if entry is None:
            return None
        if entry.key_problem:
            self.notify(
                safe_text(f"{entry.ref} cannot be used yet: {entry.key_problem}"),
                severity="warning",
                markup=False,
                timeout=8,
            )
            return None
        return entry

    @on(Input.Submitted, "#picker-filter")
    def _submitted(self) -> None:
        self.action_select()

    @on(DataTable.RowSelected)
    def _row_selected(self) -> None:
        self.row_chosen()

    def action_select(self) -> None:
        """Enter: what choosing means on this list."""

    def row_chosen(self) -> None:
        """A row clicked (or Enter on the list itself)."""
        self.action_select()

    def action_close(self) -> None:
        self.dismiss(None)


class ModelPickerScreen(ModelListScreen[str | None]):
    """Pick a model; dismissed with its reference, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [*PICKER_BINDINGS]

    def action_select(self) -> None:
        entry = self.usable_highlighted()
        if entry is not None:
            self.dismiss(entry.ref)


class CompareModelsScreen(ModelListScreen[tuple[str, ...] | None]):
    """Choose two to four models to answer one prompt side by side; dismissed with them
    in the order chosen, or None.

    Args:
        chosen: the models chosen when the list opens (the current one, or the last
            comparison's).
    """

    BOX_TITLE = "Compare models"
    FILTER_TYPE = ModelNameFilter
    BINDINGS: ClassVar[list[BindingType]] = [*COMPARE_PICKER_BINDINGS]

    def __init__(
        self,
        settings: Settings,
        env: Mapping[str, str],
        *,
        current: str,
        chosen: Sequence[str] = (),
        favourites: Sequence[str] = (),
        discover: bool = True,
    ) -> None:
        named = (*settings.model_cycle, *chosen)
        settings = replace(settings, model_cycle=tuple(dict.fromkeys(named)))
        super().__init__(settings, env, current=current, favourites=favourites, discover=discover)
        self.chosen: list[str] = list(dict.fromkeys(chosen))[:MAX_COMPARED]

    def _mark(self, ref: str) -> str:
        return "✓" if ref in self.chosen else super()._mark(ref)

    def status_hint(self) -> str:
        chosen = ", ".join(self.chosen) if self.chosen else "none"
        return f"chosen: {chosen} · Space chooses, Enter compares, Esc closes"

    def action_choose_model(self) -> None:
        """Choose the highlighted model, or unchoose it."""
        entry = self.highlighted()
        if entry is None:
            return
        if entry.ref in self.chosen:
            self.chosen.remove(entry.ref)
        elif len(self.chosen) >= MAX_COMPARED:
            self.notify(
                f"At most {MAX_COMPARED} models side by side: Space on a chosen one unchooses it.",
                severity="warning",
                markup=False,
            )
            return
        elif self.usable_highlighted() is None:
            return
        else:
            self.chosen.append(entry.ref)
        self.table.update_cell(entry.ref, "mark", row_cells(entry, self._mark(entry.ref))[0])
        self._show_status()

    def row_chosen(self) -> None:
        self.action_choose_model()

    def action_select(self) -> None:
        if len(self.chosen) < 2:
            self.notify(
                f"Choose 2 to {MAX_COMPARED} models with Space, then Enter compares them.",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(tuple(self.chosen))
