"""``chatterm sessions …``: list, search, show, fork, rename, delete and export saved sessions.

Exit codes follow the rest of the command line: 0 done, 1 a session file (or the sessions
folder) could not be read or written, 2 bad usage (an unknown id, an ambiguous prefix, an
export that would overwrite a file, a turn out of range, a search with no words). Every
piece of session text printed for people goes through :func:`safe_text`. ``show`` prints
the active path and marks each turn that has alternatives with which one it is
(``[2/3]``); ``fork`` copies the active path into a new session; ``search`` goes through
the full-text index (:mod:`chatterm.sessions.search`), whose notes go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TextIO

from chatterm.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandFailed, fail, wants_color
from chatterm.cli.printer import PlainPrinter, bold, dim, json_line
from chatterm.config import load_settings
from chatterm.errors import ConfigError
from chatterm.events import Event, ReasoningDelta, TextDelta
from chatterm.files import atomic_write, file_problem, replaceable, same_file
from chatterm.pricing import format_usd
from chatterm.reply.figures import session_cost
from chatterm.sessions.codec import ExportFormat
from chatterm.sessions.export import export_session
from chatterm.sessions.index import SessionSummary
from chatterm.sessions.model import Session, TimelineEntry, Turn, new_session
from chatterm.sessions.store import SessionError, SessionNotFound, SessionSaveFailed, SessionStore
from chatterm.text import local_time, safe_text, visible_line

MODELS_WIDTH = 40


# -- the command line ---------------------------------------------------------------------


def sessions_command(args: argparse.Namespace, *, stdout: TextIO, env: Mapping[str, str]) -> int:
    out = stdout
    store = SessionStore()
    command = args.sessions_command or "list"
    try:
        if command == "list":
            return list_sessions(store, out, json_lines=getattr(args, "json", False))
        if command == "search":
            return search_sessions(
                store,
                " ".join(args.query),
                out,
                json_lines=args.json,
                limit=args.limit or None,
                color=wants_color(out, env),
            )
        if command == "show":
            return show_session(store, args.session, out, color=wants_color(out, env))
        if command == "fork":
            return fork_session(store, args.session, args.at_turn, out)
        if command == "rename":
            return rename_session(store, args.session, " ".join(args.title), out)
        if command == "delete":
            return delete_session(store, args.session, out)
        return export_command(store, args, out)
    except CommandFailed as exc:
        return fail(str(exc), exc.code)


def find_session(store: SessionStore, ref: str) -> Path:
    """The file named by ``ref``; :class:`CommandFailed` with exit code 2 if there is no
    such session or the prefix is ambiguous, 1 if the sessions folder cannot be read."""
    try:
        return store.find(ref)
    except SessionNotFound as exc:
        raise CommandFailed(str(exc), EXIT_USAGE) from None
    except SessionError as exc:
        raise CommandFailed(str(exc), EXIT_FAILED) from None


def load_session(store: SessionStore, ref: str) -> tuple[Path, Session]:
    """The file and the session named by ``ref``; :class:`CommandFailed` with exit code 2
    if there is no such session (or the prefix is ambiguous), 1 if its file is unreadable."""
    path = find_session(store, ref)
    try:
        return path, store.load_path(path)
    except SessionError as exc:
        raise CommandFailed(str(exc), EXIT_FAILED) from None


# -- list -------------------------------------------------------------------------------


def cost_cell(summary: SessionSummary) -> str:
    """The session's cost in the words of the stats bar: ``$0.012``, ``~$0.01``,
    ``$0.004 + unknown``, ``unknown``."""
    if summary.replies == 0:
        return "–"
    if summary.cost_unknown >= summary.replies:
        return "unknown"
    text = ("~" if summary.cost_estimated else "") + format_usd(summary.cost_usd)
    return text + " + unknown" if summary.cost_unknown else text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_row(summary: SessionSummary) -> list[str]:
    if summary.problem is not None:
        problem = f"cannot read {summary.file_name}: {summary.problem}"
        return [visible_line(summary.id), "–", "–", "–", "–", visible_line(problem)]
    return [
        visible_line(summary.id),
        local_time(summary.updated),
        summary.turns_text,
        _cut(visible_line(", ".join(summary.models)), MODELS_WIDTH) or "–",
        cost_cell(summary),
        visible_line(summary.title) or "untitled",
    ]


def list_sessions(store: SessionStore, out: TextIO, *, json_lines: bool = False) -> int:
    try:
        summaries = store.list()
    except SessionError as exc:  # the folder itself cannot be read
        raise CommandFailed(str(exc), EXIT_FAILED) from None
    if json_lines:
        for summary in summaries:
            record: dict[str, Any] = asdict(summary)
            del record["figures"]  # every reply's: `chatterm stats` adds them up
            record["models"] = list(summary.models)
            record["path"] = str(store.folder / summary.file_name)
            out.write(json_line(record) + "\n")
        out.flush()
        return EXIT_OK
    if not summaries:
        out.write(f"no saved sessions yet (they go in {safe_text(str(store.folder))})\n")
        return EXIT_OK
    header = ["ID", "UPDATED", "TURNS", "MODELS", "COST", "TITLE"]
    rows = [summary_row(summary) for summary in summaries]
    widths = [max(len(row[col]) for row in [header, *rows]) for col in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [
            cell.rjust(widths[col]) if col == 2 else cell.ljust(widths[col])
            for col, cell in enumerate(row[:-1])
        ]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    out.flush()
    return EXIT_OK


# -- search -----------------------------------------------------------------------------


def search_sessions(
    store: SessionStore,
    text: str,
    out: TextIO,
    *,
    json_lines: bool = False,
    limit: int | None = None,
    color: bool = False,
) -> int:
    """The sessions that hold every word of ``text``, newest first, each with a turn and a
    snippet (the match in bold on a terminal)."""
    from chatterm.sessions.search_query import parse_query
    from chatterm.sessions.search_scan import SearchError

    query = parse_query(text)
    if not query:
        raise CommandFailed(
            "give words to search for (letters or digits; see chatterm sessions search --help)",
            EXIT_USAGE,
        )

    def indexing(count: int) -> None:
        note(f"indexing {count:,} sessions for search (once: later searches read only changes)…")

    try:
        results = store.search_index().search(query, limit=limit, progress=indexing)
    except SearchError as exc:
        raise CommandFailed(str(exc), EXIT_FAILED) from None
    for line in results.notes:
        note(line)
    if json_lines:
        for hit in results.hits:
            record = {
                "id": hit.session_id,
                "title": hit.title,
                "updated": hit.updated,
                "path": str(store.folder / hit.file_name),
                "turn": hit.turn,
                "tree_index": hit.tree_index,
                "active": hit.active,
                "field": hit.snippet.field,
                "snippet": hit.snippet.text,
                "matches": [list(span) for span in hit.snippet.spans],
                "turns_matched": hit.turns_matched,
            }
            out.write(json_line(record) + "\n")
        out.flush()
        return EXIT_OK
    if not results.hits:
        out.write("no saved session holds those words\n")
        return EXIT_OK
    for hit in results.hits:
        title = visible_line(hit.title) or "untitled"
        out.write(f"{visible_line(hit.session_id)}  {local_time(hit.updated)}  {title}\n")
        place = f"turn {hit.turn}" + ("" if hit.active else " (an alternative)")
        more = hit.turns_matched - 1
        if more:
            place += f" and {more} more turn{'' if more == 1 else 's'}"
        out.write("  " + dim(f"{place} · {hit.snippet.field}:", color) + " ")
        out.write(marked_snippet(hit.snippet.text, hit.snippet.spans, color) + "\n")
    left = results.total - len(results.hits)
    if left > 0:
        rest = f"… and {left:,} more session{'' if left == 1 else 's'} (--limit 0 shows all)"
        out.write(dim(rest, color) + "\n")
    out.flush()
    return EXIT_OK


def marked_snippet(text: str, spans: tuple[tuple[int, int], ...], color: bool) -> str:
    """A snippet (safe text already) with its matches in bold when ``color``."""
    if not color:
        return text
    pieces: list[str] = []
    at = 0
    for start, end in spans:
        pieces += [text[at:start], bold(text[start:end], color)]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


def note(line: str) -> None:
    """A line for the person running the command, on stderr (never in the output)."""
    if sys.stderr is not None:
        sys.stderr.write(f"chatterm: {safe_text(line)}\n")
        sys.stderr.flush()


# -- show -------------------------------------------------------------------------------


def write_prompt(out: TextIO, turn: Turn, *, color: bool, place: tuple[int, int] = (1, 1)) -> None:
    """The user's message under a ``you`` rule, then a rule naming the model that replied.
    ``place``: which of the alternatives at the turn's place it is, and how many there are;
    the rule says so when there are several (``── you ── [2/3]``). Each file attached to
    the prompt follows it on a line of its own (``attached: name · kind · size``)."""
    alternative, alternatives = place
    mark = f" [{alternative}/{alternatives}]" if alternatives > 1 else ""
    out.write(dim(f"── you ──{mark}", color) + "\n")
    prompt = safe_text(turn.prompt).rstrip("\n")
    out.write(prompt + "\n")
    for ref in turn.attachments:  # the name made visible, like every text shown
        out.write(dim(f"attached: {ref.describe()}", color) + "\n")
    summary = " (summary: sent instead of the turns above)" if turn.compacts else ""
    out.write(dim(f"── {visible_line(turn.model)}{summary} ──", color) + "\n")


def write_turn(out: TextIO, turn: Turn, *, color: bool, place: tuple[int, int] = (1, 1)) -> None:
    """One turn as ``chatterm ask`` prints a reply, after its prompt (see
    :func:`write_prompt` for ``place``)."""
    write_prompt(out, turn, color=color, place=place)
    printer = PlainPrinter(out, out, color=color)
    events: list[Event] = []
    if turn.reasoning:
        events.append(ReasoningDelta(turn.reasoning))
    if turn.answer:
        events.append(TextDelta(turn.answer))
    if turn.error is not None:
        events.append(turn.error)
    for event in events:
        printer.event(event)
    printer.done(turn.to_reply())


def write_header(out: TextIO, session: Session, *, color: bool) -> None:
    out.write((visible_line(session.title) or "untitled") + "\n")
    models = ", ".join(session.models) or "no replies"
    session.sync()
    turns, alternatives = len(session.turns), len(session.tree) - len(session.turns)
    count = f"{turns} turn{'' if turns == 1 else 's'}"
    if alternatives:
        count += f" ({alternatives} alternative{'' if alternatives == 1 else 's'})"
    facts = [
        session.id,
        local_time(session.created),
        count,
        models,
        session_cost(session.costs()),
    ]
    out.write(dim(visible_line(" · ".join(facts)), color) + "\n")
    if session.system:
        out.write(dim("system: ", color) + safe_text(session.system).rstrip("\n") + "\n")


def write_system_switch(out: TextIO, system: str | None, *, color: bool) -> None:
    """The system prompt a turn, and the turns after it, were sent with instead of the
    one before (a role chosen mid-chat)."""
    text = safe_text(system).rstrip("\n") if system else "none"
    out.write(dim("system from here on: ", color) + text + "\n")


def show_session(store: SessionStore, ref: str, out: TextIO, *, color: bool) -> int:
    _, session = load_session(store, ref)
    write_header(out, session, color=color)
    switches = session.system_switches()
    for position, (turn, place) in enumerate(zip(session.turns, session.places(), strict=True)):
        out.write("\n")
        if position in switches:
            write_system_switch(out, switches[position], color=color)
        write_turn(out, turn, color=color, place=place)
    out.flush()
    return EXIT_OK


# -- fork -------------------------------------------------------------------------------


def turn_in_range(option: str, number: int, session: Session) -> int:
    """``number`` (from 1) if the session's active path has such a turn; otherwise
    :class:`CommandFailed` (exit code 2) naming the valid range."""
    count = len(session.turns)
    if count == 0:
        raise CommandFailed(
            f"session {visible_line(session.id)} has no turns on its active path", EXIT_USAGE
        )
    if not 1 <= number <= count:
        valid = "1" if count == 1 else f"1 to {count}"
        raise CommandFailed(
            f"{option} {number} is out of range: session {visible_line(session.id)} has "
            f"{count} turn{'' if count == 1 else 's'} on its active path (give {valid})",
            EXIT_USAGE,
        )
    return number


def forked_turn(turn: Turn) -> Turn:
    """A copy of ``turn`` for another session: its text, figures and timeline. A reply
    still streaming elsewhere (or killed) reads as interrupted: nothing streams into the
    copy."""
    timeline = [TimelineEntry(e.offset_ms, e.kind, e.text) for e in turn.timeline]
    copy = replace(turn, timeline=timeline, parent=None)
    if copy.in_progress:
        copy.finish_reason = "interrupted"
    return copy


def fork_session(store: SessionStore, ref: str, at_turn: int | None, out: TextIO) -> int:
    """Copy the active path up to and including turn ``at_turn`` (default: all of it) into
    a new session, saved in the config's ``session_format``; the original is not changed."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise CommandFailed(str(exc), EXIT_USAGE) from None
    _, session = load_session(store, ref)
    last = turn_in_range("--at-turn", len(session.turns) if at_turn is None else at_turn, session)
    fork = new_session(system=session.system)
    fork.title = f"{session.title or 'untitled'} (fork)"
    for turn in session.turns[:last]:
        fork.add(forked_turn(turn))
    try:
        SessionStore(store.folder, new_format=settings.session_format).save(fork)
    except SessionSaveFailed as exc:
        fix = "free space or fix the folder's permissions, then fork it again"
        raise CommandFailed(exc.for_command("nothing was forked", fix), EXIT_FAILED) from None
    except SessionError as exc:
        raise CommandFailed(str(exc), EXIT_FAILED) from None
    out.write(
        f"forked session {visible_line(session.id)} at turn {last} as {visible_line(fork.id)}\n"
    )
    return EXIT_OK


# -- rename, delete ---------------------------------------------------------------------


def rename_session(store: SessionStore, ref: str, title: str, out: TextIO) -> int:
    title = " ".join(title.split())
    if not title:
        raise CommandFailed("the new title is empty", EXIT_USAGE)
    path, session = load_session(store, ref)
    session.title = title
    session.touch()
    try:
        saved = store.save(session)
    except SessionSaveFailed as exc:  # worded for a command that ends: nothing is kept
        fix = "free space or fix the folder's permissions, then rename it again"
        raise CommandFailed(exc.for_command("the title is unchanged", fix), EXIT_FAILED) from None
    except SessionError as exc:
        raise CommandFailed(str(exc), EXIT_FAILED) from None
    if same_file(saved, path):
        out.write(f"renamed {visible_line(session.id)} to {visible_line(title)}\n")
    else:  # a file outside the sessions folder: the store saves a copy in the folder
        out.write(
            f"saved a renamed copy as {safe_text(str(saved))} (the file you named is unchanged)\n"
        )
    return EXIT_OK


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is in ``folder`` or below it, links resolved."""
    return path.resolve().is_relative_to(folder.resolve())


def delete_session(store: SessionStore, ref: str, out: TextIO) -> int:
    """Only files in the sessions folder: a path elsewhere is not ours to delete."""
    path = find_session(store, ref)
    if path.parent.resolve() != store.folder.resolve():
        raise CommandFailed(
            f"{path} is not in the sessions folder ({store.folder}); delete it yourself",
            EXIT_USAGE,
        )
    try:
        store.delete(str(path))
    except SessionError as exc:
        raise CommandFailed(str(exc), EXIT_FAILED) from None
    out.write(f"deleted session {visible_line(path.stem)} ({safe_text(str(path))})\n")
    return EXIT_OK


# -- export -----------------------------------------------------------------------------


def export_command(store: SessionStore, args: argparse.Namespace, out: TextIO) -> int:
    fmt: ExportFormat = args.format
    output: str | None = args.output
    target = None if output in (None, "-") else Path(str(output)).expanduser()
    if target is not None:
        # Checked before loading, so a mistake costs nothing.
        try:
            if target.is_dir():
                raise CommandFailed(f"{target} is a folder; give a file name", EXIT_USAGE)
            replaceable(target)  # never a FIFO, a device or a link to nothing, even forced
            exists = target.exists()
            folder_missing = not target.parent.is_dir()
        except OSError as exc:  # a folder on the way that cannot be looked into
            raise CommandFailed(f"cannot write {target}: {file_problem(exc)}", EXIT_USAGE) from None
        if exists and not args.force:
            raise CommandFailed(f"{target} already exists; use --force to overwrite it", EXIT_USAGE)
        if folder_missing:
            raise CommandFailed(f"no folder {target.parent} to write {target.name} in", EXIT_USAGE)
        if _inside(target, store.folder):  # even with --force: those files are sessions
            raise CommandFailed(
                f"{target} is in the sessions folder ({store.folder}); export somewhere else",
                EXIT_USAGE,
            )
    path, session = load_session(store, args.session)
    if target is not None and target.exists() and same_file(target, path):
        raise CommandFailed(
            f"{target} is the session's own file; export somewhere else", EXIT_USAGE
        )
    data = export_session(session, fmt)
    if target is None:
        buffer = getattr(out, "buffer", None)
        out.flush()
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            out.write(data.decode("utf-8"))
            out.flush()
        return EXIT_OK
    try:
        atomic_write(target, data)
    except OSError as exc:
        raise CommandFailed(f"cannot write {target}: {file_problem(exc)}", EXIT_FAILED) from None
    out.write(f"exported session {visible_line(session.id)} to {safe_text(str(target))}\n")
    return EXIT_OK
