"""Comparing models in the TUI, against the fake server on 127.0.0.1: the models are chosen
in the compare list, one prompt streams to all of them at once into side-by-side columns
(each over its own provider's wire format), a failing one ends in its own column, one
column or all can be cancelled, a line ranks them, and the reply kept becomes the turn
with the others as its alternatives, on screen and in the session file.

Concurrency is proven by order, never by the clock: a model is held by the server before
its reply until another model's column has ended.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import chat, rendered, send, type_text

from chatterm.config import Settings
from chatterm.sessions.store import SessionStore
from chatterm.tui.app import ChatApp
from chatterm.tui.screens.chat import ChatScreen
from chatterm.tui.screens.model_picker import CompareModelsScreen
from chatterm.tui.widgets.compare import CompareView
from tests.cli.test_cli_compare import Stage
from tests.fake_provider.fixtures import API_KEY
from tests.fake_provider.server import FakeServer, Scenario
from tests.waiting import wait_for

OPENAI = "openai:gpt-test"
OTHER = "openai:gpt-other"
ANTHROPIC = "anthropic:claude-test"


@pytest.fixture
def env(fake_server: FakeServer, isolated_home: Any) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_BASE_URL": fake_server.base_url + "/v1",
        "ANTHROPIC_API_KEY": API_KEY,
        "ANTHROPIC_BASE_URL": fake_server.base_url,
    }


@pytest.fixture
def stage(fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Stage:
    return Stage(fake_server, monkeypatch)


def make_app(env: dict[str, str], size: tuple[int, int] = (160, 50)) -> tuple[ChatApp, Any]:
    settings = Settings(model_cycle=(OPENAI, OTHER, ANTHROPIC))
    app = ChatApp(settings, OPENAI, env=env, discover_models=False)
    return app, app.run_test(size=size, notifications=True)


async def choose(pilot: Pilot[Any], *models: str) -> None:
    """Alt+C, then Space on each model (the current one starts chosen), then Enter."""
    await pilot.press("alt+c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareModelsScreen))
    picker = pilot.app.screen
    assert isinstance(picker, CompareModelsScreen)
    for model in models:
        if model in picker.chosen:
            continue
        picker.filter_input.value = ""
        await type_text(pilot, model.split(":", 1)[1])
        await wait_for(pilot, lambda model=model: picker.highlighted_ref() == model)
        await pilot.press("space")
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ChatScreen), what="compare set")


def column_ended(screen: ChatScreen, position: int) -> bool:
    comparison = screen.comparison
    return comparison is not None and comparison.replies[position].ended


def view_of(app: ChatApp) -> CompareView:
    return chat(app).conversation.query_one(CompareView)


async def all_ended(pilot: Pilot[Any]) -> None:
    screen = chat(pilot.app)  # type: ignore[arg-type]
    await wait_for(
        pilot,
        lambda: screen.comparison is not None and not screen.comparison.streaming,
        what="every column ended",
    )
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_three_models_stream_at_once_and_the_kept_reply_carries_on(
    env: dict[str, str], stage: Stage, fake_server: FakeServer
) -> None:
    app, running = make_app(env)
    async with running as pilot:
        screen = chat(app)

        def ended(position: int) -> bool:
            """Column ``position`` has ended (or the comparison was kept: a later turn)."""
            comparison = screen.comparison
            return comparison is None or comparison.replies[position].ended

        # The Anthropic reply waits for the first OpenAI one to end, which waits for nothing;
        # the second OpenAI model waits for the Anthropic one: only streams that run at once
        # can end in this order.
        stage.hold("claude-test", lambda: ended(0), Scenario(answer="From Claude."))
        stage.hold("gpt-other", lambda: ended(1), Scenario(answer="From the other."))
        stage.scenarios["gpt-test"] = Scenario(answer="From GPT.")
        await choose(pilot, OPENAI, ANTHROPIC, OTHER)
        assert "compare" in str(screen.prompt.border_title)
        await send(pilot, "Which is best?")
        await all_ended(pilot)

        view = view_of(app)
        assert [column.model for column in view.columns] == [OPENAI, ANTHROPIC, OTHER]
        texts = [column.reply.text if column.reply else "" for column in view.columns]
        assert texts == ["From GPT.", "From Claude.", "From the other."]
        ranking = rendered(view.ranking)
        assert "first token:" in ranking and "fastest:" in ranking
        # Each provider got the prompt in its own format.
        paths = sorted(record.path for record in fake_server.requests)
        assert paths == ["/v1/chat/completions", "/v1/chat/completions", "/v1/messages"]

        session = app.keeper.session
        assert session is not None
        assert [turn.answer for turn in session.tree] == texts
        assert session.alternatives(0) == [0, 1, 2]

        await pilot.press("alt+right")  # choose Claude's column
        assert view.chosen == 1 and session.turns[-1].answer == "From Claude."
        await pilot.press("alt+k")
        await wait_for(pilot, lambda: not screen.conversation.query(CompareView))
        [turn] = screen.turns
        assert turn.reply is not None and turn.reply.text == "From Claude."
        assert "◀ 2/3 ▶" in rendered(turn.query_one(".model-label"))
        assert screen.model_ref == ANTHROPIC  # the chat goes on with the model kept

        await send(pilot, "And then?")
        await wait_for(pilot, lambda: len(fake_server.requests) == 4)
        await pilot.app.workers.wait_for_complete()
        sent = json.loads(fake_server.requests[-1].body)["messages"]
        assert [m["content"] for m in sent][:2] == ["Which is best?", "From Claude."]

        saved = SessionStore().load(session.id)
        assert [turn.answer for turn in saved.turns][0] == "From Claude."
        assert len(saved.tree) == 4


async def test_a_failing_model_shows_its_error_in_its_column_while_the_others_go_on(
    env: dict[str, str], stage: Stage
) -> None:
    app, running = make_app(env)
    async with running as pilot:
        screen = chat(app)
        stage.scenarios["claude-test"] = Scenario(status=401)
        stage.hold("gpt-other", lambda: column_ended(screen, 1))
        await choose(pilot, OPENAI, ANTHROPIC, OTHER)
        await send(pilot, "hello")
        await all_ended(pilot)
        view = view_of(app)
        failed = view.columns[1].reply
        assert failed is not None and failed.finish_reason == "error"
        assert failed.error is not None and failed.error.status == 401
        assert "401" in rendered(view.columns[1])
        assert API_KEY not in rendered(view)
        for column in (view.columns[0], view.columns[2]):
            assert column.reply is not None and column.reply.finish_reason == "stop"
            assert column.reply.text


async def test_one_column_is_cancelled_and_the_others_finish(
    env: dict[str, str], stage: Stage
) -> None:
    app, running = make_app(env)
    async with running as pilot:
        screen = chat(app)
        released = False
        stage.hold("claude-test", lambda: released)
        await choose(pilot, OPENAI, ANTHROPIC)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: column_ended(screen, 0))
        await pilot.press("alt+right")
        await pilot.press("alt+x")  # the held Anthropic reply, not the other
        await all_ended(pilot)
        released = True
        view = view_of(app)
        assert [c.reply.finish_reason if c.reply else None for c in view.columns] == [
            "stop",
            "cancelled",
        ]


async def test_esc_cancels_every_column_and_keeps_what_came(
    env: dict[str, str], stage: Stage
) -> None:
    app, running = make_app(env)
    async with running as pilot:
        screen = chat(app)
        released = False
        stage.hold("claude-test", lambda: released)
        stage.hold("gpt-test", lambda: released)
        await choose(pilot, OPENAI, ANTHROPIC)
        await send(pilot, "hello")
        await wait_for(pilot, lambda: screen.comparison is not None)
        await pilot.press("escape")
        await all_ended(pilot)
        released = True
        view = view_of(app)
        assert [c.reply.finish_reason if c.reply else None for c in view.columns] == [
            "cancelled",
            "cancelled",
        ]
        session = app.keeper.session
        assert session is not None
        saved = SessionStore().load(session.id)
        assert [turn.finish_reason for turn in saved.tree] == ["cancelled", "cancelled"]


async def test_columns_stack_in_a_narrow_terminal(env: dict[str, str]) -> None:
    app, running = make_app(env, size=(80, 40))
    async with running as pilot:
        await choose(pilot, OPENAI, OTHER)
        await send(pilot, "hello")
        await all_ended(pilot)
        view = view_of(app)
        assert view.has_class("-stacked")
        first, second = view.columns
        assert second.region.y > first.region.y and second.region.x == first.region.x


async def test_ctrl_r_folds_the_reasoning_of_every_column(env: dict[str, str]) -> None:
    app, running = make_app(env)
    async with running as pilot:
        await choose(pilot, OPENAI, OTHER)
        await send(pilot, "hello")
        await all_ended(pilot)
        columns = view_of(app).columns
        reasoning = [column.reasoning.text for column in columns]
        assert all(reasoning) and all(
            text[:20] in rendered(column) for column, text in zip(columns, reasoning, strict=True)
        )
        await pilot.press("ctrl+r")
        await pilot.pause()
        for column, text in zip(columns, reasoning, strict=True):
            shown = rendered(column)
            assert column.reasoning_collapsed and "▸ Reasoning" in shown
            assert text[:20] not in shown and column.model in shown


async def test_compare_needs_two_models_and_esc_leaves_it(env: dict[str, str]) -> None:
    app, running = make_app(env)
    async with running as pilot:
        screen = chat(app)
        await pilot.press("alt+c")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareModelsScreen))
        await pilot.press("enter")  # only the current model is chosen
        assert isinstance(app.screen, CompareModelsScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.compare_models is None
        await choose(pilot, OPENAI, OTHER)
        assert screen.compare_models == (OPENAI, OTHER)
        await pilot.press("escape")
        assert screen.compare_models is None and screen.prompt.border_title is None


async def test_choices_setting_asks_for_n_in_one_request_one_column_each(
    env: dict[str, str], fake_server: FakeServer
) -> None:
    settings = Settings(model_cycle=(OPENAI, ANTHROPIC), choices=3)
    app = ChatApp(settings, OPENAI, env=env, discover_models=False)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        screen = chat(app)
        await send(pilot, "Name a colour")
        await all_ended(pilot)
        [request] = fake_server.requests
        assert json.loads(request.body)["n"] == 3
        view = view_of(app)
        assert [column.model for column in view.columns] == [
            f"{OPENAI} · choice {number}" for number in (1, 2, 3)
        ]
        replies = [column.reply for column in view.columns]
        assert all(reply is not None and reply.finish_reason == "stop" for reply in replies)
        texts = {reply.text for reply in replies if reply is not None}
        assert len(texts) == 3  # each choice its own answer
        session = app.keeper.session
        assert session is not None and session.alternatives(0) == [0, 1, 2]
        # The request is paid once: the first choice carries its cost.
        assert [turn.cost.source if turn.cost else None for turn in session.tree][1:] == [
            "shared",
            "shared",
        ]
        await pilot.press("alt+right", "alt+right")
        await pilot.press("alt+k")
        await wait_for(pilot, lambda: not screen.conversation.query(CompareView))
        [turn] = screen.turns
        assert turn.reply is not None and turn.reply.text == replies[2].text  # type: ignore[union-attr]


async def test_choices_on_a_model_without_n_say_so_and_give_one_reply(
    env: dict[str, str], fake_server: FakeServer
) -> None:
    settings = Settings(model_cycle=(ANTHROPIC,), choices=2)
    app = ChatApp(settings, ANTHROPIC, env=env, discover_models=False)
    async with app.run_test(size=(160, 50), notifications=True) as pilot:
        screen = chat(app)
        await send(pilot, "hello")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert not screen.conversation.query(CompareView)
        assert [turn.reply.finish_reason if turn.reply else None for turn in screen.turns] == [
            "stop"
        ]
        notes = [notification.message for notification in app._notifications]
        assert any("cannot give several choices" in note for note in notes)
        assert "n" not in json.loads(fake_server.requests[-1].body)


async def test_replay_plays_a_compared_turn_side_by_side(env: dict[str, str]) -> None:
    from chatterm.tui.screens.replay import ReplayScreen

    app, running = make_app(env)
    async with running as pilot:
        await choose(pilot, OPENAI, ANTHROPIC)
        await send(pilot, "hello")
        await all_ended(pilot)
        live = [column.reply.text if column.reply else "" for column in view_of(app).columns]
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        await wait_for(pilot, lambda: replay.done, what="the replay's end")
        view = replay.conversation.query_one(CompareView)
        assert [column.model for column in view.columns] == [OPENAI, ANTHROPIC]
        assert [column.reply.text if column.reply else "" for column in view.columns] == live
        assert view.chosen == 0 and "first token:" in rendered(view.ranking)
