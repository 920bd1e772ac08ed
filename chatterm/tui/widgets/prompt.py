"""The prompt: a multi-line TextArea where Enter sends and ctrl+j inserts a newline (or
the other way round: ``enter_sends = false``, :func:`chatterm.tui.keymap.with_enter_setting`).

Up in the empty box recalls this chat's earlier prompts, newest first, and Down comes back
(:mod:`chatterm.tui.prompt_recall`); the screen says which prompts those are. A recalled
prompt is browsed from its first line (Up puts the cursor at the end of it) and its last
(Down puts it at the end of the text), so a multi-line one is stepped over in one press;
once it is edited, Up and Down move the cursor again.

Pasted text is taken as the user sees it: line ends become newlines and every other
control character its visible picture (``safe_text``), since a TextArea draws its text
as is and a paste (from a web page, a log with colours) may carry escape sequences that
would otherwise reach the terminal. What is shown is what is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import TextArea

from chatterm.text import safe_text
from chatterm.tui.bindings import NEWLINE, PROMPT_BINDINGS, SEND, key_label
from chatterm.tui.compat import BeforeTextAreaInput
from chatterm.tui.prompt_recall import PromptRecall


def placeholder_text(keymap: Mapping[str, str] | None = None) -> str:
    """What the empty prompt says: its two keys, as ``keymap`` (``[keys]``) has them."""
    send, newline = key_label(SEND, keymap), key_label(NEWLINE, keymap)
    return f"Message the model ({send} sends, {newline} inserts a newline)"


class PromptArea(BeforeTextAreaInput, TextArea):
    """Where the user writes. Posts :class:`PromptArea.Submitted`; never clears itself.

    The screen decides whether the text is sent (it is not while a reply streams) and
    clears the prompt when it is.
    """

    BINDINGS: ClassVar[list[BindingType]] = [*PROMPT_BINDINGS]

    DEFAULT_CSS = """
    PromptArea {
        height: auto;
        min-height: 3;
        max-height: 12;
        border: tall $primary 50%;
        &:focus {
            border: tall $primary;
        }
    }
    """

    @dataclass
    class Submitted(Message):
        """The user pressed the send key."""

        prompt: PromptArea
        text: str

        @property
        def control(self) -> PromptArea:
            return self.prompt

    def __init__(
        self,
        *,
        past_prompts: Callable[[], Sequence[str]] | None = None,
        keymap: Mapping[str, str] | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``past_prompts`` gives the prompts Up recalls, oldest first (none by default);
        ``keymap`` (``[keys]``) names the keys in the placeholder."""
        super().__init__(
            id=id,
            classes=classes,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            highlight_cursor_line=False,
            placeholder=placeholder_text(keymap),
        )
        self._past_prompts = past_prompts
        self._recall = PromptRecall()

    async def before_key(self, event: events.Key) -> None:
        # A key bound here (send, newline, and TextArea's own editing keys: Ctrl+A, Ctrl+K,
        # …) runs its action now, in order with the characters around it. Left to the
        # binding, it would run after the rest of the same burst had been typed: a fast
        # "a Enter b" gave "ab" and a newline, "Ctrl+A Ctrl+K new Enter" sent nothing.
        # (TextArea would also insert a newline for an Enter that is bound to send.)
        # Alt+letter arrives from a terminal as ESC + letter, which Textual reports with the
        # letter as its character: TextArea would type it. A bound one goes to its binding.
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.node is self:
            event.prevent_default()
            event.stop()
            await self.run_action(active.binding.action)
            return
        if event.key.startswith("alt+") and active is not None:
            event.prevent_default()

    async def before_paste(self, event: events.Paste) -> None:
        # Only the text is changed here: TextArea's own handler, which runs next, inserts
        # it (once).
        event.text = pasted_text(event.text)

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def action_newline(self) -> None:
        start, end = self.selection
        self.replace("\n", start, end, maintain_selection_offset=False)

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == 0:
            recalled = self._recall.older(self.text, self._earlier_prompts)
            if recalled is not None:
                self.put_text(recalled)
                self.move_cursor((0, len(self.document.get_line(0))))
                return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == self.document.line_count - 1:
            recalled = self._recall.newer(self.text)
            if recalled is not None:
                self.put_text(recalled)
                return
        super().action_cursor_down(select)

    def _earlier_prompts(self) -> list[str]:
        """The prompts to recall, as the box shows them (what put_text makes of them)."""
        prompts = self._past_prompts() if self._past_prompts is not None else ()
        return [pasted_text(prompt) for prompt in prompts]

    def put_text(self, text: str) -> None:
        """Replace the whole text with ``text`` (as a paste is taken: controls made
        visible), the cursor at its end; Ctrl+Z brings the previous text back."""
        self.replace(pasted_text(text), (0, 0), self.document.end, maintain_selection_offset=False)
        self.move_cursor(self.document.end)


def pasted_text(text: str) -> str:
    """A paste as the prompt takes it: CRLF and CR are newlines, other controls visible."""
    return safe_text(text.replace("\r\n", "\n").replace("\r", "\n"))
