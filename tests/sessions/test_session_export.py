"""Exports: Markdown for people, the session document itself for programs."""

from __future__ import annotations

import pytest
from session_factory import full_session

from chatterm.sessions.codec import decode
from chatterm.sessions.export import export_session, to_markdown


def test_markdown_has_prompts_replies_reasoning_and_stats() -> None:
    session = full_session(turns=2)
    text = to_markdown(session)
    assert text.startswith("# Arithmetic\n")
    assert "2 turns" in text and "models `demo`" in text
    assert "**System prompt**\n\n> Be brief." in text
    assert text.count("## You") == 2
    assert "question 0\n\n## demo\n\n<details>\n<summary>Reasoning</summary>\n\n" in text
    assert "Adding two and two.\n\n</details>\n\nanswer 0\n\n*TTFT 120ms · answer 300ms" in text
    assert "> **error:** HTTP 529 from anthropic: overloaded" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_reasoning_cannot_close_the_details_block() -> None:
    session = full_session(turns=1)
    session.turns[0].reasoning = "sneaky </details> and </DETAILS >"
    text = to_markdown(session)
    assert text.count("</details>") == 1
    assert "sneaky &lt;/details> and &lt;/details>" in text


def test_markdown_makes_control_characters_visible() -> None:
    session = full_session(turns=1)
    session.title = "title \x1b]0;owned\x07"
    session.turns[0].answer = "red \x1b[31m text"
    text = to_markdown(session)
    assert "\x1b" not in text and "\x07" not in text
    assert "red ␛[31m text" in text


def test_a_session_without_turns_or_title() -> None:
    session = full_session(turns=1)
    session.turns.clear()
    session.title = ""
    session.system = None
    text = to_markdown(session)
    assert text.startswith("# Untitled chat\n")
    assert "0 turns" in text and "models none" in text


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_document_exports_read_back_as_the_session(fmt: str) -> None:
    session = full_session()
    assert decode(export_session(session, fmt), fmt) == session  # type: ignore[arg-type]


def test_an_open_fence_or_comment_cannot_swallow_the_rest() -> None:
    session = full_session(turns=2)
    session.turns[0].answer = "look:\n```python\nprint('never closed')"
    session.turns[0].prompt = "hidden? <!-- oops"
    session.turns[1].reasoning = "~~~~\nthinking in a fence"
    text = to_markdown(session)
    assert "print('never closed')\n```\n\n*TTFT" in text
    assert "hidden? <!-- oops -->" in text
    assert "thinking in a fence\n~~~~\n\n</details>" in text
    assert text.count("## You") == 2


def test_closed_fences_are_left_alone() -> None:
    session = full_session(turns=1)
    session.turns[0].answer = "```\ncode\n```\nafter\n````md\n```\ninner\n```\n````"
    assert session.turns[0].answer + "\n\n*error · TTFT" in to_markdown(session)


def test_one_turn_is_not_plural() -> None:
    assert "· 1 turn ·" in to_markdown(full_session(turns=1))
