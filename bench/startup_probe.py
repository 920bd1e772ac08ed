"""Start an app headless and print when its first frame was painted; then quit.

    python bench/startup_probe.py chatterm   # `chatterm` as the command runs it
    python bench/startup_probe.py minimal    # Textual: Header, Markdown, Input, Footer

bench/run.py notes ``time.monotonic()`` before starting this process and subtracts it from
the time printed (the same clock system-wide), so the figure runs from process start to
the first frame. ``chatterm`` goes through the command's entry point (``chatterm.__main__``,
then the config, the model and the TUI's import) with the app run headless at 120x40 and
no API key (so on the demo model); its first frame is the first one of the chat screen.
Headless Textual skips turning a frame into terminal output: the probe does it anyway, for
both apps, so the first frame costs what it would on a terminal.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

SIZE = (120, 40)
MARKDOWN = """\
# chatterm

A terminal chat client: type a prompt and press **Enter**; the reply streams below.

- `ctrl+n` switches model
- `ctrl+o` lists saved chats
"""


def install(first_screen: str) -> None:
    """Patch Textual's App: run headless, and on the first frame of ``first_screen``
    (a class name; any screen if empty) print the time and exit."""
    from textual.app import App

    run = App.run
    display = App._display

    def headless_run(self: App[Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.update(headless=True, size=SIZE)
        return run(self, *args, **kwargs)

    def displayed(self: App[Any], screen: Any, renderable: Any) -> None:
        done = getattr(self, "_probe_done", False)
        if not done and renderable is not None:
            if not first_screen or type(screen).__name__ == first_screen:
                if hasattr(renderable, "render_segments"):
                    renderable.render_segments(self.console)
                now = time.monotonic()
                self._probe_done = True  # type: ignore[attr-defined]
                sys.stdout.write(f"{now!r}\n")
                sys.stdout.flush()
                self.exit()
        display(self, screen, renderable)

    App.run = headless_run  # type: ignore[method-assign]
    App._display = displayed  # type: ignore[method-assign]


def minimal() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Input, Markdown

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Markdown(MARKDOWN)
            yield Input(placeholder="Message the model")
            yield Footer()

    install("")
    Minimal().run()


def chatterm() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    install("ChatScreen")
    sys.argv[1:] = []
    from chatterm.__main__ import main  # the `chatterm` script's entry point

    main()


if __name__ == "__main__":
    {"minimal": minimal, "chatterm": chatterm}[sys.argv[1]]()
