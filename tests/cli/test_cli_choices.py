"""``chatterm ask --choices N``: one request for N answers (Chat Completions ``n``), compared
as ``-m A -m B`` compares models, against the fake server on 127.0.0.1 and the demo."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.ask import ask_command
from chatterm.reply.figures import session_cost
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import Session
from chatterm.sessions.store import SessionStore
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, Scenario

SCRIPTS = (("think 1", "the first answer"), ("think 2", "the second"), ("", "a third, short"))
SCENARIO = Scenario(
    choice_scripts=SCRIPTS,
    choice_finish_reasons=("stop", "length", "stop"),
    split="awkward",
)
MODEL = "openai:test-model"


@pytest.fixture
def server(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url + "/v1")
    monkeypatch.setenv("NO_COLOR", "1")
    fake_server.scenario = SCENARIO
    return fake_server


def ask(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = ask_command(build_parser().parse_args(["ask", *args]), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def records_in(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.split("\n")[:-1]]


def only_session() -> Session:
    [summary] = SessionStore().list()
    assert summary.problem is None, summary.problem
    return SessionStore().load(summary.id)


def test_three_choices_in_one_request_as_json(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, text, err = ask(capsys, "--json", "--choices", "3", "-m", MODEL, "hi")
    assert (code, err) == (0, "")
    [request] = server.requests
    assert request.json["n"] == 3
    records = records_in(text)
    assert text.count("\n") == len(records)
    for record in records[:-1]:
        assert list(record)[:3] == ["type", "model", "index"], record
        assert record["model"] == MODEL and record["index"] in (0, 1, 2)
    done = {r["index"]: r for r in records if r["type"] == "done"}
    assert sorted(done) == [0, 1, 2]  # one done per choice
    for index, (reasoning, answer) in enumerate(SCRIPTS):
        mine = [r for r in records if r.get("index") == index]
        assert mine[-1] is done[index]
        assert "".join(r["text"] for r in mine if r["type"] == "text") == answer
        assert (done[index]["text"], done[index]["reasoning"]) == (answer, reasoning)
    assert [done[i]["finish_reason"] for i in range(3)] == ["stop", "length", "stop"]
    compare = records[-1]
    assert compare["type"] == "compare"
    results = compare["results"]
    assert [(r["model"], r["index"]) for r in results] == [(MODEL, 0), (MODEL, 1), (MODEL, 2)]
    # The request's one usage is the first choice's; the others share its cost.
    assert results[0]["usage"]["input_tokens"] == SCENARIO.prompt_tokens
    assert not results[0]["usage"]["estimated"]
    assert [r["cost_source"] for r in results[1:]] == ["shared", "shared"]
    assert [r["cost_usd"] for r in results[1:]] == [0.0, 0.0]
    assert compare["cheapest"] is None and compare["cheapest_index"] is None
    assert compare["fastest_first_token_index"] in (0, 1, 2)


def test_plain_output_prints_each_choice_whole_then_the_table(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, text, _ = ask(capsys, "--choices", "2", "--no-reasoning", "-m", MODEL, "hi")
    assert code == 0
    first, second = text.index(f"══ {MODEL} #1 ══"), text.index(f"══ {MODEL} #2 ══")
    assert first < text.index(SCRIPTS[0][1]) < second < text.index(SCRIPTS[1][1])
    assert "cost with choice 1" in text
    assert text.rstrip().splitlines()[-1].startswith("* the fastest")


def test_save_keeps_every_choice_as_an_alternative_and_counts_the_request_once(
    capsys: pytest.CaptureFixture[str], server: FakeServer, isolated_home: Path
) -> None:
    (isolated_home / "config.toml").write_text(
        f'[models."{MODEL}"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n', encoding="utf-8"
    )
    code, _, err = ask(capsys, "--choices", "3", "--save", "-m", MODEL, "hi")
    assert code == 0
    assert "(alternative 1 of 3 at turn 1)" in err
    session = only_session()
    assert [turn.answer for turn in session.tree] == [answer for _, answer in SCRIPTS]
    assert all(turn.parent is None and turn.prompt == "hi" for turn in session.tree)
    assert session.turns[0].answer == SCRIPTS[0][1]  # the first choice is shown
    assert [turn.finish_reason for turn in session.tree] == ["stop", "length", "stop"]
    costs = [turn.cost for turn in session.tree]
    assert costs[0] is not None and costs[0].source == "config"
    assert [cost.source for cost in costs[1:] if cost is not None] == ["shared", "shared"]
    keeper = SessionKeeper(SessionStore())
    keeper.open(session.id)
    assert session_cost(keeper.costs()) == session_cost([costs[0]]) + " incl. alternatives"
    assert "unknown" not in session_cost(keeper.costs())
    keeper.close()


def test_a_provider_without_n_is_refused_before_anything_is_sent(
    capsys: pytest.CaptureFixture[str], server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    ref = "anthropic:claude-sonnet-4-5"
    code, text, err = ask(capsys, "--choices", "2", "-m", ref, "hi")
    assert (code, text) == (2, "")
    assert err == (
        f"chatterm: {ref} cannot give several choices in one request (Anthropic's Messages "
        f"API has no n); ask it once per answer instead: -m {ref} -m {ref} …\n"
    )
    assert server.requests == []


def test_choices_with_several_models_is_refused(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, text, err = ask(capsys, "--choices", "2", "-m", MODEL, "-m", "demo", "hi")
    assert (code, text) == (2, "")
    assert err == (
        "chatterm: --choices asks one model for several answers; give one -m with it "
        "(or compare models with -m A -m B, without --choices)\n"
    )
    assert server.requests == []


@pytest.mark.parametrize("count", ["0", "9", "two"])
def test_a_count_out_of_range_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], count: str
) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(["ask", "--choices", count, "hi"])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert f"--choices: give a whole number from 1 to 8, not '{count}'" in err
    assert err.count("\n") == 1


def test_one_choice_is_the_usual_single_reply(
    capsys: pytest.CaptureFixture[str], server: FakeServer
) -> None:
    code, text, _ = ask(capsys, "--json", "--choices", "1", "-m", MODEL, "hi")
    assert code == 0
    assert "n" not in server.requests[0].json
    assert [r["type"] for r in records_in(text)][-1] == "done"


def test_the_demo_writes_several_choices_through_its_chat_completions_path(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, text, _ = ask(capsys, "--json", "--choices", "2", "-m", "demo:fast", "tell me")
    assert code == 0
    done = [r for r in records_in(text) if r["type"] == "done"]
    assert sorted(r["index"] for r in done) == [0, 1]
    texts = {r["index"]: r["text"] for r in done}
    assert texts[0] != texts[1] and "take 2" in texts[1]
    assert all(r["finish_reason"] == "stop" for r in done)
