"""The context meter in the TUI, against the fake server: the stats bar shows the active
path's size against the model's window after each reply, turns to the warning colour past
``context_warning`` (saying so once), follows a model switch, and a prompt that would not
fit is not sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tui_helpers import chat, rendered, send

from chatterm.config import ModelConfig, Settings
from chatterm.tui.app import ChatApp
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer
from tests.waiting import wait_for

MODEL = "openai:gpt-test"
SMALL = "openai:gpt-small"


@pytest.fixture
def env(fake_server: FakeServer, isolated_home: Any) -> dict[str, str]:
    return {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": fake_server.base_url + "/v1"}


def make_app(env: dict[str, str], **settings: Any) -> ChatApp:
    windows = {MODEL: ModelConfig(context_window=1000), SMALL: ModelConfig(context_window=100)}
    config = Settings(model_cycle=(MODEL, SMALL), model_settings=windows, **settings)
    return ChatApp(config, MODEL, env=env, discover_models=False)


def meter(app: ChatApp) -> str:
    return rendered(chat(app).stats.query_one("#stats-context"))


async def test_the_meter_counts_the_reported_input_and_the_answer(
    env: dict[str, str], fake_server: FakeServer
) -> None:
    app = make_app(env)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: meter(app) == "0 / 1k · 0%", what="the empty meter")
        await send(pilot, "hello")
        await pilot.app.workers.wait_for_complete()
        screen = chat(app)
        session = app.keeper.session
        assert session is not None
        usage = session.turns[-1].usage
        assert usage.input_tokens > 0 and not usage.estimated
        expected = usage.input_tokens + usage.output_tokens - usage.reasoning_tokens
        await wait_for(pilot, lambda: meter(app).startswith(f"{expected} / 1k"), what="meter")
        assert not screen.stats.query_one("#stats-context").has_class("-warning")

        await pilot.press("ctrl+n")  # the small model: the same conversation, a 100-token window
        await wait_for(pilot, lambda: "/ 100 ·" in meter(app), what="the new window")
        assert screen.stats.query_one("#stats-context").has_class("-warning")
        notes = [n.message for n in app._notifications]
        assert any("context" in note and "gpt-small" in note for note in notes)

        before = len(fake_server.requests)
        await send(pilot, "and then?")
        await pilot.pause()
        assert len(fake_server.requests) == before  # not sent
        assert any(
            n.message.startswith("Not sent: this request needs about") for n in app._notifications
        )
        assert screen.prompt.text == "and then?"  # the prompt is kept to send elsewhere


async def test_a_summary_replaces_the_turns_before_it_in_what_is_sent(
    env: dict[str, str], fake_server: FakeServer
) -> None:
    from chatterm.sessions.context import COMPACT_PROMPT
    from chatterm.sessions.store import SessionStore
    from chatterm.tui.screens.model_picker import ModelPickerScreen

    app = make_app(env)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        screen = chat(app)
        for prompt in ("first", "second"):
            await send(pilot, prompt)
            await pilot.app.workers.wait_for_complete()
        await pilot.press("alt+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
        await pilot.press("enter")  # the current model writes it
        await wait_for(pilot, lambda: len(fake_server.requests) == 3, what="the summary request")
        await pilot.app.workers.wait_for_complete()
        summary_request = json.loads(fake_server.requests[-1].body)["messages"]
        assert [m["content"] for m in summary_request if m["role"] == "user"] == [
            "first",
            "second",
            COMPACT_PROMPT,
        ]
        session = app.keeper.session
        assert session is not None and session.turns[-1].compacts
        summary = session.turns[-1].answer
        await wait_for(
            pilot, lambda: len(screen.turns) == 3 and screen.turns[0].has_class("-compacted")
        )
        assert screen.turns[1].has_class("-compacted") and not screen.turns[2].has_class(
            "-compacted"
        )
        assert "summary" in rendered(screen.turns[2].query_one(".model-label"))

        await send(pilot, "third")
        await pilot.app.workers.wait_for_complete()
        sent = json.loads(fake_server.requests[-1].body)["messages"]
        assert [(m["role"], m["content"]) for m in sent if m["role"] != "system"] == [
            ("user", COMPACT_PROMPT),
            ("assistant", summary),
            ("user", "third"),
        ]
        saved = SessionStore().load(session.id)
        assert saved.version == 4 and [t.compacts for t in saved.turns] == [
            False,
            False,
            True,
            False,
        ]
