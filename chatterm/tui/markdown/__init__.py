"""Markdown for the answer pane: block scanning and the look of rendered Markdown."""
