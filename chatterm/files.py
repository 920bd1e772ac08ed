"""Files chatterm reads and writes: regular files only, written atomically, private.

A reader (or a crash, or ``kill -9``) sees either the old file or the new one, never half of
one: the bytes go to a temporary file in the same folder, are flushed and fsync'd, and the
temporary file replaces the target in one ``os.replace``. Files are created mode 0600 and
folders 0700, since they hold the user's conversations.

Every path is checked before use. Reading opens without blocking and looks at what was
opened: a FIFO would hang the reader forever, a device (``/dev/zero``) would never end, so
anything but a regular file is refused, and a file larger than the caller's cap is refused
before it is read. Writing never replaces anything but a regular file: ``os.replace`` over
a FIFO or a device node (``/dev/null``, as root) would swap it for a file. A link to a
regular file is followed, on both sides, so a config file kept in a dotfiles repository
keeps its link. :func:`file_problem` turns any of these errors into a reason and a fix.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
_READ_CHUNK = 1 << 20


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket or a folder: chatterm only uses plain files."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"it is {kind}, not a regular file", str(path))
        self.kind = kind


class FileTooLarge(OSError):
    """The file is larger than chatterm reads from that place."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        super().__init__(
            errno.EFBIG,
            f"it is {_size(size)}, more than chatterm reads from it ({_size(limit)})",
            str(path),
        )


class DanglingLink(OSError):
    """The path is a symbolic link to nothing: writing would create a file elsewhere."""

    def __init__(self, path: Path, target: str) -> None:
        super().__init__(errno.ENOENT, f"it is a link to {target}, which does not exist")
        self.filename = str(path)


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.0f} {unit}"
        count //= 1024
    return f"{count} GB"  # pragma: no cover - the loop always returns


def kind_of(mode: int) -> str:
    """What a ``st_mode`` names, as a phrase: "a FIFO", "a character device", …"""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a regular file" if stat.S_ISREG(mode) else "not a file"


def read_regular(path: Path, *, limit: int) -> bytes:
    """The bytes of the regular file at ``path`` (links followed), at most ``limit``.

    Raises FileNotFoundError when it is missing, :class:`NotRegularFile` for a FIFO, a
    device, a socket or a folder (without blocking on any of them), :class:`FileTooLarge`
    past ``limit``, and OSError for the rest (permissions, I/O).
    """
    before = os.stat(path)  # a device is refused before it is opened (a tape would rewind)
    if not stat.S_ISREG(before.st_mode):
        raise NotRegularFile(path, kind_of(before.st_mode))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    try:
        opened = os.fstat(fd)  # swapped for a FIFO since the stat: still refused
        if not stat.S_ISREG(opened.st_mode):
            raise NotRegularFile(path, kind_of(opened.st_mode))
        if opened.st_size > limit:
            raise FileTooLarge(path, opened.st_size, limit)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(_READ_CHUNK, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while being read
                raise FileTooLarge(path, total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def replaceable(path: Path) -> Path:
    """The file that writing ``path`` replaces: ``path`` itself, or the regular file a
    link at ``path`` points to. Raises :class:`NotRegularFile` or :class:`DanglingLink`
    when neither is there to be replaced."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return path
    if stat.S_ISREG(found.st_mode):
        return path
    if stat.S_ISLNK(found.st_mode):
        try:
            target = os.stat(path)
        except FileNotFoundError:
            raise DanglingLink(path, os.readlink(path)) from None
        if stat.S_ISREG(target.st_mode):
            return Path(os.path.realpath(path))
        raise NotRegularFile(path, kind_of(target.st_mode))
    raise NotRegularFile(path, kind_of(found.st_mode))


def file_problem(exc: OSError) -> str:
    """``exc`` as "<what is wrong>; <what to do>", for a one-line message after a path."""
    if isinstance(exc, NotRegularFile | FileTooLarge | DanglingLink):
        return f"{exc.strerror}; move it away or give another path"
    code = exc.errno
    if isinstance(exc, PermissionError):
        return "permission denied; check the owner and mode of it and its folder (ls -ld)"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full; free some space"
    if code == errno.EROFS:
        return "the file system is read-only; give a path on a writable disk"
    if code == errno.ELOOP:
        return "a symbolic link loops (or too many links); fix the link"
    if code == errno.ENOTDIR:
        return "a part of the path is a file, not a folder; move it away"
    if code == errno.EISDIR:
        return "it is a folder, not a file; give a file name"
    if code == errno.ENAMETOOLONG:
        return "the name is too long; give a shorter path"
    reason = exc.strerror or type(exc).__name__
    return f"{reason[:1].lower()}{reason[1:]}; check the path"


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) as needed; every folder created is mode 0700.

    ``Path.mkdir(parents=True)`` would give the parents the default mode (0755 under the
    usual umask), so each missing folder is made here, outermost first. Folders that
    exist already are left as they are.
    """
    try:
        found = os.stat(path)
    except FileNotFoundError:
        pass
    else:  # other errors (permission, a looping link) are raised as they are
        if stat.S_ISDIR(found.st_mode):
            return path
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path))
    if path.parent != path:
        private_dir(path.parent)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        if os.path.islink(path):  # a link to nothing: mkdir will not follow it
            raise DanglingLink(path, os.readlink(path)) from None
        if not path.is_dir():  # a file in the way: say so as mkdir would
            raise
    return path


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` all at once. ``durable`` also fsyncs the file and the
    folder, so the new content survives a power cut, not only a crash.

    A link to a regular file is written through (the link stays); anything else that is
    not a regular file is refused (:func:`replaceable`). Raises OSError (disk full,
    read-only folder, ...); the target is then left as it was.
    """
    path = replaceable(path)
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
