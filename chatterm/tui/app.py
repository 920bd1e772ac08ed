"""The Textual application: ``chatterm`` with no subcommand opens it.

:class:`ChatApp` receives settings that are already loaded and validated (a config error
is the CLI's to report, before any of this is imported) and a model reference; it never
reads the config itself. Tests inject the environment, the HTTP client and the clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen
from textual.theme import Theme

from chatterm.config import Settings
from chatterm.sessions.keeper import SessionKeeper
from chatterm.sessions.model import Session
from chatterm.sessions.store import SessionError, SessionStore
from chatterm.startup import pause_collector, resume_collector
from chatterm.text import safe_text
from chatterm.tui.bindings import APP_BINDINGS, COMMAND_PALETTE
from chatterm.tui.clients import ClientFactory, ClientPool
from chatterm.tui.commands import ModelsAndThemes, Roles, screen_commands
from chatterm.tui.keymap import checked_keymap, restore_alt_keys, with_enter_setting
from chatterm.tui.memory import app_ended, app_started, settle_after_start
from chatterm.tui.remembered import Remembered
from chatterm.tui.screens.chat import ChatScreen
from chatterm.tui.themes import (
    ThemeFailure,
    bundled_themes_dir,
    load_themes,
    pick_theme,
    stylesheet_problem,
    theme_folders,
)

if TYPE_CHECKING:
    import httpx

    from chatterm.network.stream import Clock
    from chatterm.providers.registry import ResolvedModel

NOTICE_TIMEOUT_S = 5.0  # it stays in the empty view; the toast covers the prompt
WORKERS_EXIT_TIMEOUT_S = 2.0  # at exit: how long cancelled replies get to close streams
SAVE_CHECK_S = 0.5  # how often a failed save (on the writer's thread) is looked for
SAVE_ERROR_TIMEOUT_S = 10.0


def _make_client(target: ResolvedModel) -> httpx.AsyncClient:
    from chatterm.network.stream import make_client  # with httpx: after the first frame

    return make_client(target)


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
        session_ref: a saved session to open (id, id prefix or path); one that cannot be
            loaded is reported in the notice and a new chat opens.
        replay: a session to replay instead of chatting (closing the replay quits).
        replay_speed: the replay's pace (2 is twice as fast; 0 shows it at once).
        remembered: what the app remembers between runs (default: ``state.toml`` in the
            data folder): the theme, the reasoning effort, whether reasoning is shown,
            the last model (which the CLI starts on).
        theme_folders: where ``*.toml`` themes are read (default: chatterm's own, then
            ``themes/`` in the config folder).
        export_dir: where the export key writes Markdown (default: the current folder).
        discover_models: let the model picker ask servers for their models.

    A theme file that cannot be used, a problem in ``[keys]`` (see
    :mod:`chatterm.tui.keymap`) and a state file that cannot be read or written are each
    reported once, and otherwise ignored.
    """

    CSS_PATH = "chatterm.tcss"
    TITLE = "chatterm"
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS]
    COMMANDS = App.COMMANDS | {ModelsAndThemes, Roles}

    def __init__(
        self,
        settings: Settings,
        model_ref: str,
        *,
        notice: str | None = None,
        env: Mapping[str, str] | None = None,
        client_factory: ClientFactory | None = None,
        clock: Clock | None = None,
        session_ref: str | None = None,
        replay: Session | None = None,
        replay_speed: float = 1.0,
        remembered: Remembered | None = None,
        theme_folders: Iterable[Path] | None = None,
        export_dir: Path | None = None,
        discover_models: bool = True,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.remembered = remembered or Remembered()
        self.export_dir = export_dir
        self.discover_models = discover_models
        self.problems: list[str] = []  # shown once, when the app starts
        restore_alt_keys()  # so alt+1…alt+9 and alt+letters arrive in every terminal
        keys = with_enter_setting(settings.keys, enter_sends=settings.enter_sends)
        self.keymap, problems = checked_keymap(keys)
        self.problems.extend(problems)
        self._use_themes(theme_folders)
        self.model_ref = model_ref
        self.notice = notice
        self.env = env
        self.clients = ClientPool(client_factory or _make_client)
        self.clock: Clock = clock or time.monotonic
        store = SessionStore(new_format=settings.session_format)
        self.keeper = SessionKeeper(store, system=settings.system_prompt)
        self.replay = replay
        self.replay_speed = replay_speed
        self.chat_screen: ChatScreen | None = None
        if session_ref is not None:
            try:
                self.keeper.open(session_ref)
            except SessionError as error:
                self.notice = "\n".join(filter(None, (notice, str(error))))

    def _use_themes(self, folders: Iterable[Path] | None) -> None:
        """Register every theme and start on the remembered one, else the config's."""
        folders = list(theme_folders() if folders is None else folders)
        bundled = [f for f in folders if f == bundled_themes_dir()]
        trusted, failures = load_themes(bundled)  # tested with the app's stylesheets
        themes, more_failures = load_themes([f for f in folders if f not in bundled])
        failures += more_failures
        defaults = self.get_theme_variable_defaults()
        for theme in trusted:
            self.register_theme(theme)
        for theme in themes:
            # A user's theme is tried against the stylesheets first: one that cannot be
            # applied would stop the app when chosen.
            problem = stylesheet_problem(theme, defaults)
            if problem is not None:
                failures.append(ThemeFailure(Path(f"theme {theme.name!r}"), problem))
                continue
            self.register_theme(theme)
        if failures:
            self.problems.append(
                "Theme files skipped:\n" + "\n".join(f"• {failure}" for failure in failures)
            )
        wanted = self.settings.theme
        if wanted and wanted not in self.available_themes:
            self.problems.append(
                f"config.toml: theme {wanted!r} is not known; themes: "
                + ", ".join(sorted(self.available_themes))
            )
        state = self.remembered.state
        self.theme = self._starting_theme = pick_theme(self.available_themes, state.theme, wanted)

    def _theme_changed(self, theme: Theme) -> None:
        """Remember a theme chosen here (the one the app started on is not a choice: a
        theme set later in config.toml must still apply)."""
        if theme.name != self._starting_theme or self.remembered.state.theme is not None:
            self.remembered.update(theme=theme.name)

    def get_default_screen(self) -> Screen[None]:
        if self.replay is not None:
            from chatterm.tui.screens.replay import ReplayScreen  # only for `chatterm replay`

            return ReplayScreen(self.replay, speed=self.replay_speed, clock=self.clock)
        state = self.remembered.state
        self.chat_screen = ChatScreen(
            self.settings,
            self.model_ref,
            notice=self.notice,
            env=self.env,
            clients=self.clients,
            clock=self.clock,
            keeper=self.keeper,
            remembered=self.remembered,
            effort=state.reasoning_effort,
            reasoning_shown=state.reasoning_shown is not False,
            export_dir=self.export_dir,
            discover_models=self.discover_models,
            keymap=self.keymap,
        )
        return self.chat_screen

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, ChatScreen):
            yield from screen_commands(screen, self.keymap)

    def _after_first_frame(self) -> None:
        settle_after_start()
        resume_collector()  # paused by the command for start-up (see chatterm.startup)

    def on_mount(self) -> None:
        app_started()
        if self.keymap:
            self.set_keymap(self.keymap)
            palette = self.keymap.get(COMMAND_PALETTE.id or "")
            if palette:  # the footer looks the palette's key up by this (class) name
                vars(self)["COMMAND_PALETTE_BINDING"] = palette.split(",")[0].strip()
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.set_interval(SAVE_CHECK_S, self._report_save_error)
        self.call_after_refresh(self._after_first_frame)
        for problem in self.problems:
            self.notify(
                safe_text(problem),
                severity="warning",
                markup=False,
                timeout=SAVE_ERROR_TIMEOUT_S,
            )
        if self.notice:
            self.notify(
                safe_text(self.notice),
                severity="warning",
                markup=False,
                timeout=NOTICE_TIMEOUT_S,
            )

    def _report_save_error(self) -> None:
        """A save failed: say so once; the conversation stays in memory and usable.
        What the app remembers is saved on the same clock, and an attachment found missing
        or damaged in the store is reported on it."""
        self.remembered.flush()
        problem = self.remembered.take_problem()
        if problem:
            self.notify(safe_text(problem), severity="warning", markup=False, timeout=8)
        for notice in self.keeper.take_attachment_notices():  # missing or damaged: not sent
            self.notify(safe_text(notice), severity="warning", markup=False, timeout=8)
        message = self.keeper.take_error()
        if message:
            self.notify(
                safe_text(message),
                title="Not saved",
                severity="warning",
                markup=False,
                timeout=SAVE_ERROR_TIMEOUT_S,
            )

    async def on_unmount(self) -> None:
        # The screens are gone and their workers cancelled: let a reply in flight close
        # its stream before its client goes.
        waits = asyncio.gather(*(worker.wait() for worker in self.workers), return_exceptions=True)
        try:
            await asyncio.wait_for(waits, WORKERS_EXIT_TIMEOUT_S)
        except TimeoutError:
            pass
        if self.chat_screen is not None:
            self.chat_screen.end_live_reply()  # a reply cut short by quitting: saved cancelled
        await asyncio.to_thread(self.keeper.close)  # every queued save reaches the disk
        self.remembered.flush()
        await self.clients.aclose()
        app_ended()


def run_tui(
    settings: Settings,
    model_ref: str,
    notice: str | None = None,
    session_ref: str | None = None,
) -> None:
    """Open the TUI (on a saved session, if ``session_ref`` names one) and return when the
    user quits."""
    ChatApp(settings, model_ref, notice=notice, session_ref=session_ref).run()


def run_replay(settings: Settings, session: Session, speed: float = 1.0) -> None:
    """Replay a saved session in the TUI, with no network; return when the user closes it."""
    model = session.models[-1] if session.models else "demo"
    # Started as the chat is: collector paused until the first frame (chatterm.startup;
    # `replay` resumed it after parsing, in case it printed instead).
    pause_collector()
    try:
        ChatApp(settings, model, replay=session, replay_speed=speed).run()
    finally:
        resume_collector()
