"""Real permission bits for tests that run as root.

Root reads and writes through ``chmod 000`` because it holds CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH (and CAP_FOWNER lets it chmod anything back). Tests about unreadable
files and folders give those up, so the kernel refuses exactly as it refuses a user:

- :func:`drop_for_child` is a ``preexec_fn``: it removes them from the bounding set, so
  the command started (and everything it starts) can never regain them.
- :func:`without_file_privileges` lowers them in the calling thread's effective set for
  a ``with`` block (threads started inside it inherit that) and raises them again after.

As any other user both do nothing: the bits already apply. Where the kernel does not let
a process change its capabilities, :func:`file_privileges_can_be_dropped` says so and the
tests skip.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Iterator
from contextlib import contextmanager

_DAC_CAPABILITIES = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
_PR_CAPBSET_DROP = 24
_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _is_root() -> bool:
    return os.name == "posix" and os.geteuid() == 0


def drop_for_child() -> None:
    """``preexec_fn``: the child runs as root without the file-permission overrides."""
    if not _is_root():
        return
    libc = _libc()
    for capability in _DAC_CAPABILITIES:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def _capabilities() -> tuple[_Header, ctypes.Array[_Data]]:
    header = _Header(_VERSION_3, 0)
    data = (_Data * 2)()
    if _libc().capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    return header, data


def _set(header: _Header, data: ctypes.Array[_Data]) -> None:
    if _libc().capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


@contextmanager
def without_file_privileges() -> Iterator[None]:
    """Inside the block, this thread (and threads it starts) obeys permission bits."""
    if not _is_root():
        yield
        return
    header, data = _capabilities()
    saved = data[0].effective
    mask = sum(1 << capability for capability in _DAC_CAPABILITIES)
    data[0].effective = saved & ~mask
    _set(header, data)
    try:
        yield
    finally:
        header, data = _capabilities()
        data[0].effective = saved
        _set(header, data)


def file_privileges_can_be_dropped() -> bool:
    """Whether permission bits can be made to apply here (always, unless root in a
    sandbox that forbids changing capabilities)."""
    if not _is_root():
        return os.name == "posix"
    try:
        with without_file_privileges():
            return _probe()
    except (OSError, AttributeError):
        return False


def _probe() -> bool:
    """As root with the overrides lowered, a mode-000 folder must refuse a listing."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0)
        try:
            try:
                os.listdir(folder)
            except PermissionError:
                return True
            return False
        finally:
            os.chmod(folder, 0o700)
