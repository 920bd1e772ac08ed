"""What a frame costs, counted rather than timed: the answer pane renders Markdown only
for its live segment (once per change) and for each segment as it freezes (once).

Every Markdown render goes through :class:`~chatterm.tui.markdown.look.ThemedMarkdown`,
so counting its renders per frame (between two screen updates) shows what a frame
redraws, however fast or slow the machine is. bench/run.py times the same path.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from textual.app import App, ComposeResult
from tui_helpers import SIZE, chat, chunk, finish_reply, send

from chatterm.config import Settings
from chatterm.providers.registry import ResolvedModel
from chatterm.tui.app import ChatApp
from chatterm.tui.markdown.look import ThemedMarkdown
from chatterm.tui.segments import split_all
from chatterm.tui.widgets.answer_pane import AnswerPane
from chatterm.tui.widgets.markdown_lines import FrozenSegments, MarkdownLines


def long_answer(blocks: int = 60) -> str:
    """Markdown as a model writes it: headings, paragraphs, lists, code and tables."""
    parts = []
    for i in range(blocks):
        kind = i % 6
        if kind == 0:
            parts.append(f"## Part {i}\n\nA paragraph with `code`, **bold** and *italics* {i}.")
        elif kind == 1:
            parts.append("\n".join(f"- item {i}.{j} of a tight list" for j in range(6)))
        elif kind == 2:
            body = "\n".join(f"    total += {j} * {i}" for j in range(8))
            parts.append(f"```python\ndef f_{i}():\n    total = 0\n{body}\n    return total\n```")
        elif kind == 3:
            rows = "\n".join(f"| r{j} | {i * j} | x |" for j in range(5))
            parts.append(f"| name | value | note |\n|---|--:|---|\n{rows}")
        elif kind == 4:
            parts.append("\n".join(f"{j}. step {j} of part {i}" for j in range(1, 5)))
        else:
            parts.append(f"Another paragraph, number {i}, " + "with words " * 20 + "to wrap.")
    return "\n\n".join(parts) + "\n"


def pieces(text: str, size: int = 11) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


class RenderLog:
    """Every Markdown render, with the frame it happened in, and the sources the pane
    froze and showed live."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.frame = 0
        self.renders: list[tuple[int, str]] = []  # (frame, source)
        self.frozen: list[tuple[int, str]] = []  # (frame, source) as segments froze
        self.live: Counter[str] = Counter()  # live sources set
        log = self
        render = ThemedMarkdown.__rich_console__

        def counted(markdown: ThemedMarkdown, console: Any, options: Any) -> Any:
            log.renders.append((log.frame, markdown.source))
            return render(markdown, console, options)

        monkeypatch.setattr(ThemedMarkdown, "__rich_console__", counted)
        add = FrozenSegments.add

        def added(frozen: FrozenSegments, source: str, *args: Any) -> None:
            log.frozen.append((log.frame, source))
            add(frozen, source, *args)

        monkeypatch.setattr(FrozenSegments, "add", added)
        append = MarkdownLines.append

        def appended(lines: MarkdownLines, text: str) -> None:
            append(lines, text)
            for source in lines.sources[len(lines.frozen) :]:  # the live tail
                log.live[source] += 1

        monkeypatch.setattr(MarkdownLines, "append", appended)

    def next_frame(self) -> None:
        self.frame += 1

    def check_streaming(self, upto: int | None = None, *, per_frame: bool = True) -> None:
        """Up to frame ``upto``: every source shown (live, then frozen) rendered once;
        in a frame, only the live segment and the segments that froze since the last.

        ``per_frame=False`` skips the per-frame count: in the whole app, a busy machine
        can run two frame-clock ticks (each rendering new live text) between two displays.
        No source is rendered twice either way."""
        renders = [
            (frame, source) for frame, source in self.renders if upto is None or frame < upto
        ]
        frozen = {source for _, source in self.frozen}
        counts = Counter(source for _, source in renders)
        assert set(counts) <= frozen | set(self.live), "a render of something not shown"
        twice = [source[:40] for source, count in counts.items() if count > 1]
        assert not twice, f"{len(twice)} sources rendered more than once: {twice[:3]}"
        if not per_frame:
            return
        frame_counts = Counter(frame for frame, _ in renders)
        frozen_per_frame = Counter(frame for frame, _ in self.frozen)
        for frame, count in frame_counts.items():
            assert count <= 1 + frozen_per_frame[frame] + frozen_per_frame[frame - 1]


class AnswerApp(App[None]):
    CSS = "Screen { scrollbar-gutter: stable; }"  # a scrollbar appearing would re-wrap

    def compose(self) -> ComposeResult:
        yield AnswerPane()


async def test_the_answer_pane_rerenders_only_its_live_segment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = RenderLog(monkeypatch)
    text = long_answer(40)
    app = AnswerApp()
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(AnswerPane)
        app.post_display_hook = log.next_frame  # type: ignore[method-assign]
        for piece in pieces(text, 97):
            pane.append(piece)
            await pilot.pause()  # a frame per append
        await pilot.pause()
        streamed_frames = log.frame
        assert len(log.frozen) >= 8 and streamed_frames >= 40
        log.check_streaming()
        # The pane stays one widget, however many segments froze.
        assert not pane.children
        before = len(log.renders)
        pane.finish()
        await pilot.pause()
        # Finishing renders at most the segments the live tail becomes (none here: the
        # tail drawn last is one whole segment, and keeps its lines).
        frozen_sources = {source for _, source in log.frozen}
        final = [source for _, source in log.renders[before:]]
        assert set(final) <= set(pane.sources) - frozen_sources
        assert len(final) == len(set(final))
        assert pane.lines.frozen.sources == split_all(text)
        # Frames with nothing new render nothing.
        quiet = len(log.renders)
        for _ in range(3):
            pane.refresh()
            await pilot.pause()
        assert len(log.renders) == quiet


async def test_a_streamed_reply_in_the_app_rerenders_only_the_live_segment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole path: the demo model's client serves a long answer in small reads; the
    frame clock applies them; Markdown is rendered as in the pane on its own."""
    log = RenderLog(monkeypatch)
    text = long_answer(36)

    async def body() -> AsyncIterator[bytes]:
        yield chunk({"role": "assistant", "content": ""})
        for index, piece in enumerate(pieces(text, 7)):
            yield chunk({"content": piece})
            if index % 8 == 0:
                await asyncio.sleep(0.005)  # spread over many frames
        yield chunk({}, "stop") + b"data: [DONE]\n\n"

    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    def factory(target: ResolvedModel) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(handler))

    app = ChatApp(Settings(), "demo:fast", env={}, client_factory=factory)
    async with app.run_test(size=SIZE) as pilot:
        app.post_display_hook = log.next_frame  # type: ignore[method-assign]
        await send(pilot, "a long answer please")
        await finish_reply(pilot)
        (turn,) = chat(app).turns
        assert turn.reply is not None and turn.reply.text == text
        frozen_sources = {source for _, source in log.frozen}
        assert len(frozen_sources) >= 5 and log.frame >= 5
        finished_at = max(frame for frame, source in log.renders if source not in frozen_sources)
        log.check_streaming(upto=finished_at, per_frame=False)
        assert turn.answer.lines.frozen.sources == split_all(text)
        # Each segment frozen while streaming was rendered once, and never again.
        counts = Counter(source for _, source in log.renders)
        assert all(counts[source] == 1 for source in frozen_sources)
