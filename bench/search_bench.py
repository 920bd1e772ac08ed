"""The full-text search index under load: a folder of many sessions, searched and built.

The sessions read like real chats as far as an index can tell: words drawn from a
vocabulary of 40,000 made-up words with a Zipf distribution (a few very common ones, a long
tail of rare ones), prompts of 15-80 words, reasoning in two turns of three (30-200
words), answers of 60-400 words, 1-3 turns per session, and each turn's timeline recorded
as :class:`chatterm.sessions.recorder.TurnRecorder` records one (tokens of about four
characters at 30-120 tokens/s, coalesced per 16 ms frame), which makes a file about seven
times its text: 10,000 sessions are about 200 MB of files (27 MB of text). Each file
also holds one word no other file has.

    python bench/search_bench.py search --sessions 10000   # prints JSON
    python bench/search_bench.py save --tokens 50000       # the TUI streaming, index present

Figures (times from ``time.perf_counter``):

- search_ms: ``SearchIndex.search`` as ``chatterm sessions search`` makes it (a new index
  object, which opens the database, compares every file's stamp with the folder, queries
  and cuts the snippets of the first 50 sessions), the index built and the files
  unchanged; the median over runs of the slowest of five queries: a word in every
  session, a word in about one in ten, a word in one session, a two-word phrase and a
  prefix.
  search_cpu_ms: the same in CPU time (the process's): what search_ms would be on an
  idle machine.
- search_build_mb_s: the index built from nothing (``SearchIndex.refresh`` with no index
  file): megabytes of session files read per second; search_build_text_mb_s: megabytes
  of text (prompts, reasoning, answers) indexed per second; search_build_cpu_mb_s:
  megabytes of files per second of CPU time.
- search_save_ms, search_save_plain_ms: saving a 200-turn session after a reply (store.save,
  fsync included) with the index present (the new turn is indexed) and without one;
  search_save_index_ms: the index's part of search_save_ms (the update after the write;
  the snapshot before it takes well under a millisecond).
- search_checkpoint_cpu_share: bench/tui_stream.py's checkpoint_cpu_share (a 50k-token
  answer streamed in the real TUI), with a search index present in the sessions folder,
  so the save at the end of the reply indexes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from itertools import accumulate
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatterm.events import Usage  # noqa: E402
from chatterm.pricing import Cost  # noqa: E402
from chatterm.reply.metrics import Metrics  # noqa: E402
from chatterm.sessions.codec import encode  # noqa: E402
from chatterm.sessions.model import (  # noqa: E402
    FRAME_MS,
    Session,
    TimelineEntry,
    Turn,
    new_session,
    title_from_prompt,
)
from chatterm.sessions.search import SearchIndex  # noqa: E402
from chatterm.sessions.search_query import parse_query  # noqa: E402
from chatterm.sessions.store import SessionStore  # noqa: E402

VOCABULARY = 40_000
POOL = 400  # distinct sessions; each file is one of them under its own id, date and word
PLACEHOLDER_ID = "s999999"
PLACEHOLDER_DATE = "2026-99-99T99:99:99.999Z"
PLACEHOLDER_WORD = "zzzzzzzzzz"  # replaced by a word of the same width, one per file


class Writer:
    """Text with the word frequencies of a natural language (Zipf, s = 1)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
        words: set[str] = set()
        while len(words) < VOCABULARY:
            words.add("".join(self.rng.choices(syllables, k=self.rng.randint(1, 4))))
        self.words = sorted(words, key=lambda w: (len(w), w))  # the short ones commonest
        self.weights = list(accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))

    def text(self, count: int) -> str:
        words = self.rng.choices(self.words, cum_weights=self.weights, k=count)
        lines: list[str] = []
        for start in range(0, count, 12):
            line = " ".join(words[start : start + 12])
            lines.append(line + ("." if self.rng.random() < 0.7 else ","))
        return "\n".join(lines)

    def timeline(self, kind: str, text: str, timeline: list[TimelineEntry], at: float) -> float:
        rate = self.rng.uniform(30, 120)
        for start in range(0, len(text), 4):
            at += self.rng.expovariate(rate) * 1000
            offset = round(at)
            last = timeline[-1] if timeline else None
            if last is not None and last.kind == kind and offset - last.offset_ms < FRAME_MS:
                last.text += text[start : start + 4]
            else:
                timeline.append(TimelineEntry(offset, kind, text[start : start + 4]))  # type: ignore[arg-type]
        return at

    def turn(self, prompt: str) -> Turn:
        reasoning = self.text(self.rng.randint(30, 200)) if self.rng.random() < 0.67 else ""
        answer = self.text(self.rng.randint(60, 400))
        timeline: list[TimelineEntry] = []
        at = self.timeline("reasoning", reasoning, timeline, self.rng.uniform(200, 2000))
        at = self.timeline("answer", answer, timeline, at)
        return Turn(
            prompt=prompt,
            model="openai:gpt-5-mini",
            started="2026-11-21T10:00:00.000Z",
            reasoning=reasoning,
            answer=answer,
            finish_reason="stop",
            usage=Usage(input_tokens=500, output_tokens=len(answer) // 4),
            metrics=Metrics(ttft_ms=500.0, duration_ms=at, tokens_per_s=60.0),
            cost=Cost(usd=0.001, source="price_table"),
            timeline=timeline,
        )

    def session(self, turns: int, session_id: str = PLACEHOLDER_ID) -> Session:
        session = new_session(session_id=session_id)
        for index in range(turns):
            prompt = self.text(self.rng.randint(15, 80))
            if index == 0:
                prompt += f" {PLACEHOLDER_WORD}"
            session.add(self.turn(prompt))
        session.title = title_from_prompt(session.turns[0].prompt)
        session.updated = PLACEHOLDER_DATE
        return session


def unique_word(index: int) -> str:
    return f"uniq{index:06d}"  # as wide as the placeholder


def make_folder(folder: Path, sessions: int, seed: int = 3) -> dict[str, float]:
    """``sessions`` JSON session files in ``folder``; returns their size and text in MB."""
    writer = Writer(seed)
    rng = random.Random(seed)
    pool = []
    for _ in range(POOL):
        session = writer.session(rng.choice((1, 1, 1, 2, 2, 3)))
        text = sum(len((t.prompt + t.reasoning + t.answer).encode()) for t in session.tree) - len(
            PLACEHOLDER_WORD
        )
        pool.append((encode(session, "json"), text))
    file_bytes = text_bytes = 0
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(sessions):
        raw, text = pool[index % POOL]
        session_id = f"s{index:06d}"
        updated = f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}T10:{index % 60:02d}:00.000Z"
        raw = raw.replace(f'"{PLACEHOLDER_ID}"'.encode(), f'"{session_id}"'.encode(), 1)
        raw = raw.replace(f'"{PLACEHOLDER_DATE}"'.encode(), f'"{updated}"'.encode(), 1)
        raw = raw.replace(PLACEHOLDER_WORD.encode(), unique_word(index).encode())
        (folder / f"{session_id}.json").write_bytes(raw)
        file_bytes += len(raw)
        text_bytes += text + len(unique_word(index))
    return {"files_mb": file_bytes / 1e6, "text_mb": text_bytes / 1e6}


def queries(writer: Writer, sessions: int) -> dict[str, str]:
    return {
        "common": writer.words[0],  # in every session
        "tenth": writer.words[600],  # in about one session in ten
        "one": unique_word(sessions // 2),
        "phrase": f'"{writer.words[0]} {writer.words[1]}"',
        "prefix": writer.words[5][:2] + "*",
    }


def bench_search(sessions: int, runs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"search_sessions": sessions}
    with tempfile.TemporaryDirectory(prefix="chatterm-bench-") as name:
        folder = Path(name) / "sessions"
        size = make_folder(folder, sessions)
        figures["search_files_mb"] = round(size["files_mb"], 1)
        figures["search_text_mb"] = round(size["text_mb"], 1)
        start, cpu = time.perf_counter(), time.process_time()
        notes = SearchIndex(folder).refresh()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert not notes, notes
        figures["search_build_s"] = round(seconds, 2)
        figures["search_build_mb_s"] = round(size["files_mb"] / seconds, 1)
        figures["search_build_text_mb_s"] = round(size["text_mb"] / seconds, 1)
        figures["search_build_cpu_mb_s"] = round(size["files_mb"] / cpu, 1)
        figures["search_index_mb"] = round((folder / ".search.sqlite3").stat().st_size / 1e6, 1)
        slowest: list[float] = []
        slowest_cpu: list[float] = []
        by_query: dict[str, list[float]] = {}
        words = queries(Writer(3), sessions)
        for text in words.values():  # warm: the pages read once
            SearchIndex(folder).search(parse_query(text))
        for _ in range(runs):
            times = []
            cpu_times = []
            for kind, text in words.items():
                query = parse_query(text)
                begin, cpu = time.perf_counter(), time.process_time()
                results = SearchIndex(folder).search(query)
                elapsed = (time.perf_counter() - begin) * 1000
                cpu_times.append((time.process_time() - cpu) * 1000)
                assert results.hits and not results.notes, (kind, results.notes)
                if kind == "one":
                    assert results.total == 1, results.total
                by_query.setdefault(kind, []).append(elapsed)
                times.append(elapsed)
            slowest.append(max(times))
            slowest_cpu.append(max(cpu_times))
        figures["search_ms"] = round(statistics.median(slowest), 1)
        figures["search_cpu_ms"] = round(statistics.median(slowest_cpu), 1)
        for kind, times in by_query.items():
            figures[f"search_{kind}_ms"] = round(statistics.median(times), 1)
        figures.update(bench_save(Path(name) / "save", runs))
    return figures


def bench_save(folder: Path, runs: int, turns: int = 200) -> dict[str, Any]:
    """Saving a ``turns``-turn session after one more reply, as store.save does it, with
    and without an index in the folder (the index holds the session as it was before the
    reply); and, with it, the part that keeps the index (the snapshot, the update)."""
    writer = Writer(5)
    figures: dict[str, Any] = {}
    index_ms = []
    for label, indexed in (("search_save_plain_ms", False), ("search_save_ms", True)):
        times = []
        for run in range(runs):
            where = folder / f"{label}-{run}"
            where.mkdir(parents=True)
            store = SessionStore(where)
            session = writer.session(turns, session_id=f"s{run:06d}")
            store.save(session)
            if indexed:
                SearchIndex(where).refresh()
            session.add(writer.turn(writer.text(30) + " lastturnword"))
            start = time.perf_counter()
            text = store.searchable_text(session)  # as store.save does it
            path, data = store.prepare(session)
            store.commit(path, data)
            before_index = time.perf_counter()
            if text is not None:
                store.index_saved(path, text)
            end = time.perf_counter()
            times.append((end - start) * 1000)
            if indexed:
                index_ms.append((end - before_index + 0.0) * 1000)
                found = SearchIndex(where).search(parse_query("lastturnword"))
                assert found.total == 1 and found.hits[0].turn == turns + 1
        figures[label] = round(statistics.median(times), 1)
    figures["search_save_index_ms"] = round(statistics.median(index_ms), 1)
    return figures


def bench_tui_save(tokens: int) -> dict[str, Any]:
    """bench/tui_stream.py's measurement with a search index in the sessions folder."""
    sys.path.insert(0, str(ROOT / "bench"))
    import tui_stream

    from chatterm.sessions.store import sessions_dir

    with tempfile.TemporaryDirectory(prefix="chatterm-bench-") as home:
        os.environ["CHATTERM_HOME"] = home
        for name in ("OPENAI_API_KEY", "NO_COLOR"):
            os.environ.pop(name, None)
        folder = sessions_dir()
        folder.mkdir(parents=True)
        assert not SearchIndex(folder).refresh()  # an empty index: saves now keep it
        result = asyncio.run(tui_stream.measure(tokens, 0.0))
        # The reply's last words are in the index: the save at its end put them there.
        found = SearchIndex(folder).search(parse_query('"' + "streaming Markdown" + '"'))
        assert found.total == 1, found
    return {
        "search_checkpoint_cpu_share": result["checkpoint_cpu_share"],
        "search_checkpoint_cpu_s": result["checkpoint_cpu_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("search", "save"))
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=50_000)
    options = parser.parse_args()
    if options.what == "search":
        figures = bench_search(options.sessions, options.runs)
    else:
        figures = bench_tui_save(options.tokens)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
