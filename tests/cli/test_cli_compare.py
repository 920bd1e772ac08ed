"""``chatterm ask -m A -m B …``: several models answer one prompt at once, against the
fake server on 127.0.0.1.

Concurrency is proven by order, never by the clock: a model is held before its reply (the
server waits at its headers) until another model's ``done`` record is on stdout, so a run
that streamed the models one after the other could not finish in that order.
"""

from __future__ import annotations

import errno
import io
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chatterm.cli.arguments import build_parser
from chatterm.cli.ask import ask_command, compare_tags
from chatterm.cli.printer import PlainComparison, compare_labels, compare_record
from chatterm.events import Finish, Started, TextDelta, Usage, UsageUpdate
from chatterm.pricing import Cost
from chatterm.reply.accumulate import Reply, ReplyAccumulator
from chatterm.sessions.model import Session
from chatterm.sessions.store import SessionStore
from chatterm.text import safe_text
from tests.cli.test_cli_ask import ask_env
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, RecordedRequest, Scenario
from tests.waiting import default_sigint, wait_until

SAFETY_TIMEOUT_S = 60.0
HELD_S = 0.125  # the held model's pause at its headers, which the test's condition replaces
RESULT_KEYS = [
    "model",
    "finish_reason",
    "usage",
    "ttft_ms",
    "first_answer_ms",
    "duration_ms",
    "tokens_per_s",
    "server_tokens_per_s",
    "cost_usd",
    "cost_source",
    "cost_estimated",
]


class Stage:
    """The fake server with a scenario of its own for each model, and models held before
    their reply until a condition holds (checked by the server's thread)."""

    def __init__(self, server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
        self.server = server
        self.scenarios: dict[str, Scenario] = {}
        self.holds: dict[str, Callable[[], bool]] = {}
        choose, pause = server._choose, server._pause

        def chosen(record: RecordedRequest, suffix: str | None) -> Scenario:
            scenario = self.scenarios.get(record.model or "")
            return scenario if scenario is not None else choose(record, suffix)

        def paused(conn: Any, record: RecordedRequest, seconds: float) -> bool:
            hold = self.holds.get(record.model or "")
            if hold is None:
                return pause(conn, record, seconds)
            wait_until(hold, what=f"the release of {record.model}")
            return False

        monkeypatch.setattr(server, "_choose", chosen)
        monkeypatch.setattr(server, "_pause", paused)

    def hold(self, model: str, until: Callable[[], bool], scenario: Scenario | None = None) -> None:
        """``model`` (its name on the wire) answers only once ``until()`` holds."""
        self.scenarios[model] = (scenario or Scenario()).but(headers_delay_s=HELD_S)
        self.holds[model] = until


@pytest.fixture
def stage(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Stage:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url + "/v1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    return Stage(fake_server, monkeypatch)


def records_in(text: str) -> list[dict[str, Any]]:
    """The whole JSON lines written so far (split on LF only: JSON may carry U+2028)."""
    return [json.loads(line) for line in text.split("\n")[:-1]]


def done_written(out: io.StringIO, model: str) -> Callable[[], bool]:
    def written() -> bool:
        records = records_in(out.getvalue())
        return any(r["type"] == "done" and r["model"] == model for r in records)

    return written


def ask(
    capsys: pytest.CaptureFixture[str], *args: str, out: io.StringIO | None = None
) -> tuple[int, str, str]:
    """``chatterm ask ARGS`` in this process; stdout is ``out`` (which another thread may
    watch while the replies stream), stderr is captured."""
    out = out if out is not None else io.StringIO()
    code = ask_command(build_parser().parse_args(["ask", *args]), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def first_index(records: list[dict[str, Any]], model: str, *types: str) -> int:
    return next(i for i, r in enumerate(records) if r.get("model") == model and r["type"] in types)


def done_index(records: list[dict[str, Any]], model: str) -> int:
    return first_index(records, model, "done")


def only_session() -> Session:
    [summary] = SessionStore().list()
    assert summary.problem is None, summary.problem
    return SessionStore().load(summary.id)


# ----------------------------------------------------------------------------- at once


def test_two_models_stream_at_once_the_fast_one_done_before_the_slow_one_starts(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    out = io.StringIO()
    stage.hold("slow", until=done_written(out, "openai:fast"))
    code, text, err = ask(capsys, "--json", "-m", "openai:slow", "-m", "openai:fast", "hi", out=out)
    assert (code, err) == (0, "")
    records = records_in(text)
    deltas = ("reasoning", "text")
    assert done_index(records, "openai:fast") < first_index(records, "openai:slow", *deltas)
    assert [r["model"] for r in records if r["type"] == "done"] == ["openai:fast", "openai:slow"]
    compare = records[-1]
    assert compare["type"] == "compare"
    assert [r["model"] for r in compare["results"]] == ["openai:slow", "openai:fast"]
    assert compare["fastest_first_token"] == "openai:fast"  # the slow one waited at first
    # Each model had its own request, with the same conversation.
    bodies = {r.model: r.json for r in stage.server.requests}
    assert bodies.keys() == {"slow", "fast"}
    assert bodies["slow"]["messages"] == bodies["fast"]["messages"]


def test_three_models_each_finishes_before_the_one_held_for_it_starts(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    out = io.StringIO()
    stage.hold("mid", until=done_written(out, "openai:fast"))
    stage.hold("slow", until=done_written(out, "openai:mid"))
    models = ["openai:slow", "openai:mid", "openai:fast"]
    args = [arg for model in models for arg in ("-m", model)]
    code, text, err = ask(capsys, "--json", *args, "hi", out=out)
    assert (code, err) == (0, "")
    records = records_in(text)
    assert done_index(records, "openai:fast") < first_index(records, "openai:mid", "reasoning")
    assert done_index(records, "openai:mid") < first_index(records, "openai:slow", "reasoning")
    assert [r["model"] for r in records[-1]["results"]] == models


def test_one_model_failing_ends_only_its_own_reply(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    """A 401 and a dropped connection end their own replies, each with its error record,
    while the model held until the 401's reply is done goes on and finishes."""
    out = io.StringIO()
    stage.scenarios["refused"] = Scenario.http_error(401)
    stage.scenarios["dropped"] = Scenario(drop_after_bytes=600)
    stage.hold("good", until=done_written(out, "openai:refused"))
    models = ["openai:refused", "openai:good", "openai:dropped"]
    args = [arg for model in models for arg in ("-m", model)]
    code, text, err = ask(capsys, "--json", *args, "hi", out=out)
    assert code == 1 and err == ""
    records = records_in(text)
    errors = {r["model"]: r for r in records if r["type"] == "error"}
    assert errors.keys() == {"openai:refused", "openai:dropped"}
    assert "HTTP 401" in errors["openai:refused"]["message"]
    assert "dropped" in errors["openai:dropped"]["message"]
    done = {r["model"]: r for r in records if r["type"] == "done"}
    assert done["openai:refused"]["finish_reason"] == "error"
    assert done["openai:dropped"]["finish_reason"] in ("error", "interrupted")
    assert done["openai:good"]["finish_reason"] == "stop"
    assert done["openai:good"]["text"] == Scenario().answer
    assert done_index(records, "openai:refused") < first_index(records, "openai:good", "reasoning")
    results = records[-1]["results"]
    assert [r["finish_reason"] for r in results] == [
        "error",
        "stop",
        done["openai:dropped"]["finish_reason"],
    ]
    # Only a reply that finished cleanly can be the fastest.
    assert records[-1]["fastest_first_token"] == "openai:good"
    assert records[-1]["fastest_tokens_per_s"] == "openai:good"
    assert API_KEY not in text


def test_the_same_model_twice_is_told_apart_by_index(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    code, text, _ = ask(capsys, "--json", "-m", "openai:twin", "-m", "openai:twin", "hi")
    assert code == 0
    records = records_in(text)
    assert all(r["model"] == "openai:twin" and r["index"] in (0, 1) for r in records[:-1])
    assert sorted(r["index"] for r in records if r["type"] == "done") == [0, 1]
    for index in (0, 1):
        mine = [r for r in records if r.get("index") == index]
        assert "".join(r["text"] for r in mine if r["type"] == "text") == Scenario().answer
    results = records[-1]["results"]
    assert [(r["model"], r["index"]) for r in results] == [("openai:twin", 0), ("openai:twin", 1)]
    assert len(stage.server.requests) == 2


# ----------------------------------------------------------------------------- the JSON contract


def test_every_record_is_tagged_and_the_compare_record_ends_the_run(
    capsys: pytest.CaptureFixture[str], stage: Stage, isolated_home: Path
) -> None:
    (isolated_home / "config.toml").write_text(
        '[models."openai:dear"]\ninput_per_mtok = 10.0\noutput_per_mtok = 40.0\n'
        '[models."openai:cheap"]\ninput_per_mtok = 0.1\noutput_per_mtok = 0.4\n',
        encoding="utf-8",
    )
    stage.scenarios["unpriced"] = Scenario(usage_chunk=False)
    models = ["openai:dear", "openai:cheap"]
    code, text, _ = ask(capsys, "--json", "-m", models[0], "-m", models[1], "hi")
    assert code == 0
    records = records_in(text)
    assert text.count("\n") == len(records)  # every line whole
    for record in records[:-1]:
        assert list(record)[:2] == ["type", "model"] and "index" not in record, record
        assert record["model"] in models
    done = [r for r in records if r["type"] == "done"]
    assert sorted(r["model"] for r in done) == sorted(models)  # one each
    for record in done:
        mine = [r for r in records if r.get("model") == record["model"]]
        assert mine[-1] is record  # a model's done record is its last
        assert record["text"] == "".join(r["text"] for r in mine if r["type"] == "text")
    compare = records[-1]
    assert list(compare) == [
        "type",
        "results",
        "fastest_first_token",
        "fastest_tokens_per_s",
        "cheapest",
    ]
    by_model = {r["model"]: r for r in done}
    for model, result in zip(models, compare["results"], strict=True):
        assert list(result) == RESULT_KEYS
        assert result["model"] == model
        for key in RESULT_KEYS[1:-1]:
            assert result[key] == by_model[model][key], key  # the done record's figures
        assert result["cost_source"] == "config" and result["cost_estimated"] is False
    dear, cheap = compare["results"]
    assert 0 < cheap["cost_usd"] < dear["cost_usd"]
    assert compare["cheapest"] == "openai:cheap"
    assert compare["fastest_first_token"] in models
    assert compare["fastest_tokens_per_s"] in models


def test_cheapest_is_null_when_a_cost_is_unknown() -> None:
    def reply(model: str, usd: float | None) -> Reply:
        accumulator = ReplyAccumulator(model)
        for at, event in [
            (0.0, Started(model)),
            (0.1, TextDelta("hi")),
            (0.3, TextDelta(" there")),
            (0.3, UsageUpdate(Usage(10, 20))),
            (0.4, Finish("stop")),
        ]:
            accumulator.add(at, event)
        return accumulator.reply().with_cost(Cost(usd, "price_table" if usd else "unknown"))

    replies = [reply("openai:a", 0.002), reply("openai:b", None)]
    record = compare_record(replies, compare_tags(["openai:a", "openai:b"]))
    assert record["cheapest"] is None
    assert [r["cost_usd"] for r in record["results"]] == [0.002, None]
    assert record["fastest_first_token"] == "openai:a"  # a tie: the first given
    out = io.StringIO()
    PlainComparison(out, io.StringIO(), ["openai:a", "openai:b"], color=False).table(replies)
    lines = out.getvalue().splitlines()
    assert lines[0] == "" and lines[1].startswith("model ")
    assert lines[2].startswith("openai:a ") and lines[2].endswith("$0.0020")
    assert lines[3].startswith("openai:b ") and lines[3].endswith("unknown")
    assert lines[4] == "* the fastest first token, the fastest tokens/s"


# ----------------------------------------------------------------------------- plain output


def test_plain_prints_each_reply_whole_in_the_order_given_then_the_table(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    stage.server.scenario = Scenario(answer="Plain \x1b[31mred\x1b[0m answer.")
    requests = stage.server.requests

    def fast_answered() -> bool:
        return any(r.model == "fast" and r.finished.is_set() for r in list(requests))

    stage.hold("slow", until=fast_answered, scenario=stage.server.scenario)
    code, out, err = ask(capsys, "-m", "openai:slow", "-m", "openai:fast", "hi")
    assert code == 0 and err == ""
    assert "\x1b" not in out
    slow, fast = out.split("\n\n══ openai:fast ══\n")
    assert slow.startswith("══ openai:slow ══\n── thinking ──\n")
    answer = safe_text("Plain \x1b[31mred\x1b[0m answer.")
    for block in (slow, fast):
        assert f"── answer ──\n{answer}\n── TTFT " in block
    fast, table = fast.split("\n\n")
    assert fast.splitlines()[-1].startswith("── TTFT ")
    header, first, second, legend = table.rstrip("\n").split("\n")
    assert header.split() == [
        "model",
        "finish",
        "TTFT",
        "first",
        "answer",
        "speed",
        "tokens",
        "cost",
    ]
    assert first.startswith("openai:slow  stop ") and second.startswith("openai:fast  stop ")
    assert len({len(header), len(first), len(second)}) == 1  # the columns line up
    ttft_column = slice(header.index("TTFT") - 4, header.index("TTFT") + 5)
    assert "*" in second[ttft_column] and "*" not in first[ttft_column]
    assert legend == "* the fastest first token, the fastest tokens/s"


def test_plain_says_each_error_under_its_model_and_exits_1(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    stage.scenarios["refused"] = Scenario.http_error(401)
    code, out, err = ask(capsys, "-m", "openai:good", "-m", "openai:refused", "hi")
    assert code == 1
    assert out.index("══ openai:good ══") < out.index("══ openai:refused ══\n── error · ")
    assert err.count("\n") == 1 and err.startswith("openai:refused: error: HTTP 401 from openai")
    assert API_KEY not in out + err
    rows = out.split("\n\n")[-1].splitlines()
    assert rows[2].startswith("openai:refused  error ")


def test_plain_names_the_same_model_twice_by_its_place(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    code, out, _ = ask(capsys, "-m", "openai:twin", "-m", "openai:twin", "hi")
    assert code == 0
    assert out.startswith("══ openai:twin #1 ══\n") and "\n══ openai:twin #2 ══\n" in out
    assert compare_labels(["a\x1b", "b", "a\x1b"]) == ["a␛ #1", "b", "a␛ #3"]


def test_one_model_is_asked_as_before(capsys: pytest.CaptureFixture[str], stage: Stage) -> None:
    """A single -m: no tags, no compare record, no table."""
    code, text, _ = ask(capsys, "--json", "-m", "openai:one", "hi")
    assert code == 0
    records = records_in(text)
    assert records[-1]["type"] == "done" and all("index" not in r for r in records)
    assert [r for r in records if "model" in r] == [records[-1]]
    code, out, _ = ask(capsys, "-m", "openai:one", "hi")
    assert code == 0 and "══" not in out and out.startswith("── thinking ──\n")


# ----------------------------------------------------------------------------- before sending


def test_a_missing_key_for_one_model_sends_nothing(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    code, out, err = ask(capsys, "--save", "-m", "openai:good", "-m", "anthropic:claude-x", "hi")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("chatterm: anthropic:claude-x: ") and "ANTHROPIC_API_KEY" in err
    assert stage.server.requests == []
    assert SessionStore().list() == []


# ----------------------------------------------------------------------------- sessions


def test_save_keeps_the_replies_as_alternatives_of_one_turn(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    models = ["openai:first", "openai:second", "openai:third"]
    for model in models:
        name = model.split(":")[1]
        stage.scenarios[name] = Scenario(answer=f"The {name} answer.")
    args = [arg for model in models for arg in ("-m", model)]
    code, text, err = ask(capsys, "--save", "--json", *args, "question")
    assert (code, err) == (0, "")
    records = records_in(text)
    session = only_session()
    done = {r["model"]: r for r in records if r["type"] == "done"}
    for place, model in enumerate(models, start=1):
        assert done[model]["session_id"] == session.id
        assert (done[model]["alternative"], done[model]["alternatives"]) == (place, 3)
    assert [turn.model for turn in session.tree] == models
    assert [turn.parent for turn in session.tree] == [None, None, None]
    assert [turn.prompt for turn in session.tree] == ["question"] * 3
    assert [turn.answer for turn in session.tree] == [
        "The first answer.",
        "The second answer.",
        "The third answer.",
    ]
    assert all(turn.finish_reason == "stop" for turn in session.tree)
    assert session.turns == [session.tree[0]] and session.places() == [(1, 3)]

    # Continued with two models: each gets the active path (the first model's answer).
    stage.scenarios.clear()
    code, out, err = ask(
        capsys, "--session", session.id, "-m", "openai:second", "-m", "openai:x", "next"
    )
    assert code == 0
    assert err == f"saved as session {session.id} (alternative 1 of 2 at turn 2)\n"
    sent = [r.json["messages"] for r in stage.server.requests[3:]]
    assert (
        sent[0]
        == sent[1]
        == [
            {"role": "user", "content": "question"},
            {"role": "assistant", "content": "The first answer."},
            {"role": "user", "content": "next"},
        ]
    )
    session = only_session()
    assert [turn.model for turn in session.turns] == ["openai:first", "openai:second"]
    assert [turn.parent for turn in session.tree[3:]] == [0, 0]
    assert session.places() == [(1, 3), (1, 2)]


def test_regenerate_with_several_models_adds_them_beside_the_old_reply(
    capsys: pytest.CaptureFixture[str], stage: Stage
) -> None:
    code, text, _ = ask(capsys, "--save", "--json", "-m", "openai:old", "question")
    session_id = records_in(text)[-1]["session_id"]
    code, text, _ = ask(
        capsys,
        "--session",
        session_id,
        "--regenerate",
        "--json",
        "-m",
        "openai:a",
        "-m",
        "openai:b",
    )
    assert code == 0
    done = [r for r in records_in(text) if r["type"] == "done"]
    assert sorted((r["alternative"], r["alternatives"]) for r in done) == [(2, 3), (3, 3)]
    session = only_session()
    assert [turn.model for turn in session.tree] == ["openai:old", "openai:a", "openai:b"]
    assert session.turns[-1].model == "openai:a" and session.places() == [(2, 3)]
    assert stage.server.requests[1].json["messages"] == [{"role": "user", "content": "question"}]


def test_ctrl_c_cancels_every_model_and_keeps_what_arrived(
    fake_server: FakeServer, isolated_home: Path
) -> None:
    """Both replies stall mid-answer; the session checkpoints both while they are quiet;
    Ctrl+C ends both as cancelled, each with what arrived, and ``ask`` exits 1."""
    base = Scenario()
    answer_events = 4
    fake_server.scenario = base.but(stall_after=1 + len(base.reasoning_pieces) + answer_events)
    models = ["openai:left", "openai:right"]
    args = [arg for model in models for arg in ("-m", model)]
    process = subprocess.Popen(
        [sys.executable, "-m", "chatterm", "ask", "--save", "--json", *args, "hi"],
        stdin=subprocess.DEVNULL,
        preexec_fn=default_sigint,  # Ctrl+C works however the suite was started
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ask_env(isolated_home, fake_server),
        cwd=isolated_home,
    )
    try:
        assert process.stdout is not None
        printed: dict[str, list[str]] = {model: [] for model in models}
        while any(len(texts) < answer_events for texts in printed.values()):
            line = process.stdout.readline()
            assert line, "chatterm ended early"
            record = json.loads(line)
            if record["type"] == "text":
                printed[record["model"]].append(record["text"])

        def both_checkpointed() -> bool:
            summaries = SessionStore().list()
            if not summaries:
                return False
            tree = SessionStore().load(summaries[0].id).tree
            answers = {turn.model: turn.answer for turn in tree if turn.in_progress}
            return answers == {model: "".join(texts) for model, texts in printed.items()}

        wait_until(both_checkpointed, what="both stalled replies checkpointed")
        process.send_signal(signal.SIGINT)
        rest, err = process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1
    assert b"Traceback" not in err
    tail = [json.loads(line) for line in rest.decode().splitlines()]
    done = {r["model"]: r for r in tail if r["type"] == "done"}
    assert tail[-1]["type"] == "compare"
    assert [r["finish_reason"] for r in tail[-1]["results"]] == ["cancelled", "cancelled"]
    session = only_session()
    for turn in session.tree:
        assert turn.finish_reason == "cancelled"
        assert turn.answer == done[turn.model]["text"] == "".join(printed[turn.model])
        assert done[turn.model]["session_id"] == session.id
    assert session.turns[-1].model == "openai:left"


# ----------------------------------------------------------------------------- stdout fails


class FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["plain", "json"])
def test_a_stdout_that_fails_still_saves_every_reply_whole(
    capsys: pytest.CaptureFixture[str], isolated_home: Path, mode: list[str]
) -> None:
    code, _, err = ask(
        capsys, "--save", *mode, "-m", "demo:fast", "-m", "demo:fast", "hi", out=FullDisk()
    )
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("chatterm: cannot write the reply to stdout: No space left on device")
    session = only_session()
    assert [turn.finish_reason for turn in session.tree] == ["stop", "stop"]
    assert session.tree[0].answer == session.tree[1].answer != ""


def test_a_stdout_that_fails_without_save_stops_every_reply(
    capsys: pytest.CaptureFixture[str], isolated_home: Path
) -> None:
    code, _, err = ask(capsys, "--json", "-m", "demo", "-m", "demo:fast", "hi", out=FullDisk())
    assert code == 1
    assert err == "chatterm: cannot write the reply to stdout: No space left on device\n"


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["plain", "json"])
def test_a_retry_is_said_at_once_naming_its_model(
    capsys: pytest.CaptureFixture[str], stage: Stage, mode: list[str]
) -> None:
    stage.scenarios["busy"] = Scenario.http_error(429, retry_after=0.01)
    args = ["--retries", "1", *mode, "-m", "openai:good", "-m", "openai:busy", "hi"]
    code, out, err = ask(capsys, *args)
    assert code == 1
    assert len([r for r in stage.server.requests if r.model == "busy"]) == 2
    if mode:
        [retry] = [r for r in records_in(out) if r["type"] == "retrying"]
        assert retry["model"] == "openai:busy" and retry["retry"] == 1
        assert err == ""
    else:
        first, second = err.splitlines()
        assert first.startswith("openai:busy: retrying in ") and first.endswith("(retry 1 of 1)")
        assert second.startswith("openai:busy: error: HTTP 429 from openai")
