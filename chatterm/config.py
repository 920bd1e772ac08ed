"""``config.toml`` loaded into one typed, validated :class:`Settings` object.

chatterm only ever reads this file (rewriting it would lose the user's comments). Unknown
keys and wrong types are rejected with one line naming the file, the key and the fix.
Roles (``[roles.NAME]``: a system prompt, and the model and effort to start on) are read
here too, over a few built-in ones (:data:`BUILTIN_ROLES`) that a role of the same name
replaces.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from chatterm import paths
from chatterm.errors import ConfigError
from chatterm.events import REASONING_EFFORTS, ReasoningEffort
from chatterm.files import file_problem, read_regular
from chatterm.pricing import PriceOverride
from chatterm.urls import url_problem

_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
MAX_FAVOURITES = 9
MAX_CHOICES = 8  # answers to one request (Chat Completions n): more is rarely read
CONFIG_LIMIT = 1 << 20  # a config file is a few KB; a bigger one is a mistake
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    """An OpenAI-compatible server declared as ``[providers.NAME]``."""

    name: str
    base_url: str
    api_key_env: str | None = None
    local: bool | None = None  # None: a loopback base_url is local ($0)
    kind: Literal["openai", "gateway"] = "openai"


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Per-model settings from ``[models."provider:model"]``."""

    price: PriceOverride | None = None
    max_tokens: int | None = None
    reasoning: bool | None = None  # None: what the built-in catalogue knows
    context_window: int | None = None


@dataclass(frozen=True, slots=True)
class Role:
    """A system prompt kept under a name, ``[roles.NAME]``: what a chat started with it
    sends as its system prompt, and optionally the model and reasoning effort it starts
    on. ``builtin`` marks one of chatterm's own (:data:`BUILTIN_ROLES`)."""

    name: str
    system: str
    model: str | None = None
    reasoning_effort: ReasoningEffort | None = None
    builtin: bool = False


BUILTIN_ROLES: tuple[Role, ...] = (
    Role(
        "reviewer",
        "You are a careful code reviewer. Report what matters most first: bugs, unhandled "
        "edge cases, security and data-loss risks, then performance, then readability. For "
        "each finding, quote or name the lines, say why it is a problem and give a concrete "
        "fix. Do not restate the code or praise it; if it is fine, say so in one line.",
        builtin=True,
    ),
    Role(
        "explainer",
        "Explain to a capable newcomer. Start with what the thing is for in two or three "
        "sentences, then the key ideas in order, each with a small concrete example. Define "
        "a term the first time you use it, end with the usual pitfalls, and keep it short: "
        "no filler, no summary of what you just said.",
        builtin=True,
    ),
    Role(
        "shell",
        "You turn requests into shell commands for bash or zsh on Linux or macOS. Answer "
        "with the command alone in one fenced code block: no explanation unless asked. "
        "Prefer standard tools and quote paths safely. If the command deletes, overwrites "
        "or is irreversible, add one short warning line after the block.",
        reasoning_effort="low",
        builtin=True,
    ),
    Role(
        "commit",
        "Write a git commit message for the diff or description you are given: a summary "
        "line of at most 72 characters in the imperative mood, a blank line, then a body "
        "wrapped at 72 columns that says what changed and why (not how). Answer with the "
        "message alone.",
        builtin=True,
    ),
)


@dataclass(frozen=True, slots=True)
class NetworkSettings:
    """``[network]``: how long to wait, and how often to try again, before a reply starts.

    Seconds throughout. ``first_token_timeout`` is the longest silence allowed before the
    first token (reasoning or answer): a reasoning model whose thoughts are hidden (OpenAI's
    o-series and gpt-5) or a local server loading a model and reading a long prompt may say
    nothing for minutes, so it is as long as the official SDKs' 10-minute read timeout.
    It runs from the request to the first token: keep-alive comments and events without a
    token do not end it. Once tokens flow, ``idle_timeout`` is the longest wait between two
    pieces of progress (a token, usage, the finish), not between any two bytes.
    ``total_timeout`` caps the whole reply, retries included (0: no cap), against a server
    that trickles tokens forever (a model stuck repeating itself). Half an hour is the
    whole first-token wait plus twenty minutes of answer: at the speed of a hosted API,
    more than any model's output limit; a slow local model writing at length may need more.
    """

    max_retries: int = 2
    connect_timeout: float = 10.0
    first_token_timeout: float = 600.0
    idle_timeout: float = 120.0
    total_timeout: float = 1800.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything chatterm reads from ``config.toml``, with defaults for what is missing.

    ``reasoning_effort`` is where a session starts (the TUI cycles it); ``reasoning`` is
    False exactly when that is ``"off"``. ``keys`` maps binding ids to keys, as
    ``App.set_keymap`` takes them; ``favourites`` are the models on alt+1…alt+9.
    ``enter_sends`` False swaps the prompt's keys: Enter inserts a newline and Ctrl+J
    sends (for terminals that cannot tell Shift+Enter from Enter). ``choices`` is how many
    answers the TUI asks for in one request (Chat Completions ``n``; 1 to
    :data:`MAX_CHOICES`), where the model's provider can give several.
    ``context_warning`` is the share of the model's context window past which the TUI's
    context meter warns. ``roles`` are the file's ``[roles.NAME]`` only; :meth:`all_roles`
    adds the built-in ones.
    """

    default_model: str | None = None
    model_cycle: tuple[str, ...] = ()
    favourites: tuple[str, ...] = ()
    system_prompt: str | None = None
    reasoning_effort: ReasoningEffort = "medium"
    session_format: Literal["json", "toml"] = "json"
    theme: str | None = None
    enter_sends: bool = True
    choices: int = 1
    context_warning: float = 0.8
    keys: dict[str, str] = field(default_factory=dict)
    providers: dict[str, ProviderConfig] = field(default_factory=dict)
    model_settings: dict[str, ModelConfig] = field(default_factory=dict)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    roles: dict[str, Role] = field(default_factory=dict)
    source: Path | None = None

    @property
    def reasoning(self) -> bool:
        return self.reasoning_effort != "off"

    def all_roles(self) -> dict[str, Role]:
        """Every role by name, in name order: the built-in ones, each replaced by the
        file's role of the same name, and the file's own."""
        roles = {role.name: role for role in BUILTIN_ROLES} | self.roles
        return dict(sorted(roles.items(), key=lambda item: item[0].casefold()))

    def role(self, name: str) -> Role:
        """The role called ``name``; a :class:`ConfigError` lists the known ones if none is."""
        roles = self.all_roles()
        if name in roles:
            return roles[name]
        known = ", ".join(roles)
        raise ConfigError(
            f"no role {name!r:.60}; the roles are: {known} ([roles.NAME] in config.toml adds one)"
        )


def load_settings(path: Path | None = None) -> Settings:
    """Read the config file; a missing file means all defaults."""
    path = path or paths.config_file()
    try:
        raw = read_regular(path, limit=CONFIG_LIMIT)
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {file_problem(exc)}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix that line") from None
    except (RecursionError, ValueError) as exc:  # absurd nesting, a 5,000-digit number
        kind = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ConfigError(f"{path}: cannot be read ({kind}); fix the file") from None
    return parse_settings(data, path)


def parse_settings(data: dict[str, Any], path: Path | None = None) -> Settings:
    where = str(path) if path else "config"
    check = _Checker(where)
    check.no_unknown(
        data,
        {
            "default_model",
            "model_cycle",
            "favourites",
            "system_prompt",
            "reasoning",
            "reasoning_effort",
            "session_format",
            "theme",
            "enter_sends",
            "choices",
            "context_warning",
            "keys",
            "providers",
            "models",
            "network",
            "roles",
        },
        "",
    )
    model_cycle = [
        check.string(m, f"model_cycle[{i}]")
        for i, m in enumerate(check.list(data.get("model_cycle", []), "model_cycle"))
    ]
    favourites = [
        check.string(m, f"favourites[{i}]")
        for i, m in enumerate(check.list(data.get("favourites", []), "favourites"))
    ]
    if len(favourites) > MAX_FAVOURITES:
        raise ConfigError(
            f"{where}: favourites has {len(favourites)} models; alt+1…alt+9 take at most "
            f"{MAX_FAVOURITES}"
        )
    model_tables = check.table(data.get("models", {}), "models")
    keys: dict[str, str] = {}
    for binding_id, value in check.table(data.get("keys", {}), "keys").items():
        keys[binding_id] = check.string(value, f"keys.{binding_id}").strip()
        if not keys[binding_id]:
            raise ConfigError(
                f'{where}: keys.{binding_id} is empty; give a key such as "ctrl+k" '
                '(several: "f2,ctrl+k")'
            )
    effort = _reasoning_effort(data, check)

    choices = data.get("choices", 1)
    if isinstance(choices, bool) or not isinstance(choices, int) or not 1 <= choices <= MAX_CHOICES:
        raise check.error("choices", f"a whole number from 1 to {MAX_CHOICES}", choices)

    context_warning = data.get("context_warning", 0.8)
    if (
        isinstance(context_warning, bool)
        or not isinstance(context_warning, int | float)
        or not 0 < context_warning <= 1
    ):
        raise check.error(
            "context_warning", "a share above 0 and at most 1, e.g. 0.8", context_warning
        )

    session_format = data.get("session_format", "json")
    if session_format not in ("json", "toml"):
        raise check.error("session_format", '"json" or "toml"', session_format)

    providers: dict[str, ProviderConfig] = {}
    for name, table in check.table(data.get("providers", {}), "providers").items():
        key = f"providers.{name}"
        if not _PROVIDER_NAME.fullmatch(name):
            shown = f"providers.{name}" if name.isprintable() else f"providers.{name!r}"
            raise ConfigError(
                f"{where}: [{shown}]: provider names use lower-case letters, digits, - and _"
            )
        table = check.table(table, key)
        check.no_unknown(table, {"base_url", "api_key_env", "local", "kind"}, key)
        kind = table.get("kind", "openai")
        if kind not in ("openai", "gateway"):
            raise check.error(f"{key}.kind", '"openai" or "gateway"', kind)
        if "base_url" not in table:
            raise ConfigError(
                f'{where}: [{key}] needs base_url, e.g. base_url = "http://127.0.0.1:8000/v1"'
            )
        base_url = check.string(table["base_url"], f"{key}.base_url")
        problem = url_problem(base_url)
        if problem is not None:
            example = "http://127.0.0.1:8000/v1"
            raise ConfigError(f"{where}: {key}.base_url {problem}; e.g. {example}")
        providers[name] = ProviderConfig(
            name=name,
            base_url=base_url,
            api_key_env=check.variable_name(table.get("api_key_env"), f"{key}.api_key_env"),
            local=None if "local" not in table else check.boolean(table["local"], f"{key}.local"),
            kind=kind,
        )

    model_settings: dict[str, ModelConfig] = {}
    for ref, table in model_tables.items():
        key = f'models."{ref}"'
        table = check.table(table, key)
        check.no_unknown(
            table,
            {
                "input_per_mtok",
                "output_per_mtok",
                "cached_input_per_mtok",
                "max_tokens",
                "reasoning",
                "context_window",
            },
            key,
        )
        price: PriceOverride | None = None
        if "input_per_mtok" in table or "output_per_mtok" in table:
            if not ("input_per_mtok" in table and "output_per_mtok" in table):
                raise ConfigError(
                    f"{where}: [{key}] sets a price: give both input_per_mtok and output_per_mtok"
                )
            cached = table.get("cached_input_per_mtok")
            price = PriceOverride(
                input_per_mtok=check.number(table["input_per_mtok"], f"{key}.input_per_mtok"),
                output_per_mtok=check.number(table["output_per_mtok"], f"{key}.output_per_mtok"),
                cached_input_per_mtok=(
                    None if cached is None else check.number(cached, f"{key}.cached_input_per_mtok")
                ),
            )
        max_tokens = table.get("max_tokens")
        context_window = table.get("context_window")
        model_settings[ref] = ModelConfig(
            price=price,
            max_tokens=None
            if max_tokens is None
            else check.positive_int(max_tokens, f"{key}.max_tokens"),
            reasoning=None
            if "reasoning" not in table
            else check.boolean(table["reasoning"], f"{key}.reasoning"),
            context_window=None
            if context_window is None
            else check.positive_int(context_window, f"{key}.context_window"),
        )

    return Settings(
        default_model=check.optional_string(data.get("default_model"), "default_model"),
        model_cycle=tuple(model_cycle),
        favourites=tuple(favourites),
        system_prompt=check.optional_string(data.get("system_prompt"), "system_prompt"),
        reasoning_effort=effort,
        session_format=session_format,
        theme=check.optional_string(data.get("theme"), "theme"),
        enter_sends=check.boolean(data.get("enter_sends", True), "enter_sends"),
        choices=choices,
        context_warning=float(context_warning),
        keys=keys,
        providers=providers,
        model_settings=model_settings,
        network=_network(data, check),
        roles=_roles(data, check),
        source=path,
    )


_NETWORK_TIMEOUTS = ("connect_timeout", "first_token_timeout", "idle_timeout")
MAX_RETRIES_LIMIT = 10


def _network(data: dict[str, Any], check: _Checker) -> NetworkSettings:
    """``[network]``: ``max_retries`` (0 to 10) and the timeouts (seconds above 0;
    ``total_timeout`` may be 0, for none)."""
    table = check.table(data.get("network", {}), "network")
    check.no_unknown(table, {"max_retries", "total_timeout", *_NETWORK_TIMEOUTS}, "network")
    defaults = NetworkSettings()
    retries = table.get("max_retries", defaults.max_retries)
    if (
        isinstance(retries, bool)
        or not isinstance(retries, int)
        or not 0 <= retries <= MAX_RETRIES_LIMIT
    ):
        raise check.error(
            "network.max_retries", f"a whole number from 0 to {MAX_RETRIES_LIMIT}", retries
        )
    timeouts: dict[str, float] = {}
    for key in _NETWORK_TIMEOUTS:
        if key in table:
            timeouts[key] = check.seconds(table[key], f"network.{key}")
    if "total_timeout" in table:
        timeouts["total_timeout"] = check.seconds_or_none(
            table["total_timeout"], "network.total_timeout"
        )
    return NetworkSettings(max_retries=retries, **timeouts)


def _roles(data: dict[str, Any], check: _Checker) -> dict[str, Role]:
    """``[roles.NAME]``: ``system`` (required text), ``model`` and ``reasoning_effort``."""
    roles: dict[str, Role] = {}
    for name, table in check.table(data.get("roles", {}), "roles").items():
        key = f"roles.{name}"
        if not _ROLE_NAME.fullmatch(name):
            shown = key if name.isprintable() else f"roles.{name!r}"
            raise ConfigError(
                f"{check.where}: [{shown:.60}]: role names use letters, digits, -, _ and . "
                "(at most 40, starting with a letter or digit)"
            )
        table = check.table(table, key)
        check.no_unknown(table, {"system", "model", "reasoning_effort"}, key)
        if "system" not in table:
            raise ConfigError(
                f'{check.where}: [{key}] needs system, e.g. system = "You review code."'
            )
        system = check.string(table["system"], f"{key}.system")
        if not system.strip():
            raise ConfigError(f"{check.where}: {key}.system is empty; give the role's instructions")
        model = check.optional_string(table.get("model"), f"{key}.model")
        if model is not None and not model.strip():
            raise ConfigError(
                f'{check.where}: {key}.model is empty; give a model such as "openai:gpt-5-mini" '
                "or leave it out"
            )
        effort = table.get("reasoning_effort")
        if effort is not None and effort not in REASONING_EFFORTS:
            raise check.error(f"{key}.reasoning_effort", '"off", "low", "medium" or "high"', effort)
        roles[name] = Role(
            name=name,
            system=system,
            model=model.strip() if model is not None else None,
            reasoning_effort=cast(ReasoningEffort | None, effort),
        )
    return roles


def _reasoning_effort(data: dict[str, Any], check: _Checker) -> ReasoningEffort:
    """``reasoning_effort``, or the older switch ``reasoning = false`` meaning "off"."""
    if "reasoning_effort" in data:
        effort = data["reasoning_effort"]
        if effort not in REASONING_EFFORTS:
            raise check.error("reasoning_effort", '"off", "low", "medium" or "high"', effort)
        if "reasoning" in data:
            raise ConfigError(
                f"{check.where}: set reasoning_effort or reasoning, not both "
                '(reasoning = false is reasoning_effort = "off")'
            )
        return cast(ReasoningEffort, effort)
    return "medium" if check.boolean(data.get("reasoning", True), "reasoning") else "off"


class _Checker:
    """Type checks that fail with a message naming the file and the key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def error(self, key: str, expected: str, value: object) -> ConfigError:
        return ConfigError(
            f"{self.where}: {key} must be {expected}, not {type(value).__name__} {value!r:.40}"
        )

    def no_unknown(self, table: dict[str, Any], known: set[str], prefix: str) -> None:
        for key in table:
            if key not in known:
                full = f"{prefix}.{key}" if prefix else key
                allowed = ", ".join(sorted(known))
                raise ConfigError(
                    f"{self.where}: unknown key {full!r}; remove it or use one of: {allowed}"
                )

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "a table", value)
        return value

    def list(self, value: object, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.error(key, "a list", value)
        return value

    def string(self, value: object, key: str) -> str:
        if not isinstance(value, str):
            raise self.error(key, "a string", value)
        return value

    def optional_string(self, value: object, key: str) -> str | None:
        return None if value is None else self.string(value, key)

    def boolean(self, value: object, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.error(key, "true or false", value)
        return value

    def variable_name(self, value: object, key: str) -> str | None:
        """The name of an environment variable; a key pasted here is refused without
        being repeated (the message must not carry it)."""
        name = self.optional_string(value, key)
        if name is not None and not _VARIABLE.fullmatch(name):
            raise ConfigError(
                f"{self.where}: {key} names the environment variable that holds the key "
                '(e.g. "GROQ_API_KEY"), not the key itself; put the key in that variable'
            )
        return name

    def number(self, value: object, key: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value < float("inf")  # also refuses nan
        ):
            raise self.error(key, "a number of US dollars (0 or more)", value)
        return float(value)

    def seconds(self, value: object, key: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 < value < float("inf")
        ):
            raise self.error(key, "a number of seconds above 0", value)
        return float(value)

    def seconds_or_none(self, value: object, key: str) -> float:
        """Seconds, or 0 for no limit at all."""
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value < float("inf")
        ):
            raise self.error(key, "a number of seconds (0: no limit)", value)
        return float(value)

    def positive_int(self, value: object, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.error(key, "a whole number above 0", value)
        return value
