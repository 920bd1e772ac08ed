"""Choosing the model and the reasoning effort, for the chat screen.

The model can change between any two turns: the next one goes to the new model with the
whole conversation (each turn records the model that wrote it, and its label shows it).
The keys: the next and previous model of the cycle (``model_cycle`` in the config, else
the suggested models of every provider with a key, then the demo), alt+1…alt+9 for the
favourites, and the model picker. A model whose key is not set can be chosen (the header
says so, and sending explains how to set it); the picker explains instead of switching.

The reasoning effort (off, low, medium, high) starts at the remembered one, else
``reasoning_effort`` in the config. Its key only works on models that take an effort
(:meth:`chatterm.providers.base.Provider.supports_effort`); every conversation carries it (see
:func:`chatterm.providers.effort.effort_fields`), as ``chatterm ask`` does, and each provider
maps it onto its own parameter or ignores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from textual.screen import Screen

from chatterm.config import Settings
from chatterm.errors import ConfigError
from chatterm.events import REASONING_EFFORTS, ReasoningEffort
from chatterm.providers.effort import effort_fields
from chatterm.providers.registry import ResolvedModel, model_cycle, resolve_model
from chatterm.sessions.model import Session
from chatterm.text import safe_text
from chatterm.tui.remembered import Remembered

if TYPE_CHECKING:
    from chatterm.tui.screens.model_picker import ModelPickerScreen

CONFIG_HINT = 'favourites = ["openai:gpt-5-mini", "demo"] in config.toml'


def effort_supported(target: ResolvedModel | None) -> bool:
    """Whether choosing an effort changes what is asked of ``target``."""
    return target is not None and target.provider.supports_effort(target.model)


class ModelSwitching(Screen[None]):
    """The chat screen's model and effort: state, header and actions.

    The chat screen sets these in its ``__init__``; :meth:`_model_selected` is its hook.
    """

    settings: Settings
    env: Mapping[str, str]
    model_ref: str
    target: ResolvedModel | None
    model_problem: str | None
    effort: ReasoningEffort
    remembered: Remembered | None
    discover_models: bool

    def _select_model(self, ref: str, *, announce: bool) -> None:
        """Make ``ref`` the model of the next turn (a model without a key too: the prompt
        explains when it cannot send)."""
        self.model_ref = ref
        try:
            self.target = resolve_model(ref, self.settings, self.env)
        except ConfigError as error:
            self.target = None
            self.model_problem = str(error)
        else:
            self.model_problem = self.target.provider.missing_key()
            self.model_ref = self.target.ref
        self.show_model()
        if self.model_problem:
            self.notify(safe_text(self.model_problem), severity="warning", markup=False)
        else:
            if announce:
                self.notify(f"model: {safe_text(self.model_ref)}", markup=False, timeout=2)
            # Only a model the user chose is remembered: the one chatterm started on by
            # itself (the demo, before a key was set) must not outlive its reason.
            if announce and self.remembered is not None:
                self.remembered.update(last_model=self.model_ref)
        self.refresh_bindings()  # the effort key is offered for some models only
        self._model_selected()

    def _model_selected(self) -> None:
        """Called after every change of model."""

    def show_model(self) -> None:
        """The header: ``model: openai:gpt-5-mini · effort high``. The effort is shown for
        a model that takes one; ``no key`` for a model whose key is not set, ``not usable``
        for a reference that names no model chatterm can reach."""
        parts = [f"model: {safe_text(self.model_ref)}"]
        if self.target is None:
            parts.append("not usable")
        elif self.model_problem:
            parts.append("no key")
        elif effort_supported(self.target):
            parts.append(f"effort {self.effort}")
        self.sub_title = " · ".join(parts)

    def conversation_effort(self) -> tuple[bool, Literal["low", "medium", "high"]]:
        """``(reasoning, effort)`` for the next conversation."""
        return effort_fields(self.effort)

    # -- actions ----------------------------------------------------------------------

    def _adopt_model(self, session: Session) -> None:
        """Continue with the model of the session's last reply, if it can be used."""
        ref = session.turns[-1].model
        if ref == self.model_ref:
            return
        try:
            problem = resolve_model(ref, self.settings, self.env).provider.missing_key()
        except ConfigError as error:
            problem = str(error)
        if problem is None:
            self._select_model(ref, announce=True)
            return
        self.notify(
            safe_text(f"This chat used {ref} ({problem}); continuing with {self.model_ref}."),
            severity="warning",
            markup=False,
        )

    def _step_model(self, step: int) -> None:
        models = model_cycle(self.settings, self.env, self.model_ref)
        index = models.index(self.model_ref) if self.model_ref in models else -step
        self._select_model(models[(index + step) % len(models)], announce=True)

    def action_next_model(self) -> None:
        self._step_model(1)

    def action_previous_model(self) -> None:
        self._step_model(-1)

    def favourites(self) -> tuple[str, ...]:
        """The models on alt+1…alt+9: ``favourites`` in the config."""
        return self.settings.favourites

    def action_favourite(self, number: int) -> None:
        favourites = self.favourites()
        if not 1 <= number <= len(favourites):
            have = f"only {len(favourites)}" if favourites else "none"
            self.notify(
                f"No favourite {number} ({have} set): add {CONFIG_HINT}.",
                severity="warning",
                markup=False,
            )
            return
        self._select_model(favourites[number - 1], announce=True)

    def model_picker(self, title: str | None = None) -> ModelPickerScreen:
        """The model list, the current model highlighted (``title``: what picking is for)."""
        from chatterm.tui.screens.model_picker import (
            ModelPickerScreen,  # imported when first opened: start-up does without it
        )

        return ModelPickerScreen(
            self.settings,
            self.env,
            current=self.model_ref,
            favourites=self.favourites(),
            discover=self.discover_models,
            title=title,
        )

    def usable_model(self, ref: str, doing: str) -> ResolvedModel | None:
        """``ref`` resolved, if it can be used now; else None, having said in one line why
        it cannot be used for ``doing`` ("compared", "summarize")."""
        try:
            target = resolve_model(ref, self.settings, self.env)
            problem = target.provider.missing_key()
        except ConfigError as error:
            problem = str(error)
        if problem:
            self.notify(
                safe_text(f"{ref} cannot {doing}: {problem}"), severity="error", markup=False
            )
            return None
        return target

    def action_pick_model(self) -> None:
        self.app.push_screen(self.model_picker(), self._picked)

    def _picked(self, ref: str | None) -> None:
        if ref is not None:
            self.switch_to(ref)

    def switch_to(self, ref: str) -> None:
        """Switch to ``ref`` as the picker and the palette do: a model that cannot be
        used yet (its key is not set) is explained, not chosen."""
        try:
            problem = resolve_model(ref, self.settings, self.env).provider.missing_key()
        except ConfigError as error:
            problem = str(error)
        if problem:
            self.notify(
                safe_text(f"{ref} cannot be used yet: {problem}"),
                severity="warning",
                markup=False,
                timeout=8,
            )
        elif ref != self.model_ref:
            self._select_model(ref, announce=True)

    def action_cycle_effort(self) -> None:
        if not effort_supported(self.target):
            return
        index = REASONING_EFFORTS.index(self.effort)
        self.effort = REASONING_EFFORTS[(index + 1) % len(REASONING_EFFORTS)]
        if self.remembered is not None:
            self.remembered.update(reasoning_effort=self.effort)
        self.show_model()
        self.notify(f"reasoning effort: {self.effort}", markup=False, timeout=2)

    def action_pick_theme(self) -> None:
        self.app.search_themes()

    def model_action_allowed(self, action: str) -> bool | None:
        """For ``check_action``: the effort key only for models that take an effort
        (None shows it dimmed in the footer)."""
        if action == "cycle_effort":
            return True if effort_supported(self.target) else None
        return True
