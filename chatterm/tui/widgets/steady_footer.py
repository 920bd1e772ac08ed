"""The key bar: Textual's ``Footer``, rebuilt only when the keys it shows change.

Textual's ``Footer`` removes every key and mounts them all again on each
``refresh_bindings()``, and chatterm calls that whenever a reply starts or ends, a
comparison ends or a setting changes. After a comparison it was most of the time from
the last token to a settled screen: 20–40 ms of rebuilding and a layout, for the same
keys with Esc now disabled (README, Performance). :class:`SteadyFooter` keeps its keys
when they would come out the same (each key, label, action and tooltip, in order),
setting each one's enabled state in place, and rebuilds as Textual does otherwise.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from chatterm.tui.compat import enable_footer_key, footer_key_is


class SteadyFooter(Footer):
    """A ``Footer`` that is not rebuilt when its keys would come out the same."""

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen:
            enabled = self._enabled_if_same_keys(screen)
            if enabled is not None:
                for key, on in enabled:
                    if key.has_class("-disabled") == on:
                        enable_footer_key(key, on)
                return
        super().bindings_changed(screen)

    def _enabled_if_same_keys(self, screen: Screen[Any]) -> list[tuple[Widget, bool]] | None:
        """Each key on the bar and whether it is enabled now, if the keys are those
        ``screen``'s bindings would give; None if the bar must be built again."""
        keys = list(self.query_children("FooterKey"))
        if not keys:
            return None  # never built (or nothing to show): Textual's way decides
        wanted: dict[str, tuple[Binding, bool, str]] = {}  # the first binding per action
        for _, binding, enabled, tooltip in screen.active_bindings.values():
            if binding.show:
                if binding.group is not None:
                    return None  # grouped keys are laid out otherwise: rebuild
                wanted.setdefault(binding.action, (binding, enabled, tooltip))
        palette = [key for key in keys if key.has_class("-command-palette")]
        shown = [key for key in keys if not key.has_class("-command-palette")]
        entry = screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            entry = None  # not on the bar, whatever the bindings say
        if len(shown) != len(wanted) or len(palette) != (entry is not None):
            return None
        states = [(binding, enabled, tooltip) for binding, enabled, tooltip in wanted.values()]
        if palette and entry is not None:
            _, binding, enabled, _ = entry
            shown.append(palette[0])
            states.append((binding, enabled, binding.tooltip or binding.description))
        for key, (binding, _, tooltip) in zip(shown, states, strict=True):
            if not footer_key_is(key, binding, tooltip, self.app.get_key_display(binding)):
                return None
        return [(key, enabled) for key, (_, enabled, _) in zip(shown, states, strict=True)]
