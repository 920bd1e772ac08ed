"""The terminal UI: the only package that imports Textual.

Entry point: :func:`chatterm.tui.app.run_tui`. Nothing outside this package imports it,
so commands that do not open the TUI never pay for importing Textual.
"""
