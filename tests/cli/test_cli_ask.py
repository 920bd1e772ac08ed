"""End to end: ``python -m chatterm ask`` as a subprocess against the fake server.

The contract under test (README, "chatterm ask"): plain output for people, JSON Lines for
scripts, exit codes 0 / 1 / 2, one-line errors on stderr that never carry the API key, and
model text that cannot drive the terminal in plain mode but stays exact in JSON mode.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chatterm.text import safe_text
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, Scenario, mid_frame_offset, render_frames
from tests.waiting import default_sigint

ROOT = Path(__file__).resolve().parents[2]
SAFETY_TIMEOUT_S = 60.0
PROMPT = "Tell me about naïve text handling"
MODEL = "openai:test-model"
DONE_KEYS = {
    "type",
    "model",
    "text",
    "reasoning",
    "finish_reason",
    "usage",
    "ttft_ms",
    "first_answer_ms",
    "duration_ms",
    "tokens_per_s",
    "cost_usd",
}
USAGE_KEYS = {
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_input_tokens",
    "estimated",
}
FINISH_REASONS = {
    "stop",
    "length",
    "content_filter",
    "tool_calls",
    "cancelled",
    "interrupted",
    "error",
}
_PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_BASE_URL",
    "OLLAMA_HOST",
)


@dataclass
class Ask:
    returncode: int
    stdout: str
    stderr: str

    @property
    def records(self) -> list[dict[str, Any]]:
        """The JSON Lines, split on LF only (JSON may carry U+2028 raw)."""
        assert self.stdout.endswith("\n"), self.stdout[-200:]
        return [json.loads(line) for line in self.stdout[:-1].split("\n")]

    @property
    def done(self) -> dict[str, Any]:
        records = self.records
        done = [r for r in records if r["type"] == "done"]
        assert len(done) == 1, records
        assert records[-1] is done[0], "the done record must come last"
        return done[0]

    def joined(self, kind: str) -> str:
        return "".join(r["text"] for r in self.records if r["type"] == kind)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def ask_env(
    home: Path,
    server: FakeServer | None,
    *,
    key: str | None = API_KEY,
    base_url: str | None = None,
    no_color: bool = True,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROVIDER_ENV}
    env.update(
        CHATTERM_HOME=str(home),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    env.pop("PYTHONWARNINGS", None)
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    if key is not None:
        env["OPENAI_API_KEY"] = key
    if base_url is None and server is not None:
        base_url = server.base_url + "/v1"
    if base_url is not None:
        env["OPENAI_BASE_URL"] = base_url
    return env


def ask(
    home: Path,
    server: FakeServer | None,
    *args: str,
    stdin: str = "",
    key: str | None = API_KEY,
    base_url: str | None = None,
    no_color: bool = True,
) -> Ask:
    result = subprocess.run(
        [sys.executable, "-m", "chatterm", "ask", *args],
        input=stdin.encode("utf-8"),
        capture_output=True,
        env=ask_env(home, server, key=key, base_url=base_url, no_color=no_color),
        cwd=home,
        timeout=SAFETY_TIMEOUT_S,
    )
    return Ask(
        result.returncode,
        result.stdout.decode("utf-8"),
        result.stderr.decode("utf-8"),
    )


def assert_clean_stderr(result: Ask) -> None:
    """Nothing, or one line: no traceback, no key."""
    assert result.stderr.count("\n") <= 1, result.stderr
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stderr
    assert API_KEY not in result.stdout


# ----------------------------------------------------------------------------- --json


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario(),
        Scenario(line_ending="\r\n", split="awkward", keepalive_comments=True),
        Scenario(dialect="reasoning", split="bytewise"),
        Scenario(dialect="none", tokens_per_chunk=4),
        Scenario(dialect="content_parts", tokens_per_chunk=2),
    ],
    ids=["deepseek", "crlf-awkward", "vllm-bytewise", "openai-no-reasoning-text", "mistral-parts"],
)
def test_json_full_reply(fake_server: FakeServer, home: Path, scenario: Scenario) -> None:
    fake_server.scenario = scenario
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    records = result.records
    assert {r["type"] for r in records} <= {"reasoning", "text", "done"}
    assert [r["text"] for r in records if r["type"] == "text"] == scenario.answer_pieces
    done = result.done
    assert DONE_KEYS <= set(done)
    assert set(done["usage"]) >= USAGE_KEYS
    assert done["model"] == MODEL
    assert done["text"] == result.joined("text") == scenario.answer
    assert done["reasoning"] == result.joined("reasoning") == scenario.expected_reasoning
    assert done["finish_reason"] == "stop"
    assert done["usage"] == {
        "input_tokens": scenario.prompt_tokens,
        "output_tokens": scenario.completion_count(),
        "reasoning_tokens": scenario.reasoning_count(),
        "cached_input_tokens": scenario.cached_tokens,
        "estimated": False,
    } | {k: v for k, v in done["usage"].items() if k not in USAGE_KEYS}
    for key in ("ttft_ms", "first_answer_ms", "duration_ms"):
        assert isinstance(done[key], int | float) and done[key] >= 0, key
    assert done["tokens_per_s"] > 0
    # openai: models are priced as OpenAI's wherever they are served (a local LiteLLM proxy
    # still bills); "test-model" has no known price: unknown, never a made-up $0.
    assert done["cost_usd"] is None and done["cost_source"] == "unknown"

    [request] = fake_server.requests
    assert request.header("authorization") == f"Bearer {API_KEY}"
    body = request.json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["model"] == "test-model"
    assert body["messages"][-1] == {"role": "user", "content": PROMPT}


def test_json_think_tags_join_to_done(fake_server: FakeServer, home: Path) -> None:
    scenario = Scenario(dialect="think_tags", split="awkward")
    fake_server.scenario = scenario
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    done = result.done
    assert done["text"] == result.joined("text") == scenario.answer
    assert done["reasoning"] == result.joined("reasoning")
    assert done["reasoning"].strip() == scenario.reasoning


def test_json_answer_that_was_reasoning_is_moved(fake_server: FakeServer, home: Path) -> None:
    """A template put <think> in the prompt: text records before the marker were reasoning."""
    scenario = Scenario(dialect="think_tags", think_open_tag=False, tokens_per_chunk=2)
    fake_server.scenario = scenario
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    records = result.records
    types = [r["type"] for r in records]
    assert types.count("answer_was_reasoning") == 1
    marker = types.index("answer_was_reasoning")
    before = "".join(r["text"] for r in records[:marker] if r["type"] == "text")
    after = "".join(r["text"] for r in records[marker:] if r["type"] == "text")
    done = result.done
    assert done["reasoning"] == result.joined("reasoning") + before
    assert done["reasoning"].strip() == scenario.reasoning
    assert done["text"] == after == scenario.answer


def test_json_no_reasoning(fake_server: FakeServer, home: Path) -> None:
    result = ask(home, fake_server, "--json", "--no-reasoning", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    assert all(r["type"] != "reasoning" for r in result.records)
    done = result.done
    assert done["reasoning"] == result.joined("reasoning") == ""
    assert done["text"] == result.joined("text") == Scenario().answer


def test_json_server_cost(fake_server: FakeServer, home: Path) -> None:
    fake_server.scenario = Scenario(cost=0.0042)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    assert result.done["cost_usd"] == pytest.approx(0.0042)


def test_json_no_usage_is_estimated(fake_server: FakeServer, home: Path) -> None:
    fake_server.scenario = Scenario(usage_chunk=False)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    assert result.done["usage"]["estimated"] is True
    assert result.done["usage"]["output_tokens"] > 0


@pytest.mark.parametrize(
    ("wire_reason", "code"),
    [("stop", 0), ("length", 0), ("content_filter", 0), ("tool_calls", 0)],
)
def test_clean_finish_reasons_exit_0(
    fake_server: FakeServer, home: Path, wire_reason: str, code: int
) -> None:
    fake_server.scenario = Scenario(finish_reason=wire_reason)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)
    assert result.returncode == code, result.stderr
    assert result.done["finish_reason"] == wire_reason


@pytest.mark.parametrize(
    ("scenario", "server_says", "retryable"),
    [
        (Scenario.http_error(401), "Incorrect API key provided", False),
        (Scenario.http_error(429), "Rate limit reached for test-model", True),
        (Scenario.http_error(500), "The server had an error while processing", True),
        (Scenario.http_error(503, plain="upstream connect error"), "upstream connect error", True),
    ],
    ids=["401", "429", "500", "503-plain"],
)
def test_json_http_error(
    fake_server: FakeServer, home: Path, scenario: Scenario, server_says: str, retryable: bool
) -> None:
    fake_server.scenario = scenario
    # One attempt: retries are tests/network/test_network_faults.py's subject.
    result = ask(home, fake_server, "--json", "--retries", "0", "-m", MODEL, PROMPT)

    assert result.returncode == 1
    assert_clean_stderr(result)
    errors = [r for r in result.records if r["type"] == "error"]
    assert len(errors) == 1
    assert server_says in errors[0]["message"]
    assert errors[0]["retryable"] is retryable
    assert "\n" not in errors[0]["message"]
    done = result.done
    assert done["finish_reason"] == "error"
    assert done["text"] == "" and done["reasoning"] == ""
    assert done["usage"]["estimated"] is True


def test_json_midstream_error_keeps_partial_text(fake_server: FakeServer, home: Path) -> None:
    base = Scenario()
    fake_server.scenario = base.but(error_after=1 + len(base.reasoning_pieces) + 6)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 1
    assert_clean_stderr(result)
    types = [r["type"] for r in result.records]
    assert types[-2:] == ["error", "done"]
    done = result.done
    assert done["finish_reason"] == "error"
    assert done["text"] == result.joined("text") == "".join(base.answer_pieces[:6])
    assert done["reasoning"] == result.joined("reasoning") == base.reasoning


def test_json_truncated_stream_is_interrupted(fake_server: FakeServer, home: Path) -> None:
    base = Scenario()
    fake_server.scenario = base.but(truncate_after=1 + len(base.reasoning_pieces) + 2)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 1
    done = result.done
    assert done["finish_reason"] == "interrupted"
    assert done["text"] == result.joined("text") == "".join(base.answer_pieces[:2])
    [error] = [r for r in result.records if r["type"] == "error"]
    assert error["retryable"] is True


def test_a_complete_stream_without_finish_reason_is_a_stop(
    fake_server: FakeServer, home: Path
) -> None:
    """A server that never names a finish reason but ends with [DONE] lost nothing: exit 0."""
    fake_server.scenario = Scenario(finish_reason=None)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 0, result.stderr
    assert not [r for r in result.records if r["type"] == "error"]
    done = result.done
    assert (done["finish_reason"], done["text"]) == ("stop", Scenario().answer)
    assert done["warnings"] == [
        "the server sent no finish reason; the stream ended properly, so the reply is complete"
    ]


def test_a_stream_without_finish_reason_or_done_is_interrupted(
    fake_server: FakeServer, home: Path
) -> None:
    fake_server.scenario = Scenario(finish_reason=None, done=False)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 1
    assert result.done["finish_reason"] == "interrupted"


def test_json_dropped_connection(fake_server: FakeServer, home: Path) -> None:
    base = Scenario(line_ending="\r\n", split="awkward")
    cut = mid_frame_offset(render_frames(base), 1 + len(base.reasoning_pieces) + 3)
    fake_server.scenario = base.but(drop_after_bytes=cut)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 1
    assert_clean_stderr(result)
    [error] = [r for r in result.records if r["type"] == "error"]
    assert "dropped" in error["message"]
    done = result.done
    assert done["finish_reason"] == "interrupted"
    assert done["text"] == result.joined("text") == "".join(base.answer_pieces[:3])


def test_json_connection_refused(home: Path) -> None:
    with socket.socket() as unused:  # bound, never listening: connections are refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        result = ask(
            home,
            None,
            "--json",
            "--retries",
            "0",
            "-m",
            MODEL,
            PROMPT,
            base_url=f"http://127.0.0.1:{port}/v1",
        )

    assert result.returncode == 1
    assert_clean_stderr(result)
    [error] = [r for r in result.records if r["type"] == "error"]
    assert f"127.0.0.1:{port}" in error["message"]
    assert result.done["finish_reason"] == "error"


def test_json_ctrl_c_during_a_stall_is_cancelled(fake_server: FakeServer, home: Path) -> None:
    base = Scenario()
    answer_events = 4
    fake_server.scenario = base.but(stall_after=1 + len(base.reasoning_pieces) + answer_events)
    process = subprocess.Popen(
        [sys.executable, "-m", "chatterm", "ask", "--json", "-m", MODEL, PROMPT],
        stdin=subprocess.DEVNULL,
        preexec_fn=default_sigint,  # Ctrl+C works however the suite was started
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**ask_env(home, fake_server), "PYTHONFAULTHANDLER": "1"},
        cwd=home,
    )
    try:
        assert process.stdout is not None
        texts = 0
        lines: list[bytes] = []
        while texts < answer_events:  # the server stalls after these; readline cannot hang
            line = process.stdout.readline()
            assert line, "chatterm ended early: " + b"".join(lines).decode()
            lines.append(line)
            texts += json.loads(line)["type"] == "text"
        [request] = fake_server.requests
        process.send_signal(signal.SIGINT)
        try:
            rest, err = process.communicate(timeout=SAFETY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # Seen once in many runs, not reproduced: have the child say where it waits.
            process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            _, stacks = process.communicate(timeout=SAFETY_TIMEOUT_S)
            raise AssertionError("no exit after Ctrl+C:\n" + stacks.decode()) from None
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    result = Ask(process.returncode, (b"".join(lines) + rest).decode(), err.decode())

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    done = result.done
    assert done["finish_reason"] == "cancelled"
    assert done["text"] == result.joined("text") == "".join(base.answer_pieces[:answer_events])
    assert request.client_closed.wait(SAFETY_TIMEOUT_S), "the server never saw the client leave"


def test_json_keeps_escape_sequences_exact(fake_server: FakeServer, home: Path) -> None:
    nasty = "Look: \x1b]52;c;ZXZpbA==\x07 and \x1b[2J\x1b[31mred\x1b[0m, a C1 CSI \x9b2J. Done."
    fake_server.scenario = Scenario(reasoning="thinking \x1b]0;title\x07 hard", answer=nasty)
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout  # escaped as \u001b inside the JSON strings
    done = result.done
    assert done["text"] == result.joined("text") == nasty
    assert done["reasoning"] == "thinking \x1b]0;title\x07 hard"


def test_json_lines_carry_no_raw_control_or_line_separator_characters(
    fake_server: FakeServer, home: Path
) -> None:
    fake_server.scenario = Scenario(answer="a C1 CSI \x9b2J, NEL \x85, LS \u2028, PS \u2029.")
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    raw = result.stdout.replace("\n", "")
    assert not [c for c in raw if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F]
    assert "\u2028" not in raw and "\u2029" not in raw
    assert len(result.stdout.splitlines()) == len(result.records)


# ----------------------------------------------------------------------------- plain mode


def _answer_and_stats(stdout: str, answer: str) -> str:
    """The stats line, after checking the answer is followed by exactly one more line."""
    assert stdout.endswith("\n")
    body, stats = stdout[:-1].rsplit("\n", 1)
    assert body.endswith(answer), stdout[-300:]
    return stats


@pytest.mark.parametrize("no_color", [True, False], ids=["NO_COLOR", "colour-allowed"])
def test_plain_reply(fake_server: FakeServer, home: Path, no_color: bool) -> None:
    """stdout is a pipe here: no colour, no escape sequences, with or without NO_COLOR."""
    scenario = Scenario(line_ending="\r\n", split="awkward")
    fake_server.scenario = scenario
    result = ask(home, fake_server, "-m", MODEL, PROMPT, no_color=no_color)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "\x1b" not in out
    # Reasoning first, set apart from the answer by something that is neither.
    start = out.index(scenario.reasoning)
    between = out[start + len(scenario.reasoning) : out.index(safe_text(scenario.answer))]
    assert between.strip(), "reasoning and answer must be visibly set apart"
    stats = _answer_and_stats(out, safe_text(scenario.answer))
    assert any(ch.isdigit() for ch in stats)


def test_plain_no_reasoning(fake_server: FakeServer, home: Path) -> None:
    scenario = Scenario()
    result = ask(home, fake_server, "--no-reasoning", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    assert scenario.reasoning[:40] not in result.stdout
    _answer_and_stats(result.stdout, safe_text(scenario.answer))
    assert "\x1b" not in result.stdout


def test_plain_neutralizes_escape_sequences(fake_server: FakeServer, home: Path) -> None:
    answer = "Look: \x1b]52;c;ZXZpbA==\x07 and \x1b[2J, a C1 CSI \x9b2J, a CR\rhere. Done."
    fake_server.scenario = Scenario(reasoning="thinking \x1b]0;title\x07 hard", answer=answer)
    result = ask(home, fake_server, "-m", MODEL, PROMPT)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not [c for c in out if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
    assert "]52;c;ZXZpbA==" in out and "Done." in out  # shown, not obeyed


@pytest.mark.parametrize(
    ("scenario", "server_says"),
    [
        (Scenario.http_error(401), "Incorrect API key provided"),
        (Scenario.http_error(429), "Rate limit reached"),
        (Scenario.http_error(503, plain="upstream \x1b[2Jconnect error"), "connect error"),
    ],
    ids=["401", "429", "503-plain-with-escape"],
)
def test_plain_http_error_is_one_line_on_stderr(
    fake_server: FakeServer, home: Path, scenario: Scenario, server_says: str
) -> None:
    fake_server.scenario = scenario
    result = ask(home, fake_server, "--retries", "0", "-m", MODEL, PROMPT)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert server_says in result.stderr
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stderr + result.stdout
    assert "\x1b" not in result.stderr + result.stdout


def test_plain_midstream_error_keeps_text(fake_server: FakeServer, home: Path) -> None:
    base = Scenario()
    fake_server.scenario = base.but(error_after=1 + len(base.reasoning_pieces) + 5)
    result = ask(home, fake_server, "-m", MODEL, PROMPT)
    assert result.returncode == 1
    assert "".join(base.answer_pieces[:5]) in result.stdout
    assert result.stderr.count("\n") == 1
    assert "The server had an error" in result.stderr


# ----------------------------------------------------------------------------- input


def test_prompt_dash_reads_stdin(fake_server: FakeServer, home: Path) -> None:
    result = ask(home, fake_server, "--json", "-m", MODEL, "-", stdin="from stdin: ✓ 日本語\n")
    assert result.returncode == 0, result.stderr
    [request] = fake_server.requests
    assert "from stdin: ✓ 日本語" in request.json["messages"][-1]["content"]


def test_no_prompt_with_piped_stdin_reads_stdin(fake_server: FakeServer, home: Path) -> None:
    result = ask(home, fake_server, "--json", "-m", MODEL, stdin="piped prompt")
    assert result.returncode == 0, result.stderr
    [request] = fake_server.requests
    assert "piped prompt" in request.json["messages"][-1]["content"]


def test_system_prompt_is_sent(fake_server: FakeServer, home: Path) -> None:
    result = ask(home, fake_server, "--json", "-m", MODEL, "--system", "Be terse.", PROMPT)
    assert result.returncode == 0, result.stderr
    [request] = fake_server.requests
    assert request.json["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": PROMPT},
    ]


def test_local_server_needs_no_key(fake_server: FakeServer, home: Path) -> None:
    result = ask(home, fake_server, "--json", "-m", MODEL, PROMPT, key=None)
    assert result.returncode == 0, result.stderr
    [request] = fake_server.requests
    assert request.header("authorization") is None


# ----------------------------------------------------------------------------- offline, usage


def test_demo_works_offline(home: Path) -> None:
    # No server, no key, and a base URL that could not be reached anyway.
    result = ask(
        home, None, "--json", "-m", "demo:fast", "hi", key=None, base_url="http://127.0.0.1:9/v1"
    )
    assert result.returncode == 0, result.stderr
    done = result.done
    assert done["finish_reason"] == "stop"
    assert done["cost_usd"] == 0
    assert done["text"] == result.joined("text") != ""
    assert done["reasoning"] == result.joined("reasoning") != ""
    assert done["finish_reason"] in FINISH_REASONS


@pytest.mark.parametrize(
    ("args", "config", "key", "base_url", "says"),
    [
        (["-m", "nope:x"], None, API_KEY, None, "nope"),
        (["-m", MODEL], "default_model = [oops\n", API_KEY, None, "config.toml"),
        (["-m", MODEL], "frobnicate = 1\n", API_KEY, None, "frobnicate"),
        # A non-local URL and no key: refused before any request (.invalid never resolves).
        (["-m", MODEL], None, None, "https://api.openai.invalid/v1", "OPENAI_API_KEY"),
        (["-m", MODEL], None, "", "https://api.openai.invalid/v1", "OPENAI_API_KEY"),
    ],
    ids=["unknown-provider", "invalid-toml", "unknown-config-key", "missing-key", "empty-key"],
)
def test_usage_and_config_errors_exit_2(
    fake_server: FakeServer,
    home: Path,
    args: list[str],
    config: str | None,
    key: str | None,
    base_url: str | None,
    says: str,
) -> None:
    if config is not None:
        (home / "config.toml").write_text(config, encoding="utf-8")
    for json_mode in ([], ["--json"]):
        result = ask(home, fake_server, *json_mode, *args, PROMPT, key=key, base_url=base_url)
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert says in result.stderr
        assert "Traceback" not in result.stderr
        assert API_KEY not in result.stderr
    assert fake_server.requests == []


# ----------------------------------------------------------------------------- --effort


@pytest.mark.parametrize(
    ("args", "config", "sent"),
    [
        ([], None, "medium"),  # reasoning_effort defaults to medium
        (["--effort", "high"], None, "high"),
        (["--effort", "low"], 'reasoning_effort = "high"\n', "low"),
        (["--effort", "off"], None, "minimal"),  # GPT-5's weakest effort
        (["--no-reasoning"], None, "minimal"),
        (["--no-reasoning", "--effort", "off"], None, "minimal"),
        ([], 'reasoning_effort = "low"\n', "low"),
        ([], "reasoning = false\n", "minimal"),
    ],
    ids=["default", "high", "flag-wins", "off", "no-reasoning", "both-off", "config", "old-switch"],
)
def test_effort_reaches_the_request(
    fake_server: FakeServer, home: Path, args: list[str], config: str | None, sent: str
) -> None:
    if config is not None:
        (home / "config.toml").write_text(config, encoding="utf-8")
    result = ask(home, fake_server, "--json", "-m", "openai:gpt-5-mini", *args, PROMPT)
    assert result.returncode == 0, result.stderr
    [request] = fake_server.requests
    assert request.json["reasoning_effort"] == sent


def test_effort_is_not_sent_to_a_model_without_it(fake_server: FakeServer, home: Path) -> None:
    result = ask(home, fake_server, "--json", "--effort", "high", "-m", MODEL, PROMPT)
    assert result.returncode == 0, result.stderr
    [request] = fake_server.requests
    assert "reasoning_effort" not in request.json


@pytest.mark.parametrize("args", [["--effort", "max"], ["--no-reasoning", "--effort", "high"]])
def test_effort_usage_errors_exit_2(fake_server: FakeServer, home: Path, args: list[str]) -> None:
    result = ask(home, fake_server, "-m", "openai:gpt-5-mini", *args, PROMPT)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "--effort" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert fake_server.requests == []
