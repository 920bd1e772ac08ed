"""Attachments as each API wants them, and the checks made before a request is sent.

A text file travels as text everywhere: its name and content in a fenced block before the
prompt (the fence longer than any run of backticks in the file, so the file cannot close
it). Images and PDFs travel as each API's own parts:

- Chat Completions: ``image_url`` parts with a ``data:`` URL; no PDFs (the compatible
  servers do not take OpenAI's ``file`` part).
- Responses: ``input_image`` with a ``data:`` URL, ``input_file`` with the PDF's
  ``file_data`` and ``filename``.
- Anthropic: ``image`` and ``document`` blocks with a ``base64`` source, before the text,
  as Anthropic recommends.
- Gemini: ``inline_data`` parts (``mime_type``, base64 ``data``).
- Ollama's chat API: the message's ``images`` (base64); no PDFs.
- The gateway: text only.

:func:`attachments_problem` says in one line why a request cannot carry its attachments
(a kind the API does not take, a model the catalogue knows cannot see images, a file over
the API's size limit, too many images, an image over its pixel limit), naming the model and
the limit, so nothing is sent that the server would answer with a 400 and a bill.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from chatterm.attachments import format_size, image_size
from chatterm.events import Attachment, AttachmentKind, Message
from chatterm.text import visible_line

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class AttachmentRules:
    """What one API takes: which kinds beside text, and its documented limits."""

    api: str  # named in messages: "OpenAI's Chat Completions API"
    kinds: frozenset[AttachmentKind]
    max_image_bytes: int = 20 * MB
    max_images: int = 500
    max_image_side: int | None = None  # pixels
    max_pdf_bytes: int = 32 * MB
    max_inline_bytes: int | None = None  # the whole request's inline data


TEXT_ONLY = frozenset[AttachmentKind]({"text"})
IMAGES = frozenset[AttachmentKind]({"text", "image"})
IMAGES_AND_PDFS = frozenset[AttachmentKind]({"text", "image", "pdf"})

_NAMES = {"image": "images", "pdf": "PDFs", "text": "text files"}


def attachments_problem(
    rules: AttachmentRules,
    ref: str,
    attachments: Sequence[Attachment],
    *,
    sees_images: bool | None,
) -> str | None:
    """Why ``ref`` cannot be sent ``attachments`` (one line), or None when it can.
    ``sees_images`` is the catalogue's word on the model (None: not known, allowed)."""
    images = [a for a in attachments if a.kind == "image"]
    for attachment in attachments:
        if attachment.kind not in rules.kinds:
            what = _NAMES[attachment.kind]
            return (
                f"{ref} cannot take {visible_line(attachment.name)}: {rules.api} takes no "
                f"{what} from chatterm; remove it or switch model"
            )
    if images and sees_images is False:
        return (
            f"{ref} cannot see images (the model list says it reads text only); remove "
            f"{visible_line(images[0].name)} or switch to a model that can"
        )
    if len(images) > rules.max_images:
        return f"{ref}: {len(images)} images, but {rules.api} takes at most {rules.max_images}"
    for attachment in attachments:
        limit = rules.max_image_bytes if attachment.kind == "image" else rules.max_pdf_bytes
        if attachment.kind != "text" and attachment.size > limit:
            return (
                f"{ref}: {visible_line(attachment.name)} is {format_size(attachment.size)}, "
                f"over {rules.api}'s {format_size(limit)} limit for one file"
            )
        if attachment.kind == "image" and rules.max_image_side is not None:
            size = image_size(attachment.data)
            if size is not None and max(size) > rules.max_image_side:
                width, height = size
                return (
                    f"{ref}: {visible_line(attachment.name)} is {width}×{height} pixels, over "
                    f"{rules.api}'s {rules.max_image_side} pixels a side; scale it down"
                )
    inline = sum(a.size for a in attachments if a.kind != "text")
    if rules.max_inline_bytes is not None and inline * 4 // 3 > rules.max_inline_bytes:
        return (
            f"{ref}: the attachments come to {format_size(inline)}, over {rules.api}'s "
            f"{format_size(rules.max_inline_bytes)} limit for a request (base64 included)"
        )
    return None


# -- text ---------------------------------------------------------------------------------


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def text_with_files(message: Message) -> str:
    """The message's text after its text files, each under its name in a fenced block."""
    blocks = []
    for attachment in message.attachments:
        if attachment.kind == "text":
            content = attachment.text()
            fence = _fence(content)
            ending = "" if content.endswith("\n") else "\n"
            blocks.append(f"{attachment.name}:\n{fence}\n{content}{ending}{fence}")
    if not blocks:
        return message.content
    return "\n\n".join([*blocks, message.content]) if message.content else "\n\n".join(blocks)


def binary(message: Message) -> list[Attachment]:
    """The message's images and PDFs, in the order attached."""
    return [a for a in message.attachments if a.kind != "text"]


def b64(attachment: Attachment) -> str:
    return base64.b64encode(attachment.data).decode("ascii")


def data_url(attachment: Attachment) -> str:
    return f"data:{attachment.media_type};base64,{b64(attachment)}"


# -- each API's parts ---------------------------------------------------------------------


def chat_content(message: Message) -> str | list[dict[str, Any]]:
    """Chat Completions ``content``: a string, or text and ``image_url`` parts."""
    text = text_with_files(message)
    images = binary(message)
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    parts += [{"type": "image_url", "image_url": {"url": data_url(a)}} for a in images]
    return parts


def responses_content(message: Message) -> str | list[dict[str, Any]]:
    """Responses ``content``: a string, or ``input_text``, ``input_image`` and
    ``input_file`` parts."""
    text = text_with_files(message)
    files = binary(message)
    if not files or message.role != "user":
        return text
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": text}] if text else []
    for attachment in files:
        if attachment.kind == "image":
            parts.append({"type": "input_image", "image_url": data_url(attachment)})
        else:
            parts.append(
                {
                    "type": "input_file",
                    "filename": attachment.name,
                    "file_data": data_url(attachment),
                }
            )
    return parts


def anthropic_blocks(message: Message) -> list[dict[str, Any]]:
    """Anthropic content blocks: images and documents first, then the text."""
    blocks: list[dict[str, Any]] = []
    for attachment in binary(message):
        source = {"type": "base64", "media_type": attachment.media_type, "data": b64(attachment)}
        kind = "image" if attachment.kind == "image" else "document"
        blocks.append({"type": kind, "source": source})
    text = text_with_files(message)
    if text.strip():
        blocks.append({"type": "text", "text": text})
    return blocks


def gemini_parts(message: Message) -> list[dict[str, Any]]:
    """Gemini parts: the text, then one ``inline_data`` part per image or PDF."""
    text = text_with_files(message)
    parts: list[dict[str, Any]] = [{"text": text}] if text else []
    parts += [{"inline_data": {"mime_type": a.media_type, "data": b64(a)}} for a in binary(message)]
    return parts


def ollama_images(message: Message) -> list[str]:
    """Ollama's ``images``: each image's bytes in base64."""
    return [b64(a) for a in message.attachments if a.kind == "image"]


def all_attachments(messages: Iterable[Message]) -> list[Attachment]:
    return [a for message in messages for a in message.attachments]
