"""Sinks for ``chatterm ask`` and ``replay --plain``, and text made safe for a terminal."""
