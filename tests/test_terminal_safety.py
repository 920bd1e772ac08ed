"""Terminal safety, end to end: hostile text never drives the terminal.

Model output, reasoning, server error messages, model names from servers, session titles,
prompts and file names may carry escape sequences (CSI, OSC 52 clipboard writes, OSC 0/2
title changes, DCS, bracketed-paste markers), BEL, C1 controls, NUL, CR, backspaces, line
separators and Rich markup. Each path to the terminal is driven with all of them at once:

- ``chatterm ask`` plain (answer, reasoning, HTTP and mid-stream errors, on a pipe and on a
  pseudo-terminal with colour) and ``--json`` (the exact text, JSON-escaped);
- ``chatterm sessions list|show``, ``chatterm replay --plain``, ``chatterm models`` and
  ``chatterm config show``;
- the TUI through Pilot: every segment Textual would write to the terminal is checked
  (chat panes, stats, errors, notifications, the sessions screen, the model picker, the
  header, the replay screen and the prompt itself).

What reaches the terminal: newline and tab, printable text, and (in colour) the escape
sequences chatterm and Textual write themselves. Markup is shown literally.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console
from textual import events
from textual.widgets import DataTable
from textual.widgets._toast import Toast

from chatterm.catalogue.discovery import discover
from chatterm.config import Settings
from chatterm.events import StreamError, Usage
from chatterm.pricing import Cost
from chatterm.reply.metrics import Metrics
from chatterm.sessions.model import Session, TimelineEntry, Turn, new_session
from chatterm.sessions.store import SessionStore, sessions_dir
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.model_picker import ModelPickerScreen
from chatterm.tui.screens.replay import ReplayScreen
from chatterm.tui.screens.sessions import SessionsScreen
from chatterm.tui.widgets.turn import TurnView
from tests.fake_provider.server import FakeServer, Scenario, after_answer
from tests.tui.tui_helpers import (
    SIZE,
    chat,
    finish_reply,
    routed_factory,
    send,
    sse_body,
    sse_response,
)
from tests.waiting import settle, wait_for

ROOT = Path(__file__).resolve().parent.parent
ESC = "\x1b"
KEY = "sk-terminal-safety-key"

#: Each payload alone, so a failure names the one that got through.
PAYLOADS = {
    "csi": f"{ESC}[31mred{ESC}[0m",
    "clear": f"{ESC}[2J{ESC}[H",
    "osc52": f"{ESC}]52;c;aGVsbG8=\x07",
    "osc52-st": f"{ESC}]52;c;aGVsbG8={ESC}\\",
    "title-bel": f"{ESC}]0;pwned title\x07",
    "title-st": f"{ESC}]2;pwned{ESC}\\",
    "hyperlink": f"{ESC}]8;;http://evil.example{ESC}\\link{ESC}]8;;{ESC}\\",
    "dcs": f"{ESC}P+q544e{ESC}\\",
    "paste": f"{ESC}[200~rm -rf ~{ESC}[201~",
    "bel": "ding\x07",
    "c1-csi": "\x9b31mc1",
    "c1-osc": "\x9d0;c1title\x9c",
    "line-sep": "one\u2028two\u2029three",
    "nul": "nul\x00byte",
    "cr": "visible\rHIDDEN",
    "backspace": "abc\x08\x08\x08XYZ",
    "del": "del\x7f",
    "markup": "[bold red]loud[/] [link=file:///etc/passwd]click[/link]",
    # Trojan Source: an override or an isolate reorders what is shown; zero-width
    # characters hide text, and so does a joiner that joins nothing.
    "bidi": "file\u202etxt.exe \u2067isolated\u2069 \u200eLRM\u200fRLM\u061cALM",
    "zero-width": "zero\u200bwidth\u2060joiner\ufeffbom \u200dalone\u200c",
}
HOSTILE = " ".join(PAYLOADS.values())
#: For one-line places that cut long text short (error lines, headers): markup first.
SHORT = f"{PAYLOADS['markup']} {PAYLOADS['osc52']} {PAYLOADS['c1-csi']} {PAYLOADS['csi']}"
MARKUP_SHOWN = ("[bold red]loud[/]", "[link=file:///etc/passwd]click[/link]")
#: What stands for the controls once neutralized (a sample: ESC, BEL, C1, CR).
PICTURES = ("␛[31m", "␛]52;c;", "␇", "\ufffd31m", "␍HIDDEN", "file⬚txt.exe", "zero⬚width")

# Everything a terminal could act on, other than newline and tab, and the invisible bidi and
# zero-width characters that reorder or hide what it shows (ZWJ and ZWNJ only join).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029"
    "\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
# The escape sequences chatterm's own plain output writes in colour (dim, red, reset).
_OWN_SGR = re.compile(r"\x1b\[(?:2|31|0)m")


def unsafe(text: str) -> list[str]:
    """The characters in ``text`` a terminal could act on, for the failure message."""
    return sorted({repr(c) for c in _UNSAFE.findall(text)})


def assert_inert(text: str, *, allow_own_sgr: bool = False) -> None:
    if allow_own_sgr:
        text = _OWN_SGR.sub("", text)
    assert not unsafe(text), f"reached the terminal: {unsafe(text)} in {text[:400]!r}"


def is_shown(text: str) -> bool:
    """Whether all of the hostile text is there to read (see :func:`assert_shown`)."""
    flat = " ".join(text.split())
    return all(piece in flat for piece in (*MARKUP_SHOWN, *PICTURES))


def assert_shown(text: str) -> None:
    """The hostile text is there to read: markup literal, controls as pictures."""
    flat = " ".join(text.split())
    for piece in MARKUP_SHOWN:
        assert piece in flat, (piece, text[:600])
    for picture in PICTURES:
        assert picture in flat, (picture, text[:600])


# ------------------------------------------------------------------ the command line


def cli_env(home: Path, server: FakeServer | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL")) and k not in ("OLLAMA_HOST", "NO_COLOR")
    }
    env.update(
        CHATTERM_HOME=str(home),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        OLLAMA_HOST="http://127.0.0.1:9",  # nothing listens there: no stray discovery
    )
    env.pop("PYTHONWARNINGS", None)
    if server is not None:
        env["OPENAI_API_KEY"] = KEY
        env["OPENAI_BASE_URL"] = server.base_url + "/v1"
    return env


def run_cli(
    home: Path, *args: str, server: FakeServer | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "chatterm", *args],
        capture_output=True,
        env=cli_env(home, server),
        cwd=home,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def text_of(data: bytes) -> str:
    return data.decode("utf-8")


@pytest.fixture
def home(isolated_home: Path) -> Path:
    return isolated_home


def hostile_scenario(**changes: Any) -> Scenario:
    return Scenario(reasoning=HOSTILE, answer=HOSTILE, model=HOSTILE, **changes)


def test_ask_plain_neutralizes_answer_and_reasoning(fake_server: FakeServer, home: Path) -> None:
    fake_server.scenario = hostile_scenario(split="bytewise")
    result = run_cli(home, "ask", "-m", "openai:test-model", "hi", server=fake_server)
    out, err = text_of(result.stdout), text_of(result.stderr)
    assert result.returncode == 0, err
    assert err == ""
    assert_inert(out)
    assert out.count("[bold red]loud[/]") == 2  # reasoning and answer, literally
    assert_shown(out)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_ask_plain_each_payload(fake_server: FakeServer, home: Path, name: str) -> None:
    payload = PAYLOADS[name]
    fake_server.scenario = Scenario(reasoning=payload, answer=payload, tokens_per_chunk=2)
    result = run_cli(home, "ask", "-m", "openai:test-model", "hi", server=fake_server)
    assert result.returncode == 0, result.stderr
    assert_inert(text_of(result.stdout))


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario.http_error(400, SHORT + HOSTILE),
        Scenario.http_error(403, plain=SHORT + HOSTILE),
        Scenario(answer=HOSTILE, error_after=after_answer(2), error_object={"error": HOSTILE}),
        Scenario(
            answer="partial answer",
            error_after=after_answer(1),
            error_object={"error": {"message": SHORT + HOSTILE, "type": HOSTILE}},
        ),
        # A header carries no ESC (HTTP refuses it) but may carry C1 bytes (obs-text).
        Scenario(status=307, error_headers=(("location", "http://x/\x9b2J[bold red]loud[/]"),)),
    ],
    ids=["http-json", "http-plain", "mid-stream-string", "mid-stream-object", "redirect"],
)
def test_ask_plain_neutralizes_server_errors(
    fake_server: FakeServer, home: Path, scenario: Scenario
) -> None:
    fake_server.scenario = scenario
    result = run_cli(home, "ask", "-m", "openai:test-model", "hi", server=fake_server)
    out, err = text_of(result.stdout), text_of(result.stderr)
    assert result.returncode == 1
    assert_inert(out)
    assert_inert(err)
    assert "Traceback" not in err
    *retries, last = err.splitlines()
    assert last.startswith("error: ") and all(line.startswith("retrying") for line in retries)
    if scenario.status != 200:
        assert "[bold red]loud[/]" in last


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_ask_on_a_terminal_writes_only_its_own_colours(fake_server: FakeServer, home: Path) -> None:
    """With colour on (stdout a terminal), chatterm's own dim/red/reset are the only
    escape sequences: the model's are still pictures."""
    import pty

    fake_server.scenario = hostile_scenario(
        error_after=after_answer(40), error_object={"error": HOSTILE}
    )
    leader, follower = pty.openpty()
    env = cli_env(home, fake_server)
    env["TERM"] = "xterm-256color"
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "chatterm", "ask", "-m", "openai:test-model", "hi"],
            stdout=follower,
            stderr=follower,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=home,
        )
        os.close(follower)
        chunks: list[bytes] = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not data:
                break
            chunks.append(data)
        assert process.wait(timeout=60) == 1
    finally:
        os.close(leader)
    # The pty turns LF into CRLF on the way out: that CR is the terminal driver's.
    out = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    assert "\x1b[2m" in out and "\x1b[31m" in out  # colour was on
    assert_inert(out, allow_own_sgr=True)
    assert_shown(_OWN_SGR.sub("", out))


#: Legitimate joiners next to a hidden override: the joiners are text and stay.
JOINED = "family 👨\u200d👩\u200d👧 Persian می\u200cخواهم Hindi क्\u200dष file\u202etxt.exe"
JOINED_SHOWN = "family 👨\u200d👩\u200d👧 Persian می\u200cخواهم Hindi क्\u200dष file⬚txt.exe"


def test_ask_plain_keeps_joiners_and_shows_an_override(fake_server: FakeServer, home: Path) -> None:
    fake_server.scenario = Scenario(reasoning=JOINED, answer=JOINED, tokens_per_chunk=1)
    result = run_cli(home, "ask", "-m", "openai:test-model", "hi", server=fake_server)
    out = text_of(result.stdout)
    assert result.returncode == 0, result.stderr
    assert_inert(out)
    assert out.count(JOINED_SHOWN) == 2  # reasoning and answer, cut into deltas anywhere


def test_ask_json_keeps_the_exact_text_escaped(fake_server: FakeServer, home: Path) -> None:
    fake_server.scenario = hostile_scenario(
        error_after=after_answer(60), error_object={"error": {"message": "boom"}}
    )
    result = run_cli(home, "ask", "--json", "-m", "openai:test-model", "hi", server=fake_server)
    raw = text_of(result.stdout)
    assert_inert(raw)  # every control is a JSON escape
    escapes = ("\\u001b", "\\u0007", "\\u009b", "\\u009d", "\\u2028", "\\u2029", "\\r", "\\u202e")
    for escaped in escapes:
        assert escaped in raw, escaped
    records = [json.loads(line) for line in raw.splitlines()]
    text = "".join(r["text"] for r in records if r["type"] == "text")
    reasoning = "".join(r["text"] for r in records if r["type"] == "reasoning")
    assert reasoning == HOSTILE
    assert HOSTILE.startswith(text) and len(text) > 100
    done = records[-1]
    assert done["type"] == "done" and done["text"] == text and done["reasoning"] == HOSTILE
    assert any(r["type"] == "error" for r in records)


def test_ask_json_server_error_message_is_escaped(fake_server: FakeServer, home: Path) -> None:
    fake_server.scenario = Scenario.http_error(400, HOSTILE)
    result = run_cli(home, "ask", "--json", "-m", "openai:test-model", "hi", server=fake_server)
    raw = text_of(result.stdout)
    assert_inert(raw)
    [error] = [r for r in map(json.loads, raw.splitlines()) if r["type"] == "error"]
    assert "[bold red]loud[/]" in error["message"]
    assert_inert(text_of(result.stderr))


# -- sessions, replay


def hostile_turn(model: str = HOSTILE) -> Turn:
    return Turn(
        prompt=HOSTILE,
        model=model,
        started="2026-11-21T10:00:00.000Z",
        reasoning=HOSTILE,
        answer=HOSTILE,
        finish_reason="error",
        usage=Usage(input_tokens=3, output_tokens=5),
        metrics=Metrics(ttft_ms=10.0, first_answer_ms=20.0, duration_ms=30.0),
        cost=Cost(0.001, "price_table"),
        error=StreamError(HOSTILE, retryable=True, status=500),
        warnings=(HOSTILE,),
        timeline=[TimelineEntry(10, "reasoning", HOSTILE), TimelineEntry(20, "answer", HOSTILE)],
    )


def hostile_session(session_id: str = "20261121-100000-abcdef", model: str = HOSTILE) -> Session:
    session = new_session(system=HOSTILE, session_id=session_id)
    session.title = SHORT + HOSTILE  # what a narrow column shows first
    session.turns.append(hostile_turn(model))
    return session


BROKEN_NAME = f"{ESC}]0;pwned\x07[red]x[bold]\x9b2J.json"  # no "/": it is a file name


@pytest.fixture
def hostile_sessions(home: Path) -> Path:
    """A hostile session, and a broken file whose very name is hostile."""
    store = SessionStore()
    store.save(hostile_session())
    (sessions_dir() / BROKEN_NAME).write_bytes(b'{"chatterm_session": 1, "id": ')
    return sessions_dir()


def test_sessions_list_plain(hostile_sessions: Path, home: Path) -> None:
    result = run_cli(home, "sessions", "list")
    out = text_of(result.stdout)
    assert result.returncode == 0, result.stderr
    assert_inert(out)
    assert_inert(text_of(result.stderr))
    assert "[bold red]loud[/]" in out  # the title
    assert "[red]x[bold]" in out  # the broken file's name
    assert "␛]0;pwned␇" in out


def test_sessions_list_json_is_exact(hostile_sessions: Path, home: Path) -> None:
    result = run_cli(home, "sessions", "list", "--json")
    raw = text_of(result.stdout)
    assert_inert(raw)
    records = [json.loads(line) for line in raw.splitlines()]
    assert {r["file_name"] for r in records} == {BROKEN_NAME, "20261121-100000-abcdef.json"}
    [good] = [r for r in records if r["problem"] is None]
    assert good["title"] == SHORT + HOSTILE
    assert good["models"] == [HOSTILE]


@pytest.mark.parametrize(
    "args",
    [
        ("sessions", "show", "20261121-100000"),
        ("replay", "--plain", "--speed", "0", "20261121-100000"),
        ("sessions", "show", BROKEN_NAME),
        ("sessions", "export", "20261121-100000", "--format", "md"),
    ],
    ids=["show", "replay", "show-broken", "export-md"],
)
def test_sessions_show_and_replay_plain(
    hostile_sessions: Path, home: Path, args: tuple[str, ...]
) -> None:
    if args[-1] == BROKEN_NAME:
        args = (*args[:-1], str(hostile_sessions / BROKEN_NAME))
    result = run_cli(home, *args)
    out, err = text_of(result.stdout), text_of(result.stderr)
    assert "Traceback" not in err
    assert_inert(err)
    assert_inert(out)
    if args[-1].startswith(str(hostile_sessions)):
        assert result.returncode == 1 and err.count("\n") == 1
        return
    assert result.returncode == 0, err
    assert_shown(out)


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_sessions_export_to_stdout_is_inert(hostile_sessions: Path, home: Path, fmt: str) -> None:
    """JSON and TOML keep the exact text, as escapes: ``cat``-ing them is safe too."""
    result = run_cli(home, "sessions", "export", "20261121-100000", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert_inert(text_of(result.stdout))


def test_replay_json_is_exact(hostile_sessions: Path, home: Path) -> None:
    result = run_cli(home, "replay", "--json", "--speed", "0", "20261121-100000")
    raw = text_of(result.stdout)
    assert_inert(raw)
    records = [json.loads(line) for line in raw.splitlines()]
    assert records[0] == {"type": "prompt", "turn": 0, "model": HOSTILE, "text": HOSTILE}
    assert records[-1]["text"] == HOSTILE and records[-1]["reasoning"] == HOSTILE


# -- models, config


HOSTILE_MODELS = (HOSTILE, f"qwen{ESC}]52;c;aGk=\x07", "[bold]fat[/bold]", "tab\tand\nnewline")


def test_models_list_shows_server_names_as_data(fake_server: FakeServer, home: Path) -> None:
    fake_server.models = HOSTILE_MODELS
    (home / "config.toml").write_text(
        f'[providers.evil]\nbase_url = "{fake_server.base_url}/v1"\n', encoding="utf-8"
    )
    result = run_cli(home, "models", "--refresh")
    out, err = text_of(result.stdout), text_of(result.stderr)
    assert result.returncode == 0, err
    assert_inert(out)
    assert_inert(err)
    assert "[bold]fat[/bold]" in out and "qwen␛]52;c;aGk=␇" in out
    # One row per model: a newline in a name cannot add a line.
    assert sum("evil " in line for line in out.splitlines()) == len(HOSTILE_MODELS)

    result = run_cli(home, "models", "--offline", "--json")
    raw = text_of(result.stdout)
    assert_inert(raw)
    models = {r["model"] for r in map(json.loads, raw.splitlines()) if r["provider"] == "evil"}
    assert models == set(HOSTILE_MODELS)


def test_models_server_error_is_one_safe_line(fake_server: FakeServer, home: Path) -> None:
    (home / "config.toml").write_text(
        f'[providers.evil]\nbase_url = "{fake_server.base_url}/nowhere"\n', encoding="utf-8"
    )
    result = run_cli(home, "models", "--refresh")
    assert result.returncode == 0
    assert_inert(text_of(result.stderr))


def toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string (\u escapes included)


def test_config_show(home: Path) -> None:
    (home / "config.toml").write_text(
        f"system_prompt = {toml_string(HOSTILE)}\n"
        f"default_model = {toml_string('openai:' + HOSTILE)}\n"
        f"model_cycle = [{toml_string(HOSTILE)}]\n"
        f"[models.{toml_string(HOSTILE)}]\nmax_tokens = 5\n",
        encoding="utf-8",
    )
    result = run_cli(home, "config", "show")
    out, err = text_of(result.stdout), text_of(result.stderr)
    assert result.returncode == 0, err
    assert_inert(out)
    assert "[bold red]loud[/]" in out


@pytest.mark.parametrize(
    "config",
    [
        f"{toml_string(HOSTILE)} = 1\n",
        f"default_model = 1\nsystem_prompt = {toml_string(HOSTILE)}\ntheme = 3\n",
        f"[providers.x]\nbase_url = {toml_string(HOSTILE)}\n",
        f"favourites = {toml_string(HOSTILE)}\n",
        "not toml = = \x1b]0;x\x07\n",
    ],
    ids=["unknown-key", "wrong-type", "bad-url", "not-a-list", "invalid-toml"],
)
@pytest.mark.parametrize("command", [("config", "show"), ("ask", "hi"), ("models", "--offline")])
def test_config_errors_are_one_safe_line(home: Path, config: str, command: tuple[str, ...]) -> None:
    (home / "config.toml").write_text(config, encoding="utf-8")
    result = run_cli(home, *command)
    err = text_of(result.stderr)
    assert result.returncode == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert_inert(err)
    assert_inert(text_of(result.stdout))


def test_usage_error_echoing_an_argument(home: Path) -> None:
    result = run_cli(home, "ask", "--effort", HOSTILE.replace("\x00", ""), "hi")
    assert result.returncode == 2
    assert_inert(text_of(result.stderr))


# ----------------------------------------------------------------------------- the TUI


def terminal_segments(app: ChatApp) -> Iterator[Any]:
    """Every segment of a full redraw of the screen, as the driver would write it."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    for line in update.strips:
        for strip in line:
            yield from strip


def screen_text(app: ChatApp) -> str:
    """What a full redraw writes, checked: no text segment carries a control character or
    a hyperlink (Textual's own cursor moves and colours are control segments)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    rows: list[str] = []
    for line in update.strips:
        row: list[str] = []
        for strip in line:
            for segment in strip:
                if segment.control:
                    continue
                assert not unsafe(segment.text), (unsafe(segment.text), segment.text)
                style = segment.style
                assert style is None or not style.link, style.link
                row.append(segment.text)
        rows.append("".join(row))
    # The bytes themselves: after Textual's own sequences are taken out, nothing is left
    # that a terminal would act on.
    console = Console(
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        width=SIZE[0],
        height=SIZE[1],
        legacy_windows=False,
    )
    raw = update.render_segments(console)
    rest = re.sub(r"\x1b\[[0-9;:]*[A-Za-z]", "", raw)
    assert not unsafe(rest.replace("\n", "")), unsafe(rest)
    return "\n".join(rows)


def toast_text(app: ChatApp) -> str:
    return "\n".join(str(toast.render()) for toast in app.screen.query(Toast))


def answer_factory(*, status: int = 200, body: bytes | None = None) -> Any:
    async def handler(request: httpx.Request) -> httpx.Response:
        if status != 200:
            headers = {"location": "http://x/[bold red]loud[/]"} if status < 400 else {}
            return httpx.Response(status, content=body or b"", headers=headers)
        return sse_response(
            body
            or sse_body(
                reasoning=[HOSTILE[:40], HOSTILE[40:]],  # a sequence cut between deltas
                answer=[HOSTILE, "\n\n[c](file:///etc/passwd) `", HOSTILE, "`\n"],
            )
        )

    return routed_factory(handler)


OPENAI_ENV = {"OPENAI_API_KEY": KEY}


async def test_tui_answer_reasoning_and_stats() -> None:
    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=answer_factory())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "hi")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert turn.reply is not None and turn.reply.text.startswith(HOSTILE)
        shown = screen_text(app)
        assert_shown(shown)
        assert "[bold red]loud[/]" in turn.reasoning.text


async def test_tui_keeps_joiners_and_shows_an_override() -> None:
    body = sse_body(reasoning=[JOINED[:9], JOINED[9:]], answer=list(JOINED))  # ZWJs cut off
    app = ChatApp(
        Settings(), "openai:test", env=OPENAI_ENV, client_factory=answer_factory(body=body)
    )
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        await send(pilot, "hi")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert turn.reply is not None and turn.reply.text == JOINED  # the reply itself: exact
        shown = screen_text(app)
        assert "file⬚txt.exe" in shown
        assert shown.count("می\u200cخواهم") == 2 and shown.count("क्\u200dष") == 2
        assert turn.reasoning.text == JOINED_SHOWN


async def test_tui_while_streaming() -> None:
    """Half-way through a reply (a CR at the end of a delta waits for the next)."""
    from tests.tui.tui_helpers import HangingStream, chunk, hanging_response

    stream = HangingStream([chunk({"reasoning_content": HOSTILE}), chunk({"content": HOSTILE})])

    async def handler(request: httpx.Request) -> httpx.Response:
        return hanging_response(stream)

    app = ChatApp(Settings(), "openai:test", env=OPENAI_ENV, client_factory=routed_factory(handler))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "hi")
        await wait_for(pilot, lambda: stream.sent == 2 and "XYZ" in chat(app).turns[0].answer.text)
        await wait_for(pilot, lambda: is_shown(screen_text(app)), what="the hostile text drawn")
        assert_shown(screen_text(app))
        await pilot.press("escape")
        await finish_reply(pilot)
        screen_text(app)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, json.dumps({"error": {"message": SHORT + HOSTILE, "type": HOSTILE}}).encode()),
        (403, (SHORT + HOSTILE).encode()),
        (307, b""),
        (
            200,
            sse_body(answer=["ok "])[:-14]
            + b"data: "
            + json.dumps({"error": {"message": SHORT + HOSTILE}}).encode()
            + b"\n\n",
        ),
    ],
    ids=["http-json", "http-plain", "redirect", "mid-stream"],
)
async def test_tui_error_line_and_stats_bar(status: int, body: bytes) -> None:
    app = ChatApp(
        Settings(),
        "openai:test",
        env=OPENAI_ENV,
        client_factory=answer_factory(status=status, body=body),
    )
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "hi")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert turn.reply is not None and turn.reply.error is not None
        shown = screen_text(app)
        assert "error: " in shown
        assert "[bold red]loud[/]" in " ".join(shown.split())


async def test_tui_prompt_and_model_names() -> None:
    """A model named by the config (the label, the header) and a prompt the user pasted."""
    model = "evil:" + "m" + PAYLOADS["osc52"] + "[b]x[/b]"
    settings = Settings(model_cycle=(model, "openai:" + HOSTILE))
    app = ChatApp(settings, "openai:" + SHORT, env=OPENAI_ENV, client_factory=answer_factory())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        shown = screen_text(app)
        assert "[bold red]loud[/]" in " ".join(shown.split())  # the header and the stats bar
        app.post_message(events.Paste(HOSTILE))
        screen.prompt.post_message(events.Paste(HOSTILE))
        await pilot.pause()
        screen_text(app)  # a paste is shown, and sent, with its controls as pictures
        assert "␛]52;c;" in screen.prompt.text and not unsafe(screen.prompt.text)
        assert "visible\nHIDDEN" in screen.prompt.text  # a pasted CR is a line end
        await pilot.press("enter")
        await finish_reply(pilot)
        screen_text(app)
        await pilot.press("ctrl+n")  # a model that cannot be resolved: a notification
        await pilot.pause()
        assert toast_text(app)
        screen_text(app)


async def test_tui_notifications_show_markup_literally() -> None:
    app = ChatApp(Settings(), "demo", env={}, notice=HOSTILE, client_factory=answer_factory())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        toasts = toast_text(app)
        assert "[bold red]loud[/]" in toasts and "␛]52;c;" in toasts
        app.notify  # noqa: B018 - the app's own notices go through safe_text, markup off
        screen_text(app)


async def test_tui_sessions_screen(hostile_sessions: Path) -> None:
    app = ChatApp(Settings(), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen))
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        await wait_for(pilot, lambda: screen.query_one(DataTable).row_count == 2)
        await pilot.pause()
        shown = screen_text(app)
        assert "[bold red]loud[/]" in shown or "[bold red]loud" in shown  # the title, cut
        for _ in range(2):  # each row highlighted in turn: its problem in the status line
            await pilot.press("down")
            await pilot.pause()
            screen_text(app)
        await pilot.press("f8")  # delete? the question names the file
        await pilot.pause()
        screen_text(app)
        await pilot.press("n")
        await pilot.press("up", "up")
        await pilot.press("f2")  # rename: the title in an input, controls left out
        await pilot.pause()
        screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")  # a broken file: a notification naming it
        await pilot.pause()
        screen_text(app)


async def test_tui_opened_session_and_replay(hostile_sessions: Path) -> None:
    app = ChatApp(Settings(), "demo", env={}, session_ref="20261121-100000")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        assert chat(app).query(TurnView)
        shown = screen_text(app)
        assert_shown(shown)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        await pilot.press("s")
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        await wait_for(pilot, lambda: replay.done)
        await settle(pilot)
        screen_text(app)


async def test_tui_replay_title(hostile_sessions: Path) -> None:
    session = SessionStore().load("20261121-100000")
    app = ChatApp(Settings(), "demo", env={}, replay=session, replay_speed=0)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: "[bold red]loud[/]" in " ".join(screen_text(app).split()))


async def test_tui_model_picker_with_hostile_discovered_names(home: Path) -> None:
    base_url = "http://127.0.0.1:9/v1"
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": base_url, "OLLAMA_HOST": base_url}

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": m} for m in HOSTILE_MODELS]})
        return httpx.Response(404, json={"error": HOSTILE})

    found = await discover(
        Settings(),
        env,
        client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )
    assert set(found.models["openai"]) == set(HOSTILE_MODELS)
    app = ChatApp(Settings(), "demo", env=env, discover_models=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
        picker = app.screen
        assert isinstance(picker, ModelPickerScreen)
        await wait_for(pilot, lambda: not picker.refreshing)
        await pilot.press(*"fat")
        await wait_for(pilot, lambda: "[bold]fat[/bold]" in screen_text(app))
        for text in ("qwen", "newline", "loud"):
            await pilot.press(*["backspace"] * 10, *text)
            await wait_for(pilot, lambda: picker.filter_input.value == text)  # noqa: B023
            await settle(pilot)
            screen_text(app)
            await pilot.press("enter")  # select it: a switch, or a notification
            await settle(pilot)
            screen_text(app)
            if not isinstance(app.screen, ModelPickerScreen):
                break


async def test_tui_copy_and_palette() -> None:
    """F8 copies the answer as shown; the palette lists hostile model names as text."""
    settings = Settings(model_cycle=("openai:" + SHORT,))
    app = ChatApp(settings, "openai:test", env=OPENAI_ENV, client_factory=answer_factory())
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await send(pilot, "hi")
        await finish_reply(pilot)
        await pilot.press("f8")
        await pilot.pause()
        assert "␛[31m" in app.clipboard and not unsafe(app.clipboard)
        screen_text(app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"loud")
        await wait_for(pilot, lambda: "[bold red]loud[/]" in screen_text(app))


async def test_tui_theme_file_names_in_the_notification(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / f"{ESC}]0;pwned\x07[b]x\x9b.toml").write_text(f'name = "{SHORT}"\n')
    (themes / "bad.toml").write_bytes(b"name = \x1b]52;c;aGk=\x07")
    app = ChatApp(Settings(theme=SHORT), "demo", env={}, theme_folders=[themes])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        toasts = toast_text(app)
        assert "␛]0;pwned␇[b]x" in toasts and "bad.toml" in toasts
        screen_text(app)
