"""Every key binding of the TUI, in one place, each with an id and a description.

The ids are what a user remaps from the config (``App.set_keymap``), so they are stable
names: ``prompt.send``, ``chat.cancel``, ...

Keys were chosen so as not to collide with :class:`textual.widgets.TextArea` editing keys
(ctrl+a/e/k/u/w/x/c/v/z/y/d, ...) or with keys terminals and multiplexers take for
themselves (ctrl+s/ctrl+q flow control, ctrl+z suspend, ctrl+c interrupt, ctrl+b the
tmux prefix; ctrl+m, ctrl+i and ctrl+h arrive as enter, tab and backspace).
Newline is ctrl+j (a plain line feed, reported the same by every terminal) and also
shift+enter where the terminal reports it (the kitty keyboard protocol).
ctrl+l (new chat), ctrl+o (sessions) and f5 (replay) are bound by none of Textual's
widgets (TextArea's f5 "select word" is commented out in Textual 8.2).

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
NEW_SESSION = Binding(
    "ctrl+l",
    "new_session",
    "New chat",
    id="chat.new_session",
    tooltip="Start a new chat (a new session); the current one stays saved.",
)
SESSIONS = Binding(
    "ctrl+o",
    "sessions",
    "Sessions",
    id="chat.sessions",
    tooltip="List the saved chats: open, rename, delete or replay one.",
)
REPLAY = Binding(
    "f5",
    "replay",
    "Replay",
    id="chat.replay",
    tooltip="Replay this chat with its original timing.",
)
QUIT = Binding(
    "ctrl+q",
    "quit",
    "Quit",
    id="app.quit",
    priority=True,
    tooltip="Quit the app and return to the command prompt.",
)

# The sessions screen. Its filter field takes every printable key (and Input's editing
# keys), so actions on the highlighted row are on Enter and function keys.
SESSIONS_OPEN = Binding(
    "enter",
    "open",
    "Open",
    id="sessions.open",
    tooltip="Open the highlighted chat and continue it.",
)
SESSIONS_RENAME = Binding(
    "f2",
    "rename",
    "Rename",
    id="sessions.rename",
    tooltip="Give the highlighted chat a new title.",
)
SESSIONS_DELETE = Binding(
    "f8",
    "delete",
    "Delete",
    id="sessions.delete",
    tooltip="Delete the highlighted chat's file (after asking).",
)
SESSIONS_REPLAY = Binding(
    "f5",
    "replay",
    "Replay",
    id="sessions.replay",
    tooltip="Replay the highlighted chat with its original timing.",
)
SESSIONS_BACK = Binding(
    "escape",
    "back",
    "Back",
    id="sessions.back",
    tooltip="Back to the chat.",
)
# The replay screen has no text field: its keys take priority over scrolling.
REPLAY_PAUSE = Binding(
    "space",
    "toggle_pause",
    "Pause",
    id="replay.pause",
    priority=True,
    tooltip="Pause or resume the replay.",
)
REPLAY_SKIP = Binding(
    "s,end",
    "skip",
    "Skip to end",
    key_display="s",
    id="replay.skip",
    priority=True,
    tooltip="Show the rest of the chat at once.",
)
REPLAY_CLOSE = Binding(
    "escape",
    "close",
    "Close",
    id="replay.close",
    priority=True,
    tooltip="Stop the replay and close it.",
)
# Dialogs.
DIALOG_YES = Binding("y", "yes", "Yes", id="dialog.yes", tooltip="Yes, do it.")
DIALOG_NO = Binding("n,escape", "no", "No", id="dialog.no", tooltip="No, leave it as it is.")
DIALOG_CANCEL = Binding(
    "escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without a change."
)

PROMPT_BINDINGS = [SEND, NEWLINE]
CHAT_BINDINGS = [CANCEL, TOGGLE_REASONING, NEXT_MODEL, NEW_SESSION, SESSIONS, REPLAY]
APP_BINDINGS = [QUIT]
SESSIONS_BINDINGS = [
    SESSIONS_OPEN,
    SESSIONS_RENAME,
    SESSIONS_DELETE,
    SESSIONS_REPLAY,
    SESSIONS_BACK,
]
REPLAY_BINDINGS = [REPLAY_PAUSE, REPLAY_SKIP, REPLAY_CLOSE]
CONFIRM_BINDINGS = [DIALOG_YES, DIALOG_NO]
RENAME_BINDINGS = [DIALOG_CANCEL]
ALL_BINDINGS = [
    *PROMPT_BINDINGS,
    *CHAT_BINDINGS,
    *APP_BINDINGS,
    *SESSIONS_BINDINGS,
    *REPLAY_BINDINGS,
    *CONFIRM_BINDINGS,
    *RENAME_BINDINGS,
]


_KEY_NAMES = {
    "ctrl": "Ctrl",
    "shift": "Shift",
    "alt": "Alt",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "end": "End",
}


def key_label(binding: Binding) -> str:
    """The binding's first key as people write it: ``Ctrl+J``, ``Esc``, ``Enter``."""
    key = binding.key.split(",")[0].strip()
    return "+".join(_KEY_NAMES.get(part, part.upper()) for part in key.split("+"))
