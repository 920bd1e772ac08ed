"""``chatterm ask``: one prompt, one reply streamed to stdout, for scripts and pipes.

Plain text for people or JSON Lines for scripts (:mod:`chatterm.cli.printer`); with
``--save`` or ``--session`` the exchange is recorded in a session as it streams. Ctrl+C
keeps what arrived and reports the reply as cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from chatterm.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandFailed,
    fail,
    valid_text,
    wants_color,
)
from chatterm.cli.printer import JsonLinesPrinter, PlainPrinter, Sink
from chatterm.cli.sessions import AskRecording, AskSession
from chatterm.config import load_settings
from chatterm.errors import ChattermError, ConfigError
from chatterm.events import CLEAN_FINISHES, Conversation, Message
from chatterm.providers.registry import ResolvedModel, default_model, resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.text import redact, safe_text

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
    try:
        settings = load_settings()
        prompt = _read_prompt(args, stdin)
    except ConfigError as exc:
        return fail(str(exc))
    if args.retries is not None:
        settings = replace(settings, network=replace(settings.network, max_retries=args.retries))
    system = valid_text(args.system) if args.system is not None else settings.system_prompt
    saving: AskSession | None = None
    if args.save or args.session is not None:
        try:
            saving = AskSession(args.session, settings.session_format)
        except CommandFailed as exc:
            return fail(str(exc), exc.code)
        system = saving.system(system)
    try:
        session_model = saving.last_model() if saving else None
        model_ref = args.ask_model or args.model or session_model or default_model(settings, env)
        target = resolve_model(model_ref, settings, env)
    except ConfigError as exc:
        return fail(str(exc))
    missing = target.provider.missing_key()
    if missing:
        return fail(missing)
    model_config = settings.model_settings.get(target.ref)
    from chatterm.providers.effort import effort_fields

    if args.no_reasoning and args.effort not in (None, "off"):
        return fail(f"--no-reasoning asks for no reasoning and --effort {args.effort} for some")
    reasoning, effort = effort_fields(
        "off" if args.no_reasoning else args.effort or settings.reasoning_effort
    )
    conversation = Conversation(
        messages=(*(saving.history() if saving else ()), Message("user", prompt)),
        system=system,
        reasoning=reasoning,
        effort=effort,
        max_tokens=model_config.max_tokens if model_config else None,
    )
    sink: Sink
    if args.json:
        sink = JsonLinesPrinter(stdout, show_reasoning=not args.no_reasoning)
    else:
        color = wants_color(stdout, env)
        sink = PlainPrinter(stdout, stderr, color=color, show_reasoning=not args.no_reasoning)
    recording = saving.record(system, prompt, target.ref) if saving else None
    if recording is not None:
        problem = recording.first_save_error()  # before the request: nothing paid for yet
        if problem is not None:
            return fail(problem, EXIT_FAILED)
    try:
        reply = asyncio.run(_stream_to(sink, target, conversation, settings, recording))
    except ChattermError as exc:
        return fail(redact(str(exc), target.provider.secrets()), EXIT_FAILED)
    code = EXIT_OK if reply.finish_reason in CLEAN_FINISHES else EXIT_FAILED
    if recording is None:
        sink.done(reply)
        return code
    if isinstance(sink, JsonLinesPrinter) and recording.error is None:
        sink.session_id = recording.session.id
    sink.done(reply)
    if recording.error is not None:
        # The reply is on stdout all the same; only the file is missing or behind.
        stderr.write(f"chatterm: {safe_text(recording.error)}\n")
        return EXIT_FAILED
    if not args.json:
        stderr.write(recording.saved_line() + "\n")
    return code


async def _stream_to(
    sink: Sink,
    target: ResolvedModel,
    conversation: Conversation,
    settings: Settings,
    recording: AskRecording | None = None,
) -> Reply:
    """Stream the reply into ``sink`` (and the session, when recording) and return it; the
    caller writes the sink's end. The recording is finished however the stream ends."""
    from chatterm.reply.live import ReplyStream  # httpx with it: the TUI's start-up skips both

    stream = ReplyStream(target, conversation, settings)
    if recording is not None:
        recording.start_ticker()
    try:
        try:
            async for timed in stream.events():
                sink.event(timed.event)
                if recording is not None:  # after printing: the file never runs ahead
                    recording.event(timed.at, timed.event)
        except asyncio.CancelledError:
            # Ctrl+C: keep what arrived, report it as cancelled, and exit normally.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            stream.cancel()
        reply = stream.reply()
        if recording is not None:
            await recording.finish(reply)
    finally:
        if recording is not None and not recording.finished:
            # Something else broke (the reader closed the pipe): save what arrived.
            await recording.finish(stream.reply())
    return reply
