"""Session files for the benchmarks: realistic long sessions, and a folder of many.

A turn looks like one from a real chat: a prompt of 15-80 tokens, 40-250 tokens of
reasoning (a third of the turns have none), an answer of 120-700 tokens of Markdown
(bench/answer.py), usage, metrics and a cost, and a timeline recorded the way
:class:`chatterm.sessions.recorder.TurnRecorder` records one: tokens arriving at 30-120
tokens/s after a TTFT of 0.2-2 s, coalesced per kind within a 16 ms frame (so at most
about 60 entries a second).

    python bench/sessions_bench.py open --turns 2000   # prints JSON
    python bench/sessions_bench.py list --sessions 10000
    python bench/sessions_bench.py tui --turns 200     # the chat screen opening it
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from answer import markdown_answer, reasoning_text  # noqa: E402

from chatterm.events import Usage  # noqa: E402
from chatterm.pricing import Cost  # noqa: E402
from chatterm.providers.demo import split_tokens  # noqa: E402
from chatterm.reply.metrics import Metrics  # noqa: E402
from chatterm.sessions.codec import SessionFormat, encode  # noqa: E402
from chatterm.sessions.index import list_summaries, summarize  # noqa: E402
from chatterm.sessions.model import (  # noqa: E402
    FRAME_MS,
    Session,
    TimelineEntry,
    TimelineKind,
    Turn,
    new_session,
    title_from_prompt,
)
from chatterm.sessions.store import SessionStore  # noqa: E402

POOL = 48  # distinct answers and reasonings to draw from (generating each is slow)
MODELS = ("openai:gpt-5-mini", "openai:o4-mini", "deepseek:deepseek-reasoner", "demo")


class TurnMaker:
    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.answers = [markdown_answer(self.rng.randint(120, 700), seed=i) for i in range(POOL)]
        self.reasonings = [reasoning_text(self.rng.randint(40, 250), seed=i) for i in range(POOL)]
        self.prompts = [
            reasoning_text(self.rng.randint(15, 80), seed=i + POOL) for i in range(POOL)
        ]

    def turn(self, model: str | None = None) -> Turn:
        rng = self.rng
        prompt = "".join(rng.choice(self.prompts)).strip()
        reasoning = rng.choice(self.reasonings) if rng.random() < 0.67 else []
        answer = rng.choice(self.answers)
        rate = rng.uniform(30, 120)  # tokens/s
        ttft = rng.uniform(200, 2000)  # ms
        timeline: list[TimelineEntry] = []
        at = 0.0
        for kind, tokens in (("reasoning", reasoning), ("answer", answer)):
            for token in tokens:
                at += rng.expovariate(rate) * 1000
                _record(timeline, ttft + at, kind, token)  # type: ignore[arg-type]
        duration = ttft + at
        output = len(reasoning) + len(answer)
        usd = round(output * 2e-6 + len(split_tokens(prompt)) * 0.25e-6, 8)
        return Turn(
            prompt=prompt,
            model=model or rng.choice(MODELS),
            started="2026-11-21T10:00:00.000Z",
            reasoning="".join(reasoning),
            answer="".join(answer),
            finish_reason="stop",
            usage=Usage(
                input_tokens=rng.randint(20, 9000),
                output_tokens=output,
                reasoning_tokens=len(reasoning),
                cached_input_tokens=rng.choice((0, 0, 1024, 4096)),
            ),
            metrics=Metrics(
                ttft_ms=round(ttft, 1),
                first_answer_ms=round(ttft + (at * len(reasoning) / max(1, output)), 1),
                duration_ms=round(duration, 1),
                tokens_per_s=round(output / max(0.001, at / 1000), 1),
            ),
            cost=Cost(usd=usd, source="price_table"),
            timeline=timeline,
        )

    def session(self, turns: int, session_id: str | None = None) -> Session:
        session = new_session(session_id=session_id)
        model = self.rng.choice(MODELS)
        session.turns = [self.turn(model) for _ in range(turns)]
        session.title = title_from_prompt(session.turns[0].prompt) if turns else ""
        return session


def _record(timeline: list[TimelineEntry], at_ms: float, kind: TimelineKind, text: str) -> None:
    """As TurnRecorder._add: joins the newest entry of its kind within one frame."""
    offset = round(at_ms)
    for entry in reversed(timeline[-2:]):
        if offset - entry.offset_ms >= FRAME_MS:
            break
        if entry.kind == kind:
            entry.text += text
            return
    timeline.append(TimelineEntry(offset, kind, text))


def median_ms(runs: int, measure: Any) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        measure()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1)


def bench_open(turns: int, runs: int, formats: tuple[SessionFormat, ...]) -> dict[str, Any]:
    """Load one ``turns``-turn session through SessionStore.load, in each format."""
    maker = TurnMaker()
    session = maker.session(turns)
    entries = sum(len(turn.timeline) for turn in session.turns)
    figures: dict[str, Any] = {"session_open_timeline_entries": entries}
    with tempfile.TemporaryDirectory(prefix="chatterm-bench-") as folder:
        for fmt in formats:
            path = Path(folder) / f"{session.id}.{fmt}"
            path.write_bytes(encode(session, fmt))
            assert SessionStore(Path(folder)).load(session.id).turns[-1].answer
            suffix = "" if fmt == "json" else f"_{fmt}"
            figures[f"session_open{suffix}_ms"] = median_ms(
                runs, lambda: SessionStore(Path(folder)).load(session.id)
            )
            figures[f"session_file{suffix}_mb"] = round(path.stat().st_size / 1e6, 1)
            path.unlink()
    return figures


def make_folder(folder: Path, sessions: int, seed: int = 2) -> dict[str, Session]:
    """``sessions`` JSON files of 1-6 turns each, written directly (no fsync).

    Encoding 10,000 sessions would take minutes: a pool of sessions is encoded once and
    each file is one of them under its own id and date (same-width text replaced in the
    bytes, so the file is exactly what the encoder would write for it). Returns the pool
    session behind each file name.
    """
    maker = TurnMaker(seed)
    rng = random.Random(seed)
    pool = []
    for _ in range(POOL):
        session = maker.session(rng.choice((1, 1, 2, 2, 3, 4, 6)), session_id=PLACEHOLDER_ID)
        session.updated = PLACEHOLDER_DATE
        pool.append((session, encode(session, "json")))
    made: dict[str, Session] = {}
    for index in range(sessions):
        session, raw = pool[index % POOL]
        session_id = f"s{index:06d}"
        updated = f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}T10:{index % 60:02d}:00.000Z"
        raw = raw.replace(f'"{PLACEHOLDER_ID}"'.encode(), f'"{session_id}"'.encode(), 1)
        raw = raw.replace(f'"{PLACEHOLDER_DATE}"'.encode(), f'"{updated}"'.encode(), 1)
        name = f"{session_id}.json"
        (folder / name).write_bytes(raw)
        made[name] = replace(session, id=session_id, updated=updated)
    return made


PLACEHOLDER_ID = "s999999"
PLACEHOLDER_DATE = "2026-99-99T99:99:99.999Z"


def bench_list(sessions: int, runs: int, cold: bool) -> dict[str, Any]:
    """List ``sessions`` sessions with the index in place (and, if ``cold``, once without
    it, as after an upgrade: every file is parsed and the index rebuilt)."""
    with tempfile.TemporaryDirectory(prefix="chatterm-bench-") as name:
        folder = Path(name)
        made = make_folder(folder, sessions)
        figures: dict[str, Any] = {}
        if cold:
            start = time.perf_counter()
            listed = SessionStore(folder).list()
            figures["session_list_cold_ms"] = round((time.perf_counter() - start) * 1000, 1)
        else:
            # The index as listing would build it, without parsing 10,000 files to get it.
            listed = list_summaries(
                folder, lambda path, fmt: summarize(made[path.name], fmt, path.name)
            )
        assert len(listed) == sessions and not any(s.problem for s in listed)
        assert SessionStore(folder).list() == listed
        figures["session_list_ms"] = median_ms(runs, lambda: SessionStore(folder).list())
        return figures


async def _open_in_tui(turns: int) -> float:
    from chatterm.config import Settings
    from chatterm.sessions.store import sessions_dir
    from chatterm.tui.app import ChatApp
    from chatterm.tui.screens.chat import ChatScreen
    from chatterm.tui.widgets.conversation import TURNS_SHOWN

    session = TurnMaker().session(turns)
    folder = sessions_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{session.id}.json").write_bytes(encode(session, "json"))
    app = ChatApp(Settings(), "demo:fast", env={})
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        start = time.perf_counter()
        await screen.open_session(session.id)
        await pilot.pause()  # laid out and painted
        seconds = time.perf_counter() - start
        assert len(screen.turns) == min(turns, TURNS_SHOWN)  # the rest on demand
        assert not screen.conversation.max_scroll_y or screen.conversation.scroll_y > 0
    return seconds * 1000


def bench_tui_open(turns: int) -> dict[str, Any]:
    """Open a ``turns``-turn session on the chat screen (sessions screen's Enter)."""
    import asyncio

    with tempfile.TemporaryDirectory(prefix="chatterm-bench-") as home:
        os.environ["CHATTERM_HOME"] = home
        try:
            ms = asyncio.run(_open_in_tui(turns))
        finally:
            os.environ.pop("CHATTERM_HOME", None)
    return {f"session_open_tui_{turns}_ms": round(ms, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("open", "list", "tui"))
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--formats", default="json,toml")
    parser.add_argument("--cold", action="store_true", help="also list without the index")
    options = parser.parse_args()
    os.environ.pop("CHATTERM_HOME", None)
    if options.what == "open":
        formats = tuple(options.formats.split(","))
        figures = bench_open(options.turns, options.runs, formats)  # type: ignore[arg-type]
    elif options.what == "tui":
        figures = bench_tui_open(options.turns)
    else:
        figures = bench_list(options.sessions, options.runs, options.cold)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
