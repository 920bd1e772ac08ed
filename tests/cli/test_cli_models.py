"""``chatterm models``: the table, JSON Lines, discovery notes on stderr, exit codes."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.main import main
from chatterm.cli.models import format_price, format_tokens, models_command

REQUIRED = {
    "ref",
    "provider",
    "model",
    "reasoning",
    "context_window",
    "max_output_tokens",
    "input_per_mtok",
    "output_per_mtok",
    "price_source",
    "price_tiered",
    "key_set",
    "key_env",
    "key_problem",
    "source",
}


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["models", *argv])


def run(
    *argv: str,
    env: dict[str, str] | None = None,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()

    def factory() -> httpx.AsyncClient:
        assert handler is not None, "this test must not touch the network"
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    code = models_command(
        args(*argv), stdout=out, stderr=err, env=env or {}, client_factory=factory
    )
    return code, out.getvalue(), err.getvalue()


def rows(table: str) -> dict[str, list[str]]:
    """provider:model -> the row's cells (cells are separated by two spaces or more)."""
    found: dict[str, list[str]] = {}
    for line in table.splitlines()[1:]:
        cells = [c.strip() for c in line.split("  ") if c.strip()]
        if len(cells) >= 8:
            found[f"{cells[0]}:{cells[1]}"] = cells
    return found


def test_offline_table_lists_builtin_models_and_key_status() -> None:
    code, out, err = run("--offline", env={"OPENAI_API_KEY": "sk-test"})
    assert code == 0 and err == ""
    header = out.splitlines()[0].split()
    assert header[:4] == ["PROVIDER", "MODEL", "REASONING", "CONTEXT"]
    table = rows(out)
    assert table["openai:gpt-5-mini"][2:] == ["yes", "400k", "0.25", "2", "set", "builtin"]
    assert table["anthropic:claude-haiku-4-5"][6] == "missing ANTHROPIC_API_KEY"
    assert table["demo:demo"][2:7] == ["yes", "-", "0", "0", "not needed"]
    assert table["openai:gpt-4.1"][3] == "1.05M"
    assert "\x1b" not in out


def test_json_lines_one_object_per_model() -> None:
    code, out, _ = run("--offline", "--json")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert all(set(r) == REQUIRED for r in records)
    demo = next(r for r in records if r["ref"] == "demo")
    assert demo["input_per_mtok"] == 0 and demo["price_source"] == "local"
    assert demo["key_set"] is False and demo["key_env"] is None


def test_discovered_models_are_listed_and_failures_go_to_stderr(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text(
        '[providers.box]\nbase_url = "http://box.test/v1"\napi_key_env = "BOX_KEY"\n'
        '[providers.down]\nbase_url = "http://down.test/v1"\n'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "box.test":
            assert request.headers["authorization"] == "Bearer sk-box-secret-123"
            return httpx.Response(200, json={"data": [{"id": "Qwen/Qwen3-8B"}]})
        if request.url.host == "down.test":
            return httpx.Response(500, json={"error": {"message": "overloaded"}})
        return httpx.Response(200, json={"models": [{"name": "qwen3:8b"}]})

    env = {"OLLAMA_HOST": "http://127.0.0.1:11434", "BOX_KEY": "sk-box-secret-123"}
    code, out, err = run(env=env, handler=handler)
    assert code == 0
    table = rows(out)
    assert table["box:Qwen/Qwen3-8B"][2] == "yes"
    assert table["box:Qwen/Qwen3-8B"][-1] == "discovered"
    assert table["ollama:qwen3:8b"][4:7] == ["0", "0", "not needed"]
    [note] = err.splitlines()
    assert note.startswith("chatterm: HTTP 500 from down") and "overloaded" in note
    assert "sk-box-secret-123" not in out + err
    # The list is cached: --offline shows it without asking again.
    code, cached, _ = run("--offline", env=env)
    assert "Qwen/Qwen3-8B" in cached and "qwen3:8b" in cached


def test_server_text_cannot_drive_the_terminal(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text('[providers.evil]\nbase_url = "http://e.test/v1"\n')

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "e.test":
            return httpx.Response(200, json={"data": [{"id": "m\x1b]52;c;aGk=\x07\nx"}]})
        return httpx.Response(404)

    code, out, err = run(env={"OLLAMA_HOST": "127.0.0.1"}, handler=handler)
    assert code == 0
    assert "\x1b" not in out + err and "\x07" not in out
    assert "m␛]52;c;aGk=␇␊x" in out
    code, out, _ = run("--offline", "--json", env={"OLLAMA_HOST": "127.0.0.1"})
    evil = [json.loads(line) for line in out.splitlines() if '"evil"' in line]
    assert evil[0]["model"] == "m\x1b]52;c;aGk=\x07\nx"  # exact in JSON, escaped on the wire
    assert "\x1b" not in out


def test_config_problems_in_model_names_are_explained(isolated_home: Path) -> None:
    (isolated_home / "config.toml").write_text('model_cycle = ["nowhere:x"]\n')
    code, out, err = run("--offline")
    assert code == 0
    assert rows(out)["nowhere:x"][6] == "error"
    assert "unknown provider 'nowhere'" in err


def test_invalid_config_is_exit_2(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated_home / "config.toml").write_text("model_cycle = 3\n")
    assert main(["models", "--offline"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model_cycle" in err and "config.toml" in err


def test_refresh_and_offline_do_not_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["models", "--refresh", "--offline"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_main_runs_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--offline", "--json"]) == 0
    assert '"ref": "demo"' in capsys.readouterr().out


def test_help_lists_the_new_commands() -> None:
    text = build_parser().format_help()
    assert "models" in text and "config" in text


@pytest.mark.parametrize(
    ("count", "text"),
    [(None, "-"), (512, "512"), (8_192, "8.19k"), (128_000, "128k"), (1_048_576, "1.05M")],
)
def test_format_tokens(count: int | None, text: str) -> None:
    assert format_tokens(count) == text


@pytest.mark.parametrize(
    ("usd", "text"),
    [(None, "-"), (0.0, "0"), (0.25, "0.25"), (10.0, "10"), (0.039, "0.039"), (75, "75")],
)
def test_format_price(usd: float | None, text: str) -> None:
    assert format_price(usd) == text
