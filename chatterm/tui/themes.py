"""Colour themes: TOML files mapped onto :class:`textual.theme.Theme`.

chatterm's own themes are ``themes/*.toml`` at the top of the repository, shipped inside
the wheel as ``chatterm/themes/`` (see ``pyproject.toml``); a user adds or overrides one
with a file in ``themes/`` in the config folder. A file looks like this::

    name = "chatterm-dark"      # what the theme is called in the palette and in config.toml
    dark = true
    primary = "#4EA1F3"         # required; every other colour is optional
    background = "#15181E"
    [variables]                 # any of Textual's theme variables
    footer-key-foreground = "#4EA1F3"

The keys are the fields of ``Theme``: the colours ``primary``, ``secondary``, ``accent``,
``warning``, ``error``, ``success``, ``foreground``, ``background``, ``surface``, ``panel``
and ``boost`` (``#RGB``, ``#RRGGBB``, ``rgb(…)``, a colour name, or one of the terminal's
own 16 colours: ``ansi_red``, ``ansi_bright_blue``, ``ansi_default``), ``dark``,
``luminosity_spread``, ``text_alpha``, ``ansi`` (true: colours are sent as the terminal's
ANSI colours, not converted to RGB) and ``variables``.

Every file is checked in full before it is used: a file that is not valid TOML, has an
unknown key, a colour that does not parse or a variable Textual does not have is skipped
and reported, with its path and the reason, in :func:`load_themes`' failures (the app
shows them all in one notification).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.theme import Theme

from chatterm import paths
from chatterm.files import file_problem, read_regular

DEFAULT_THEME = "chatterm-dark"
THEME_LIMIT = 1 << 20  # a theme is a few hundred bytes
COLOR_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # it becomes a CSS class: -theme-NAME
_ALPHA = re.compile(r"^(?P<color>.+?)(?:\s+(?P<percent>\d{1,3})%)?$")


@dataclass(frozen=True, slots=True)
class ThemeFailure:
    """A theme file that was skipped, and why (one line)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ThemeError(ValueError):
    """A theme file's content is not a valid theme."""


def bundled_themes_dir() -> Path:
    """The themes chatterm ships: ``chatterm/themes`` in an installed wheel, else (an
    editable install, a source checkout) ``themes/`` at the top of the repository."""
    package = Path(__file__).resolve().parent.parent
    inside = package / "themes"
    return inside if inside.is_dir() else package.parent / "themes"


def user_themes_dir() -> Path:
    return paths.config_dir() / "themes"


def theme_folders() -> list[Path]:
    """Where themes are read from, in order: a later file with the same name wins."""
    return [bundled_themes_dir(), user_themes_dir()]


def load_themes(folders: Iterable[Path]) -> tuple[list[Theme], list[ThemeFailure]]:
    """Every ``*.toml`` theme in ``folders`` (sorted by file name within each folder), and
    the files that were skipped. A folder that does not exist holds no themes."""
    themes: list[Theme] = []
    failures: list[ThemeFailure] = []
    for folder in folders:
        try:
            files = sorted(folder.glob("*.toml"))
        except OSError as exc:
            failures.append(ThemeFailure(folder, f"cannot list: {file_problem(exc)}"))
            continue
        for path in files:
            try:
                themes.append(read_theme(path))
            except ThemeError as exc:
                failures.append(ThemeFailure(path, str(exc)))
    return themes, failures


def read_theme(path: Path) -> Theme:
    try:
        raw = read_regular(path, limit=THEME_LIMIT)
    except OSError as exc:
        raise ThemeError(f"cannot read: {file_problem(exc)}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ThemeError("not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"invalid TOML ({exc})") from None
    except (RecursionError, ValueError):
        raise ThemeError("not a theme (nested too deeply, or a number too long)") from None
    return parse_theme(data)


def parse_theme(data: dict[str, Any]) -> Theme:
    """A checked :class:`Theme` from a theme file's table; :class:`ThemeError` if any
    value is wrong."""
    known = {"name", "dark", "luminosity_spread", "text_alpha", "ansi", "variables"}
    known.update(COLOR_FIELDS)
    for key in data:
        if key not in known:
            raise ThemeError(f"unknown key {key!r}; use {', '.join(sorted(known))}")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ThemeError(
            'name must be lower-case letters, digits, - and _ (e.g. name = "my-theme")'
        )
    if "primary" not in data:
        raise ThemeError('primary is required (e.g. primary = "#4EA1F3")')
    colors = {key: _color(key, data[key]) for key in COLOR_FIELDS if key in data}
    for key in ("dark", "ansi"):
        if not isinstance(data.get(key, False), bool):
            raise ThemeError(f"{key} must be true or false")
    numbers: dict[str, float] = {}
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ThemeError(f"{key} must be a number from 0 to 1")
            numbers[key] = float(value)
    fields: dict[str, Any] = {**colors, **numbers}
    theme = Theme(
        name=name,
        dark=data.get("dark", True),
        ansi=data.get("ansi", False),
        variables=_variables(data.get("variables", {})),
        **fields,
    )
    try:
        theme.to_color_system().generate()
    except (ColorParseError, ValueError, TypeError) as exc:
        raise ThemeError(f"not a usable theme ({exc})") from None
    return theme


def _color(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeError(f'{key} must be a colour string such as "#4EA1F3" or "ansi_blue"')
    try:
        color = Color.parse(value)
    except ColorParseError:
        raise ThemeError(
            f"{key} = {value!r} is not a colour (use #RRGGBB, rgb(…), a name or ansi_…)"
        ) from None
    if key in _OPAQUE and color.a < 1:
        # Textual derives shades from these; a see-through one breaks its stylesheet.
        raise ThemeError(f"{key} = {value!r} must be opaque (no transparency)")
    return value


_OPAQUE = frozenset({"background", "surface", "panel"})


def stylesheet_problem(theme: Theme, base_variables: dict[str, str]) -> str | None:
    """Why Textual's and chatterm's stylesheets cannot be built with ``theme`` (one line),
    or None. Checking the colours alone misses variables the stylesheets need (an ANSI
    theme without ``ansi-background``): a theme that fails here would stop the app when
    applied, so it is skipped instead. ``base_variables`` are the app's defaults
    (``App.get_theme_variable_defaults()``). Slow, so run for user themes only.
    """
    from textual.app import App
    from textual.css.stylesheet import Stylesheet
    from textual.widget import Widget

    variables = {**base_variables, **theme.to_color_system().generate(), **theme.variables}
    sheet = Stylesheet(variables=variables)
    classes: list[type] = [App]
    pending: list[type] = [Widget]
    while pending:  # every widget class imported so far, and so every DEFAULT_CSS in use
        subclass: type
        for subclass in pending.pop().__subclasses__():
            if subclass not in classes:
                classes.append(subclass)
                pending.append(subclass)
    for cls in classes:
        css = cls.__dict__.get("DEFAULT_CSS")
        if isinstance(css, str) and css.strip():
            sheet.add_source(css, read_from=(cls.__module__, cls.__name__), is_default_css=True)
    own = Path(__file__).with_name("chatterm.tcss")
    sheet.add_source(own.read_text(encoding="utf-8"), read_from=(str(own), ""))
    try:
        sheet.parse()
    except Exception as exc:  # noqa: BLE001 - any failure means "do not apply this theme"
        return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    return None


@cache
def theme_variable_names() -> frozenset[str]:
    """The variables a theme may set: those Textual's colour system defines."""
    return frozenset(Theme(name="probe", primary="#808080").to_color_system().generate())


def _variables(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ThemeError("variables must be a table ([variables])")
    names = theme_variable_names()
    variables: dict[str, str] = {}
    for key, item in value.items():
        if key not in names:
            raise ThemeError(f"variables: Textual has no theme variable {key!r}")
        if not isinstance(item, str):
            raise ThemeError(f"variables.{key} must be a string")
        if key.endswith("-style"):
            flags = item.split()
            if (
                not flags
                or any(flag not in VALID_STYLE_FLAGS for flag in flags)
                or flags[-1] == "not"  # "not" negates the flag after it
            ):
                raise ThemeError(
                    f"variables.{key} = {item!r}: use {', '.join(sorted(VALID_STYLE_FLAGS))}"
                )
        else:
            _variable_color(key, item)
        variables[key] = item
    return variables


def _variable_color(key: str, value: str) -> None:
    """A colour variable: a colour or ``auto``, optionally with an alpha (``#fff 40%``)."""
    match = _ALPHA.match(value.strip())
    color = match.group("color") if match else value
    percent = match.group("percent") if match else None
    if percent is not None and int(percent) > 100:
        raise ThemeError(f"variables.{key} = {value!r}: the alpha is 0% to 100%")
    if color == "auto":
        return
    try:
        Color.parse(color)
    except ColorParseError:
        raise ThemeError(f"variables.{key} = {value!r} is not a colour") from None


def pick_theme(available: Iterable[str], *choices: str | None) -> str:
    """The first of ``choices`` that is available, else chatterm's default theme (or, if
    even that is missing, Textual's)."""
    names = set(available)
    for choice in choices:
        if choice and choice in names:
            return choice
    return DEFAULT_THEME if DEFAULT_THEME in names else "textual-dark"
