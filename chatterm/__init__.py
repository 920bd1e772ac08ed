"""chatterm: a terminal chat client for LLMs that streams reasoning and answer side by side."""

__version__ = "0.1.0"
