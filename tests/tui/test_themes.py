"""Themes: the bundled ones load, user themes add to them, broken files are reported once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from textual.widgets._toast import Toast
from tui_helpers import SIZE, chat, finish_reply, send

from chatterm import paths
from chatterm.config import Settings
from chatterm.tui.app import ChatApp
from chatterm.tui.themes import (
    COLOR_FIELDS,
    DEFAULT_THEME,
    ThemeError,
    bundled_themes_dir,
    load_themes,
    parse_theme,
    pick_theme,
    user_themes_dir,
)

BUNDLED = ("chatterm-ansi", "chatterm-dark", "chatterm-high-contrast", "chatterm-light")


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


def test_the_bundled_themes_are_at_the_top_of_the_repository() -> None:
    root = Path(__file__).resolve().parents[2]
    assert bundled_themes_dir() == root / "themes"  # a source checkout / editable install
    themes, failures = load_themes([bundled_themes_dir()])
    assert failures == []
    assert [theme.name for theme in themes] == list(BUNDLED)
    dark = {theme.name: theme.dark for theme in themes}
    assert dark["chatterm-light"] is False and dark["chatterm-dark"] is True


def test_the_ansi_theme_uses_only_the_terminals_16_colours() -> None:
    data = tomllib.loads((bundled_themes_dir() / "chatterm-ansi.toml").read_text())
    assert data["ansi"] is True
    colours = [data[key] for key in COLOR_FIELDS if key in data]
    colours += [v for k, v in data["variables"].items() if not k.endswith("-style")]
    assert colours and all(colour.startswith("ansi_") for colour in colours)
    generated = parse_theme(data).to_color_system().generate()
    for name, value in generated.items():
        if "style" not in name:
            assert value.split()[0].startswith("ansi_") or value == "transparent", name


@pytest.mark.parametrize("name", BUNDLED)
async def test_every_bundled_theme_loads_and_draws_a_reply(name: str) -> None:
    app = ChatApp(Settings(theme=name), "demo:fast", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.theme == name
        await send(pilot, "Explain Python generators")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert turn.reply is not None and turn.reply.finish_reason == "stop"
        assert not any("theme" in text.lower() for text in toasts(app))


def test_parse_theme_rejects_what_is_wrong() -> None:
    good = {"name": "mine", "primary": "#112233"}
    assert parse_theme(good).name == "mine"
    for bad, words in (
        ({**good, "primry": "#fff"}, "unknown key 'primry'"),
        ({"primary": "#fff"}, "name must be"),
        ({**good, "name": "Has Space"}, "name must be"),
        ({**good, "name": "mine\n"}, "name must be"),  # a final line break too
        ({"name": "mine"}, "primary is required"),
        ({**good, "background": "#12345"}, "background = '#12345' is not a colour"),
        ({**good, "dark": "yes"}, "dark must be true or false"),
        ({**good, "text_alpha": 2}, "text_alpha must be a number from 0 to 1"),
        ({**good, "variables": {"no-such-thing": "#fff"}}, "no theme variable 'no-such-thing'"),
        ({**good, "variables": {"border": "blurple"}}, "variables.border = 'blurple'"),
        ({**good, "variables": {"link-style": "wavy"}}, "variables.link-style = 'wavy'"),
        ({**good, "variables": {"border": "#fff 140%"}}, "the alpha is 0% to 100%"),
    ):
        with pytest.raises(ThemeError, match=words):
            parse_theme(bad)  # type: ignore[arg-type]
    ok = {**good, "variables": {"text-muted": "auto 70%", "link-style": "bold underline"}}
    assert parse_theme(ok).variables["text-muted"] == "auto 70%"


def test_pick_theme_prefers_the_first_choice_that_exists() -> None:
    names = ["chatterm-dark", "chatterm-light", "textual-dark"]
    assert pick_theme(names, None, "chatterm-light") == "chatterm-light"
    assert pick_theme(names, "gone", "chatterm-light") == "chatterm-light"
    assert pick_theme(names, "chatterm-light", "chatterm-dark") == "chatterm-light"
    assert pick_theme(names) == DEFAULT_THEME
    assert pick_theme(["textual-dark"]) == "textual-dark"


async def test_user_themes_load_and_broken_ones_are_reported_once_and_skipped() -> None:
    folder = user_themes_dir()
    folder.mkdir(parents=True)
    assert folder == paths.config_dir() / "themes"
    (folder / "mine.toml").write_text('name = "mine"\nprimary = "#AA3377"\ndark = false\n')
    (folder / "broken.toml").write_text('name = "broken"\nprimary = "#AA3377\n')
    (folder / "badcolour.toml").write_text('name = "badcolour"\nprimary = "nope"\n')
    (folder / "notes.txt").write_text("not a theme")
    app = ChatApp(Settings(theme="mine"), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        assert app.theme == "mine"
        assert "broken" not in app.available_themes
        assert "badcolour" not in app.available_themes
        assert set(BUNDLED) <= set(app.available_themes)
        app.theme = "chatterm-light"
        await pilot.pause()
        reports = [text for text in toasts(app) if "Theme files skipped" in text]
        assert len(reports) == 1
        (report,) = reports
        assert "broken.toml: invalid TOML" in report
        assert "badcolour.toml: primary = 'nope' is not a colour" in report


async def test_an_unknown_theme_in_the_config_is_reported() -> None:
    app = ChatApp(Settings(theme="solarised"), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True):
        assert app.theme == DEFAULT_THEME
        (report,) = [text for text in toasts(app) if "solarised" in text]
        assert "chatterm-light" in report


async def test_a_user_theme_that_would_break_the_stylesheet_is_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "themes"
    folder.mkdir()
    (folder / "ansi-half.toml").write_text(
        'name = "ansi-half"\nansi = true\nprimary = "ansi_blue"\n'
    )
    (folder / "linky.toml").write_text(
        'name = "linky"\nprimary = "#112233"\n[variables]\n"link-style" = "not"\n'
    )
    (folder / "clear.toml").write_text(
        'name = "clear"\nprimary = "#112233"\nbackground = "transparent"\n'
    )
    (folder / "deep.toml").write_text("a = " + "[" * 3000 + "]" * 3000 + "\n")
    (folder / "fine.toml").write_text('name = "fine"\nprimary = "#112233"\n')
    settings = Settings(theme="ansi-half")
    app = ChatApp(settings, "demo", env={}, theme_folders=[bundled_themes_dir(), folder])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert "fine" in app.available_themes
        for broken in ("ansi-half", "linky", "clear"):
            assert broken not in app.available_themes
        assert app.theme != "ansi-half"
        app.theme = "fine"
        await pilot.pause()
        assert app.is_running
