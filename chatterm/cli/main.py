"""``chatterm``: the command line, and the TUI when no command is given.

Each sub-command lives in its own module (:mod:`chatterm.cli.ask`, ``sessions``,
``replay``, ``models``, ``config``, ``stats``); exit codes and the one-line failure are in
:mod:`chatterm.cli.common`. Nothing here imports textual unless the TUI is opened.
"""

from __future__ import annotations

import argparse
import os
import sys

from chatterm.cli.arguments import build_parser
from chatterm.cli.common import EXIT_FAILED, EXIT_OK, fail, silence_stdout, valid_text
from chatterm.config import Settings, load_settings
from chatterm.errors import ConfigError
from chatterm.providers.registry import default_model, resolve_model
from chatterm.startup import resume_collector
from chatterm.state import load_state

# Arguments that are text, not paths: an undecodable byte in them becomes U+FFFD at once,
# so it can reach neither a request, a session file nor an echo on stdout. Session refs and
# output paths stay as given (a file name may be in another encoding); the messages that
# quote them go through safe_text.
_TEXT_ARGUMENTS = ("model", "ask_model", "prompt", "system", "title")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in _TEXT_ARGUMENTS:
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, valid_text(value))
        elif isinstance(value, list):
            setattr(args, name, [valid_text(str(item)) for item in value])
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
    code = _dispatch(args)
    log = sys.modules.get("chatterm.network.debuglog")  # loaded only if it was used
    problem = log.problem() if log is not None else None
    if problem:  # CHATTERM_LOG names something that cannot be written: said once, at the end
        fail(problem)
    return code


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "ask":
            from chatterm.cli.ask import ask_command

            return ask_command(args)
        if args.command == "sessions":
            from chatterm.cli.sessions import sessions_command

            return sessions_command(args, stdout=sys.stdout, env=os.environ)
        if args.command == "replay":
            from chatterm.cli.replay import replay_command

            return replay_command(args, stdout=sys.stdout, env=os.environ)
        if args.command == "models":
            from chatterm.cli.models import models_command

            return models_command(args)
        if args.command == "config":
            from chatterm.cli.config import config_command

            return config_command(args, stdout=sys.stdout, env=os.environ)
        if args.command == "stats":
            from chatterm.cli.stats import stats_command

            return stats_command(args, stdout=sys.stdout)
        return tui_command(args)
    except KeyboardInterrupt:
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (`chatterm ask … | head`): not an error worth a traceback.
        silence_stdout()
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - a bug: one redacted line, never a traceback
        from chatterm.network import debuglog

        return fail(debuglog.crash_message(exc), EXIT_FAILED)


def tui_command(args: argparse.Namespace) -> int:
    notice: str | None = None
    try:
        settings = load_settings()
    except ConfigError as exc:
        settings = Settings()
        notice = f"{exc} — started with default settings"
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
    from chatterm.tui.app import run_tui  # textual is most of start-up: only the TUI pays it

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
