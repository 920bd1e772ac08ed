"""The session document: titles, history, and what a malformed document is told."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from session_factory import full_session, full_turn

from chatterm.events import FinishReason, Message
from chatterm.sessions.document import session_from_data, session_to_data
from chatterm.sessions.model import (
    SCHEMA_VERSION,
    FutureSessionError,
    SessionFormatError,
    history_of,
    is_valid_id,
    new_session,
    new_session_id,
    title_from_prompt,
)


def test_a_title_is_the_first_line_with_text_collapsed() -> None:
    assert title_from_prompt("\n\n  Explain   the\tGIL  \nin detail") == "Explain the GIL"


def test_a_long_title_is_cut_at_a_word() -> None:
    title = title_from_prompt("word " * 40)
    assert title.endswith("…")
    assert len(title) <= 61
    assert "wor…" not in title


def test_an_empty_prompt_gives_a_placeholder_title() -> None:
    assert title_from_prompt("   \n ") == "untitled"


def test_ids_sort_by_creation_time_and_are_file_names() -> None:
    session_id = new_session_id()
    assert is_valid_id(session_id)
    assert len(session_id.split("-")) == 3
    for bad in ("", "../etc/passwd", "a/b", ".hidden", "x" * 81, "a b", f"{session_id}\n"):
        assert not is_valid_id(bad)


def test_history_sends_prompts_and_answers_but_not_reasoning_or_empty_answers() -> None:
    session = full_session(turns=2)
    session.turns[1].answer = ""
    assert session.history() == (
        Message("user", "question 0"),
        Message("assistant", "answer 0"),
        Message("user", "question 1"),
    )


def test_a_failed_reply_that_was_retried_is_not_sent_again() -> None:
    session = full_session(turns=3)
    session.turns[1].finish_reason = "cancelled"
    session.turns[1].answer = "half an"
    session.turns[2].prompt = session.turns[1].prompt  # the retry
    assert session.history() == (
        Message("user", "question 0"),
        Message("assistant", "answer 0"),
        Message("user", "question 1"),
        Message("assistant", "answer 2"),
    )
    # Not retried (another prompt followed), or the last turn: kept as it is.
    session.turns[2].prompt = "something else"
    assert Message("assistant", "half an") in session.history()
    assert session.history()[-2:] == (
        Message("user", "something else"),
        Message("assistant", "answer 2"),
    )
    assert history_of(session.turns[:2])[-1] == Message("assistant", "half an")


def test_models_are_listed_in_order_of_first_use() -> None:
    session = new_session()
    for model in ("openai:gpt-5-mini", "demo", "openai:gpt-5-mini"):
        session.turns.append(full_turn(model=model))
    assert session.models == ["openai:gpt-5-mini", "demo"]


def test_a_turn_saved_mid_stream_reads_as_interrupted() -> None:
    turn = full_turn()
    turn.finish_reason = None
    assert turn.in_progress
    assert turn.to_reply().finish_reason == "interrupted"
    data = session_to_data(_with(turn))
    assert data["turns"][0]["finish_reason"] == "streaming"
    assert session_from_data(data).turns[0].finish_reason is None


def _with(turn: Any) -> Any:
    session = new_session(session_id="20261121-100000-0000")
    session.turns.append(turn)
    return session


def test_the_document_has_no_nulls() -> None:
    session = full_session()
    session.turns[0].cost = None
    session.system = None

    def walk(value: object) -> None:
        assert value is not None
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(session_to_data(session))


def test_data_round_trip_is_exact() -> None:
    session = full_session(turns=3)
    assert session_from_data(session_to_data(session)) == session


def _broken(change: Any) -> dict[str, Any]:
    data = session_to_data(full_session())
    data = copy.deepcopy(data)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("chatterm_session"), "not a chatterm session"),
        (lambda d: d.update(chatterm_session="1"), "not a chatterm session"),
        (lambda d: d.update(chatterm_session=0), "unknown session version 0"),
        (lambda d: d.pop("id"), "has no 'id'"),
        (lambda d: d.update(id="../../x"), "not a valid session id"),
        (lambda d: d.update(turns={}), "turns must be a list"),
        (lambda d: (d["turns"].append(3), d["end"].update(turns=3)), "turns[2] must be a table"),
        (lambda d: d.pop("end"), "ends early"),
        (lambda d: d["end"].update(turns=1), "ends early"),
        (lambda d: d["turns"][0].pop("prompt"), "turns[0] has no 'prompt'"),
        (lambda d: d["turns"][0].update(finish_reason="done"), "finish_reason 'done' is unknown"),
        (lambda d: d["turns"][0]["usage"].update(output_tokens=-1), "output_tokens must be"),
        (lambda d: d["turns"][0]["usage"].update(estimated="no"), "estimated must be true"),
        (lambda d: d["turns"][0]["metrics"].update(ttft_ms="1"), "ttft_ms must be a number"),
        (lambda d: d["turns"][0]["cost"].update(source="guess"), "source 'guess' is unknown"),
        (lambda d: d["turns"][0]["timeline"].append([1, "answer"]), "timeline[3] must be"),
        (lambda d: d["turns"][0]["timeline"].append([1, "tool", "x"]), "timeline[3] must be"),
        (lambda d: d["turns"][0]["timeline"].append([True, "answer", "x"]), "timeline[3]"),
        (lambda d: d["turns"][1]["error"].pop("message"), "error has no 'message'"),
        (lambda d: d["turns"][0]["timeline"][0].__setitem__(0, float("nan")), "timeline[0]"),
        (lambda d: d["turns"][0]["timeline"][0].__setitem__(0, -5), "timeline[0]"),
        (lambda d: d["turns"][0]["metrics"].update(ttft_ms=float("inf")), "ttft_ms must be"),
        (lambda d: d["turns"][1]["error"].update(status=float("inf")), "status must be"),
        (lambda d: d["turns"][0]["usage"].update(input_tokens=10**400), "input_tokens must"),
        (lambda d: d["turns"][0]["cost"].update(usd=float("-inf")), "usd must be"),
        (lambda d: d["turns"][1].update(warnings=[1]), "warnings[0] must be text"),
    ],
)
def test_a_malformed_document_says_where(change: Any, message: str) -> None:
    with pytest.raises(SessionFormatError) as caught:
        session_from_data(_broken(change))
    assert message in str(caught.value)
    assert not isinstance(caught.value, FutureSessionError)


@pytest.mark.parametrize("document", [None, [], "text", 3])
def test_a_document_that_is_not_a_table(document: object) -> None:
    with pytest.raises(SessionFormatError, match="must be a table"):
        session_from_data(document)


def test_a_newer_version_is_refused_as_such() -> None:
    data = _broken(lambda d: d.update(chatterm_session=SCHEMA_VERSION + 1))
    with pytest.raises(FutureSessionError, match="newer chatterm.*upgrade"):
        session_from_data(data)


def test_unknown_keys_are_ignored_so_minor_additions_stay_readable() -> None:
    data = _broken(lambda d: d.update(tags=["x"]))
    assert session_from_data(data).title == "Arithmetic"


@pytest.mark.parametrize("finish", [None, "interrupted"])
def test_a_reply_that_never_ended_with_no_text_is_not_sent(finish: FinishReason | None) -> None:
    # `ask --session` in another process left its turn streaming (or it was killed) before
    # any text: its prompt would make two user messages in a row.
    session = full_session(turns=3)
    session.turns[1].finish_reason = finish
    session.turns[1].answer = ""
    session.turns[2].finish_reason = "stop"
    history = session.history()
    assert history == (
        Message("user", "question 0"),
        Message("assistant", "answer 0"),
        Message("user", "question 2"),
        Message("assistant", "answer 2"),
    )
    assert history_of(session.turns[:2]) == history[:2]
