"""The attachment store: the bytes of every file attached to a prompt, each kept once.

A session file only references its attachments (name, kind, size and SHA-256: see
:class:`~chatterm.sessions.model.AttachmentRef`), so it stays small, and a file attached
to several prompts or sessions is stored once. The store is a folder beside the sessions
folder (``<data>/attachments/``), each file named by the 64 hex digits of its hash,
written atomically, mode 0600, in a folder created 0700.

Reading checks a stored file against its name: one that is missing, is not a regular
file (a link is not followed), or whose bytes no longer hash to its name is unavailable
(:class:`AttachmentUnavailable` says which), and is never sent. Names come only from
checked hashes, so nothing outside the folder is read or written.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from chatterm.attachments import MAX_ATTACHMENT_BYTES
from chatterm.errors import ChattermError
from chatterm.events import Attachment
from chatterm.files import FileTooLarge, atomic_write, file_problem, read_regular
from chatterm.sessions.model import SHA256_HEX, AttachmentRef
from chatterm.text import safe_text, visible_line

FOLDER_NAME = "attachments"  # beside the sessions folder


class AttachmentStoreError(ChattermError):
    """An attachment could not be stored (or a stored one removed); one line naming the
    file, the folder and the fix."""


class AttachmentUnavailable(ChattermError):
    """A stored attachment cannot be used: ``reason`` says why (missing, damaged,
    unreadable), as the end of a sentence about it."""

    def __init__(self, ref: AttachmentRef, reason: str) -> None:
        super().__init__(f"attachment {visible_line(ref.name)} {reason}")
        self.ref = ref
        self.reason = reason


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class AttachmentStore:
    """The stored attachments in ``folder``, each file named by its SHA-256 (hex)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, sha256: str) -> Path:
        """Where the file of that hash is stored; ValueError for anything but a hash."""
        if not SHA256_HEX.fullmatch(sha256):
            raise ValueError(f"{sha256!r:.70} is not a SHA-256 in hex")
        return self.folder / sha256

    def put(self, attachment: Attachment) -> AttachmentRef:
        """Store the attachment's bytes (unless they are stored already, intact) and give
        its reference; written and synced before this returns.

        Raises:
            AttachmentStoreError: the bytes do not match the attachment's hash, or the disk
                refused them (one line; nothing is referenced yet).
        """
        shown = visible_line(attachment.name)
        if sha256_hex(attachment.data) != attachment.sha256:
            raise AttachmentStoreError(
                f"the attachment {shown} changed since it was attached (its bytes no "
                "longer match its hash); attach it again"
            )
        path = self.path_of(attachment.sha256)
        if self._holds(path, attachment):
            return AttachmentRef.of(attachment)
        try:
            if os.path.islink(path):  # never written through: the link goes, the file comes
                os.unlink(path)
            atomic_write(path, attachment.data)
        except OSError as exc:
            folder = safe_text(str(self.folder))
            raise AttachmentStoreError(
                f"cannot store the attachment {shown} in {folder}: {file_problem(exc)}"
            ) from None
        return AttachmentRef.of(attachment)

    def _holds(self, path: Path, attachment: Attachment) -> bool:
        """Whether ``path`` is a regular file holding exactly the attachment's bytes."""
        try:
            found = os.lstat(path)
            if not stat.S_ISREG(found.st_mode) or found.st_size != attachment.size:
                return False
            return read_regular(path, limit=attachment.size) == attachment.data
        except OSError:
            return False  # the write says what is wrong, if anything is

    def check(self, ref: AttachmentRef) -> AttachmentUnavailable | None:
        """Why the stored file looks unusable without reading it (missing, not a regular
        file, not the recorded size), or None: :meth:`load` checks the bytes themselves."""
        try:
            found = os.lstat(self.path_of(ref.sha256))
        except OSError as exc:
            return self._unavailable(ref, exc)
        if not stat.S_ISREG(found.st_mode):
            return self._damaged(ref, "is not a regular file")
        if found.st_size != ref.size:
            return self._damaged(ref, "is not the size recorded")
        return None

    def load(self, ref: AttachmentRef) -> bytes:
        """The stored bytes of ``ref``, checked against its hash.

        Raises:
            AttachmentUnavailable: the file is missing, unreadable or damaged.
        """
        path = self.path_of(ref.sha256)
        try:
            found = os.lstat(path)
            if not stat.S_ISREG(found.st_mode):
                raise self._damaged(ref, "is not a regular file")
            data = read_regular(path, limit=MAX_ATTACHMENT_BYTES)
        except FileTooLarge:
            raise self._damaged(ref, "is larger than any attachment") from None
        except OSError as exc:
            raise self._unavailable(ref, exc) from None
        if sha256_hex(data) != ref.sha256:
            raise self._damaged(ref, "no longer matches its hash")
        return data

    def remove(self, hashes: Iterable[str]) -> None:
        """Remove the stored files of ``hashes`` (those already gone are no matter).

        Raises:
            AttachmentStoreError: a file could not be removed (the first one, by name).
        """
        for sha256 in sorted(hashes):
            path = self.path_of(sha256)
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise AttachmentStoreError(
                    f"cannot remove the stored attachment {safe_text(str(path))}: "
                    f"{file_problem(exc)}"
                ) from None

    def _unavailable(self, ref: AttachmentRef, exc: OSError) -> AttachmentUnavailable:
        folder = safe_text(str(self.folder))
        if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOTDIR:
            return AttachmentUnavailable(ref, f"is missing from {folder}")
        return AttachmentUnavailable(ref, f"cannot be read in {folder}: {file_problem(exc)}")

    def _damaged(self, ref: AttachmentRef, how: str) -> AttachmentUnavailable:
        path = safe_text(str(self.path_of(ref.sha256)))
        return AttachmentUnavailable(ref, f"is damaged: the stored file {path} {how}")
