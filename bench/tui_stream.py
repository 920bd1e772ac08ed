"""One streamed reply in the real TUI, measured; prints one JSON object.

    python bench/tui_stream.py --tokens 50000            # as fast as the TUI takes it
    python bench/tui_stream.py --tokens 20000 --rate 3000  # paced

bench/run.py runs it in a fresh process per measurement, so the peak RSS and the garbage
collector's state belong to that one reply. The app is :class:`chatterm.tui.app.ChatApp`
itself under ``App.run_test(size=(120, 40))`` (headless) on ``demo:fast``, with a client
factory serving a long realistic Markdown reply (bench/answer.py) through the same path as
the demo: httpx, the SSE decoder, the Chat Completions translator, the accumulator, the
session recorder, the turn's panes. Headless Textual skips turning each frame into terminal
output; the bench does it anyway (and throws the text away) so frames cost what they would
on a terminal.

Definitions (times from ``time.perf_counter``):

- start: just before Enter is pressed on the prompt.
- complete: the turn's ``finish()`` ran (the whole answer rendered once more, the stats
  line set) and then the screen painted with nothing left to lay out or repaint; the
  time is that of the last frame painted (the one that showed the final screen).
- frame: the screen's update written to the terminal (``App._display``).
- tokens_s: every token streamed (reasoning and answer) / (complete - start).
- frame gaps: between consecutive frames from the first token's arrival to the last's.
- lag_after_last_ms: complete - when the last token left the server (paced runs).
- frame cost: the time the event loop spends on one tick of the streaming turn's frame clock
  (applying the pending text, the screen's live stats) plus the screen updates (layout, render,
  terminal output) until the next tick; the median over the ticks while the answer held
  about 1,000 tokens (500-1,500) and over the last 1,000 tokens.
- checkpoint CPU: thread CPU time in the session recorder's checkpoints and final save (on
  the event loop, encoding included) and in the writer thread's commits (fsync included),
  over the process's CPU time from start to complete.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from answer import ScriptedReply  # noqa: E402

SIZE = (120, 40)
PROMPT = "Write the long guide to streaming Markdown in a terminal."
TIMEOUT_S = 900.0


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


class Probe:
    """Instruments the app's classes (not chatterm's code): frames, frame-clock ticks,
    screen updates, the end of the turn and the session saves."""

    def __init__(self, reply: ScriptedReply) -> None:
        self.reply = reply
        self.frames: list[float] = []
        # start, seconds, CPU seconds, answer tokens sent
        self.ticks: list[tuple[float, float, float, int]] = []
        self.updates: list[tuple[float, float, float]] = []  # start, seconds, CPU seconds
        self.save_cpu = 0.0
        self.finished_at: float | None = None
        self.complete_at: float | None = None
        self.complete = asyncio.Event()
        self.render_output = True

    def install(self) -> type[Any]:
        """Patch the classes; returns the app class."""
        from textual.app import App
        from textual.screen import Screen

        from chatterm.sessions.recorder import SessionWriter, TurnRecorder
        from chatterm.tui.app import ChatApp
        from chatterm.tui.widgets.turn import TurnView

        probe = self
        display = App._display

        def displayed(app: App[Any], screen: Any, renderable: Any) -> None:
            if renderable is not None:
                if probe.render_output and hasattr(renderable, "render_segments"):
                    renderable.render_segments(app.console)
                probe.frames.append(time.perf_counter())
            display(app, screen, renderable)

        ChatApp._display = displayed  # type: ignore[method-assign]

        self.time_clock(TurnView)

        on_update = Screen._on_timer_update

        def timed_update(screen: Screen[Any]) -> None:
            start, cpu = time.perf_counter(), time.thread_time()
            on_update(screen)
            seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
            probe.updates.append((start, seconds, cpu))

        Screen._on_timer_update = timed_update  # type: ignore[method-assign]

        finish = TurnView.finish

        def finished(turn: TurnView, reply: Any) -> None:
            finish(turn, reply)
            probe.turn_finished(turn)

        TurnView.finish = finished  # type: ignore[method-assign]

        def cpu_timed(method: Callable[..., Any]) -> Callable[..., Any]:
            def timed(*args: Any, **kwargs: Any) -> Any:
                start = time.thread_time()
                try:
                    return method(*args, **kwargs)
                finally:
                    probe.save_cpu += time.thread_time() - start

            return timed

        TurnRecorder._checkpoint = cpu_timed(TurnRecorder._checkpoint)  # type: ignore[method-assign]
        TurnRecorder.done = cpu_timed(TurnRecorder.done)  # type: ignore[method-assign]
        SessionWriter._write = cpu_timed(SessionWriter._write)  # type: ignore[method-assign]
        return ChatApp

    def time_clock(self, owner: type[Any]) -> None:
        """Time each tick of the frame clock ``owner._on_frame`` runs (a turn's, or a
        comparison's for all its columns)."""
        probe = self
        on_frame = owner._on_frame

        def timed_frame(widget: Any) -> None:
            start, cpu = time.perf_counter(), time.thread_time()
            on_frame(widget)
            seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
            probe.ticks.append((start, seconds, cpu, probe.answer_sent()))

        owner._on_frame = timed_frame

    def answer_sent(self) -> int:
        """Answer tokens sent so far, noted with each tick."""
        return self.reply.answer_sent

    def turn_finished(self, turn: Any) -> None:
        """A turn's ``finish()`` ran: the reply is complete once the screen shows it."""
        self.finished_at = time.perf_counter()
        self.wait_for_paint(turn)

    def wait_for_paint(self, turn: Any) -> None:
        """Complete once the screen has painted with nothing left to do."""

        def check() -> None:
            screen = turn.screen
            if _dirty(screen):
                turn.call_after_refresh(check)
                return
            assert self.finished_at is not None
            painted = [t for t in self.frames if t >= self.finished_at]
            self.complete_at = painted[-1] if painted else time.perf_counter()
            self.complete.set()

        turn.call_after_refresh(check)


def _dirty(screen: Any) -> bool:
    if screen._layout_required or screen._repaint_required or screen._dirty_widgets:
        return True
    return any(
        widget._layout_required or widget._repaint_required
        for widget in screen.walk_children(with_self=False)
    )


def frame_gaps_ms(frames: list[float], first: float, last: float) -> list[float]:
    """The gaps between consecutive frames painted from ``first`` to ``last``, in ms."""
    streaming = [t for t in frames if first <= t <= last]
    return [(b - a) * 1000 for a, b in zip(streaming, streaming[1:], strict=False)]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def frame_costs(probe: Probe, low: int, high: int, cpu: bool = False) -> list[float]:
    """The cost of each frame-clock tick with ``low <= answer tokens sent < high``: the
    tick and the screen updates until the next one (wall or CPU seconds)."""
    ticks = probe.ticks
    updates = probe.updates
    pick = 2 if cpu else 1
    costs: list[float] = []
    u = 0
    for index, tick in enumerate(ticks):
        start, sent = tick[0], tick[3]
        end = ticks[index + 1][0] if index + 1 < len(ticks) else float("inf")
        while u < len(updates) and updates[u][0] < start:
            u += 1
        cost = tick[pick]
        v = u
        while v < len(updates) and updates[v][0] < end:
            cost += updates[v][pick]
            v += 1
        if low <= sent < high:
            costs.append(cost)
    return costs


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 3) if values else float("nan")


async def measure(tokens: int, rate: float, frame_s: float | None = None) -> dict[str, Any]:
    from chatterm.config import Settings
    from chatterm.tui import frame_clock
    from chatterm.tui.screens.chat import ChatScreen

    if frame_s is not None:  # a fixed frame period instead of one that follows frame costs
        frame_clock.MIN_PERIOD_S = frame_clock.MAX_PERIOD_S = frame_s  # type: ignore[misc]

    reply = ScriptedReply(tokens, rate)
    probe = Probe(reply)
    app_class = probe.install()
    app = app_class(Settings(), "demo:fast", env={}, client_factory=reply.client)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        screen.prompt.cursor_blink = False  # no frames but the reply's
        screen.prompt.text = PROMPT
        await app.workers.wait_for_complete()  # the price table, loaded at start
        await pilot.pause(0.2)
        rss_start = current_rss_mb()
        cpu_start = time.process_time()
        main_cpu = time.thread_time()
        started = time.perf_counter()
        await pilot.press("enter")
        await asyncio.wait_for(probe.complete.wait(), TIMEOUT_S)
        cpu = time.process_time() - cpu_start
        main_cpu = time.thread_time() - main_cpu
        assert probe.complete_at is not None
        (turn,) = screen.turns
        result = turn.reply
        if result is None or result.finish_reason != "stop" or result.text != reply.answer_text:
            raise SystemExit(f"the reply did not arrive whole: {result and result.finish_reason}")
    seconds = probe.complete_at - started
    first, last = reply.first_token_at, reply.last_token_at
    assert first is not None and last is not None
    gaps = frame_gaps_ms(probe.frames, first, last)
    start_window, end_window = (500, 1500), (max(0, tokens - 1000), tokens + 1)
    cost_start = median_ms(frame_costs(probe, *start_window))
    cost_end = median_ms(frame_costs(probe, *end_window))
    cpu_start = median_ms(frame_costs(probe, *start_window, cpu=True))
    cpu_end = median_ms(frame_costs(probe, *end_window, cpu=True))
    return {
        "tokens": reply.total,
        "answer_tokens": len(reply.answer),
        "rate": rate,
        "seconds": round(seconds, 4),
        "tokens_s": round(reply.total / seconds, 1),
        "lag_after_last_ms": round((probe.complete_at - last) * 1000, 1),
        "frames": len(probe.frames),
        "frame_p50_ms": round(percentile(gaps, 0.5), 2),
        "frame_p95_ms": round(percentile(gaps, 0.95), 2),
        "frame_max_ms": round(max(gaps, default=float("nan")), 2),
        "frame_cost_1k_ms": cost_start,
        "frame_cost_end_ms": cost_end,
        "frame_cost_ratio": round(cost_end / cost_start, 2),
        "frame_cpu_1k_ms": cpu_start,
        "frame_cpu_end_ms": cpu_end,
        "main_cpu_s": round(main_cpu, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_start_mb": round(rss_start, 1),
        "cpu_s": round(cpu, 3),
        "checkpoint_cpu_s": round(probe.save_cpu, 4),
        "checkpoint_cpu_share": round(probe.save_cpu / cpu, 4) if cpu else 0.0,
    }


@contextmanager
def bench_home() -> Iterator[None]:
    """A fresh CHATTERM_HOME (no user config, state or sessions) and no API key."""
    with tempfile.TemporaryDirectory(prefix="chatterm-bench-") as home:
        os.environ["CHATTERM_HOME"] = home
        for name in ("OPENAI_API_KEY", "NO_COLOR"):
            os.environ.pop(name, None)
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, required=True, help="answer tokens")
    parser.add_argument("--rate", type=float, default=0.0, help="tokens/s (0: unpaced)")
    parser.add_argument("--frame-s", type=float, help="a fixed frame clock period (seconds)")
    options = parser.parse_args()
    with bench_home():
        result = asyncio.run(measure(options.tokens, options.rate, options.frame_s))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
