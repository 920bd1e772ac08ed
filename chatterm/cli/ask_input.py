"""What ``chatterm ask`` reads before sending: the prompt (an argument or stdin) and the
files attached with ``-a`` (each read once; ``-a -`` reads stdin, the prompt then being an
argument)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from chatterm.attachments import (
    MAX_ATTACHMENT_BYTES,
    AttachmentError,
    format_size,
    make_attachment,
    read_attachment,
)
from chatterm.cli.common import valid_text
from chatterm.errors import ConfigError
from chatterm.events import Attachment


def read_attachments(args: argparse.Namespace, stdin: TextIO | None) -> tuple[Attachment, ...]:
    """The files given with ``-a``, each read once; ``-a -`` reads stdin (the prompt must
    then be an argument).

    Raises:
        AttachmentError: a file cannot be attached (one line naming it).
        ConfigError: stdin is asked for twice, or cannot be read.
    """
    attachments: list[Attachment] = []
    names = list(args.attach or ())
    if names.count("-") > 1:
        raise ConfigError("-a - reads stdin once; give it once")
    for name in names:
        if name != "-":
            attachments.append(read_attachment(Path(name).expanduser()))
            continue
        if args.prompt in (None, "-"):
            raise ConfigError("with -a -, stdin is the attachment: give the prompt as an argument")
        if stdin is None:
            raise ConfigError("-a -: stdin is closed; give a file instead")
        raw = stdin.buffer.read(MAX_ATTACHMENT_BYTES + 1) if hasattr(stdin, "buffer") else b""
        if len(raw) > MAX_ATTACHMENT_BYTES:
            raise AttachmentError(
                f"stdin: more than {format_size(MAX_ATTACHMENT_BYTES)}; attach a smaller file"
            )
        attachment = make_attachment("stdin", raw)
        suffix = {"text": ".txt", "image": "." + attachment.media_type.split("/")[1], "pdf": ".pdf"}
        attachments.append(make_attachment("stdin" + suffix[attachment.kind], raw))
    return tuple(attachments)


def read_prompt(args: argparse.Namespace, stdin: TextIO | None) -> str:
    if args.prompt not in (None, "-"):
        return valid_text(str(args.prompt))
    if stdin is None:
        raise ConfigError("no prompt: stdin is closed; give the prompt as an argument")
    if args.prompt is None and stdin.isatty():
        raise ConfigError("no prompt: give one as an argument, or pipe it in with -")
    raw = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode()
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        raise ConfigError("the prompt read from stdin is empty")
    return text
