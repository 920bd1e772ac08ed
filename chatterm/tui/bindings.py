"""Every key binding of the TUI, in one place, each with an id and a description.

The ids are what a user remaps from the config (``App.set_keymap``), so they are stable
names: ``prompt.send``, ``chat.cancel``, ...

Keys were chosen so as not to collide with :class:`textual.widgets.TextArea` editing keys
(ctrl+a/e/k/u/w/x/c/v/z/y/d, ...) or with keys terminals and multiplexers take for
themselves (ctrl+s/ctrl+q flow control, ctrl+z suspend, ctrl+c interrupt, ctrl+b the
tmux prefix; ctrl+m, ctrl+i and ctrl+h arrive as enter, tab and backspace).
Newline is ctrl+j (a plain line feed, reported the same by every terminal) and also
shift+enter where the terminal reports it (the kitty keyboard protocol).
ctrl+l (new chat), ctrl+o (sessions), ctrl+g (retry) and f5 (replay) are bound by none
of Textual's widgets (TextArea's f5 "select word" is commented out in Textual 8.2); ctrl+g
is BEL, which terminals pass through. The other chat keys are ctrl+t and function keys no
TextArea binds (f2, f3, f4, f8, f9, f12: f6 and f7 select a line and everything, f1, f10
and f11 are often taken by the terminal for help, its menu or full screen) and alt+1…alt+9
(the favourite models; they arrive as ESC 1…9, which every terminal sends when Alt is a
meta key, as it is by default everywhere but macOS Terminal, where "Use Option as Meta
key" turns it on).

The prompt's own tools are on Alt too, for want of a free control key: alt+v opens the
message in ``$VISUAL``/``$EDITOR`` (ctrl+e, the usual key, is TextArea's end of line;
ctrl+x ctrl+e, bash's, would need ctrl+x, TextArea's cut) and alt+h searches the prompts of
every saved chat (the history; ctrl+r, a shell's key for it, shows reasoning here). alt+g
opens the spend and speed charts (no function key is left; g for graphs).
alt+o lists the roles (ctrl+r and alt+r are taken; "o" as in rOle), and alt+a opens the
file chooser that attaches a file to the next prompt (no TextArea key).
ctrl+f, the one control letter nothing binds, is left to the user's ``[keys]``. A terminal
sends alt+v as ESC v, which Textual may report with the character "v": the prompt lets the
binding have it rather than type the "v" (see :mod:`chatterm.tui.widgets.prompt`).

The prompt's bindings are deliberately not ``priority``: priority bindings run as soon as
the app reads the key, before the prompt has inserted the characters typed just before
it, so a fast "text + Enter" (a paste, tmux send-keys) would send an empty message.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    show=False,  # the prompt's placeholder says it; the footer keeps room for the rest
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
RETRY = Binding(
    "ctrl+g",
    "retry",
    "Retry",
    id="chat.retry",
    show=False,  # the footer is full at 120 columns; the stats bar says it when it applies
    tooltip="Send the last prompt again: the reply was cancelled, cut off or failed.",
)
REGENERATE = Binding(
    "alt+r",
    "regenerate",
    "Regenerate",
    id="chat.regenerate",
    show=False,
    tooltip="Ask for the selected reply (or the last) again, on the current model; the old "
    "one is kept as an alternative.",
)
PREVIOUS_ALTERNATIVE = Binding(
    "alt+left",
    "alternative(-1)",
    "Previous alternative",
    id="chat.previous_alternative",
    show=False,
    tooltip="Show the previous alternative of the selected turn (or the last).",
)
NEXT_ALTERNATIVE = Binding(
    "alt+right",
    "alternative(1)",
    "Next alternative",
    id="chat.next_alternative",
    show=False,
    tooltip="Show the next alternative of the selected turn (or the last).",
)
SELECT_EARLIER_TURN = Binding(
    "alt+up",
    "select_turn(-1)",
    "Earlier turn",
    id="chat.select_earlier_turn",
    show=False,
    tooltip="Select the turn above: regenerate, edit and the alternative keys act on it.",
)
SELECT_LATER_TURN = Binding(
    "alt+down",
    "select_turn(1)",
    "Later turn",
    id="chat.select_later_turn",
    show=False,
    tooltip="Select the turn below (past the last: none, the keys act on the last).",
)
EDIT_PROMPT = Binding(
    "alt+e",
    "edit_prompt",
    "Edit prompt",
    id="chat.edit_prompt",
    show=False,
    tooltip="Put the selected turn's prompt (or the last) in the prompt box; sending it "
    "starts a new branch there, the old one is kept.",
)
UNDO_EXCHANGE = Binding(
    "alt+u",
    "undo_exchange",
    "Undo",
    id="chat.undo_exchange",
    show=False,
    tooltip="Take the last exchange off the conversation (kept as an alternative): the "
    "next prompt follows the turn before.",
)
REDO_EXCHANGE = Binding(
    "alt+y",
    "redo_exchange",
    "Redo",
    id="chat.redo_exchange",
    show=False,
    tooltip="Bring back the exchange undone last (and the turns after it in its branch).",
)
COMPARE = Binding(
    "alt+c",
    "compare",
    "Compare",
    id="chat.compare",
    show=False,  # the footer keeps to 120 columns: the welcome text, stats bar and palette say it
    tooltip="Choose 2 to 4 models; the next prompt goes to all of them, side by side.",
)
CANCEL_COLUMN = Binding(
    "alt+x",
    "cancel_column",
    "Cancel one",
    id="chat.cancel_column",
    show=False,  # the footer keeps to 120 columns: the welcome text, stats bar and palette say it
    tooltip="While models are compared: cancel the chosen column's reply, not the others.",
)
KEEP_REPLY = Binding(
    "alt+k",
    "keep_reply",
    "Keep reply",
    id="chat.keep_reply",
    show=False,  # the footer keeps to 120 columns: the welcome text, stats bar and palette say it
    tooltip="After a comparison: go on with the chosen column's reply (Alt+Left/Right "
    "chooses); the others stay as its alternatives.",
)
COMPACT = Binding(
    "alt+s",
    "compact",
    "Summarize",
    id="chat.compact",
    show=False,  # the footer keeps to 120 columns: the context warning and palette say it
    tooltip="Have a model summarize the chat so far; from then on the summary is sent instead "
    "of the turns it stands for (they stay in the session).",
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
PREVIOUS_MODEL = Binding(
    "f2",
    "previous_model",
    "Previous model",
    id="chat.previous_model",
    show=False,
    tooltip="Switch back to the previous model of the cycle; the conversation carries over.",
)
PICK_MODEL = Binding(
    "ctrl+t",
    "pick_model",
    "Models",
    id="chat.pick_model",
    tooltip="Pick a model from a list, filtered as you type, with prices, reasoning support "
    "and whether its key is set.",
)
FAVOURITES = [
    Binding(
        f"alt+{number}",
        f"favourite({number})",
        f"Favourite {number}",
        id=f"chat.favourite_{number}",
        show=False,
        tooltip=f"Switch to favourite model {number} (favourites in config.toml).",
    )
    for number in range(1, 10)
]
CYCLE_EFFORT = Binding(
    "f3",
    "cycle_effort",
    "Effort",
    id="chat.cycle_effort",
    tooltip="Cycle the reasoning effort: off, low, medium, high (models that support it).",
)
COPY_ANSWER = Binding(
    "f8",
    "copy_answer",
    "Copy",
    id="chat.copy_answer",
    show=False,  # 120 columns hold the footer's keys without it; the welcome text has it
    tooltip="Copy the last answer to the clipboard (OSC 52).",
)
COPY_CODE = Binding(
    "f9",
    "copy_code",
    "Copy code",
    id="chat.copy_code",
    show=False,
    tooltip="Copy the code block in view to the clipboard; press again for the one before.",
)
EXPORT = Binding(
    "f12",
    "export",
    "Export",
    id="chat.export",
    show=False,
    tooltip="Export this chat to a Markdown file in the current folder.",
)
OPEN_EDITOR = Binding(
    "alt+v",
    "open_editor",
    "Editor",
    id="chat.open_editor",
    show=False,
    tooltip="Write the message in $VISUAL (else $EDITOR); it comes back to the prompt, not sent.",
)
SEARCH_PROMPTS = Binding(
    "alt+h",
    "search_prompts",
    "Past prompts",
    id="chat.search_prompts",
    show=False,
    tooltip="Search the prompts of every saved chat; Enter puts one in the prompt.",
)
STATS = Binding(
    "alt+g",
    "stats",
    "Spend",
    id="chat.stats",
    show=False,  # the footer keeps to 120 columns: the palette says it
    tooltip="Charts of what each model cost per day and how fast it answered, over every "
    "saved chat.",
)
PICK_ROLE = Binding(
    "alt+o",
    "pick_role",
    "Roles",
    id="chat.pick_role",
    show=False,  # the footer keeps to 120 columns: the welcome text and the palette say it
    tooltip="Pick a role (a system prompt, and the model and effort it starts on); in a chat "
    "that has begun, its system prompt applies from the next turn.",
)
ATTACH_FILE = Binding(
    "alt+a",
    "attach_file",
    "Attach",
    id="chat.attach_file",
    show=False,  # the footer keeps to 120 columns: the welcome text and palette say it
    tooltip="Choose a file to send with the next prompt (text, an image or a PDF); "
    "@path in the prompt attaches one too.",
)
PICK_THEME = Binding(
    "f4",
    "pick_theme",
    "Theme",
    id="chat.pick_theme",
    show=False,
    tooltip="Pick a colour theme; the choice is remembered.",
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
    show=False,
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
# Textual adds its own ctrl+p binding (without an id) unless the app has one.
COMMAND_PALETTE = Binding(
    "ctrl+p",
    "command_palette",
    "Palette",
    id="app.command_palette",
    show=False,
    priority=True,
    tooltip="Open the command palette: every action, model and theme.",
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
# The stats screen has no text field either.
STATS_PERIOD = Binding(
    "p",
    "next_period",
    "Period",
    id="stats.period",
    tooltip="Show the next period: the last 7 days, 30 days, 90 days, everything.",
)
STATS_CLOSE = Binding(
    "escape",
    "close",
    "Back",
    id="stats.close",
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
# The model picker: the filter keeps the focus, the arrows move the list.
PICKER_SELECT = Binding(
    "enter",
    "select",
    "Use model",
    id="picker.select",
    tooltip="Switch to the highlighted model.",
)
PICKER_CLOSE = Binding(
    "escape",
    "close",
    "Close",
    id="picker.close",
    tooltip="Close the list and keep the current model.",
)
# The past prompts (every saved chat's): the filter keeps the focus, as in the model picker.
# Choosing the models of a comparison: the same list, Space chooses (priority: the filter
# would type it; model names hold no spaces).
COMPARE_PICKER_TOGGLE = Binding(
    "space",
    "choose_model",
    "Choose",
    id="compare_picker.toggle",
    priority=True,
    tooltip="Choose the highlighted model, or unchoose it (2 to 4 models).",
)
COMPARE_PICKER_START = Binding(
    "enter",
    "select",
    "Compare",
    id="compare_picker.start",
    tooltip="Compare the chosen models: the next prompt goes to all of them.",
)
PROMPTS_SELECT = Binding(
    "enter",
    "select",
    "Use prompt",
    id="prompts.select",
    tooltip="Put the highlighted prompt in the prompt box (not sent).",
)
PROMPTS_CLOSE = Binding(
    "escape",
    "close",
    "Close",
    id="prompts.close",
    tooltip="Close the list; the prompt box stays as it was.",
)
# The roles: the filter keeps the focus, as in the model picker.
ROLES_SELECT = Binding(
    "enter",
    "select",
    "Use role",
    id="roles.select",
    tooltip="Use the highlighted role: a new chat starts with it, a chat that has begun "
    "switches its system prompt from the next turn.",
)
ROLES_CLOSE = Binding(
    "escape",
    "close",
    "Close",
    id="roles.close",
    tooltip="Close the list; the system prompt stays as it was.",
)
# The chips of the files attached to the next prompt (one chip focused: Shift+Tab from
# the prompt reaches the last).
CHIP_REMOVE = Binding(
    "delete,backspace",
    "remove_chip",
    "Remove",
    id="chips.remove",
    tooltip="Take the focused file off the next prompt.",
)
# The file chooser: the path field keeps the focus until Down moves it to the tree.
CHOOSER_COMPLETE = Binding(
    "tab",
    "complete",
    "Complete",
    id="chooser.complete",
    tooltip="Complete the path typed (~ is your home folder); the folder is shown below.",
)
CHOOSER_TO_TREE = Binding(
    "down",
    "to_tree",
    "Browse",
    id="chooser.browse",
    tooltip="Move to the folder tree (Enter on a file attaches it).",
)
CHOOSER_CLOSE = Binding(
    "escape",
    "close",
    "Close",
    id="chooser.close",
    tooltip="Close the chooser; nothing is attached.",
)
# Dialogs.
DIALOG_YES = Binding("y", "yes", "Yes", id="dialog.yes", tooltip="Yes, do it.")
DIALOG_NO = Binding("n,escape", "no", "No", id="dialog.no", tooltip="No, leave it as it is.")
DIALOG_CANCEL = Binding(
    "escape", "cancel", "Cancel", id="dialog.cancel", tooltip="Close without a change."
)

PROMPT_BINDINGS = [SEND, NEWLINE]
BRANCH_BINDINGS = [
    REGENERATE,
    PREVIOUS_ALTERNATIVE,
    NEXT_ALTERNATIVE,
    SELECT_EARLIER_TURN,
    SELECT_LATER_TURN,
    EDIT_PROMPT,
    UNDO_EXCHANGE,
    REDO_EXCHANGE,
]
CHAT_BINDINGS = [
    CANCEL,
    RETRY,
    *BRANCH_BINDINGS,
    COMPARE,
    CANCEL_COLUMN,
    KEEP_REPLY,
    COMPACT,
    TOGGLE_REASONING,
    NEXT_MODEL,
    PICK_MODEL,
    CYCLE_EFFORT,
    COPY_ANSWER,
    NEW_SESSION,
    SESSIONS,
    REPLAY,
    PREVIOUS_MODEL,
    *FAVOURITES,
    COPY_CODE,
    EXPORT,
    PICK_THEME,
    OPEN_EDITOR,
    SEARCH_PROMPTS,
    STATS,
    PICK_ROLE,
    ATTACH_FILE,
]
APP_BINDINGS = [QUIT, COMMAND_PALETTE]
SESSIONS_BINDINGS = [
    SESSIONS_OPEN,
    SESSIONS_RENAME,
    SESSIONS_DELETE,
    SESSIONS_REPLAY,
    SESSIONS_BACK,
]
REPLAY_BINDINGS = [REPLAY_PAUSE, REPLAY_SKIP, REPLAY_CLOSE]
STATS_BINDINGS = [STATS_PERIOD, STATS_CLOSE]
PICKER_BINDINGS = [PICKER_SELECT, PICKER_CLOSE]
COMPARE_PICKER_BINDINGS = [COMPARE_PICKER_TOGGLE, COMPARE_PICKER_START, PICKER_CLOSE]
PROMPTS_BINDINGS = [PROMPTS_SELECT, PROMPTS_CLOSE]
ROLES_BINDINGS = [ROLES_SELECT, ROLES_CLOSE]
CONFIRM_BINDINGS = [DIALOG_YES, DIALOG_NO]
RENAME_BINDINGS = [DIALOG_CANCEL]
CHIP_BINDINGS = [CHIP_REMOVE]
CHOOSER_BINDINGS = [CHOOSER_COMPLETE, CHOOSER_TO_TREE, CHOOSER_CLOSE]
# The bindings active together, screen by screen: a key may serve one action per screen.
SCOPES: dict[str, list[Binding]] = {
    "chat": [*PROMPT_BINDINGS, *CHAT_BINDINGS, *CHIP_BINDINGS, *APP_BINDINGS],
    "sessions": [*SESSIONS_BINDINGS, *APP_BINDINGS],
    "replay": [*REPLAY_BINDINGS, *APP_BINDINGS],
    "stats": [*STATS_BINDINGS, *APP_BINDINGS],
    "model picker": [*PICKER_BINDINGS, *APP_BINDINGS],
    "compare picker": [*COMPARE_PICKER_BINDINGS, *APP_BINDINGS],
    "past prompts": [*PROMPTS_BINDINGS, *APP_BINDINGS],
    "roles": [*ROLES_BINDINGS, *APP_BINDINGS],
    "confirm": [*CONFIRM_BINDINGS, *APP_BINDINGS],
    "rename": [*RENAME_BINDINGS, *APP_BINDINGS],
    "file chooser": [*CHOOSER_BINDINGS, *APP_BINDINGS],
}
ALL_BINDINGS = [
    *PROMPT_BINDINGS,
    *CHAT_BINDINGS,
    *APP_BINDINGS,
    *SESSIONS_BINDINGS,
    *REPLAY_BINDINGS,
    *STATS_BINDINGS,
    *PICKER_BINDINGS,
    COMPARE_PICKER_TOGGLE,
    COMPARE_PICKER_START,
    *PROMPTS_BINDINGS,
    *ROLES_BINDINGS,
    *CONFIRM_BINDINGS,
    *RENAME_BINDINGS,
    *CHIP_BINDINGS,
    *CHOOSER_BINDINGS,
]


_KEY_NAMES = {
    "ctrl": "Ctrl",
    "shift": "Shift",
    "alt": "Alt",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "end": "End",
    "tab": "Tab",
    "down": "Down",
    "delete": "Delete",
    "backspace": "Backspace",
}


def key_label(binding: Binding, keymap: Mapping[str, str] | None = None) -> str:
    """The binding's first key as people write it: ``Ctrl+J``, ``Esc``, ``Enter``; the
    key ``keymap`` (binding id to keys, as in ``[keys]``) gives it instead, if any."""
    keys = binding.key
    if keymap and binding.id and keymap.get(binding.id):
        keys = keymap[binding.id]
    key = keys.split(",")[0].strip()
    return "+".join(_KEY_NAMES.get(part, part.upper()) for part in key.split("+"))


def binding_ids() -> list[str]:
    """Every id a ``[keys]`` table may name, in the order of :data:`ALL_BINDINGS`."""
    return list(dict.fromkeys(binding.id for binding in ALL_BINDINGS if binding.id))
