"""The frame clock: its period follows what a frame costs, and no tick is ever lost."""

from __future__ import annotations

import time

from textual.app import App, ComposeResult
from textual.widgets import Static

from chatterm.tui import frame_clock
from chatterm.tui.frame_clock import FrameClock
from tests.waiting import wait_for


class Frames(Static):
    """Repaints on every tick, each tick costing ``cost_s`` of busy event loop."""

    def __init__(self) -> None:
        super().__init__("0")
        self.ticks = 0
        self.cost_s = 0.0
        self.clock = FrameClock(self, self.tick)

    def tick(self) -> None:
        self.ticks += 1
        until = time.perf_counter() + self.cost_s
        while time.perf_counter() < until:
            pass  # a frame that costs this much
        self.update(str(self.ticks))


class FramesApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Frames()


async def test_the_period_follows_the_cost_of_a_frame_up_and_back_down() -> None:
    app = FramesApp()
    async with app.run_test() as pilot:
        frames = app.query_one(Frames)
        frames.clock.start()
        await wait_for(pilot, lambda: frames.ticks >= 3)
        assert frames.clock.period_s < 0.05  # cheap frames: a short period

        frames.cost_s = 0.06  # frames of 60 ms: the period lengthens with them at once
        costly = frames.ticks
        await wait_for(pilot, lambda: frames.ticks >= costly + 2)
        assert frames.clock.cost_s >= 0.06
        assert frames.clock.period_s >= 0.06 * frame_clock.HEADROOM

        frames.cost_s = 0.0  # cheap again: the period comes back down, gradually
        await wait_for(pilot, lambda: frames.clock.period_s < 0.05)
        frames.clock.stop()
        stopped = frames.ticks
        await pilot.pause(frame_clock.MAX_PERIOD_S * 2)  # about time passing: nothing ticks
        assert frames.ticks == stopped


async def test_frames_that_cost_more_than_the_longest_period_still_tick_every_time() -> None:
    app = FramesApp()
    async with app.run_test() as pilot:
        frames = app.query_one(Frames)
        frames.cost_s = frame_clock.MAX_PERIOD_S * 1.5
        frames.clock.start()
        await wait_for(pilot, lambda: frames.ticks >= 4)
        assert frames.clock.period_s == frame_clock.MAX_PERIOD_S
        frames.clock.stop()
