"""Keep the garbage collector from stalling frames while a long answer streams.

Streaming allocates fast, and each full collection walks every tracked object, long
enough to stall frames (README, Performance). Objects that live as long as the app
(Textual itself, finished turns, frozen answer segments) need never be walked again, so
the app freezes them (``gc.freeze``): every second while a reply streams (by the clock,
not by frames: a comparison's frames come slower, and froze nothing in a whole reply),
after a young collection so that fresh garbage is not frozen with them; once the app has
started, after collecting what start-up made (:func:`settle_after_start`); and after
each reply, after a full collection.

Freezing mid-stream also freezes the reply in flight (its worker, stream, HTTP response
and request), and some of that is cyclic garbage once the reply ends (a cancelled
worker's exception and traceback, an httpx response and its stream). Reference counting
frees frozen objects that stop being used, but never cycles, so once anything was frozen
mid-stream, the next :func:`settle_memory` unfreezes everything for one full collection
(once, a moment after the reply ended), then freezes what survives. After a short reply
nothing was frozen since the last settle, and collecting what is not frozen is enough.
Either way the caller lets go of the reply first, and waits until Textual has too. When
the last app ends everything is unfrozen (so a test suite that runs many apps in one
process does not keep them all).
"""

from __future__ import annotations

import gc

FREEZE_EVERY_S = 1.0  # while a reply streams: survivors wait at most this long to be frozen

_running_apps = 0
_frozen_mid_stream = False  # frozen while a reply was alive, since the last full collection


def app_started() -> None:
    """An app began: freezing is on until every app has ended."""
    global _running_apps
    _running_apps += 1


def app_ended() -> None:
    """An app ended: when it was the last, give everything back to the collector."""
    global _running_apps
    _running_apps = max(0, _running_apps - 1)
    if not _running_apps:
        gc.unfreeze()


def settle_memory() -> None:
    """Collect the garbage there is (frozen too, if freezing mid-stream may have caught
    some), then freeze what survives."""
    global _frozen_mid_stream
    if _running_apps:
        if _frozen_mid_stream:
            gc.unfreeze()
            _frozen_mid_stream = False
        gc.collect()
        gc.freeze()


def settle_after_start() -> None:
    """Collect and freeze what the app's start-up made, once its first frame is up.

    Start-up runs with the collector paused (:mod:`chatterm.startup`), so what it made is
    all in the young generations; collecting those is enough. The old generation is what
    the process held before the app began: nothing of start-up's, but in a test process
    the test runner's whole heap, which a full collection would walk at every app start
    (README, Development). Garbage that the old generation holds is frozen with the rest
    and given back when the last app ends."""
    if _running_apps:
        gc.collect(1)
        gc.freeze()


def freeze_survivors() -> None:
    """Cheap enough for mid-stream: collect the young generations, freeze the rest."""
    global _frozen_mid_stream
    if _running_apps:
        gc.collect(1)
        gc.freeze()
        _frozen_mid_stream = True


def freeze_when_due(frozen_at: float, now: float) -> float:
    """On each frame of a reply streaming: :func:`freeze_survivors` if ``FREEZE_EVERY_S``
    has passed since ``frozen_at``; returns when survivors were last frozen."""
    if now - frozen_at < FREEZE_EVERY_S:
        return frozen_at
    freeze_survivors()
    return now
