"""Several models answering one prompt side by side in the real TUI, measured; prints one
JSON object.

    python bench/tui_compare.py --tokens 10000 --rate 1000       # four columns, 200x50
    python bench/tui_compare.py --tokens 2000 --rate 1000 --models 2 --profile out.prof

bench/run.py runs it in a fresh process per measurement. The app is
:class:`chatterm.tui.app.ChatApp` under ``App.run_test(size=(200, 50))`` (headless; each
frame turned into terminal output as bench/tui_stream.py does), with one OpenAI-compatible
``[providers.benchN]`` per model. The client factory gives each provider its own
``httpx.AsyncClient`` serving its own reply (bench/answer.py, a different answer per
model, each paced on its own), so every column goes through httpx, the SSE decoder, the
Chat Completions translator, the accumulator and the session recorder as a live
comparison does. The comparison starts as the compare list's Enter starts it (the models
chosen, then Enter on the prompt: ``CompareActions.send_compared``).

Definitions (times from ``time.perf_counter``; tui_stream.py's, over every column):

- start: just before Enter is pressed on the prompt.
- complete: the last column's ``finish()`` ran (and with it the ranking line and the
  final stats) and then the screen painted with nothing left to lay out or repaint.
- tokens_s: every token of every reply (reasoning and answer) / (complete - start).
- frame gaps: between consecutive frames painted from the first token of any reply to
  the last token of the last.
- lag_after_last_ms: complete - when the last token of the last reply left its server.
- frame cost: one tick of the comparison's frame clock (every column's pending text, the
  live figures) plus the screen updates until the next tick; median over the stream and
  over the ticks after the slowest column's answer passed ``tokens - 1000``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import time
from pathlib import Path
from typing import Any

import httpx
from answer import ScriptedReply
from tui_stream import (
    PROMPT,
    TIMEOUT_S,
    Probe,
    bench_home,
    current_rss_mb,
    frame_costs,
    frame_gaps_ms,
    median_ms,
    peak_rss_mb,
    percentile,
)

SIZE = (200, 50)
MODELS = 4


class CompareProbe(Probe):
    """tui_stream's probe, for a comparison: ticks of the comparison's clock, and complete
    once every column has finished and the screen shows it."""

    def __init__(self, replies: list[ScriptedReply]) -> None:
        super().__init__(replies[0])
        self.replies = replies
        self.columns_finished = 0

    def install(self) -> type[Any]:
        from chatterm.tui.widgets.compare import CompareView
        from chatterm.tui.widgets.compare_column import ColumnView

        app_class = super().install()
        self.time_clock(CompareView)
        probe = self
        finish = ColumnView.finish

        def finished(column: ColumnView, reply: Any) -> None:
            finish(column, reply)
            probe.turn_finished(column)

        ColumnView.finish = finished  # type: ignore[method-assign]
        return app_class

    def answer_sent(self) -> int:
        return min(reply.answer_sent for reply in self.replies)

    def turn_finished(self, turn: Any) -> None:
        self.columns_finished += 1
        if self.columns_finished == len(self.replies):
            super().turn_finished(turn)


def providers(count: int) -> tuple[dict[str, Any], list[str]]:
    """``[providers.benchN]`` for N in 1..count, and a model of each."""
    from chatterm.config import ProviderConfig

    names = [f"bench{number}" for number in range(1, count + 1)]
    configs = {
        name: ProviderConfig(name=name, base_url=f"http://{name}.chatterm.invalid/v1")
        for name in names
    }
    return configs, [f"{name}:model-{name[-1]}" for name in names]


async def measure(
    tokens: int, rate: float, count: int, profile: Path | None = None
) -> dict[str, Any]:
    from chatterm.config import Settings
    from chatterm.providers.registry import ResolvedModel
    from chatterm.tui.screens.chat import ChatScreen
    from chatterm.tui.widgets.compare import CompareView

    configs, models = providers(count)
    replies = [
        ScriptedReply(tokens, rate, model=model.split(":", 1)[1], seed=tokens + number)
        for number, model in enumerate(models)
    ]
    by_provider = {
        model.split(":", 1)[0]: reply for model, reply in zip(models, replies, strict=True)
    }

    def client(target: ResolvedModel) -> httpx.AsyncClient:
        reply = by_provider[target.provider.name]
        return httpx.AsyncClient(transport=httpx.MockTransport(reply.handle))

    probe = CompareProbe(replies)
    app_class = probe.install()
    settings = Settings(providers=configs)
    app = app_class(settings, "demo:fast", env={}, client_factory=client, discover_models=False)
    profiler = cProfile.Profile() if profile is not None else None
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ChatScreen)
        screen.prompt.cursor_blink = False  # no frames but the replies'
        await app.workers.wait_for_complete()  # the price table, loaded at start
        screen._compare_chosen(tuple(models))  # what the compare list's Enter does
        screen.prompt.text = PROMPT
        await pilot.pause(0.2)
        rss_start = current_rss_mb()
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        await pilot.press("enter")
        await asyncio.wait_for(probe.complete.wait(), TIMEOUT_S)
        if profiler is not None:
            profiler.disable()
        assert probe.complete_at is not None
        view = screen.conversation.query_one(CompareView)
        for reply, column in zip(replies, view.columns, strict=True):
            result = column.reply
            if result is None or result.finish_reason != "stop" or result.text != reply.answer_text:
                reason = result and result.finish_reason
                raise SystemExit(f"{column.model}'s reply did not arrive whole: {reason}")
        columns_apart = len({column.region.x for column in view.columns}) == count
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
    seconds = probe.complete_at - started
    firsts = [reply.first_token_at for reply in replies]
    lasts = [reply.last_token_at for reply in replies]
    assert all(at is not None for at in (*firsts, *lasts))
    first = min(at for at in firsts if at is not None)
    last = max(at for at in lasts if at is not None)
    gaps = frame_gaps_ms(probe.frames, first, last)
    total = sum(reply.total for reply in replies)
    return {
        "models": count,
        "tokens_each": replies[0].total,
        "answer_tokens_each": tokens,
        "rate_each": rate,
        "side_by_side": columns_apart,
        "seconds": round(seconds, 4),
        "tokens_s": round(total / seconds, 1),
        "lag_after_last_ms": round((probe.complete_at - last) * 1000, 1),
        "frames": len(probe.frames),
        "frame_p50_ms": round(percentile(gaps, 0.5), 2),
        "frame_p95_ms": round(percentile(gaps, 0.95), 2),
        "frame_max_ms": round(max(gaps, default=float("nan")), 2),
        "frame_cost_ms": median_ms(frame_costs(probe, 0, tokens + 1)),
        "frame_cost_end_ms": median_ms(frame_costs(probe, max(0, tokens - 1000), tokens + 1)),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_start_mb": round(rss_start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, required=True, help="answer tokens per model")
    parser.add_argument("--rate", type=float, default=0.0, help="tokens/s per model (0: unpaced)")
    parser.add_argument("--models", type=int, default=MODELS, help="columns (2 to 4)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats of the stream here")
    options = parser.parse_args()
    if not 2 <= options.models <= 4:
        parser.error("--models: 2 to 4")
    with bench_home():
        result = asyncio.run(measure(options.tokens, options.rate, options.models, options.profile))
        print(json.dumps(result))


if __name__ == "__main__":
    main()
