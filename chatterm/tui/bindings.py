"""Every key binding of the TUI, in one place, each with an id and a description.

The ids are what a user remaps from the config (``App.set_keymap``), so they are stable
names: ``prompt.send``, ``chat.cancel``, ...

Keys were chosen so as not to collide with :class:`textual.widgets.TextArea` editing keys
(ctrl+a/e/k/u/w/x/c/v/z/y/d, ...) or with keys terminals and multiplexers take for
themselves (ctrl+s/ctrl+q flow control, ctrl+z suspend, ctrl+c interrupt, ctrl+b the
tmux prefix; ctrl+m, ctrl+i and ctrl+h arrive as enter, tab and backspace).
Newline is ctrl+j (a plain line feed, reported the same by every terminal) and also
shift+enter where the terminal reports it (the kitty keyboard protocol).

The prompt's bindings are deliberately not ``priority``: priority bindings run as soon as
the app reads the key, before the prompt has inserted the characters typed just before
it, so a fast "text + Enter" (a paste, tmux send-keys) would send an empty message.
"""

from __future__ import annotations

from textual.binding import Binding

SEND = Binding(
    "enter",
    "submit",
    "Send",
    id="prompt.send",
    tooltip="Send the message to the model.",
)
NEWLINE = Binding(
    "ctrl+j,shift+enter",
    "newline",
    "Newline",
    key_display="^j",
    id="prompt.newline",
    tooltip="Insert a newline in the message (shift+enter works too where the terminal "
    "reports it).",
)
CANCEL = Binding(
    "escape",
    "cancel_reply",
    "Cancel",
    id="chat.cancel",
    tooltip="Stop the reply in flight; what arrived is kept.",
)
TOGGLE_REASONING = Binding(
    "ctrl+r",
    "toggle_reasoning",
    "Reasoning",
    id="chat.toggle_reasoning",
    tooltip="Show or hide every reasoning pane.",
)
NEXT_MODEL = Binding(
    "ctrl+n",
    "next_model",
    "Model",
    id="chat.next_model",
    tooltip="Switch to the next model; the conversation carries over.",
)
QUIT = Binding(
    "ctrl+q",
    "quit",
    "Quit",
    id="app.quit",
    priority=True,
    tooltip="Quit the app and return to the command prompt.",
)

PROMPT_BINDINGS = [SEND, NEWLINE]
CHAT_BINDINGS = [CANCEL, TOGGLE_REASONING, NEXT_MODEL]
APP_BINDINGS = [QUIT]


_KEY_NAMES = {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt", "escape": "Esc", "enter": "Enter"}


def key_label(binding: Binding) -> str:
    """The binding's first key as people write it: ``Ctrl+J``, ``Esc``, ``Enter``."""
    key = binding.key.split(",")[0].strip()
    return "+".join(_KEY_NAMES.get(part, part.upper()) for part in key.split("+"))
