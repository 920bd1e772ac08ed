"""A watchdog for the waits on a server: the first-token, idle and whole-reply time limits.

httpx has one read timeout for every read, and any byte resets it: a server sending
keep-alive comments and never a token would be waited for forever. So
:mod:`chatterm.network.stream` times its waits here, against budgets that only progress
renews: the caller grants one (:meth:`Silence.allow`) when a token, usage or the finish
arrives, not when bytes do. A whole-reply deadline, fixed once, caps everything.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
from typing import Literal

#: Which limit ran out: the wait for the first token, the silence between two pieces of
#: progress once tokens flow, or the whole reply's.
Limit = Literal["first_token", "idle", "total"]


class Silence:
    """A watchdog on the waits for the server: if the budget :meth:`allow` granted runs out
    during a wait (or the whole reply's ``deadline`` passes), the task is cancelled and
    :meth:`timed_out` names the limit.

    Time spent between waits (the consumer rendering or printing what arrived) is not the
    server's silence: it does not use up the budget, though it counts toward the deadline.

    ``asyncio.timeout`` around every read would do the same, but it schedules a timer per
    chunk, and a cancelled timer stays in the loop's heap until its time comes, holding
    the task's context (for a TUI worker: the reply, its stream and its turn) for up to
    the timeout: minutes. Here one timer, in an empty context, is re-armed only when it
    fires early, so a chunk costs a clock reading.
    """

    def __init__(self, deadline: float | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._total = math.inf if deadline is None else deadline
        self._budget_end = math.inf
        self._budget: Limit = "idle"
        self._paused_at: float | None = None
        self._waiting = False
        self._handle: asyncio.TimerHandle | None = None
        self._fired: Limit | None = None

    def allow(self, seconds: float, limit: Limit) -> None:
        """Progress: from now on the server may be silent for ``seconds`` (of waits)."""
        now = self._loop.time()
        self._budget_end = now + seconds
        self._budget = limit
        if self._paused_at is not None:
            self._paused_at = now
        if self._waiting:
            self._rearm()

    def start(self) -> None:
        """A wait begins; the time since the last one ended is not counted as silence."""
        if self._paused_at is not None:
            self._budget_end += self._loop.time() - self._paused_at
            self._paused_at = None
        self._waiting = True
        self._rearm()

    def pause(self) -> None:
        """The wait is over (the timer stays armed for the next one)."""
        if self._waiting:
            self._waiting = False
            self._paused_at = self._loop.time()

    def stop(self) -> None:
        self._waiting = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def timed_out(self) -> Limit | None:
        """The limit that ran out, if the ``CancelledError`` being handled is this
        watchdog's doing (and not also the consumer's, which then wins)."""
        if self._fired is not None and self._task.uncancel() == 0:
            return self._fired
        return None

    def _limit(self) -> float:
        return min(self._budget_end, self._total)

    def _rearm(self) -> None:
        if self._handle is not None and self._handle.when() > self._limit():
            self._handle.cancel()  # an earlier limit than the one armed
            self._handle = None
        if self._handle is None:
            self._handle = self._loop.call_at(
                self._limit(), self._check, context=contextvars.Context()
            )

    def _check(self) -> None:
        self._handle = None
        if not self._waiting:
            return  # between waits: the next one arms the timer again
        now = self._loop.time()
        if now < self._limit():
            self._rearm()
        else:
            self._fired = "total" if now >= self._total else self._budget
            self._task.cancel()


class SilenceTimeout(Exception):
    """A ``[network]`` time limit ran out while waiting for the server."""

    def __init__(self, limit: Limit) -> None:
        super().__init__()
        self.limit = limit
