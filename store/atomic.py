"""Crash-safe file replacement, the single-writer lock, and disk-full reporting.

The master file is never modified in place: a writer builds the next version in a
temporary file beside it and swaps it in with one ``os.replace`` (after fsyncing the file,
and then the folder). A writer killed at any instant leaves either the old master or the
new one, both complete, plus at most a stale temporary file that the next writer deletes.
Symlinked store paths are resolved first, so the lock and the replacement act on the
target and the link keeps pointing at the current version.
"""

import concurrent.futures
import contextlib
import errno
import fcntl
import glob
import os

from .errors import DiskFullError, StoreLockedError

_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def resolve(path) -> str:
    """The absolute path with every symlink resolved: the file a store really is."""
    return os.path.realpath(os.fspath(path))


def temp_path(path: str) -> str:
    head, tail = os.path.split(path)
    return os.path.join(head, f".{tail}.tmp-{os.getpid()}")


def remove_stale_temps(path: str) -> list:
    """Delete temporaries left by killed writers (call only while holding the lock)."""
    head, tail = os.path.split(path)
    removed = []
    for stale in glob.glob(os.path.join(head, f".{glob.escape(tail)}.tmp-*")):
        with contextlib.suppress(FileNotFoundError):
            os.remove(stale)
            removed.append(stale)
    return removed


def remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def fsync_path(path: str) -> None:
    """fsync a file or a folder by name (folders make renames and new entries durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_POOL = {}


def _pool():
    """A few threads kept for the fsyncs of commits (a new thread per fsync costs ms on a busy machine)."""
    pid = os.getpid()                 # a forked child gets threads of its own
    if pid not in _POOL:
        _POOL.clear()
        _POOL[pid] = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="onesheet-fsync")
    return _POOL[pid]


class Background:
    """``fn(*args)`` in a pool thread (for fsyncs, which release the GIL); ``join`` re-raises its error.

    A commit fsyncs its new pieces, their folder and the temporary master at the same
    time, and joins them all before the master is swapped in.
    """

    def __init__(self, fn, *args):
        self.future = _pool().submit(fn, *args)

    @property
    def failure(self):
        return self.future.exception()

    def join(self, check=True) -> None:
        failure = self.future.exception()     # waits
        if check and failure is not None:
            raise failure


def commit(tmp: str, path: str, before_replace=None) -> None:
    """Make ``tmp`` durable, then atomically put it in place of ``path``.

    ``before_replace`` (e.g. joining the fsyncs of the pieces ``tmp`` names) runs after
    ``tmp``'s own fsync and before the swap.
    """
    fsync_path(tmp)
    if before_replace is not None:
        before_replace()
    os.replace(tmp, path)
    fsync_path(os.path.dirname(path) or ".")


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or anything it was raised from) says the disk or quota is full.

    HDF5 reports a failed write as a RuntimeError or OSError whose text carries the errno's
    message, so the text is checked as well as ``errno``.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "errno", None) in _FULL or "No space left on device" in str(exc) \
                or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_error(where: str, what: str) -> DiskFullError:
    return DiskFullError(f"no space left on {where} while {what}; the previous version is intact; "
                         f"free space and re-run")


class WriterLock:
    """An exclusive advisory lock on ``<store>.lock``, released on close or process death."""

    def __init__(self, path: str):
        self.path = path + ".lock"
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


@contextlib.contextmanager
def replacing(path):
    """Yield a temporary path beside ``path``; once the block has written it, put it in place atomically.

    On any failure (or Ctrl-C) the temporary file is removed and ``path`` keeps its old content;
    a ``kill -9`` leaves at most ``.<name>.tmp-<pid>``, which ``remove_stale_temps`` deletes.
    """
    tmp = temp_path(path)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException as exc:
        remove_quietly(tmp)
        if is_disk_full(exc):
            raise disk_full_error(os.path.dirname(path) or ".", f"writing {path}") from None
        raise
