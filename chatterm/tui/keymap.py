"""``[keys]`` from the config, checked against the bindings that exist.

``[keys]`` maps binding ids to keys (``"chat.copy_answer" = "f7"``, several keys as
``"f7,ctrl+y"``), exactly what :meth:`textual.app.App.set_keymap` takes. Problems are
found here, once, before the app starts, and reported in one notification each:

- an id that no binding has: left out; the message lists the valid ids;
- a key that two actions of one screen now share (Textual would keep one of them
  silently): the message names the key, the screen and both ids;
- a chat key that the prompt uses for editing (ctrl+a, ctrl+e, ctrl+k, …): the prompt
  has the focus and takes it first, so the action would never run.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.keys import _normalize_key_list
from textual.widgets import TextArea

from chatterm.tui.bindings import SCOPES, binding_ids


def _keys(value: str) -> list[str]:
    return [key for key in _normalize_key_list(value).split(",") if key]


def _editing_keys() -> set[str]:
    return {
        key
        for binding in TextArea.BINDINGS
        if not isinstance(binding, tuple)
        for key in _keys(binding.key)
    }


def checked_keymap(keys: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The usable part of ``keys``, and the problems (one line each)."""
    valid = binding_ids()
    keymap = {binding_id: value for binding_id, value in keys.items() if binding_id in valid}
    problems: list[str] = []
    unknown = [binding_id for binding_id in keys if binding_id not in valid]
    if unknown:
        names = ", ".join(repr(binding_id) for binding_id in unknown)
        problems.append(
            f"[keys] in config.toml: no action has the id {names} (ignored); "
            f"the ids are: {', '.join(valid)}"
        )
    for scope, bindings in SCOPES.items():
        owners: dict[str, list[str]] = {}
        for binding in bindings:
            assert binding.id is not None
            for key in _keys(keymap.get(binding.id, binding.key)):
                if binding.id not in owners.setdefault(key, []):
                    owners[key].append(binding.id)
        for key, ids in owners.items():
            if len(ids) > 1 and any(binding_id in keymap for binding_id in ids):
                problems.append(
                    f"[keys] in config.toml: {key} is bound to {' and '.join(ids)} on the "
                    f"{scope} screen; only one of them works"
                )
    editing = _editing_keys()
    chat_ids = {binding.id for binding in SCOPES["chat"]}
    for binding_id, value in keymap.items():
        taken = [key for key in _keys(value) if key in editing]
        if binding_id in chat_ids and not binding_id.startswith("prompt.") and taken:
            problems.append(
                f"[keys] in config.toml: {', '.join(taken)} (for {binding_id}) edits the "
                "prompt, which takes it first; choose another key"
            )
    return keymap, problems
