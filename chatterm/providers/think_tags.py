"""Split inline ``<think>…</think>`` reasoning out of answer text, tags split anywhere.

Open models served without a reasoning parser put their thoughts in the answer text. The
tags may arrive cut across chunks (``"<th"`` + ``"ink>"``), so text that could be the start
of a tag is held back until the next chunk settles it. Templates for QwQ, Qwen3 and newer
DeepSeek-R1 put ``<think>`` in the prompt, so the output starts inside the thoughts and only
``</think>`` appears: the text is shown as answer until then, and the closing tag turns it
into reasoning (:class:`AnswerWasReasoning`) when it starts or ends a line and no code fence
came first. Only a tag at
the start of the output opens reasoning; one later in an answer (say, in code) is content.
"""

from __future__ import annotations

import re

from chatterm.events import AnswerWasReasoning, Event, ReasoningDelta, TextDelta

OPEN = "<think>"
_BLANK_LINES = re.compile(r"^(?:[ \t]*\r?\n)+")
CLOSE = "</think>"


def _held_suffix(text: str, tag: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


class ThinkTagSplitter:
    """Feed answer text; get reasoning and answer events with the tags removed."""

    def __init__(self) -> None:
        self._mode = "start"  # start | think | answer | plain
        self._held = ""
        self._strip_leading = False  # drop the blank lines after </think>
        self._lead = ""  # whitespace after </think> not yet known to be a blank line
        self._recent = ""  # last answer characters, to see a code fence cut across chunks

    def feed(self, text: str) -> list[Event]:
        events: list[Event] = []
        buf = self._held + text
        self._held = ""
        while buf:
            buf = self._step(buf, events)
        return events

    def close(self) -> list[Event]:
        """End of stream: text held back as a possible tag start was plain text after all."""
        held, self._held = self._held, ""
        if not held or (self._mode == "start" and not held.strip()):
            return []
        if self._mode == "think":
            return [ReasoningDelta(held)]
        if self._mode == "answer" and held == CLOSE:
            return [AnswerWasReasoning()]  # the output ended right after its thoughts
        return self._answer(held)

    def stop_looking(self) -> None:
        """The server separates reasoning itself: inline tags are no longer expected."""
        if self._mode in ("start", "answer"):
            self._mode = "plain"

    def _step(self, buf: str, events: list[Event]) -> str:
        """Consume a prefix of ``buf``; return what is left."""
        if self._mode == "start":
            stripped = buf.lstrip()
            if not stripped or (OPEN.startswith(stripped) and len(stripped) < len(OPEN)):
                self._held = buf
                return ""
            if stripped.startswith(OPEN):
                self._mode = "think"
                return stripped[len(OPEN) :]
            self._mode = "answer"  # maybe inside thoughts whose <think> was in the prompt
            return buf
        if self._mode == "think":
            end = buf.find(CLOSE)
            if end >= 0:
                if end:
                    events.append(ReasoningDelta(buf[:end]))
                self._mode = "plain"
                self._strip_leading = True
                return buf[end + len(CLOSE) :]
            return self._emit_holding(buf, CLOSE, events, reasoning=True)
        if self._mode == "answer":
            end, undecided = self._find_close(buf)
            fence = (self._recent + buf).find("```")  # may start in the previous chunk
            if fence >= 0 and (end < 0 or fence - len(self._recent) < end):
                # A code block means a real answer: a </think> after it is content.
                self._mode = "plain"
                return buf
            if undecided:
                # The tag ends this chunk mid-line: what follows it decides.
                events.extend(self._answer(buf[:end]))
                self._held = buf[end:]
                return ""
            if end >= 0:
                events.extend(self._answer(buf[:end]))
                events.append(AnswerWasReasoning())
                self._mode = "plain"
                self._strip_leading = True
                return buf[end + len(CLOSE) :]
            return self._emit_holding(buf, CLOSE, events, reasoning=False)
        events.extend(self._answer(buf))
        return ""

    def _find_close(self, buf: str) -> tuple[int, bool]:
        """Where a bare ``</think>`` closes thoughts: at the start or the end of a line.

        "the `</think>` tag" in prose is content. Returns the index (or -1) and whether the
        tag ends ``buf`` mid-line, so that the next chunk must decide.
        """
        end = buf.find(CLOSE)
        while end >= 0:
            before = buf[end - 1] if end else self._recent[-1:]
            after = buf[end + len(CLOSE) : end + len(CLOSE) + 1]
            if before in ("", "\n") or after in ("\n", "\r"):
                return end, False
            if not after:
                return end, True
            end = buf.find(CLOSE, end + 1)
        return -1, False

    def _emit_holding(self, buf: str, tag: str, events: list[Event], *, reasoning: bool) -> str:
        hold = _held_suffix(buf, tag)
        if hold:
            self._held = buf[-hold:]
            buf = buf[:-hold]
        if buf:
            events.extend([ReasoningDelta(buf)] if reasoning else self._answer(buf))
        return ""

    def _answer(self, text: str) -> list[Event]:
        if self._strip_leading:
            # Drop the blank lines after </think>, but keep an indented first line's indent,
            # which may arrive in a chunk of its own.
            text = _BLANK_LINES.sub("", self._lead + text)
            if not text.strip():
                self._lead = text
                return []
            self._lead = ""
            self._strip_leading = False
        if not text:
            return []
        self._recent = (self._recent + text)[-2:]
        return [TextDelta(text)]
