"""Every sub-command's arguments, apart from the commands themselves.

The parser is built on every start, the TUI's included; a command's module (and what it
imports: printers, the session exporter, the model catalogue) loads only when that command
runs, so the arguments live here, in a module that imports almost nothing.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from chatterm import __version__
from chatterm.cli.common import EXIT_USAGE
from chatterm.config import BUILTIN_ROLES, MAX_CHOICES
from chatterm.sessions.codec import EXPORT_FORMATS
from chatterm.text import safe_text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own usage errors exit 2 too, but we keep the one-line house format. The
        # message may quote argv as it came (undecodable bytes as surrogates): made safe.
        self.exit(EXIT_USAGE, f"chatterm: {safe_text(message)} (see chatterm --help)\n")


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
    add_ask_parser(commands)
    commands.add_parser("tui", help="open the chat TUI (the default)")
    add_sessions_parser(commands)
    add_replay_parser(commands)
    add_models_parser(commands)
    add_config_parser(commands)
    add_stats_parser(commands)
    return parser


def add_ask_parser(commands: argparse._SubParsersAction[Any]) -> None:
    ask = commands.add_parser(
        "ask",
        help="answer one prompt and exit (for scripts and pipes)",
        description="Stream one reply to stdout. Reads the prompt from stdin when PROMPT is "
        "'-' or missing and stdin is not a terminal.",
    )
    ask.add_argument("prompt", nargs="?", help="the prompt, or - to read it from stdin")
    ask.add_argument(
        "-m",
        "--model",
        dest="ask_model",
        metavar="MODEL",
        action="append",
        help="model, e.g. openai:gpt-5-mini; give it more than once to compare models: they "
        "answer the same prompt at once",
    )
    ask.add_argument(
        "--choices",
        type=_choices,
        metavar="N",
        help=f"ask the model for N answers (up to {MAX_CHOICES}) in one request, compared as "
        "-m A -m B compares models (OpenAI-compatible Chat Completions servers and the demo)",
    )
    ask.add_argument(
        "-a",
        "--attach",
        dest="attach",
        metavar="FILE",
        action="append",
        help="attach a file (text, an image or a PDF), sent the way the model's API takes "
        "it; give it more than once for several; - reads the attachment from stdin (the "
        "prompt is then an argument)",
    )
    ask.add_argument("--system", help="system prompt for this request")
    ask.add_argument(
        "--role",
        metavar="NAME",
        help="use the role NAME ([roles.NAME] in config.toml, or a built-in one: "
        + ", ".join(role.name for role in BUILTIN_ROLES)
        + "): its system prompt, and its model and effort unless -m and --effort are "
        "given; with --session, its system prompt from this turn on",
    )
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
    ask.add_argument(
        "--regenerate",
        action="store_true",
        help="with --session and no prompt: ask the session's last prompt again (with the "
        "history before it, on -m MODEL or the same model); the new reply is kept as an "
        "alternative of the old one",
    )
    ask.add_argument(
        "--compact",
        action="store_true",
        help="with --session and no prompt: have -m MODEL (or the session's model) summarize "
        "the conversation; from then on the summary is sent instead of the turns before it, "
        "which stay in the session",
    )


def _choices(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_CHOICES:
        raise argparse.ArgumentTypeError(
            f"give a whole number from 1 to {MAX_CHOICES}, not {value!r}"
        )
    return count


def _limit(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"give a whole number, 0 or more, not {value!r}")
    return count


def _retries(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"give a whole number, 0 or more, not {value!r}")
    return count


def add_sessions_parser(commands: argparse._SubParsersAction[Any]) -> None:
    sessions = commands.add_parser(
        "sessions",
        help="list, search, show, fork, rename, delete or export saved sessions",
        description="Saved conversations. SESSION is an id, a unique start of one, or the "
        "path of a session file. With no subcommand, lists them.",
    )
    sub = sessions.add_subparsers(dest="sessions_command", metavar="SUBCOMMAND")
    listing = sub.add_parser("list", help="every session, newest first")
    listing.add_argument(
        "--json", action="store_true", help="one JSON object per session (JSON Lines)"
    )
    search = sub.add_parser(
        "search",
        help="find sessions by the words of any prompt, answer or reasoning",
        description="Find the sessions whose turns (any branch) hold every word of QUERY, "
        'newest first, each with a turn and a snippet. "Quoted words" match as a phrase, '
        "word* matches words that start so; case and accents do not count. The first "
        "search builds an index next to the session files; later ones only read what "
        "changed.",
    )
    search.add_argument("query", metavar="QUERY", nargs="+", help="the words to look for")
    search.add_argument(
        "--json", action="store_true", help="one JSON object per session found (JSON Lines)"
    )
    search.add_argument(
        "--limit",
        type=_limit,
        default=50,
        metavar="N",
        help="show at most N sessions (default 50; 0: every one)",
    )
    show = sub.add_parser(
        "show",
        help="print a session's conversation (the active path; [2/3] marks a turn that has "
        "alternatives)",
    )
    show.add_argument("session", metavar="SESSION")
    fork = sub.add_parser(
        "fork",
        help="copy a session's conversation into a new session",
        description="Copy SESSION's active path (the branch shown, without its alternatives) "
        "up to and including turn N into a new session titled '<title> (fork)'. SESSION is "
        "not changed.",
    )
    fork.add_argument("session", metavar="SESSION")
    fork.add_argument(
        "--at-turn",
        type=int,
        metavar="N",
        help="the last turn to copy, from 1 (default: every turn)",
    )
    rename = sub.add_parser("rename", help="give a session a new title")
    rename.add_argument("session", metavar="SESSION")
    rename.add_argument("title", metavar="TITLE", nargs="+")
    delete = sub.add_parser("delete", help="delete a session's file")
    delete.add_argument("session", metavar="SESSION")
    export = sub.add_parser(
        "export",
        help="write a session as Markdown, JSON or TOML",
        description="Write SESSION to stdout, or to FILE with -o (never over an existing "
        "file unless --force, and never into the sessions folder). Markdown shows the active "
        "path with each turn's alternatives folded under it; JSON and TOML are the whole "
        "session document, every branch.",
    )
    export.add_argument("session", metavar="SESSION")
    export.add_argument(
        "--format", choices=EXPORT_FORMATS, default="md", help="md (default), json or toml"
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (- for stdout)")
    export.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def speed_value(text: str) -> float:
    """``--speed``: a finite number, 0 or more (0 plays everything at once)."""
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not math.isfinite(speed) or speed < 0:
        raise argparse.ArgumentTypeError(
            f"must be a number of 0 or more (1 = as recorded, 0 = at once), not {text!r}"
        )
    return speed


def add_replay_parser(commands: argparse._SubParsersAction[Any]) -> None:
    replay = commands.add_parser(
        "replay",
        help="play a saved session again, with its original timing",
        description="Stream SESSION's replies again as they arrived (no network): the "
        "active path, or with --turn one turn of it. On a terminal this opens the TUI; "
        "--plain prints it as `chatterm ask` does.",
    )
    replay.add_argument("session", metavar="SESSION", help="id, unique start of one, or file")
    replay.add_argument(
        "--turn",
        type=int,
        metavar="N",
        help="play only turn N (from 1) of the active path",
    )
    replay.add_argument(
        "--alternative",
        type=int,
        metavar="K",
        help="with --turn: play alternative K (from 1, in the order written) at that turn "
        "instead of the one shown",
    )
    replay.add_argument(
        "--speed",
        type=speed_value,
        default=1.0,
        metavar="X",
        help="playback speed: 1 as recorded (default), 2 twice as fast, 0 at once",
    )
    output = replay.add_mutually_exclusive_group()
    output.add_argument("--plain", action="store_true", help="print to stdout, not the TUI")
    output.add_argument("--json", action="store_true", help="JSON Lines, as `ask --json`")


def add_models_parser(commands: argparse._SubParsersAction[Any]) -> None:
    models = commands.add_parser(
        "models",
        help="list models: reasoning, context window, prices, whether the key is set",
        description="List the common models of each provider, the models named in "
        "config.toml and the models servers report (Ollama, [providers.NAME], a non-OpenAI "
        "OPENAI_BASE_URL; cached for 10 minutes). Prices are US dollars per million tokens.",
    )
    models.add_argument("--json", action="store_true", help="one JSON object per model")
    network = models.add_mutually_exclusive_group()
    network.add_argument(
        "--refresh", action="store_true", help="ask the servers again, ignoring the cache"
    )
    network.add_argument(
        "--offline", action="store_true", help="no network: use cached server lists only"
    )


def add_stats_parser(commands: argparse._SubParsersAction[Any]) -> None:
    stats = commands.add_parser(
        "stats",
        help="what each model cost and how fast it answered, over every saved reply",
        description="Per model: replies, tokens in and out, total cost (replies of unknown "
        "cost counted beside it), median time to first token and median tokens/s, over "
        "every reply of the saved sessions (alternatives included), read from the session "
        "index.",
    )
    stats.add_argument(
        "--since",
        metavar="DAY",
        help="only replies sent on DAY (YYYY-MM-DD, local time) or after; 7d: the last 7 "
        "days, today included",
    )
    stats.add_argument("--json", action="store_true", help="JSON Lines (see README)")


def add_config_parser(commands: argparse._SubParsersAction[Any]) -> None:
    config = commands.add_parser(
        "config",
        help="where config.toml is, write an example one, show the settings in effect",
        description="chatterm reads config.toml and never rewrites it. With no subcommand, "
        "shows the settings in effect.",
    )
    sub = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    sub.add_parser("path", help="print the paths of config.toml and state.toml")
    init = sub.add_parser(
        "init",
        help="write a commented example config.toml",
        description="Write a config.toml with every key documented and commented out. An "
        "existing file is only replaced with --force.",
    )
    init.add_argument("--force", action="store_true", help="replace an existing config.toml")
    sub.add_parser(
        "show", help="print the settings in effect as TOML, secrets redacted, with their source"
    )
