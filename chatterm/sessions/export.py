"""A session as a Markdown document, or as the session file itself (JSON or TOML).

Markdown puts each prompt of the active path under a "You" heading (with a list of the
files attached to it: name, kind and size), each reply under its model's name, the
reasoning in a collapsed ``<details>`` block, and the reply's stats line in italics under
it. A turn sent with another system prompt than the turn before it (a
role chosen mid-chat) is preceded by that prompt, quoted. The other replies at a turn
(regenerated, or to an edited prompt) follow it, folded in a ``<details>`` block, each with
its model, its prompt when that was different, its reasoning, answer and stats. Text is
kept as written, except that control characters are made visible, a ``</details>`` inside
folded text is defused, and a code fence or HTML comment left open is closed where its
text ends, so no prompt or reply can swallow the rest of the document. JSON and TOML are
the session document, every branch.
"""

from __future__ import annotations

import re

from chatterm.reply.figures import format_stats, session_cost
from chatterm.sessions.codec import ExportFormat, encode, utf8_bytes
from chatterm.sessions.model import Session, Turn
from chatterm.text import safe_text

_DETAILS_END = re.compile(r"</details\s*>", re.IGNORECASE)
_DETAILS_START = re.compile(r"<(details)(?=[\s>/])", re.IGNORECASE)


def export_session(session: Session, fmt: ExportFormat) -> bytes:
    if fmt == "md":
        return utf8_bytes(to_markdown(session))
    return encode(session, fmt)


def to_markdown(session: Session) -> str:
    """The session for people to read. Control characters are made visible (a Markdown
    file gets ``cat``-ed to terminals); JSON and TOML keep the exact text."""
    return safe_text(_markdown(session))


def _markdown(session: Session) -> str:
    lines: list[str] = [f"# {_one_line(session.title) or 'Untitled chat'}", ""]
    models = ", ".join(f"`{m}`" for m in session.models) or "none"
    session.sync()
    turns = _count(len(session.turns), "turn")
    off_path = len(session.tree) - len(session.turns)
    if off_path:
        turns += f" ({_count(off_path, 'alternative')})"
    lines += [
        f"*{session.created[:16].replace('T', ' ')} · {turns} · "
        f"models {models} · {session_cost(session.costs())}*",
        "",
    ]
    if session.system:
        lines += ["**System prompt**", "", _quote(session.system), ""]
    places = session.places()
    switches = session.system_switches()
    for position, turn in enumerate(session.turns):
        alternative, alternatives = places[position]
        if position in switches:
            lines += _system_switch(switches[position])
        lines += ["## You", "", _closed(turn.prompt), "", *_attached(turn)]
        which = f" (alternative {alternative} of {alternatives})" if alternatives > 1 else ""
        summary = " (summary: sent instead of the turns above)" if turn.compacts else ""
        lines += [f"## {_one_line(turn.model)}{which}{summary}", ""]
        lines += _reply(turn)
        if alternatives > 1:
            lines += _other_replies(session, position)
    lines += _undone(session)
    return "\n".join(lines).rstrip("\n") + "\n"


def _system_switch(system: str | None) -> list[str]:
    """The system prompt the turns from here on were sent with, quoted (a role chosen
    mid-chat)."""
    if not system:
        return ["**System prompt from here on:** none", ""]
    return ["**System prompt from here on**", "", _quote(system), ""]


def _undone(session: Session) -> list[str]:
    """The exchanges undone after the active path's last turn (all of them, when every
    exchange was undone), folded: each with its prompt, model and reply."""
    leaf = session.path[-1] if session.path else None
    undone = [index for index, turn in enumerate(session.tree) if turn.parent == leaf]
    if not undone:
        return []
    where = "after the last turn" if session.path else "(every exchange was undone)"
    summary = f"{_count(len(undone), 'undone exchange')} {where}"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    for number, index in enumerate(undone, start=1):
        turn = session.tree[index]
        lines += [f"### Undone {number} of {len(undone)}: {_one_line(turn.model)}", ""]
        lines += ["**You**", "", _defused(_closed(turn.prompt)), "", *_attached(turn)]
        lines += _folded_reply(session, index)
    lines += ["</details>", ""]
    return lines


def _reply(turn: Turn, *, folded: bool = False) -> list[str]:
    """The reply's reasoning (folded), answer, stats line and error, each followed by a
    blank line. ``folded``: it goes inside a ``<details>`` block, which its answer must not
    close either."""
    lines: list[str] = []
    if turn.reasoning:
        reasoning = _defused(_closed(turn.reasoning.strip("\n")))
        lines += ["<details>", "<summary>Reasoning</summary>", "", reasoning, "", "</details>"]
        lines.append("")
    if turn.answer:
        answer = _closed(turn.answer)
        lines += [_defused(answer) if folded else answer, ""]
    lines += [f"*{format_stats(turn.to_reply())}*", ""]
    if turn.error is not None:
        lines += [f"> **error:** {_one_line(turn.error.message)}", ""]
    return lines


def _attached(turn: Turn) -> list[str]:
    """The files attached to the prompt, one list item each (``diagram.png · image ·
    212 KB``), the names as plain text: every ASCII punctuation mark is escaped, so a name
    can neither format the document nor open or close a block."""
    if not turn.attachments:
        return []
    items = [f"- {_plain(ref.describe())}" for ref in turn.attachments]
    return ["Attached:", "", *items, ""]


_MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")


def _plain(text: str) -> str:
    """``text`` as literal Markdown: each ASCII punctuation mark backslash-escaped."""
    return _MARKDOWN_PUNCTUATION.sub(lambda mark: "\\" + mark[0], text)


def _defused(text: str) -> str:
    """``text`` that cannot end the ``<details>`` block it is in, nor open one that would
    take that block's end."""
    return _DETAILS_START.sub(r"&lt;\1", _DETAILS_END.sub("&lt;/details>", text))


def _other_replies(session: Session, position: int) -> list[str]:
    """The alternatives at ``position`` other than the one on the active path, folded: each
    under its number and model, with its prompt if it differs (an edited prompt)."""
    shown = session.path[position]
    siblings = session.alternatives(position)
    others = [index for index in siblings if index != shown]
    summary = "1 other reply" if len(others) == 1 else f"{len(others)} other replies"
    lines = ["<details>", f"<summary>{summary} at this turn</summary>", ""]
    for index in others:
        turn = session.tree[index]
        number = siblings.index(index) + 1
        heading = f"Alternative {number} of {len(siblings)}: {_one_line(turn.model)}"
        lines += [f"### {heading}", ""]
        if turn.prompt != session.turns[position].prompt:
            lines += ["**You (another prompt)**", "", _defused(_closed(turn.prompt)), ""]
            lines += _attached(turn)
        lines += _folded_reply(session, index)
    lines += ["</details>", ""]
    return lines


def _folded_reply(session: Session, index: int) -> list[str]:
    """Tree turn ``index``'s reply inside a ``<details>`` block, and how many turns
    followed it in its own branch (they are not written out)."""
    lines = _reply(session.tree[index], folded=True)
    later = _later_turns(session, index)
    if later:
        lines += [f"*{_count(later, 'more turn')} followed it in its branch*", ""]
    return lines


def _later_turns(session: Session, index: int) -> int:
    """How many turns of the tree follow turn ``index``, in any branch below it."""
    below = {index}
    for child, turn in enumerate(session.tree):  # a parent is always written first
        if turn.parent in below:
            below.add(child)
    return len(below) - 1


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _closed(text: str) -> str:
    """``text`` without trailing newlines, with an open code fence or HTML comment closed."""
    text = text.rstrip("\n")
    fence: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match is None:
            continue
        marker = match.group(1)
        if fence is None:
            fence = marker
        elif (
            marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip(marker[0] + " ")
        ):
            fence = None
    if fence is not None:
        return f"{text}\n{fence}"
    if text.rfind("<!--") > text.rfind("-->"):
        return f"{text} -->"
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
