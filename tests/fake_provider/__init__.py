"""The protocol-faithful fake LLM server, for end-to-end tests.

``FakeServer`` is a real HTTP/1.1 server on 127.0.0.1 that writes the bytes of each response
itself, so a :class:`Scenario` can split them at awkward places, pause, stall, or drop the
connection. It ships in the package as :mod:`chatterm.testing.fakeserver`; this package
re-exports it and holds the pytest fixtures.
"""

from .server import (
    DEFAULT_ANSWER,
    DEFAULT_REASONING,
    MIDSTREAM_ERROR,
    FakeServer,
    Frame,
    RecordedRequest,
    Scenario,
    awkward_offsets,
    mid_frame_offset,
    reconstruct,
    render_frames,
    script_tokens,
    split_wire,
)

__all__ = [
    "DEFAULT_ANSWER",
    "DEFAULT_REASONING",
    "MIDSTREAM_ERROR",
    "FakeServer",
    "Frame",
    "RecordedRequest",
    "Scenario",
    "awkward_offsets",
    "mid_frame_offset",
    "reconstruct",
    "render_frames",
    "script_tokens",
    "split_wire",
]
