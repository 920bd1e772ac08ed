"""Roles in config.toml: ``[roles.NAME]`` tables read into Settings over the built-in roles,
every mistake a one-line ConfigError naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatterm.config import BUILTIN_ROLES, Role, Settings, load_settings
from chatterm.errors import ConfigError

ROLES = """\
system_prompt = "Be brief."

[roles.reviewer]
system = "Review my Go code.\\nBugs first."
model = "anthropic:claude-sonnet-4-5"
reasoning_effort = "high"

[roles.Poet-2]
system = "Answer in verse."
"""


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def test_roles_are_read_with_their_model_and_effort(tmp_path: Path) -> None:
    settings = load(tmp_path, ROLES)
    assert settings.roles == {
        "reviewer": Role(
            "reviewer",
            "Review my Go code.\nBugs first.",
            model="anthropic:claude-sonnet-4-5",
            reasoning_effort="high",
        ),
        "Poet-2": Role("Poet-2", "Answer in verse."),
    }
    assert settings.system_prompt == "Be brief."  # new chats without a role: unchanged


def test_a_role_of_a_built_in_name_replaces_it_and_the_others_stay(tmp_path: Path) -> None:
    roles = load(tmp_path, ROLES).all_roles()
    builtin = {role.name for role in BUILTIN_ROLES}
    assert set(roles) == builtin | {"Poet-2"}
    assert list(roles) == sorted(roles, key=str.casefold)  # the picker's order
    assert roles["reviewer"].system.startswith("Review my Go code.")
    assert not roles["reviewer"].builtin
    assert roles["explainer"].builtin and roles["explainer"] in BUILTIN_ROLES


def test_the_built_in_roles() -> None:
    roles = Settings().all_roles()
    assert {"reviewer", "explainer", "shell"} <= set(roles)
    for role in roles.values():
        assert role.builtin and len(role.system) > 80, role.name
        assert role.model is None  # a built-in role works with whatever model is in use
    assert roles["shell"].reasoning_effort == "low"  # a quick one-liner, not an essay


def test_an_unknown_role_lists_the_known_ones(tmp_path: Path) -> None:
    settings = load(tmp_path, ROLES)
    with pytest.raises(ConfigError) as exc:
        settings.role("revewer")
    message = str(exc.value)
    assert "no role 'revewer'" in message
    assert "commit, explainer, Poet-2, reviewer, shell" in message
    assert "\n" not in message
    assert settings.role("Poet-2").system == "Answer in verse."


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[roles.r]\nmodel = 'demo'\n", "[roles.r] needs system"),
        ("[roles.r]\nsystem = 3\n", "roles.r.system must be a string, not int 3"),
        ('[roles.r]\nsystem = "  \\n"\n', "roles.r.system is empty"),
        ("[roles.r]\nsystem = 'x'\nmodel = 4\n", "roles.r.model must be a string"),
        ("[roles.r]\nsystem = 'x'\nmodel = ''\n", "roles.r.model is empty"),
        (
            "[roles.r]\nsystem = 'x'\nreasoning_effort = 'max'\n",
            'roles.r.reasoning_effort must be "off", "low", "medium" or "high"',
        ),
        (
            "[roles.r]\nsystem = 'x'\ntemperature = 0.2\n",
            "unknown key 'roles.r.temperature'; remove it or use one of: model, "
            "reasoning_effort, system",
        ),
        ('[roles."two words"]\nsystem = "x"\n', "[roles.two words]: role names use letters"),
        ('[roles."-x"]\nsystem = "x"\n', "[roles.-x]: role names use letters"),
        ("[roles]\nr = 'You are terse.'\n", "roles.r must be a table, not str"),
        ("roles = ['reviewer']\n", "roles must be a table, not list"),
    ],
)
def test_a_mistake_in_a_role_names_the_file_and_the_key(
    tmp_path: Path, text: str, names: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, text)
    message = str(exc.value)
    assert message.startswith(f"{tmp_path / 'config.toml'}: ")
    assert names in message
    assert "\n" not in message


def test_a_role_name_that_is_not_printable_is_shown_escaped(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, '[roles."a\\u001b[2Jb"]\nsystem = "x"\n')
    assert "\x1b" not in str(exc.value)
    assert "\\x1b" in str(exc.value)


def test_config_show_lists_every_role_and_reads_back(tmp_path: Path) -> None:
    import tomllib

    from chatterm.cli.config import show_settings
    from chatterm.config import parse_settings

    settings = load(tmp_path, ROLES)
    out = show_settings(settings, env={})
    assert "[roles.reviewer]  # file, replaces the built-in one" in out
    assert 'system = "Review my Go code.\\nBugs first."' in out
    assert 'reasoning_effort = "high"' in out
    assert "[roles.Poet-2]  # file" in out
    for builtin in ("explainer", "shell", "commit"):
        assert f"# [roles.{builtin}]  # built-in" in out
    assert '# reasoning_effort = "low"' in out  # the shell role's, as a comment
    shown = parse_settings(tomllib.loads(out))
    assert shown.roles == settings.roles  # the built-in ones are comments: not read back
    assert shown.all_roles() == settings.all_roles()
