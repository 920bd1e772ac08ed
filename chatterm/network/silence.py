"""A watchdog for the waits on a server: the first-token and idle timeouts of a stream.

httpx has one read timeout for every read; a reasoning model may be silent far longer before
its first token than between two tokens, so :mod:`chatterm.network.stream` times those waits here.
"""

from __future__ import annotations

import asyncio
import contextvars


class Silence:
    """A watchdog on the waits for the server: if one lasts ``seconds``, the task is
    cancelled and the wait raises :class:`SilenceTimeout` instead.

    ``asyncio.timeout`` around every read would do the same, but it schedules a timer per
    chunk, and a cancelled timer stays in the loop's heap until its time comes, holding
    the task's context (for a TUI worker: the reply, its stream and its turn) for up to
    the timeout: minutes. Here one timer, in an empty context, is re-armed only when it
    fires early, so a chunk costs a clock reading.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._deadline = 0.0
        self._waiting = False
        self._handle: asyncio.TimerHandle | None = None
        self._fired = False

    def start(self, seconds: float) -> None:
        """A wait begins: it may last ``seconds``."""
        self._deadline = self._loop.time() + seconds
        self._waiting = True
        if self._handle is not None and self._handle.when() > self._deadline:
            self._handle.cancel()  # a shorter limit than the one armed
            self._handle = None
        if self._handle is None:
            self._arm()

    def pause(self) -> None:
        """The wait is over (the timer stays armed for the next one)."""
        self._waiting = False

    def stop(self) -> None:
        self._waiting = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def timed_out(self) -> bool:
        """Whether the ``CancelledError`` being handled is this watchdog's doing (and
        not also the consumer's, which then wins)."""
        return self._fired and self._task.uncancel() == 0

    def _arm(self) -> None:
        self._handle = self._loop.call_at(
            self._deadline, self._check, context=contextvars.Context()
        )

    def _check(self) -> None:
        self._handle = None
        if not self._waiting:
            return  # between waits: the next one arms the timer again
        if self._loop.time() < self._deadline:
            self._arm()
        else:
            self._fired = True
            self._task.cancel()


class SilenceTimeout(Exception):
    """The server was silent for longer than a ``[network]`` timeout allows (the first
    token's, or the idle one)."""

    def __init__(self, first_token: bool) -> None:
        super().__init__()
        self.first_token = first_token
