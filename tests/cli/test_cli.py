"""The command line's own behaviour: usage errors, stdin prompts, start-up hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chatterm.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatterm", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_and_ask_do_not_import_textual() -> None:
    code = (
        "import sys, chatterm.cli.main, chatterm.network.stream, chatterm.cli.printer;"
        "print('textual' in sys.modules, 'genai_prices' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False", "False"]


def test_unknown_option_is_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["ask", "--frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--frobnicate" in err


def test_empty_stdin_prompt_is_a_usage_error() -> None:
    result = run_cli("ask", "-m", "demo:fast", "-", stdin="   \n")
    assert result.returncode == 2
    assert result.stderr.strip() == "chatterm: the prompt read from stdin is empty"


def test_prompt_from_stdin_reaches_the_model() -> None:
    result = run_cli("ask", "-m", "demo:fast", "--no-reasoning", stdin="Tell me about walruses\n")
    assert result.returncode == 0, result.stderr
    assert "walruses" in result.stdout
    assert "thinking" not in result.stdout
    assert "\x1b" not in result.stdout


def test_invalid_config_is_exit_2_naming_the_file(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text("default_model = [oops\n")
    result = run_cli("ask", "-m", "demo:fast", "hi")
    assert result.returncode == 2
    assert "config.toml" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_invalid_utf8_on_stdin_is_replaced_not_a_crash() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatterm", "ask", "-m", "demo:fast", "--json", "-"],
        input=b"tell me about \xff caf\xc3\xa9\n",
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert "caf\u00e9".encode() in result.stdout


def test_closed_stdin_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatterm", "ask", "-m", "demo:fast"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "prompt" in result.stderr and "Traceback" not in result.stderr


def test_the_tui_opens_on_the_model_it_was_left_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from chatterm.cli import main as cli
    from chatterm.config import Settings
    from chatterm.state import AppState, save_state

    settings = Settings()
    assert cli.remembered_model(settings) is None
    save_state(AppState(last_model="demo:fast"))
    assert cli.remembered_model(settings) == "demo:fast"
    save_state(AppState(last_model="openai:gpt-5-mini"))  # no key in the tests
    assert cli.remembered_model(settings) is None
    save_state(AppState(last_model="nosuch:model"))
    assert cli.remembered_model(settings) is None


@pytest.mark.parametrize("command", ["sessions list", "models --offline", "config path"])
def test_a_closed_stdout_is_one_line_not_a_traceback(command: str) -> None:
    result = subprocess.run(
        ["bash", "-c", f'"$0" -m chatterm {command} >&-', sys.executable],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == "chatterm: stdout is closed; nowhere to write\n"
