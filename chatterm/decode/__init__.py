"""Byte-stream decoders: raw bytes in any fragmentation to whole frames."""

from chatterm.decode.ndjson import NDJSONDecoder, NDJSONLine
from chatterm.decode.sse import SSEDecoder, SSEEvent

__all__ = ["NDJSONDecoder", "NDJSONLine", "SSEDecoder", "SSEEvent"]
