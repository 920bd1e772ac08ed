"""Files handed to the model with a prompt: read once, told apart, checked.

:func:`read_attachment` reads a file the user named (a regular file only: a FIFO or a
device is refused without blocking, see :mod:`chatterm.files`) and says what it is, from
its bytes rather than its name: an image by its signature (PNG, JPEG, GIF, WebP), a PDF by
``%PDF-``, text when it is UTF-8 without NUL bytes. Anything else is refused, as is a file
over :data:`MAX_ATTACHMENT_BYTES`. Nothing else is read: only the path given, once, at
attach time; the bytes then travel with the prompt (and into the session's store).

:func:`image_size` reads an image's width and height from its header (each format keeps
them in its first bytes), so a provider's pixel limits are checked before sending without
an imaging library. Written by hand because the standard library has no image reader
and the four headers are short, fixed and documented.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from chatterm.errors import ChattermError
from chatterm.events import Attachment, AttachmentKind
from chatterm.files import file_problem, read_regular
from chatterm.text import visible_line

#: The largest file chatterm reads as an attachment (Anthropic takes PDFs up to 32 MB;
#: each provider's own, lower limits are checked before sending).
MAX_ATTACHMENT_BYTES = 32 << 20

_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


class AttachmentError(ChattermError):
    """A file that cannot be attached; the message is one line naming it and the fix."""


def sniff(data: bytes) -> tuple[AttachmentKind, str] | None:
    """``(kind, media type)`` of a file's bytes, or None when it is binary but neither an
    image chatterm sends nor a PDF."""
    for signature, media_type in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return "image", media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image", "image/webp"
    if data.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return "text", "text/plain"


def make_attachment(name: str, data: bytes) -> Attachment:
    """An attachment of ``data`` shown as ``name``.

    Raises:
        AttachmentError: the bytes are binary but neither an image nor a PDF.
    """
    shown = visible_line(name)
    found = sniff(data)
    if found is None:
        raise AttachmentError(
            f"{shown} is a binary file that is neither an image (PNG, JPEG, GIF, WebP) nor "
            "a PDF; chatterm attaches only those and text files"
        )
    kind, media_type = found
    digest = hashlib.sha256(data).hexdigest()
    return Attachment(name=name, kind=kind, media_type=media_type, data=data, sha256=digest)


def read_attachment(path: Path) -> Attachment:
    """Read the file at ``path`` once and make it an attachment named by its file name.

    Raises:
        AttachmentError: the file cannot be read, is too large, or is binary but neither
            an image nor a PDF (one line, naming the path).
    """
    shown = visible_line(str(path))
    try:
        data = read_regular(path, limit=MAX_ATTACHMENT_BYTES)
    except FileNotFoundError:
        raise AttachmentError(f"{shown}: no such file; check the path") from None
    except OSError as exc:
        raise AttachmentError(f"{shown}: {file_problem(exc)}") from None
    return make_attachment(path.name or str(path), data)


def image_size(data: bytes) -> tuple[int, int] | None:
    """``(width, height)`` in pixels from an image's header; None if it cannot be told."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return width, height
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return width, height
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
    except struct.error:
        return None
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


_JPEG_FRAMES = frozenset(
    {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), 0xCD, 0xCE, 0xCF}
)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The size in the first start-of-frame segment, walking the segments after SOI."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill bytes
            at += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    return None


def describe(attachment: Attachment) -> str:
    """``diagram.png · image · 212 KB``: what the attachment is, as a chip or a list shows
    it (the name made visible: no control characters reach the terminal)."""
    return f"{visible_line(attachment.name)} · {attachment.kind} · {format_size(attachment.size)}"


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"
