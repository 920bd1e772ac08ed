"""``chatterm config path|init|show``: where the config lives, a commented example to start
from, and the settings in effect.

chatterm never rewrites a ``config.toml`` the user has: ``init`` writes one only where there
is none (or with ``--force``), and what the app remembers goes to ``state.toml`` instead.
``show`` never prints a secret: keys are named by their variable, and a key written into a
``base_url`` (``?key=…``, ``user:password@``) is replaced by ``***``. Exit codes: 0 done,
1 the file could not be written, 2 bad usage or an invalid config (one line naming the file
and the key).
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import tomli_w

from chatterm import paths, state
from chatterm.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail
from chatterm.config import (
    BUILTIN_ROLES,
    CONFIG_LIMIT,
    ModelConfig,
    ProviderConfig,
    Role,
    Settings,
    load_settings,
)
from chatterm.errors import ConfigError
from chatterm.files import atomic_write, file_problem, read_regular
from chatterm.providers.registry import default_model, model_cycle
from chatterm.text import redact, safe_text

# Variables chatterm reads, as `show` reports them: keys only as "set", addresses redacted.
KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OLLAMA_API_KEY",
)
ADDRESS_VARIABLES = ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL", "OLLAMA_HOST")

EXAMPLE_CONFIG = """\
## chatterm's configuration, written by `chatterm config init`.
##
## chatterm only reads this file: what the app remembers between runs (the last model, the
## theme, reasoning effort and panes) goes to state.toml in the data folder instead
## (`chatterm config path` prints both). Every key is optional. Lines starting with "# "
## are examples: delete the "# " to use one. `chatterm config show` prints the settings in
## effect, and a mistake is reported in one line naming this file and the key.

## The model chatterm starts on, as provider:model. Without it: the first provider whose
## key is set (OpenAI, then Anthropic, then Gemini), else the offline demo.
# default_model = "openai:gpt-5-mini"

## The models Ctrl+N steps through, in this order. Without it: the suggested models of the
## providers whose key is set, then the demo.
# model_cycle = ["openai:gpt-5-mini", "anthropic:claude-sonnet-4-5", "demo"]

## Up to nine models on alt+1 ... alt+9.
# favourites = ["openai:gpt-5-mini", "gemini:gemini-2.5-flash"]

## The system prompt of new chats (`chatterm ask --system` replaces it for one request).
# system_prompt = "Answer concisely."

## How hard reasoning models think: "off", "low", "medium" (the default) or "high". "off"
## asks them not to reason at all (no thinking budget, Ollama's think: false) and saves
## tokens. The older switch `reasoning = false` means "off"; set one of the two, not both.
# reasoning_effort = "medium"

## The format of new session files: "json" (the default) or "toml". Both always load.
# session_format = "json"

## The TUI's colours: chatterm-dark, chatterm-light, chatterm-high-contrast, chatterm-ansi,
## one of Textual's themes, or a theme file of your own in themes/ next to this file.
# theme = "chatterm-dark"

## Enter sends the message and Ctrl+J inserts a newline. With enter_sends = false, Enter
## inserts a newline and Ctrl+J sends (Alt+Enter too, where the terminal reports it): for
## terminals that cannot tell Shift+Enter from Enter. [keys] can still move either.
# enter_sends = true

## How many answers the TUI asks for in one request (1 to 8): each becomes an alternative
## of the turn. Only OpenAI-compatible Chat Completions servers (and the demo) can give
## several; `chatterm ask --choices N` asks for N in one request.
# choices = 1

## The TUI's context meter (the conversation's size against the model's context window)
## turns to the warning colour past this share of the window. A prompt that would not fit
## is never sent, whatever this says.
# context_warning = 0.8

## Retries and timeouts (seconds). A request that fails before the first token (no
## connection, HTTP 408/409/429/5xx, an overloaded server) is sent again up to max_retries
## times, after the wait the server asks for (Retry-After), else about 0.5 s, 1 s, 2 s...;
## `chatterm ask --retries N` overrides it. first_token_timeout is the longest wait from
## the request to the first token (a reasoning model may think for minutes before it says
## anything), idle_timeout the longest wait between two pieces of the reply after it;
## keep-alives and pings are not pieces of the reply. total_timeout caps the whole reply,
## retries included (0: no cap; raise it for a slow local model writing long answers).
# [network]
# max_retries = 2
# connect_timeout = 10
# first_token_timeout = 600
# idle_timeout = 120
# total_timeout = 1800

## Keys for the TUI's actions, by the ids listed in the README ("f2,ctrl+k" for several).
# [keys]
# "chat.next_model" = "ctrl+n"
# "chat.toggle_reasoning" = "ctrl+r"

## Any OpenAI-compatible server, as [providers.NAME]; its models are then NAME:MODEL.
## base_url is required. api_key_env names the variable holding its key (the key itself
## never goes in this file). A server on this machine (a loopback base_url) needs no key
## and costs $0; local = true says the same of a server elsewhere on your network.
## kind = "gateway" is for a POST /generate/stream gateway (models are NAME:SERVICE/MODEL).
# [providers.deepseek]
# base_url = "https://api.deepseek.com/v1"
# api_key_env = "DEEPSEEK_API_KEY"
# kind = "openai"

# [providers.lan]
# base_url = "http://192.168.1.20:8080/v1"
# local = true

## Roles: a system prompt under a name, and optionally the model and reasoning effort a
## chat with it starts on. Start a chat with one from the TUI's role list (or the
## palette's "Role: NAME"), or `chatterm ask --role NAME`; chosen in a chat that has begun,
## its system prompt applies from the next turn on. chatterm has built-in roles (reviewer,
## explainer, shell, commit: `chatterm config show` prints them); a role of the same
## name here replaces one.
# [roles.reviewer]
# system = "You review Python code for bugs first, then style. Be brief."
# model = "anthropic:claude-sonnet-4-5"
# reasoning_effort = "high"

## Per model, by its full name: a price (US dollars per million tokens; give both input
## and output), the max_tokens sent with each request, and facts the built-in catalogue
## does not know: whether it takes reasoning parameters and its context window in tokens.
# [models."openai:gpt-5-mini"]
# input_per_mtok = 0.25
# output_per_mtok = 2.0
# cached_input_per_mtok = 0.025
# max_tokens = 4096
# reasoning = true
# context_window = 400000
"""


def config_command(args: argparse.Namespace, *, stdout: TextIO, env: Mapping[str, str]) -> int:
    out = stdout
    command = args.config_command or "show"
    if command == "path":
        out.write(f"{safe_text(str(paths.config_file()))}\n")
        out.write(f"{safe_text(str(state.state_file()))}\n")
        return EXIT_OK
    if command == "init":
        return init_config(out, force=args.force)
    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(str(exc))
    out.write(show_settings(settings, env))
    return EXIT_OK


def init_config(out: TextIO, *, force: bool = False, path: Path | None = None) -> int:
    path = path or paths.config_file()
    try:
        exists = path.exists()
    except OSError as exc:  # its folder cannot be looked into
        return fail(f"cannot write {path}: {file_problem(exc)}", EXIT_FAILED)
    if exists and not force:
        return fail(
            f"{path} already exists; edit it, or replace it with `chatterm config init --force` "
            "(your changes would be lost)",
            EXIT_USAGE,
        )
    try:
        atomic_write(path, EXAMPLE_CONFIG.encode("utf-8"))
    except OSError as exc:
        return fail(f"cannot write {path}: {file_problem(exc)}", EXIT_FAILED)
    out.write(f"wrote {safe_text(str(path))}\n")
    return EXIT_OK


# -- show ---------------------------------------------------------------------------------


def url_for_display(url: str) -> str:
    """``url`` without secrets: a password in it and ``key=``/``token=`` query values."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            user = parts.username or ""
            parts = parts._replace(netloc=f"{user}:***@{host}")
            url = urlunsplit(parts)
    except ValueError:
        pass
    return redact(url)


def show_settings(settings: Settings, env: Mapping[str, str]) -> str:
    """The settings as TOML that reads back to the same settings: values set in the file
    are written as keys, defaults as comments; every line says where its value came from."""
    raw = _raw_file(settings.source)
    lines = ["# chatterm config show: the settings in effect"]
    if settings.source is not None and raw is not None:
        lines.append(f"# config file: {settings.source}")
    else:
        lines.append(f"# config file: {paths.config_file()} (none: every value is a default)")
    lines.append(f"# state file:  {state.state_file()} (what the app remembers; not shown)")
    lines.append("")
    raw = raw or {}
    first = _toml_value(default_model(settings, env))
    cycle = _toml_value(model_cycle(settings, env))
    scalars: list[tuple[str, Any, str]] = [
        ("default_model", settings.default_model, f"the first provider with a key: {first}"),
        ("model_cycle", list(settings.model_cycle), f"providers with a key, demo: {cycle}"),
        ("favourites", list(settings.favourites), "none"),
        ("system_prompt", settings.system_prompt, "none"),
        ("reasoning_effort", settings.reasoning_effort, ""),
        ("session_format", settings.session_format, ""),
        ("theme", settings.theme, "the app's default"),
        ("enter_sends", settings.enter_sends, ""),
        ("choices", settings.choices, ""),
        ("context_warning", settings.context_warning, ""),
    ]
    for key, value, default_note in scalars:
        from_file = key in raw or (key == "reasoning_effort" and "reasoning" in raw)
        if from_file and value is not None:
            source = "file" if key in raw else f"file: reasoning = {_toml_value(raw['reasoning'])}"
            lines.append(f"{_toml_line(key, value)}  # {source}")
        elif value is None or value == []:
            lines.append(f"# {key}: not set ({default_note})  # default")
        else:
            lines.append(_comment(_toml_line(key, value)) + "  # default")
    lines.extend(_network_lines(settings, raw))
    lines.extend(_tables(settings))
    lines.append("")
    lines.append("# environment (keys only as set / not set):")
    for name in KEY_VARIABLES:
        lines.append(f"#   {name}: {'set' if env.get(name) else 'not set'}")
    for name in ADDRESS_VARIABLES:
        value = env.get(name)
        lines.append(f"#   {name}: {url_for_display(value) if value else 'not set'}")
    for provider in settings.providers.values():
        if provider.api_key_env:
            is_set = "set" if env.get(provider.api_key_env) else "not set"
            lines.append(f"#   {provider.api_key_env}: {is_set}")
    text = "\n".join(lines) + "\n"
    # A key's value, wherever it turns up (pasted into a base_url, say), is never printed.
    custom = [p.api_key_env for p in settings.providers.values() if p.api_key_env]
    for name in [*KEY_VARIABLES, *custom]:
        secret = env.get(name)
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return safe_text(text)


def _network_lines(settings: Settings, raw: dict[str, Any]) -> list[str]:
    """``[network]``, every value in effect: the file's as keys, the defaults as comments."""
    in_file = raw.get("network")
    in_file = in_file if isinstance(in_file, dict) else {}
    lines = ["", "[network]" + ("  # file" if in_file else "  # defaults")]
    for item in dataclasses.fields(settings.network):
        line = _toml_line(item.name, getattr(settings.network, item.name))
        lines.append(f"{line}  # file" if item.name in in_file else _comment(line) + "  # default")
    return lines


def _tables(settings: Settings) -> list[str]:
    lines: list[str] = []
    if settings.keys:
        lines += ["", "[keys]  # file"]
        lines += [_toml_line(binding, key) for binding, key in settings.keys.items()]
    for name, provider in settings.providers.items():
        lines += ["", f"[providers.{name}]  # file", *_provider_lines(provider)]
    for ref, model in settings.model_settings.items():
        lines += ["", f"[models.{_toml_key(ref)}]  # file", *_model_lines(model)]
    builtin = {role.name for role in BUILTIN_ROLES}
    for name, role in settings.all_roles().items():
        header = f"[roles.{_toml_key(name)}]"
        if role.builtin:
            lines += ["", f"# {header}  # built-in", *map(_comment, _role_lines(role))]
        else:
            source = "file, replaces the built-in one" if name in builtin else "file"
            lines += ["", f"{header}  # {source}", *_role_lines(role)]
    return lines


def _role_lines(role: Role) -> list[str]:
    lines = [_toml_line("system", role.system)]
    if role.model is not None:
        lines.append(_toml_line("model", role.model))
    if role.reasoning_effort is not None:
        lines.append(_toml_line("reasoning_effort", role.reasoning_effort))
    return lines


def _provider_lines(provider: ProviderConfig) -> list[str]:
    lines = [_toml_line("base_url", url_for_display(provider.base_url))]
    if provider.api_key_env:
        lines.append(_toml_line("api_key_env", provider.api_key_env))
    if provider.local is not None:
        lines.append(_toml_line("local", provider.local))
    lines.append(_toml_line("kind", provider.kind))
    return lines


def _model_lines(model: ModelConfig) -> list[str]:
    values: dict[str, Any] = {}
    if model.price is not None:
        values["input_per_mtok"] = model.price.input_per_mtok
        values["output_per_mtok"] = model.price.output_per_mtok
        if model.price.cached_input_per_mtok is not None:
            values["cached_input_per_mtok"] = model.price.cached_input_per_mtok
    for key in ("max_tokens", "reasoning", "context_window"):
        if getattr(model, key) is not None:
            values[key] = getattr(model, key)
    return [_toml_line(key, value) for key, value in values.items()]


def _toml_line(key: str, value: Any) -> str:
    """``key = value`` on one line, quoted and escaped as tomli-w writes TOML."""
    return f"{_toml_key(key)} = {_toml_value(value)}"


def _toml_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return tomli_w.dumps({"x": value}).strip().partition(" = ")[2]


def _comment(text: str) -> str:
    return "\n".join(f"# {line}" for line in text.splitlines())


def _toml_key(key: str) -> str:
    return tomli_w.dumps({key: 0}).strip().rpartition(" = ")[0]


def _raw_file(path: Path | None) -> dict[str, Any] | None:
    """The file's own tables, to tell its values from defaults (it parsed a moment ago)."""
    if path is None:
        return None
    try:
        return tomllib.loads(read_regular(path, limit=CONFIG_LIMIT).decode("utf-8"))
    except (OSError, ValueError):
        return None
