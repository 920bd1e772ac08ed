"""``chatterm config path|init|show``."""

from __future__ import annotations

import argparse
import dataclasses
import io
import re
import stat
import tomllib
from pathlib import Path

import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.config import EXAMPLE_CONFIG, config_command, url_for_display
from chatterm.cli.main import main
from chatterm.config import Settings, load_settings, parse_settings
from chatterm.errors import ConfigError

SECRET = "sk-config-secret-4242"

FULL = """\
default_model = "lan:qwen3"
model_cycle = ["lan:qwen3", "openai:gpt-5-mini", "demo"]
favourites = ["demo"]
system_prompt = "Be brief.\\nVery."
reasoning = false
session_format = "toml"
theme = "chatterm-light"

[keys]
"chat.next_model" = "f3"

[network]
connect_timeout = 4
total_timeout = 0

[providers.lan]
base_url = "http://me:hunter2@192.168.1.2:8080/v1?key=url-secret&x=1"
api_key_env = "LAN_KEY"
local = true

[providers.gw]
base_url = "http://127.0.0.1:8000/api/v1"
kind = "gateway"

[models."lan:qwen3"]
input_per_mtok = 0.5
output_per_mtok = 1.5
cached_input_per_mtok = 0.1
max_tokens = 2048
reasoning = true
context_window = 32768
"""


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    args: argparse.Namespace = build_parser().parse_args(["config", *argv])
    return config_command(args, stdout=out, env=env or {}), out.getvalue()


def without_source(settings: Settings) -> Settings:
    return dataclasses.replace(settings, source=None)


# -- path -----------------------------------------------------------------------------------


def test_path_prints_the_config_and_state_files(isolated_home: Path) -> None:
    code, out = run("path")
    assert code == 0
    assert out.splitlines() == [
        str(isolated_home / "config.toml"),
        str(isolated_home / "data" / "state.toml"),
    ]


def test_path_works_with_a_broken_config(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text("this is not toml")
    assert run("path")[0] == 0


# -- init -----------------------------------------------------------------------------------


def test_init_writes_a_private_example_that_loads_as_the_defaults(isolated_home: Path) -> None:
    code, out = run("init")
    path = isolated_home / "config.toml"
    assert code == 0 and out == f"wrote {path}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == EXAMPLE_CONFIG
    assert without_source(load_settings()) == Settings()


def uncommented(text: str) -> str:
    """The example with every example line ("# key = …", "# [table]") switched on."""
    return "\n".join(line[2:] if line.startswith("# ") else line for line in text.splitlines())


def test_every_example_line_is_valid_when_uncommented() -> None:
    settings = parse_settings(tomllib.loads(uncommented(EXAMPLE_CONFIG)))
    assert settings.default_model == "openai:gpt-5-mini"
    assert settings.reasoning_effort == "medium"
    assert settings.providers["deepseek"].api_key_env == "DEEPSEEK_API_KEY"
    assert settings.providers["lan"].local is True
    model = settings.model_settings["openai:gpt-5-mini"]
    assert model.price is not None and model.context_window == 400_000
    assert settings.keys["chat.next_model"] == "ctrl+n"
    assert settings.roles["reviewer"].reasoning_effort == "high"


def allowed_keys(data: dict[str, object]) -> set[str]:
    """The keys parse_settings accepts where ``data`` has an unknown one (from its message)."""
    with pytest.raises(ConfigError) as exc:
        parse_settings(data)
    return set(re.findall(r"[a-z_]+", str(exc.value).rpartition("use one of:")[2]))


def test_the_example_documents_every_key() -> None:
    example = uncommented(EXAMPLE_CONFIG)
    top = allowed_keys({"zzz": 1})
    provider = allowed_keys({"providers": {"p": {"base_url": "http://x", "zzz": 1}}})
    model = allowed_keys({"models": {"a:b": {"zzz": 1}}})
    network = allowed_keys({"network": {"zzz": 1}})
    role = allowed_keys({"roles": {"r": {"system": "x", "zzz": 1}}})
    assert {"default_model", "providers", "models", "base_url"} <= top | provider
    for key in top - {"keys", "providers", "models", "network", "roles"}:
        assert re.search(rf"^{key} = |`{key} = ", example, re.M), key
    assert re.search(r"^\[network\]$", example, re.M)
    assert re.search(r"^\[roles\.", example, re.M)
    for key in provider | model | network | role:
        assert re.search(rf"^{key} = ", example, re.M), key


def test_the_example_names_real_binding_ids() -> None:
    from chatterm.tui.bindings import ALL_BINDINGS  # the test may import textual

    ids = {binding.id for binding in ALL_BINDINGS}
    keys = parse_settings(tomllib.loads(uncommented(EXAMPLE_CONFIG))).keys
    assert set(keys) <= ids


def test_init_never_overwrites_without_force(isolated_home: Path) -> None:
    path = isolated_home / "config.toml"
    path.write_text('default_model = "demo"  # mine\n')
    code, out = run("init")
    assert code == 2 and out == ""
    assert path.read_text() == 'default_model = "demo"  # mine\n'
    code, _ = run("init", "--force")
    assert code == 0 and path.read_text() == EXAMPLE_CONFIG


# -- show -----------------------------------------------------------------------------------


def test_show_reads_back_as_the_same_settings(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text(FULL)
    code, out = run("show", env={"LAN_KEY": SECRET})
    assert code == 0
    shown = parse_settings(tomllib.loads(out))
    loaded = load_settings()
    # Only the secrets in base_url differ.
    lan = dataclasses.replace(loaded.providers["lan"], base_url=shown.providers["lan"].base_url)
    expected = dataclasses.replace(loaded, providers={**loaded.providers, "lan": lan})
    assert without_source(shown) == without_source(expected)
    assert shown.reasoning_effort == "off"
    assert 'reasoning_effort = "off"  # file: reasoning = false' in out
    assert 'session_format = "toml"  # file' in out
    assert "connect_timeout = 4.0  # file" in out and "total_timeout = 0.0  # file" in out
    assert "# idle_timeout = 120.0  # default" in out


def test_show_never_prints_secrets(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text(FULL.replace("url-secret", SECRET))
    env = {"LAN_KEY": SECRET, "OPENAI_API_KEY": "sk-openai-secret-777"}
    code, out = run("show", env=env)
    assert code == 0
    assert SECRET not in out and "hunter2" not in out and "sk-openai-secret-777" not in out
    assert 'base_url = "http://me:***@192.168.1.2:8080/v1?key=***&x=1"' in out
    assert 'api_key_env = "LAN_KEY"' in out
    assert "#   LAN_KEY: set" in out and "#   OPENAI_API_KEY: set" in out


def test_show_marks_defaults_and_what_they_come_to(isolated_home: Path) -> None:
    code, out = run("show", env={"ANTHROPIC_API_KEY": "k"})
    assert code == 0
    assert "(none: every value is a default)" in out
    assert '"anthropic:claude-sonnet-4-5"' in out  # the default model in effect
    assert '# reasoning_effort = "medium"  # default' in out
    assert without_source(parse_settings(tomllib.loads(out))) == Settings()


def test_show_has_enter_sends_from_the_file_or_as_a_default(isolated_home: Path) -> None:
    code, out = run("show")
    assert code == 0 and "# enter_sends = true  # default" in out
    (isolated_home / "config.toml").write_text("enter_sends = false\n")
    code, out = run("show")
    assert code == 0 and "enter_sends = false  # file" in out
    assert parse_settings(tomllib.loads(out)).enter_sends is False


def test_show_is_the_default_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config"]) == 0
    assert "# chatterm config show" in capsys.readouterr().out


def test_a_broken_config_is_one_line_and_exit_2(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated_home / "config.toml").write_text("[providers.x]\nbase_url = 3\n")
    assert main(["config", "show"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "config.toml" in err and "providers.x.base_url" in err


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("https://u:p@h.example/v1", "https://u:***@h.example/v1"),
        ("https://h.example/v1?key=abc&api_key=def", "https://h.example/v1?key=***&api_key=***"),
        ("http://[::1", "http://[::1"),  # unparseable: still shown, nothing to hide
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert url_for_display(url) == shown
