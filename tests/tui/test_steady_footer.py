"""The key bar keeps its keys when a refresh of the bindings would show the same ones,
and dims or lights a key in place."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from chatterm.tui.widgets.steady_footer import SteadyFooter
from tests.waiting import wait_for


class KeysScreen(Screen[None]):
    """Two keys; the second one shown (True), shown disabled (None) or hidden (False)."""

    BINDINGS = [Binding("a", "alpha", "Alpha"), Binding("b", "beta", "Beta", tooltip="two")]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer = footer
        self.beta: bool | None = True

    def compose(self) -> ComposeResult:
        yield self.footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.beta if action == "beta" else True

    def action_alpha(self) -> None:
        pass

    def action_beta(self) -> None:
        pass


class KeysApp(App[None]):
    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.keys_screen = KeysScreen(footer)

    def on_mount(self) -> None:
        self.push_screen(self.keys_screen)


class CountedRequests(Footer):
    """Counts the refreshes of the bindings that reach Textual's Footer (each rebuilds it)."""

    requests = 0

    def bindings_changed(self, screen: Screen[Any]) -> None:
        type(self).requests += 1
        super().bindings_changed(screen)


class CountedFooter(SteadyFooter, CountedRequests):
    """The steady bar: counts every refresh it handles, and those it passes on."""

    refreshes = 0

    def bindings_changed(self, screen: Screen[Any]) -> None:
        type(self).refreshes += 1
        super().bindings_changed(screen)


class CountedTextualFooter(CountedRequests):
    """Textual's own bar, counted the same way."""

    refreshes = 0

    def bindings_changed(self, screen: Screen[Any]) -> None:
        type(self).refreshes += 1
        super().bindings_changed(screen)


def keys(app: App[Any]) -> list[Widget]:
    return list(app.screen.query("FooterKey"))


def labels(app: App[Any]) -> list[tuple[str, bool]]:
    return [(str(key.render()), key.has_class("-disabled")) for key in keys(app)]


def shows(app: App[Any], disabled: list[bool]) -> bool:
    """Whether the bar has as many keys as ``disabled`` (the palette's last), dimmed so."""
    return [flag for _, flag in labels(app)] == disabled


# Each state of the second key, and the bar it gives: alpha, beta (if shown), the palette.
STATES: list[tuple[bool | None, list[bool]]] = [
    (None, [False, True, False]),
    (False, [False, False]),
    (True, [False, False, False]),
]


async def test_the_same_keys_are_kept_and_a_change_rebuilds_them() -> None:
    app = KeysApp(CountedFooter)
    async with app.run_test() as pilot:
        screen = app.keys_screen
        await wait_for(pilot, lambda: shows(app, [False, False, False]), what="the first bar")
        CountedFooter.requests = CountedFooter.refreshes = 0
        before = keys(app)
        for _ in range(3):
            screen.refresh_bindings()  # nothing changed: the bar is kept
        await wait_for(pilot, lambda: CountedFooter.refreshes == 3, what="three refreshes")
        assert CountedFooter.requests == 0 and keys(app) == before
        # Disabled, the key is dimmed in place; hidden or shown again, the bar is rebuilt.
        for (beta, bar), rebuilt in zip(STATES, (0, 1, 2), strict=True):
            screen.beta = beta
            screen.refresh_bindings()
            await wait_for(pilot, lambda bar=bar: shows(app, bar), what=f"the bar for {beta}")
            assert CountedFooter.requests == rebuilt
            if not rebuilt:
                assert keys(app) == before
        assert keys(app) != before
        assert "Beta" in " ".join(label for label, _ in labels(app))


async def test_it_shows_what_textuals_footer_shows() -> None:
    """Through each state of the keys the steady bar reads as Textual's own, which is
    rebuilt on every refresh of the bindings, changed or not."""
    seen: dict[type[Footer], list[list[tuple[str, bool]]]] = {}
    footer: type[CountedTextualFooter] | type[CountedFooter]
    for footer in (CountedTextualFooter, CountedFooter):
        app = KeysApp(footer)
        async with app.run_test() as pilot:
            screen = app.keys_screen
            await wait_for(pilot, lambda app=app: shows(app, [False, False, False]))  # type: ignore[misc]
            states = [labels(app)]
            for beta, bar in STATES:
                screen.beta = beta
                screen.refresh_bindings()
                await wait_for(pilot, lambda app=app, bar=bar: shows(app, bar))  # type: ignore[misc]
                states.append(labels(app))
            footer.requests = footer.refreshes = 0
            screen.refresh_bindings()  # the same keys
            await wait_for(pilot, lambda footer=footer: footer.refreshes == 1)  # type: ignore[misc]
            # Textual's bar is rebuilt all the same; the steady one is kept.
            assert footer.requests == (1 if footer is CountedTextualFooter else 0)
            seen[footer] = states
    assert seen[CountedFooter] == seen[CountedTextualFooter]
