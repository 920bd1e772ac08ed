"""``[keys]`` remaps bindings by id; unknown ids and clashes are reported once."""

from __future__ import annotations

from textual.widgets._toast import Toast
from tui_helpers import SIZE, chat, rendered

from chatterm.config import Settings, parse_settings
from chatterm.tui.app import ChatApp
from chatterm.tui.bindings import ALL_BINDINGS, CHAT_BINDINGS, binding_ids
from chatterm.tui.keymap import checked_keymap
from tests.waiting import wait_for

CYCLE = ("demo", "demo:fast")


def toasts(app: ChatApp) -> list[str]:
    return [toast.render().plain for toast in app.screen.query(Toast)]


def test_every_binding_has_a_unique_id_and_a_description() -> None:
    for binding in ALL_BINDINGS:
        assert binding.id and binding.description and binding.tooltip, binding
    chat_ids = [binding.id for binding in CHAT_BINDINGS]
    assert len(chat_ids) == len(set(chat_ids))
    chat_keys = [key for binding in CHAT_BINDINGS for key in binding.key.split(",")]
    assert len(chat_keys) == len(set(chat_keys))  # no two chat actions share a key


def test_chat_keys_leave_the_prompts_editing_keys_alone() -> None:
    from textual.widgets import TextArea

    editing = {key for b in TextArea.BINDINGS for key in b.key.split(",")}  # type: ignore[union-attr]
    # Keys terminals or multiplexers take for themselves, or send as other keys.
    swallowed = {"ctrl+s", "ctrl+z", "ctrl+c", "ctrl+b", "ctrl+m", "ctrl+i", "ctrl+h"}
    swallowed |= {"f1", "f10", "f11"}
    for binding in CHAT_BINDINGS:
        for key in binding.key.split(","):
            assert key not in editing | swallowed, (binding.id, key)


def test_checked_keymap_keeps_known_ids_and_names_the_unknown() -> None:
    keymap, problems = checked_keymap({"chat.next_model": "f10", "chat.nope": "f7"})
    assert keymap == {"chat.next_model": "f10"}
    (problem,) = problems
    assert "'chat.nope'" in problem
    assert "chat.next_model" in problem and "\n" not in problem  # one line, with the ids
    assert checked_keymap({"app.quit": "f10"}) == ({"app.quit": "f10"}, [])
    assert "app.command_palette" in binding_ids()


def test_checked_keymap_finds_clashes_and_the_prompts_keys() -> None:
    _, problems = checked_keymap({"chat.copy_answer": "ctrl+n"})
    (problem,) = problems
    assert "ctrl+n is bound to chat.next_model and chat.copy_answer on the chat screen" in problem
    # A key already taken on the same screen clashes; on another screen it does not.
    _, problems = checked_keymap({"chat.replay": "f2", "sessions.rename": "f6"})
    assert problems == [
        "[keys] in config.toml: f2 is bound to chat.replay and chat.previous_model on the "
        "chat screen; only one of them works"
    ]
    # Swapping two actions' keys is no clash.
    assert checked_keymap({"chat.next_model": "f2", "chat.previous_model": "ctrl+n"})[1] == []
    _, problems = checked_keymap({"chat.export": "ctrl+e"})
    assert problems == [
        "[keys] in config.toml: ctrl+e (for chat.export) edits the prompt, which takes it "
        "first; choose another key"
    ]


def test_config_keys_reach_the_settings() -> None:
    settings = parse_settings({"keys": {"chat.next_model": " ctrl+g , f6 "}})
    assert settings.keys == {"chat.next_model": "ctrl+g , f6"}


async def test_a_remapped_key_triggers_the_action_and_the_old_one_does_not() -> None:
    settings = Settings(model_cycle=CYCLE, keys={"chat.next_model": "ctrl+f"})
    app = ChatApp(settings, "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.model_ref == "demo"
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert screen.model_ref == "demo:fast"
        assert "ctrl+f" in app.screen.active_bindings
        welcome = " ".join(rendered(screen.query_one("#welcome")).split())
        assert "Ctrl+F switches model" in welcome
        assert not any("keys" in text for text in toasts(app))


async def test_a_remapped_cancel_key_is_the_one_the_screen_names() -> None:
    app = ChatApp(Settings(keys={"chat.cancel": "f10"}), "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = chat(app)
        await pilot.press("h", "i", "enter")
        await wait_for(pilot, lambda: "cancels" in rendered(screen.stats))
        assert "F10 cancels" in rendered(screen.stats)
        await pilot.press("ctrl+l")  # a new chat must wait for the reply
        await wait_for(pilot, lambda: any("F10 cancels it" in text for text in toasts(app)))
        await pilot.press("f10")  # while the (paced) demo reply is far from its end
        await pilot.app.workers.wait_for_complete()
        assert screen.live is None
        reply = screen.turns[-1].reply
        assert reply is not None and reply.finish_reason == "cancelled"
        assert not any("[keys]" in text for text in toasts(app))  # f10 is free to take


async def test_the_prompt_keys_and_the_palette_can_be_remapped() -> None:
    keys = {"prompt.send": "ctrl+g", "app.command_palette": "f6"}
    app = ChatApp(Settings(keys=keys), "demo:fast", env={})
    async with app.run_test(size=SIZE) as pilot:
        screen = chat(app)
        await pilot.press("h", "i", "enter")
        await pilot.pause()
        assert screen.turns == [] and screen.prompt.text.startswith("hi")
        await pilot.press("ctrl+g")
        await pilot.app.workers.wait_for_complete()
        assert len(screen.turns) == 1
        assert app.COMMAND_PALETTE_BINDING == "f6"


async def test_an_unknown_id_is_reported_once_and_ignored() -> None:
    settings = Settings(model_cycle=CYCLE, keys={"chat.nope": "ctrl+g", "chat.replay": "f6"})
    app = ChatApp(settings, "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("ctrl+n", "ctrl+g", "ctrl+n")
        await pilot.pause()
        reports = [text for text in toasts(app) if "chat.nope" in text]
        assert len(reports) == 1
        assert "chat.next_model" in reports[0]  # the valid ids are listed
        assert chat(app).model_ref == "demo"  # ctrl+n twice: round and back


async def test_a_clash_is_reported_once() -> None:
    settings = Settings(keys={"chat.copy_answer": "ctrl+n"})
    app = ChatApp(settings, "demo", env={})
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        for _ in range(3):
            await pilot.press("ctrl+r")
        await pilot.pause()
        clashes = [text for text in toasts(app) if "ctrl+n is bound to" in text]
        assert len(clashes) == 1
        assert "chat.copy_answer" in clashes[0] and "chat.next_model" in clashes[0]


def test_alt_digits_and_letters_from_a_real_terminal_arrive_as_alt_keys() -> None:
    from textual._xterm_parser import XTermParser

    from chatterm.tui.keymap import restore_alt_keys

    restore_alt_keys()
    sent = "\x1b1\x1b5\x1b9\x1br\x1be\x1bu\x1b[1;3D\x1b[1;3C"
    keys = [event.key for event in XTermParser().feed(sent) if hasattr(event, "key")]
    assert keys == ["alt+1", "alt+5", "alt+9", "alt+r", "alt+e", "alt+u", "alt+left", "alt+right"]
    typed = [event.key for event in XTermParser().feed("£") if hasattr(event, "key")]
    assert typed == ["pound_sign"]  # a typed £ stays a character


def test_key_values_are_read_as_people_write_them_and_nonsense_is_reported() -> None:
    keymap, problems = checked_keymap(
        {"chat.copy_answer": "Ctrl+G", "chat.export": "contrl+x", "chat.pick_theme": "x"}
    )
    assert keymap["chat.copy_answer"] == "ctrl+g"
    assert "chat.export" not in keymap
    assert any("contrl+x is not a key name" in problem for problem in problems)
    assert any("x (for chat.pick_theme) edits the prompt" in problem for problem in problems)
