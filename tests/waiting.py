"""Waiting for something to happen: a condition polled until it holds, with a deadline.

The one way tests wait for the app, a thread or a process. A fixed pause is a guess about
how fast the machine is, and a busy machine (another process on a core, CI) breaks the
guess; a condition with a generous deadline only takes longer there, and a deadline that
runs out fails with what was awaited instead of hanging. Fixed pauses are left only where
a test is about time passing, and say so.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

DEADLINE_S = 60.0
"""How long a condition may take: far beyond any healthy run, even on a loaded machine."""

POLL_S = 0.01


async def wait_for(
    pilot: Pilot[Any] | None,
    condition: Callable[[], bool],
    *,
    within_s: float = DEADLINE_S,
    what: str = "",
) -> None:
    """Let the app run (``pilot``; or the event loop, when None) until ``condition`` holds."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'the condition'} did not hold within {within_s} s")
        if pilot is None:
            await asyncio.sleep(POLL_S)
        else:
            await pilot.pause(POLL_S)


def wait_until(
    condition: Callable[[], bool], *, within_s: float = DEADLINE_S, what: str = ""
) -> None:
    """Block (a thread, a process, a file on disk) until ``condition`` holds."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what or 'the condition'} did not hold within {within_s} s")
        time.sleep(POLL_S)


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until the app has handled every message, animation and refresh it has queued:
    the point after which something that did not happen is not going to (a test that
    checks for an absence waits for this, not for a while)."""
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    await pilot.pause()


class FakeSleep:
    """Records every wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def default_sigint() -> None:
    """A child's ``preexec_fn``: Ctrl+C (SIGINT) interrupts it, as at a terminal.

    A process started in the background by a non-interactive shell (a CI runner's, or
    ``cmd &``) ignores SIGINT, and its children inherit that: Python then installs no
    KeyboardInterrupt handler and a test that sends SIGINT would wait for nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
