"""``chatterm ask --session S --compact``: a model summarizes the session; the history sent
from then on is the summary and what follows, and the summarized turns stay in the file."""

from __future__ import annotations

import pytest

from chatterm.sessions.context import COMPACT_PROMPT
from chatterm.sessions.store import SessionStore
from tests.cli.test_cli_ask_sessions import MODEL, ask, done_of, server  # noqa: F401
from tests.cli.test_cli_branches import answers
from tests.fake_provider.server import FakeServer


def test_compact_then_the_summary_stands_for_the_turns_before_it(
    capsys: pytest.CaptureFixture[str],
    server: FakeServer,  # noqa: F811
) -> None:
    server.queue(*answers("First.", "Second.", "The summary.", "Third."))
    code, out, _ = ask(capsys, "--save", "--json", "-m", MODEL, "q1")
    session_id = done_of(out)["session_id"]
    assert ask(capsys, "--session", session_id, "q2")[0] == 0

    code, out, err = ask(capsys, "--session", session_id, "--compact", "--json")
    assert code == 0 and err == ""
    assert done_of(out)["text"] == "The summary."
    assert [m["content"] for m in server.requests[2].json["messages"]] == [
        "q1",
        "First.",
        "q2",
        "Second.",
        COMPACT_PROMPT,
    ]

    assert ask(capsys, "--session", session_id, "q3")[0] == 0
    assert server.requests[3].json["messages"] == [
        {"role": "user", "content": COMPACT_PROMPT},
        {"role": "assistant", "content": "The summary."},
        {"role": "user", "content": "q3"},
    ]
    session = SessionStore().load(session_id)
    assert [t.answer for t in session.turns] == ["First.", "Second.", "The summary.", "Third."]
    assert [t.compacts for t in session.turns] == [False, False, True, False]
    assert session.version == 4


@pytest.mark.parametrize(
    "args",
    [
        ("--compact",),
        ("--compact", "--save"),
        ("--session", "x", "--compact", "a prompt"),
        ("--session", "x", "--compact", "--regenerate"),
        ("--session", "x", "--compact", "-m", "demo", "-m", "demo:fast"),
    ],
)
def test_compact_usage_errors(capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    code, out, err = ask(capsys, *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--compact" in err
