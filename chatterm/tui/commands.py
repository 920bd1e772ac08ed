"""The command palette (ctrl+p): every action of the screen, every model, theme and role.

The actions are system commands (:meth:`ChatApp.get_system_commands`), titled here from
their binding ids; models and themes come from :class:`ModelsAndThemes`, roles from
:class:`Roles`. Model and role names are data (from the config and from servers), so their
entries are built as :class:`~textual.content.Content`, never parsed as markup; help texts
are escaped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape
from textual.screen import Screen
from textual.style import Style

from chatterm.text import safe_text
from chatterm.tui.bindings import CHAT_BINDINGS, key_label
from chatterm.tui.screens.chat_models import ModelSwitching
from chatterm.tui.screens.chat_roles import RoleChoosing

if TYPE_CHECKING:
    from chatterm.catalogue.listing import CatalogueEntry

# Palette titles by binding id; a binding not named here (the favourites, the theme
# picker: Textual's own "Theme" command does that) is not listed as an action.
TITLES = {
    "chat.cancel": "Cancel the reply",
    "chat.toggle_reasoning": "Show or hide reasoning",
    "chat.next_model": "Next model",
    "chat.previous_model": "Previous model",
    "chat.pick_model": "Models…",
    "chat.cycle_effort": "Reasoning effort: next level",
    "chat.copy_answer": "Copy the last answer",
    "chat.copy_code": "Copy a code block",
    "chat.export": "Export this chat to Markdown",
    "chat.new_session": "New chat",
    "chat.sessions": "Sessions…",
    "chat.replay": "Replay this chat",
    "chat.open_editor": "Write the message in $EDITOR",
    "chat.search_prompts": "Past prompts…",
    "chat.stats": "Spend and speed charts…",
    "chat.pick_role": "Roles…",
    "chat.attach_file": "Attach a file…",
}


def screen_commands(screen: Screen[Any], keymap: Mapping[str, str]) -> Iterator[SystemCommand]:
    """The chat screen's actions that can run now, each with its key in the help."""
    for binding in CHAT_BINDINGS:
        title = TITLES.get(binding.id or "")
        action = binding.action
        if title is None or screen.check_action(action, ()) is not True:
            continue
        help_text = f"{binding.tooltip} ({key_label(binding, keymap)})"
        yield SystemCommand(title, escape(safe_text(help_text)), partial(screen.run_action, action))


def _entry_help(entry: CatalogueEntry) -> str:
    facts = ["reasons" if entry.reasoning else "no reasoning"]
    if entry.key_problem:
        facts.append(f"cannot be used yet: {entry.key_problem}")
    else:
        facts.append("key set" if entry.key_env else "no key needed")
    return escape(safe_text(" · ".join(facts)))


class ListedCommands(Provider):
    """A palette provider whose commands are a list of ``(title, callback, help)``: every
    one offered before anything is typed, and found by a fuzzy match on its title."""

    def _commands(self) -> Iterable[tuple[str, Callable[[], object], str]]:
        return ()

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(Content(title), callback, text=title, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                # Highlighting goes through markup: only for titles without brackets.
                shown = matcher.highlight(title) if "[" not in title else Content(title)
                yield Hit(score, shown, callback, text=title, help=help_text)


class ModelsAndThemes(ListedCommands):
    """``Model: provider:model`` for every model the picker lists (without looking
    prices up or asking servers), and ``Theme: name`` for every theme."""

    def __init__(self, screen: Screen[Any], match_style: Style | None = None) -> None:
        super().__init__(screen, match_style)
        self._entries: list[CatalogueEntry] = []

    async def startup(self) -> None:
        screen = self.screen
        if isinstance(screen, ModelSwitching):
            settings, env = screen.settings, screen.env

            def listing() -> list[CatalogueEntry]:
                # Imported when the palette first opens: start-up does without them.
                from chatterm.catalogue.discovery import cached_discovery
                from chatterm.catalogue.listing import catalogue

                found = cached_discovery(settings, env)
                return catalogue(settings, env, found.models, with_prices=False)

            self._entries = await asyncio.to_thread(listing)

    def _commands(self) -> Iterable[tuple[str, Callable[[], object], str]]:
        screen = self.screen
        if isinstance(screen, ModelSwitching):
            for entry in self._entries:
                title = f"Model: {safe_text(entry.ref)}"
                yield title, partial(screen.switch_to, entry.ref), _entry_help(entry)
        current = self.app.theme
        for name in sorted(self.app.available_themes):
            help_text = "the theme in use" if name == current else "switch to this theme"
            yield f"Theme: {name}", partial(setattr, self.app, "theme", name), help_text


NO_ROLE_TITLE = "Role: none (the config's system prompt)"


class Roles(ListedCommands):
    """``Role: NAME`` for every role (the config's and the built-in ones), and one for no
    role (the config's system prompt)."""

    def _commands(self) -> Iterable[tuple[str, Callable[[], object], str]]:
        screen = self.screen
        if not isinstance(screen, RoleChoosing):
            return
        begun = screen.keeper.session is not None
        when = "from the next turn" if begun else "starts this chat with it"
        for name, role in screen.settings.all_roles().items():
            facts = [safe_text(" ".join(role.system.split()))[:60]]
            if not begun and role.model:
                facts.append(f"model {safe_text(role.model)}")
            if not begun and role.reasoning_effort:
                facts.append(f"effort {role.reasoning_effort}")
            help_text = escape(f"{when}: " + " · ".join(facts))
            yield f"Role: {safe_text(name)}", partial(screen.use_role, name), help_text
        yield NO_ROLE_TITLE, partial(screen.use_role, ""), escape(f"{when}: no role")
