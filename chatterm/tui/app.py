"""The Textual application: ``chatterm`` with no subcommand opens it.

:class:`ChatApp` receives settings that are already loaded and validated (a config error
is the CLI's to report, before any of this is imported) and a model reference; it never
reads the config itself. Tests inject the environment, the HTTP client and the clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import ClassVar

from textual.app import App
from textual.binding import BindingType
from textual.screen import Screen

from chatterm.config import Settings
from chatterm.render.safe_text import safe_text
from chatterm.stream import Clock, make_client
from chatterm.tui.bindings import APP_BINDINGS
from chatterm.tui.clients import ClientFactory, ClientPool
from chatterm.tui.memory import app_ended, app_started, settle_memory
from chatterm.tui.screens.chat import ChatScreen

NOTICE_TIMEOUT_S = 5.0  # it stays in the empty view; the toast covers the prompt
WORKERS_EXIT_TIMEOUT_S = 2.0  # at exit: how long cancelled replies get to close streams


class ChatApp(App[None]):
    """A chat with one model at a time, switchable between turns.

    Args:
        settings: the loaded configuration.
        model_ref: the model to start with (``provider:model`` or ``demo``).
        notice: a one-line message for the start (shown as a notification and in the
            empty conversation), e.g. that the offline demo model is in use.
        env: environment variables for API keys (default ``os.environ``).
        client_factory: makes the HTTP client for a provider (default: the provider's own
            transport, else the network). It is called once per provider, the first time
            a reply needs one; the app keeps the clients and closes them when it ends.
        clock: monotonic seconds, for event stamps and the elapsed time.
    """

    CSS_PATH = "chatterm.tcss"
    TITLE = "chatterm"
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS]

    def __init__(
        self,
        settings: Settings,
        model_ref: str,
        *,
        notice: str | None = None,
        env: Mapping[str, str] | None = None,
        client_factory: ClientFactory | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.model_ref = model_ref
        self.notice = notice
        self.env = env
        self.clients = ClientPool(client_factory or make_client)
        self.clock: Clock = clock or time.monotonic

    def get_default_screen(self) -> Screen[None]:
        return ChatScreen(
            self.settings,
            self.model_ref,
            notice=self.notice,
            env=self.env,
            clients=self.clients,
            clock=self.clock,
        )

    def on_mount(self) -> None:
        app_started()
        self.call_after_refresh(settle_memory)
        if self.notice:
            self.notify(
                safe_text(self.notice),
                severity="warning",
                markup=False,
                timeout=NOTICE_TIMEOUT_S,
            )

    async def on_unmount(self) -> None:
        # The screens are gone and their workers cancelled: let a reply in flight close
        # its stream before its client goes.
        waits = asyncio.gather(*(worker.wait() for worker in self.workers), return_exceptions=True)
        try:
            await asyncio.wait_for(waits, WORKERS_EXIT_TIMEOUT_S)
        except TimeoutError:
            pass
        await self.clients.aclose()
        app_ended()


def run_tui(settings: Settings, model_ref: str, notice: str | None = None) -> None:
    """Open the TUI and return when the user quits."""
    ChatApp(settings, model_ref, notice=notice).run()
