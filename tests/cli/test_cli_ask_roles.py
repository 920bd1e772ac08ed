"""``chatterm ask --role NAME`` against the fake server: the role's system prompt reaches
every provider where its API takes one, its model and effort apply unless given, an
unknown role is a one-line usage error, and with ``--session`` the role switches the
system prompt from that turn on (recorded, and shown by ``sessions show``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chatterm.cli.main import main
from chatterm.sessions.store import SessionStore
from tests.fake_provider.server import FakeServer
from tests.test_providers_e2e import (
    BASE,
    PROVIDERS,
    TARGETS,
    gateway_config,
    history_of,
    keyed,
    provider_env,
)

PROMPT = "Is this loop right? ✓"
ROLE_SYSTEM = "You review code: bugs first.\nÜnïcode kept."


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["ask", *args])
    out, err = capsys.readouterr()
    return code, out, err


def done_of(out: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(out.splitlines()[-1])
    assert record["type"] == "done"
    return record


@pytest.fixture
def server(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> FakeServer:
    """Every provider pointed at the fake server, with its key."""
    for name, value in provider_env(fake_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return fake_server


def write_config(home: Path, server: FakeServer, roles: str) -> None:
    lan = f'[providers.lan]\nbase_url = "{server.base_url}/v1"\n'
    (home / "config.toml").write_text(
        'system_prompt = "The config\'s own."\n\n'
        + gateway_config(server)
        + "\n"
        + lan
        + "\n"
        + roles,
        encoding="utf-8",
    )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_roles_model_and_system_prompt_reach_each_provider(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,
    isolated_home: Path,
    provider: str,
) -> None:
    target = TARGETS[provider]
    write_config(
        isolated_home,
        server,
        f'[roles.reviewer]\nsystem = {json.dumps(ROLE_SYSTEM)}\nmodel = "{target.ref}"\n',
    )
    server.scenario = keyed(provider, BASE)
    code, out, err = ask(capsys, "--json", "--role", "reviewer", PROMPT)  # no -m
    assert code == 0, err
    assert done_of(out)["model"] == target.ref
    [request] = server.requests
    assert request.format == target.fmt
    system, turns = history_of(request)  # each format's own place for it
    assert system == ROLE_SYSTEM
    assert turns == [("user", PROMPT)]


def test_a_built_in_role_works_with_any_model_and_m_beats_a_roles_model(
    capsys: pytest.CaptureFixture[str], server: FakeServer, isolated_home: Path
) -> None:
    write_config(isolated_home, server, '[roles.mine]\nsystem = "Mine."\nmodel = "demo"\n')
    server.queue(BASE, BASE.but(api_key=None))
    code, out, err = ask(capsys, "--json", "-m", "openai:test-model", "--role", "shell", "ls?")
    assert code == 0, err
    code, out, err = ask(capsys, "--json", "-m", "openai:test-model", "--role", "mine", "hi")
    assert code == 0, err
    assert done_of(out)["model"] == "openai:test-model"  # not the role's demo
    shell, mine = (history_of(request)[0] for request in server.requests)
    assert shell is not None and shell.startswith("You turn requests into shell commands")
    assert mine == "Mine."


def test_the_roles_effort_applies_unless_effort_is_given(
    capsys: pytest.CaptureFixture[str], server: FakeServer, isolated_home: Path
) -> None:
    write_config(
        isolated_home,
        server,
        '[roles.deep]\nsystem = "Think."\nmodel = "lan:gpt-oss-20b"\nreasoning_effort = "high"\n',
    )
    server.queue(BASE, BASE, BASE)
    assert ask(capsys, "--json", "--role", "deep", "a")[0] == 0
    assert ask(capsys, "--json", "--role", "deep", "--effort", "low", "b")[0] == 0
    assert ask(capsys, "--json", "--role", "deep", "--no-reasoning", "c")[0] == 0
    efforts = [request.json.get("reasoning_effort") for request in server.requests]
    assert efforts == ["high", "low", "low"]  # gpt-oss's weakest stands for "off"
    assert all(request.json["model"] == "gpt-oss-20b" for request in server.requests)


def test_an_unknown_role_is_a_usage_error_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str], server: FakeServer, isolated_home: Path
) -> None:
    write_config(isolated_home, server, '[roles.mine]\nsystem = "Mine."\n')
    code, out, err = ask(capsys, "-m", "openai:test-model", "--role", "mien", PROMPT)
    assert code == 2 and out == ""
    assert err == (
        "chatterm: no role 'mien'; the roles are: commit, explainer, mine, reviewer, shell "
        "([roles.NAME] in config.toml adds one)\n"
    )
    code, out, err = ask(capsys, "-m", "openai:test-model", "--role", "mine", "--system", "x", "y")
    assert code == 2 and err.count("\n") == 1 and "--role" in err and "--system" in err
    assert server.requests == []


def test_a_role_on_a_session_switches_its_system_prompt_from_that_turn_on(
    capsys: pytest.CaptureFixture[str], server: FakeServer, isolated_home: Path
) -> None:
    write_config(isolated_home, server, f"[roles.reviewer]\nsystem = {json.dumps(ROLE_SYSTEM)}\n")
    server.queue(*(BASE.but(answer=f"answer {n}") for n in range(4)))
    code, out, err = ask(capsys, "--save", "--json", "-m", "openai:test-model", "one")
    assert code == 0, err
    session_id = done_of(out)["session_id"]
    assert ask(capsys, "--session", session_id, "--role", "reviewer", "two")[0] == 0
    assert ask(capsys, "--session", session_id, "three")[0] == 0  # the switch holds
    # --system does not replace a session's system prompt (as before roles)
    assert ask(capsys, "--session", session_id, "--system", "Ignored.", "four")[0] == 0

    systems = [history_of(request)[0] for request in server.requests]
    assert systems == ["The config's own.", ROLE_SYSTEM, ROLE_SYSTEM, ROLE_SYSTEM]
    # The whole history goes with the new system prompt.
    assert history_of(server.requests[2])[1][:4] == [
        ("user", "one"),
        ("assistant", "answer 0"),
        ("user", "two"),
        ("assistant", "answer 1"),
    ]
    store = SessionStore()
    session = store.load(session_id)
    assert session.version == 5
    assert session.system == "The config's own."
    assert [turn.system for turn in session.turns] == [None, ROLE_SYSTEM, ROLE_SYSTEM, ROLE_SYSTEM]
    assert session.system_switches() == {1: ROLE_SYSTEM}

    assert main(["sessions", "show", session_id]) == 0
    shown = capsys.readouterr().out
    assert "system: The config's own.\n" in shown
    switch = "system from here on: You review code: bugs first.\nÜnïcode kept.\n── you ──\ntwo\n"
    assert shown.count("system from here on:") == 1
    # (whole lines: a stats line's "answer 13ms" holds "answer 1")
    assert shown.index("\nanswer 0\n") < shown.index(switch) < shown.index("\nanswer 1\n")


def test_a_session_without_a_system_prompt_records_the_one_it_was_sent_with(
    capsys: pytest.CaptureFixture[str], server: FakeServer, isolated_home: Path
) -> None:
    server.queue(BASE, BASE)
    code, out, _ = ask(capsys, "--save", "--json", "-m", "openai:test-model", "one")
    assert code == 0
    session_id = done_of(out)["session_id"]
    assert ask(capsys, "--session", session_id, "--system", "Be terse.", "two")[0] == 0
    assert history_of(server.requests[1])[0] == "Be terse."
    session = SessionStore().load(session_id)
    assert session.system is None
    assert [session.system_of(turn) for turn in session.turns] == [None, "Be terse."]
