"""Decode posters in worker processes straight into shared-memory batches while the model runs.

A ring of batch buffers (``multiprocessing.shared_memory``, one segment per batch of
(batch, H, W, 3) uint8) is filled by decode workers: the parent sends row numbers and file
paths (or bytes), a worker decodes each poster into its row and answers with the rows that
failed and why. No pixel array is ever pickled. Batches come out in input order; a bad
poster becomes a failure entry of its batch, never an exception that stops the stream.

Workers are fresh interpreters (``featurize.decode_worker`` run by ``WORKER_BOOT``, the
equivalent of multiprocessing's spawn without the store package's heavy imports), never
forked from a parent whose onnxruntime threads exist, and unlike spawn they never re-run
the caller's main script. A worker that dies mid-chunk (a
decoder crash, the OOM killer) is replaced; the chunk is retried poster by poster and the
one poster that kills a worker again is reported as ``decoder_crashed``. Threads (Pillow
releases the GIL while decoding) and in-line decoding share the same ring and ordering.
"""

import itertools
import mmap
import os
import secrets
import subprocess
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import connection, shared_memory

import numpy as np

from .defaults import decode_mode
from .errors import PosterError
from .images import load_poster

SHM_PREFIX = "onesheet-"
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = ("process", "thread", "inline")
# A worker's interpreter registers the ``store`` package without running its ``__init__`` (h5py,
# scipy) before importing featurize: decoding needs only ``store.errors`` and ``store.hashing``.
# That import was 0.7-0.9 s of every worker's start-up on a 16-core GPU machine, where 14 workers
# starting at once took 1.3 s to their first batch: longer than decoding 8,192 posters there.
WORKER_BOOT = ("import importlib.util, sys\n"
               "spec = importlib.util.find_spec('store')\n"
               "if spec is not None and 'store' not in sys.modules:\n"
               "    sys.modules['store'] = importlib.util.module_from_spec(spec)\n"
               "from featurize.decode_worker import main\n"
               "main(*map(int, sys.argv[1:4]))\n")


def decode_rows(pixels, tasks, pre):
    """Decode ``tasks`` [(row, source)] into ``pixels[row]``; returns [(row, kind, detail)] of the failures."""
    failed = []
    for row, source in tasks:
        try:
            load_poster(source, pre, out=pixels[row])
        except PosterError as exc:
            failed.append((row, exc.kind, exc.detail))
        except Exception as exc:  # noqa: BLE001 - one bad file must never stop thousands
            failed.append((row, "corrupt", f"{exc.__class__.__name__}: {exc}"))
    return failed


class _Ring:
    """``slots`` batch buffers, in shared memory for processes or plain arrays otherwise.

    The arrays map each segment through a mapping of their own, so a batch view the caller
    still holds stays valid after ``close`` has unlinked the segment (the memory goes with
    the last view) instead of pointing into an unmapped page.
    """

    def __init__(self, slots, shape, shared):
        self.shape, self.segments = shape, []
        size = int(np.prod(shape))
        if not shared:
            self.arrays = [np.empty(shape, np.uint8) for _ in range(slots)]
            return
        token = f"{SHM_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            for i in range(slots):
                self.segments.append(shared_memory.SharedMemory(name=f"{token}-{i}", create=True, size=size))
            self.arrays = [np.frombuffer(mmap.mmap(s._fd, size), np.uint8).reshape(shape) for s in self.segments]
        except BaseException:
            self.close()
            raise

    @property
    def names(self):
        return [s.name for s in self.segments]

    def close(self):
        self.arrays = []
        for s in self.segments:
            try:
                s.close()
            finally:
                try:
                    s.unlink()
                except FileNotFoundError:
                    pass
        self.segments = []


class _InlineDecoder:
    """Decodes at submit time in the caller's thread (one poster, or a tiny request)."""

    def __init__(self, ring, pre):
        self.ring, self.pre, self.done = ring, pre, {}

    def submit(self, chunk_id, slot, tasks):
        self.done[chunk_id] = decode_rows(self.ring.arrays[slot], tasks, self.pre)

    def result(self, chunk_id):
        return self.done.pop(chunk_id)

    def close(self):
        pass


class _ThreadDecoder(_InlineDecoder):
    def __init__(self, ring, pre, workers):
        super().__init__(ring, pre)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poster-decode")

    def submit(self, chunk_id, slot, tasks):
        self.done[chunk_id] = self.pool.submit(decode_rows, self.ring.arrays[slot], tasks, self.pre)

    def result(self, chunk_id):
        return self.done.pop(chunk_id).result()

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Worker:
    """One decode process and its two pipes (jobs in, answers out); a dead worker's answer pipe reads EOF."""

    def __init__(self, ring, pre, nice=0):
        job_r, job_w = os.pipe()
        ans_r, ans_w = os.pipe()
        path = os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, PYTHONPATH=path)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WORKER_BOOT, str(job_r), str(ans_w), str(nice)],
                pass_fds=(job_r, ans_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                close_fds=True, start_new_session=True)  # its own session: a terminal's Ctrl-C is the parent's
        finally:
            os.close(job_r)
            os.close(ans_w)
        self.jobs = connection.Connection(job_w, readable=False)
        self.answers = connection.Connection(ans_r, writable=False)
        self.outstanding = deque()   # (job, chunk_id, slot, tasks), in the order the worker handles them
        self.send((ring.names, ring.shape, (pre.resize, pre.crop, tuple(pre.mean), tuple(pre.std), pre.height)))

    def send(self, msg):
        try:
            self.jobs.send(msg)
        except (BrokenPipeError, OSError):
            pass  # it died: its answer pipe reads EOF and the decoder resends its jobs

    def close(self, wait=2.0):
        self.send(None)
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.jobs.close()
        self.answers.close()


class _ProcessDecoder:
    """Jobs (a few rows of one chunk) go to the least busy worker over its own pipe; answers come back in order."""

    def __init__(self, ring, pre, workers, nice=0):
        self.ring, self.pre, self.nice = ring, pre, nice
        self.chunks = {}        # chunk_id -> [rows not answered yet, failures]
        self.jobs = itertools.count()
        self.workers = []
        try:
            for _ in range(workers):
                self.workers.append(_Worker(ring, pre, nice))
        except BaseException:
            self.close()
            raise

    def submit(self, chunk_id, slot, tasks):
        self.chunks[chunk_id] = [{row for row, _ in tasks}, []]
        self._send(chunk_id, slot, tasks)

    def _send(self, chunk_id, slot, tasks):
        worker = min(self.workers, key=lambda w: len(w.outstanding))
        job = (next(self.jobs), chunk_id, slot, tasks)
        worker.outstanding.append(job)
        worker.send((job[0], slot, tasks))

    def result(self, chunk_id):
        while self.chunks[chunk_id][0]:
            waitables = {w.answers: w for w in self.workers}
            for ready in connection.wait(list(waitables)):
                worker = waitables[ready]
                try:
                    self._answer(worker, worker.answers.recv()[1])
                except (EOFError, OSError):
                    self._died(worker)
        return sorted(self.chunks.pop(chunk_id)[1])

    def _answer(self, worker, failures):
        _, chunk_id, _, tasks = worker.outstanding.popleft()
        self._settle(chunk_id, [row for row, _ in tasks], failures)

    def _settle(self, chunk_id, rows, failures):
        remaining, failed = self.chunks[chunk_id]
        remaining.difference_update(rows)
        failed.extend(failures)

    def _died(self, worker):
        """Replace a dead worker; retry the job it died on poster by poster and resend the rest."""
        self.workers.remove(worker)
        worker.close(wait=5.0)
        self.workers.append(_Worker(self.ring, self.pre, self.nice))
        if not worker.outstanding:
            return
        _, chunk_id, slot, tasks = worker.outstanding.popleft()
        if len(tasks) == 1:
            (row, source), = tasks
            what = source if isinstance(source, str) else "upload"
            detail = f"{what}: the image decoder died on it (exit code {worker.proc.returncode}); check the file"
            self._settle(chunk_id, [row], [(row, "decoder_crashed", detail)])
        else:
            for task in tasks:
                self._send(chunk_id, slot, [task])
        for _, cid, s, t in worker.outstanding:
            self._send(cid, s, t)

    def close(self):
        for w in self.workers:
            w.send(None)
        for w in self.workers:
            w.close()
        self.workers = []


def _enough_shared_memory(nbytes):
    """/dev/shm is often small in containers (64 MiB): writing past it would kill a worker with SIGBUS."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return True  # not Linux: shared memory is not a size-limited tmpfs
    return st.f_bavail * st.f_frsize >= nbytes + (16 << 20)


def _decoder(mode, workers, pre, shape, slots, nice):
    """(ring, decoder) for ``mode``; processes fall back to threads when shared memory is short."""
    if mode == "process" and (os.name != "posix" or not _enough_shared_memory(slots * int(np.prod(shape)))):
        mode = "thread"   # workers get their pipes by fd (POSIX); a small /dev/shm would SIGBUS them
    ring = _Ring(slots, shape, shared=mode == "process")
    try:
        if mode == "process":
            return ring, _ProcessDecoder(ring, pre, workers, nice)
        return ring, (_ThreadDecoder(ring, pre, workers) if mode == "thread" else _InlineDecoder(ring, pre))
    except BaseException:
        ring.close()
        raise


def poster_batches(items, pre, batch_size=32, workers=2, mode="auto", copy=True, prefetch=3, nice=0):
    """items: iterable of (id, path-or-bytes). Yields (ids, (n, crop, crop, 3) uint8 array, [(id, PosterError)]).

    Each batch takes the next ``batch_size`` items in order: ``ids`` are its good posters
    (their rows, in order), the failures are the rest. ``mode``: "process", "thread",
    "inline" (``workers=0`` means inline) or "auto" (see ``defaults.decode_mode``). With
    ``copy=False`` the array is a view into the ring that stays valid until the batch after
    it has been taken as well (two in flight); by default every batch is a fresh array.
    ``nice``: scheduling priority of decode processes; on a CPU-bound run a positive value
    lets decoding fill the cores' idle moments instead of pre-empting the model's threads.
    """
    if mode == "auto":
        mode = decode_mode(workers, len(items) if hasattr(items, "__len__") else None, batch_size)
    if workers < 1:
        mode = "inline"
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} or auto, not {mode!r}")
    keep = 0 if copy else 2          # yielded batches whose slots the caller may still be reading
    slots = max(1, prefetch) + keep
    shape = (batch_size, *pre.shape, 3)
    rows_per_job = max(1, min(16, -(-batch_size // (2 * max(1, workers)))))
    items = iter(items)
    ring, decoder = _decoder(mode, workers, pre, shape, slots, nice)
    try:
        free, inflight, held = deque(range(slots)), deque(), deque()
        chunk_ids = itertools.count()

        def fill():
            while free:
                batch = list(itertools.islice(items, batch_size))
                if not batch:
                    return
                slot = free.popleft()
                tasks = [(row, os.fspath(src) if isinstance(src, os.PathLike) else src)
                         for row, (_, src) in enumerate(batch)]
                cids = []
                for start in range(0, len(tasks), rows_per_job):
                    cids.append(next(chunk_ids))
                    decoder.submit(cids[-1], slot, tasks[start:start + rows_per_job])
                inflight.append((slot, [key for key, _ in batch], cids))

        fill()
        while inflight:
            slot, keys, cids = inflight.popleft()
            failed = {row: (kind, detail) for cid in cids for row, kind, detail in decoder.result(cid)}
            pixels = ring.arrays[slot]
            ids, failures = [], []
            for row, key in enumerate(keys):
                if row in failed:
                    failures.append((key, PosterError(*failed[row])))
                    continue
                if len(ids) != row:          # close the gap a failed row left
                    pixels[len(ids)] = pixels[row]
                ids.append(key)
            batch = pixels[: len(ids)]
            if copy:
                batch = batch.copy()
            held.append(slot)
            while len(held) > keep:
                free.append(held.popleft())
            fill()                           # workers decode ahead while the caller embeds
            yield ids, batch, failures
    finally:
        decoder.close()
        ring.close()
