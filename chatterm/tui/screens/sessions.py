"""The sessions screen: every saved chat, filtered as you type; open, rename, delete, replay.

The list is a :class:`~textual.widgets.DataTable`, which draws only the rows on screen,
so thousands of sessions scroll as smoothly as ten; it is read from the store's index on
a thread (the first listing of a folder parses every file), and filtering waits for a
pause in the typing before it fills the table again. Every piece of text is shown as
data: titles, models and problems go through ``safe_text`` into ``rich.text.Text``, which
never reads markup.

The filter matches the title, models, date and first message at once; then the full-text
index (:mod:`chatterm.sessions.search`, on a thread) looks for the words in every turn
of every chat, and the chats found only so are added below, two lines each: the title,
and the turn with a snippet, the words highlighted. Enter on one opens the chat at that
turn.

A file that cannot be read is listed with its problem; it cannot be opened, renamed or
replayed, only deleted (after asking), and it is never written to.

The screen is dismissed with the session to open (:class:`OpenSession`), or None.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Static
from textual.widgets.data_table import RowDoesNotExist

from chatterm.pricing import format_usd
from chatterm.sessions.index import SessionSummary
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.replay import Clock
from chatterm.sessions.store import SessionError
from chatterm.text import local_time, safe_text
from chatterm.tui.bindings import SESSIONS_BINDINGS
from chatterm.tui.screens.dialogs import ConfirmScreen, RenameScreen
from chatterm.tui.screens.filtered_table import FilteredTable
from chatterm.tui.screens.replay import ReplayScreen
from chatterm.tui.widgets.steady_footer import SteadyFooter

if TYPE_CHECKING:
    from chatterm.sessions.search_scan import SearchHit, SearchResults

FILTER_DELAY_S = 0.12  # typing pauses this long before the table is filled again
BODY_HITS = 200  # chats found by their text, at most, below those the filter matched
SNIPPET_CHARS = 40  # under the title (44 cells), after "↳ "
MATCH_STYLE = "bold reverse"
COLUMNS = (("title", "Title", 44), ("models", "Model", 26), ("date", "Updated", 16))
NUMBER_COLUMNS = (("turns", "Turns", 11), ("cost", "Cost", 12))


def cost_text(summary: SessionSummary) -> str:
    """``$0.012``, ``~$0.01`` (estimated), ``$0.01 + ?`` (some unknown), ``unknown``;
    ``–`` for a chat with no replies."""
    if not summary.replies:
        return "–"
    if summary.cost_unknown >= summary.replies:
        return "unknown"
    text = ("~" if summary.cost_estimated else "") + format_usd(summary.cost_usd)
    return text + " + ?" if summary.cost_unknown else text


def row_cells(summary: SessionSummary) -> list[Text]:
    if summary.problem is not None:
        problem = f"⚠ {summary.file_name}: {summary.problem}"
        return [Text(safe_text(problem), style="italic"), Text("unreadable"), *_blank(3)]
    return [
        Text(safe_text(summary.title or "untitled")),
        Text(safe_text(", ".join(summary.models))),
        Text(local_time(summary.updated)),
        Text(summary.turns_text, justify="right"),
        Text(cost_text(summary), justify="right"),
    ]


@dataclass(frozen=True, slots=True)
class OpenSession:
    """The session chosen: its file, and the turn to show (a search hit's index in the
    session's tree), if one was chosen."""

    ref: str
    tree_index: int | None = None


def snippet_text(hit: SearchHit) -> Text:
    """``↳ …the words…`` with the words highlighted (spans, never markup)."""
    line = Text("↳ ", style="dim")
    start = len(line)
    line.append(hit.snippet.text)  # made safe by the search
    for begin, end in hit.snippet.spans:
        line.stylize(MATCH_STYLE, start + begin, start + end)
    return line


def place_text(hit: SearchHit) -> Text:
    """Where the snippet is: ``turn 3 · answer``, ``turn 2 (alt) · prompt``."""
    where = f"turn {hit.turn}" + ("" if hit.active else " (alt)")
    return Text(f"{where} · {hit.snippet.field}", style="dim")


def _two_lines(first: Text, second: Text) -> Text:
    cell = first.copy()
    cell.append("\n")
    cell.append_text(second)
    cell.no_wrap = True
    cell.overflow = "ellipsis"
    return cell


def hit_cells(summary: SessionSummary, hit: SearchHit) -> list[Text]:
    """A chat found by its text: its row, with the snippet under the title and where it
    is under the models."""
    title, models, *rest = row_cells(summary)
    return [_two_lines(title, snippet_text(hit)), _two_lines(models, place_text(hit)), *rest]


def _chats(count: int) -> str:
    return f"{count:,} chat" + ("" if count == 1 else "s")


def _blank(count: int) -> list[Text]:
    return [Text("") for _ in range(count)]


class SessionsScreen(FilteredTable[OpenSession | None]):
    """The saved chats of ``keeper``'s store, newest first.

    Args:
        keeper: the app's session keeper (renaming or deleting the open chat goes
            through it, so the chat stays consistent).
        clock: monotonic seconds, for a replay started from here.
    """

    TABLE_ID = "sessions"
    FILTER_ID = "filter"

    BINDINGS: ClassVar[list[BindingType]] = [*SESSIONS_BINDINGS]

    DEFAULT_CSS = """
    SessionsScreen {
        layout: vertical;
        & > #filter {
            margin: 0 1;
        }
        & > DataTable {
            height: 1fr;
            margin: 0 1;
        }
        & > #sessions-status {
            height: 1;
            padding: 0 2;
            color: $text-muted;
        }
    }
    """

    def __init__(self, keeper: SessionKeeper, clock: Clock) -> None:
        super().__init__()
        self.keeper = keeper
        self._clock = clock
        self.summaries: list[SessionSummary] | None = None  # None until listed
        self.shown: list[SessionSummary] = []
        self._by_file: dict[str, SessionSummary] = {}
        self._filter_timer: Timer | None = None
        self._problem: str | None = None  # why the folder could not be listed
        # Chats found by their text (not by the filter), by file name, as shown below.
        self.body_hits: dict[str, SearchHit] = {}
        self._searched: str | None = None  # the filter text the body hits are for
        self._wanted: str | None = None  # the filter text to search for next
        self._searching: str | None = None  # what the search thread is doing, for the status

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Input(
            placeholder="Filter: words of the title, model or date, or of any message "
            '("a phrase", prefix*)',
            id="filter",
        )
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield Static(Content("Reading the sessions…"), id="sessions-status")
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.title = "chatterm"
        self.sub_title = "sessions"
        for key, label, width in COLUMNS:
            self.table.add_column(Text(label), width=width, key=key)
        for key, label, width in NUMBER_COLUMNS:  # right-aligned, over their numbers
            self.table.add_column(Text(label, justify="right"), width=width, key=key)
        self.filter_input.focus()
        self._load()

    @work(exclusive=True, group="list", exit_on_error=False)
    async def _load(self, select: str | None = None) -> None:
        """List the sessions and fill the table; the cursor goes to the file ``select``
        if it is shown, else to the first row."""
        try:
            summaries = await asyncio.to_thread(self.keeper.store.list)
        except SessionError as error:  # the folder itself cannot be read
            self._cannot_list(str(error))
            return
        except Exception as error:  # anything else: said in one line, not a silent hang
            self._cannot_list(
                f"cannot list {self.keeper.store.folder}: {type(error).__name__}: {error}"
            )
            return
        self._problem = None
        self.summaries = summaries
        self._by_file = {summary.file_name: summary for summary in summaries}
        self._fill()
        if select is not None and select in self._by_file:
            with contextlib.suppress(RowDoesNotExist):  # filtered out
                self.table.move_cursor(row=self.table.get_row_index(select))

    def _cannot_list(self, problem: str) -> None:
        self._problem = " ".join(problem.split())
        self.summaries = []
        self._by_file = {}
        self._fill()

    # -- the table --------------------------------------------------------------------

    def _fill(self) -> None:
        """Show the sessions that match the filter, the cursor on the first; then look
        for the words in every chat's text."""
        if self.summaries is None:
            return
        words = self.filter_input.value
        self.shown = list(self.summaries)
        if words.strip():
            self.shown = [summary for summary in self.shown if summary.matches(words)]
        table = self.table
        table.clear()
        self.body_hits = {}
        self._searched = None
        for summary in self.shown:
            table.add_row(*row_cells(summary), key=summary.file_name)
        self._show_count()
        self._search_bodies(words)

    # -- the text of every chat ---------------------------------------------------------

    def _search_bodies(self, words: str) -> None:
        from chatterm.sessions.search_query import parse_query

        if not parse_query(words) or not self.summaries:
            self._wanted = None
            return
        self._wanted = words
        if self._searching is None:
            self._searching = "Searching the text of every chat…"
            self._show_count()
            self._run_searches()

    @work(group="bodies", exit_on_error=False)
    async def _run_searches(self) -> None:
        """Search for the latest filter text, one search at a time (a search that builds
        the index takes a while; the words typed meanwhile are searched after it)."""
        from chatterm.sessions.search_query import parse_query
        from chatterm.sessions.search_scan import SearchError, SearchResults

        index = self.keeper.store.search_index()

        def indexing(count: int) -> None:
            def say() -> None:
                self._searching = f"Indexing {_chats(count)} for search (once)…"
                self._show_count()

            self.app.call_from_thread(say)

        try:
            while self._wanted is not None:
                words, self._wanted = self._wanted, None
                try:
                    results = await asyncio.to_thread(
                        index.search,
                        parse_query(words),
                        limit=BODY_HITS,
                        snippet_chars=SNIPPET_CHARS,
                        progress=indexing,
                    )
                except SearchError as error:
                    results = SearchResults(notes=[str(error)])
                if self._wanted is None and words == self.filter_input.value:
                    self._show_hits(words, results)
        finally:
            self._searching = None  # also when the screen closes (the worker is cancelled)
        self._show_count()

    def _show_hits(self, words: str, results: SearchResults) -> None:
        """Add the chats found by their text that the filter did not show, below."""
        for note in results.notes:
            self.notify(safe_text(note), severity="warning", markup=False, timeout=6)
        shown = {summary.file_name for summary in self.shown}
        table = self.table
        for hit in results.hits:
            summary = self._by_file.get(hit.file_name)
            if summary is None or hit.file_name in shown or hit.file_name in self.body_hits:
                continue  # listed by the filter already, or new since the list was read
            self.body_hits[hit.file_name] = hit
            table.add_row(*hit_cells(summary, hit), key=hit.file_name, height=2)
        self._searched = words
        self._show_count()

    def _show_count(self) -> None:
        """The status line: how many chats are shown, or what is wrong with the
        highlighted file (its problem is cut short in the table)."""
        summary = self.highlighted()
        total = len(self.summaries or [])
        found = len(self.body_hits)
        if self._problem is not None:
            self._status(f"⚠ {self._problem}")
        elif summary is not None and summary.problem is not None:
            self._status(f"⚠ {summary.file_name} cannot be read: {summary.problem}")
        elif not total:
            self._status("No saved chats yet: each chat is saved from its first message.")
        elif len(self.shown) == total:
            self._status(f"{_chats(total)} · Enter opens")
        else:
            line = f"{len(self.shown):,} of {_chats(total)} match"
            if self._searching is not None:
                line += f" · {self._searching}"
            elif self._searched is not None:
                more = f"{found:,} more hold" if found != 1 else "1 more holds"
                line += f" · {more} the words in their text" if found else ""
            hit = self.highlighted_hit()
            opens = f"Enter opens it at turn {hit.turn}" if hit is not None else "Enter opens"
            self._status(f"{line} · {opens}")

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_count()

    def _status(self, text: str) -> None:
        self.query_one("#sessions-status", Static).update(Content(safe_text(text)))

    @on(Input.Changed, "#filter")
    def _filter_changed(self) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DELAY_S, self._fill)

    def highlighted(self) -> SessionSummary | None:
        key = self.highlighted_key()
        return self._by_file.get(key) if key is not None else None

    def highlighted_hit(self) -> SearchHit | None:
        """The search hit under the cursor, if the row is one."""
        key = self.highlighted_key()
        return self.body_hits.get(key) if key is not None else None

    def _ref(self, summary: SessionSummary) -> str:
        return str(self.keeper.store.folder / summary.file_name)

    def _readable(self) -> SessionSummary | None:
        """The highlighted session, if it can be read (else say why not)."""
        summary = self.highlighted()
        if summary is not None and summary.problem is not None:
            self.notify(
                safe_text(f"{summary.file_name} cannot be read: {summary.problem}"),
                severity="error",
                markup=False,
            )
            return None
        return summary

    # -- actions ----------------------------------------------------------------------

    @on(Input.Submitted, "#filter")
    @on(DataTable.RowSelected)
    def action_open(self) -> None:
        summary = self._readable()
        if summary is not None:
            hit = self.body_hits.get(summary.file_name)
            self.dismiss(OpenSession(self._ref(summary), hit.tree_index if hit else None))

    def action_back(self) -> None:
        self.dismiss(None)

    def action_replay(self) -> None:
        summary = self._readable()
        if summary is None:
            return
        try:
            session = self.keeper.store.load(self._ref(summary))
        except SessionError as error:
            self.notify(safe_text(str(error)), severity="error", markup=False)
            return
        self.app.push_screen(ReplayScreen(session, clock=self._clock))

    def action_rename(self) -> None:
        summary = self._readable()
        if summary is None:
            return

        def renamed(title: str | None) -> None:
            if title is None:
                return
            try:
                session = self.keeper.rename(self._ref(summary), title)
                name = self.keeper.store.path_for(session).name
            except SessionError as error:
                self.notify(safe_text(str(error)), severity="error", markup=False)
                return
            # Listed again, so the renamed chat (now the newest) moves to the top, with
            # the cursor on it.
            self._load(select=name)

        self.app.push_screen(RenameScreen(summary.title), renamed)

    def action_delete(self) -> None:
        summary = self.highlighted()
        if summary is None:
            return
        name = summary.file_name if summary.problem is not None else summary.title or summary.id
        question = f"Delete “{name}”? Its file is removed for good."

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.keeper.delete(self._ref(summary))
            except SessionError as error:
                self.notify(safe_text(str(error)), severity="error", markup=False)
                return
            for rows in (self.summaries or [], self.shown):
                if summary in rows:
                    rows.remove(summary)
            del self._by_file[summary.file_name]
            self.body_hits.pop(summary.file_name, None)
            self.table.remove_row(summary.file_name)
            self._show_count()
            self.notify(safe_text(f"Deleted “{name}”."), markup=False, timeout=3)

        self.app.push_screen(ConfirmScreen(question), answered)
