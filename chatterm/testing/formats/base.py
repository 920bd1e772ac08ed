"""What every wire format of the fake server provides, and the faults applied to all of them.

A format renders the clean reply for a :class:`~chatterm.testing.scenario.Scenario` as
frames, its own mid-stream error, a line that is not JSON, and HTTP error bodies in its own
envelope; it checks the request's key and shape the way the real API does. The fault
positions, truncation, stalls and the BOM are applied here, the same way for every format.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from chatterm.testing.frames import Frame, Wire, index_after, index_of
from chatterm.testing.scenario import Scenario

CREATED = 1_750_000_000


@dataclass(frozen=True, slots=True)
class Request:
    """The parts of a request a format answers to."""

    model: str  # as requested, without a ``@preset`` suffix
    body: Mapping[str, Any] = field(default_factory=dict)
    headers: Sequence[tuple[str, str]] = ()
    query: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Refusal:
    """An HTTP error the format answers with instead of a stream."""

    status: int
    message: str
    error_type: str | None = None
    code: str | None = None


class WireFormat(ABC):
    """One provider's streaming wire format."""

    name: ClassVar[str]
    content_type: ClassVar[str] = "text/event-stream; charset=utf-8"
    line_ending: ClassVar[str] = "\n"
    json_separators: ClassVar[tuple[str, str]] = (",", ":")
    #: send ``retry-after-ms`` next to ``retry-after`` (the OpenAI and Anthropic SDKs read it)
    retry_after_ms: ClassVar[bool] = False
    #: the mid-stream error messages a client should surface, by ``error_shape``
    midstream_messages: ClassVar[Mapping[str, str]] = {}

    def wire(self, s: Scenario) -> Wire:
        return Wire(
            eol=s.line_ending or self.line_ending,
            data_space=s.data_space,
            padding=s.json_padding,
            separators=self.json_separators,
        )

    # --- what each format implements

    @abstractmethod
    def reply(self, s: Scenario, request: Request) -> list[Frame]:
        """The whole reply, without faults (comments included when asked for)."""

    @abstractmethod
    def midstream_error(self, s: Scenario, request: Request, sent: list[Frame]) -> list[Frame]:
        """What the server sends when it fails after ``sent``; the body ends after it."""

    def malformed(self, s: Scenario) -> Frame:
        """A line that is not JSON (an SSE data line unless the format is NDJSON)."""
        return self.wire(s).sse("this is not JSON {")

    def keepalive(self, s: Scenario, request: Request) -> Frame:
        """What keeps a quiet stream open (``s.ping``): a comment, an empty line, or an
        event that carries no token."""
        wire = self.wire(s)
        if s.ping == "comment":
            return wire.comment("ping")
        if s.ping == "blank":
            return Frame(wire.eol.encode(), kind="comment")
        return wire.sse({})

    @abstractmethod
    def error_body(self, s: Scenario, refusal: Refusal, request: Request) -> bytes:
        """The body of an HTTP error in the format's own envelope."""

    def check(self, s: Scenario, request: Request) -> Refusal | None:
        """The key check (against ``s.api_key`` when it is set), before anything else."""
        return None

    def check_body(self, request: Request) -> Refusal | None:
        """The request's shape, checked the way the real API does (after the key)."""
        return None

    def response_headers(self, s: Scenario) -> list[tuple[str, str]]:
        """Extra headers on every response of this format."""
        return []

    def retry_headers(self, s: Scenario, status: int) -> list[tuple[str, str]]:
        if s.retry_after is None:
            return []
        headers = [("retry-after", str(max(0, math.ceil(s.retry_after))))]
        if self.retry_after_ms:
            headers.append(("retry-after-ms", str(max(0, round(s.retry_after * 1000)))))
        return headers

    def default_message(self, status: int, request: Request) -> Refusal:
        return Refusal(status, f"fake error {status}")

    # --- shared

    def refusal_for(self, s: Scenario, request: Request) -> Refusal:
        """The scenario's forced HTTP error, with the format's defaults filled in."""
        default = self.default_message(s.status, request)
        return Refusal(
            s.status,
            s.error_message if s.error_message is not None else default.message,
            s.error_type or default.error_type,
            s.error_code if s.error_code is not None else default.code,
        )

    def render(self, s: Scenario, request: Request) -> list[Frame]:
        """The body's frames with every fault except the transport ones (stall, drop)."""
        frames = self.reply(s, request)
        if s.raw_after is not None:
            point, raw = s.raw_after
            frames.insert(index_after(frames, point), Wire.raw(raw))
        if s.garbage_after is not None:
            frames.insert(index_after(frames, s.garbage_after), self.malformed(s))
        if s.error_after is not None:
            sent = frames[: index_after(frames, s.error_after)]
            frames = sent + self.midstream_error(s, request, sent)
        if s.truncate_after is not None:
            frames = frames[: index_of(frames, s.truncate_after)]
        if s.stall_after is not None:
            frames = frames[: index_of(frames, s.stall_after)]
        if s.ping_after is not None:
            frames = frames[: index_of(frames, s.ping_after)]
        if s.bom and frames:
            frames[0] = replace(frames[0], wire=b"\xef\xbb\xbf" + frames[0].wire)
        return frames


def running(total: int, done: int, count: int) -> int:
    """A running total after ``done`` of ``count`` pieces that reaches ``total`` at the end."""
    if count <= 0:
        return total
    return total * done // count
