"""``chatterm ask``: one prompt, one reply streamed to stdout, for scripts and pipes.

Plain text for people or JSON Lines for scripts (:mod:`chatterm.cli.printer`); with
``--save`` or ``--session`` the exchange is recorded in a session as it streams, and with
``--regenerate`` the session's last prompt is asked again, the new reply kept as an
alternative of the old one. Ctrl+C keeps what arrived and reports the reply as cancelled. A
stdout that fails (a full disk) stops the printing, not the recording: the reply is saved
whole and the failure is one line at the end; with nothing to save, it stops the reply.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from chatterm.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    silence_stdout,
    valid_text,
    wants_color,
)
from chatterm.cli.printer import GuardedOutput, JsonLinesPrinter, PlainPrinter, StdoutFailed
from chatterm.config import load_settings
from chatterm.errors import ConfigError
from chatterm.events import CLEAN_FINISHES, Conversation, Event, Message
from chatterm.files import same_file
from chatterm.providers.registry import ResolvedModel, default_model, resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.reply.sink import Sink, pump
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.recorder import TurnRecorder
from chatterm.sessions.store import (
    SessionError,
    SessionNotFound,
    SessionSaveFailed,
    SessionStore,
)
from chatterm.text import safe_text, visible_line

TICK_S = 0.25  # how often a quiet stream is checked for text to checkpoint

if TYPE_CHECKING:
    from chatterm.config import Settings


def _read_prompt(args: argparse.Namespace, stdin: TextIO | None) -> str:
    if args.prompt not in (None, "-"):
        return valid_text(str(args.prompt))
    if stdin is None:
        raise ConfigError("no prompt: stdin is closed; give the prompt as an argument")
    if args.prompt is None and stdin.isatty():
        raise ConfigError("no prompt: give one as an argument, or pipe it in with -")
    raw = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        raise ConfigError("the prompt read from stdin is empty")
    return text


def ask_command(
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    stdin = stdin or sys.stdin
    if stdout is None and sys.stdout is None:
        return fail("stdout is closed; nowhere to write the reply")
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr or stdout
    env = os.environ if env is None else env
    if args.save and args.session is not None:
        return fail("--save starts a new session and --session continues one; give one")
    if args.regenerate and args.session is None:
        return fail("--regenerate asks a saved session's last prompt again: give --session")
    if args.regenerate and args.prompt is not None:
        return fail(
            "--regenerate asks the session's last prompt again; give no prompt with it "
            "(to ask something else: chatterm ask --session SESSION PROMPT)"
        )
    try:
        settings = load_settings()
        prompt = "" if args.regenerate else _read_prompt(args, stdin)
    except ConfigError as exc:
        return fail(str(exc))
    if args.retries is not None:
        settings = replace(settings, network=replace(settings.network, max_retries=args.retries))
    system = valid_text(args.system) if args.system is not None else settings.system_prompt
    keeper: SessionKeeper | None = None
    if args.save or args.session is not None:
        keeper = SessionKeeper(SessionStore(new_format=settings.session_format), system=system)
        if args.session is not None:
            try:
                session = keeper.open(args.session)
            except SessionNotFound as exc:
                return fail(str(exc), EXIT_USAGE)
            except SessionError as exc:
                return fail(str(exc), EXIT_FAILED)
            if session.system is not None:  # the session's own system prompt wins
                system = session.system
            if args.regenerate and not session.turns:
                return fail(
                    f"session {visible_line(session.id)} has no turn to regenerate", EXIT_USAGE
                )
    try:
        session_model = _last_model(keeper)
        model_ref = args.ask_model or args.model or session_model or default_model(settings, env)
        target = resolve_model(model_ref, settings, env)
    except ConfigError as exc:
        return fail(str(exc))
    missing = target.provider.missing_key()
    if missing:
        return fail(missing)
    if args.regenerate and keeper is not None and keeper.session is not None:
        # The last turn leaves the active path (it stays in the session): the new reply
        # follows the turn before it, with the same prompt.
        session = keeper.session
        prompt = session.turns[-1].prompt
        session.rewind(len(session.turns) - 1)
    model_config = settings.model_settings.get(target.ref)
    from chatterm.providers.effort import effort_fields

    if args.no_reasoning and args.effort not in (None, "off"):
        return fail(f"--no-reasoning asks for no reasoning and --effort {args.effort} for some")
    reasoning, effort = effort_fields(
        "off" if args.no_reasoning else args.effort or settings.reasoning_effort
    )
    conversation = Conversation(
        messages=(*(keeper.history(prompt) if keeper else ()), Message("user", prompt)),
        system=system,
        reasoning=reasoning,
        effort=effort,
        max_tokens=model_config.max_tokens if model_config else None,
    )
    printer: JsonLinesPrinter | PlainPrinter
    output = GuardedOutput(stdout, stop=keeper is None)
    if args.json:
        printer = JsonLinesPrinter(output, show_reasoning=not args.no_reasoning)
    else:
        color = wants_color(stdout, env)
        printer = PlainPrinter(output, stderr, color=color, show_reasoning=not args.no_reasoning)
    saved: SavedTurn | None = None
    if keeper is not None:
        saved = SavedTurn(keeper, keeper.begin_turn(prompt, target.ref), printer)
        keeper.writer.wait()  # before the request: nothing paid for yet
        keeper.take_notices()  # a copy made because the file changed: said at the end
        problem = keeper.take_error()
        if problem is not None:
            keeper.close()
            outcome, fix = "nothing was sent", "free space or fix the folder's permissions"
            return fail(_as_ending(problem, keeper, outcome, fix + ", then ask again"), EXIT_FAILED)
    # A failure the stream did not foresee ends the reply in an error (printed, one line).
    try:
        reply = asyncio.run(_stream_to(printer, target, conversation, settings, saved))
    except StdoutFailed:
        reply = None  # output.error says why; with nothing to save, the reply stopped there
    if output.error is not None:
        return _stdout_failed(output.error, stdout, stderr, saved, plain=not args.json)
    assert reply is not None  # only StdoutFailed leaves it unset, and output.error with it
    code = EXIT_OK if reply.finish_reason in CLEAN_FINISHES else EXIT_FAILED
    if saved is None:
        return code
    if saved.error is not None:
        # The reply is on stdout all the same; only the file is missing or behind.
        stderr.write(f"chatterm: {safe_text(saved.error)}\n")
        return EXIT_FAILED
    if not args.json:
        stderr.write(saved.saved_line() + "\n")
    return code


def _as_ending(message: str, keeper: SessionKeeper, outcome: str, fix: str) -> str:
    """A save failure worded for ``ask``, which ends: the TUI's "the conversation is kept
    in memory" is not true here."""
    failure = keeper.save_failure()
    if isinstance(failure, SessionSaveFailed) and message == str(failure):
        return failure.for_command(outcome, fix)
    return message


def _stdout_failed(
    error: OSError, stdout: TextIO, stderr: TextIO, saved: SavedTurn | None, *, plain: bool
) -> int:
    """``ask``'s end when the reply could not be written (exit 1): one line saying so and
    where the reply was saved, if it was. A reader that went away (``… | head``) is not
    worth a message: only what a save says as usual."""
    if stdout is sys.stdout:
        silence_stdout()  # what is still buffered must not raise again at exit
    if isinstance(error, BrokenPipeError):
        if saved is not None and saved.error is not None:
            stderr.write(f"chatterm: {safe_text(saved.error)}\n")
        elif saved is not None and plain:
            stderr.write(saved.saved_line() + "\n")
        return EXIT_FAILED
    message = f"cannot write the reply to stdout: {error.strerror or type(error).__name__}"
    if saved is not None:
        message += f"; {saved.error}" if saved.error else f"; the reply is {saved.saved_line()}"
    return fail(message, EXIT_FAILED)


def _last_model(keeper: SessionKeeper | None) -> str | None:
    """The model of the continued session's last reply, if any."""
    if keeper is None or keeper.session is None or not keeper.session.turns:
        return None
    return keeper.session.turns[-1].model


class SavedTurn:
    """``ask``'s session sink: the reply recorded as it streams (after it is printed, so the
    file never runs ahead of the screen) and, at the end, on disk before the printer's last
    line says so. ``error`` is then why the save failed, if it did."""

    def __init__(
        self,
        keeper: SessionKeeper,
        recorder: TurnRecorder,
        printer: JsonLinesPrinter | PlainPrinter,
    ) -> None:
        self.keeper = keeper
        self.recorder = recorder
        self.printer = printer
        self.error: str | None = None

    def event(self, event: Event, at: float) -> None:
        self.recorder.event(event, at)

    def done(self, reply: Reply) -> None:
        if self.recorder.ended:
            return  # a sink ends once
        self.recorder.done(reply)
        self.keeper.close()
        # Saved as a copy because another program changed the file meanwhile: not a
        # failure; saved_line (and the done record's session id) say where it went.
        self.keeper.take_notices()
        self.error = self.keeper.take_error()
        if self.error is not None:
            outcome = "the reply was printed but not saved in full"
            fix = "free space or fix the folder's permissions"
            self.error = _as_ending(self.error, self.keeper, outcome, fix)
        if self.error is None and isinstance(self.printer, JsonLinesPrinter):
            self.printer.session_id = self.recorder.session.id
            self.printer.place = self.place()[1:]

    def place(self) -> tuple[int, int, int]:
        """Where the reply stands: its turn (from 1) on the active path, which of the
        alternatives there it is (from 1, in the order written) and how many there are."""
        session = self.recorder.session
        position = next(i for i, turn in enumerate(session.turns) if turn is self.recorder.turn)
        alternative, alternatives = session.places()[position]
        return position + 1, alternative, alternatives

    async def tick(self) -> None:
        """Checkpoint a quiet stream now and then (run as a task while streaming)."""
        while True:
            await asyncio.sleep(TICK_S)
            self.recorder.tick(time.monotonic())  # the clock ReplyStream stamps events with

    def saved_line(self) -> str:
        """What ``ask`` says on stderr once the reply is saved (and, when the turn has
        alternatives, which one it is)."""
        line = f"saved as session {visible_line(self.recorder.session.id)}"
        turn, alternative, alternatives = self.place()
        if alternatives > 1:
            line += f" (alternative {alternative} of {alternatives} at turn {turn})"
        forked_from = self.keeper.forked_from()
        if forked_from is not None:
            return f"{line} (a copy: {visible_line(forked_from)} changed meanwhile)"
        path, named = self.keeper.saved_path(), self.keeper.opened_from
        if path is not None and named is not None and not same_file(path, named):
            line += f" in {safe_text(str(path))} (the file you named is unchanged)"
        return line


async def _stream_to(
    printer: JsonLinesPrinter | PlainPrinter,
    target: ResolvedModel,
    conversation: Conversation,
    settings: Settings,
    saved: SavedTurn | None = None,
) -> Reply:
    """Pump the reply into the printer (and the session, when saving) and return it.
    Ctrl+C keeps what arrived, reports it as cancelled, and exits normally."""
    from chatterm.reply.live import ReplyStream  # httpx with it: the TUI's start-up skips both

    stream = ReplyStream(target, conversation, settings)
    sinks: tuple[Sink, ...] = (printer,) if saved is None else (printer, saved)
    ticker = asyncio.create_task(saved.tick()) if saved is not None else None
    try:
        return await pump(stream, *sinks)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return stream.reply()
    finally:
        if ticker is not None:
            ticker.cancel()
