"""``[keys]`` from the config, checked against the bindings that exist.

``[keys]`` maps binding ids to keys (``"chat.copy_answer" = "f7"``, several keys as
``"f7,ctrl+y"``), exactly what :meth:`textual.app.App.set_keymap` takes. Problems are
found here, once, before the app starts, and reported in one notification each:

- an id that no binding has: left out; the message lists the valid ids;
- a key that two actions of one screen now share (Textual would keep one of them
  silently): the message names the key, the screen and both ids;
- a chat key that the prompt uses for editing (ctrl+a, ctrl+e, ctrl+k, …) or types (a
  printable character): the prompt has the focus and takes it first, so the action would
  never run;
- a key name Textual does not know (``"Ctrl+G"`` is read as ``ctrl+g``; ``"contrl+g"`` is
  reported).

:func:`with_enter_setting` turns ``enter_sends = false`` into the ``[keys]`` it stands for
(Enter inserts a newline, Ctrl+J sends), so it is checked and applied as those are.

:func:`restore_alt_keys` makes ESC+digit and ESC+letter arrive as alt+1…alt+9 and
alt+a…alt+z, so that the favourite and branching keys work (see its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.keys import Keys
from textual.widgets import TextArea

from chatterm.tui.bindings import NEWLINE, SCOPES, SEND, binding_ids
from chatterm.tui.compat import add_escape_sequences, normalize_key_list


def restore_alt_keys() -> None:
    """Make ESC 1…ESC 9 arrive as alt+1…alt+9 again, and ESC a…ESC z as alt+a…alt+z.

    Textual 8.2 turns the digit sequences into the characters macOS types for Option+1…9
    (¡ ™ £ ¢ ∞ § ¶ • ª), a workaround for WezTerm on macOS. Every other terminal sends
    ESC+digit for Alt+digit, so the favourite keys would never fire and junk would be
    typed into the prompt instead. ESC+letter (what terminals send for Alt+letter, the
    branching keys) has no entry, and read as Esc followed by a typed letter. This edits
    Textual's private sequence table (the only place the translation lives): each entry
    becomes the alt key, delivered at once. A test feeds the raw bytes through the parser.
    """
    keys = "123456789abcdefghijklmnopqrstuvwxyz"
    add_escape_sequences({f"\x1b{key}": f"alt+{key}" for key in keys})


# enter_sends = false: the prompt's two keys swapped. Alt+Enter sends too where the
# terminal reports it (the kitty keyboard protocol; elsewhere it arrives as Enter).
ENTER_INSERTS_NEWLINE = {
    str(SEND.id): "ctrl+j,alt+enter",
    str(NEWLINE.id): "enter,shift+enter",
}


def with_enter_setting(keys: Mapping[str, str], *, enter_sends: bool) -> dict[str, str]:
    """``[keys]``, plus the prompt's keys ``enter_sends = false`` asks for; a prompt key
    that ``[keys]`` sets itself stays as set there."""
    if enter_sends:
        return dict(keys)
    return {**ENTER_INSERTS_NEWLINE, **keys}


def _keys(value: str) -> list[str]:
    # Key names are lower case in Textual; README tables write them as people do (Ctrl+G).
    return [key.strip() for key in normalize_key_list(value.lower()).split(",") if key.strip()]


def _unknown_key(key: str) -> bool:
    """True if Textual cannot produce ``key``: modifiers must be known and the rest a key
    name or a single character."""
    *modifiers, name = key.split("+")
    if any(modifier not in _MODIFIERS for modifier in modifiers) or not name:
        return True
    return len(name) > 1 and name not in _KEY_NAMES


def _printable(key: str) -> bool:
    *modifiers, name = key.split("+")
    return not modifiers and (len(name) == 1 or name in _PRINTABLE_NAMES)


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
    keymap = {
        binding_id: ",".join(_keys(value))
        for binding_id, value in keys.items()
        if binding_id in valid
    }
    problems: list[str] = []
    for binding_id, value in list(keymap.items()):
        unknown_keys = [key for key in _keys(value) if _unknown_key(key)]
        if unknown_keys or not value:
            problems.append(
                f"[keys] in config.toml: {binding_id} = {keys[binding_id]!r:.40}: "
                f"{', '.join(unknown_keys) or 'no key'} is not a key name (ignored); write "
                'keys as Textual names them, e.g. "ctrl+g", "f6", "alt+x"'
            )
            del keymap[binding_id]
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
        taken = [key for key in _keys(value) if key in editing or _printable(key)]
        if binding_id in chat_ids and not binding_id.startswith("prompt.") and taken:
            problems.append(
                f"[keys] in config.toml: {', '.join(taken)} (for {binding_id}) edits the "
                "prompt, which takes it first; choose another key"
            )
    return keymap, problems


_MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_PRINTABLE_NAMES = frozenset({"space"})
# Textual's key names: its Keys enum plus the names it gives punctuation (from unicode
# names) and function keys up to f24.
_KEY_NAMES = frozenset(
    {key.value.rsplit("+", 1)[-1] for key in Keys}
    | {"enter", "tab", "backspace", "escape", "delete", "insert", "home", "end"}
    | {"up", "down", "left", "right", "pageup", "pagedown"}
    | {f"f{n}" for n in range(1, 25)}
    | {
        "space",
        "exclamation_mark",
        "quotation_mark",
        "number_sign",
        "dollar_sign",
        "percent_sign",
        "ampersand",
        "apostrophe",
        "left_parenthesis",
        "right_parenthesis",
        "asterisk",
        "plus",
        "comma",
        "minus",
        "full_stop",
        "solidus",
        "colon",
        "semicolon",
        "less_than_sign",
        "equals_sign",
        "greater_than_sign",
        "question_mark",
        "commercial_at",
        "left_square_bracket",
        "reverse_solidus",
        "right_square_bracket",
        "circumflex_accent",
        "low_line",
        "grave_accent",
        "left_curly_bracket",
        "vertical_line",
        "right_curly_bracket",
        "tilde",
    }
)
