"""Crash-safe file replacement and the single-writer lock.

A store is never modified in place: a writer builds the next version in a temporary file
beside it and swaps it in with one ``os.replace``. A writer killed at any instant leaves
either the old file or the new one, both complete, plus at most a stale temporary file
that the next writer deletes.
"""

import contextlib
import fcntl
import glob
import os

from .errors import StoreLockedError


def temp_path(path: str) -> str:
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(head, f".{tail}.tmp-{os.getpid()}")


def remove_stale_temps(path: str) -> list:
    """Delete temporaries left by killed writers (call only while holding the lock)."""
    head, tail = os.path.split(os.path.abspath(path))
    removed = []
    for stale in glob.glob(os.path.join(head, f".{glob.escape(tail)}.tmp-*")):
        with contextlib.suppress(FileNotFoundError):
            os.remove(stale)
            removed.append(stale)
    return removed


def fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: str, path: str) -> None:
    """Make ``tmp`` durable, then atomically put it in place of ``path``."""
    fsync_file(tmp)
    os.replace(tmp, path)
    dir_fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class WriterLock:
    """An exclusive advisory lock on ``<store>.lock``, released on close or process death."""

    def __init__(self, path: str):
        self.path = os.path.abspath(path) + ".lock"
        self._fd = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreLockedError(
                f"{self.path[:-5]} is being written by another process; wait for it to finish"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
