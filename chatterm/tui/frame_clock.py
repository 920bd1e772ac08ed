"""A frame clock whose period follows what a frame costs.

A streaming reply is applied to the screen once per frame, not once per token. A fixed
period is either too slow for a cheap frame (a 30 fps clock can never paint frames less
than 33 ms apart) or too fast for a costly one (frames that cost more than the period
leave the event loop no time for the stream, and a grid-aligned timer then skips whole
ticks). :class:`FrameClock` measures each frame, from its tick until the screen has been
painted, and starts the next one ``HEADROOM`` times that cost after the last one began
(never sooner than ``MIN_PERIOD_S``, never later than ``MAX_PERIOD_S``), so frames come as
often as the machine can paint them while the rest of the event loop keeps a share.
A frame that costs more than the estimate raises it at once; cheaper ones lower it
gradually, so one cheap frame does not bring back a period the machine cannot keep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.widget import Widget

MIN_PERIOD_S = 1 / 60  # as often as Textual paints a screen
MAX_PERIOD_S = 1 / 10  # however slow the machine, the reply moves ten times a second
HEADROOM = 1.5  # period / frame cost: the event loop keeps a third for the stream and keys
COST_DECAY = 0.25  # how far a cheaper frame brings the cost estimate down
FIRST_COST_S = 1 / 60  # the estimate before any frame was measured


class FrameClock:
    """Calls ``tick`` on ``owner``'s event loop once per frame until stopped."""

    def __init__(self, owner: Widget, tick: Callable[[], None]) -> None:
        self._owner = owner
        self._tick = tick
        # The next tick, due on the event loop (Textual's one-shot timer may drop a tick
        # whose time has already passed when it starts, which a frame that overran does).
        self._timer: asyncio.TimerHandle | None = None
        self._running = False
        self._started = 0.0  # when the frame being painted began
        self.cost_s = FIRST_COST_S  # the estimate: from a tick until its frame is painted

    @property
    def running(self) -> bool:
        return self._running

    @property
    def period_s(self) -> float:
        """The time from one tick to the next, for the cost estimate."""
        return min(MAX_PERIOD_S, max(MIN_PERIOD_S, self.cost_s * HEADROOM))

    def start(self) -> None:
        """Tick after one period, then once per frame."""
        if self._running or not self._owner.is_attached:
            return
        self._running = True
        self._schedule(self.period_s)

    def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        # Run in the owner's message loop, as Textual's timers do.
        self._timer = loop.call_later(delay, self._owner.call_next, self._fire)

    def _fire(self) -> None:
        self._timer = None
        if not self._running:
            return
        self._started = time.perf_counter()
        self._tick()
        if self._running:
            self._owner.call_after_refresh(self._painted)

    def _painted(self) -> None:
        """The frame is on screen: update the cost estimate and schedule the next tick."""
        if not self._running or self._timer is not None:
            return
        now = time.perf_counter()
        cost = now - self._started
        if cost >= self.cost_s:
            self.cost_s = cost
        else:
            self.cost_s += (cost - self.cost_s) * COST_DECAY
        self._schedule(max(0.0, self._started + self.period_s - now))
