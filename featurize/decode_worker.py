"""A poster-decoding process: ``python -m featurize.decode_worker FD_IN FD_OUT NICE``.

Started by ``featurize.stream`` (through its ``WORKER_BOOT``, which skips the store package's
h5py/scipy imports) as a fresh interpreter (never forked from a parent whose
onnxruntime threads exist, and never re-running the caller's main script, which
multiprocessing's spawn would). It attaches the parent's shared-memory ring, then decodes
jobs [(row, path-or-bytes)] into their rows and answers with the failures, until it reads
``None`` or its input pipe closes (the parent is gone).
"""

import os
import signal
import sys
from multiprocessing import connection, resource_tracker, shared_memory

import numpy as np


def attach(name):
    """Open an existing segment without registering it with a resource tracker of our own:
    Python < 3.13 would otherwise unlink the parent's segment when this process exits."""
    register = resource_tracker.register
    resource_tracker.register = lambda *args, **kwargs: None
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


def main(fd_in, fd_out, nice=0):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if nice:
        os.nice(nice)
    inbox = connection.Connection(fd_in, writable=False)
    outbox = connection.Connection(fd_out, readable=False)
    from .models import Preprocessing
    from .stream import decode_rows
    try:
        names, shape, pre_fields = inbox.recv()
    except (EOFError, OSError):
        return
    segments = [attach(n) for n in names]
    rings = [np.ndarray(shape, np.uint8, buffer=s.buf) for s in segments]
    pre = Preprocessing(*pre_fields)
    try:
        while True:
            try:
                msg = inbox.recv()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            job, slot, tasks = msg
            try:
                outbox.send((job, decode_rows(rings[slot], tasks, pre)))
            except (BrokenPipeError, OSError):
                return
    finally:
        del rings
        for s in segments:
            s.close()


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))
