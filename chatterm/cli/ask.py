"""``chatterm ask``: one prompt, one reply streamed to stdout, for scripts and pipes.

Plain text for people or JSON Lines for scripts (:mod:`chatterm.cli.printer`); with
``--save`` or ``--session`` the exchange is recorded in a session as it streams, and with
``--regenerate`` the session's last prompt is asked again, the new reply kept as an
alternative of the old one; ``--compact`` has the model summarize the session, a turn that
the history sent from then on starts with. With ``-m`` given more than once the models
answer at once, each reply streamed by its own pump, and are compared (their replies
alternatives of one turn, when saved); ``--choices N`` asks one model for N answers in one
request (Chat Completions ``n``) and compares them the same way, the stream split by
:mod:`chatterm.reply.choices`. Ctrl+C keeps what arrived and reports the reply as cancelled.
A stdout that fails (a full disk) stops the printing, not the recording: the reply is saved
whole and the failure is one line at the end; with nothing to save, it stops the reply.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from chatterm.attachments import AttachmentError
from chatterm.cli.ask_input import read_attachments, read_prompt
from chatterm.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    fail,
    silence_stdout,
    valid_text,
    wants_color,
)
from chatterm.cli.printer import (
    GuardedOutput,
    JsonLinesPrinter,
    PlainComparison,
    PlainPrinter,
    StdoutFailed,
    compare_record,
    compare_tags,
    json_line,
)
from chatterm.config import load_settings
from chatterm.errors import ConfigError
from chatterm.events import CLEAN_FINISHES, Conversation, Event, Message
from chatterm.files import same_file
from chatterm.providers.registry import ResolvedModel, default_model, resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.reply.sink import Sink, Source, end_sinks, pump
from chatterm.sessions.attachment_store import AttachmentStoreError
from chatterm.sessions.context import COMPACT_PROMPT
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
    if args.compact and (args.session is None or args.prompt is not None or args.regenerate):
        return fail(
            "--compact summarizes a saved session: give --session SESSION, and no prompt "
            "or --regenerate with it"
        )
    if args.compact and (args.choices or len(args.ask_model or ()) > 1):
        return fail("--compact has one model write the summary: give at most one -m")
    if args.attach and (args.regenerate or args.compact):
        return fail("-a attaches files to a new prompt; --regenerate and --compact take none")
    if args.role is not None and args.system is not None:
        return fail("--role gives the system prompt and so does --system; give one")
    try:
        settings = load_settings()
        role = settings.role(valid_text(args.role)) if args.role is not None else None
        attachments = read_attachments(args, stdin)
        prompt = "" if args.regenerate or args.compact else read_prompt(args, stdin)
    except (ConfigError, AttachmentError) as exc:
        return fail(str(exc))
    if args.retries is not None:
        settings = replace(settings, network=replace(settings.network, max_retries=args.retries))
    system: str | None
    if role is not None:
        system = role.system
    else:
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
            # A role switches the session's system prompt from this turn on; otherwise the
            # one its active path ends with wins, and only a session without one takes
            # --system's or the config's. Either way the turn records what it was sent with.
            if role is not None or keeper.system is None:
                keeper.switch_system(system)
            system = keeper.system
            if (args.regenerate or args.compact) and not session.turns:
                what = "to regenerate" if args.regenerate else "to summarize"
                return fail(f"session {visible_line(session.id)} has no turn {what}", EXIT_USAGE)
    if args.regenerate and keeper is not None and keeper.session is not None:
        # The prompt asked again takes its files along (-a is refused with --regenerate),
        # checked against the models as -a files are.
        attachments = keeper.attachments_of(keeper.session.turns[-1])
    choices = args.choices or 1
    if choices > 1 and args.ask_model and len(args.ask_model) > 1:
        return fail(
            "--choices asks one model for several answers; give one -m with it "
            "(or compare models with -m A -m B, without --choices)"
        )
    try:
        session_model = _last_model(keeper)
        role_model = role.model if role is not None else None
        ref = args.model or role_model or session_model or default_model(settings, env)
        refs = args.ask_model or [ref]
        targets = [resolve_model(ref, settings, env) for ref in refs]
    except ConfigError as exc:
        return fail(str(exc))
    for target in targets:  # every model's, before anything is sent
        missing = target.provider.missing_key()
        if missing:
            return fail(missing if len(targets) == 1 else f"{target.ref}: {missing}")
        refusal = target.provider.attachments_problem(target.ref, attachments)
        if refusal:
            return fail(refusal, EXIT_USAGE)
    if choices > 1:
        [target] = targets
        one_choice = target.provider.choices_refusal(target.ref)
        if one_choice is not None:
            ref = target.ref
            return fail(f"{one_choice}; ask it once per answer instead: -m {ref} -m {ref} …")
        targets = [target] * choices  # one request, compared as N models would be
    if args.regenerate and keeper is not None and keeper.session is not None:
        # The last turn leaves the active path (it stays in the session): the new reply
        # follows the turn before it, with the same prompt (and files, taken above).
        session = keeper.session
        prompt = session.turns[-1].prompt
        session.rewind(len(session.turns) - 1)
    if args.compact:
        prompt = COMPACT_PROMPT
    from chatterm.providers.effort import effort_fields

    if args.no_reasoning and args.effort not in (None, "off"):
        return fail(f"--no-reasoning asks for no reasoning and --effort {args.effort} for some")
    role_effort = role.reasoning_effort if role is not None else None
    reasoning, effort = effort_fields(
        "off" if args.no_reasoning else args.effort or role_effort or settings.reasoning_effort
    )
    messages = (
        *(keeper.history(prompt) if keeper else ()),
        Message("user", prompt, attachments),
    )
    for notice in keeper.take_attachment_notices() if keeper else ():
        stderr.write(f"chatterm: {safe_text(notice)}\n")  # sent without it: said, not fatal
    conversations = []
    for target in targets:
        model_config = settings.model_settings.get(target.ref)
        conversations.append(
            Conversation(
                messages=messages,
                system=system,
                reasoning=reasoning,
                effort=effort,
                max_tokens=model_config.max_tokens if model_config else None,
                choices=choices,
            )
        )
    if len(targets) > 1:
        return _ask_models(
            args, targets, conversations, settings, keeper, prompt, stdout, stderr, env
        )
    [target], [conversation] = targets, conversations
    printer: JsonLinesPrinter | PlainPrinter
    output = GuardedOutput(stdout, stop=keeper is None)
    if args.json:
        printer = JsonLinesPrinter(output, show_reasoning=not args.no_reasoning)
    else:
        color = wants_color(stdout, env)
        printer = PlainPrinter(output, stderr, color=color, show_reasoning=not args.no_reasoning)
    saved: SavedTurn | None = None
    if keeper is not None:
        try:
            recorder = keeper.begin_turn(
                prompt,
                target.ref,
                compacts=args.compact,
                attachments=conversation.messages[-1].attachments,
            )
        except AttachmentStoreError as exc:
            keeper.close()
            return fail(f"{exc}; nothing was sent", EXIT_FAILED)
        saved = SavedTurn(keeper, recorder, printer)
        refused = _refused_before_sending(keeper)
        if refused is not None:
            return refused
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


def _refused_before_sending(keeper: SessionKeeper) -> int | None:
    """The prompt is saved before the request (nothing paid for yet): if that failed, say
    so and end (exit 1) rather than send a reply that could not be kept."""
    keeper.writer.wait()
    keeper.take_notices()  # a copy made because the file changed: said at the end
    problem = keeper.take_error()
    if problem is None:
        return None
    keeper.close()
    outcome, fix = "nothing was sent", "free space or fix the folder's permissions"
    return fail(_as_ending(problem, keeper, outcome, fix + ", then ask again"), EXIT_FAILED)


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

    def __init__(self, keeper: SessionKeeper, recorder: TurnRecorder, printer: Sink) -> None:
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
        self._written()
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

    def _written(self) -> None:
        """Wait for the reply to be on disk: the last save of the run, so the keeper
        closes."""
        self.keeper.close()

    def place(self) -> tuple[int, int, int]:
        """Where the reply stands: its turn (from 1; its depth, whether or not it is on the
        active path), which of the alternatives there it is (from 1, in the order written)
        and how many there are."""
        session = self.recorder.session
        session.sync()
        turn, tree = self.recorder.turn, session.tree
        index = next(i for i, candidate in enumerate(tree) if candidate is turn)
        siblings = [i for i, candidate in enumerate(tree) if candidate.parent == turn.parent]
        depth, parent = 1, turn.parent
        while parent is not None:
            depth, parent = depth + 1, tree[parent].parent
        return depth, siblings.index(index) + 1, len(siblings)

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


class SavedAlternative(SavedTurn):
    """One model's reply in a compared run (``ask -m A -m B --save``): saved as a single
    reply is, but the keeper stays open for the other models' replies (``ask`` closes it
    once every reply has ended)."""

    def _written(self) -> None:
        self.keeper.writer.wait()


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
    return await _pump_reply(stream, sinks, saved)


async def _pump_reply(stream: Source, sinks: Sequence[Sink], saved: SavedTurn | None) -> Reply:
    """Pump one reply into its sinks, checkpointing its session turn (if any) while the
    stream is quiet. Cancelled (Ctrl+C), it keeps what arrived, marked cancelled."""
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


# -------------------------------------------------------------------------- several models


def _ask_models(
    args: argparse.Namespace,
    targets: Sequence[ResolvedModel],
    conversations: Sequence[Conversation],
    settings: Settings,
    keeper: SessionKeeper | None,
    prompt: str,
    stdout: TextIO,
    stderr: TextIO,
    env: Mapping[str, str],
) -> int:
    """``ask -m A -m B …``: the same prompt to every model at once, each reply streamed by
    its own pump (its own provider, key, retries and timeouts: one failing ends only its
    own reply). JSON Lines tag every record with its model and end with a ``compare``
    record; plain output prints each reply whole, in the order given, then a table. With
    a session, the replies are alternatives of one turn, the first model's shown.
    ``ask --choices N`` comes here too: ``targets`` is the one model N times, and its
    conversation asks for N choices, streamed as one request (:func:`_stream_choices`)."""
    models = [target.ref for target in targets]
    output = GuardedOutput(stdout, stop=keeper is None)
    show_reasoning = not args.no_reasoning
    tags = compare_tags(models)
    plain: PlainComparison | None = None
    printers: list[Sink]
    if args.json:
        printers = [
            JsonLinesPrinter(output, show_reasoning=show_reasoning, tags=tag) for tag in tags
        ]
    else:
        color = wants_color(stdout, env)
        plain = PlainComparison(output, stderr, models, color=color, show_reasoning=show_reasoning)
        printers = list(plain.replies)
    saved: list[SavedAlternative] = []
    if keeper is not None:
        try:
            recorders = keeper.begin_alternatives(
                prompt, models, attachments=conversations[0].messages[-1].attachments
            )
        except AttachmentStoreError as exc:
            keeper.close()
            return fail(f"{exc}; nothing was sent", EXIT_FAILED)
        saved = [
            SavedAlternative(keeper, recorder, printer)
            for recorder, printer in zip(recorders, printers, strict=True)
        ]
        refused = _refused_before_sending(keeper)
        if refused is not None:
            return refused
    replies: list[Reply] | None
    try:
        if conversations[0].choices > 1:
            streaming = _stream_choices(targets[0], conversations[0], settings, printers, saved)
        else:
            streaming = _stream_all(targets, conversations, settings, printers, saved)
        replies = asyncio.run(streaming)
        if plain is not None:
            plain.table(replies)
        else:
            output.write(json_line(compare_record(replies, tags)) + "\n")
            output.flush()
    except StdoutFailed:
        replies = None  # output.error says why; with nothing to save, the replies stopped
    finally:
        if keeper is not None:
            keeper.close()
    if output.error is not None:
        failed = next((one for one in saved if one.error is not None), None)
        first = failed or (saved[0] if saved else None)
        return _stdout_failed(output.error, stdout, stderr, first, plain=not args.json)
    assert replies is not None  # only StdoutFailed leaves it unset, and output.error with it
    problems = list(dict.fromkeys(one.error for one in saved if one.error is not None))
    for problem in problems:
        # The replies are on stdout all the same; only the file is missing or behind.
        stderr.write(f"chatterm: {safe_text(problem)}\n")
    if problems:
        return EXIT_FAILED
    if saved and not args.json:
        stderr.write(saved[0].saved_line() + "\n")
    clean = all(reply.finish_reason in CLEAN_FINISHES for reply in replies)
    return EXIT_OK if clean else EXIT_FAILED


async def _stream_all(
    targets: Sequence[ResolvedModel],
    conversations: Sequence[Conversation],
    settings: Settings,
    printers: Sequence[Sink],
    saved: Sequence[SavedAlternative],
) -> list[Reply]:
    """Stream every model's reply at once, each into its printer (and its session turn);
    return them in the order given. Ctrl+C ends them all, each keeping what arrived. A
    printer that fails (stdout, with nothing to save) ends them all, then is raised."""
    from chatterm.reply.live import ReplyStream

    streams = [
        ReplyStream(target, conversation, settings)
        for target, conversation in zip(targets, conversations, strict=True)
    ]
    sink_groups: list[tuple[Sink, ...]] = [
        (printer, saved[i]) if saved else (printer,) for i, printer in enumerate(printers)
    ]
    tasks = [
        asyncio.create_task(_pump_reply(stream, sinks, saved[i] if saved else None))
        for i, (stream, sinks) in enumerate(zip(streams, sink_groups, strict=True))
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:  # Ctrl+C
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
    for task in tasks:
        task.cancel()  # those still streaming (Ctrl+C, or a printer failed) end cancelled
    await asyncio.wait(tasks)
    replies: list[Reply] = []
    failure: BaseException | None = None
    for stream, sinks, task in zip(streams, sink_groups, tasks, strict=True):
        if task.cancelled():  # cancelled before its pump began: its sinks end all the same
            try:
                replies.append(end_sinks(stream, *sinks))
            except StdoutFailed as error:
                failure = failure or error
                replies.append(stream.reply())
        elif task.exception() is not None:
            failure = failure or task.exception()
            replies.append(stream.reply())
        else:
            replies.append(task.result())
    if failure is not None:
        raise failure
    return replies


async def _stream_choices(
    target: ResolvedModel,
    conversation: Conversation,
    settings: Settings,
    printers: Sequence[Sink],
    saved: Sequence[SavedAlternative],
) -> list[Reply]:
    """Stream one request for several choices, each choice into its printer (and its
    session turn); return the replies in order. Ctrl+C ends them all, each keeping what
    arrived; a printer that fails (stdout, with nothing to save) ends them all, then is
    raised."""
    from chatterm.reply.choices import ChoiceSplit
    from chatterm.reply.live import ReplyStream

    stream = ReplyStream(target, conversation, settings)
    sinks = [(printer, saved[i]) if saved else (printer,) for i, printer in enumerate(printers)]
    split = ChoiceSplit(stream, sinks)
    tickers = [asyncio.create_task(one.tick()) for one in saved]
    try:
        return await split.pump()
    except asyncio.CancelledError:  # Ctrl+C: every choice has ended, cancelled
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        return split.replies()
    finally:
        for ticker in tickers:
            ticker.cancel()
