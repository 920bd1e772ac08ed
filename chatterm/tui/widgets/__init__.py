"""Widgets of the TUI, one job each."""
