"""Roles in the TUI, through Pilot against a recording fake server: the role list (Alt+O)
and the palette's ``Role: NAME`` entries start an empty chat with a role (its model and
effort too), and in a chat that has begun switch only the system prompt, from the next
turn on, said in a notification and recorded in the session."""

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

from chatterm.config import ProviderConfig, Role, Settings
from chatterm.sessions.store import SessionStore
from chatterm.tui.app import ChatApp
from chatterm.tui.commands import NO_ROLE_TITLE, Roles
from chatterm.tui.screens.role_picker import NO_ROLE, RolePickerScreen
from tests.waiting import settle, wait_for

LOCAL = ProviderConfig(name="local", base_url="http://127.0.0.1:9/v1")
REVIEWER = Role(
    "reviewer",
    "You review code. [b]Bugs[/b] first.",
    model="local:gpt-oss-20b",
    reasoning_effort="high",
)
POET = Role("poet", "Answer in verse.")


class Recorder:
    """A fake Chat Completions server that keeps every request body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return sse_response(sse_body(answer=["Hi ", "there."]))

    def systems(self) -> list[str | None]:
        """The system prompt each request carried (None: none)."""
        found: list[str | None] = []
        for body in self.bodies:
            system = [m["content"] for m in body["messages"] if m["role"] == "system"]
            found.append(system[0] if system else None)
        return found


def settings() -> Settings:
    return Settings(
        model_cycle=("local:llama-3", "local:gpt-oss-20b"),
        providers={"local": LOCAL},
        system_prompt="Be brief.",
        reasoning_effort="medium",
        roles={"reviewer": REVIEWER, "poet": POET},
    )


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


def picker(app: ChatApp) -> RolePickerScreen:
    screen = app.screen
    assert isinstance(screen, RolePickerScreen)
    return screen


async def test_the_role_list_starts_an_empty_chat_with_the_role_its_model_and_effort() -> None:
    server = Recorder()
    app = ChatApp(settings(), "local:llama-3", env={}, client_factory=routed_factory(server))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        assert "Alt+O picks a role" in " ".join(rendered(screen.query_one("#welcome")).split())
        await pilot.press("alt+o")
        await wait_for(pilot, lambda: isinstance(app.screen, RolePickerScreen))
        roles = picker(app)
        # No role first, marked: the chat sends the config's system prompt.
        assert roles.highlighted_key() == NO_ROLE
        table = rendered(roles.table)
        for name in ("reviewer", "poet", "explainer", "shell", "commit"):
            assert name in table
        assert "[b]Bugs[/b]" in table  # config text is data, not markup
        assert "local:gpt-oss-20b" in table and "high" in table
        await type_text(pilot, "revi")
        await wait_for(pilot, lambda: roles.highlighted_key() == "reviewer")
        status = rendered(roles.query_one("#roles-status"))
        assert "reviewer (config.toml): You review code." in " ".join(status.split())
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, RolePickerScreen))

        assert screen.model_ref == "local:gpt-oss-20b"
        assert screen.effort == "high"
        assert screen.sub_title == "model: local:gpt-oss-20b · effort high"
        assert any(
            "Role reviewer: this chat starts with its system prompt" in text for text in toasts(app)
        )
        await send(pilot, "look at this")
        await finish_reply(pilot)
        await send(pilot, "and this")
        await finish_reply(pilot)
        assert server.systems() == [REVIEWER.system, REVIEWER.system]
        assert server.bodies[0]["model"] == "gpt-oss-20b"
        assert server.bodies[0]["reasoning_effort"] == "high"
        session = screen.keeper.session
        assert session is not None
        assert session.system == REVIEWER.system  # the session's own: no turn holds one
        assert [turn.system for turn in session.turns] == [None, None]

        # The list opens on the role in force.
        await pilot.press("alt+o")
        await wait_for(pilot, lambda: isinstance(app.screen, RolePickerScreen))
        assert picker(app).highlighted_key() == "reviewer"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RolePickerScreen))
        assert screen.keeper.system == REVIEWER.system  # closed: nothing changed


async def test_a_role_chosen_mid_chat_switches_the_system_prompt_from_the_next_turn() -> None:
    server = Recorder()
    app = ChatApp(settings(), "local:llama-3", env={}, client_factory=routed_factory(server))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await send(pilot, "one")
        await finish_reply(pilot)
        await pilot.press("alt+o")
        await wait_for(pilot, lambda: isinstance(app.screen, RolePickerScreen))
        await type_text(pilot, "poet")
        await wait_for(pilot, lambda: picker(app).highlighted_key() == "poet")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, RolePickerScreen))
        assert any(
            "Role poet: its system prompt from the next turn on (recorded in the chat)" in text
            for text in toasts(app)
        )
        assert screen.model_ref == "local:llama-3"  # the model stays
        await send(pilot, "two")
        await finish_reply(pilot)
        assert server.systems() == ["Be brief.", "Answer in verse."]
        # The whole conversation goes with it.
        assert [m["content"] for m in server.bodies[1]["messages"][1:]] == [
            "one",
            "Hi there.",
            "two",
        ]
        session = screen.keeper.session
        assert session is not None
        assert [turn.system for turn in session.turns] == [None, "Answer in verse."]
        screen.keeper.writer.wait()
        saved = SessionStore().load(session.id)
        assert saved.version == 5
        assert saved.system_switches() == {1: "Answer in verse."}


async def test_palette_entries_start_or_switch_a_role() -> None:
    server = Recorder()
    app = ChatApp(settings(), "local:llama-3", env={}, client_factory=routed_factory(server))
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        provider = Roles(screen)
        shown = {hit.text: hit async for hit in provider.discover()}
        for name in ("reviewer", "poet", "explainer", "shell", "commit"):
            assert f"Role: {name}" in shown
        assert NO_ROLE_TITLE in shown
        reviewer = shown["Role: reviewer"]
        assert reviewer.help is not None
        assert "starts this chat with it" in reviewer.help and "model local:gpt-oss-20b" in (
            reviewer.help
        )
        titles = [command.title for command in app.get_system_commands(screen)]
        assert "Roles…" in titles

        # Through the palette: an empty chat starts with the shell role (its effort: low).
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await type_text(pilot, "Role: shell")
        await wait_for(pilot, lambda: palette_hits(app)[:1] == ["Role: shell"])
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: screen.keeper.system is not None and "shell" in (screen.keeper.system)
        )
        assert screen.effort == "low"
        assert screen.model_ref == "local:llama-3"  # the shell role names no model
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await send(pilot, "list files")
        await finish_reply(pilot)

        # Then no role: the config's system prompt from the next turn on.
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await type_text(pilot, "Role: none")
        await wait_for(pilot, lambda: palette_hits(app)[:1] == [NO_ROLE_TITLE])
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.keeper.system == "Be brief.")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        await send(pilot, "more")
        await finish_reply(pilot)
        shell, brief = server.systems()
        assert shell is not None and shell.startswith("You turn requests into shell commands")
        assert brief == "Be brief."
        session = screen.keeper.session
        assert session is not None
        assert [session.system_of(turn) for turn in session.turns] == [shell, "Be brief."]


async def test_a_new_chat_goes_back_to_the_configs_system_prompt() -> None:
    app = ChatApp(settings(), "demo", env={}, discover_models=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        screen.use_role("poet")
        await send(pilot, "a poem")
        await finish_reply(pilot)
        assert screen.keeper.system == "Answer in verse."
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert screen.keeper.system == "Be brief."


async def test_the_role_filter_finds_words_of_the_system_prompt() -> None:
    app = ChatApp(settings(), "demo", env={}, discover_models=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("alt+o")
        await wait_for(pilot, lambda: isinstance(app.screen, RolePickerScreen))
        roles = picker(app)
        await type_text(pilot, "verse")
        await wait_for(pilot, lambda: roles.table.row_count == 1)
        assert roles.highlighted_key() == "poet"
        await type_text(pilot, "zzzz")
        await wait_for(pilot, lambda: roles.table.row_count == 0)
        assert "No role matches" in rendered(roles.query_one("#roles-status"))
        await pilot.press("enter")  # nothing to take: the list stays
        await settle(pilot)
        assert isinstance(app.screen, RolePickerScreen)
