"""A session as a Markdown document, or as the session file itself (JSON or TOML).

Markdown puts each prompt under a "You" heading, each reply under its model's name, the
reasoning in a collapsed ``<details>`` block, and the reply's stats line in italics under
it. Text is kept as written, except that control characters are made visible, a
``</details>`` inside reasoning is defused, and a code fence or HTML comment left open is
closed where its text ends, so no prompt or reply can swallow the rest of the document.
"""

from __future__ import annotations

import re

from chatterm.reply.figures import format_stats, session_cost
from chatterm.sessions.codec import ExportFormat, encode, utf8_bytes
from chatterm.sessions.model import Session
from chatterm.text import safe_text

_DETAILS_END = re.compile(r"</details\s*>", re.IGNORECASE)


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
    lines += [
        f"*{session.created[:16].replace('T', ' ')} · {_count(len(session.turns), 'turn')} · "
        f"models {models} · {session_cost(session.costs())}*",
        "",
    ]
    if session.system:
        lines += ["**System prompt**", "", _quote(session.system), ""]
    for turn in session.turns:
        lines += ["## You", "", _closed(turn.prompt), ""]
        lines += [f"## {_one_line(turn.model)}", ""]
        if turn.reasoning:
            reasoning = _DETAILS_END.sub("&lt;/details>", _closed(turn.reasoning.strip("\n")))
            lines += ["<details>", "<summary>Reasoning</summary>", "", reasoning, "", "</details>"]
            lines.append("")
        if turn.answer:
            lines += [_closed(turn.answer), ""]
        lines += [f"*{format_stats(turn.to_reply())}*", ""]
        if turn.error is not None:
            lines += [f"> **error:** {_one_line(turn.error.message)}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


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
