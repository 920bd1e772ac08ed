"""``chatterm replay SESSION``: a saved conversation streamed again with its original timing.

It plays the active path (the branch shown), or with ``--turn N`` that one turn of it, and
with ``--alternative K`` the K-th reply written at that turn instead of the one shown. On a
terminal it opens the TUI's replay view; with ``--plain`` (or when stdout is not a
terminal) the turns go through the same printers as ``chatterm ask``, and ``--json`` gives
``ask``'s JSON Lines with a ``prompt`` record before each turn. Nothing here touches the
network. Exit codes: 0 played to the end, 1 stopped with Ctrl+C or an unreadable file, 2 bad
usage (an unknown id, a negative speed, a turn or alternative out of range).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping, Sequence
from typing import TextIO

from chatterm.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CommandFailed, fail, wants_color
from chatterm.cli.printer import (
    JsonLinesPrinter,
    PlainComparison,
    PlainPrinter,
    compare_record,
    compare_tags,
    dim,
    json_line,
)
from chatterm.cli.sessions import forked_turn, load_session, turn_in_range, write_prompt
from chatterm.config import Settings, load_settings
from chatterm.errors import ConfigError
from chatterm.events import Event
from chatterm.reply.accumulate import Reply
from chatterm.reply.sink import Sink, pump
from chatterm.sessions.model import Session
from chatterm.sessions.replay import RecordedTurn, ReplayControl, Sleep, replay_turns
from chatterm.sessions.store import SessionStore
from chatterm.text import safe_text, visible_line


class StoppedWithoutFigures:
    """A replay's printer as a sink: a turn stopped with Ctrl+C ends with the replay's own
    "replay stopped" line, not with figures for a reply that was never recorded so."""

    def __init__(self, printer: Sink) -> None:
        self.printer = printer

    def event(self, event: Event, at: float) -> None:
        self.printer.event(event, at)

    def done(self, reply: Reply) -> None:
        task = asyncio.current_task()
        if task is None or not task.cancelling():
            self.printer.done(reply)


def replay_command(args: argparse.Namespace, *, stdout: TextIO, env: Mapping[str, str]) -> int:
    out = stdout
    if args.alternative is not None and args.turn is None:
        return fail("--alternative K picks a reply at one turn: give --turn N too")
    try:
        _, session = load_session(SessionStore(), args.session)
        chosen = None if args.turn is None else choose_turn(session, args.turn, args.alternative)
    except CommandFailed as exc:
        return fail(str(exc), exc.code)
    if args.plain or args.json or not out.isatty():
        first_turn, place = (0, None) if chosen is None else chosen
        return asyncio.run(
            play(
                session,
                out,
                speed=args.speed,
                json_lines=args.json,
                color=wants_color(out, env),
                first_turn=first_turn,
                place=place,
                one_alternative=args.alternative is not None,
            )
        )
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings = Settings()
        fail(f"{exc} — replaying with default settings")
    from chatterm.tui.app import run_replay  # textual is most of start-up: only the TUI pays it

    if chosen is not None:
        session = one_turn_session(session, *chosen)
    run_replay(settings, session, args.speed)
    return EXIT_OK


def choose_turn(
    session: Session, number: int, alternative: int | None
) -> tuple[int, tuple[int, int]]:
    """Make the session's active path run through alternative ``alternative`` (from 1, in
    the order written; None: the one shown) at turn ``number`` (from 1) and end there.
    Returns the turn's position and which of how many alternatives it is;
    :class:`CommandFailed` (exit code 2) if either number is out of range. The session is
    changed in memory only."""
    position = turn_in_range("--turn", number, session) - 1
    siblings = session.alternatives(position)
    count = len(siblings)
    if alternative is None:
        alternative = siblings.index(session.path[position]) + 1
    elif not 1 <= alternative <= count:
        valid = "1" if count == 1 else f"1 to {count}"
        raise CommandFailed(
            f"--alternative {alternative} is out of range: turn {number} of session "
            f"{visible_line(session.id)} has {count} alternative{'' if count == 1 else 's'} "
            f"(give {valid})",
            EXIT_USAGE,
        )
    session.show(siblings[alternative - 1])
    session.rewind(position + 1)
    return position, (alternative, count)


def one_turn_session(session: Session, position: int, place: tuple[int, int]) -> Session:
    """A session of the one turn at ``position`` of the active path, titled with where it
    stands, for the TUI's replay view (which plays a whole session)."""
    alternative, alternatives = place
    where = f"turn {position + 1}"
    if alternatives > 1:
        where += f", alternative {alternative} of {alternatives}"
    return Session(
        id=session.id,
        title=f"{session.title or 'untitled'} · {where}",
        created=session.created,
        updated=session.updated,
        turns=[forked_turn(session.turns[position])],
        system=session.system,
    )


async def play(
    session: Session,
    out: TextIO,
    *,
    speed: float = 1.0,
    json_lines: bool = False,
    color: bool = False,
    control: ReplayControl | None = None,
    sleep: Sleep = asyncio.sleep,
    first_turn: int = 0,
    place: tuple[int, int] | None = None,
    one_alternative: bool = False,
) -> int:
    """Print the session's turns from ``first_turn`` on as they streamed: each prompt, then
    its reply through a new printer, ending with the recorded stats. Ctrl+C stops it (exit
    code 1). ``place``: which alternative the first turn played is, of how many (said on
    its prompt rule, and in its ``prompt`` record). Replies begun together (a comparison)
    play together (:func:`play_together`), unless ``one_alternative`` picked the first
    turn's reply."""
    try:
        turns = replay_turns(
            session, speed=speed, control=control, sleep=sleep, first_turn=first_turn
        )
        async for played in turns:
            picked = one_alternative and played.index == first_turn
            if len(played.columns) > 1 and not picked:
                gap = played.index > first_turn
                await play_together(played, out, json_lines=json_lines, color=color, gap=gap)
                continue
            turn = played.turn
            printer: PlainPrinter | JsonLinesPrinter
            if json_lines:
                printer = JsonLinesPrinter(out)
                record = {
                    "type": "prompt",
                    "turn": played.index,
                    "model": turn.model,
                    "text": turn.prompt,
                }
                if place is not None and played.index == first_turn:
                    record["alternative"], record["alternatives"] = place
                printer.record(record)
            else:
                if played.index > first_turn:
                    out.write("\n")
                shown = place if place is not None and played.index == first_turn else (1, 1)
                write_prompt(out, turn, color=color, place=shown)
                out.flush()
                printer = PlainPrinter(out, out, color=color)
            await pump(played, StoppedWithoutFigures(printer))
    except asyncio.CancelledError:
        # Ctrl+C: stop where we are, without a traceback.
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        if not json_lines:
            out.write("\n" + dim("── replay stopped ──", color) + "\n")
            out.flush()
        return EXIT_FAILED
    return EXIT_OK


async def play_together(
    played: RecordedTurn, out: TextIO, *, json_lines: bool, color: bool, gap: bool
) -> None:
    """Replies begun together (a comparison), played at once as they raced. In plain text
    each is printed whole under a rule naming its model, in the order written, then the
    comparison table, as ``ask -m A -m B`` prints them; in JSON Lines each reply's records
    carry its ``model`` (and ``index`` for a model asked twice), then one ``compare``
    record."""
    columns = played.columns
    models = [column.turn.model for column in columns]
    tags = compare_tags(models)
    sinks: Sequence[Sink]
    plain: PlainComparison | None = None
    if json_lines:
        prompt = {"type": "prompt", "turn": played.index, "text": played.turn.prompt}
        JsonLinesPrinter(out).record({**prompt, "models": models})
        sinks = [JsonLinesPrinter(out, tags=tag) for tag in tags]
    else:
        if gap:
            out.write("\n")
        out.write(
            dim("── you ──", color) + "\n" + safe_text(played.turn.prompt).rstrip("\n") + "\n"
        )
        out.flush()
        plain = PlainComparison(out, out, models, color=color)
        sinks = plain.replies
    replies = await asyncio.gather(
        *(
            pump(column, StoppedWithoutFigures(sink))
            for column, sink in zip(columns, sinks, strict=True)
        )
    )
    if plain is not None:
        plain.table(replies)
    else:
        out.write(json_line(compare_record(replies, tags)) + "\n")
    out.flush()
