"""``chatterm replay SESSION``: a saved conversation streamed again with its original timing.

On a terminal it opens the TUI's replay view; with ``--plain`` (or when stdout is not a
terminal) the turns go through the same printers as ``chatterm ask``, and ``--json`` gives
``ask``'s JSON Lines with a ``prompt`` record before each turn. Nothing here touches the
network. Exit codes: 0 played to the end, 1 stopped with Ctrl+C or an unreadable file, 2 bad
usage (an unknown id, a negative speed).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from typing import TextIO

from chatterm.cli.common import EXIT_FAILED, EXIT_OK, CommandFailed, fail, wants_color
from chatterm.cli.printer import JsonLinesPrinter, PlainPrinter, dim
from chatterm.cli.sessions import load_session, write_prompt
from chatterm.config import Settings, load_settings
from chatterm.errors import ConfigError
from chatterm.events import Event
from chatterm.reply.accumulate import Reply
from chatterm.reply.sink import pump
from chatterm.sessions.model import Session
from chatterm.sessions.replay import ReplayControl, Sleep, replay_turns
from chatterm.sessions.store import SessionStore


class StoppedWithoutFigures:
    """A replay's printer as a sink: a turn stopped with Ctrl+C ends with the replay's own
    "replay stopped" line, not with figures for a reply that was never recorded so."""

    def __init__(self, printer: PlainPrinter | JsonLinesPrinter) -> None:
        self.printer = printer

    def event(self, event: Event, at: float) -> None:
        self.printer.event(event, at)

    def done(self, reply: Reply) -> None:
        task = asyncio.current_task()
        if task is None or not task.cancelling():
            self.printer.done(reply)


def replay_command(args: argparse.Namespace, *, stdout: TextIO, env: Mapping[str, str]) -> int:
    out = stdout
    try:
        _, session = load_session(SessionStore(), args.session)
    except CommandFailed as exc:
        return fail(str(exc), exc.code)
    if args.plain or args.json or not out.isatty():
        return asyncio.run(
            play(session, out, speed=args.speed, json_lines=args.json, color=wants_color(out, env))
        )
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings = Settings()
        fail(f"{exc} — replaying with default settings")
    from chatterm.tui.app import run_replay  # textual is most of start-up: only the TUI pays it

    run_replay(settings, session, args.speed)
    return EXIT_OK


async def play(
    session: Session,
    out: TextIO,
    *,
    speed: float = 1.0,
    json_lines: bool = False,
    color: bool = False,
    control: ReplayControl | None = None,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """Print the session's turns as they streamed: each prompt, then its reply through a
    new printer, ending with the recorded stats. Ctrl+C stops it (exit code 1)."""
    try:
        async for played in replay_turns(session, speed=speed, control=control, sleep=sleep):
            turn = played.turn
            printer: PlainPrinter | JsonLinesPrinter
            if json_lines:
                printer = JsonLinesPrinter(out)
                printer.record(
                    {
                        "type": "prompt",
                        "turn": played.index,
                        "model": turn.model,
                        "text": turn.prompt,
                    }
                )
            else:
                if played.index > 0:
                    out.write("\n")
                write_prompt(out, turn, color=color)
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
