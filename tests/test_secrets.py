"""Secrets: an API key never leaves the request that needs it.

Keys of every shape (OpenAI ``sk-…``, Anthropic ``sk-ant-…``, Gemini ``AIza…``, and a key
with no known shape for a ``[providers.NAME]``) are set in the environment, and the fake
server echoes the key it was given wherever a careless server might: in an HTTP error body
(JSON and plain text), in a mid-stream error, in a redirect's ``Location``, as the model
name in the stream and in a model list. Then stdout, stderr, ``--json``, the session file,
its exports, ``sessions show|list``, the discovery cache, the state file, ``config show``
and ``models --json`` are searched for any key (or a long piece of one); so is every file
chatterm left under ``CHATTERM_HOME``.

Also here: files chatterm creates are mode 0600 and its folders 0700, checked by running
the main commands in a fresh ``CHATTERM_HOME`` and walking it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatterm.catalogue.discovery import discover
from chatterm.cli.main import main
from chatterm.cli.models import models_command
from chatterm.config import Settings
from chatterm.network import debuglog
from chatterm.network.tls import tls_context
from chatterm.providers.endpoint import error_detail, unusable_key
from chatterm.sessions.store import sessions_dir
from chatterm.text import redact
from chatterm.tui.app import ChatApp
from tests.fake_provider.server import FakeServer, Scenario, after_answer
from tests.tui.tui_helpers import SIZE, chat, finish_reply, send

ROOT = Path(__file__).resolve().parent.parent

OPENAI_KEY = "sk-proj-Oa1Xq9Zr7Lm3Np5Tv8Wy2Bc4Dd6Ff0Gh1Jk3Lm5Np7Qr9St"
ANTHROPIC_KEY = "sk-ant-api03-An7Hr0Pc2Kq4Ws6Ye8Ua1Ib3Oc5Ed7Gf9Hg2Jh4Ki6Lj8Mk0Nl-QAAA"
GEMINI_KEY = "AIza" + "Ge3Mi5Ni7Ky9Lz1Ax2Bw4Cv6Du8Et0Fs3Gr5Hq"[:35]
CUSTOM_KEY = "cust0m-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1"  # no known shape: redacted by value only
KEYS = {
    "openai": OPENAI_KEY,
    "anthropic": ANTHROPIC_KEY,
    "gemini": GEMINI_KEY,
    "custom": CUSTOM_KEY,
}


LEAK_WINDOW = 16  # any 16 characters of a key in a row count as a leak


def leaks(text: str | bytes) -> list[str]:
    """The keys found in ``text``, whole or as a long piece (a key cut short still leaks)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found = []
    for name, key in KEYS.items():
        if any(key[i : i + LEAK_WINDOW] in text for i in range(len(key) - LEAK_WINDOW + 1)):
            found.append(name)
    return found


def assert_no_key(text: str | bytes, where: str = "") -> None:
    assert not leaks(text), f"key leaked ({leaks(text)}) {where}: {text[:2000]!r}"


def files_under(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path


def assert_home_clean(home: Path, *, written_by_test: tuple[str, ...] = ()) -> None:
    for path in files_under(home):
        if path.name in written_by_test:
            continue
        assert_no_key(path.read_bytes(), str(path))
        assert_no_key(str(path), "in a file name")


# ------------------------------------------------------------------------- providers


@dataclass(frozen=True)
class Setup:
    """One provider pointed at the fake server."""

    name: str
    model: str
    key: str

    def env(self, server: FakeServer) -> dict[str, str]:
        base = server.base_url
        return {
            "openai": {"OPENAI_API_KEY": self.key, "OPENAI_BASE_URL": f"{base}/v1"},
            "anthropic": {"ANTHROPIC_API_KEY": self.key, "ANTHROPIC_BASE_URL": base},
            "gemini": {"GEMINI_API_KEY": self.key, "GEMINI_BASE_URL": base},
            "custom": {"EVIL_KEY": self.key},
        }[self.name]

    def config(self, server: FakeServer) -> str:
        if self.name != "custom":
            return ""
        return f'[providers.evil]\nbase_url = "{server.base_url}/v1"\napi_key_env = "EVIL_KEY"\n'

    def midstream_error(self, message: str) -> dict[str, Any]:
        inner = {"type": "api_error", "message": message, "status": "INTERNAL", "code": 500}
        return inner if self.name in ("anthropic", "gemini") else {"error": inner}


SETUPS = [
    Setup("openai", "openai:test-model", OPENAI_KEY),
    Setup("anthropic", "anthropic:claude-test", ANTHROPIC_KEY),
    Setup("gemini", "gemini:gemini-test", GEMINI_KEY),
    Setup("custom", "evil:test-model", CUSTOM_KEY),
]

ECHO = (
    "Incorrect API key provided: {api_key}. Authorization: Bearer {api_key}; "
    "x-api-key: {api_key}; see https://generativelanguage.googleapis.com/v1/x?key={api_key}&a=1"
)


def scenarios(setup: Setup) -> dict[str, Scenario]:
    key = setup.key
    return {
        "http-json": Scenario.http_error(401, ECHO),
        "http-json-400": Scenario.http_error(400, ECHO),
        "http-plain": Scenario.http_error(403, plain=ECHO),
        "mid-stream": Scenario(
            error_after=after_answer(2),
            error_object=setup.midstream_error(f"the key {key} was revoked ({key[:20]}…)"),
        ),
        "redirect": Scenario(
            status=307, error_headers=(("location", f"https://example.com/v1?key={key}&x=1"),)
        ),
        "model-name": Scenario(model=key),
        "first-half": Scenario.http_error(401, "key " + key[: len(key) // 2] + "… is wrong"),
        "last-half": Scenario.http_error(401, "key …" + key[len(key) // 2 :] + " is wrong"),
    }


CASES = [
    pytest.param(setup, name, id=f"{setup.name}-{name}")
    for setup in SETUPS
    for name in scenarios(setup)
]


@pytest.fixture
def home(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("EVIL_KEY", "OLLAMA_API_KEY", "CHATTERM_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")  # no stray discovery
    monkeypatch.chdir(isolated_home)
    return isolated_home


def use(setup: Setup, server: FakeServer, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in setup.env(server).items():
        monkeypatch.setenv(name, value)
    config = setup.config(server)
    if config:
        (home / "config.toml").write_text(config, encoding="utf-8")


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("setup", "scenario"), CASES)
def test_no_key_anywhere(
    setup: Setup,
    scenario: str,
    fake_server: FakeServer,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use(setup, fake_server, home, monkeypatch)
    log = home / "debug.log"
    monkeypatch.setenv("CHATTERM_LOG", str(log))
    fake_server.scenario = scenarios(setup)[scenario]
    outputs: list[str] = []

    code, out, err = run_main(capsys, "ask", "-m", setup.model, "hi")
    outputs += [out, err]
    assert code in (0, 1), err
    if scenario != "model-name":  # the key was echoed, and taken out
        assert code == 1 and "error" in err and "***" in err, (out, err)

    code, out, err = run_main(capsys, "ask", "--json", "--save", "-m", setup.model, "hi")
    outputs += [out, err]
    records = [json.loads(line) for line in out.splitlines()]
    session_id = records[-1]["session_id"]

    for argv in (
        ("sessions", "show", session_id),
        ("sessions", "list"),
        ("sessions", "list", "--json"),
        ("sessions", "export", session_id, "--format", "md"),
        ("sessions", "export", session_id, "--format", "json"),
        ("sessions", "export", session_id, "--format", "toml"),
        ("sessions", "export", session_id, "--format", "toml", "-o", str(home / "x.toml")),
        ("replay", "--plain", "--speed", "0", session_id),
        ("replay", "--json", "--speed", "0", session_id),
        ("config", "show"),
        ("models", "--json", "--refresh"),
        ("models",),
    ):
        code, out, err = run_main(capsys, *argv)
        outputs += [out, err]
        assert code == 0, (argv, err)
    for text in outputs:
        assert_no_key(text)
    # The request did carry the key (so the server could echo it): the test is not vacuous.
    request = fake_server.requests[0]
    assert setup.key in " ".join(v for _, v in request.headers)
    assert_home_clean(home)


def test_config_show_hides_keys_in_addresses(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, key in (
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
        ("GEMINI_API_KEY", GEMINI_KEY),
        ("EVIL_KEY", CUSTOM_KEY),
    ):
        monkeypatch.setenv(name, key)
    monkeypatch.setenv("OPENAI_BASE_URL", f"https://user:{OPENAI_KEY}@proxy.example/v1")
    monkeypatch.setenv("GEMINI_BASE_URL", f"https://gemini.example/?key={GEMINI_KEY}")
    (home / "config.toml").write_text(
        f'[providers.evil]\nbase_url = "https://evil.example/v1?key={CUSTOM_KEY}&x=1"\n'
        'api_key_env = "EVIL_KEY"\n'
        f'[providers.proxy]\nbase_url = "https://u:{ANTHROPIC_KEY}@proxy.example/v1"\n',
        encoding="utf-8",
    )
    code, out, err = run_main(capsys, "config", "show")
    assert code == 0, err
    assert "EVIL_KEY" in out and "***" in out
    assert_no_key(out + err)
    code, out, err = run_main(capsys, "models", "--offline", "--json")
    assert_no_key(out + err)
    assert_home_clean(home, written_by_test=("config.toml",))


# ------------------------------------------------------------------------- discovery


def models_args(*argv: str) -> argparse.Namespace:
    return argparse.Namespace(json="--json" in argv, refresh=True, offline=False)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            httpx.Response(200, json={"data": [{"id": "good-model"}, {"id": CUSTOM_KEY}]}),
        ),
        pytest.param(
            httpx.Response(200, json={"data": [{"id": f"prefix/{CUSTOM_KEY}"}, {"id": "ok"}]}),
        ),
        httpx.Response(401, json={"error": {"message": f"bad key {CUSTOM_KEY}"}}),
        httpx.Response(401, text=f"Authorization: Bearer {CUSTOM_KEY}"),
        httpx.Response(302, headers={"location": f"https://x/?key={CUSTOM_KEY}"}),
        httpx.Response(200, text=f"<html>{CUSTOM_KEY}</html>"),
    ],
    ids=["model-is-key", "model-holds-key", "json-error", "plain-error", "redirect", "not-json"],
)
@pytest.mark.parametrize("json_lines", [False, True], ids=["table", "json"])
def test_discovery_never_shows_or_caches_a_key(
    home: Path, answer: httpx.Response, json_lines: bool
) -> None:
    (home / "config.toml").write_text(
        '[providers.evil]\nbase_url = "https://evil.example/v1"\napi_key_env = "EVIL_KEY"\n',
        encoding="utf-8",
    )
    env = {"EVIL_KEY": CUSTOM_KEY, "OLLAMA_HOST": "http://127.0.0.1:9"}
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host != "evil.example":
            raise httpx.ConnectError("refused")
        return answer

    out, err = io.StringIO(), io.StringIO()
    code = models_command(
        models_args("--json" if json_lines else ""),
        stdout=out,
        stderr=err,
        env=env,
        client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    assert code == 0
    assert any(r.headers.get("authorization") == f"Bearer {CUSTOM_KEY}" for r in seen)
    assert_no_key(out.getvalue() + err.getvalue())
    assert_home_clean(home)


# ------------------------------------------------------------------------------ TUI


async def test_tui_shows_and_saves_no_key(
    fake_server: FakeServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": f"{fake_server.base_url}/v1"}
    fake_server.queue(
        Scenario.http_error(401, ECHO),
        Scenario(
            error_after=after_answer(1),
            error_object={"error": {"message": f"key {OPENAI_KEY} revoked"}},
        ),
        Scenario(model=OPENAI_KEY),
    )
    (home / "exports").mkdir()
    app = ChatApp(Settings(), "openai:test-model", env=env, export_dir=home / "exports")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for prompt in ("one", "two", "three"):
            await send(pilot, prompt)
            await finish_reply(pilot)
        await pilot.press("f12")  # export to Markdown
        await pilot.pause()
        screen = chat(app)
        assert [t.reply.finish_reason for t in screen.turns if t.reply] == ["error"] * 2 + ["stop"]
        shown = "\n".join(str(t.status.render()) for t in screen.turns)
        assert "error" in shown
        assert_no_key(shown)
        assert_no_key(app.export_screenshot())
    assert list((home / "exports").glob("*.md"))
    assert_home_clean(home)


# ---------------------------------------------------------------------- tracebacks


CRASH = """
import sys
from chatterm.cli import main as cli
from chatterm.reply import live as stream

KEY = {key!r}


async def broken(self):
    headers = {{"Authorization": "Bearer " + KEY}}
    raise RuntimeError(f"unexpected: {{headers}}")
    yield


stream.ReplyStream.events = broken
sys.exit(cli.main(sys.argv[1:]))
"""


def test_unexpected_exception_prints_no_key(fake_server: FakeServer, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(
        CHATTERM_HOME=str(home),
        OPENAI_API_KEY=OPENAI_KEY,
        OPENAI_BASE_URL=f"{fake_server.base_url}/v1",
        PYTHONPATH=str(ROOT),
        CHATTERM_LOG=str(home / "debug.log"),
    )
    result = subprocess.run(
        [sys.executable, "-c", CRASH.format(key=OPENAI_KEY), "ask", "-m", "openai:x", "hi"],
        capture_output=True,
        env=env,
        cwd=home,
        timeout=60,
    )
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 1
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert_no_key(err)
    assert_no_key(result.stdout)
    assert_home_clean(home)


# ----------------------------------------------------------------------- redaction


@pytest.mark.parametrize(
    "text",
    [
        f"Bearer {OPENAI_KEY}",
        f"Authorization: Bearer {CUSTOM_KEY}",
        f"authorization={CUSTOM_KEY}",
        f"x-api-key: {ANTHROPIC_KEY}",
        f"x-api-key: {CUSTOM_KEY}",
        f'"x-goog-api-key": "{GEMINI_KEY}"',
        f"X-Goog-Api-Key={CUSTOM_KEY}",
        f"api-key: {CUSTOM_KEY}",
        f'{{"api_key": "{CUSTOM_KEY}"}}',
        f"https://generativelanguage.googleapis.com/v1beta/models?key={GEMINI_KEY}",
        f"https://x.example/v1?alt=sse&key={CUSTOM_KEY}#frag",
        f"https://x.example/v1?access_token={CUSTOM_KEY}",
        f"https://x.example/v1?api-key={CUSTOM_KEY}",
        f"https://user:{CUSTOM_KEY}@proxy.example/v1",
        f"key%3D{CUSTOM_KEY}",
        GEMINI_KEY,
        ANTHROPIC_KEY,
        OPENAI_KEY,
        "sk-" + "a" * 48,
    ],
)
def test_redact_by_shape(text: str) -> None:
    """Without being told the key: its shape, or the name it is given, gives it away."""
    shown = redact(text)
    assert "***" in shown
    assert_no_key(shown)
    assert "a" * 20 not in shown


def test_redact_by_value_and_before_shortening() -> None:
    body = json.dumps({"error": {"message": "x" * 290 + CUSTOM_KEY}}).encode()
    detail = error_detail(body, (CUSTOM_KEY,))
    assert_no_key(detail)
    assert redact(f"the key is {CUSTOM_KEY}.", (CUSTOM_KEY,)) == "the key is ***."


def test_redact_leaves_ordinary_text_alone() -> None:
    for text in (
        "The monkey=3 keyboard key is ok",
        "task-force ask-me risk-management",
        "Answer: see https://example.com/docs?page=2",
        "AIza is a prefix; AIzaShort too",
    ):
        assert redact(text) == text


# ------------------------------------------------------------------------ debug log


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_debug_log_records_requests_redacted(
    fake_server: FakeServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = home / "logs" / "chatterm.log"
    monkeypatch.setenv("CHATTERM_LOG", str(log))
    fake_server.queue(
        Scenario(),
        Scenario.http_error(401, ECHO),
        Scenario(error_after=after_answer(1), error_object={"error": {"message": OPENAI_KEY}}),
    )
    hooks = debuglog.log_hooks()
    assert hooks["request"] and hooks["response"]
    async with httpx.AsyncClient(event_hooks=hooks, verify=tls_context()) as client:
        for _ in range(3):
            request = client.build_request(
                "POST",
                f"{fake_server.base_url}/v1/chat/completions?key={GEMINI_KEY}&alt=sse",
                headers={
                    "Authorization": f"Bearer {OPENAI_KEY}",
                    "x-api-key": ANTHROPIC_KEY,
                    "X-Goog-Api-Key": GEMINI_KEY,
                    "api-key": CUSTOM_KEY,
                },
                json={"model": "test-model", "stream": True, "messages": []},
            )
            response = await client.send(request, stream=True)
            async for _ in response.aiter_bytes():
                pass
            await response.aclose()
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:9/v1/models?key={CUSTOM_KEY}")
    raw = log.read_text(encoding="utf-8")
    assert_no_key(raw)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    records = read_log(log)
    kinds = [r["event"] for r in records]
    assert kinds.count("request") == 4
    assert kinds.count("response") == 3
    assert kinds.count("end") == 3
    first = records[0]
    assert first["method"] == "POST"
    assert first["url"].endswith("/v1/chat/completions?key=***&alt=sse")
    headers = first["headers"]
    for name in ("authorization", "x-api-key", "x-goog-api-key", "api-key"):
        assert headers[name] == "***", name
    assert headers["content-type"] == "application/json"
    statuses = [r["status"] for r in records if r["event"] == "response"]
    assert statuses == [200, 401, 200]
    ends = [r for r in records if r["event"] == "end"]
    assert all(r["bytes"] > 0 and r["ms"] >= 0 for r in ends)
    assert "Incorrect API key provided: ***" in ends[1]["body"]  # an error body, redacted
    for line in raw.splitlines():  # one line per record, nothing a terminal would act on
        assert line.isascii() and line.isprintable()
    debuglog.log_error(httpx.Request("GET", f"https://x/?key={CUSTOM_KEY}"), RuntimeError("x"))
    assert_no_key(log.read_text(encoding="utf-8"))


def test_debug_log_off_by_default(home: Path) -> None:
    assert debuglog.log_hooks() == {}
    assert list(files_under(home)) == []


async def test_debug_log_that_cannot_be_written_is_not_fatal(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "file").write_text("x")
    monkeypatch.setenv("CHATTERM_LOG", str(home / "file" / "below" / "log"))
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="ok"))
    async with httpx.AsyncClient(transport=transport, event_hooks=debuglog.log_hooks()) as client:
        response = await client.get(f"https://x.example/?key={CUSTOM_KEY}")
    assert response.text == "ok"
    problem = debuglog.problem()
    assert problem is not None and "cannot write the debug log" in problem
    assert_no_key(problem)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("Proxy-Authorization", True),
        ("x-api-key", True),
        ("X-Goog-Api-Key", True),
        ("api-key", True),
        ("api_key", True),
        ("apikey", True),
        ("key", True),
        ("access_token", True),
        ("Set-Cookie", True),
        ("X-Amz-Security-Token", True),
        ("content-type", False),
        ("x-ratelimit-remaining-tokens", False),
        ("anthropic-ratelimit-tokens-limit", False),
        ("retry-after", False),
        ("x-request-id", False),
        ("alt", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert debuglog.is_secret_name(name) is secret


def test_redact_url_and_headers() -> None:
    url = f"https://u:{CUSTOM_KEY}@x.example/v1/models/m:stream?alt=sse&key={GEMINI_KEY}#t={CUSTOM_KEY}"
    shown = debuglog.redact_url(url, (CUSTOM_KEY,))  # the fragment's by value
    assert shown == "https://***@x.example/v1/models/m:stream?alt=sse&key=***#t=***"
    headers = debuglog.redact_headers(
        {"Authorization": f"Bearer {OPENAI_KEY}", "Location": f"https://y/?k={CUSTOM_KEY}"},
        (CUSTOM_KEY,),
    )
    assert headers == {"authorization": "***", "location": "https://y/?k=***"}


def test_crash_message_is_one_redacted_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIL_KEY", CUSTOM_KEY)
    try:
        raise RuntimeError(f"boom\nwith {CUSTOM_KEY} and {OPENAI_KEY}")
    except RuntimeError as error:
        message = debuglog.crash_message(error)
    assert message.startswith("unexpected error: RuntimeError: boom with ***")
    assert "CHATTERM_LOG" in message and "\n" not in message
    assert_no_key(message)
    monkeypatch.setenv("CHATTERM_LOG", str(home / "log"))
    try:
        raise RuntimeError(f"boom {CUSTOM_KEY}")
    except RuntimeError as error:
        message = debuglog.crash_message(error)
    assert str(home / "log") in message
    [record] = read_log(home / "log")
    assert record["event"] == "crash" and "Traceback" in record["traceback"]
    assert_no_key((home / "log").read_text())


# ---------------------------------------------------------------------- file modes


def modes(home: Path) -> dict[str, int]:
    found = {}
    for path in [home, *sorted(home.rglob("*"))]:
        found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
    return found


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_files_0600_and_folders_0700(
    fake_server: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every file chatterm creates (sessions, the index, state, the discovery cache,
    ``config init``, exports, the debug log) is 0600 and every folder 0700, whatever the
    umask, in a fresh ``CHATTERM_HOME`` that does not exist yet."""
    home = tmp_path / "fresh" / "chatterm"
    monkeypatch.setenv("CHATTERM_HOME", str(home))
    monkeypatch.setenv("CHATTERM_LOG", str(home / "logs" / "debug.log"))
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_server.base_url}/v1")
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.chdir(exports)
    out = exports / "session.md"

    async def tui() -> None:
        app = ChatApp(Settings(), "demo:fast", env={})
        async with app.run_test(size=SIZE) as pilot:
            await send(pilot, "hello")
            await finish_reply(pilot)
            await pilot.press("f4")  # the theme picker: a choice is remembered
            await pilot.pause()
            await pilot.press("down", "enter")
            await pilot.pause()
            await pilot.press("f12")
            await pilot.pause()
        # Until the clients log by themselves: a logged request, as they would.
        transport = httpx.MockTransport(lambda request: httpx.Response(204))
        hooks = debuglog.log_hooks()
        async with httpx.AsyncClient(transport=transport, event_hooks=hooks) as client:
            await client.get("https://example.com/")

    old_umask = os.umask(0o022)
    try:
        assert main(["config", "init"]) == 0
        assert main(["ask", "--save", "-m", "openai:test-model", "hi"]) == 0
        assert main(["sessions", "list"]) == 0
        assert main(["models", "--refresh"]) == 0
        [session] = sessions_dir().glob("2*.json")
        assert main(["sessions", "export", session.stem, "-o", str(out)]) == 0
        asyncio.run(tui())
    finally:
        os.umask(old_umask)
    capsys.readouterr()
    found = modes(home)
    expected_files = {"config.toml", "data/state.toml", "cache/models.json", "logs/debug.log"}
    assert expected_files <= found.keys(), sorted(found)
    assert len([p for p in found if p.startswith("data/sessions/")]) >= 3  # 2 chats, index
    wrong = {
        path: oct(mode)
        for path, mode in found.items()
        if mode != (0o700 if (home / path).is_dir() else 0o600)
    }
    assert not wrong, wrong
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    [exported] = exports.glob("chatterm-*.md")  # the TUI's F12
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600


def test_every_writer_goes_through_files_or_is_listed() -> None:
    """A new writer must create its file 0600: it uses chatterm.files (or is listed here,
    with how it sets the mode)."""
    allowed = {
        "chatterm/files.py",
        "chatterm/network/debuglog.py",  # os.open(..., 0o600) in append mode
        "chatterm/tui/screens/chat_transcript.py",  # os.open(..., O_EXCL, 0o600)
        "chatterm/cli/common.py",  # os.open(os.devnull) only (silence_stdout)
        "chatterm/tui/external_editor.py",  # tempfile.mkstemp, which creates it 0600
        "chatterm/sessions/search.py",  # os.open(..., O_EXCL, 0o600), then fchmod 0600
    }
    writers = re.compile(
        r"write_text\(|write_bytes\(|\bos\.open\(|mkstemp\(|\.mkdir\(|(?<![\w.])(?<!def )open\("
        r"|\.open\((?:mode=)?[\"'][wax]"
    )
    offenders = []
    for path in sorted((ROOT / "chatterm").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("chatterm/testing/") or rel in allowed:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            code = line.split("#", 1)[0]
            if writers.search(code):
                offenders.append(f"{rel}: {line.strip()}")
    assert not offenders, textwrap.indent("\n".join(offenders), "  ")


BAD_KEY_ENDS = {"cr": "\r", "lf": "\n", "crlf": "\r\n", "space": " ", "tab": "\t"}


@pytest.mark.parametrize("end", sorted(BAD_KEY_ENDS))
@pytest.mark.parametrize("setup", SETUPS, ids=[setup.name for setup in SETUPS])
def test_a_key_with_a_line_break_is_refused_before_any_request(
    setup: Setup,
    end: str,
    fake_server: FakeServer,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A key an HTTP library cannot put in a header would make it quote the key in its
    error; chatterm says which variable is wrong instead, and sends nothing."""
    bad = Setup(setup.name, setup.model, setup.key + BAD_KEY_ENDS[end])
    use(bad, fake_server, home, monkeypatch)
    variable = next(name for name, value in bad.env(fake_server).items() if value == bad.key)
    for argv in (
        ("ask", "-m", bad.model, "hi"),
        ("ask", "--json", "--save", "-m", bad.model, "hi"),
    ):
        code, out, err = run_main(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert err.count("\n") == 1 and variable in err and "line break" in err, err
        assert_no_key(out + err, str(argv))
    assert fake_server.requests == []
    assert_home_clean(home, written_by_test=("config.toml",))


@given(
    key=st.text(st.characters(codec="ascii"), min_size=8, max_size=40),
    bad=st.sampled_from(["\r", "\n", " ", "\t", "\0", "\x1b", "\x7f", "\u2028", "é"]),
    where=st.integers(min_value=0, max_value=40),
)
def test_a_key_that_cannot_be_a_header_is_named_never_shown(key: str, bad: str, where: int) -> None:
    key = key[:where] + bad + key[where:]
    problem = unusable_key(key, "SOME_API_KEY")
    assert problem is not None and problem.startswith("SOME_API_KEY has")
    assert key not in problem and "\n" not in problem


ENCODINGS: dict[str, Callable[[str], str]] = {
    "repr": lambda key: repr(key),
    "bytes-repr": lambda key: repr(key.encode()),
    "json": lambda key: json.dumps(key),
    "json-ascii-off": lambda key: json.dumps(key, ensure_ascii=False),
    "percent": lambda key: urllib.parse.quote(key, safe=""),
    "form": lambda key: urllib.parse.quote_plus(key),
    "base64": lambda key: base64.b64encode(key.encode()).decode(),
    "base64-url": lambda key: base64.urlsafe_b64encode(key.encode()).decode().rstrip("="),
}


@given(
    key=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=8, max_size=60),
    encoding=st.sampled_from(sorted(ENCODINGS)),
)
def test_a_key_written_escaped_or_encoded_is_redacted(key: str, encoding: str) -> None:
    written = ENCODINGS[encoding](key)
    message = redact(f"Illegal header value {written}; x-api-key: {written}", (key,))
    assert written not in message and key not in message


def test_the_header_error_of_a_key_with_a_carriage_return_is_redacted() -> None:
    key = "sk-ant-api03-main0123456789abcdefghij\r"
    message = f"Illegal header value {key.encode()!r}"  # as the HTTP library words it
    shown = redact(message, (key,))
    assert "abcdefghij" not in shown and "main0123" not in shown, shown


PASSWORD = "hunter2-basic-pw"


def test_credentials_in_a_base_url_never_replace_a_key_unannounced(
    fake_server: FakeServer,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """httpx turns user:pass@ into a Basic Authorization header in place of the key: with a
    key set too, chatterm refuses, naming both, and sends nothing."""
    at = fake_server.base_url.replace("http://", f"http://me:{PASSWORD}@")
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    builtins = (
        ("OPENAI_BASE_URL", "OPENAI_API_KEY", "openai:test-model"),
        ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "anthropic:x"),
    )
    for variable, key_env, model in builtins:
        monkeypatch.setenv(variable, f"{at}/v1")
        code, out, err = run_main(capsys, "ask", "-m", model, "hi")
        assert code == 2, (out, err)
        assert err.startswith(f"chatterm: {variable} has a user name or password in it"), err
        assert f"and {key_env} is set" in err
        assert PASSWORD not in out + err
        monkeypatch.delenv(variable)
    monkeypatch.setenv("EVIL_KEY", CUSTOM_KEY)
    (home / "config.toml").write_text(
        f'[providers.evil]\nbase_url = "{at}/v1"\napi_key_env = "EVIL_KEY"\n'
    )
    code, out, err = run_main(capsys, "ask", "-m", "evil:test-model", "hi")
    assert code == 2 and "[providers.evil] base_url has a user name or password" in err, err
    assert PASSWORD not in out + err
    assert fake_server.requests == []


def test_credentials_of_a_keyless_server_are_a_secret(
    fake_server: FakeServer,
    home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A server behind Basic auth and no key (a LAN box): the URL's credentials are used,
    and a server that echoes them back shows none of them."""
    at = fake_server.base_url.replace("http://", f"http://me:{PASSWORD}@")
    basic = base64.b64encode(f"me:{PASSWORD}".encode()).decode()
    fake_server.scenario = Scenario.http_error(
        401, f"bad Authorization: Basic {basic} ({PASSWORD})"
    )
    (home / "config.toml").write_text(f'[providers.lan]\nbase_url = "{at}/v1"\n')
    code, out, err = run_main(capsys, "ask", "--json", "--save", "-m", "lan:test-model", "hi")
    assert code == 1 and "HTTP 401" in out, (out, err)
    [request] = fake_server.requests
    assert ("authorization", f"Basic {basic}") in [(k.lower(), v) for k, v in request.headers]
    written = [p.read_text() for p in files_under(home) if p.is_file() and p.name != "config.toml"]
    assert written  # the session was saved
    for where in (out, err, *written):
        assert PASSWORD not in where and basic not in where


async def test_model_listing_does_not_ask_a_server_whose_url_has_credentials_and_a_key(
    fake_server: FakeServer, home: Path
) -> None:
    at = fake_server.base_url.replace("http://", f"http://me:{PASSWORD}@")
    env = {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": f"{at}/v1",
        "OLLAMA_HOST": "http://127.0.0.1:9",
    }
    found = await discover(Settings(), env, refresh=True, timeout=5)
    assert "has a user name or password" in found.notes["openai"]
    assert PASSWORD not in found.notes["openai"]
    assert fake_server.requests == []
