"""Choosing a role, for the chat screen: from the role list (its key) or the palette.

A role is a system prompt under a name, with the model and reasoning effort a chat with it
starts on (:class:`~chatterm.config.Role`; the config's ``[roles.NAME]`` and the built-in
ones). Chosen in a chat that has not begun, it is that chat's: its system prompt, and its
model and effort when it names them. Chosen in a chat that has begun, only its system
prompt changes, from the next turn on (the model stays as it is): the session records it
on each turn sent with it, and a notification says so. No role (the list's first row)
means the config's ``system_prompt``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatterm.config import Role
from chatterm.sessions.keeper import SessionKeeper
from chatterm.text import safe_text
from chatterm.tui.screens.chat_models import ModelSwitching


class RoleChoosing(ModelSwitching):
    """Roles for the chat screen, which sets ``keeper`` (and the model state of
    :class:`~chatterm.tui.screens.chat_models.ModelSwitching`)."""

    keeper: SessionKeeper

    if TYPE_CHECKING:  # the chat screen's own (its context meter's)

        def show_context(self) -> None: ...

    def action_pick_role(self) -> None:
        from chatterm.tui.screens.role_picker import (
            RolePickerScreen,  # imported when first opened: start-up does without it
        )

        picker = RolePickerScreen(
            self.settings.all_roles(),
            current=self.keeper.system,
            default_system=self.settings.system_prompt,
        )
        self.app.push_screen(picker, self._role_picked)

    def _role_picked(self, name: str | None) -> None:
        if name is not None:
            self.use_role(name)

    def use_role(self, name: str) -> None:
        """Use the role called ``name`` as the list and the palette do (a name that is not
        a role, such as the list's ``(none)``: no role, the config's system prompt)."""
        role = self.settings.all_roles().get(name)
        system = role.system if role is not None else self.settings.system_prompt
        begun = self.keeper.session is not None
        self.keeper.switch_system(system)
        self.call_after_refresh(self.show_context)  # the new system prompt's size
        called = f"Role {role.name}" if role is not None else "No role"
        if begun:
            prompt = "its system prompt" if role is not None else "the config's system prompt"
            if system is None:
                prompt = "no system prompt"
            self.notify(
                safe_text(f"{called}: {prompt} from the next turn on (recorded in the chat)."),
                markup=False,
                timeout=4,
            )
            return
        self._start_with(role, called)

    def _start_with(self, role: Role | None, called: str) -> None:
        """A chat not begun starts on the role's model and effort, where it names them."""
        if role is not None and role.model is not None:
            self.switch_to(role.model)  # a model without its key is explained, not chosen
        if role is not None and role.reasoning_effort is not None:
            self.effort = role.reasoning_effort
            self.show_model()
            self.refresh_bindings()
        facts = [f"model {self.model_ref}"]
        if role is not None and role.reasoning_effort is not None:
            facts.append(f"effort {self.effort}")
        what = "its system prompt" if role is not None else "the config's system prompt"
        self.notify(
            safe_text(f"{called}: this chat starts with {what} ({', '.join(facts)})."),
            markup=False,
            timeout=4,
        )
