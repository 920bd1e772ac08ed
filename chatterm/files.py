"""Files chatterm writes: atomically, readable by the user alone.

A reader (or a crash, or ``kill -9``) sees either the old file or the new one, never half of
one: the bytes go to a temporary file in the same folder, are flushed and fsync'd, and the
temporary file replaces the target in one ``os.replace``. Files are created mode 0600 and
folders 0700, since they hold the user's conversations.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as needed; every folder created is mode 0700.

    ``Path.mkdir(parents=True)`` would give the parents the default mode (0755 under the
    usual umask), so each missing folder is made here, outermost first. Folders that
    exist already are left as they are.
    """
    if path.is_dir():
        return path
    if path.parent != path:
        private_dir(path.parent)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        if not path.is_dir():  # a file in the way: say so as mkdir would
            raise
    return path


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` all at once. ``durable`` also fsyncs the file and the
    folder, so the new content survives a power cut, not only a crash.

    Raises OSError (disk full, read-only folder, ...); the target is then left as it was.
    """
    private_dir(path.parent)
    # mkstemp creates the file mode 0600, in the target's folder so the rename is atomic.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            if durable:
                os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    if durable:
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not possible everywhere (Windows); the file itself is already synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def same_file(one: Path, other: Path) -> bool:
    """Whether two paths name one file (compared resolved when either cannot be read)."""
    try:
        return one.samefile(other)
    except OSError:
        return one.resolve() == other.resolve()
