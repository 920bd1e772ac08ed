"""Command line: ``chatterm`` opens the TUI; ``chatterm ask`` answers one prompt for scripts;
``chatterm sessions`` and ``chatterm replay`` (in :mod:`chatterm.cli.sessions` and
:mod:`chatterm.cli.replay`) work with saved conversations.

Exit codes: 0 the reply finished, 1 the model or the network failed (or the reply was
cancelled, or a session file could not be read or written), 2 bad usage or config. Nothing
here imports textual unless the TUI is opened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from chatterm import __version__
from chatterm.config import Settings, load_settings
from chatterm.errors import ChattermError, ConfigError
from chatterm.events import CLEAN_FINISHES, Conversation, Message
from chatterm.providers.registry import ResolvedModel, default_model, resolve_model
from chatterm.reply.accumulate import Reply
from chatterm.startup import resume_collector
from chatterm.state import load_state
from chatterm.text import redact, safe_text

if TYPE_CHECKING:
    from chatterm.cli.printer import Sink
    from chatterm.cli.sessions import AskRecording, AskSession

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own usage errors exit 2 too, but we keep the one-line house format.
        self.exit(EXIT_USAGE, f"chatterm: {message} (see chatterm --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="chatterm",
        description="A terminal chat client for LLMs: reasoning and answer streamed side by "
        "side, with time, tokens and cost for every reply. With no command, opens the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"chatterm {__version__}")
    parser.add_argument("-m", "--model", help="model to start on, e.g. openai:gpt-5-mini or demo")
    parser.add_argument(
        "--session",
        dest="open_session",
        metavar="SESSION",
        help="open the TUI on a saved session (id, unique start of one, or file)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    ask = commands.add_parser(
        "ask",
        help="answer one prompt and exit (for scripts and pipes)",
        description="Stream one reply to stdout. Reads the prompt from stdin when PROMPT is "
        "'-' or missing and stdin is not a terminal.",
    )
    ask.add_argument("prompt", nargs="?", help="the prompt, or - to read it from stdin")
    ask.add_argument(
        "-m", "--model", dest="ask_model", metavar="MODEL", help="model, e.g. openai:gpt-5-mini"
    )
    ask.add_argument("--system", help="system prompt for this request")
    ask.add_argument("--json", action="store_true", help="write JSON Lines (see README)")
    ask.add_argument(
        "--no-reasoning",
        action="store_true",
        help="do not print the model's reasoning (and ask for none: --effort off)",
    )
    ask.add_argument(
        "--effort",
        choices=("off", "low", "medium", "high"),
        help="how hard a reasoning model thinks (default: reasoning_effort in config.toml)",
    )
    ask.add_argument(
        "--retries",
        type=_retries,
        metavar="N",
        help="send the request again up to N times if it fails before the first token "
        "(default: max_retries in [network] of config.toml, else 2; 0: never)",
    )
    ask.add_argument("--save", action="store_true", help="save the exchange as a new session")
    ask.add_argument(
        "--session",
        metavar="SESSION",
        help="continue a saved session (id, unique start of one, or file): its history is "
        "sent and the reply is added to it",
    )
    commands.add_parser("tui", help="open the chat TUI (the default)")
    # Imported here: these modules import this one.
    from chatterm.cli.config import add_config_parser
    from chatterm.cli.models import add_models_parser
    from chatterm.cli.replay import add_replay_parser
    from chatterm.cli.sessions import add_sessions_parser

    add_sessions_parser(commands)
    add_replay_parser(commands)
    add_models_parser(commands)
    add_config_parser(commands)
    return parser


def _retries(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"give a whole number, 0 or more, not {value!r}")
    return count


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.open_session is not None and args.command not in (None, "tui"):
        hint = "; to continue it from the command line: chatterm ask --session SESSION"
        return fail(
            f"--session before a command opens the TUI on a session, it does not go with "
            f"`{args.command}`" + (hint if args.command == "ask" else "")
        )
    if args.command not in (None, "tui"):
        resume_collector()  # paused for the TUI's start-up only (see chatterm.startup)
        if sys.stdout is None and args.command != "ask":  # `ask` says so in its own words
            return fail("stdout is closed; nowhere to write")  # `chatterm … >&-`
    try:
        if args.command == "ask":
            return ask_command(args)
        if args.command == "sessions":
            from chatterm.cli.sessions import sessions_command

            return sessions_command(args)
        if args.command == "replay":
            from chatterm.cli.replay import replay_command

            return replay_command(args)
        if args.command == "models":
            from chatterm.cli.models import models_command

            return models_command(args)
        if args.command == "config":
            from chatterm.cli.config import config_command

            return config_command(args)
        return tui_command(args)
    except KeyboardInterrupt:
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (`chatterm ask … | head`): not an error worth a traceback.
        _silence_stdout()
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - a bug: one redacted line, never a traceback
        from chatterm.network import debuglog

        return fail(debuglog.crash_message(exc), EXIT_FAILED)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def fail(message: str, code: int = EXIT_USAGE) -> int:
    if sys.stderr is not None:
        sys.stderr.write(f"chatterm: {safe_text(message)}\n")
    return code


def wants_color(stream: TextIO, env: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and not when ``NO_COLOR`` is set or ``TERM=dumb``."""
    return stream.isatty() and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


def tui_command(args: argparse.Namespace) -> int:
    notice: str | None = None
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings = Settings()
        notice = f"{exc} — started with default settings"
    if args.model:
        args.model = _valid_text(args.model)  # undecodable argv bytes: U+FFFD, not a crash
    model_ref = args.model or remembered_model(settings) or default_model(settings)
    try:
        target = resolve_model(model_ref, settings)
    except ConfigError as exc:
        if args.model:
            return fail(str(exc))
        target, notice = resolve_model("demo", settings), f"{exc}; started on the demo model"
    missing = target.provider.missing_key()
    if missing and not args.model:
        # The configured default cannot be used yet: open on the demo rather than a dead end.
        target, notice = resolve_model("demo", settings), f"{missing}. Started on the demo model."
    no_key = default_model(settings).startswith("demo")  # no provider's key is set
    if target.ref.startswith("demo") and not args.model and notice is None and no_key:
        notice = (
            "No API key found: this is the offline demo model. Set OPENAI_API_KEY or add a "
            "provider to config.toml, then switch model with ctrl+n."
        )
    from chatterm.tui.app import run_tui  # textual costs ~300 ms: only the TUI pays it

    run_tui(settings, target.ref, notice, session_ref=args.open_session)
    return EXIT_OK


def remembered_model(settings: Settings) -> str | None:
    """The model the TUI was last left on, if it can still be used (its key is set);
    otherwise None, and the configured default applies."""
    state, _ = load_state()  # a damaged state file is the TUI's to report
    if state.last_model is None:
        return None
    try:
        target = resolve_model(state.last_model, settings)
    except ConfigError:
        return None
    return None if target.provider.missing_key() else target.ref


def _valid_text(text: str) -> str:
    """Undecodable bytes (from argv or a pipe) become U+FFFD instead of a crash later."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _read_prompt(args: argparse.Namespace, stdin: TextIO | None) -> str:
    if args.prompt not in (None, "-"):
        return _valid_text(str(args.prompt))
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
    system = _valid_text(args.system) if args.system is not None else settings.system_prompt
    saving: AskSession | None = None
    if args.save or args.session is not None:
        from chatterm.cli.sessions import AskSession, CommandFailed

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
    from chatterm.cli.printer import JsonLinesPrinter, PlainPrinter  # only `ask` prints

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
    from chatterm.network.stream import ReplyStream  # httpx with it: the TUI's start-up skips both

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


if __name__ == "__main__":
    raise SystemExit(main())
