"""The fake server now ships in the package: :mod:`chatterm.testing.fakeserver`.

This module re-exports it so the tests can keep importing ``tests.fake_provider.server``.
"""

from __future__ import annotations

from chatterm.testing.fakeserver import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    FORMATS,
    MIDSTREAM_ERROR,
    PRESETS,
    After,
    Dialect,
    End,
    FakeServer,
    Frame,
    RecordedRequest,
    Scenario,
    Split,
    after_answer,
    after_reasoning,
    awkward_offsets,
    drop_offset,
    mid_frame_offset,
    preset,
    reconstruct,
    render,
    render_frames,
    script_tokens,
    split_wire,
)

__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_REASONING",
    "FORMATS",
    "MIDSTREAM_ERROR",
    "PRESETS",
    "After",
    "Dialect",
    "End",
    "FakeServer",
    "Frame",
    "RecordedRequest",
    "Scenario",
    "Split",
    "after_answer",
    "after_reasoning",
    "awkward_offsets",
    "drop_offset",
    "mid_frame_offset",
    "preset",
    "reconstruct",
    "render",
    "render_frames",
    "script_tokens",
    "split_wire",
]
