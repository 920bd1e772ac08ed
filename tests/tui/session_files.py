"""Session files written as chatterm 1 wrote them (version 1 JSON), for the TUI tests that
only need saved chats to read: a later schema still loads them unchanged."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def write_session(
    folder: Path, session_id: str, title: str, prompts: Sequence[str], updated: str
) -> Path:
    """A version-1 session file with one finished turn per prompt, updated at ``updated``
    (ISO 8601); each turn starts a minute after the one before, from ``updated``'s day."""
    turns = [
        {
            "prompt": prompt,
            "model": "demo",
            "started": f"{updated[:10]}T09:{minute:02d}:00.000Z",
            "finish_reason": "stop",
            "reasoning": "",
            "answer": f"answer {minute}",
            "usage": {"input_tokens": 1, "output_tokens": 2, "reasoning_tokens": 0},
            "metrics": {},
            "timeline": [],
        }
        for minute, prompt in enumerate(prompts)
    ]
    document = {
        "chatterm_session": 1,
        "id": session_id,
        "title": title,
        "created": updated,
        "updated": updated,
        "turns": turns,
        "end": {"turns": len(turns)},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{session_id}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path
