"""config.toml: parsed into Settings, every mistake a one-line ConfigError naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatterm.config import (
    ModelConfig,
    NetworkSettings,
    ProviderConfig,
    Settings,
    load_settings,
    parse_settings,
)
from chatterm.errors import ConfigError
from chatterm.pricing import PriceOverride

FULL = """\
# chatterm config
default_model = "openai:gpt-5-mini"
model_cycle = ["openai:gpt-5-mini", "local:qwen3", "demo"]
favourites = ["openai:gpt-5-mini", "demo"]
system_prompt = "Be brief."
reasoning_effort = "high"
session_format = "toml"
theme = "chatterm-light"

[keys]
"chat.next_model" = "f3"
"chat.cancel" = " escape,ctrl+g "

[providers.local]
base_url = "http://127.0.0.1:8000/v1"
local = true

[providers.groq]
base_url = "https://api.groq.com/openai/v1"
api_key_env = "GROQ_API_KEY"

[models."openai:gpt-5-mini"]
input_per_mtok = 0.25
output_per_mtok = 2
cached_input_per_mtok = 0.025
max_tokens = 4096

[models."local:qwen3"]
max_tokens = 1024
reasoning = true
context_window = 32768
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str | bytes) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    return message


class TestValid:
    def test_full_config(self, tmp_path: Path) -> None:
        path = write(tmp_path, FULL)
        settings = load_settings(path)
        assert settings == Settings(
            default_model="openai:gpt-5-mini",
            model_cycle=("openai:gpt-5-mini", "local:qwen3", "demo"),
            favourites=("openai:gpt-5-mini", "demo"),
            system_prompt="Be brief.",
            reasoning_effort="high",
            session_format="toml",
            theme="chatterm-light",
            keys={"chat.next_model": "f3", "chat.cancel": "escape,ctrl+g"},
            providers={
                "local": ProviderConfig("local", "http://127.0.0.1:8000/v1", None, local=True),
                "groq": ProviderConfig(
                    "groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", local=None
                ),
            },
            model_settings={
                "openai:gpt-5-mini": ModelConfig(
                    price=PriceOverride(0.25, 2.0, 0.025), max_tokens=4096
                ),
                "local:qwen3": ModelConfig(
                    price=None, max_tokens=1024, reasoning=True, context_window=32768
                ),
            },
            source=path,
        )

    @pytest.mark.parametrize(
        ("text", "effort"),
        [
            ("", "medium"),
            ("reasoning = true\n", "medium"),
            ("reasoning = false\n", "off"),
            ('reasoning_effort = "off"\n', "off"),
            ('reasoning_effort = "low"\n', "low"),
        ],
    )
    def test_reasoning_effort(self, tmp_path: Path, text: str, effort: str) -> None:
        settings = load_settings(write(tmp_path, text))
        assert settings.reasoning_effort == effort
        assert settings.reasoning is (effort != "off")

    def test_integer_prices_become_floats(self, tmp_path: Path) -> None:
        settings = load_settings(write(tmp_path, FULL))
        price = settings.model_settings["openai:gpt-5-mini"].price
        assert price is not None and isinstance(price.output_per_mtok, float)

    def test_price_without_cached_rate(self, tmp_path: Path) -> None:
        text = '[models."openai:x"]\ninput_per_mtok = 1.5\noutput_per_mtok = 6.0\n'
        settings = load_settings(write(tmp_path, text))
        assert settings.model_settings["openai:x"] == ModelConfig(price=PriceOverride(1.5, 6.0))

    def test_missing_file_gives_defaults(self, tmp_path: Path) -> None:
        settings = load_settings(tmp_path / "nope" / "config.toml")
        assert settings == Settings()
        assert settings.session_format == "json"
        assert settings.reasoning is True
        assert settings.providers == {} and settings.model_settings == {}

    def test_default_path_is_under_chatterm_home(self, isolated_home: Path) -> None:
        assert load_settings() == Settings()
        (isolated_home / "config.toml").write_text('default_model = "demo:fast"\n')
        assert load_settings().default_model == "demo:fast"
        assert load_settings().source == isolated_home / "config.toml"

    def test_empty_file(self, tmp_path: Path) -> None:
        assert load_settings(write(tmp_path, "")) == Settings(source=tmp_path / "config.toml")

    def test_parse_settings_without_path(self) -> None:
        assert parse_settings({"reasoning": False}).reasoning is False
        with pytest.raises(ConfigError, match=r"^config: unknown key 'x'"):
            parse_settings({"x": 1})


class TestErrors:
    def test_unknown_top_level_key(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, 'defualt_model = "demo"\n')
        assert "'defualt_model'" in message
        assert "default_model" in message  # the allowed keys are listed

    def test_unknown_provider_key(self, tmp_path: Path) -> None:
        text = '[providers.local]\nbase_url = "http://127.0.0.1:1/v1"\napi_key = "secret"\n'
        message = config_error(tmp_path, text)
        assert "'providers.local.api_key'" in message
        assert "api_key_env" in message

    def test_effort_and_the_old_switch_together(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, 'reasoning = false\nreasoning_effort = "low"\n')
        assert "not both" in message

    def test_too_many_favourites(self, tmp_path: Path) -> None:
        models = ", ".join(f'"demo{n}"' for n in range(10))
        message = config_error(tmp_path, f"favourites = [{models}]\n")
        assert "at most 9" in message

    def test_an_empty_key(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, '[keys]\n"chat.cancel" = " "\n')
        assert "keys.chat.cancel is empty" in message

    def test_unknown_model_key(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, '[models."openai:x"]\ninput_price = 1\n')
        assert 'models."openai:x".input_price' in message

    @pytest.mark.parametrize(
        ("text", "key"),
        [
            ("default_model = 5\n", "default_model"),
            ('reasoning = "yes"\n', "reasoning"),
            ('reasoning_effort = "max"\n', "reasoning_effort"),
            ("reasoning_effort = true\n", "reasoning_effort"),
            ('favourites = "demo"\n', "favourites"),
            ("favourites = [1]\n", "favourites[0]"),
            ("theme = 1\n", "theme"),
            ('keys = "x"\n', "keys"),
            ('[keys]\n"chat.cancel" = 1\n', "keys.chat.cancel"),
            ('[models."a:b"]\nreasoning = "yes"\n', 'models."a:b".reasoning'),
            ('[models."a:b"]\ncontext_window = 0\n', 'models."a:b".context_window'),
            ('model_cycle = "demo"\n', "model_cycle"),
            ('model_cycle = ["demo", 3]\n', "model_cycle[1]"),
            ("system_prompt = []\n", "system_prompt"),
            ('session_format = "yaml"\n', "session_format"),
            ("session_format = 1\n", "session_format"),
            ('providers = "x"\n', "providers"),
            ('models = ["x"]\n', "models"),
            ("[providers.x]\nbase_url = 8000\n", "providers.x.base_url"),
            ('[providers.x]\nbase_url = "http://h"\napi_key_env = 1\n', "providers.x.api_key_env"),
            ('[providers.x]\nbase_url = "http://h"\nlocal = "true"\n', "providers.x.local"),
            (
                '[models."openai:x"]\ninput_per_mtok = "1"\noutput_per_mtok = 1\n',
                'models."openai:x".input_per_mtok',
            ),
            (
                '[models."openai:x"]\ninput_per_mtok = 1\noutput_per_mtok = -2\n',
                'models."openai:x".output_per_mtok',
            ),
            (
                '[models."openai:x"]\ninput_per_mtok = 1\noutput_per_mtok = true\n',
                'models."openai:x".output_per_mtok',
            ),
            (
                '[models."openai:x"]\ninput_per_mtok = 1\noutput_per_mtok = 1\n'
                'cached_input_per_mtok = "0"\n',
                'models."openai:x".cached_input_per_mtok',
            ),
            ('[models."openai:x"]\nmax_tokens = 0\n', 'models."openai:x".max_tokens'),
            ('[models."openai:x"]\nmax_tokens = 1.5\n', 'models."openai:x".max_tokens'),
            ('[models."openai:x"]\nmax_tokens = true\n', 'models."openai:x".max_tokens'),
            ('models = {"openai:x" = 3}\n', 'models."openai:x"'),
        ],
    )
    def test_wrong_type(self, tmp_path: Path, text: str, key: str) -> None:
        message = config_error(tmp_path, text)
        assert f"{key} must be" in message

    def test_wrong_type_message_shows_the_value(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, 'reasoning = "yes"\n')
        assert (
            message == f"{tmp_path / 'config.toml'}: reasoning must be true or false, not str 'yes'"
        )

    def test_long_value_is_cut(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, f'reasoning = "{"x" * 500}"\n')
        assert len(message) < len(str(tmp_path)) + 120

    def test_multi_line_value_stays_one_line(self, tmp_path: Path) -> None:
        config_error(tmp_path, 'reasoning = """a\nb\nc"""\n')

    def test_invalid_toml(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, 'default_model = "demo"\nreasoning = \n')
        assert "invalid TOML" in message
        assert "line 2" in message

    def test_duplicate_key_is_invalid_toml(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, "reasoning = true\nreasoning = false\n")
        assert "invalid TOML" in message

    def test_not_utf8(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, b'system_prompt = "caf\xe9"\n')
        assert "not UTF-8" in message

    def test_provider_without_base_url(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, '[providers.local]\napi_key_env = "K"\n')
        assert "[providers.local] needs base_url" in message

    @pytest.mark.parametrize("name", ["Local", "my provider", "-x", "a.b"])
    def test_bad_provider_name(self, tmp_path: Path, name: str) -> None:
        message = config_error(tmp_path, f'[providers."{name}"]\nbase_url = "u"\n')
        assert f"providers.{name}" in message

    def test_price_needs_both_rates(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, '[models."openai:x"]\ninput_per_mtok = 1\n')
        assert 'models."openai:x"' in message
        assert "input_per_mtok and output_per_mtok" in message

    def test_unreadable_path(self, tmp_path: Path) -> None:
        folder = tmp_path / "config.toml"
        folder.mkdir()
        with pytest.raises(ConfigError) as info:
            load_settings(folder)
        assert str(folder) in str(info.value)
        assert "\n" not in str(info.value)


class TestNetwork:
    def test_defaults(self) -> None:
        network = Settings().network
        assert network == NetworkSettings(
            max_retries=2, connect_timeout=10.0, first_token_timeout=600.0, idle_timeout=120.0
        )
        assert load_settings(Path("/nonexistent/config.toml")).network == network
        assert network.total_timeout == 1800.0

    def test_total_timeout_may_be_0_for_no_limit(self, tmp_path: Path) -> None:
        text = "[network]\ntotal_timeout = 0\n"
        assert load_settings(write(tmp_path, text)).network.total_timeout == 0.0
        text = "[network]\ntotal_timeout = 90.5\n"
        assert load_settings(write(tmp_path, text)).network == NetworkSettings(total_timeout=90.5)

    def test_every_key(self, tmp_path: Path) -> None:
        text = (
            "[network]\nmax_retries = 0\nconnect_timeout = 2.5\n"
            "first_token_timeout = 900\nidle_timeout = 30\n"
        )
        network = load_settings(write(tmp_path, text)).network
        assert network == NetworkSettings(0, 2.5, 900.0, 30.0)
        assert isinstance(network.first_token_timeout, float)

    def test_a_key_left_out_keeps_its_default(self, tmp_path: Path) -> None:
        network = load_settings(write(tmp_path, "[network]\nidle_timeout = 5\n")).network
        assert network == NetworkSettings(idle_timeout=5.0)

    def test_unknown_key_lists_the_known_ones(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, "[network]\nread_timeout = 5\n")
        assert "'network.read_timeout'" in message
        assert "first_token_timeout" in message and "max_retries" in message

    @pytest.mark.parametrize(
        ("text", "key", "expected"),
        [
            ("max_retries = -1", "max_retries", "a whole number from 0 to 10"),
            ("max_retries = 11", "max_retries", "a whole number from 0 to 10"),
            ("max_retries = 1.5", "max_retries", "a whole number from 0 to 10"),
            ("max_retries = true", "max_retries", "a whole number from 0 to 10"),
            ('max_retries = "2"', "max_retries", "a whole number from 0 to 10"),
            ("connect_timeout = 0", "connect_timeout", "a number of seconds above 0"),
            ("first_token_timeout = -5", "first_token_timeout", "a number of seconds above 0"),
            ("idle_timeout = nan", "idle_timeout", "a number of seconds above 0"),
            ("idle_timeout = inf", "idle_timeout", "a number of seconds above 0"),
            ('idle_timeout = "30s"', "idle_timeout", "a number of seconds above 0"),
            ("idle_timeout = false", "idle_timeout", "a number of seconds above 0"),
            ("total_timeout = -1", "total_timeout", "a number of seconds (0: no limit)"),
            ("total_timeout = inf", "total_timeout", "a number of seconds (0: no limit)"),
            ("total_timeout = nan", "total_timeout", "a number of seconds (0: no limit)"),
            ('total_timeout = "1h"', "total_timeout", "a number of seconds (0: no limit)"),
        ],
    )
    def test_wrong_values(self, tmp_path: Path, text: str, key: str, expected: str) -> None:
        message = config_error(tmp_path, f"[network]\n{text}\n")
        assert f"network.{key} must be {expected}" in message

    def test_network_must_be_a_table(self, tmp_path: Path) -> None:
        assert "network must be a table" in config_error(tmp_path, "network = 3\n")


class TestHostileValues:
    def test_a_key_pasted_as_api_key_env_is_refused_and_not_repeated(self, tmp_path: Path) -> None:
        secret = "sk-proj-abcdefghijklmnop1234"
        text = f'[providers.x]\nbase_url = "https://h/v1"\napi_key_env = "{secret}"\n'
        message = config_error(tmp_path, text)
        assert "names the environment variable" in message
        assert secret not in message

    def test_names_that_end_in_a_line_break_are_refused(self, tmp_path: Path) -> None:
        """A final line break slips past a `$` anchor; it would reach file names, CSS
        classes and the terminal."""
        message = config_error(tmp_path, '[providers."lan\\n"]\nbase_url = "http://h/v1"\n')
        assert "provider names use lower-case letters" in message
        text = '[providers.lan]\nbase_url = "http://h/v1"\napi_key_env = "LAN_KEY\\n"\n'
        assert "names the environment variable" in config_error(tmp_path, text)

    @pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
    def test_prices_must_be_finite(self, tmp_path: Path, value: str) -> None:
        text = f'[models."a:b"]\ninput_per_mtok = {value}\noutput_per_mtok = 1\n'
        assert "input_per_mtok" in config_error(tmp_path, text)

    def test_absurd_nesting_is_one_line(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, "a = " + "[" * 3000 + "]" * 3000 + "\n")
        assert "cannot be read" in message or "invalid TOML" in message

    def test_a_huge_number_is_one_line(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, "a = " + "9" * 5000 + "\n")
        assert "cannot be read" in message or "invalid TOML" in message


class TestEnterSends:
    def test_enter_sends_by_default_and_false_swaps(self, tmp_path: Path) -> None:
        assert load_settings(write(tmp_path, "")).enter_sends is True
        assert load_settings(write(tmp_path, "enter_sends = false\n")).enter_sends is False
        assert load_settings(write(tmp_path, "enter_sends = true\n")).enter_sends is True

    @pytest.mark.parametrize("value", ['"false"', "0", "[]"])
    def test_anything_but_true_or_false_is_one_line(self, tmp_path: Path, value: str) -> None:
        message = config_error(tmp_path, f"enter_sends = {value}\n")
        assert "enter_sends must be true or false" in message

    def test_it_is_a_top_level_key(self, tmp_path: Path) -> None:
        message = config_error(tmp_path, "[keys]\nenter_sends = false\n")
        assert "keys.enter_sends must be a string" in message
        message = config_error(tmp_path, "enter_send = false\n")
        assert "unknown key 'enter_send'" in message and "enter_sends" in message


class TestChoices:
    def test_one_by_default_and_up_to_eight(self, tmp_path: Path) -> None:
        assert load_settings(write(tmp_path, "")).choices == 1
        assert load_settings(write(tmp_path, "choices = 3\n")).choices == 3
        assert load_settings(write(tmp_path, "choices = 8\n")).choices == 8

    @pytest.mark.parametrize("value", ["0", "9", "-1", "2.0", '"2"', "true"])
    def test_anything_else_is_one_line_naming_the_key(self, tmp_path: Path, value: str) -> None:
        message = config_error(tmp_path, f"choices = {value}\n")
        assert "choices must be a whole number from 1 to 8" in message
        assert "\n" not in message
