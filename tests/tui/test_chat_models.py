"""Switching models mid-conversation (picker, favourites, previous, palette) and the
reasoning effort, through Pilot, against fake servers."""

from __future__ import annotations

import json
from typing import Any

import httpx
from textual.command import CommandPalette
from textual.widgets._toast import Toast
from tui_helpers import (
    SIZE,
    chat,
    finish_reply,
    palette_hits,
    rendered,
    routed_factory,
    send,
    sse_body,
    sse_response,
    type_text,
)

from chatterm.catalogue.discovery import discover
from chatterm.config import ProviderConfig, Settings
from chatterm.providers.demo import demo_answer
from chatterm.tui.app import ChatApp
from chatterm.tui.commands import ModelsAndThemes
from chatterm.tui.screens.model_picker import ModelPickerScreen
from tests.waiting import wait_for

OPENAI_ENV = {"OPENAI_API_KEY": "sk-test"}
LOCAL = ProviderConfig(name="local", base_url="http://127.0.0.1:9/v1")


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


class Recorder:
    """A fake Chat Completions server that keeps every request body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return sse_response(sse_body(answer=["Hi ", "there."]))


def picker(app: ChatApp) -> ModelPickerScreen:
    screen = app.screen
    assert isinstance(screen, ModelPickerScreen)
    return screen


async def test_picker_switches_mid_conversation_and_the_next_turn_has_everything() -> None:
    server = Recorder()
    settings = Settings(model_cycle=("demo:fast", "openai:test"))
    app = ChatApp(
        settings,
        "demo:fast",
        env=OPENAI_ENV,
        client_factory=routed_factory(server),
        discover_models=False,
    )
    async with app.run_test(size=SIZE) as pilot:
        await send(pilot, "one")
        await finish_reply(pilot)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
        screen = picker(app)
        # It opens on the current model, marked.
        assert screen.highlighted_ref() == "demo:fast"
        await wait_for(pilot, lambda: not screen.refreshing)  # prices looked up
        gpt = next(e for e in screen.entries if e.ref == "openai:gpt-5-mini")
        assert (gpt.input_per_mtok, gpt.output_per_mtok, gpt.reasoning) == (0.25, 2.0, True)
        table_text = rendered(screen.table)
        assert "openai:gpt-5-mini" in table_text and "0.25" in table_text
        await type_text(pilot, "opentest")
        await wait_for(pilot, lambda: screen.highlighted_ref() == "openai:test")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelPickerScreen))
        chat_screen = chat(app)
        assert chat_screen.sub_title == "model: openai:test"
        await send(pilot, "two")
        await finish_reply(pilot)
        first, second = chat_screen.turns
        assert rendered(first.query_one(".model-label")) == "demo:fast"
        assert rendered(second.query_one(".model-label")) == "openai:test"
        (body,) = server.bodies
        assert body["model"] == "test"
        assert [(m["role"], m["content"]) for m in body["messages"]] == [
            ("user", "one"),
            ("assistant", demo_answer("one")),
            ("user", "two"),
        ]
        session = chat_screen.keeper.session
        assert session is not None
        assert [turn.model for turn in session.turns] == ["demo:fast", "openai:test"]


async def test_picking_a_model_without_its_key_explains_and_keeps_the_model() -> None:
    app = ChatApp(Settings(), "demo", env={}, discover_models=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
        screen = picker(app)
        row = next(e for e in screen.entries if e.ref == "anthropic:claude-sonnet-4-5")
        assert row.key_problem and "ANTHROPIC_API_KEY" in row.key_problem
        await type_text(pilot, "claude-sonnet-4-5")
        await wait_for(pilot, lambda: screen.highlighted_ref() == "anthropic:claude-sonnet-4-5")
        assert "missing" in rendered(screen.table)
        assert "ANTHROPIC_API_KEY" in rendered(screen.query_one("#picker-status"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen  # still open: pick another or Esc
        assert any("ANTHROPIC_API_KEY" in text for text in toasts(app))
        await pilot.press("escape")
        await pilot.pause()
        assert chat(app).model_ref == "demo"


async def test_picker_lists_discovered_models_from_the_cache() -> None:
    async def ollama(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/tags"
        return httpx.Response(200, json={"models": [{"name": "qwen3:8b"}]})

    env = {"OLLAMA_HOST": "http://127.0.0.1:11434"}
    found = await discover(
        Settings(),
        env,
        client_factory=lambda: httpx.AsyncClient(transport=httpx.MockTransport(ollama)),
    )
    assert found.models == {"ollama": ("qwen3:8b",)}
    app = ChatApp(Settings(), "demo", env=env, discover_models=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPickerScreen))
        screen = picker(app)
        entry = next(e for e in screen.entries if e.ref == "ollama:qwen3:8b")
        assert entry.reasoning and entry.key_problem is None
        await wait_for(pilot, lambda: not screen.refreshing)
        assert "local" in rendered(screen.table)  # a model on this machine costs nothing


async def test_favourites_and_the_previous_model_key() -> None:
    server = Recorder()
    settings = Settings(
        model_cycle=("demo", "demo:fast", "openai:test"),
        favourites=("openai:test", "demo:fast"),
    )
    app = ChatApp(settings, "demo", env=OPENAI_ENV, client_factory=routed_factory(server))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await pilot.press("alt+1")
        assert screen.model_ref == "openai:test"
        await send(pilot, "hello")
        await finish_reply(pilot)
        assert server.bodies[-1]["model"] == "test"
        await pilot.press("alt+2")
        assert screen.model_ref == "demo:fast"
        await pilot.press("f2")  # previous in the cycle
        assert screen.model_ref == "demo"
        await pilot.press("f2")  # wraps round
        assert screen.model_ref == "openai:test"
        await pilot.press("alt+5")
        await pilot.pause()
        assert screen.model_ref == "openai:test"
        assert any("No favourite 5" in text and "favourites" in text for text in toasts(app))


async def test_palette_lists_actions_models_and_themes() -> None:
    settings = Settings(model_cycle=("demo", "openai:[b]odd[/b]"))
    app = ChatApp(settings, "demo", env=OPENAI_ENV, discover_models=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        titles = [command.title for command in app.get_system_commands(screen)]
        for title in ("Next model", "Models…", "Copy the last answer", "Export this chat"):
            assert any(t.startswith(title) for t in titles)
        assert "Cancel the reply" not in titles  # nothing is streaming
        assert "Reasoning effort: next level" not in titles  # the demo takes no effort
        provider = ModelsAndThemes(screen)
        await provider.startup()
        hits = [hit async for hit in provider.discover()]
        shown = [hit.text for hit in hits]
        assert "Model: openai:gpt-5-mini" in shown
        assert "Model: openai:[b]odd[/b]" in shown
        odd = next(hit for hit in hits if hit.text == "Model: openai:[b]odd[/b]")
        assert odd.display.plain == "Model: openai:[b]odd[/b]"  # data, not markup
        for theme in ("chatterm-dark", "chatterm-light", "chatterm-high-contrast", "chatterm-ansi"):
            assert f"Theme: {theme}" in shown
        # Through the palette itself: a theme, then a model.
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await type_text(pilot, "Theme: chatterm-light")
        await wait_for(pilot, lambda: palette_hits(app)[:1] == ["Theme: chatterm-light"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.theme == "chatterm-light")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await type_text(pilot, "Model: openai:gpt-5-mini")
        await wait_for(pilot, lambda: palette_hits(app)[:1] == ["Model: openai:gpt-5-mini"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: chat(app).model_ref == "openai:gpt-5-mini")


async def test_effort_cycles_only_on_models_that_take_it_and_reaches_the_request() -> None:
    server = Recorder()
    settings = Settings(
        model_cycle=("local:gpt-oss-20b", "local:llama-3"),
        providers={"local": LOCAL},
        reasoning_effort="medium",
    )
    app = ChatApp(settings, "local:gpt-oss-20b", env={}, client_factory=routed_factory(server))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        assert screen.sub_title == "model: local:gpt-oss-20b · effort medium"
        await pilot.press("f3")
        assert screen.sub_title == "model: local:gpt-oss-20b · effort high"
        await send(pilot, "think hard")
        await finish_reply(pilot)
        assert server.bodies[-1]["reasoning_effort"] == "high"
        await pilot.press("f3")  # off
        assert screen.effort == "off"
        await send(pilot, "do not think")
        await finish_reply(pilot)
        assert server.bodies[-1]["reasoning_effort"] == "low"  # gpt-oss's weakest
        # A model that takes no effort: the key is not offered and changes nothing.
        await pilot.press("ctrl+n")
        assert screen.sub_title == "model: local:llama-3"
        assert screen.check_action("cycle_effort", ()) is None
        await pilot.press("f3")
        assert screen.effort == "off"
        await send(pilot, "plain")
        await finish_reply(pilot)
        assert "reasoning_effort" not in server.bodies[-1]
        # The conversation carried over each time.
        assert len(server.bodies[-1]["messages"]) == 5
