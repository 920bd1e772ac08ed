"""Start-up with the garbage collector paused (used by the entry point, :mod:`chatterm.__main__`).

Start-up is mostly imports (Textual, Rich, httpx and chatterm's own modules), and
imports allocate many objects that all live as long as the process: each collection the
allocations trigger walks them all and frees nothing (what the pause saves: README,
Performance). The TUI resumes it once that frame is up
(after collecting what start-up made and a freeze, see :mod:`chatterm.tui.memory`); every
other command resumes it as soon as the command line is parsed, before any real work
(``replay`` pauses it again when it opens the TUI's replay view).

Only the installed command and ``python -m chatterm`` pause the collector: importing
:mod:`chatterm.cli.main` (as the tests do) leaves it alone.
"""

from __future__ import annotations

import gc

_paused = False


def pause_collector() -> None:
    """Pause automatic collection, if it is on, until :func:`resume_collector`."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collector() -> None:
    """Turn automatic collection back on if :func:`pause_collector` turned it off."""
    global _paused
    if _paused:
        _paused = False
        gc.enable()
