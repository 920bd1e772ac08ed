"""One long Markdown answer rendered by one approach, measured; prints one JSON object.

    python bench/peers_stream.py --approach markdownstream --tokens 20000
    python bench/peers_stream.py --approach chatterm --tokens 20000 --rate 3000

The ways terminal chat clients render a streaming answer, each in the same harness: a
minimal Textual app (120x40, headless, each frame turned into terminal output as for a
real terminal, as bench/tui_stream.py does) holding one scrolling column, fed the same
tokens (bench/answer.py) straight from a task on the event loop, with no network, decoder
or session in the way, so only the rendering differs:

- ``chatterm``: chatterm's own turn widget (:class:`chatterm.tui.widgets.turn.TurnView`)
  as a sink: each token an event, applied once per frame of its clock, the answer rendered
  block by block, finished with the whole reply.
- ``markdownstream``: Textual's ``Markdown.get_stream`` (``MarkdownStream``), as oterm and
  toad use it.
- ``update_per_token``: ``Markdown.update`` with the whole text after every token, as
  elia does. It slows down as the text grows, so it is cut off after ``--budget-s``
  seconds and reports the rate it had reached (``cut``: true).
- ``reparse_100ms``: the whole text given to ``Markdown.update`` at most every 100 ms, as
  parllama does.
- ``log``: a plain ``Log``, no Markdown at all: the floor.

Unpaced, tokens arrive 32 to a turn of the event loop (as demo:fast's reads bring them);
``tokens_s`` is tokens / seconds from the first to the screen painted with the whole
answer and nothing left to do. Paced (``--rate``), ``lag_after_last_ms`` is the time from
the last token to that final screen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from answer import UNPACED_BATCH, markdown_answer  # noqa: E402
from tui_stream import SIZE, _dirty  # noqa: E402

APPROACHES = ("chatterm", "markdownstream", "update_per_token", "reparse_100ms", "log")
REPARSE_S = 0.1


class Renderer:
    """One approach: the widget it shows, what it does with each token and at the end."""

    def __init__(self, approach: str) -> None:
        from textual.widgets import Log, Markdown

        self.approach = approach
        self.text: list[str] = []
        self.markdown = Markdown()
        self.log = Log()
        self.stream: Any = None
        self.turn: Any = None
        self.updating: asyncio.Task[Any] | None = None
        self.shown_length = 0

    def widget(self) -> Any:
        if self.approach == "chatterm":
            from chatterm.tui.widgets.turn import TurnView

            self.turn = TurnView("Write the long guide.", "bench")
            return self.turn
        return self.log if self.approach == "log" else self.markdown

    def started(self) -> None:
        if self.approach == "markdownstream":
            from textual.widgets import Markdown

            self.stream = Markdown.get_stream(self.markdown)
        elif self.approach == "reparse_100ms":
            self.markdown.set_interval(REPARSE_S, self._reparse)
        elif self.approach == "chatterm":
            self.turn.start_clock()

    async def feed(self, token: str) -> None:
        self.text.append(token)
        if self.approach == "chatterm":
            from chatterm.events import TextDelta

            self.turn.event(TextDelta(token), time.monotonic())
        elif self.approach == "markdownstream":
            await self.stream.write(token)
        elif self.approach == "update_per_token":
            await self.markdown.update("".join(self.text))
        elif self.approach == "log":
            self.log.write(token)

    def _reparse(self) -> None:
        if self.updating is not None and not self.updating.done():
            return  # the last parse is still being mounted
        if len(self.text) != self.shown_length:
            self.shown_length = len(self.text)
            self.updating = asyncio.ensure_future(self.markdown.update("".join(self.text)))

    async def end(self) -> None:
        """The stream ended: the approach's last step, then the whole answer shown."""
        whole = "".join(self.text)
        if self.approach == "chatterm":
            from chatterm.events import Usage
            from chatterm.reply.accumulate import Reply
            from chatterm.reply.metrics import Metrics

            self.turn.finish(Reply("bench", "", whole, "stop", Usage(), Metrics()))
        elif self.approach == "markdownstream":
            await self.stream.stop()
        elif self.approach == "reparse_100ms":
            if self.updating is not None:
                await self.updating
            await self.markdown.update(whole)


async def measure(approach: str, tokens: int, rate: float, budget_s: float) -> dict[str, Any]:
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll

    renderer = Renderer(approach)
    frames: list[float] = []
    answer = markdown_answer(tokens)

    class Harness(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield renderer.widget()

        def _display(self, screen: Any, renderable: Any) -> None:
            if renderable is not None:
                if hasattr(renderable, "render_segments"):
                    renderable.render_segments(self.console)
                frames.append(time.perf_counter())
            super()._display(screen, renderable)

    app = Harness()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        scroll = app.query_one(VerticalScroll)
        scroll.anchor()
        renderer.started()
        started = time.perf_counter()
        sent = 0
        cut = False
        for index, token in enumerate(answer):
            if rate:
                due = started + index / rate
                while time.perf_counter() < due:
                    await asyncio.sleep(0.001)
            await renderer.feed(token)
            sent += 1
            if not rate and sent % UNPACED_BATCH == 0:
                await asyncio.sleep(0)
            if time.perf_counter() - started > budget_s:
                cut = True
                break
        last_token = time.perf_counter()
        await renderer.end()
        await until_painted(app, pilot.pause)
        complete = frames[-1] if frames and frames[-1] >= last_token else time.perf_counter()
    seconds = complete - started
    return {
        "approach": approach,
        "tokens": sent,
        "rate": rate,
        "cut": cut,
        "seconds": round(seconds, 3),
        "tokens_s": round(sent / seconds, 1),
        "lag_after_last_ms": round((complete - last_token) * 1000, 1),
        "frames": len(frames),
    }


async def until_painted(app: Any, pause: Callable[[float], Awaitable[None]]) -> None:
    """Let the app run until its screen has nothing left to lay out or paint."""
    await pause(0)
    for _ in range(100_000):
        await app.animator.wait_until_complete()
        if not _dirty(app.screen):
            await pause(0)
            if not _dirty(app.screen):
                return
        await pause(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approach", choices=APPROACHES, required=True)
    parser.add_argument("--tokens", type=int, required=True, help="answer tokens")
    parser.add_argument("--rate", type=float, default=0.0, help="tokens/s (0: unpaced)")
    parser.add_argument("--budget-s", type=float, default=60.0, help="cut off after this long")
    options = parser.parse_args()
    result = asyncio.run(measure(options.approach, options.tokens, options.rate, options.budget_s))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
